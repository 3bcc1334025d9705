//! Step *ship*: the job enters `shipping` (flushed) before Ship is sent, and `shipped`
//! (flushed) before anything is written back — the exactly-once core (DESIGN.md).

use super::*;

impl PipelineCore {
    pub(super) async fn step_ship(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        // The site's dispatch calendar decides the ship date (steps/pickup.rs), for a
        // split group's parts too.
        match self.dispatch_ship_date(conn, job) {
            Ok(Some(date)) => {
                if let Some(s) = job.shipment.as_mut() {
                    s.ship_date = Some(date);
                }
            }
            Ok(None) => {}
            Err(e) => {
                self.dead_letter(conn, job, ErrorClass::Business, e.code(), &e.to_string())
                    .await?;
                return Ok(Step::Wait);
            }
        }
        // Over the customs line limit with `over_limit: split`: several UPS shipments.
        if let Some(step) = self.maybe_start_group(conn, job).await? {
            return Ok(step);
        }
        // Every Ship of the job carries the job's own reference (besides the ERP number), so
        // reconciliation finds exactly this job's shipments and no other shipper's.
        let reference = job_reference(&job.id);
        let shipment = job
            .shipment
            .clone()
            .expect("checked job has a shipment")
            .with_reference(crate::model::Reference {
                code: "TN".into(),
                value: reference.clone(),
                barcode: false,
            });
        let now = self.now();
        let attempt = job.ship_attempt.as_ref().map_or(0, |a| a.attempt) + 1;
        job.ship_attempt = Some(ShipAttempt {
            attempt,
            request_hash: shipment_hash(&shipment),
            started_at: now,
            reference: Some(reference),
            misses: 0,
            first_miss_at: None,
        });
        job.transition(JobState::Shipping, format!("attempt {attempt}"), now);
        // Durable before the side effect: a crash from here on is reconciled, never re-shipped blindly.
        self.ledger.save_flushed(job).await?;
        let started = self.now();
        let timer = std::time::Instant::now();
        let outcome = self.carrier.ship(&shipment).await;
        self.stats
            .ship_latency
            .observe(timer.elapsed().as_secs_f64());
        match outcome {
            Ok(result) => {
                self.audit(job, "ups", "ship", "ok", started);
                self.shipped(job, result, "").await?;
                Ok(Step::Continue)
            }
            Err(e) if e.outcome_unknown => {
                self.audit(job, "ups", "ship", &e.code, started);
                tracing::warn!(job = %job.id, code = %e.code, "Ship outcome unknown: job is in doubt and will be reconciled before any new Ship");
                self.schedule_retry(job, &e)?;
                Ok(Step::Wait)
            }
            Err(e) => {
                self.audit(job, "ups", "ship", &e.code, started);
                self.stats.ship_failures.fetch_add(1, Ordering::Relaxed);
                // UPS answered: nothing was created.
                job.transition(
                    JobState::AddressChecked,
                    format!("ship refused: {}", e.code),
                    self.now(),
                );
                self.ledger.save(job)?;
                self.carrier_error(conn, job, e).await
            }
        }
    }

    pub(super) async fn shipped(
        &self,
        job: &mut Job,
        result: ShipResult,
        how: &str,
    ) -> Result<(), PipelineError> {
        let numbers = result
            .packages
            .iter()
            .map(|p| p.tracking_number.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        job.result = Some(result);
        // New bytes: the next save writes them to the job's label key.
        job.stored.set_labels_stored(false);
        job.transition(JobState::Shipped, format!("{how}{numbers}"), self.now());
        // Durable before write-back: a failed write-back retries from here, never ships again.
        self.ledger.save_flushed(job).await?;
        self.stats.shipped.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
