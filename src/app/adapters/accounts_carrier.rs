//! [`AccountsCarrier`]: the pipeline's [`Carrier`] and the tracker's
//! [`crate::tracking::TrackingCarrier`] over several UPS accounts (issue 19), each call
//! routed to the client of the account it concerns ([`crate::app::accounts::Accounts`]):
//!
//! | call | routed by |
//! |------|-----------|
//! | `shop`, `ship`, `recover` | the shipment's shipper number (`Shipment.account_number`) |
//! | `find_by_reference` | the shipper number asked for |
//! | `void`, `track` | the shipper number inside the 1Z (`1Z` + 6 characters, UPS-REFERENCE §11); the designated account when that number is not configured |
//! | `validate_address`, `subscribe`, `quantum_view` | the designated (first) account |
//!
//! A shipment whose shipper number is not configured (with `ups.accounts`) is refused
//! before any UPS call with the business code `ups_account_unknown`, naming the record, the
//! number and the fix; the job is dead-lettered and waits for `jobs replay` (or a new
//! version of the record) once the account is added.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::UpsCarrier;
use crate::app::accounts::Accounts;
use crate::model::{Address, AddressCheck, LabelSpec, RateQuote, ShipResult, Shipment};
use crate::pipeline::ports::{Carrier, CarrierError, FoundShipment};

/// Routes each UPS call to the client of its account.
pub struct AccountsCarrier {
    accounts: Arc<Accounts>,
    /// One carrier per client, in the order of [`Accounts::clients`].
    carriers: Vec<UpsCarrier>,
}

impl AccountsCarrier {
    pub fn new(accounts: Arc<Accounts>) -> AccountsCarrier {
        let carriers = accounts
            .clients()
            .iter()
            .map(|c| UpsCarrier::new(c.client.clone()))
            .collect();
        AccountsCarrier { accounts, carriers }
    }

    /// Keep paperless DocumentIDs (by content hash, per account) in `ids` (issue 20).
    pub fn with_document_ids(
        mut self,
        ids: Arc<dyn super::paperless::DocumentIds>,
    ) -> AccountsCarrier {
        let docs = Arc::new(super::paperless::PaperlessDocs::new(ids));
        self.carriers = self
            .carriers
            .into_iter()
            .map(|c| c.with_documents(docs.clone()))
            .collect();
        self
    }

    /// The registry this carrier routes by.
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    fn primary(&self) -> &UpsCarrier {
        &self.carriers[self.accounts.accounts()[0].client]
    }

    fn carrier_of(&self, shipper_number: &str) -> Option<&UpsCarrier> {
        match self.accounts.account_for(shipper_number) {
            Some(a) => Some(&self.carriers[a.client]),
            None if !self.accounts.is_strict() => Some(self.primary()),
            None => None,
        }
    }

    /// The carrier of a shipment's account, or `ups_account_unknown` naming the record.
    fn for_shipment(&self, s: &Shipment) -> Result<&UpsCarrier, CarrierError> {
        self.carrier_of(&s.account_number)
            .ok_or_else(|| unknown_account(&s.account_number, Some(s)))
    }

    /// The carrier of the shipper inside a 1Z number, else the designated one.
    fn for_tracking_number(&self, tn: &str) -> &UpsCarrier {
        let tn = tn.trim();
        let shipper = if tn.len() == 18 && tn[..2].eq_ignore_ascii_case("1Z") {
            tn.get(2..8)
        } else {
            None
        };
        shipper
            .and_then(|s| self.accounts.account_for(s))
            .map(|a| &self.carriers[a.client])
            .unwrap_or_else(|| self.primary())
    }
}

/// `ups_account_unknown`: the record, the number and the fix.
fn unknown_account(number: &str, s: Option<&Shipment>) -> CarrierError {
    let record = s
        .map(|s| format!("record {} ({}/{}) ", s.number, s.source, s.record_id))
        .unwrap_or_default();
    CarrierError::business(
        "ups_account_unknown",
        format!(
            "{record}ships as UPS account {number}, which is not in `ups.accounts`, so upsync has no OAuth client for it; add `{{name: …, account_number: \"{number}\", credentials: …}}` to `ups.accounts` (or correct the mapping's ship_from `account`), reload, then replay the job"
        ),
    )
}

#[async_trait]
impl Carrier for AccountsCarrier {
    async fn validate_address(&self, address: &Address) -> Result<AddressCheck, CarrierError> {
        self.primary().validate_address(address).await
    }

    async fn shop(&self, shipment: &Shipment) -> Result<Vec<RateQuote>, CarrierError> {
        self.for_shipment(shipment)?.shop(shipment).await
    }

    async fn ship(&self, shipment: &Shipment) -> Result<ShipResult, CarrierError> {
        self.for_shipment(shipment)?.ship(shipment).await
    }

    async fn find_by_reference(
        &self,
        reference: &str,
        shipper: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FoundShipment>, CarrierError> {
        self.carrier_of(shipper)
            .ok_or_else(|| unknown_account(shipper, None))?
            .find_by_reference(reference, shipper, from, to)
            .await
    }

    async fn recover(
        &self,
        found: &FoundShipment,
        shipment: &Shipment,
        label: &LabelSpec,
    ) -> Result<ShipResult, CarrierError> {
        self.for_shipment(shipment)?
            .recover(found, shipment, label)
            .await
    }

    async fn void(&self, shipment_id: &str) -> Result<(), CarrierError> {
        self.for_tracking_number(shipment_id)
            .void(shipment_id)
            .await
    }
}

#[async_trait]
impl crate::tracking::TrackingCarrier for AccountsCarrier {
    async fn track(
        &self,
        tracking_number: &str,
    ) -> Result<crate::tracking::TrackOutcome, CarrierError> {
        crate::tracking::TrackingCarrier::track(
            self.for_tracking_number(tracking_number),
            tracking_number,
        )
        .await
    }

    async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<&crate::tracking::Destination>,
    ) -> Result<crate::tracking::SubscribeOutcome, CarrierError> {
        self.primary().subscribe(numbers, destination).await
    }

    async fn quantum_view(
        &self,
        request: crate::model::QvRequest,
    ) -> Result<crate::model::QvPage, CarrierError> {
        self.primary().quantum_view(request).await
    }
}
