//! `connectors[].push`: push notifications from the ERP wake this connector's cycle. The
//! push folder owns the type, its defaults (`config::defaults`, `PUSH_*`) and its
//! [`PushConfig::problems`]; `config/` holds it in [`crate::config::ConnectorConfig`].
//!
//! Must never: hold a secret. `secret` names a vault entry (`upsync creds set NAME` with
//! `{"secret": "…"}`), read when the daemon is assembled ([`super::Settings`]).

use serde::{Deserialize, Serialize};

use crate::config::defaults as d;
use crate::sources::ConnectorKind;

/// Push notifications for one connector (`connectors[].push`); absent = polling only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// Vault entry holding the shared secret: `upsync creds set NAME` with
    /// `{"secret": "…"}`. The ERP must send exactly this value in [`Self::header`]
    /// (Acumatica: the destination's "Header Value" on SM302000, e.g. `Bearer s3cr3t`).
    pub secret: String,
    /// Header carrying the secret. Default: `Authorization` for Acumatica (the "Header
    /// Name" of the Webhook destination), `X-Upsync-Secret` for NetSuite (what the User
    /// Event script sends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// Minimum time between two push-woken cycles of this connector, seconds: a burst of
    /// pushes costs one cycle per gap, so the ERP's request budget (licence limits) holds.
    /// 0 = cycles back to back (never two at once).
    #[serde(default = "min_gap_seconds")]
    pub min_gap_seconds: u64,
    /// Largest body accepted, bytes (and never more than `http.body_limit_bytes`); larger
    /// pushes are answered 413.
    #[serde(default = "max_body_bytes")]
    pub max_body_bytes: u64,
}

fn min_gap_seconds() -> u64 {
    d::PUSH_MIN_GAP_SECONDS
}
fn max_body_bytes() -> u64 {
    d::PUSH_MAX_BODY_BYTES
}

/// Bodies above this are refused whatever `max_body_bytes` says.
pub const MAX_BODY_CEILING: u64 = 16 * 1024 * 1024;

impl PushConfig {
    /// A complete example (the configuration's key shape is derived from it).
    pub fn example() -> PushConfig {
        PushConfig {
            secret: "acumatica-push".into(),
            header: Some(d::PUSH_HEADER_ACUMATICA.into()),
            min_gap_seconds: min_gap_seconds(),
            max_body_bytes: max_body_bytes(),
        }
    }

    /// The header name in force for a connector of `kind`, lowercase.
    pub fn header_for(&self, kind: ConnectorKind) -> String {
        self.header
            .clone()
            .unwrap_or_else(|| {
                match kind {
                    ConnectorKind::Acumatica => d::PUSH_HEADER_ACUMATICA,
                    ConnectorKind::Netsuite => d::PUSH_HEADER_NETSUITE,
                }
                .to_string()
            })
            .to_ascii_lowercase()
    }

    /// Every problem, as (key under `push.`, message, fix). Every field is named.
    pub fn problems(&self) -> Vec<(&'static str, String, &'static str)> {
        let PushConfig {
            secret,
            header,
            min_gap_seconds: _,
            max_body_bytes,
        } = self;
        let mut out = Vec::new();
        if secret.trim().is_empty() {
            out.push((
                "secret",
                "a push needs a shared secret (the name of a vault entry)".to_string(),
                "name a vault entry, e.g. `secret: acumatica-push`, and store it with `upsync creds set acumatica-push` ({\"secret\": \"…\"})",
            ));
        }
        if let Some(h) = header {
            if axum::http::HeaderName::from_bytes(h.as_bytes()).is_err() {
                out.push((
                    "header",
                    format!("`{h}` is not a valid HTTP header name"),
                    "use the header name configured on the ERP side, e.g. Authorization or X-Upsync-Secret",
                ));
            }
        }
        if *max_body_bytes == 0 || *max_body_bytes > MAX_BODY_CEILING {
            out.push((
                "max_body_bytes",
                format!("{max_body_bytes} bytes is outside 1..={MAX_BODY_CEILING}"),
                "leave it out (1 MiB) or give a size up to 16 MiB",
            ));
        }
        out
    }
}
