//! NetSuite simulator: SuiteTalk REST with OAuth 2.0 M2M and TBA, a SuiteQL subset and the
//! `itemFulfillment` record API, on loopback (`upsync sim netsuite`, or in-process via
//! [`spawn`]).
//!
//! Implements ERP-NOTES.md §N (in the specs, see `docs/specs.md`) and the NetSuite gotchas of §G:
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
//! * `/_sim/netsuite/fulfillments` (GET dump, POST add/modify), `/_sim/netsuite/push`
//!   (PUT `{"url","header","secret"}`, DELETE, GET) plus the common `/_sim/…`.
//! * A User Event script's `afterSubmit` on item fulfillments posting each create, edit
//!   and delete to a configured URL with a shared-secret header ([`push`], ERP-NOTES §N6).
//!
//! * Package sublists per ship method (`package`, `packageUps`, `packageFedex`,
//!   `packageUsps`, §N4; see [`store::PackageSublist`]); `expires_in` as a string or a
//!   number (§N2 open point); cancellation = deletion (no cancelled status exists).
//!
//! Fault operations: `token`, `suiteql`, `record_get`, `record_patch`, `record_delete`; extra kinds
//! `concurrency-401` (401 INVALID_LOGIN as over-concurrency shows up under TBA) and
//! `token-expired` (401 invalid_token); `push` with `drop`, `duplicate`, `reorder` or
//! `latency=MS` for the outbound notifications.
//!
//! Must never use upsync's connector (`upsync::sources`): it would then share its mistakes
//! (this crate cannot depend on `upsync`).

// Handlers build their error answers early and return them as `Err(Response)`.
#![allow(clippy::result_large_err)]

mod admin;
pub mod auth;
mod guard;
pub mod push;
mod query;
mod record;
pub mod returns;
pub mod store;
pub mod suiteql;
mod suiteql_route;
mod token;

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
use admin::*;
use guard::*;
use push::{admin_push, admin_push_off, admin_push_show};
use record::*;
use suiteql_route::*;
use token::*;

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
    /// Where the simulated User Event script posts ([`push`]); `None` = it is not deployed
    /// until `PUT /_sim/netsuite/push`.
    pub push: Option<crate::common::push::PushTarget>,
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
            push: None,
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
    /// Outbound notifications of the simulated User Event script ([`push`]).
    pub pusher: Arc<crate::common::push::Pusher>,
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
            pusher: Arc::default(),
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
    push::configure(&sim, cfg.push.clone());
    tokio::spawn(push::run(sim.clone()));
    tokio::spawn(sim.pusher.clone().run(sim.core.clone()));
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
        // Return authorizations (`returns.rs`): the same record API shape.
        .route(
            "/services/rest/record/v1/returnAuthorization/{id}",
            get(record_get).patch(record_patch).delete(record_delete),
        )
        .route(
            "/_sim/netsuite/fulfillments",
            get(admin_dump).post(admin_upsert),
        )
        .route("/_sim/netsuite/expire-tokens", post(admin_expire_tokens))
        .route(
            "/_sim/netsuite/push",
            axum::routing::put(admin_push)
                .delete(admin_push_off)
                .get(admin_push_show),
        )
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
    /// Change notifications: the URL the User Event script posts to (none = no script).
    #[arg(long)]
    pub push_url: Option<String>,
    /// Change notifications: the header carrying the shared secret.
    #[arg(long, default_value = "X-Upsync-Secret")]
    pub push_header: String,
    /// Change notifications: the shared secret the script sends.
    #[arg(long, default_value = "")]
    pub push_secret: String,
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
        push: args.push_url.map(|url| crate::common::push::PushTarget {
            url,
            header: args.push_header,
            secret: args.push_secret,
        }),
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

#[cfg(test)]
mod tests;
