//! Failures of a step, routed by class (DESIGN.md, errors): transient → retry this job later
//! with backoff; auth/config → pause the connector; business → dead-letter with a stable
//! code written back to the ERP. Also `upsync jobs replay`.

use super::*;

impl PipelineCore {
    /// Route a carrier error by class.
    pub(super) async fn carrier_error(
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

    pub(super) fn schedule_retry(
        &self,
        job: &mut Job,
        e: &CarrierError,
    ) -> Result<(), PipelineError> {
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
    pub(super) async fn dead_letter(
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
                        job.stored.set_record_stored(false);
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
}
