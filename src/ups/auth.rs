//! Token service: OAuth client credentials against `{base}/security/v1/oauth/token`
//! (UPS-REFERENCE §1), cached, persisted through a [`TokenStore`], single-flight, and
//! held to a daily budget.
//!
//! * `expires_in` from UPS is honoured (4 h today, 1 h announced): never hard-coded.
//!   A token is refreshed ahead by `min(5 min, 10 % of its lifetime)`.
//! * One refresh in flight at a time however many callers wait: a tokio mutex around the
//!   refresh with a double-check after acquiring it. While a refresh runs, callers that
//!   still hold a valid (not yet expired) token keep using it.
//! * Every token request is counted per credential per UTC day in the store **before** it
//!   is sent; at 80 % of the budget a warning is logged; a request that would exceed the
//!   budget is refused with [`UpsError::TokenBudgetExhausted`].
//! * Time comes from [`Clock`] (wall time = start time + tokio elapsed), so
//!   `tokio::time::pause`/`advance` move token expiry in tests.
//!
//! * Accounts on the authorization-code grant ([`super::authcode`]) hold their tokens in a
//!   [`super::authcode::GrantStore`] (the vault entry the shipper authorized) instead of the
//!   token store, and get new ones from `{base}/security/v1/oauth/refresh`; the request
//!   counts against the same daily budget. A rotated refresh token is stored before the new
//!   access token is used. The refresh token is renewed `renew_before` its end (when UPS
//!   extends it on refresh); once it has expired or UPS refuses it, every call fails with
//!   [`UpsError::Auth`] naming the fix (`upsync creds authorize ups NAME`), without a request.
//!
//! Never log or put in an error: the client secret, the access token, a refresh token.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::authcode::{AuthCodeGrant, AuthCodeTokens};
use super::error::{Api, UpsError};
use super::http::{send, Reply};
use super::parse;
use super::retry::{Limiters, RetryPolicy};
use super::stats::Stats;
use super::UpsCredentials;

pub use crate::model::Clock;

/// A token as persisted. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub access_token: String,
    /// When this client received it (its own clock, not UPS's `issued_at`).
    pub obtained_at: DateTime<Utc>,
    /// Lifetime UPS announced (`expires_in`).
    pub expires_in_seconds: u64,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("access_token", &"<redacted>")
            .field("obtained_at", &self.obtained_at)
            .field("expires_in_seconds", &self.expires_in_seconds)
            .finish()
    }
}

impl StoredToken {
    pub fn lifetime(&self) -> Duration {
        Duration::from_secs(self.expires_in_seconds)
    }
    /// Refresh-ahead margin: `min(5 min, 10 % of the lifetime)`.
    pub fn margin(&self) -> Duration {
        refresh_margin(self.lifetime())
    }
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.obtained_at + chrono::Duration::seconds(self.expires_in_seconds as i64)
    }
    /// From this moment on a new token is fetched.
    pub fn refresh_at(&self) -> DateTime<Utc> {
        self.expires_at() - chrono::Duration::from_std(self.margin()).unwrap_or_default()
    }
    /// Fresh: before the refresh point.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        now < self.refresh_at()
    }
    /// Still accepted by UPS (a little before expiry, to cover the request's flight time).
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        now + chrono::Duration::seconds(5) < self.expires_at()
    }
}

/// `min(5 min, 10 % of lifetime)`.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    (lifetime / 10).min(Duration::from_secs(300))
}

/// Where tokens and daily token counts live. The daemon plugs in its encrypted sled store;
/// [`MemoryTokenStore`] serves tests and one-shot tools. `credential` is the client id.
pub trait TokenStore: Send + Sync {
    /// The last saved token for this credential, if any (expired or not).
    fn load(&self, credential: &str) -> Option<StoredToken>;
    /// Persist a new token (replaces the previous one).
    fn save(&self, credential: &str, token: &StoredToken);
    /// Count one token request on `utc_day`; persisted; returns the new count.
    fn count_token_request(&self, credential: &str, utc_day: NaiveDate) -> u32;
    /// Token requests counted on `utc_day`.
    fn token_requests(&self, credential: &str, utc_day: NaiveDate) -> u32;
    /// Several daemons on one database (issue 22): the right to fetch `credential`'s token
    /// now (a `token:<client>` lease); `false` while another daemon fetches it, whose token
    /// then appears through [`TokenStore::load`]. One daemon alone: always `true`.
    fn begin_fetch<'a>(&'a self, _credential: &'a str) -> futures::future::BoxFuture<'a, bool> {
        Box::pin(async { true })
    }
    /// Give the right to fetch back (after the new token was saved).
    fn end_fetch<'a>(&'a self, _credential: &'a str) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// How long a daemon waits for another daemon's token fetch before fetching itself.
const SHARED_FETCH_WAIT: Duration = Duration::from_secs(10);

/// In-memory [`TokenStore`] (shared by cloning the `Arc` you wrap it in).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    tokens: Mutex<HashMap<String, StoredToken>>,
    counts: Mutex<HashMap<(String, NaiveDate), u32>>,
}

impl MemoryTokenStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self, credential: &str) -> Option<StoredToken> {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(credential)
            .cloned()
    }
    fn save(&self, credential: &str, token: &StoredToken) {
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(credential.to_string(), token.clone());
    }
    fn count_token_request(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let c = m.entry((credential.to_string(), utc_day)).or_default();
        *c += 1;
        *c
    }
    fn token_requests(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(credential.to_string(), utc_day))
            .unwrap_or(&0)
    }
}

#[derive(Default)]
struct Cache {
    token: Option<StoredToken>,
    /// A token UPS refused: never reloaded from the store.
    rejected: Option<String>,
    /// After a failed refresh-ahead, the current (still valid) token is used without
    /// another refresh attempt until this time.
    refresh_not_before: Option<DateTime<Utc>>,
}

/// Pause between refresh-ahead attempts that failed while the current token still works.
const REFRESH_RETRY_PAUSE_SECONDS: i64 = 30;

/// Settings the token service needs (copied from `UpsClientConfig`).
#[derive(Debug, Clone)]
pub(crate) struct TokenSettings {
    pub token_url: String,
    pub merchant_id: String,
    pub budget_per_day: u32,
    pub warn_ratio: f64,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
}

pub(crate) struct TokenService {
    http: reqwest::Client,
    settings: TokenSettings,
    creds: UpsCredentials,
    store: Arc<dyn TokenStore>,
    clock: Clock,
    limiters: Arc<Limiters>,
    stats: Arc<Stats>,
    cache: Mutex<Cache>,
    refresh: tokio::sync::Mutex<()>,
    /// Completed token fetches (success or failure) and the last failure, so callers that
    /// queued behind a failed fetch share its error instead of each fetching again.
    fetches: std::sync::atomic::AtomicU64,
    last_failure: Mutex<Option<UpsError>>,
    /// Authorization-code accounts: where their tokens live.
    grant: Option<AuthCodeGrant>,
    /// When the refresh token should be renewed (authorization code, renewable).
    renew_at: Mutex<Option<DateTime<Utc>>>,
}

impl TokenService {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        http: reqwest::Client,
        settings: TokenSettings,
        creds: UpsCredentials,
        store: Arc<dyn TokenStore>,
        clock: Clock,
        limiters: Arc<Limiters>,
        stats: Arc<Stats>,
        grant: Option<AuthCodeGrant>,
    ) -> Self {
        TokenService {
            grant,
            renew_at: Mutex::new(None),
            http,
            settings,
            creds,
            store,
            clock,
            limiters,
            stats,
            cache: Mutex::new(Cache::default()),
            refresh: tokio::sync::Mutex::new(()),
            fetches: std::sync::atomic::AtomicU64::new(0),
            last_failure: Mutex::new(None),
        }
    }

    pub(crate) fn credential(&self) -> &str {
        &self.creds.client_id
    }

    pub(crate) fn requests_today(&self) -> u32 {
        self.store
            .token_requests(&self.creds.client_id, self.clock.today())
    }

    fn cached(&self, pred: impl Fn(&StoredToken) -> bool) -> Option<String> {
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.token
            .as_ref()
            .filter(|t| pred(t))
            .map(|t| t.access_token.clone())
    }

    /// The cached token if it is fresh (and no refresh-token renewal is due), or still
    /// valid while a failed refresh pauses.
    fn current(&self, now: DateTime<Utc>) -> Option<String> {
        let renew = self.renewal_due(now);
        let c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let t = c.token.as_ref()?;
        let paused = c.refresh_not_before.map(|nb| now < nb).unwrap_or(false);
        ((t.is_fresh(now) && !renew) || (paused && t.is_usable(now)))
            .then(|| t.access_token.clone())
    }

    /// Authorization code: the refresh token is due for renewal.
    fn renewal_due(&self, now: DateTime<Utc>) -> bool {
        self.renew_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| now >= at)
    }

    fn note_grant(&self, g: &AuthCodeGrant, t: &AuthCodeTokens) {
        *self.renew_at.lock().unwrap_or_else(|e| e.into_inner()) = t.renew_at(g.renew_before);
    }

    /// Authorization code: the tokens the grant store holds now (none for client credentials).
    pub(crate) fn grant_tokens(&self) -> Option<AuthCodeTokens> {
        self.grant.as_ref()?.store.load()
    }

    pub(crate) fn grant_renew_before(&self) -> Option<chrono::Duration> {
        self.grant.as_ref().map(|g| g.renew_before)
    }

    /// Authorization code: the vault entry holding the tokens.
    pub(crate) fn grant_name(&self) -> Option<&str> {
        self.grant.as_ref().map(|g| g.store.name())
    }

    /// A bearer token: cached, else from the store, else fetched (single-flight).
    pub(crate) async fn bearer(&self) -> Result<String, UpsError> {
        let now = self.clock.now();
        if let Some(t) = self.current(now) {
            return Ok(t);
        }
        let fetches_seen = self.fetches.load(std::sync::atomic::Ordering::SeqCst);
        let _guard = match self.refresh.try_lock() {
            Ok(g) => g,
            Err(_) => {
                // Someone is refreshing: keep using a still-valid token meanwhile.
                if let Some(t) = self.cached(|t| t.is_usable(self.clock.now())) {
                    return Ok(t);
                }
                self.refresh.lock().await
            }
        };
        let now = self.clock.now();
        if let Some(t) = self.current(now) {
            return Ok(t);
        }
        if self.fetches.load(std::sync::atomic::Ordering::SeqCst) != fetches_seen {
            // A fetch finished while we waited and did not leave a fresh token: it failed.
            // Share its error rather than spending another token request right away.
            if let Some(e) = self
                .last_failure
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                return Err(e);
            }
        }
        // Restart path: a token persisted by an earlier process (authorization code: the
        // grant store's, which a new authorization may have replaced).
        let stored = match &self.grant {
            Some(g) => g.store.load().map(|t| {
                self.note_grant(g, &t);
                StoredToken {
                    access_token: t.access_token.clone(),
                    obtained_at: t.access_obtained_at,
                    expires_in_seconds: t.access_expires_in_seconds,
                }
            }),
            None => self.store.load(&self.creds.client_id),
        };
        if let Some(stored) = stored.filter(|_| !self.renewal_due(now)) {
            let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let rejected = c.rejected.as_deref() == Some(stored.access_token.as_str());
            if !rejected && stored.is_fresh(now) {
                let tok = stored.access_token.clone();
                c.token = Some(stored);
                return Ok(tok);
            }
        }
        if let Some(tok) = self.shared_turn().await {
            return Ok(tok);
        }
        let fetched = self.fetch().await;
        if self.grant.is_none() {
            if let Ok(t) = &fetched {
                self.store.save(&self.creds.client_id, t);
            }
            self.store.end_fetch(&self.creds.client_id).await;
        }
        *self.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
            fetched.as_ref().err().cloned();
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let fresh = match fetched {
            Ok(t) => t,
            Err(e) => {
                // Refresh-ahead failed (budget, UPS down): a token that has not expired yet
                // still works; use it and try again on the next call.
                let now = self.clock.now();
                let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(t) = c.token.as_ref().filter(|t| t.is_usable(now)) {
                    let tok = t.access_token.clone();
                    c.refresh_not_before =
                        Some(now + chrono::Duration::seconds(REFRESH_RETRY_PAUSE_SECONDS));
                    tracing::warn!(credential = %self.creds.client_id, error = %e, "UPS token refresh failed; using the current token until it expires");
                    return Ok(tok);
                }
                return Err(e);
            }
        };
        let tok = fresh.access_token.clone();
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        c.token = Some(fresh);
        c.refresh_not_before = None;
        Ok(tok)
    }

    /// Several daemons: wait for the right to fetch (client credentials only). `Some`: a
    /// token another daemon fetched meanwhile, adopted without a request; `None`: fetch
    /// (holding the right, or after waiting [`SHARED_FETCH_WAIT`] in vain).
    async fn shared_turn(&self) -> Option<String> {
        if self.grant.is_some() {
            return None;
        }
        let cred = &self.creds.client_id;
        let step = Duration::from_millis(200);
        let mut waited = Duration::ZERO;
        while waited < SHARED_FETCH_WAIT {
            if self.store.begin_fetch(cred).await {
                // Ours; the daemon before us may just have stored a fresh one.
                let t = self.adopt_stored();
                if t.is_some() {
                    self.store.end_fetch(cred).await;
                }
                return t;
            }
            tokio::time::sleep(step).await;
            waited += step;
            if let Some(t) = self.adopt_stored() {
                return Some(t);
            }
        }
        None
    }

    /// A fresh stored token (saved by another daemon), made the cached one.
    fn adopt_stored(&self) -> Option<String> {
        let now = self.clock.now();
        let stored = self.store.load(&self.creds.client_id)?;
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if !stored.is_fresh(now) || c.rejected.as_deref() == Some(stored.access_token.as_str()) {
            return None;
        }
        let tok = stored.access_token.clone();
        c.token = Some(stored);
        c.refresh_not_before = None;
        Some(tok)
    }

    /// UPS refused `token` (401/250002/251004): drop it so the next call fetches a new one.
    /// Only the token that failed is dropped, so many concurrent 401s cost one refresh.
    pub(crate) fn invalidate(&self, token: &str) {
        let mut c = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if c.token.as_ref().map(|t| t.access_token.as_str()) == Some(token) {
            c.token = None;
            self.stats.auth_refresh();
        }
        c.rejected = Some(token.to_string());
    }

    fn check_budget(&self) -> Result<(), UpsError> {
        let day = self.clock.today();
        let cred = &self.creds.client_id;
        let used = self.store.token_requests(cred, day);
        let budget = self.settings.budget_per_day;
        if used >= budget {
            tracing::error!(credential = %cred, used, budget, "UPS token budget exhausted");
            return Err(UpsError::TokenBudgetExhausted {
                credential: cred.clone(),
                day,
                used,
                budget,
            });
        }
        let n = self.store.count_token_request(cred, day);
        self.stats.token_request();
        let warn_at = ((budget as f64) * self.settings.warn_ratio).ceil() as u32;
        if n >= warn_at {
            tracing::warn!(credential = %cred, used = n, budget, "UPS token requests above {}% of the daily budget", (self.settings.warn_ratio * 100.0).round());
        }
        Ok(())
    }

    async fn fetch(&self) -> Result<StoredToken, UpsError> {
        // Authorization code: refresh from the stored refresh token, if it still can be.
        let previous = match &self.grant {
            Some(g) => Some(self.usable_grant(g)?),
            None => None,
        };
        let policy = &self.settings.retry;
        let max = policy.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.check_budget()?;
            self.limiters.acquire(Api::Token).await;
            let mut rb = match &previous {
                None => self
                    .http
                    .post(&self.settings.token_url)
                    .basic_auth(&self.creds.client_id, Some(&self.creds.client_secret))
                    .header("x-merchant-id", &self.settings.merchant_id)
                    .form(&[("grant_type", "client_credentials")]),
                Some(p) => self
                    .http
                    .post(
                        self.settings
                            .token_url
                            .replace("/oauth/token", "/oauth/refresh"),
                    )
                    .basic_auth(&self.creds.client_id, Some(&self.creds.client_secret))
                    .form(&[
                        ("grant_type", "refresh_token"),
                        ("refresh_token", p.refresh_token.as_str()),
                    ]),
            };
            if let Some(t) = self.settings.timeout {
                rb = rb.timeout(t);
            }
            let reply = send(rb, Api::Token, &self.stats).await;
            let retryable = match &reply {
                Reply::Http { status, body, .. } => {
                    let v: serde_json::Value =
                        serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
                    match *status {
                        200..=299 if previous.is_some() => {
                            return self.refreshed(&v, *status, previous.as_ref());
                        }
                        s @ 400..=499 if s != 429 && previous.is_some() => {
                            let name = self.grant_name().unwrap_or_default();
                            let f = parse::faults(&v);
                            let (code, message) = f
                                .first()
                                .map(|f| (f.code.clone(), f.message.clone()))
                                .unwrap_or_default();
                            tracing::error!(credential = %name, status = s, code = %code, "UPS refused the refresh token");
                            return Err(UpsError::Auth {
                                api: Api::Token,
                                status: Some(s),
                                code,
                                message: format!(
                                    "UPS refused the refresh token in `{name}` ({}); {}",
                                    if message.is_empty() {
                                        format!("HTTP {s}")
                                    } else {
                                        message
                                    },
                                    super::authcode::fix(name)
                                ),
                            });
                        }
                        200..=299 => {
                            let t = parse::token_response(&v).map_err(|e| UpsError::Protocol {
                                api: Api::Token,
                                status: *status,
                                detail: e.0,
                            })?;
                            tracing::info!(credential = %self.creds.client_id, expires_in = t.expires_in_seconds, "obtained UPS access token");
                            let need = tokens_per_day(t.expires_in_seconds);
                            if need > self.settings.budget_per_day {
                                tracing::warn!(
                                    credential = %self.creds.client_id,
                                    expires_in = t.expires_in_seconds,
                                    tokens_a_day = need,
                                    budget = self.settings.budget_per_day,
                                    "UPS sets a token lifetime that needs more tokens a day than the budget allows; raise ups.token_budget_per_day (UPS allows about 250)"
                                );
                            }
                            return Ok(StoredToken {
                                access_token: t.access_token,
                                obtained_at: self.clock.now(),
                                expires_in_seconds: t.expires_in_seconds,
                            });
                        }
                        429 | 500..=599 => true,
                        s => {
                            let f = parse::faults(&v);
                            let (code, message) = f
                                .first()
                                .map(|f| (f.code.clone(), f.message.clone()))
                                .unwrap_or_default();
                            return Err(UpsError::Auth {
                                api: Api::Token,
                                status: Some(s),
                                code,
                                message: if message.is_empty() {
                                    "the OAuth endpoint refused the client id/secret".into()
                                } else {
                                    message
                                },
                            });
                        }
                    }
                }
                Reply::Failed { .. } => true,
            };
            if retryable && attempt < max {
                let d = policy.delay(attempt, &mut rand::thread_rng());
                self.stats.retry(d);
                tokio::time::sleep(d).await;
                continue;
            }
            return Err(match reply {
                Reply::Http { status: 429, .. } => UpsError::RateLimited {
                    api: Api::Token,
                    attempts: attempt,
                },
                Reply::Http { status, body, .. } => {
                    let v: serde_json::Value =
                        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                    let f = parse::faults(&v);
                    UpsError::Unavailable {
                        api: Api::Token,
                        status: Some(status),
                        code: f.first().map(|f| f.code.clone()),
                        detail: format!("HTTP {status}"),
                        attempts: attempt,
                    }
                }
                Reply::Failed { detail, .. } => UpsError::Unavailable {
                    api: Api::Token,
                    status: None,
                    code: None,
                    detail,
                    attempts: attempt,
                },
            });
        }
    }
}

impl TokenService {
    /// Authorization code: the stored tokens if their refresh token can still be used, else
    /// the error that names the fix (no request is made).
    fn usable_grant(&self, g: &AuthCodeGrant) -> Result<AuthCodeTokens, UpsError> {
        let name = g.store.name();
        let Some(t) = g.store.load() else {
            return Err(UpsError::Auth {
                api: Api::Token,
                status: None,
                code: String::new(),
                message: format!(
                    "`{name}` holds no UPS authorization (no refresh token); run `upsync creds authorize ups {name}`"
                ),
            });
        };
        let now = self.clock.now();
        if t.refresh_expires_at <= now {
            return Err(UpsError::Auth {
                api: Api::Token,
                status: None,
                code: String::new(),
                message: format!(
                    "the UPS authorization in `{name}` expired on {}; {}",
                    t.refresh_expires_at.format("%Y-%m-%d %H:%M UTC"),
                    super::authcode::fix(name)
                ),
            });
        }
        Ok(t)
    }

    /// A refresh answer: store the new tokens (the rotated refresh token first), then hand
    /// out the access token.
    fn refreshed(
        &self,
        v: &serde_json::Value,
        status: u16,
        previous: Option<&AuthCodeTokens>,
    ) -> Result<StoredToken, UpsError> {
        let g = self.grant.as_ref().expect("refresh only with a grant");
        let now = self.clock.now();
        let t = super::authcode::token_answer(v, now, previous).map_err(|detail| {
            UpsError::Protocol {
                api: Api::Token,
                status,
                detail,
            }
        })?;
        // Crash safety: the new refresh token is durable before anything uses the answer;
        // the old one is replaced by the same write. If the write fails the tokens stay in
        // memory and the error is logged (a restart would need a new authorization).
        if let Err(e) = g.store.save(&t) {
            tracing::error!(credential = %g.store.name(), error = %e, "could not store the refreshed UPS tokens; a restart will need `upsync creds authorize` again");
        }
        self.note_grant(g, &t);
        tracing::info!(
            credential = %g.store.name(),
            expires_in = t.access_expires_in_seconds,
            refresh_expires_at = %t.refresh_expires_at.to_rfc3339(),
            refresh_count = t.refresh_count,
            "refreshed UPS access token (authorization code)"
        );
        Ok(StoredToken {
            access_token: t.access_token,
            obtained_at: now,
            expires_in_seconds: t.access_expires_in_seconds,
        })
    }
}

/// The fewest tokens a day a client needs when UPS gives tokens of `expires_in_seconds`
/// (one per lifetime, never assumed 4 h): 4 h → 6, 1 h → 24.
pub fn tokens_per_day(expires_in_seconds: u64) -> u32 {
    86_400u64
        .div_ceil(expires_in_seconds.max(1))
        .min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_is_min_of_5_min_and_10_percent() {
        assert_eq!(
            refresh_margin(Duration::from_secs(14399)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn stored_token_debug_is_redacted() {
        let t = StoredToken {
            access_token: "very-secret-token".into(),
            obtained_at: Utc::now(),
            expires_in_seconds: 60,
        };
        assert!(!format!("{t:?}").contains("very-secret"));
    }

    #[tokio::test(start_paused = true)]
    async fn clock_follows_paused_tokio_time() {
        let c = Clock::starting_at(
            DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
        );
        let d0 = c.today();
        tokio::time::advance(Duration::from_secs(3 * 3600)).await;
        assert_eq!(c.now().to_rfc3339(), "2026-11-22T02:00:00+00:00");
        assert_eq!(c.today(), d0.succ_opt().unwrap());
    }

    #[test]
    fn the_daily_token_minimum_follows_the_lifetime() {
        assert_eq!(tokens_per_day(14_400), 6);
        assert_eq!(tokens_per_day(3_600), 24);
        assert_eq!(tokens_per_day(3_599), 25);
        assert_eq!(tokens_per_day(0), 86_400);
    }

    #[test]
    fn memory_store_counts_per_day() {
        let s = MemoryTokenStore::new();
        let d = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        assert_eq!(s.count_token_request("a", d), 1);
        assert_eq!(s.count_token_request("a", d), 2);
        assert_eq!(s.token_requests("a", d), 2);
        assert_eq!(s.token_requests("b", d), 0);
        assert_eq!(s.token_requests("a", d.succ_opt().unwrap()), 0);
    }
}
