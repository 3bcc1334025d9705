//! The OAuth 2.0 token endpoint: client-credentials (M2M) with a signed JWT assertion,
//! and token bookkeeping (ERP-NOTES.md §N2).

use super::*;

// ---------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------

pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

pub(super) async fn token(
    State(sim): State<Arc<NetSuiteSim>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.core.stats.incr("token");
    let r = token_inner(&sim, &headers, &body).await;
    counted(&sim, "token", r)
}

pub(super) async fn token_inner(sim: &NetSuiteSim, headers: &HeaderMap, body: &[u8]) -> Response {
    if let Err(r) = apply_faults(sim, "token").await {
        return r;
    }
    let form_ok = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_ok {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    if form.get("client_assertion_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        );
    }
    let Some(assertion) = form.get("client_assertion") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_assertion is missing",
        );
    };
    let now = sim.core.clock.now();
    match auth::verify_assertion(assertion, &sim.m2m, &sim.token_url(), now.timestamp()) {
        Ok(reg) => {
            let token = format!("nssim.{}", uuid::Uuid::new_v4().simple());
            sim.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(
                token.clone(),
                IssuedToken {
                    client_id: reg.client_id.clone(),
                    expires: now + chrono::Duration::seconds(sim.token_ttl_seconds),
                },
            );
            sim.core.stats.incr("token.issued");
            tracing::debug!(client_id = %reg.client_id, "simulated NetSuite issued an access token");
            // §N2: the JSON type of `expires_in` is open (see `token_expires_in_number`).
            let expires_in = if sim.token_expires_in_number {
                json!(sim.token_ttl_seconds)
            } else {
                json!(sim.token_ttl_seconds.to_string())
            };
            Json(json!({
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
            }))
            .into_response()
        }
        Err(e) => {
            sim.core.stats.incr("token.rejected");
            tracing::debug!(reason = %e, "simulated NetSuite refused a client assertion");
            oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e.to_string())
        }
    }
}

impl NetSuiteSim {
    /// Expire every issued access token now (what the 1-hour expiry does; the next request
    /// with an old token gets 401 invalid_token). Also `POST /_sim/netsuite/expire-tokens`.
    pub fn expire_tokens(&self) -> usize {
        let now = self.core.clock.now();
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        for t in tokens.values_mut() {
            t.expires = now;
        }
        tokens.len()
    }

    /// Client ids holding a currently valid token (tests).
    pub fn token_holders(&self) -> Vec<String> {
        let now = self.core.clock.now();
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<String> = tokens
            .values()
            .filter(|t| t.expires > now)
            .map(|t| t.client_id.clone())
            .collect();
        v.sort();
        v
    }
}
