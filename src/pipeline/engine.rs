//! The engine: one cycle of a connector (read → ledger → map → validate → ship → write-back)
//! and the per-job state machine, with in-doubt reconciliation.
//!
//! Exactly-once: a job enters `shipping` (flushed) before Ship is sent. A job found in
//! `shipping` — after a crash, or because Ship answered "outcome unknown" — is reconciled by
//! looking its reference up at UPS before any new Ship: found → labels recovered, job
//! continues as shipped; not found → Ship is sent again. Duplicates found (more than one
//! live shipment for one reference) are voided and counted.
//!
//! Must never: send Ship for a job whose previous Ship may have reached UPS without
//! reconciling first; write back before `shipped` is flushed; log addresses or labels.
//!
//! This file holds the types, the cycle ([`Pipeline::run_cycle`]) and the state machine's
//! dispatch ([`PipelineCore::process_job`]); each step is one file of `steps/` (ingest,
//! map, prepare, ship, reconcile, write_back, dead_letter, void), and `vanished.rs` handles
//! records deleted in the ERP after shipping.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ring::digest;

use super::ledger::{job_reference, Conflict, Failure, Job, JobState, Ledger, ShipAttempt, Watch};
use super::ports::{Carrier, CarrierError, FoundShipment, LabelSink, Mapper};
use super::retry::RetryPolicy;
use crate::model::{AddressCheck, ErpRecord, ErrorClass, ServiceSelection, ShipResult, Shipment};
use crate::sources::{Cursor, Source, SourceError};
use crate::store::{StoreError, Tree};

// Deleted (cancelled) ERP records after shipping; a child module so it shares the steps.
#[path = "vanished.rs"]
mod vanished;
// Several daemons on one database: job and connector leases (docs/cluster.md).
#[path = "lease.rs"]
mod lease;

// The steps of the per-job state machine, one file each; child modules, so they share
// `PipelineCore`'s private fields.
#[path = "steps/dead_letter.rs"]
mod dead_letter;
#[path = "steps/ingest.rs"]
mod ingest;
#[path = "steps/map.rs"]
mod map;
#[path = "steps/pickup.rs"]
mod pickup;
#[path = "steps/prepare.rs"]
mod prepare;
#[path = "steps/reconcile.rs"]
mod reconcile;
#[path = "steps/ship.rs"]
mod ship;
#[path = "steps/split.rs"]
mod split;
#[path = "steps/void.rs"]
mod void;
#[path = "steps/write_back.rs"]
mod write_back;
// Automatic returns: the second job an outbound shipment creates (docs/returns.md).
#[path = "steps/auto_return.rs"]
mod auto_return;
pub use auto_return::return_job_id;

/// Clock used for timestamps and retry scheduling (injectable for tests): the one
/// [`crate::model::Clock`].
pub use crate::model::Clock;

/// The system's wall clock.
pub fn system_clock() -> Clock {
    Clock::system()
}

/// Per-connector pipeline settings.
#[derive(Debug, Clone)]
pub struct ConnectorSettings {
    /// Jobs of this connector processed concurrently.
    pub jobs_in_flight: usize,
    /// Validate and classify the ship-to address before shipping.
    pub validate_address: bool,
    /// Pages read per cycle at most (the rest waits for the next cycle).
    pub max_pages_per_cycle: usize,
    /// How long a paused connector waits before trying again.
    pub pause_seconds: u64,
    /// At most one check for shipped records deleted in the ERP per this many seconds
    /// (see `vanished.rs`; 0 = every cycle).
    pub vanished_check_seconds: u64,
}

impl Default for ConnectorSettings {
    fn default() -> Self {
        ConnectorSettings {
            // As `pipeline.jobs_in_flight`'s default (config::defaults), so both agree.
            jobs_in_flight: 8,
            validate_address: true,
            max_pages_per_cycle: 1000,
            pause_seconds: 300,
            vanished_check_seconds: 900,
        }
    }
}

/// Health of one connector (readiness).
#[derive(Debug, Default)]
pub struct ConnectorHealth {
    paused: Mutex<Option<(DateTime<Utc>, String)>>,
    authenticated: AtomicBool,
    /// When the last cycle ended and what it came to (the console's overview).
    last_cycle: Mutex<Option<(DateTime<Utc>, String)>>,
    /// Vault entries this connector depends on, with their expiry dates
    /// (`app::credentials::arm`): past one, the cycle pauses instead of failing every call.
    credential_expiry: Mutex<Vec<(String, DateTime<Utc>)>>,
    /// Entries whose end moves while the daemon runs (a UPS authorization's refresh token,
    /// renewed on refresh or by a new authorization): read at every cycle.
    credential_deadlines: Mutex<Vec<CredentialDeadline>>,
    /// The connector's own login entry: a cycle that read the source records its use.
    own_credential: Mutex<Option<String>>,
}

/// A credential whose end is read afresh at every cycle, and what to do once it passed.
#[derive(Clone)]
pub struct CredentialDeadline {
    pub name: String,
    /// The remedy the pause reason names.
    pub fix: String,
    pub expires_at: Arc<dyn Fn() -> Option<DateTime<Utc>> + Send + Sync>,
}

impl std::fmt::Debug for CredentialDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialDeadline")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ConnectorHealth {
    /// The expiry dates of the credentials this connector depends on.
    pub fn set_credential_expiry(&self, dates: Vec<(String, DateTime<Utc>)>) {
        *self
            .credential_expiry
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = dates;
    }

    /// Credentials whose end is read at every cycle (see [`CredentialDeadline`]).
    pub fn set_credential_deadlines(&self, deadlines: Vec<CredentialDeadline>) {
        *self
            .credential_deadlines
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = deadlines;
    }

    /// The connector's own login entry (its successful source reads are recorded as its
    /// last use).
    pub fn set_own_credential(&self, name: Option<String>) {
        *self
            .own_credential
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = name;
    }

    fn own_credential(&self) -> Option<String> {
        self.own_credential
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Why the connector cannot work at `now`: a credential it depends on has expired.
    fn expired_credential(&self, now: DateTime<Utc>) -> Option<String> {
        let dynamic = self
            .credential_deadlines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for d in dynamic {
            if let Some(at) = (d.expires_at)().filter(|at| *at <= now) {
                return Some(format!(
                    "credentials '{}' expired on {}; {}",
                    d.name,
                    at.format("%Y-%m-%d %H:%M UTC"),
                    d.fix
                ));
            }
        }
        self.credential_expiry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(_, at)| *at <= now)
            .map(|(name, at)| {
                format!(
                    "credentials '{name}' expired on {}; renew them, then `upsync creds set {name} --expires-at NEW-DATE` and restart or reload",
                    at.format("%Y-%m-%d %H:%M UTC")
                )
            })
    }

    /// When the last (not skipped) cycle ended and a one-line outcome.
    pub fn last_cycle(&self) -> Option<(DateTime<Utc>, String)> {
        self.last_cycle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record_cycle(&self, at: DateTime<Utc>, outcome: String) {
        *self.last_cycle.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, outcome));
    }

    /// `Some(reason)` while paused.
    pub fn paused_reason(&self) -> Option<String> {
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(_, r)| r.clone())
    }

    pub fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::SeqCst)
    }

    fn pause(&self, until: DateTime<Utc>, reason: String) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = Some((until, reason));
    }

    fn pause_until(&self) -> Option<DateTime<Utc>> {
        self.paused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(u, _)| *u)
    }

    fn resume(&self) {
        *self.paused.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// A configured connector with its source, mapping and runtime state.
pub struct Connector {
    pub name: String,
    pub source: Arc<dyn Source>,
    pub mapper: Arc<dyn Mapper>,
    pub settings: ConnectorSettings,
    pub health: ConnectorHealth,
    /// Where labels go once shipped (directory, printer); `None` = only the ERP gets them.
    pub label_sink: Option<Arc<dyn LabelSink>>,
    running: tokio::sync::Mutex<()>,
    vanished: vanished::VanishedCheck,
}

impl Connector {
    pub fn new(
        name: impl Into<String>,
        source: Arc<dyn Source>,
        mapper: Arc<dyn Mapper>,
        settings: ConnectorSettings,
    ) -> Connector {
        Connector {
            name: name.into(),
            source,
            mapper,
            settings,
            health: ConnectorHealth::default(),
            label_sink: None,
            running: tokio::sync::Mutex::new(()),
            vanished: Default::default(),
        }
    }

    pub fn with_label_sink(mut self, sink: Arc<dyn LabelSink>) -> Connector {
        self.label_sink = Some(sink);
        self
    }
}

/// Counters (exported as metrics by the server).
#[derive(Debug)]
pub struct PipelineStats {
    /// Ship call latency, seconds.
    pub ship_latency: prometheus_client::metrics::histogram::Histogram,
    /// From the ERP record's last change to its 1Z written back, seconds.
    pub end_to_end: prometheus_client::metrics::histogram::Histogram,
    pub records_read: AtomicU64,
    pub jobs_created: AtomicU64,
    pub shipped: AtomicU64,
    pub ship_failures: AtomicU64,
    pub written_back: AtomicU64,
    pub dead_lettered: AtomicU64,
    pub conflicts: AtomicU64,
    pub in_doubt_found: AtomicU64,
    pub in_doubt_missing: AtomicU64,
    /// Reconciliation lookups that found nothing (the job stays in doubt and looks again).
    pub reconcile_misses: AtomicU64,
    pub duplicates_voided: AtomicU64,
    /// Shipments of a re-shipped job that UPS indexed late and that were voided.
    pub late_duplicates_voided: AtomicU64,
    pub voided: AtomicU64,
    pub retries_scheduled: AtomicU64,
    pub labels_delivered: AtomicU64,
    pub label_sink_failures: AtomicU64,
    /// Jobs stopped at a write refused because another daemon took their lease over.
    pub lease_lost: AtomicU64,
    /// Freight decisions per connector (written by basis, fallbacks to list, refusals).
    pub freight: FreightCounters,
}

/// Freight decisions counted per (connector, kind, label): kind `written` (label = basis
/// used), `fallback` (account asked, list used), `refused` (label = error code).
#[derive(Debug, Default)]
pub struct FreightCounters(
    std::sync::Mutex<std::collections::BTreeMap<(String, &'static str, String), u64>>,
);

impl FreightCounters {
    pub fn count(&self, connector: &str, kind: &'static str, label: &str) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((connector.to_string(), kind, label.to_string()))
            .or_insert(0) += 1;
    }

    /// Every (connector, kind, label) → count.
    pub fn snapshot(&self) -> Vec<((String, &'static str, String), u64)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(k, v)| (k.clone(), *v)).collect()
    }

    /// One connector's count of `kind` over all labels.
    pub fn total(&self, connector: &str, kind: &str) -> u64 {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter()
            .filter(|((c, k, _), _)| c == connector && *k == kind)
            .map(|(_, v)| *v)
            .sum()
    }
}

impl Default for PipelineStats {
    fn default() -> Self {
        let buckets = || {
            prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 16),
            )
        };
        PipelineStats {
            ship_latency: buckets(),
            end_to_end: buckets(),
            records_read: AtomicU64::new(0),
            jobs_created: AtomicU64::new(0),
            shipped: AtomicU64::new(0),
            ship_failures: AtomicU64::new(0),
            written_back: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            in_doubt_found: AtomicU64::new(0),
            in_doubt_missing: AtomicU64::new(0),
            reconcile_misses: AtomicU64::new(0),
            duplicates_voided: AtomicU64::new(0),
            late_duplicates_voided: AtomicU64::new(0),
            voided: AtomicU64::new(0),
            retries_scheduled: AtomicU64::new(0),
            labels_delivered: AtomicU64::new(0),
            label_sink_failures: AtomicU64::new(0),
            lease_lost: AtomicU64::new(0),
            freight: FreightCounters::default(),
        }
    }
}

/// What a cycle did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CycleReport {
    pub skipped: bool,
    pub paused: Option<String>,
    pub records_read: usize,
    pub jobs_created: usize,
    pub jobs_processed: usize,
    pub source_error: Option<String>,
    /// Wall time of the cycle's reading part (listing the source, ingesting, the vanished
    /// check), before its jobs are worked on: the bench's phase split.
    pub read_time: std::time::Duration,
}

/// Errors of the pipeline itself (store failures): the cycle stops, nothing is lost.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no connector named '{0}' is configured")]
    UnknownConnector(String),
    #[error("no job {0} in the ledger (see `upsync jobs list`)")]
    UnknownJob(String),
    #[error("job {id} is {state}: {what}")]
    NotApplicable {
        id: String,
        state: JobState,
        what: String,
    },
    #[error("{0}")]
    Carrier(#[from] CarrierError),
    #[error("{0}")]
    Source(#[from] SourceError),
}

/// Pipeline-wide settings.
#[derive(Debug, Clone, Default)]
pub struct PipelineSettings {
    pub retry: RetryPolicy,
    pub reconcile: ReconcileSettings,
}

/// When an in-doubt Ship counts as never having reached UPS.
///
/// UPS's reference search can miss a label created moments ago (`TW0001` until its index
/// catches up), so one miss proves nothing: absence is final only after `min_lookups`
/// lookups spread over `absent_after` (on the pipeline's clock). The job then ships again,
/// and its reference is watched for `watch_for`: a first shipment that UPS indexes late is
/// voided as a duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconcileSettings {
    pub absent_after: chrono::Duration,
    pub min_lookups: u32,
    pub watch_for: chrono::Duration,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            absent_after: chrono::Duration::minutes(30),
            min_lookups: 3,
            watch_for: chrono::Duration::hours(48),
        }
    }
}

impl ReconcileSettings {
    /// Time between two lookups of an in-doubt job (and of a watched one).
    pub fn interval(&self) -> chrono::Duration {
        let n = self.min_lookups.saturating_sub(1).max(1) as i32;
        (self.absent_after / n).max(chrono::Duration::seconds(1))
    }
}

/// The pipeline: ledger, carrier, connectors. A cheap handle on [`PipelineCore`], where
/// nearly every method lives; the handle is what lets a cycle run its jobs as tasks of their
/// own, spread over the runtime's workers.
pub struct Pipeline {
    core: Arc<PipelineCore>,
}

impl std::ops::Deref for Pipeline {
    type Target = PipelineCore;
    fn deref(&self) -> &PipelineCore {
        &self.core
    }
}

/// The pipeline's state and steps (reached through [`Pipeline`]).
pub struct PipelineCore {
    ledger: Ledger,
    carrier: Arc<dyn Carrier>,
    connectors: Vec<Arc<Connector>>,
    settings: PipelineSettings,
    clock: Clock,
    pub stats: PipelineStats,
    stopping: AtomicBool,
    /// Dispatch calendars and the pickup book (`steps/pickup.rs`); unset = no `dispatch:`.
    dispatch: std::sync::OnceLock<Arc<crate::dispatch::Dispatch>>,
    /// Several daemons on one database (`lease.rs`); unset = one daemon alone.
    cluster: std::sync::OnceLock<Arc<crate::cluster::Member>>,
}

/// Whether a step moved the job on or it must wait.
enum Step {
    Continue,
    Wait,
}

fn hash_hex(bytes: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, bytes).as_ref())
}

fn shipment_hash(s: &Shipment) -> String {
    hash_hex(&serde_json::to_vec(s).unwrap_or_default())
}

/// `found` as shipments of `per_shipment` packages each (the first 1Z of each is its id).
fn split_found(found: FoundShipment, per_shipment: usize) -> Vec<FoundShipment> {
    if found.tracking_numbers.len() <= per_shipment {
        return vec![found];
    }
    found
        .tracking_numbers
        .chunks(per_shipment)
        .map(|c| FoundShipment {
            shipment_id: c[0].clone(),
            tracking_numbers: c.to_vec(),
            voided: found.voided,
        })
        .collect()
}

/// A dead-lettered job that failed while its Ship was in doubt (in `shipping`): UPS may have
/// its shipment, so it must be reconciled before anything ships for the record again.
fn failed_in_doubt(job: &Job) -> bool {
    job.state == JobState::Failed
        && job.result.is_none()
        && job
            .timeline
            .iter()
            .rev()
            .find(|t| t.to == JobState::Failed)
            .and_then(|t| t.from)
            == Some(JobState::Shipping)
}

/// What the mapping makes of a record (the shipment, or the mapping problems), hashed: two
/// versions of a record with the same fingerprint send the same thing to UPS.
fn mapping_fingerprint(conn: &Connector, record: &ErpRecord) -> String {
    match conn.mapper.to_shipment(record) {
        Ok(s) => format!("ok:{}", shipment_hash(&s)),
        Err(f) => format!("err:{}", hash_hex(f.message().as_bytes())),
    }
}

impl Pipeline {
    pub fn new(
        ledger: Ledger,
        carrier: Arc<dyn Carrier>,
        connectors: Vec<Arc<Connector>>,
        settings: PipelineSettings,
        clock: Clock,
    ) -> Pipeline {
        Pipeline {
            core: Arc::new(PipelineCore {
                ledger,
                carrier,
                connectors,
                settings,
                clock,
                stats: PipelineStats::default(),
                stopping: AtomicBool::new(false),
                dispatch: std::sync::OnceLock::new(),
                cluster: std::sync::OnceLock::new(),
            }),
        }
    }

    /// One cycle of one connector: read new records into the ledger, then work on due jobs.
    /// A cycle never overlaps itself.
    pub async fn run_cycle(&self, conn: &Arc<Connector>) -> Result<CycleReport, PipelineError> {
        let r = self.cycle(conn).await;
        let outcome = match &r {
            Ok(r) if r.skipped => None,
            Ok(r) => Some(match (&r.paused, &r.source_error) {
                (Some(p), _) => format!("paused: {p}"),
                (None, Some(e)) => format!("source error: {e}"),
                (None, None) => format!(
                    "{} read, {} new jobs, {} processed",
                    r.records_read, r.jobs_created, r.jobs_processed
                ),
            }),
            Err(e) => Some(format!("failed: {e}")),
        };
        if let Some(o) = outcome {
            // Wall time, as the scheduler's next run: an operational fact, not business
            // time (the demo's pipeline clock runs days ahead).
            conn.health.record_cycle(Utc::now(), o);
        }
        r
    }

    async fn cycle(&self, conn: &Arc<Connector>) -> Result<CycleReport, PipelineError> {
        let Ok(_guard) = conn.running.try_lock() else {
            return Ok(CycleReport {
                skipped: true,
                ..Default::default()
            });
        };
        self.cycle_locked(conn).await
    }

    /// One cycle of one connector, after the one running now (if any) has finished: what
    /// a push wake-up runs (`crate::push`), so a change seen during a cycle is read by the
    /// next one instead of being skipped. Still never two cycles of a connector at once.
    pub async fn run_cycle_queued(
        &self,
        conn: &Arc<Connector>,
    ) -> Result<CycleReport, PipelineError> {
        let _guard = conn.running.lock().await;
        self.cycle_locked(conn).await
    }

    /// The cycle itself; the caller holds `conn.running`.
    async fn cycle_locked(&self, conn: &Arc<Connector>) -> Result<CycleReport, PipelineError> {
        let mut report = CycleReport::default();
        let now = self.now();
        if let Some(reason) = conn.health.expired_credential(now) {
            if conn.health.paused_reason().as_deref() != Some(reason.as_str()) {
                tracing::error!(connector = %conn.name, reason = %reason, "connector paused");
            }
            conn.health.pause(
                now + chrono::Duration::seconds(conn.settings.pause_seconds as i64),
                reason.clone(),
            );
            report.paused = Some(reason);
            return Ok(report);
        }
        if let Some(until) = conn.health.pause_until() {
            if now < until {
                report.paused = conn.health.paused_reason();
                return Ok(report);
            }
            conn.health.resume();
            tracing::info!(connector = %conn.name, "connector resumes after pause");
        }
        let reading = std::time::Instant::now();
        if !self.is_stopping() {
            // Several daemons: one polls the connector (its lease), the others stand by.
            let polled = self
                .as_poller(conn, async {
                    self.ingest(conn, &mut report).await?;
                    if report.source_error.is_none() {
                        // The login worked: one small write per cycle (`creds info`'s last use).
                        if let Some(name) = conn.health.own_credential() {
                            crate::store::creds::CredentialUse::record(
                                self.ledger.store(),
                                &name,
                                now,
                            );
                        }
                    }
                    if conn.health.paused_reason().is_none() {
                        self.check_vanished(conn).await?;
                    }
                    Ok::<(), PipelineError>(())
                })
                .await;
            match polled {
                Some(Err(e)) if lease::is_fenced(&e) => {
                    tracing::warn!(connector = %conn.name, event = "lease_lost", "another daemon took the connector's polling over; this one stands by")
                }
                Some(Err(e)) => return Err(e),
                _ => {}
            }
        }
        report.read_time = reading.elapsed();
        self.process_due(conn, &mut report).await?;
        conn.source.cycle_done().await;
        Ok(report)
    }

    /// Work on every due job of the connector, a bounded number at a time. Each job is a
    /// task of its own, so jobs spread over the runtime's workers (one task polling them all
    /// kept the pipeline on one core); a job that panics is logged and the others go on.
    async fn process_due(
        &self,
        conn: &Arc<Connector>,
        report: &mut CycleReport,
    ) -> Result<(), PipelineError> {
        let mut queue: std::collections::VecDeque<String> =
            self.ledger.active_ids(&conn.name)?.into();
        let limit = Arc::new(tokio::sync::Semaphore::new(
            conn.settings.jobs_in_flight.max(1),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        let mut settled = Settled::default();
        // Several daemons: a job another daemon held when this cycle reached it is tried
        // again every claim interval while the cycle runs, ahead of the rest, so a dead
        // daemon's job is taken over within the lease time even behind a long backlog
        // (docs/cluster.md, "Takeover").
        let retry_every = self.shared_coordinator().map(|c| c.renew_interval());
        let mut next_retry = retry_every.map(|e| tokio::time::Instant::now() + e);
        loop {
            if let (Some(every), Some(at)) = (retry_every, next_retry) {
                if tokio::time::Instant::now() >= at {
                    for id in settled.held.drain(..).rev() {
                        queue.push_front(id);
                    }
                    next_retry = Some(tokio::time::Instant::now() + every);
                }
            }
            if self.is_stopping() {
                break;
            }
            let Some(id) = queue.pop_front() else {
                if tasks.is_empty() {
                    break;
                }
                match next_retry {
                    Some(at) => tokio::select! {
                        done = tasks.join_next() => settled.add(done),
                        _ = tokio::time::sleep_until(at) => {}
                    },
                    None => settled.add(tasks.join_next().await),
                }
                continue;
            };
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            while let Some(done) = tasks.try_join_next() {
                settled.add(Some(done));
            }
            let (core, conn) = (self.core.clone(), conn.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let r = core.process_job_leased(&conn, &id).await;
                (id, r)
            });
        }
        while let Some(done) = tasks.join_next().await {
            settled.add(Some(done));
        }
        // Watched references and pickups: the connector's poller only (several daemons).
        if settled.first_error.is_none() {
            if let Some(Err(e)) = self.as_poller(conn, self.process_watches(conn)).await {
                settled.first_error = Some(e);
            }
        }
        if settled.first_error.is_none() && !self.is_stopping() {
            if let Some(Err(e)) = self.as_poller(conn, self.process_pickups()).await {
                settled.first_error = Some(e);
            }
        }
        report.jobs_processed = settled.processed;
        match settled.first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// What the job tasks of one cycle came to.
#[derive(Default)]
struct Settled {
    processed: usize,
    first_error: Option<PipelineError>,
    /// Jobs another daemon held when reached (tried again while the cycle runs).
    held: Vec<String>,
}

/// A job task's end: its id and what [`PipelineCore::process_job_leased`] came to.
type JobDone = Result<(String, Result<lease::Claimed, PipelineError>), tokio::task::JoinError>;

impl Settled {
    fn add(&mut self, done: Option<JobDone>) {
        let Some(done) = done else { return };
        match done {
            Ok((_, Ok(lease::Claimed::Worked(true)))) => self.processed += 1,
            Ok((_, Ok(lease::Claimed::Worked(false)))) => {}
            Ok((id, Ok(lease::Claimed::Held))) => self.held.push(id),
            Ok((id, Err(e))) => {
                tracing::error!(job = %id, error = %e, "job processing stopped");
                self.first_error.get_or_insert(e);
            }
            Err(e) => {
                tracing::error!(error = %e, "a job task panicked or was cancelled; the job stays in the ledger as it was last saved");
            }
        }
    }
}

impl PipelineCore {
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn connectors(&self) -> &[Arc<Connector>] {
        &self.connectors
    }

    pub fn connector(&self, name: &str) -> Result<&Arc<Connector>, PipelineError> {
        self.connectors
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| PipelineError::UnknownConnector(name.to_string()))
    }

    /// Stop taking new jobs (SIGTERM): steps in flight finish, nothing new starts.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The pipeline's clock (the simulator's in the demo and the tests).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn audit(&self, job: &Job, system: &str, op: &str, outcome: &str, started: DateTime<Utc>) {
        let now = self.now();
        // One structured event per external call (the same facts go to the audit tree).
        tracing::info!(
            job = %job.id,
            system,
            op,
            outcome,
            duration_ms = (now - started).num_milliseconds(),
            "external call"
        );
        // Encoded straight from borrowed fields (no `Value` tree per call); same JSON as
        // before, field order included.
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            at: String,
            duration_ms: i64,
            job: &'a str,
            system: &'a str,
            op: &'a str,
            outcome: &'a str,
            request_hash: Option<&'a str>,
        }
        let entry = Entry {
            at: started.to_rfc3339(),
            duration_ms: (now - started).num_milliseconds(),
            job: &job.id,
            system,
            op,
            outcome,
            request_hash: job.ship_attempt.as_ref().map(|a| a.request_hash.as_str()),
        };
        let key = format!(
            "{}/{:020}",
            job.id,
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        if let Err(e) = self.ledger.store().put_json(Tree::Audit, &key, &entry) {
            tracing::warn!(job = %job.id, error = %e, "could not write audit entry");
        }
    }

    /// Advance one job as far as it can go now. Returns whether it was due.
    pub async fn process_job(
        &self,
        conn: &Arc<Connector>,
        id: &str,
    ) -> Result<bool, PipelineError> {
        // Label bytes only for write-back (the one step of this loop that reads them).
        let Some(mut job) = self.ledger.get_lean(id)? else {
            return Ok(false);
        };
        if !job.is_due(self.now()) {
            return Ok(false);
        }
        if job.state == JobState::Shipped {
            self.ledger.attach_labels(&mut job)?;
        }
        loop {
            if conn.health.paused_reason().is_some() {
                break;
            }
            let step = match job.state {
                JobState::Seen => self.step_map(conn, &mut job).await?,
                JobState::Mapped => self.step_prepare(conn, &mut job).await?,
                JobState::AddressChecked => {
                    if self.is_stopping() {
                        Step::Wait
                    } else {
                        self.step_ship(conn, &mut job).await?
                    }
                }
                JobState::Shipping if !job.parts.is_empty() => {
                    self.step_group(conn, &mut job).await?
                }
                JobState::Shipping => self.step_reconcile(conn, &mut job).await?,
                JobState::Shipped => {
                    self.ensure_auto_return(conn, &job).await?;
                    self.step_write_back(conn, &mut job).await?
                }
                _ => Step::Wait,
            };
            if let Step::Wait = step {
                break;
            }
        }
        // `mapped` and `address_checked` guard no side effect and are not saved by their
        // steps: a job that stops in one is saved here. (After a crash it starts again from
        // the state saved before, which only maps or validates again.)
        if !job.state_is_stored() {
            self.ledger.save(&job)?;
        }
        Ok(true)
    }

    /// Wait until every connector's in-flight cycle has finished (bounded).
    pub async fn drain(&self, bound: Duration) -> bool {
        let wait = async {
            for c in &self.connectors {
                let _g = c.running.lock().await;
            }
        };
        tokio::time::timeout(bound, wait).await.is_ok()
    }
}

/// Field names that differ between what was shipped and a newer mapping (no values: they
/// may be addresses).
pub fn shipment_differences(a: &Shipment, b: &Shipment) -> Vec<String> {
    let mut d = Vec::new();
    let (x, y) = (&a.ship_to, &b.ship_to);
    if x.name != y.name {
        d.push("ship-to name".to_string());
    }
    let (ax, ay) = (&x.address, &y.address);
    if ax.lines != ay.lines {
        d.push("ship-to street".to_string());
    }
    if ax.city != ay.city || ax.state != ay.state || ax.postal_code != ay.postal_code {
        d.push("ship-to city/state/postal code".to_string());
    }
    if ax.country != ay.country {
        d.push("ship-to country".to_string());
    }
    if a.packages.len() != b.packages.len() {
        d.push(format!(
            "package count {} → {}",
            a.packages.len(),
            b.packages.len()
        ));
    } else if a
        .packages
        .iter()
        .zip(&b.packages)
        .any(|(p, q)| p.weight != q.weight || p.dimensions != q.dimensions)
    {
        d.push("package weights/dimensions".to_string());
    }
    d
}
