//! `upsync check`: validate the configuration and everything it names, and report **every**
//! problem at once (never stop at the first), one line each: file, key path, what is
//! wrong, what to do. Exit 78 (EX_CONFIG) on any problem, 0 when clean, with a summary
//! line either way.
//!
//! Passes, each of which runs whatever the previous ones found:
//! 1. read + YAML syntax (with line) and environment overrides (`config` crate);
//! 2. unknown keys, all of them, from the file or the environment ([`super::shape`]);
//! 3. types, per section and per connector (serde through the `config` crate);
//! 4. meaning: cron schedules, URLs, listen and printer addresses, limits, duplicate
//!    connector names, profile and mapping files (exist, readable, YAML);
//! 5. credentials presence in the vault (only `check`; the daemon does it when it opens
//!    the store). If the master key or the store is not available, that is an error (exit
//!    78: a deploy pre-flight must not pass a service that will fail) unless
//!    `--no-credentials` skips the pass;
//! 6. the store: every record read and decoded ([`crate::store::Store::verify_with`]);
//!    damage is an error naming corruption and the fix.
//!
//! Files, by pass and area: [`parse`] (passes 1–3), [`ups`], [`tracking`], [`http`],
//! [`pipeline`], [`connectors`] (pass 4; the connector types' own options and profiles
//! are checked by their folders' `config.rs`, label sinks by `sinks`, mappings by the
//! mapping engine through [`profile_problems`] and [`mapping_problems`]), [`credentials`]
//! (pass 5); this file holds the report, the entry points and the store pass.
//!
//! Never print a secret here: the vault pass reads entry names only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::*;
use super::{base_dir, cron, defaults, resolve, shape};

mod accounts;
mod checkout;
mod connectors;
mod credentials;
mod dispatch;
mod events;
mod http;
mod parse;
mod pipeline;
mod tracking;
mod ups;

#[allow(unused_imports)]
use self::{
    checkout::*, connectors::*, credentials::*, dispatch::*, events::*, http::*, parse::*,
    pipeline::*, tracking::*, ups::*,
};
pub use connectors::{mapping_problems, profile_problems};

/// One problem: where, what, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file the problem is in (the config file, or a profile/mapping it names).
    pub file: PathBuf,
    /// Line in `file`, when known (YAML syntax errors).
    pub line: Option<usize>,
    /// Key path, e.g. `connectors[1].schedule` (empty for the file as a whole).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub fix: String,
}

impl Problem {
    /// A problem without a line number.
    pub fn new(
        file: &Path,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Problem {
        Problem {
            file: file.to_path_buf(),
            line: None,
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {} -- fix: {}", self.message, self.fix)
    }
}

/// Everything `check` found. `problems` are errors (exit 78); `warnings` are not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// The configuration file checked.
    pub file: PathBuf,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Facts for the summary line (e.g. "2 connectors", "4 credentials present").
    pub notes: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        let notes = if self.notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.notes.join(", "))
        };
        let warnings = match self.warnings.len() {
            0 => String::new(),
            1 => ", 1 warning".to_string(),
            n => format!(", {n} warnings"),
        };
        match self.problems.len() {
            0 => format!("check: {} is valid{warnings}{notes}", self.file.display()),
            n => format!(
                "check: {n} problem{} in {}{warnings}; nothing was started",
                if n == 1 { "" } else { "s" },
                self.file.display()
            ),
        }
    }

    /// Record a problem (an error: `check` exits 78).
    pub fn problem(
        &mut self,
        file: &Path,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem::new(file, path, message, fix));
    }

    /// Record a warning (reported; does not fail `check`).
    pub fn warning(
        &mut self,
        file: &Path,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.warnings.push(Problem::new(file, path, message, fix));
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            writeln!(f, "error: {p}")?;
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        writeln!(f, "{}", self.summary())
    }
}

/// Check the configuration at `path` and everything it names, credentials included.
pub fn check_config(path: &Path) -> CheckReport {
    check_config_with(path, false)
}

/// [`check_config`]; `no_credentials`: skip the vault pass (say so in the summary) instead
/// of failing when it cannot run here.
pub fn check_config_with(path: &Path, no_credentials: bool) -> CheckReport {
    let (config, mut report) = analyse(path, None);
    if let Some(config) = &config {
        if let Some(w) = crate::app::wiring::public_listen_warning(&config.http) {
            report.warning(
                path,
                "http.listen",
                w,
                "see the comment of http.allow_public_listen in config/upsync.yaml",
            );
        }
        if no_credentials {
            report
                .notes
                .push("credentials not checked (--no-credentials)".into());
        } else {
            check_credentials(config, &mut report);
        }
        check_store(config, &mut report);
    } else {
        report.warning(
            path,
            "",
            "credentials were not checked because the configuration has errors",
            "fix the errors above and run `upsync check` again",
        );
    }
    report
}

/// `store:`: a PostgreSQL backend needs a URL and a pool; the lease must outlast a
/// heartbeat or two.
fn check_store_section(report: &mut CheckReport, path: &Path, s: &super::store::StoreConfig) {
    use super::store::StoreBackendName;
    if s.backend == StoreBackendName::Postgres {
        match s.effective_url() {
            None => report.problem(
                path,
                "store.url",
                "store.backend is postgres but no database is named",
                "set store.url (or UPSYNC_STORE_URL) to postgres://USER@HOST:PORT/DATABASE",
            ),
            Some(u) if crate::store::Location::parse(&u).is_err() => report.problem(
                path,
                "store.url",
                "store.url is not a postgres:// URL",
                "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE",
            ),
            Some(_) => {}
        }
    }
    if s.pool_size == 0 {
        report.problem(
            path,
            "store.pool_size",
            "store.pool_size is 0",
            "give the daemon at least 1 connection (default 8)",
        );
    }
    if s.lease_seconds < 5 {
        report.problem(
            path,
            "store.lease_seconds",
            format!("store.lease_seconds is {} (under 5 s)", s.lease_seconds),
            "leases are renewed every third of their time; use 5 or more (default 30)",
        );
    }
}

/// The store the daemon would open must read and decode in full (issue 16 item 2); on
/// PostgreSQL the database must answer (`SELECT 1`) first.
fn check_store(config: &Config, report: &mut CheckReport) {
    use crate::store::creds::VaultUnavailable;
    let file = report.file.clone();
    if let Ok(crate::store::Location::Postgres(t)) = crate::app::wiring::store_location(config) {
        match crate::store::backend::postgres::probe(&t.url) {
            Ok(()) => report
                .notes
                .push(format!("store database {} answers", t.redacted())),
            Err(e) => {
                report.problem(&file, "store.url", e.to_string(), e.fix);
                return;
            }
        }
        match crate::store::Store::open_postgres(&t, crate::store::MasterKey::from_env().ok())
            .and_then(|s| {
                s.verify_with(
                    crate::store::VERIFY_BOUND,
                    &crate::app::wiring::ledger_decoder,
                )
            }) {
            Ok(r) => report.notes.push(format!(
                "store verified: {} records in {} ms",
                r.records,
                r.elapsed.as_millis()
            )),
            Err(e) => report.problem(
                &file,
                "store",
                format!("the store is unusable: {e}"),
                "see the message; `upsync store verify` lists every bad record",
            ),
        }
        return;
    }
    match crate::store::creds::verify_state(
        config.state_dir.as_deref(),
        &crate::app::wiring::ledger_decoder,
    ) {
        Ok(None) => report.notes.push("no store yet".into()),
        Ok(Some(r)) => report.notes.push(format!(
            "store verified: {} records in {} ms",
            r.records,
            r.elapsed.as_millis()
        )),
        Err(VaultUnavailable::NotHere(why)) => report.warning(
            &file,
            "state_dir",
            format!("the store was not verified: {why}"),
            "the running daemon verified it at its start; run `upsync store verify` while it is stopped",
        ),
        Err(VaultUnavailable::Broken(why)) => report.problem(
            &file,
            "state_dir",
            format!("the store is corrupt or unreadable: {why}"),
            "stop upsync and restore the state directory from a backup (`upsync store backup DIR` makes one), or salvage it with `upsync store export DIR`",
        ),
    }
}

/// Passes 1–4. `env`: the environment overrides to apply (`None` = the process environment;
/// tests pass their own map). Returns the configuration when it could be built (possibly
/// with problems in its meaning) and the report.
pub(crate) fn analyse(
    path: &Path,
    env: Option<HashMap<String, String>>,
) -> (Option<Config>, CheckReport) {
    let mut report = CheckReport {
        file: path.to_path_buf(),
        ..CheckReport::default()
    };
    let env_names: BTreeSet<String> = match &env {
        Some(m) => m.keys().map(|k| k.to_uppercase()).collect(),
        None => std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .map(|k| k.to_uppercase())
            .collect(),
    };
    let env_note = |key_path: &str| -> String {
        let var = env_var_for(key_path);
        if env_names.contains(&var) {
            format!(" (set by the environment variable {var})")
        } else {
            String::new()
        }
    };

    // Pass 1: read, parse, merge the environment.
    // Bounded read and YAML bounds before the `config` crate parses it (super::guard).
    let text = match crate::config::guard::read_bounded(path, crate::config::guard::MAX_FILE_BYTES)
    {
        Ok(t) => t,
        Err(e) => {
            let message = match e {
                crate::config::guard::GuardError::Read(why) => {
                    format!("cannot read the configuration file: {why}")
                }
                other => format!("the configuration file {other}"),
            };
            report.problem(
                path,
                "",
                message,
                "pass the right file with --config FILE (or UPSYNC_CONFIG), or create it from the documented config/upsync.yaml",
            );
            return (None, report);
        }
    };
    if let Err(e) = crate::config::guard::check_yaml_mapping(&text) {
        report.problems.push(Problem {
            file: path.to_path_buf(),
            line: e.line(),
            path: String::new(),
            message: format!("the configuration file {e}"),
            fix: "correct the YAML there; the file must be a mapping of sections (see config/upsync.yaml)"
                .into(),
        });
        return (None, report);
    }
    let mut environment = config::Environment::with_prefix(defaults::ENV_PREFIX)
        .prefix_separator(defaults::ENV_SEPARATOR)
        .separator(defaults::ENV_SEPARATOR);
    if let Some(map) = env {
        environment = environment.source(Some(map.into_iter().collect()));
    }
    let merged = config::Config::builder()
        .add_source(config::File::from_str(&text, config::FileFormat::Yaml))
        .add_source(environment)
        .build();
    let merged = match merged {
        Ok(m) => m,
        Err(e) => {
            let message = e.to_string();
            report.problems.push(Problem {
                file: path.to_path_buf(),
                line: yaml_error_line(&message),
                path: String::new(),
                message: format!("not valid YAML (or not a mapping at the top): {message}"),
                fix: "correct the YAML at that line (indentation, a missing `:` or quote); the file must be a mapping of sections"
                    .into(),
            });
            return (None, report);
        }
    };
    let mut tree: Value = match merged.try_deserialize() {
        Ok(v) => v,
        Err(e) => {
            report.problem(
                path,
                "",
                format!("cannot read the merged configuration: {e}"),
                "check the file and the UPSYNC__* environment variables",
            );
            return (None, report);
        }
    };

    // Pass 2: every unknown key.
    for u in shape::strip_unknown(&shape::config_shape(), &mut tree, "") {
        let fix = match shape::suggest(&u.key, &u.known) {
            Some(s) => format!("did you mean `{s}`? rename or remove it"),
            None => format!("remove it; known keys here: {}", u.known.join(", ")),
        };
        let note = env_note(&u.path);
        report.problem(
            path,
            u.path.clone(),
            format!("unknown key `{}`{note}", u.key),
            fix,
        );
    }

    // Pass 3: types, section by section, connector by connector.
    let base = base_dir(path);
    let root = tree.as_object().cloned().unwrap_or_default();
    let mut ok = true;
    let state_dir: Option<PathBuf> = match root.get("state_dir") {
        None | Some(Value::Null) => None,
        Some(v) => section(&mut report, path, "state_dir", v, &env_note).or_else(|| {
            ok = false;
            None
        }),
    };
    let ups: Option<UpsConfig> = match root.get("ups") {
        None | Some(Value::Null) => {
            report.problem(
                path,
                "ups",
                "the `ups` section is missing",
                "add `ups:` with `account_number:` or `accounts:` (see config/upsync.yaml)",
            );
            None
        }
        Some(v) => section(&mut report, path, "ups", v, &env_note),
    };
    let tracking =
        optional_section::<TrackingConfig>(&mut report, path, &root, "tracking", &env_note);
    let http = optional_section::<HttpConfig>(&mut report, path, &root, "http", &env_note);
    let pipeline =
        optional_section::<PipelineConfig>(&mut report, path, &root, "pipeline", &env_note);
    let events = optional_section::<EventsConfig>(&mut report, path, &root, "events", &env_note);
    let console = optional_section::<ConsoleConfig>(&mut report, path, &root, "console", &env_note);
    let reminders =
        optional_section::<CredentialsConfig>(&mut report, path, &root, "credentials", &env_note);
    let checkout = optional_section::<super::checkout::CheckoutConfig>(
        &mut report,
        path,
        &root,
        "checkout",
        &env_note,
    );
    let dispatch = optional_section::<super::dispatch::DispatchConfig>(
        &mut report,
        path,
        &root,
        "dispatch",
        &env_note,
    );
    let store =
        optional_section::<super::store::StoreConfig>(&mut report, path, &root, "store", &env_note);
    if let Some(s) = &store {
        check_store_section(&mut report, path, s);
    }
    let raw_connectors: Vec<Value> = match root.get("connectors") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            report.problem(
                path,
                "connectors",
                "must be a list of connectors",
                "write `connectors:` followed by `- name: …` entries",
            );
            ok = false;
            Vec::new()
        }
    };
    let mut connectors = Vec::new();
    for (i, raw) in raw_connectors.iter().enumerate() {
        match section::<ConnectorConfig>(
            &mut report,
            path,
            &format!("connectors[{i}]"),
            raw,
            &env_note,
        ) {
            Some(c) => connectors.push(c),
            None => ok = false,
        }
    }

    // Pass 4: meaning. Connector files and schedules are checked from the raw entries so
    // that a type error elsewhere in the entry does not hide them.
    check_connectors(&mut report, path, &base, &raw_connectors);
    if let Some(ups) = &ups {
        check_ups(&mut report, path, ups);
        accounts::check_ship_from_accounts(&mut report, path, &base, ups, &raw_connectors);
    }
    if let Some(t) = &tracking {
        check_tracking(&mut report, path, t);
    }
    if let Some(h) = &http {
        check_http(&mut report, path, h);
    }
    if let Some(c) = &console {
        check_console(&mut report, path, c);
    }
    if let Some(p) = &pipeline {
        check_pipeline(&mut report, path, p);
    }
    if let Some(e) = &events {
        check_events(&mut report, path, e);
    }
    if let Some(c) = &checkout {
        check_checkout(&mut report, path, c, ups.as_ref());
    }
    for (i, c) in connectors.iter().enumerate() {
        check_connector_typed(&mut report, path, &base, i, c);
    }
    if let Some(d) = &dispatch {
        check_dispatch(&mut report, path, &base, d, &connectors);
    }
    if let Some(dir) = &state_dir {
        let dir = resolve(&base, dir);
        if dir.exists() && !dir.is_dir() {
            report.problem(
                path,
                "state_dir",
                format!("{} exists and is not a directory", dir.display()),
                "point state_dir at a directory (it is created when missing)",
            );
        }
    }
    if raw_connectors.is_empty() {
        report.warning(
            path,
            "connectors",
            "no connectors are configured: `upsync run` would only track",
            "add a connector (see config/upsync.yaml)",
        );
    }

    // Name the environment variable behind any value that came from the environment.
    for p in report.problems.iter_mut().filter(|p| p.file == path) {
        if !p.message.contains("(set by the environment variable") {
            p.message.push_str(&env_note(&p.path));
        }
    }

    let config = match (
        ok, ups, tracking, http, pipeline, events, console, reminders, checkout, dispatch, store,
    ) {
        (
            true,
            Some(ups),
            Some(tracking),
            Some(http),
            Some(pipeline),
            Some(events),
            Some(console),
            Some(reminders),
            Some(checkout),
            Some(dispatch),
            Some(store),
        ) => {
            let mut c = Config {
                state_dir,
                ups,
                connectors,
                tracking,
                http,
                pipeline,
                events,
                console,
                credentials: reminders,
                checkout,
                dispatch,
                store,
            };
            c.finish(&base);
            report.notes.push(match c.connectors.len() {
                1 => "1 connector".to_string(),
                n => format!("{n} connectors"),
            });
            Some(c)
        }
        _ => None,
    };
    (config, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn analyse_text(
        text: &str,
        files: &[(&str, &str)],
    ) -> (Option<Config>, CheckReport, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        for (n, t) in files {
            write(tmp.path(), n, t);
        }
        let path = write(tmp.path(), "upsync.yaml", text);
        let (c, r) = analyse(&path, Some(HashMap::new()));
        (c, r, tmp)
    }

    /// The bundled profile and mapping: `check` validates both deeply.
    const FILES: &[(&str, &str)] = &[
        ("p.yaml", crate::app::world::ACUMATICA_PROFILE),
        ("m.yaml", crate::app::world::ACUMATICA_MAPPING),
    ];

    #[test]
    fn syntax_errors_name_the_line() {
        let (c, r, _t) = analyse_text(
            "ups:\n  account_number: \"123X56\"\n  bad: [unclosed\n",
            &[],
        );
        assert!(c.is_none());
        assert_eq!(r.problems.len(), 1, "{r}");
        assert!(r.problems[0].line.is_some(), "{r}");
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let text = r#"
ups:
  account_number: "123X56"
  colour: blue
  label: {format: zpl, stock_height_inches: 7}
http: {listen: "localhost"}
tracking: {mode: track_alert}
connectors:
  - {name: a, type: acumatica, profile: p.yaml, mapping: missing.yaml, schedule: "*/5 * * * *", credentials: a}
  - {name: a, type: netsuite, profile: p.yaml, mapping: m.yaml, schedule: "99 * * * *", credentials: n,
     label_sink: {type: printer, address: "printer"}}
  - {name: b, type: sap, profile: gone.yaml, mapping: m.yaml, schedule: "* * * * *", credentials: b}
"#;
        let (_c, r, _t) = analyse_text(text, FILES);
        let paths: BTreeSet<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "ups.colour",
            "ups.label.stock_height_inches",
            "http.listen",
            "tracking.track_alert.webhook_public_url",
            "connectors[0].mapping",
            "connectors[1].name",
            "connectors[1].schedule",
            "connectors[1].label_sink.address",
            "connectors[2].type",
            "connectors[2].profile",
        ] {
            assert!(paths.contains(want), "missing {want} in:\n{r}");
        }
        // + the Acumatica profile named by the NetSuite connector is not a NetSuite profile.
        assert!(
            r.problems
                .iter()
                .any(|p| p.file.ends_with("p.yaml") && p.message.contains("account_id")),
            "{r}"
        );
        assert_eq!(r.problems.len(), 11, "{r}");
        let kind = r
            .problems
            .iter()
            .find(|p| p.path == "connectors[2].type")
            .unwrap();
        assert!(
            kind.message
                .contains("expected one of: acumatica, netsuite"),
            "{kind}"
        );
    }

    #[test]
    fn quantum_view_problems_are_named() {
        let text = "ups: {account_number: \"123X56\"}\ntracking:\n  mode: quantum_view\n  quantum_view: {interval_seconds: 5, subscription_names: [\"\", \"OutboundDefault\", \"a-name-longer-than-21-chars\"], version: v1}\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"0 */2 * * * *\", credentials: a, label_sink: {type: directory, path: labels}}\n";
        let (c, r, _t) = analyse_text(text, FILES);
        let paths: BTreeSet<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            BTreeSet::from([
                "tracking.quantum_view.interval_seconds",
                "tracking.quantum_view.subscription_names[0]",
                "tracking.quantum_view.subscription_names[2]",
                "tracking.quantum_view.version",
            ]),
            "{r}"
        );
        assert!(c.is_some_and(|c| c.tracking.mode == crate::config::TrackingMode::QuantumView));
    }

    #[test]
    fn missing_sections_and_fields_are_named() {
        let (_c, r, _t) = analyse_text("connectors:\n  - {name: a}\n", FILES);
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"ups"), "{r}");
        assert!(paths.iter().any(|p| p.starts_with("connectors[0].")), "{r}");
    }

    #[test]
    fn a_clean_config_has_no_problems_and_says_so() {
        let text = "ups: {account_number: \"123X56\"}\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"0 */2 * * * *\", credentials: a, label_sink: {type: directory, path: labels}}\n";
        let (c, r, t) = analyse_text(text, FILES);
        assert!(r.is_ok(), "{r}");
        let c = c.unwrap();
        assert_eq!(
            c.connectors[0].label_sink,
            LabelSinkConfig::Directory {
                path: t.path().join("labels")
            }
        );
        assert!(r.summary().contains("is valid"), "{}", r.summary());
    }

    #[test]
    fn the_shared_ups_quota_is_known_read_and_never_zero() {
        let base = "ups:\n  account_number: \"123X56\"\n  quotas: {all_apis_requests_per_second: N}\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"* * * * *\", credentials: a}\n";
        let (c, r, _t) = analyse_text(&base.replace('N', "25"), FILES);
        assert!(r.is_ok(), "{r}");
        assert_eq!(c.unwrap().ups.quotas.all_apis_requests_per_second, Some(25));
        let (_c, r, _t) = analyse_text(&base.replace('N', "0"), FILES);
        assert_eq!(r.problems.len(), 1, "{r}");
        assert_eq!(
            r.problems[0].path,
            "ups.quotas.all_apis_requests_per_second"
        );
    }

    /// The checkout section: off by default; when on, each problem names its key
    /// (a share of the Rating quota that leaves the pipeline nothing, a bad bind, a
    /// warehouse without a city, an unknown key in a fallback entry).
    #[test]
    fn checkout_problems_are_named() {
        let base = "ups:\n  account_number: \"123X56\"\n  quotas: {rating_requests_per_second: 10}\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"* * * * *\", credentials: a}\n";
        let (c, r, _t) = analyse_text(base, FILES);
        assert!(r.is_ok(), "{r}");
        assert_eq!(c.unwrap().checkout.bind, None, "off unless configured");
        let on = format!(
            "{base}checkout:\n  bind: \"nowhere\"\n  rating_requests_per_second: 10\n  ship_from:\n    - {{key: main, lines: [\"1 Main St\"], postal_code: \"30301\", country: US}}\n  fallback:\n    services:\n      - {{service_code: \"03\", service_name: Ground, base: \"9\", per_lb: 1, colour: red}}\n"
        );
        let (_c, r, _t) = analyse_text(&on, FILES);
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        for want in [
            "checkout.bind",
            "checkout.rating_requests_per_second",
            "checkout.ship_from[0].city",
            "checkout.fallback.services[0].colour",
        ] {
            assert!(paths.contains(&want), "{want} not in {paths:?}\n{r}");
        }
    }

    #[test]
    fn dispatch_problems_are_named_together() {
        let base = "ups:\n  account_number: \"123X56\"\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"* * * * *\", credentials: a}\n";
        let good = format!(
            "{base}dispatch:\n  sites:\n    - {{key: MAIN, time_zone: America/New_York, cutoff: \"17:00\", pickups: {{mode: on_call}}}}\n"
        );
        let (c, r, _t) = analyse_text(&good, FILES);
        assert!(r.is_ok(), "{r}");
        assert_eq!(
            c.unwrap().dispatch.sites[0].pickups.as_ref().unwrap().mode,
            crate::config::PickupMode::OnCall
        );
        let bad = format!(
            "{base}dispatch:\n  sites:\n    - {{key: NORTH, time_zone: Mars/Olympus, cutoff: \"5pm\", working_days: [mon, funday], holidays: [\"25.12.2026\"]}}\n"
        );
        let (_c, r, _t) = analyse_text(&bad, FILES);
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dispatch.sites[0].time_zone",
                "dispatch.sites[0].cutoff",
                "dispatch.sites[0].working_days[1]",
                "dispatch.sites[0].holidays[0]",
                "dispatch.sites[0].key",
            ],
            "{r}"
        );
        assert!(r.problems[4].message.contains("MAIN, WEST"), "{r}");
    }

    #[test]
    fn a_broken_mapping_file_points_at_its_own_line() {
        let files = &[
            ("p.yaml", crate::app::world::ACUMATICA_PROFILE),
            ("m.yaml", "a: 1\nb: [\n"),
        ];
        let text = "ups: {account_number: \"123X56\"}\nconnectors:\n  - {name: a, type: acumatica, profile: p.yaml, mapping: m.yaml, schedule: \"* * * * *\", credentials: a}\n";
        let (_c, r, t) = analyse_text(text, files);
        assert_eq!(r.problems.len(), 1, "{r}");
        assert_eq!(r.problems[0].file, t.path().join("m.yaml"));
        assert!(r.problems[0].line.is_some());
    }

    #[test]
    fn host_port_and_url_rules() {
        assert!(crate::sinks::printer::check_address("10.0.4.21:9100").is_ok());
        assert!(crate::sinks::printer::check_address("zebra-1.dock.local:9100").is_ok());
        assert!(crate::sinks::printer::check_address("zebra").is_err());
        assert!(crate::sinks::printer::check_address("zebra:0").is_err());
        assert!(check_http_url("http://127.0.0.1:9001", false).is_ok());
        assert!(check_http_url("http://example.com/hook", true).is_err());
        assert!(check_http_url("ftp://example.com", false).is_err());
    }
}
