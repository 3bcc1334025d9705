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
//! Extension hooks for deep validation by the modules that own the files:
//! [`profile_problems`] (connector profiles), [`mapping_problems`] (mappings and their
//! `*.test.yaml` fixtures). Today they check existence and YAML syntax only.
//!
//! Never print a secret here: the vault pass reads entry names only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::*;
use super::{base_dir, cron, defaults, resolve, shape};

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

    fn problem(
        &mut self,
        file: &Path,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.problems.push(Problem::new(file, path, message, fix));
    }

    fn warning(
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

/// `upsync check [--online] [--no-credentials]` (`--online`: also [`online_pass`]).
pub async fn run(
    g: &crate::cli::Globals,
    online: bool,
    no_credentials: bool,
) -> anyhow::Result<ExitCode> {
    let path = g.config.clone();
    let mut report =
        tokio::task::spawn_blocking(move || check_config_with(&path, no_credentials)).await?;
    if online {
        online_pass(&g.config, &mut report).await;
    }
    print!("{report}");
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(78)
    })
}

/// `check --online` (issue 15 item 14): sign in to every connector with its stored
/// credentials and count the records in the profile's ready state, overall and passing its
/// ship via / ship method filter (a note each); a warning when none pass, a problem when the
/// ERP cannot be reached. The work is `crate::ops::ping::ready_counts_by_connector`.
async fn online_pass(path: &Path, report: &mut CheckReport) {
    if !report.is_ok() {
        report.warning(
            path,
            "",
            "the online pass was skipped because the configuration has errors",
            "fix the errors above and run `upsync check --online` again",
        );
        return;
    }
    let rows = match crate::ops::ping::ready_counts_by_connector(path).await {
        Ok(rows) => rows,
        Err(e) => {
            report.warning(
                path,
                "",
                format!("the online pass could not start: {e:#}"),
                "run it where the master key and the state directory are available",
            );
            return;
        }
    };
    for (i, name, counts) in rows {
        let at = format!("connectors[{i}]");
        match counts {
            Ok(Some(c)) => {
                report.notes.push(format!("{name}: {}", c.summary()));
                if let Some(w) = c.warning() {
                    report.warning(path, at, format!("{name}: {w}"), "write the ship via / ship method names in the connector profile exactly as the ERP has them");
                }
            }
            Ok(None) => {}
            Err(e) => report.problem(
                path,
                at,
                format!("{name}: {e}"),
                "see `upsync ping` for every system",
            ),
        }
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
        if let Some(w) = crate::ops::wiring::public_listen_warning(&config.http) {
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

/// The store the daemon would open must read and decode in full (issue 16 item 2).
fn check_store(config: &Config, report: &mut CheckReport) {
    use crate::store::cli::VaultUnavailable;
    let file = report.file.clone();
    match crate::store::cli::verify_state(
        config.state_dir.as_deref(),
        &crate::ops::wiring::ledger_decoder,
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
    let text = match super::guard::read_bounded(path, super::guard::MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => {
            let message = match e {
                super::guard::GuardError::Read(why) => {
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
    if let Err(e) = super::guard::check_yaml_mapping(&text) {
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
                "add `ups:` with at least `account_number:` (see config/upsync.yaml)",
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
    }
    if let Some(t) = &tracking {
        check_tracking(&mut report, path, t);
    }
    if let Some(h) = &http {
        check_http(&mut report, path, h);
    }
    if let Some(p) = &pipeline {
        check_pipeline(&mut report, path, p);
    }
    for (i, c) in connectors.iter().enumerate() {
        check_connector_typed(&mut report, path, &base, i, c);
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

    let config = match (ok, ups, tracking, http, pipeline) {
        (true, Some(ups), Some(tracking), Some(http), Some(pipeline)) => {
            let mut c = Config {
                state_dir,
                ups,
                connectors,
                tracking,
                http,
                pipeline,
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

/// `UPSYNC__A__B` for key path `a.b` (list entries cannot be set from the environment).
fn env_var_for(key_path: &str) -> String {
    format!(
        "{}{}{}",
        defaults::ENV_PREFIX,
        defaults::ENV_SEPARATOR,
        key_path
            .replace('.', defaults::ENV_SEPARATOR)
            .to_uppercase()
    )
}

/// `... line 3 column 5` in a yaml-rust2 error → 3.
fn yaml_error_line(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn optional_section<T: DeserializeOwned + Default>(
    report: &mut CheckReport,
    file: &Path,
    root: &serde_json::Map<String, Value>,
    name: &str,
    env_note: &dyn Fn(&str) -> String,
) -> Option<T> {
    match root.get(name) {
        None | Some(Value::Null) => Some(T::default()),
        Some(v) => section(report, file, name, v, env_note),
    }
}

/// Deserialize one section through the `config` crate (so environment strings convert to
/// numbers and booleans as they do in [`super::load`]); a problem per failure.
fn section<T: DeserializeOwned>(
    report: &mut CheckReport,
    file: &Path,
    name: &str,
    value: &Value,
    env_note: &dyn Fn(&str) -> String,
) -> Option<T> {
    let wrapped = serde_json::json!({ "v": value });
    let result = config::Config::try_from(&wrapped)
        .and_then(|c| c.get::<config::Value>("v"))
        // Deserialize the inner value itself so error keys are relative to the section.
        .and_then(T::deserialize);
    match result {
        Ok(t) => Some(t),
        Err(e) => {
            let (message, key) = split_error(&e);
            let message = friendly_enum_message(&message).unwrap_or(message);
            let key_path = match key {
                Some(k) if k.starts_with('[') => format!("{name}{k}"),
                Some(k) if !k.is_empty() => format!("{name}.{k}"),
                _ => name.to_string(),
            };
            let note = env_note(&key_path);
            let fix = if message.starts_with("missing field") {
                "add it (see config/upsync.yaml for the documented example)".to_string()
            } else if message.contains("unknown variant")
                || message.contains("not an allowed value")
            {
                "use one of the values listed".to_string()
            } else {
                "correct the value's type (see config/upsync.yaml)".to_string()
            };
            report.problem(file, key_path, format!("{message}{note}"), fix);
            None
        }
    }
}

/// The `config` crate says "enum ConnectorKind does not have variant constructor sap";
/// say which values are allowed instead.
fn friendly_enum_message(message: &str) -> Option<String> {
    let rest = message.strip_prefix("enum ")?;
    let (name, value) = rest.split_once(" does not have variant constructor ")?;
    let allowed = match name {
        "ConnectorKind" => "acumatica, netsuite",
        "UpsEnvironment" => "sandbox, production",
        "LabelFormatName" => "gif, png, zpl, epl, spl",
        "TrackingMode" => "poll, track_alert",
        "TrackAlertVersion" => "v1, v2",
        _ => return Some(format!("`{value}` is not an allowed value")),
    };
    Some(format!(
        "`{value}` is not an allowed value; expected one of: {allowed}"
    ))
}

/// (message without the key, key path relative to the deserialized value).
/// The kind of an unexpected value from its `Display` (`string "…"`, `boolean `…``), without
/// the value (the `config` crate does not export the enum).
fn unexpected_kind(u: &dyn fmt::Display) -> String {
    let text = u.to_string();
    let kind = text
        .split([' ', '`', '"'])
        .next()
        .unwrap_or_default()
        .to_string();
    match kind.as_str() {
        "string" => "a string".into(),
        "boolean" => "a boolean".into(),
        "64-bit" | "128-bit" => "an integer".into(),
        "floating" => "a number".into(),
        "unit" => "nothing".into(),
        "sequence" => "a list".into(),
        "map" => "a mapping".into(),
        _ => "another type".into(),
    }
}

fn split_error(e: &config::ConfigError) -> (String, Option<String>) {
    use config::ConfigError as E;
    match e {
        E::Type {
            unexpected,
            expected,
            key,
            ..
        } => (
            // The type found, never the value (issue 16: no file content in errors).
            format!(
                "invalid type: {}, expected {expected}",
                unexpected_kind(unexpected as &dyn fmt::Display)
            ),
            key.clone(),
        ),
        E::At { error, key, .. } => {
            let (m, inner) = split_error(error);
            (m, key.clone().or(inner))
        }
        E::NotFound(k) => ("missing".to_string(), Some(k.clone())),
        other => {
            let m = other.to_string();
            // serde: "missing field `account_number`" → key `account_number`.
            let key = m
                .strip_prefix("missing field `")
                .and_then(|r| r.split('`').next())
                .map(str::to_string);
            (m, key)
        }
    }
}

// ------------------------------------------------------------------------- pass 4: meaning

fn check_ups(r: &mut CheckReport, file: &Path, ups: &UpsConfig) {
    let acct = ups.account_number.trim();
    if acct.len() != 6 || !acct.chars().all(|c| c.is_ascii_alphanumeric()) {
        r.problem(
            file,
            "ups.account_number",
            format!("`{acct}` is not a UPS account number (6 letters or digits)"),
            "copy the shipper number from your UPS account (e.g. 123X56)",
        );
    }
    if let Some(url) = &ups.base_url {
        if let Err(m) = check_http_url(url, false) {
            r.problem(file, "ups.base_url", m, "use a full URL such as https://onlinetools.ups.com or http://127.0.0.1:9001 for the simulator, or remove it to use `environment`");
        }
    }
    if ups.credentials.trim().is_empty() {
        r.problem(
            file,
            "ups.credentials",
            "empty vault entry name",
            "name the vault entry holding client_id/client_secret, e.g. `ups`",
        );
    }
    let label = &ups.label;
    if let Some(f) = label.format {
        r.warning(
            file,
            "ups.label.format",
            format!("`{}` has no effect: every mapping names its own label format (its required `label:` section)", f.to_model().ups_code()),
            "remove ups.label.format and set the format in the mapping's `label.format`",
        );
    }
    // The stock is sent as `LabelStockSize` with every label whose mapping names none.
    {
        if !matches!(label.stock_height_inches, 6 | 8) {
            r.problem(
                file,
                "ups.label.stock_height_inches",
                format!(
                    "{} is not a UPS label stock height",
                    label.stock_height_inches
                ),
                "use 6 or 8",
            );
        }
        if label.stock_width_inches != 4 {
            r.problem(
                file,
                "ups.label.stock_width_inches",
                format!(
                    "{} is not a UPS label stock width",
                    label.stock_width_inches
                ),
                "use 4",
            );
        }
    }
    let v = &ups.api_versions;
    for (key, value) in [
        ("ship", &v.ship),
        ("rating", &v.rating),
        ("void", &v.void),
        ("address_validation", &v.address_validation),
        ("label_recovery", &v.label_recovery),
        ("track", &v.track),
    ] {
        if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
            r.problem(
                file,
                format!("ups.api_versions.{key}"),
                format!("`{value}` is not an API version path segment"),
                "use a version such as v2409, v2 or v1 (see the UPS API documentation)",
            );
        }
    }
    let all = ups
        .quotas
        .all_apis_requests_per_second
        .map(|v| ("all_apis_requests_per_second", v));
    for (key, value) in ups.quotas.entries().into_iter().chain(all) {
        if value == 0 {
            r.problem(
                file,
                format!("ups.quotas.{key}"),
                "a quota of 0 requests per second would block every call",
                "use at least 1",
            );
        }
    }
    if ups.token_budget_per_day == 0 {
        r.problem(
            file,
            "ups.token_budget_per_day",
            "a budget of 0 tokens per day allows no UPS call",
            "use UPS's limit (250) or less, but at least 1",
        );
    }
    check_retry(
        r,
        file,
        "ups.retry",
        ups.retry.max_attempts,
        ups.retry.initial_backoff_ms,
        ups.retry.max_backoff_ms,
    );
    let t = &ups.timeouts;
    for (key, value) in [
        ("connect_timeout_seconds", t.connect_timeout_seconds),
        ("request_timeout_seconds", t.request_timeout_seconds),
        ("ship_timeout_seconds", t.ship_timeout_seconds),
    ] {
        if value == 0 {
            r.problem(
                file,
                format!("ups.timeouts.{key}"),
                "a timeout of 0 seconds fails every call",
                "use a positive number of seconds",
            );
        }
    }
}

fn check_retry(r: &mut CheckReport, file: &Path, at: &str, attempts: u32, initial: u64, max: u64) {
    if attempts == 0 {
        r.problem(
            file,
            format!("{at}.max_attempts"),
            "0 attempts means the call is never made",
            "use at least 1 (1 = no retry)",
        );
    }
    if initial > max {
        r.problem(
            file,
            at,
            format!("the initial backoff ({initial}) is larger than the maximum ({max})"),
            "make the initial backoff at most the maximum",
        );
    }
}

fn check_tracking(r: &mut CheckReport, file: &Path, t: &TrackingConfig) {
    for (key, value) in t.poll.entries() {
        if value == 0 {
            r.problem(
                file,
                format!("tracking.poll.{key}"),
                "an interval of 0 minutes would poll continuously",
                "use a positive number of minutes",
            );
        }
    }
    let ta = &t.track_alert;
    if t.mode == TrackingMode::TrackAlert {
        match (&ta.webhook_public_url, ta.version) {
            (None, TrackAlertVersion::V1) => r.problem(
                file,
                "tracking.track_alert.webhook_public_url",
                "Track Alert v1 needs the public https URL UPS posts events to",
                "set it to https://YOUR-HOST/webhooks/ups/track-alert (or use `mode: poll`)",
            ),
            (Some(url), _) => {
                if let Err(m) = check_http_url(url, true) {
                    r.problem(file, "tracking.track_alert.webhook_public_url", m, "use the public https URL of this server ending in /webhooks/ups/track-alert");
                }
            }
            _ => {}
        }
        if ta.credentials.trim().is_empty() {
            r.problem(
                file,
                "tracking.track_alert.credentials",
                "empty vault entry name",
                "name the vault entry holding the webhook secret, e.g. `ups-webhook`",
            );
        }
    } else if let Some(url) = &ta.webhook_public_url {
        if let Err(m) = check_http_url(url, true) {
            r.problem(
                file,
                "tracking.track_alert.webhook_public_url",
                m,
                "use the public https URL of this server ending in /webhooks/ups/track-alert",
            );
        }
    }
    if ta.quiet_period_hours == 0 {
        r.problem(
            file,
            "tracking.track_alert.quiet_period_hours",
            "0 hours would poll every package at once",
            "use a positive number of hours (default 24)",
        );
    }
    if !(1..=13).contains(&ta.renew_after_days) {
        r.problem(
            file,
            "tracking.track_alert.renew_after_days",
            format!(
                "{} days: subscriptions expire after 14 days",
                ta.renew_after_days
            ),
            "use 1 to 13 (default 12)",
        );
    }
}

fn check_http(r: &mut CheckReport, file: &Path, h: &HttpConfig) {
    if h.listen.parse::<std::net::SocketAddr>().is_err() {
        r.problem(
            file,
            "http.listen",
            format!("`{}` is not an address:port to listen on", h.listen),
            "use an IP address and port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 or [::]:8080",
        );
    }
    if h.body_limit_bytes < 1024 {
        r.problem(
            file,
            "http.body_limit_bytes",
            format!(
                "{} bytes is too small for a Track Alert event",
                h.body_limit_bytes
            ),
            "use at least 1024 (default 1048576)",
        );
    }
}

fn check_pipeline(r: &mut CheckReport, file: &Path, p: &PipelineConfig) {
    if p.jobs_in_flight == 0 {
        r.problem(
            file,
            "pipeline.jobs_in_flight",
            "0 jobs in flight means nothing is ever processed",
            "use at least 1",
        );
    }
    check_retry(
        r,
        file,
        "pipeline.retry",
        p.retry.max_attempts,
        p.retry.initial_backoff_seconds,
        p.retry.max_backoff_seconds,
    );
    if p.reconcile.min_lookups == 0 {
        r.problem(
            file,
            "pipeline.reconcile.min_lookups",
            "0 lookups would re-ship an in-doubt label without looking for it at UPS",
            "use at least 1 (default 3)",
        );
    }
    if p.reconcile.absent_after_seconds < 600 {
        r.warning(
            file,
            "pipeline.reconcile.absent_after_seconds",
            format!(
                "{} s is shorter than UPS takes to index a new label's reference: an in-doubt Ship may be sent again and its first label voided later",
                p.reconcile.absent_after_seconds
            ),
            "use 1800 (30 min) or more in production",
        );
    }
    if p.retention_days == 0 {
        r.problem(
            file,
            "pipeline.retention_days",
            "0 days would delete jobs as they finish",
            "use a positive number of days (default 120)",
        );
    }
}

/// Checks that only need the typed entry (the file/schedule checks run on the raw entry).
fn check_connector_typed(
    r: &mut CheckReport,
    file: &Path,
    base: &Path,
    i: usize,
    c: &ConnectorConfig,
) {
    let at = format!("connectors[{i}]");
    // The connector type's typed options (profile problems are reported from the raw entry).
    for p in c.kind.problems(&c.spec()) {
        if p.file.is_none() {
            r.problem(file, format!("{at}.{}", p.path), p.message, p.fix);
        }
    }
    if c.concurrency == Some(0) {
        r.problem(
            file,
            format!("{at}.concurrency"),
            "0 concurrent requests means the ERP is never read",
            "use at least 1",
        );
    }
    for (key, message, fix) in c.label_sink.problems(base) {
        r.problem(file, format!("{at}.label_sink.{key}"), message, fix);
    }
}

fn check_connectors(r: &mut CheckReport, file: &Path, base: &Path, raw: &[Value]) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, entry) in raw.iter().enumerate() {
        let at = format!("connectors[{i}]");
        let s = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
        if let Some(name) = s("name") {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                r.problem(
                    file,
                    format!("{at}.name"),
                    format!("`{name}` is not a usable connector name (it is part of every job id)"),
                    "use letters, digits, `-` and `_` only, e.g. acumatica-main",
                );
            }
            if let Some(first) = seen.get(&name) {
                r.problem(
                    file,
                    format!("{at}.name"),
                    format!("connector name `{name}` is already used by connectors[{first}]"),
                    "give every connector its own name",
                );
            } else {
                seen.insert(name, i);
            }
        }
        let kind = match s("type").as_deref() {
            Some("acumatica") => Some(ConnectorKind::Acumatica),
            Some("netsuite") => Some(ConnectorKind::Netsuite),
            _ => None,
        };
        if let Some(p) = s("profile") {
            r.problems.extend(profile_problems(
                file,
                &format!("{at}.profile"),
                kind,
                &resolve(base, Path::new(&p)),
            ));
        }
        if let Some(p) = s("mapping") {
            r.problems.extend(mapping_problems(
                file,
                &format!("{at}.mapping"),
                kind,
                &resolve(base, Path::new(&p)),
            ));
        }
        if let Some(expr) = s("schedule") {
            match cron::normalise(&expr) {
                Ok(_) => {}
                Err(e) => r.problem(
                    file,
                    format!("{at}.schedule"),
                    e.0,
                    "write 5 fields `minute hour day-of-month month day-of-week` (e.g. \"*/5 * * * *\") or 6 with seconds first",
                ),
            }
        }
        if let Some(c) = s("credentials") {
            if c.trim().is_empty() {
                r.problem(
                    file,
                    format!("{at}.credentials"),
                    "empty vault entry name",
                    "name the vault entry with this ERP's credentials (upsync creds set NAME)",
                );
            }
        }
    }
}

fn check_http_url(url: &str, require_https: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !require_https => {}
        "http" => return Err(format!("`{url}` is not https (UPS only calls https URLs)")),
        other => {
            return Err(format!(
                "`{url}` has scheme `{other}`; expected http or https"
            ))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}

// ------------------------------------------------------------------ pass 5: credentials

/// Every credentials name the configuration uses must exist in the vault (names and field
/// names only; values are never read into the report).
fn check_credentials(config: &Config, report: &mut CheckReport) {
    let file = report.file.clone();
    use crate::store::cli::VaultUnavailable;
    let present = match crate::store::cli::present_credentials(config.state_dir.as_deref()) {
        Ok(p) => p,
        Err(VaultUnavailable::NotHere(why)) => {
            // A pre-flight that passes here would start a service that then fails.
            report.problem(
                &file,
                "",
                format!("credentials could not be checked: {why}"),
                "run `upsync check` where the master key and the state directory are available (as the upsync user), or pass --no-credentials to skip this pass",
            );
            return;
        }
        Err(VaultUnavailable::Broken(why)) => {
            report.problem(
                &file,
                "",
                format!("the vault cannot be opened, so upsync could not start: {why}"),
                "fix the master key (the one the state was created with, mode 600) as the message says",
            );
            return;
        }
    };
    let mut checked = 0;
    for (key_path, name) in config.credential_names() {
        checked += 1;
        match present.entries.get(&name) {
            None => report.problem(
                &file,
                key_path,
                format!("credentials `{name}` are not in the vault (state directory {})", present.dir.display()),
                format!("store them with `upsync creds set {name} < {name}.json` (one JSON object of string fields)"),
            ),
            Some(Err(why)) => report.problem(&file, key_path, format!("credentials `{name}` cannot be read: {why}"), format!("set them again with `upsync creds set {name}`")),
            Some(Ok(fields)) if key_path == "ups.credentials" => {
                for need in ["client_id", "client_secret"] {
                    if !fields.iter().any(|f| f == need) {
                        report.problem(&file, key_path.clone(), format!("credentials `{name}` have no `{need}` field (UPS OAuth needs client_id and client_secret)"), format!("set them again with `upsync creds set {name}` including `{need}`"));
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    }
    report
        .notes
        .push(format!("{checked} credentials references checked"));
}

// ------------------------------------------------------------------ extension hooks (files)

/// Problems of a connector profile (`connectors/*.yaml`): the file exists, is readable
/// and is YAML; then the connector type's own profile loader reports every problem, with
/// `file` = the profile and `path` = the key inside it. (Options are checked with the
/// typed entry, in `check_connector_typed`.)
pub fn profile_problems(
    config_file: &Path,
    key_path: &str,
    kind: Option<ConnectorKind>,
    profile: &Path,
) -> Vec<Problem> {
    let basic = yaml_file_problems(config_file, key_path, "connector profile", profile);
    if !basic.is_empty() {
        return basic;
    }
    let Some(kind) = kind else {
        return Vec::new();
    };
    let no_options = BTreeMap::new();
    let spec = crate::sources::ConnectorSpec {
        name: "",
        profile,
        options: &no_options,
        concurrency: None,
        credentials: "",
    };
    kind.problems(&spec)
        .into_iter()
        .map(|p| {
            Problem::new(
                p.file.as_deref().unwrap_or(profile),
                p.path,
                p.message,
                p.fix,
            )
        })
        .collect()
}

/// HOOK for mappings (`mappings/*.yaml`) and their fixtures (`*.test.yaml`). Today: the
/// file exists, is readable and is YAML. Deep validation plugs in here once the mapping
/// engine lands: `mapping::Mapping::load(path)` (every error with file and line) and the
/// fixtures next to the mapping.
pub fn mapping_problems(
    config_file: &Path,
    key_path: &str,
    kind: Option<ConnectorKind>,
    mapping: &Path,
) -> Vec<Problem> {
    let _ = kind;
    let basic = yaml_file_problems(config_file, key_path, "mapping", mapping);
    if !basic.is_empty() {
        return basic;
    }
    let fixture = mapping.with_extension("test.yaml");
    // Field paths are checked against the fixture records even when the mapping has other
    // errors, so every problem shows at once.
    // Bounded like every file the configuration names (super::guard).
    if fixture.exists() {
        if let Err(e) = super::guard::load_yaml_file(&fixture) {
            return vec![Problem::new(
                &fixture,
                "",
                format!("the mapping fixture file {e}"),
                "make it a YAML file of test cases (see mappings/*.test.yaml)",
            )];
        }
    }
    let samples = if fixture.exists() {
        crate::mapping::fixture_records(&fixture).unwrap_or_default()
    } else {
        Vec::new()
    };
    let text = std::fs::read_to_string(mapping).unwrap_or_default();
    let sample_refs: Vec<&serde_json::Value> = samples.iter().collect();
    let mut problems: Vec<Problem> = crate::mapping::Mapping::problems_with_samples(
        &text,
        &mapping.display().to_string(),
        &sample_refs,
    )
    .iter()
    .map(|e| Problem {
        file: mapping.to_path_buf(),
        line: Some(e.line),
        path: key_path.to_string(),
        message: e.to_string(),
        fix: "correct the mapping (the message names the line); test it with `upsync mapping test`"
            .into(),
    })
    .collect();
    // The mapping's fixtures (`<name>.test.yaml` beside it) must pass too.
    if problems.is_empty() && fixture.exists() {
        let report = crate::mapping::run_fixture_files(
            std::slice::from_ref(&fixture),
            crate::mapping::cli::request_builder(),
        );
        if !report.ok() {
            problems.push(Problem {
                file: fixture.clone(),
                line: None,
                path: key_path.to_string(),
                message: format!("mapping fixtures fail:\n{}", report.render()),
                fix: "fix the mapping or the fixture; run `upsync mapping test` to see each case"
                    .into(),
            });
        }
    }
    problems
}

fn yaml_file_problems(config_file: &Path, key_path: &str, what: &str, file: &Path) -> Vec<Problem> {
    let problem =
        |file: &Path, line: Option<usize>, path: &str, message: String, fix: String| Problem {
            file: file.to_path_buf(),
            line,
            path: path.to_string(),
            message,
            fix,
        };
    if !file.exists() {
        return vec![problem(
            config_file,
            None,
            key_path,
            format!("{what} file {} does not exist", file.display()),
            format!("create the {what} or correct the path (relative paths start at the config file's directory)"),
        )];
    }
    // Bounded, and never an echo of the content (super::guard): a profile pointed at the
    // master key file must not print the key.
    let text = match super::guard::read_bounded(file, super::guard::MAX_FILE_BYTES) {
        Ok(t) => t,
        Err(e) => {
            return vec![problem(
                config_file,
                None,
                key_path,
                format!("{what} file {} {e}", file.display()),
                format!("point {key_path} at a readable YAML {what} file"),
            )]
        }
    };
    match super::guard::check_yaml_mapping(&text) {
        Ok(_) => Vec::new(),
        Err(e) => vec![problem(
            file,
            e.line(),
            "",
            format!("the {what} {e}"),
            format!(
                "correct it (named by {key_path} in {}); a {what} is a YAML mapping of keys",
                config_file.display()
            ),
        )],
    }
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
        ("p.yaml", crate::ops::world::ACUMATICA_PROFILE),
        ("m.yaml", crate::ops::world::ACUMATICA_MAPPING),
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

    #[test]
    fn a_broken_mapping_file_points_at_its_own_line() {
        let files = &[
            ("p.yaml", crate::ops::world::ACUMATICA_PROFILE),
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
