//! UPS **authorization-code OAuth** (`OAuthAuthCode.yaml`, UPS-REFERENCE §1 "Refresh"): for
//! accounts a platform ships for on the shipper's behalf. The shipper logs in at UPS once
//! (`upsync creds authorize ups NAME`); upsync keeps the access and refresh tokens in the
//! vault entry NAME and renews them itself.
//!
//! * [`authorize_url`]: `GET {base}/security/v1/oauth/authorize?client_id&redirect_uri&
//!   response_type=code&state[&scope]&code_challenge&code_challenge_method=S256` — PKCE
//!   ([`Pkce`]: `code_challenge = BASE64URL(SHA256(code_verifier))`, the spec's note) and a
//!   random `state` by default.
//! * [`read_redirect`]: the redirect the browser lands on (or what the admin pastes: the
//!   whole URL, or the bare code).
//! * [`exchange_code`]: `POST {base}/security/v1/oauth/token` `grant_type=authorization_code`
//!   — Basic client authentication in the plain flow; with PKCE **no** Authorization header,
//!   `client_id` and `code_verifier` in the body (the spec's flow 2).
//! * Refresh (`POST {base}/security/v1/oauth/refresh`, Basic, `grant_type=refresh_token`)
//!   is done by the token service (`auth.rs`) through a [`GrantStore`]: it stores a rotated
//!   refresh token **before** handing out the new access token, so a crash never loses the
//!   only valid refresh token, and renews the refresh token `renew_before` its end when
//!   UPS extends its lifetime on refresh (whether it does is not documented; both are
//!   handled: [`AuthCodeTokens::renewable`]).
//!
//! Never log or put in an error: a code, verifier, access or refresh token, the secret.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::error::{Api, UpsError};
use super::UpsCredentials;

/// The tokens of one authorization. `Debug` shows dates and counts, never a token.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthCodeTokens {
    pub access_token: String,
    pub access_obtained_at: DateTime<Utc>,
    pub access_expires_in_seconds: u64,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    /// `refresh_count` as UPS reports it.
    pub refresh_count: u32,
    /// Whether a refresh extends the refresh token's lifetime: `Some(true)` once a refresh
    /// moved its end, `Some(false)` once one did not (then only a new authorization
    /// helps), `None` before the first refresh.
    pub renewable: Option<bool>,
}

impl std::fmt::Debug for AuthCodeTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCodeTokens")
            .field("access_token", &"<redacted>")
            .field("access_obtained_at", &self.access_obtained_at)
            .field("access_expires_in_seconds", &self.access_expires_in_seconds)
            .field("refresh_token", &"<redacted>")
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("refresh_count", &self.refresh_count)
            .field("renewable", &self.renewable)
            .finish()
    }
}

impl AuthCodeTokens {
    pub fn access_expires_at(&self) -> DateTime<Utc> {
        self.access_obtained_at + chrono::Duration::seconds(self.access_expires_in_seconds as i64)
    }

    /// When the refresh token should be renewed (`None`: it cannot be, or need not).
    pub fn renew_at(&self, before: chrono::Duration) -> Option<DateTime<Utc>> {
        (self.renewable != Some(false)).then(|| self.refresh_expires_at - before)
    }
}

/// Where one authorization's tokens live (the daemon: the vault entry NAME, encrypted).
pub trait GrantStore: Send + Sync {
    /// The vault entry's name, for messages (`upsync creds authorize ups NAME`).
    fn name(&self) -> &str;
    /// The current tokens, read afresh (a new authorization is seen without a restart).
    fn load(&self) -> Option<AuthCodeTokens>;
    /// Persist (durably) new tokens; the previous ones are replaced in one write.
    fn save(&self, tokens: &AuthCodeTokens) -> Result<(), String>;
}

/// An account on the authorization-code grant: its token store and how long before the
/// refresh token's end it is renewed.
#[derive(Clone)]
pub struct AuthCodeGrant {
    pub store: Arc<dyn GrantStore>,
    pub renew_before: chrono::Duration,
}

impl std::fmt::Debug for AuthCodeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCodeGrant")
            .field("store", &self.store.name())
            .field("renew_before", &self.renew_before)
            .finish()
    }
}

/// What to run when an authorization is missing or over.
pub fn fix(name: &str) -> String {
    format!("run `upsync creds authorize ups {name}` again")
}

/// A PKCE pair (RFC 7636, S256). `Debug` never shows the verifier.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkce")
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Pkce {
    /// A fresh verifier (32 random bytes → 43 characters) and its S256 challenge.
    pub fn generate() -> Pkce {
        let verifier = b64(&rand::random::<[u8; 32]>());
        Pkce {
            challenge: challenge_of(&verifier),
            verifier,
        }
    }
}

/// `BASE64URL(SHA256(ASCII(verifier)))`.
pub fn challenge_of(verifier: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

/// A random `state` (CSRF guard of the redirect).
pub fn random_state() -> String {
    b64(&rand::random::<[u8; 16]>())
}

/// The UPS login URL the shipper opens.
pub fn authorize_url(
    base_url: &str,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    scope: Option<&str>,
    challenge: Option<&str>,
) -> Result<String, UpsError> {
    let mut u = url::Url::parse(&format!(
        "{}/security/v1/oauth/authorize",
        base_url.trim_end_matches('/')
    ))
    .map_err(|e| UpsError::Config(format!("base_url {base_url:?} is not a URL ({e})")))?;
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("state", state);
        if let Some(s) = scope.filter(|s| !s.is_empty()) {
            q.append_pair("scope", s);
        }
        if let Some(c) = challenge {
            q.append_pair("code_challenge", c)
                .append_pair("code_challenge_method", "S256");
        }
    }
    Ok(u.to_string())
}

/// What came back from the login: a code (with the state it carried) or UPS's refusal.
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    pub code: String,
    pub state: Option<String>,
}

impl std::fmt::Debug for Redirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redirect")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// Read a redirect URL (or its query, or a bare code). Errors say what to paste; they
/// never echo the input.
pub fn read_redirect(input: &str) -> Result<Redirect, String> {
    let input = input.trim();
    if input.is_empty() {
        return Err("nothing was given: paste the whole address the browser shows after the UPS login (or the code)".into());
    }
    let query = if let Ok(u) = url::Url::parse(input) {
        u.query().unwrap_or_default().to_string()
    } else if input.contains('=') {
        input.trim_start_matches('?').to_string()
    } else {
        return Ok(Redirect {
            code: input.to_string(),
            state: None,
        });
    };
    let mut code = None;
    let mut state = None;
    let mut error = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(e) = error {
        let e: String = e
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect();
        return Err(format!(
            "UPS did not grant access (`{e}`): the shipper declined or the login failed; start again"
        ));
    }
    match code {
        Some(code) if !code.is_empty() => Ok(Redirect { code, state }),
        _ => Err(
            "the address holds no `code`: paste the address the browser shows after the UPS login"
                .into(),
        ),
    }
}

#[derive(Deserialize)]
struct RawAnswer {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    expires_in: Value,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    refresh_token_expires_in: Value,
    #[serde(default)]
    refresh_count: Value,
}

/// UPS sends numbers as strings (`"14399"`); accept a JSON number too.
fn seconds(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Read a `generateTokenSuccessResponse` / `refreshTokenSuccessResponse` received at `now`.
/// `previous`: the tokens the refresh started from (a missing `refresh_token` keeps the old
/// one; whether the end moved decides [`AuthCodeTokens::renewable`]).
pub fn token_answer(
    v: &Value,
    now: DateTime<Utc>,
    previous: Option<&AuthCodeTokens>,
) -> Result<AuthCodeTokens, String> {
    let a: RawAnswer = serde_json::from_value(v.clone())
        .map_err(|e| format!("token answer is not the documented object ({e})"))?;
    if a.access_token.is_empty() {
        return Err("token answer has no access_token".into());
    }
    let expires_in = seconds(&a.expires_in)
        .filter(|s| *s > 0)
        .ok_or("token answer has no numeric expires_in")?;
    let refresh_token = match (a.refresh_token.filter(|t| !t.is_empty()), previous) {
        (Some(t), _) => t,
        (None, Some(p)) => p.refresh_token.clone(),
        (None, None) => return Err("token answer has no refresh_token".into()),
    };
    let refresh_expires_at = match (seconds(&a.refresh_token_expires_in), previous) {
        (Some(s), _) => now + chrono::Duration::seconds(s as i64),
        (None, Some(p)) => p.refresh_expires_at,
        (None, None) => return Err("token answer has no numeric refresh_token_expires_in".into()),
    };
    // A refresh that moved the end by more than a minute extends the lifetime.
    let renewable =
        previous.map(|p| refresh_expires_at > p.refresh_expires_at + chrono::Duration::minutes(1));
    Ok(AuthCodeTokens {
        access_token: a.access_token,
        access_obtained_at: now,
        access_expires_in_seconds: expires_in,
        refresh_token,
        refresh_expires_at,
        refresh_count: seconds(&a.refresh_count).unwrap_or(0) as u32,
        renewable,
    })
}

/// The error UPS answered (`{"response":{"errors":[{code,message}]}}`), as code + message.
pub(crate) fn fault_of(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    super::parse::faults(&v)
        .first()
        .map(|f| (f.code.clone(), f.message.clone()))
        .unwrap_or_default()
}

/// Exchange a code for tokens (`GenerateToken`). With `verifier` (PKCE) no Authorization
/// header is sent and `client_id` + `code_verifier` go in the body; without, Basic.
pub async fn exchange_code(
    http: &reqwest::Client,
    base_url: &str,
    creds: &UpsCredentials,
    code: &str,
    redirect_uri: &str,
    verifier: Option<&str>,
    now: DateTime<Utc>,
) -> Result<AuthCodeTokens, UpsError> {
    let url = format!("{}/security/v1/oauth/token", base_url.trim_end_matches('/'));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
    ];
    let mut rb = http.post(&url);
    match verifier {
        Some(v) => {
            form.push(("client_id", creds.client_id.as_str()));
            form.push(("code_verifier", v));
        }
        None => rb = rb.basic_auth(&creds.client_id, Some(&creds.client_secret)),
    }
    let resp = rb
        .form(&form)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| UpsError::Unavailable {
            api: Api::Token,
            status: None,
            code: None,
            detail: format!("cannot reach {url}: {}", e.without_url()),
            attempts: 1,
        })?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    if (200..300).contains(&status) {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        return token_answer(&v, now, None).map_err(|detail| UpsError::Protocol {
            api: Api::Token,
            status,
            detail,
        });
    }
    let (code, message) = fault_of(&body);
    Err(UpsError::Auth {
        api: Api::Token,
        status: Some(status),
        code,
        message: format!(
            "UPS refused the authorization code: {}",
            if message.is_empty() {
                format!("HTTP {status}")
            } else {
                message
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_follows_rfc_7636() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let p = Pkce::generate();
        assert_eq!(p.verifier.len(), 43);
        assert_eq!(challenge_of(&p.verifier), p.challenge);
        assert!(!format!("{p:?}").contains(&p.verifier));
    }

    #[test]
    fn redirects_and_pastes_are_read_without_echo() {
        let r = read_redirect("http://127.0.0.1:8/callback?code=abc&state=s1").unwrap();
        assert_eq!((r.code.as_str(), r.state.as_deref()), ("abc", Some("s1")));
        assert!(!format!("{r:?}").contains("abc"));
        let r = read_redirect("  c0de \n").unwrap();
        assert_eq!((r.code.as_str(), r.state), ("c0de", None));
        let e = read_redirect("http://x/cb?error=access_denied&state=s").unwrap_err();
        assert!(e.contains("access_denied"), "{e}");
        let e = read_redirect("http://x/cb?secretish=1").unwrap_err();
        assert!(e.contains("no `code`") && !e.contains("secretish"), "{e}");
    }

    #[test]
    fn answers_are_read_as_ups_sends_them() {
        let now = Utc::now();
        let v = serde_json::json!({"access_token": "a1", "expires_in": "14399", "refresh_token": "r1",
            "refresh_token_expires_in": "604799", "refresh_count": "0", "status": "approved"});
        let t = token_answer(&v, now, None).unwrap();
        assert_eq!(t.access_expires_in_seconds, 14399);
        assert_eq!(
            t.refresh_expires_at,
            now + chrono::Duration::seconds(604_799)
        );
        assert_eq!(t.renewable, None);
        assert!(!format!("{t:?}").contains("r1"));
        // A refresh that keeps the refresh token and its end: not renewable.
        let later = now + chrono::Duration::hours(4);
        let v2 = serde_json::json!({"access_token": "a2", "expires_in": "14399",
            "refresh_token_expires_in": (604_799 - 4 * 3600).to_string(), "refresh_count": "1"});
        let t2 = token_answer(&v2, later, Some(&t)).unwrap();
        assert_eq!(t2.refresh_token, "r1");
        assert_eq!(t2.renewable, Some(false));
        // A rotated one with a full lifetime: renewable.
        let v3 = serde_json::json!({"access_token": "a3", "expires_in": 3600, "refresh_token": "r2",
            "refresh_token_expires_in": "604799"});
        let t3 = token_answer(&v3, later, Some(&t)).unwrap();
        assert_eq!(
            (t3.refresh_token.as_str(), t3.renewable),
            ("r2", Some(true))
        );
        assert!(token_answer(&serde_json::json!({"access_token": "a"}), now, None).is_err());
    }

    #[test]
    fn the_login_url_carries_state_and_the_challenge() {
        let u = authorize_url(
            "http://h:1/",
            "cid",
            "http://127.0.0.1:5/cb",
            "st",
            None,
            Some("ch"),
        )
        .unwrap();
        assert!(u.starts_with("http://h:1/security/v1/oauth/authorize?client_id=cid&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&response_type=code&state=st"), "{u}");
        assert!(
            u.ends_with("&code_challenge=ch&code_challenge_method=S256"),
            "{u}"
        );
    }
}
