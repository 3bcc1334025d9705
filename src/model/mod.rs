//! Canonical data model: the shapes every layer of upsync agrees on.
//!
//! You are at the bottom of the dependency graph. Nothing here does I/O and nothing here
//! knows the wire format of UPS, Acumatica or NetSuite:
//!
//! ```text
//! ErpRecord (sources) ──mapping──▶ Shipment ──ups──▶ ShipResult ──mapping──▶ WriteBack (sources)
//!                                                      │
//!                                           TrackingEvent / TrackingSnapshot (tracking)
//! ```
//!
//! * [`ErpRecord`] is what a source connector hands over: the record decoded to plain JSON
//!   (Acumatica's `{"value": …}` wrapping already removed by its codec).
//! * [`Shipment`] is what the mapping engine produces and the UPS client consumes.
//! * [`ShipResult`] is what the UPS client returns from Ship (and Label Recovery).
//! * [`WriteBack`] is a plan of ERP field updates produced by the mapping engine and
//!   applied by the source connector.
//! * [`ErrorClass`] is the four-way classification that decides what the pipeline does
//!   with a failure (see `docs/design.md`, "Error classes"). Every stable error code is
//!   registered in [`codes`] (the table of `docs/error-codes.md`); [`ClassifiedError`]
//!   carries a class with a stable code.
//! * [`Clock`] is the one wall clock; [`TrackOutcome`] is what one Track call found;
//!   [`QvRequest`]/[`QvPage`] are one Quantum View call and its answer.
//!
//! Rules: money is [`rust_decimal::Decimal`], never a float. Additive changes only; a field
//! that a layer does not need is `Option`/empty rather than a second type.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub mod billing;
pub mod clock;
pub mod codes;
pub mod documents;
pub mod failure;
pub mod freight;
pub mod milestone;
pub mod pickup;
pub mod quantum;
pub mod split;
pub mod track;
pub use billing::{Billing, Payer};
pub use clock::Clock;
pub use documents::{Paperless, PaperlessDocument, PaperlessMode, PaperlessOutcome, ShipDocument};
pub use failure::ClassifiedError;
pub use freight::{FreightOutcome, FreightRule, RateBasis, Rounding};
pub use milestone::Milestone;
pub use pickup::{PendingPickup, PickupPiece, PickupRequest};
pub use quantum::{QvEvent, QvFile, QvPage, QvRecord, QvRequest};
pub use track::TrackOutcome;

/// What the pipeline does with a failure. Every error type in upsync can say which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Retry later with backoff and jitter (429, 5xx, timeouts, connection resets).
    Transient,
    /// Credentials rejected: refresh once, then pause the connector and alert.
    Auth,
    /// Configuration is wrong (endpoint version, missing mapping): pause, alert, `check` explains.
    Config,
    /// The record itself cannot be shipped as it is: dead-letter with a stable code.
    Business,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Transient => "transient",
            ErrorClass::Auth => "auth",
            ErrorClass::Config => "config",
            ErrorClass::Business => "business",
        }
    }
}

/// A record read from an ERP, decoded to plain JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErpRecord {
    /// Connector name from config (e.g. `acumatica-main`).
    pub source: String,
    /// Stable ERP identity used for write-back (Acumatica entity `id` GUID, NetSuite internal id).
    pub id: String,
    /// Human document number (Acumatica `ShipmentNbr`, NetSuite `tranid`); stamped as UPS reference.
    pub number: String,
    /// Version of the record: changes whenever the record changes (last-modified timestamp).
    pub version: String,
    /// Last modification time as the ERP reports it, in UTC.
    pub modified: DateTime<Utc>,
    /// The record, decoded: plain JSON values, custom fields under `custom.<View>.<Field>`.
    pub data: serde_json::Value,
}

/// A postal address plus the contact at it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// 1 to 3 lines.
    pub lines: Vec<String>,
    pub city: String,
    /// State/province code (US/CA/PR two letters); empty where the country has none.
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// `Some(true)` residential, `Some(false)` commercial, `None` unknown (address validation decides).
    #[serde(default)]
    pub residential: Option<bool>,
    #[serde(default)]
    pub po_box: bool,
}

/// A party to the shipment (shipper, ship-from, ship-to).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// Company or person name (UPS: ≤35).
    pub name: String,
    #[serde(default)]
    pub attention: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Tax id where international forms need it.
    #[serde(default)]
    pub tax_id: Option<String>,
    pub address: Address,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WeightUnit {
    Lbs,
    Kgs,
    Ozs,
}

impl WeightUnit {
    pub fn ups_code(self) -> &'static str {
        match self {
            WeightUnit::Lbs => "LBS",
            WeightUnit::Kgs => "KGS",
            WeightUnit::Ozs => "OZS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DimensionUnit {
    In,
    Cm,
}

impl DimensionUnit {
    pub fn ups_code(self) -> &'static str {
        match self {
            DimensionUnit::In => "IN",
            DimensionUnit::Cm => "CM",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    pub value: Decimal,
    pub unit: WeightUnit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dimensions {
    pub length: Decimal,
    pub width: Decimal,
    pub height: Decimal,
    pub unit: DimensionUnit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    /// ISO 4217.
    pub currency: String,
}

/// A UPS reference number (`Code` from UPS's list, e.g. `PO`, `IK`, `TN`; `Value` ≤35).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    pub code: String,
    pub value: String,
    #[serde(default)]
    pub barcode: bool,
}

/// Where UPS accepts reference numbers for a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferenceLevel {
    /// `Package[].ReferenceNumber[]`: only US→US and PR→PR.
    Package,
    /// `Shipment.ReferenceNumber[]`: every other lane.
    Shipment,
}

/// UPS's rule: package-level references for US→US and PR→PR, shipment-level otherwise.
pub fn reference_level(origin_country: &str, destination_country: &str) -> ReferenceLevel {
    let o = origin_country.to_ascii_uppercase();
    let d = destination_country.to_ascii_uppercase();
    if (o == "US" && d == "US") || (o == "PR" && d == "PR") {
        ReferenceLevel::Package
    } else {
        ReferenceLevel::Shipment
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// ERP identity of the package line (Acumatica package `id`, NetSuite line index/key) so
    /// write-back puts each 1Z on the right line.
    pub erp_line_id: String,
    pub weight: Weight,
    #[serde(default)]
    pub dimensions: Option<Dimensions>,
    /// UPS packaging code (`02` customer supplied, …).
    pub packaging: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub declared_value: Option<Money>,
}

/// How the UPS service is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ServiceSelection {
    /// A fixed UPS service code (`03` Ground, …).
    Fixed { code: String },
    /// The cheapest Shop result among `allowed` (empty = any) that arrives within `max_business_days`.
    CheapestWithin {
        max_business_days: u32,
        #[serde(default)]
        allowed: Vec<String>,
        /// Used when Shop returns nothing suitable.
        #[serde(default)]
        fallback: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LabelFormat {
    Gif,
    Png,
    Zpl,
    Epl,
    Spl,
}

impl LabelFormat {
    pub fn ups_code(self) -> &'static str {
        match self {
            LabelFormat::Gif => "GIF",
            LabelFormat::Png => "PNG",
            LabelFormat::Zpl => "ZPL",
            LabelFormat::Epl => "EPL",
            LabelFormat::Spl => "SPL",
        }
    }
    /// File extension for a stored label.
    pub fn extension(self) -> &'static str {
        match self {
            LabelFormat::Gif => "gif",
            LabelFormat::Png => "png",
            LabelFormat::Zpl => "zpl",
            LabelFormat::Epl => "epl",
            LabelFormat::Spl => "spl",
        }
    }
    /// Thermal formats need `LabelStockSize`.
    pub fn is_thermal(self) -> bool {
        matches!(self, LabelFormat::Zpl | LabelFormat::Epl | LabelFormat::Spl)
    }
    pub fn parse(s: &str) -> Option<LabelFormat> {
        match s.to_ascii_uppercase().as_str() {
            "GIF" => Some(LabelFormat::Gif),
            "PNG" => Some(LabelFormat::Png),
            "ZPL" => Some(LabelFormat::Zpl),
            "EPL" => Some(LabelFormat::Epl),
            "SPL" => Some(LabelFormat::Spl),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelSpec {
    pub format: LabelFormat,
    /// `(height, width)` in inches, e.g. `(6, 4)`; required for thermal formats.
    #[serde(default)]
    pub stock_size: Option<(u8, u8)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub email: String,
    /// UPS notification code (`6` ship, `7` exception, `8` delivery).
    pub code: String,
}

/// A customs line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    pub description: String,
    #[serde(default)]
    pub hs_code: Option<String>,
    pub origin_country: String,
    pub quantity: Decimal,
    #[serde(default = "default_uom")]
    pub unit_of_measure: String,
    pub unit_value: Decimal,
    #[serde(default)]
    pub part_number: Option<String>,
}

fn default_uom() -> String {
    "PCS".to_string()
}

/// International (customs) data: present when the shipment crosses a border.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct International {
    /// Form types to request (`01` invoice, …).
    pub form_types: Vec<String>,
    #[serde(default)]
    pub invoice_number: Option<String>,
    #[serde(default)]
    pub invoice_date: Option<NaiveDate>,
    pub currency: String,
    pub reason_for_export: String,
    #[serde(default)]
    pub terms_of_shipment: Option<String>,
    pub products: Vec<Product>,
    /// Customs lines one UPS shipment's invoice may carry (the mapping's
    /// `international.max_lines`, at most [`split::SPEC_MAX_PRODUCTS`]).
    #[serde(default = "split::default_max_lines")]
    pub max_lines: usize,
    /// The mapping says `over_limit: split`: more lines than `max_lines` go to UPS as
    /// several shipments of one ERP record ([`split::plan`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub split: bool,
    /// The mapping's `international.paperless:` (issue 20), when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paperless: Option<Paperless>,
}

/// The canonical shipment: everything needed to ask UPS for a label, nothing ERP-specific.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shipment {
    /// Connector name and ERP identity, for logs and errors.
    pub source: String,
    pub record_id: String,
    /// ERP document number; always stamped as a UPS reference.
    pub number: String,
    /// UPS account (shipper number, 6 alphanumeric) billed and used for negotiated rates.
    pub account_number: String,
    pub shipper: Party,
    /// When the pickup address differs from the shipper's.
    #[serde(default)]
    pub ship_from: Option<Party>,
    pub ship_to: Party,
    pub service: ServiceSelection,
    /// 1..=200 packages.
    pub packages: Vec<Package>,
    /// References in priority order; placed per lane by [`reference_level`].
    pub references: Vec<Reference>,
    #[serde(default)]
    pub description: Option<String>,
    pub label: LabelSpec,
    #[serde(default)]
    pub notifications: Vec<Notification>,
    #[serde(default)]
    pub international: Option<International>,
    #[serde(default)]
    pub ship_date: Option<NaiveDate>,
    /// Ask for negotiated rates (`NegotiatedRatesIndicator`).
    #[serde(default = "yes")]
    pub negotiated_rates: bool,
    /// Who pays transportation and duties (`PaymentInformation.ShipmentCharge[]`).
    #[serde(default, skip_serializing_if = "Billing::is_default")]
    pub billing: Billing,
    /// Ask UPS for taxes on the charges (`ShipmentRatingOptions.TaxInformationIndicator`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tax_information: bool,
    /// A return shipment (`Shipment.ReturnService`): set by a return mapping or an
    /// outbound mapping's `auto_return`. The parties are then already in UPS's return
    /// order: `ship_from` the customer, `ship_to` the warehouse, `shipper` the account
    /// holder (docs/returns.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_service: Option<ReturnService>,
}

/// `Shipment.ReturnService` (Shipping.yaml `Shipment_ReturnService`) and, for an
/// electronic return label, where UPS e-mails it (`ShipmentServiceOptions.LabelDelivery`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnService {
    /// `2` print and mail, `3` 1 attempt, `5` 3 attempts, `8` electronic return label,
    /// `9` print return label.
    pub code: String,
    /// `LabelDelivery.EMail.EMailAddress`: required with code 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_email: Option<String>,
}

/// The return service codes upsync sends (Shipping.yaml `Shipment_ReturnService.Code`).
pub const RETURN_SERVICE_CODES: &[(&str, &str)] = &[
    ("2", "UPS Print and Mail"),
    ("3", "UPS Return Service 1-Attempt"),
    ("5", "UPS Return Service 3-Attempt"),
    ("8", "UPS Electronic Return Label"),
    ("9", "UPS Print Return Label"),
];

/// Outbound shipment or return: what a job ships (`Job::kind`, the demo's `kind` column).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShipmentKind {
    #[default]
    Outbound,
    Return,
}

impl ShipmentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentKind::Outbound => "outbound",
            ShipmentKind::Return => "return",
        }
    }
}

fn yes() -> bool {
    true
}

impl Shipment {
    /// Outbound or return.
    pub fn kind(&self) -> ShipmentKind {
        if self.return_service.is_some() {
            ShipmentKind::Return
        } else {
            ShipmentKind::Outbound
        }
    }

    /// Lane-dependent reference placement for this shipment.
    pub fn reference_level(&self) -> ReferenceLevel {
        let origin = self
            .ship_from
            .as_ref()
            .map(|p| p.address.country.as_str())
            .unwrap_or(self.shipper.address.country.as_str());
        reference_level(origin, &self.ship_to.address.country)
    }

    /// References UPS takes at this shipment's level: 5 per package (US→US, PR→PR) or 2 on
    /// the shipment (UPS-REFERENCE §2.1 "ReferenceNumber").
    pub fn reference_capacity(&self) -> usize {
        match self.reference_level() {
            ReferenceLevel::Package => 5,
            ReferenceLevel::Shipment => 2,
        }
    }

    /// This shipment with `r` among its references, within the lane's capacity: appended
    /// when there is room, else it takes the last place (the first, the ERP number, always
    /// stays). Used to stamp the job's own reference on every Ship of it.
    pub fn with_reference(mut self, r: Reference) -> Shipment {
        if self.references.iter().any(|x| x.value == r.value) {
            return self;
        }
        let cap = self.reference_capacity();
        if self.references.len() < cap {
            self.references.push(r);
        } else {
            self.references.truncate(cap);
            if cap > 1 {
                self.references[cap - 1] = r;
            } else {
                self.references.push(r);
            }
        }
        self
    }
}

/// A label image as UPS returned it (bytes decoded from base64; ZPL/EPL are text bytes).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub format: LabelFormat,
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Label {
    // Label bytes never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Label({:?}, {} bytes)", self.format, self.data.len())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageResult {
    pub tracking_number: String,
    /// The `erp_line_id` of the package this result belongs to (UPS answers in request order).
    pub erp_line_id: String,
    pub label: Option<Label>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Charges {
    /// Published total.
    pub total: Option<Money>,
    /// Negotiated total, when the account is eligible.
    pub negotiated: Option<Money>,
    /// Published total with taxes (`ShipmentCharges.TotalChargesWithTaxes`), when UPS
    /// returned it (only with `TaxInformationIndicator`, and only when taxes apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_with_taxes: Option<Money>,
    /// Negotiated total with taxes (`NegotiatedRateCharges.TotalChargesWithTaxes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated_with_taxes: Option<Money>,
}

impl Charges {
    /// What the shipper actually pays: negotiated when present, else published.
    pub fn effective(&self) -> Option<&Money> {
        self.negotiated.as_ref().or(self.total.as_ref())
    }
}

/// A UPS warning on a successful answer (`Response.Alert[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub code: String,
    pub description: String,
}

/// The result of a Ship (or of a Label Recovery used to reconcile an in-doubt Ship).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipResult {
    /// `ShipmentIdentificationNumber` (= first package's 1Z).
    pub shipment_id: String,
    pub service_code: String,
    pub packages: Vec<PackageResult>,
    pub charges: Charges,
    #[serde(default)]
    pub alerts: Vec<Alert>,
    /// Forms UPS returned (`ShipmentResults.Form`: the commercial invoice PDF).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<ShipDocument>,
    /// The paperless side (electronic invoice, uploaded documents, fallbacks to paper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paperless: Option<PaperlessOutcome>,
}

/// A rating quote (Rate or Shop).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateQuote {
    pub service_code: String,
    pub charges: Charges,
    /// Business days in transit when UPS said so.
    #[serde(default)]
    pub business_days: Option<u32>,
    #[serde(default)]
    pub guaranteed: bool,
}

/// Address validation outcome (XAV request option 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum AddressCheck {
    Valid {
        residential: Option<bool>,
        /// UPS's normalised form of the address.
        candidate: Option<Address>,
    },
    Ambiguous {
        candidates: Vec<Address>,
    },
    NoCandidates,
    /// Country not covered by UPS address validation (only US and PR are).
    NotCovered,
}

/// One scan event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingEvent {
    pub tracking_number: String,
    pub milestone: Milestone,
    /// UPS `status.type` (`D`, `I`, `X`, `M`, …) and 2-char `status.code`.
    pub status_type: String,
    pub status_code: String,
    /// UPS's 3-digit `statusCode` (`011` delivered, `040` at an Access Point; Track
    /// Alert's `descriptionCode`); empty when UPS sent none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_number: String,
    pub description: String,
    /// Activity time in UTC (from UPS's GMT date/time).
    pub time: DateTime<Utc>,
    /// "City, ST, CC"; no street address.
    #[serde(default)]
    pub location: Option<String>,
}

impl TrackingEvent {
    /// Event identity for de-duplication: tracking number + activity timestamp + status code.
    pub fn identity(&self) -> String {
        format!(
            "{}|{}|{}",
            self.tracking_number,
            self.time.format("%Y%m%dT%H%M%SZ"),
            self.status_code
        )
    }
}

/// The latest known state of one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingSnapshot {
    pub tracking_number: String,
    pub milestone: Milestone,
    #[serde(default)]
    pub latest: Option<TrackingEvent>,
    #[serde(default)]
    pub estimated_delivery: Option<NaiveDate>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub received_by: Option<String>,
    /// Signature image bytes (where the account has the right).
    #[serde(default, with = "b64_opt")]
    pub signature: Option<Vec<u8>>,
    /// Since when the parcel has had this status (the event's time, or when upsync
    /// declared it `not_found`/`expired`).
    #[serde(default)]
    pub status_at: Option<DateTime<Utc>>,
    /// Scan history, oldest first (bounded; empty in a single Track answer's snapshot,
    /// whose events travel beside it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<TrackingEvent>,
}

/// A plan of changes to one ERP record, produced by the mapping engine, applied by a source.
///
/// Field paths are in the ERP's own vocabulary (`CustomerRefNbr`, `custom.Document.UsrUpsRef`,
/// `custbody_ups_reference`); the connector's codec knows how to write them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteBack {
    pub record_id: String,
    /// Header fields: path → value.
    #[serde(default)]
    pub fields: Vec<(String, serde_json::Value)>,
    /// Per package line: ERP line id → fields for that line (e.g. `TrackingNbr`).
    #[serde(default)]
    pub package_lines: Vec<(String, Vec<(String, serde_json::Value)>)>,
    /// Files to attach (file name, bytes), e.g. labels.
    #[serde(default)]
    pub files: Vec<WriteBackFile>,
    /// Run the ERP's "confirm/mark shipped" step after writing.
    #[serde(default)]
    pub confirm_shipment: bool,
    /// The record's type when it is not the connector's own (NetSuite record API type,
    /// e.g. `itemFulfillment` for the outbound record a return authorization names);
    /// `None` = the connector's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_type: Option<String>,
}

impl WriteBack {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.package_lines.is_empty()
            && self.files.is_empty()
            && !self.confirm_shipment
    }
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct WriteBackFile {
    pub name: String,
    #[serde(with = "b64")]
    pub data: Vec<u8>,
}

impl std::fmt::Debug for WriteBackFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WriteBackFile({:?}, {} bytes)",
            self.name,
            self.data.len()
        )
    }
}

/// Base64 (standard alphabet) serde helpers for byte fields.
pub mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(serde::de::Error::custom)
    }
}

/// Optional variant of [`b64`].
pub mod b64_opt {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| {
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_level_follows_ups_lane_rule() {
        assert_eq!(reference_level("US", "US"), ReferenceLevel::Package);
        assert_eq!(reference_level("pr", "PR"), ReferenceLevel::Package);
        assert_eq!(reference_level("US", "PR"), ReferenceLevel::Shipment);
        assert_eq!(reference_level("US", "CA"), ReferenceLevel::Shipment);
        assert_eq!(reference_level("DE", "DE"), ReferenceLevel::Shipment);
    }

    #[test]
    fn label_debug_hides_bytes() {
        let l = Label {
            format: LabelFormat::Zpl,
            data: b"^XA secret ^XZ".to_vec(),
        };
        let s = format!("{l:?}");
        assert!(!s.contains("secret"));
        assert!(s.contains("14 bytes"));
    }

    #[test]
    fn event_identity_is_number_time_code() {
        let e = TrackingEvent {
            tracking_number: "1Z999AA10123456784".into(),
            milestone: Milestone::Delivered,
            status_type: "D".into(),
            status_code: "FS".into(),
            status_number: String::new(),
            description: "Delivered".into(),
            time: DateTime::parse_from_rfc3339("2024-04-23T13:50:04Z")
                .unwrap()
                .with_timezone(&Utc),
            location: None,
        };
        assert_eq!(e.identity(), "1Z999AA10123456784|20240423T135004Z|FS");
    }
}
