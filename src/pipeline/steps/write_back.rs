//! Step *write-back*: 1Z numbers, charges, freight and labels from the flushed `shipped`
//! state to the ERP record (and label sink); a failed write-back retries from stored data,
//! never ships again. The freight decision (basis, fallback, refusal) is recorded on the
//! job, logged and counted once, the first time the job is written back.

use super::*;

impl PipelineCore {
    pub(super) async fn step_write_back(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        // Borrowed where needed, never cloned: the result holds every label's bytes.
        fn shipped(job: &Job) -> &ShipResult {
            job.result.as_ref().expect("shipped job has a result")
        }
        // In the site's on-call pickup of its ship date (idempotent).
        self.note_for_pickup(conn, job).await?;
        if let Some(sink) = &conn.label_sink {
            if !job.timeline.iter().any(|t| t.note.starts_with("labels: ")) {
                match sink.deliver(&job.number, shipped(job)).await {
                    Ok(names) => {
                        self.stats.labels_delivered.fetch_add(1, Ordering::Relaxed);
                        job.timeline.push(crate::pipeline::ledger::Transition {
                            at: self.now(),
                            from: Some(job.state),
                            to: job.state,
                            note: format!("labels: {}", names.join(", ")),
                        });
                    }
                    Err(e) => {
                        // The label is stored with the job: `upsync labels reprint` re-sends it.
                        self.stats
                            .label_sink_failures
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(job = %job.id, error = %e, "label sink failed; reprint with `upsync labels reprint`");
                    }
                }
            }
        }
        // An automatic return writes only its 1Z onto the outbound record (no freight).
        let (plan, freight) = if job.return_of.is_some() {
            (
                conn.mapper
                    .write_back_auto_return(&job.record, shipped(job)),
                None,
            )
        } else {
            conn.mapper
                .write_back_shipped_freight(&job.record, shipped(job), job.quoted_days)
        };
        if job.freight.is_none() {
            if let Some(f) = &freight {
                self.freight_decided(conn, job, f);
            }
        }
        job.freight = freight;
        let mut plan = plan;
        if self.has_site_calendar(conn, job) {
            let date = job.shipment.as_ref().and_then(|s| s.ship_date);
            let dispatch = conn.mapper.write_back_dispatch(&job.record, date, None);
            plan.fields.extend(dispatch.fields);
        }
        let started = self.now();
        let mut written = conn.source.write_back_from(&plan, &job.record).await;
        // A return record naming its outbound record: the return 1Z goes there too.
        if written.is_ok() {
            if let Some(linked) = conn.mapper.write_back_linked(&job.record, shipped(job)) {
                written = conn.source.write_back(&linked).await;
            }
        }
        match written {
            Ok(()) => {
                self.audit(job, &conn.name, "write_back", "ok", started);
                job.transition(JobState::WrittenBack, "", self.now());
                self.stats.written_back.fetch_add(1, Ordering::Relaxed);
                let e2e = (self.now() - job.record.modified).num_milliseconds().max(0);
                self.stats.end_to_end.observe(e2e as f64 / 1000.0);
                job.transition(JobState::Tracking, "", self.now());
                self.ledger.save(job)?;
                Ok(Step::Wait)
            }
            Err(e) => {
                self.audit(job, &conn.name, "write_back", e.code(), started);
                match e.class() {
                    ErrorClass::Business => {
                        self.dead_letter(conn, job, ErrorClass::Business, e.code(), &e.to_string())
                            .await?;
                        Ok(Step::Wait)
                    }
                    ErrorClass::Auth | ErrorClass::Config => {
                        self.on_source_error(conn, &e);
                        Ok(Step::Wait)
                    }
                    ErrorClass::Transient => {
                        let ce = CarrierError::transient(e.code(), e.to_string());
                        self.schedule_retry(job, &ce)?;
                        Ok(Step::Wait)
                    }
                }
            }
        }
    }
}

impl PipelineCore {
    /// Record a freight decision: timeline note, structured event and counters (never
    /// silent about a fallback to list or a refused figure).
    fn freight_decided(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        f: &crate::model::FreightOutcome,
    ) {
        let note = match (&f.refused, &f.fallback_reason, f.written) {
            (Some((code, _)), _, _) => {
                tracing::warn!(event = "freight_refused", job = %job.id, code = %code, "freight not written back");
                self.stats.freight.count(&conn.name, "refused", code);
                format!("freight refused: {code}")
            }
            (None, Some(_), Some(w)) => {
                tracing::warn!(event = "freight_basis_fallback", job = %job.id, asked = f.asked.as_str(), used = f.basis.as_str(), "no account rate from UPS; freight billed at list");
                self.stats
                    .freight
                    .count(&conn.name, "fallback", f.basis.as_str());
                self.stats
                    .freight
                    .count(&conn.name, "written", f.basis.as_str());
                format!(
                    "freight {w} {} (list; account rate unavailable)",
                    f.currency
                )
            }
            (None, None, Some(w)) => {
                self.stats
                    .freight
                    .count(&conn.name, "written", f.basis.as_str());
                format!("freight {w} {} ({})", f.currency, f.basis.as_str())
            }
            _ => return,
        };
        job.timeline.push(crate::pipeline::ledger::Transition {
            at: self.now(),
            from: Some(job.state),
            to: job.state,
            note,
        });
    }
}
