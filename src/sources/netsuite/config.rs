//! The `type: netsuite` connector's own configuration: the typed `options` a connector
//! entry of `config/upsync.yaml` may carry, how they and `concurrency` apply over the
//! profile (`connectors/netsuite.yaml`), [`problems`] for `upsync check` and [`build`] for
//! the daemon. [`crate::sources::ConnectorKind`] dispatches here; nothing else in upsync
//! knows these options.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{NetSuiteCredentials, NetSuiteProfile, NetSuiteSource};
use crate::sources::{ConnectorSetupError, ConnectorSpec, SetupProblem, Source};

/// The profile whose comments document every profile field.
pub const EXAMPLE_PROFILE: &str = "connectors/netsuite.yaml";

/// `options:` of a NetSuite connector. Unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteOptions {
    /// Account id (`1234567_SB1`), overriding the profile's `account_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Explicit REST base URL (e.g. the NetSuite simulator), overriding the profile's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

/// The typed options of `spec`.
pub fn options(spec: &ConnectorSpec<'_>) -> Result<NetSuiteOptions, ConnectorSetupError> {
    spec.typed_options("account_id, base_url")
}

/// The profile as the connector runs it: the profile file, then `options` and the
/// connector's `concurrency` over it.
pub fn profile(spec: &ConnectorSpec<'_>) -> Result<NetSuiteProfile, ConnectorSetupError> {
    let NetSuiteOptions {
        account_id,
        base_url,
    } = options(spec)?;
    let mut profile = NetSuiteProfile::load(spec.profile)?;
    if let Some(url) = base_url {
        profile.base_url = Some(url);
    }
    if let Some(a) = account_id {
        profile.account_id = a;
    }
    if let Some(n) = spec.concurrency {
        // The account's concurrent web-service request limit.
        profile.concurrency_limit = n.max(1) as usize;
    }
    Ok(profile)
}

/// The problems of the entry's `options` alone (no file is read).
pub fn options_problems(spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
    ConnectorSetupError::problems_of(options(spec), EXAMPLE_PROFILE)
}

/// Every problem of the connector entry's NetSuite part: its options, then its profile.
pub fn problems(spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
    ConnectorSetupError::problems_of(profile(spec), EXAMPLE_PROFILE)
}

/// The running source of a connector entry; `credentials` are the vault entry's fields.
pub fn build(
    spec: &ConnectorSpec<'_>,
    mut credentials: serde_json::Map<String, serde_json::Value>,
) -> Result<Arc<dyn Source>, ConnectorSetupError> {
    let profile = profile(spec)?;
    // M2M: the certificate itself may be kept beside the key (`certificate_pem`); the
    // client does not need it, credential health reads its validity (`creds set`).
    credentials.remove("certificate_pem");
    let creds: NetSuiteCredentials = spec.typed_credentials(
        credentials,
        "NetSuite credentials {type: m2m, client_id, certificate_id, private_key_pem[, certificate_pem]} or {type: tba, consumer_key, consumer_secret, token_id, token_secret}",
    )?;
    Ok(Arc::new(NetSuiteSource::new(spec.name, profile, creds)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    /// Guards `connectors[].concurrency` for NetSuite: it was accepted and never read.
    #[test]
    fn options_and_concurrency_apply_over_the_profile() {
        let mut o = BTreeMap::new();
        o.insert("account_id".into(), serde_json::json!("999_SB2"));
        o.insert("base_url".into(), serde_json::json!("http://127.0.0.1:9"));
        let spec = ConnectorSpec {
            name: "ns",
            profile: Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/connectors/netsuite.yaml"
            )),
            options: &o,
            concurrency: Some(1),
            credentials: "netsuite",
        };
        let p = profile(&spec).unwrap();
        assert_eq!(p.account_id, "999_SB2");
        assert_eq!(p.base_url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(p.concurrency_limit, 1);
    }
}
