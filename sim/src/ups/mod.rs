//! UPS simulator: UPS's paths, versions and shapes on loopback, every request body validated
//! against the official OpenAPI schemas (vendored in `spec/`, MIT, see `spec/README.md`).
//!
//! Where things are:
//! * [`schema`]: JSON Schema validation (compiled once) + lenient tolerances.
//! * [`auth`]: `POST /security/v1/oauth/token`, bearer checks, daily token cap, rate limit.
//! * [`authcode`]: the authorization-code flow (`OAuthAuthCode.yaml`): authorize (simulated
//!   consent), code exchange with and without PKCE, refresh, expiry, revocation knobs.
//! * [`ship`]: Ship, Void, Label Recovery (business rules the schema cannot express).
//! * [`rate`]: services per lane, the price model (published + negotiated), Rate/Shop, transit.
//! * [`xav`]: Address Validation with the deterministic rules of `docs/conventions.md`.
//! * [`track`]: tracking timelines on the sim clock, Track by number/reference/shipment.
//! * [`alert`]: Track Alert v1/v2 subscriptions and webhook pushes on clock ticks.
//! * [`quantum`]: Quantum View subscription files (events, bookmarks, the 7-day range).
//! * [`paperless`]: Paperless Document upload/image/delete and the paperless invoice rules
//!   of Ship (paperless-enabled accounts: `--paperless-account`, default `123X56`; its own
//!   error table).
//! * [`pickup`]: Pickup creation, pending status, cancel (its own error table).
//! * [`label`], [`trackno`]: label images/printer text, 1Z numbers and check digits.
//! * this file: config, CLI, spawn, router and the gateway middleware (faults, latency,
//!   auth, rate limit, counters) every `/api` and OAuth request passes through.
//!
//! The spec digest is UPS-REFERENCE.md (see `docs/specs.md`); section numbers § below refer to it.
//!
//! Never: use upsync's UPS client (`upsync::ups`) or any daemon code (the simulator must be
//! able to disagree with the client; this crate cannot depend on `upsync`); log tokens, secrets, addresses or label bytes.
//!
//! ## Demo client
//! With no `--client`, one client is registered:
//! `demo-client:demo-secret:123X56+456Y78` (account `123X56` is eligible for negotiated
//! rates, `456Y78` is not → Alert `120900`, published rates only).
//!
//! ## Several clients
//! `--client` is repeatable: each OAuth client has its own tokens, daily token count
//! (`--token-daily-cap` applies per client; `token.issued.<client_id>` counts them) and
//! rate bucket, and may use only its own shipper numbers. Ship, Void and Label Recovery
//! with a shipper number (or 1Z) of another client are refused as UPS does: Ship answers
//! 400 `120100` "Missing or invalid shipper number" (UPS's published Shipping error code
//! list; the OpenAPI file only declares 400 "Invalid Request" with `ErrorResponse`,
//! Shipping.yaml `/shipments/{version}/ship` responses), Void `190102`. The shipments dump
//! (`/_sim/ups/shipments`) records which client shipped which account (`client_id`,
//! `shipper_number`). Rate does not refuse: for a number the client does not hold it
//! answers published rates with Alert `120900` (Shipping.yaml `NegotiatedRatesIndicator`:
//! "If the UserId and Shipper Account Number are not qualified for Negotiated rates, a
//! warning message is returned").
//!
//! ## Error codes (all in `{"response":{"errors":[{"code","message"}]}}`)
//! | HTTP | code | when |
//! |------|------|------|
//! | 401 | `10400` | token request without Basic authorization |
//! | 401 | `10401` | unknown client id or wrong secret |
//! | 400 | `10402` | token request with missing/unsupported `grant_type` |
//! | 429 | `10429` | `Quota Limit Exceeded` (daily token cap) / `Too Many Requests` (rate limit, `429` fault) |
//! | 401 | `250002` | missing, unknown or expired bearer (Track Alert: `UJ0001` missing, `251004` expired) |
//! | 400 | `10001` | body is not JSON |
//! | 400 | `10002` | schema violation; the message names the field path |
//! | 400 | `120100` | `ShipperNumber` / billing account is not an account of the client |
//! | 400 | `120105` | a name, attention, address line, description or reference value over 35 characters |
//! | 400 | `120519` | package count outside 1–200 |
//! | 400 | `120541` | reference number at the wrong level for the lane |
//! | 400 | `121100` | service not valid for the lane (Rate: `111100`) |
//! | 400 | `120413` | label format unknown, or `LabelStockSize` missing for ZPL/EPL/SPL |
//! | 400 | `120612` | package weight missing, zero or over the limit |
//! | 400 | `120802` | ShipTo/Shipper postal or state code missing/invalid for the country; cross-border ShipTo phone or description missing; Shipper.AttentionName missing on an international lane. The message names party and field in UPS's words ("Missing or invalid ship to StateProvinceCode") |
//! | 400 | `9120210` | `ShipmentDate` not YYYYMMDD or more than 7 days ahead (modelled code; `ship/date.rs`) |
//! | 400 | `9120200` | malformed `Request.SubVersion` (not YYMM) in Ship/Rate, strict mode (modelled code; lenient: `129001` alert, newest shapes) |
//! | 400 | `190100` | void: not an 18-character 1Z number with a valid check digit |
//! | 400 | `190102` | void: no shipment found within the allowed void period |
//! | 400 | `190202` | label recovery: nothing found for the tracking number or reference (also a reference not indexed yet) |
//! | 400 | `190203` | label recovery: `LabelImageFormat.Code` not GIF, PDF, ZPL, EPL or SPL (PNG is Roadie only) |
//! | 400 | `264002` | XAV: country other than US/PR |
//! | 400 | `9264028` | XAV: request option not 1, 2 or 3 |
//! | 400 | `TV1001` | Track: `transId` / `transactionSrc` header missing |
//! | 400 | `TV1002` | Track: malformed inquiry number |
//! | 400 | `TV1003` | Track by reference: pickup dates not `YYYYMMDD` |
//! | 400 | `151085` | Track by reference without `shipperNum`: the reference matches shipments of several shippers |
//! | 400 | `VSS…`  | Track Alert (codes of the spec's table) |
//! | 400 | `9121000` | Ship: paperless invoice indicator (`AdditionalDocumentIndicator`) from an account not paperless-enabled, strict mode (lenient: Alert `9121000`); `9121001` Alert: the destination needs a paper invoice (`paperless.rs`) |
//! | 400 | `95900xx` | Paperless Document API and Ship form `07` (table in `paperless.rs`) |
//! | 500/503 | `10004` | injected `500` / `503` fault |
//!
//! Lenient tolerances come back as `Response.Alert` entries with code `129001`.
//!
//! ## Admin routes (simulator only)
//! * `GET /_sim/stats`, `GET /_sim/clock`, `POST /_sim/clock/advance?seconds=|minutes=|hours=|days=`
//!   (then a tick runs: tracking progression is visible and Track Alert events are pushed
//!   before the call returns), `GET|PUT /_sim/faults` (from `sim::common`).
//! * `GET /_sim/ups/pickups`: every on-call pickup (`pickup.rs`), oldest first.
//! * `GET /_sim/ups/shipments[?reference=VALUE]`: JSON array, oldest first, of
//!   `{id, client_id, shipper_number, service, created_at, ship_date, voided, references: [values],
//!   reference_numbers, customer_context, label_format, charges, packages: [{tracking_number,
//!   voided, weight_lbs, references, status, scenario}]}`.
//! * `GET /_sim/ups/subscriptions`: Track Alert subscriptions (no credentials).
//! * `GET|POST /_sim/ups/oauth`: authorization-code knobs (deny consent, rotate refresh
//!   tokens, their lifetime, expire them now, revoke) and grants (`authcode.rs`).
//! * `POST /_sim/ups/foreign-shipments` `{"shipper_number", "references": [..]}`: shipments
//!   of another shipper carrying the same reference values (UPS's reference search sees
//!   every shipper's shipments; see `state::UpsState::add_foreign_shipment`).
//! * `POST /_sim/ups/tick`: push due Track Alert events now → `{"pushed": n}`.
//! * `POST /_sim/ups/qv-subscriptions {"name"}`, `POST /_sim/ups/qv-settings
//!   {"page_size", "file_minutes", "local_times"}`: Quantum View (see `quantum.rs`).
//! * `POST /_sim/ups/track-scenarios` `{"reference"|"tracking_number": …, "scenario": …}`,
//!   `GET /_sim/ups/track-scenarios`: per-package tracking scenarios (`track::TrackScenario`).
//!
//! ## Counters (`/_sim/stats`)
//! Per operation (`token`, `ship`, `void`, `rate`, `xav`, `track`, `label_recovery`,
//! `trackalert`, `paperless`, `pickup`, `pickup_status`, `pickup_cancel`) and per operation and status (`ship.200`, `ship.400`, `track.401`,
//! `rate.429`, …; broken answers count as `ship.reset` / `ship.drop_after_commit`), plus
//! `token.issued`, `token.issued.<client_id>` (per OAuth client), `token.capped`, `token.merchant_mismatch`, `ship.created`,
//! `ship.packages`, `ship.voided` (shipments fully voided), `void.packages`,
//! `trackalert.subscribed`, `trackalert.pushed`, `trackalert.push_failed`,
//! `trackalert.dropped`, `trackalert.webhook_token`, `track_scenario.set`.

// Handlers return ready UPS-shaped error responses from their helpers (`Result<_, Response>`).
#![allow(clippy::result_large_err)]

mod admin;
pub mod alert;
pub mod auth;
pub mod authcode;
pub mod label;
pub mod paperless;
pub mod payment;
pub mod pickup;
pub mod quantum;
pub mod rate;
pub mod schema;
pub mod ship;
pub mod state;
pub mod track;
pub mod trackno;
pub mod xav;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::common::{self, FaultKind, Faults, SimCore};
use admin::*;

pub use state::{ScenarioKey, UpsState};
pub use track::{TrackScenario, UnknownScenario};
pub use trackno::check_digit_valid;

/// One registered OAuth client: `--client ID:SECRET:ACCOUNT[+ACCOUNT…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    pub client_id: String,
    pub client_secret: String,
    /// UPS account (shipper) numbers this client may use; the first is its default.
    pub accounts: Vec<String>,
}

impl ClientSpec {
    /// Parse `ID:SECRET:ACCOUNT[+ACCOUNT…]`.
    pub fn parse(s: &str) -> Result<ClientSpec, String> {
        let mut it = s.splitn(3, ':');
        let (id, secret, accounts) = match (it.next(), it.next(), it.next()) {
            (Some(i), Some(s), Some(a)) if !i.is_empty() && !s.is_empty() && !a.is_empty() => {
                (i, s, a)
            }
            _ => return Err(
                "expected ID:SECRET:ACCOUNT[+ACCOUNT…], e.g. demo-client:demo-secret:123X56+456Y78"
                    .into(),
            ),
        };
        let accounts: Vec<String> = accounts
            .split('+')
            .map(|a| a.trim().to_ascii_uppercase())
            .filter(|a| !a.is_empty())
            .collect();
        if let Some(bad) = accounts
            .iter()
            .find(|a| a.len() != 6 || !a.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(format!(
                "account '{bad}' is not a 6-character alphanumeric UPS account number"
            ));
        }
        Ok(ClientSpec {
            client_id: id.to_string(),
            client_secret: secret.to_string(),
            accounts,
        })
    }

    /// The documented demo client (`demo-client:demo-secret:123X56+456Y78`).
    pub fn demo() -> ClientSpec {
        ClientSpec {
            client_id: "demo-client".into(),
            client_secret: "demo-secret".into(),
            accounts: vec!["123X56".into(), "456Y78".into()],
        }
    }
}

/// Track Alert v2 webhook destination (what UPS's developer portal holds in production).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Where events are POSTed.
    pub url: String,
    /// Customer token URL (OAuth client credentials, `client_secret_basic`); None = no auth.
    pub token_url: Option<String>,
    /// Client id/secret for the token URL (`--webhook-client ID:SECRET`).
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// Everything the CLI flags set. `Default` = the demo setup.
#[derive(Debug, Clone)]
pub struct UpsSimConfig {
    /// Listen address (loopback; port 0 = any).
    pub listen: SocketAddr,
    /// Registered OAuth clients; empty = the demo client.
    pub clients: Vec<ClientSpec>,
    /// Accounts eligible for negotiated rates (default `123X56`).
    pub negotiated_accounts: Vec<String>,
    /// Accounts enabled for paperless (Upload Forms Created Offline, paperless invoice);
    /// default `123X56` (`456Y78` is not: the demo shows both).
    pub paperless_accounts: Vec<String>,
    /// Token lifetime in seconds (`expires_in`), default 14399.
    pub token_ttl_seconds: u64,
    /// Tokens per client per UTC day (sim clock); None = unlimited.
    pub token_daily_cap: Option<u32>,
    /// Accept what production UPS tolerates, with an Alert warning per tolerance.
    pub lenient: bool,
    /// Fault spec (`sim::common::faults`), e.g. `ship:drop-after-commit@0.2`.
    pub faults: String,
    /// Latency added to every operation.
    pub latency_ms: u64,
    /// Requests per second per client (token bucket, burst = rate); None = unlimited.
    pub rate_limit_per_second: Option<u32>,
    /// Write every request (secrets redacted) to this directory.
    pub record_dir: Option<PathBuf>,
    /// Answer Track "not found" with 404 instead of 200 + `TW0001`.
    pub track_not_found_404: bool,
    /// How long after creation a shipment can be voided (sim clock).
    pub void_window_hours: i64,
    /// Track Alert v2 destination; None = v2 subscriptions are refused (`VSS500`).
    pub webhook: Option<WebhookConfig>,
    /// Real-time interval of the background tick that pushes Track Alert events (0 = off;
    /// clock advances always tick).
    pub tick_interval_ms: u64,
    /// First 7-digit serial of generated 1Z numbers; None = random.
    pub serial_start: Option<u64>,
    /// Minutes (sim clock) before a new shipment is found by Track by reference and Label
    /// Recovery by reference (found by tracking number at once). 0 = at once.
    pub reference_index_delay_minutes: i64,
}

impl Default for UpsSimConfig {
    fn default() -> Self {
        UpsSimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            clients: Vec::new(),
            negotiated_accounts: vec!["123X56".into()],
            paperless_accounts: vec!["123X56".into()],
            token_ttl_seconds: 14399,
            token_daily_cap: None,
            lenient: false,
            faults: String::new(),
            latency_ms: 0,
            rate_limit_per_second: None,
            record_dir: None,
            track_not_found_404: false,
            void_window_hours: 24,
            webhook: None,
            tick_interval_ms: 1000,
            serial_start: None,
            reference_index_delay_minutes: 0,
        }
    }
}

/// Command-line options of this simulator.
#[derive(Debug, clap::Args)]
pub struct SimUpsArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// OAuth client `ID:SECRET:ACCOUNT[+ACCOUNT…]` (repeatable). Default: the demo client
    /// `demo-client:demo-secret:123X56+456Y78`.
    #[arg(long = "client", value_name = "ID:SECRET:ACCOUNTS")]
    pub clients: Vec<String>,
    /// Account eligible for negotiated rates (repeatable). Default: 123X56.
    #[arg(long = "negotiated-account", value_name = "ACCOUNT")]
    pub negotiated_accounts: Vec<String>,
    /// Account enabled for paperless documents and invoice (repeatable). Default: 123X56.
    #[arg(long = "paperless-account", value_name = "ACCOUNT")]
    pub paperless_accounts: Vec<String>,
    /// Token lifetime in seconds (`expires_in`).
    #[arg(long, default_value_t = 14399)]
    pub token_ttl: u64,
    /// Tokens per client per UTC day; more → 429 `10429` "Quota Limit Exceeded".
    #[arg(long)]
    pub token_daily_cap: Option<u32>,
    /// Tolerate single objects for arrays and over-long numeric/date strings (with warnings).
    #[arg(long)]
    pub lenient: bool,
    /// Fault rules, e.g. `ship:drop-after-commit@0.2,*:429@0.1,token:token-expired#1`.
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Latency in milliseconds added to every operation.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Requests per second per client; more → 429 `10429`.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Write every request (secrets redacted) as a JSON file in this directory.
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// Answer Track "not found" with HTTP 404 instead of 200 + warning TW0001.
    #[arg(long)]
    pub track_not_found_404: bool,
    /// Void window in hours (sim clock).
    #[arg(long, default_value_t = 24)]
    pub void_window_hours: i64,
    /// Minutes (sim clock) before a new shipment can be found by reference (Track by
    /// reference answers TW0001 and Label Recovery by reference 190202 until then), as the
    /// real reference index lags a fresh label. 0 = found at once.
    #[arg(long, default_value_t = 0)]
    pub reference_index_delay_minutes: i64,
    /// Track Alert v2 destination.
    #[command(flatten)]
    pub webhook: Box<WebhookArgs>,
}

/// Track Alert v2 webhook flags (what UPS's developer portal holds in production).
#[derive(Debug, Default, clap::Args)]
pub struct WebhookArgs {
    /// Track Alert v2 webhook URL (the portal-managed destination).
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// Token URL for the v2 webhook (OAuth client credentials, client_secret_basic).
    #[arg(long)]
    pub webhook_token_url: Option<String>,
    /// Client `ID:SECRET` for the v2 webhook token URL.
    #[arg(long)]
    pub webhook_client: Option<String>,
}

impl SimUpsArgs {
    /// The config these flags describe.
    pub fn to_config(&self) -> anyhow::Result<UpsSimConfig> {
        let clients = self
            .clients
            .iter()
            .map(|c| ClientSpec::parse(c).map_err(|e| anyhow::anyhow!("--client: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let webhook = match &self.webhook.webhook_url {
            None => None,
            Some(url) => {
                let (id, secret) = match &self.webhook.webhook_client {
                    None => (None, None),
                    Some(c) => {
                        let (i, s) = c.split_once(':').ok_or_else(|| {
                            anyhow::anyhow!("--webhook-client: expected ID:SECRET")
                        })?;
                        (Some(i.to_string()), Some(s.to_string()))
                    }
                };
                Some(WebhookConfig {
                    url: url.clone(),
                    token_url: self.webhook.webhook_token_url.clone(),
                    client_id: id,
                    client_secret: secret,
                })
            }
        };
        let mut cfg = UpsSimConfig {
            listen: self.listen,
            clients,
            token_ttl_seconds: self.token_ttl,
            token_daily_cap: self.token_daily_cap,
            lenient: self.lenient,
            faults: self.faults.clone(),
            latency_ms: self.latency_ms,
            rate_limit_per_second: self.rate_limit,
            record_dir: self.record_dir.clone(),
            track_not_found_404: self.track_not_found_404,
            void_window_hours: self.void_window_hours,
            reference_index_delay_minutes: self.reference_index_delay_minutes,
            webhook,
            ..UpsSimConfig::default()
        };
        if !self.negotiated_accounts.is_empty() {
            cfg.negotiated_accounts = self
                .negotiated_accounts
                .iter()
                .map(|a| a.to_ascii_uppercase())
                .collect();
        }
        if !self.paperless_accounts.is_empty() {
            cfg.paperless_accounts = self
                .paperless_accounts
                .iter()
                .map(|a| a.to_ascii_uppercase())
                .collect();
        }
        Ok(cfg)
    }
}

/// A running simulator.
pub struct SimHandle {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` — UPS's host: OAuth at `{base_url}/security/v1/oauth/token`,
    /// everything else at `{base_url}/api/…`.
    pub base_url: String,
    pub core: Arc<SimCore>,
    pub state: Arc<UpsState>,
    server: tokio::task::JoinHandle<()>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// Counters (`/_sim/stats`).
    pub fn stats(&self) -> std::collections::BTreeMap<String, u64> {
        self.core.stats.snapshot()
    }

    /// Advance the sim clock and run a tick (tracking progression, Track Alert pushes),
    /// exactly like `POST /_sim/clock/advance`.
    pub async fn advance(&self, by: chrono::Duration) {
        self.core.clock.advance(by);
        self.state.tick().await;
    }

    /// Push due Track Alert events now; returns how many were delivered.
    pub async fn tick(&self) -> usize {
        self.state.tick().await
    }

    /// Choose the tracking scenario of a package or of every package of the shipments
    /// carrying a reference (like `POST /_sim/ups/track-scenarios`).
    pub fn set_track_scenario(&self, key: ScenarioKey, scenario: TrackScenario) {
        self.state.set_track_scenario(key, scenario);
    }

    /// The `/_sim/ups/shipments` dump.
    pub fn shipments(&self) -> Value {
        self.state.dump_shipments()
    }

    /// How many shipments (voided or not) carry `value` as a shipment- or package-level
    /// reference: more than one means a duplicate shipment.
    pub fn shipments_with_reference(&self, value: &str) -> usize {
        self.state.read_shipments().by_reference(value).len()
    }

    /// Stop serving (the background tick too).
    pub fn shutdown(&self) {
        self.server.abort();
        if let Some(t) = &self.ticker {
            t.abort();
        }
    }
}

/// Build the shared state (validators compiled, clients registered).
pub fn build_state(cfg: UpsSimConfig) -> anyhow::Result<(Arc<SimCore>, Arc<UpsState>)> {
    let faults = Faults::parse(&cfg.faults)?;
    let core = SimCore::new("ups", faults, None);
    schema::warm();
    let state = UpsState::new(cfg, core.clone())?;
    Ok((core, state))
}

/// Start the simulator on `cfg.listen` in a tokio task.
pub async fn spawn(cfg: UpsSimConfig) -> anyhow::Result<SimHandle> {
    let listen = cfg.listen;
    if !listen.ip().is_loopback() {
        anyhow::bail!("the UPS simulator listens on loopback only; got {listen}");
    }
    let tick_ms = cfg.tick_interval_ms;
    let (core, state) = build_state(cfg)?;
    let app = router(state.clone());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "UPS simulator stopped");
        }
    });
    let ticker = (tick_ms > 0).then(|| {
        let st = state.clone();
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(std::time::Duration::from_millis(tick_ms));
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                iv.tick().await;
                st.tick().await;
            }
        })
    });
    Ok(SimHandle {
        addr,
        base_url: format!("http://{addr}"),
        core,
        state,
        server,
        ticker,
    })
}

/// The whole app: UPS routes, `/_sim/…` admin routes, gateway middleware, recording.
pub fn router(state: Arc<UpsState>) -> Router {
    let api = Router::new()
        .route("/security/v1/oauth/token", post(auth::token))
        .route("/security/v1/oauth/authorize", get(authcode::authorize))
        .route("/security/v1/oauth/refresh", post(authcode::refresh))
        .route(
            "/_sim/ups/oauth",
            get(authcode::admin_get).post(authcode::admin_set),
        )
        .route("/api/shipments/{version}/ship", post(ship::ship))
        .route(
            "/api/shipments/{version}/void/cancel/{id}",
            delete(ship::void),
        )
        .route("/api/labels/{version}/recovery", post(ship::label_recovery))
        .route("/api/rating/{version}/{option}", post(rate::rate))
        .route("/api/addressvalidation/{version}/{option}", post(xav::xav))
        .route("/api/track/v1/details/{number}", get(track::details))
        .route(
            "/api/track/v1/reference/details/{reference}",
            get(track::by_reference),
        )
        .route(
            "/api/track/v1/shipment/details/{number}",
            get(track::shipment_details),
        )
        .route(
            "/api/track/{version}/subscription/{kind}/package",
            post(alert::subscribe),
        )
        .route("/api/quantumview/{version}/events", post(quantum::events))
        .route("/api/pickupcreation/{version}/pickup", post(pickup::create))
        .route(
            "/api/shipments/{version}/pickup/{kind}",
            get(pickup::pending).delete(pickup::cancel),
        )
        .route("/_sim/ups/pickups", get(pickup::dump))
        .route(
            "/api/paperlessdocuments/{version}/upload",
            // Files up to 10 MB each, base64: above axum's 2 MB default (the request
            // recorder reads up to 32 MB, so that is the simulator's ceiling per upload).
            post(paperless::upload).layer(axum::extract::DefaultBodyLimit::max(
                paperless::MAX_UPLOAD_BODY_BYTES,
            )),
        )
        .route(
            "/api/paperlessdocuments/{version}/image",
            post(paperless::image),
        )
        .route(
            "/api/paperlessdocuments/{version}/DocumentId/ShipperNumber",
            delete(paperless::delete),
        )
        .route(
            "/_sim/ups/qv-subscriptions",
            post(quantum::add_subscription),
        )
        .route("/_sim/ups/qv-settings", post(quantum::settings))
        .route("/_sim/ups/shipments", get(dump_shipments))
        .route("/_sim/ups/subscriptions", get(dump_subscriptions))
        .route("/_sim/ups/foreign-shipments", post(add_foreign_shipments))
        .route("/_sim/ups/tick", post(tick))
        .route(
            "/_sim/ups/track-scenarios",
            get(dump_track_scenarios).post(set_track_scenario),
        )
        .fallback(not_found)
        .with_state(state.clone());
    let mut app = api
        .merge(common::admin_router(state.core.clone()))
        .layer(axum::middleware::from_fn_with_state(state.clone(), gateway));
    if let Some(rec) = state.recorder() {
        app = app.layer(axum::middleware::from_fn_with_state(
            rec,
            common::record::record_requests,
        ));
    }
    app
}

async fn not_found() -> Response {
    ups_error(
        StatusCode::NOT_FOUND,
        "404",
        "The requested resource was not found.",
    )
}

/// `{"response":{"errors":[{"code","message"}]}}` with `status`.
pub fn ups_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"response": {"errors": [{"code": code, "message": message}]}})),
    )
        .into_response()
}

/// The body of `ex:error-rate-limited.json`.
pub fn rate_limited() -> Response {
    ups_error(StatusCode::TOO_MANY_REQUESTS, "10429", "Too Many Requests")
}

/// The operation name used for faults and counters, from method + path.
pub fn operation(method: &Method, path: &str) -> Option<&'static str> {
    match path {
        "/security/v1/oauth/token" => return Some("token"),
        "/security/v1/oauth/refresh" => return Some("refresh"),
        "/security/v1/oauth/authorize" => return Some("authorize"),
        _ => {}
    }
    let rest = path.strip_prefix("/api/")?;
    let op = if rest.starts_with("pickupcreation/") {
        "pickup"
    } else if rest.starts_with("shipments/") {
        if rest.contains("/void/cancel/") {
            "void"
        } else if rest.contains("/pickup/") {
            if *method == Method::DELETE {
                "pickup_cancel"
            } else {
                "pickup_status"
            }
        } else if rest.ends_with("/ship") {
            "ship"
        } else {
            return None;
        }
    } else if rest.starts_with("labels/") {
        "label_recovery"
    } else if rest.starts_with("rating/") {
        "rate"
    } else if rest.starts_with("addressvalidation/") {
        "xav"
    } else if rest.starts_with("quantumview/") {
        "quantumview"
    } else if rest.starts_with("paperlessdocuments/") {
        "paperless"
    } else if rest.starts_with("track/") {
        if rest.contains("/subscription/") {
            "trackalert"
        } else {
            "track"
        }
    } else {
        return None;
    };
    let _ = method;
    Some(op)
}

/// The authenticated caller, put in request extensions by the gateway.
#[derive(Debug, Clone)]
pub struct Caller {
    pub client_id: String,
    pub accounts: Vec<String>,
}

/// Every UPS request passes here: counters, latency, faults, bearer auth, rate limit;
/// `/_sim/clock/advance` ticks after the clock moved.
async fn gateway(State(st): State<Arc<UpsState>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == "/_sim/clock/advance" {
        let resp = next.run(req).await;
        st.tick().await;
        return resp;
    }
    let Some(op) = operation(req.method(), &path) else {
        return next.run(req).await;
    };
    let stats = &st.core.stats;
    stats.incr(op);
    let decided = st.core.faults.decide(op);
    let mut latency = std::time::Duration::from_millis(st.cfg.latency_ms);
    let mut fault: Option<FaultKind> = None;
    for f in decided {
        match f.kind {
            FaultKind::Latency(d) => latency += d,
            k => fault = Some(k),
        }
    }
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut drop_after_commit = false;
    let mut expire_issued_token = false;
    if let Some(kind) = fault {
        let early = match kind {
            FaultKind::Status(429) => Some(rate_limited()),
            FaultKind::Status(s) if s >= 500 => {
                let status = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let msg = if s == 503 {
                    "Service Unavailable. Please try again later."
                } else {
                    "Something went wrong while processing your request, please try again later"
                };
                Some(ups_error(status, "10004", msg))
            }
            FaultKind::Status(s) => {
                let status = StatusCode::from_u16(s).unwrap_or(StatusCode::BAD_REQUEST);
                Some(ups_error(status, &s.to_string(), "Injected fault"))
            }
            FaultKind::Reset => {
                stats.incr(&format!("{op}.reset"));
                return common::faults::broken_response();
            }
            FaultKind::DropAfterCommit => {
                drop_after_commit = true;
                None
            }
            FaultKind::Other(w) if w == "token-expired" => {
                if op == "token" {
                    expire_issued_token = true;
                    None
                } else {
                    if let Some(t) = auth::bearer(req.headers()) {
                        st.expire_token(&t);
                    }
                    Some(auth::unauthorized(op, auth::AuthFailure::Expired))
                }
            }
            FaultKind::Other(w) if w == "quota-exhausted" => Some(ups_error(
                StatusCode::TOO_MANY_REQUESTS,
                "10429",
                "Quota Limit Exceeded",
            )),
            FaultKind::Other(_) | FaultKind::Latency(_) => None,
        };
        if let Some(resp) = early {
            stats.incr(&format!("{op}.{}", resp.status().as_u16()));
            return resp;
        }
    }
    if !matches!(op, "token" | "refresh" | "authorize") {
        match st.authenticate(req.headers()) {
            Ok(caller) => {
                if !st.rate_allow(&caller.client_id) {
                    stats.incr(&format!("{op}.429"));
                    return rate_limited();
                }
                req.extensions_mut().insert(caller);
            }
            Err(f) => {
                stats.incr(&format!("{op}.401"));
                return auth::unauthorized(op, f);
            }
        }
    } else if expire_issued_token {
        req.extensions_mut().insert(auth::IssueExpired);
    }
    let resp = next.run(req).await;
    if drop_after_commit {
        stats.incr(&format!("{op}.drop_after_commit"));
        return common::faults::broken_response();
    }
    stats.incr(&format!("{op}.{}", resp.status().as_u16()));
    resp
}

/// Parse a JSON body or answer 400 `10001`.
pub fn parse_json(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|_| {
        ups_error(
            StatusCode::BAD_REQUEST,
            "10001",
            "The request is not well formed JSON.",
        )
    })
}

/// Validate against the operation's schema; in lenient mode returns the tolerances.
pub fn check_schema(
    st: &UpsState,
    which: schema::BodySchema,
    body: &mut Value,
) -> Result<Vec<schema::Tolerance>, Response> {
    schema::validate(which, body, st.cfg.lenient).map_err(|v| {
        let errors: Vec<Value> = v
            .iter()
            .take(10)
            .map(|e| json!({"code": "10002", "message": e.message}))
            .collect();
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"response": {"errors": errors}})),
        )
            .into_response()
    })
}

/// Tolerances as `Response.Alert` entries (code `129001`, description ≤150).
pub fn tolerance_alerts(t: &[schema::Tolerance]) -> Vec<Value> {
    t.iter()
        .map(|t| {
            let d: String = format!("Tolerated: {}", t.message)
                .chars()
                .take(150)
                .collect();
            json!({"Code": "129001", "Description": d})
        })
        .collect()
}

/// Arrays for current versions, a bare object for a single item in legacy ones (§0.1).
pub fn one_or_many(items: Vec<Value>, arrays: bool) -> Value {
    if !arrays && items.len() == 1 {
        items.into_iter().next().expect("len is 1")
    } else {
        Value::Array(items)
    }
}

/// `v2409` → 2409, `v1` → 1, `1701` → 1701.
pub fn version_number(v: &str) -> Option<u32> {
    v.strip_prefix('v').unwrap_or(v).parse().ok()
}

/// Header value as text.
pub fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The CLI: spawn, print the URL, wait for Ctrl-C.
pub async fn run(args: SimUpsArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.to_config()?;
    let demo = cfg.clients.is_empty();
    let h = spawn(cfg).await?;
    println!("UPS simulator listening on {}", h.base_url);
    println!(
        "  OAuth: {}/security/v1/oauth/token   API: {}/api/…   admin: {}/_sim/stats",
        h.base_url, h.base_url, h.base_url
    );
    if demo {
        println!("  demo client: demo-client:demo-secret:123X56+456Y78");
    }
    tokio::signal::ctrl_c().await?;
    h.shutdown();
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
