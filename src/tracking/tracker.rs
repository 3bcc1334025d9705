//! The tracker: registers shipped jobs' packages, keeps Track Alert subscriptions alive (or
//! polls), folds events into per-package state, writes changes back to the ERP and moves
//! finished jobs to `delivered` in the ledger.
//!
//! Everything runs on the injected [`Clock`]; [`Tracker::tick`] does one round of work for
//! whatever is due at "now", so tests drive weeks of simulated time without sleeping, and
//! [`Tracker::run`] ticks on a real interval in the daemon.
//!
//! Keys in the `tracking` tree:
//! * `p/<1Z>` → [`PackageTrack`]; `j/<job id>` → [`JobTrack`];
//! * `n/<due ms, 16 digits>/<1Z>` → due index (one entry per live package);
//! * `w/<job id>` → write-back pending (a generation number, so a change that lands while
//!   the ERP write is in flight is not lost);
//! * `o/<job id>` → job still open (not yet delivered/voided);
//! * `u/<1Z>/<event identity>` → an event for a number not registered yet (a v2 account
//!   subscription can push before the ledger scan registers the job), applied at
//!   registration, dropped after [`PARK_DAYS`] days;
//! * `q/progress` → [`QvProgress`] (Quantum View: the read in progress with its bookmark, and
//!   the end of the last complete read); `q/f/<subscription>/<file name>` → when that
//!   subscription file's events were all applied (dropped after
//!   [`quantum::FILE_MARK_DAYS`] days).
//!
//! `subscriptions` tree: `<1Z>` → [`Subscription`] (a mirror for operators).
//!
//! Must never: renew a subscription of a terminal package, write the same plan to the ERP
//! twice, exceed the Track quota or the ERP write rate, or hold a lock across a network call.
//!
//! This file holds the types, the store helpers, [`Tracker::tick`] and [`Tracker::run`]; the
//! work by concept is in `tracker/`: `register.rs` (ledger scan, registration),
//! `events.rs` (webhook inbox), `alert.rs` (Track Alert subscribe/renew), `quantum.rs`
//! (Quantum View reads), `poll.rs` (Track calls), `write_back.rs` (ERP write-back, finished jobs), `health.rs` (readiness,
//! freshness).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::event::AlertEvent;
use super::ports::{CarrierError, StatusChange, StatusSink, TrackOutcome, TrackingCarrier};
use super::quota::{jitter_factor, TokenBucket, TrackBudget};
use super::settings::{AlertVersion, TrackingMode, TrackingSettings};
use super::state::{aggregate, Applied, JobTrack, PackageTrack, StatusMark, Subscription};
use super::stats::{FreshnessSummary, LiveSummary, TrackingStats};
use super::webhook::{WebhookAuth, WebhookState, EVENT_PREFIX};
use crate::model::Clock;
use crate::model::{Milestone, WriteBack};
use crate::pipeline::engine::Connector;
use crate::pipeline::{Job, JobState, Ledger, Mapper};
use crate::sources::Source;
use crate::store::{Store, StoreError, Tree};

mod alert;
mod events;
mod health;
mod poll;
pub mod quantum;
mod register;

pub use quantum::{QvProgress, QvRun};
mod write_back;

const PKG: &str = "p/";
const JOB: &str = "j/";
const DUE: &str = "n/";
const DIRTY: &str = "w/";
const OPEN: &str = "o/";
const PARKED: &str = "u/";
/// How long an event for an unregistered number waits for its job.
pub const PARK_DAYS: i64 = 7;

/// Tracking errors (the store failed, or the settings cannot work).
#[derive(Debug, thiserror::Error)]
pub enum TrackingError {
    #[error("tracking settings are invalid: {}", .0.join("; "))]
    Settings(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one [`Tracker::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TickReport {
    pub events: usize,
    pub subscribed: usize,
    pub renewed: usize,
    pub lapsed: usize,
    pub rejected: usize,
    pub polls: usize,
    pub polls_deferred: usize,
    pub write_backs: usize,
    pub jobs_finished: usize,
    pub abandoned: usize,
}

/// Why a Track call is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PollReason {
    Scheduled,
    Backfill,
    Quiet,
}

/// Where a connector's write-backs go.
#[derive(Clone)]
struct ErpTarget {
    source: Arc<dyn Source>,
    mapper: Arc<dyn Mapper>,
}

/// The tracker. Build with [`Tracker::new`], add ERP targets with [`Tracker::with_erp`] or
/// [`Tracker::with_connectors`], then share it in an `Arc`.
pub struct Tracker {
    store: Arc<Store>,
    ledger: Ledger,
    carrier: Arc<dyn TrackingCarrier>,
    erps: HashMap<String, ErpTarget>,
    settings: TrackingSettings,
    clock: Clock,
    stats: Arc<TrackingStats>,
    budget: Mutex<TrackBudget>,
    erp_bucket: Mutex<TokenBucket>,
    inbox: Arc<Notify>,
    /// Serialises read-modify-write of tracking state (never held across an await).
    state: Mutex<()>,
    /// One tick at a time.
    ticking: tokio::sync::Mutex<()>,
    dirty_gen: AtomicU64,
    /// Why the last ledger scan, tick or inbox drain failed (`None` once one succeeds):
    /// `/readyz` reports it, so tracking never stops quietly.
    failure: Mutex<Option<String>>,
    /// Where milestone changes go (outbound events), if anywhere.
    status_sink: Option<Arc<dyn StatusSink>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn secs(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000))
}

fn due_key(at: DateTime<Utc>, tn: &str) -> String {
    format!("{DUE}{:016}/{tn}", at.timestamp_millis().max(0))
}

fn db_err(store: &Store, source: crate::store::DbError) -> StoreError {
    StoreError::Db {
        dir: store.dir().to_path_buf(),
        source,
    }
}

/// SHA-256 (hex) of a write-back plan: equal plans, equal hashes.
pub fn plan_hash(plan: &WriteBack) -> String {
    let bytes = serde_json::to_vec(plan).unwrap_or_default();
    hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes))
}

impl Tracker {
    /// A tracker over `store` (whose `jobs` tree is the pipeline's ledger), calling UPS
    /// through `carrier`, on `clock`. Fails if the settings cannot work.
    pub fn new(
        store: Arc<Store>,
        carrier: Arc<dyn TrackingCarrier>,
        settings: TrackingSettings,
        clock: Clock,
    ) -> Result<Tracker, TrackingError> {
        let problems = settings.validate();
        if !problems.is_empty() {
            return Err(TrackingError::Settings(problems));
        }
        let seed = u64::try_from(clock.now().timestamp_micros()).unwrap_or(0);
        Ok(Tracker {
            ledger: Ledger::new(store.clone()),
            store,
            carrier,
            erps: HashMap::new(),
            budget: Mutex::new(TrackBudget::new(settings.track_quota.clone())),
            erp_bucket: Mutex::new(TokenBucket::per_minute(
                settings.erp_writes_per_minute,
                settings.erp_write_burst,
            )),
            settings,
            clock,
            stats: Arc::new(TrackingStats::default()),
            inbox: Arc::new(Notify::new()),
            state: Mutex::new(()),
            ticking: tokio::sync::Mutex::new(()),
            dirty_gen: AtomicU64::new(seed),
            failure: Mutex::new(None),
            status_sink: None,
        })
    }

    /// Where write-backs of jobs of connector `name` go.
    pub fn with_erp(
        mut self,
        name: impl Into<String>,
        source: Arc<dyn Source>,
        mapper: Arc<dyn Mapper>,
    ) -> Tracker {
        self.erps.insert(name.into(), ErpTarget { source, mapper });
        self
    }

    /// Share the pipeline's ledger (so its per-state counts see the jobs tracking moves to
    /// `delivered`/`voided`) instead of a private view of the same tree.
    pub fn with_ledger(mut self, ledger: Ledger) -> Tracker {
        self.ledger = ledger;
        self
    }

    /// Every pipeline connector as a write-back target.
    pub fn with_connectors(mut self, connectors: &[Arc<Connector>]) -> Tracker {
        for c in connectors {
            self = self.with_erp(c.name.clone(), c.source.clone(), c.mapper.clone());
        }
        self
    }

    /// Hand every milestone change to `sink` (recorded before the package is saved).
    pub fn with_status_sink(mut self, sink: Arc<dyn StatusSink>) -> Tracker {
        self.status_sink = Some(sink);
        self
    }

    pub fn settings(&self) -> &TrackingSettings {
        &self.settings
    }

    /// Counters shared with the webhook.
    pub fn stats(&self) -> Arc<TrackingStats> {
        self.stats.clone()
    }

    /// State for [`super::webhook::router`]: shares this tracker's store, clock, stats and
    /// inbox wake-up.
    pub fn webhook_state(&self, auth: WebhookAuth) -> WebhookState {
        WebhookState::new(
            self.store.clone(),
            auth,
            self.clock.clone(),
            self.stats.clone(),
            self.inbox.clone(),
            self.settings.webhook_max_body_bytes,
        )
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn alert_mode(&self) -> bool {
        self.settings.mode == TrackingMode::TrackAlert
    }

    /// Events come pushed (Track Alert) or read (Quantum View) for `p`: Track is only the
    /// quiet-period fallback.
    fn events_arrive(&self, p: &PackageTrack) -> bool {
        (self.alert_mode() && !p.alert_rejected) || self.settings.mode == TrackingMode::QuantumView
    }

    // ---------- storage ----------

    /// One package's state.
    pub fn package(&self, tracking_number: &str) -> Result<Option<PackageTrack>, TrackingError> {
        Ok(self
            .store
            .get_json(Tree::Tracking, &format!("{PKG}{tracking_number}"))?)
    }

    /// One job's tracking record.
    pub fn job(&self, job_id: &str) -> Result<Option<JobTrack>, TrackingError> {
        Ok(self
            .store
            .get_json(Tree::Tracking, &format!("{JOB}{job_id}"))?)
    }

    /// Every package's state, in tracking-number order.
    pub fn packages(&self) -> Result<Vec<PackageTrack>, TrackingError> {
        self.scan_json(PKG)
    }

    fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        prefix: &str,
    ) -> Result<Vec<T>, TrackingError> {
        Ok(self.store.scan_json(Tree::Tracking, prefix)?)
    }

    fn put_job(&self, jt: &JobTrack) -> Result<(), TrackingError> {
        self.store
            .put_json(Tree::Tracking, &format!("{JOB}{}", jt.job_id), jt)?;
        let open = format!("{OPEN}{}", jt.job_id);
        if jt.finished {
            self.store.remove(Tree::Tracking, &open)?;
        } else {
            self.store.put_json(Tree::Tracking, &open, &())?;
        }
        Ok(())
    }

    /// When the tracker next needs to look at `p`.
    fn next_check(&self, p: &PackageTrack) -> Option<DateTime<Utc>> {
        if p.done {
            return None;
        }
        let mut at = p.poll_at;
        if self.alert_mode() && !p.alert_rejected {
            let sub_due = match &p.subscription {
                Some(s) if !s.ended => s.subscribed_at + secs(self.settings.renew_after_seconds),
                _ => p.registered_at,
            };
            let sub_due = match p.subscribe_retry_at {
                Some(r) if r > sub_due => r,
                _ => sub_due,
            };
            at = Some(at.map_or(sub_due, |a| a.min(sub_due)));
        }
        let give_up = p.last_scan_or_registered() + secs(self.settings.give_up_after_seconds);
        let at = at.map_or(give_up, |a| a.min(give_up));
        // Declaring a parcel not found / expired is due work too.
        Some(match p.age_deadline(&self.settings.age_limits()) {
            Some(age) => at.min(age),
            None => at,
        })
    }

    /// Write a package and keep the due index and the subscription mirror in step.
    fn save_package(&self, p: &mut PackageTrack) -> Result<(), TrackingError> {
        let prev = p.next_check_at;
        p.next_check_at = self.next_check(p);
        if prev != p.next_check_at {
            if let Some(old) = prev {
                self.store
                    .remove(Tree::Tracking, &due_key(old, &p.tracking_number))?;
            }
        }
        if let Some(new) = p.next_check_at {
            self.store
                .put_json(Tree::Tracking, &due_key(new, &p.tracking_number), &())?;
        }
        if let Some(s) = &p.subscription {
            self.store
                .put_json(Tree::Subscriptions, &p.tracking_number, s)?;
        }
        self.store
            .put_json(Tree::Tracking, &format!("{PKG}{}", p.tracking_number), p)?;
        Ok(())
    }

    fn mark_dirty(&self, job_id: &str) -> Result<(), TrackingError> {
        let g = self.dirty_gen.fetch_add(1, Ordering::Relaxed) + 1;
        self.store
            .tree(Tree::Tracking)
            .insert(format!("{DIRTY}{job_id}"), g.to_be_bytes())
            .map_err(|e| db_err(&self.store, e))?;
        Ok(())
    }

    fn clear_dirty(&self, job_id: &str, gen: &Vec<u8>) -> Result<(), TrackingError> {
        // Only if nothing re-dirtied it meanwhile.
        let _ = self
            .store
            .tree(Tree::Tracking)
            .compare_and_swap(format!("{DIRTY}{job_id}"), Some(gen), None as Option<&[u8]>)
            .map_err(|e| db_err(&self.store, e))?;
        Ok(())
    }

    /// `(due key, tracking number)` of packages due at `now`, earliest first.
    fn due(&self, now: DateTime<Utc>) -> Result<Vec<(Vec<u8>, String)>, TrackingError> {
        let end = format!("{DUE}{:016}/", now.timestamp_millis().max(0) + 1);
        let mut out = Vec::new();
        for kv in self
            .store
            .tree(Tree::Tracking)
            .range(DUE.as_bytes()..end.as_bytes())
        {
            let (k, _) = kv.map_err(|e| db_err(&self.store, e))?;
            let tn = String::from_utf8_lossy(&k[DUE.len() + 17..]).into_owned();
            out.push((k, tn));
        }
        Ok(out)
    }

    fn poll_interval(&self, p: &PackageTrack, now: DateTime<Utc>) -> Duration {
        let iv = &self.settings.poll_intervals;
        let far = matches!(p.milestone, Milestone::PickedUp | Milestone::InTransit)
            && p.estimated_delivery
                .is_some_and(|d| d >= now.date_naive() + chrono::Days::new(2));
        let base = if far {
            iv.in_transit_far_seconds
        } else {
            iv.for_milestone(p.milestone)
                .unwrap_or(iv.label_created_seconds)
        };
        let jittered = (base as f64 * jitter_factor(&p.tracking_number)) as u64;
        secs(jittered.max(1))
    }

    /// Next Track call after hearing news about `p` at `now`.
    fn next_poll(&self, p: &PackageTrack, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if p.done {
            None
        } else if p.needs_backfill {
            p.poll_at
        } else if self.events_arrive(p) {
            Some(now + secs(self.settings.quiet_period_seconds))
        } else {
            Some(now + self.poll_interval(p, now))
        }
    }

    /// After the package's state may have changed: hand a milestone change to the status
    /// sink (durable before the package is saved), mark the job for write-back and stop
    /// tracking a terminal package.
    fn after_change(
        &self,
        p: &mut PackageTrack,
        before: &crate::model::TrackingSnapshot,
    ) -> Result<(), TrackingError> {
        let changed = p.snapshot() != *before;
        if p.milestone != before.milestone {
            if let Some(sink) = &self.status_sink {
                sink.record(&StatusChange::of(p, before))?;
            }
            self.stats.statuses.note(p.milestone);
        }
        if p.milestone.is_terminal() && !p.done {
            p.done = true;
            p.poll_at = None;
            if let Some(s) = p.subscription.as_mut() {
                s.ended = true;
            }
            self.stats.packages_terminal.fetch_add(1, Ordering::Relaxed);
            self.mark_dirty(&p.job_id)?;
        } else if changed {
            self.mark_dirty(&p.job_id)?;
        }
        Ok(())
    }

    // ---------- registration ----------

    // ---------- one round ----------

    /// One round of work for everything due now: inbox, subscriptions and renewals, a
    /// Quantum View read when due, Track calls within the quota, ERP write-backs within the write rate, finished jobs.
    pub async fn tick(&self) -> Result<TickReport, TrackingError> {
        let _t = self.ticking.lock().await;
        let mut report = TickReport {
            events: self.drain_inbox()?,
            ..TickReport::default()
        };
        let now = self.now();
        self.subscriptions(now, &mut report).await?;
        self.quantum_views(now, &mut report).await?;
        self.polls(now, &mut report).await?;
        // Poll answers may have ended packages; events that arrived meanwhile too.
        report.events += self.drain_inbox()?;
        self.write_backs(now, &mut report).await?;
        Ok(report)
    }

    // ---------- daemon ----------

    /// Run until `stop` turns true: an inbox worker woken by the webhook, a tick every
    /// `tick_seconds`, a ledger scan every `scan_jobs_seconds` (real time).
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let worker = {
            let me = self.clone();
            let mut stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    if *stop.borrow() {
                        break;
                    }
                    tokio::select! {
                        _ = me.inbox.notified() => {}
                        r = stop.changed() => if r.is_err() { break },
                        _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
                    }
                    if let Err(e) = me.drain_inbox() {
                        tracing::error!(error = %e, "tracking inbox worker failed");
                        me.failed("inbox worker", &e);
                    }
                }
            })
        };
        let mut every = tokio::time::interval(std::time::Duration::from_secs(
            self.settings.tick_seconds.max(1),
        ));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let scan_every = std::time::Duration::from_secs(self.settings.scan_jobs_seconds.max(1));
        let mut last_scan: Option<tokio::time::Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                _ = every.tick() => {}
                r = stop.changed() => if r.is_err() { break } else { continue },
            }
            if last_scan.is_none_or(|t| t.elapsed() >= scan_every) {
                last_scan = Some(tokio::time::Instant::now());
                match self.scan_jobs() {
                    Ok(_) => *lock(&self.failure) = None,
                    Err(e) => {
                        tracing::error!(error = %e, "tracking ledger scan failed");
                        self.failed("ledger scan", &e);
                    }
                }
            }
            if let Err(e) = self.tick().await {
                tracing::error!(error = %e, "tracking tick failed");
                self.failed("tick", &e);
            }
        }
        let _ = worker.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Charges, ErpRecord, PackageResult, ShipResult};
    use crate::tracking::ports::{Destination, SubscribeOutcome};
    use async_trait::async_trait;
    use chrono::TimeZone;

    struct Quiet;

    #[async_trait]
    impl TrackingCarrier for Quiet {
        async fn track(&self, _tn: &str) -> Result<TrackOutcome, CarrierError> {
            Ok(TrackOutcome::NotYet)
        }
        async fn subscribe(
            &self,
            numbers: &[String],
            _d: Option<&Destination>,
        ) -> Result<SubscribeOutcome, CarrierError> {
            Ok(SubscribeOutcome {
                valid: numbers.to_vec(),
                invalid: vec![],
            })
        }
    }

    fn job(now: DateTime<Utc>, tn: &str) -> Job {
        let mut j = Job::new(
            ErpRecord {
                source: "erp".into(),
                id: "r1".into(),
                number: "N1".into(),
                version: "v1".into(),
                modified: now,
                data: serde_json::json!({}),
            },
            now,
        );
        j.result = Some(ShipResult {
            shipment_id: tn.into(),
            service_code: "03".into(),
            packages: vec![PackageResult {
                tracking_number: tn.into(),
                erp_line_id: "1".into(),
                label: None,
            }],
            charges: Charges::default(),
            alerts: vec![],
            documents: vec![],
            paperless: None,
        });
        j.transition(JobState::Tracking, "", now);
        j
    }

    fn due_entries(store: &Store) -> Vec<String> {
        store
            .tree(Tree::Tracking)
            .scan_prefix(DUE)
            .keys()
            .map(|k| String::from_utf8_lossy(&k.unwrap()).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn one_due_entry_per_live_package_and_stale_entries_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        ));
        let n = now.clone();
        let t = Tracker::new(
            store.clone(),
            Arc::new(Quiet),
            TrackingSettings::default(),
            Clock::from_fn(move || *n.lock().unwrap()),
        )
        .unwrap();
        let tn = "1Z123X560300000018";
        let j = job(*now.lock().unwrap(), tn);
        assert_eq!(t.register_job(&j).unwrap(), 1);
        assert_eq!(t.register_job(&j).unwrap(), 0);
        assert_eq!(due_entries(&store).len(), 1);
        // A leftover entry from an interrupted write.
        let stale = due_key(*now.lock().unwrap() - Duration::hours(1), tn);
        store.put_json(Tree::Tracking, &stale, &()).unwrap();
        *now.lock().unwrap() += Duration::minutes(1);
        let r = t.tick().await.unwrap();
        assert_eq!(r.subscribed, 1);
        let entries = due_entries(&store);
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_ne!(entries[0], stale);
        let p = t.package(tn).unwrap().unwrap();
        assert_eq!(
            Some(entries[0].clone()),
            p.next_check_at.map(|at| due_key(at, tn))
        );
        // Backfill answered TW0001: not yet, not an error.
        let s = t.stats().snapshot();
        assert_eq!(
            (s.polls_backfill, s.polls_not_yet, s.poll_errors),
            (1, 1, 0)
        );
        assert!(!p.needs_backfill);
    }

    #[tokio::test]
    async fn packages_are_given_up_after_the_limit_and_not_renewed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
        ));
        let n = now.clone();
        let settings = TrackingSettings {
            give_up_after_seconds: 20 * 86_400,
            ..TrackingSettings::default()
        };
        let t = Tracker::new(
            store.clone(),
            Arc::new(Quiet),
            settings,
            Clock::from_fn(move || *n.lock().unwrap()),
        )
        .unwrap();
        let tn = "1Z123X560300000018";
        let start = *now.lock().unwrap();
        t.register_job(&job(start, tn)).unwrap();
        for _ in 0..(30 * 24) {
            *now.lock().unwrap() += Duration::hours(1);
            t.tick().await.unwrap();
        }
        let s = t.stats().snapshot();
        assert_eq!(s.subscriptions_created, 1);
        assert_eq!(
            s.subscriptions_renewed, 1,
            "renewed once on day 12.5, then given up on day 20"
        );
        assert_eq!(s.subscriptions_lapsed, 0);
        assert_eq!(s.packages_abandoned, 1);
        let p = t.package(tn).unwrap().unwrap();
        assert!(p.done && p.abandoned && p.subscription.unwrap().ended);
        assert!(due_entries(&store).is_empty());
    }
}
