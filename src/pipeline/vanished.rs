//! Shipped records that vanished from the ERP: how both ERPs cancel.
//!
//! You are here: a step of the connector cycle (after reading new records, before working
//! on due jobs). NetSuite item fulfillments and Acumatica shipments have no "cancelled"
//! status: a cancelled one is **deleted** (ERP-NOTES.md §N3/§N4: shipStatus A/B/C only,
//! `DELETE /record/v1/itemFulfillment/{id}`; §A4: shipment statuses On Hold, Open,
//! Confirmed, Invoiced, Completed, and an Open shipment can be deleted). A deleted record
//! no longer comes out of `poll`, so the pipeline asks the source which of the records it
//! has shipped still exist ([`Source::missing`]).
//!
//! Cost, per connector and check (at most one check every
//! `ConnectorSettings::vanished_check_seconds`, and at the first cycle of a process): one
//! scan of the ledger's state index; NetSuite one SuiteQL request per 1,000 records in
//! `shipped`, `written_back`, `tracking` (or dead-lettered with a shipment); Acumatica one
//! GET per 25 such records (`$filter` on their numbers, `$select=ShipmentNbr`); plus one
//! confirming `fetch` per record reported missing (a false "missing" must never void a
//! live shipment).
//!
//! A vanished record whose mapping says `void_on_cancel: true` gets its UPS shipment
//! voided (the same void as for a cancelled status, [`PipelineCore::void_cancelled`]) and
//! the job ends in `voided`. Otherwise — or when UPS refuses the void — the job is flagged
//! (a conflict note, a warning, the `conflicts` counter) for a person, never ignored.
//! Delivered jobs are not checked (nothing left to void).
//!
//! Must never: void without the confirming read; act on a record the source could not
//! answer about (transient errors wait for the next check).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Connector, PipelineCore, PipelineError};
use crate::model::ErrorClass;
use crate::pipeline::ledger::{Conflict, Job, JobState};
use crate::sources::{RecordRef, Source, SourceError};

/// Jobs whose record is checked: a shipment exists at UPS and can still be voided.
const CHECKED_STATES: [JobState; 4] = [
    JobState::Shipped,
    JobState::WrittenBack,
    JobState::Tracking,
    JobState::Failed,
];

/// The conflict `version` that marks "the record was deleted in the ERP".
pub const DELETED: &str = "(deleted in ERP)";

/// When a connector last looked for vanished records (in memory: a new process, e.g.
/// `upsync once`, looks at its first cycle).
#[derive(Debug, Default)]
pub struct VanishedCheck(Mutex<Option<DateTime<Utc>>>);

impl VanishedCheck {
    /// Whether a check is due at `now` (and if so, mark it done).
    fn due(&self, now: DateTime<Utc>, every_seconds: u64) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = *last {
            if now < t + chrono::Duration::seconds(every_seconds as i64) {
                return false;
            }
        }
        *last = Some(now);
        true
    }
}

impl PipelineCore {
    /// Look for shipped records that were deleted in the ERP and void or flag their jobs.
    /// Returns how many vanished records were handled.
    pub(super) async fn check_vanished(
        &self,
        conn: &Arc<Connector>,
    ) -> Result<usize, PipelineError> {
        if !conn
            .vanished
            .due(self.now(), conn.settings.vanished_check_seconds)
        {
            return Ok(0);
        }
        let mut by_record: BTreeMap<String, Job> = BTreeMap::new();
        for id in self.ledger.ids_in_states(&conn.name, &CHECKED_STATES)? {
            let Some(job) = self.ledger.get(&id)? else {
                continue;
            };
            let flagged = job.conflict.as_ref().is_some_and(|c| c.version == DELETED);
            // An automatic return shares its outbound's record: the outbound answers for it.
            if job.result.is_some() && !flagged && job.return_of.is_none() {
                by_record.insert(job.record_id.clone(), job);
            }
        }
        if by_record.is_empty() {
            return Ok(0);
        }
        let refs: Vec<RecordRef> = by_record
            .values()
            .map(|j| RecordRef {
                id: j.record_id.clone(),
                number: j.number.clone(),
            })
            .collect();
        let gone = match conn.source.missing(&refs).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(connector = %conn.name, code = e.code(), error = %e, "could not check whether shipped records still exist; next check retries");
                return Ok(0);
            }
        };
        let mut handled = 0;
        for record_id in gone {
            let Some(mut job) = by_record.remove(&record_id) else {
                continue;
            };
            if !confirmed_gone(conn.source.as_ref(), &record_id).await {
                continue;
            }
            self.on_vanished(conn, &mut job).await?;
            handled += 1;
        }
        Ok(handled)
    }

    async fn on_vanished(&self, conn: &Arc<Connector>, job: &mut Job) -> Result<(), PipelineError> {
        tracing::warn!(job = %job.id, state = %job.state, "shipped record was deleted in the ERP (cancelled)");
        if !conn.mapper.void_on_cancel() {
            return self
                .flag_deleted(
                    job,
                    "record deleted in the ERP after its UPS label was created; the mapping does not void (void_on_cancel: false): void it with `upsync jobs void` if the parcel will not ship",
                )
                .await;
        }
        match self.void_cancelled(job, "deleted in ERP").await? {
            Ok(()) => Ok(()),
            Err(e) if e.class == ErrorClass::Transient => Ok(()),
            Err(e) => {
                let what = format!(
                    "record deleted in the ERP; UPS refused the void ({}): check the parcel",
                    e.code
                );
                self.flag_deleted(job, &what).await
            }
        }
    }

    /// Surface a deleted record on its job: a conflict note (shown by `upsync jobs`), the
    /// `conflicts` counter and a warning. Once per job.
    async fn flag_deleted(&self, job: &mut Job, what: &str) -> Result<(), PipelineError> {
        let now = self.now();
        job.conflict = Some(Conflict {
            at: now,
            version: DELETED.to_string(),
            what: what.to_string(),
        });
        job.updated_at = now;
        self.ledger.save_flushed(job).await?;
        self.stats.conflicts.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(job = %job.id, note = %what, "deleted ERP record flagged for a person");
        Ok(())
    }

    /// Void the UPS shipment of a job whose ERP record was cancelled (a `cancelled:` status
    /// or a deletion) and end the job in `voided`. `Ok(Err(e))`: UPS did not void (logged
    /// and audited; the job is unchanged).
    pub(super) async fn void_cancelled(
        &self,
        job: &mut Job,
        why: &str,
    ) -> Result<Result<(), super::CarrierError>, PipelineError> {
        if job.result.is_none() {
            return Ok(Ok(()));
        }
        // Every UPS shipment of the job: one, or each part of a split group.
        match self.void_shipments(job, "void").await? {
            Ok(ids) => {
                job.transition(
                    JobState::Voided,
                    format!("{why}; voided {}", ids.join(" ")),
                    self.now(),
                );
                self.stats.voided.fetch_add(1, Ordering::Relaxed);
                self.ledger.save_flushed(job).await?;
                Ok(Ok(()))
            }
            Err(e) => {
                tracing::warn!(job = %job.id, code = %e.code, "void after ERP cancellation failed");
                Ok(Err(e))
            }
        }
    }
}

/// A second, per-record read confirms what the batch check said.
async fn confirmed_gone(source: &dyn Source, record_id: &str) -> bool {
    match source.fetch(record_id).await {
        Ok(None) | Err(SourceError::NotFound { .. }) => true,
        Ok(Some(_)) => false,
        Err(e) => {
            tracing::warn!(
                record = record_id,
                code = e.code(),
                "could not confirm that the record was deleted; next check retries"
            );
            false
        }
    }
}
