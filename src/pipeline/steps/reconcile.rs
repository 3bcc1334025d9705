//! Step *reconcile*: a job found in `shipping` is in doubt; its reference is looked up at
//! UPS before any new Ship (found → labels recovered; not found → Ship again). Also the
//! periodic sweep for missed shipments and the watches for late duplicates.

use super::*;

impl PipelineCore {
    /// Of the live shipments UPS found for one reference, keep the first (by shipment id)
    /// and void the others as duplicates (audited, counted, logged; `part` names a split
    /// group's part). A void UPS refuses comes back for the caller to handle.
    pub(super) async fn keep_first_void_rest(
        &self,
        job: &mut Job,
        mut live: Vec<FoundShipment>,
        part: Option<&str>,
    ) -> Result<FoundShipment, CarrierError> {
        live.sort_by(|a, b| a.shipment_id.cmp(&b.shipment_id));
        let keep = live.remove(0);
        for dup in &live {
            let started = self.now();
            match self.carrier.void(&dup.shipment_id).await {
                Ok(()) => {
                    self.audit(job, "ups", "void_duplicate", "ok", started);
                    job.duplicates_voided += 1;
                    self.stats.duplicates_voided.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(job = %job.id, part = part.unwrap_or("-"), shipment = %dup.shipment_id, "duplicate shipment found by reconciliation and voided");
                }
                Err(e) => {
                    self.audit(job, "ups", "void_duplicate", &e.code, started);
                    return Err(e);
                }
            }
        }
        Ok(keep)
    }

    /// In doubt: look the shipment up by its reference before ever shipping again.
    pub(super) async fn step_reconcile(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        let shipment = job.shipment.clone().expect("shipping job has a shipment");
        let started_at = job
            .ship_attempt
            .as_ref()
            .map_or(job.updated_at, |a| a.started_at);
        // Jobs shipped before the job reference existed are looked up by the ERP number.
        let reference = job
            .ship_attempt
            .as_ref()
            .and_then(|a| a.reference.clone())
            .unwrap_or_else(|| job.number.clone());
        let from = (started_at - chrono::Duration::days(1)).date_naive();
        let to = (self.now() + chrono::Duration::days(1)).date_naive();
        let started = self.now();
        let found = match self
            .carrier
            .find_by_reference(&reference, &shipment.account_number, from, to)
            .await
        {
            Ok(f) => {
                self.audit(job, "ups", "track_by_reference", "ok", started);
                f
            }
            Err(e) => {
                self.audit(job, "ups", "track_by_reference", &e.code, started);
                return self.carrier_error(conn, job, e).await;
            }
        };
        // Track by reference may list the packages of several shipments as one (UPS gives no
        // shipment id per package): a list longer than this shipment's packages is split
        // into shipments of that many packages, in the order UPS listed them.
        let per_shipment = shipment.packages.len().max(1);
        let live: Vec<_> = found
            .into_iter()
            .filter(|f| !f.voided)
            .flat_map(|f| split_found(f, per_shipment))
            .collect();
        if live.is_empty() {
            return self
                .reconcile_missed(job, &reference, &shipment, started_at)
                .await;
        }
        let keep = match self.keep_first_void_rest(job, live, None).await {
            Ok(keep) => keep,
            Err(e) => return self.carrier_error(conn, job, e).await,
        };
        let started = self.now();
        match self
            .carrier
            .recover(&keep, &shipment, &shipment.label)
            .await
        {
            Ok(result) => {
                self.audit(job, "ups", "label_recovery", "ok", started);
                self.stats.in_doubt_found.fetch_add(1, Ordering::Relaxed);
                self.shipped(job, result, "reconciled: ").await?;
                Ok(Step::Continue)
            }
            Err(e) => {
                self.audit(job, "ups", "label_recovery", &e.code, started);
                self.carrier_error(conn, job, e).await
            }
        }
    }

    /// A reconciliation lookup found nothing. A label created moments ago may not be
    /// findable by reference yet, so the job stays in doubt and looks again, until
    /// `min_lookups` misses spread over `absent_after`: then UPS has no such shipment, the
    /// job ships again, and its reference is watched for a late-indexed first shipment.
    pub(super) async fn reconcile_missed(
        &self,
        job: &mut Job,
        reference: &str,
        shipment: &Shipment,
        started_at: DateTime<Utc>,
    ) -> Result<Step, PipelineError> {
        let now = self.now();
        let r = &self.settings.reconcile;
        // A job left in `shipping` by an older upsync may have no attempt recorded.
        let attempt = job.ship_attempt.get_or_insert_with(|| ShipAttempt {
            attempt: 0,
            request_hash: String::new(),
            started_at,
            reference: None,
            misses: 0,
            first_miss_at: None,
        });
        attempt.misses += 1;
        let first_miss = *attempt.first_miss_at.get_or_insert(now);
        let misses = attempt.misses;
        self.stats.reconcile_misses.fetch_add(1, Ordering::Relaxed);
        if misses < r.min_lookups.max(1) || now - first_miss < r.absent_after {
            job.next_attempt_at = Some(now + r.interval());
            job.updated_at = now;
            job.timeline.push(crate::pipeline::ledger::Transition {
                at: now,
                from: Some(job.state),
                to: job.state,
                note: format!(
                    "reconcile: not found by reference yet (lookup {misses}); UPS indexes new labels late, looking again"
                ),
            });
            self.ledger.save_flushed(job).await?;
            tracing::info!(job = %job.id, misses, "in-doubt Ship not found by reference yet; looking again later");
            return Ok(Step::Wait);
        }
        self.stats.in_doubt_missing.fetch_add(1, Ordering::Relaxed);
        let minutes = (now - first_miss).num_minutes();
        job.transition(
            JobState::AddressChecked,
            format!("reconciled: UPS has no shipment with this reference after {misses} lookups over {minutes} min; shipping again"),
            now,
        );
        if r.watch_for > chrono::Duration::zero() {
            self.ledger.put_watch(&Watch {
                job_id: job.id.clone(),
                reference: reference.to_string(),
                shipper: shipment.account_number.clone(),
                since: started_at,
                next_at: now + r.interval(),
                until: now + r.watch_for,
                voided: vec![],
            })?;
        }
        self.ledger.save_flushed(job).await?;
        Ok(Step::Continue)
    }

    /// Watched jobs (re-shipped after reconciliation gave up) of one connector: look their
    /// reference up again and void every live shipment of theirs but the one the job holds.
    pub(super) async fn process_watches(&self, conn: &Arc<Connector>) -> Result<(), PipelineError> {
        let now = self.now();
        for mut w in self.ledger.due_watches(&conn.name, now)? {
            if self.is_stopping() {
                break;
            }
            let job = self.ledger.get(&w.job_id)?;
            let keep = job
                .as_ref()
                .and_then(|j| j.result.as_ref())
                .map(|r| r.shipment_id.clone());
            let gone = job
                .as_ref()
                .is_none_or(|j| matches!(j.state, JobState::Voided | JobState::Superseded));
            if gone || now >= w.until {
                self.ledger.remove_watch(&w.job_id)?;
                continue;
            }
            let Some(keep) = keep else {
                // Not shipped again yet (or in doubt again: reconciliation handles that).
                w.next_at = now + self.settings.reconcile.interval();
                self.ledger.put_watch(&w)?;
                continue;
            };
            let job = job.expect("checked above");
            let from = (w.since - chrono::Duration::days(1)).date_naive();
            let to = (now + chrono::Duration::days(1)).date_naive();
            let started = self.now();
            let found = match self
                .carrier
                .find_by_reference(&w.reference, &w.shipper, from, to)
                .await
            {
                Ok(f) => {
                    self.audit(&job, "ups", "watch_by_reference", "ok", started);
                    f
                }
                Err(e) => {
                    self.audit(&job, "ups", "watch_by_reference", &e.code, started);
                    tracing::warn!(job = %job.id, code = %e.code, "late-duplicate watch lookup failed; next cycle retries");
                    continue;
                }
            };
            let ours: std::collections::HashSet<&str> = job
                .result
                .iter()
                .flat_map(|r| r.packages.iter().map(|p| p.tracking_number.as_str()))
                .chain(std::iter::once(keep.as_str()))
                .collect();
            // As in reconciliation: one match may list several shipments' packages.
            let per_shipment = job.shipment.as_ref().map_or(1, |s| s.packages.len().max(1));
            let candidates: Vec<FoundShipment> = found
                .into_iter()
                .filter(|f| !f.voided)
                .flat_map(|f| split_found(f, per_shipment))
                .collect();
            for extra in candidates
                .iter()
                .filter(|f| !f.tracking_numbers.iter().any(|t| ours.contains(t.as_str())))
            {
                if w.voided.contains(&extra.shipment_id) {
                    continue;
                }
                let started = self.now();
                match self.carrier.void(&extra.shipment_id).await {
                    Ok(()) => {
                        self.audit(&job, "ups", "void_late_duplicate", "ok", started);
                        w.voided.push(extra.shipment_id.clone());
                        self.stats
                            .late_duplicates_voided
                            .fetch_add(1, Ordering::Relaxed);
                        self.stats.duplicates_voided.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(job = %job.id, shipment = %extra.shipment_id, keep = %keep, "late-indexed duplicate shipment voided");
                    }
                    Err(e) => {
                        self.audit(&job, "ups", "void_late_duplicate", &e.code, started);
                        tracing::warn!(job = %job.id, shipment = %extra.shipment_id, code = %e.code, "could not void a late duplicate; will try again");
                    }
                }
            }
            w.next_at = now + self.settings.reconcile.interval();
            self.ledger.put_watch(&w)?;
        }
        Ok(())
    }
}
