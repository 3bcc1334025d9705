//! Label Recovery (UPS-REFERENCE §4): by tracking number or by reference, and the
//! response → [`RecoveredLabels`].

use super::ship::{label_from, DEFAULT_HTTP_USER_AGENT};
use super::*;

// ---------------------------------------------------------------- request

/// The Label Recovery body for one tracking number (UPS-REFERENCE §4).
pub fn label_recovery_request(tracking_number: &str, spec: &LabelSpec) -> Value {
    json!({
        "LabelRecoveryRequest": {
            "Request": { "TransactionReference": { "CustomerContext": tracking_number } },
            "LabelSpecification": label_specification(spec, (6, 4), DEFAULT_HTTP_USER_AGENT),
            "TrackingNumber": tracking_number,
        }
    })
}

/// Label Recovery by reference (`ReferenceValues{ReferenceNumber.Value, ShipperNumber}`,
/// Shipping.yaml `LabelRecoveryRequest_ReferenceValues`): UPS answers with the first
/// matching shipment's labels and lists the others as `TrackingCandidate`.
pub fn label_recovery_by_reference_request(
    reference: &str,
    shipper_number: &str,
    spec: &LabelSpec,
) -> Value {
    json!({
        "LabelRecoveryRequest": {
            "Request": { "TransactionReference": { "CustomerContext": reference } },
            "LabelSpecification": label_specification(spec, (6, 4), DEFAULT_HTTP_USER_AGENT),
            "ReferenceValues": {
                "ReferenceNumber": { "Value": reference },
                "ShipperNumber": shipper_number,
            },
        }
    })
}

// ---------------------------------------------------------------- response

/// What Label Recovery answered: the shipment id when given, a label per package, and the
/// tracking candidates when a reference matched several shipments.
#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredLabels {
    pub shipment_id: Option<String>,
    pub packages: Vec<RecoveredPackage>,
    pub candidates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecoveredPackage {
    pub tracking_number: String,
    pub label: Option<Label>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelRecoveryEnvelope {
    #[serde(rename = "LabelRecoveryResponse")]
    response: LabelRecoveryResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelRecoveryResponse {
    #[serde(
        rename = "ShipmentIdentificationNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    shipment_id: String,
    #[serde(rename = "LabelResults", default, deserialize_with = "one_or_many")]
    results: Vec<LabelResult>,
    #[serde(
        rename = "TrackingCandidate",
        default,
        deserialize_with = "one_or_many"
    )]
    candidates: Vec<TrackingCandidate>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelResult {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
    #[serde(rename = "LabelImage")]
    image: Option<LabelImage>,
}

#[derive(Debug, Deserialize)]
pub(super) struct LabelImage {
    #[serde(rename = "LabelImageFormat")]
    format: Option<Code>,
    #[serde(rename = "GraphicImage", default, deserialize_with = "lenient_string")]
    graphic_image: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackingCandidate {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
}

pub fn label_recovery_response(
    v: &Value,
    requested: LabelFormat,
) -> Result<RecoveredLabels, ParseError> {
    let env: LabelRecoveryEnvelope = from_value(v, "LabelRecoveryResponse")?;
    let r = env.response;
    let mut packages = Vec::new();
    for l in &r.results {
        let label = match &l.image {
            Some(i) => label_from(i.format.as_ref(), &i.graphic_image, requested)?,
            None => None,
        };
        packages.push(RecoveredPackage {
            tracking_number: l.tracking_number.clone(),
            label,
        });
    }
    Ok(RecoveredLabels {
        shipment_id: Some(r.shipment_id).filter(|s| !s.is_empty()),
        packages,
        candidates: r
            .candidates
            .into_iter()
            .map(|c| c.tracking_number)
            .collect(),
    })
}
