//! The pipeline's ports: what it needs from a carrier (UPS) and from a mapping, as traits.
//!
//! The pipeline never calls `crate::ups` or `crate::mapping` directly; adapters in
//! `crate::app::adapters` implement these traits for the real UPS client and mapping engine,
//! and tests implement them with small fakes. A source connector is already a trait
//! ([`crate::sources::Source`]).

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::model::{
    AddressCheck, ErpRecord, FreightOutcome, LabelSpec, RateQuote, ShipResult, Shipment,
    TrackingSnapshot, WriteBack,
};

/// A carrier failure, classified: the one classified failure type of
/// [`crate::model::ClassifiedError`] under the name the ports have always used.
pub use crate::model::ClassifiedError as CarrierError;

/// A shipment the carrier already has, found by reference during reconciliation.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundShipment {
    pub shipment_id: String,
    pub tracking_numbers: Vec<String>,
    pub voided: bool,
}

/// What the pipeline needs from UPS.
#[async_trait]
pub trait Carrier: Send + Sync {
    /// Address validation with residential classification.
    async fn validate_address(
        &self,
        address: &crate::model::Address,
    ) -> Result<AddressCheck, CarrierError>;

    /// All services with prices and transit days (Shop).
    async fn shop(&self, shipment: &Shipment) -> Result<Vec<RateQuote>, CarrierError>;

    /// Create the shipment. Never retried by the carrier itself.
    async fn ship(&self, shipment: &Shipment) -> Result<ShipResult, CarrierError>;

    /// Shipments of account `shipper` carrying `reference`, picked up between `from` and
    /// `to`. Only 1Z numbers of `shipper` are returned (other shippers use the same
    /// reference values). Empty is NOT proof of absence: UPS's reference index lags a fresh
    /// label, so the caller decides when absence is final.
    async fn find_by_reference(
        &self,
        reference: &str,
        shipper: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FoundShipment>, CarrierError>;

    /// Labels of an existing shipment (Label Recovery), as a ShipResult without charges.
    async fn recover(
        &self,
        found: &FoundShipment,
        shipment: &Shipment,
        label: &LabelSpec,
    ) -> Result<ShipResult, CarrierError>;

    /// Void a whole shipment.
    async fn void(&self, shipment_id: &str) -> Result<(), CarrierError>;
}

/// A mapping failure for one record: every problem, each with its stable code.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingFailure {
    /// (code, message naming field, mapping line and fix), first is the primary.
    pub problems: Vec<(String, String)>,
}

impl MappingFailure {
    pub fn code(&self) -> &str {
        self.problems
            .first()
            .map(|(c, _)| c.as_str())
            .unwrap_or("mapping_failed")
    }

    pub fn message(&self) -> String {
        self.problems
            .iter()
            .map(|(c, m)| format!("[{c}] {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What the pipeline needs from a mapping.
pub trait Mapper: Send + Sync {
    fn to_shipment(&self, record: &ErpRecord) -> Result<Shipment, MappingFailure>;
    fn write_back_shipped(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack;
    /// [`Mapper::write_back_shipped`] plus the service used, the quoted business days in
    /// transit and the freight figure, with the freight outcome to keep on the job (`None`
    /// when the mapping has no freight rule).
    fn write_back_shipped_freight(
        &self,
        record: &ErpRecord,
        result: &ShipResult,
        transit_days: Option<u32>,
    ) -> (WriteBack, Option<FreightOutcome>) {
        let _ = transit_days;
        (self.write_back_shipped(record, result), None)
    }
    fn write_back_failure(&self, record: &ErpRecord, code: &str, message: &str) -> WriteBack;
    fn write_back_tracking(&self, record: &ErpRecord, snapshot: &TrackingSnapshot) -> WriteBack;
    fn is_cancelled(&self, record: &ErpRecord) -> bool;
    fn void_on_cancel(&self) -> bool;

    /// The return label that goes with an outbound record (`auto_return:`), or `None`
    /// when the mapping asks for none (docs/returns.md).
    fn auto_return(&self, record: &ErpRecord) -> Option<Result<Shipment, MappingFailure>> {
        let _ = record;
        None
    }
    /// An automatic return's 1Z onto the outbound record (only the mapping's return field).
    fn write_back_auto_return(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack {
        let _ = result;
        WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        }
    }
    /// An automatic return's tracking onto the outbound record (only its return status field).
    fn write_back_auto_return_tracking(
        &self,
        record: &ErpRecord,
        snapshot: &TrackingSnapshot,
    ) -> WriteBack {
        let _ = snapshot;
        WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        }
    }
    /// The ship-from site key the record ships from (the `ship_from` entry used), for the
    /// dispatch calendar and pickups; `None` = no site (the ERP's ship date is used as is).
    fn site_key(&self, record: &ErpRecord) -> Option<String> {
        let _ = record;
        None
    }
    /// The ship date used and/or the pickup PRN, to the fields the mapping names
    /// (`write_back.ship_date`, `write_back.pickup_prn`); empty when it names none.
    fn write_back_dispatch(
        &self,
        record: &ErpRecord,
        ship_date: Option<chrono::NaiveDate>,
        prn: Option<&str>,
    ) -> WriteBack {
        let _ = (ship_date, prn);
        WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        }
    }
    /// A return record's 1Z onto the outbound record it names (`return_service.linked`).
    fn write_back_linked(&self, record: &ErpRecord, result: &ShipResult) -> Option<WriteBack> {
        let _ = (record, result);
        None
    }
}

/// Where labels go once a shipment exists: the trait lives with the sinks.
pub use crate::sinks::LabelSink;
