//! HTTP transport of the Acumatica connector: one reqwest client, the sign-in state, the
//! concurrency limit, transparent re-login on 401, backoff on 429 (licence request queue),
//! endpoint-version discovery (`GET /entity`) and error classification.
//!
//! Spec: ERP-NOTES.md §A1–A4, §G. Classification at the edge: 401 (after one re-login) →
//! auth; 403/404/400-on-read → config; 412 and "No entity satisfies the condition" →
//! not found; 422 → rejected with per-field errors; 429, 5xx, transport errors → transient.
//! "The previous operation has not been completed yet" (the session's long-running action
//! still runs, §A4/§G6) is backed off and retried like a 429, then transient — never
//! rejected, whatever its status. The connector holds up to `sessions` sessions
//! ([`Session`]); a long-running action holds its session's `gate` exclusively (the form is
//! busy for that session only, §A4), so with two or more, actions run in sessions 2..
//! while every other request goes to the first free session ([`Lane`]); an action's
//! requests skip the `concurrency` queue (see [`Http::send_as`]). The version
//! check (`GET /entity`) is sent signed in: only then are the tenant's custom endpoints
//! listed (§A1). Never log bodies, cookies or tokens; log status codes and ids.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rand::Rng;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Semaphore};

use super::auth::AuthState;
use super::codec;
use super::profile::{AcumaticaCredentials, AcumaticaProfile};
use crate::sources::SourceError;

/// How the connector waits (backoff, action polling). Tests inject their own. Not a clock:
/// it tells no time (that is [`crate::model::Clock`]); it only waits, and injecting it lets
/// tests skip waits that tokio's paused clock alone would still serialise.
pub type Sleeper = Arc<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>;

/// The default sleeper: `tokio::time::sleep`.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// An answer read to the end.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub location: Option<String>,
    /// The answer's JSON (`Null` when empty or unreadable). A successful answer holding an
    /// array (a list page) is left unparsed here: [`Answer::rows`] reads its rows one by
    /// one, so a page's rows the caller has already seen are never built into `Value`s,
    /// and [`Answer::into_json`] parses it whole.
    pub body: Value,
    raw: Vec<u8>,
}

impl Answer {
    /// Does this answer keep its JSON unparsed (a successful list page)?
    fn defers(status: u16, raw: &[u8]) -> bool {
        (200..300).contains(&status) && raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    }

    /// The whole body as JSON, parsed now if it was left unparsed.
    pub fn into_json(self) -> Value {
        if self.body.is_null() && !self.raw.is_empty() {
            serde_json::from_slice(&self.raw).unwrap_or(Value::Null)
        } else {
            self.body
        }
    }

    /// A list answer's rows, each left as its JSON text; `None` when the body is not an
    /// array.
    pub fn rows(&self) -> Option<Vec<&serde_json::value::RawValue>> {
        serde_json::from_slice(&self.raw).ok()
    }
}

/// One sign-in (cookie session or OAuth token chain) and its form: while a long-running
/// action of the session runs, every other request of that session to the form fails
/// (ERP-NOTES §A4, §G6), so ordinary requests share `gate` and an action holds it alone.
///
/// A session past the first whose sign-in met "API Login Limit" while another session of
/// this connector was signed in is *refused* for [`REFUSED_FOR`]: the licence has no API
/// user left for it (ERP-NOTES §A2), so the connector runs with the sessions it has instead
/// of waiting for a slot that only it could free.
#[derive(Default)]
pub(crate) struct Session {
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) gate: RwLock<()>,
    refused_at: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How long a session the licence had no room for is left out before it is tried again.
pub(crate) const REFUSED_FOR: Duration = Duration::from_secs(300);

impl Session {
    pub(crate) fn refused(&self) -> bool {
        let at = self.refused_at.lock().unwrap_or_else(|e| e.into_inner());
        at.is_some_and(|t| t.elapsed() < REFUSED_FOR)
    }

    pub(crate) fn refuse(&self) {
        *self.refused_at.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(std::time::Instant::now());
    }
}

/// Which session a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// The first session not busy with an action (waits for the first one if all are).
    Shared,
    /// Session `n`, whose gate the caller holds exclusively (an action's POST and polls).
    Held(usize),
}

pub(crate) struct Http {
    pub(crate) name: String,
    pub(crate) client: reqwest::Client,
    /// Instance URL without a trailing slash.
    pub(crate) base: String,
    /// `{base}/entity/{endpoint}/{version}`.
    pub(crate) entity_base: String,
    pub(crate) profile: AcumaticaProfile,
    pub(crate) creds: AcumaticaCredentials,
    /// The profile's `sessions`, signed in when first used.
    pub(crate) sessions: Vec<Session>,
    next_action: std::sync::atomic::AtomicUsize,
    /// Requests sent (the idle-logout watcher compares it, `auth.rs`).
    pub(crate) uses: AtomicU64,
    pub(crate) idle_watch: AtomicBool,
    pub(crate) sleeper: Sleeper,
    permits: Semaphore,
    version_ok: AtomicBool,
    /// The listing's copy of each record for its write-back (`snapshot.rs`).
    pub(crate) snapshots: super::snapshot::Snapshots,
    /// Requests by API and status (`/metrics`).
    pub(crate) requests: crate::sources::RequestStats,
    /// When to poll a confirmation's status (`action.rs`).
    pub(crate) pacer: super::action::Pacer,
}

/// `exceptionMessage` (or `message`) of an `HttpError` body.
pub(crate) fn exception_message(body: &Value) -> Option<String> {
    body.get("exceptionMessage")
        .or_else(|| body.get("message"))
        .and_then(|m| m.as_str())
        .map(str::to_string)
}

/// "The previous operation has not been completed yet.": the session is busy with a
/// long-running action (ERP-NOTES §A4, §G6). Always transient, whatever the status.
pub(crate) fn is_busy(body: &Value) -> bool {
    exception_message(body).is_some_and(|m| {
        m.to_ascii_lowercase()
            .contains("previous operation has not been completed")
    })
}

/// Percent-encode a query value (RFC 3986 unreserved kept, plus `,` `/` `'` for readability;
/// `+`, `:` and spaces are encoded, ERP-NOTES §G3).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b',' | b'/' | b'\'')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encode one path segment.
pub(crate) fn enc_segment(s: &str) -> String {
    enc(s).replace('/', "%2F")
}

impl Http {
    pub(crate) fn new(
        name: &str,
        profile: AcumaticaProfile,
        creds: AcumaticaCredentials,
    ) -> Result<Http, SourceError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(profile.request_timeout_seconds))
            .connect_timeout(Duration::from_secs(profile.connect_timeout_seconds))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("upsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SourceError::Config {
                system: "acumatica".into(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let base = profile.instance_url.trim_end_matches('/').to_string();
        let entity_base = format!(
            "{base}/entity/{}/{}",
            enc_segment(&profile.endpoint),
            enc_segment(&profile.endpoint_version)
        );
        Ok(Http {
            name: name.to_string(),
            client,
            base,
            entity_base,
            permits: Semaphore::new(profile.concurrency.max(1)),
            sessions: (0..profile.sessions.max(1))
                .map(|_| Session::default())
                .collect(),
            next_action: Default::default(),
            uses: AtomicU64::new(0),
            idle_watch: AtomicBool::new(false),
            snapshots: Default::default(),
            profile,
            creds,
            sleeper: tokio_sleeper(),
            version_ok: AtomicBool::new(false),
            requests: Default::default(),
            pacer: Default::default(),
        })
    }

    pub(crate) fn system(&self) -> String {
        format!("Acumatica ({})", self.name)
    }

    pub(crate) fn config(&self, message: &str) -> SourceError {
        SourceError::Config {
            system: self.system(),
            message: message.to_string(),
        }
    }

    pub(crate) fn auth_error(&self, message: &str) -> SourceError {
        SourceError::Auth {
            system: self.system(),
            credentials: self.name.clone(),
            message: message.to_string(),
        }
    }

    pub(crate) fn transport(&self, e: &reqwest::Error) -> SourceError {
        SourceError::Transient {
            system: self.system(),
            message: format!("request failed: {}", e.without_url_ref()),
        }
    }

    /// Exponential backoff with up to 25% jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .profile
            .backoff_initial_ms
            .saturating_mul(1u64 << attempt.min(20))
            .min(self.profile.backoff_max_ms);
        let jitter = rand::thread_rng().gen_range(0..=base / 4);
        Duration::from_millis(base + jitter)
    }

    /// Classify a non-success answer. `what` names the operation for the message.
    pub(crate) fn classify(&self, status: u16, body: &Value, what: &str) -> SourceError {
        let msg = exception_message(body).unwrap_or_default();
        let system = self.system();
        if msg.contains("No entity satisfies the condition") || status == 412 {
            return SourceError::NotFound {
                system,
                record: what.to_string(),
            };
        }
        if is_busy(body) {
            return SourceError::Transient {
                system,
                message: format!(
                    "{what}: the session is busy with a long-running action ({msg}); retried later"
                ),
            };
        }
        if msg.contains("Invalid credentials") {
            return self.auth_error("invalid credentials");
        }
        if msg.contains("Optimization cannot be performed") {
            return self.config(&format!(
                "{what}: the instance cannot optimise this query ({msg}); add $select or reduce $expand in the profile"
            ));
        }
        match status {
            401 => self.auth_error("the instance keeps answering 401 (not logged in) after a fresh sign-in"),
            403 => self.config(&format!(
                "{what}: access denied (403); give the API user rights to the Shipments form (SO302000)"
            )),
            404 => self.config(&format!(
                "{what}: 404 at {}; check instance_url, endpoint and endpoint_version",
                self.entity_base
            )),
            422 => SourceError::Rejected {
                system,
                record: what.to_string(),
                message: body
                    .get("error")
                    .and_then(|e| e.as_str())
                    .unwrap_or("validation failed")
                    .to_string(),
                fields: codec::field_errors(body),
            },
            429 => SourceError::Transient {
                system,
                message: format!("{what}: request declined by the licence limit (429)"),
            },
            400 if what.starts_with("write") => SourceError::Rejected {
                system,
                record: what.to_string(),
                message: if msg.is_empty() { "bad request (400)".into() } else { msg },
                fields: Vec::new(),
            },
            400 => self.config(&format!("{what}: the instance refused the request (400): {msg}")),
            // Business-logic exceptions of the shipment graph ("the shipment is on hold", …)
            // will not go away by retrying a write.
            500 if what.starts_with("write")
                && body
                    .get("exceptionType")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.ends_with("PXException") || t.contains("PXSetPropertyException")) =>
            {
                SourceError::Rejected {
                    system,
                    record: what.to_string(),
                    message: msg,
                    fields: Vec::new(),
                }
            }
            _ => SourceError::Transient {
                system,
                message: format!(
                    "{what}: HTTP {status}{}",
                    if msg.is_empty() { String::new() } else { format!(": {msg}") }
                ),
            },
        }
    }

    /// `GET {instance}/entity`, **signed in**: the configured endpoint version must be
    /// listed. Anonymous, the list holds only the system endpoints; "sending auth adds the
    /// tenant's custom endpoints" (ERP-NOTES §A1), so a tenant's own endpoint is only
    /// visible after sign-in. Checked once per connector unless `force`.
    pub(crate) async fn ensure_version(&self, force: bool) -> Result<(), SourceError> {
        if !force && self.version_ok.load(Ordering::SeqCst) {
            return Ok(());
        }
        let ans = self
            .send_as(
                Method::GET,
                &format!("{}/entity", self.base),
                None,
                false,
                "version",
                Lane::Shared,
            )
            .await?;
        let status = ans.status;
        if status == 404 {
            return Err(self.config(&format!(
                "{}/entity not found (404); is instance_url the instance (e.g. https://host/InstanceName)?",
                self.base
            )));
        }
        if status != 200 {
            return Err(SourceError::Transient {
                system: self.system(),
                message: format!("endpoint list (GET /entity) answered {status}"),
            });
        }
        let body = ans.body;
        let listed: Vec<(String, String)> = body["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some((
                    e["name"].as_str()?.to_string(),
                    e["version"].as_str()?.to_string(),
                ))
            })
            .collect();
        let (ep, ver) = (&self.profile.endpoint, &self.profile.endpoint_version);
        if listed.iter().any(|(n, v)| n == ep && v == ver) {
            self.version_ok.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let available: Vec<String> = listed
            .iter()
            .filter(|(n, _)| n == ep)
            .map(|(_, v)| v.clone())
            .collect();
        let others: Vec<String> = listed
            .iter()
            .filter(|(n, _)| n != ep)
            .map(|(n, v)| format!("{n}/{v}"))
            .collect();
        Err(self.config(&format!(
            "endpoint {ep} version {ver} is not listed for tenant '{}' (GET /entity, signed in as '{}'); available {ep} versions: {}{}; \
             set endpoint/endpoint_version in the profile, or publish the endpoint to this tenant",
            self.profile.tenant,
            self.creds.username,
            if available.is_empty() { "none".to_string() } else { available.join(", ") },
            if others.is_empty() { String::new() } else { format!(" (other endpoints: {})", others.join(", ")) }
        )))
    }

    /// Send an authenticated request: sign in when needed, re-login once on 401, back off
    /// on 429 and on "previous operation not completed". Non-2xx answers come back as `Ok`
    /// for the caller to classify.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        body: Option<Body>,
        if_match: bool,
    ) -> Result<Answer, SourceError> {
        let api = match method {
            Method::GET => "get",
            Method::PUT => "put",
            Method::POST => "post",
            Method::DELETE => "delete",
            _ => "other",
        };
        self.send_as(method, url, body, if_match, api, Lane::Shared)
            .await
    }

    /// A session for an ordinary request: the first whose form is not busy with an action
    /// (its gate shared), else wait for the first one.
    async fn shared_session(&self) -> (usize, RwLockReadGuard<'_, ()>) {
        for (i, s) in self.sessions.iter().enumerate() {
            if s.refused() {
                continue;
            }
            if let Ok(g) = s.gate.try_read() {
                return (i, g);
            }
        }
        (0, self.sessions[0].gate.read().await)
    }

    /// A session for a long-running action, held alone until the guard drops: one of
    /// sessions 2.. when there are several (the first stays free for reads and writes),
    /// a free one if any, else the next in turn.
    /// Refused sessions are left out; with none of sessions 2.. left, the first one.
    pub(crate) async fn action_session(&self) -> (usize, RwLockWriteGuard<'_, ()>) {
        let open: Vec<usize> = (1..self.sessions.len())
            .filter(|i| !self.sessions[*i].refused())
            .collect();
        if open.is_empty() {
            return (0, self.sessions[0].gate.write().await);
        }
        let start = self.next_action.fetch_add(1, Ordering::Relaxed) % open.len();
        for k in 0..open.len() {
            let i = open[(start + k) % open.len()];
            if let Ok(g) = self.sessions[i].gate.try_write() {
                return (i, g);
            }
        }
        let i = open[start];
        (i, self.sessions[i].gate.write().await)
    }

    /// [`Http::send`] with the metrics label `api`, in the session `lane` says.
    pub(crate) async fn send_as(
        &self,
        method: Method,
        url: &str,
        body: Option<Body>,
        if_match: bool,
        api: &'static str,
        lane: Lane,
    ) -> Result<Answer, SourceError> {
        let (mut session, mut _shared) = match lane {
            Lane::Shared => {
                let (i, g) = self.shared_session().await;
                (i, Some(g))
            }
            Lane::Held(i) => (i, None),
        };
        self.uses.fetch_add(1, Ordering::Relaxed);
        // An action's POST and status polls do not queue behind the ordinary requests: its
        // session is held (no other request of it can run, ERP-NOTES §A4) while it waits, so
        // a place in a queue of up to `jobs_in_flight` writes would stretch every confirm and
        // with it the confirmations per second. At most one per held session is in flight
        // (the gate is exclusive), beyond `concurrency`; a licence's concurrent-request limit
        // queues it on the instance rather than refusing it (§A2: declined only past 20 queued).
        let _permit = match lane {
            Lane::Shared => Some(
                self.permits
                    .acquire()
                    .await
                    .map_err(|_| self.config("connector closed"))?,
            ),
            Lane::Held(_) => None,
        };
        let mut relogged = false;
        let mut attempt = 0u32;
        loop {
            let (hname, hval) = match self.auth_header(session).await {
                Ok(h) => h,
                // The licence had no room for this session: another one of ours.
                Err(_) if lane == Lane::Shared && self.sessions[session].refused() => {
                    drop(_shared.take());
                    let (i, g) = self.shared_session().await;
                    (session, _shared) = (i, Some(g));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut req = self
                .client
                .request(method.clone(), url)
                .header(hname, hval.as_str());
            if if_match {
                req = req.header("if-match", "*");
            }
            req = match &body {
                Some(Body::Json(v)) => req.json(v),
                Some(Body::Bytes(b)) => req
                    .header("content-type", "application/octet-stream")
                    .body(b.clone()),
                None => req,
            };
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    self.requests.record(api, 0);
                    return Err(self.transport(&e));
                }
            };
            let status = resp.status().as_u16();
            self.requests.record(api, status);
            let location = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = resp.bytes().await.map_err(|e| self.transport(&e))?;
            // A list page is an array: never a busy or error answer (objects), so its rows
            // wait unparsed for the caller ([`Answer::rows`]).
            let defer = Answer::defers(status, &bytes);
            let body_json: Value = if bytes.is_empty() || defer {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            if status == 401 {
                self.invalidate(session, &hval).await;
                if relogged {
                    return Err(self.auth_error(
                        "the instance answered 401 (not logged in) right after a fresh sign-in",
                    ));
                }
                tracing::info!(connector = %self.name, "acumatica answered 401; signing in again");
                relogged = true;
                continue;
            }
            let busy = is_busy(&body_json);
            if status == 429 || busy {
                if attempt >= self.profile.retry_max_attempts {
                    return Err(SourceError::Transient {
                        system: self.system(),
                        message: if busy {
                            format!("the session's long-running action (e.g. ConfirmShipment) was still running after {attempt} retries (\"previous operation has not been completed\")")
                        } else {
                            format!("still declined by the licence request limit (429) after {attempt} retries")
                        },
                    });
                }
                let d = self.backoff(attempt);
                tracing::info!(connector = %self.name, attempt, status, busy, wait_ms = d.as_millis() as u64, "acumatica declined the request; backing off");
                (self.sleeper)(d).await;
                attempt += 1;
                continue;
            }
            return Ok(Answer {
                status,
                location,
                body: body_json,
                raw: if defer { bytes.into() } else { Vec::new() },
            });
        }
    }

    /// Resolve a `Location` header against the instance.
    pub(crate) fn resolve(&self, location: &str) -> String {
        url::Url::parse(&self.base)
            .and_then(|b| b.join(location))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| location.to_string())
    }
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    Json(Value),
    Bytes(Vec<u8>),
}

trait WithoutUrlRef {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrlRef for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let kind = if self.is_timeout() {
            "timeout"
        } else if self.is_connect() {
            "connection failed"
        } else {
            "transport error"
        };
        format!(
            "{kind} ({})",
            std::error::Error::source(self)
                .map(|s| s.to_string())
                .unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_classified_at_the_edge() {
        let p = AcumaticaProfile::new("http://127.0.0.1:9", "23.200.001", "T");
        let c = AcumaticaCredentials {
            username: "u".into(),
            password: "p".into(),
            client_id: None,
            client_secret: None,
        };
        let h = Http::new("acu", p, c).unwrap();
        let err = |m: &str, t: &str| json!({"message": "An error has occurred.", "exceptionMessage": m, "exceptionType": t});
        let no_entity = err(
            "No entity satisfies the condition.",
            "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
        );
        assert!(matches!(
            h.classify(500, &no_entity, "x"),
            SourceError::NotFound { .. }
        ));
        assert!(matches!(
            h.classify(
                500,
                &err(
                    "Optimization cannot be performed.The following fields cause the error",
                    "X"
                ),
                "list"
            ),
            SourceError::Config { .. }
        ));
        assert!(matches!(
            h.classify(
                500,
                &err("The shipment is on hold.", "PX.Data.PXException"),
                "write-back confirm"
            ),
            SourceError::Rejected { .. }
        ));
        assert!(matches!(
            h.classify(
                500,
                &err("Deadlock", "System.Data.SqlClient.SqlException"),
                "list"
            ),
            SourceError::Transient { .. }
        ));
        assert!(matches!(
            h.classify(
                500,
                &err(
                    "Error: Invalid credentials. Please try again.",
                    "PX.Data.PXException"
                ),
                "sign-in"
            ),
            SourceError::Auth { .. }
        ));
        assert!(matches!(
            h.classify(429, &Value::Null, "list"),
            SourceError::Transient { .. }
        ));
        // Issue 15 item 8: a request refused because the session's long-running action is
        // still running is transient even on a write (a PXException 500 on a write was
        // "rejected", i.e. dead-lettered, before).
        let busy = err(
            "The previous operation has not been completed yet.",
            "PX.Data.PXException",
        );
        for status in [500, 400, 422] {
            assert!(matches!(
                h.classify(status, &busy, "write-back"),
                SourceError::Transient { .. }
            ));
        }
        assert!(matches!(
            h.classify(403, &Value::Null, "list"),
            SourceError::Config { .. }
        ));
        assert!(matches!(
            h.classify(412, &Value::Null, "write-back"),
            SourceError::NotFound { .. }
        ));
        let e = h.classify(
            422,
            &json!({"Packages": [{"id": "p", "TrackingNbr": {"error": "too long"}}]}),
            "write-back",
        );
        let SourceError::Rejected { fields, .. } = e else {
            panic!("{e}")
        };
        assert_eq!(fields[0].field, "Packages[p].TrackingNbr");
    }

    #[test]
    fn query_values_are_encoded_as_acumatica_wants() {
        assert_eq!(
            enc("LastModifiedDateTime ge datetimeoffset'2024-07-15T10:31:28.402+03:00'"),
            "LastModifiedDateTime%20ge%20datetimeoffset'2024-07-15T10%3A31%3A28.402%2B03%3A00'"
        );
        assert_eq!(
            enc("Packages,ShippingSettings/ShipToAddress"),
            "Packages,ShippingSettings/ShipToAddress"
        );
        assert_eq!(enc_segment("000123-1Z.zpl"), "000123-1Z.zpl");
        assert_eq!(enc_segment("a b/c"), "a%20b%2Fc");
    }
}
