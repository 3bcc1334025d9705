//! Acumatica sign-in: cookie sessions (`/entity/auth/login`, `/entity/auth/logout`) and
//! OAuth 2.0 resource-owner password grant with refresh (`/identity/connect/token`).
//!
//! Spec: ERP-NOTES.md §A2 and §G4. Sessions count against the licence's API-user limit, so
//! a cookie session is always logged out: after `keep_session_seconds` without a request
//! (a cycle's end arms [`Http::release_when_idle`]; the next cycle reuses the session, so
//! there is no sign-in per cycle), at `close()` (shutdown, ping), and best-effort on drop.
//! The connector may hold up to `sessions` of them (`client.rs`, [`Session`]). "API Login Limit" means "wait for a free slot" (bounded backoff, then transient);
//! "Invalid credentials" is an auth error. Never log cookies, tokens or passwords.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use super::client::{exception_message, Http};
use super::profile::AuthMode;
use crate::sources::SourceError;

/// The current sign-in, if any.
#[derive(Clone, Default)]
pub(crate) enum AuthState {
    #[default]
    None,
    /// `Cookie:` header value of an open session.
    Cookies(String),
    Bearer {
        access: String,
        refresh: Option<String>,
        expires_at: Instant,
    },
}

impl AuthState {
    /// The header to send: `(name, value)`.
    pub(crate) fn header(&self) -> Option<(&'static str, String)> {
        match self {
            AuthState::None => None,
            AuthState::Cookies(c) => Some(("cookie", c.clone())),
            AuthState::Bearer { access, .. } => Some(("authorization", format!("Bearer {access}"))),
        }
    }
}

impl Http {
    /// A valid sign-in header of session `s`, signing in (or refreshing) when needed.
    pub(crate) async fn auth_header(
        &self,
        s: usize,
    ) -> Result<(&'static str, String), SourceError> {
        let mut st = self.sessions[s].auth.lock().await;
        if let AuthState::Bearer {
            expires_at,
            refresh,
            ..
        } = &*st
        {
            if Instant::now() >= *expires_at {
                let refresh = refresh.clone();
                *st = AuthState::None;
                if let Some(rt) = refresh {
                    match self
                        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                        .await
                    {
                        Ok(s) => *st = s,
                        Err(e @ SourceError::Transient { .. }) => return Err(e),
                        Err(_) => {} // refresh chain over: fall back to the password grant
                    }
                }
            }
        }
        if matches!(&*st, AuthState::None) {
            // A session past the first does not wait for a licence slot while another of
            // ours is signed in: that slot may be the one it waits for (`Session::refuse`).
            let others_open =
                s > 0
                    && self.sessions.iter().enumerate().any(|(i, o)| {
                        i != s && o.auth.try_lock().is_ok_and(|a| a.header().is_some())
                    });
            match self.sign_in(!others_open).await {
                Ok(Some(a)) => *st = a,
                // Only "API Login Limit" refuses the session; any other failure is just that.
                Ok(None) => {
                    self.sessions[s].refuse();
                    let open = self.sessions.iter().filter(|o| !o.refused()).count();
                    tracing::warn!(
                        connector = %self.name,
                        session = s + 1,
                        sessions = self.sessions.len(),
                        running_with = open,
                        minutes = super::client::REFUSED_FOR.as_secs() / 60,
                        "acumatica: the licence has no API user left for another session (API Login Limit); \
                         running with fewer sessions for now. Lower `sessions` in the profile, or raise the \
                         licence's Max Web Services API Users"
                    );
                    return Err(SourceError::Transient {
                        system: self.system(),
                        message: "API Login Limit: no licence API user left for another session"
                            .into(),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Ok(st.header().expect("signed in"))
    }

    /// Forget a sign-in of session `s` the server no longer accepts (401), unless another
    /// task already did.
    pub(crate) async fn invalidate(&self, s: usize, sent: &str) {
        let mut st = self.sessions[s].auth.lock().await;
        if st.header().is_some_and(|(_, v)| v == sent) {
            *st = AuthState::None;
        }
    }

    /// `wait`: on "API Login Limit", wait for a free licence slot (up to
    /// `login_wait_max_seconds`); else answer `None` at once.
    async fn sign_in(&self, wait: bool) -> Result<Option<AuthState>, SourceError> {
        match self.profile.auth.mode {
            AuthMode::Cookie => self.cookie_login(wait).await,
            AuthMode::OauthPassword => {
                let (u, p) = (self.creds.username.clone(), self.creds.password.clone());
                let scope = self.profile.auth.scope.clone();
                self.token_request(&[
                    ("grant_type", "password"),
                    ("username", &u),
                    ("password", &p),
                    ("scope", &scope),
                ])
                .await
                .map(Some)
            }
        }
    }

    async fn cookie_login(&self, wait: bool) -> Result<Option<AuthState>, SourceError> {
        let mut body = json!({
            "name": self.creds.username,
            "password": self.creds.password,
            "tenant": self.profile.tenant,
        });
        if let Some(b) = &self.profile.branch {
            body["branch"] = json!(b);
        }
        if let Some(l) = &self.profile.locale {
            body["locale"] = json!(l);
        }
        let url = format!("{}/entity/auth/login", self.base);
        let mut waited = Duration::ZERO;
        let limit = Duration::from_secs(self.profile.login_wait_max_seconds);
        let mut attempt = 0u32;
        loop {
            let resp = self
                .client
                .post(&url)
                .json(&body)
                .send()
                .await
                .map_err(|e| {
                    self.requests.record("login", 0);
                    self.transport(&e)
                })?;
            let status = resp.status().as_u16();
            self.requests.record("login", status);
            let cookies: Vec<String> = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(|v| v.split(';').next())
                .map(|kv| kv.trim().to_string())
                .filter(|kv| kv.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
                .collect();
            let text = resp.text().await.unwrap_or_default();
            let body_json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let msg = exception_message(&body_json).unwrap_or_default();
            if (200..300).contains(&status) {
                if cookies.is_empty() {
                    return Err(self.config(
                        "sign-in answered without session cookies; is instance_url right?",
                    ));
                }
                tracing::debug!(connector = %self.name, "acumatica session opened");
                return Ok(Some(AuthState::Cookies(cookies.join("; "))));
            }
            if msg.contains("API Login Limit") || status == 429 {
                // The licence's API-user slots are all taken: wait for one to free up.
                let d = self.backoff(attempt);
                if !wait {
                    return Ok(None);
                }
                if waited + d > limit {
                    return Err(SourceError::Transient {
                        system: self.system(),
                        message: format!(
                            "no free API session after {}s (API Login Limit: the licence's API users are all signed in); \
                             other integrations must log out, or raise the licence limit",
                            waited.as_secs()
                        ),
                    });
                }
                tracing::info!(connector = %self.name, attempt, wait_ms = d.as_millis() as u64, "acumatica API Login Limit; waiting for a free session");
                (self.sleeper)(d).await;
                waited += d;
                attempt += 1;
                continue;
            }
            if msg.contains("Invalid credentials") || status == 401 || status == 403 {
                return Err(self.auth_error(&format!(
                    "sign-in of user '{}' to tenant '{}' was refused (invalid credentials)",
                    self.creds.username, self.profile.tenant
                )));
            }
            return Err(self.classify(status, &body_json, "sign-in"));
        }
    }

    async fn token_request(&self, grant: &[(&str, &str)]) -> Result<AuthState, SourceError> {
        let client_id = self
            .profile
            .auth
            .client_id
            .clone()
            .or_else(|| self.creds.client_id.clone())
            .ok_or_else(|| self.config("auth.mode oauth_password needs a client_id (profile auth.client_id or the credentials)"))?;
        let secret = self.creds.client_secret.clone().ok_or_else(|| {
            self.auth_error("the credentials have no client_secret for the OAuth client")
        })?;
        let mut form: Vec<(&str, &str)> =
            vec![("client_id", &client_id), ("client_secret", &secret)];
        form.extend_from_slice(grant);
        let resp = self
            .client
            .post(format!("{}/identity/connect/token", self.base))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                self.requests.record("token", 0);
                self.transport(&e)
            })?;
        let status = resp.status().as_u16();
        self.requests.record("token", status);
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 200 {
            let access = body["access_token"]
                .as_str()
                .ok_or_else(|| self.config("token answer without access_token"))?
                .to_string();
            let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
            let margin = (lifetime / 10).min(60);
            return Ok(AuthState::Bearer {
                access,
                refresh: body["refresh_token"].as_str().map(str::to_string),
                expires_at: Instant::now() + Duration::from_secs(lifetime.saturating_sub(margin)),
            });
        }
        if status == 429 || status >= 500 {
            return Err(SourceError::Transient {
                system: self.system(),
                message: format!("token endpoint answered {status}"),
            });
        }
        let err = body["error"].as_str().unwrap_or("unknown error");
        Err(self.auth_error(&format!(
            "OAuth token request was refused ({err}); check the client id/secret and the user's password"
        )))
    }

    /// Log out every open cookie session (always; errors are only logged). Bearer tokens
    /// are simply dropped.
    pub(crate) async fn logout(&self) {
        for s in &self.sessions {
            let mut st = s.auth.lock().await;
            if let AuthState::Cookies(c) = &*st {
                let r = self
                    .client
                    .post(format!("{}/entity/auth/logout", self.base))
                    .header("cookie", c.as_str())
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status().is_success() => {
                        tracing::debug!(connector = %self.name, "acumatica session closed")
                    }
                    Ok(resp) => {
                        tracing::warn!(connector = %self.name, status = resp.status().as_u16(), "acumatica logout failed")
                    }
                    Err(e) => {
                        tracing::warn!(connector = %self.name, error = %e.without_url(), "acumatica logout failed")
                    }
                }
            }
            *st = AuthState::None;
        }
    }

    /// Whether any session is signed in.
    pub(crate) async fn signed_in(&self) -> bool {
        for s in &self.sessions {
            if s.auth.lock().await.header().is_some() {
                return true;
            }
        }
        false
    }

    /// End of a cycle: keep the sessions for the next one and log them out once nothing
    /// used them for `keep_session_seconds` (0 = now). One watcher task at a time; it
    /// compares the request count before and after each wait, so a busy connector keeps
    /// its sessions and an idle one returns them to the licence.
    pub(crate) async fn release_when_idle(self: &std::sync::Arc<Self>) {
        let keep = Duration::from_secs(self.profile.keep_session_seconds);
        let runtime = tokio::runtime::Handle::try_current();
        if keep.is_zero() || runtime.is_err() {
            self.logout().await;
            return;
        }
        if self.idle_watch.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = std::sync::Arc::downgrade(self);
        let mut seen = self.uses.load(Ordering::SeqCst);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(keep).await;
                let Some(h) = weak.upgrade() else { return };
                let now = h.uses.load(Ordering::SeqCst);
                if now == seen {
                    h.logout().await;
                    h.idle_watch.store(false, Ordering::SeqCst);
                    tracing::debug!(connector = %h.name, idle_seconds = keep.as_secs(), "acumatica sessions idle; logged out");
                    return;
                }
                seen = now;
            }
        });
    }

    /// The open sessions' cookie headers, taken out (for logout on drop).
    pub(crate) fn take_sessions_for_drop(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.sessions {
            let Ok(mut st) = s.auth.try_lock() else {
                continue;
            };
            if let AuthState::Cookies(c) = std::mem::take(&mut *st) {
                out.push(c);
            }
        }
        out
    }
}
