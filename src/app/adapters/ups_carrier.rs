//! [`UpsCarrier`]: the UPS client ([`crate::ups::UpsClient`]) as the pipeline's
//! [`Carrier`] port, and the classification of a [`UpsError`] into the one classified
//! failure type ([`CarrierError`]).

use chrono::NaiveDate;

use async_trait::async_trait;

use crate::model::{
    Address, AddressCheck, Charges, LabelSpec, Milestone, PackageResult, RateQuote, ShipResult,
    Shipment,
};
use crate::pipeline::ports::{Carrier, CarrierError, FoundShipment};
use crate::ups::{TrackOutcome, UpsClient, UpsError};

impl From<UpsError> for CarrierError {
    fn from(e: UpsError) -> Self {
        CarrierError {
            class: e.class(),
            code: e.code().to_string(),
            message: e.to_string(),
            outcome_unknown: e.is_outcome_unknown(),
        }
    }
}

/// Whether a 1Z number belongs to `shipper`'s account: `1Z` + the 6-character shipper
/// number (UPS-REFERENCE §11). Reference searches also list other shippers' parcels that
/// carry the same reference values; those are never ours to keep or void.
pub fn is_shippers(tracking_number: &str, shipper: &str) -> bool {
    let shipper = shipper.trim().to_ascii_uppercase();
    if shipper.len() != 6 {
        // Not a 6-character account (a test double's): nothing to compare against.
        return true;
    }
    let tn = tracking_number.to_ascii_uppercase();
    tn.len() == 18 && tn.starts_with("1Z") && tn[2..8] == shipper
}

/// The UPS client behind the pipeline's [`Carrier`] port.
#[derive(Clone)]
pub struct UpsCarrier {
    client: UpsClient,
    /// Paperless documents (hash → DocumentID map, upload lock), shared by clones.
    documents: std::sync::Arc<super::paperless::PaperlessDocs>,
}

impl UpsCarrier {
    pub fn new(client: UpsClient) -> UpsCarrier {
        UpsCarrier {
            client,
            documents: Default::default(),
        }
    }

    /// Keep paperless DocumentIDs in `documents` (the store, in the daemon).
    pub fn with_documents(
        mut self,
        documents: std::sync::Arc<super::paperless::PaperlessDocs>,
    ) -> UpsCarrier {
        self.documents = documents;
        self
    }

    pub fn client(&self) -> &UpsClient {
        &self.client
    }
}

#[async_trait]
impl Carrier for UpsCarrier {
    async fn validate_address(&self, address: &Address) -> Result<AddressCheck, CarrierError> {
        Ok(self.client.validate_address(address).await?)
    }

    async fn shop(&self, shipment: &Shipment) -> Result<Vec<RateQuote>, CarrierError> {
        Ok(self.client.shop(shipment).await?)
    }

    async fn ship(&self, shipment: &Shipment) -> Result<ShipResult, CarrierError> {
        // International documents: paperless uploads and invoice, where the mapping asks.
        super::paperless::ship(&self.client, &self.documents, shipment).await
    }

    async fn find_by_reference(
        &self,
        reference: &str,
        shipper: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FoundShipment>, CarrierError> {
        let ours = |tn: &str| is_shippers(tn, shipper);
        let matches = self
            .client
            .track_by_reference(reference, Some(shipper), from, to)
            .await?;
        let mut found = Vec::new();
        for m in matches {
            let numbers: Vec<String> = m
                .tracking_numbers
                .into_iter()
                .filter(|tn| ours(tn))
                .collect();
            if numbers.is_empty() {
                continue;
            }
            if numbers.len() == 1 {
                found.push(FoundShipment {
                    shipment_id: numbers[0].clone(),
                    voided: m.milestone == Some(Milestone::Voided),
                    tracking_numbers: numbers,
                });
                continue;
            }
            // Every package carrying the reference comes under one match — a shipment voided
            // by `jobs void` next to its re-ship, too — with a status for the first package
            // only. Ask each package's status so live and voided packages are kept apart
            // (recovering a voided package's label fails, and a voided first package would
            // hide a live shipment).
            let mut live = Vec::new();
            let mut voided = Vec::new();
            for tn in &numbers {
                let is_voided = match self.client.track(tn).await? {
                    TrackOutcome::Found { snapshot, .. } => snapshot.milestone == Milestone::Voided,
                    TrackOutcome::NotYet => false,
                };
                if is_voided {
                    voided.push(tn.clone());
                } else {
                    live.push(tn.clone());
                }
            }
            for (numbers, is_voided) in [(live, false), (voided, true)] {
                if let Some(first) = numbers.first() {
                    found.push(FoundShipment {
                        shipment_id: first.clone(),
                        voided: is_voided,
                        tracking_numbers: numbers,
                    });
                }
            }
        }
        if !found.is_empty() {
            return Ok(found);
        }
        // Track by reference found nothing; Label Recovery by reference searches by
        // (reference, shipper number) too and lists the other matches as candidates
        // (Shipping.yaml `ReferenceValues`, `TrackingCandidate`). Only live shipments are
        // returned by it.
        let gif = LabelSpec {
            format: crate::model::LabelFormat::Gif,
            stock_size: None,
        };
        let Some(rec) = self
            .client
            .recover_label_by_reference(reference, shipper, &gif)
            .await?
        else {
            return Ok(found);
        };
        let numbers: Vec<String> = rec
            .packages
            .iter()
            .map(|p| p.tracking_number.clone())
            .filter(|tn| ours(tn))
            .collect();
        let first_id = rec
            .shipment_id
            .clone()
            .filter(|id| ours(id))
            .or_else(|| numbers.first().cloned());
        if let Some(id) = &first_id {
            found.push(FoundShipment {
                shipment_id: id.clone(),
                tracking_numbers: if numbers.is_empty() {
                    vec![id.clone()]
                } else {
                    numbers
                },
                voided: false,
            });
        }
        for c in rec.candidates.iter().filter(|c| ours(c)) {
            if Some(c) == first_id.as_ref() || found.iter().any(|f| f.tracking_numbers.contains(c))
            {
                continue;
            }
            // A candidate is named by its shipment id: its packages come with its labels.
            let other = self.client.recover_label(c, &gif).await?;
            let numbers: Vec<String> = other
                .packages
                .iter()
                .map(|p| p.tracking_number.clone())
                .filter(|tn| ours(tn))
                .collect();
            found.push(FoundShipment {
                shipment_id: other.shipment_id.unwrap_or_else(|| c.clone()),
                tracking_numbers: if numbers.is_empty() {
                    vec![c.clone()]
                } else {
                    numbers
                },
                voided: false,
            });
        }
        Ok(found)
    }

    async fn recover(
        &self,
        found: &FoundShipment,
        shipment: &Shipment,
        label: &LabelSpec,
    ) -> Result<ShipResult, CarrierError> {
        let mut labels = std::collections::HashMap::new();
        for tn in &found.tracking_numbers {
            if labels.contains_key(tn) {
                continue;
            }
            let rec = self.client.recover_label(tn, label).await?;
            for p in rec.packages {
                labels.insert(p.tracking_number.clone(), p.label);
            }
        }
        // UPS numbers packages in request order: pair them with the ERP lines in order.
        let packages = found
            .tracking_numbers
            .iter()
            .enumerate()
            .map(|(i, tn)| PackageResult {
                tracking_number: tn.clone(),
                erp_line_id: shipment
                    .packages
                    .get(i)
                    .map(|p| p.erp_line_id.clone())
                    .unwrap_or_default(),
                label: labels.get(tn).cloned().flatten(),
            })
            .collect();
        let service_code = match &shipment.service {
            crate::model::ServiceSelection::Fixed { code } => code.clone(),
            crate::model::ServiceSelection::CheapestWithin { fallback, .. } => {
                fallback.clone().unwrap_or_default()
            }
        };
        Ok(ShipResult {
            shipment_id: found.shipment_id.clone(),
            service_code,
            packages,
            // Label Recovery does not return charges.
            charges: Charges::default(),
            alerts: vec![],
            documents: vec![],
            paperless: None,
        })
    }

    async fn void(&self, shipment_id: &str) -> Result<(), CarrierError> {
        let r = self.client.void(shipment_id, None).await?;
        if r.voided() {
            Ok(())
        } else {
            Err(CarrierError::business(
                "ups_void_refused",
                format!(
                    "UPS did not void {shipment_id}: {} {}",
                    r.status_code, r.status_description
                ),
            ))
        }
    }
}
