//! OAuth **authorization code** flow (`spec/OAuthAuthCode.yaml`, UPS-REFERENCE §1 "Refresh"):
//! the flow a platform uses to ship on a shipper's behalf with the shipper's UPS login.
//!
//! * `GET /security/v1/oauth/authorize?client_id&redirect_uri&response_type=code[&state]
//!   [&scope][&code_challenge[&code_challenge_method=S256]]` (operation `AuthorizeClient`):
//!   the query is checked against the operation's `parameters` (the required ones present).
//!   UPS answers 302 to its login page, and after the shipper logs in and consents the
//!   browser lands on `redirect_uri?code=…&state=…`. The simulator **simulates the login
//!   and consent**: its 302 goes straight to `redirect_uri` with `code` and `state` (and the
//!   `appname`/`displayname` headers the spec lists). With the `deny` knob it redirects with
//!   `error=access_denied` instead (RFC 6749 §4.1.2.1, which UPS's flow follows).
//! * `POST /security/v1/oauth/token` with `grant_type=authorization_code` (`GenerateToken`,
//!   form body validated against the operation's schema): either Basic client
//!   authentication (plain flow, `BasicAuthGenerate` flow 1) or, for PKCE, **no**
//!   Authorization header and `client_id` + `code_verifier` in the body (flow 2: "the BASIC
//!   Authorization header should not be included"). The code is single-use, lives
//!   [`CODE_TTL_SECONDS`] (UPS does not say; RFC 6749 §4.1.2 recommends at most 10 minutes),
//!   is bound to its client and `redirect_uri`, and when a `code_challenge` was given the
//!   verifier must satisfy `code_challenge = BASE64URL(SHA256(code_verifier))` (the spec's
//!   note). A code used twice is refused and the tokens issued from it are revoked
//!   (RFC 6749 §4.1.2).
//! * `POST /security/v1/oauth/refresh` `grant_type=refresh_token&refresh_token=…`
//!   (`RefreshToken`, Basic auth `BasicAuthRefresh`): "generates a new access/refresh token
//!   pair". Whether the new refresh token gets a fresh lifetime is not documented: the
//!   `rotate` knob does both (default: a new refresh token with a full lifetime, the old
//!   one invalid; off: the same refresh token comes back with what is left of its
//!   lifetime). `refresh_count` counts the refreshes of a grant.
//! * Answers are `generateTokenSuccessResponse` / `refreshTokenSuccessResponse`: every
//!   value a string — `expires_in` (access token, the same lifetime as client-credentials
//!   tokens), `refresh_token_expires_in` (default `"604799"`, UPS-REFERENCE §1),
//!   `refresh_token_status "approved"`, `refresh_token_issued_at` and `issued_at` in epoch
//!   milliseconds, `refresh_count`, `status "approved"`.
//! * Every code exchange and refresh is a token: it counts against the client's daily token
//!   cap and `token.issued[.<client_id>]` like a client-credentials token.
//! * **Revocation.** UPS documents no revoke endpoint in `OAuthAuthCode.yaml`; a shipper
//!   revokes an app's access from their UPS profile. The simulator models that with the
//!   admin knob (`POST /_sim/ups/oauth {"revoke": true}`): every refresh token becomes
//!   `revoked` and its access tokens stop working; a later refresh fails.
//!
//! Errors use the `tokenErrorResponse` shape (`{"response":{"errors":[{code,message}]}}`).
//! The spec documents the shape and the statuses, not the codes for these cases; the
//! codes below are the simulator's (a client must act on the status and show the message):
//!
//! | HTTP | code | when |
//! |------|------|------|
//! | 400 | `10402` | missing parameter / field, `response_type` not `code`, unknown `code_challenge_method`, wrong `grant_type` |
//! | 401 | `10400` | no Basic authorization and no PKCE `client_id` + `code_verifier` |
//! | 401 | `10401` | unknown client id or wrong secret |
//! | 400 | `10410` | authorization code unknown, expired, already used, or of another client |
//! | 400 | `10411` | `redirect_uri` differs from the authorization request's |
//! | 400 | `10412` | `code_verifier` missing or does not match the `code_challenge` |
//! | 401 | `10413` | refresh token unknown or of another client |
//! | 401 | `10414` | refresh token expired |
//! | 401 | `10415` | refresh token revoked |
//!
//! Admin: `GET|POST /_sim/ups/oauth` — `{"deny": bool, "rotate": bool,
//! "refresh_token_ttl_seconds": n, "expire_refresh_tokens": true, "revoke": true}` → the
//! knobs and the grants (no token values). Never log a code, verifier or token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;

use super::state::Token;
use super::{check_schema, header, schema, ups_error, UpsState};

/// Lifetime of an authorization code (sim clock).
pub const CODE_TTL_SECONDS: i64 = 600;
/// Default refresh token lifetime (`refresh_token_expires_in` "604799", UPS-REFERENCE §1).
pub const REFRESH_TTL_SECONDS: u64 = 604_799;

/// Test knobs (`/_sim/ups/oauth`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Knobs {
    /// The simulated shipper refuses consent.
    pub deny: bool,
    /// A refresh returns a new refresh token with a full lifetime (else the same one).
    pub rotate: bool,
    pub refresh_token_ttl_seconds: u64,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            deny: false,
            rotate: true,
            refresh_token_ttl_seconds: REFRESH_TTL_SECONDS,
        }
    }
}

#[derive(Debug, Clone)]
struct Code {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    scope: String,
    expires_at: DateTime<Utc>,
    /// Set once exchanged: the grant it produced (a second use revokes it).
    used_by: Option<u64>,
}

#[derive(Debug, Clone)]
struct Grant {
    id: u64,
    client_id: String,
    scope: String,
    refresh_token: String,
    refresh_issued_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
    refresh_count: u32,
    revoked: bool,
    /// Access tokens issued under this grant (revocation ends them).
    access_tokens: Vec<String>,
}

#[derive(Debug, Default)]
struct Inner {
    knobs: Knobs,
    codes: HashMap<String, Code>,
    grants: Vec<Grant>,
    next_grant: u64,
}

/// Authorization-code state of the UPS simulator.
#[derive(Debug, Default)]
pub struct AuthCodeState {
    inner: Mutex<Inner>,
}

impl AuthCodeState {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn knobs(&self) -> Knobs {
        self.lock().knobs.clone()
    }

    /// The simulated shipper refuses (true) or grants (false) consent.
    pub fn set_deny(&self, deny: bool) {
        self.lock().knobs.deny = deny;
    }

    pub fn set_rotate(&self, rotate: bool) {
        self.lock().knobs.rotate = rotate;
    }

    pub fn set_refresh_ttl(&self, seconds: u64) {
        self.lock().knobs.refresh_token_ttl_seconds = seconds;
    }

    /// Expire every refresh token now (the misbehaviour "UPS ended it early").
    pub fn expire_refresh_tokens(&self, now: DateTime<Utc>) {
        for g in &mut self.lock().grants {
            g.refresh_expires_at = g.refresh_expires_at.min(now);
        }
    }

    /// Grants as JSON (no token values).
    pub fn dump(&self) -> Value {
        let i = self.lock();
        json!({
            "knobs": i.knobs,
            "grants": i.grants.iter().map(|g| json!({
                "id": g.id,
                "client_id": g.client_id,
                "refresh_count": g.refresh_count,
                "refresh_expires_at": g.refresh_expires_at.to_rfc3339(),
                "revoked": g.revoked,
            })).collect::<Vec<_>>(),
        })
    }
}

impl UpsState {
    /// Revoke every grant (the shipper removed the app's access): refresh fails, access
    /// tokens issued under them stop working. Returns how many grants were revoked.
    pub fn revoke_grants(&self) -> usize {
        let (n, tokens) = {
            let mut i = self.authcode.lock();
            let mut out = Vec::new();
            let mut n = 0;
            for g in i.grants.iter_mut().filter(|g| !g.revoked) {
                g.revoked = true;
                n += 1;
                out.append(&mut g.access_tokens);
            }
            (n, out)
        };
        let mut map = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        for t in tokens {
            map.remove(&t);
        }
        n
    }
}

/// The `AuthorizeClient` parameters the spec marks required.
fn required_params() -> &'static [String] {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| {
        let doc: Value = serde_norway::from_str(schema::spec::OAUTH_AUTH_CODE)
            .expect("vendored OAuthAuthCode.yaml parses");
        doc.pointer("/paths/~1v1~1oauth~1authorize/get/parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| p["required"] == true && p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect()
    })
}

fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn bad(code: &str, msg: &str) -> Response {
    ups_error(StatusCode::BAD_REQUEST, code, msg)
}

fn unauthorized(code: &str, msg: &str) -> Response {
    ups_error(StatusCode::UNAUTHORIZED, code, msg)
}

/// `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2, the spec's note).
pub fn s256(verifier: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(d.as_ref())
}

/// `redirect_uri` with query pairs appended.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut u = url::Url::parse(uri).ok()?;
    {
        let mut q = u.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(u.to_string())
}

/// `GET /security/v1/oauth/authorize` (`AuthorizeClient`).
pub async fn authorize(
    State(st): State<Arc<UpsState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty());
    if let Some(missing) = required_params().iter().find(|p| get(p).is_none()) {
        return bad("10402", &format!("Missing required parameter: {missing}"));
    }
    let client_id = get("client_id").unwrap_or_default();
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    if get("response_type") != Some("code") {
        return bad("10402", "Invalid response_type: the valid value is code");
    }
    let Some(client) = st.clients.get(client_id) else {
        return unauthorized("10401", "ClientId is Invalid");
    };
    let challenge = get("code_challenge").map(String::from);
    if let Some(m) = get("code_challenge_method") {
        if m != "S256" {
            return bad("10402", "Invalid code_challenge_method: use S256");
        }
    }
    let state = get("state").unwrap_or_default();
    if url::Url::parse(redirect_uri).is_err() {
        return bad("10402", "Invalid redirect_uri: an absolute URL is required");
    }
    let now = st.now();
    let deny = st.authcode.knobs().deny;
    let location = if deny {
        st.core.stats.incr("authorize.denied");
        let mut pairs = vec![("error", "access_denied")];
        if !state.is_empty() {
            pairs.push(("state", state));
        }
        with_query(redirect_uri, &pairs)
    } else {
        let code = random_token();
        {
            let mut i = st.authcode.lock();
            i.codes
                .retain(|_, c| c.expires_at > now || c.used_by.is_some());
            i.codes.insert(
                code.clone(),
                Code {
                    client_id: client.client_id.clone(),
                    redirect_uri: redirect_uri.to_string(),
                    challenge,
                    scope: get("scope").unwrap_or_default().to_string(),
                    expires_at: now + chrono::Duration::seconds(CODE_TTL_SECONDS),
                    used_by: None,
                },
            );
        }
        st.core.stats.incr("authorize.code");
        let mut pairs = vec![("code", code.as_str())];
        if !state.is_empty() {
            pairs.push(("state", state));
        }
        with_query(redirect_uri, &pairs)
    };
    let Some(location) = location else {
        return bad("10402", "Invalid redirect_uri");
    };
    (
        StatusCode::FOUND,
        [
            ("location", location),
            ("appname", client.client_id.clone()),
            ("displayname", client.client_id.clone()),
        ],
    )
        .into_response()
}

/// The form body as a JSON object of strings.
pub fn form(body: &[u8]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        m.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Value::Object(m)
}

/// Basic client authentication: `Some(Ok(id))`, `Some(Err(response))` when present but
/// wrong, `None` when absent.
fn basic_client(st: &UpsState, h: &HeaderMap) -> Option<Result<String, Response>> {
    header(h, "authorization")?;
    let Some((id, secret)) = super::auth::basic_credentials(h) else {
        return Some(Err(unauthorized(
            "10400",
            "Invalid/Missing Authorization Header",
        )));
    };
    let ok = st
        .clients
        .get(&id)
        .is_some_and(|c| bool::from(c.client_secret.as_bytes().ct_eq(secret.as_bytes())));
    Some(if ok {
        Ok(id)
    } else {
        Err(unauthorized("10401", "ClientId is Invalid"))
    })
}

/// Count a token against the client's daily cap (like client credentials).
fn spend(st: &UpsState, client_id: &str) -> Result<(), Response> {
    let now = st.now();
    if let Some(cap) = st.cfg.token_daily_cap {
        let mut days = st.token_days.lock().unwrap_or_else(|e| e.into_inner());
        let n = days
            .entry((client_id.to_string(), now.date_naive()))
            .or_insert(0);
        if *n >= cap {
            st.core.stats.incr("token.capped");
            return Err(ups_error(
                StatusCode::TOO_MANY_REQUESTS,
                "10429",
                "Quota Limit Exceeded",
            ));
        }
        *n += 1;
    }
    st.core.stats.incr("token.issued");
    st.core.stats.incr(&format!("token.issued.{client_id}"));
    Ok(())
}

/// A new access token for `client_id`, registered for bearer checks.
fn issue_access(st: &UpsState, client_id: &str) -> (String, u64) {
    let access = random_token();
    let ttl = st.cfg.token_ttl_seconds;
    let now = st.now();
    st.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
        access.clone(),
        Token {
            client_id: client_id.to_string(),
            expires_at: now + chrono::Duration::seconds(ttl as i64),
        },
    );
    (access, ttl)
}

fn answer(st: &UpsState, g: &Grant, access: &str, ttl: u64) -> Response {
    let now = st.now();
    // Whole seconds left, rounded up (the clock moves in real time between calls).
    let left = ((g.refresh_expires_at - now).num_milliseconds().max(0) + 999) / 1000;
    (
        StatusCode::OK,
        Json(json!({
            "refresh_token_expires_in": left.to_string(),
            "refresh_token_status": "approved",
            "token_type": "Bearer",
            "issued_at": now.timestamp_millis().to_string(),
            "client_id": g.client_id,
            "access_token": access,
            "refresh_token": g.refresh_token,
            "scope": g.scope,
            "refresh_token_issued_at": g.refresh_issued_at.timestamp_millis().to_string(),
            "expires_in": ttl.to_string(),
            "refresh_count": g.refresh_count.to_string(),
            "status": "approved",
        })),
    )
        .into_response()
}

/// `POST /security/v1/oauth/token` with `grant_type=authorization_code` (`GenerateToken`).
pub async fn exchange(st: Arc<UpsState>, headers: HeaderMap, body: Bytes) -> Response {
    let mut f = form(&body);
    if let Err(resp) = check_schema(&st, schema::BodySchema::AuthCodeToken, &mut f) {
        let _ = resp;
        return bad(
            "10402",
            "Missing field: grant_type, code and redirect_uri are required",
        );
    }
    let field = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or_default();
    let client_id = match basic_client(&st, &headers) {
        Some(Ok(id)) => {
            if !field("client_id").is_empty() && field("client_id") != id {
                return unauthorized("10401", "ClientId is Invalid");
            }
            id
        }
        Some(Err(r)) => return r,
        // PKCE (flow 2): no Authorization header, client_id + code_verifier in the body.
        None if !field("client_id").is_empty() && !field("code_verifier").is_empty() => {
            if !st.clients.contains_key(field("client_id")) {
                return unauthorized("10401", "ClientId is Invalid");
            }
            field("client_id").to_string()
        }
        None => {
            return unauthorized(
                "10400",
                "Invalid/Missing Authorization Header: send Basic client authentication, or client_id and code_verifier (PKCE)",
            )
        }
    };
    let now = st.now();
    let code = field("code").to_string();
    let grant = {
        let mut i = st.authcode.lock();
        let Some(c) = i.codes.get(&code).cloned() else {
            return bad("10410", "Invalid authorization code");
        };
        if let Some(gid) = c.used_by {
            // RFC 6749 §4.1.2: refuse, and revoke what the code produced.
            if let Some(g) = i.grants.iter_mut().find(|g| g.id == gid) {
                g.revoked = true;
            }
            st.core.stats.incr("authcode.reused");
            return bad("10410", "Authorization code has already been used");
        }
        if c.expires_at <= now {
            return bad("10410", "Authorization code has expired");
        }
        if c.client_id != client_id {
            return bad("10410", "Authorization code was issued to another client");
        }
        if c.redirect_uri != field("redirect_uri") {
            return bad(
                "10411",
                "redirect_uri does not match the authorization request",
            );
        }
        if let Some(ch) = &c.challenge {
            let v = field("code_verifier");
            if v.is_empty() || !bool::from(s256(v).as_bytes().ct_eq(ch.as_bytes())) {
                st.core.stats.incr("authcode.bad_verifier");
                return bad("10412", "code_verifier does not match the code_challenge");
            }
        }
        if let Err(r) = spend(&st, &client_id) {
            return r;
        }
        i.next_grant += 1;
        let id = i.next_grant;
        let ttl = i.knobs.refresh_token_ttl_seconds as i64;
        if let Some(c) = i.codes.get_mut(&code) {
            c.used_by = Some(id);
        }
        let g = Grant {
            id,
            client_id: client_id.clone(),
            scope: c.scope.clone(),
            refresh_token: random_token(),
            refresh_issued_at: now,
            refresh_expires_at: now + chrono::Duration::seconds(ttl),
            refresh_count: 0,
            revoked: false,
            access_tokens: Vec::new(),
        };
        i.grants.push(g.clone());
        g
    };
    let (access, ttl) = issue_access(&st, &client_id);
    st.authcode.remember_access(grant.id, &access);
    st.core.stats.incr("authcode.exchanged");
    answer(&st, &grant, &access, ttl)
}

impl AuthCodeState {
    fn remember_access(&self, grant: u64, access: &str) {
        if let Some(g) = self.lock().grants.iter_mut().find(|g| g.id == grant) {
            g.access_tokens.push(access.to_string());
        }
    }
}

/// `POST /security/v1/oauth/refresh` (`RefreshToken`, Basic authentication).
pub async fn refresh(State(st): State<Arc<UpsState>>, headers: HeaderMap, body: Bytes) -> Response {
    let client_id = match basic_client(&st, &headers) {
        Some(Ok(id)) => id,
        Some(Err(r)) => return r,
        None => return unauthorized("10400", "Invalid/Missing Authorization Header"),
    };
    let mut f = form(&body);
    if check_schema(&st, schema::BodySchema::Refresh, &mut f).is_err() {
        return bad(
            "10402",
            "Missing field: grant_type and refresh_token are required",
        );
    }
    if f["grant_type"] != "refresh_token" {
        return bad(
            "10402",
            "Unsupported grant_type: this endpoint takes grant_type=refresh_token",
        );
    }
    let presented = f["refresh_token"].as_str().unwrap_or_default().to_string();
    let now = st.now();
    let grant = {
        let mut i = st.authcode.lock();
        let knobs = i.knobs.clone();
        let Some(g) = i
            .grants
            .iter_mut()
            .find(|g| bool::from(g.refresh_token.as_bytes().ct_eq(presented.as_bytes())))
        else {
            return unauthorized("10413", "Invalid refresh token");
        };
        if g.client_id != client_id {
            return unauthorized("10413", "Invalid refresh token");
        }
        if g.revoked {
            st.core.stats.incr("refresh.revoked");
            return unauthorized("10415", "Refresh token has been revoked");
        }
        if g.refresh_expires_at <= now {
            st.core.stats.incr("refresh.expired");
            return unauthorized("10414", "Refresh token has expired");
        }
        if let Err(r) = spend(&st, &client_id) {
            return r;
        }
        g.refresh_count += 1;
        if knobs.rotate {
            g.refresh_token = random_token();
            g.refresh_issued_at = now;
            g.refresh_expires_at =
                now + chrono::Duration::seconds(knobs.refresh_token_ttl_seconds as i64);
        }
        g.clone()
    };
    let (access, ttl) = issue_access(&st, &client_id);
    st.authcode.remember_access(grant.id, &access);
    st.core.stats.incr("refresh.issued");
    answer(&st, &grant, &access, ttl)
}

/// `GET /_sim/ups/oauth`: knobs and grants.
pub async fn admin_get(State(st): State<Arc<UpsState>>) -> Json<Value> {
    Json(st.authcode.dump())
}

/// `POST /_sim/ups/oauth` `{"deny", "rotate", "refresh_token_ttl_seconds",
/// "expire_refresh_tokens", "revoke"}` (each optional).
pub async fn admin_set(State(st): State<Arc<UpsState>>, Json(b): Json<Value>) -> Json<Value> {
    if let Some(d) = b["deny"].as_bool() {
        st.authcode.set_deny(d);
    }
    if let Some(r) = b["rotate"].as_bool() {
        st.authcode.set_rotate(r);
    }
    if let Some(t) = b["refresh_token_ttl_seconds"].as_u64() {
        st.authcode.set_refresh_ttl(t);
    }
    if b["expire_refresh_tokens"] == true {
        st.authcode.expire_refresh_tokens(st.now());
    }
    if b["revoke"] == true {
        st.revoke_grants();
    }
    Json(st.authcode.dump())
}

#[cfg(test)]
#[path = "authcode_tests.rs"]
mod tests;
