//! NetSuite source connector (SuiteTalk REST): SuiteQL polling with keyset paging, and
//! itemFulfillment write-back through the record API.
//!
//! You are here: where NetSuite item fulfillments come in and where 1Z numbers go back.
//! Spec: ERP-NOTES §N and gotchas §G 8–13 (`docs/specs.md`); record shape:
//! `docs/conventions.md` ("NetSuite (codec output)"). Profile: `connectors/netsuite.yaml`.
//!
//! * Read: the profile's header SuiteQL (`POST /services/rest/query/v1/suiteql?limit=N`,
//!   `Prefer: transient`) paged by **keyset** on `(lastmodifieddate, id)` — never by offset,
//!   which stops at 100,000 rows. The [`Cursor`] is `{"ts": "YYYY-MM-DD HH:MM:SS", "id":
//!   "5123", "caught_up": bool}`. Packages/items come from a second query by ids (or the record
//!   API) and are assembled by [`codec`].
//! * Write-back: `PATCH /services/rest/record/v1/itemFulfillment/{id}?replace=<sublist>` with
//!   the **full** package list (the sublist is non-keyed: without `replace` a retry appends
//!   duplicate lines), `custbody_*` fields, optional `shipStatus`. The sublist is the one the
//!   record carries — `package`, `packageUps`, `packageFedex` or `packageUsps`, spelt with
//!   its suffix (`packageTrackingNumberUps`) — and lines are matched by their position in
//!   it, which is how both detail modes number them when reading.
//! * Errors: `o:errorDetails` surfaced with `o:errorCode` and `o:errorPath`; 429 /
//!   `CONCURRENCY_LIMIT_EXCEEDED` backed off and retried (counted in [`NetSuiteStats`] and
//!   logged); a 401 is retried once (fresh token; under TBA it can be the concurrency
//!   variant) before it is an auth error. At most `concurrency_limit` requests in flight.
//!
//! Never: log tokens, secrets, assertions, full addresses; page by offset; PATCH packages
//! without `replace=package`; know anything about UPS.

pub mod auth;
pub mod codec;
pub mod config;
mod fresh;
pub mod profile;
mod writeback;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDateTime, TimeZone, Utc};
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;

use crate::model::{ErpRecord, WriteBack};
use crate::sources::{Cursor, FieldError, Page, ReadyCounts, RecordRef, Source, SourceError};

pub use auth::{AssertionSigner, NetSuiteCredentials};
pub use profile::{AuthMode, DetailSource, NetSuiteProfile, ProfileError, ProfileProblem};

const SYSTEM: &str = "NetSuite";
const TS_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Counters of one connector instance (cumulative).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NetSuiteStats {
    /// HTTP requests sent to the REST API (token requests excluded).
    pub requests: u64,
    /// Answers that were 429 / `CONCURRENCY_LIMIT_EXCEEDED` (each backed off and retried).
    pub concurrency_rejections: u64,
    /// Retries of any cause (concurrency, 5xx, network, 401).
    pub retries: u64,
    /// 401s retried once with a fresh token / after a pause.
    pub auth_retries: u64,
    /// Access tokens requested (M2M).
    pub token_requests: u64,
    /// Requests given up after `retry.max_attempts`.
    pub gave_up: u64,
    /// Label files in write-back plans that were not uploaded (no File Cabinet support).
    pub files_skipped: u64,
    /// Write-backs whose package lines came from the copy read at ingest (record unchanged
    /// since: no GET).
    pub lines_from_copy: u64,
    /// Write-backs that read the record (GET) for its package lines.
    pub lines_from_get: u64,
    /// SuiteQL version checks sent (each answers the write-backs of one batch).
    pub version_checks: u64,
}

#[derive(Debug, Default)]
struct Counters {
    /// Requests by API (op) and status, token requests included (`/metrics`).
    by_api: crate::sources::RequestStats,
    requests: AtomicU64,
    concurrency_rejections: AtomicU64,
    retries: AtomicU64,
    auth_retries: AtomicU64,
    gave_up: AtomicU64,
    files_skipped: AtomicU64,
    lines_from_copy: AtomicU64,
    lines_from_get: AtomicU64,
    version_checks: AtomicU64,
}

/// One entry of NetSuite's `o:errorDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NsErrorDetail {
    #[serde(default)]
    pub detail: String,
    #[serde(default, rename = "o:errorCode")]
    pub code: String,
    #[serde(default, rename = "o:errorPath")]
    pub path: Option<String>,
    #[serde(default, rename = "o:errorQueryParam")]
    pub query_param: Option<String>,
    #[serde(default, rename = "o:errorHeader")]
    pub header: Option<String>,
}

#[derive(Deserialize)]
struct NsError {
    #[serde(default, rename = "o:errorDetails")]
    details: Vec<NsErrorDetail>,
}

/// Parse an `nsError` body (empty when it is not one).
pub fn ns_error_details(body: &[u8]) -> Vec<NsErrorDetail> {
    serde_json::from_slice::<NsError>(body)
        .map(|e| e.details)
        .unwrap_or_default()
}

fn describe(details: &[NsErrorDetail]) -> String {
    if details.is_empty() {
        return "no error details".into();
    }
    details
        .iter()
        .map(|d| {
            let mut s = format!("{}: {}", d.code, d.detail);
            if let Some(p) = &d.path {
                s.push_str(&format!(" (path {p})"));
            }
            if let Some(q) = &d.query_param {
                s.push_str(&format!(" (query parameter {q})"));
            }
            if let Some(h) = &d.header {
                s.push_str(&format!(" (header {h})"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

const CONCURRENCY_CODES: &[&str] = &[
    "CONCURRENCY_LIMIT_EXCEEDED",
    "SSS_REQUEST_LIMIT_EXCEEDED",
    "WS_REQUEST_BLOCKED",
];

struct Reply {
    status: StatusCode,
    body: Vec<u8>,
}

enum Auth {
    M2m(Box<auth::TokenCache>),
    Tba {
        consumer_key: String,
        consumer_secret: String,
        token_id: String,
        token_secret: String,
    },
}

/// Keyset position stored in the [`Cursor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KeysetPos {
    ts: String,
    id: String,
    #[serde(default)]
    caught_up: bool,
}

struct SuiteQlPage {
    items: Vec<Map<String, Value>>,
    has_more: bool,
    /// The envelope's `totalResults` (every row of the query, not just this page).
    total: Option<u64>,
}

/// The NetSuite connector.
pub struct NetSuiteSource {
    name: String,
    profile: NetSuiteProfile,
    base: String,
    http: reqwest::Client,
    auth: Auth,
    limit: Semaphore,
    counters: Counters,
    /// Write-back's shared version checks (`fresh.rs`).
    fresh: fresh::Coalescer,
}

impl std::fmt::Debug for NetSuiteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetSuiteSource")
            .field("name", &self.name)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn config(message: impl Into<String>) -> SourceError {
    SourceError::Config {
        system: SYSTEM.into(),
        message: message.into(),
    }
}

fn transient(message: impl Into<String>) -> SourceError {
    SourceError::Transient {
        system: SYSTEM.into(),
        message: message.into(),
    }
}

fn is_internal_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

impl NetSuiteSource {
    /// Build a connector. `name` is the connector name from config (also the credentials
    /// name in errors); the profile must be valid (see [`NetSuiteProfile::load`]); the
    /// credentials must match `profile.auth`.
    pub fn new(
        name: impl Into<String>,
        profile: NetSuiteProfile,
        credentials: NetSuiteCredentials,
    ) -> Result<NetSuiteSource, SourceError> {
        let name = name.into();
        let problems = profile.validate();
        if !problems.is_empty() {
            return Err(config(format!(
                "profile invalid: {}",
                problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let auth = match (profile.auth, credentials) {
            (
                AuthMode::M2m,
                NetSuiteCredentials::M2m {
                    client_id,
                    certificate_id,
                    private_key_pem,
                },
            ) => Auth::M2m(Box::new(auth::TokenCache::new(AssertionSigner::new(
                &client_id,
                &certificate_id,
                &private_key_pem,
                &profile.token_url(),
            )?))),
            (
                AuthMode::Tba,
                NetSuiteCredentials::Tba {
                    consumer_key,
                    consumer_secret,
                    token_id,
                    token_secret,
                },
            ) => Auth::Tba {
                consumer_key,
                consumer_secret,
                token_id,
                token_secret,
            },
            (mode, _) => {
                return Err(config(format!(
                    "profile auth is {mode:?} but the credentials '{name}' are of the other kind; store matching credentials with `upsync creds set {name}`"
                )))
            }
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(profile.request_timeout_seconds))
            .user_agent(concat!("upsync/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| config(format!("cannot build the HTTP client: {e}")))?;
        let profile_window = profile.write_back.check_window_ms;
        Ok(NetSuiteSource {
            base: profile.rest_base(),
            limit: Semaphore::new(profile.concurrency_limit),
            name,
            profile,
            http,
            auth,
            counters: Counters::default(),
            fresh: fresh::Coalescer::new(Duration::from_millis(profile_window), 1000),
        })
    }

    /// The profile in use.
    pub fn profile(&self) -> &NetSuiteProfile {
        &self.profile
    }

    /// Counters so far.
    pub fn stats(&self) -> NetSuiteStats {
        let c = &self.counters;
        NetSuiteStats {
            requests: c.requests.load(Ordering::Relaxed),
            concurrency_rejections: c.concurrency_rejections.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            auth_retries: c.auth_retries.load(Ordering::Relaxed),
            token_requests: match &self.auth {
                Auth::M2m(t) => t.requests.load(Ordering::Relaxed),
                Auth::Tba { .. } => 0,
            },
            gave_up: c.gave_up.load(Ordering::Relaxed),
            files_skipped: c.files_skipped.load(Ordering::Relaxed),
            lines_from_copy: c.lines_from_copy.load(Ordering::Relaxed),
            lines_from_get: c.lines_from_get.load(Ordering::Relaxed),
            version_checks: c.version_checks.load(Ordering::Relaxed),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let r = &self.profile.retry;
        let exp = r
            .initial_backoff_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
            .min(r.max_backoff_ms);
        let jitter = rand::thread_rng().gen_range(0.5..=1.0);
        Duration::from_millis((exp as f64 * jitter) as u64)
    }

    /// Send one request with concurrency limit, auth, and retries of transient answers.
    /// Non-retryable non-2xx answers are returned for the caller to classify.
    async fn send(
        &self,
        op: &'static str,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Result<Reply, SourceError> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| config(format!("bad NetSuite URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter());
        }
        let mut unsigned = url.clone();
        unsigned.set_query(None);
        let max = self.profile.retry.max_attempts.max(1);
        let mut auth_retried = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last: String;
            {
                let _permit = self
                    .limit
                    .acquire()
                    .await
                    .map_err(|_| transient("connector is shutting down"))?;
                let mut req = self.http.request(method.clone(), url.clone());
                if op.starts_with("suiteql") {
                    req = req.header("Prefer", "transient");
                }
                let mut bearer: Option<Arc<str>> = None;
                match &self.auth {
                    Auth::M2m(cache) => match cache.bearer(&self.http, &self.name).await {
                        Ok(t) => {
                            req = req.bearer_auth(&*t);
                            bearer = Some(t);
                        }
                        Err(SourceError::Transient { message, .. }) if attempt < max => {
                            drop(_permit);
                            self.counters.retries.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(connector = %self.name, op, attempt, reason = %message, "NetSuite token request failed; retrying");
                            tokio::time::sleep(self.backoff(attempt)).await;
                            continue;
                        }
                        Err(e) => return Err(e),
                    },
                    Auth::Tba {
                        consumer_key,
                        consumer_secret,
                        token_id,
                        token_secret,
                    } => {
                        let h = auth::tba_authorization(
                            &self.profile.account_id,
                            consumer_key,
                            consumer_secret,
                            token_id,
                            token_secret,
                            method.as_str(),
                            unsigned.as_str(),
                            query,
                            Utc::now().timestamp(),
                            &auth::nonce(),
                        );
                        req = req.header("Authorization", h);
                    }
                }
                if let Some(b) = body {
                    req = req.json(b);
                }
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
                match req.send().await {
                    Err(e) => {
                        self.counters.by_api.record(op, 0);
                        last = auth::without_url(&e)
                    }
                    Ok(resp) => {
                        let status = resp.status();
                        self.counters.by_api.record(op, status.as_u16());
                        match resp.bytes().await {
                            Err(e) => last = auth::without_url(&e),
                            Ok(bytes) => {
                                if status.is_success() {
                                    return Ok(Reply {
                                        status,
                                        body: bytes.to_vec(),
                                    });
                                }
                                let details = ns_error_details(&bytes);
                                let concurrency = status == StatusCode::TOO_MANY_REQUESTS
                                    || details
                                        .iter()
                                        .any(|d| CONCURRENCY_CODES.contains(&d.code.as_str()));
                                if concurrency {
                                    self.counters
                                        .concurrency_rejections
                                        .fetch_add(1, Ordering::Relaxed);
                                    tracing::warn!(
                                        connector = %self.name, op, attempt, status = status.as_u16(),
                                        code = details.first().map(|d| d.code.as_str()).unwrap_or(""),
                                        "NetSuite concurrency limit exceeded; backing off and retrying"
                                    );
                                    last = format!("{status}: {}", describe(&details));
                                } else if status == StatusCode::UNAUTHORIZED {
                                    if auth_retried {
                                        return Err(SourceError::Auth {
                                            system: SYSTEM.into(),
                                            credentials: self.name.clone(),
                                            message: format!(
                                                "401 twice in a row ({})",
                                                describe(&details)
                                            ),
                                        });
                                    }
                                    auth_retried = true;
                                    self.counters.auth_retries.fetch_add(1, Ordering::Relaxed);
                                    if let (Auth::M2m(cache), Some(t)) = (&self.auth, &bearer) {
                                        cache.invalidate(t).await;
                                    }
                                    tracing::warn!(connector = %self.name, op, attempt, "NetSuite answered 401; retrying once (expired token, or over-concurrency shown as INVALID_LOGIN)");
                                    last = format!("{status}: {}", describe(&details));
                                } else if status.is_server_error() {
                                    last = format!("{status}: {}", describe(&details));
                                } else {
                                    return Ok(Reply {
                                        status,
                                        body: bytes.to_vec(),
                                    });
                                }
                            }
                        }
                    }
                }
            }
            if attempt >= max {
                self.counters.gave_up.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(connector = %self.name, op, attempts = attempt, "NetSuite request given up");
                return Err(transient(format!(
                    "{op} failed after {attempt} attempts: {last}"
                )));
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    /// Classify a non-2xx reply that `send` handed back.
    fn refusal(&self, op: &str, record: Option<&str>, reply: &Reply) -> SourceError {
        let details = ns_error_details(&reply.body);
        let text = describe(&details);
        match (reply.status.as_u16(), record) {
            (404, Some(r)) => SourceError::NotFound {
                system: SYSTEM.into(),
                record: r.to_string(),
            },
            (400, Some(r)) if op == "record_patch" => SourceError::Rejected {
                system: SYSTEM.into(),
                record: r.to_string(),
                message: text,
                fields: details
                    .iter()
                    .map(|d| FieldError {
                        field: d.path.clone().unwrap_or_else(|| d.code.clone()),
                        message: format!("{}: {}", d.code, d.detail),
                    })
                    .collect(),
            },
            (400 | 403 | 404 | 405, _) => config(format!(
                "{op} refused ({}): {text}; check the connector profile and the role's permissions",
                reply.status
            )),
            _ => transient(format!("{op} answered {}: {text}", reply.status)),
        }
    }

    async fn suiteql(
        &self,
        q: &str,
        limit: u32,
        offset: usize,
    ) -> Result<SuiteQlPage, SourceError> {
        self.suiteql_as("suiteql", q, limit, offset).await
    }

    /// A SuiteQL request counted under `op` (`suiteql`, `suiteql_version`).
    async fn suiteql_as(
        &self,
        op: &'static str,
        q: &str,
        limit: u32,
        offset: usize,
    ) -> Result<SuiteQlPage, SourceError> {
        let query = vec![
            ("limit".to_string(), limit.to_string()),
            ("offset".to_string(), offset.to_string()),
        ];
        let body = serde_json::json!({ "q": q });
        let reply = self
            .send(
                op,
                Method::POST,
                "/services/rest/query/v1/suiteql",
                &query,
                Some(&body),
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.refusal(op, None, &reply));
        }
        let v: Value = serde_json::from_slice(&reply.body)
            .map_err(|_| transient("SuiteQL answer is not JSON"))?;
        let items = v
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| transient("SuiteQL answer has no items"))?
            .iter()
            .filter_map(|r| r.as_object().cloned())
            .collect();
        Ok(SuiteQlPage {
            items,
            has_more: v.get("hasMore").and_then(Value::as_bool).unwrap_or(false),
            total: v.get("totalResults").and_then(Value::as_u64),
        })
    }

    /// All rows of a small query (detail queries), offset-paged.
    async fn suiteql_all(&self, q: &str) -> Result<Vec<Map<String, Value>>, SourceError> {
        let mut out = Vec::new();
        loop {
            let page = self.suiteql(q, 1000, out.len()).await?;
            let n = page.items.len();
            out.extend(page.items);
            if !page.has_more || n == 0 {
                return Ok(out);
            }
        }
    }

    async fn get_record(&self, id: &str) -> Result<Value, SourceError> {
        let reply = self
            .send(
                "record_get",
                Method::GET,
                &format!("/services/rest/record/v1/{}/{id}", self.profile.record_type),
                &[("expandSubResources".to_string(), "true".to_string())],
                None,
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.refusal("record_get", Some(id), &reply));
        }
        serde_json::from_slice(&reply.body).map_err(|_| transient("record answer is not JSON"))
    }

    /// Packages and items per fulfillment id.
    async fn details(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, (Vec<Value>, Vec<Value>)>, SourceError> {
        let mut out: HashMap<String, (Vec<Value>, Vec<Value>)> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        match &self.profile.detail {
            DetailSource::Suiteql {
                batch_size,
                packages_query,
                items_query,
            } => {
                let jobs = ids.chunks((*batch_size).max(1)).map(|chunk| async move {
                    let list = chunk.join(", ");
                    let pq = packages_query.replace("{ids}", &list);
                    let iq = items_query.replace("{ids}", &list);
                    futures::try_join!(self.suiteql_all(&pq), self.suiteql_all(&iq))
                });
                for (p, i) in futures::future::try_join_all(jobs).await? {
                    for (id, rows) in codec::group_by_transaction(p, codec::PACKAGE_KEYS) {
                        out.entry(id).or_default().0 = rows;
                    }
                    for (id, rows) in codec::group_by_transaction(i, codec::ITEM_KEYS) {
                        out.entry(id).or_default().1 = rows;
                    }
                }
            }
            DetailSource::RecordApi => {
                let recs = futures::future::try_join_all(ids.iter().map(|id| async move {
                    let rec = self.get_record(id).await?;
                    Ok::<_, SourceError>((id.clone(), codec::details_from_record(&rec)))
                }))
                .await?;
                out.extend(recs);
            }
        }
        Ok(out)
    }

    fn header_identity(
        &self,
        row: &Map<String, Value>,
    ) -> Result<(String, String, NaiveDateTime), SourceError> {
        let id = row.get("id").and_then(Value::as_str).unwrap_or("");
        let ts = row
            .get("lastmodifieddate")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !is_internal_id(id) {
            return Err(config(
                "the header query must return the internal id as `id` (t.id)",
            ));
        }
        let parsed = NaiveDateTime::parse_from_str(ts, TS_FORMAT).map_err(|_| {
            config(format!(
                "the header query must return lastmodifieddate as TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'); got '{ts}' for id {id}"
            ))
        })?;
        Ok((id.to_string(), ts.to_string(), parsed))
    }

    async fn records(&self, rows: &[Map<String, Value>]) -> Result<Vec<ErpRecord>, SourceError> {
        let mut idents = Vec::with_capacity(rows.len());
        for r in rows {
            idents.push(self.header_identity(r)?);
        }
        let ids: Vec<String> = idents.iter().map(|(id, _, _)| id.clone()).collect();
        let mut details = self.details(&ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, (id, ts, modified)) in rows.iter().zip(idents) {
            let (packages, items) = details.remove(&id).unwrap_or_default();
            let data = codec::assemble(row, packages, items);
            out.push(ErpRecord {
                source: self.name.clone(),
                number: data["tranid"].as_str().unwrap_or("").to_string(),
                id,
                version: ts,
                modified: Utc.from_utc_datetime(&modified),
                data,
            });
        }
        Ok(out)
    }

    fn keyset_condition(&self, pos: Option<&KeysetPos>) -> Result<String, SourceError> {
        let ts_col = &self.profile.keyset.timestamp_column;
        let id_col = &self.profile.keyset.id_column;
        let Some(p) = pos else {
            return Ok("1 = 1".to_string());
        };
        let ts = NaiveDateTime::parse_from_str(&p.ts, TS_FORMAT).map_err(|_| {
            config(format!(
                "stored cursor timestamp '{}' is not YYYY-MM-DD HH:MM:SS",
                p.ts
            ))
        })?;
        if !is_internal_id(&p.id) {
            return Err(config(format!(
                "stored cursor id '{}' is not an internal id",
                p.id
            )));
        }
        let lit = |t: NaiveDateTime| {
            format!(
                "TO_TIMESTAMP('{}', 'YYYY-MM-DD HH24:MI:SS')",
                t.format(TS_FORMAT)
            )
        };
        if p.caught_up && self.profile.overlap_seconds > 0 {
            let from = ts - chrono::Duration::seconds(self.profile.overlap_seconds as i64);
            return Ok(format!("{ts_col} >= {}", lit(from)));
        }
        Ok(format!(
            "({ts_col} > {l} OR ({ts_col} = {l} AND {id_col} > {id}))",
            l = lit(ts),
            id = p.id
        ))
    }
}

#[async_trait]
impl Source for NetSuiteSource {
    fn request_stats(&self) -> Vec<(&'static str, u16, u64)> {
        let mut rows = self.counters.by_api.snapshot();
        if let Auth::M2m(t) = &self.auth {
            rows.extend(t.statuses.snapshot());
        }
        rows
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn ping(&self) -> Result<(), SourceError> {
        self.suiteql("SELECT t.id FROM transaction t WHERE t.id = 0", 1, 0)
            .await
            .map(|_| ())
    }

    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        let pos: Option<KeysetPos> = match &cursor.0 {
            Value::Null => None,
            v => Some(serde_json::from_value(v.clone()).map_err(|_| {
                config(
                    "stored cursor is not a NetSuite keyset cursor; reset the connector's cursor",
                )
            })?),
        };
        let cond = self.keyset_condition(pos.as_ref())?;
        let q = self.profile.header_sql(&cond, true);
        let page = self.suiteql(&q, self.profile.page_size, 0).await?;
        let records = self.records(&page.items).await?;
        let next = match records.last() {
            Some(r) => Some(KeysetPos {
                ts: r.version.clone(),
                id: r.id.clone(),
                caught_up: !page.has_more,
            }),
            None => pos.map(|p| KeysetPos {
                caught_up: true,
                ..p
            }),
        };
        tracing::debug!(connector = %self.name, records = records.len(), more = page.has_more, "NetSuite page read");
        Ok(Page {
            records,
            cursor: Cursor(next.map(|p| serde_json::json!(p)).unwrap_or(Value::Null)),
            more: page.has_more,
        })
    }

    async fn fetch(&self, record_id: &str) -> Result<Option<ErpRecord>, SourceError> {
        if !is_internal_id(record_id) {
            return Err(SourceError::NotFound {
                system: SYSTEM.into(),
                record: record_id.to_string(),
            });
        }
        let q = self.profile.fetch_query.replace("{id}", record_id);
        let page = self.suiteql(&q, 10, 0).await?;
        if page.items.is_empty() {
            return Ok(None);
        }
        Ok(self.records(&page.items[..1]).await?.pop())
    }

    /// Ready records with and without the `ship_methods` filter: the header query with
    /// `{keyset}` = `1 = 1` and `limit=1`, counted by the envelope's `totalResults` (§N3),
    /// so two SuiteQL requests; a third (100 rows) names the ship methods the ready records
    /// use when none pass.
    async fn ready_counts(&self) -> Result<Option<ReadyCounts>, SourceError> {
        let count = |q: String| async move {
            let page = self.suiteql(&q, 1, 0).await?;
            Ok::<u64, SourceError>(page.total.unwrap_or(page.items.len() as u64))
        };
        let passing = count(self.profile.header_sql("1 = 1", true)).await?;
        let Some(f) = &self.profile.ship_methods else {
            return Ok(Some(ReadyCounts {
                ready: None,
                passing,
                filter: "the header query's own filters".into(),
                others: Vec::new(),
            }));
        };
        let ready = count(self.profile.header_sql("1 = 1", false)).await?;
        let mut others = Vec::new();
        if passing == 0 && ready > 0 {
            let page = self
                .suiteql(&self.profile.header_sql("1 = 1", false), 100, 0)
                .await?;
            for row in &page.items {
                let m = row.get("shipmethod").and_then(Value::as_str).unwrap_or("");
                if !m.is_empty() && !others.iter().any(|o| o == m) && others.len() < 8 {
                    others.push(m.to_string());
                }
            }
        }
        Ok(Some(ReadyCounts {
            ready: Some(ready),
            passing,
            filter: format!("ship method in [{}]", f.names.join(", ")),
            others,
        }))
    }

    /// Deleted fulfillments (how NetSuite cancels one, §N4): one SuiteQL query per 1,000
    /// ids (`t.id IN (…)`, ids only), so checking 10,000 shipped records costs 10 requests.
    async fn missing(&self, records: &[RecordRef]) -> Result<Vec<String>, SourceError> {
        let mut gone: Vec<String> = records
            .iter()
            .filter(|r| !is_internal_id(&r.id))
            .map(|r| r.id.clone())
            .collect();
        let valid: Vec<&String> = records
            .iter()
            .map(|r| &r.id)
            .filter(|id| is_internal_id(id))
            .collect();
        for chunk in valid.chunks(1000) {
            let list = chunk
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let q = format!(
                "SELECT t.id FROM transaction t WHERE t.type = '{}' AND t.id IN ({list})",
                self.profile.transaction_type.replace('\'', "")
            );
            let page = self.suiteql(&q, 1000, 0).await?;
            let present: std::collections::HashSet<String> = page
                .items
                .iter()
                .filter_map(|r| match r.get("id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(Value::Number(n)) => Some(codec::num_text(n)),
                    _ => None,
                })
                .collect();
            gone.extend(
                chunk
                    .iter()
                    .filter(|id| !present.contains(id.as_str()))
                    .map(|s| (*s).clone()),
            );
        }
        Ok(gone)
    }

    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError> {
        self.write_back_plan(plan, None).await
    }

    /// The package lines read at ingest serve when the record has not changed since
    /// (`writeback.rs`): no GET before the PATCH.
    async fn write_back_from(&self, plan: &WriteBack, read: &ErpRecord) -> Result<(), SourceError> {
        self.write_back_plan(plan, Some(read)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> NetSuiteProfile {
        NetSuiteProfile::from_yaml(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/connectors/netsuite.yaml"
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn tba() -> NetSuiteCredentials {
        NetSuiteCredentials::Tba {
            consumer_key: "a".into(),
            consumer_secret: "b".into(),
            token_id: "c".into(),
            token_secret: "d".into(),
        }
    }

    #[test]
    fn keyset_conditions() {
        let mut p = profile();
        p.auth = AuthMode::Tba;
        let s = NetSuiteSource::new("ns", p, tba()).unwrap();
        assert_eq!(s.keyset_condition(None).unwrap(), "1 = 1");
        let pos = KeysetPos {
            ts: "2026-11-21 10:15:03".into(),
            id: "5123".into(),
            caught_up: false,
        };
        assert_eq!(
            s.keyset_condition(Some(&pos)).unwrap(),
            "(t.lastmodifieddate > TO_TIMESTAMP('2026-11-21 10:15:03', 'YYYY-MM-DD HH24:MI:SS') OR (t.lastmodifieddate = TO_TIMESTAMP('2026-11-21 10:15:03', 'YYYY-MM-DD HH24:MI:SS') AND t.id > 5123))"
        );
        let caught = KeysetPos {
            caught_up: true,
            ..pos.clone()
        };
        assert_eq!(
            s.keyset_condition(Some(&caught)).unwrap(),
            "t.lastmodifieddate >= TO_TIMESTAMP('2026-11-21 10:13:03', 'YYYY-MM-DD HH24:MI:SS')"
        );
        let evil = KeysetPos {
            id: "1 OR 1=1".into(),
            ..pos
        };
        assert!(s.keyset_condition(Some(&evil)).is_err());
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut p = profile();
        p.auth = AuthMode::Tba;
        p.retry = profile::RetryPolicy {
            max_attempts: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 1000,
        };
        let s = NetSuiteSource::new("ns", p, tba()).unwrap();
        for _ in 0..50 {
            let b1 = s.backoff(1).as_millis();
            assert!((50..=100).contains(&b1), "{b1}");
            let b3 = s.backoff(3).as_millis();
            assert!((200..=400).contains(&b3), "{b3}");
            let b30 = s.backoff(30).as_millis();
            assert!((500..=1000).contains(&b30), "{b30}");
        }
    }

    #[test]
    fn credentials_must_match_the_auth_mode() {
        let e = NetSuiteSource::new("ns", profile(), tba()).unwrap_err();
        assert!(matches!(e, SourceError::Config { .. }));
        assert!(e.to_string().contains("upsync creds set ns"));
    }

    #[test]
    fn ns_errors_are_described_with_code_and_path() {
        let body = br#"{"type":"x","title":"Bad Request","status":400,"o:errorDetails":[{"detail":"Invalid Field Value","o:errorCode":"INVALID_CONTENT","o:errorPath":"item.items[0].item"}]}"#;
        let d = ns_error_details(body);
        assert_eq!(d[0].code, "INVALID_CONTENT");
        assert_eq!(
            describe(&d),
            "INVALID_CONTENT: Invalid Field Value (path item.items[0].item)"
        );
        assert!(ns_error_details(b"<html>").is_empty());
    }
}
