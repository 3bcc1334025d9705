//! NetSuite connector profile (`connectors/netsuite.yaml`): account, auth mode, the SuiteQL
//! an admin can adapt (statuses, custom fields), paging, concurrency and write-back options.
//!
//! `load` reports **every** problem at once, each with the file, the YAML path and a fix.
//! Defaults live in the `default_*` functions below and nowhere else.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// How the connector authenticates (the secrets themselves come from the vault as
/// [`super::NetSuiteCredentials`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// OAuth 2.0 client credentials with a JWT client assertion (PS256 or ES256).
    M2m,
    /// OAuth 1.0a token-based authentication (HMAC-SHA256).
    Tba,
}

/// Retry/backoff for transient answers (429 / CONCURRENCY_LIMIT_EXCEEDED, 5xx, network).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per request, first one included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// First backoff; doubles per attempt, with jitter (50–100 %).
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Backoff ceiling.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_max_attempts(),
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_ms: default_max_backoff_ms(),
        }
    }
}

/// Columns of the keyset `(lastmodifieddate, id)` as the header query names them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysetColumns {
    #[serde(default = "default_ts_column")]
    pub timestamp_column: String,
    #[serde(default = "default_id_column")]
    pub id_column: String,
}

impl Default for KeysetColumns {
    fn default() -> Self {
        KeysetColumns {
            timestamp_column: default_ts_column(),
            id_column: default_id_column(),
        }
    }
}

/// Where packages and items come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum DetailSource {
    /// Second SuiteQL queries by id (`{ids}` = comma-separated internal ids). Each must
    /// return a `transaction` column (the fulfillment id) and a `line` column.
    Suiteql {
        /// Fulfillments per detail query.
        #[serde(default = "default_detail_batch")]
        batch_size: usize,
        packages_query: String,
        items_query: String,
    },
    /// `GET /record/v1/itemFulfillment/{id}?expandSubResources=true`, one call per record.
    RecordApi,
}

/// What write-back may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteBackOptions {
    /// `shipStatus.id` to set when the plan asks to confirm the shipment (`C` = Shipped);
    /// empty = never change the status.
    #[serde(default = "default_confirm_status")]
    pub confirm_ship_status: String,
    /// Body fields the mapping may write (all others are refused as a config error).
    #[serde(default = "default_writable_fields")]
    pub writable_fields: Vec<String>,
    /// How long the first write-back of a batch waits for others before one SuiteQL query
    /// checks all their records' `lastmodifieddate` (records unchanged since they were read
    /// are written without a GET; `docs/netsuite.md`). 0 = no wait (only write-backs
    /// already queued join).
    #[serde(default = "default_check_window_ms")]
    pub check_window_ms: u64,
}

impl Default for WriteBackOptions {
    fn default() -> Self {
        WriteBackOptions {
            confirm_ship_status: default_confirm_status(),
            writable_fields: default_writable_fields(),
            check_window_ms: default_check_window_ms(),
        }
    }
}

/// The ship-method filter of the header query, kept apart so `check --online` and `ping`
/// can count ready records with and without it (a misspelt name must not look like a quiet
/// day). The header query says where it goes with `{ship_method_filter}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipMethodFilter {
    /// The SuiteQL expression compared with the names (`BUILTIN.DF(t.shipmethod)`).
    #[serde(default = "default_ship_method_column")]
    pub column: String,
    /// Ship method names exactly as NetSuite displays them (`UPS Ground`).
    pub names: Vec<String>,
}

impl ShipMethodFilter {
    /// `column IN ('A', 'B')`, quotes doubled.
    pub fn condition(&self) -> String {
        let names: Vec<String> = self
            .names
            .iter()
            .map(|n| format!("'{}'", n.replace('\'', "''")))
            .collect();
        format!("{} IN ({})", self.column, names.join(", "))
    }
}

fn default_ship_method_column() -> String {
    "BUILTIN.DF(t.shipmethod)".to_string()
}

/// The NetSuite connector profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSuiteProfile {
    /// Account id as shown in Setup > Company > Company Information (`1234567`, `1234567_SB1`).
    pub account_id: String,
    /// Explicit REST base URL (up to, not including, `/services/rest`), e.g. the simulator's
    /// `http://127.0.0.1:PORT`. Default: `https://<account-host>.suitetalk.api.netsuite.com`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// `m2m` (OAuth 2.0 client credentials) or `tba` (OAuth 1.0a).
    #[serde(default = "default_auth")]
    pub auth: AuthMode,
    /// Rows per SuiteQL page (`?limit=`), 1..=1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Requests this connector keeps in flight at most (its share of the account limit).
    #[serde(default = "default_concurrency_limit")]
    pub concurrency_limit: usize,
    /// After catching up, the next poll re-reads this many seconds before the cursor
    /// (NetSuite's lastmodifieddate time zone and commit lag are not guaranteed); the
    /// pipeline de-duplicates by id and version.
    #[serde(default = "default_overlap_seconds")]
    pub overlap_seconds: u64,
    /// Per-request timeout.
    #[serde(default = "default_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
    #[serde(default)]
    pub retry: RetryPolicy,
    #[serde(default)]
    pub keyset: KeysetColumns,
    /// Header SuiteQL. Must contain `{keyset}` (replaced by the keyset condition, `1 = 1` on
    /// the first read), `ORDER BY <timestamp_column>, <id_column>`, and return `id` and
    /// `lastmodifieddate` as `TO_CHAR(…, 'YYYY-MM-DD HH24:MI:SS')`. Columns named
    /// `shipaddress_<field>` become the `shipaddress` object. `{page_size}` is replaced if present.
    pub header_query: String,
    /// Ship methods to read; replaces `{ship_method_filter}` in the header query. Optional:
    /// without it the filter may be written into the query itself, but then `ping` and
    /// `check --online` cannot tell "no ready records" from "none pass the filter".
    #[serde(default)]
    pub ship_methods: Option<ShipMethodFilter>,
    /// Query for one record by id (`{id}`), e.g. the header query without the status filter.
    pub fetch_query: String,
    /// Packages and items.
    pub detail: DetailSource,
    #[serde(default)]
    pub write_back: WriteBackOptions,
    /// Record API type of the records read (`itemFulfillment`; `returnAuthorization` for a
    /// return profile, docs/returns.md): read and written at `/record/v1/<record_type>/{id}`.
    #[serde(default = "default_record_type")]
    pub record_type: String,
    /// SuiteQL `transaction.type` of the records read (`ItemShip`; `RtnAuth` for returns),
    /// used where upsync asks whether shipped records still exist.
    #[serde(default = "default_transaction_type")]
    pub transaction_type: String,
}

fn default_record_type() -> String {
    "itemFulfillment".into()
}
fn default_transaction_type() -> String {
    "ItemShip".into()
}

fn default_auth() -> AuthMode {
    AuthMode::M2m
}
fn default_page_size() -> u32 {
    1000
}
fn default_concurrency_limit() -> usize {
    5
}
fn default_overlap_seconds() -> u64 {
    120
}
fn default_request_timeout_seconds() -> u64 {
    120
}
fn default_max_attempts() -> u32 {
    8
}
fn default_initial_backoff_ms() -> u64 {
    500
}
fn default_max_backoff_ms() -> u64 {
    30_000
}
fn default_ts_column() -> String {
    "t.lastmodifieddate".to_string()
}
fn default_id_column() -> String {
    "t.id".to_string()
}
/// SuiteQL's largest page (`limit`) and `IN` list: one detail query per page of headers.
fn default_detail_batch() -> usize {
    1000
}
fn default_check_window_ms() -> u64 {
    2
}
fn default_confirm_status() -> String {
    "C".to_string()
}
fn default_writable_fields() -> Vec<String> {
    [
        "custbody_ups_reference",
        "custbody_ups_charges",
        "custbody_ups_status",
        "custbody_ups_error",
        "custbody_ups_label_file",
        "custbody_ups_last_scan",
        "custbody_ups_delivered",
        "custbody_ups_received_by",
        "custbody_ups_status_time",
        "custbody_ups_scan_location",
        "custbody_ups_est_delivery",
        "custbody_ups_exception",
        "custbody_ups_signature",
        "custbody_ups_scan_history",
        "custbody_ups_service",
        "custbody_ups_transit_days",
        "custbody_ups_ship_date",
        "custbody_ups_pickup_prn",
        "shippingCost",
        "memo",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

pub use crate::sources::profile::{ProfileError, ProfileProblem};

impl crate::sources::profile::Profile for NetSuiteProfile {
    const CONNECTOR: &'static str = "NetSuite";
    const EXAMPLE: &'static str = "connectors/netsuite.yaml";
    fn problems(&self) -> Vec<ProfileProblem> {
        self.validate()
    }
}

/// `1234567_SB1` → `1234567-sb1` (the host label; the TBA realm keeps `_SB1`).
pub fn account_host(account_id: &str) -> String {
    account_id.trim().to_ascii_lowercase().replace('_', "-")
}

impl NetSuiteProfile {
    /// Read, parse and validate a profile file; all problems are reported together.
    pub fn load(path: &Path) -> Result<NetSuiteProfile, ProfileError> {
        crate::sources::profile::load(path)
    }

    /// Parse and validate YAML text.
    pub fn from_yaml(text: &str) -> Result<NetSuiteProfile, Vec<ProfileProblem>> {
        crate::sources::profile::from_yaml(text)
    }

    /// All problems (empty = valid).
    pub fn validate(&self) -> Vec<ProfileProblem> {
        let mut v = Vec::new();
        let mut bad = |path: &str, message: String| {
            v.push(ProfileProblem {
                path: path.into(),
                message,
            })
        };
        let acct = self.account_id.trim();
        if acct.is_empty()
            || !acct
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bad(
                "account_id",
                format!("'{acct}' is not a NetSuite account id; copy it from Setup > Company > Company Information (e.g. 1234567 or 1234567_SB1)"),
            );
        }
        if let Some(u) = &self.base_url {
            match url::Url::parse(u) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    if url.path().contains("/services/rest") {
                        bad(
                            "base_url",
                            "leave out /services/rest; give scheme and host only".into(),
                        );
                    }
                }
                _ => bad("base_url", format!("'{u}' is not an http(s) URL")),
            }
        }
        if !(1..=1000).contains(&self.page_size) {
            bad(
                "page_size",
                format!(
                    "{} is out of range; SuiteQL pages hold 1 to 1000 rows",
                    self.page_size
                ),
            );
        }
        if self.concurrency_limit == 0 {
            bad(
                "concurrency_limit",
                "must be at least 1 (the account's base limit is 15 on Tier 1, 5 on shared tiers)"
                    .into(),
            );
        }
        if self.request_timeout_seconds == 0 {
            bad("request_timeout_seconds", "must be at least 1".into());
        }
        if self.retry.max_attempts == 0 {
            bad("retry.max_attempts", "must be at least 1".into());
        }
        if self.retry.initial_backoff_ms > self.retry.max_backoff_ms {
            bad(
                "retry.initial_backoff_ms",
                "must not exceed retry.max_backoff_ms".into(),
            );
        }
        let q = self.header_query.to_ascii_lowercase();
        if !self.header_query.contains("{keyset}") {
            bad(
                "header_query",
                "must contain the {keyset} placeholder inside WHERE (e.g. `WHERE … AND {keyset}`)"
                    .into(),
            );
        }
        match (&self.ship_methods, self.header_query.contains("{ship_method_filter}")) {
            (Some(f), true) if f.names.iter().all(|n| n.trim().is_empty()) => bad(
                "ship_methods.names",
                "must name at least one ship method (as NetSuite displays it, e.g. `UPS Ground`)".into(),
            ),
            (Some(_), false) => bad(
                "header_query",
                "ship_methods is set but the header query has no {ship_method_filter} placeholder; add `AND {ship_method_filter}` to its WHERE".into(),
            ),
            (None, true) => bad(
                "ship_methods",
                "the header query uses {ship_method_filter}: list the ship methods under `ship_methods: {names: [...]}`".into(),
            ),
            _ => {}
        }
        let order = format!(
            "order by {}, {}",
            self.keyset.timestamp_column.to_ascii_lowercase(),
            self.keyset.id_column.to_ascii_lowercase()
        );
        if !squash(&q).contains(&squash(&order)) {
            bad(
                "header_query",
                format!(
                    "must end with `ORDER BY {}, {}`: keyset paging needs a unique, stable order",
                    self.keyset.timestamp_column, self.keyset.id_column
                ),
            );
        }
        if !q.contains("lastmodifieddate") || !q.contains("to_char") {
            bad("header_query", "must return lastmodifieddate as TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate (raw dates follow the user's date preference and lose the time)".into());
        }
        if !self.fetch_query.contains("{id}") {
            bad(
                "fetch_query",
                "must contain the {id} placeholder (e.g. `WHERE t.id = {id}`)".into(),
            );
        }
        if let DetailSource::Suiteql {
            batch_size,
            packages_query,
            items_query,
        } = &self.detail
        {
            if *batch_size == 0 || *batch_size > 1000 {
                bad(
                    "detail.batch_size",
                    format!("{batch_size} is out of range 1..=1000"),
                );
            }
            for (path, text) in [
                ("detail.packages_query", packages_query),
                ("detail.items_query", items_query),
            ] {
                if !text.contains("{ids}") {
                    bad(path, "must contain the {ids} placeholder (e.g. `WHERE p.itemfulfillment IN ({ids})`)".into());
                }
                let l = text.to_ascii_lowercase();
                if !l.contains(" transaction") || !l.contains("line") {
                    bad(path, "must return the fulfillment id as `transaction` and the line number as `line`".into());
                }
            }
        }
        let st = &self.write_back.confirm_ship_status;
        if !st.is_empty() && !matches!(st.as_str(), "A" | "B" | "C") {
            bad("write_back.confirm_ship_status", format!("'{st}' is not a shipStatus id; use C (Shipped), or empty to never change the status"));
        }
        for (i, f) in self.write_back.writable_fields.iter().enumerate() {
            if !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || f.is_empty() {
                bad(
                    &format!("write_back.writable_fields[{i}]"),
                    format!("'{f}' is not a field id"),
                );
            }
        }
        v
    }

    /// The header query with `{keyset}` = `keyset`, `{page_size}`, and `{ship_method_filter}`
    /// = the ship-method condition (`with_ship_methods`) or `1 = 1` (every ready record).
    pub fn header_sql(&self, keyset: &str, with_ship_methods: bool) -> String {
        let filter = match (&self.ship_methods, with_ship_methods) {
            (Some(f), true) => f.condition(),
            _ => "1 = 1".to_string(),
        };
        self.header_query
            .replace("{keyset}", keyset)
            .replace("{ship_method_filter}", &filter)
            .replace("{page_size}", &self.page_size.to_string())
    }

    /// REST base URL without a trailing slash.
    pub fn rest_base(&self) -> String {
        match &self.base_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!(
                "https://{}.suitetalk.api.netsuite.com",
                account_host(&self.account_id)
            ),
        }
    }

    /// The OAuth 2.0 token URL (= JWT `aud`).
    pub fn token_url(&self) -> String {
        format!("{}/services/rest/auth/oauth2/v1/token", self.rest_base())
    }
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_profile() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/connectors/netsuite.yaml"
        ))
        .unwrap()
    }

    #[test]
    fn shipped_profile_is_valid() {
        let p = NetSuiteProfile::from_yaml(&repo_profile()).unwrap();
        assert_eq!(p.account_id, "1234567_SB1");
        assert_eq!(
            p.rest_base(),
            "https://1234567-sb1.suitetalk.api.netsuite.com"
        );
        assert_eq!(
            p.token_url(),
            "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token"
        );
        assert!(matches!(p.detail, DetailSource::Suiteql { .. }));
    }

    /// Issue 15 item 14: the ship-method filter is separable from the header query, and
    /// the two must agree (placeholder and list).
    #[test]
    fn ship_method_filter_and_its_placeholder_go_together() {
        let p = NetSuiteProfile::from_yaml(&repo_profile()).unwrap();
        let with = p.header_sql("1 = 1", true);
        assert!(with.contains("BUILTIN.DF(t.shipmethod) IN ('UPS Ground', 'UPS 2nd Day Air'"));
        let without = p.header_sql("1 = 1", false);
        assert!(!without.contains("UPS Ground") && !without.contains('{'));
        let no_placeholder = repo_profile().replace("AND {ship_method_filter}", "");
        let problems = NetSuiteProfile::from_yaml(&no_placeholder).unwrap_err();
        assert_eq!(problems[0].path, "header_query");
        let no_list = repo_profile().replace("ship_methods:", "unused_ship_methods:");
        assert!(NetSuiteProfile::from_yaml(&no_list).is_err());
        let f = ShipMethodFilter {
            column: "c".into(),
            names: vec!["O'Brien Freight".into()],
        };
        assert_eq!(f.condition(), "c IN ('O''Brien Freight')");
    }

    #[test]
    fn all_problems_are_reported_together() {
        let text = repo_profile()
            .replace("page_size: 1000", "page_size: 5000")
            .replace("concurrency_limit: 5", "concurrency_limit: 0")
            .replace("{keyset}", "1 = 1")
            .replace(
                "confirm_ship_status: \"C\"",
                "confirm_ship_status: \"Shipped\"",
            );
        let problems = NetSuiteProfile::from_yaml(&text).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "page_size",
            "concurrency_limit",
            "header_query",
            "write_back.confirm_ship_status",
        ] {
            assert!(paths.contains(&want), "{want} missing in {paths:?}");
        }
    }

    #[test]
    fn unknown_fields_are_errors() {
        let text = format!("{}\npage_sise: 10\n", repo_profile());
        let problems = NetSuiteProfile::from_yaml(&text).unwrap_err();
        assert!(problems[0].message.contains("page_sise"), "{problems:?}");
        let text = repo_profile().replace("  batch_size: 1000", "  batch_sise: 1000");
        let problems = NetSuiteProfile::from_yaml(&text).unwrap_err();
        assert!(problems[0].message.contains("batch_sise"), "{problems:?}");
        let text = repo_profile().replace("mode: suiteql", "mode: odbc");
        assert!(NetSuiteProfile::from_yaml(&text).is_err());
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ns.yaml");
        std::fs::write(
            &f,
            repo_profile().replace("account_id: \"1234567_SB1\"", "account_id: \"12 34\""),
        )
        .unwrap();
        let e = NetSuiteProfile::load(&f).unwrap_err();
        assert!(e.to_string().contains("ns.yaml"));
        assert_eq!(e.problems[0].path, "account_id");
    }

    #[test]
    fn sandbox_host() {
        assert_eq!(account_host("1234567_SB1"), "1234567-sb1");
        assert_eq!(account_host("TSTDRV123"), "tstdrv123");
    }
}
