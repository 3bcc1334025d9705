//! Pure request builders: canonical [`Shipment`]/[`Address`] in, UPS JSON body out.
//!
//! Implements the request shapes of UPS-REFERENCE §2 (Ship), §4 (Label Recovery),
//! §5 (Rating), §7 (XAV) and §8 (Track Alert). The mapping engine calls
//! [`ship_request`] to print and compare the exact Ship body, so these functions do no
//! I/O, read no clock and never depend on the client.
//!
//! Wire discipline (UPS-REFERENCE §0): PascalCase keys, **every scalar a JSON string**,
//! lists always sent as arrays, indicators sent as `""` (presence = true), money with two
//! decimals from [`rust_decimal::Decimal`] (never a float). References go where UPS
//! accepts them for the lane ([`Shipment::reference_level`]): on each package for US→US
//! and PR→PR (≤5 per package), on the shipment otherwise (Code exactly 2 characters).
//!
//! Never put anything here that depends on an ERP: the input is the canonical model only.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::wire::{decimal_str, money_str, ups_date};
use crate::model::{
    Address, DimensionUnit, LabelFormat, LabelSpec, Package, Party, Reference, ReferenceLevel,
    ServiceSelection, Shipment, WeightUnit,
};

/// Maximum package-level references UPS accepts per package (first 2 are printed).
pub const MAX_PACKAGE_REFERENCES: usize = 5;
/// Shipment-level references sent (UPS prints two; more are not documented as accepted).
pub const MAX_SHIPMENT_REFERENCES: usize = 2;
/// Default `HTTPUserAgent` for GIF/PNG labels (the spec's default).
pub const DEFAULT_HTTP_USER_AGENT: &str = "Mozilla/4.5";

/// Request-level choices for a Ship that are not part of the canonical shipment.
#[derive(Debug, Clone, PartialEq)]
pub struct ShipOptions {
    /// The service to ship with. Required when the shipment's selection is
    /// [`ServiceSelection::CheapestWithin`] (the caller resolves it with Shop first);
    /// overrides a fixed code when set.
    pub service_code: Option<String>,
    /// `Request.RequestOption`: `nonvalidate` (default) or `validate`.
    pub request_option: String,
    /// `Request.SubVersion` (YYMM) when a specific one is wanted.
    pub sub_version: Option<String>,
    /// `TransactionReference.CustomerContext` (≤512, echoed). Defaults to the ERP number.
    pub customer_context: Option<String>,
    /// `LabelStockSize` `(height, width)` used when the shipment's label spec has none.
    pub default_stock_size: (u8, u8),
    /// `HTTPUserAgent` for GIF/PNG labels.
    pub http_user_agent: String,
}

impl Default for ShipOptions {
    fn default() -> Self {
        ShipOptions {
            service_code: None,
            request_option: "nonvalidate".into(),
            sub_version: None,
            customer_context: None,
            default_stock_size: (6, 4),
            http_user_agent: DEFAULT_HTTP_USER_AGENT.into(),
        }
    }
}

/// Rate (one service) or Shop (every service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateMode {
    Rate,
    Shop,
}

impl RateMode {
    /// The `{requestoption}` path segment and `Request.RequestOption` value.
    pub fn as_str(self) -> &'static str {
        match self {
            RateMode::Rate => "Rate",
            RateMode::Shop => "Shop",
        }
    }

    /// The request option that also returns time in transit: `Ratetimeintransit` /
    /// `Shoptimeintransit` (Rating.yaml `{requestoption}`; UPS-REFERENCE §5). Only these
    /// return `TimeInTransit`; `?additionalinfo=timeintransit` on `Rate`/`Shop` does not.
    pub fn with_time_in_transit(self) -> &'static str {
        match self {
            RateMode::Rate => "Ratetimeintransit",
            RateMode::Shop => "Shoptimeintransit",
        }
    }
}

/// `Request.SubVersion` (YYMM) for a path version: `v2409` → `2409`. `None` when the path
/// version is not a YYMM release (`v1`), so no SubVersion is sent. UPS gates response
/// shapes by this value (UPS-REFERENCE §2.1, §5, §0.1); a malformed one (`"v2409"`) is
/// refused by a strict UPS.
pub fn sub_version_of(path_version: &str) -> Option<String> {
    let d = path_version.trim().trim_start_matches(['v', 'V']);
    (d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit())).then(|| d.to_string())
}

/// The `{requestoption}` (path segment and `Request.RequestOption`) for a Rate/Shop body:
/// the time-in-transit option whenever a pickup date is known, because `TimeInTransit`
/// needs both the option and `DeliveryTimeInformation` (Rating.yaml
/// `RatedShipment_TimeInTransit`), and Ground's business days come only from there
/// (`GuaranteedDelivery` is given for guaranteed services only).
pub fn rate_request_option(sh: &Shipment, opts: &RateOptions) -> &'static str {
    if opts.pickup_date.or(sh.ship_date).is_some() {
        opts.mode.with_time_in_transit()
    } else {
        opts.mode.as_str()
    }
}

/// Request-level choices for Rate/Shop.
#[derive(Debug, Clone, PartialEq)]
pub struct RateOptions {
    pub mode: RateMode,
    /// Service to rate (Rate mode); defaults to the shipment's fixed code.
    pub service_code: Option<String>,
    /// Pickup date for time in transit (`DeliveryTimeInformation.Pickup.Date`); when `None`
    /// the shipment's ship date is used, and without either no time-in-transit block is sent.
    pub pickup_date: Option<NaiveDate>,
    /// `Request.SubVersion`.
    pub sub_version: Option<String>,
    pub customer_context: Option<String>,
}

impl RateOptions {
    pub fn rate() -> Self {
        RateOptions {
            mode: RateMode::Rate,
            service_code: None,
            pickup_date: None,
            sub_version: None,
            customer_context: None,
        }
    }
    pub fn shop() -> Self {
        RateOptions {
            mode: RateMode::Shop,
            ..RateOptions::rate()
        }
    }
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

/// The service code a Ship will use: explicit option, else the fixed code, else the
/// `CheapestWithin` fallback. `None` means the caller must resolve it (Shop) first.
pub fn resolve_service(shipment: &Shipment, opts: &ShipOptions) -> Option<String> {
    if let Some(c) = &opts.service_code {
        return Some(c.clone());
    }
    match &shipment.service {
        ServiceSelection::Fixed { code } => Some(code.clone()),
        ServiceSelection::CheapestWithin { fallback, .. } => fallback.clone(),
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

/// US→PR and US→CA forward shipments carry `InvoiceLineTotal` (UPS-REFERENCE §2.1).
pub fn needs_invoice_line_total(sh: &Shipment) -> bool {
    let o = origin_country(sh);
    let d = sh.ship_to.address.country.to_ascii_uppercase();
    o == "US" && (d == "PR" || d == "CA")
}

/// Total declared goods value: customs lines when present, else package declared values.
pub fn goods_value(sh: &Shipment) -> Option<(Decimal, String)> {
    if let Some(intl) = &sh.international {
        if !intl.products.is_empty() {
            let total: Decimal = intl
                .products
                .iter()
                .map(|p| p.quantity * p.unit_value)
                .sum();
            return Some((total, intl.currency.clone()));
        }
    }
    let mut total = Decimal::ZERO;
    let mut currency = None;
    for p in &sh.packages {
        if let Some(v) = &p.declared_value {
            total += v.amount;
            currency.get_or_insert_with(|| v.currency.clone());
        }
    }
    currency.map(|c| (total, c))
}

fn invoice_line_total(sh: &Shipment) -> Option<Value> {
    if !needs_invoice_line_total(sh) {
        return None;
    }
    // Spec: "Valid values are from 1 to 99999999": whole units, rounded up so the value is
    // never understated.
    goods_value(sh).map(
        |(total, cur)| json!({ "CurrencyCode": cur, "MonetaryValue": decimal_str(total.ceil().max(Decimal::ONE)) }),
    )
}

/// Split a product description into 1–3 parts of ≤35 characters (UPS `Description[]`),
/// at word boundaries where possible.
fn description_chunks(d: &str) -> Vec<Value> {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in d.split_whitespace() {
        let mut w: Vec<char> = word.chars().collect();
        // Hard-split words longer than a whole part.
        while w.len() > 35 {
            if !cur.is_empty() {
                parts.push(std::mem::take(&mut cur));
            }
            parts.push(w.drain(..35).collect());
        }
        let w: String = w.into_iter().collect();
        let needed = if cur.is_empty() {
            w.chars().count()
        } else {
            cur.chars().count() + 1 + w.chars().count()
        };
        if needed > 35 {
            parts.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&w);
    }
    if !cur.is_empty() || parts.is_empty() {
        parts.push(cur);
    }
    parts.into_iter().take(3).map(s).collect()
}

fn international_forms(sh: &Shipment) -> Option<Value> {
    let intl = sh.international.as_ref()?;
    if intl.form_types.is_empty() {
        return None;
    }
    let mut m = Map::new();
    m.insert(
        "FormType".into(),
        Value::Array(intl.form_types.iter().map(|f| s(f.clone())).collect()),
    );
    if intl.form_types.iter().any(|f| f == "01" || f == "04") {
        // Invoice and USMCA need SoldTo; AttentionName is required there.
        let mut sold_to = party(&sh.ship_to, false);
        if !sold_to.contains_key("AttentionName") {
            sold_to.insert("AttentionName".into(), s(sh.ship_to.name.clone()));
        }
        sold_to.remove("EMailAddress");
        m.insert(
            "Contacts".into(),
            json!({ "SoldTo": Value::Object(sold_to) }),
        );
    }
    let products: Vec<Value> = intl
        .products
        .iter()
        .map(|p| {
            let mut pm = Map::new();
            pm.insert(
                "Description".into(),
                Value::Array(description_chunks(&p.description)),
            );
            pm.insert(
                "Unit".into(),
                json!({
                    "Number": decimal_str(p.quantity),
                    "UnitOfMeasurement": { "Code": p.unit_of_measure },
                    "Value": decimal_str(p.unit_value.round_dp(6)),
                }),
            );
            put_opt(&mut pm, "CommodityCode", p.hs_code.as_ref());
            put_opt(&mut pm, "PartNumber", p.part_number.as_ref());
            pm.insert(
                "OriginCountryCode".into(),
                s(p.origin_country.to_ascii_uppercase()),
            );
            Value::Object(pm)
        })
        .collect();
    m.insert("Product".into(), Value::Array(products));
    put_opt(&mut m, "InvoiceNumber", intl.invoice_number.as_ref());
    if let Some(d) = intl.invoice_date {
        m.insert("InvoiceDate".into(), s(ups_date(d)));
    }
    put_opt(&mut m, "TermsOfShipment", intl.terms_of_shipment.as_ref());
    m.insert("ReasonForExport".into(), s(intl.reason_for_export.clone()));
    m.insert("CurrencyCode".into(), s(intl.currency.clone()));
    Some(Value::Object(m))
}

fn package_refs(sh: &Shipment) -> Vec<Value> {
    sh.references
        .iter()
        .take(MAX_PACKAGE_REFERENCES)
        .map(reference)
        .collect()
}

fn shipment_refs(sh: &Shipment) -> Vec<Value> {
    sh.references
        .iter()
        .take(MAX_SHIPMENT_REFERENCES)
        .map(reference)
        .collect()
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

fn bill_shipper(account: &str) -> Value {
    json!({ "ShipmentCharge": [ { "Type": "01", "BillShipper": { "AccountNumber": account } } ] })
}

/// The Ship request body `{"ShipmentRequest": {Request, Shipment, LabelSpecification}}`.
///
/// When the service cannot be resolved (see [`resolve_service`]) `Service.Code` is `""`;
/// [`check_shipment`] reports it and the client refuses to send such a request.
pub fn ship_request(sh: &Shipment, opts: &ShipOptions) -> Value {
    let level = sh.reference_level();
    let mut shipment = Map::new();
    if let Some(d) = sh.description.as_ref().filter(|d| !d.trim().is_empty()) {
        shipment.insert("Description".into(), s(d.clone()));
    }
    let mut shipper = party(&sh.shipper, false);
    // ShipperNumber right after the name block, as UPS's examples order it.
    shipper.insert("ShipperNumber".into(), s(sh.account_number.clone()));
    shipment.insert("Shipper".into(), Value::Object(shipper));
    shipment.insert("ShipTo".into(), Value::Object(party(&sh.ship_to, true)));
    if let Some(from) = &sh.ship_from {
        shipment.insert("ShipFrom".into(), Value::Object(party(from, false)));
    }
    shipment.insert(
        "PaymentInformation".into(),
        bill_shipper(&sh.account_number),
    );
    shipment.insert(
        "Service".into(),
        json!({ "Code": resolve_service(sh, opts).unwrap_or_default() }),
    );
    if sh.negotiated_rates {
        shipment.insert(
            "ShipmentRatingOptions".into(),
            json!({ "NegotiatedRatesIndicator": "" }),
        );
    }
    if level == ReferenceLevel::Shipment && !sh.references.is_empty() {
        shipment.insert("ReferenceNumber".into(), Value::Array(shipment_refs(sh)));
    }
    if let Some(ilt) = invoice_line_total(sh) {
        shipment.insert("InvoiceLineTotal".into(), ilt);
    }
    if let Some(d) = sh.ship_date {
        shipment.insert("ShipmentDate".into(), s(ups_date(d)));
    }
    let mut sso = Map::new();
    if !sh.notifications.is_empty() {
        let notes: Vec<Value> = sh
            .notifications
            .iter()
            .map(|n| json!({ "NotificationCode": n.code, "EMail": { "EMailAddress": [n.email] } }))
            .collect();
        sso.insert("Notification".into(), Value::Array(notes));
    }
    if let Some(forms) = international_forms(sh) {
        sso.insert("InternationalForms".into(), forms);
    }
    if !sso.is_empty() {
        shipment.insert("ShipmentServiceOptions".into(), Value::Object(sso));
    }
    let pkg_refs = package_refs(sh);
    let packages: Vec<Value> = sh
        .packages
        .iter()
        .map(|p| {
            let mut m = Map::new();
            put_opt(&mut m, "Description", p.description.as_ref());
            m.insert("Packaging".into(), json!({ "Code": p.packaging }));
            if let Some(d) = dimensions(p) {
                m.insert("Dimensions".into(), d);
            }
            m.insert("PackageWeight".into(), package_weight(p));
            if level == ReferenceLevel::Package && !pkg_refs.is_empty() {
                m.insert("ReferenceNumber".into(), Value::Array(pkg_refs.clone()));
            }
            if let Some(v) = &p.declared_value {
                m.insert(
                    "PackageServiceOptions".into(),
                    json!({ "DeclaredValue": { "CurrencyCode": v.currency, "MonetaryValue": money_str(v.amount) } }),
                );
            }
            Value::Object(m)
        })
        .collect();
    shipment.insert("Package".into(), Value::Array(packages));

    let context = opts
        .customer_context
        .clone()
        .unwrap_or_else(|| sh.number.clone());
    json!({
        "ShipmentRequest": {
            "Request": request_block(&opts.request_option, opts.sub_version.as_ref(), &context),
            "Shipment": Value::Object(shipment),
            "LabelSpecification": label_specification(&sh.label, opts.default_stock_size, &opts.http_user_agent),
        }
    })
}

/// The Rate/Shop request body `{"RateRequest": {Request, Shipment}}` (UPS-REFERENCE §5):
/// `PaymentDetails` (not `PaymentInformation`), `PackagingType` (not `Packaging`),
/// negotiated rates with `ShipperNumber` + `BillShipper.AccountNumber`, and
/// `DeliveryTimeInformation` when a pickup date is known (time in transit; then the request
/// option is [`rate_request_option`]'s `*timeintransit`).
pub fn rate_request(sh: &Shipment, opts: &RateOptions) -> Value {
    let mut shipment = Map::new();
    let mut shipper = Map::new();
    shipper.insert("Name".into(), s(sh.shipper.name.clone()));
    shipper.insert("ShipperNumber".into(), s(sh.account_number.clone()));
    shipper.insert("Address".into(), address(&sh.shipper.address, false));
    shipment.insert("Shipper".into(), Value::Object(shipper));
    shipment.insert(
        "ShipTo".into(),
        json!({ "Name": sh.ship_to.name, "Address": address(&sh.ship_to.address, true) }),
    );
    if let Some(from) = &sh.ship_from {
        shipment.insert(
            "ShipFrom".into(),
            json!({ "Name": from.name, "Address": address(&from.address, false) }),
        );
    }
    shipment.insert("PaymentDetails".into(), bill_shipper(&sh.account_number));
    if opts.mode == RateMode::Rate {
        let code = opts.service_code.clone().or_else(|| match &sh.service {
            ServiceSelection::Fixed { code } => Some(code.clone()),
            ServiceSelection::CheapestWithin { fallback, .. } => fallback.clone(),
        });
        shipment.insert(
            "Service".into(),
            json!({ "Code": code.unwrap_or_default() }),
        );
    }
    if origin_country(sh) != sh.ship_to.address.country.to_ascii_uppercase() {
        if let Some(first) = sh.packages.first() {
            let total: Decimal = sh.packages.iter().map(|p| p.weight.value).sum();
            shipment.insert(
                "ShipmentTotalWeight".into(),
                json!({
                    "UnitOfMeasurement": weight_uom(first.weight.unit),
                    "Weight": decimal_str(weight_up(total)),
                }),
            );
        }
    }
    let packages: Vec<Value> = sh
        .packages
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("PackagingType".into(), json!({ "Code": p.packaging }));
            if let Some(d) = dimensions(p) {
                m.insert("Dimensions".into(), d);
            }
            m.insert("PackageWeight".into(), package_weight(p));
            Value::Object(m)
        })
        .collect();
    shipment.insert("Package".into(), Value::Array(packages));
    if sh.negotiated_rates {
        shipment.insert(
            "ShipmentRatingOptions".into(),
            json!({ "NegotiatedRatesIndicator": "" }),
        );
    }
    let cross_border = origin_country(sh) != sh.ship_to.address.country.to_ascii_uppercase();
    let time_in_transit = opts.pickup_date.or(sh.ship_date).is_some();
    if let Some(ilt) = invoice_line_total(sh) {
        shipment.insert("InvoiceLineTotal".into(), ilt);
    } else if cross_border && time_in_transit {
        // Rating.yaml `InvoiceLineTotal`: "Required for international shipments when using
        // request option ratetimeintransit or shoptimeintransit" (values 1…99999999, whole
        // units). Goods value when known, else the minimum 1 in USD: it only feeds UPS's
        // duty estimate, not the rate.
        let (total, cur) = goods_value(sh).unwrap_or((Decimal::ONE, "USD".to_string()));
        shipment.insert(
            "InvoiceLineTotal".into(),
            json!({ "CurrencyCode": cur, "MonetaryValue": decimal_str(total.ceil().max(Decimal::ONE)) }),
        );
    }
    if let Some(date) = opts.pickup_date.or(sh.ship_date) {
        shipment.insert(
            "DeliveryTimeInformation".into(),
            json!({ "PackageBillType": "03", "Pickup": { "Date": ups_date(date) } }),
        );
    }
    let context = opts
        .customer_context
        .clone()
        .unwrap_or_else(|| sh.number.clone());
    json!({
        "RateRequest": {
            "Request": request_block(rate_request_option(sh, opts), opts.sub_version.as_ref(), &context),
            "Shipment": Value::Object(shipment),
        }
    })
}

/// The XAV request body `{"XAVRequest": {"AddressKeyFormat": {…}}}` (UPS-REFERENCE §7).
/// A ZIP+4 postal code is split into `PostcodePrimaryLow` / `PostcodeExtendedLow`.
pub fn xav_request(a: &Address) -> Value {
    let mut m = Map::new();
    let lines: Vec<Value> = a
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| s(l.clone()))
        .collect();
    m.insert("AddressLine".into(), Value::Array(lines));
    if !a.city.trim().is_empty() {
        m.insert("PoliticalDivision2".into(), s(a.city.clone()));
    }
    if !a.state.trim().is_empty() {
        m.insert("PoliticalDivision1".into(), s(a.state.clone()));
    }
    let pc = a.postal_code.trim();
    if !pc.is_empty() {
        let digits: String = pc.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() == 9 {
            m.insert("PostcodePrimaryLow".into(), s(&digits[..5]));
            m.insert("PostcodeExtendedLow".into(), s(&digits[5..]));
        } else {
            m.insert("PostcodePrimaryLow".into(), s(pc));
        }
    }
    m.insert("CountryCode".into(), s(a.country.to_ascii_uppercase()));
    json!({ "XAVRequest": { "AddressKeyFormat": Value::Object(m) } })
}

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

/// The Track Alert package subscription body (UPS-REFERENCE §8). `destination`
/// `(url, credential)` selects v1 (with `destination`); `None` the v2 body.
pub fn subscription_request(numbers: &[String], destination: Option<(&str, &str)>) -> Value {
    let mut m = Map::new();
    m.insert("locale".into(), s("en_US"));
    m.insert("countryCode".into(), s("US"));
    m.insert(
        "trackingNumberList".into(),
        Value::Array(numbers.iter().map(|n| s(n.clone())).collect()),
    );
    if let Some((url, credential)) = destination {
        m.insert(
            "destination".into(),
            json!({ "url": url, "credentialType": "Bearer", "credential": credential }),
        );
    }
    Value::Object(m)
}

/// A problem that would make UPS reject a Ship before it is sent (so no 1Z is spent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildProblem {
    /// UPS JSON path, e.g. `Shipment.Package[0].PackageWeight.Weight`.
    pub field: String,
    pub message: String,
}

/// Rules a Ship must meet that are cheap to check locally: service resolved, 1–200
/// packages with positive weight, reference codes the right length for their level,
/// 35-character limits on names, references and address lines.
pub fn check_shipment(sh: &Shipment, opts: &ShipOptions) -> Vec<BuildProblem> {
    let mut out = Vec::new();
    let mut p = |field: String, message: String| out.push(BuildProblem { field, message });
    if resolve_service(sh, opts).is_none_or_empty() {
        p(
            "Shipment.Service.Code".into(),
            "no service code: resolve the cheapest service with Shop first and pass it in ShipOptions.service_code".into(),
        );
    }
    if sh.packages.is_empty() || sh.packages.len() > 200 {
        p(
            "Shipment.Package".into(),
            format!("{} packages; UPS accepts 1 to 200", sh.packages.len()),
        );
    }
    for (i, pk) in sh.packages.iter().enumerate() {
        if pk.weight.value <= Decimal::ZERO {
            p(
                format!("Shipment.Package[{i}].PackageWeight.Weight"),
                "package weight must be greater than zero".into(),
            );
        }
    }
    for (who, party) in [("Shipper", &sh.shipper), ("ShipTo", &sh.ship_to)] {
        if party.name.trim().is_empty() || party.name.chars().count() > 35 {
            p(
                format!("Shipment.{who}.Name"),
                "name must be 1 to 35 characters".into(),
            );
        }
        for (i, l) in party.address.lines.iter().enumerate() {
            if l.chars().count() > 35 {
                p(
                    format!("Shipment.{who}.Address.AddressLine[{i}]"),
                    "address line longer than 35 characters".into(),
                );
            }
        }
        if party.address.lines.iter().all(|l| l.trim().is_empty()) {
            p(
                format!("Shipment.{who}.Address.AddressLine"),
                "at least one address line is required".into(),
            );
        }
    }
    let level = sh.reference_level();
    for (i, r) in sh.references.iter().enumerate() {
        let code_len = r.code.trim().chars().count();
        let (path, ok) = match level {
            ReferenceLevel::Package => (
                format!("Shipment.Package[0].ReferenceNumber[{i}]"),
                (1..=2).contains(&code_len),
            ),
            ReferenceLevel::Shipment => (format!("Shipment.ReferenceNumber[{i}]"), code_len == 2),
        };
        if !ok {
            p(
                format!("{path}.Code"),
                format!("reference code {:?} has the wrong length for a {level:?}-level reference (shipment level: exactly 2)", r.code),
            );
        }
        if r.value.is_empty() || r.value.chars().count() > 35 {
            p(
                format!("{path}.Value"),
                "reference value must be 1 to 35 characters".into(),
            );
        }
    }
    out
}

trait OptStrExt {
    fn is_none_or_empty(&self) -> bool;
}

impl OptStrExt for Option<String> {
    fn is_none_or_empty(&self) -> bool {
        self.as_deref().map(|s| s.trim().is_empty()).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
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
