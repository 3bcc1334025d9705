//! Step *prepare*: before Ship, address validation and service choice (cheapest within
//! days, through Rate) for a mapped shipment.

use super::*;

impl PipelineCore {
    /// Address validation with classification, then service selection.
    pub(super) async fn step_prepare(
        &self,
        conn: &Arc<Connector>,
        job: &mut Job,
    ) -> Result<Step, PipelineError> {
        let mut shipment = job.shipment.clone().expect("mapped job has a shipment");
        if conn.settings.validate_address {
            let started = self.now();
            match self
                .carrier
                .validate_address(&shipment.ship_to.address)
                .await
            {
                Ok(check) => {
                    self.audit(job, "ups", "xav", "ok", started);
                    match check {
                        AddressCheck::Valid { residential, .. } => {
                            if residential.is_some() {
                                shipment.ship_to.address.residential = residential;
                            }
                        }
                        AddressCheck::NotCovered => {}
                        AddressCheck::Ambiguous { candidates } => {
                            let list = candidates
                                .iter()
                                .map(|a| {
                                    format!(
                                        "{}, {} {} {}",
                                        a.lines.join(" "),
                                        a.city,
                                        a.state,
                                        a.postal_code
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join(" | ");
                            let msg = format!("UPS address validation found the ship-to address ambiguous; candidates: {list}. Correct the ship-to address on the record");
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "address_ambiguous",
                                &msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                        AddressCheck::NoCandidates => {
                            let msg = "UPS address validation found no address matching the ship-to address (street, city, state, postal code). Correct it on the record";
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "address_invalid",
                                msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                    }
                }
                Err(e) => {
                    self.audit(job, "ups", "xav", &e.code, started);
                    return self.carrier_error(conn, job, e).await;
                }
            }
        }
        if let ServiceSelection::CheapestWithin {
            max_business_days,
            allowed,
            fallback,
        } = shipment.service.clone()
        {
            let started = self.now();
            match self.carrier.shop(&shipment).await {
                Ok(quotes) => {
                    self.audit(job, "ups", "shop", "ok", started);
                    let best = quotes
                        .iter()
                        .filter(|q| allowed.is_empty() || allowed.contains(&q.service_code))
                        .filter(|q| q.business_days.is_some_and(|d| d <= max_business_days))
                        .filter_map(|q| q.charges.effective().map(|m| (m.amount, q)))
                        .min_by(|a, b| a.0.cmp(&b.0))
                        .map(|(_, q)| q.service_code.clone());
                    match best.or(fallback) {
                        Some(code) => {
                            job.quoted_days = quotes
                                .iter()
                                .find(|q| q.service_code == code)
                                .and_then(|q| q.business_days);
                            shipment.service = ServiceSelection::Fixed { code };
                        }
                        None => {
                            let msg = format!("no UPS service arrives within {max_business_days} business days for this lane; allow more days or set a fallback service in the mapping");
                            self.dead_letter(
                                conn,
                                job,
                                ErrorClass::Business,
                                "no_service_within_days",
                                &msg,
                            )
                            .await?;
                            return Ok(Step::Wait);
                        }
                    }
                }
                Err(e) => {
                    self.audit(job, "ups", "shop", &e.code, started);
                    return self.carrier_error(conn, job, e).await;
                }
            }
        }
        job.shipment = Some(shipment);
        job.transition(JobState::AddressChecked, "", self.now());
        // Saved with `shipping` (flushed, before Ship), or by `process_job` when the job
        // stops here.
        Ok(Step::Continue)
    }
}
