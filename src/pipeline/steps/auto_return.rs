//! Automatic returns (`auto_return:` in an outbound mapping; docs/returns.md): a return
//! label made alongside an outbound shipment, exactly once.
//!
//! The return is a **second ledger job** with id `<outbound job id>#return`, kind `return`,
//! `return_of` = the outbound job. It is created once the outbound job is `shipped` (that
//! state is flushed before this runs), before the outbound is written back, and only if no
//! job with that id exists: a crash before the creation creates it on the next pass (the
//! outbound is still `shipped`), a crash after it finds it. From then on the return job is
//! an ordinary job: `shipping` flushed before its Ship, reconciled by its **own** unique
//! reference (derived from its own id) when in doubt, `shipped` flushed before its
//! write-back — so a crash between the outbound Ship and the return Ship neither
//! duplicates nor loses the return. Its write-back and tracking touch only the outbound
//! record's return fields (`auto_return.tracking_field`, `status_field`).

use super::*;
use crate::model::ShipmentKind;

/// The id of the automatic return of outbound job `outbound`.
pub fn return_job_id(outbound: &str) -> String {
    format!("{outbound}#return")
}

/// The failure of a job marked as an automatic return whose mapping no longer has one.
pub(super) fn no_auto_return() -> crate::pipeline::MappingFailure {
    crate::pipeline::MappingFailure {
        problems: vec![(
            "mapping_failed".into(),
            "this automatic return's mapping no longer has `auto_return:` (or its `when` no longer holds): restore it, or leave the job dead-lettered".into(),
        )],
    }
}

impl PipelineCore {
    /// Create the automatic return of a shipped outbound job, once.
    pub(super) async fn ensure_auto_return(
        &self,
        conn: &Arc<Connector>,
        job: &Job,
    ) -> Result<(), PipelineError> {
        if job.return_of.is_some() || job.kind == ShipmentKind::Return || job.result.is_none() {
            return Ok(());
        }
        let id = return_job_id(&job.id);
        if self.ledger.get_lean(&id)?.is_some() {
            return Ok(());
        }
        let Some(mapped) = conn.mapper.auto_return(&job.record) else {
            return Ok(());
        };
        let now = self.now();
        let mut r = Job::new(job.record.clone(), now);
        r.id = id;
        r.kind = ShipmentKind::Return;
        r.return_of = Some(job.id.clone());
        match mapped {
            Ok(s) => {
                r.shipment = Some(s);
                r.transition(
                    JobState::Mapped,
                    format!("automatic return of {}", job.id),
                    now,
                );
                self.ledger.save_flushed(&r).await?;
                self.stats.jobs_created.fetch_add(1, Ordering::Relaxed);
                tracing::info!(event = "auto_return_created", job = %r.id, outbound = %job.id, "automatic return job created");
            }
            Err(f) => {
                self.ledger.save(&r)?;
                self.dead_letter(conn, &mut r, ErrorClass::Business, f.code(), &f.message())
                    .await?;
            }
        }
        Ok(())
    }
}
