//! Void: `upsync jobs void ID` — void a job's UPS shipment and record it as `voided`.

use super::*;

impl PipelineCore {
    /// `jobs void ID`: void the job's shipment at UPS; then the current version of the record
    /// is taken up as a new job (re-ship).
    pub async fn void(&self, id: &str) -> Result<Job, PipelineError> {
        let mut job = self
            .ledger
            .get(id)?
            .ok_or_else(|| PipelineError::UnknownJob(id.to_string()))?;
        let conn = self.connector(&job.source)?.clone();
        if job.result.is_none() {
            return Err(PipelineError::NotApplicable {
                id: id.to_string(),
                state: job.state,
                what: "it has no shipment to void".into(),
            });
        }
        if job.state == JobState::Voided {
            return Err(PipelineError::NotApplicable {
                id: id.to_string(),
                state: job.state,
                what: "already voided".into(),
            });
        }
        // Every UPS shipment of the job: one, or each part of a split group.
        let ids = self.void_shipments(&mut job, "void").await??;
        job.transition(
            JobState::Voided,
            format!("voided {} by operator", ids.join(" ")),
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
}
