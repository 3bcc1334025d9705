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

/// Clock used for timestamps and retry scheduling (injectable for tests).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
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
}

impl ConnectorHealth {
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
            }),
        }
    }

    /// One cycle of one connector: read new records into the ledger, then work on due jobs.
    /// A cycle never overlaps itself.
    pub async fn run_cycle(&self, conn: &Arc<Connector>) -> Result<CycleReport, PipelineError> {
        let Ok(_guard) = conn.running.try_lock() else {
            return Ok(CycleReport {
                skipped: true,
                ..Default::default()
            });
        };
        let mut report = CycleReport::default();
        let now = self.now();
        if let Some(until) = conn.health.pause_until() {
            if now < until {
                report.paused = conn.health.paused_reason();
                return Ok(report);
            }
            conn.health.resume();
            tracing::info!(connector = %conn.name, "connector resumes after pause");
        }
        if !self.is_stopping() {
            self.ingest(conn, &mut report).await?;
            if conn.health.paused_reason().is_none() {
                self.check_vanished(conn).await?;
            }
        }
        self.process_due(conn, &mut report).await?;
        conn.source.close().await;
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
        let ids = self.ledger.active_ids(&conn.name)?;
        let limit = Arc::new(tokio::sync::Semaphore::new(
            conn.settings.jobs_in_flight.max(1),
        ));
        let mut tasks = tokio::task::JoinSet::new();
        let mut settled = Settled::default();
        for id in ids {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            if self.is_stopping() {
                break;
            }
            while let Some(done) = tasks.try_join_next() {
                settled.add(done);
            }
            let (core, conn) = (self.core.clone(), conn.clone());
            tasks.spawn(async move {
                let _permit = permit;
                let r = core.process_job(&conn, &id).await;
                (id, r)
            });
        }
        while let Some(done) = tasks.join_next().await {
            settled.add(done);
        }
        if settled.first_error.is_none() {
            if let Err(e) = self.process_watches(conn).await {
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
}

impl Settled {
    fn add(&mut self, done: Result<(String, Result<bool, PipelineError>), tokio::task::JoinError>) {
        match done {
            Ok((_, Ok(true))) => self.processed += 1,
            Ok((_, Ok(false))) => {}
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

    fn now(&self) -> DateTime<Utc> {
        (self.clock)()
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
        let entry = serde_json::json!({
            "at": started.to_rfc3339(),
            "duration_ms": (now - started).num_milliseconds(),
            "job": job.id,
            "system": system,
            "op": op,
            "outcome": outcome,
            "request_hash": job.ship_attempt.as_ref().map(|a| a.request_hash.clone()),
        });
        let key = format!(
            "{}/{:020}",
            job.id,
            now.timestamp_nanos_opt().unwrap_or_default()
        );
        if let Err(e) = self.ledger.store().put_json(Tree::Audit, &key, &entry) {
            tracing::warn!(job = %job.id, error = %e, "could not write audit entry");
        }
    }

    async fn ingest(
        &self,
        conn: &Arc<Connector>,
        report: &mut CycleReport,
    ) -> Result<(), PipelineError> {
        let store = self.ledger.store();
        let mut cursor: Cursor = store
            .get_json::<serde_json::Value>(Tree::Cursors, &conn.name)?
            .map(Cursor)
            .unwrap_or_default();
        for _ in 0..conn.settings.max_pages_per_cycle {
            if self.is_stopping() {
                break;
            }
            let page = match conn.source.poll(&cursor).await {
                Ok(p) => {
                    conn.health.authenticated.store(true, Ordering::SeqCst);
                    p
                }
                Err(e) => {
                    report.source_error = Some(e.to_string());
                    self.on_source_error(conn, &e);
                    break;
                }
            };
            for record in page.records {
                report.records_read += 1;
                self.stats.records_read.fetch_add(1, Ordering::Relaxed);
                if self.ingest_record(conn, record).await? {
                    report.jobs_created += 1;
                }
            }
            // The page's records are in the ledger before the cursor moves past them.
            self.ledger.flush().await?;
            store.put_json(Tree::Cursors, &conn.name, &page.cursor.0)?;
            self.ledger.flush().await?;
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        Ok(())
    }

    fn on_source_error(&self, conn: &Connector, e: &SourceError) {
        match e.class() {
            ErrorClass::Auth | ErrorClass::Config => {
                conn.health.authenticated.store(
                    e.class() != ErrorClass::Auth && conn.health.is_authenticated(),
                    Ordering::SeqCst,
                );
                let until =
                    self.now() + chrono::Duration::seconds(conn.settings.pause_seconds as i64);
                conn.health.pause(until, e.to_string());
                tracing::error!(connector = %conn.name, code = e.code(), error = %e, "connector paused");
            }
            _ => {
                tracing::warn!(connector = %conn.name, code = e.code(), error = %e, "source read failed; next cycle retries");
            }
        }
    }

    /// Put one record into the ledger. Returns whether a new job was created.
    async fn ingest_record(
        &self,
        conn: &Arc<Connector>,
        record: ErpRecord,
    ) -> Result<bool, PipelineError> {
        let now = self.now();
        let Some(mut current) = self.ledger.current_for(&conn.name, &record.id)? else {
            self.ledger.save(&Job::new(record, now))?;
            self.stats.jobs_created.fetch_add(1, Ordering::Relaxed);
            return Ok(true);
        };
        if current.version == record.version {
            return Ok(false);
        }
        // A job that holds a shipment (whatever its state, e.g. dead-lettered because the
        // write-back was refused) is never superseded: a new version is a change after
        // shipping, never a reason to ship again.
        if current.result.is_some() && current.state != JobState::Voided {
            self.changed_after_ship(conn, current, record).await?;
            return Ok(false);
        }
        if failed_in_doubt(&current) {
            // A new job would Ship without reconciling the one that may exist at UPS.
            tracing::warn!(job = %current.id, "record changed while its dead-lettered Ship is in doubt; `upsync jobs replay` reconciles it first");
            return Ok(false);
        }
        if current.state == JobState::Failed
            && mapping_fingerprint(conn, &current.record) == mapping_fingerprint(conn, &record)
        {
            // Nothing that goes to UPS changed (typically our own write-back of the failure
            // reason bumped the version): the job stays dead-lettered until the record is
            // really fixed or a person runs `jobs replay`.
            return Ok(false);
        }
        match current.state {
            JobState::Seen
            | JobState::Mapped
            | JobState::AddressChecked
            | JobState::Failed
            | JobState::Voided
            | JobState::Superseded => {
                if current.state != JobState::Voided {
                    current.transition(
                        JobState::Superseded,
                        format!("newer version {}", record.version),
                        now,
                    );
                    self.ledger.save(&current)?;
                }
                self.ledger.save(&Job::new(record, now))?;
                self.stats.jobs_created.fetch_add(1, Ordering::Relaxed);
                Ok(true)
            }
            JobState::Shipping
            | JobState::Shipped
            | JobState::WrittenBack
            | JobState::Tracking
            | JobState::Delivered => {
                self.changed_after_ship(conn, current, record).await?;
                Ok(false)
            }
        }
    }

    /// A new version of a record that already has (or may have) a shipment.
    async fn changed_after_ship(
        &self,
        conn: &Arc<Connector>,
        mut job: Job,
        record: ErpRecord,
    ) -> Result<(), PipelineError> {
        if conn.mapper.is_cancelled(&record) {
            if conn.mapper.void_on_cancel()
                && job.state != JobState::Delivered
                && job.state != JobState::Shipping
            {
                // A failed void is logged and audited there; the next change retries it.
                let _ = self.void_cancelled(&mut job, "cancelled in ERP").await?;
            } else {
                tracing::info!(job = %job.id, "record cancelled in ERP after shipping; mapping does not void");
            }
            return Ok(());
        }
        let Some(shipped) = job.shipment.as_ref() else {
            return Ok(());
        };
        let Ok(new) = conn.mapper.to_shipment(&record) else {
            return self
                .flag_conflict(conn, &mut job, &record, "record no longer maps")
                .await;
        };
        let diff = shipment_differences(shipped, &new);
        if diff.is_empty() {
            // Our own write-back (or an unrelated edit) changed the version: nothing to do.
            return Ok(());
        }
        self.flag_conflict(conn, &mut job, &record, &diff.join(", "))
            .await
    }

    async fn flag_conflict(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        record: &ErpRecord,
        what: &str,
    ) -> Result<(), PipelineError> {
        let now = self.now();
        if job.conflict.as_ref().map(|c| c.version.as_str()) == Some(record.version.as_str()) {
            return Ok(());
        }
        job.conflict = Some(Conflict {
            at: now,
            version: record.version.clone(),
            what: what.to_string(),
        });
        job.updated_at = now;
        self.ledger.save_flushed(job).await?;
        self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(job = %job.id, changed = %what, "record changed after its label was created: flagged as conflict, not re-shipped");
        let message = format!(
            "changed after the UPS label was created ({what}); not re-shipped. To re-ship: upsync jobs void {}",
            job.id
        );
        let plan = conn
            .mapper
            .write_back_failure(record, "shipment_changed_after_label", &message);
        if !plan.is_empty() {
            if let Err(e) = conn.source.write_back(&plan).await {
                tracing::warn!(job = %job.id, code = e.code(), "could not write the conflict note to the ERP");
            }
        }
        Ok(())
    }

    /// Advance one job as far as it can go now. Returns whether it was due.
    pub async fn process_job(
        &self,
        conn: &Arc<Connector>,
        id: &str,
    ) -> Result<bool, PipelineError> {
        let Some(mut job) = self.ledger.get(id)? else {
            return Ok(false);
        };
        if !job.is_due(self.now()) {
            return Ok(false);
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
                JobState::Shipping => self.step_reconcile(conn, &mut job).await?,
                JobState::Shipped => self.step_write_back(conn, &mut job).await?,
                _ => Step::Wait,
            };
            if let Step::Wait = step {
                break;
            }
        }
        Ok(true)
    }

    async fn step_map(&self, conn: &Arc<Connector>, job: &mut Job) -> Result<Step, PipelineError> {
        match conn.mapper.to_shipment(&job.record) {
            Ok(s) => {
                job.shipment = Some(s);
                job.transition(JobState::Mapped, "", self.now());
                self.ledger.save(job)?;
                Ok(Step::Continue)
            }
            Err(f) => {
                self.dead_letter(conn, job, ErrorClass::Business, f.code(), &f.message())
                    .await?;
                Ok(Step::Wait)
            }
        }
    }

    /// Address validation with classification, then service selection.
    async fn step_prepare(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        let mut shipment = job.shipment.clone().expect("mapped job has a shipment");
        if conn.settings.validate_address {
            let started = self.now();
            match self
                .carrier
                .validate_address(&shipment.ship_to.address)
                .await
            {
                Ok(check) => {
                    self.audit(job, "ups", "xav", "ok", started);
                    match check {
                        AddressCheck::Valid { residential, .. } => {
                            if residential.is_some() {
                                shipment.ship_to.address.residential = residential;
                            }
                        }
                        AddressCheck::NotCovered => {}
                        AddressCheck::Ambiguous { candidates } => {
                            let list = candidates
                                .iter()
                                .map(|a| {
                                    format!(
                                        "{}, {} {} {}",
                                        a.lines.join(" "),
                                        a.city,
                                        a.state,
                                        a.postal_code
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(" | ");
                            let msg = format!("UPS address validation found the ship-to address ambiguous; candidates: {list}. Correct the ship-to address on the record");
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "address_ambiguous",
                                &msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                        AddressCheck::NoCandidates => {
                            let msg = "UPS address validation found no address matching the ship-to address (street, city, state, postal code). Correct it on the record";
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "address_invalid",
                                msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                    }
                }
                Err(e) => {
                    self.audit(job, "ups", "xav", &e.code, started);
                    return self.carrier_error(conn, job, e).await;
                }
            }
        }
        if let ServiceSelection::CheapestWithin {
            max_business_days,
            allowed,
            fallback,
        } = shipment.service.clone()
        {
            let started = self.now();
            match self.carrier.shop(&shipment).await {
                Ok(quotes) => {
                    self.audit(job, "ups", "shop", "ok", started);
                    let best = quotes
                        .iter()
                        .filter(|q| allowed.is_empty() || allowed.contains(&q.service_code))
                        .filter(|q| q.business_days.is_some_and(|d| d <= max_business_days))
                        .filter_map(|q| q.charges.effective().map(|m| (m.amount, q)))
                        .min_by(|a, b| a.0.cmp(&b.0))
                        .map(|(_, q)| q.service_code.clone());
                    match best.or(fallback) {
                        Some(code) => shipment.service = ServiceSelection::Fixed { code },
                        None => {
                            let msg = format!("no UPS service arrives within {max_business_days} business days for this lane; allow more days or set a fallback service in the mapping");
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "no_service_within_days",
                                &msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                    }
                }
                Err(e) => {
                    self.audit(job, "ups", "shop", &e.code, started);
                    return self.carrier_error(conn, job, e).await;
                }
            }
        }
        job.shipment = Some(shipment);
        job.transition(JobState::AddressChecked, "", self.now());
        self.ledger.save(job)?;
        Ok(Step::Continue)
    }

    async fn step_ship(&self, conn: &Arc<Connector>, job: &mut Job) -> Result<Step, PipelineError> {
        // Every Ship of the job carries the job's own reference (besides the ERP number), so
        // reconciliation finds exactly this job's shipments and no other shipper's.
        let reference = job_reference(&job.id);
        let shipment = job
            .shipment
            .clone()
            .expect("checked job has a shipment")
            .with_reference(crate::model::Reference {
                code: "TN".into(),
                value: reference.clone(),
                barcode: false,
            });
        let now = self.now();
        let attempt = job.ship_attempt.as_ref().map_or(0, |a| a.attempt) + 1;
        job.ship_attempt = Some(ShipAttempt {
            attempt,
            request_hash: shipment_hash(&shipment),
            started_at: now,
            reference: Some(reference),
            misses: 0,
            first_miss_at: None,
        });
        job.transition(JobState::Shipping, format!("attempt {attempt}"), now);
        // Durable before the side effect: a crash from here on is reconciled, never re-shipped blindly.
        self.ledger.save_flushed(job).await?;
        let started = self.now();
        let timer = std::time::Instant::now();
        let outcome = self.carrier.ship(&shipment).await;
        self.stats
            .ship_latency
            .observe(timer.elapsed().as_secs_f64());
        match outcome {
            Ok(result) => {
                self.audit(job, "ups", "ship", "ok", started);
                self.shipped(job, result, "").await?;
                Ok(Step::Continue)
            }
            Err(e) if e.outcome_unknown => {
                self.audit(job, "ups", "ship", &e.code, started);
                tracing::warn!(job = %job.id, code = %e.code, "Ship outcome unknown: job is in doubt and will be reconciled before any new Ship");
                self.schedule_retry(job, &e)?;
                Ok(Step::Wait)
            }
            Err(e) => {
                self.audit(job, "ups", "ship", &e.code, started);
                self.stats.ship_failures.fetch_add(1, Ordering::Relaxed);
                // UPS answered: nothing was created.
                job.transition(
                    JobState::AddressChecked,
                    format!("ship refused: {}", e.code),
                    self.now(),
                );
                self.ledger.save(job)?;
                self.carrier_error(conn, job, e).await
            }
        }
    }

    async fn shipped(
        &self,
        job: &mut Job,
        result: ShipResult,
        how: &str,
    ) -> Result<(), PipelineError> {
        let numbers = result
            .packages
            .iter()
            .map(|p| p.tracking_number.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        job.result = Some(result);
        job.transition(JobState::Shipped, format!("{how}{numbers}"), self.now());
        // Durable before write-back: a failed write-back retries from here, never ships again.
        self.ledger.save_flushed(job).await?;
        self.stats.shipped.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// In doubt: look the shipment up by its reference before ever shipping again.
    async fn step_reconcile(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        let shipment = job.shipment.clone().expect("shipping job has a shipment");
        let started_at = job
            .ship_attempt
            .as_ref()
            .map_or(job.updated_at, |a| a.started_at);
        // Jobs shipped before the job reference existed are looked up by the ERP number.
        let reference = job
            .ship_attempt
            .as_ref()
            .and_then(|a| a.reference.clone())
            .unwrap_or_else(|| job.number.clone());
        let from = (started_at - chrono::Duration::days(1)).date_naive();
        let to = (self.now() + chrono::Duration::days(1)).date_naive();
        let started = self.now();
        let found = match self
            .carrier
            .find_by_reference(&reference, &shipment.account_number, from, to)
            .await
        {
            Ok(f) => {
                self.audit(job, "ups", "track_by_reference", "ok", started);
                f
            }
            Err(e) => {
                self.audit(job, "ups", "track_by_reference", &e.code, started);
                return self.carrier_error(conn, job, e).await;
            }
        };
        // Track by reference may list the packages of several shipments as one (UPS gives no
        // shipment id per package): a list longer than this shipment's packages is split
        // into shipments of that many packages, in the order UPS listed them.
        let per_shipment = shipment.packages.len().max(1);
        let mut live: Vec<_> = found
            .into_iter()
            .filter(|f| !f.voided)
            .flat_map(|f| split_found(f, per_shipment))
            .collect();
        if live.is_empty() {
            return self
                .reconcile_missed(job, &reference, &shipment, started_at)
                .await;
        }
        live.sort_by(|a, b| a.shipment_id.cmp(&b.shipment_id));
        let keep = live.remove(0);
        for dup in &live {
            let started = self.now();
            match self.carrier.void(&dup.shipment_id).await {
                Ok(()) => {
                    self.audit(job, "ups", "void_duplicate", "ok", started);
                    job.duplicates_voided += 1;
                    self.stats.duplicates_voided.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(job = %job.id, shipment = %dup.shipment_id, "duplicate shipment found by reconciliation and voided");
                }
                Err(e) => {
                    self.audit(job, "ups", "void_duplicate", &e.code, started);
                    return self.carrier_error(conn, job, e).await;
                }
            }
        }
        let started = self.now();
        match self
            .carrier
            .recover(&keep, &shipment, &shipment.label)
            .await
        {
            Ok(result) => {
                self.audit(job, "ups", "label_recovery", "ok", started);
                self.stats.in_doubt_found.fetch_add(1, Ordering::Relaxed);
                self.shipped(job, result, "reconciled: ").await?;
                Ok(Step::Continue)
            }
            Err(e) => {
                self.audit(job, "ups", "label_recovery", &e.code, started);
                self.carrier_error(conn, job, e).await
            }
        }
    }

    /// A reconciliation lookup found nothing. A label created moments ago may not be
    /// findable by reference yet, so the job stays in doubt and looks again, until
    /// `min_lookups` misses spread over `absent_after`: then UPS has no such shipment, the
    /// job ships again, and its reference is watched for a late-indexed first shipment.
    async fn reconcile_missed(
        &self,
        job: &mut Job,
        reference: &str,
        shipment: &Shipment,
        started_at: DateTime<Utc>,
    ) -> Result<Step, PipelineError> {
        let now = self.now();
        let r = &self.settings.reconcile;
        // A job left in `shipping` by an older upsync may have no attempt recorded.
        let attempt = job.ship_attempt.get_or_insert_with(|| ShipAttempt {
            attempt: 0,
            request_hash: String::new(),
            started_at,
            reference: None,
            misses: 0,
            first_miss_at: None,
        });
        attempt.misses += 1;
        let first_miss = *attempt.first_miss_at.get_or_insert(now);
        let misses = attempt.misses;
        self.stats.reconcile_misses.fetch_add(1, Ordering::Relaxed);
        if misses < r.min_lookups.max(1) || now - first_miss < r.absent_after {
            job.next_attempt_at = Some(now + r.interval());
            job.updated_at = now;
            job.timeline.push(super::ledger::Transition {
                at: now,
                from: Some(job.state),
                to: job.state,
                note: format!(
                    "reconcile: not found by reference yet (lookup {misses}); UPS indexes new labels late, looking again"
                ),
            });
            self.ledger.save_flushed(job).await?;
            tracing::info!(job = %job.id, misses, "in-doubt Ship not found by reference yet; looking again later");
            return Ok(Step::Wait);
        }
        self.stats.in_doubt_missing.fetch_add(1, Ordering::Relaxed);
        let minutes = (now - first_miss).num_minutes();
        job.transition(
            JobState::AddressChecked,
            format!("reconciled: UPS has no shipment with this reference after {misses} lookups over {minutes} min; shipping again"),
            now,
        );
        if r.watch_for > chrono::Duration::zero() {
            self.ledger.put_watch(&Watch {
                job_id: job.id.clone(),
                reference: reference.to_string(),
                shipper: shipment.account_number.clone(),
                since: started_at,
                next_at: now + r.interval(),
                until: now + r.watch_for,
                voided: vec![],
            })?;
        }
        self.ledger.save_flushed(job).await?;
        Ok(Step::Continue)
    }

    /// Watched jobs (re-shipped after reconciliation gave up) of one connector: look their
    /// reference up again and void every live shipment of theirs but the one the job holds.
    async fn process_watches(&self, conn: &Arc<Connector>) -> Result<(), PipelineError> {
        let now = self.now();
        for mut w in self.ledger.due_watches(&conn.name, now)? {
            if self.is_stopping() {
                break;
            }
            let job = self.ledger.get(&w.job_id)?;
            let keep = job
                .as_ref()
                .and_then(|j| j.result.as_ref())
                .map(|r| r.shipment_id.clone());
            let gone = job
                .as_ref()
                .is_none_or(|j| matches!(j.state, JobState::Voided | JobState::Superseded));
            if gone || now >= w.until {
                self.ledger.remove_watch(&w.job_id)?;
                continue;
            }
            let Some(keep) = keep else {
                // Not shipped again yet (or in doubt again: reconciliation handles that).
                w.next_at = now + self.settings.reconcile.interval();
                self.ledger.put_watch(&w)?;
                continue;
            };
            let job = job.expect("checked above");
            let from = (w.since - chrono::Duration::days(1)).date_naive();
            let to = (now + chrono::Duration::days(1)).date_naive();
            let started = self.now();
            let found = match self
                .carrier
                .find_by_reference(&w.reference, &w.shipper, from, to)
                .await
            {
                Ok(f) => {
                    self.audit(&job, "ups", "watch_by_reference", "ok", started);
                    f
                }
                Err(e) => {
                    self.audit(&job, "ups", "watch_by_reference", &e.code, started);
                    tracing::warn!(job = %job.id, code = %e.code, "late-duplicate watch lookup failed; next cycle retries");
                    continue;
                }
            };
            let ours: std::collections::HashSet<&str> = job
                .result
                .iter()
                .flat_map(|r| r.packages.iter().map(|p| p.tracking_number.as_str()))
                .chain(std::iter::once(keep.as_str()))
                .collect();
            // As in reconciliation: one match may list several shipments' packages.
            let per_shipment = job.shipment.as_ref().map_or(1, |s| s.packages.len().max(1));
            let candidates: Vec<FoundShipment> = found
                .into_iter()
                .filter(|f| !f.voided)
                .flat_map(|f| split_found(f, per_shipment))
                .collect();
            for extra in candidates
                .iter()
                .filter(|f| !f.tracking_numbers.iter().any(|t| ours.contains(t.as_str())))
            {
                if w.voided.contains(&extra.shipment_id) {
                    continue;
                }
                let started = self.now();
                match self.carrier.void(&extra.shipment_id).await {
                    Ok(()) => {
                        self.audit(&job, "ups", "void_late_duplicate", "ok", started);
                        w.voided.push(extra.shipment_id.clone());
                        self.stats
                            .late_duplicates_voided
                            .fetch_add(1, Ordering::Relaxed);
                        self.stats.duplicates_voided.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(job = %job.id, shipment = %extra.shipment_id, keep = %keep, "late-indexed duplicate shipment voided");
                    }
                    Err(e) => {
                        self.audit(&job, "ups", "void_late_duplicate", &e.code, started);
                        tracing::warn!(job = %job.id, shipment = %extra.shipment_id, code = %e.code, "could not void a late duplicate; will try again");
                    }
                }
            }
            w.next_at = now + self.settings.reconcile.interval();
            self.ledger.put_watch(&w)?;
        }
        Ok(())
    }

    async fn step_write_back(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        let result = job.result.clone().expect("shipped job has a result");
        if let Some(sink) = &conn.label_sink {
            if !job.timeline.iter().any(|t| t.note.starts_with("labels: ")) {
                match sink.deliver(&job.number, &result).await {
                    Ok(names) => {
                        self.stats.labels_delivered.fetch_add(1, Ordering::Relaxed);
                        job.timeline.push(super::ledger::Transition {
                            at: self.now(),
                            from: Some(job.state),
                            to: job.state,
                            note: format!("labels: {}", names.join(", ")),
                        });
                    }
                    Err(e) => {
                        // The label is stored with the job: `upsync labels reprint` re-sends it.
                        self.stats
                            .label_sink_failures
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(job = %job.id, error = %e, "label sink failed; reprint with `upsync labels reprint`");
                    }
                }
            }
        }
        let plan = conn.mapper.write_back_shipped(&job.record, &result);
        let started = self.now();
        match conn.source.write_back(&plan).await {
            Ok(()) => {
                self.audit(job, &conn.name, "write_back", "ok", started);
                job.transition(JobState::WrittenBack, "", self.now());
                self.stats.written_back.fetch_add(1, Ordering::Relaxed);
                let e2e = (self.now() - job.record.modified).num_milliseconds().max(0);
                self.stats.end_to_end.observe(e2e as f64 / 1000.0);
                job.transition(JobState::Tracking, "", self.now());
                self.ledger.save(job)?;
                Ok(Step::Wait)
            }
            Err(e) => {
                self.audit(job, &conn.name, "write_back", e.code(), started);
                match e.class() {
                    ErrorClass::Business => {
                        self.dead_letter(conn, job, ErrorClass::Business, e.code(), &e.to_string())
                            .await?;
                        Ok(Step::Wait)
                    }
                    ErrorClass::Auth | ErrorClass::Config => {
                        self.on_source_error(conn, &e);
                        Ok(Step::Wait)
                    }
                    ErrorClass::Transient => {
                        let ce = CarrierError::transient(e.code(), e.to_string());
                        self.schedule_retry(job, &ce)?;
                        Ok(Step::Wait)
                    }
                }
            }
        }
    }

    /// Route a carrier error by class.
    async fn carrier_error(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        e: CarrierError,
    ) -> Result<Step, PipelineError> {
        match e.class {
            ErrorClass::Transient => {
                self.schedule_retry(job, &e)?;
            }
            ErrorClass::Business => {
                self.dead_letter(conn, job, ErrorClass::Business, &e.code, &e.message)
                    .await?;
            }
            ErrorClass::Auth | ErrorClass::Config => {
                let until =
                    self.now() + chrono::Duration::seconds(conn.settings.pause_seconds as i64);
                conn.health.pause(until, format!("UPS: {}", e.message));
                tracing::error!(connector = %conn.name, code = %e.code, "UPS rejected credentials or configuration; connector paused");
                job.last_error = Some(Failure {
                    class: e.class,
                    code: e.code.clone(),
                    message: e.message.clone(),
                    at: self.now(),
                });
                self.ledger.save(job)?;
            }
        }
        Ok(Step::Wait)
    }

    fn schedule_retry(&self, job: &mut Job, e: &CarrierError) -> Result<(), PipelineError> {
        let now = self.now();
        job.retries += 1;
        self.stats.retries_scheduled.fetch_add(1, Ordering::Relaxed);
        let delay = self.settings.retry.delay(job.retries);
        job.next_attempt_at =
            Some(now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::zero()));
        job.last_error = Some(Failure {
            class: e.class,
            code: e.code.clone(),
            message: e.message.clone(),
            at: now,
        });
        job.updated_at = now;
        if job.retries > self.settings.retry.max_retries && job.state != JobState::Shipping {
            let msg = format!(
                "gave up after {} transient failures; last: [{}] {}",
                job.retries - 1,
                e.code,
                e.message
            );
            job.last_error = Some(Failure {
                class: ErrorClass::Transient,
                code: "retries_exhausted".into(),
                message: msg,
                at: now,
            });
            job.transition(JobState::Failed, "retries_exhausted", now);
            self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        }
        self.ledger.save(job)?;
        Ok(())
    }

    /// Dead-letter with a stable code; the reason is written back to the ERP record.
    async fn dead_letter(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        class: ErrorClass,
        code: &str,
        message: &str,
    ) -> Result<(), PipelineError> {
        let now = self.now();
        job.last_error = Some(Failure {
            class,
            code: code.to_string(),
            message: message.to_string(),
            at: now,
        });
        job.transition(JobState::Failed, code, now);
        self.ledger.save_flushed(job).await?;
        self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(connector = %conn.name, job = %job.id, record = %job.number, code, "job dead-lettered");
        let plan = conn.mapper.write_back_failure(&job.record, code, message);
        if !plan.is_empty() {
            let started = self.now();
            match conn.source.write_back(&plan).await {
                Ok(()) => self.audit(job, &conn.name, "write_back_failure", "ok", started),
                Err(e) => {
                    self.audit(job, &conn.name, "write_back_failure", e.code(), started);
                    tracing::warn!(job = %job.id, code = e.code(), "could not write the failure reason to the ERP record");
                }
            }
        }
        Ok(())
    }

    /// `jobs replay ID`: after a fix, re-read the record, re-map and continue from the safe
    /// point. A job that already has a shipment continues with write-back; it never ships again.
    pub async fn replay(&self, id: &str) -> Result<Job, PipelineError> {
        let mut job = self
            .ledger
            .get(id)?
            .ok_or_else(|| PipelineError::UnknownJob(id.to_string()))?;
        let conn = self.connector(&job.source)?.clone();
        let now = self.now();
        match job.state {
            JobState::Failed if job.result.is_some() => {
                job.transition(JobState::Shipped, "replay: resume write-back", now);
                self.ledger.save_flushed(&job).await?;
            }
            JobState::Failed if failed_in_doubt(&job) => {
                // Its Ship may have reached UPS: reconcile before anything else. The record
                // as it was shipped is kept; a newer version shows up as a conflict.
                job.transition(
                    JobState::Shipping,
                    "replay: in doubt; reconcile before any new Ship",
                    now,
                );
                self.ledger.save_flushed(&job).await?;
            }
            JobState::Failed | JobState::Seen | JobState::Mapped | JobState::AddressChecked => {
                let fresh = conn.source.fetch(&job.record_id).await?;
                match fresh {
                    Some(r) if r.version != job.version => {
                        job.transition(
                            JobState::Superseded,
                            format!("replay: newer version {}", r.version),
                            now,
                        );
                        self.ledger.save(&job)?;
                        job = Job::new(r, now);
                    }
                    Some(r) => {
                        job.record = r;
                        job.shipment = None;
                        job.transition(JobState::Seen, "replay", now);
                    }
                    None => {
                        return Err(PipelineError::Source(SourceError::NotFound {
                            system: conn.name.clone(),
                            record: job.number.clone(),
                        }))
                    }
                }
                self.ledger.save_flushed(&job).await?;
            }
            JobState::Shipping | JobState::Shipped => {}
            other => {
                return Err(PipelineError::NotApplicable {
                    id: id.to_string(),
                    state: other,
                    what: "nothing to replay (it has shipped and is written back)".into(),
                })
            }
        }
        let id = job.id.clone();
        self.process_job(&conn, &id).await?;
        let done = self.ledger.get(&id)?.expect("job exists");
        conn.source.close().await;
        Ok(done)
    }

    /// `jobs void ID`: void the job's shipment at UPS; then the current version of the record
    /// is taken up as a new job (re-ship).
    pub async fn void(&self, id: &str) -> Result<Job, PipelineError> {
        let mut job = self
            .ledger
            .get(id)?
            .ok_or_else(|| PipelineError::UnknownJob(id.to_string()))?;
        let conn = self.connector(&job.source)?.clone();
        let Some(result) = job.result.clone() else {
            return Err(PipelineError::NotApplicable {
                id: id.to_string(),
                state: job.state,
                what: "it has no shipment to void".into(),
            });
        };
        if job.state == JobState::Voided {
            return Err(PipelineError::NotApplicable {
                id: id.to_string(),
                state: job.state,
                what: "already voided".into(),
            });
        }
        let started = self.now();
        self.carrier
            .void(&result.shipment_id)
            .await
            .inspect_err(|e| {
                self.audit(&job, "ups", "void", &e.code, started);
            })?;
        self.audit(&job, "ups", "void", "ok", started);
        job.transition(
            JobState::Voided,
            format!("voided {} by operator", result.shipment_id),
            self.now(),
        );
        self.ledger.save_flushed(&job).await?;
        self.stats.voided.fetch_add(1, Ordering::Relaxed);
        if let Some(r) = conn.source.fetch(&job.record_id).await? {
            let now = self.now();
            let mut next = Job::new(r, now);
            if next.id == job.id {
                // Same version: re-ship it under a distinct job id.
                next.id = format!("{}#reship{}", job.id, now.timestamp());
            }
            self.ledger.save_flushed(&next).await?;
            let nid = next.id.clone();
            self.process_job(&conn, &nid).await?;
        }
        conn.source.close().await;
        Ok(self.ledger.get(&job.id)?.expect("job exists"))
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
