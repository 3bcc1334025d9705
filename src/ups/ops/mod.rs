//! UPS operations side by side, each request builder beside its response parser (as
//! karrio's providers do): `ship`, `rate` (Rate/Shop), `xav` (address validation), `track`
//! (by number and by reference), `void`, `recover` (Label Recovery), `subscribe` (Track
//! Alert), `quantum` (Quantum View events), `pickup` (on-call pickup create, pending, cancel). Pure: canonical model in, UPS JSON out and back; no HTTP, no clock (the
//! transport and the calls are in `client.rs`). `build.rs` and `parse.rs` re-export the
//! public items under their old paths.
//!
//! This file holds the pieces several operations share: address, party, weight and label
//! blocks for requests; codes, charges, alerts and base64 for responses.

pub mod paperless;
pub mod pickup;
pub mod quantum;
pub mod rate;
pub mod recover;
pub mod ship;
pub mod ship_body;
pub mod subscribe;
pub mod track;
pub mod void;
pub mod xav;

use base64::Engine;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::parse::ParseError;
use std::borrow::Cow;

use super::wire::{
    decimal_str, lenient_cow, lenient_string, money_str, one_or_many, parse_money, parse_ups_date,
    ups_date,
};
use crate::model::{
    Address, AddressCheck, Alert, Charges, DimensionUnit, Label, LabelFormat, LabelSpec, Milestone,
    Money, Package, PackageResult, Party, Payer, RateQuote, Reference, ReferenceLevel,
    ServiceSelection, ShipResult, Shipment, TrackingEvent, TrackingSnapshot, WeightUnit,
};

// ---------------------------------------------------------------- request pieces

/// `Request.SubVersion` (YYMM) for a path version: `v2409` → `2409`. `None` when the path
/// version is not a YYMM release (`v1`), so no SubVersion is sent. UPS gates response
/// shapes by this value (UPS-REFERENCE §2.1, §5, §0.1); a malformed one (`"v2409"`) is
/// refused by a strict UPS.
pub fn sub_version_of(path_version: &str) -> Option<String> {
    let d = path_version.trim().trim_start_matches(['v', 'V']);
    (d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.to_string())
}

fn s(v: impl Into<String>) -> Value {
    Value::String(v.into())
}

/// Insert `key: "value"` when the option holds a non-empty string.
fn put_opt(m: &mut Map<String, Value>, key: &str, v: Option<&String>) {
    if let Some(v) = v {
        if !v.trim().is_empty() {
            m.insert(key.into(), s(v.clone()));
        }
    }
}

/// `Address` block for Ship (`AddressLine[]`, `City`, …). `ship_to` adds the residential and
/// PO-box indicators.
pub fn address(a: &Address, ship_to: bool) -> Value {
    let mut m = Map::new();
    let lines: Vec<Value> = a
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| s(l.clone()))
        .collect();
    m.insert("AddressLine".into(), Value::Array(lines));
    m.insert("City".into(), s(a.city.clone()));
    if !a.state.trim().is_empty() {
        m.insert("StateProvinceCode".into(), s(a.state.clone()));
    }
    if !a.postal_code.trim().is_empty() {
        m.insert("PostalCode".into(), s(a.postal_code.clone()));
    }
    m.insert("CountryCode".into(), s(a.country.to_ascii_uppercase()));
    if ship_to {
        if a.residential == Some(true) {
            m.insert("ResidentialAddressIndicator".into(), s(""));
        }
        if a.po_box {
            m.insert("POBoxIndicator".into(), s(""));
        }
    }
    Value::Object(m)
}

fn phone(p: &Party) -> Option<Value> {
    p.phone
        .as_ref()
        .filter(|n| !n.trim().is_empty())
        .map(|n| json!({ "Number": n }))
}

fn party(p: &Party, ship_to: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Name".into(), s(p.name.clone()));
    put_opt(&mut m, "AttentionName", p.attention.as_ref());
    put_opt(&mut m, "TaxIdentificationNumber", p.tax_id.as_ref());
    if let Some(ph) = phone(p) {
        m.insert("Phone".into(), ph);
    }
    put_opt(&mut m, "EMailAddress", p.email.as_ref());
    m.insert("Address".into(), address(&p.address, ship_to));
    m
}

fn reference(r: &Reference) -> Value {
    let mut m = Map::new();
    if r.barcode {
        m.insert("BarCodeIndicator".into(), s(""));
    }
    m.insert("Code".into(), s(r.code.trim().to_ascii_uppercase()));
    m.insert("Value".into(), s(r.value.clone()));
    Value::Object(m)
}

/// `UnitOfMeasurement` with its `Description`: Rating's schema requires the description
/// (Ship's does not, but UPS's own examples send it).
fn weight_uom(u: WeightUnit) -> Value {
    let d = match u {
        WeightUnit::Lbs => "Pounds",
        WeightUnit::Kgs => "Kilograms",
        WeightUnit::Ozs => "Ounces",
    };
    json!({ "Code": u.ups_code(), "Description": d })
}

fn dimension_uom(u: DimensionUnit) -> Value {
    let d = match u {
        DimensionUnit::In => "Inches",
        DimensionUnit::Cm => "Centimeters",
    };
    json!({ "Code": u.ups_code(), "Description": d })
}

/// Weights to one decimal, rounded up (a package is never declared lighter than it is).
fn weight_up(w: Decimal) -> Decimal {
    w.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::AwayFromZero)
}

fn package_weight(p: &Package) -> Value {
    // UPS weight ≤5 chars (Ship): one decimal is plenty (UPS bills whole pounds, rounded up).
    json!({
        "UnitOfMeasurement": weight_uom(p.weight.unit),
        "Weight": decimal_str(weight_up(p.weight.value)),
    })
}

fn dimensions(p: &Package) -> Option<Value> {
    // Ship dimensions are ≤3 chars: whole units, rounded up (UPS rounds up when billing).
    p.dimensions.as_ref().map(|d| {
        json!({
            "UnitOfMeasurement": dimension_uom(d.unit),
            "Length": decimal_str(d.length.ceil()),
            "Width": decimal_str(d.width.ceil()),
            "Height": decimal_str(d.height.ceil()),
        })
    })
}

fn origin_country(sh: &Shipment) -> String {
    sh.ship_from
        .as_ref()
        .map(|p| p.address.country.as_str())
        .unwrap_or(sh.shipper.address.country.as_str())
        .to_ascii_uppercase()
}

/// `LabelSpecification` for Ship (and, minus `HTTPUserAgent` defaults, Label Recovery).
///
/// `LabelStockSize` is always sent: the official schema marks it required, and thermal
/// formats (ZPL/EPL/SPL) need it; GIF/PNG ignore it.
pub fn label_specification(spec: &LabelSpec, default_stock: (u8, u8), user_agent: &str) -> Value {
    let (h, w) = spec.stock_size.unwrap_or(default_stock);
    let mut m = Map::new();
    m.insert(
        "LabelImageFormat".into(),
        json!({ "Code": spec.format.ups_code() }),
    );
    if matches!(spec.format, LabelFormat::Gif | LabelFormat::Png) {
        m.insert("HTTPUserAgent".into(), s(user_agent));
    }
    m.insert(
        "LabelStockSize".into(),
        json!({ "Height": h.to_string(), "Width": w.to_string() }),
    );
    Value::Object(m)
}

fn request_block(option: &str, sub_version: Option<&String>, context: &str) -> Value {
    let mut m = Map::new();
    m.insert("RequestOption".into(), s(option));
    // Always YYMM on the wire: a `v2409`-style value is normalised, anything else dropped.
    let sub_version = sub_version.and_then(|v| sub_version_of(v));
    put_opt(&mut m, "SubVersion", sub_version.as_ref());
    m.insert(
        "TransactionReference".into(),
        json!({ "CustomerContext": context }),
    );
    Value::Object(m)
}

/// `ShipmentRatingOptions` (negotiated rates) when asked for.
fn rating_options(sh: &Shipment) -> Option<Value> {
    sh.negotiated_rates
        .then(|| json!({ "NegotiatedRatesIndicator": "" }))
}

/// `Shipment.TaxInformationIndicator` (Shipping.yaml and Rating.yaml, a presence flag on
/// the shipment): UPS then returns `TaxCharges` and `TotalChargesWithTaxes` where taxes apply.
fn put_tax_indicator(shipment: &mut Map<String, Value>, sh: &Shipment) {
    if sh.tax_information {
        shipment.insert("TaxInformationIndicator".into(), s(""));
    }
}

/// EU member states (Shipping.yaml's "Qualified Domestic Shipment" rule 4).
const EU: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
];

/// Shipping.yaml `PaymentInformation_ShipmentCharge.Type`: a "Qualified Domestic Shipment"
/// (same country, US↔PR, EU↔EU) takes no duties-and-taxes charge (type `02`).
pub fn qualified_domestic(sh: &Shipment) -> bool {
    let o = origin_country(sh);
    let d = sh.ship_to.address.country.to_ascii_uppercase();
    o == d
        || matches!((o.as_str(), d.as_str()), ("US", "PR") | ("PR", "US"))
        || (EU.contains(&o.as_str()) && EU.contains(&d.as_str()))
}

/// One `ShipmentCharge` payer block (`BillShipper`, `BillReceiver`, `BillThirdParty`).
fn payer_block(payer: &Payer, shipper_account: &str) -> (&'static str, Value) {
    match payer {
        Payer::Shipper => ("BillShipper", json!({ "AccountNumber": shipper_account })),
        Payer::Receiver {
            account,
            postal_code,
            ..
        } => {
            let mut m = Map::new();
            m.insert("AccountNumber".into(), s(account.clone()));
            if !postal_code.trim().is_empty() {
                m.insert("Address".into(), json!({ "PostalCode": postal_code }));
            }
            ("BillReceiver", Value::Object(m))
        }
        Payer::ThirdParty {
            account,
            postal_code,
            country,
        } => {
            let mut addr = Map::new();
            put_opt(&mut addr, "PostalCode", Some(postal_code));
            addr.insert("CountryCode".into(), s(country.to_ascii_uppercase()));
            (
                "BillThirdParty",
                json!({ "AccountNumber": account, "Address": Value::Object(addr) }),
            )
        }
    }
}

/// `{"ShipmentCharge": [...]}` for Ship's `PaymentInformation` and Rate's `PaymentDetails`
/// (UPS-REFERENCE §2.1 "Payment"): type `01` transportation from `billing.transportation`,
/// and type `02` duties and taxes from `billing.duties` unless the shipment is a qualified
/// domestic one (UPS would answer Alert `121524`).
pub fn payment(sh: &Shipment) -> Value {
    let mut charges = Vec::with_capacity(2);
    let (key, block) = payer_block(&sh.billing.transportation, &sh.account_number);
    charges.push(json!({ "Type": "01", key: block }));
    if let Some(duties) = &sh.billing.duties {
        if !qualified_domestic(sh) {
            let (key, block) = payer_block(duties, &sh.account_number);
            charges.push(json!({ "Type": "02", key: block }));
        }
    }
    json!({ "ShipmentCharge": charges })
}

trait OptStrExt {
    fn is_none_or_empty(&self) -> bool;
}

impl OptStrExt for Option<String> {
    fn is_none_or_empty(&self) -> bool {
        self.as_deref().map(|s| s.trim().is_empty()).unwrap_or(true)
    }
}

// ---------------------------------------------------------------- response pieces

pub(in crate::ups) fn perr(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

pub(in crate::ups) fn from_value<T: for<'de> Deserialize<'de>>(
    v: &Value,
    what: &str,
) -> Result<T, ParseError> {
    T::deserialize(v).map_err(|e| perr(format!("{what}: {e}")))
}

/// Read an answer straight from its bytes (no `Value` tree in between).
pub(in crate::ups) fn from_bytes<'a, T: Deserialize<'a>>(
    body: &'a [u8],
    what: &str,
) -> Result<T, ParseError> {
    serde_json::from_slice(body).map_err(|e| perr(format!("{what}: {e}")))
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
    /// Only with `TaxInformationIndicator` (Shipping.yaml `NegotiatedRateCharges`).
    #[serde(rename = "TotalChargesWithTaxes")]
    with_taxes: Option<Charge>,
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

/// Decode a base64 image as UPS sends it; whitespace (line breaks in long images) is
/// skipped, and only copied out when there is some.
fn decode_b64(s: &str) -> Result<Vec<u8>, ParseError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let decoded = if s.bytes().any(|b| b.is_ascii_whitespace() || !b.is_ascii()) {
        let cleaned: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        engine.decode(cleaned.as_bytes())
    } else {
        engine.decode(s.as_bytes())
    };
    decoded.map_err(|e| perr(format!("label image is not valid base64: {e}")))
}

#[derive(Debug, Deserialize)]
pub(in crate::ups) struct RawFault {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(in crate::ups) code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(in crate::ups) message: String,
}

#[cfg(test)]
mod tests {
    use super::ship::description_chunks;
    use super::subscribe::subscription_request;
    use super::xav::xav_request;
    use super::*;

    #[test]
    fn zip_plus_four_is_split_for_xav() {
        let a = Address {
            lines: vec!["26601 Aliso Creek Rd".into()],
            city: "Aliso Viejo".into(),
            state: "CA".into(),
            postal_code: "92656-1521".into(),
            country: "us".into(),
            ..Default::default()
        };
        let v = xav_request(&a);
        let k = &v["XAVRequest"]["AddressKeyFormat"];
        assert_eq!(k["PostcodePrimaryLow"], "92656");
        assert_eq!(k["PostcodeExtendedLow"], "1521");
        assert_eq!(k["CountryCode"], "US");
        assert_eq!(k["AddressLine"][0], "26601 Aliso Creek Rd");
    }

    #[test]
    fn product_descriptions_are_chunked() {
        let long = "a".repeat(80);
        let c = description_chunks(&long);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].as_str().unwrap().len(), 35);
        assert_eq!(c[2].as_str().unwrap().len(), 10);
        let c = description_chunks("Widget A, anodised aluminium housing with mounting kit");
        assert_eq!(c[0], "Widget A, anodised aluminium");
        assert_eq!(c[1], "housing with mounting kit");
        assert_eq!(description_chunks(""), vec![Value::String(String::new())]);
    }

    #[test]
    fn subscription_v1_has_destination_v2_not() {
        let n = vec!["1ZCIETST0111111114".to_string()];
        let v1 = subscription_request(&n, Some(("https://x/ups", "sekret")));
        assert_eq!(v1["destination"]["credentialType"], "Bearer");
        let v2 = subscription_request(&n, None);
        assert!(v2.get("destination").is_none());
        assert_eq!(v2["trackingNumberList"][0], "1ZCIETST0111111114");
    }
}
