//! Rate/Shop (UPS-REFERENCE §5): the request body (time in transit when a pickup date is
//! known) and the response → one [`RateQuote`] per rated shipment.

use super::ship::{goods_value, invoice_line_total};
use super::*;

// ---------------------------------------------------------------- request

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
    shipment.insert("PaymentDetails".into(), payment(sh));
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
    if let Some(options) = rating_options(sh) {
        shipment.insert("ShipmentRatingOptions".into(), options);
    }
    put_tax_indicator(&mut shipment, sh);
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

// ---------------------------------------------------------------- response

#[derive(Debug, Deserialize)]
pub(super) struct RateEnvelope {
    #[serde(rename = "RateResponse")]
    response: RateResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct RateResponse {
    #[serde(rename = "RatedShipment", default, deserialize_with = "one_or_many")]
    rated: Vec<RatedShipment>,
}

#[derive(Debug, Deserialize)]
pub(super) struct RatedShipment {
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
pub(super) struct GuaranteedDelivery {
    #[serde(
        rename = "BusinessDaysInTransit",
        default,
        deserialize_with = "lenient_string"
    )]
    business_days: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct TimeInTransit {
    #[serde(rename = "ServiceSummary", default, deserialize_with = "one_or_many")]
    summary: Vec<ServiceSummary>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ServiceSummary {
    #[serde(rename = "GuaranteedIndicator")]
    guaranteed: Option<Value>,
    #[serde(rename = "EstimatedArrival")]
    arrival: Option<EstimatedArrival>,
}

#[derive(Debug, Deserialize)]
pub(super) struct EstimatedArrival {
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
                    ..Default::default()
                },
                business_days: tit_days.or(gd_days),
                guaranteed: r.guaranteed.is_some()
                    || summary.map(|s| s.guaranteed.is_some()).unwrap_or(false),
            }
        })
        .collect())
}
