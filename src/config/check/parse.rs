//! `check` passes 1–3 helpers: reading the file and the environment, and typing each
//! section and connector, with YAML lines and friendly messages for serde's errors.

#[allow(unused_imports)]
use super::*;

/// `UPSYNC__A__B` for key path `a.b` (list entries cannot be set from the environment).
pub(super) fn env_var_for(key_path: &str) -> String {
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
pub(super) fn yaml_error_line(message: &str) -> Option<usize> {
    let rest = &message[message.find("line ")? + 5..];
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

pub(super) fn optional_section<T: DeserializeOwned + Default>(
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
/// numbers and booleans as they do in [`crate::config::load`]); a problem per failure.
pub(super) fn section<T: DeserializeOwned>(
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
pub(super) fn friendly_enum_message(message: &str) -> Option<String> {
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
pub(super) fn unexpected_kind(u: &dyn fmt::Display) -> String {
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

pub(super) fn split_error(e: &config::ConfigError) -> (String, Option<String>) {
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
