//! Acumatica simulator: contract-based REST (Default endpoint, `Shipment` entity), cookie and
//! OAuth sign-in, licence limits, on loopback.
//!
//! Spec: ERP-NOTES.md §A and §G (see `docs/specs.md`); endpoint definitions vendored (Shipment
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
//!   fail with 422; DELETE clears), `/_sim/acumatica/push` (PUT `{"url","header","secret"}`
//!   sets the push notification destination, DELETE clears, GET shows; see [`push`]).
//! * Push notifications (`--push-url`, `--push-header`, `--push-secret`): a Webhook
//!   destination of a push notification definition on a shipments generic inquiry; each
//!   transaction that changes the inquiry's result is POSTed with `Inserted`/`Deleted`
//!   rows, resent up to 5 times on failure ([`push`], ERP-NOTES §A5).
//!
//! Fault operations (`--faults`): `login`, `logout`, `token`, `list` (and `list.select`: a
//! list with `$select`, after `list`'s), `get`, `put`, `files`, `action`, `entity`; the kind `session-limit` makes `login` answer "API Login Limit";
//! `push` with `drop`, `duplicate`, `reorder` or `latency=MS` for outbound notifications.
//!
//! Never: use upsync's connector (`upsync::sources`; this crate cannot depend on `upsync`);
//! this module is the other side of the wire.

// Handler helpers return the ready answer as their error (axum style); boxing it buys nothing.
#![allow(clippy::result_large_err)]

mod actions;
mod admin;
mod files;
mod guard;
pub mod push;
pub mod query;
mod read;
pub mod returns;
pub mod seed;
mod session;
mod write;

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
use actions::*;
use admin::*;
use files::*;
use guard::*;
use push::{admin_push, admin_push_off, admin_push_show};
use query::QueryOpts;
use read::*;
use seed::{format_ts, w};
use session::*;
use write::*;

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
    /// Status polls of a long-running action (`ConfirmShipment`) that answer 202 before 204.
    #[arg(long, default_value_t = 1)]
    pub action_polls: u32,
    /// Running time of a long-running action in ms: its status answers 202 until it has
    /// passed (ERP-NOTES §A4 gives no duration; 0 = by `--action-polls` only).
    #[arg(long, default_value_t = 0)]
    pub action_ms: u64,
    /// Push notifications: destination URL of the Webhook destination (none = no pushes).
    #[arg(long)]
    pub push_url: Option<String>,
    /// Push notifications: the header name the destination sends (SM302000 "Header Name").
    #[arg(long, default_value = "Authorization")]
    pub push_header: String,
    /// Push notifications: the header value, the shared secret (SM302000 "Header Value").
    #[arg(long, default_value = "")]
    pub push_secret: String,
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
    /// A long-running action also runs this long (simulator clock) before its status
    /// answers 204. ERP-NOTES §A4 says 202 means "still running" and gives no duration:
    /// `action_polls` models the running by answers, this by time, as the instance runs it
    /// (both may be set; 0 = by answers only).
    pub action_ms: u64,
    /// A long-running action stops blocking its session after this long (simulator clock)
    /// even when nobody polls its status (the operation finishes server-side).
    pub action_run_seconds: i64,
    pub token_lifetime_seconds: i64,
    /// `(tenant, endpoint name, version)`: custom endpoints, listed only after sign-in.
    pub custom_endpoints: Vec<(String, String, String)>,
    pub list_order: ListOrder,
    /// Status of the "previous operation has not been completed" answer (default 500).
    pub busy_status: u16,
    /// Push notification destination ([`push`]); `None` = no pushes until
    /// `PUT /_sim/acumatica/push`.
    pub push: Option<common::push::PushTarget>,
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
            action_ms: 0,
            action_run_seconds: 60,
            token_lifetime_seconds: 3600,
            custom_endpoints: Vec::new(),
            list_order: ListOrder::Varying,
            busy_status: 500,
            push: None,
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
            action_polls: a.action_polls,
            action_ms: a.action_ms,
            push: a.push_url.as_ref().map(|url| common::push::PushTarget {
                url: url.clone(),
                header: a.push_header.clone(),
                secret: a.push_secret.clone(),
            }),
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
    name: String,
    data: Bytes,
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
    /// File ids by shipment id (an index of `files`: a PUT or a list of a shipment's files
    /// must not scan every file ever attached).
    files_by_shipment: HashMap<String, Vec<String>>,
    actions: HashMap<String, ActionOp>,
    /// Ids of the actions not done yet (an index of `actions` for the busy-form check,
    /// which runs on every request and must not scan every action ever started).
    running: Vec<String>,
    rejects: Vec<(String, String)>,
    next_nbr: usize,
    last_ts: Option<DateTime<Utc>>,
    /// Shipment changes not yet turned into push notifications (only while pushing is on).
    push_on: bool,
    changes: Vec<push::Change>,
    changed: Arc<tokio::sync::Notify>,
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
    /// Outbound push notifications ([`push`]).
    pub pusher: Arc<common::push::Pusher>,
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
            pusher: Arc::default(),
        });
        push::configure(&st, st.cfg.push.clone());
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

    /// The bytes of a shipment's attached file whose name ends with `suffix`.
    pub fn file_data(&self, shipment_id: &str, suffix: &str) -> Option<Bytes> {
        let g = self.lock();
        g.files_by_shipment
            .get(shipment_id)?
            .iter()
            .filter_map(|id| g.files.get(id))
            .find(|f| f.name.ends_with(suffix))
            .map(|f| f.data.clone())
    }

    /// Names and sizes of the files attached to a shipment.
    pub fn files_of(&self, shipment_id: &str) -> Vec<(String, usize)> {
        let g = self.lock();
        let mut v: Vec<_> = g
            .files_by_shipment
            .get(shipment_id)
            .into_iter()
            .flatten()
            .filter_map(|id| g.files.get(id))
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
    if g.push_on {
        let before = g.shipments.get(&id).cloned();
        push::record(g, before, Some(rec.clone()));
    }
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
    tokio::spawn(push::run(state.clone()));
    tokio::spawn(state.pusher.clone().run(state.core.clone()));
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
            "/_sim/acumatica/push",
            put(admin_push).delete(admin_push_off).get(admin_push_show),
        )
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

#[cfg(test)]
mod tests;
