//! `check` pass 4 for `connectors`: names, schedules, credentials names, the connector
//! type's own options and profile (each ERP folder's `config.rs`), the label sink
//! (`sinks::LabelSinkConfig::problems`), and the mapping with its fixtures.

#[allow(unused_imports)]
use super::*;

/// Checks that only need the typed entry (the file/schedule checks run on the raw entry).
pub(super) fn check_connector_typed(
    r: &mut CheckReport,
    file: &Path,
    base: &Path,
    i: usize,
    c: &ConnectorConfig,
) {
    let at = format!("connectors[{i}]");
    // The connector type's typed options. Its profile is read by `profile_problems`, after
    // the bounded file checks (never here: `profile: /dev/zero` must not be read).
    for p in c.kind.options_problems(&c.spec()) {
        r.problem(file, format!("{at}.{}", p.path), p.message, p.fix);
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
    for (key, message, fix) in c.push.iter().flat_map(|p| p.problems()) {
        r.problem(file, format!("{at}.push.{key}"), message, fix);
    }
}

pub(super) fn check_connectors(r: &mut CheckReport, file: &Path, base: &Path, raw: &[Value]) {
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

/// Problems of a mapping (`mappings/*.yaml`) and its fixtures (`*.test.yaml` beside it):
/// the file exists, is readable and is YAML; then the mapping engine's own errors (each
/// with file and line, field paths checked against the fixture records), then the
/// fixtures must pass.
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
    // Bounded like every file the configuration names (config::guard).
    if fixture.exists() {
        if let Err(e) = crate::config::guard::load_yaml_file(&fixture) {
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
            crate::app::adapters::mapping::ups_request_builder(),
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

pub(super) fn yaml_file_problems(
    config_file: &Path,
    key_path: &str,
    what: &str,
    file: &Path,
) -> Vec<Problem> {
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
    // Bounded, and never an echo of the content (config::guard): a profile pointed at the
    // master key file must not print the key.
    let text = match crate::config::guard::read_bounded(file, crate::config::guard::MAX_FILE_BYTES)
    {
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
    match crate::config::guard::check_yaml_mapping(&text) {
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
