//! Assembly: configuration → store, vault credentials, UPS client, sources, mappings,
//! pipeline, server state. The only place that knows every layer; everything else gets
//! what it needs handed in.
//!
//! [`Assembly`] is what one configuration builds; `upsync run` swaps it on SIGHUP, so the
//! server's readiness and metrics read the current one through [`Current`]. The metrics
//! samples of each part are in `metrics.rs`.

mod checkout;
mod metrics;
mod push;

pub use push::{push_router, push_settings};

use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use anyhow::Context;

use crate::config::{Config, ConnectorConfig, LabelSinkConfig};
use crate::pipeline::{
    Carrier, Connector, ConnectorSettings, Ledger, Mapper, Pipeline, PipelineSettings,
};
use crate::server::metrics::{Metrics, Sample, Sampler};
use crate::server::{Readiness, ServerState};
use crate::sinks::LabelSink;
use crate::sources::Source;
use crate::store::{MasterKey, Store};
pub use checkout::{
    build_checkout, checkout_metrics, checkout_settings, checkout_token, pipeline_rating_quota,
    quote_once, serve_checkout, settings_from as checkout_settings_from,
};
use metrics::{
    credential_samples, erp_samples, events_samples, pipeline_samples, tracking_samples,
    ups_samples,
};

/// Everything one configuration builds.
pub struct Assembly {
    pub config: Config,
    pub pipeline: Arc<Pipeline>,
    /// (connector name, 6-field cron).
    pub schedules: Vec<(String, String)>,
    /// Tracking (Track Alert or polling) over the pipeline's ledger.
    pub tracker: Arc<crate::tracking::Tracker>,
    /// The Track Alert webhook (and v2 token endpoint) for the HTTP listener.
    pub webhook: axum::Router,
    /// The designated (first) account's UPS client, for benchmarks and `ping`.
    pub ups_client: crate::ups::UpsClient,
    /// Every UPS account and its client (one client per OAuth client): metrics, and "the
    /// client of account X" (`Accounts::client_for`, `Accounts::by_name`).
    pub accounts: Arc<crate::app::accounts::Accounts>,
    /// Readiness carried over a reload, per connector, until its own first cycle says
    /// otherwise ([`carry_readiness`]).
    pub carried: RwLock<std::collections::HashMap<String, Result<(), String>>>,
    /// The store (its health is part of readiness).
    pub store: Arc<Store>,
    /// Outbound events (`events.webhooks`): the outbox the tracker records into and its
    /// delivery worker; `None` when no webhook is configured.
    pub events: Option<Arc<crate::events::Deliverer>>,
    /// ERP push notifications (`connectors[].push`): receiver state and wake loops.
    pub push: Arc<crate::push::Push>,
}

/// The assembly in force (replaced on reload).
pub type Current = Arc<RwLock<Arc<Assembly>>>;

/// Where the configuration's store lives: `state_dir` (sled, the default) or the
/// PostgreSQL database of `store.url` / `UPSYNC_STORE_URL` (`store.backend: postgres`).
pub fn store_location(cfg: &Config) -> anyhow::Result<crate::store::Location> {
    use crate::config::store::StoreBackendName;
    match cfg.store.backend {
        StoreBackendName::Sled => Ok(crate::store::Location::Sled(crate::store::state_dir(
            cfg.state_dir.as_deref(),
        ))),
        StoreBackendName::Postgres => {
            let url = cfg.store.effective_url().ok_or_else(|| {
                anyhow::anyhow!("store.backend is postgres but no database is named: set store.url or UPSYNC_STORE_URL (postgres://USER@HOST:PORT/DATABASE)")
            })?;
            Ok(crate::store::Location::Postgres(crate::store::PgTarget {
                url,
                pool_size: cfg.store.pool_size.max(1) as usize,
            }))
        }
    }
}

/// Open the store of a configuration with the master key from the environment.
pub fn open_store(cfg: &Config) -> anyhow::Result<Arc<Store>> {
    let key = MasterKey::from_env()?;
    let store = store_location(cfg)?.open(Some(key))?;
    Ok(Arc::new(store))
}

/// Open the store without the master key (read-only commands: `jobs list/show`).
pub fn open_store_keyless(cfg: &Config) -> anyhow::Result<Arc<Store>> {
    let key = MasterKey::from_env().ok();
    Ok(Arc::new(store_location(cfg)?.open(key)?))
}

/// Load the configuration or print the `check` report.
pub fn load_config(path: &Path) -> Result<Config, ExitCode> {
    crate::config::load(path).map_err(|report| {
        eprint!("{report}");
        ExitCode::from(78)
    })
}

/// Build the pipeline and its connectors from a validated configuration.
pub async fn assemble(cfg: Config, store: Arc<Store>) -> anyhow::Result<Assembly> {
    assemble_with_clock(cfg, store, crate::pipeline::engine::system_clock()).await
}

/// [`assemble`] on a given clock (the demo and benchmarks run tracking on the UPS
/// simulator's accelerated clock).
pub async fn assemble_with_clock(
    cfg: Config,
    store: Arc<Store>,
    clock: crate::model::Clock,
) -> anyhow::Result<Assembly> {
    let accounts = Arc::new(crate::app::accounts::Accounts::build_with_clock(
        &cfg,
        &store,
        clock.clone(),
    )?);
    let ups = accounts.primary().clone();
    let ups_carrier = Arc::new(
        crate::app::adapters::AccountsCarrier::new(accounts.clone()).with_document_ids(Arc::new(
            crate::app::adapters::paperless::StoreDocumentIds(store.clone()),
        )),
    );
    let carrier: Arc<dyn Carrier> = ups_carrier.clone();
    let runtime = pipeline_runtime(&cfg.pipeline);
    let mut connectors = Vec::new();
    let mut schedules = Vec::new();
    for c in &cfg.connectors {
        let source = build_source(c, &store)
            .with_context(|| format!("connector '{}': cannot build its source", c.name))?;
        let mut mapper = build_mapper(c)
            .with_context(|| format!("connector '{}': cannot load its mapping", c.name))?;
        if !runtime.dead_letter_write_back {
            mapper = Arc::new(NoFailureWriteBack(mapper));
        }
        let mut conn = Connector::new(c.name.clone(), source, mapper, runtime.connector.clone());
        if let Some(sink) = build_label_sink(&c.label_sink) {
            conn = conn.with_label_sink(sink);
        }
        connectors.push(Arc::new(conn));
        schedules.push((c.name.clone(), c.schedule.clone()));
    }
    let settings = runtime.settings;
    let ledger = Ledger::new(store.clone());
    let pipeline = Arc::new(Pipeline::new(
        ledger.clone(),
        carrier,
        connectors,
        settings,
        clock.clone(),
    ));
    if let Some(d) = build_dispatch(&cfg, &store, &accounts)? {
        pipeline.set_dispatch(d);
    }
    // Several daemons on one database (docs/cluster.md); alone on sled, nothing is set.
    let coordinator = crate::cluster::for_store(&store, crate::cluster::lease_seconds(&cfg));
    if coordinator.is_shared() {
        pipeline.set_cluster(Arc::new(crate::cluster::Member::new(coordinator)));
    }
    let (tracking, auth) = tracking_settings(&cfg, &store)?;
    let events = build_events(&cfg, &store, &clock)?;
    let mut tracker =
        crate::tracking::Tracker::new(store.clone(), ups_carrier, tracking, clock.clone())
            .map_err(|e| anyhow::anyhow!("tracking configuration: {e}"))?
            .with_ledger(ledger)
            .with_connectors(pipeline.connectors());
    if let Some(d) = &events {
        tracker = tracker.with_status_sink(d.outbox().clone());
    }
    let tracker = Arc::new(tracker);
    let webhook = crate::tracking::router(tracker.webhook_state(auth));
    crate::app::credentials::arm(&cfg, &store, &pipeline);
    let push = Arc::new(crate::push::Push::new(
        pipeline.clone(),
        store.clone(),
        clock,
        push_settings(&cfg, &store)?,
    ));
    Ok(Assembly {
        config: cfg,
        pipeline,
        schedules,
        tracker,
        webhook,
        ups_client: ups,
        accounts,
        carried: RwLock::new(Default::default()),
        store,
        events,
        push,
    })
}

/// Dispatch calendars and the pickup book from the `dispatch` section (`None` when it
/// lists no site); on-call pickups go through each account's UPS client.
pub fn build_dispatch(
    cfg: &Config,
    store: &Arc<Store>,
    accounts: &Arc<crate::app::accounts::Accounts>,
) -> anyhow::Result<Option<Arc<crate::dispatch::Dispatch>>> {
    let calendars = dispatch_settings(cfg)?;
    if calendars.sites.is_empty() {
        return Ok(None);
    }
    let api: Arc<dyn crate::dispatch::PickupApi> =
        Arc::new(crate::app::adapters::UpsPickups::new(accounts.clone()));
    Ok(Some(Arc::new(crate::dispatch::Dispatch::new(
        calendars,
        store.clone(),
        Some(api),
    ))))
}

/// The dispatch calendars as the daemon builds them (every problem in one error).
pub fn dispatch_settings(cfg: &Config) -> anyhow::Result<crate::dispatch::Calendars> {
    crate::dispatch::Calendars::build(&cfg.dispatch).map_err(|problems| {
        anyhow::anyhow!(
            "dispatch configuration: {}",
            problems
                .iter()
                .map(|(at, what, fix)| format!("{at}: {what} -- fix: {fix}"))
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// Tracking, the push wake loops and, when webhooks are configured, the outbound events
/// worker, until `stop` turns true (`upsync run` starts this, and again after a reload
/// with the new assembly). All run in the caller's task: a panic in one ends all (and
/// `run` restarts them), so there is never a second delivery worker on the same outbox,
/// nor a second wake loop for a connector.
pub async fn run_tracking(a: Arc<Assembly>, stop: tokio::sync::watch::Receiver<bool>) {
    // Several daemons: tracking and events on one at a time (leases); push everywhere.
    let coordinator = a.pipeline.coordinator();
    let tracker = a.tracker.clone();
    let tracking = crate::cluster::lead(coordinator.clone(), "tracking", stop.clone(), |s| {
        tracker.clone().run(s)
    });
    let push = a.push.clone().run(stop.clone());
    match a.events.clone() {
        Some(d) => {
            let events = crate::cluster::lead(coordinator, "events", stop, |s| d.clone().run(s));
            tokio::join!(tracking, push, events);
        }
        None => {
            tokio::join!(tracking, push);
        }
    }
}

/// What the `events` section turns into at run time, secrets read from the vault;
/// `None` when no webhook is configured. Every field is named (no `..`).
pub fn events_settings(
    cfg: &Config,
    store: &Store,
) -> anyhow::Result<Option<crate::events::Settings>> {
    let crate::events::EventsConfig {
        webhooks,
        deliveries_in_flight,
        initial_backoff_seconds,
        max_backoff_seconds,
    } = &cfg.events;
    if webhooks.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for w in webhooks {
        let crate::events::WebhookConfig {
            name,
            url,
            secret,
            statuses,
            max_attempts,
            timeout_seconds,
        } = w;
        let fields = read_credentials(store, secret)?;
        let value = fields
            .get("secret")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .with_context(|| {
                format!(
                    "credentials '{secret}' (events webhook '{name}') need a non-empty `secret` field: `upsync creds set {secret}` with {{\"secret\": \"…\"}}"
                )
            })?;
        out.push(crate::events::Webhook {
            name: name.clone(),
            url: url.clone(),
            secret: zeroize::Zeroizing::new(value.as_bytes().to_vec()),
            statuses: statuses.clone(),
            max_attempts: (*max_attempts).max(1),
            timeout: std::time::Duration::from_secs((*timeout_seconds).max(1)),
        });
    }
    Ok(Some(crate::events::Settings {
        webhooks: out,
        deliveries_in_flight: (*deliveries_in_flight).max(1) as usize,
        initial_backoff: std::time::Duration::from_secs((*initial_backoff_seconds).max(1)),
        max_backoff: std::time::Duration::from_secs(*max_backoff_seconds),
        retention: chrono::Duration::days(cfg.pipeline.retention_days as i64),
    }))
}

/// The outbox and its delivery worker, when webhooks are configured.
fn build_events(
    cfg: &Config,
    store: &Arc<Store>,
    clock: &crate::model::Clock,
) -> anyhow::Result<Option<Arc<crate::events::Deliverer>>> {
    let Some(settings) = events_settings(cfg, store)? else {
        return Ok(None);
    };
    let routes = cfg
        .events
        .webhooks
        .iter()
        .map(crate::events::Route::of)
        .collect();
    let outbox = Arc::new(crate::events::Outbox::new(
        store.clone(),
        clock.clone(),
        routes,
    ));
    let poster =
        crate::events::HttpPoster::new().context("events: cannot build the HTTP client")?;
    Ok(Some(Arc::new(crate::events::Deliverer::new(
        outbox,
        settings,
        Arc::new(poster),
    ))))
}

/// The readiness of one connector as `/readyz` reports it: paused → not ready; logged in
/// by a cycle → ready; else what a reload carried over or checked ([`carry_readiness`]);
/// else "not authenticated yet".
fn connector_readiness(a: &Assembly, c: &Connector) -> Result<(), String> {
    match (c.health.paused_reason(), c.health.is_authenticated()) {
        (Some(why), _) => Err(format!("paused: {why}")),
        (None, true) => Ok(()),
        (None, false) => a
            .carried
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&c.name)
            .cloned()
            .unwrap_or_else(|| Err("not authenticated yet".to_string())),
    }
}

/// Readiness across a reload (issue 16 item 4): a connector whose configuration did not
/// change keeps the readiness it had; a new or changed one is checked at once with its
/// source's `ping` (login with its credentials), bounded by `PING_BOUND`, instead of
/// reading "not authenticated yet" until its next cycle.
pub async fn carry_readiness(old: &Assembly, new: &Assembly) {
    const PING_BOUND: std::time::Duration = std::time::Duration::from_secs(20);
    let mut carried = std::collections::HashMap::new();
    for c in new.pipeline.connectors() {
        let unchanged = old.config.connector(&c.name).is_some()
            && old.config.connector(&c.name) == new.config.connector(&c.name)
            && old.config.ups == new.config.ups;
        let before = old
            .pipeline
            .connectors()
            .iter()
            .find(|o| o.name == c.name)
            .map(|o| connector_readiness(old, o));
        let state = match before {
            Some(state) if unchanged => state,
            _ => match tokio::time::timeout(PING_BOUND, c.source.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("checked on reload: {e}")),
                Err(_) => Err(format!(
                    "checked on reload: no answer within {}s",
                    PING_BOUND.as_secs()
                )),
            },
        };
        carried.insert(c.name.clone(), state);
    }
    *new.carried.write().unwrap_or_else(|e| e.into_inner()) = carried;
}

/// The start-up store verification (issue 16 item 2): a full decode scan of the ledger,
/// bounded in time, on the blocking pool. Corruption stops the daemon with the fix.
pub async fn verify_store_at_start(store: &Arc<Store>) -> anyhow::Result<()> {
    let s = store.clone();
    let report = tokio::task::spawn_blocking(move || {
        s.verify_with(crate::store::VERIFY_BOUND, &ledger_decoder)
    })
    .await?;
    match report {
        Ok(r) if r.complete => {
            tracing::info!(
                records = r.records,
                elapsed_ms = r.elapsed.as_millis() as u64,
                "store verified"
            );
            Ok(())
        }
        Ok(r) => {
            tracing::warn!(
                records = r.records,
                bound_seconds = crate::store::VERIFY_BOUND.as_secs(),
                "store verification stopped at its time bound without finding damage; run `upsync store verify` while the daemon is stopped to check all of it"
            );
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("{e}")),
    }
}

pub use crate::pipeline::verify::ledger_decoder;

/// Warn when the listener is not on loopback and nothing says an authenticating proxy is
/// in front (`http.allow_public_listen`): `/metrics`, detailed readiness and the admin and
/// rates routes have no authentication of their own.
pub fn warn_public_listen(h: &crate::config::HttpConfig) {
    if let Some(why) = public_listen_warning(h) {
        tracing::warn!(listen = %h.listen, "{why}");
    }
}

/// The warning [`warn_public_listen`] logs, if any (also used by `check`).
pub fn public_listen_warning(h: &crate::config::HttpConfig) -> Option<String> {
    let addr: std::net::SocketAddr = h.listen.parse().ok()?;
    if addr.ip().is_loopback() || h.allow_public_listen {
        return None;
    }
    Some(format!(
        "http.listen {} is reachable from other hosts, and /metrics and the admin/rates routes have no authentication of their own; listen on 127.0.0.1 behind an authenticating reverse proxy, or set http.allow_public_listen: true once one is in front",
        h.listen
    ))
}

/// What the `pipeline` section turns into at run time. [`pipeline_runtime`] names every
/// field of [`crate::config::PipelineConfig`], so a new setting that nothing reads does
/// not compile.
#[derive(Debug, Clone)]
pub struct PipelineRuntime {
    /// Retries and in-doubt reconciliation of the pipeline.
    pub settings: PipelineSettings,
    /// The settings of every connector (`jobs_in_flight`).
    pub connector: ConnectorSettings,
    /// `pipeline.dead_letter_write_back`: when false, a dead-lettered job's reason is not
    /// written to the ERP record (the mapper is wrapped in [`NoFailureWriteBack`]).
    pub dead_letter_write_back: bool,
    /// `pipeline.retention_days`, read by the retention loop of `upsync run`.
    pub retention: chrono::Duration,
}

/// The run-time settings of the `pipeline` section.
pub fn pipeline_runtime(p: &crate::config::PipelineConfig) -> PipelineRuntime {
    let crate::config::PipelineConfig {
        jobs_in_flight,
        retry,
        dead_letter_write_back,
        retention_days,
        reconcile,
    } = p;
    let crate::config::JobRetryPolicy {
        max_attempts,
        initial_backoff_seconds,
        max_backoff_seconds,
    } = retry;
    let crate::config::ReconcilePolicy {
        absent_after_seconds,
        min_lookups,
        watch_hours,
    } = reconcile;
    PipelineRuntime {
        settings: PipelineSettings {
            retry: crate::pipeline::retry::RetryPolicy {
                base_seconds: *initial_backoff_seconds as f64,
                max_seconds: *max_backoff_seconds as f64,
                max_retries: *max_attempts,
            },
            reconcile: crate::pipeline::ReconcileSettings {
                absent_after: chrono::Duration::seconds(*absent_after_seconds as i64),
                min_lookups: *min_lookups,
                watch_for: chrono::Duration::hours(*watch_hours as i64),
            },
        },
        // The other connector settings are not configurable (engine defaults).
        connector: ConnectorSettings {
            jobs_in_flight: (*jobs_in_flight).max(1) as usize,
            ..ConnectorSettings::default()
        },
        dead_letter_write_back: *dead_letter_write_back,
        retention: chrono::Duration::days(*retention_days as i64),
    }
}

/// A mapper whose failure write-back is empty (`pipeline.dead_letter_write_back: false`):
/// the pipeline skips an empty plan, so a dead-lettered job leaves the ERP record alone.
/// Every other write-back (1Z, label, tracking) is the wrapped mapper's.
pub struct NoFailureWriteBack(pub Arc<dyn Mapper>);

impl Mapper for NoFailureWriteBack {
    fn to_shipment(
        &self,
        record: &crate::model::ErpRecord,
    ) -> Result<crate::model::Shipment, crate::pipeline::ports::MappingFailure> {
        self.0.to_shipment(record)
    }
    fn write_back_shipped(
        &self,
        record: &crate::model::ErpRecord,
        result: &crate::model::ShipResult,
    ) -> crate::model::WriteBack {
        self.0.write_back_shipped(record, result)
    }
    fn write_back_failure(
        &self,
        record: &crate::model::ErpRecord,
        _code: &str,
        _message: &str,
    ) -> crate::model::WriteBack {
        crate::model::WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        }
    }
    fn write_back_tracking(
        &self,
        record: &crate::model::ErpRecord,
        snapshot: &crate::model::TrackingSnapshot,
    ) -> crate::model::WriteBack {
        self.0.write_back_tracking(record, snapshot)
    }
    fn is_cancelled(&self, record: &crate::model::ErpRecord) -> bool {
        self.0.is_cancelled(record)
    }
    fn void_on_cancel(&self) -> bool {
        self.0.void_on_cancel()
    }
    fn auto_return(
        &self,
        record: &crate::model::ErpRecord,
    ) -> Option<Result<crate::model::Shipment, crate::pipeline::MappingFailure>> {
        self.0.auto_return(record)
    }
    fn write_back_auto_return(
        &self,
        record: &crate::model::ErpRecord,
        result: &crate::model::ShipResult,
    ) -> crate::model::WriteBack {
        self.0.write_back_auto_return(record, result)
    }
    fn write_back_auto_return_tracking(
        &self,
        record: &crate::model::ErpRecord,
        snapshot: &crate::model::TrackingSnapshot,
    ) -> crate::model::WriteBack {
        self.0.write_back_auto_return_tracking(record, snapshot)
    }
    fn write_back_linked(
        &self,
        record: &crate::model::ErpRecord,
        result: &crate::model::ShipResult,
    ) -> Option<crate::model::WriteBack> {
        self.0.write_back_linked(record, result)
    }
    // Freight, service used and transit days are not failure write-backs: forwarded, or
    // they would be dropped whenever `dead_letter_write_back` is off.
    fn write_back_shipped_freight(
        &self,
        record: &crate::model::ErpRecord,
        result: &crate::model::ShipResult,
        transit_days: Option<u32>,
    ) -> (
        crate::model::WriteBack,
        Option<crate::model::FreightOutcome>,
    ) {
        self.0
            .write_back_shipped_freight(record, result, transit_days)
    }
    fn site_key(&self, record: &crate::model::ErpRecord) -> Option<String> {
        self.0.site_key(record)
    }
    fn write_back_dispatch(
        &self,
        record: &crate::model::ErpRecord,
        ship_date: Option<chrono::NaiveDate>,
        prn: Option<&str>,
    ) -> crate::model::WriteBack {
        self.0.write_back_dispatch(record, ship_date, prn)
    }
}

/// Tracking settings and webhook authentication from the `tracking` section (webhook
/// secrets from the vault).
pub fn tracking_settings(
    cfg: &Config,
    store: &Store,
) -> anyhow::Result<(
    crate::tracking::TrackingSettings,
    crate::tracking::WebhookAuth,
)> {
    use crate::config::{TrackAlertVersion, TrackingMode as Mode};
    use crate::tracking::{AlertVersion, Destination, OAuthClient, TrackingMode, WebhookAuth};
    use zeroize::Zeroizing;
    let crate::config::TrackingConfig {
        mode,
        poll,
        track_alert,
        quantum_view,
        stale_after_days,
        give_up_after_days,
        not_found_after_hours,
    } = &cfg.tracking;
    let crate::config::QuantumViewConfig {
        interval_seconds: qv_interval_seconds,
        subscription_names: qv_subscription_names,
        match_by_reference: qv_match_by_reference,
        version: qv_version,
    } = quantum_view;
    let crate::config::PollIntervals {
        label_created_minutes,
        picked_up_minutes,
        in_transit_minutes,
        out_for_delivery_minutes,
        exception_minutes,
    } = poll;
    let crate::config::TrackAlertConfig {
        version,
        webhook_public_url,
        credentials,
        quiet_period_hours,
        renew_after_days,
    } = track_alert;
    let mut s = crate::tracking::TrackingSettings {
        mode: match mode {
            Mode::Poll => TrackingMode::Polling,
            Mode::TrackAlert => TrackingMode::TrackAlert,
            Mode::QuantumView => TrackingMode::QuantumView,
        },
        quantum_view: crate::tracking::QuantumViewSettings {
            interval_seconds: *qv_interval_seconds,
            subscription_names: qv_subscription_names.clone(),
            match_by_reference: *qv_match_by_reference,
            version: qv_version.clone(),
        },
        alert_version: match version {
            TrackAlertVersion::V1 => AlertVersion::V1,
            TrackAlertVersion::V2 => AlertVersion::V2,
        },
        ..Default::default()
    };
    s.poll_intervals.label_created_seconds = label_created_minutes * 60;
    s.poll_intervals.picked_up_seconds = picked_up_minutes * 60;
    s.poll_intervals.in_transit_seconds = in_transit_minutes * 60;
    s.poll_intervals.in_transit_far_seconds =
        (in_transit_minutes * 60 * 4).max(s.poll_intervals.in_transit_seconds);
    s.poll_intervals.out_for_delivery_seconds = out_for_delivery_minutes * 60;
    s.poll_intervals.exception_seconds = exception_minutes * 60;
    s.quiet_period_seconds = quiet_period_hours * 3600;
    s.renew_after_seconds = renew_after_days * 86_400;
    s.stale_after_seconds = stale_after_days * 86_400;
    s.give_up_after_seconds = give_up_after_days * 86_400;
    s.not_found_after_seconds = not_found_after_hours * 3600;
    s.webhook_max_body_bytes = cfg.http.body_limit_bytes.min(1 << 20) as usize;
    let mut auth = WebhookAuth {
        v1_credential: None,
        v2_client: None,
    };
    if *mode == Mode::TrackAlert {
        let creds = read_credentials(store, credentials)?;
        let field = |k: &str| creds.get(k).and_then(|v| v.as_str()).map(str::to_string);
        match version {
            TrackAlertVersion::V1 => {
                let credential = field("credential").with_context(|| {
                    format!("credentials '{}' need a `credential` field (the secret UPS sends back in the webhook's credential header)", credentials)
                })?;
                let url = webhook_public_url.clone().context(
                    "tracking.track_alert.webhook_public_url is required for Track Alert v1",
                )?;
                s.destination = Some(Destination {
                    url,
                    credential_type: "Bearer".into(),
                    credential: Zeroizing::new(credential.clone()),
                });
                auth.v1_credential = Some(Zeroizing::new(credential));
            }
            TrackAlertVersion::V2 => {
                let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
                    anyhow::bail!(
                        "credentials '{}' need `client_id` and `client_secret` (the client UPS uses at /webhooks/ups/oauth/token)",
                        credentials
                    );
                };
                auth.v2_client = Some(OAuthClient {
                    client_id: id,
                    client_secret: Zeroizing::new(secret),
                    token_ttl_seconds: s.webhook_token_ttl_seconds,
                });
            }
        }
    }
    Ok((s, auth))
}

/// The label sink of a connector (`sinks::LabelSinkConfig::build`).
fn build_label_sink(cfg: &LabelSinkConfig) -> Option<Arc<dyn LabelSink>> {
    cfg.build()
}

/// The UPS client settings of the designated (first) account of the `ups` section
/// ([`crate::app::accounts::account_client_config`] for any account).
pub fn ups_client_config(u: &crate::config::UpsConfig) -> crate::ups::UpsClientConfig {
    crate::app::accounts::ups_client_config(u)
}

/// The designated (first) account's UPS client of a configuration (`ping`, tests). The
/// daemon builds every account's client with [`crate::app::accounts::Accounts::build`];
/// credentials come from the vault: `{"client_id": "…", "client_secret": "…"}`.
pub fn build_ups_client(cfg: &Config, store: &Arc<Store>) -> anyhow::Result<crate::ups::UpsClient> {
    Ok(crate::app::accounts::Accounts::build(cfg, store)?
        .primary()
        .clone())
}

/// The fields of a credentials entry in the vault (`upsync creds set NAME`).
pub fn read_credentials(
    store: &Store,
    name: &str,
) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let creds = crate::store::creds::Credentials::load(store, name)?.with_context(|| {
        format!(
            "credentials '{name}' are not in the vault; add them with `upsync creds set {name}`"
        )
    })?;
    Ok(creds
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect())
}

/// Credentials entry decoded into a connector's own credential type.
pub(crate) fn credentials_as<T: serde::de::DeserializeOwned>(
    store: &Store,
    name: &str,
    what: &str,
) -> anyhow::Result<T> {
    let fields = read_credentials(store, name)?;
    let names: Vec<String> = fields.keys().cloned().collect();
    serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
        anyhow::anyhow!(
            "credentials '{name}' do not fit {what} (fields present: {}): {e}; set them again with `upsync creds set {name}`",
            names.join(", ")
        )
    })
}

/// The source connector of a configured connector: its type's `config.rs` builds it
/// (`sources::ConnectorKind::build`). Every field of the entry is named here.
pub fn build_source(c: &ConnectorConfig, store: &Arc<Store>) -> anyhow::Result<Arc<dyn Source>> {
    let ConnectorConfig {
        name,
        kind,
        profile,
        options,
        concurrency,
        credentials,
        // Built by `assemble` (build_mapper, the scheduler, build_label_sink, push_settings).
        mapping: _,
        schedule: _,
        label_sink: _,
        push: _,
    } = c;
    let spec = crate::sources::ConnectorSpec {
        name,
        profile,
        options,
        concurrency: *concurrency,
        credentials,
    };
    let fields = read_credentials(store, credentials)?;
    Ok(kind.build(&spec, fields)?)
}

/// The mapping of a configured connector.
fn build_mapper(c: &ConnectorConfig) -> anyhow::Result<Arc<dyn Mapper>> {
    let mapping = crate::mapping::Mapping::load(&c.mapping).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Arc::new(crate::app::adapters::MappingAdapter::new(mapping)))
}

/// `/readyz`: every connector authenticated and not paused, and the store without read
/// errors.
struct ConnectorsReady(Current);

impl Readiness for ConnectorsReady {
    fn check(&self) -> Vec<(String, Result<(), String>)> {
        let a = self.0.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out: Vec<(String, Result<(), String>)> = a
            .pipeline
            .connectors()
            .iter()
            .map(|c| (c.name.clone(), connector_readiness(&a, c)))
            .collect();
        // On PostgreSQL the database must answer too (`SELECT 1`, 5 s at most).
        let ping = a.store.ping().map_err(|e| e.to_string());
        out.push((
            "store".to_string(),
            ping.and_then(|_| a.store.health().status()),
        ));
        out.push(("tracking".to_string(), a.tracker.health()));
        if let Some(m) = a.pipeline.cluster() {
            out.push(("cluster".to_string(), m.readiness()));
        }
        out
    }
}

/// Server state (metrics and readiness) reading the current assembly.
pub fn server_state(current: &Current) -> ServerState {
    let pipeline_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            pipeline_samples(&a.pipeline, out);
            credential_samples(&a, out);
        })
    };
    let ups_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            for c in a.accounts.clients() {
                ups_samples(&c.label, &c.client, out);
            }
        })
    };
    let tracking_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            tracking_samples(&a.tracker, out);
        })
    };
    let erp_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            erp_samples(&a.pipeline, out);
        })
    };
    let events_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            if let Some(d) = &a.events {
                events_samples(d.outbox(), out);
            }
        })
    };
    let store_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            a.store.health().samples(out);
        })
    };
    let push_sampler: Sampler = {
        let current = current.clone();
        Box::new(move |out: &mut Vec<Sample>| {
            let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
            a.push.samples(out);
        })
    };
    let listener = Arc::new(crate::server::ListenerStats::default());
    let listener_sampler: Sampler = {
        let listener = listener.clone();
        Box::new(move |out: &mut Vec<Sample>| listener.samples(out))
    };
    let mut metrics = Metrics::new(vec![
        pipeline_sampler,
        ups_sampler,
        tracking_sampler,
        erp_sampler,
        listener_sampler,
        store_sampler,
        events_sampler,
        push_sampler,
    ]);
    let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
    metrics.register_histogram(
        "upsync_ship_latency_seconds",
        "Latency of UPS Ship calls",
        a.pipeline.stats.ship_latency.clone(),
    );
    metrics.register_histogram(
        "upsync_end_to_end_seconds",
        "From the ERP record's last change to 1Z written back",
        a.pipeline.stats.end_to_end.clone(),
    );
    ServerState {
        metrics: Arc::new(metrics),
        readiness: Arc::new(ConnectorsReady(current.clone())),
        listener,
        backup: Some({
            let current = current.clone();
            Arc::new(move |dir: std::path::PathBuf, salvage: bool| {
                let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                crate::store::backup::backup(&a.store, &dir, salvage).map_err(|e| e.to_string())
            })
        }),
    }
}

/// `upsync labels reprint JOB`.
pub async fn reprint(config: &Path, job: &str) -> anyhow::Result<ExitCode> {
    let cfg = match load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = open_store_keyless(&cfg)?;
    let ledger = Ledger::new(store);
    let j = ledger
        .get(job)?
        .with_context(|| format!("no job {job} in the ledger (see `upsync jobs list`)"))?;
    let Some(result) = j.result.as_ref() else {
        anyhow::bail!("job {job} is {} and has no label yet", j.state);
    };
    if j.compacted {
        anyhow::bail!(
            "job {job} was delivered; upsync drops the labels of delivered parcels from its ledger. \
             Recover the label from UPS (Label Recovery, for 120 days after shipping) if you need it"
        );
    }
    let conn = cfg.connector(&j.source).with_context(|| {
        format!(
            "job {job} belongs to connector '{}', which is no longer configured",
            j.source
        )
    })?;
    let Some(sink) = build_label_sink(&conn.label_sink) else {
        anyhow::bail!(
            "connector '{}' has no label sink (label_sink: none); configure a directory or printer",
            conn.name
        );
    };
    let delivered = sink
        .deliver(&j.number, result)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    for d in delivered {
        println!("{d}");
    }
    Ok(ExitCode::SUCCESS)
}
