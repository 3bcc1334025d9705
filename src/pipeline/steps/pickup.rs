//! Dispatch in the pipeline (docs/pickups.md): the ship date a job's Ship carries (its
//! site's calendar, on the pipeline's clock), the note of every label in its site's pickup
//! of the day, and the pickup pass that ends each cycle: book the day's on-call pickup
//! once (intent flushed before the call; an in-doubt request reconciled with UPS's pending
//! list before any new one), write its PRN to every ERP record it covers, and cancel it
//! when every shipment it covers has been voided.

use chrono::NaiveDate;

use super::*;
use crate::config::PickupMode;
use crate::dispatch::{Covered, Dispatch, Pickup, PickupState, ShipDateError};
use crate::model::WeightUnit;

impl PipelineCore {
    /// Attach the dispatch calendars and the pickup book (the assembly does, once).
    pub fn set_dispatch(&self, d: Arc<Dispatch>) {
        let _ = self.dispatch.set(d);
    }

    pub fn dispatch(&self) -> Option<&Arc<Dispatch>> {
        self.dispatch.get()
    }

    /// The ship date for a job about to ship: its site's calendar at the pipeline's now,
    /// the ERP's date kept when later. `Ok(None)`: the record's site has no calendar.
    pub(super) fn dispatch_ship_date(
        &self,
        conn: &Connector,
        job: &Job,
    ) -> Result<Option<NaiveDate>, ShipDateError> {
        let Some(d) = self.dispatch.get() else {
            return Ok(None);
        };
        // A return leaves from the customer, not from the site (docs/returns.md): the
        // site's calendar and pickups are not its own.
        if job.kind == crate::model::ShipmentKind::Return {
            return Ok(None);
        }
        let Some(site) = conn
            .mapper
            .site_key(&job.record)
            .and_then(|k| d.calendars.site(&k))
        else {
            return Ok(None);
        };
        let requested = job.shipment.as_ref().and_then(|s| s.ship_date);
        site.ship_date(self.now(), requested).map(Some)
    }

    /// Whether the job's site has a dispatch calendar (its ship date is written back).
    pub(super) fn has_site_calendar(&self, conn: &Connector, job: &Job) -> bool {
        job.kind != crate::model::ShipmentKind::Return
            && self.dispatch.get().is_some_and(|d| {
                conn.mapper
                    .site_key(&job.record)
                    .is_some_and(|k| d.calendars.site(&k).is_some())
            })
    }

    /// Note a shipped job in its site's pickup of its ship date (on-call sites only).
    /// Idempotent: a job is covered once.
    pub(super) async fn note_for_pickup(
        &self,
        conn: &Connector,
        job: &Job,
    ) -> Result<(), PipelineError> {
        let Some(d) = self.dispatch.get() else {
            return Ok(());
        };
        if job.kind == crate::model::ShipmentKind::Return {
            return Ok(());
        }
        let Some(key) = conn.mapper.site_key(&job.record) else {
            return Ok(());
        };
        let Some(site) = d.calendars.site(&key) else {
            return Ok(());
        };
        if site.pickups != PickupMode::OnCall {
            return Ok(());
        }
        let (Some(shipment), Some(result)) = (&job.shipment, &job.result) else {
            return Ok(());
        };
        let Some(date) = shipment.ship_date else {
            return Ok(());
        };
        let _g = d.lock().await;
        let mut p = match d.book().get(&key, date)? {
            Some(p) => p,
            None => Pickup::new(
                &key,
                date,
                &shipment.account_number,
                shipment
                    .ship_from
                    .clone()
                    .unwrap_or_else(|| shipment.shipper.clone()),
                site.cutoff,
            ),
        };
        if p.shipments.iter().any(|c| c.job_id == job.id) {
            return Ok(());
        }
        let now = self.now();
        if matches!(p.state, PickupState::Cancelled) {
            // Every earlier shipment of the day was voided and the pickup cancelled; a new
            // label the same day needs a new pickup.
            p.state = PickupState::Open;
            p.prn = None;
            p.note(
                now,
                "a new label after the cancellation: pickup needed again",
            );
        }
        let weight_lbs: f64 = shipment
            .packages
            .iter()
            .map(|p| {
                let v: f64 = p.weight.value.try_into().unwrap_or(0.0);
                match p.weight.unit {
                    WeightUnit::Kgs => v * 2.204_622_6,
                    WeightUnit::Ozs => v / 16.0,
                    WeightUnit::Lbs => v,
                }
            })
            .sum();
        p.shipments.push(Covered {
            job_id: job.id.clone(),
            connector: conn.name.clone(),
            number: job.number.clone(),
            packages: result.packages.len().max(1) as u32,
            weight_lbs: (weight_lbs * 10.0).round() / 10.0,
            service_code: result.service_code.clone(),
            destination_country: shipment.ship_to.address.country.clone(),
            prn_written: None,
            voided: false,
        });
        p.note(now, format!("covers {}", job.number));
        d.book().save(&p).await?;
        Ok(())
    }

    /// The pickup pass: every pickup of yesterday (UTC) and later moves as far as it can.
    /// Never two passes at once (across connectors).
    pub async fn process_pickups(&self) -> Result<(), PipelineError> {
        let Some(d) = self.dispatch.get().cloned() else {
            return Ok(());
        };
        let _g = d.lock().await;
        let from = self.now().date_naive() - chrono::Duration::days(1);
        for mut p in d.book().since(from)? {
            self.advance_pickup(&d, &mut p).await?;
        }
        Ok(())
    }

    async fn advance_pickup(&self, d: &Dispatch, p: &mut Pickup) -> Result<(), PipelineError> {
        if matches!(p.state, PickupState::Cancelled | PickupState::Failed) {
            return Ok(());
        }
        let now = self.now();
        // Shipments voided since the last pass.
        let mut changed = false;
        for c in p.shipments.iter_mut().filter(|c| !c.voided) {
            if let Some(j) = self.ledger.get_lean(&c.job_id)? {
                if j.state == JobState::Voided {
                    c.voided = true;
                    changed = true;
                }
            }
        }
        if changed {
            p.note(
                now,
                format!(
                    "{} of {} shipments live",
                    p.live().count(),
                    p.shipments.len()
                ),
            );
            d.book().save(p).await?;
        }
        let Some(api) = d.api().cloned() else {
            return Ok(());
        };
        if p.state == PickupState::Requesting {
            // In doubt: the creation call may have reached UPS. Adopt what UPS lists.
            match api.pending(&p.account_number).await {
                Ok(list) => {
                    let found = list.iter().find(|x| {
                        x.reference.as_deref() == Some(p.reference.as_str())
                            && x.service_date.is_none_or(|sd| sd == p.date)
                    });
                    match found {
                        Some(x) => {
                            p.prn = Some(x.prn.clone());
                            p.state = PickupState::Booked;
                            p.note(
                                now,
                                format!("in doubt: found at UPS, PRN {} adopted", x.prn),
                            );
                            tracing::info!(site = %p.site, date = %p.date, prn = %x.prn, "pickup in doubt found pending at UPS: PRN adopted, nothing booked twice");
                        }
                        None => {
                            p.state = PickupState::Open;
                            p.note(now, "in doubt: not pending at UPS; requesting again");
                        }
                    }
                    d.book().save(p).await?;
                }
                Err(e) => {
                    tracing::warn!(site = %p.site, date = %p.date, code = %e.code, "pickup in doubt: pending status unavailable; will look again");
                    return Ok(());
                }
            }
        }
        if !p.shipments.is_empty() && p.live().count() == 0 {
            return self.cancel_voided_pickup(&*api, d, p).await;
        }
        let mode = d
            .calendars
            .site(&p.site)
            .map_or(PickupMode::None, |s| s.pickups);
        if p.state == PickupState::Open && mode == PickupMode::OnCall && p.live().count() > 0 {
            p.state = PickupState::Requesting;
            p.requests += 1;
            p.note(
                now,
                format!(
                    "requesting: {} packages, {:.1} lbs",
                    p.packages(),
                    p.weight_lbs()
                ),
            );
            // Durable before the side effect: a crash from here on is reconciled.
            d.book().save(p).await?;
            match api.create(&p.request()).await {
                Ok(prn) => {
                    p.prn = Some(prn.clone());
                    p.state = PickupState::Booked;
                    p.note(self.now(), format!("booked: PRN {prn}"));
                    tracing::info!(site = %p.site, date = %p.date, prn = %prn, packages = p.packages(), "UPS pickup booked");
                }
                Err(e) if e.class == ErrorClass::Business && !e.outcome_unknown => {
                    p.state = PickupState::Failed;
                    p.note(
                        self.now(),
                        format!("refused by UPS: [{}] {}", e.code, e.message),
                    );
                    tracing::error!(site = %p.site, date = %p.date, code = %e.code, "UPS refused the pickup request");
                }
                Err(e) => {
                    p.note(self.now(), format!("in doubt: {}", e.code));
                    tracing::warn!(site = %p.site, date = %p.date, code = %e.code, "pickup request outcome unknown: reconciled with the pending list before any new request");
                }
            }
            d.book().save(p).await?;
        }
        if p.state == PickupState::Booked {
            self.write_back_prn(d, p).await?;
        }
        Ok(())
    }

    /// Every shipment of the day voided: cancel the booked pickup (nothing to do for one
    /// never booked).
    async fn cancel_voided_pickup(
        &self,
        api: &dyn crate::dispatch::PickupApi,
        d: &Dispatch,
        p: &mut Pickup,
    ) -> Result<(), PipelineError> {
        match (p.state, p.prn.clone()) {
            (PickupState::Booked, Some(prn)) => match api.cancel(&p.account_number, &prn).await {
                Ok(()) => {
                    p.state = PickupState::Cancelled;
                    p.note(
                        self.now(),
                        format!("every shipment voided: PRN {prn} cancelled"),
                    );
                    tracing::info!(site = %p.site, date = %p.date, prn = %prn, "UPS pickup cancelled: every shipment of the day voided");
                    d.book().save(p).await?;
                }
                Err(e) => {
                    tracing::warn!(site = %p.site, prn = %prn, code = %e.code, "pickup cancel failed; will try again");
                }
            },
            (PickupState::Open, _) => {
                p.state = PickupState::Cancelled;
                p.note(
                    self.now(),
                    "every shipment voided before booking: nothing to cancel",
                );
                d.book().save(p).await?;
            }
            _ => {}
        }
        Ok(())
    }

    /// The PRN to every live shipment of the pickup not yet told (retried next pass on
    /// failure).
    async fn write_back_prn(&self, d: &Dispatch, p: &mut Pickup) -> Result<(), PipelineError> {
        let Some(prn) = p.prn.clone() else {
            return Ok(());
        };
        let mut changed = false;
        for c in p.shipments.iter_mut() {
            if c.voided || c.prn_written.as_deref() == Some(prn.as_str()) {
                continue;
            }
            let (Ok(conn), Some(job)) = (
                self.connector(&c.connector),
                self.ledger.get_lean(&c.job_id)?,
            ) else {
                continue;
            };
            let plan = conn
                .mapper
                .write_back_dispatch(&job.record, None, Some(&prn));
            if !plan.fields.is_empty() {
                if let Err(e) = conn.source.write_back(&plan).await {
                    tracing::warn!(job = %c.job_id, code = e.code(), "PRN write-back failed; will try again");
                    continue;
                }
            }
            c.prn_written = Some(prn.clone());
            changed = true;
        }
        if changed {
            d.book().save(p).await?;
        }
        Ok(())
    }

    /// Cancel a pickup by PRN (`upsync pickups cancel`, the console): UPS first, then the
    /// book. Unknown PRN → [`PipelineError::UnknownJob`]-like error naming it.
    pub async fn cancel_pickup(&self, prn: &str) -> Result<Pickup, PipelineError> {
        let d = self.dispatch.get().cloned().ok_or_else(|| {
            PipelineError::UnknownJob(format!(
                "pickup {prn}: no dispatch configured (`dispatch:` in the configuration)"
            ))
        })?;
        let _g = d.lock().await;
        let mut p = d.book().by_prn(prn)?.ok_or_else(|| {
            PipelineError::UnknownJob(format!("pickup {prn} (see `upsync pickups list`)"))
        })?;
        if p.state == PickupState::Cancelled {
            return Ok(p);
        }
        let api = d.api().cloned().ok_or_else(|| {
            PipelineError::UnknownJob(format!("pickup {prn}: no Pickup API configured"))
        })?;
        api.cancel(&p.account_number, prn).await?;
        p.state = PickupState::Cancelled;
        p.note(self.now(), format!("PRN {prn} cancelled by an operator"));
        d.book().save(&p).await?;
        Ok(p)
    }
}
