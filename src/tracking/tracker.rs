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
//!   registration, dropped after [`PARK_DAYS`] days.
//!
//! `subscriptions` tree: `<1Z>` → [`Subscription`] (a mirror for operators).
//!
//! Must never: renew a subscription of a terminal package, write the same plan to the ERP
//! twice, exceed the Track quota or the ERP write rate, or hold a lock across a network call.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::event::AlertEvent;
use super::ports::{CarrierError, TrackOutcome, TrackingCarrier};
use super::quota::{jitter_factor, TokenBucket, TrackBudget};
use super::settings::{AlertVersion, TrackingMode, TrackingSettings};
use super::state::{aggregate, Applied, JobTrack, PackageTrack, Subscription};
use super::stats::{FreshnessSummary, TrackingStats};
use super::webhook::{WebhookAuth, WebhookState, EVENT_PREFIX};
use crate::model::Clock;
use crate::model::{Milestone, WriteBack};
use crate::pipeline::engine::Connector;
use crate::pipeline::{Job, JobState, Ledger, Mapper};
use crate::sources::Source;
use crate::store::{Store, StoreError, Tree};

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

fn db_err(store: &Store, source: sled::Error) -> StoreError {
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
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Tracking).scan_prefix(prefix) {
            let (_, v) = kv.map_err(|e| db_err(&self.store, e))?;
            out.push(serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "tracking",
                reason: e.to_string(),
            })?);
        }
        Ok(out)
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
        let give_up = p.registered_at + secs(self.settings.give_up_after_seconds);
        Some(at.map_or(give_up, |a| a.min(give_up)))
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
            .insert(format!("{DIRTY}{job_id}"), &g.to_be_bytes())
            .map_err(|e| db_err(&self.store, e))?;
        Ok(())
    }

    fn clear_dirty(&self, job_id: &str, gen: &sled::IVec) -> Result<(), TrackingError> {
        // Only if nothing re-dirtied it meanwhile.
        let _ = self
            .store
            .tree(Tree::Tracking)
            .compare_and_swap(format!("{DIRTY}{job_id}"), Some(gen), None as Option<&[u8]>)
            .map_err(|e| db_err(&self.store, e))?;
        Ok(())
    }

    /// `(due key, tracking number)` of packages due at `now`, earliest first.
    fn due(&self, now: DateTime<Utc>) -> Result<Vec<(sled::IVec, String)>, TrackingError> {
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
        } else if self.alert_mode() && !p.alert_rejected {
            Some(now + secs(self.settings.quiet_period_seconds))
        } else {
            Some(now + self.poll_interval(p, now))
        }
    }

    /// After the package's state may have changed: mark the job for write-back and stop
    /// tracking a terminal package.
    fn after_change(
        &self,
        p: &mut PackageTrack,
        before: &crate::model::TrackingSnapshot,
    ) -> Result<(), TrackingError> {
        let changed = p.snapshot() != *before;
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

    /// Start tracking the packages of a job in `tracking` state. Idempotent; returns the
    /// number of packages newly registered.
    pub fn register_job(&self, job: &Job) -> Result<usize, TrackingError> {
        let _g = lock(&self.state);
        self.register_locked(job)
    }

    fn register_locked(&self, job: &Job) -> Result<usize, TrackingError> {
        if job.state != JobState::Tracking {
            return Ok(0);
        }
        let Some(result) = &job.result else {
            return Ok(0);
        };
        if self.job(&job.id)?.is_some() {
            return Ok(0);
        }
        let now = self.now();
        let mut numbers = Vec::new();
        let mut seen = BTreeSet::new();
        for pr in &result.packages {
            let tn = pr.tracking_number.trim().to_ascii_uppercase();
            if !tn.is_empty() && seen.insert(tn.clone()) {
                numbers.push(tn);
            }
        }
        let mut n = 0;
        for tn in &numbers {
            if let Some(existing) = self.package(tn)? {
                tracing::warn!(
                    tracking_number = %tn,
                    job = %job.id,
                    other_job = %existing.job_id,
                    "package already tracked for another job; keeping the first"
                );
                continue;
            }
            let mut p = PackageTrack::new(tn, &job.id, &job.record_id, &job.source, now);
            p.poll_at = Some(if self.alert_mode() {
                // Safety net if subscribing keeps failing; a subscription backfills sooner.
                now + secs(self.settings.quiet_period_seconds)
            } else {
                now + secs(self.settings.first_poll_after_seconds)
            });
            self.save_package(&mut p)?;
            self.apply_parked(tn)?;
            n += 1;
        }
        self.put_job(&JobTrack {
            job_id: job.id.clone(),
            connector: job.source.clone(),
            record_id: job.record_id.clone(),
            packages: numbers,
            registered_at: now,
            last_write_hash: None,
            last_written_at: None,
            writes: 0,
            finished: false,
        })?;
        self.stats.jobs_registered.fetch_add(1, Ordering::Relaxed);
        self.stats
            .packages_registered
            .fetch_add(n as u64, Ordering::Relaxed);
        tracing::info!(job = %job.id, packages = n, "tracking started");
        Ok(n)
    }

    /// Apply events that arrived before the package was registered.
    fn apply_parked(&self, tn: &str) -> Result<(), TrackingError> {
        let tree = self.store.tree(Tree::Tracking);
        let parked: Vec<(sled::IVec, sled::IVec)> = tree
            .scan_prefix(format!("{PARKED}{tn}/"))
            .collect::<Result<_, _>>()
            .map_err(|e| db_err(&self.store, e))?;
        for (k, v) in parked {
            if let Ok(ev) = serde_json::from_slice::<AlertEvent>(&v) {
                self.apply_alert_event(&ev)?;
            }
            tree.remove(k).map_err(|e| db_err(&self.store, e))?;
        }
        Ok(())
    }

    /// Register every ledger job in `tracking` not registered yet, and stop tracking jobs
    /// the pipeline voided meanwhile. Returns the number of packages registered.
    /// `Err(why)` while tracking is failing (the last ledger scan, tick or inbox drain
    /// failed): part of `/readyz`.
    pub fn health(&self) -> Result<(), String> {
        match lock(&self.failure).as_ref() {
            None => Ok(()),
            Some(why) => Err(why.clone()),
        }
    }

    fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        *lock(&self.failure) = Some(format!("tracking {what} failed: {e}"));
    }

    pub fn scan_jobs(&self) -> Result<usize, TrackingError> {
        let mut n = 0;
        let jobs: Vec<Job> = self
            .ledger
            .jobs(None, Some(JobState::Tracking))
            .collect::<Result<_, _>>()?;
        for job in &jobs {
            let _g = lock(&self.state);
            n += self.register_locked(job)?;
        }
        // Parked events whose job never came.
        let too_old = self.now() - Duration::days(PARK_DAYS);
        let tree = self.store.tree(Tree::Tracking);
        for kv in tree.scan_prefix(PARKED) {
            let (k, v) = kv.map_err(|e| db_err(&self.store, e))?;
            let stale = serde_json::from_slice::<AlertEvent>(&v)
                .map_or(true, |ev| ev.received_at < too_old);
            if stale {
                tree.remove(k).map_err(|e| db_err(&self.store, e))?;
            }
        }
        let open: Vec<String> = self
            .store
            .tree(Tree::Tracking)
            .scan_prefix(OPEN)
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k[OPEN.len()..]).into_owned())
                    .map_err(|e| db_err(&self.store, e))
            })
            .collect::<Result<_, _>>()?;
        for id in open {
            let Some(job) = self.ledger.get(&id)? else {
                continue;
            };
            if job.state == JobState::Voided {
                let _g = lock(&self.state);
                let Some(jt) = self.job(&id)? else { continue };
                for tn in &jt.packages {
                    let Some(mut p) = self.package(tn)? else {
                        continue;
                    };
                    if p.milestone == Milestone::Voided {
                        continue;
                    }
                    let before = p.snapshot();
                    p.forced = Some(Milestone::Voided);
                    p.recompute();
                    self.after_change(&mut p, &before)?;
                    self.save_package(&mut p)?;
                }
                tracing::info!(job = %id, "job voided: tracking stopped");
            }
        }
        Ok(n)
    }

    // ---------- inbox ----------

    /// Process every stored webhook event (idempotent; the worker and each tick call it).
    pub fn drain_inbox(&self) -> Result<usize, TrackingError> {
        let tree = self.store.tree(Tree::Events);
        let mut n = 0;
        loop {
            let _g = lock(&self.state);
            let batch: Vec<(sled::IVec, sled::IVec)> = tree
                .scan_prefix(EVENT_PREFIX)
                .take(500)
                .collect::<Result<_, _>>()
                .map_err(|e| db_err(&self.store, e))?;
            if batch.is_empty() {
                return Ok(n);
            }
            for (k, v) in batch {
                match serde_json::from_slice::<AlertEvent>(&v) {
                    Ok(ev) => self.apply_alert_event(&ev)?,
                    Err(e) => tracing::warn!(error = %e, "dropping an undecodable stored event"),
                }
                tree.remove(k).map_err(|e| db_err(&self.store, e))?;
                n += 1;
            }
        }
    }

    fn apply_alert_event(&self, ev: &AlertEvent) -> Result<(), TrackingError> {
        let tn = &ev.event.tracking_number;
        let Some(mut p) = self.package(tn)? else {
            self.stats.events_unknown.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(tracking_number = %tn, "event for a package not tracked (yet); parked");
            self.store.put_json(
                Tree::Tracking,
                &format!("{PARKED}{tn}/{}", ev.event.identity()),
                ev,
            )?;
            return Ok(());
        };
        let before = p.snapshot();
        match p.add_event(&ev.event) {
            Applied::Duplicate => {
                self.stats.events_duplicate.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Applied::OutOfOrder => {
                self.stats
                    .events_out_of_order
                    .fetch_add(1, Ordering::Relaxed);
            }
            Applied::New => {}
        }
        p.add_extras(
            ev.event.time,
            ev.scheduled_delivery,
            ev.delivered_at,
            ev.received_by.as_deref(),
            None,
        );
        p.recompute();
        let now = self.now();
        p.last_update_at = now;
        self.after_change(&mut p, &before)?;
        p.poll_at = self.next_poll(&p, now);
        self.save_package(&mut p)
    }

    // ---------- one round ----------

    /// One round of work for everything due now: inbox, subscriptions and renewals, Track
    /// calls within the quota, ERP write-backs within the write rate, finished jobs.
    pub async fn tick(&self) -> Result<TickReport, TrackingError> {
        let _t = self.ticking.lock().await;
        let mut report = TickReport {
            events: self.drain_inbox()?,
            ..TickReport::default()
        };
        let now = self.now();
        self.subscriptions(now, &mut report).await?;
        self.polls(now, &mut report).await?;
        // Poll answers may have ended packages; events that arrived meanwhile too.
        report.events += self.drain_inbox()?;
        self.write_backs(now, &mut report).await?;
        Ok(report)
    }

    async fn subscriptions(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        let mut new = Vec::new();
        let mut renew = Vec::new();
        {
            let _g = lock(&self.state);
            for (key, tn) in self.due(now)? {
                let Some(mut p) = self.package(&tn)? else {
                    self.store
                        .tree(Tree::Tracking)
                        .remove(key)
                        .map_err(|e| db_err(&self.store, e))?;
                    continue;
                };
                // Done, or a stale index entry (a crash between two writes): drop it.
                if p.done
                    || p.next_check_at.map(|t| due_key(t, &tn).into_bytes()) != Some(key.to_vec())
                {
                    self.store
                        .tree(Tree::Tracking)
                        .remove(key)
                        .map_err(|e| db_err(&self.store, e))?;
                    if !p.done {
                        // Make sure the right entry exists.
                        self.save_package(&mut p)?;
                    }
                    continue;
                }
                if now >= p.registered_at + secs(self.settings.give_up_after_seconds) {
                    p.done = true;
                    p.abandoned = true;
                    p.poll_at = None;
                    if let Some(s) = p.subscription.as_mut() {
                        s.ended = true;
                    }
                    self.stats
                        .packages_abandoned
                        .fetch_add(1, Ordering::Relaxed);
                    report.abandoned += 1;
                    tracing::warn!(tracking_number = %tn, job = %p.job_id, "package not terminal after the give-up period; tracking stopped");
                    self.save_package(&mut p)?;
                    continue;
                }
                if !self.alert_mode()
                    || p.alert_rejected
                    || p.subscribe_retry_at.is_some_and(|t| t > now)
                {
                    continue;
                }
                let lapsed = p.subscription.as_ref().is_some_and(|s| s.expires_at <= now);
                if lapsed {
                    self.stats
                        .subscriptions_lapsed
                        .fetch_add(1, Ordering::Relaxed);
                    report.lapsed += 1;
                    tracing::warn!(tracking_number = %tn, "Track Alert subscription lapsed; subscribing again with a backfill");
                    p.subscription = None;
                    p.needs_backfill = true;
                    self.save_package(&mut p)?;
                }
                match &p.subscription {
                    None => new.push(tn),
                    Some(s) if now >= s.subscribed_at + secs(self.settings.renew_after_seconds) => {
                        renew.push(tn)
                    }
                    Some(_) => {}
                }
            }
        }
        let destination = match self.settings.alert_version {
            AlertVersion::V1 => self.settings.destination.as_ref(),
            AlertVersion::V2 => None,
        };
        let all: Vec<(String, bool)> = new
            .into_iter()
            .map(|t| (t, false))
            .chain(renew.into_iter().map(|t| (t, true)))
            .collect();
        for chunk in all.chunks(self.settings.subscribe_batch_size.clamp(1, 100)) {
            let numbers: Vec<String> = chunk.iter().map(|(t, _)| t.clone()).collect();
            self.stats.subscribe_calls.fetch_add(1, Ordering::Relaxed);
            let res = self.carrier.subscribe(&numbers, destination).await;
            let now = self.now();
            let _g = lock(&self.state);
            match res {
                Ok(out) => {
                    let valid: BTreeSet<&str> = out.valid.iter().map(String::as_str).collect();
                    let invalid: BTreeSet<&str> = out.invalid.iter().map(String::as_str).collect();
                    for (tn, is_renewal) in chunk {
                        let Some(mut p) = self.package(tn)? else {
                            continue;
                        };
                        if p.done {
                            continue;
                        }
                        if valid.contains(tn.as_str()) {
                            p.subscribe_retry_at = None;
                            let expires = now + secs(self.settings.subscription_lifetime_seconds);
                            match p.subscription.as_mut() {
                                Some(s) if *is_renewal => {
                                    s.subscribed_at = now;
                                    s.expires_at = expires;
                                    s.renewals += 1;
                                    self.stats
                                        .subscriptions_renewed
                                        .fetch_add(1, Ordering::Relaxed);
                                    report.renewed += 1;
                                }
                                _ => {
                                    p.subscription = Some(Subscription {
                                        tracking_number: tn.clone(),
                                        version: self.settings.alert_version,
                                        first_subscribed_at: now,
                                        subscribed_at: now,
                                        expires_at: expires,
                                        renewals: 0,
                                        ended: false,
                                    });
                                    // Track Alert keeps no history: one Track call fills it.
                                    p.needs_backfill = true;
                                    p.poll_at = Some(now);
                                    self.stats
                                        .subscriptions_created
                                        .fetch_add(1, Ordering::Relaxed);
                                    report.subscribed += 1;
                                }
                            }
                        } else if invalid.contains(tn.as_str()) {
                            p.subscribe_retry_at = None;
                            p.alert_rejected = true;
                            p.poll_at = Some(now);
                            self.stats
                                .subscriptions_rejected
                                .fetch_add(1, Ordering::Relaxed);
                            report.rejected += 1;
                            tracing::warn!(tracking_number = %tn, "UPS refused the Track Alert subscription; polling this package instead");
                        } else {
                            p.subscribe_retry_at =
                                Some(now + secs(self.settings.subscribe_retry_seconds));
                        }
                        self.save_package(&mut p)?;
                    }
                }
                Err(e) => {
                    self.stats.subscribe_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(code = %e.code, class = e.class.as_str(), numbers = chunk.len(), "Track Alert subscription call failed; will retry");
                    for (tn, _) in chunk {
                        let Some(mut p) = self.package(tn)? else {
                            continue;
                        };
                        p.subscribe_retry_at =
                            Some(now + secs(self.settings.subscribe_retry_seconds));
                        self.save_package(&mut p)?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn polls(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        let mut wanted = Vec::new();
        {
            let _g = lock(&self.state);
            for (_, tn) in self.due(now)? {
                let Some(p) = self.package(&tn)? else {
                    continue;
                };
                if p.done || p.poll_at.is_none_or(|t| t > now) {
                    continue;
                }
                let reason = if p.needs_backfill {
                    PollReason::Backfill
                } else if self.alert_mode() && !p.alert_rejected {
                    PollReason::Quiet
                } else {
                    PollReason::Scheduled
                };
                wanted.push((tn, reason));
            }
        }
        let mut allowed = Vec::new();
        {
            let mut b = lock(&self.budget);
            for w in wanted {
                if b.try_take(now) {
                    allowed.push(w);
                } else {
                    report.polls_deferred += 1;
                }
            }
        }
        if report.polls_deferred > 0 {
            self.stats
                .polls_deferred_by_quota
                .fetch_add(report.polls_deferred as u64, Ordering::Relaxed);
            tracing::debug!(
                deferred = report.polls_deferred,
                "Track quota used up; due polls wait"
            );
        }
        let carrier = &self.carrier;
        let results: Vec<(String, PollReason, Result<TrackOutcome, CarrierError>)> =
            futures::stream::iter(allowed.into_iter().map(|(tn, reason)| async move {
                let r = carrier.track(&tn).await;
                (tn, reason, r)
            }))
            .buffer_unordered(self.settings.track_concurrency.max(1))
            .collect()
            .await;
        report.polls += results.len();
        let now = self.now();
        let _g = lock(&self.state);
        for (tn, reason, r) in results {
            self.apply_poll(&tn, reason, r, now)?;
        }
        Ok(())
    }

    fn apply_poll(
        &self,
        tn: &str,
        reason: PollReason,
        r: Result<TrackOutcome, CarrierError>,
        now: DateTime<Utc>,
    ) -> Result<(), TrackingError> {
        let s = &self.stats;
        s.polls.fetch_add(1, Ordering::Relaxed);
        match reason {
            PollReason::Scheduled => &s.polls_scheduled,
            PollReason::Backfill => &s.polls_backfill,
            PollReason::Quiet => &s.polls_quiet_fallback,
        }
        .fetch_add(1, Ordering::Relaxed);
        let Some(mut p) = self.package(tn)? else {
            return Ok(());
        };
        let before = p.snapshot();
        p.last_poll_at = Some(now);
        p.polls += 1;
        match r {
            Ok(TrackOutcome::NotYet) => {
                s.polls_not_yet.fetch_add(1, Ordering::Relaxed);
                p.needs_backfill = false;
                p.last_update_at = now;
                p.poll_at = self.next_poll(&p, now);
            }
            Ok(TrackOutcome::Found { snapshot, events }) => {
                for e in events.iter().chain(snapshot.latest.iter()) {
                    let mut e = e.clone();
                    e.tracking_number = tn.to_string();
                    p.add_event(&e);
                }
                let as_of = events
                    .iter()
                    .chain(snapshot.latest.iter())
                    .map(|e| e.time)
                    .max()
                    .unwrap_or(now);
                p.add_extras(
                    as_of,
                    snapshot.estimated_delivery,
                    snapshot.delivered_at,
                    snapshot.received_by.as_deref(),
                    snapshot.signature.as_deref(),
                );
                if snapshot.milestone.is_terminal() {
                    p.forced = Some(snapshot.milestone);
                }
                p.recompute();
                p.needs_backfill = false;
                p.last_update_at = now;
                self.after_change(&mut p, &before)?;
                p.poll_at = self.next_poll(&p, now);
            }
            Err(e) => {
                s.poll_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tracking_number = %tn, code = %e.code, class = e.class.as_str(), "Track call failed; will retry");
                p.poll_at = Some(now + secs(self.settings.poll_retry_seconds));
            }
        }
        self.save_package(&mut p)
    }

    // ---------- write-back ----------

    async fn write_backs(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        struct Work {
            job_id: String,
            gen: sled::IVec,
            plan: WriteBack,
            hash: String,
            source: Arc<dyn Source>,
            finish: bool,
        }
        let dirty: Vec<(String, sled::IVec)> = self
            .store
            .tree(Tree::Tracking)
            .scan_prefix(DIRTY)
            .map(|kv| {
                kv.map(|(k, v)| (String::from_utf8_lossy(&k[DIRTY.len()..]).into_owned(), v))
                    .map_err(|e| db_err(&self.store, e))
            })
            .collect::<Result<_, _>>()?;
        let mut work = Vec::new();
        let mut finish_now = Vec::new();
        for (job_id, gen) in dirty {
            let (jt, pkgs) = {
                let _g = lock(&self.state);
                let Some(jt) = self.job(&job_id)? else {
                    self.clear_dirty(&job_id, &gen)?;
                    continue;
                };
                let pkgs: Vec<PackageTrack> = jt
                    .packages
                    .iter()
                    .filter_map(|tn| self.package(tn).transpose())
                    .collect::<Result<_, _>>()?;
                (jt, pkgs)
            };
            let finish = !pkgs.is_empty() && pkgs.iter().all(|p| p.milestone.is_terminal());
            let Some(snapshot) = aggregate(&pkgs) else {
                self.clear_dirty(&job_id, &gen)?;
                continue;
            };
            let Some(target) = self.erps.get(&jt.connector) else {
                tracing::warn!(job = %job_id, connector = %jt.connector, "no ERP connector configured for this job; tracking write-back waits");
                continue;
            };
            let Some(job) = self.ledger.get(&job_id)? else {
                self.clear_dirty(&job_id, &gen)?;
                continue;
            };
            if job.compacted {
                // Delivered and written back already; its ERP record copy is gone.
                tracing::debug!(job = %job_id, "late tracking news for a delivered job; nothing more to write back");
                self.clear_dirty(&job_id, &gen)?;
                continue;
            }
            let plan = target.mapper.write_back_tracking(&job.record, &snapshot);
            let hash = plan_hash(&plan);
            if plan.is_empty() || jt.last_write_hash.as_deref() == Some(hash.as_str()) {
                self.stats
                    .write_backs_unchanged
                    .fetch_add(1, Ordering::Relaxed);
                self.clear_dirty(&job_id, &gen)?;
                if finish {
                    finish_now.push(job_id);
                }
                continue;
            }
            if !lock(&self.erp_bucket).try_take(now) {
                self.stats
                    .write_backs_deferred
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            work.push(Work {
                job_id,
                gen,
                plan,
                hash,
                source: target.source.clone(),
                finish,
            });
        }
        let results: Vec<(Work, Result<(), crate::sources::SourceError>)> =
            futures::stream::iter(work.into_iter().map(|w| async move {
                let r = w.source.write_back(&w.plan).await;
                (w, r)
            }))
            .buffer_unordered(self.settings.erp_writes_in_flight.max(1))
            .collect()
            .await;
        for (w, r) in results {
            match r {
                Ok(()) => {
                    {
                        let _g = lock(&self.state);
                        if let Some(mut jt) = self.job(&w.job_id)? {
                            jt.last_write_hash = Some(w.hash.clone());
                            jt.last_written_at = Some(self.now());
                            jt.writes += 1;
                            self.put_job(&jt)?;
                        }
                        self.clear_dirty(&w.job_id, &w.gen)?;
                    }
                    self.stats.write_backs.fetch_add(1, Ordering::Relaxed);
                    report.write_backs += 1;
                    if w.finish {
                        finish_now.push(w.job_id);
                    }
                }
                Err(e) => {
                    self.stats.write_back_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(job = %w.job_id, code = e.code(), class = e.class().as_str(), "tracking write-back failed");
                    if e.class() == crate::model::ErrorClass::Business {
                        // The ERP refuses this data: retrying the same plan cannot help.
                        self.clear_dirty(&w.job_id, &w.gen)?;
                        if w.finish {
                            finish_now.push(w.job_id);
                        }
                    }
                }
            }
        }
        for id in finish_now {
            if self.finish_job(&id).await? {
                report.jobs_finished += 1;
            }
        }
        Ok(())
    }

    /// Every package terminal and the ERP written: move the ledger job out of `tracking`.
    async fn finish_job(&self, job_id: &str) -> Result<bool, TrackingError> {
        let Some(mut jt) = self.job(job_id)? else {
            return Ok(false);
        };
        if jt.finished {
            return Ok(false);
        }
        let pkgs: Vec<PackageTrack> = jt
            .packages
            .iter()
            .filter_map(|tn| self.package(tn).transpose())
            .collect::<Result<_, _>>()?;
        let count = |m: Milestone| pkgs.iter().filter(|p| p.milestone == m).count();
        let (d, r, v) = (
            count(Milestone::Delivered),
            count(Milestone::Returned),
            count(Milestone::Voided),
        );
        let mut moved = false;
        if let Some(mut job) = self.ledger.get(job_id)? {
            if job.state == JobState::Tracking {
                let to = if v == pkgs.len() {
                    JobState::Voided
                } else {
                    JobState::Delivered
                };
                job.transition(
                    to,
                    format!("tracking: {d} delivered, {r} returned, {v} voided"),
                    self.now(),
                );
                self.ledger.save_flushed(&job).await?;
                self.stats.jobs_finished.fetch_add(1, Ordering::Relaxed);
                tracing::info!(job = %job_id, state = to.as_str(), "tracking finished");
                moved = true;
            }
        }
        let _g = lock(&self.state);
        jt.finished = true;
        self.put_job(&jt)?;
        Ok(moved)
    }

    // ---------- freshness ----------

    /// `(tracking number, seconds since the tracker last heard about it)` for every live
    /// package past pickup (picked up, in transit, out for delivery, exception).
    pub fn freshness(&self) -> Result<Vec<(String, i64)>, TrackingError> {
        let now = self.now();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Tracking).scan_prefix(DUE) {
            let (k, _) = kv.map_err(|e| db_err(&self.store, e))?;
            let tn = String::from_utf8_lossy(&k[DUE.len() + 17..]).into_owned();
            if !seen.insert(tn.clone()) {
                continue;
            }
            let Some(p) = self.package(&tn)? else {
                continue;
            };
            if !p.done
                && matches!(
                    p.milestone,
                    Milestone::PickedUp
                        | Milestone::InTransit
                        | Milestone::OutForDelivery
                        | Milestone::Exception
                )
            {
                out.push((tn, (now - p.last_update_at).num_seconds().max(0)));
            }
        }
        Ok(out)
    }

    /// Summary of [`Self::freshness`].
    pub fn freshness_summary(&self) -> Result<FreshnessSummary, TrackingError> {
        let ages: Vec<i64> = self.freshness()?.into_iter().map(|(_, s)| s).collect();
        Ok(FreshnessSummary::from_ages(&ages))
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
