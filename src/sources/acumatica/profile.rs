//! The Acumatica connector profile (`connectors/acumatica.yaml`): which instance, which
//! endpoint version, how to sign in, which shipments are "ready to ship", what to expand.
//!
//! Every field is documented in `connectors/acumatica.yaml`; defaults live here only.
//! `load` reports **every** problem at once (file, field path, fix). Credentials are not
//! part of the profile: they come from the vault as [`AcumaticaCredentials`].

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Sign-in method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// `POST /entity/auth/login` + cookies; logged out once idle (`keep_session_seconds`).
    #[default]
    Cookie,
    /// OAuth 2.0 resource-owner password grant (`/identity/connect/token`) with refresh.
    OauthPassword,
}

/// How to sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub mode: AuthMode,
    /// OAuth client id (`<GUID>@<Tenant>`); may instead come with the credentials.
    #[serde(default)]
    pub client_id: Option<String>,
    /// OAuth scope; `offline_access` gives refresh tokens.
    #[serde(default = "default_scope")]
    pub scope: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::Cookie,
            client_id: None,
            scope: default_scope(),
        }
    }
}

/// Which shipments are ready to ship (server-side `$filter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadyFilter {
    /// `Status` values that mean ready (e.g. `Open`).
    #[serde(default = "default_statuses")]
    pub statuses: Vec<String>,
    /// Required `Hold` value; `null` = do not filter on hold.
    #[serde(default = "default_hold")]
    pub hold: Option<bool>,
    /// `ShipVia` codes that mean UPS (everything else is not ours).
    #[serde(default = "default_ship_via")]
    pub ship_via: Vec<String>,
    /// `Operation` values read (`Issue` for outbound shipments, `Receipt` for the receipt
    /// shipments of RMA orders: docs/returns.md); empty = do not filter on the operation.
    #[serde(default)]
    pub operations: Vec<String>,
}

impl Default for ReadyFilter {
    fn default() -> Self {
        ReadyFilter {
            statuses: default_statuses(),
            hold: default_hold(),
            ship_via: default_ship_via(),
            operations: Vec::new(),
        }
    }
}

/// The connector profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcumaticaProfile {
    /// Full instance URL, e.g. `https://acme.acumatica.com/MyInstance` (no trailing `/entity`).
    pub instance_url: String,
    /// Endpoint name (`Default`).
    #[serde(default = "default_endpoint")]
    pub endpoint: String,
    /// Exact endpoint version (`23.200.001`); must be listed by `GET /entity`.
    pub endpoint_version: String,
    /// Tenant (company) login name.
    pub tenant: String,
    /// Branch to sign in to (optional).
    #[serde(default)]
    pub branch: Option<String>,
    /// Locale (`EN-US`, optional).
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub auth: AuthConfig,
    /// Top-level entity read and written (`Shipment`).
    #[serde(default = "default_entity")]
    pub entity: String,
    /// Key fields of the entity, in order (`[ShipmentNbr]`): their values, slash-delimited,
    /// address a record in `…/{entity}/{key values}/files/{name}` (the swagger's `ids`), and
    /// the first one splits list windows that hold more than a page of equal timestamps.
    #[serde(default = "default_key_fields")]
    pub key_fields: Vec<String>,
    #[serde(default)]
    pub ready: ReadyFilter,
    /// `$expand` list (contract v4 returns only what is expanded).
    #[serde(default = "default_expand")]
    pub expand: Vec<String>,
    /// `$custom` list, `View.Field` (custom fields come back only when asked).
    #[serde(default = "default_custom")]
    pub custom: Vec<String>,
    /// `$top` per list request.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Kept so older profiles still load; unused since scans read windows that each fit in
    /// one answer instead of `$skip` pages (list order is not guaranteed, ERP-NOTES §A3).
    #[serde(default = "default_page_overlap_rows")]
    pub page_overlap_rows: u32,
    /// Every this many scans, read the whole ready set without the time filter (0 = never):
    /// catches anything an incremental scan could not see (commits later than
    /// `overlap_seconds`, clocks set back). Costs about 2 × (ready shipments / page_size)
    /// list requests once per period, and hands every ready record to the pipeline again
    /// (the ledger drops versions it already has).
    #[serde(default = "default_full_scan_every_scans")]
    pub full_scan_every_scans: u32,
    /// Re-read this many seconds before the cursor (clock skew, late commits); duplicates are dropped.
    #[serde(default = "default_overlap")]
    pub overlap_seconds: u32,
    /// Run `ConfirmShipment` after a write-back that carries tracking numbers (a plan may also ask).
    #[serde(default)]
    pub confirm_shipment: bool,
    /// Whole-request timeout.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: u64,
    /// TCP/TLS connect timeout.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_seconds: u64,
    /// Requests in flight at once (licence "max concurrent API requests").
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// How long to wait for a free licence session slot ("API Login Limit") before giving up.
    #[serde(default = "default_login_wait")]
    pub login_wait_max_seconds: u64,
    /// Retries of a request answered 429 (licence request queue) before reporting "transient".
    #[serde(default = "default_retries")]
    pub retry_max_attempts: u32,
    /// First backoff delay; doubles per attempt up to `backoff_max_ms`.
    #[serde(default = "default_backoff_initial")]
    pub backoff_initial_ms: u64,
    #[serde(default = "default_backoff_max")]
    pub backoff_max_ms: u64,
    /// The longest wait between polls of a long-running action's `Location`; the first
    /// poll comes when the confirmations before suggest it is done (`action.rs`).
    #[serde(default = "default_action_poll")]
    pub action_poll_interval_ms: u64,
    /// Give up waiting for a long-running action after this long (it keeps running server-side).
    #[serde(default = "default_action_timeout")]
    pub action_timeout_seconds: u64,
    /// Sessions (cookie sign-ins or OAuth token chains) the connector may hold at once, each
    /// one of the licence's "Max Web Services API Users" (ERP-NOTES §A2). A long-running
    /// action (`ConfirmShipment`) holds its session alone until it ends (§A4, §G6): with 2
    /// or more, actions run in sessions 2.. while reads and writes go on in the first.
    /// Extra sessions sign in only when an action needs one.
    #[serde(default = "default_sessions")]
    pub sessions: usize,
    /// Keep the signed-in sessions this long after a cycle, for the next cycle to reuse
    /// (no sign-in per cycle); logged out once idle this long, and at shutdown. 0 = log
    /// out after every cycle. A kept session occupies a licence slot meanwhile.
    #[serde(default = "default_keep_session")]
    pub keep_session_seconds: u64,
    /// Write back from what the listing read (package line ids, key values, status, custom
    /// field types; `snapshot.rs`) instead of a `GET` of the record before each write, when
    /// the listing is at most this old; otherwise (or after a restart) read first. 0 =
    /// always read first.
    #[serde(default = "default_reuse_listing")]
    pub reuse_listing_seconds: u64,
    /// `per_package`: one file per label; `per_shipment`: the ZPL/EPL/SPL labels of a
    /// shipment concatenated into one file (`labels.rs`; GIF/PNG/PDF stay per package).
    #[serde(default)]
    pub label_files: super::labels::LabelFiles,
}

fn default_scope() -> String {
    "api offline_access".into()
}
fn default_statuses() -> Vec<String> {
    vec!["Open".into()]
}
fn default_hold() -> Option<bool> {
    Some(false)
}
fn default_ship_via() -> Vec<String> {
    [
        "UPSGROUND",
        "UPS2DAY",
        "UPSNDA",
        "UPS3DAY",
        "UPSSTD",
        "UPSWWEXP",
        "UPSSAVER",
        "UPSBEST",
    ]
    .map(String::from)
    .to_vec()
}
fn default_endpoint() -> String {
    "Default".into()
}
fn default_entity() -> String {
    "Shipment".into()
}
fn default_key_fields() -> Vec<String> {
    vec!["ShipmentNbr".into()]
}
fn default_expand() -> Vec<String> {
    [
        "Packages",
        "Orders",
        "Details",
        "ShippingSettings/ShipToAddress",
        "ShippingSettings/ShipToContact",
    ]
    .map(String::from)
    .to_vec()
}
fn default_custom() -> Vec<String> {
    [
        "Document.UsrCustomerPO",
        "Document.UsrUpsReference",
        "Document.UsrUpsCharges",
        "Document.UsrUpsStatus",
        "Document.UsrUpsError",
        "Document.UsrUpsLastScan",
        "Document.UsrUpsDeliveredAt",
        "Document.UsrUpsReceivedBy",
        "Document.UsrUpsStatusTime",
        "Document.UsrUpsLastScanLocation",
        "Document.UsrUpsEstDelivery",
        "Document.UsrUpsException",
        "Document.UsrUpsScanHistory",
        "Transactions.UsrHSCode",
        "Transactions.UsrOriginCountry",
        "Transactions.UsrUnitPrice",
    ]
    .map(String::from)
    .to_vec()
}
fn default_page_size() -> u32 {
    100
}
fn default_page_overlap_rows() -> u32 {
    10
}
fn default_full_scan_every_scans() -> u32 {
    60
}
fn default_overlap() -> u32 {
    5
}
fn default_request_timeout() -> u64 {
    60
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_concurrency() -> usize {
    2
}
fn default_login_wait() -> u64 {
    300
}
fn default_retries() -> u32 {
    6
}
fn default_backoff_initial() -> u64 {
    500
}
fn default_backoff_max() -> u64 {
    30_000
}
fn default_action_poll() -> u64 {
    1_000
}
fn default_action_timeout() -> u64 {
    300
}
fn default_sessions() -> usize {
    1
}
fn default_keep_session() -> u64 {
    300
}
fn default_reuse_listing() -> u64 {
    600
}

pub use crate::sources::profile::{ProfileError, ProfileProblem};

impl crate::sources::profile::Profile for AcumaticaProfile {
    const CONNECTOR: &'static str = "Acumatica";
    const EXAMPLE: &'static str = "connectors/acumatica.yaml";
    fn problems(&self) -> Vec<ProfileProblem> {
        self.validate()
    }
}

impl AcumaticaProfile {
    /// A profile with defaults for everything but the instance, version and tenant.
    pub fn new(instance_url: &str, endpoint_version: &str, tenant: &str) -> AcumaticaProfile {
        serde_norway::from_str(&format!(
            "instance_url: {instance_url:?}\nendpoint_version: {endpoint_version:?}\ntenant: {tenant:?}\n"
        ))
        .expect("minimal profile parses")
    }

    /// Read, parse and validate a profile file; all problems are reported together.
    pub fn load(path: &Path) -> Result<AcumaticaProfile, ProfileError> {
        crate::sources::profile::load(path)
    }

    /// Parse and validate YAML text.
    pub fn from_yaml(text: &str) -> Result<AcumaticaProfile, Vec<ProfileProblem>> {
        crate::sources::profile::from_yaml(text)
    }

    /// Every semantic problem of an already parsed profile.
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut out = Vec::new();
        let mut bad = |path: &str, message: String| {
            out.push(ProfileProblem {
                path: path.into(),
                message,
            })
        };
        match url::Url::parse(&self.instance_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                if u.query().is_some() || u.path().trim_end_matches('/').ends_with("/entity") {
                    bad(
                        "instance_url",
                        "give the instance URL only (e.g. https://acme.acumatica.com/MyInstance), without /entity or a query".into(),
                    );
                }
            }
            _ => bad(
                "instance_url",
                format!(
                    "'{}' is not an http(s) URL; e.g. https://acme.acumatica.com/MyInstance",
                    self.instance_url
                ),
            ),
        }
        let v: Vec<&str> = self.endpoint_version.split('.').collect();
        if v.len() != 3
            || v.iter()
                .any(|p| p.is_empty() || !p.chars().all(|c| c.is_ascii_digit()))
        {
            bad(
                "endpoint_version",
                format!(
                    "'{}' is not an exact endpoint version like 23.200.001",
                    self.endpoint_version
                ),
            );
        }
        if self.endpoint.trim().is_empty() {
            bad("endpoint", "must name the endpoint, e.g. Default".into());
        }
        if self.tenant.trim().is_empty() {
            bad("tenant", "must name the tenant (company) login name".into());
        }
        if self.entity.trim().is_empty() {
            bad("entity", "must name the entity, e.g. Shipment".into());
        }
        if self.auth.mode == AuthMode::OauthPassword
            && self.auth.scope.split(' ').all(|s| s != "api")
        {
            bad(
                "auth.scope",
                "must contain 'api' (e.g. 'api offline_access')".into(),
            );
        }
        if self.ready.statuses.is_empty() {
            bad(
                "ready.statuses",
                "list at least one status (e.g. Open)".into(),
            );
        }
        if self.ready.ship_via.is_empty() {
            bad(
                "ready.ship_via",
                "list the ShipVia codes that mean UPS".into(),
            );
        }
        for (i, c) in self.custom.iter().enumerate() {
            match c.split_once('.') {
                Some((v, f)) if !v.is_empty() && !f.is_empty() && !f.contains('.') => {}
                _ => bad(
                    &format!("custom[{i}]"),
                    format!("'{c}' must be View.Field, e.g. Document.UsrCustomerPO"),
                ),
            }
        }
        for (i, e) in self.expand.iter().enumerate() {
            if e.trim().is_empty() || e.contains(',') {
                bad(
                    &format!("expand[{i}]"),
                    format!("'{e}' must be one entity path, e.g. ShippingSettings/ShipToAddress"),
                );
            }
        }
        if !(2..=1000).contains(&self.page_size) {
            bad(
                "page_size",
                format!("{} is out of range 2..=1000", self.page_size),
            );
        }
        if self.key_fields.is_empty() || self.key_fields.iter().any(|k| k.trim().is_empty()) {
            bad(
                "key_fields",
                "list the entity's key fields in order, e.g. [ShipmentNbr]".into(),
            );
        }
        if self.concurrency == 0 {
            bad("concurrency", "must be at least 1".into());
        }
        if !(1..=16).contains(&self.sessions) {
            bad(
                "sessions",
                format!(
                    "{} is out of range 1..=16 (each session is one of the licence's API users)",
                    self.sessions
                ),
            );
        }
        for (name, v) in [
            ("request_timeout_seconds", self.request_timeout_seconds),
            ("connect_timeout_seconds", self.connect_timeout_seconds),
            ("backoff_initial_ms", self.backoff_initial_ms),
            ("action_poll_interval_ms", self.action_poll_interval_ms),
        ] {
            if v == 0 {
                bad(name, "must be greater than 0".into());
            }
        }
        if self.backoff_max_ms < self.backoff_initial_ms {
            bad(
                "backoff_max_ms",
                "must be at least backoff_initial_ms".into(),
            );
        }
        out
    }
}

/// Credentials from the vault. `Debug` never prints the secrets.
#[derive(Clone, Deserialize, Serialize)]
pub struct AcumaticaCredentials {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
}

impl fmt::Debug for AcumaticaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcumaticaCredentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_profile_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("connectors/acumatica.yaml");
        let p = AcumaticaProfile::load(&path).unwrap();
        assert_eq!(p.endpoint, "Default");
        assert_eq!(p.endpoint_version, "23.200.001");
        assert_eq!(p.ready.statuses, ["Open"]);
        assert_eq!(p.ready.hold, Some(false));
        assert!(p
            .expand
            .iter()
            .any(|e| e == "ShippingSettings/ShipToAddress"));
    }

    #[test]
    fn every_problem_is_reported() {
        let e = AcumaticaProfile::from_yaml(
            "instance_url: ftp://x\nendpoint_version: '23.200'\ntenant: ''\npage_size: 0\ncustom: [UsrX]\nready: {statuses: [], ship_via: []}\n",
        )
        .unwrap_err();
        let paths: Vec<&str> = e.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "instance_url",
            "endpoint_version",
            "tenant",
            "page_size",
            "custom[0]",
            "ready.statuses",
            "ready.ship_via",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        let e = AcumaticaProfile::from_yaml(
            "instance_url: http://x\nendpoint_version: 23.200.001\ntenant: T\npage_sise: 5\n",
        )
        .unwrap_err();
        assert!(e[0].message.contains("page_sise"), "{e:?}");
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = AcumaticaCredentials {
            username: "admin".into(),
            password: "hunter2".into(),
            client_id: Some("c@T".into()),
            client_secret: Some("s3cret".into()),
        };
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("s3cret"));
    }
}
