//! [`MappingAdapter`]: the YAML mapping engine ([`crate::mapping::Mapping`]) as the
//! pipeline's [`Mapper`] port.

use crate::mapping::fixtures::RequestBuilder;
use crate::model::{ShipResult, Shipment};
use crate::pipeline::ports::{Mapper, MappingFailure};

/// The YAML mapping engine behind the pipeline's [`Mapper`] port.
pub struct MappingAdapter {
    mapping: crate::mapping::Mapping,
}

impl MappingAdapter {
    pub fn new(mapping: crate::mapping::Mapping) -> MappingAdapter {
        MappingAdapter { mapping }
    }
}

impl Mapper for MappingAdapter {
    fn auto_return(
        &self,
        record: &crate::model::ErpRecord,
    ) -> Option<Result<Shipment, MappingFailure>> {
        self.mapping
            .auto_return_shipment(record)
            .map(|r| r.map_err(failure))
    }

    fn write_back_auto_return(
        &self,
        record: &crate::model::ErpRecord,
        result: &ShipResult,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_auto_return(record, result)
    }

    fn write_back_auto_return_tracking(
        &self,
        record: &crate::model::ErpRecord,
        snapshot: &crate::model::TrackingSnapshot,
    ) -> crate::model::WriteBack {
        self.mapping
            .write_back_auto_return_tracking(record, snapshot)
    }

    fn write_back_linked(
        &self,
        record: &crate::model::ErpRecord,
        result: &ShipResult,
    ) -> Option<crate::model::WriteBack> {
        self.mapping.write_back_linked(record, result)
    }

    fn to_shipment(&self, record: &crate::model::ErpRecord) -> Result<Shipment, MappingFailure> {
        self.mapping.to_shipment(record).map_err(failure)
    }

    fn write_back_shipped(
        &self,
        record: &crate::model::ErpRecord,
        result: &ShipResult,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_shipped(record, result)
    }

    fn write_back_shipped_freight(
        &self,
        record: &crate::model::ErpRecord,
        result: &ShipResult,
        transit_days: Option<u32>,
    ) -> (
        crate::model::WriteBack,
        Option<crate::model::FreightOutcome>,
    ) {
        self.mapping
            .write_back_shipped_with(record, result, transit_days)
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
        self.mapping.write_back_tracking(record, snapshot)
    }

    fn is_cancelled(&self, record: &crate::model::ErpRecord) -> bool {
        self.mapping.is_cancelled(record)
    }

    fn void_on_cancel(&self) -> bool {
        self.mapping.void_on_cancel()
    }

    fn site_key(&self, record: &crate::model::ErpRecord) -> Option<String> {
        self.mapping.site_key(record)
    }

    fn write_back_dispatch(
        &self,
        record: &crate::model::ErpRecord,
        ship_date: Option<chrono::NaiveDate>,
        prn: Option<&str>,
    ) -> crate::model::WriteBack {
        self.mapping.write_back_dispatch(&record.id, ship_date, prn)
    }
}

/// The UPS Ship request builder that mapping fixtures and `upsync mapping test` compare
/// against ([`crate::ups::build::ship_request`] with default settings): the mapping engine
/// takes it as a parameter so that `mapping/` never imports the UPS client.
pub fn ups_request_builder() -> Option<RequestBuilder<'static>> {
    Some(&ship_request_default)
}

fn ship_request_default(s: &Shipment) -> serde_json::Value {
    crate::ups::build::ship_request(s, &Default::default())
}

fn failure(errs: crate::mapping::RecordErrors) -> MappingFailure {
    MappingFailure {
        problems: errs
            .0
            .iter()
            .map(|e| (e.code.clone(), e.to_string()))
            .collect(),
    }
}
