//! The receiver: `POST /push/{acumatica|netsuite}/{connector}` on the daemon's listener.
//! Order of checks (see the table in [`super`]): connector → secret (constant time, before
//! the body is read) → size → format → durable hint → wake.
//!
//! Must never: log the secret or the body; answer 200 before the hint is flushed; panic on
//! any input.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::payload::{decode, Hint};
use super::Push;

/// Where ERPs push (`/push/{erp}/{connector}`).
pub const PUSH_PATH: &str = "/push/{erp}/{connector}";

/// The [`Push`] in force, looked up per request (the daemon swaps it on reload).
pub type PushSource = Arc<dyn Fn() -> Arc<Push> + Send + Sync>;

/// Refusals log at most one line a minute (a flood must not drown the journal).
static REFUSED_LOG: std::sync::LazyLock<crate::server::throttle::Throttle> =
    std::sync::LazyLock::new(|| {
        crate::server::throttle::Throttle::new(std::time::Duration::from_secs(60))
    });

/// The push routes, reading the current [`Push`] through `source`.
pub fn router(source: PushSource) -> Router {
    Router::new()
        .route(PUSH_PATH, post(receive))
        .with_state(source)
}

fn answer(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

fn refused(connector: &str, outcome: &str, code: &str) {
    if let Some(suppressed) = REFUSED_LOG.allow() {
        tracing::warn!(
            event = "push_refused",
            connector,
            outcome,
            code,
            suppressed,
            "ERP push refused (refusals are counted in upsync_push_requests; at most one line a minute)"
        );
    }
}

/// SHA-256 both sides first, so the comparison takes the same time whatever the lengths.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let ha = ring::digest::digest(&ring::digest::SHA256, a);
    let hb = ring::digest::digest(&ring::digest::SHA256, b);
    bool::from(ha.as_ref().ct_eq(hb.as_ref()))
}

async fn receive(
    State(source): State<PushSource>,
    Path((erp, connector)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let push = source();
    let entry = push
        .entries
        .get(&connector)
        .filter(|e| e.settings.kind.as_str() == erp);
    let Some(e) = entry else {
        push.unknown.fetch_add(1, Ordering::Relaxed);
        refused("", "unknown_connector", "push_connector_unknown");
        return answer(
            StatusCode::NOT_FOUND,
            "push_connector_unknown",
            "no connector of that name and ERP takes pushes (connectors[].push)",
        );
    };
    let s = &e.settings;
    let given = headers
        .get(s.header.as_str())
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if given.is_empty() || !ct_eq(given, &s.secret) {
        e.stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        refused(&connector, "unauthorized", "push_unauthorized");
        return answer(
            StatusCode::UNAUTHORIZED,
            "push_unauthorized",
            "missing or wrong shared secret",
        );
    }
    let too_large = || {
        e.stats.too_large.fetch_add(1, Ordering::Relaxed);
        refused(&connector, "too_large", "push_body_too_large");
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "push_body_too_large",
            &format!("the body is larger than {} bytes", s.max_body_bytes),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > s.max_body_bytes) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, s.max_body_bytes).await else {
        return too_large();
    };
    let decoded = match decode(s.kind, &bytes) {
        Ok(d) => d,
        Err(err) => {
            e.stats.malformed.fetch_add(1, Ordering::Relaxed);
            refused(&connector, "malformed", "push_malformed");
            return answer(StatusCode::BAD_REQUEST, "push_malformed", &err.to_string());
        }
    };
    if !decoded.wake {
        e.stats.ignored.fetch_add(1, Ordering::Relaxed);
        return (StatusCode::OK, Json(json!({"woken": false}))).into_response();
    }
    let hint = Hint {
        connector: connector.clone(),
        received_at: push.clock.now(),
        ids: decoded.ids,
        transaction: decoded.transaction,
        timestamp: decoded.timestamp,
    };
    if let Err(err) = push.store_hint(&hint).await {
        e.stats.store_failed.fetch_add(1, Ordering::Relaxed);
        tracing::error!(event = "push_store_failed", connector = %connector, error = %err, code = err.code(), "could not store a push hint; answered 503 so the ERP resends");
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "push_store_unavailable",
            "hint not stored; resend",
        );
    }
    e.stats.accepted.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(event = "push_accepted", connector = %connector, ids = hint.ids.len(), "push stored; connector woken");
    push.wake(&connector);
    (StatusCode::OK, Json(json!({"woken": true}))).into_response()
}

#[cfg(test)]
mod tests;
