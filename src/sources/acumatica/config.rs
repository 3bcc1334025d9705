//! The `type: acumatica` connector's own configuration: the typed `options` a connector
//! entry of `config/upsync.yaml` may carry, how they and `concurrency` apply over the
//! profile (`connectors/acumatica.yaml`), [`problems`] for `upsync check` and [`build`] for
//! the daemon. [`crate::sources::ConnectorKind`] dispatches here; nothing else in upsync
//! knows these options.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{AcumaticaCredentials, AcumaticaProfile, AcumaticaSource};
use crate::sources::{ConnectorSetupError, ConnectorSpec, SetupProblem, Source};

/// The profile whose comments document every profile field.
pub const EXAMPLE_PROFILE: &str = "connectors/acumatica.yaml";

/// `options:` of an Acumatica connector. Unknown keys are errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcumaticaOptions {
    /// The instance URL, overriding the profile's `instance_url` (`base_url` is accepted
    /// as another name for it).
    #[serde(default, alias = "base_url", skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    /// Tenant (company) login name, overriding the profile's `tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

/// The typed options of `spec`.
pub fn options(spec: &ConnectorSpec<'_>) -> Result<AcumaticaOptions, ConnectorSetupError> {
    spec.typed_options("instance_url (or base_url), tenant")
}

/// The profile as the connector runs it: the profile file, then `options` and the
/// connector's `concurrency` over it.
pub fn profile(spec: &ConnectorSpec<'_>) -> Result<AcumaticaProfile, ConnectorSetupError> {
    let AcumaticaOptions {
        instance_url,
        tenant,
    } = options(spec)?;
    let mut profile = AcumaticaProfile::load(spec.profile)?;
    if let Some(url) = instance_url {
        profile.instance_url = url;
    }
    if let Some(t) = tenant {
        profile.tenant = t;
    }
    if let Some(n) = spec.concurrency {
        // Requests in flight at once (the licence's "max concurrent API requests").
        profile.concurrency = n.max(1) as usize;
    }
    Ok(profile)
}

/// The problems of the entry's `options` alone (no file is read).
pub fn options_problems(spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
    ConnectorSetupError::problems_of(options(spec), EXAMPLE_PROFILE)
}

/// Every problem of the connector entry's Acumatica part: its options, then its profile.
pub fn problems(spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
    ConnectorSetupError::problems_of(profile(spec), EXAMPLE_PROFILE)
}

/// The running source of a connector entry; `credentials` are the vault entry's fields.
pub fn build(
    spec: &ConnectorSpec<'_>,
    credentials: serde_json::Map<String, serde_json::Value>,
) -> Result<Arc<dyn Source>, ConnectorSetupError> {
    let profile = profile(spec)?;
    let creds: AcumaticaCredentials = spec.typed_credentials(
        credentials,
        "Acumatica credentials {username, password, client_id?, client_secret?}",
    )?;
    Ok(Arc::new(AcumaticaSource::new(spec.name, profile, creds)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::path::Path;

    fn spec<'a>(options: &'a BTreeMap<String, serde_json::Value>) -> ConnectorSpec<'a> {
        ConnectorSpec {
            name: "acu",
            profile: Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/connectors/acumatica.yaml"
            )),
            options,
            concurrency: Some(7),
            credentials: "acumatica",
        }
    }

    /// Guards `options.base_url` (the documented example's key): it was read under another
    /// name (`instance_url`) only, so the documented key did nothing.
    #[test]
    fn options_and_concurrency_apply_over_the_profile() {
        let mut o = BTreeMap::new();
        o.insert("base_url".into(), serde_json::json!("https://erp.test/Acu"));
        o.insert("tenant".into(), serde_json::json!("Other"));
        let p = profile(&spec(&o)).unwrap();
        assert_eq!(p.instance_url, "https://erp.test/Acu");
        assert_eq!(p.tenant, "Other");
        assert_eq!(p.concurrency, 7);
    }

    #[test]
    fn an_unknown_option_is_a_problem_naming_the_key() {
        let mut o = BTreeMap::new();
        o.insert("tennant".into(), serde_json::json!("Company"));
        let problems = problems(&spec(&o));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, "options");
        assert!(problems[0].message.contains("tennant"), "{problems:?}");
    }
}
