//! `POST /v1/rates` over HTTP: the bearer-token check, the body, the answer, and the
//! listener of its own (`checkout.bind`), served by the hardened accept loop of
//! [`crate::server::listener`] (header-read and request timeouts, connection and
//! in-flight caps).
//!
//! * `Authorization: Bearer <token>`, the token from the vault entry `checkout.api_token`,
//!   compared in constant time (both sides hashed with SHA-256, then `subtle`), so neither
//!   the content nor the length of the token leaks through timing. Missing or wrong →
//!   401 `{"error": …, "code": "unauthorized"}` with `WWW-Authenticate: Bearer`.
//! * A body that does not parse → 400 `{"error": …, "field": "ship_to.postal_code"}`.
//! * Otherwise 200 with [`super::Rates`].
//!
//! Must never: log the token or the body (addresses); answer without the token.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::Checkout;
use crate::server::metrics::Sample;

/// Largest accepted body: a checkout's few packages fit many times over.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// Path of the route.
pub const RATES_PATH: &str = "/v1/rates";

/// The API token shops send. `Debug` never shows it.
#[derive(Clone)]
pub struct ApiToken(ring::digest::Digest);

impl ApiToken {
    /// `None` for an empty token (refused: it would let anyone in).
    pub fn new(token: &str) -> Option<ApiToken> {
        let t = token.trim();
        (!t.is_empty()).then(|| ApiToken(ring::digest::digest(&ring::digest::SHA256, t.as_bytes())))
    }

    /// Whether `presented` is this token, in time independent of both.
    pub fn matches(&self, presented: &str) -> bool {
        let d = ring::digest::digest(&ring::digest::SHA256, presented.trim().as_bytes());
        d.as_ref().ct_eq(self.0.as_ref()).into()
    }
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

#[derive(Clone)]
struct Endpoint {
    checkout: Arc<Checkout>,
    token: ApiToken,
}

/// The router: `POST /v1/rates`.
pub fn router(checkout: Arc<Checkout>, token: ApiToken) -> Router {
    Router::new()
        .route(RATES_PATH, post(rates))
        .with_state(Endpoint { checkout, token })
}

fn error(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(rest)
}

async fn rates(State(e): State<Endpoint>, req: axum::extract::Request) -> Response {
    let stats = e.checkout.stats();
    let authorized = bearer(req.headers()).is_some_and(|t| e.token.matches(t));
    if !authorized {
        stats.unauthorized.fetch_add(1, Ordering::Relaxed);
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong API token: send Authorization: Bearer <token>", "code": "unauthorized"}),
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let Ok(bytes) = axum::body::to_bytes(req.into_body(), BODY_LIMIT_BYTES).await else {
        stats.bad_requests.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("body over {BODY_LIMIT_BYTES} bytes"), "field": "body"}),
        );
    };
    let body: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(err) => {
            stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("body is not JSON: {err}"), "field": "body"}),
            );
        }
    };
    let ask = match e.checkout.parse(&body) {
        Ok(a) => a,
        Err(bad) => {
            stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            return error(
                StatusCode::BAD_REQUEST,
                json!({"error": bad.to_string(), "field": bad.field}),
            );
        }
    };
    let answer = e.checkout.quote(&ask).await;
    (StatusCode::OK, Json(answer)).into_response()
}

/// Serve the checkout router on its own listener within `limits` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: crate::server::Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::server::serve_with(
        listener,
        app,
        limits,
        Arc::new(crate::server::ListenerStats::default()),
        shutdown,
    )
    .await
}

impl super::Stats {
    /// Metric samples of these counters (`upsync_checkout_*`; the latency histogram is
    /// registered separately).
    pub fn samples(&self, out: &mut Vec<Sample>) {
        let v = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
        for (source, n) in [
            ("ups", &self.quotes_ups),
            ("cache", &self.quotes_cache),
            ("estimate", &self.quotes_estimate),
        ] {
            out.push(Sample::counter(
                "upsync_checkout_quotes",
                "Checkout quotes answered, by source",
                vec![("source", source.into())],
                v(n),
            ));
        }
        for (reason, n) in [
            ("timeout", &self.estimate_timeout),
            ("ups_error", &self.estimate_error),
            ("quota", &self.estimate_quota),
        ] {
            out.push(Sample::counter(
                "upsync_checkout_estimates",
                "Checkout quotes answered from the fallback table, by reason",
                vec![("reason", reason.into())],
                v(n),
            ));
        }
        let plain = [
            (
                "upsync_checkout_ups_calls",
                "UPS Shop calls made for checkout",
                &self.ups_calls,
            ),
            (
                "upsync_checkout_ups_failures",
                "UPS Shop calls for checkout that failed",
                &self.ups_failures,
            ),
            (
                "upsync_checkout_cache_hits",
                "Checkout quotes answered from the cache",
                &self.cache_hits,
            ),
            (
                "upsync_checkout_cache_misses",
                "Checkout quotes not in the cache",
                &self.cache_misses,
            ),
            (
                "upsync_checkout_joined",
                "Checkout quotes that joined a UPS call in flight",
                &self.joined,
            ),
            (
                "upsync_checkout_unauthorized",
                "Checkout requests refused: missing or wrong token",
                &self.unauthorized,
            ),
            (
                "upsync_checkout_bad_requests",
                "Checkout requests refused: invalid body",
                &self.bad_requests,
            ),
        ];
        for (name, help, n) in plain {
            out.push(Sample::counter(name, help, vec![], v(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_compares_and_never_prints() {
        let t = ApiToken::new("s3cret-token").unwrap();
        assert!(t.matches("s3cret-token"));
        assert!(!t.matches("s3cret-tokeN"));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert!(ApiToken::new("  ").is_none());
    }
}
