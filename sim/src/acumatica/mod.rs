//! Acumatica simulator: contract-based REST (Default endpoint, `Shipment` entity), cookie and
//! OAuth sign-in, licence limits, on loopback.
//!
//! Spec: /work/shared/specs/ERP-NOTES.md §A and §G; endpoint definitions vendored (Shipment
//! extract) in `spec/`. What it serves:
//!
//! * `GET /entity` — the endpoint list (documented shape); several versions at once
//!   (default `Default/23.200.001` and `Default/24.200.001`), 404 for any other version.
//!   A tenant's custom endpoints (`--custom-endpoint TENANT:NAME/VERSION`) are listed only
//!   when the request is signed in as that tenant (§A1).
//! * `POST /entity/auth/login|logout` — cookie sessions (`.ASPXAUTH`, `ASP.NET_SessionId`),
//!   `tenant` or `company`, optional `branch`/`locale`. Users: `--user NAME:PASSWORD@TENANT`;
//!   demo user **`admin:demo@Company`** when none is given. Sessions count against the
//!   licence (`--max-sessions`, default 2 like a trial licence): one more sign-in answers
//!   429 "API Login Limit". Bad credentials answer 500 "Invalid credentials". Idle sessions
//!   expire after 20 minutes of simulator clock.
//! * `POST /identity/connect/token` — OAuth 2.0 password and refresh_token grants for
//!   `--oauth-client ID:SECRET` (demo client **`demo-client@Company:demo-secret`** when none);
//!   bearer tokens last 3600 s. OAuth requests do not hold licence sessions here.
//! * `/entity/{Endpoint}/{Version}/swagger.json`, `…/Shipment` (GET list with `$filter`,
//!   `$expand`, `$select`, `$custom`, `$top`, `$skip`; PUT upsert with `If-Match: *`). List
//!   answers come in no promised order: by default each list request gets its own seeded
//!   permutation (`--list-order varying|key`), so `$skip` paging is not stable (§A3).
//! * `…/Shipment/{ShipmentNbr|id}` (GET, DELETE; `files` only with `$expand=files`),
//!   `…/Shipment/{ShipmentNbr}/files/{filename}` (PUT, GET; key values only, a GUID answers
//!   "No entity satisfies the condition"), `…/files/{fileId}` (GET).
//! * `…/Shipment/ConfirmShipment` (202 + `Location`; polling answers 202 then 204; Status
//!   becomes `Confirmed`). While it runs, every other request of that session to the
//!   Shipments form fails ("The previous operation has not been completed yet.",
//!   `--busy-status`, default 500); only the status request goes through (§A4, §G6).
//! * Throttle `--rpm N`: past half the limit each request is delayed by (time left in the
//!   minute)/(requests left); at the limit requests queue; more than 20 queued → 429.
//! * Admin: `/_sim/stats` (counters per op, `sessions.open`, `sessions.max_seen`),
//!   `/_sim/acumatica/shipments` (GET dump; POST add/modify), `/_sim/acumatica/sessions`,
//!   `/_sim/acumatica/reject` (PUT `{"field","message"}` makes PUTs touching that field
//!   fail with 422; DELETE clears).
//!
//! Fault operations (`--faults`): `login`, `logout`, `token`, `list`, `get`, `put`, `files`,
//! `action`, `entity`; the kind `session-limit` makes `login` answer "API Login Limit".
//!
//! Never: import the connector (`crate::sources`); this file is the other side of the wire.

// Handler helpers return the ready answer as their error (axum style); boxing it buys nothing.
#![allow(clippy::result_large_err)]

pub mod query;
pub mod seed;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::common::{self, FaultKind, Faults, Recorder, SimCore};
use query::QueryOpts;
use seed::{format_ts, w};

/// Command-line options of this simulator (`upsync sim acumatica`).
#[derive(Debug, clap::Args)]
pub struct SimAcumaticaArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Registered user NAME:PASSWORD@TENANT (repeatable). Default: admin:demo@Company.
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// Registered OAuth client ID:SECRET (repeatable). Default: demo-client@Company:demo-secret.
    #[arg(long = "oauth-client")]
    pub oauth_clients: Vec<String>,
    /// Endpoint versions served, NAME/VERSION (repeatable). Default: Default/23.200.001 and Default/24.200.001.
    #[arg(long = "endpoint")]
    pub endpoints: Vec<String>,
    /// Licence limit of concurrent API sessions ("Maximum Number of Web Services API Users").
    #[arg(long, default_value_t = 2)]
    pub max_sessions: usize,
    /// Licence requests-per-minute limit (0 = unlimited).
    #[arg(long, default_value_t = 0)]
    pub rpm: u32,
    /// Number of seeded shipments.
    #[arg(long, default_value_t = 0)]
    pub seed: usize,
    /// Seed value for reproducible records.
    #[arg(long, default_value_t = 42)]
    pub seed_value: u64,
    /// Additional deliberately bad shipments (Nowhere address, zero-weight package).
    #[arg(long, default_value_t = 0)]
    pub seed_bad: usize,
    /// Write every request to this directory (secrets redacted).
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// Fault rules, e.g. `list:429@0.1,login:session-limit#1`.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// A tenant's custom endpoint TENANT:NAME/VERSION (repeatable); listed by `GET /entity`
    /// only to a signed-in user of that tenant (ERP-NOTES §A1).
    #[arg(long = "custom-endpoint")]
    pub custom_endpoints: Vec<String>,
    /// Order of list answers: `varying` (no `$orderby` in the contract, so no order is
    /// promised; each list request gets its own seeded permutation) or `key` (ShipmentNbr).
    #[arg(long, default_value = "varying")]
    pub list_order: String,
    /// HTTP status of the answer to a request made in a session whose long-running action
    /// is still running (ERP-NOTES §A4 says such requests fail, not how).
    #[arg(long, default_value_t = 500)]
    pub busy_status: u16,
}

/// Order in which list answers come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// ShipmentNbr (key) order, stable between requests.
    Key,
    /// A different permutation per list request, reproducible from `seed_value` and the
    /// request count. The contract has no `$orderby` (ERP-NOTES §A3: "`$orderby` is
    /// [UNVERIFIED] because it is not among the spec's parameters") and SQL Server promises
    /// no order without one, so a client must not rely on `$skip` landing where it did.
    Varying,
}

/// One registered user.
#[derive(Debug, Clone, PartialEq)]
pub struct SimUser {
    pub name: String,
    pub password: String,
    pub tenant: String,
}

impl SimUser {
    /// Parse `NAME:PASSWORD@TENANT`.
    pub fn parse(s: &str) -> anyhow::Result<SimUser> {
        let (name, rest) = s
            .split_once(':')
            .ok_or_else(|| anyhow::anyhow!("--user must be NAME:PASSWORD@TENANT"))?;
        let (password, tenant) = rest
            .rsplit_once('@')
            .ok_or_else(|| anyhow::anyhow!("--user must be NAME:PASSWORD@TENANT"))?;
        Ok(SimUser {
            name: name.into(),
            password: password.into(),
            tenant: tenant.into(),
        })
    }
}

/// Everything the CLI flags set; `Default` is the demo setup.
#[derive(Debug, Clone)]
pub struct AcumaticaSimConfig {
    pub listen: SocketAddr,
    pub users: Vec<SimUser>,
    /// `(client_id, client_secret)`.
    pub oauth_clients: Vec<(String, String)>,
    /// `(endpoint name, version)`.
    pub endpoints: Vec<(String, String)>,
    pub max_sessions: usize,
    /// 0 = unlimited.
    pub rpm: u32,
    pub seed: usize,
    pub seed_value: u64,
    pub seed_bad: usize,
    pub record_dir: Option<PathBuf>,
    pub faults: String,
    /// How many status polls of a long-running action answer 202 before 204.
    pub action_polls: u32,
    /// A long-running action stops blocking its session after this long (simulator clock)
    /// even when nobody polls its status (the operation finishes server-side).
    pub action_run_seconds: i64,
    pub token_lifetime_seconds: i64,
    /// `(tenant, endpoint name, version)`: custom endpoints, listed only after sign-in.
    pub custom_endpoints: Vec<(String, String, String)>,
    pub list_order: ListOrder,
    /// Status of the "previous operation has not been completed" answer (default 500).
    pub busy_status: u16,
}

impl Default for AcumaticaSimConfig {
    fn default() -> Self {
        AcumaticaSimConfig {
            listen: "127.0.0.1:0".parse().expect("static address"),
            users: vec![SimUser {
                name: "admin".into(),
                password: "demo".into(),
                tenant: "Company".into(),
            }],
            oauth_clients: vec![("demo-client@Company".into(), "demo-secret".into())],
            endpoints: vec![
                ("Default".into(), "23.200.001".into()),
                ("Default".into(), "24.200.001".into()),
            ],
            max_sessions: 2,
            rpm: 0,
            seed: 0,
            seed_value: 42,
            seed_bad: 0,
            record_dir: None,
            faults: String::new(),
            action_polls: 1,
            action_run_seconds: 60,
            token_lifetime_seconds: 3600,
            custom_endpoints: Vec::new(),
            list_order: ListOrder::Varying,
            busy_status: 500,
        }
    }
}

impl AcumaticaSimConfig {
    pub fn from_args(a: &SimAcumaticaArgs) -> anyhow::Result<Self> {
        let mut c = AcumaticaSimConfig {
            listen: a.listen,
            max_sessions: a.max_sessions,
            rpm: a.rpm,
            seed: a.seed,
            seed_value: a.seed_value,
            seed_bad: a.seed_bad,
            record_dir: a.record_dir.clone(),
            faults: a.faults.clone(),
            busy_status: a.busy_status,
            list_order: match a.list_order.as_str() {
                "varying" => ListOrder::Varying,
                "key" => ListOrder::Key,
                o => anyhow::bail!("--list-order must be varying or key, not '{o}'"),
            },
            ..Default::default()
        };
        for s in &a.custom_endpoints {
            let parsed = s.split_once(':').and_then(|(t, ev)| {
                ev.split_once('/')
                    .map(|(e, v)| (t.to_string(), e.to_string(), v.to_string()))
            });
            c.custom_endpoints.push(
                parsed.ok_or_else(|| {
                    anyhow::anyhow!("--custom-endpoint must be TENANT:NAME/VERSION")
                })?,
            );
        }
        if !a.users.is_empty() {
            c.users = a
                .users
                .iter()
                .map(|u| SimUser::parse(u))
                .collect::<Result<_, _>>()?;
        }
        if !a.oauth_clients.is_empty() {
            c.oauth_clients = a
                .oauth_clients
                .iter()
                .map(|s| {
                    s.rsplit_once(':')
                        .map(|(i, s)| (i.to_string(), s.to_string()))
                        .ok_or_else(|| anyhow::anyhow!("--oauth-client must be ID:SECRET"))
                })
                .collect::<Result<_, _>>()?;
        }
        if !a.endpoints.is_empty() {
            c.endpoints = a
                .endpoints
                .iter()
                .map(|s| {
                    s.split_once('/')
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .ok_or_else(|| anyhow::anyhow!("--endpoint must be NAME/VERSION"))
                })
                .collect::<Result<_, _>>()?;
        }
        Ok(c)
    }
}

#[derive(Debug, Clone)]
struct Session {
    user: String,
    tenant: String,
    last_used: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Token {
    user: String,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct StoredFile {
    id: String,
    shipment_id: String,
    name: String,
    data: Vec<u8>,
}

#[derive(Debug, Clone)]
struct ActionOp {
    shipment_id: String,
    polls_left: u32,
    done: bool,
    /// The session (cookie or bearer token) that started it: its other requests to the
    /// Shipments form fail while it runs (ERP-NOTES §A4, §G6).
    session: String,
    started: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Shipments by id, in wire form; `order` keeps ShipmentNbr (key) order.
    shipments: HashMap<String, Value>,
    order: BTreeMap<String, String>,
    sessions: HashMap<String, Session>,
    max_seen: usize,
    tokens: HashMap<String, Token>,
    refresh: HashMap<String, (String, String)>,
    files: HashMap<String, StoredFile>,
    actions: HashMap<String, ActionOp>,
    rejects: Vec<(String, String)>,
    next_nbr: usize,
    last_ts: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Throttle {
    window: VecDeque<tokio::time::Instant>,
}

/// Shared simulator state.
#[derive(Debug)]
pub struct AcuState {
    pub cfg: AcumaticaSimConfig,
    pub core: Arc<SimCore>,
    recorder: Option<Arc<Recorder>>,
    inner: Mutex<Inner>,
    throttle: tokio::sync::Mutex<Throttle>,
    queued: Mutex<usize>,
    /// List requests answered so far (drives the varying order).
    lists: std::sync::atomic::AtomicU64,
}

impl AcuState {
    pub fn new(cfg: AcumaticaSimConfig) -> anyhow::Result<Arc<AcuState>> {
        let recorder = match &cfg.record_dir {
            Some(d) => Some(Arc::new(Recorder::new(d)?)),
            None => None,
        };
        let faults = Faults::parse(&cfg.faults)?;
        // The recorder runs as middleware (it needs an Arc), so SimCore does not hold it.
        let core = SimCore::new("acumatica", faults, None);
        let mut inner = Inner::default();
        for rec in seed::generate(cfg.seed, cfg.seed_value, cfg.seed_bad) {
            insert(&mut inner, rec);
        }
        let st = Arc::new(AcuState {
            cfg,
            core,
            recorder,
            inner: Mutex::new(inner),
            throttle: tokio::sync::Mutex::new(Throttle::default()),
            queued: Mutex::new(0),
            lists: std::sync::atomic::AtomicU64::new(0),
        });
        st.publish_sessions();
        Ok(st)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of open cookie sessions.
    pub fn open_sessions(&self) -> usize {
        self.lock().sessions.len()
    }

    /// Highest number of simultaneously open sessions seen.
    pub fn max_sessions_seen(&self) -> usize {
        self.lock().max_seen
    }

    /// A shipment in wire form (full, with custom fields and files), by id or ShipmentNbr.
    pub fn shipment(&self, key: &str) -> Option<Value> {
        let g = self.lock();
        find(&g, key).and_then(|id| g.shipments.get(&id).cloned())
    }

    /// All shipments in key order (wire form).
    pub fn shipments(&self) -> Vec<Value> {
        let g = self.lock();
        g.order
            .values()
            .filter_map(|id| g.shipments.get(id).cloned())
            .collect()
    }

    /// Names and sizes of the files attached to a shipment.
    pub fn files_of(&self, shipment_id: &str) -> Vec<(String, usize)> {
        let g = self.lock();
        let mut v: Vec<_> = g
            .files
            .values()
            .filter(|f| f.shipment_id == shipment_id)
            .map(|f| (f.name.clone(), f.data.len()))
            .collect();
        v.sort();
        v
    }

    fn publish_sessions(&self) {
        let (open, max) = {
            let g = self.lock();
            (g.sessions.len() as u64, g.max_seen as u64)
        };
        self.core.stats.set("sessions.open", open);
        self.core.stats.set("sessions.max_seen", max);
    }

    fn now(&self) -> DateTime<Utc> {
        self.core.clock.now()
    }
}

fn insert(g: &mut Inner, rec: Value) {
    let id = rec["id"].as_str().unwrap_or_default().to_string();
    let nbr = rec["ShipmentNbr"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Ok(n) = nbr.parse::<usize>() {
        g.next_nbr = g.next_nbr.max(n);
    }
    if let Some(t) = rec["LastModifiedDateTime"]["value"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    {
        let t = t.with_timezone(&Utc);
        g.last_ts = Some(g.last_ts.map_or(t, |l| l.max(t)));
    }
    g.order.insert(nbr, id.clone());
    g.shipments.insert(id, rec);
}

fn find(g: &Inner, key: &str) -> Option<String> {
    if g.shipments.contains_key(key) {
        return Some(key.to_string());
    }
    g.order.get(key).cloned()
}

/// A new modification time: never earlier than any stored one (so incremental readers see
/// it), and deliberately allowed to equal the latest one (ties are real).
fn touch(g: &mut Inner, now: DateTime<Utc>) -> String {
    let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let t = g.last_ts.map_or(now, |l| l.max(now));
    g.last_ts = Some(t);
    format_ts(t)
}

/// Handle of a running simulator.
#[derive(Debug, Clone)]
pub struct SimHandle {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (the instance URL: the site is installed at the root).
    pub base_url: String,
    pub core: Arc<SimCore>,
    pub state: Arc<AcuState>,
}

/// Bind `cfg.listen` and serve in a tokio task.
pub async fn spawn(cfg: AcumaticaSimConfig) -> anyhow::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    let state = AcuState::new(cfg)?;
    let app = router(state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "acumatica simulator stopped");
        }
    });
    Ok(SimHandle {
        addr,
        base_url: format!("http://{addr}"),
        core: state.core.clone(),
        state,
    })
}

/// The simulator's routes (for `oneshot` tests without sockets).
pub fn router(state: Arc<AcuState>) -> Router {
    let mut app = Router::new()
        .route("/entity", get(list_endpoints))
        .route("/entity/auth/login", post(login))
        .route("/entity/auth/logout", post(logout))
        .route("/identity/connect/token", post(token))
        .route("/entity/{ep}/{ver}/swagger.json", get(swagger))
        .route("/entity/{ep}/{ver}/Shipment", get(list).put(upsert))
        .route(
            "/entity/{ep}/{ver}/Shipment/{key}",
            get(get_one).delete(delete_one).post(action),
        )
        .route(
            "/entity/{ep}/{ver}/Shipment/{action}/status/{op}",
            get(action_status),
        )
        .route(
            "/entity/{ep}/{ver}/Shipment/{ids}/files/{filename}",
            put(put_file).get(get_attached_file),
        )
        .route("/entity/{ep}/{ver}/files/{file_id}", get(get_file))
        .route(
            "/_sim/acumatica/shipments",
            get(admin_dump).post(admin_upsert),
        )
        .route("/_sim/acumatica/sessions", get(admin_sessions))
        .route(
            "/_sim/acumatica/reject",
            put(admin_reject).delete(admin_unreject),
        )
        .fallback(not_found)
        .with_state(state.clone())
        .merge(common::admin_router(state.core.clone()));
    if let Some(rec) = &state.recorder {
        app = app.layer(axum::middleware::from_fn_with_state(
            rec.clone(),
            common::record::record_requests,
        ));
    }
    app
}

/// `upsync sim acumatica`: spawn, print the URL, wait for Ctrl-C.
pub async fn run(args: SimAcumaticaArgs) -> anyhow::Result<ExitCode> {
    let cfg = AcumaticaSimConfig::from_args(&args)?;
    let users: Vec<String> = cfg
        .users
        .iter()
        .map(|u| format!("{}@{}", u.name, u.tenant))
        .collect();
    let h = spawn(cfg).await?;
    println!("acumatica simulator listening on {}", h.base_url);
    println!(
        "  endpoints: {}/entity   users: {}",
        h.base_url,
        users.join(", ")
    );
    println!(
        "  shipments: {}   admin: {}/_sim/stats",
        h.state.shipments().len(),
        h.base_url
    );
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------
// Shared answers

fn http_error(
    status: StatusCode,
    message: &str,
    exception: &str,
    exception_type: &str,
) -> Response {
    (
        status,
        Json(json!({
            "message": message,
            "exceptionMessage": exception,
            "exceptionType": exception_type,
            "stackTrace": "   at PX.Api.ContractBased (simulated)",
        })),
    )
        .into_response()
}

fn error_500(exception: &str, exception_type: &str) -> Response {
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        exception,
        exception_type,
    )
}

fn not_logged_in() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "You are not logged in."})),
    )
        .into_response()
}

fn licence_429() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "The request has been declined.",
        "The number of requests has exceeded the limit imposed by the license.",
        "PX.Api.ContractBased.RequestLimitExceededException",
    )
}

fn login_limit() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "An error has occurred.",
        "API Login Limit",
        "PX.Data.PXException",
    )
}

fn iis_404() -> Response {
    (
        StatusCode::NOT_FOUND,
        [("content-type", "text/html")],
        "<html><body><h2>404 - File or directory not found.</h2></body></html>",
    )
        .into_response()
}

async fn not_found() -> Response {
    iis_404()
}

fn bad_request(msg: &str) -> Response {
    http_error(
        StatusCode::BAD_REQUEST,
        msg,
        msg,
        "System.ArgumentException",
    )
}

/// Apply injected faults for `op`: `Ok(drop_after_commit)` to continue, `Err` to answer now.
async fn faults(st: &AcuState, op: &str) -> Result<bool, Response> {
    st.core.stats.incr(op);
    let mut drop_after = false;
    for f in st.core.faults.decide(op) {
        match f.kind {
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::Status(429) => {
                st.core.stats.incr(&format!("{op}.429"));
                return Err(licence_429());
            }
            FaultKind::Status(code) => {
                st.core.stats.incr(&format!("{op}.{code}"));
                let s = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(http_error(
                    s,
                    "An error has occurred.",
                    "Simulated failure.",
                    "System.Exception",
                ));
            }
            FaultKind::Reset => return Err(common::faults::broken_response()),
            FaultKind::DropAfterCommit => drop_after = true,
            FaultKind::Other(k) if k == "session-limit" => {
                st.core.stats.incr(&format!("{op}.login_limit"));
                return Err(login_limit());
            }
            FaultKind::Other(_) => {}
        }
    }
    Ok(drop_after)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Who is calling: a cookie session or a bearer token.
fn principal(st: &AcuState, headers: &HeaderMap) -> Result<String, Response> {
    let now = st.now();
    let mut g = st.lock();
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        if let Some(tok) = auth.strip_prefix("Bearer ") {
            return match g.tokens.get(tok) {
                Some(t) if t.expires > now => Ok(t.user.clone()),
                _ => Err(not_logged_in()),
            };
        }
    }
    if let Some(sid) = cookie(headers, ".ASPXAUTH") {
        expire_idle(&mut g, now);
        if let Some(s) = g.sessions.get_mut(&sid) {
            s.last_used = now;
            return Ok(s.user.clone());
        }
    }
    Err(not_logged_in())
}

/// The session a request belongs to: its `.ASPXAUTH` cookie or its bearer token.
fn session_key(headers: &HeaderMap) -> Option<String> {
    if let Some(tok) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        return Some(format!("bearer:{tok}"));
    }
    cookie(headers, ".ASPXAUTH").map(|c| format!("cookie:{c}"))
}

/// The tenant of a signed-in caller, without touching the session (for `GET /entity`).
fn tenant_of(st: &AcuState, headers: &HeaderMap) -> Option<String> {
    let now = st.now();
    let g = st.lock();
    let user = match session_key(headers)? {
        k if k.starts_with("bearer:") => {
            let t = g.tokens.get(&k["bearer:".len()..])?;
            if t.expires <= now {
                return None;
            }
            t.user.clone()
        }
        k => {
            let s = g.sessions.get(&k["cookie:".len()..])?;
            if now - s.last_used >= chrono::Duration::minutes(20) {
                return None;
            }
            return Some(s.tenant.clone());
        }
    };
    st.cfg
        .users
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(&user))
        .map(|u| u.tenant.clone())
}

/// ERP-NOTES §A4 (ACU-DOC Action_Execution): "While the operation runs, other requests in
/// that session to the same form fail, so only the status request succeeds" (§G6). How they
/// fail is not documented: the answer is an `HttpError` with the platform's
/// "previous operation" text, status `busy_status` (default 500, like other PXExceptions).
fn busy(st: &AcuState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(key) = session_key(headers) else {
        return Ok(());
    };
    let now = st.now();
    let run = chrono::Duration::seconds(st.cfg.action_run_seconds);
    let running = st
        .lock()
        .actions
        .values()
        .any(|a| a.session == key && !a.done && now - a.started < run);
    if !running {
        return Ok(());
    }
    st.core.stats.incr("busy");
    Err(http_error(
        StatusCode::from_u16(st.cfg.busy_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "An error has occurred.",
        "The previous operation has not been completed yet.",
        "PX.Data.PXException",
    ))
}

fn expire_idle(g: &mut Inner, now: DateTime<Utc>) {
    g.sessions
        .retain(|_, s| now - s.last_used < chrono::Duration::minutes(20));
}

/// The licence's requests-per-minute rule (ACU-DOC License_Restrictions).
async fn throttle(st: &AcuState) -> Result<(), Response> {
    let rpm = st.cfg.rpm as usize;
    if rpm == 0 {
        return Ok(());
    }
    {
        let mut q = st.queued.lock().unwrap_or_else(|e| e.into_inner());
        if *q > 20 {
            st.core.stats.incr("throttle.429");
            return Err(licence_429());
        }
        *q += 1;
    }
    let minute = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    loop {
        let mut t = st.throttle.lock().await;
        let now = tokio::time::Instant::now();
        while t
            .window
            .front()
            .is_some_and(|f| now.duration_since(*f) >= minute)
        {
            t.window.pop_front();
        }
        let used = t.window.len();
        if used >= rpm {
            let wait = minute - now.duration_since(*t.window.front().expect("non-empty at limit"));
            drop(t);
            if started.elapsed() > Duration::from_secs(600) {
                *st.queued.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                st.core.stats.incr("throttle.429");
                return Err(licence_429());
            }
            st.core.stats.incr("throttle.queued");
            tokio::time::sleep(wait).await;
            continue;
        }
        let delay = if used * 2 >= rpm {
            let left_in_window = t
                .window
                .front()
                .map_or(minute, |f| minute - now.duration_since(*f));
            left_in_window / (rpm - used) as u32
        } else {
            Duration::ZERO
        };
        t.window.push_back(now + delay);
        drop(t);
        if delay > Duration::ZERO {
            st.core.stats.incr("throttle.delayed");
            tokio::time::sleep(delay).await;
        }
        *st.queued.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        return Ok(());
    }
}

fn check_endpoint(st: &AcuState, ep: &str, ver: &str) -> Result<(), Response> {
    if st.cfg.endpoints.iter().any(|(e, v)| e == ep && v == ver)
        || st
            .cfg
            .custom_endpoints
            .iter()
            .any(|(_, e, v)| e == ep && v == ver)
    {
        Ok(())
    } else {
        st.core.stats.incr("endpoint.404");
        Err(iis_404())
    }
}

/// The common prologue of an entity request: endpoint, faults, sign-in, the session's
/// running action (§A4), throttle.
async fn enter(
    st: &AcuState,
    op: &str,
    ep: &str,
    ver: &str,
    headers: &HeaderMap,
) -> Result<bool, Response> {
    check_endpoint(st, ep, ver)?;
    let drop_after = faults(st, op).await?;
    principal(st, headers).inspect_err(|_| st.core.stats.incr(&format!("{op}.401")))?;
    if op != "action.status" {
        busy(st, headers)?;
    }
    throttle(st).await?;
    Ok(drop_after)
}

// ---------------------------------------------------------------------------------------
// Endpoint list, swagger

/// ERP-NOTES §A1 (ACU-DOC Get_List_of_Endpoints): "No auth is needed; sending auth adds the
/// tenant's custom endpoints."
async fn list_endpoints(State(st): State<Arc<AcuState>>, headers: HeaderMap) -> Response {
    if let Err(r) = faults(&st, "entity").await {
        return r;
    }
    let tenant = tenant_of(&st, &headers);
    if tenant.is_some() {
        st.core.stats.incr("entity.signed_in");
    }
    let custom = st.cfg.custom_endpoints.iter().filter(|(t, _, _)| {
        tenant
            .as_deref()
            .is_some_and(|mine| t.eq_ignore_ascii_case(mine))
    });
    let endpoints: Vec<Value> = st
        .cfg
        .endpoints
        .iter()
        .map(|(n, v)| (n, v))
        .chain(custom.map(|(_, n, v)| (n, v)))
        .map(|(n, v)| json!({"name": n, "version": v, "href": format!("/entity/{n}/{v}/")}))
        .collect();
    Json(json!({
        "version": {"acumaticaBuildVersion": "24.211.0021", "databaseVersion": "24.211.0021"},
        "endpoints": endpoints
    }))
    .into_response()
}

const SPEC_23: &str = include_str!("spec/Shipment_Default_23.200.001.swagger.json");
const SPEC_24: &str = include_str!("spec/Shipment_Default_24.200.001.openapi.json");

async fn swagger(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_endpoint(&st, &ep, &ver) {
        return r;
    }
    st.core.stats.incr("swagger");
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    // 24.x and later are OpenAPI 3 documents; earlier versions are Swagger 2.0.
    let use_v3 = ver.as_str() >= "24";
    let mut doc: Value = serde_json::from_str(if use_v3 { SPEC_24 } else { SPEC_23 })
        .expect("vendored spec is JSON");
    let base = format!("/entity/{ep}/{ver}");
    if use_v3 {
        doc["servers"] = json!([{"url": format!("http://{host}{base}")}]);
    } else {
        doc["host"] = json!(host);
        doc["basePath"] = json!(base);
        doc["schemes"] = json!(["http"]);
    }
    doc["info"]["title"] = json!(format!("{ep}/{ver}"));
    doc["info"]["version"] = json!(ver);
    Json(doc).into_response()
}

// ---------------------------------------------------------------------------------------
// Sign-in

async fn login(State(st): State<Arc<AcuState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = faults(&st, "login").await {
        return r;
    }
    let form: Map<String, Value> = if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return bad_request(
                    "The request body must be a JSON object with name and password.",
                )
            }
        }
    };
    let s = |k: &str| {
        form.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (name, password) = (s("name"), s("password"));
    let tenant = if form.contains_key("tenant") {
        s("tenant")
    } else {
        s("company")
    };
    let user = st.cfg.users.iter().find(|u| {
        u.name.eq_ignore_ascii_case(&name)
            && u.password == password
            && (tenant.is_empty() || u.tenant.eq_ignore_ascii_case(&tenant))
    });
    let Some(user) = user.cloned() else {
        st.core.stats.incr("login.invalid");
        return error_500(
            "Error: Invalid credentials. Please try again.",
            "PX.Data.PXException",
        );
    };
    let now = st.now();
    let sid = {
        let mut g = st.lock();
        expire_idle(&mut g, now);
        if g.sessions.len() >= st.cfg.max_sessions {
            drop(g);
            st.core.stats.incr("login.login_limit");
            return login_limit();
        }
        let sid = uuid::Uuid::new_v4().simple().to_string();
        g.sessions.insert(
            sid.clone(),
            Session {
                user: user.name.clone(),
                tenant: user.tenant.clone(),
                last_used: now,
            },
        );
        g.max_seen = g.max_seen.max(g.sessions.len());
        sid
    };
    st.publish_sessions();
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    let branch = s("branch");
    for c in [
        format!(".ASPXAUTH={sid}; path=/; HttpOnly"),
        format!("ASP.NET_SessionId={}; path=/; HttpOnly", &sid[..16]),
        format!(
            "UserBranch={}; path=/",
            if branch.is_empty() { "1" } else { &branch }
        ),
        format!(
            "Locale=Culture={}; path=/",
            if s("locale").is_empty() {
                "en-US".to_string()
            } else {
                s("locale")
            }
        ),
        format!("CompanyID={}; path=/", user.tenant),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append("set-cookie", v);
        }
    }
    resp
}

async fn logout(State(st): State<Arc<AcuState>>, headers: HeaderMap) -> Response {
    if let Err(r) = faults(&st, "logout").await {
        return r;
    }
    if let Some(sid) = cookie(&headers, ".ASPXAUTH") {
        st.lock().sessions.remove(&sid);
        st.publish_sessions();
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(
        "set-cookie",
        HeaderValue::from_static(".ASPXAUTH=; expires=Thu, 01-Jan-1970 00:00:00 GMT; path=/"),
    );
    resp
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

async fn token(State(st): State<Arc<AcuState>>, body: Bytes) -> Response {
    if let Err(r) = faults(&st, "token").await {
        return r;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let client_id = get("client_id");
    if !st
        .cfg
        .oauth_clients
        .iter()
        .any(|(i, s)| *i == client_id && *s == get("client_secret"))
    {
        st.core.stats.incr("token.invalid_client");
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let tenant = client_id.rsplit_once('@').map(|(_, t)| t.to_string());
    let scope = get("scope");
    let (user, scope) = match get("grant_type").as_str() {
        "password" => {
            let ok = st.cfg.users.iter().find(|u| {
                u.name.eq_ignore_ascii_case(&get("username"))
                    && u.password == get("password")
                    && tenant
                        .as_ref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(&u.tenant))
            });
            match ok {
                Some(u) => (u.name.clone(), scope),
                None => {
                    st.core.stats.incr("token.invalid_grant");
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
            }
        }
        "refresh_token" => {
            let rt = get("refresh_token");
            let found = st.lock().refresh.remove(&rt);
            match found {
                Some((user, sc)) => (user, sc),
                None => {
                    st.core.stats.incr("token.invalid_grant");
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    if !scope.split(' ').any(|s| s == "api") {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let access = uuid::Uuid::new_v4().simple().to_string();
    let expires = st.now() + chrono::Duration::seconds(st.cfg.token_lifetime_seconds);
    let mut out = json!({
        "access_token": access, "expires_in": st.cfg.token_lifetime_seconds,
        "token_type": "Bearer", "scope": scope,
    });
    let mut g = st.lock();
    g.tokens.insert(
        access,
        Token {
            user: user.clone(),
            expires,
        },
    );
    if scope.split(' ').any(|s| s == "offline_access") {
        let rt = uuid::Uuid::new_v4().simple().to_string();
        g.refresh.insert(rt.clone(), (user, scope));
        out["refresh_token"] = json!(rt);
    }
    Json(out).into_response()
}

// ---------------------------------------------------------------------------------------
// Shipment reads

async fn list(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "list", &ep, &ver, &headers).await {
        return r;
    }
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    let g = st.lock();
    let mut matching: Vec<&Value> = g
        .order
        .values()
        .filter_map(|id| g.shipments.get(id))
        .filter(|r| q.filter.as_ref().is_none_or(|f| query::matches(f, r)))
        .collect();
    if st.cfg.list_order == ListOrder::Varying {
        // No `$orderby` in the contract: each answer may come in another order (see ListOrder).
        use rand::{seq::SliceRandom, SeedableRng};
        let n = st.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            st.cfg.seed_value ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        matching.shuffle(&mut rng);
    }
    let rows: Vec<Value> = matching
        .into_iter()
        .skip(q.skip)
        .take(q.top.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(i, r)| {
            let mut v = query::shape(r, &q, false);
            version_fields(&mut v, &ver, &q);
            v["rowNumber"] = json!(i + 1);
            v
        })
        .collect();
    drop(g);
    st.core.stats.add("list.rows", rows.len() as u64);
    Json(Value::Array(rows)).into_response()
}

/// Fields that differ between contract versions: 24.200.001 adds `Shipment.UnlimitedPackages`.
fn version_fields(v: &mut Value, ver: &str, q: &QueryOpts) {
    if ver >= "24" && q.select.is_empty() {
        if let Some(m) = v.as_object_mut() {
            m.entry("UnlimitedPackages")
                .or_insert_with(|| w(json!(false)));
        }
    }
}

fn no_entity() -> Response {
    error_500(
        "No entity satisfies the condition.",
        "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
    )
}

async fn get_one(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, key)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "get", &ep, &ver, &headers).await {
        return r;
    }
    if key == "$adHocSchema" {
        return Json(ad_hoc_schema()).into_response();
    }
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    let g = st.lock();
    match find(&g, &key).and_then(|id| g.shipments.get(&id)) {
        Some(r) => {
            // `files` (on every Entity, ACU-SPEC) comes back only with `$expand=files`, like
            // every other detail collection in contract v4 (ERP-NOTES §A3).
            let mut v = query::shape(r, &q, false);
            version_fields(&mut v, &ver, &q);
            Json(v).into_response()
        }
        None => no_entity(),
    }
}

fn ad_hoc_schema() -> Value {
    let recs = seed::generate(1, 1, 0);
    let mut r = recs.into_iter().next().unwrap_or_default();
    for (_, view) in r["custom"].as_object_mut().into_iter().flatten() {
        for (_, f) in view.as_object_mut().into_iter().flatten() {
            f.as_object_mut().map(|m| m.remove("value"));
        }
    }
    json!({"custom": r["custom"].clone()})
}

async fn delete_one(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, key)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "delete", &ep, &ver, &headers).await {
        return r;
    }
    let mut g = st.lock();
    match find(&g, &key) {
        Some(id) => {
            // ERP-NOTES.md §A4 / ACU-UG SO_30_20_00: a shipment is deleted (there is no
            // Cancelled status) while it is On Hold or Open; a Confirmed one is first
            // reopened with CorrectShipment. Later statuses cannot be deleted.
            let status = g.shipments[&id]["Status"]["value"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if !matches!(status.as_str(), "" | "On Hold" | "Open") {
                return error_500(
                    &format!("The shipment cannot be deleted because its status is {status}. Correct the shipment first."),
                    "PX.Data.PXException",
                );
            }
            if let Some(r) = g.shipments.remove(&id) {
                if let Some(n) = r["ShipmentNbr"]["value"].as_str() {
                    g.order.remove(n);
                }
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_entity(),
    }
}

// ---------------------------------------------------------------------------------------
// PUT upsert

const TRACKING_MAX: usize = 30;

/// Merge a wire-form body into a stored record. Returns whether anything changed, and the
/// per-field errors (the 422 body marks them on a copy of the request).
fn merge(
    stored: &mut Value,
    body: &Value,
    rejects: &[(String, String)],
    errors: &mut Vec<(Vec<String>, String)>,
) -> bool {
    let mut changed = false;
    let Value::Object(b) = body else { return false };
    for (k, v) in b {
        match k.as_str() {
            "id" | "rowNumber" | "files" | "_links" | "error" | "delete" => continue,
            "custom" => {
                for (view, fields) in v.as_object().into_iter().flatten() {
                    for (field, fv) in fields.as_object().into_iter().flatten() {
                        if let Some((_, msg)) = rejects
                            .iter()
                            .find(|(f, _)| f == field || *f == format!("custom.{view}.{field}"))
                        {
                            errors.push((
                                vec!["custom".into(), view.clone(), field.clone()],
                                msg.clone(),
                            ));
                            continue;
                        }
                        let slot = &mut stored["custom"][view][field];
                        let newv = fv.get("value").cloned().unwrap_or(Value::Null);
                        if slot.get("value").cloned().unwrap_or(Value::Null) != newv {
                            let kind = fv
                                .get("type")
                                .or_else(|| slot.get("type"))
                                .cloned()
                                .unwrap_or(json!("CustomStringField"));
                            *slot = if newv.is_null() {
                                json!({"type": kind})
                            } else {
                                json!({"type": kind, "value": newv})
                            };
                            changed = true;
                        }
                    }
                }
            }
            _ if v.is_array() => {
                let lines = stored[k.as_str()].as_array().cloned().unwrap_or_default();
                let mut lines = lines;
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    let pos = item
                        .get("id")
                        .and_then(|id| id.as_str())
                        .and_then(|id| lines.iter().position(|l| l["id"] == id))
                        .or_else(|| {
                            item.get("LineNbr")
                                .and_then(|n| n.get("value"))
                                .and_then(|n| {
                                    lines.iter().position(|l| l["LineNbr"]["value"] == *n)
                                })
                        });
                    if item.get("delete").and_then(|d| d.as_bool()) == Some(true) {
                        if let Some(p) = pos {
                            lines.remove(p);
                            changed = true;
                        }
                        continue;
                    }
                    let mut line_errors = Vec::new();
                    let line = match pos {
                        Some(p) => &mut lines[p],
                        None => {
                            lines.push(json!({"id": uuid::Uuid::new_v4().to_string(), "rowNumber": lines.len() + 1, "custom": {}}));
                            changed = true;
                            lines.last_mut().expect("just pushed")
                        }
                    };
                    if k == "Packages" {
                        if let Some(t) = item
                            .get("TrackingNbr")
                            .and_then(|t| t.get("value"))
                            .and_then(|t| t.as_str())
                        {
                            if t.chars().count() > TRACKING_MAX {
                                line_errors.push((
                                    vec!["TrackingNbr".to_string()],
                                    format!("'Tracking Number' cannot be longer than {TRACKING_MAX} characters."),
                                ));
                            }
                        }
                    }
                    if line_errors.is_empty() {
                        changed |= merge(line, item, rejects, &mut line_errors);
                    }
                    for (mut p, m) in line_errors {
                        p.insert(0, i.to_string());
                        p.insert(0, k.clone());
                        errors.push((p, m));
                    }
                }
                stored[k.as_str()] = Value::Array(lines);
            }
            _ if v.is_object() && !query::is_wrapper(v) => {
                let mut sub = Vec::new();
                changed |= merge(&mut stored[k.as_str()], v, rejects, &mut sub);
                for (mut p, m) in sub {
                    p.insert(0, k.clone());
                    errors.push((p, m));
                }
            }
            _ => {
                if let Some((_, msg)) = rejects.iter().find(|(f, _)| f == k) {
                    errors.push((vec![k.clone()], msg.clone()));
                    continue;
                }
                if matches!(
                    k.as_str(),
                    "ShipmentNbr" | "LastModifiedDateTime" | "CreatedDateTime"
                ) {
                    continue;
                }
                let newv = v.get("value").cloned().unwrap_or(Value::Null);
                if stored[k.as_str()]
                    .get("value")
                    .cloned()
                    .unwrap_or(Value::Null)
                    != newv
                {
                    stored[k.as_str()] = w(newv);
                    changed = true;
                }
            }
        }
    }
    changed
}

fn set_error(v: &mut Value, path: &[String], msg: &str) {
    let Some((seg, rest)) = path.split_first() else {
        if v.is_object() {
            v["error"] = json!(msg);
        } else {
            *v = json!({"error": msg});
        }
        return;
    };
    match v {
        Value::Array(a) => {
            if let Some(item) = seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                set_error(item, rest, msg);
            }
        }
        Value::Object(m) => set_error(m.entry(seg.clone()).or_insert(json!({})), rest, msg),
        _ => {}
    }
}

/// The 422 body: the request entity with `error` set on each failing field.
fn mark_errors(body: &Value, errors: &[(Vec<String>, String)]) -> Value {
    let mut out = body.clone();
    for (path, msg) in errors {
        set_error(&mut out, path, msg);
    }
    out["error"] = json!(errors
        .iter()
        .map(|(p, m)| format!("{}: {m}", p.join(".")))
        .collect::<Vec<_>>()
        .join("; "));
    out
}

async fn upsert(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let drop_after = match enter(&st, "put", &ep, &ver, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("The request body must be a JSON object."),
    };
    // Unwrapped values are a client bug (ERP-NOTES §G2): reject them like the instance does.
    for (k, v) in body.as_object().into_iter().flatten() {
        if !matches!(
            k.as_str(),
            "id" | "rowNumber" | "custom" | "note" | "files" | "delete"
        ) && !v.is_object()
            && !v.is_array()
        {
            st.core.stats.incr("put.400");
            return bad_request(&format!(
                "The value of '{k}' must be an object with a 'value' property."
            ));
        }
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()) == Some("*");
    let now = st.now();
    let mut g = st.lock();
    let key = body["id"]
        .as_str()
        .and_then(|id| find(&g, id))
        .or_else(|| {
            body["ShipmentNbr"]["value"]
                .as_str()
                .and_then(|n| find(&g, n))
        })
        .or_else(|| {
            q.filter.as_ref().and_then(|f| {
                g.order
                    .values()
                    .find(|id| g.shipments.get(*id).is_some_and(|r| query::matches(f, r)))
                    .cloned()
            })
        });
    let (mut rec, is_new) = match key.as_ref().and_then(|id| g.shipments.get(id)) {
        Some(r) => (r.clone(), false),
        None if if_match => {
            drop(g);
            st.core.stats.incr("put.412");
            return http_error(
                StatusCode::PRECONDITION_FAILED,
                "The record does not exist.",
                "No entity satisfies the condition.",
                "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
            );
        }
        None => {
            g.next_nbr += 1;
            let nbr = format!("{:06}", g.next_nbr);
            let mut r = seed::generate(1, g.next_nbr as u64, 0).remove(0);
            r["id"] = json!(uuid::Uuid::new_v4().to_string());
            r["ShipmentNbr"] = w(json!(nbr));
            (r, true)
        }
    };
    let rejects = g.rejects.clone();
    let mut errors = Vec::new();
    let changed = merge(&mut rec, &body, &rejects, &mut errors);
    if !errors.is_empty() {
        drop(g);
        st.core.stats.incr("put.422");
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(mark_errors(&body, &errors)),
        )
            .into_response();
    }
    if changed || is_new {
        let ts = touch(&mut g, now);
        rec["LastModifiedDateTime"] = w(json!(ts));
        if is_new {
            rec["CreatedDateTime"] = w(json!(ts));
        }
        insert(&mut g, rec.clone());
        st.core.stats.incr("put.changed");
    } else {
        st.core.stats.incr("put.unchanged");
    }
    drop(g);
    if drop_after {
        return common::faults::broken_response();
    }
    Json(query::shape(&rec, &q, false)).into_response()
}

// ---------------------------------------------------------------------------------------
// Files

/// `PUT /Shipment/{ids}/files/{filename}`: ACU-SPEC (`Shipment_PutFile`) declares `ids` as
/// "The values of the key fields of the record. The values are slash-delimited." — for a
/// Shipment the ShipmentNbr, not the record's `id` GUID (only `GET/DELETE /Shipment/{id}`
/// take the GUID). A GUID there finds no record: the documented "No entity satisfies the
/// condition" HttpError with 500 (ERP-NOTES §A3, §G5).
async fn put_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, ids, filename)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let drop_after = match enter(&st, "files", &ep, &ver, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut g = st.lock();
    let Some(sid) = g.order.get(&ids).cloned() else {
        drop(g);
        st.core.stats.incr("files.no_entity");
        return no_entity();
    };
    let nbr = g.shipments[&sid]["ShipmentNbr"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let full_name = format!("Shipments ({nbr})\\{filename}");
    let existing = g
        .files
        .values()
        .find(|f| f.shipment_id == sid && f.name == full_name)
        .map(|f| f.id.clone());
    let fid = existing.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    g.files.insert(
        fid.clone(),
        StoredFile {
            id: fid.clone(),
            shipment_id: sid.clone(),
            name: full_name,
            data: body.to_vec(),
        },
    );
    let list: Vec<Value> = {
        let mut v: Vec<&StoredFile> = g.files.values().filter(|f| f.shipment_id == sid).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.iter()
            .map(|f| json!({"id": f.id, "filename": f.name, "href": format!("/entity/{ep}/{ver}/files/{}", f.id)}))
            .collect()
    };
    if let Some(r) = g.shipments.get_mut(&sid) {
        r["files"] = Value::Array(list);
    }
    drop(g);
    if drop_after {
        return common::faults::broken_response();
    }
    StatusCode::NO_CONTENT.into_response()
}

fn file_response(f: &StoredFile) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/octet-stream")],
        f.data.clone(),
    )
        .into_response()
}

async fn get_attached_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, ids, filename)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "files", &ep, &ver, &headers).await {
        return r;
    }
    let g = st.lock();
    let Some(sid) = g.order.get(&ids).cloned() else {
        return no_entity();
    };
    let suffix = format!("\\{filename}");
    match g
        .files
        .values()
        .find(|f| f.shipment_id == sid && f.name.ends_with(&suffix))
    {
        Some(f) => file_response(f),
        None => no_entity(),
    }
}

async fn get_file(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, file_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "files", &ep, &ver, &headers).await {
        return r;
    }
    let g = st.lock();
    match g.files.get(&file_id) {
        Some(f) => file_response(f),
        None => no_entity(),
    }
}

// ---------------------------------------------------------------------------------------
// Actions

async fn action(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = enter(&st, "action", &ep, &ver, &headers).await {
        return r;
    }
    if !matches!(
        name.as_str(),
        "ConfirmShipment" | "CorrectShipment" | "UpdateIN" | "PrepareInvoice"
    ) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "An action with this name does not exist."})),
        )
            .into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let entity = &body["entity"];
    let mut g = st.lock();
    let key = entity["id"]
        .as_str()
        .and_then(|id| find(&g, id))
        .or_else(|| {
            entity["ShipmentNbr"]["value"]
                .as_str()
                .and_then(|n| find(&g, n))
        });
    let Some(id) = key else {
        drop(g);
        return no_entity();
    };
    if name == "ConfirmShipment" {
        let rec = &g.shipments[&id];
        if rec["Hold"]["value"] == json!(true) {
            drop(g);
            return error_500(
                "The shipment is on hold and cannot be confirmed.",
                "PX.Data.PXException",
            );
        }
    }
    let op = uuid::Uuid::new_v4().to_string();
    let now = st.now();
    g.actions.insert(
        op.clone(),
        ActionOp {
            shipment_id: id,
            polls_left: st.cfg.action_polls,
            done: false,
            session: session_key(&headers).unwrap_or_default(),
            started: now,
        },
    );
    drop(g);
    st.core.stats.incr(&format!("action.{name}"));
    let mut resp = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/entity/{ep}/{ver}/Shipment/{name}/status/{op}"))
    {
        resp.headers_mut().insert("location", v);
    }
    resp
}

async fn action_status(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, name, op)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    // The status request is the one request the running action lets through (§A4).
    if let Err(r) = enter(&st, "action.status", &ep, &ver, &headers).await {
        return r;
    }
    let now = st.now();
    let mut g = st.lock();
    let Some(a) = g.actions.get_mut(&op) else {
        drop(g);
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "The operation does not exist."})),
        )
            .into_response();
    };
    if a.done {
        return StatusCode::NO_CONTENT.into_response();
    }
    if a.polls_left > 0 {
        a.polls_left -= 1;
        return StatusCode::ACCEPTED.into_response();
    }
    a.done = true;
    let sid = a.shipment_id.clone();
    let new_status = match name.as_str() {
        "ConfirmShipment" => Some("Confirmed"),
        "CorrectShipment" => Some("Open"),
        "PrepareInvoice" => Some("Invoiced"),
        _ => None,
    };
    if let Some(s) = new_status {
        let ts = touch(&mut g, now);
        if let Some(r) = g.shipments.get_mut(&sid) {
            r["Status"] = w(json!(s));
            r["LastModifiedDateTime"] = w(json!(ts));
            if s == "Confirmed" {
                for p in r["Packages"].as_array_mut().into_iter().flatten() {
                    p["Confirmed"] = w(json!(true));
                }
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

// ---------------------------------------------------------------------------------------
// Admin

async fn admin_dump(State(st): State<Arc<AcuState>>) -> Json<Value> {
    Json(Value::Array(st.shipments()))
}

/// POST a shipment in wire form. With an `id` or `ShipmentNbr` that exists, the given fields
/// are merged (address change, hold, status, new packages…); otherwise a new shipment is
/// created from a seeded template (a "new release"). `{"touch": true}` only bumps
/// LastModifiedDateTime. Either way LastModifiedDateTime moves to "now" (never backwards),
/// unless `{"backdate_seconds": N}` stamps it N seconds earlier (a late commit).
async fn admin_upsert(State(st): State<Arc<AcuState>>, Json(body): Json<Value>) -> Response {
    let now = st.now();
    let mut g = st.lock();
    let key = body["id"].as_str().and_then(|id| find(&g, id)).or_else(|| {
        body["ShipmentNbr"]["value"]
            .as_str()
            .and_then(|n| find(&g, n))
    });
    let mut rec = match key.and_then(|k| g.shipments.get(&k).cloned()) {
        Some(r) => r,
        None => {
            g.next_nbr += 1;
            let n = g.next_nbr;
            let mut r = seed::generate(1, st.cfg.seed_value ^ n as u64, 0).remove(0);
            r["id"] = json!(body["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
            r["ShipmentNbr"] = w(json!(format!("{n:06}")));
            r["Orders"][0]["ShipmentNbr"] = w(json!(format!("{n:06}")));
            r
        }
    };
    let mut errors = Vec::new();
    let mut b = body.clone();
    let mut backdate = None;
    if let Some(m) = b.as_object_mut() {
        m.remove("touch");
        backdate = m.remove("backdate_seconds").and_then(|v| v.as_i64());
    }
    merge(&mut rec, &b, &[], &mut errors);
    let mut ts = touch(&mut g, now);
    if let Some(secs) = backdate {
        // A late commit: the transaction stamped LastModifiedDateTime when it started and
        // became visible only now, behind readers that already passed that time (what
        // `overlap_seconds` and the periodic full scan exist for).
        let t = DateTime::parse_from_rfc3339(&ts)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        ts = format_ts(t - chrono::Duration::seconds(secs));
    }
    rec["LastModifiedDateTime"] = w(json!(ts));
    insert(&mut g, rec.clone());
    drop(g);
    st.core.stats.incr("admin.upsert");
    Json(rec).into_response()
}

async fn admin_sessions(State(st): State<Arc<AcuState>>) -> Json<Value> {
    let g = st.lock();
    let users: Vec<Value> = g
        .sessions
        .values()
        .map(|s| json!({"user": s.user, "tenant": s.tenant, "last_used": s.last_used.to_rfc3339()}))
        .collect();
    Json(
        json!({"open": g.sessions.len(), "max_seen": g.max_seen, "max_sessions": st.cfg.max_sessions, "sessions": users}),
    )
}

async fn admin_reject(State(st): State<Arc<AcuState>>, Json(body): Json<Value>) -> Response {
    let (Some(field), Some(msg)) = (body["field"].as_str(), body["message"].as_str()) else {
        return bad_request("body must be {\"field\": …, \"message\": …}");
    };
    st.lock().rejects.push((field.to_string(), msg.to_string()));
    StatusCode::NO_CONTENT.into_response()
}

async fn admin_unreject(State(st): State<Arc<AcuState>>) -> Response {
    st.lock().rejects.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    fn login_req(body: Value) -> Request<Body> {
        Request::post("/entity/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    }

    fn cookie_of(h: &HeaderMap) -> String {
        h.get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[tokio::test]
    async fn login_limit_logout_and_401() {
        let st = AcuState::new(AcumaticaSimConfig {
            max_sessions: 1,
            seed: 3,
            ..Default::default()
        })
        .unwrap();
        let app = router(st.clone());
        let (s, _, _) = call(
            &app,
            Request::get("/entity/Default/23.200.001/Shipment")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _, b) = call(
            &app,
            login_req(json!({"name":"admin","password":"nope","tenant":"Company"})),
        )
        .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(b["exceptionMessage"]
            .as_str()
            .unwrap()
            .contains("Invalid credentials"));
        let (s, h, _) = call(
            &app,
            login_req(json!({"name":"admin","password":"demo","company":"Company"})),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let c = cookie_of(&h);
        let (s, _, b) = call(
            &app,
            login_req(json!({"name":"admin","password":"demo","tenant":"Company"})),
        )
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(b["exceptionMessage"], "API Login Limit");
        let (s, _, b) = call(
            &app,
            Request::get("/entity/Default/24.200.001/Shipment?$top=2")
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b.as_array().unwrap().len(), 2);
        assert_eq!(
            b[0]["UnlimitedPackages"]["value"], false,
            "24.200.001 adds UnlimitedPackages"
        );
        let (s, _, _) = call(
            &app,
            Request::get("/entity/Default/22.200.001/Shipment")
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(st.core.stats.get("sessions.open"), 1);
        let (s, _, _) = call(
            &app,
            Request::post("/entity/auth/logout")
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(st.open_sessions(), 0);
        assert_eq!(st.core.stats.get("sessions.open"), 0);
        assert_eq!(st.core.stats.get("sessions.max_seen"), 1);
    }

    #[tokio::test]
    async fn endpoint_list_swagger_and_oauth() {
        let st = AcuState::new(AcumaticaSimConfig::default()).unwrap();
        let app = router(st.clone());
        let (_, _, b) = call(&app, Request::get("/entity").body(Body::empty()).unwrap()).await;
        let versions: Vec<&str> = b["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["version"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["23.200.001", "24.200.001"]);
        let (s, _, b) = call(
            &app,
            Request::get("/entity/Default/23.200.001/swagger.json")
                .header("host", "x:1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["swagger"], "2.0");
        assert_eq!(b["basePath"], "/entity/Default/23.200.001");
        assert!(b["definitions"]["ShipmentPackage"].is_object());
        let (_, _, b) = call(
            &app,
            Request::get("/entity/Default/24.200.001/swagger.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert!(b["openapi"].as_str().unwrap().starts_with("3."));
        assert!(b["paths"]["/Shipment/{ids}/files/{filename}"].is_object());
        let form = "grant_type=password&client_id=demo-client%40Company&client_secret=demo-secret&username=admin&password=demo&scope=api%20offline_access";
        let (s, _, b) = call(
            &app,
            Request::post("/identity/connect/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let access = b["access_token"].as_str().unwrap().to_string();
        let rt = b["refresh_token"].as_str().unwrap().to_string();
        let (s, _, _) = call(
            &app,
            Request::get("/entity/Default/23.200.001/Shipment")
                .header("authorization", format!("Bearer {access}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        st.core.clock.advance(chrono::Duration::seconds(3601));
        let (s, _, _) = call(
            &app,
            Request::get("/entity/Default/23.200.001/Shipment")
                .header("authorization", format!("Bearer {access}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let form = format!("grant_type=refresh_token&client_id=demo-client%40Company&client_secret=demo-secret&refresh_token={rt}");
        let (s, _, b) = call(
            &app,
            Request::post("/identity/connect/token")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(b["access_token"].is_string());
    }

    #[tokio::test]
    async fn put_validates_merges_and_confirm_polls() {
        let st = AcuState::new(AcumaticaSimConfig {
            seed: 2,
            ..Default::default()
        })
        .unwrap();
        let app = router(st.clone());
        let (_, h, _) = call(
            &app,
            login_req(json!({"name":"admin","password":"demo","tenant":"Company"})),
        )
        .await;
        let c = cookie_of(&h);
        let rec = st.shipments().remove(0);
        let id = rec["id"].as_str().unwrap().to_string();
        let pkg = rec["Packages"][0]["id"].as_str().unwrap().to_string();
        let put = |body: Value| {
            Request::put("/entity/Default/23.200.001/Shipment?$expand=Packages")
                .header("cookie", &c)
                .header("if-match", "*")
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap()
        };
        let (s, _, b) = call(&app, put(json!({"id": id, "Packages":[{"id": pkg, "TrackingNbr":{"value":"1Z".repeat(16)}}]}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(b["Packages"][0]["TrackingNbr"]["error"]
            .as_str()
            .unwrap()
            .contains("30"));
        let (s, _, b) = call(&app, put(json!({"id": id, "Packages":[{"id": pkg, "TrackingNbr":{"value":"1Z123X560312345678"}}]}))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            b["Packages"][0]["TrackingNbr"]["value"],
            "1Z123X560312345678"
        );
        assert_eq!(st.core.stats.get("put.changed"), 1);
        let (s, _, _) = call(&app, put(json!({"id": id, "Packages":[{"id": pkg, "TrackingNbr":{"value":"1Z123X560312345678"}}]}))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(st.core.stats.get("put.unchanged"), 1);
        let (s, _, _) = call(
            &app,
            put(json!({"id": "00000000-0000-0000-0000-000000000000", "Status":{"value":"Open"}})),
        )
        .await;
        assert_eq!(s, StatusCode::PRECONDITION_FAILED);
        let (s, _, _) = call(&app, put(json!({"id": id, "Status":"Open"}))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, h, _) = call(
            &app,
            Request::post("/entity/Default/23.200.001/Shipment/ConfirmShipment")
                .header("cookie", &c)
                .body(Body::from(
                    json!({"entity":{"id": id},"parameters":{}}).to_string(),
                ))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let loc = h.get("location").unwrap().to_str().unwrap().to_string();
        let poll = || {
            Request::get(loc.as_str())
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap()
        };
        assert_eq!(call(&app, poll()).await.0, StatusCode::ACCEPTED);
        assert_eq!(call(&app, poll()).await.0, StatusCode::NO_CONTENT);
        assert_eq!(st.shipment(&id).unwrap()["Status"]["value"], "Confirmed");
        let (s, _, b) = call(
            &app,
            Request::get("/entity/Default/23.200.001/Shipment/999999")
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(b["exceptionMessage"], "No entity satisfies the condition.");
    }

    #[tokio::test(start_paused = true)]
    async fn rpm_throttle_delays_past_half_the_limit() {
        let st = AcuState::new(AcumaticaSimConfig {
            rpm: 4,
            seed: 1,
            ..Default::default()
        })
        .unwrap();
        let app = router(st.clone());
        let (_, h, _) = call(
            &app,
            login_req(json!({"name":"admin","password":"demo","tenant":"Company"})),
        )
        .await;
        let c = cookie_of(&h);
        let get = || {
            Request::get("/entity/Default/23.200.001/Shipment")
                .header("cookie", &c)
                .body(Body::empty())
                .unwrap()
        };
        let t0 = tokio::time::Instant::now();
        for _ in 0..2 {
            assert_eq!(call(&app, get()).await.0, StatusCode::OK);
        }
        assert_eq!(
            t0.elapsed(),
            Duration::ZERO,
            "below half the limit: no delay"
        );
        assert_eq!(call(&app, get()).await.0, StatusCode::OK);
        // Third request: 2 of 4 used, 60 s left in the window → (60 s)/(2 left) = 30 s.
        assert_eq!(t0.elapsed(), Duration::from_secs(30));
        assert_eq!(st.core.stats.get("throttle.delayed"), 1);
    }

    #[tokio::test]
    async fn session_limit_fault_and_unencoded_plus() {
        let st = AcuState::new(AcumaticaSimConfig {
            faults: "login:session-limit#1".into(),
            seed: 1,
            ..Default::default()
        })
        .unwrap();
        let app = router(st.clone());
        let body = json!({"name":"admin","password":"demo","tenant":"Company"});
        let (s, _, b) = call(&app, login_req(body.clone())).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(b["exceptionMessage"], "API Login Limit");
        let (s, h, _) = call(&app, login_req(body)).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let c = cookie_of(&h);
        let (s, _, b) = call(&app, Request::get("/entity/Default/23.200.001/Shipment?$filter=LastModifiedDateTime%20gt%20datetimeoffset'2024-07-15T10:31:28.402+03:00'")
            .header("cookie", &c).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    }

    /// Issue 15 items 7, 8, 10 on the wire: files by key values only and listed only with
    /// `$expand=files`; a running action fails the session's other requests but not its
    /// status poll; custom endpoints appear in `GET /entity` only when signed in.
    #[tokio::test]
    async fn files_by_key_busy_session_and_custom_endpoints() {
        let st = AcuState::new(AcumaticaSimConfig {
            seed: 2,
            action_polls: 1,
            custom_endpoints: vec![("Company".into(), "Ups".into(), "23.200.001".into())],
            ..Default::default()
        })
        .unwrap();
        let app = router(st.clone());
        let (_, _, anon) = call(&app, Request::get("/entity").body(Body::empty()).unwrap()).await;
        assert!(!anon.to_string().contains("\"Ups\""));
        let (_, h, _) = call(
            &app,
            login_req(json!({"name":"admin","password":"demo","tenant":"Company"})),
        )
        .await;
        let c = cookie_of(&h);
        let req = |m: &str, uri: &str, body: Body| {
            Request::builder()
                .method(m)
                .uri(uri)
                .header("cookie", &c)
                .body(body)
                .unwrap()
        };
        let (_, _, signed) = call(&app, req("GET", "/entity", Body::empty())).await;
        assert!(signed.to_string().contains("\"Ups\""), "{signed}");
        assert_eq!(
            call(
                &app,
                req(
                    "GET",
                    "/entity/Ups/23.200.001/Shipment?$top=1",
                    Body::empty()
                )
            )
            .await
            .0,
            StatusCode::OK
        );

        let rec = st.shipments().remove(0);
        let id = rec["id"].as_str().unwrap().to_string();
        let nbr = rec["ShipmentNbr"]["value"].as_str().unwrap().to_string();
        let base = "/entity/Default/23.200.001/Shipment";
        let (s, _, b) = call(
            &app,
            req("PUT", &format!("{base}/{id}/files/a.zpl"), Body::from("x")),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::INTERNAL_SERVER_ERROR,
            "a GUID is not key values"
        );
        assert_eq!(b["exceptionMessage"], "No entity satisfies the condition.");
        let (s, _, _) = call(
            &app,
            req("PUT", &format!("{base}/{nbr}/files/a.zpl"), Body::from("x")),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (_, _, plain) = call(&app, req("GET", &format!("{base}/{id}"), Body::empty())).await;
        assert!(
            plain.get("files").is_none(),
            "files only with $expand=files"
        );
        let (_, _, exp) = call(
            &app,
            req("GET", &format!("{base}/{id}?$expand=files"), Body::empty()),
        )
        .await;
        assert_eq!(exp["files"].as_array().unwrap().len(), 1);

        let (s, h, _) = call(
            &app,
            req(
                "POST",
                &format!("{base}/ConfirmShipment"),
                Body::from(json!({"entity":{"id": id},"parameters":{}}).to_string()),
            ),
        )
        .await;
        assert_eq!(s, StatusCode::ACCEPTED);
        let loc = h.get("location").unwrap().to_str().unwrap().to_string();
        let (s, _, b) = call(&app, req("GET", &format!("{base}/{nbr}"), Body::empty())).await;
        assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            b["exceptionMessage"],
            "The previous operation has not been completed yet."
        );
        assert_eq!(
            call(&app, req("GET", &loc, Body::empty())).await.0,
            StatusCode::ACCEPTED
        );
        assert_eq!(
            call(&app, req("GET", &loc, Body::empty())).await.0,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            call(&app, req("GET", &format!("{base}/{nbr}"), Body::empty()))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(st.core.stats.get("busy"), 1);
    }

    /// Issue 15 item 9: list answers come in varying order by default, reproducibly under a
    /// seed; `ListOrder::Key` keeps ShipmentNbr order.
    #[tokio::test]
    async fn list_order_varies_per_request_and_is_reproducible() {
        async fn orders(order: ListOrder, seed_value: u64) -> Vec<Vec<String>> {
            let st = AcuState::new(AcumaticaSimConfig {
                seed: 30,
                seed_value,
                list_order: order,
                ..Default::default()
            })
            .unwrap();
            let app = router(st);
            let (_, h, _) = call(
                &app,
                login_req(json!({"name":"admin","password":"demo","tenant":"Company"})),
            )
            .await;
            let c = cookie_of(&h);
            let mut out = Vec::new();
            for _ in 0..3 {
                let (_, _, b) = call(
                    &app,
                    Request::get("/entity/Default/23.200.001/Shipment?$select=ShipmentNbr")
                        .header("cookie", &c)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
                out.push(
                    b.as_array()
                        .unwrap()
                        .iter()
                        .map(|r| r["ShipmentNbr"]["value"].as_str().unwrap().to_string())
                        .collect(),
                );
            }
            out
        }
        assert_eq!(AcumaticaSimConfig::default().list_order, ListOrder::Varying);
        let a = orders(ListOrder::Varying, 7).await;
        assert_ne!(a[0], a[1], "each answer in its own order");
        assert_eq!(a, orders(ListOrder::Varying, 7).await, "reproducible");
        let k = orders(ListOrder::Key, 7).await;
        let mut sorted = k[0].clone();
        sorted.sort();
        assert_eq!(k[0], sorted);
        assert_eq!(k[0], k[1]);
    }
}
