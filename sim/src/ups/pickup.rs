//! Pickup API (Pickup.yaml `v2409`, UPS-REFERENCE §9): on-call pickup creation, pending
//! status, cancel by PRN. Creation bodies are validated against
//! `PICKUPCreationRequestWrapper` (with the load-time corrections of `schema.rs`).
//!
//! * `POST /api/pickupcreation/{version}/pickup` → `PickupCreationResponse{Response, PRN,
//!   RateStatus}`. "Same PRN will be returned if a pickup request already exists for a
//!   pickup address/point" (Pickup.yaml `PickupCreationResponse.PRN`): a second request for
//!   the same account, postal code and date answers the existing PRN and books nothing.
//! * `GET /api/shipments/{version}/pickup/{oncall|smart|both}` with header `AccountNumber`
//!   → `PickupPendingStatusResponse{Response, PendingStatus[]}`: the account's pickups not
//!   cancelled, from yesterday on (each with its `ReferenceNumber`, as the schema allows).
//! * `DELETE /api/shipments/{version}/pickup/{CancelBy}` with `CancelBy` `02` and header
//!   `Prn` → `PickupCancelResponse{Response, PickupType "01"}`.
//!
//! Errors (UPS's `{"response":{"errors":[…]}}`; the codes are modelled — Pickup.yaml
//! declares only 400 "Invalid Request" with `ErrorResponse`):
//!
//! | HTTP | code | when |
//! |------|------|------|
//! | 400 | `10002` | schema violation (the message names the field) |
//! | 400 | `9500510` | `PickupDate` not a date, or before the caller's day (yesterday, any time zone) |
//! | 400 | `9500511` | `PickupDate` more than 7 days ahead |
//! | 400 | `9500512` | `CloseTime` not after `ReadyTime` |
//! | 400 | `9500530` | `Shipper.Account.AccountNumber` / `AccountNumber` header not an account of the client |
//! | 400 | `9500540` | pending status without the `AccountNumber` header, or an unknown pickup type |
//! | 400 | `9500520` | cancel: no pickup with that PRN (or `Prn` header missing) |
//! | 400 | `9500521` | cancel: the pickup is already cancelled |
//! | 400 | `9500522` | cancel: `CancelBy` other than `02` |
//!
//! Faults: the gateway's, per operation `pickup` (creation), `pickup_status`,
//! `pickup_cancel`; `drop-after-commit` on `pickup` books the pickup and loses the answer.
//! Counters: `pickup.created` (new bookings), `pickup.repeated` (same PRN answered again),
//! `pickup.cancelled`. Admin: `GET /_sim/ups/pickups` lists every pickup.

use std::sync::{Arc, Mutex};

use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use super::state::UpsState;
use super::{check_schema, header, parse_json, schema, ups_error, Caller};

/// One booked pickup.
#[derive(Debug, Clone, Serialize)]
pub struct SimPickup {
    pub prn: String,
    pub client_id: String,
    pub account_number: String,
    pub postal_code: String,
    pub date: NaiveDate,
    pub ready_time: String,
    pub close_time: String,
    pub reference: Option<String>,
    pub contact_name: Option<String>,
    pub packages: u32,
    pub total_weight: Option<String>,
    pub created_at: DateTime<Utc>,
    pub cancelled: bool,
}

/// Every pickup of this simulator.
#[derive(Debug, Default)]
pub struct Pickups {
    list: Mutex<Vec<SimPickup>>,
}

impl Pickups {
    pub fn all(&self) -> Vec<SimPickup> {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn bad(code: &str, message: &str) -> Response {
    ups_error(StatusCode::BAD_REQUEST, code, message)
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        _ => None,
    }
}

fn success() -> Value {
    json!({"ResponseStatus": {"Code": "1", "Description": "Success"}})
}

/// `POST /api/pickupcreation/{version}/pickup`.
pub async fn create(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(_version): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut v = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = check_schema(&st, schema::BodySchema::PickupCreation, &mut v) {
        return r;
    }
    let r = &v["PickupCreationRequest"];
    let account = text(r, "/Shipper/Account/AccountNumber").unwrap_or_default();
    if !caller
        .accounts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&account))
    {
        return bad(
            "9500530",
            "The shipper account number is missing or not authorized for this client",
        );
    }
    let today = st.now().date_naive();
    let Some(date) = text(r, "/PickupDateInfo/PickupDate")
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y%m%d").ok())
    else {
        return bad("9500510", "Invalid pickup date");
    };
    // The pickup date is local to the address; the simulator knows no time zone, so
    // "today" is allowed one day either side of its UTC date.
    if date < today - Duration::days(1) {
        return bad("9500510", "The pickup date is in the past");
    }
    if date > today + Duration::days(8) {
        return bad(
            "9500511",
            "The pickup date is too far in the future (at most 7 days ahead)",
        );
    }
    let time = |p: &str| {
        text(r, p).and_then(|t| NaiveTime::parse_from_str(&format!("{t}00"), "%H%M%S").ok())
    };
    match (
        time("/PickupDateInfo/ReadyTime"),
        time("/PickupDateInfo/CloseTime"),
    ) {
        (Some(ready), Some(close)) if close > ready => {}
        _ => {
            return bad(
                "9500512",
                "Invalid ReadyTime or CloseTime: the close time must be later than the ready time (HHmm)",
            )
        }
    }
    let postal = text(r, "/PickupAddress/PostalCode").unwrap_or_default();
    let packages: u32 = r["PickupPiece"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p["Quantity"].as_str()?.trim().parse::<u32>().ok())
                .sum()
        })
        .unwrap_or(0);
    let mut list = st.pickups.list.lock().unwrap_or_else(|e| e.into_inner());
    let existing = list
        .iter()
        .find(|p| {
            !p.cancelled
                && p.account_number.eq_ignore_ascii_case(&account)
                && p.postal_code == postal
                && p.date == date
        })
        .map(|p| p.prn.clone());
    let prn = match existing {
        Some(prn) => {
            st.core.stats.incr("pickup.repeated");
            prn
        }
        None => {
            let prn = format!("29{:09X}", 0x602E_9C00u64 + list.len() as u64);
            list.push(SimPickup {
                prn: prn.clone(),
                client_id: caller.client_id.clone(),
                account_number: account.to_ascii_uppercase(),
                postal_code: postal,
                date,
                ready_time: text(r, "/PickupDateInfo/ReadyTime").unwrap_or_default(),
                close_time: text(r, "/PickupDateInfo/CloseTime").unwrap_or_default(),
                reference: text(r, "/ReferenceNumber"),
                contact_name: text(r, "/PickupAddress/ContactName"),
                packages,
                total_weight: text(r, "/TotalWeight/Weight"),
                created_at: st.now(),
                cancelled: false,
            });
            st.core.stats.incr("pickup.created");
            prn
        }
    };
    drop(list);
    Json(json!({"PickupCreationResponse": {
        "Response": success(),
        "PRN": prn,
        "RateStatus": {"Code": "01", "Description": "Rated"},
    }}))
    .into_response()
}

/// `GET /api/shipments/{version}/pickup/{pickuptype}` (pending status).
pub async fn pending(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path((_version, kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !matches!(kind.as_str(), "oncall" | "smart" | "both") {
        return bad(
            "9500540",
            "Invalid pickup type; valid values: oncall, smart, both",
        );
    }
    let Some(account) = header(&headers, "AccountNumber") else {
        return bad("9500540", "Missing AccountNumber header");
    };
    if !caller
        .accounts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(account))
    {
        return bad(
            "9500530",
            "The account number is not authorized for this client",
        );
    }
    let from = st.now().date_naive() - Duration::days(1);
    let pending: Vec<Value> = st
        .pickups
        .all()
        .into_iter()
        .filter(|p| {
            !p.cancelled && p.account_number.eq_ignore_ascii_case(account) && p.date >= from
        })
        .filter(|_| kind != "smart")
        .map(|p| {
            let mut e = json!({
                "PickupType": "01",
                "ServiceDate": p.date.format("%Y%m%d").to_string(),
                "PRN": p.prn,
                "OnCallStatusCode": "001",
                "PickupStatusMessage": "Received",
                "BillingCode": "01",
            });
            if let Some(c) = p.contact_name {
                e["ContactName"] = json!(c);
            }
            if let Some(r) = p.reference {
                e["ReferenceNumber"] = json!(r);
            }
            e
        })
        .collect();
    Json(json!({"PickupPendingStatusResponse": {
        "Response": success(),
        "PendingStatus": pending,
    }}))
    .into_response()
}

/// `DELETE /api/shipments/{version}/pickup/{CancelBy}` (cancel by PRN).
pub async fn cancel(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path((_version, cancel_by)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if cancel_by != "02" {
        return bad(
            "9500522",
            "Only CancelBy 02 (PRN) is supported; send the PRN in the Prn header",
        );
    }
    let Some(prn) = header(&headers, "Prn") else {
        return bad("9500520", "Missing Prn header");
    };
    let mut list = st.pickups.list.lock().unwrap_or_else(|e| e.into_inner());
    let Some(p) = list.iter_mut().find(|p| {
        p.prn.eq_ignore_ascii_case(prn)
            && caller
                .accounts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&p.account_number))
    }) else {
        return bad("9500520", "No pickup found with this PRN");
    };
    if p.cancelled {
        return bad("9500521", "The pickup has already been cancelled");
    }
    p.cancelled = true;
    drop(list);
    st.core.stats.incr("pickup.cancelled");
    Json(json!({"PickupCancelResponse": {
        "Response": success(),
        "PickupType": "01",
    }}))
    .into_response()
}

/// `GET /_sim/ups/pickups`: every pickup, oldest first.
pub async fn dump(State(st): State<Arc<UpsState>>) -> Response {
    Json(st.pickups.all()).into_response()
}
