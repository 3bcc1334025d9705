//! The `events:` section of the configuration: outbound webhooks. The events folder owns
//! it (type, defaults from `config::defaults`, [`EventsConfig::problems`]); `config/`
//! re-exports it and `check` reports its problems with the others.
//!
//! Must never: hold a secret. `secret` names a vault entry (`upsync creds set NAME` with
//! `{"secret": "…"}`), resolved when the daemon is assembled.

use serde::{Deserialize, Serialize};

use crate::config::defaults as d;
use crate::model::Milestone;

/// Outbound status events (`events:`). No webhooks (the default): nothing is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// Receivers of status changes; each gets every status change it asks for.
    pub webhooks: Vec<WebhookConfig>,
    /// Deliveries in flight at once per webhook (each to a different parcel: one parcel's
    /// events always go one after the other).
    pub deliveries_in_flight: u32,
    /// Ceiling of the first retry delay after a failed delivery, seconds; doubles with each
    /// attempt (the delay is random below the ceiling).
    pub initial_backoff_seconds: u64,
    /// Upper bound of any retry delay, seconds.
    pub max_backoff_seconds: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            webhooks: Vec::new(),
            deliveries_in_flight: d::EVENTS_DELIVERIES_IN_FLIGHT,
            initial_backoff_seconds: d::EVENTS_INITIAL_BACKOFF_SECONDS,
            max_backoff_seconds: d::EVENTS_MAX_BACKOFF_SECONDS,
        }
    }
}

/// One receiver (`events.webhooks[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique name: in the outbox keys, `upsync events list --webhook`, metrics labels.
    /// Letters, digits, `-` and `_`. Renaming it leaves the old name's undelivered events
    /// behind.
    pub name: String,
    /// Where events are POSTed (https; http only on loopback or a trusted network).
    pub url: String,
    /// Vault entry with the signing secret: `upsync creds set NAME` with `{"secret": "…"}`.
    pub secret: String,
    /// Statuses this webhook receives (`label_created`, `picked_up`, `in_transit`,
    /// `out_for_delivery`, `exception`, `delivered`, `returned`, `voided`); empty = all.
    #[serde(default)]
    pub statuses: Vec<Milestone>,
    /// Attempts per event before it is dead-lettered.
    #[serde(default = "max_attempts")]
    pub max_attempts: u32,
    /// Seconds one delivery may take (connect, send, answer) before it counts as failed.
    #[serde(default = "timeout_seconds")]
    pub timeout_seconds: u64,
}

fn max_attempts() -> u32 {
    d::EVENTS_WEBHOOK_MAX_ATTEMPTS
}
fn timeout_seconds() -> u64 {
    d::EVENTS_WEBHOOK_TIMEOUT_SECONDS
}

impl WebhookConfig {
    /// A complete example (the configuration's key shape is derived from it).
    pub fn example() -> WebhookConfig {
        WebhookConfig {
            name: "wms".into(),
            url: "https://wms.example.com/upsync/events".into(),
            secret: "wms-webhook".into(),
            statuses: vec![Milestone::Delivered],
            max_attempts: max_attempts(),
            timeout_seconds: timeout_seconds(),
        }
    }

    /// Does this webhook want events of `status`?
    pub fn wants(&self, status: Milestone) -> bool {
        self.statuses.is_empty() || self.statuses.contains(&status)
    }
}

/// One problem of the `events` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsProblem {
    /// Key path under the configuration root, e.g. `events.webhooks[1].url`.
    pub path: String,
    pub message: String,
    pub fix: &'static str,
    /// A warning (reported, does not fail `check`) rather than an error.
    pub warning: bool,
}

/// Is `name` usable as a webhook name (outbox keys are split on `/`)?
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl EventsConfig {
    /// Every problem of the section, all at once. Every field is named (no `..`), so a new
    /// setting cannot go unchecked by accident.
    pub fn problems(&self) -> Vec<EventsProblem> {
        let EventsConfig {
            webhooks,
            deliveries_in_flight,
            initial_backoff_seconds,
            max_backoff_seconds,
        } = self;
        let mut out = Vec::new();
        let mut problem = |path: String, message: String, fix: &'static str, warning: bool| {
            out.push(EventsProblem {
                path,
                message,
                fix,
                warning,
            })
        };
        if *deliveries_in_flight == 0 {
            problem(
                "events.deliveries_in_flight".into(),
                "0 deliveries in flight means no event is ever delivered".into(),
                "use at least 1 (default 8)",
                false,
            );
        }
        if *initial_backoff_seconds == 0 {
            problem(
                "events.initial_backoff_seconds".into(),
                "0 seconds would retry a failing receiver in a tight loop".into(),
                "use at least 1 (default 30)",
                false,
            );
        }
        if max_backoff_seconds < initial_backoff_seconds {
            problem(
                "events.max_backoff_seconds".into(),
                format!(
                    "{max_backoff_seconds} s is below initial_backoff_seconds ({initial_backoff_seconds} s)"
                ),
                "make it at least initial_backoff_seconds (default 3600)",
                false,
            );
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, w) in webhooks.iter().enumerate() {
            let WebhookConfig {
                name,
                url,
                secret,
                statuses: _, // typed: an unknown status is a type error already
                max_attempts,
                timeout_seconds,
            } = w;
            let at = |k: &str| format!("events.webhooks[{i}].{k}");
            if !valid_name(name) {
                problem(
                    at("name"),
                    format!("`{name}` is not a valid webhook name"),
                    "use 1 to 64 letters, digits, `-` or `_`",
                    false,
                );
            } else if !seen.insert(name.clone()) {
                problem(
                    at("name"),
                    format!("webhook name `{name}` is used twice"),
                    "give every webhook its own name",
                    false,
                );
            }
            match url::Url::parse(url) {
                Err(e) => problem(
                    at("url"),
                    format!("`{url}` is not a URL: {e}"),
                    "write the receiver's full URL, e.g. https://wms.example.com/upsync/events",
                    false,
                ),
                Ok(u) if !matches!(u.scheme(), "http" | "https") => problem(
                    at("url"),
                    format!("`{url}` has scheme `{}`; expected https", u.scheme()),
                    "use an https URL",
                    false,
                ),
                Ok(u) if u.host_str().is_none_or(str::is_empty) => problem(
                    at("url"),
                    format!("`{url}` has no host"),
                    "write the receiver's full URL, e.g. https://wms.example.com/upsync/events",
                    false,
                ),
                Ok(u) if !u.username().is_empty() || u.password().is_some() => problem(
                    at("url"),
                    "the URL carries a user name or password, which would be a secret in the configuration".into(),
                    "remove them: receivers authenticate upsync by the signature (X-Upsync-Signature)",
                    false,
                ),
                Ok(u) if u.scheme() == "http" && !is_loopback(&u) => problem(
                    at("url"),
                    format!("`{url}` is plain http: events (names of who signed for parcels) travel unencrypted"),
                    "use https unless the receiver is on a trusted network",
                    true,
                ),
                Ok(_) => {}
            }
            if secret.trim().is_empty() {
                problem(
                    at("secret"),
                    "empty vault entry name".into(),
                    "name the vault entry holding the signing secret (`upsync creds set NAME` with {\"secret\": \"…\"})",
                    false,
                );
            }
            if *max_attempts == 0 {
                problem(
                    at("max_attempts"),
                    "0 attempts would dead-letter every event without sending it".into(),
                    "use at least 1 (default 12)",
                    false,
                );
            }
            if *timeout_seconds == 0 || *timeout_seconds > 300 {
                problem(
                    at("timeout_seconds"),
                    format!("{timeout_seconds} s is outside 1 to 300"),
                    "use 1 to 300 seconds (default 10)",
                    false,
                );
            }
        }
        out
    }

    /// Vault entries the section names, with their key paths.
    pub fn credential_names(&self) -> Vec<(String, String)> {
        self.webhooks
            .iter()
            .enumerate()
            .map(|(i, w)| (format!("events.webhooks[{i}].secret"), w.secret.clone()))
            .collect()
    }
}

fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(name: &str, url: &str) -> WebhookConfig {
        WebhookConfig {
            name: name.into(),
            url: url.into(),
            ..WebhookConfig::example()
        }
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let c = EventsConfig {
            webhooks: vec![
                hook("a", "https://x.example/h"),
                hook("a", "ftp://x.example/h"),
                WebhookConfig {
                    secret: " ".into(),
                    max_attempts: 0,
                    timeout_seconds: 0,
                    ..hook("b/c", "https://u:p@x.example/")
                },
                hook("d", "http://wms.example/h"),
                hook("e", "http://127.0.0.1:9000/h"),
            ],
            deliveries_in_flight: 0,
            initial_backoff_seconds: 0,
            max_backoff_seconds: 0,
        };
        let p = c.problems();
        let paths: Vec<(&str, bool)> = p.iter().map(|p| (p.path.as_str(), p.warning)).collect();
        assert_eq!(
            paths,
            vec![
                ("events.deliveries_in_flight", false),
                ("events.initial_backoff_seconds", false),
                ("events.webhooks[1].name", false),
                ("events.webhooks[1].url", false),
                ("events.webhooks[2].name", false),
                ("events.webhooks[2].url", false),
                ("events.webhooks[2].secret", false),
                ("events.webhooks[2].max_attempts", false),
                ("events.webhooks[2].timeout_seconds", false),
                ("events.webhooks[3].url", true),
            ],
            "{p:#?}"
        );
        assert!(EventsConfig::default().problems().is_empty());
    }

    /// `check` reports the section's problems with the others (and a type error in a
    /// status by the key), and names the webhook's vault entry as a credential to check.
    #[test]
    fn check_reports_the_section_with_the_rest_of_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upsync.yaml");
        std::fs::write(
            &path,
            "ups:\n  account_number: \"123X56\"\nevents:\n  deliveries_in_flight: 0\n  webhooks:\n    - {name: wms, url: \"http://wms.example.com/h\", secret: wms-hook}\n    - {name: wms, url: \"https://x.example.com/\", secret: other, max_attempts: 0}\n",
        )
        .unwrap();
        let (cfg, r) = crate::config::check::analyse(&path, Some(std::collections::HashMap::new()));
        let paths: Vec<&str> = r.problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "events.deliveries_in_flight",
                "events.webhooks[1].name",
                "events.webhooks[1].max_attempts"
            ],
            "{r}"
        );
        assert!(
            r.warnings
                .iter()
                .any(|w| w.path == "events.webhooks[0].url" && w.message.contains("plain http")),
            "{r}"
        );
        let names = cfg.unwrap().credential_names();
        assert!(names.contains(&("events.webhooks[0].secret".into(), "wms-hook".into())));
        std::fs::write(
            &path,
            "ups:\n  account_number: \"123X56\"\nevents:\n  webhooks:\n    - {name: wms, url: \"https://x.example.com/\", secret: s, statuses: [deliverd]}\n",
        )
        .unwrap();
        let (cfg, r) = crate::config::check::analyse(&path, Some(std::collections::HashMap::new()));
        assert!(cfg.is_none());
        assert!(
            r.problems
                .iter()
                .any(|p| p.path.starts_with("events") && p.to_string().contains("deliverd")),
            "{r}"
        );
    }

    #[test]
    fn statuses_filter_and_unknown_statuses_are_type_errors() {
        let w: WebhookConfig = serde_json::from_value(serde_json::json!({
            "name": "a", "url": "https://x.example/", "secret": "s",
            "statuses": ["delivered", "exception"]
        }))
        .unwrap();
        assert!(w.wants(Milestone::Delivered) && !w.wants(Milestone::InTransit));
        assert_eq!(w.max_attempts, 12);
        assert!(hook("a", "https://x/").wants(Milestone::Delivered));
        let all = WebhookConfig {
            statuses: vec![],
            ..hook("a", "https://x/")
        };
        assert!(all.wants(Milestone::InTransit));
        let bad = serde_json::from_value::<WebhookConfig>(serde_json::json!({
            "name": "a", "url": "https://x.example/", "secret": "s", "statuses": ["deliverd"]
        }))
        .unwrap_err()
        .to_string();
        assert!(
            bad.contains("deliverd") && bad.contains("delivered"),
            "{bad}"
        );
    }
}
