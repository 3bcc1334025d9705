//! Write-back of tracking changes to the ERP within its write rate (never the same plan
//! twice), and finishing jobs (`delivered` in the ledger).

use super::*;

impl Tracker {
    // ---------- write-back ----------

    pub(super) async fn write_backs(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        struct Work {
            job_id: String,
            gen: Vec<u8>,
            plan: WriteBack,
            hash: String,
            source: Arc<dyn Source>,
            finish: bool,
            status: Milestone,
            status_at: Option<DateTime<Utc>>,
        }
        let dirty: Vec<(String, Vec<u8>)> = self
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
            let Some(job) = self.ledger.get_lean(&job_id)? else {
                self.clear_dirty(&job_id, &gen)?;
                continue;
            };
            if job.compacted {
                // Delivered and written back already; its ERP record copy is gone.
                tracing::debug!(job = %job_id, "late tracking news for a delivered job; nothing more to write back");
                self.clear_dirty(&job_id, &gen)?;
                continue;
            }
            // An automatic return reports on the outbound record's return field only.
            let plan = if job.return_of.is_some() {
                target
                    .mapper
                    .write_back_auto_return_tracking(&job.record, &snapshot)
            } else {
                target.mapper.write_back_tracking(&job.record, &snapshot)
            };
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
                status: snapshot.milestone,
                status_at: snapshot.status_at,
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
                            jt.note_written_status(w.status, w.status_at.unwrap_or(now));
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
    pub(super) async fn finish_job(&self, job_id: &str) -> Result<bool, TrackingError> {
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
            count(Milestone::ReturnedToSender),
            count(Milestone::Voided),
        );
        let mut moved = false;
        if let Some(mut job) = self.ledger.get_lean(job_id)? {
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
}
