//! NetSuite simulator: SuiteTalk REST with OAuth 2.0 M2M and TBA, a SuiteQL subset and the
//! `itemFulfillment` record API, on loopback (`upsync sim netsuite`, or in-process via
//! [`spawn`]).
//!
//! Implements `../shared/specs/ERP-NOTES.md` §N and the NetSuite gotchas of §G:
//! * `POST /services/rest/auth/oauth2/v1/token` — client credentials with a JWT client
//!   assertion **verified** against the registered public key (PS256/ES256; RS256, tampered,
//!   expired, `exp − iat ≥ 3600`, wrong `aud`, unknown `kid` are refused); opaque bearer
//!   tokens valid for `token_ttl_seconds` (1 h). OAuth 1.0a TBA (HMAC-SHA256, realm = account
//!   id, nonce replay and timestamp window) is accepted on the API routes as well.
//! * `POST /services/rest/query/v1/suiteql?limit=&offset=` — see [`suiteql`] (parser) and
//!   `query.rs` (tables, planner); real envelope, 100,000-row offset cap, `Prefer: transient`.
//! * `GET|PATCH|DELETE /services/rest/record/v1/itemFulfillment/{id}` — `expandSubResources`,
//!   `replace=package` replaces the non-keyed `package` sublist, **without it lines are
//!   appended** (the duplicate-package trap); 204 + `Location`; `nsError` bodies.
//! * Account concurrency limit: over it, 429 `CONCURRENCY_LIMIT_EXCEEDED`
//!   (`concurrency.rejected`, `concurrency.max_seen` in `/_sim/stats`).
//! * `/_sim/netsuite/fulfillments` (GET dump, POST add/modify) plus the common `/_sim/…`.
//!
//! * Package sublists per ship method (`package`, `packageUps`, `packageFedex`,
//!   `packageUsps`, §N4; see [`store::PackageSublist`]); `expires_in` as a string or a
//!   number (§N2 open point); cancellation = deletion (no cancelled status exists).
//!
//! Fault operations: `token`, `suiteql`, `record_get`, `record_patch`, `record_delete`; extra kinds
//! `concurrency-401` (401 INVALID_LOGIN as over-concurrency shows up under TBA) and
//! `token-expired` (401 invalid_token).
//!
//! Must never import the connector (`crate::sources`): it would then share its mistakes.

// Handlers build their error answers early and return them as `Err(Response)`.
#![allow(clippy::result_large_err)]

pub mod auth;
mod query;
pub mod store;
pub mod suiteql;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, Query as AxQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::common::faults::broken_response;
use crate::common::record::record_requests;
use crate::common::{admin_router, FaultKind, Faults, Recorder, SimCore};

pub use auth::{M2mRegistration, PublicKey, TbaRegistration};
pub use store::{Fulfillment, PackageLine, PackageSublist, SeedSpec, Store, UpsSublist};

/// Demo account id (a sandbox id, so realm `1234567_SB1` vs host `1234567-sb1` matters).
pub const DEMO_ACCOUNT_ID: &str = "1234567_SB1";
/// Demo M2M registration used when no `--m2m` is given: client id …
pub const DEMO_CLIENT_ID: &str = "demo-client-id";
/// … certificate id (`kid`) …
pub const DEMO_CERTIFICATE_ID: &str = "demo-certificate-id";
/// … and its ES256 (P-256) key pair. **DEMO ONLY — published in the source, never use it for
/// a real account.** The private half is here so `upsync demo` can sign assertions.
pub const DEMO_M2M_PRIVATE_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg55Z60CONP3dRipjE
QedPEhaQNt/QjarQTDdS6uxj8x2hRANCAAQAbJaJvrnyxDjEpVPCRQrS7siI2hS6
zMOWfmXxazTO76V3orYWqZl6plW95BfuAZ9eXHSDNOlg6PdJlc3gjFNz
-----END PRIVATE KEY-----
";
/// Public half of [`DEMO_M2M_PRIVATE_KEY_PEM`] (DEMO ONLY).
pub const DEMO_M2M_PUBLIC_KEY_PEM: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAGyWib658sQ4xKVTwkUK0u7IiNoU
uszDln5l8Ws0zu+ld6K2FqmZeqZVveQX7gGfXlx0gzTpYOj3SZXN4IxTcw==
-----END PUBLIC KEY-----
";
/// Demo TBA registration used when no `--tba` is given (DEMO ONLY):
/// `CONSUMER_KEY:CONSUMER_SECRET:TOKEN_ID:TOKEN_SECRET`.
pub const DEMO_TBA: &str = "demo-consumer-key:demo-consumer-secret:demo-token-id:demo-token-secret";

/// SuiteQL's result cap without SuiteAnalytics Connect.
pub const SUITEQL_MAX_RESULTS: usize = 100_000;

/// Everything the CLI flags set. `Default` = the demo setup.
#[derive(Debug, Clone)]
pub struct NetSuiteSimConfig {
    pub listen: SocketAddr,
    /// Account id (realm for TBA). Default [`DEMO_ACCOUNT_ID`].
    pub account_id: String,
    /// Shippable records to seed, their seed value, and records that must fail.
    pub seed: usize,
    pub seed_value: u64,
    pub seed_bad: usize,
    pub record_dir: Option<PathBuf>,
    /// Fault spec (ops `token`, `suiteql`, `record_get`, `record_patch`).
    pub faults: String,
    /// M2M registrations; empty = the demo registration.
    pub m2m: Vec<M2mRegistration>,
    /// TBA registrations; empty = [`DEMO_TBA`].
    pub tba: Vec<TbaRegistration>,
    /// Account concurrency limit (requests in flight on the API routes).
    pub concurrency_limit: usize,
    /// Lifetime of issued access tokens.
    pub token_ttl_seconds: i64,
    /// Send `expires_in` as a JSON number (`3600`) instead of a string (`"3600"`).
    /// ERP-NOTES.md §N2 could not read NetSuite's own client-credentials response sample
    /// ("expires_in is 3600 per a third party"), so its JSON type is open: the simulator
    /// sends the string form by default (what several OAuth servers do) and the number with
    /// this flag; the connector must accept both.
    pub token_expires_in_number: bool,
    /// Package sublist of seeded records with a UPS ship method (§N4 open point).
    pub ups_package_sublist: UpsSublist,
}

impl Default for NetSuiteSimConfig {
    fn default() -> Self {
        NetSuiteSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            account_id: DEMO_ACCOUNT_ID.to_string(),
            seed: 0,
            seed_value: 42,
            seed_bad: 0,
            record_dir: None,
            faults: String::new(),
            m2m: Vec::new(),
            tba: Vec::new(),
            concurrency_limit: 15,
            token_ttl_seconds: 3600,
            token_expires_in_number: false,
            ups_package_sublist: UpsSublist::Mixed,
        }
    }
}

/// Parse `CLIENT_ID:CERT_ID:PUBLIC_KEY_PEM_FILE` (reads the file).
pub fn parse_m2m(spec: &str) -> anyhow::Result<M2mRegistration> {
    let mut it = spec.splitn(3, ':');
    let (Some(client), Some(cert), Some(file)) = (it.next(), it.next(), it.next()) else {
        anyhow::bail!("--m2m wants CLIENT_ID:CERT_ID:PUBLIC_KEY_PEM_FILE, got '{spec}'");
    };
    let pem = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("--m2m: cannot read public key file '{file}': {e}"))?;
    let key = auth::key_from_pem(&pem)
        .map_err(|e| anyhow::anyhow!("--m2m: public key file '{file}': {e}"))?;
    Ok(M2mRegistration {
        client_id: client.to_string(),
        certificate_id: cert.to_string(),
        key,
    })
}

/// Parse `CONSUMER_KEY:CONSUMER_SECRET:TOKEN_ID:TOKEN_SECRET`.
pub fn parse_tba(spec: &str) -> anyhow::Result<TbaRegistration> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [ck, cs, ti, ts] = parts.as_slice() else {
        anyhow::bail!("--tba wants CONSUMER_KEY:CONSUMER_SECRET:TOKEN_ID:TOKEN_SECRET (4 parts)");
    };
    Ok(TbaRegistration {
        consumer_key: ck.to_string(),
        consumer_secret: cs.to_string(),
        token_id: ti.to_string(),
        token_secret: ts.to_string(),
    })
}

/// The demo M2M registration (ES256, [`DEMO_M2M_PUBLIC_KEY_PEM`]).
pub fn demo_m2m() -> M2mRegistration {
    M2mRegistration {
        client_id: DEMO_CLIENT_ID.to_string(),
        certificate_id: DEMO_CERTIFICATE_ID.to_string(),
        key: auth::key_from_pem(DEMO_M2M_PUBLIC_KEY_PEM).expect("embedded demo key is valid"),
    }
}

#[derive(Debug, Clone)]
struct IssuedToken {
    client_id: String,
    expires: chrono::DateTime<chrono::Utc>,
}

/// Simulator state (shared by the handlers; reachable from [`SimHandle::sim`]).
#[derive(Debug)]
pub struct NetSuiteSim {
    pub core: Arc<SimCore>,
    pub store: RwLock<Store>,
    cache: query::QueryCache,
    account_id: String,
    m2m: Vec<M2mRegistration>,
    tba: Vec<TbaRegistration>,
    tokens: Mutex<HashMap<String, IssuedToken>>,
    nonces: Mutex<auth::NonceCache>,
    token_ttl_seconds: i64,
    token_expires_in_number: bool,
    concurrency_limit: AtomicUsize,
    in_flight: AtomicUsize,
    max_seen: Mutex<usize>,
    base_url: OnceLock<String>,
}

impl NetSuiteSim {
    /// Build the state (seeds included) without binding a socket.
    pub fn new(cfg: &NetSuiteSimConfig, core: Arc<SimCore>) -> Arc<NetSuiteSim> {
        let mut store = Store::default();
        if cfg.seed + cfg.seed_bad > 0 {
            store::seed(
                &mut store,
                SeedSpec {
                    count: cfg.seed,
                    bad: cfg.seed_bad,
                    seed: cfg.seed_value,
                    ups_sublist: cfg.ups_package_sublist,
                },
            );
        }
        let m2m = if cfg.m2m.is_empty() {
            vec![demo_m2m()]
        } else {
            cfg.m2m.clone()
        };
        let tba = if cfg.tba.is_empty() {
            vec![parse_tba(DEMO_TBA).expect("demo TBA spec is valid")]
        } else {
            cfg.tba.clone()
        };
        Arc::new(NetSuiteSim {
            core,
            store: RwLock::new(store),
            cache: query::QueryCache::default(),
            account_id: cfg.account_id.clone(),
            m2m,
            tba,
            tokens: Mutex::new(HashMap::new()),
            nonces: Mutex::new(auth::NonceCache::default()),
            token_ttl_seconds: cfg.token_ttl_seconds,
            token_expires_in_number: cfg.token_expires_in_number,
            concurrency_limit: AtomicUsize::new(cfg.concurrency_limit.max(1)),
            in_flight: AtomicUsize::new(0),
            max_seen: Mutex::new(0),
            base_url: OnceLock::new(),
        })
    }

    /// Base URL used in `aud`, links and `Location` (set by [`spawn`]; `http://localhost`
    /// for socket-less router tests).
    pub fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://localhost")
    }

    /// The token endpoint URL, which is what a client assertion's `aud` must be.
    pub fn token_url(&self) -> String {
        format!("{}/services/rest/auth/oauth2/v1/token", self.base_url())
    }

    /// Change the account concurrency limit at run time.
    pub fn set_concurrency_limit(&self, n: usize) {
        self.concurrency_limit.store(n.max(1), Ordering::SeqCst);
    }

    /// A copy of one record.
    pub fn fulfillment(&self, id: u64) -> Option<Fulfillment> {
        self.read_store().get(id).cloned()
    }

    /// Delete a record, as a user cancelling the fulfillment does (also `DELETE
    /// …/itemFulfillment/{id}`). Returns whether it existed.
    pub fn delete(&self, id: u64) -> bool {
        self.write_store().remove(id).is_some()
    }

    /// Insert or replace a record as is (tests).
    pub fn put(&self, f: Fulfillment) {
        self.write_store().upsert(f);
    }

    fn read_store(&self) -> std::sync::RwLockReadGuard<'_, Store> {
        self.store.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_store(&self) -> std::sync::RwLockWriteGuard<'_, Store> {
        self.store.write().unwrap_or_else(|e| e.into_inner())
    }

    fn now_naive(&self) -> chrono::NaiveDateTime {
        let now = self.core.clock.now().naive_utc();
        now - chrono::Duration::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos()))
    }
}

/// A running simulator.
#[derive(Debug, Clone)]
pub struct SimHandle {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` — use as the connector profile's `base_url`.
    pub base_url: String,
    pub core: Arc<SimCore>,
    pub sim: Arc<NetSuiteSim>,
}

/// Bind `cfg.listen` (loopback) and serve in a tokio task.
pub async fn spawn(cfg: NetSuiteSimConfig) -> anyhow::Result<SimHandle> {
    let faults = Faults::parse(&cfg.faults)?;
    let core = SimCore::new("netsuite", faults, None);
    let sim = NetSuiteSim::new(&cfg, core.clone());
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");
    let _ = sim.base_url.set(base_url.clone());
    let recorder = match &cfg.record_dir {
        Some(dir) => Some(Arc::new(Recorder::new(dir)?)),
        None => None,
    };
    let mut app = router(sim.clone());
    if let Some(r) = recorder {
        app = app.layer(axum::middleware::from_fn_with_state(r, record_requests));
    }
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "netsuite simulator stopped");
        }
    });
    Ok(SimHandle {
        addr,
        base_url,
        core,
        sim,
    })
}

/// The whole app, for `tower::ServiceExt::oneshot` tests.
pub fn router(sim: Arc<NetSuiteSim>) -> Router {
    Router::new()
        .route("/services/rest/auth/oauth2/v1/token", post(token))
        .route("/services/rest/query/v1/suiteql", post(suiteql_route))
        .route(
            "/services/rest/record/v1/itemFulfillment/{id}",
            get(record_get).patch(record_patch).delete(record_delete),
        )
        .route(
            "/_sim/netsuite/fulfillments",
            get(admin_dump).post(admin_upsert),
        )
        .route("/_sim/netsuite/expire-tokens", post(admin_expire_tokens))
        .fallback(not_found)
        .with_state(sim.clone())
        .merge(admin_router(sim.core.clone()))
}

/// Command-line options of this simulator.
#[derive(Debug, clap::Args)]
pub struct SimNetsuiteArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// Account id (TBA realm). Sandbox ids look like 1234567_SB1.
    #[arg(long, default_value = DEMO_ACCOUNT_ID)]
    pub account_id: String,
    /// Seed this many shippable item fulfillments (fast up to 120,000+).
    #[arg(long, default_value_t = 0)]
    pub seed: usize,
    /// Seed value: the same value gives the same records.
    #[arg(long, default_value_t = 42)]
    pub seed_value: u64,
    /// Also seed this many records that must fail (address "Nowhere", package weight 0).
    #[arg(long, default_value_t = 0)]
    pub seed_bad: usize,
    /// Write every request received to this directory (secrets redacted).
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// Fault spec, e.g. `suiteql:429@0.1,record_patch:drop-after-commit#1`.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Register an M2M certificate: CLIENT_ID:CERT_ID:PUBLIC_KEY_PEM_FILE (repeatable).
    /// Without it the demo registration (demo-client-id / demo-certificate-id, ES256) is used.
    #[arg(long)]
    pub m2m: Vec<String>,
    /// Register a TBA token: CONSUMER_KEY:CONSUMER_SECRET:TOKEN_ID:TOKEN_SECRET (repeatable).
    /// Without it the demo token (demo-consumer-key:…:demo-token-id:…) is used.
    #[arg(long)]
    pub tba: Vec<String>,
    /// Account concurrency limit (15 on Tier 1; 5 on shared tiers).
    #[arg(long, default_value_t = 15)]
    pub concurrency: usize,
    /// Lifetime of issued access tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub token_ttl_seconds: i64,
    /// Send the token's `expires_in` as a JSON number (default: a string, "3600").
    #[arg(long)]
    pub token_expires_in_number: bool,
    /// Package sublist of records with a UPS ship method: mixed (even ids packageUps, odd
    /// ids package), package, or package-ups.
    #[arg(long, value_enum, default_value_t = UpsSublist::Mixed)]
    pub ups_package_sublist: UpsSublist,
}

pub async fn run(args: SimNetsuiteArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "the simulator listens on loopback only; got {}",
            args.listen
        );
    }
    let cfg = NetSuiteSimConfig {
        listen: args.listen,
        account_id: args.account_id,
        seed: args.seed,
        seed_value: args.seed_value,
        seed_bad: args.seed_bad,
        record_dir: args.record_dir,
        faults: args.faults,
        m2m: args
            .m2m
            .iter()
            .map(|s| parse_m2m(s))
            .collect::<anyhow::Result<_>>()?,
        tba: args
            .tba
            .iter()
            .map(|s| parse_tba(s))
            .collect::<anyhow::Result<_>>()?,
        concurrency_limit: args.concurrency,
        token_ttl_seconds: args.token_ttl_seconds,
        token_expires_in_number: args.token_expires_in_number,
        ups_package_sublist: args.ups_package_sublist,
    };
    let demo = cfg.m2m.is_empty();
    let demo_tba = cfg.tba.is_empty();
    let h = spawn(cfg).await?;
    println!("NetSuite simulator listening on {}", h.base_url);
    println!("  token URL (JWT aud): {}", h.sim.token_url());
    println!(
        "  records: {}; concurrency limit: {}",
        h.sim.read_store().len(),
        h.sim.concurrency_limit.load(Ordering::SeqCst)
    );
    if demo {
        println!("  demo M2M registration: client id {DEMO_CLIENT_ID}, certificate id {DEMO_CERTIFICATE_ID} (ES256, demo key)");
    }
    if demo_tba {
        println!(
            "  demo TBA token: demo-consumer-key / demo-token-id (realm {})",
            h.sim.account_id
        );
    }
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Error shapes
// ---------------------------------------------------------------------------------------

fn ns_error(status: StatusCode, code: &str, detail: &str, extra: &[(&str, &str)]) -> Response {
    let mut d = serde_json::Map::new();
    d.insert("detail".into(), json!(detail));
    d.insert("o:errorCode".into(), json!(code));
    for (k, v) in extra {
        d.insert((*k).to_string(), json!(v));
    }
    let section = match status.as_u16() {
        400 => "section-15.5.1",
        401 => "section-15.5.2",
        403 => "section-15.5.4",
        404 => "section-15.5.5",
        429 => "section-15.5",
        _ => "section-15.6.1",
    };
    let body = json!({
        "type": format!("https://www.rfc-editor.org/rfc/rfc9110.html#{section}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "o:errorDetails": [Value::Object(d)],
    });
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/vnd.oracle.resource+json; type=error"),
    );
    r
}

const INVALID_LOGIN: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

fn unauthorized(sim: &NetSuiteSim, bearer_error: bool) -> Response {
    let mut r = ns_error(
        StatusCode::UNAUTHORIZED,
        "INVALID_LOGIN",
        INVALID_LOGIN,
        &[],
    );
    if bearer_error {
        let realm = sim.account_id.clone();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"Invalid login attempt.\""
        )) {
            r.headers_mut().insert("www-authenticate", v);
        }
    }
    r
}

async fn not_found(uri: Uri) -> Response {
    ns_error(
        StatusCode::NOT_FOUND,
        "INVALID_URL",
        &format!(
            "Invalid URL: {} is not a resource of this simulator.",
            uri.path()
        ),
        &[],
    )
}

fn counted(sim: &NetSuiteSim, op: &str, r: Response) -> Response {
    if !r.status().is_success() {
        sim.core
            .stats
            .incr(&format!("{op}.{}", r.status().as_u16()));
    }
    r
}

// ---------------------------------------------------------------------------------------
// Concurrency, faults, authentication
// ---------------------------------------------------------------------------------------

struct Slot<'a>(&'a NetSuiteSim);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn acquire(sim: &NetSuiteSim) -> Result<Slot<'_>, Response> {
    let n = sim.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let slot = Slot(sim);
    if n > sim.concurrency_limit.load(Ordering::SeqCst) {
        sim.core.stats.incr("concurrency.rejected");
        return Err(ns_error(
            StatusCode::TOO_MANY_REQUESTS,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
            &[],
        ));
    }
    let mut max = sim.max_seen.lock().unwrap_or_else(|e| e.into_inner());
    if n > *max {
        sim.core
            .stats
            .add("concurrency.max_seen", (n - *max) as u64);
        *max = n;
    }
    Ok(slot)
}

enum FaultOutcome {
    Proceed,
    DropAfterCommit,
}

async fn apply_faults(sim: &NetSuiteSim, op: &str) -> Result<FaultOutcome, Response> {
    let mut out = FaultOutcome::Proceed;
    for f in sim.core.faults.decide(op) {
        match f.kind {
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::Reset => return Err(broken_response()),
            FaultKind::DropAfterCommit => out = FaultOutcome::DropAfterCommit,
            FaultKind::Status(429) => {
                return Err(ns_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Concurrent request limit exceeded. Request blocked.",
                    &[],
                ))
            }
            FaultKind::Status(s) => {
                let st = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(ns_error(
                    st,
                    "UNEXPECTED_ERROR",
                    "An unexpected error occurred (simulated).",
                    &[],
                ));
            }
            FaultKind::Other(k) if k == "concurrency-401" => return Err(unauthorized(sim, false)),
            FaultKind::Other(k) if k == "token-expired" => return Err(unauthorized(sim, true)),
            FaultKind::Other(_) => {}
        }
    }
    Ok(out)
}

fn authenticate(
    sim: &NetSuiteSim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        sim.core.stats.incr("auth.rejected");
        return Err(unauthorized(sim, true));
    };
    if let Some(tok) = h.strip_prefix("Bearer ") {
        let tokens = sim.tokens.lock().unwrap_or_else(|e| e.into_inner());
        return match tokens.get(tok.trim()) {
            Some(t) if t.expires > sim.core.clock.now() => Ok(()),
            _ => {
                sim.core.stats.incr("auth.rejected");
                Err(unauthorized(sim, true))
            }
        };
    }
    if h.starts_with("OAuth ") {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let base = format!("http://{host}{}", uri.path());
        let now = sim.core.clock.now().timestamp();
        let mut nonces = sim.nonces.lock().unwrap_or_else(|e| e.into_inner());
        return match auth::verify_tba(
            h,
            method.as_str(),
            &base,
            uri.query(),
            &sim.tba,
            &sim.account_id,
            now,
            &mut nonces,
        ) {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(reason = %e, "simulated NetSuite refused a TBA request");
                sim.core.stats.incr("auth.rejected");
                Err(unauthorized(sim, false))
            }
        };
    }
    sim.core.stats.incr("auth.rejected");
    Err(unauthorized(sim, true))
}

// ---------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

async fn token(State(sim): State<Arc<NetSuiteSim>>, headers: HeaderMap, body: Bytes) -> Response {
    sim.core.stats.incr("token");
    let r = token_inner(&sim, &headers, &body).await;
    counted(&sim, "token", r)
}

async fn token_inner(sim: &NetSuiteSim, headers: &HeaderMap, body: &[u8]) -> Response {
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

// ---------------------------------------------------------------------------------------
// SuiteQL
// ---------------------------------------------------------------------------------------

async fn suiteql_route(
    State(sim): State<Arc<NetSuiteSim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.core.stats.incr("suiteql");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "suiteql").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => suiteql_inner(&sim, &uri, &headers, &body),
            },
        },
    };
    counted(&sim, "suiteql", r)
}

fn invalid_param(param: &str, detail: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
        detail,
        &[("o:errorQueryParam", param)],
    )
}

fn suiteql_inner(sim: &NetSuiteSim, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Response {
    let transient = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("transient"))
        });
    if !transient {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_HEADER",
            "Invalid value for the 'Prefer' header. SuiteQL requests must send 'Prefer: transient'.",
            &[("o:errorHeader", "Prefer")],
        );
    }
    let params: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let limit = match params.get("limit").map(|s| s.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        _ => return invalid_param(
            "limit",
            "Invalid value for the 'limit' parameter. The value must be an integer from 1 to 1000.",
        ),
    };
    let offset = match params.get("offset").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return invalid_param(
            "offset",
            "Invalid value for the 'offset' parameter. The value must be a non-negative integer.",
        ),
    };
    if offset >= SUITEQL_MAX_RESULTS {
        return invalid_param(
            "offset",
            "Invalid search query. Detailed unprocessed description follows. Search error occurred: \
             the query would return results past row 100000, the maximum number of results SuiteQL returns \
             through REST web services. Use a narrower condition (keyset paging) or SuiteAnalytics Connect.",
        );
    }
    let q = match serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("q").and_then(Value::as_str).map(String::from))
    {
        Some(q) => q,
        None => {
            return ns_error(
                StatusCode::BAD_REQUEST,
                "INVALID_CONTENT",
                "The request body must be a JSON object with the query text in \"q\".",
                &[],
            )
        }
    };
    let prefix =
        "Invalid search query. Detailed unprocessed description follows. Search error occurred: ";
    let parsed = match suiteql::parse(&q) {
        Ok(p) => p,
        Err(e) => return invalid_param("q", &format!("{prefix}{e}")),
    };
    let store = sim.read_store();
    let page = match query::execute(&store, &sim.cache, &parsed, offset, limit) {
        Ok(p) => p,
        Err(e) => return invalid_param("q", &format!("{prefix}{e}")),
    };
    drop(store);
    let count = page.items.len();
    let total = page.total;
    let has_more = offset + count < total;
    let link = |rel: &str, off: usize| json!({"rel": rel, "href": format!("{}/services/rest/query/v1/suiteql?limit={limit}&offset={off}", sim.base_url())});
    let mut links = Vec::new();
    if offset > 0 {
        links.push(link("first", 0));
        links.push(link("prev", offset.saturating_sub(limit)));
    }
    if has_more {
        links.push(link("next", offset + limit));
    }
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    links.push(link("last", last));
    links.push(link("self", offset));
    Json(json!({
        "links": links,
        "count": count,
        "hasMore": has_more,
        "offset": offset,
        "totalResults": total,
        "items": page.items,
    }))
    .into_response()
}

// ---------------------------------------------------------------------------------------
// Record API
// ---------------------------------------------------------------------------------------

fn record_url(sim: &NetSuiteSim, id: u64) -> String {
    format!(
        "{}/services/rest/record/v1/itemFulfillment/{id}",
        sim.base_url()
    )
}

fn nonexistent(id: &str) -> Response {
    ns_error(
        StatusCode::NOT_FOUND,
        "NONEXISTENT_ID",
        &format!("The record instance does not exist. Provide a valid record instance ID. (itemFulfillment {id})"),
        &[],
    )
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map(|s| json!(s)).unwrap_or(Value::Null)
}

fn record_json(sim: &NetSuiteSim, f: &Fulfillment, expand: bool) -> Value {
    let url = record_url(sim, f.id);
    let sub = |name: &str, items: Vec<Value>| {
        let links = json!([{"rel": "self", "href": format!("{url}/{name}")}]);
        if expand {
            json!({"links": links, "items": items, "totalResults": items.len(), "count": items.len(), "hasMore": false, "offset": 0})
        } else {
            json!({"links": links})
        }
    };
    // §N4: the record shows the one package sublist its ship method uses; the carrier
    // sublists spell their fields with a suffix (packageTrackingNumberUps, …) and keep the
    // dimensions flat, the generic `package` nests them in `packageDetails`.
    let kind = f.package_sublist;
    let sfx = kind.suffix();
    let packages = f
        .packages
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("links".into(), json!([]));
            o.insert(format!("packageWeight{sfx}"), json!(p.weight));
            if let Some(d) = &p.descr {
                o.insert(format!("packageDescr{sfx}"), json!(d));
            }
            if let Some(t) = &p.tracking {
                o.insert(format!("packageTrackingNumber{sfx}"), json!(t));
            }
            match (&p.reference1, &p.carton) {
                (Some(r), _) if kind != PackageSublist::Package => {
                    o.insert(format!("reference1{sfx}"), json!(r));
                }
                (_, Some(c)) if kind == PackageSublist::Package => {
                    o.insert("packageCartonNumber".into(), json!(c));
                }
                _ => {}
            }
            if kind == PackageSublist::Package {
                let mut d = serde_json::Map::new();
                for (k, v) in [
                    ("packageLength", p.length),
                    ("packageWidth", p.width),
                    ("packageHeight", p.height),
                    ("declaredValue", p.declared_value),
                ] {
                    if let Some(v) = v {
                        d.insert(k.into(), json!(v));
                    }
                }
                if !d.is_empty() {
                    o.insert("packageDetails".into(), Value::Object(d));
                }
            } else {
                for (k, v) in [
                    ("packageLength", p.length),
                    ("packageWidth", p.width),
                    ("packageHeight", p.height),
                    ("insuredValue", p.declared_value),
                ] {
                    if let Some(v) = v {
                        o.insert(format!("{k}{sfx}"), json!(v));
                    }
                }
            }
            Value::Object(o)
        })
        .collect();
    let items = f
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            json!({"links": [], "line": i + 1, "item": {"id": it.item_id.to_string(), "refName": it.item},
                   "location": {"id": f.location, "refName": if f.location == "1" { "MAIN" } else { "WEST" }},
                   "description": opt(&it.description), "quantity": it.quantity, "rate": it.rate,
                   "custcol_hs_code": opt(&it.hs_code), "custcol_origin_country": opt(&it.origin_country)})
        })
        .collect();
    let a = &f.shipaddress;
    let address = if expand {
        json!({"links": [], "addressee": opt(&a.addressee), "attention": opt(&a.attention), "addr1": opt(&a.addr1),
               "addr2": opt(&a.addr2), "addr3": opt(&a.addr3), "city": opt(&a.city), "state": opt(&a.state),
               "zip": opt(&a.zip), "country": {"id": opt(&a.country)}, "addrPhone": opt(&a.addrphone)})
    } else {
        json!({"links": [{"rel": "self", "href": format!("{url}/shippingAddress")}]})
    };
    let mut o = serde_json::Map::new();
    o.insert("links".into(), json!([{"rel": "self", "href": url}]));
    o.insert("id".into(), json!(f.id.to_string()));
    o.insert("tranId".into(), json!(f.tranid));
    o.insert(
        "tranDate".into(),
        json!(f.trandate.format("%Y-%m-%d").to_string()),
    );
    o.insert(
        "lastModifiedDate".into(),
        json!(f.lastmodified.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    let status = json!({"id": f.status.to_string(), "refName": f.status_df()});
    o.insert("shipStatus".into(), status.clone());
    o.insert("status".into(), status);
    o.insert(
        "shipMethod".into(),
        json!({"id": f.shipmethod.to_string(), "refName": store::ship_method_name(f.shipmethod)}),
    );
    o.insert(
        "entity".into(),
        json!({"id": f.entity_id.to_string(), "refName": f.entity}),
    );
    o.insert(
        "createdFrom".into(),
        json!({"id": f.createdfrom_id.to_string(), "refName": format!("Sales Order #{}", f.createdfrom)}),
    );
    o.insert(
        "currency".into(),
        json!({"id": if f.currency == "CAD" { "3" } else { "1" }, "refName": f.currency}),
    );
    if let Some(e) = &f.email {
        o.insert("email".into(), json!(e));
    }
    if let Some(p) = &f.otherrefnum {
        o.insert("otherRefNum".into(), json!(p));
    }
    o.insert("shippingAddress".into(), address);
    o.insert(kind.name().into(), sub(kind.name(), packages));
    o.insert("item".into(), sub("item", items));
    for (k, v) in &f.custom {
        if let Some(v) = v {
            o.insert(k.clone(), json!(v));
        }
    }
    Value::Object(o)
}

async fn record_get(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    sim.core.stats.incr("record_get");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_get").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => {
                    let expand = uri.query().is_some_and(|q| {
                        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| {
                            k == "expandSubResources" && v.eq_ignore_ascii_case("true")
                        })
                    });
                    match id.parse::<u64>().ok().and_then(|n| sim.fulfillment(n)) {
                        Some(f) => Json(record_json(&sim, &f, expand)).into_response(),
                        None => nonexistent(&id),
                    }
                }
            },
        },
    };
    counted(&sim, "record_get", r)
}

/// `DELETE /record/v1/itemFulfillment/{id}` → 204 (NS-BROWSER records/itemFulfillment.md:
/// the instance operations are GET/PATCH/PUT/DELETE, ERP-NOTES.md §N4). An item fulfillment
/// has no cancelled status (shipStatus is A/B/C only, §N3/§N4): cancelling one is deleting
/// it, after which GET answers 404 NONEXISTENT_ID and SuiteQL no longer returns it.
async fn record_delete(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    sim.core.stats.incr("record_delete");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_delete").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => match id.parse::<u64>().ok().filter(|n| sim.delete(*n)) {
                    Some(_) => StatusCode::NO_CONTENT.into_response(),
                    None => nonexistent(&id),
                },
            },
        },
    };
    counted(&sim, "record_delete", r)
}

fn bad_content(code: &str, path: &str, detail: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        code,
        &format!("Error while accessing a resource. {detail}"),
        &[("o:errorPath", path)],
    )
}

fn num_field(v: &Value, path: &str) -> Result<Option<f64>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| {
            bad_content(
                "INVALID_CONTENT",
                path,
                &format!(
                    "You have entered an Invalid Field Value {s} for the following field: {path}"
                ),
            )
        }),
        _ => Err(bad_content(
            "INVALID_CONTENT",
            path,
            &format!("The field {path} must be a number."),
        )),
    }
}

fn str_field(v: &Value, path: &str) -> Result<Option<String>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(bad_content(
            "INVALID_CONTENT",
            path,
            &format!("The field {path} must be a string."),
        )),
    }
}

fn parse_package_line(v: &Value, i: usize, kind: PackageSublist) -> Result<PackageLine, Response> {
    let name = kind.name();
    let sfx = kind.suffix();
    let carrier = kind != PackageSublist::Package;
    let base = format!("{name}.items[{i}]");
    let Some(obj) = v.as_object() else {
        return Err(bad_content(
            "INVALID_CONTENT",
            &base,
            "A sublist line must be an object.",
        ));
    };
    let mut p = PackageLine::default();
    let mut weight = None;
    for (k, val) in obj {
        let path = format!("{base}.{k}");
        // Field names per sublist (§N4): `package` has packageWeight, packageDescr,
        // packageTrackingNumber, packageCartonNumber, packageDetails{…}; `packageUps` etc.
        // suffix them (packageWeightUps, …, reference1Ups) with flat dimensions.
        let plain = k
            .strip_suffix(sfx)
            .filter(|_| carrier)
            .unwrap_or(k.as_str());
        let field = if carrier && !k.ends_with(sfx) {
            ""
        } else {
            plain
        };
        match (field, carrier) {
            _ if k == "links" => {}
            ("packageWeight", _) => weight = num_field(val, &path)?,
            ("packageDescr", _) => p.descr = str_field(val, &path)?,
            ("packageTrackingNumber", _) => p.tracking = str_field(val, &path)?,
            ("reference1", true) => p.reference1 = str_field(val, &path)?,
            ("packageLength", true) => p.length = num_field(val, &path)?,
            ("packageWidth", true) => p.width = num_field(val, &path)?,
            ("packageHeight", true) => p.height = num_field(val, &path)?,
            ("insuredValue", true) => p.declared_value = num_field(val, &path)?,
            ("packageCartonNumber", false) => p.carton = str_field(val, &path)?,
            ("packageDetails", false) => {
                let Some(d) = val.as_object() else {
                    return Err(bad_content(
                        "INVALID_CONTENT",
                        &path,
                        "packageDetails must be an object.",
                    ));
                };
                for (dk, dv) in d {
                    let dpath = format!("{path}.{dk}");
                    let n = num_field(dv, &dpath)?;
                    match dk.as_str() {
                        "packageLength" => p.length = n,
                        "packageWidth" => p.width = n,
                        "packageHeight" => p.height = n,
                        "declaredValue" => p.declared_value = n,
                        _ => {
                            return Err(bad_content(
                                "NONEXISTENT_FIELD",
                                &dpath,
                                &format!("The field {dk} does not exist on this sublist."),
                            ))
                        }
                    }
                }
            }
            _ => {
                return Err(bad_content(
                    "NONEXISTENT_FIELD",
                    &path,
                    &format!("The field {k} does not exist on the {name} sublist."),
                ))
            }
        }
    }
    match weight {
        Some(w) if w >= 0.0 => p.weight = w,
        Some(_) => {
            return Err(bad_content(
                "INVALID_CONTENT",
                &format!("{base}.packageWeight{sfx}"),
                "The package weight must not be negative.",
            ))
        }
        None => {
            return Err(bad_content(
                "USER_ERROR",
                &format!("{base}.packageWeight{sfx}"),
                "Please enter value(s) for: Package Weight",
            ))
        }
    }
    Ok(p)
}

struct Patch {
    ship_status: Option<char>,
    custom: Vec<(String, Option<String>)>,
    packages: Option<Vec<PackageLine>>,
}

fn parse_patch(body: &[u8], kind: PackageSublist) -> Result<Patch, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            &format!("The request body is not valid JSON: {e}"),
            &[],
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            "The request body must be a JSON object.",
            &[],
        ));
    };
    let mut patch = Patch {
        ship_status: None,
        custom: Vec::new(),
        packages: None,
    };
    for (k, val) in obj {
        match k.as_str() {
            "shipStatus" => {
                let id = val.get("id").and_then(Value::as_str).unwrap_or("");
                match id {
                    "A" | "B" | "C" => patch.ship_status = id.chars().next(),
                    _ => {
                        return Err(bad_content(
                            "INVALID_CONTENT",
                            "shipStatus.id",
                            &format!("You have entered an Invalid Field Value {id} for the following field: shipStatus"),
                        ))
                    }
                }
            }
            k if k == kind.name() => {
                let Some(items) = val.get("items").and_then(Value::as_array) else {
                    return Err(bad_content("INVALID_CONTENT", &format!("{k}.items"), "A sublist must be sent as {\"items\": [...]}."));
                };
                let mut lines = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    lines.push(parse_package_line(it, i, kind)?);
                }
                patch.packages = Some(lines);
            }
            // §N4: a record shows one package sublist; writing another one is refused here
            // (whether NetSuite refuses or silently keeps invisible lines is unverified; a
            // refusal is the variant that cannot hide a lost 1Z number).
            k if PackageSublist::from_name(k).is_some() => {
                return Err(bad_content(
                    "USER_ERROR",
                    k,
                    &format!("The sublist {k} is not available on this record; its ship method uses the {} sublist.", kind.name()),
                ))
            }
            c if store::CUSTBODY_FIELDS.contains(&c) => {
                patch.custom.push((c.to_string(), str_field(val, c)?));
            }
            other => {
                return Err(bad_content(
                    "NONEXISTENT_FIELD",
                    other,
                    &format!("The field {other} does not exist on record type itemFulfillment or cannot be set by this simulator."),
                ))
            }
        }
    }
    Ok(patch)
}

async fn record_patch(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.core.stats.incr("record_patch");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_patch").await {
            Err(r) => r,
            Ok(outcome) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => {
                    let r = patch_inner(&sim, &id, &uri, &body);
                    match outcome {
                        FaultOutcome::DropAfterCommit if r.status().is_success() => {
                            broken_response()
                        }
                        _ => r,
                    }
                }
            },
        },
    };
    counted(&sim, "record_patch", r)
}

fn patch_inner(sim: &NetSuiteSim, id: &str, uri: &Uri, body: &[u8]) -> Response {
    let Some(n) = id
        .parse::<u64>()
        .ok()
        .filter(|n| sim.read_store().get(*n).is_some())
    else {
        return nonexistent(id);
    };
    let replace: Vec<String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "replace")
                .flat_map(|(_, v)| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let kind = match sim.read_store().get(n) {
        Some(f) => f.package_sublist,
        None => return nonexistent(id),
    };
    for r in &replace {
        if r != "item" && PackageSublist::from_name(r).is_none() {
            return invalid_param(
                "replace",
                &format!("Invalid value for the 'replace' parameter: '{r}' is not a sublist of itemFulfillment."),
            );
        }
    }
    let patch = match parse_patch(body, kind) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let replace_packages = replace.iter().any(|r| r == kind.name());
    let now = sim.now_naive();
    sim.write_store().modify(n, now, |f| {
        if let Some(s) = patch.ship_status {
            f.status = s;
        }
        for (k, v) in patch.custom {
            f.custom.insert(k, v);
        }
        if let Some(lines) = patch.packages {
            if replace_packages {
                f.packages = lines;
            } else {
                // Non-keyed sublist without `replace`: lines are APPENDED (NetSuite's trap).
                f.packages.extend(lines);
            }
        }
    });
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&record_url(sim, n)) {
        r.headers_mut().insert("location", v);
    }
    r
}

// ---------------------------------------------------------------------------------------
// /_sim/netsuite/fulfillments
// ---------------------------------------------------------------------------------------

async fn admin_expire_tokens(State(sim): State<Arc<NetSuiteSim>>) -> Json<Value> {
    Json(json!({ "expired": sim.expire_tokens() }))
}

#[derive(Debug, serde::Deserialize)]
struct DumpQuery {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn admin_dump(
    State(sim): State<Arc<NetSuiteSim>>,
    AxQuery(q): AxQuery<DumpQuery>,
) -> Response {
    let store = sim.read_store();
    if let Some(id) = q.id {
        return match store.get(id) {
            Some(f) => Json(json!(f)).into_response(),
            None => (StatusCode::NOT_FOUND, "no such fulfillment").into_response(),
        };
    }
    let items: Vec<&Fulfillment> = store
        .by_id
        .values()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(1000))
        .collect();
    Json(json!({"total": store.len(), "items": items})).into_response()
}

/// POST a JSON object: with the `id` of an existing record, its keys are merged into that
/// record (modify); otherwise they are merged into a fresh seeded record (add). Either way
/// `lastmodified` becomes now.
async fn admin_upsert(State(sim): State<Arc<NetSuiteSim>>, Json(body): Json<Value>) -> Response {
    let Some(obj) = body.as_object() else {
        return (StatusCode::BAD_REQUEST, "body must be a JSON object").into_response();
    };
    let now = sim.now_naive();
    let mut store = sim.write_store();
    let existing = obj
        .get("id")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|id| store.get(id).cloned());
    let mut base = match existing {
        Some(f) => f,
        None => {
            let mut tmp = Store::default();
            store::seed(
                &mut tmp,
                SeedSpec {
                    count: 1,
                    bad: 0,
                    seed: store.next_id(),
                    ups_sublist: UpsSublist::Mixed,
                },
            );
            let mut f = tmp.by_id.into_values().next().expect("one seeded record");
            f.id = obj
                .get("id")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| store.next_id());
            f.tranid = format!("IF{}", f.id - 4000);
            f
        }
    };
    let mut merged = json!(base);
    if let Some(m) = merged.as_object_mut() {
        for (k, v) in obj {
            if k != "id" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    match serde_json::from_value::<Fulfillment>(merged) {
        Ok(f) => base = f,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("invalid fulfillment: {e}")).into_response()
        }
    }
    base.lastmodified = now;
    store.upsert(base.clone());
    Json(json!(base)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    fn sim(seed: usize) -> Arc<NetSuiteSim> {
        let cfg = NetSuiteSimConfig {
            seed,
            ..Default::default()
        };
        NetSuiteSim::new(&cfg, SimCore::new("netsuite", Faults::default(), None))
    }

    fn bearer(sim: &NetSuiteSim) -> String {
        let t = "nssim.test".to_string();
        sim.tokens.lock().unwrap().insert(
            t.clone(),
            IssuedToken {
                client_id: "x".into(),
                expires: sim.core.clock.now() + chrono::Duration::hours(1),
            },
        );
        format!("Bearer {t}")
    }

    async fn call(app: Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let r = app.oneshot(req).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        let b = to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&b).unwrap_or(Value::Null),
        )
    }

    fn suiteql_req(auth: &str, q: &str, query: &str) -> Request<Body> {
        Request::post(format!("/services/rest/query/v1/suiteql{query}"))
            .header("authorization", auth)
            .header("prefer", "transient")
            .header("content-type", "application/json")
            .body(Body::from(json!({ "q": q }).to_string()))
            .unwrap()
    }

    #[tokio::test]
    async fn envelope_and_errors() {
        let s = sim(25);
        let auth = bearer(&s);
        let app = router(s.clone());
        let (st, _, v) = call(
            app.clone(),
            suiteql_req(
                &auth,
                "SELECT t.id, t.tranid FROM transaction t ORDER BY t.id",
                "?limit=10&offset=10",
            ),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(v["count"], 10);
        assert_eq!(v["totalResults"], 25);
        assert_eq!(v["hasMore"], true);
        assert_eq!(v["offset"], 10);
        let rels: Vec<&str> = v["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        assert_eq!(rels, ["first", "prev", "next", "last", "self"]);
        assert!(v["links"][2]["href"]
            .as_str()
            .unwrap()
            .ends_with("limit=10&offset=20"));
        assert!(v["items"][0]["id"].is_string());
        assert_eq!(v["items"][0]["links"], json!([]));

        let (st, _, v) = call(
            app.clone(),
            suiteql_req(&auth, "SELECT t.subsidiary FROM transaction t", ""),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "INVALID_PARAMETER");
        assert_eq!(v["o:errorDetails"][0]["o:errorQueryParam"], "q");
        assert!(v["o:errorDetails"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid search query."));

        let (st, _, v) = call(
            app.clone(),
            suiteql_req(&auth, "SELECT t.id FROM transaction t", "?offset=100000"),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["o:errorDetails"][0]["o:errorQueryParam"], "offset");

        let (st, _, _) = call(
            app.clone(),
            suiteql_req(&auth, "SELECT t.id FROM transaction t", "?limit=1001"),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        let mut no_prefer = suiteql_req(&auth, "SELECT t.id FROM transaction t", "");
        no_prefer.headers_mut().remove("prefer");
        let (st, _, v) = call(app.clone(), no_prefer).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["o:errorDetails"][0]["o:errorHeader"], "Prefer");

        let (st, h, v) = call(
            app.clone(),
            suiteql_req("Bearer nope", "SELECT t.id FROM transaction t", ""),
        )
        .await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
        assert!(h["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\""));
        assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");
    }

    fn patch_req(auth: &str, id: u64, query: &str, body: Value) -> Request<Body> {
        Request::patch(format!(
            "/services/rest/record/v1/itemFulfillment/{id}{query}"
        ))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
    }

    #[tokio::test]
    async fn patch_appends_without_replace_and_replaces_with_it() {
        let s = sim(3);
        let auth = bearer(&s);
        let app = router(s.clone());
        let mut f = s.fulfillment(5000).unwrap();
        f.package_sublist = PackageSublist::Package;
        s.put(f);
        let before = s.fulfillment(5000).unwrap();
        let body = json!({"package": {"items": [{"packageWeight": 2.5, "packageDescr": "Box 1", "packageTrackingNumber": "1Z999AA10123456784"}]},
                          "custbody_ups_reference": "1Z999AA10123456784", "shipStatus": {"id": "C"}});
        for _ in 0..2 {
            let (st, h, _) = call(app.clone(), patch_req(&auth, 5000, "", body.clone())).await;
            assert_eq!(st, StatusCode::NO_CONTENT);
            assert!(h["location"]
                .to_str()
                .unwrap()
                .ends_with("/services/rest/record/v1/itemFulfillment/5000"));
        }
        let after = s.fulfillment(5000).unwrap();
        assert_eq!(
            after.packages.len(),
            before.packages.len() + 2,
            "non-keyed lines appended"
        );
        assert_eq!(after.status, 'C');
        assert!(after.lastmodified > before.lastmodified);
        for _ in 0..3 {
            let (st, _, _) = call(
                app.clone(),
                patch_req(&auth, 5000, "?replace=package", body.clone()),
            )
            .await;
            assert_eq!(st, StatusCode::NO_CONTENT);
        }
        assert_eq!(s.fulfillment(5000).unwrap().packages.len(), 1);

        let (st, _, v) = call(
            app.clone(),
            patch_req(&auth, 5000, "", json!({"custbody_nope": "x"})),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["o:errorDetails"][0]["o:errorPath"], "custbody_nope");
        let (st, _, v) = call(
            app.clone(),
            patch_req(
                &auth,
                5000,
                "?replace=package",
                json!({"package": {"items": [{"packageWeight": "heavy"}]}}),
            ),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(
            v["o:errorDetails"][0]["o:errorPath"],
            "package.items[0].packageWeight"
        );
        let (st, _, v) = call(app.clone(), patch_req(&auth, 99, "", json!({}))).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "NONEXISTENT_ID");
    }

    #[tokio::test]
    async fn record_get_expands_sublists_on_request() {
        let s = sim(2);
        let auth = bearer(&s);
        let app = router(s.clone());
        let mut f = s.fulfillment(5001).unwrap();
        f.package_sublist = PackageSublist::Package;
        s.put(f);
        let get = |q: &str| {
            Request::get(format!("/services/rest/record/v1/itemFulfillment/5001{q}"))
                .header("authorization", auth.as_str())
                .body(Body::empty())
                .unwrap()
        };
        let (st, _, v) = call(app.clone(), get("")).await;
        assert_eq!(st, StatusCode::OK);
        assert!(v["package"].get("items").is_none());
        let (_, _, v) = call(app.clone(), get("?expandSubResources=true")).await;
        let n = s.fulfillment(5001).unwrap().packages.len();
        assert_eq!(v["package"]["items"].as_array().unwrap().len(), n);
        assert!(v["package"]["items"][0]["packageWeight"].is_number());
        assert!(v["shipStatus"]["id"].is_string());
    }

    /// Issue 15 item 12 — guards: a record shows the package sublist of its ship method
    /// (§N4), with that sublist's field names; a PATCH of another sublist is refused and
    /// `replace=` takes the carried sublist's name.
    #[tokio::test]
    async fn records_carry_the_package_sublist_of_their_ship_method() {
        let s = sim(400);
        let kinds: std::collections::BTreeSet<&str> = s
            .read_store()
            .by_id
            .values()
            .map(|f| f.package_sublist.name())
            .collect();
        assert_eq!(
            kinds.into_iter().collect::<Vec<_>>(),
            ["package", "packageFedex", "packageUps", "packageUsps"]
        );
        let auth = bearer(&s);
        let app = router(s.clone());
        let mut f = s.fulfillment(5000).unwrap();
        f.package_sublist = PackageSublist::PackageUps;
        s.put(f.clone());
        let get =
            Request::get("/services/rest/record/v1/itemFulfillment/5000?expandSubResources=true")
                .header("authorization", auth.as_str())
                .body(Body::empty())
                .unwrap();
        let (_, _, v) = call(app.clone(), get).await;
        assert!(v.get("package").is_none());
        let line = &v["packageUps"]["items"][0];
        assert!(line["packageWeightUps"].is_number(), "{line}");
        assert!(line["packageLengthUps"].is_number(), "{line}");
        let (st, _, v) = call(
            app.clone(),
            patch_req(
                &auth,
                5000,
                "?replace=package",
                json!({"package": {"items": [{"packageWeight": 1}]}}),
            ),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["o:errorDetails"][0]["o:errorPath"], "package");
        let (st, _, _) = call(
            app.clone(),
            patch_req(&auth, 5000, "?replace=packageUps",
                json!({"packageUps": {"items": [{"packageWeightUps": 1, "packageTrackingNumberUps": "1Z1", "reference1Ups": "IF1000"}]}})),
        )
        .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let after = s.fulfillment(5000).unwrap();
        assert_eq!(after.packages.len(), 1);
        assert_eq!(after.packages[0].tracking.as_deref(), Some("1Z1"));
        assert_eq!(after.packages[0].reference1.as_deref(), Some("IF1000"));
    }

    /// Issue 15 item 13 — guards: cancelling an item fulfillment deletes it (§N4 DELETE);
    /// afterwards GET is 404 NONEXISTENT_ID and SuiteQL no longer returns it.
    #[tokio::test]
    async fn delete_removes_the_record_everywhere() {
        let s = sim(3);
        let auth = bearer(&s);
        let app = router(s.clone());
        let req = |m: &str| {
            Request::builder()
                .method(m)
                .uri("/services/rest/record/v1/itemFulfillment/5001")
                .header("authorization", auth.as_str())
                .body(Body::empty())
                .unwrap()
        };
        let (st, _, _) = call(app.clone(), req("DELETE")).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        let (st, _, v) = call(app.clone(), req("GET")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "NONEXISTENT_ID");
        let (st, _, _) = call(app.clone(), req("DELETE")).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (_, _, v) = call(
            app.clone(),
            suiteql_req(
                &auth,
                "SELECT t.id FROM transaction t WHERE t.id IN (5000, 5001, 5002)",
                "",
            ),
        )
        .await;
        assert_eq!(v["totalResults"], 2);
    }

    #[tokio::test]
    async fn concurrency_limit_rejects_and_counts() {
        let s = sim(1);
        s.set_concurrency_limit(1);
        let _held = acquire(&s).ok().unwrap();
        let auth = bearer(&s);
        let (st, _, v) = call(
            router(s.clone()),
            suiteql_req(&auth, "SELECT t.id FROM transaction t", ""),
        )
        .await;
        assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            v["o:errorDetails"][0]["o:errorCode"],
            "CONCURRENCY_LIMIT_EXCEEDED"
        );
        assert_eq!(s.core.stats.get("concurrency.rejected"), 1);
        assert_eq!(s.core.stats.get("concurrency.max_seen"), 1);
    }

    #[tokio::test]
    async fn admin_add_and_modify() {
        let s = sim(1);
        let app = router(s.clone());
        let req = |body: Value| {
            Request::post("/_sim/netsuite/fulfillments")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let (st, _, v) = call(app.clone(), req(json!({"status": "A"}))).await;
        assert_eq!(st, StatusCode::OK);
        let id = v["id"].as_u64().unwrap();
        assert_eq!(id, 5001);
        let (_, _, v) = call(app.clone(), req(json!({"id": id, "entity": "Zoë Ltd"}))).await;
        assert_eq!(v["entity"], "Zoë Ltd");
        assert_eq!(s.read_store().len(), 2);
    }
}
