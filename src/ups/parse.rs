//! Pure response parsers: UPS JSON in, canonical model out. No HTTP, no clock.
//!
//! Implements the response shapes of UPS-REFERENCE §2.4 (Ship), §3 (Void), §4 (Label
//! Recovery), §5 (Rating), §6 (Track), §7 (XAV), §8 (Track Alert) and the error envelope
//! of §0.2. Every list is read one-or-many ([`one_or_many`]) because UPS sends a bare
//! object for single items in legacy versions and sometimes in current ones; money is a
//! [`Decimal`] parsed from the string (never a float); `TotalCharge` is singular under
//! `NegotiatedRateCharges`; `TW0001` on a 200 is "not trackable yet", never an error.
//!
//! Never log what is parsed here: label and signature bytes, addresses.

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::error::{field_in_message, UpsFault};
use super::wire::{lenient_string, one_or_many, parse_money, parse_ups_date};
use crate::model::{
    Address, AddressCheck, Alert, Charges, Label, LabelFormat, Milestone, Money, PackageResult,
    RateQuote, ShipResult, Shipment, TrackingEvent, TrackingSnapshot,
};

/// A response this client cannot read (shape, base64, count mismatch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn perr(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

fn from_value<T: for<'de> Deserialize<'de>>(v: &Value, what: &str) -> Result<T, ParseError> {
    T::deserialize(v).map_err(|e| perr(format!("{what}: {e}")))
}

// ---------------------------------------------------------------- common pieces

#[derive(Debug, Default, Deserialize)]
struct Code {
    #[serde(rename = "Code", default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(rename = "Description", default, deserialize_with = "lenient_string")]
    description: String,
}

#[derive(Debug, Default, Deserialize)]
struct Charge {
    #[serde(rename = "CurrencyCode", default, deserialize_with = "lenient_string")]
    currency: String,
    #[serde(rename = "MonetaryValue", default, deserialize_with = "lenient_string")]
    value: String,
}

impl Charge {
    fn money(&self) -> Option<Money> {
        parse_money(&self.value).map(|amount| Money {
            amount,
            currency: self.currency.clone(),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct NegotiatedRateCharges {
    #[serde(rename = "TotalCharge")]
    total_charge: Option<Charge>,
    /// Tolerated misspelling seen in some clients' fixtures; UPS documents `TotalCharge`.
    #[serde(rename = "TotalCharges")]
    total_charges: Option<Charge>,
}

impl NegotiatedRateCharges {
    fn money(&self) -> Option<Money> {
        self.total_charge
            .as_ref()
            .or(self.total_charges.as_ref())
            .and_then(Charge::money)
    }
}

#[derive(Debug, Default, Deserialize)]
struct ResponseBlock {
    #[serde(rename = "Alert", default, deserialize_with = "one_or_many")]
    alerts: Vec<Code>,
}

fn alerts(r: &Option<ResponseBlock>) -> Vec<Alert> {
    r.as_ref()
        .map(|r| {
            r.alerts
                .iter()
                .map(|a| Alert {
                    code: a.code.clone(),
                    description: a.description.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decode_b64(s: &str) -> Result<Vec<u8>, ParseError> {
    let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|e| perr(format!("label image is not valid base64: {e}")))
}

// ---------------------------------------------------------------- errors

#[derive(Debug, Deserialize)]
struct RawFault {
    #[serde(default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    message: String,
}

/// Read UPS's error envelope: `{"response":{"errors":[…]}}`, the bare `{"errors":[…]}`
/// (TimeInTransit) and QuantumView's `Response.Error[]`. Empty when there is none.
pub fn faults(v: &Value) -> Vec<UpsFault> {
    let list = v
        .pointer("/response/errors")
        .or_else(|| v.get("errors"))
        .or_else(|| v.pointer("/Response/Error"));
    let Some(list) = list else {
        return Vec::new();
    };
    let raw: Vec<Value> = match list {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    raw.iter()
        .map(|f| {
            let rf: RawFault = serde_json::from_value(f.clone()).unwrap_or(RawFault {
                code: f
                    .get("ErrorCode")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                message: f
                    .get("ErrorDescription")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
            });
            let (code, message) = if rf.code.is_empty() && rf.message.is_empty() {
                (
                    f.get("ErrorCode")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    f.get("ErrorDescription")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            } else {
                (rf.code, rf.message)
            };
            let field = f
                .get("field")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| field_in_message(&message));
            UpsFault {
                code,
                message,
                field,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- ship

#[derive(Debug, Deserialize)]
struct ShipEnvelope {
    #[serde(rename = "ShipmentResponse")]
    response: ShipmentResponse,
}

#[derive(Debug, Deserialize)]
struct ShipmentResponse {
    #[serde(rename = "Response")]
    response: Option<ResponseBlock>,
    #[serde(rename = "ShipmentResults")]
    results: ShipmentResults,
}

#[derive(Debug, Deserialize)]
struct ShipmentResults {
    #[serde(
        rename = "ShipmentIdentificationNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    shipment_id: String,
    #[serde(rename = "ShipmentCharges")]
    charges: Option<ShipmentCharges>,
    #[serde(rename = "NegotiatedRateCharges")]
    negotiated: Option<NegotiatedRateCharges>,
    #[serde(rename = "PackageResults", default, deserialize_with = "one_or_many")]
    packages: Vec<ShipPackageResult>,
}

#[derive(Debug, Deserialize)]
struct ShipmentCharges {
    #[serde(rename = "TotalCharges")]
    total: Option<Charge>,
}

#[derive(Debug, Deserialize)]
struct ShipPackageResult {
    #[serde(
        rename = "TrackingNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    tracking_number: String,
    #[serde(rename = "ShippingLabel")]
    label: Option<ShippingLabel>,
}

#[derive(Debug, Deserialize)]
struct ShippingLabel {
    #[serde(rename = "ImageFormat")]
    format: Option<Code>,
    #[serde(rename = "GraphicImage", default, deserialize_with = "lenient_string")]
    graphic_image: String,
}

fn label_from(
    format: Option<&Code>,
    image: &str,
    requested: LabelFormat,
) -> Result<Option<Label>, ParseError> {
    if image.trim().is_empty() {
        return Ok(None);
    }
    let format = format
        .and_then(|c| LabelFormat::parse(&c.code))
        .unwrap_or(requested);
    Ok(Some(Label {
        format,
        data: decode_b64(image)?,
    }))
}

/// Parse a Ship 200 into a [`ShipResult`]. `PackageResults` are matched to
/// `shipment.packages[i].erp_line_id` by order (UPS answers in request order); a count
/// mismatch is an error (the caller must treat the Ship as created-but-unreadable).
pub fn ship_response(
    v: &Value,
    shipment: &Shipment,
    service_code: &str,
) -> Result<ShipResult, ParseError> {
    let env: ShipEnvelope = from_value(v, "ShipmentResponse")?;
    let r = env.response.results;
    if r.packages.len() != shipment.packages.len() {
        return Err(perr(format!(
            "UPS returned {} package results for {} packages",
            r.packages.len(),
            shipment.packages.len()
        )));
    }
    let mut packages = Vec::with_capacity(r.packages.len());
    for (p, sent) in r.packages.iter().zip(&shipment.packages) {
        if p.tracking_number.is_empty() {
            return Err(perr("a package result has no TrackingNumber"));
        }
        let label = match &p.label {
            Some(l) => label_from(l.format.as_ref(), &l.graphic_image, shipment.label.format)?,
            None => None,
        };
        packages.push(PackageResult {
            tracking_number: p.tracking_number.clone(),
            erp_line_id: sent.erp_line_id.clone(),
            label,
        });
    }
    let shipment_id = if r.shipment_id.is_empty() {
        packages[0].tracking_number.clone()
    } else {
        r.shipment_id
    };
    Ok(ShipResult {
        shipment_id,
        service_code: service_code.to_string(),
        packages,
        charges: Charges {
            total: r.charges.and_then(|c| c.total).and_then(|c| c.money()),
            negotiated: r.negotiated.and_then(|n| n.money()),
        },
        alerts: alerts(&env.response.response),
    })
}

// ---------------------------------------------------------------- rate

#[derive(Debug, Deserialize)]
struct RateEnvelope {
    #[serde(rename = "RateResponse")]
    response: RateResponse,
}

#[derive(Debug, Deserialize)]
struct RateResponse {
    #[serde(rename = "RatedShipment", default, deserialize_with = "one_or_many")]
    rated: Vec<RatedShipment>,
}

#[derive(Debug, Deserialize)]
struct RatedShipment {
    #[serde(rename = "Service")]
    service: Code,
    #[serde(rename = "TotalCharges")]
    total: Option<Charge>,
    #[serde(rename = "NegotiatedRateCharges")]
    negotiated: Option<NegotiatedRateCharges>,
    #[serde(rename = "GuaranteedDelivery")]
    guaranteed: Option<GuaranteedDelivery>,
    #[serde(rename = "TimeInTransit")]
    time_in_transit: Option<TimeInTransit>,
}

#[derive(Debug, Deserialize)]
struct GuaranteedDelivery {
    #[serde(
        rename = "BusinessDaysInTransit",
        default,
        deserialize_with = "lenient_string"
    )]
    business_days: String,
}

#[derive(Debug, Deserialize)]
struct TimeInTransit {
    #[serde(rename = "ServiceSummary", default, deserialize_with = "one_or_many")]
    summary: Vec<ServiceSummary>,
}

#[derive(Debug, Deserialize)]
struct ServiceSummary {
    #[serde(rename = "GuaranteedIndicator")]
    guaranteed: Option<Value>,
    #[serde(rename = "EstimatedArrival")]
    arrival: Option<EstimatedArrival>,
}

#[derive(Debug, Deserialize)]
struct EstimatedArrival {
    #[serde(
        rename = "BusinessDaysInTransit",
        default,
        deserialize_with = "lenient_string"
    )]
    business_days: String,
}

/// Parse a Rate/Shop 200 into one quote per `RatedShipment`.
pub fn rate_response(v: &Value) -> Result<Vec<RateQuote>, ParseError> {
    let env: RateEnvelope = from_value(v, "RateResponse")?;
    Ok(env
        .response
        .rated
        .into_iter()
        .map(|r| {
            let summary = r.time_in_transit.as_ref().and_then(|t| t.summary.first());
            let tit_days = summary
                .and_then(|s| s.arrival.as_ref())
                .and_then(|a| a.business_days.trim().parse::<u32>().ok());
            let gd_days = r
                .guaranteed
                .as_ref()
                .and_then(|g| g.business_days.trim().parse::<u32>().ok());
            RateQuote {
                service_code: r.service.code.clone(),
                charges: Charges {
                    total: r.total.as_ref().and_then(Charge::money),
                    negotiated: r.negotiated.as_ref().and_then(NegotiatedRateCharges::money),
                },
                business_days: tit_days.or(gd_days),
                guaranteed: r.guaranteed.is_some()
                    || summary.map(|s| s.guaranteed.is_some()).unwrap_or(false),
            }
        })
        .collect())
}

// ---------------------------------------------------------------- XAV

#[derive(Debug, Deserialize)]
struct XavEnvelope {
    #[serde(rename = "XAVResponse")]
    response: XavResponse,
}

#[derive(Debug, Deserialize)]
struct XavResponse {
    #[serde(rename = "ValidAddressIndicator")]
    valid: Option<Value>,
    #[serde(rename = "AmbiguousAddressIndicator")]
    ambiguous: Option<Value>,
    #[serde(rename = "NoCandidatesIndicator")]
    none: Option<Value>,
    #[serde(rename = "AddressClassification")]
    classification: Option<Code>,
    #[serde(rename = "Candidate", default, deserialize_with = "one_or_many")]
    candidates: Vec<XavCandidate>,
}

#[derive(Debug, Deserialize)]
struct XavCandidate {
    #[serde(rename = "AddressClassification")]
    classification: Option<Code>,
    #[serde(rename = "AddressKeyFormat")]
    key: XavKey,
}

#[derive(Debug, Deserialize)]
struct XavKey {
    #[serde(rename = "AddressLine", default, deserialize_with = "one_or_many")]
    lines: Vec<String>,
    #[serde(
        rename = "PoliticalDivision2",
        default,
        deserialize_with = "lenient_string"
    )]
    city: String,
    #[serde(
        rename = "PoliticalDivision1",
        default,
        deserialize_with = "lenient_string"
    )]
    state: String,
    #[serde(
        rename = "PostcodePrimaryLow",
        default,
        deserialize_with = "lenient_string"
    )]
    postal: String,
    #[serde(
        rename = "PostcodeExtendedLow",
        default,
        deserialize_with = "lenient_string"
    )]
    postal_ext: String,
    #[serde(rename = "CountryCode", default, deserialize_with = "lenient_string")]
    country: String,
}

fn residential(c: Option<&Code>) -> Option<bool> {
    match c.map(|c| c.code.trim()) {
        Some("2") => Some(true),
        Some("1") => Some(false),
        _ => None,
    }
}

fn candidate_address(c: &XavCandidate) -> Address {
    let k = &c.key;
    let postal_code = if k.postal_ext.trim().is_empty() {
        k.postal.clone()
    } else {
        format!("{}-{}", k.postal, k.postal_ext)
    };
    Address {
        lines: k.lines.clone(),
        city: k.city.clone(),
        state: k.state.clone(),
        postal_code,
        country: k.country.clone(),
        residential: residential(c.classification.as_ref()),
        po_box: false,
    }
}

/// Parse an XAV (request option 3) 200.
pub fn xav_response(v: &Value) -> Result<AddressCheck, ParseError> {
    let env: XavEnvelope = from_value(v, "XAVResponse")?;
    let r = env.response;
    let candidates: Vec<Address> = r.candidates.iter().map(candidate_address).collect();
    if r.valid.is_some() {
        let candidate = candidates.into_iter().next();
        let residential = residential(r.classification.as_ref())
            .or_else(|| candidate.as_ref().and_then(|c| c.residential));
        return Ok(AddressCheck::Valid {
            residential,
            candidate,
        });
    }
    if r.ambiguous.is_some() {
        return Ok(AddressCheck::Ambiguous { candidates });
    }
    if r.none.is_some() || candidates.is_empty() {
        return Ok(AddressCheck::NoCandidates);
    }
    Ok(AddressCheck::Ambiguous { candidates })
}

// ---------------------------------------------------------------- void

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
struct VoidEnvelope {
    #[serde(rename = "VoidShipmentResponse")]
    response: VoidShipmentResponse,
}

#[derive(Debug, Deserialize)]
struct VoidShipmentResponse {
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
struct VoidSummary {
    #[serde(rename = "Status")]
    status: Code,
}

#[derive(Debug, Deserialize)]
struct VoidPackage {
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

// ---------------------------------------------------------------- label recovery

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
struct LabelRecoveryEnvelope {
    #[serde(rename = "LabelRecoveryResponse")]
    response: LabelRecoveryResponse,
}

#[derive(Debug, Deserialize)]
struct LabelRecoveryResponse {
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
struct LabelResult {
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
struct LabelImage {
    #[serde(rename = "LabelImageFormat")]
    format: Option<Code>,
    #[serde(rename = "GraphicImage", default, deserialize_with = "lenient_string")]
    graphic_image: String,
}

#[derive(Debug, Deserialize)]
struct TrackingCandidate {
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

// ---------------------------------------------------------------- track

pub use crate::model::TrackOutcome;

/// One shipment found by Track by reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceMatch {
    /// The inquiry number UPS reported (the reference itself, or a 1Z, depending on UPS).
    pub inquiry_number: String,
    /// Every package tracking number listed for the shipment.
    pub tracking_numbers: Vec<String>,
    /// Reference numbers UPS echoed for those packages.
    pub references: Vec<String>,
    /// Latest milestone of the first package, when UPS gave a status.
    pub milestone: Option<Milestone>,
}

#[derive(Debug, Deserialize)]
struct TrackEnvelope {
    #[serde(rename = "trackResponse")]
    response: TrackResponse,
}

#[derive(Debug, Deserialize)]
struct TrackResponse {
    #[serde(default, deserialize_with = "one_or_many")]
    shipment: Vec<TrackShipment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackShipment {
    #[serde(default, deserialize_with = "lenient_string")]
    inquiry_number: String,
    #[serde(default, deserialize_with = "one_or_many")]
    package: Vec<TrackPackage>,
    #[serde(default, deserialize_with = "one_or_many")]
    warnings: Vec<RawFault>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackPackage {
    #[serde(default, deserialize_with = "lenient_string")]
    tracking_number: String,
    #[serde(default, deserialize_with = "one_or_many")]
    delivery_date: Vec<TrackDeliveryDate>,
    #[serde(default, deserialize_with = "one_or_many")]
    activity: Vec<TrackActivity>,
    current_status: Option<TrackStatus>,
    delivery_information: Option<DeliveryInformation>,
    #[serde(default, deserialize_with = "one_or_many")]
    reference_number: Vec<TrackReference>,
}

#[derive(Debug, Deserialize)]
struct TrackDeliveryDate {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: String,
    #[serde(default, deserialize_with = "lenient_string")]
    date: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackActivity {
    location: Option<TrackLocation>,
    status: Option<TrackStatus>,
    #[serde(default, deserialize_with = "lenient_string")]
    date: String,
    #[serde(default, deserialize_with = "lenient_string")]
    time: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_date: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_time: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_offset: String,
}

#[derive(Debug, Deserialize)]
struct TrackLocation {
    address: Option<TrackAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrackAddress {
    #[serde(default, deserialize_with = "lenient_string")]
    city: String,
    #[serde(default, deserialize_with = "lenient_string")]
    state_province: String,
    #[serde(default, deserialize_with = "lenient_string")]
    country: String,
    #[serde(default, deserialize_with = "lenient_string")]
    country_code: String,
}

#[derive(Debug, Clone, Deserialize)]
struct TrackStatus {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: String,
    #[serde(default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryInformation {
    #[serde(default, deserialize_with = "lenient_string")]
    received_by: String,
    signature: Option<Signature>,
}

#[derive(Debug, Deserialize)]
struct Signature {
    #[serde(default, deserialize_with = "lenient_string")]
    image: String,
}

#[derive(Debug, Deserialize)]
struct TrackReference {
    #[serde(default, deserialize_with = "lenient_string")]
    number: String,
}

/// UPS `YYYYMMDD` + `HHMMSS` as UTC; with a local date/time, subtract `±HH:MM` (or `±HH.MM`).
pub fn track_time(
    gmt_date: &str,
    gmt_time: &str,
    date: &str,
    time: &str,
    offset: &str,
) -> Option<DateTime<Utc>> {
    let parse_t = |t: &str| {
        let t = t.trim();
        let t = if t.len() == 4 {
            format!("{t}00")
        } else {
            t.to_string()
        };
        NaiveTime::parse_from_str(&t, "%H%M%S").ok()
    };
    if let (Some(d), Some(t)) = (parse_ups_date(gmt_date), parse_t(gmt_time)) {
        return Some(Utc.from_utc_datetime(&NaiveDateTime::new(d, t)));
    }
    let (d, t) = (parse_ups_date(date)?, parse_t(time).unwrap_or_default());
    let local = NaiveDateTime::new(d, t);
    let off = offset.trim().replace('.', ":");
    let secs = if off.len() >= 6 {
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let h: i64 = off[1..3].parse().ok()?;
        let m: i64 = off[4..6].parse().ok()?;
        sign * (h * 3600 + m * 60)
    } else {
        0
    };
    Some(Utc.from_utc_datetime(&(local - chrono::Duration::seconds(secs))))
}

fn location(l: &Option<TrackLocation>) -> Option<String> {
    let a = l.as_ref()?.address.as_ref()?;
    let country = if a.country_code.is_empty() {
        &a.country
    } else {
        &a.country_code
    };
    let parts: Vec<&str> = [a.city.as_str(), a.state_province.as_str(), country.as_str()]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

fn package_events(number: &str, p: &TrackPackage) -> Vec<TrackingEvent> {
    let mut events: Vec<TrackingEvent> = p
        .activity
        .iter()
        .filter_map(|a| {
            let st = a.status.as_ref()?;
            let time = track_time(&a.gmt_date, &a.gmt_time, &a.date, &a.time, &a.gmt_offset)?;
            Some(TrackingEvent {
                tracking_number: number.to_string(),
                milestone: Milestone::from_ups(&st.kind, &st.code),
                status_type: st.kind.clone(),
                status_code: st.code.clone(),
                description: st.description.clone(),
                time,
                location: location(&a.location),
            })
        })
        .collect();
    events.sort_by_key(|e| e.time);
    events
}

fn snapshot(number: &str, p: &TrackPackage, events: &[TrackingEvent]) -> TrackingSnapshot {
    let latest = events.last().cloned();
    let delivered_by_date = p.delivery_date.iter().any(|d| d.kind == "DEL");
    let milestone = match (&p.current_status, &latest) {
        (Some(s), _) if !s.kind.is_empty() || !s.code.is_empty() => {
            Milestone::from_ups(&s.kind, &s.code)
        }
        (_, Some(e)) => e.milestone,
        _ if delivered_by_date => Milestone::Delivered,
        _ => Milestone::LabelCreated,
    };
    let milestone = if delivered_by_date && !milestone.is_terminal() {
        Milestone::Delivered
    } else {
        milestone
    };
    let estimated_delivery = p
        .delivery_date
        .iter()
        .find(|d| d.kind == "RDD")
        .or_else(|| p.delivery_date.iter().find(|d| d.kind == "SDD"))
        .and_then(|d| parse_ups_date(&d.date));
    let delivered_at = if milestone == Milestone::Delivered {
        events
            .iter()
            .rev()
            .find(|e| e.milestone == Milestone::Delivered)
            .map(|e| e.time)
    } else {
        None
    };
    let info = p.delivery_information.as_ref();
    let received_by = info
        .map(|i| i.received_by.trim().to_string())
        .filter(|s| !s.is_empty());
    let signature = info
        .and_then(|i| i.signature.as_ref())
        .map(|s| s.image.as_str())
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| decode_b64(s).ok());
    TrackingSnapshot {
        tracking_number: number.to_string(),
        milestone,
        latest,
        estimated_delivery,
        delivered_at,
        received_by,
        signature,
    }
}

fn not_found(s: &TrackShipment) -> bool {
    s.package.is_empty() || s.warnings.iter().any(|w| w.code == "TW0001")
}

/// Parse a Track-by-number 200. `TW0001` (or no package) → [`TrackOutcome::NotYet`].
pub fn track_response(v: &Value, number: &str) -> Result<TrackOutcome, ParseError> {
    let env: TrackEnvelope = from_value(v, "trackResponse")?;
    let Some(sh) = env.response.shipment.first() else {
        return Ok(TrackOutcome::NotYet);
    };
    if not_found(sh) {
        return Ok(TrackOutcome::NotYet);
    }
    let p = sh
        .package
        .iter()
        .find(|p| p.tracking_number.eq_ignore_ascii_case(number))
        .unwrap_or(&sh.package[0]);
    let tn = if p.tracking_number.is_empty() {
        number.to_string()
    } else {
        p.tracking_number.clone()
    };
    let events = package_events(&tn, p);
    let snapshot = snapshot(&tn, p, &events);
    Ok(TrackOutcome::Found { snapshot, events })
}

/// Parse a Track-by-reference 200: every shipment found, with its tracking numbers.
/// `TW0001` → empty.
pub fn track_reference_response(v: &Value) -> Result<Vec<ReferenceMatch>, ParseError> {
    let env: TrackEnvelope = from_value(v, "trackResponse")?;
    Ok(env
        .response
        .shipment
        .iter()
        .filter(|s| !not_found(s))
        .map(|s| {
            let tracking_numbers: Vec<String> = s
                .package
                .iter()
                .map(|p| p.tracking_number.clone())
                .filter(|t| !t.is_empty())
                .collect();
            let mut references: Vec<String> = Vec::new();
            for p in &s.package {
                for r in &p.reference_number {
                    if !r.number.is_empty() && !references.contains(&r.number) {
                        references.push(r.number.clone());
                    }
                }
            }
            let milestone = s.package.first().map(|p| {
                let tn = p.tracking_number.clone();
                snapshot(&tn, p, &package_events(&tn, p)).milestone
            });
            ReferenceMatch {
                inquiry_number: if s.inquiry_number.is_empty() {
                    tracking_numbers.first().cloned().unwrap_or_default()
                } else {
                    s.inquiry_number.clone()
                },
                tracking_numbers,
                references,
                milestone,
            }
        })
        .collect())
}

// ---------------------------------------------------------------- track alert

/// Track Alert subscription answer: numbers UPS accepted and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeResult {
    pub valid: Vec<String>,
    pub invalid: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionBody {
    #[serde(default, deserialize_with = "one_or_many")]
    valid_tracking_numbers: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    invalid_tracking_numbers: Vec<String>,
}

/// Parse a subscription 200 (or the `invalidTrackingNumbers` of a 400).
pub fn subscription_response(v: &Value) -> Result<SubscribeResult, ParseError> {
    let b: SubscriptionBody = from_value(v, "subscription response")?;
    Ok(SubscribeResult {
        valid: b.valid_tracking_numbers,
        invalid: b.invalid_tracking_numbers,
    })
}

// ---------------------------------------------------------------- token

/// A parsed OAuth token answer (all strings on the wire).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenAnswer {
    pub access_token: String,
    pub expires_in_seconds: u64,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenAnswer(<redacted>, {} s)", self.expires_in_seconds)
    }
}

#[derive(Deserialize)]
struct RawToken {
    #[serde(default, deserialize_with = "lenient_string")]
    access_token: String,
    #[serde(default, deserialize_with = "lenient_string")]
    expires_in: String,
}

/// Parse the OAuth 200. `expires_in` is required (a lifetime is never assumed).
pub fn token_response(v: &Value) -> Result<TokenAnswer, ParseError> {
    let t: RawToken = from_value(v, "token response")?;
    if t.access_token.is_empty() {
        return Err(perr("token response has no access_token"));
    }
    let expires_in_seconds = t
        .expires_in
        .trim()
        .parse::<u64>()
        .map_err(|_| perr("token response has no numeric expires_in"))?;
    if expires_in_seconds == 0 {
        return Err(perr("token response has expires_in 0"));
    }
    Ok(TokenAnswer {
        access_token: t.access_token,
        expires_in_seconds,
    })
}

/// Today's date helper for callers that only need a `NaiveDate` from a UTC time.
pub fn utc_day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_time_prefers_gmt_and_handles_offsets() {
        let t = track_time("20240423", "135004", "20240423", "095004", "-04:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-04-23T13:50:04+00:00");
        let t = track_time("", "", "20240423", "095004", "-04.00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-04-23T13:50:04+00:00");
    }

    #[test]
    fn faults_read_the_envelopes() {
        let v: Value = serde_json::json!({"response":{"errors":[{"code":"120100","message":"Missing or invalid shipper number: Shipment.Shipper.ShipperNumber"}]}});
        let f = faults(&v);
        assert_eq!(f[0].code, "120100");
        assert_eq!(
            f[0].field.as_deref(),
            Some("Shipment.Shipper.ShipperNumber")
        );
        let v: Value = serde_json::json!({"response":{"errors":{"code":"10429","message":"Too Many Requests"}}});
        assert_eq!(faults(&v)[0].code, "10429");
        let v: Value = serde_json::json!({"errors":[{"code":"E1","message":"m"}]});
        assert_eq!(faults(&v)[0].code, "E1");
        assert!(faults(&serde_json::json!({"ok":1})).is_empty());
    }

    #[test]
    fn token_needs_expires_in() {
        let v = serde_json::json!({"access_token":"abc","expires_in":"14399"});
        assert_eq!(token_response(&v).unwrap().expires_in_seconds, 14399);
        let v = serde_json::json!({"access_token":"abc","expires_in":3600});
        assert_eq!(token_response(&v).unwrap().expires_in_seconds, 3600);
        assert!(token_response(&serde_json::json!({"access_token":"abc"})).is_err());
        let dbg = format!(
            "{:?}",
            token_response(&serde_json::json!({"access_token":"s3cr3t","expires_in":"5"})).unwrap()
        );
        assert!(!dbg.contains("s3cr3t"));
    }
}
