//! Step *ingest* (start of a connector cycle): records read from the source become jobs in
//! the ledger; a new version of a record already shipped is a conflict for a human, not a
//! silent re-ship (DESIGN.md, ledger states). Source errors pause the connector by class.

use super::*;

impl PipelineCore {
    pub(super) async fn ingest(
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
            let had_records = !page.records.is_empty();
            for record in page.records {
                report.records_read += 1;
                self.stats.records_read.fetch_add(1, Ordering::Relaxed);
                if self.ingest_record(conn, record).await? {
                    report.jobs_created += 1;
                }
            }
            // The page's records are in the ledger before the cursor moves past them. A
            // page without records (an Acumatica window split, about half of a backlog
            // scan's pages) wrote nothing to flush.
            if had_records {
                self.ledger.flush().await?;
            }
            store.put_json(Tree::Cursors, &conn.name, &page.cursor.0)?;
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        // The cursor is made durable once, here, not after every page: it guards no side
        // effect, the next page's flush carries it too, and a crash before it only means
        // reading again from an older cursor, whose records the ledger already has
        // (`ingest_record` drops a version it knows).
        self.ledger.flush().await?;
        Ok(())
    }

    pub(super) fn on_source_error(&self, conn: &Connector, e: &SourceError) {
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
    pub(super) async fn ingest_record(
        &self,
        conn: &Arc<Connector>,
        record: ErpRecord,
    ) -> Result<bool, PipelineError> {
        let now = self.now();
        let Some(mut current) = self.ledger.current_for_lean(&conn.name, &record.id)? else {
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
    pub(super) async fn changed_after_ship(
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

    pub(super) async fn flag_conflict(
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
}
