//! Step *ship a split group*: a record over the customs line limit with
//! `over_limit: split` goes to UPS as several shipments ([`crate::model::split::plan`]),
//! one part at a time, each exactly once (see [`crate::pipeline::parts`] for the states).
//!
//! Per part, the same rules as a single shipment: the attempt (with the part's own
//! reference) is flushed before Ship; a part found in flight is in doubt and is looked up
//! by its reference before it is ever sent again (found → labels recovered, duplicates
//! voided; absent over the lookup window → sent again); its result is flushed before the
//! next part. The job reaches `shipped` only when every part has its result.
//!
//! UPS refusing a part (a business error: nothing was created) refuses the record: the
//! parts already shipped are voided (a half-shipped order with half its invoices is what
//! a customs user least wants) and the job is dead-lettered with UPS's code, like a single
//! shipment. Transient failures keep the group in `shipping` and retry.
//!
//! Not covered for parts (single shipments have it): the late-duplicate watch after a
//! part was re-sent because reconciliation gave up (`reconcile.watch_for`).

use super::*;
use crate::pipeline::parts::{merged_result, Part};

impl PipelineCore {
    /// From `address_checked`: when the shipment needs several UPS shipments, plan the
    /// parts, enter `shipping` (flushed) and ship them. `None` when it goes whole.
    pub(super) async fn maybe_start_group(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Option<Step>, PipelineError> {
        if job.parts.is_empty() {
            let shipment = job.shipment.as_ref().expect("checked job has a shipment");
            let planned = match crate::model::split::plan(shipment) {
                Ok(None) => return Ok(None),
                Ok(Some(p)) => p,
                Err(e) => {
                    // The mapping's rule check refuses this first; kept for mappings
                    // loaded without it (fixtures, older jobs replayed).
                    let msg = format!("{e}; {}", e.fix());
                    self.dead_letter(conn, job, ErrorClass::Business, e.code(), &msg)
                        .await?;
                    return Ok(Some(Step::Wait));
                }
            };
            let reference = job_reference(&job.id);
            let n = planned.len();
            job.parts = planned
                .into_iter()
                .enumerate()
                .map(|(k, s)| Part {
                    index: k as u32 + 1,
                    of: n as u32,
                    reference: crate::model::split::part_reference(&reference, k + 1, n),
                    shipment: s,
                    attempt: None,
                    tries: 0,
                    result: None,
                    voided: false,
                })
                .collect();
            let now = self.now();
            let attempt = job.ship_attempt.as_ref().map_or(0, |a| a.attempt) + 1;
            job.ship_attempt = Some(ShipAttempt {
                attempt,
                request_hash: shipment_hash(shipment),
                started_at: now,
                reference: Some(reference),
                misses: 0,
                first_miss_at: None,
            });
        }
        let n = job.parts.len();
        let lines = job
            .parts
            .iter()
            .map(|p| {
                p.shipment
                    .international
                    .as_ref()
                    .map_or(0, |i| i.products.len())
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("+");
        job.transition(
            JobState::Shipping,
            format!("split: {n} UPS shipments ({lines} customs lines)"),
            self.now(),
        );
        // Durable before any part's Ship.
        self.ledger.save_flushed(job).await?;
        self.step_group(conn, job).await.map(Some)
    }

    /// A job in `shipping` with parts: settle each part in order (reconcile the one in
    /// doubt, ship the pending ones); `shipped` once all have their result.
    pub(super) async fn step_group(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        for i in 0..job.parts.len() {
            if job.parts[i].result.is_some() {
                continue;
            }
            if job.parts[i].attempt.is_some() {
                match self.reconcile_part(conn, job, i).await? {
                    PartStep::Done => continue,
                    PartStep::Send => {}
                    PartStep::Stop(step) => return Ok(step),
                }
            }
            if self.is_stopping() {
                return Ok(Step::Wait);
            }
            if let PartStep::Stop(step) = self.ship_part(conn, job, i).await? {
                return Ok(step);
            }
        }
        let result = merged_result(&job.parts).expect("every part has its result");
        let how = format!("{} UPS shipments: ", job.parts.len());
        self.shipped(job, result, &how).await?;
        Ok(Step::Continue)
    }

    /// Record part `i`'s attempt (flushed), send its Ship, record the answer (flushed).
    async fn ship_part(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        i: usize,
    ) -> Result<PartStep, PipelineError> {
        let now = self.now();
        let part = &mut job.parts[i];
        let shipment = part_shipment(part);
        part.tries += 1;
        let label = part.label();
        let tries = part.tries;
        part.attempt = Some(ShipAttempt {
            attempt: tries,
            request_hash: shipment_hash(&shipment),
            started_at: now,
            reference: Some(part.reference.clone()),
            misses: 0,
            first_miss_at: None,
        });
        note(job, now, format!("part {label}: attempt {tries}"));
        // Durable before the side effect: a crash from here on is reconciled by reference.
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
                let numbers = tracking_numbers(&result);
                job.parts[i].result = Some(result);
                note(job, self.now(), format!("part {label} shipped: {numbers}"));
                self.ledger.save_flushed(job).await?;
                Ok(PartStep::Done)
            }
            Err(e) if e.outcome_unknown => {
                self.audit(job, "ups", "ship", &e.code, started);
                tracing::warn!(job = %job.id, part = %label, code = %e.code, "Ship outcome unknown for a part: in doubt, reconciled by its reference before any new Ship");
                self.schedule_retry(job, &e)?;
                self.ledger.save_flushed(job).await?;
                Ok(PartStep::Stop(Step::Wait))
            }
            Err(e) => {
                self.audit(job, "ups", "ship", &e.code, started);
                self.stats.ship_failures.fetch_add(1, Ordering::Relaxed);
                // UPS answered: nothing was created for this part.
                job.parts[i].attempt = None;
                if e.class == ErrorClass::Business {
                    self.refuse_group(job, &label, &e.code).await?;
                } else {
                    note(
                        job,
                        self.now(),
                        format!("part {label}: ship failed: {}", e.code),
                    );
                    self.ledger.save_flushed(job).await?;
                }
                self.carrier_error(conn, job, e).await.map(PartStep::Stop)
            }
        }
    }

    /// UPS refused a part: void the parts already shipped, forget the group and go back to
    /// `address_checked` (the caller dead-letters with UPS's code).
    async fn refuse_group(
        &self,
        job: &mut Job,
        label: &str,
        code: &str,
    ) -> Result<(), PipelineError> {
        let mut kept = Vec::new();
        for p in job.parts.clone() {
            let Some(r) = &p.result else { continue };
            let started = self.now();
            match self.carrier.void(&r.shipment_id).await {
                Ok(()) => {
                    self.audit(job, "ups", "void_part", "ok", started);
                    note(
                        job,
                        self.now(),
                        format!(
                            "part {} voided: {} (part {label} refused)",
                            p.label(),
                            r.shipment_id
                        ),
                    );
                }
                Err(e) => {
                    self.audit(job, "ups", "void_part", &e.code, started);
                    tracing::error!(job = %job.id, shipment = %r.shipment_id, code = %e.code, "could not void a shipped part of a refused split group; void it by hand");
                    kept.push(r.shipment_id.clone());
                }
            }
        }
        let mut why = format!("ship refused (part {label}): {code}");
        if !kept.is_empty() {
            why.push_str(&format!(
                "; still live at UPS, void by hand: {}",
                kept.join(" ")
            ));
        }
        job.parts.clear();
        job.transition(JobState::AddressChecked, why, self.now());
        self.ledger.save_flushed(job).await?;
        Ok(())
    }

    /// Part `i` was found in flight: look it up by its reference before any new Ship.
    async fn reconcile_part(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
        i: usize,
    ) -> Result<PartStep, PipelineError> {
        let part = job.parts[i].clone();
        let label = part.label();
        let started_at = part
            .attempt
            .as_ref()
            .map_or(job.updated_at, |a| a.started_at);
        let from = (started_at - chrono::Duration::days(1)).date_naive();
        let to = (self.now() + chrono::Duration::days(1)).date_naive();
        let started = self.now();
        let found = match self
            .carrier
            .find_by_reference(&part.reference, &part.shipment.account_number, from, to)
            .await
        {
            Ok(f) => {
                self.audit(job, "ups", "track_by_reference", "ok", started);
                f
            }
            Err(e) => {
                self.audit(job, "ups", "track_by_reference", &e.code, started);
                return self.carrier_error(conn, job, e).await.map(PartStep::Stop);
            }
        };
        let per_shipment = part.shipment.packages.len().max(1);
        let live: Vec<_> = found
            .into_iter()
            .filter(|f| !f.voided)
            .flat_map(|f| split_found(f, per_shipment))
            .collect();
        if live.is_empty() {
            return self.part_missed(job, i).await;
        }
        let keep = match self.keep_first_void_rest(job, live, Some(&label)).await {
            Ok(keep) => keep,
            Err(e) => return self.carrier_error(conn, job, e).await.map(PartStep::Stop),
        };
        let shipment = part_shipment(&part);
        let started = self.now();
        match self
            .carrier
            .recover(&keep, &shipment, &shipment.label)
            .await
        {
            Ok(result) => {
                self.audit(job, "ups", "label_recovery", "ok", started);
                self.stats.in_doubt_found.fetch_add(1, Ordering::Relaxed);
                let numbers = tracking_numbers(&result);
                job.parts[i].result = Some(result);
                note(
                    job,
                    self.now(),
                    format!("part {label} reconciled: {numbers}"),
                );
                self.ledger.save_flushed(job).await?;
                Ok(PartStep::Done)
            }
            Err(e) => {
                self.audit(job, "ups", "label_recovery", &e.code, started);
                self.carrier_error(conn, job, e).await.map(PartStep::Stop)
            }
        }
    }

    /// A part's lookup found nothing: look again until `min_lookups` misses spread over
    /// `absent_after` (UPS indexes new labels late), then send the part again.
    async fn part_missed(&self, job: &mut Job, i: usize) -> Result<PartStep, PipelineError> {
        let now = self.now();
        let r = &self.settings.reconcile;
        let label = job.parts[i].label();
        let attempt = job.parts[i].attempt.as_mut().expect("part in flight");
        attempt.misses += 1;
        let first_miss = *attempt.first_miss_at.get_or_insert(now);
        let misses = attempt.misses;
        self.stats.reconcile_misses.fetch_add(1, Ordering::Relaxed);
        if misses < r.min_lookups.max(1) || now - first_miss < r.absent_after {
            job.next_attempt_at = Some(now + r.interval());
            job.updated_at = now;
            note(
                job,
                now,
                format!(
                    "part {label}: not found by reference yet (lookup {misses}); looking again"
                ),
            );
            self.ledger.save_flushed(job).await?;
            return Ok(PartStep::Stop(Step::Wait));
        }
        self.stats.in_doubt_missing.fetch_add(1, Ordering::Relaxed);
        job.parts[i].attempt = None;
        note(
            job,
            now,
            format!("part {label}: UPS has no shipment with its reference after {misses} lookups; shipping it again"),
        );
        self.ledger.save_flushed(job).await?;
        Ok(PartStep::Send)
    }
}

impl PipelineCore {
    /// Void every UPS shipment the job holds: the one shipment, or each part of a split
    /// group not voided yet (flushed after each). `Ok(Err(e))`: UPS did not void one (the
    /// parts voided so far stay recorded; calling again voids the rest). Audited as `op`.
    pub(super) async fn void_shipments(
        &self,
        job: &mut Job,
        op: &str,
    ) -> Result<Result<Vec<String>, CarrierError>, PipelineError> {
        if job.parts.is_empty() {
            let Some(id) = job.result.as_ref().map(|r| r.shipment_id.clone()) else {
                return Ok(Ok(vec![]));
            };
            let started = self.now();
            return Ok(match self.carrier.void(&id).await {
                Ok(()) => {
                    self.audit(job, "ups", op, "ok", started);
                    Ok(vec![id])
                }
                Err(e) => {
                    self.audit(job, "ups", op, &e.code, started);
                    Err(e)
                }
            });
        }
        let mut ids = Vec::new();
        for i in 0..job.parts.len() {
            let Some(id) = job.parts[i].result.as_ref().map(|r| r.shipment_id.clone()) else {
                continue;
            };
            if job.parts[i].voided {
                ids.push(id);
                continue;
            }
            let started = self.now();
            match self.carrier.void(&id).await {
                Ok(()) => {
                    self.audit(job, "ups", op, "ok", started);
                    job.parts[i].voided = true;
                    self.ledger.save_flushed(job).await?;
                    ids.push(id);
                }
                Err(e) => {
                    self.audit(job, "ups", op, &e.code, started);
                    return Ok(Err(e));
                }
            }
        }
        Ok(Ok(ids))
    }
}

/// What to do after settling one part.
enum PartStep {
    /// The part has its result: next part.
    Done,
    /// Nothing at UPS: send the part's Ship.
    Send,
    /// Stop working on the job for now.
    Stop(Step),
}

/// The part's shipment as sent: its own reference stamped besides the ERP number.
fn part_shipment(part: &Part) -> Shipment {
    part.shipment
        .clone()
        .with_reference(crate::model::Reference {
            code: "TN".into(),
            value: part.reference.clone(),
            barcode: false,
        })
}

fn tracking_numbers(r: &ShipResult) -> String {
    r.packages
        .iter()
        .map(|p| p.tracking_number.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A timeline entry without a state change.
fn note(job: &mut Job, at: DateTime<Utc>, note: String) {
    job.updated_at = at;
    job.timeline.push(crate::pipeline::ledger::Transition {
        at,
        from: Some(job.state),
        to: job.state,
        note,
    });
}
