//! Ship (`POST /api/shipments/{version}/ship`), Void (`DELETE
//! /api/shipments/{version}/void/cancel/{id}[?trackingnumber=…]`) and Label Recovery
//! (`POST /api/labels/{version}/recovery`): UPS-REFERENCE §2, §3, §4.
//!
//! Every Ship body is validated against `SHIPRequestWrapper` first ([`super::schema`]),
//! then against the rules a schema cannot express ([`check_ship`]): shipper number belongs
//! to the caller, 35-character limits, 1–200 packages, reference level per lane, service
//! valid for the lane, residential restrictions, LabelStockSize for thermal formats,
//! postal/state codes, Shipper.AttentionName on international lanes, cross-border phone
//! and description, weights and sizes. Party errors share code `120802` and name the party
//! and field in UPS's words ("Missing or invalid ship to StateProvinceCode").
//!
//! Versions: Ship answers by `Request.SubVersion` when the body has one
//! ([`schema::sub_version`]): `>= 2403` answers arrays, older releases a bare object where a
//! list has one item (§0.1). Without a SubVersion the path version decides the same way.
//! A malformed SubVersion is refused (strict) or read as the newest release (lenient).
//!
//! Layout: the Ship handler is here; its rules in `ship/rules.rs`, Void in `ship/void.rs`,
//! Label Recovery in `ship/recover.rs`.

mod date;
mod recover;
mod returns;
mod rules;
mod void;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::{json, Value};

use super::label::{self, LabelFormat};
use super::rate::{self, first, items, money, Lane, PackageFacts};
use super::state::{Package, Place, Reference, Shipment};
use super::{
    check_schema, one_or_many, parse_json, schema, tolerance_alerts, trackno, ups_error,
    version_number, Caller, UpsState,
};

pub use recover::label_recovery;
pub use rules::check_ship;
pub use void::void;

const SHIP_VERSIONS: &[&str] = &[
    "v1", "v1601", "v1607", "v1701", "v1707", "v1801", "v1807", "v2108", "v2205", "v2403", "v2409",
];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// What [`check_ship`] extracts from a valid request.
#[derive(Debug)]
pub struct ShipPlan {
    pub shipper_number: String,
    pub service: String,
    pub lane: Lane,
    pub facts: Vec<PackageFacts>,
    pub shipment_refs: Vec<Reference>,
    pub package_refs: Vec<Vec<Reference>>,
    pub format: LabelFormat,
    pub residential: bool,
    pub origin: Place,
    pub destination: Place,
    pub shipper_name: String,
    pub ship_to_name: String,
    pub wants_negotiated: bool,
    /// Alerts from the payment rules (e.g. `121524`, duties payer not needed).
    pub payment_alerts: Vec<Value>,
    /// Text of the international forms document when `InternationalForms` was requested.
    pub forms: Option<Vec<String>>,
    /// `ReturnService.Code` of a return shipment.
    pub return_service: Option<String>,
}

type Rule = (&'static str, String);

/// The `ShippingLabel` / `LabelImage` content for a package.
fn label_json(format: LabelFormat, bytes: &[u8], tracking: &str, key: &str) -> Value {
    let mut v = json!({
        key: {"Code": format.code(), "Description": format.code()},
        "GraphicImage": b64(bytes),
    });
    if format.is_image() {
        v["HTMLImage"] = json!(b64(label::html_page(format, tracking).as_bytes()));
    }
    v
}

/// What Label Recovery returns: a Ship label format, or a PDF page.
#[derive(Debug, Clone, Copy)]
enum RecoveryFormat {
    Label(LabelFormat),
    Pdf,
}

/// `POST /api/shipments/{version}/ship`.
pub async fn ship(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    if !SHIP_VERSIONS.contains(&version.as_str()) {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10002",
            &format!("Unsupported Ship version '{version}'; use v2409 (legacy: v1, v1601 … v2205)"),
        );
    }
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Shapes follow the body's Request.SubVersion (UPS-REFERENCE §2.1, §0.1: arrays
    // `>= 2403`); without one, the path version decides.
    let sub = match schema::sub_version(&mut body, "/ShipmentRequest/Request", st.cfg.lenient) {
        Ok(s) => s,
        Err(v) => {
            return ups_error(
                StatusCode::BAD_REQUEST,
                schema::SUB_VERSION_INVALID,
                &v.message,
            )
        }
    };
    let release = sub
        .effective
        .unwrap_or_else(|| version_number(&version).unwrap_or(0));
    let arrays = release >= 2403;
    let mut tolerances = match check_schema(&st, schema::BodySchema::Ship, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    tolerances.extend(sub.tolerance);
    let plan = match check_ship(&body, &caller.accounts) {
        Ok(p) => p,
        Err((code, m)) => return ups_error(StatusCode::BAD_REQUEST, code, &m),
    };
    // Paperless invoice and user-created documents (`paperless.rs`).
    let paperless = match super::paperless::ship_check(
        &st,
        &body,
        &plan.shipper_number,
        &plan.destination.country,
    ) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ship_date = match date::check_ship_date(&body, st.now().date_naive()) {
        Ok(d) => d,
        Err((code, m)) => return ups_error(StatusCode::BAD_REQUEST, code, &m),
    };
    let price = rate::price(&plan.lane, &plan.service, &plan.facts, plan.residential);
    let mut alerts = tolerance_alerts(&tolerances);
    alerts.extend(paperless.alerts.iter().cloned());
    alerts.extend(plan.payment_alerts.iter().cloned());
    let negotiated = if plan.wants_negotiated {
        if st.negotiated_eligible(&plan.shipper_number) {
            Some(price.negotiated())
        } else {
            alerts.push(json!({"Code": "120900", "Description": "User Id and Shipper Number combination is not qualified to receive negotiated rates"}));
            None
        }
    } else {
        None
    };
    let now = st.now();
    let packages: Vec<Package> = plan
        .facts
        .iter()
        .zip(&plan.package_refs)
        .zip(&price.packages)
        .map(|((f, refs), pc)| {
            let tn = st.numbers.next(&plan.shipper_number, &plan.service);
            Package {
                exception: super::track::fnv(&tn).is_multiple_of(10),
                scenario: Default::default(),
                tracking_number: tn,
                weight_lbs: format!("{:.1}", f.weight_lbs),
                references: refs.clone(),
                voided_at: None,
                published: pc.total(),
            }
        })
        .collect();
    let currency = price.currency;
    if let Some(d) = ship_date {
        st.ship_dates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(packages[0].tracking_number.clone(), d);
    }
    let shipment = Shipment {
        id: packages[0].tracking_number.clone(),
        client_id: caller.client_id.clone(),
        shipper_number: plan.shipper_number.clone(),
        service: plan.service.clone(),
        created_at: now,
        origin: plan.origin.clone(),
        destination: plan.destination.clone(),
        shipper_name: plan.shipper_name.clone(),
        ship_to_name: plan.ship_to_name.clone(),
        residential: plan.residential,
        references: plan.shipment_refs.clone(),
        packages,
        label_format: plan.format,
        currency: currency.to_string(),
        total: format!("{:.2}", price.total),
        negotiated_total: negotiated.map(|n| format!("{n:.2}")),
        customer_context: s(
            &body,
            "/ShipmentRequest/Request/TransactionReference/CustomerContext",
        )
        .to_string(),
    };
    // labels are rendered from the shipment before it is shared
    let results: Vec<Value> = (0..shipment.packages.len())
        .map(|i| {
            let p = &shipment.packages[i];
            let bytes = label::render(plan.format, &shipment.label_info(i));
            json!({
                "TrackingNumber": p.tracking_number,
                "BaseServiceCharge": money(currency, price.packages[i].transportation),
                "ServiceOptionsCharges": money(currency, price.packages[i].options),
                "ShippingLabel": label_json(plan.format, &bytes, &p.tracking_number, "ImageFormat"),
            })
        })
        .collect();
    let id = shipment.id.clone();
    if !paperless.document_ids.is_empty() {
        st.paperless.link(&id, &paperless.document_ids);
    }
    let npk = shipment.packages.len() as u64;
    st.write_shipments().insert(shipment);
    st.core.stats.incr("ship.created");
    st.core.stats.add("ship.packages", npk);
    tracing::debug!(shipment = %id, packages = npk, "simulated shipment created");

    let mut response = json!({"ResponseStatus": {"Code": "1", "Description": "Success"}});
    if !alerts.is_empty() {
        response["Alert"] = one_or_many(alerts, arrays);
    }
    if let Some(ctx) = body.pointer("/ShipmentRequest/Request/TransactionReference/CustomerContext")
    {
        response["TransactionReference"] = json!({"CustomerContext": ctx});
    }
    let mut results_obj = json!({
        "ShipmentCharges": {
            "TransportationCharges": money(currency, price.transportation),
            "ServiceOptionsCharges": money(currency, price.options),
            "TotalCharges": money(currency, price.total),
        },
        "BillingWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": format!("{}.0", price.billable_lbs)},
        "ShipmentIdentificationNumber": id,
        "PackageResults": one_or_many(results, arrays),
    });
    if let Some(lines) = plan.forms.as_ref().filter(|_| paperless.print_form) {
        let mut all = vec![format!("SHIPMENT: {id}")];
        all.extend(lines.iter().cloned());
        let pdf = label::simple_pdf("INTERNATIONAL FORMS", &all);
        results_obj["Form"] = json!({
            "Code": "01",
            "Description": "All Requested International Forms",
            "Image": {"ImageFormat": {"Code": "PDF", "Description": "PDF"}, "GraphicImage": b64(&pdf)},
            "FormGroupId": format!("{:026}", super::track::fnv(&id) % 10u64.pow(19)),
        });
    }
    if let Some(n) = negotiated {
        results_obj["NegotiatedRateCharges"] = json!({"TotalCharge": money(currency, n)});
    }
    // Taxes (UPS-REFERENCE §11 "`TaxInformationIndicator` → `TaxCharges`"; Shipping.yaml
    // `ShipmentCharges.TaxCharges`/`TotalChargesWithTaxes` "only when TaxInformationIndicator
    // is present … and when Negotiated Rates are not applicable", else inside
    // `NegotiatedRateCharges`). Modelled: a tax on transportation where the origin levies
    // one (CA GST 5 %, EU/GB VAT 20 %), none from US/PR (no tax block at all).
    let wants_taxes = body
        .pointer("/ShipmentRequest/Shipment/TaxInformationIndicator")
        .is_some();
    if let Some((kind, rate)) = wants_taxes.then(|| rate::tax(&plan.lane)).flatten() {
        let (block, base) = match negotiated {
            Some(n) => ("NegotiatedRateCharges", n),
            None => ("ShipmentCharges", price.total),
        };
        let tax = (base * rate).round_dp(2);
        results_obj[block]["TaxCharges"] = one_or_many(
            vec![json!({"Type": kind, "MonetaryValue": format!("{tax:.2}")})],
            arrays,
        );
        results_obj[block]["TotalChargesWithTaxes"] = money(currency, base + tax);
    }
    (
        StatusCode::OK,
        Json(json!({"ShipmentResponse": {"Response": response, "ShipmentResults": results_obj}})),
    )
        .into_response()
}
