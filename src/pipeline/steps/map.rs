//! Step *map*: ERP record → canonical shipment through the connector's mapping; a record
//! that cannot be mapped is dead-lettered with its stable code.

use super::*;

impl PipelineCore {
    pub(super) async fn step_map(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        // An automatic return is re-mapped (`jobs replay`) through `auto_return:`.
        let mapped = if job.return_of.is_some() {
            conn.mapper
                .auto_return(&job.record)
                .unwrap_or_else(|| Err(super::auto_return::no_auto_return()))
        } else {
            conn.mapper.to_shipment(&job.record)
        };
        match mapped {
            Ok(s) => {
                job.kind = s.kind();
                job.shipment = Some(s);
                job.transition(JobState::Mapped, "", self.now());
                // Not saved here: nothing outside depends on `mapped`, and the next step's
                // save (or `process_job`'s, when the job stops) carries it.
                Ok(Step::Continue)
            }
            Err(f) => {
                self.dead_letter(conn, job, ErrorClass::Business, f.code(), &f.message())
                    .await?;
                Ok(Step::Wait)
            }
        }
    }
}
