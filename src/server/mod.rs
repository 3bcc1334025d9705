//! The HTTP listener (axum, one address from config): `/healthz`, `/readyz`, `/metrics`,
//! plus routers other modules contribute (the Track Alert webhook from `tracking`).
//!
//! * `/healthz`: the process is alive and serving (200).
//! * `/readyz`: every connector is authenticated and not paused and the store reads
//!   cleanly (200), else 503. Loopback clients (and in-process calls) get a JSON list of
//!   what is not ready and why; others only `{"ready": false}`, since the reasons name ERP
//!   users and tenants.
//! * `/metrics`: Prometheus text format ([`metrics`]).
//! * `POST /admin/store/backup` (loopback clients only): `{"dir": "/abs/path", "salvage":
//!   false}` → a consistent copy of the store (`upsync store backup` asks this when the
//!   daemon holds the store).
//!
//! Must never: expose secrets, addresses or labels; mount simulator routes.

pub mod listener;
pub mod metrics;
pub mod throttle;

pub use listener::{Limits, ListenerStats, PeerAddr};

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

/// Something whose readiness `/readyz` reports.
pub trait Readiness: Send + Sync {
    /// One entry per component: name and `Ok` or the reason it is not ready.
    fn check(&self) -> Vec<(String, Result<(), String>)>;
}

/// Shared state of the operational routes.
#[derive(Clone)]
pub struct ServerState {
    pub metrics: Arc<metrics::Metrics>,
    pub readiness: Arc<dyn Readiness>,
    /// Counters of the listener serving these routes (exported on `/metrics`).
    pub listener: Arc<ListenerStats>,
    /// Takes a backup of the store into a directory (`salvage`: skip damaged records).
    pub backup: Option<Arc<BackupFn>>,
}

/// See [`ServerState::backup`].
pub type BackupFn = dyn Fn(std::path::PathBuf, bool) -> Result<crate::store::backup::BackupReport, String>
    + Send
    + Sync;

/// Where `upsync store backup` asks a running daemon for a copy.
pub const BACKUP_PATH: &str = "/admin/store/backup";

/// The operational routes, merged with `extra` (e.g. the webhook router).
pub fn router(state: ServerState, extra: Option<Router>) -> Router {
    let ops = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route(BACKUP_PATH, axum::routing::post(backup))
        .with_state(state);
    match extra {
        Some(r) => ops.merge(r),
        None => ops,
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Whether a request may see readiness details: from loopback, or in-process (no peer).
fn detail_allowed(req: &axum::extract::Request) -> bool {
    match req.extensions().get::<PeerAddr>() {
        Some(PeerAddr(addr)) => addr.ip().is_loopback(),
        None => true,
    }
}

async fn readyz(State(s): State<ServerState>, req: axum::extract::Request) -> Response {
    let checks = s.readiness.check();
    if !detail_allowed(&req) {
        let ready = checks.iter().all(|(_, r)| r.is_ok());
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        return (status, Json(serde_json::json!({ "ready": ready }))).into_response();
    }
    let not_ready: Vec<serde_json::Value> = checks
        .iter()
        .filter_map(|(name, r)| {
            r.as_ref()
                .err()
                .map(|why| serde_json::json!({"component": name, "reason": why}))
        })
        .collect();
    if not_ready.is_empty() {
        (
            StatusCode::OK,
            Json(serde_json::json!({"ready": true, "components": checks.len()})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"ready": false, "not_ready": not_ready})),
        )
            .into_response()
    }
}

async fn backup(State(s): State<ServerState>, req: axum::extract::Request) -> Response {
    #[derive(serde::Deserialize)]
    struct Ask {
        dir: std::path::PathBuf,
        #[serde(default)]
        salvage: bool,
    }
    let refuse = |status: StatusCode, why: &str| {
        (status, Json(serde_json::json!({ "error": why }))).into_response()
    };
    if !detail_allowed(&req) {
        return refuse(
            StatusCode::FORBIDDEN,
            "backups are taken from loopback only",
        );
    }
    let Some(f) = s.backup.clone() else {
        return refuse(StatusCode::NOT_FOUND, "no store here");
    };
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), 64 * 1024).await else {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    };
    let Ok(ask) = serde_json::from_slice::<Ask>(&bytes) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "send {\"dir\": \"/absolute/path\"}",
        );
    };
    if !ask.dir.is_absolute() {
        return refuse(StatusCode::BAD_REQUEST, "dir must be an absolute path");
    }
    match tokio::task::spawn_blocking(move || f(ask.dir, ask.salvage)).await {
        Ok(Ok(r)) => (StatusCode::OK, Json(serde_json::json!(r))).into_response(),
        Ok(Err(why)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &why),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the backup task failed"),
    }
}

async fn metrics_text(State(s): State<ServerState>) -> Response {
    match s.metrics.encode() {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Serve with the default [`Limits`] until `shutdown` resolves; in-flight requests finish
/// (graceful). See [`listener`] for what is bounded.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(
        listener,
        app,
        Limits::default(),
        Arc::new(ListenerStats::default()),
        shutdown,
    )
    .await
}

/// Serve with the given limits, counting into `stats` (the daemon passes its
/// [`ServerState::listener`] so `/metrics` shows them).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<ListenerStats>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener::serve(listener, app, limits, stats, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use std::sync::atomic::{AtomicBool, Ordering};
    use tower::ServiceExt;

    struct Flag(AtomicBool);
    impl Readiness for Flag {
        fn check(&self) -> Vec<(String, Result<(), String>)> {
            vec![(
                "acumatica-main".into(),
                if self.0.load(Ordering::SeqCst) {
                    Ok(())
                } else {
                    Err("paused: credentials rejected".into())
                },
            )]
        }
    }

    fn app(ready: Arc<Flag>) -> Router {
        let m = Arc::new(metrics::Metrics::new(vec![Box::new(|out| {
            out.push(metrics::Sample::gauge(
                "upsync_connector_up",
                "1 when the connector is up",
                vec![("connector", "acumatica-main".into())],
                1.0,
            ))
        })]));
        router(
            ServerState {
                metrics: m,
                readiness: ready,
                listener: Arc::new(ListenerStats::default()),
                backup: None,
            },
            None,
        )
    }

    async fn get(app: Router, path: &str) -> (StatusCode, String) {
        let r = app
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn health_ready_and_metrics() {
        let flag = Arc::new(Flag(AtomicBool::new(true)));
        assert_eq!(get(app(flag.clone()), "/healthz").await.0, StatusCode::OK);
        assert_eq!(get(app(flag.clone()), "/readyz").await.0, StatusCode::OK);
        flag.0.store(false, Ordering::SeqCst);
        let (st, body) = get(app(flag.clone()), "/readyz").await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("credentials rejected"));
        let (st, body) = get(app(flag), "/metrics").await;
        assert_eq!(st, StatusCode::OK);
        assert!(
            body.contains("upsync_connector_up{connector=\"acumatica-main\"} 1"),
            "{body}"
        );
    }
}
