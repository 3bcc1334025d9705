//! OAuth client credentials (`POST /security/v1/oauth/token`, UPS-REFERENCE §1; the
//! authorization-code grant on the same URL is `authcode.rs`) and the
//! bearer check every `/api` call goes through; the daily token cap and the per-client
//! request rate limit (§0.4).
//!
//! Tokens expire on the sim clock (`/_sim/clock/advance` moves it). Secrets are compared in
//! constant time and never logged; tokens are random and never logged.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::state::{Bucket, Token};
use super::{check_schema, header, schema, ups_error, Caller, UpsState};

/// Marker put in the request by the gateway for a `token:token-expired` fault: the token is
/// issued normally but is already expired server-side (the next API call gets 401).
#[derive(Debug, Clone, Copy)]
pub struct IssueExpired;

/// Why a bearer was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Invalid,
    Expired,
}

/// 401 in UPS's envelope; Track Alert uses its own codes (UJ0001 / 251004).
pub fn unauthorized(op: &str, f: AuthFailure) -> Response {
    let (code, msg) = match (op, f) {
        ("trackalert", AuthFailure::Missing) => {
            ("UJ0001", "Invalid token or token is not present.")
        }
        ("trackalert", AuthFailure::Expired) => ("251004", "Token has expired."),
        _ => ("250002", "Invalid Authentication Information."),
    };
    ups_error(StatusCode::UNAUTHORIZED, code, msg)
}

/// The bearer token of a request, if any.
pub fn bearer(h: &HeaderMap) -> Option<String> {
    let v = header(h, "authorization")?;
    let (scheme, tok) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| tok.trim().to_string())
}

impl UpsState {
    /// Check the bearer token against issued tokens and the sim clock.
    pub fn authenticate(&self, h: &HeaderMap) -> Result<Caller, AuthFailure> {
        let tok = bearer(h).ok_or(AuthFailure::Missing)?;
        let t = {
            let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
            tokens.get(&tok).cloned().ok_or(AuthFailure::Invalid)?
        };
        if self.now() >= t.expires_at {
            return Err(AuthFailure::Expired);
        }
        let c = self.clients.get(&t.client_id).ok_or(AuthFailure::Invalid)?;
        Ok(Caller {
            client_id: c.client_id.clone(),
            accounts: c.accounts.clone(),
        })
    }

    /// Mark a token as expired now (the `token-expired` fault).
    pub fn expire_token(&self, tok: &str) {
        let now = self.now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tokens.get_mut(tok) {
            t.expires_at = now;
        }
    }

    /// Token bucket per client (`--rate-limit N`: burst N, refill N per second).
    pub fn rate_allow(&self, client_id: &str) -> bool {
        let Some(rate) = self.cfg.rate_limit_per_second else {
            return true;
        };
        let rate = f64::from(rate.max(1));
        let now = tokio::time::Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(client_id.to_string()).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let elapsed = now.duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(rate);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(super) fn basic_credentials(h: &HeaderMap) -> Option<(String, String)> {
    let v = header(h, "authorization")?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /security/v1/oauth/token` (form body `grant_type=client_credentials`, Basic auth,
/// optional `x-merchant-id`). Answers exactly like `ex:oauth-token-response.json`.
pub async fn token(
    State(st): State<Arc<UpsState>>,
    expired: Option<Extension<IssueExpired>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The authorization-code grant shares this URL (OAuthAuthCode.yaml `/v1/oauth/token`).
    if super::authcode::form(&body)["grant_type"] == "authorization_code" {
        return super::authcode::exchange(st, headers, body).await;
    }
    let Some((id, secret)) = basic_credentials(&headers) else {
        return ups_error(
            StatusCode::UNAUTHORIZED,
            "10400",
            "Invalid/Missing Authorization Header",
        );
    };
    let Some(client) = st.clients.get(&id) else {
        return ups_error(StatusCode::UNAUTHORIZED, "10401", "ClientId is Invalid");
    };
    if !bool::from(client.client_secret.as_bytes().ct_eq(secret.as_bytes())) {
        return ups_error(StatusCode::UNAUTHORIZED, "10401", "ClientId is Invalid");
    }
    // form body → JSON object, validated against the spec's token request schema
    let mut form = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        form.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    let mut form = Value::Object(form);
    if let Err(resp) = check_schema(&st, schema::BodySchema::Token, &mut form) {
        let _ = resp;
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10402",
            "Missing grant_type: send grant_type=client_credentials as a form field",
        );
    }
    if form["grant_type"] != "client_credentials" {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10402",
            "Unsupported grant_type: this endpoint takes grant_type=client_credentials",
        );
    }
    if let Some(m) = header(&headers, "x-merchant-id") {
        if !client.accounts.iter().any(|a| a.eq_ignore_ascii_case(m)) {
            st.core.stats.incr("token.merchant_mismatch");
        }
    }
    let now = st.now();
    if let Some(cap) = st.cfg.token_daily_cap {
        let mut days = st.token_days.lock().unwrap_or_else(|e| e.into_inner());
        let n = days.entry((id.clone(), now.date_naive())).or_insert(0);
        if *n >= cap {
            st.core.stats.incr("token.capped");
            return ups_error(
                StatusCode::TOO_MANY_REQUESTS,
                "10429",
                "Quota Limit Exceeded",
            );
        }
        *n += 1;
    }
    let access = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let ttl = st.cfg.token_ttl_seconds;
    let expires_at = if expired.is_some() {
        now
    } else {
        now + chrono::Duration::seconds(ttl as i64)
    };
    {
        let mut tokens = st.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() > 10_000 {
            tokens.retain(|_, t| t.expires_at > now);
        }
        tokens.insert(
            access.clone(),
            Token {
                client_id: id.clone(),
                expires_at,
            },
        );
    }
    st.core.stats.incr("token.issued");
    // Per client too: UPS's daily token allowance is per OAuth client (UPS-REFERENCE §0.4),
    // so a daemon with several clients must spend each one's separately.
    st.core.stats.incr(&format!("token.issued.{id}"));
    (
        StatusCode::OK,
        Json(json!({
            "token_type": "Bearer",
            "issued_at": now.timestamp_millis().to_string(),
            "client_id": id,
            "access_token": access,
            "scope": "",
            "expires_in": ttl.to_string(),
            "refresh_count": "0",
            "status": "approved",
        })),
    )
        .into_response()
}
