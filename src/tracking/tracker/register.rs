//! Registration: shipped jobs' packages enter the tracker (from the ledger scan), with any
//! events parked for them; jobs voided meanwhile stop being tracked.

use super::*;

impl Tracker {
    /// Start tracking the packages of a job in `tracking` state. Idempotent; returns the
    /// number of packages newly registered.
    pub fn register_job(&self, job: &Job) -> Result<usize, TrackingError> {
        let _g = lock(&self.state);
        self.register_locked(job)
    }

    pub(super) fn register_locked(&self, job: &Job) -> Result<usize, TrackingError> {
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
            } else if self.settings.mode == TrackingMode::QuantumView {
                // Quantum View has the events from now on; one Track call has the past.
                p.needs_backfill = true;
                now
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
            // The shipped write-back put "label created" on the record.
            status_history: vec![StatusMark {
                status: Milestone::LabelCreated,
                at: job.updated_at.min(now),
            }],
        })?;
        self.stats.jobs_registered.fetch_add(1, Ordering::Relaxed);
        self.stats
            .packages_registered
            .fetch_add(n as u64, Ordering::Relaxed);
        tracing::info!(job = %job.id, packages = n, "tracking started");
        Ok(n)
    }

    /// Apply events that arrived before the package was registered.
    pub(super) fn apply_parked(&self, tn: &str) -> Result<(), TrackingError> {
        let tree = self.store.tree(Tree::Tracking);
        let parked: Vec<(Vec<u8>, Vec<u8>)> = tree
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
            let Some(job) = self.ledger.get_lean(&id)? else {
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
}
