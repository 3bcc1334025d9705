//! Assembly of push notifications (`connectors[].push`, [`crate::push`]): the settings
//! with their secrets from the vault, and the routes the listener serves for the assembly
//! in force.

use std::sync::Arc;

use anyhow::Context;

use super::{read_credentials, Current};
use crate::config::Config;
use crate::push::ConnectorPush;
use crate::store::Store;

/// What every connector's `push:` turns into at run time, secrets read from the vault.
/// Every field is named (no `..`).
pub fn push_settings(cfg: &Config, store: &Store) -> anyhow::Result<Vec<ConnectorPush>> {
    let mut out = Vec::new();
    for c in &cfg.connectors {
        let Some(p) = &c.push else { continue };
        let crate::push::PushConfig {
            secret,
            header: _,
            min_gap_seconds,
            max_body_bytes,
        } = p;
        let fields = read_credentials(store, secret)?;
        let value = fields
            .get("secret")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .with_context(|| {
                format!(
                    "credentials '{secret}' (connectors '{}' push) need a non-empty `secret` field: `upsync creds set {secret}` with {{\"secret\": \"…\"}}",
                    c.name
                )
            })?;
        out.push(ConnectorPush {
            connector: c.name.clone(),
            kind: c.kind,
            header: p.header_for(c.kind),
            secret: zeroize::Zeroizing::new(value.as_bytes().to_vec()),
            min_gap: std::time::Duration::from_secs(*min_gap_seconds),
            // Never above the listener's own limit (`http.body_limit_bytes`).
            max_body_bytes: (*max_body_bytes)
                .min(cfg.http.body_limit_bytes)
                .min(crate::push::MAX_BODY_CEILING) as usize,
        });
    }
    Ok(out)
}

/// The push routes for the listener, always reaching the assembly in force (a reload
/// swaps it; the listener's router is built once).
pub fn push_router(current: &Current) -> axum::Router {
    let current = current.clone();
    crate::push::router(Arc::new(move || {
        current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .push
            .clone()
    }))
}
