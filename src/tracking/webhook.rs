//! The Track Alert webhook receiver (UPS-REFERENCE.md §8) and the OAuth2 token endpoint
//! upsync hosts for UPS's v2 push.
//!
//! Routes ([`router`]; the server mounts them in `upsync run`):
//! * `POST /webhooks/ups/track-alert`: one event per call. v1 authenticates with the
//!   `credential` header (compared in constant time with the secret given at construction);
//!   v2 with `Authorization: Bearer <token>` issued by the endpoint below. Order of checks:
//!   credentials (401, nothing read or stored) → body size (413) → JSON and required fields
//!   (400 + a log line) → durable store in the `events` inbox, flushed → 200. Processing
//!   (dedupe, ordering, write-back) happens later, in the tracker's inbox worker.
//! * `POST /webhooks/ups/oauth/token`: `grant_type=client_credentials` with
//!   `client_secret_basic` (RFC 6749 §2.3.1). Issues opaque random bearer tokens with an
//!   expiry; only their SHA-256 is stored (`meta` tree), so they survive a restart.
//!
//! Must never: log or store a credential, token or body content; panic on any input;
//! answer 200 before the event is flushed to disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use serde_json::json;
use subtle::ConstantTimeEq;
use tokio::sync::Notify;
use zeroize::Zeroizing;

use super::event::parse_alert_event;
use super::stats::TrackingStats;
use crate::model::Clock;
use crate::store::{Store, Tree};

/// Where UPS pushes events.
pub const TRACK_ALERT_PATH: &str = "/webhooks/ups/track-alert";
/// Where UPS (v2) fetches a bearer token.
pub const TOKEN_PATH: &str = "/webhooks/ups/oauth/token";
/// Key prefix of stored events in the `events` tree.
pub const EVENT_PREFIX: &str = "e/";
/// Key prefix of issued token hashes in the `meta` tree.
const TOKEN_PREFIX: &str = "webhook_token/";
/// Token request bodies are tiny.
const TOKEN_BODY_LIMIT: usize = 8 * 1024;

/// Refused calls are counted (`upsync_tracking_events{kind="events_unauthorized"|…}`) and
/// logged at most once a minute with the number suppressed since (issue 16: one WARN per
/// bad request let a flood trip journald's rate limit and hide real errors).
static REFUSED_LOG: std::sync::LazyLock<crate::server::throttle::Throttle> =
    std::sync::LazyLock::new(|| {
        crate::server::throttle::Throttle::new(std::time::Duration::from_secs(60))
    });

/// The OAuth client UPS uses against upsync's token endpoint (v2), from the vault.
#[derive(Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub client_secret: Zeroizing<String>,
    /// Lifetime of issued tokens.
    pub token_ttl_seconds: u64,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("token_ttl_seconds", &self.token_ttl_seconds)
            .finish()
    }
}

/// Which credentials the receiver accepts (both may be set during a v1→v2 migration;
/// with neither, every call is refused).
#[derive(Clone, Default)]
pub struct WebhookAuth {
    /// v1: the `credential` given in the subscription's `destination`.
    pub v1_credential: Option<Zeroizing<String>>,
    /// v2: the client UPS authenticates as at [`TOKEN_PATH`].
    pub v2_client: Option<OAuthClient>,
}

impl std::fmt::Debug for WebhookAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookAuth")
            .field(
                "v1_credential",
                &self.v1_credential.as_ref().map(|_| "[redacted]"),
            )
            .field("v2_client", &self.v2_client)
            .finish()
    }
}

/// Shared state of the webhook routes.
#[derive(Clone)]
pub struct WebhookState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    auth: WebhookAuth,
    clock: Clock,
    stats: Arc<TrackingStats>,
    notify: Arc<Notify>,
    max_body_bytes: usize,
    seq: AtomicU64,
    rng: SystemRandom,
}

#[derive(Serialize, Deserialize)]
struct IssuedToken {
    expires_at: DateTime<Utc>,
}

impl WebhookState {
    /// `notify` is woken after each stored event (the tracker's inbox worker waits on it);
    /// `stats` is shared with the tracker. Prefer [`super::Tracker::webhook_state`].
    pub fn new(
        store: Arc<Store>,
        auth: WebhookAuth,
        clock: Clock,
        stats: Arc<TrackingStats>,
        notify: Arc<Notify>,
        max_body_bytes: usize,
    ) -> WebhookState {
        WebhookState {
            inner: Arc::new(Inner {
                store,
                auth,
                clock,
                stats,
                notify,
                max_body_bytes,
                seq: AtomicU64::new(0),
                rng: SystemRandom::new(),
            }),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Events waiting in the inbox (tests, readiness).
    pub fn inbox_len(&self) -> usize {
        self.inner
            .store
            .tree(Tree::Events)
            .scan_prefix(EVENT_PREFIX)
            .count()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let auth = &self.inner.auth;
        let mut ok = false;
        if let (Some(secret), Some(given)) = (&auth.v1_credential, headers.get("credential")) {
            ok |= ct_eq(given.as_bytes(), secret.as_bytes());
        }
        if let Some(client) = &auth.v2_client {
            if let Some(api_key) = headers.get("x-api-key") {
                // UPS sends its client id here; a different one is someone else.
                if !ct_eq(api_key.as_bytes(), client.client_id.as_bytes()) {
                    return false;
                }
            }
            if let Some(token) = bearer(headers) {
                ok |= self.token_valid(token);
            }
        }
        ok
    }

    fn token_valid(&self, token: &str) -> bool {
        let key = format!("{TOKEN_PREFIX}{}", sha256_hex(token.as_bytes()));
        match self.inner.store.get_json::<IssuedToken>(Tree::Meta, &key) {
            Ok(Some(t)) => t.expires_at > self.now(),
            _ => false,
        }
    }

    async fn issue_token(&self, ttl_seconds: u64) -> Result<String, ()> {
        let mut raw = [0u8; 32];
        self.inner.rng.fill(&mut raw).map_err(|_| ())?;
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let now = self.now();
        let store = &self.inner.store;
        // Forget expired tokens while we are here.
        let expired: Vec<Vec<u8>> = store
            .tree(Tree::Meta)
            .scan_prefix(TOKEN_PREFIX)
            .filter_map(|kv| kv.ok())
            .filter(|(_, v)| {
                serde_json::from_slice::<IssuedToken>(v).map_or(true, |t| t.expires_at <= now)
            })
            .map(|(k, _)| k)
            .collect();
        for k in expired {
            let _ = store.tree(Tree::Meta).remove(k);
        }
        let key = format!("{TOKEN_PREFIX}{}", sha256_hex(token.as_bytes()));
        let ttl = i64::try_from(ttl_seconds).unwrap_or(i64::MAX / 2_000);
        store
            .put_json(
                Tree::Meta,
                &key,
                &IssuedToken {
                    expires_at: now + Duration::seconds(ttl),
                },
            )
            .map_err(|_| ())?;
        store.flush_async().await.map_err(|_| ())?;
        Ok(token)
    }
}

/// The webhook and token routes (paths [`TRACK_ALERT_PATH`], [`TOKEN_PATH`]).
pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route(TRACK_ALERT_PATH, post(track_alert))
        .route(TOKEN_PATH, post(token))
        .with_state(state)
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    // Hash first so the comparison takes the same time whatever the lengths.
    let ha = ring::digest::digest(&ring::digest::SHA256, a);
    let hb = ring::digest::digest(&ring::digest::SHA256, b);
    bool::from(ha.as_ref().ct_eq(hb.as_ref()))
}

fn sha256_hex(b: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, b))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"error": code, "message": message}))).into_response()
}

async fn track_alert(State(st): State<WebhookState>, headers: HeaderMap, body: Body) -> Response {
    let stats = &st.inner.stats;
    if !st.authorized(&headers) {
        stats.events_unauthorized.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = REFUSED_LOG.allow() {
            tracing::warn!(
                event = "track_alert_unauthorized",
                has_credential = headers.contains_key("credential"),
                has_bearer = headers.contains_key(header::AUTHORIZATION),
                suppressed,
                "Track Alert webhook call refused: missing or wrong credentials (refused calls are counted in upsync_tracking_events; at most one line a minute)"
            );
        }
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong credentials",
        );
        if st.inner.auth.v2_client.is_some() {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"upsync\""),
            );
        }
        return r;
    }
    let limit = st.inner.max_body_bytes;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return too_large(&st, limit);
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return too_large(&st, limit),
    };
    let now = st.now();
    let ev = match parse_alert_event(&bytes, now) {
        Ok(ev) => ev,
        Err(e) => {
            stats.events_rejected.fetch_add(1, Ordering::Relaxed);
            if let Some(suppressed) = REFUSED_LOG.allow() {
                tracing::warn!(
                    event = "track_alert_rejected",
                    code = e.code(),
                    reason = %e,
                    bytes = bytes.len(),
                    suppressed,
                    "Track Alert webhook body refused (at most one line a minute)"
                );
            }
            return error(StatusCode::BAD_REQUEST, e.code(), &e.to_string());
        }
    };
    let key = format!(
        "{EVENT_PREFIX}{:020}/{:010}",
        now.timestamp_nanos_opt().unwrap_or(0).max(0),
        st.inner.seq.fetch_add(1, Ordering::Relaxed)
    );
    let store = &st.inner.store;
    let stored = match store.put_json(Tree::Events, &key, &ev) {
        Ok(()) => store.flush_async().await,
        Err(e) => Err(e),
    };
    if let Err(e) = stored {
        // Not stored durably: make UPS try again rather than lose the event.
        tracing::error!(event = "track_alert_store_failed", error = %e, "could not store a Track Alert event");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "event not stored; retry",
        );
    }
    stats.events_received.fetch_add(1, Ordering::Relaxed);
    tracing::debug!(
        event = "track_alert_stored",
        tracking_number = %ev.event.tracking_number,
        status = %ev.event.status_code,
        "Track Alert event stored"
    );
    st.inner.notify.notify_one();
    (StatusCode::OK, Json(json!({}))).into_response()
}

fn too_large(st: &WebhookState, limit: usize) -> Response {
    st.inner
        .stats
        .events_rejected
        .fetch_add(1, Ordering::Relaxed);
    if let Some(suppressed) = REFUSED_LOG.allow() {
        tracing::warn!(
            event = "track_alert_rejected",
            code = "body_too_large",
            limit,
            suppressed,
            "Track Alert webhook body refused: too large (at most one line a minute)"
        );
    }
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        &format!("body larger than {limit} bytes"),
    )
}

fn oauth_error(status: StatusCode, code: &str) -> Response {
    let mut r = (status, Json(json!({"error": code}))).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"upsync\""),
        );
    }
    r
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, Zeroizing<String>)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((decode(id), Zeroizing::new(decode(secret))))
}

async fn token(State(st): State<WebhookState>, headers: HeaderMap, body: Body) -> Response {
    let stats = &st.inner.stats;
    let Some(client) = st.inner.auth.v2_client.clone() else {
        stats.tokens_refused.fetch_add(1, Ordering::Relaxed);
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let authenticated = match basic_credentials(&headers) {
        Some((id, secret)) => {
            // Both comparisons always run.
            let a = ct_eq(id.as_bytes(), client.client_id.as_bytes());
            let b = ct_eq(secret.as_bytes(), client.client_secret.as_bytes());
            a & b
        }
        None => false,
    };
    if !authenticated {
        stats.tokens_refused.fetch_add(1, Ordering::Relaxed);
        if let Some(suppressed) = REFUSED_LOG.allow() {
            tracing::warn!(
                event = "webhook_token_refused",
                suppressed,
                "token request refused: missing or wrong client credentials (at most one line a minute)"
            );
        }
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if content_length(&headers).is_some_and(|n| n > TOKEN_BODY_LIMIT) {
        return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    }
    let Ok(bytes) = axum::body::to_bytes(body, TOKEN_BODY_LIMIT).await else {
        return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    };
    let grant = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    match grant.as_deref() {
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
    }
    let Ok(token) = st.issue_token(client.token_ttl_seconds).await else {
        return oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    };
    stats.tokens_issued.fetch_add(1, Ordering::Relaxed);
    let mut r = (
        StatusCode::OK,
        Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": client.token_ttl_seconds,
        })),
    )
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;
    use chrono::TimeZone;
    use std::sync::Mutex;
    use tower::ServiceExt;

    struct Env {
        _dir: tempfile::TempDir,
        store: Arc<Store>,
        state: WebhookState,
        now: Arc<Mutex<DateTime<Utc>>>,
    }

    fn env(auth: WebhookAuth) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap(),
        ));
        let n = now.clone();
        let clock = Clock::from_fn(move || *n.lock().unwrap());
        let state = WebhookState::new(
            store.clone(),
            auth,
            clock,
            Arc::new(TrackingStats::default()),
            Arc::new(Notify::new()),
            64 * 1024,
        );
        Env {
            _dir: dir,
            store,
            state,
            now,
        }
    }

    fn v2() -> WebhookAuth {
        WebhookAuth {
            v1_credential: None,
            v2_client: Some(OAuthClient {
                client_id: "ups-push".into(),
                client_secret: Zeroizing::new("pa:ss word".into()),
                token_ttl_seconds: 3600,
            }),
        }
    }

    async fn call(st: &WebhookState, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let r = router(st.clone()).oneshot(req).await.unwrap();
        let status = r.status();
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (
            status,
            serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        )
    }

    fn basic(id: &str, secret: &str) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(id),
                enc(secret)
            ))
        )
    }

    fn token_req(auth: Option<&str>, body: &str) -> Request<Body> {
        let mut b = Request::post(TOKEN_PATH)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(Body::from(body.to_string())).unwrap()
    }

    fn event_req(bearer: &str) -> Request<Body> {
        Request::post(TRACK_ALERT_PATH)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header("x-api-key", "ups-push")
            .body(Body::from(crate::tracking::event::tests::EXAMPLE))
            .unwrap()
    }

    #[tokio::test]
    async fn v2_token_flow_and_expiry() {
        let e = env(v2());
        let (s, body) = call(
            &e.state,
            token_req(
                Some(&basic("ups-push", "pa:ss word")),
                "grant_type=client_credentials",
            ),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let tok = body["access_token"].as_str().unwrap().to_string();
        // The token is not stored in clear.
        let meta: Vec<_> = e
            .store
            .tree(Tree::Meta)
            .iter()
            .filter_map(|kv| kv.ok())
            .collect();
        assert!(meta
            .iter()
            .all(|(k, v)| !String::from_utf8_lossy(k).contains(&tok)
                && !String::from_utf8_lossy(v).contains(&tok)));

        let (s, _) = call(&e.state, event_req(&tok)).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(e.state.inbox_len(), 1);

        // Expired → 401, nothing more stored.
        *e.now.lock().unwrap() += Duration::seconds(3601);
        let (s, _) = call(&e.state, event_req(&tok)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = call(&e.state, event_req("made-up-token")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(e.state.inbox_len(), 1);
    }

    #[tokio::test]
    async fn token_endpoint_refusals() {
        let e = env(v2());
        let cases = [
            (
                None,
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic("ups-push", "wrong")),
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic("other", "pa:ss word")),
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some("Basic !!!notbase64".to_string()),
                "grant_type=client_credentials",
                StatusCode::UNAUTHORIZED,
                "invalid_client",
            ),
            (
                Some(basic("ups-push", "pa:ss word")),
                "grant_type=password",
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            ),
            (
                Some(basic("ups-push", "pa:ss word")),
                "",
                StatusCode::BAD_REQUEST,
                "invalid_request",
            ),
        ];
        for (auth, body, status, code) in cases {
            let (s, b) = call(&e.state, token_req(auth.as_deref(), body)).await;
            assert_eq!((s, b["error"].as_str().unwrap()), (status, code));
        }
        // v1-only receiver has no token endpoint client.
        let e = env(WebhookAuth {
            v1_credential: Some(Zeroizing::new("x".into())),
            v2_client: None,
        });
        let (s, _) = call(
            &e.state,
            token_req(
                Some(&basic("ups-push", "pa:ss word")),
                "grant_type=client_credentials",
            ),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn wrong_api_key_is_refused_even_with_a_valid_token() {
        let e = env(v2());
        let (_, body) = call(
            &e.state,
            token_req(
                Some(&basic("ups-push", "pa:ss word")),
                "grant_type=client_credentials",
            ),
        )
        .await;
        let tok = body["access_token"].as_str().unwrap();
        let req = Request::post(TRACK_ALERT_PATH)
            .header(header::AUTHORIZATION, format!("Bearer {tok}"))
            .header("x-api-key", "someone-else")
            .body(Body::from(crate::tracking::event::tests::EXAMPLE))
            .unwrap();
        let (s, _) = call(&e.state, req).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(e.state.inbox_len(), 0);
    }

    #[tokio::test]
    async fn no_configured_auth_refuses_everything() {
        let e = env(WebhookAuth::default());
        let req = Request::post(TRACK_ALERT_PATH)
            .header("credential", "")
            .body(Body::from(crate::tracking::event::tests::EXAMPLE))
            .unwrap();
        let (s, _) = call(&e.state, req).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn oversized_body_is_413_with_or_without_content_length() {
        let e = env(WebhookAuth {
            v1_credential: Some(Zeroizing::new("c".into())),
            v2_client: None,
        });
        let big = vec![b' '; 64 * 1024 + 1];
        let req = Request::post(TRACK_ALERT_PATH)
            .header("credential", "c")
            .header(header::CONTENT_LENGTH, big.len())
            .body(Body::from(big.clone()))
            .unwrap();
        assert_eq!(call(&e.state, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        let stream = futures::stream::iter(
            big.chunks(1000)
                .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        );
        let req = Request::post(TRACK_ALERT_PATH)
            .header("credential", "c")
            .body(Body::from_stream(stream))
            .unwrap();
        assert_eq!(call(&e.state, req).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(e.state.inbox_len(), 0);
    }
}
