//! Void (UPS-REFERENCE §3): the response → [`VoidResult`] (the request is a DELETE with
//! the shipment id in the path, built in `client.rs`).

use super::*;

/// What a Void answered.
#[derive(Debug, Clone, PartialEq)]
pub struct VoidResult {
    /// `SummaryResult.Status.Code` (`"1"` voided).
    pub status_code: String,
    pub status_description: String,
    /// Per package (single-package voids): tracking number and whether it is voided.
    pub packages: Vec<(String, bool)>,
    pub alerts: Vec<Alert>,
}

impl VoidResult {
    pub fn voided(&self) -> bool {
        self.status_code.trim() == "1"
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct VoidEnvelope {
    #[serde(rename = "VoidShipmentResponse")]
    response: VoidShipmentResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct VoidShipmentResponse {
    #[serde(rename = "Response")]
    response: Option<ResponseBlock>,
    #[serde(rename = "SummaryResult")]
    summary: Option<VoidSummary>,
    #[serde(
        rename = "PackageLevelResults",
        default,
        deserialize_with = "one_or_many"
    )]
    packages: Vec<VoidPackage>,
}

#[derive(Debug, Deserialize)]
pub(super) struct VoidSummary {
    #[serde(rename = "Status")]
    status: Code,
}

#[derive(Debug, Deserialize)]
pub(super) struct VoidPackage {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
    #[serde(rename = "Status")]
    status: Code,
}

pub fn void_response(v: &Value) -> Result<VoidResult, ParseError> {
    let env: VoidEnvelope = from_value(v, "VoidShipmentResponse")?;
    let r = env.response;
    let (status_code, status_description) = r
        .summary
        .map(|s| (s.status.code, s.status.description))
        .unwrap_or_default();
    Ok(VoidResult {
        status_code,
        status_description,
        packages: r
            .packages
            .into_iter()
            .map(|p| (p.tracking_number, p.status.code.trim() == "1"))
            .collect(),
        alerts: alerts(&r.response),
    })
}
