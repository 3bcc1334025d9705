//! Adapters from the real components to the pipeline's ports:
//!
//! * [`UpsCarrier`]: [`crate::ups::UpsClient`] as a [`Carrier`].
//! * [`VaultTokenStore`]: UPS tokens and daily token counts in the store (token encrypted in
//!   the vault's `tokens` tree, counts in `meta`), so a restart reuses a valid token and the
//!   daily budget survives restarts.
//! * [`MappingAdapter`]: [`crate::mapping::Mapping`] as a [`Mapper`] (added with the engine).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::ports::{Carrier, CarrierError, FoundShipment};
use crate::model::{
    Address, AddressCheck, Charges, LabelSpec, Milestone, PackageResult, RateQuote, ShipResult,
    Shipment,
};
use crate::store::{Store, Tree};
use crate::ups::{StoredToken, TokenStore, TrackOutcome, UpsClient, UpsError};

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
}

impl UpsCarrier {
    pub fn new(client: UpsClient) -> UpsCarrier {
        UpsCarrier { client }
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
        Ok(self.client.ship(shipment).await?)
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

#[async_trait]
impl crate::tracking::TrackingCarrier for UpsCarrier {
    async fn track(
        &self,
        tracking_number: &str,
    ) -> Result<crate::tracking::TrackOutcome, CarrierError> {
        Ok(match self.client.track(tracking_number).await? {
            crate::ups::TrackOutcome::NotYet => crate::tracking::TrackOutcome::NotYet,
            crate::ups::TrackOutcome::Found { snapshot, events } => {
                crate::tracking::TrackOutcome::Found { snapshot, events }
            }
        })
    }

    async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<&crate::tracking::Destination>,
    ) -> Result<crate::tracking::SubscribeOutcome, CarrierError> {
        let dest = destination.map(|d| (d.url.as_str(), d.credential.as_str()));
        let r = self.client.subscribe(numbers, dest).await?;
        Ok(crate::tracking::SubscribeOutcome {
            valid: r.valid,
            invalid: r.invalid,
        })
    }
}

/// UPS tokens (encrypted) and daily token-request counts in the store.
pub struct VaultTokenStore {
    store: Arc<Store>,
}

impl VaultTokenStore {
    pub fn new(store: Arc<Store>) -> VaultTokenStore {
        VaultTokenStore { store }
    }

    fn count_key(credential: &str, day: NaiveDate) -> String {
        format!("ups_token_requests/{credential}/{day}")
    }
}

impl TokenStore for VaultTokenStore {
    fn load(&self, credential: &str) -> Option<StoredToken> {
        let vault = self.store.vault().ok()?;
        match vault.get(Tree::Tokens, &format!("ups/{credential}")) {
            Ok(Some(secret)) => serde_json::from_slice(secret.expose()).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "stored UPS token unreadable; a new one will be requested");
                None
            }
        }
    }

    fn save(&self, credential: &str, token: &StoredToken) {
        let Ok(vault) = self.store.vault() else {
            return;
        };
        let bytes = serde_json::to_vec(token).unwrap_or_default();
        if let Err(e) = vault.put(Tree::Tokens, &format!("ups/{credential}"), &bytes) {
            tracing::warn!(error = %e, "could not persist the UPS token; a restart will request a new one");
        }
        let _ = self.store.flush();
    }

    fn count_token_request(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        let key = Self::count_key(credential, utc_day);
        let tree = self.store.tree(Tree::Meta);
        let new = tree
            .update_and_fetch(key.as_bytes(), |old| {
                let n = old
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .ok()
            .flatten()
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(1);
        // Counted durably before the request goes out: a crash loop cannot overspend the budget.
        let _ = self.store.flush();
        new
    }

    fn token_requests(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        self.store
            .tree(Tree::Meta)
            .get(Self::count_key(credential, utc_day))
            .ok()
            .flatten()
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(0)
    }
}

/// The YAML mapping engine behind the pipeline's [`super::ports::Mapper`] port.
pub struct MappingAdapter {
    mapping: crate::mapping::Mapping,
}

impl MappingAdapter {
    pub fn new(mapping: crate::mapping::Mapping) -> MappingAdapter {
        MappingAdapter { mapping }
    }
}

impl super::ports::Mapper for MappingAdapter {
    fn to_shipment(
        &self,
        record: &crate::model::ErpRecord,
    ) -> Result<Shipment, super::ports::MappingFailure> {
        self.mapping
            .to_shipment(record)
            .map_err(|errs| super::ports::MappingFailure {
                problems: errs
                    .0
                    .iter()
                    .map(|e| (e.code.clone(), e.to_string()))
                    .collect(),
            })
    }

    fn write_back_shipped(
        &self,
        record: &crate::model::ErpRecord,
        result: &ShipResult,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_shipped(record, result)
    }

    fn write_back_failure(
        &self,
        record: &crate::model::ErpRecord,
        code: &str,
        message: &str,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_failure(&record.id, code, message)
    }

    fn write_back_tracking(
        &self,
        record: &crate::model::ErpRecord,
        snapshot: &crate::model::TrackingSnapshot,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_tracking(&record.id, snapshot)
    }

    fn is_cancelled(&self, record: &crate::model::ErpRecord) -> bool {
        self.mapping.is_cancelled(record)
    }

    fn void_on_cancel(&self) -> bool {
        self.mapping.void_on_cancel()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MasterKey;

    #[test]
    fn tokens_and_counts_persist_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let token = StoredToken {
            access_token: "tok-very-secret-123".into(),
            obtained_at: chrono::Utc::now(),
            expires_in_seconds: 14399,
        };
        {
            let store =
                Arc::new(Store::open(dir.path(), Some(MasterKey::from_bytes([3; 32]))).unwrap());
            let ts = VaultTokenStore::new(store.clone());
            assert!(ts.load("client").is_none());
            ts.save("client", &token);
            assert_eq!(ts.count_token_request("client", day), 1);
            assert_eq!(ts.count_token_request("client", day), 2);
            store.flush().unwrap();
        }
        let store =
            Arc::new(Store::open(dir.path(), Some(MasterKey::from_bytes([3; 32]))).unwrap());
        let ts = VaultTokenStore::new(store);
        assert_eq!(ts.load("client"), Some(token));
        assert_eq!(ts.token_requests("client", day), 2);
        assert_eq!(ts.token_requests("other", day), 0);
        drop(ts);
        // The token is not in clear anywhere on disk.
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    assert!(!bytes.windows(19).any(|w| w == b"tok-very-secret-123"));
                }
            }
        }
    }
}
