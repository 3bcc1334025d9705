//! The Ship request (UPS-REFERENCE §2.1) as typed `Serialize` structs borrowing from the
//! canonical [`Shipment`]: what the client encodes, straight to bytes, with no `Value` tree.
//!
//! [`super::ship::ship_request`] (the public `Value` the mapping engine prints and the golden
//! tests compare) is this body turned into a `Value`, so there is one builder and the golden
//! files guard both. Field order is the order UPS's examples use (and the order the `Value`
//! builder inserted keys in); `skip_serializing_if` leaves out what the `Value` builder did not
//! insert. The rarer blocks (payment, return service, customs forms, notifications, declared
//! value) stay small `Value`s built by the shared helpers.

use super::ship::{invoice_line_total, package_refs, resolve_service, shipment_refs, ShipOptions};
use super::*;

/// `{"ShipmentRequest": {Request, Shipment, LabelSpecification}}`.
#[derive(Debug, Serialize)]
pub struct ShipRequest<'a> {
    #[serde(rename = "ShipmentRequest")]
    request: ShipmentRequestOut<'a>,
}

#[derive(Debug, Serialize)]
struct ShipmentRequestOut<'a> {
    #[serde(rename = "Request")]
    request: RequestOut<'a>,
    #[serde(rename = "Shipment")]
    shipment: ShipmentOut<'a>,
    #[serde(rename = "LabelSpecification")]
    label: LabelSpecOut<'a>,
}

/// `Request` (RequestOption, SubVersion, TransactionReference.CustomerContext).
#[derive(Debug, Serialize)]
struct RequestOut<'a> {
    #[serde(rename = "RequestOption")]
    option: &'a str,
    #[serde(rename = "SubVersion", skip_serializing_if = "Option::is_none")]
    sub_version: Option<String>,
    #[serde(rename = "TransactionReference")]
    reference: ContextOut<'a>,
}

#[derive(Debug, Serialize)]
struct ContextOut<'a> {
    #[serde(rename = "CustomerContext")]
    context: &'a str,
}

#[derive(Debug, Serialize)]
struct ShipmentOut<'a> {
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "Shipper")]
    shipper: PartyOut<'a>,
    #[serde(rename = "ShipTo")]
    ship_to: PartyOut<'a>,
    #[serde(rename = "ShipFrom", skip_serializing_if = "Option::is_none")]
    ship_from: Option<PartyOut<'a>>,
    #[serde(rename = "PaymentInformation")]
    payment: Value,
    #[serde(rename = "Service")]
    service: CodeOut<'a>,
    #[serde(rename = "ReturnService", skip_serializing_if = "Option::is_none")]
    return_service: Option<Value>,
    #[serde(
        rename = "ShipmentRatingOptions",
        skip_serializing_if = "Option::is_none"
    )]
    rating_options: Option<Value>,
    #[serde(
        rename = "TaxInformationIndicator",
        skip_serializing_if = "Option::is_none"
    )]
    tax_indicator: Option<&'static str>,
    #[serde(rename = "ReferenceNumber", skip_serializing_if = "Option::is_none")]
    references: Option<Vec<Value>>,
    #[serde(rename = "InvoiceLineTotal", skip_serializing_if = "Option::is_none")]
    invoice_line_total: Option<Value>,
    #[serde(rename = "ShipmentDate", skip_serializing_if = "Option::is_none")]
    ship_date: Option<String>,
    #[serde(
        rename = "ShipmentServiceOptions",
        skip_serializing_if = "Option::is_none"
    )]
    service_options: Option<Value>,
    #[serde(rename = "Package")]
    packages: Vec<PackageOut<'a>>,
}

/// `{"Code": …}` (`Service`, `Packaging`, `LabelImageFormat`).
#[derive(Debug, Serialize)]
struct CodeOut<'a> {
    #[serde(rename = "Code")]
    code: Cow<'a, str>,
}

/// A party (`Shipper`, `ShipTo`, `ShipFrom`), as [`super::party`] builds it.
#[derive(Debug, Serialize)]
struct PartyOut<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "AttentionName", skip_serializing_if = "Option::is_none")]
    attention: Option<&'a str>,
    #[serde(
        rename = "TaxIdentificationNumber",
        skip_serializing_if = "Option::is_none"
    )]
    tax_id: Option<&'a str>,
    #[serde(rename = "Phone", skip_serializing_if = "Option::is_none")]
    phone: Option<PhoneOut<'a>>,
    #[serde(rename = "EMailAddress", skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(rename = "Address")]
    address: AddressOut<'a>,
    /// The shipper's only: right after the name block, as UPS's examples order it.
    #[serde(rename = "ShipperNumber", skip_serializing_if = "Option::is_none")]
    shipper_number: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct PhoneOut<'a> {
    #[serde(rename = "Number")]
    number: &'a str,
}

/// `Address`, as [`super::address`] builds it.
#[derive(Debug, Serialize)]
struct AddressOut<'a> {
    #[serde(rename = "AddressLine")]
    lines: Vec<&'a str>,
    #[serde(rename = "City")]
    city: &'a str,
    #[serde(rename = "StateProvinceCode", skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(rename = "PostalCode", skip_serializing_if = "Option::is_none")]
    postal_code: Option<&'a str>,
    #[serde(rename = "CountryCode")]
    country: String,
    #[serde(
        rename = "ResidentialAddressIndicator",
        skip_serializing_if = "Option::is_none"
    )]
    residential: Option<&'static str>,
    #[serde(rename = "POBoxIndicator", skip_serializing_if = "Option::is_none")]
    po_box: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct PackageOut<'a> {
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(rename = "Packaging")]
    packaging: CodeOut<'a>,
    #[serde(rename = "Dimensions", skip_serializing_if = "Option::is_none")]
    dimensions: Option<DimensionsOut>,
    #[serde(rename = "PackageWeight")]
    weight: WeightOut,
    #[serde(rename = "ReferenceNumber", skip_serializing_if = "Option::is_none")]
    references: Option<Vec<Value>>,
    #[serde(
        rename = "PackageServiceOptions",
        skip_serializing_if = "Option::is_none"
    )]
    service_options: Option<Value>,
}

#[derive(Debug, Serialize)]
struct UomOut {
    #[serde(rename = "Code")]
    code: &'static str,
    #[serde(rename = "Description")]
    description: &'static str,
}

#[derive(Debug, Serialize)]
struct DimensionsOut {
    #[serde(rename = "UnitOfMeasurement")]
    unit: UomOut,
    #[serde(rename = "Length")]
    length: String,
    #[serde(rename = "Width")]
    width: String,
    #[serde(rename = "Height")]
    height: String,
}

#[derive(Debug, Serialize)]
struct WeightOut {
    #[serde(rename = "UnitOfMeasurement")]
    unit: UomOut,
    #[serde(rename = "Weight")]
    weight: String,
}

/// `LabelSpecification`, as [`super::label_specification`] builds it.
#[derive(Debug, Serialize)]
struct LabelSpecOut<'a> {
    #[serde(rename = "LabelImageFormat")]
    format: CodeOut<'a>,
    #[serde(rename = "HTTPUserAgent", skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(rename = "LabelStockSize")]
    stock_size: StockSizeOut,
}

#[derive(Debug, Serialize)]
struct StockSizeOut {
    #[serde(rename = "Height")]
    height: String,
    #[serde(rename = "Width")]
    width: String,
}

/// `Some(v)` when `v` holds a non-empty string (the `put_opt` rule).
fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(String::as_str).filter(|v| !v.trim().is_empty())
}

fn address_out(a: &Address, ship_to: bool) -> AddressOut<'_> {
    AddressOut {
        lines: a
            .lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .map(String::as_str)
            .collect(),
        city: &a.city,
        state: non_empty(Some(&a.state)),
        postal_code: non_empty(Some(&a.postal_code)),
        country: a.country.to_ascii_uppercase(),
        residential: (ship_to && a.residential == Some(true)).then_some(""),
        po_box: (ship_to && a.po_box).then_some(""),
    }
}

fn party_out<'a>(p: &'a Party, ship_to: bool, shipper_number: Option<&'a str>) -> PartyOut<'a> {
    PartyOut {
        name: &p.name,
        attention: non_empty(p.attention.as_ref()),
        tax_id: non_empty(p.tax_id.as_ref()),
        phone: non_empty(p.phone.as_ref()).map(|number| PhoneOut { number }),
        email: non_empty(p.email.as_ref()),
        address: address_out(&p.address, ship_to),
        shipper_number,
    }
}

fn uom_weight(u: WeightUnit) -> UomOut {
    UomOut {
        code: u.ups_code(),
        description: match u {
            WeightUnit::Lbs => "Pounds",
            WeightUnit::Kgs => "Kilograms",
            WeightUnit::Ozs => "Ounces",
        },
    }
}

fn uom_dimension(u: DimensionUnit) -> UomOut {
    UomOut {
        code: u.ups_code(),
        description: match u {
            DimensionUnit::In => "Inches",
            DimensionUnit::Cm => "Centimeters",
        },
    }
}

impl<'a> ShipRequest<'a> {
    /// The body [`super::ship::ship_request`] describes, borrowing from `sh` and `opts`.
    pub fn new(sh: &'a Shipment, opts: &'a ShipOptions) -> ShipRequest<'a> {
        let level = sh.reference_level();
        let pkg_refs = (level == ReferenceLevel::Package && !sh.references.is_empty())
            .then(|| package_refs(sh));
        let packages = sh
            .packages
            .iter()
            .map(|p| PackageOut {
                description: non_empty(p.description.as_ref()),
                packaging: CodeOut {
                    code: Cow::Borrowed(&p.packaging),
                },
                // Ship dimensions are ≤3 chars: whole units, rounded up (see `dimensions`).
                dimensions: p.dimensions.as_ref().map(|d| DimensionsOut {
                    unit: uom_dimension(d.unit),
                    length: decimal_str(d.length.ceil()),
                    width: decimal_str(d.width.ceil()),
                    height: decimal_str(d.height.ceil()),
                }),
                weight: WeightOut {
                    unit: uom_weight(p.weight.unit),
                    weight: decimal_str(weight_up(p.weight.value)),
                },
                references: pkg_refs.clone(),
                service_options: p.declared_value.as_ref().map(|v| {
                    json!({ "DeclaredValue": { "CurrencyCode": v.currency, "MonetaryValue": money_str(v.amount) } })
                }),
            })
            .collect();
        let mut sso = Map::new();
        super::ship::service_options(&mut sso, sh, opts);
        let context = opts
            .customer_context
            .as_deref()
            .unwrap_or(sh.number.as_str());
        let (h, w) = sh.label.stock_size.unwrap_or(opts.default_stock_size);
        let return_service = sh.return_service.as_ref().map(|rs| {
            let mut m = Map::new();
            m.insert("Code".into(), s(rs.code.clone()));
            if let Some((_, d)) = crate::model::RETURN_SERVICE_CODES
                .iter()
                .find(|(c, _)| *c == rs.code)
            {
                m.insert("Description".into(), s(d.to_string()));
            }
            Value::Object(m)
        });
        ShipRequest {
            request: ShipmentRequestOut {
                request: RequestOut {
                    option: &opts.request_option,
                    // Always YYMM on the wire: a `v2409`-style value is normalised, anything
                    // else dropped (as `request_block`).
                    sub_version: opts.sub_version.as_deref().and_then(sub_version_of),
                    reference: ContextOut { context },
                },
                shipment: ShipmentOut {
                    description: non_empty(sh.description.as_ref()),
                    shipper: party_out(&sh.shipper, false, Some(&sh.account_number)),
                    ship_to: party_out(&sh.ship_to, true, None),
                    ship_from: sh.ship_from.as_ref().map(|f| party_out(f, false, None)),
                    payment: payment(sh),
                    service: CodeOut {
                        code: Cow::Owned(resolve_service(sh, opts).unwrap_or_default()),
                    },
                    return_service,
                    rating_options: rating_options(sh),
                    tax_indicator: sh.tax_information.then_some(""),
                    references: (level == ReferenceLevel::Shipment && !sh.references.is_empty())
                        .then(|| shipment_refs(sh)),
                    invoice_line_total: invoice_line_total(sh),
                    ship_date: sh.ship_date.map(ups_date),
                    service_options: (!sso.is_empty()).then_some(Value::Object(sso)),
                    packages,
                },
                label: LabelSpecOut {
                    format: CodeOut {
                        code: Cow::Borrowed(sh.label.format.ups_code()),
                    },
                    user_agent: matches!(sh.label.format, LabelFormat::Gif | LabelFormat::Png)
                        .then_some(opts.http_user_agent.as_str()),
                    stock_size: StockSizeOut {
                        height: h.to_string(),
                        width: w.to_string(),
                    },
                },
            },
        }
    }
}
