//! Pickup (Pickup.yaml, `v2409`; UPS-REFERENCE §9): the on-call pickup creation request
//! from a [`PickupRequest`], and the creation, pending-status and cancel answers. Pure.
//!
//! Spec notes the builder follows:
//! * `PickupDateInfo.PickupDate` is `yyyyMMdd` (the schema's `maxLength: 4` is a bug,
//!   UPS-REFERENCE §9); `ReadyTime`/`CloseTime` are `HHmm` local to the pickup address.
//! * `PickupPiece.ServiceCode` is 3 characters (`"003"` for Ground `03`), `Quantity` ≤ 3
//!   digits, `ContainerCode` `01` (package).
//! * `TotalWeight.Weight` is declared with exactly 6 characters while the spec's example
//!   sends `"5.5"`: the builder sends a zero-padded `0010.5`, which fits both readings.
//! * `ReferenceNumber` (≤35) carries upsync's pickup reference: the pending list echoes
//!   it (`PendingStatus.ReferenceNumber`), which is how an in-doubt request is found.

use super::*;
use crate::model::{PendingPickup, PickupRequest};

use super::ship::BuildProblem;

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Local checks before the call (what the schema requires and a request cannot lack).
pub fn check_pickup(r: &PickupRequest) -> Vec<BuildProblem> {
    let mut p = Vec::new();
    let mut bad = |field: &str, message: &str| {
        p.push(BuildProblem {
            field: field.into(),
            message: message.into(),
        })
    };
    if r.pieces.is_empty() {
        bad(
            "PickupCreationRequest.PickupPiece",
            "a pickup needs at least one package",
        );
    }
    let phone = r.address.phone.as_deref().unwrap_or("").trim().to_string();
    if phone.is_empty() {
        bad(
            "PickupCreationRequest.PickupAddress.Phone.Number",
            "the pickup address has no phone: give the mapping's ship_from entry a `phone:`",
        );
    }
    if r.address.address.lines.iter().all(|l| l.trim().is_empty()) {
        bad(
            "PickupCreationRequest.PickupAddress.AddressLine",
            "the pickup address has no street line",
        );
    }
    p
}

/// `{"PickupCreationRequest": …}` for an on-call pickup paid by the shipper's account.
pub fn pickup_creation_request(r: &PickupRequest, sub_version: Option<&str>) -> Value {
    let a = &r.address;
    let lines: Vec<Value> = a
        .address
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| s(cut(l, 73)))
        .collect();
    let mut address = Map::new();
    address.insert("CompanyName".into(), s(cut(&a.name, 27)));
    address.insert(
        "ContactName".into(),
        s(cut(a.attention.as_deref().unwrap_or(&a.name), 22)),
    );
    address.insert("AddressLine".into(), Value::Array(lines));
    address.insert("City".into(), s(a.address.city.clone()));
    if !a.address.state.trim().is_empty() {
        address.insert("StateProvince".into(), s(a.address.state.clone()));
    }
    if !a.address.postal_code.trim().is_empty() {
        address.insert("PostalCode".into(), s(a.address.postal_code.clone()));
    }
    address.insert("CountryCode".into(), s(a.address.country.clone()));
    address.insert(
        "ResidentialIndicator".into(),
        s(if a.address.residential == Some(true) {
            "Y"
        } else {
            "N"
        }),
    );
    let phone: String = a
        .phone
        .as_deref()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(15)
        .collect();
    address.insert("Phone".into(), json!({ "Number": phone }));
    let pieces: Vec<Value> = r
        .pieces
        .iter()
        .map(|p| {
            json!({
                "ServiceCode": format!("{:0>3}", p.service_code.trim()),
                "Quantity": p.quantity.clamp(1, 999).to_string(),
                "DestinationCountryCode": p.destination_country,
                "ContainerCode": "01",
            })
        })
        .collect();
    let mut request = Map::new();
    if let Some(v) = sub_version {
        request.insert("SubVersion".into(), s(v));
    }
    request.insert(
        "TransactionReference".into(),
        json!({"CustomerContext": r.reference}),
    );
    let weight = r.total_weight_lbs.clamp(0.1, 9999.9);
    json!({
        "PickupCreationRequest": {
            "Request": Value::Object(request),
            "RatePickupIndicator": "N",
            "Shipper": {"Account": {
                "AccountNumber": r.account_number,
                "AccountCountryCode": a.address.country,
            }},
            "PickupDateInfo": {
                "CloseTime": r.close_time.format("%H%M").to_string(),
                "ReadyTime": r.ready_time.format("%H%M").to_string(),
                "PickupDate": ups_date(r.date),
            },
            "PickupAddress": Value::Object(address),
            "AlternateAddressIndicator": "N",
            "PickupPiece": pieces,
            "TotalWeight": {"Weight": format!("{weight:06.1}"), "UnitOfMeasurement": "LBS"},
            "OverweightIndicator": "N",
            "PaymentMethod": "01",
            "ReferenceNumber": cut(&r.reference, 35),
        }
    })
}

#[derive(Debug, Deserialize)]
struct CreationEnvelope {
    #[serde(rename = "PickupCreationResponse")]
    response: CreationResponse,
}

#[derive(Debug, Deserialize)]
struct CreationResponse {
    #[serde(rename = "PRN", default, deserialize_with = "lenient_string")]
    prn: String,
}

/// The PRN of a creation answer.
pub fn pickup_creation_response(v: &Value) -> Result<String, ParseError> {
    let env: CreationEnvelope = from_value(v, "PickupCreationResponse")?;
    let prn = env.response.prn.trim().to_string();
    if prn.is_empty() {
        return Err(ParseError("PickupCreationResponse.PRN is missing".into()));
    }
    Ok(prn)
}

#[derive(Debug, Deserialize)]
struct PendingEnvelope {
    #[serde(rename = "PickupPendingStatusResponse")]
    response: PendingResponse,
}

#[derive(Debug, Deserialize)]
struct PendingResponse {
    #[serde(rename = "PendingStatus", default, deserialize_with = "one_or_many")]
    pending: Vec<PendingStatus>,
}

#[derive(Debug, Deserialize)]
struct PendingStatus {
    #[serde(rename = "PRN", default, deserialize_with = "lenient_string")]
    prn: String,
    #[serde(rename = "ServiceDate", default, deserialize_with = "lenient_string")]
    service_date: String,
    #[serde(
        rename = "ReferenceNumber",
        default,
        deserialize_with = "lenient_string"
    )]
    reference: String,
    #[serde(
        rename = "PickupStatusMessage",
        default,
        deserialize_with = "lenient_string"
    )]
    message: String,
}

/// The pending pickups of a status answer.
pub fn pickup_pending_response(v: &Value) -> Result<Vec<PendingPickup>, ParseError> {
    let env: PendingEnvelope = from_value(v, "PickupPendingStatusResponse")?;
    Ok(env
        .response
        .pending
        .into_iter()
        .filter(|p| !p.prn.trim().is_empty())
        .map(|p| PendingPickup {
            prn: p.prn.trim().to_string(),
            service_date: parse_ups_date(&p.service_date),
            reference: Some(p.reference.trim().to_string()).filter(|r| !r.is_empty()),
            status: p.message,
        })
        .collect())
}

/// Whether a cancel answer says success (`Response.ResponseStatus.Code` `1`).
pub fn pickup_cancel_response(v: &Value) -> Result<bool, ParseError> {
    let code = v
        .pointer("/PickupCancelResponse/Response/ResponseStatus/Code")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ParseError("PickupCancelResponse.Response.ResponseStatus.Code is missing".into())
        })?;
    Ok(code.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Party, PickupPiece};
    use chrono::NaiveTime;

    fn request() -> PickupRequest {
        PickupRequest {
            account_number: "123X56".into(),
            address: Party {
                name: "Example Supply Company Incorporated".into(),
                attention: Some("Shipping Dept".into()),
                phone: Some("(410) 555-0100".into()),
                email: None,
                tax_id: None,
                address: Address {
                    lines: vec!["2311 York Rd".into()],
                    city: "Timonium".into(),
                    state: "MD".into(),
                    postal_code: "21093".into(),
                    country: "US".into(),
                    residential: None,
                    po_box: false,
                },
            },
            date: "2026-12-08".parse().unwrap(),
            ready_time: NaiveTime::from_hms_opt(17, 0, 0).unwrap(),
            close_time: NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
            pieces: vec![PickupPiece {
                service_code: "03".into(),
                destination_country: "US".into(),
                quantity: 3,
            }],
            total_weight_lbs: 17.5,
            reference: "UPSYNCP0123456789ABCD".into(),
        }
    }

    #[test]
    fn the_creation_request_uses_ups_formats() {
        let v = pickup_creation_request(&request(), Some("2409"));
        let r = &v["PickupCreationRequest"];
        assert_eq!(r["PickupDateInfo"]["PickupDate"], "20261208");
        assert_eq!(r["PickupDateInfo"]["ReadyTime"], "1700");
        assert_eq!(r["PickupPiece"][0]["ServiceCode"], "003");
        assert_eq!(r["PickupPiece"][0]["Quantity"], "3");
        assert_eq!(r["TotalWeight"]["Weight"], "0017.5");
        assert_eq!(
            r["PickupAddress"]["CompanyName"],
            "Example Supply Company Inco"
        );
        assert_eq!(r["PickupAddress"]["Phone"]["Number"], "4105550100");
        assert_eq!(r["ReferenceNumber"], "UPSYNCP0123456789ABCD");
        assert!(check_pickup(&request()).is_empty());
    }

    #[test]
    fn answers_are_read_in_both_shapes() {
        let prn = pickup_creation_response(&json!({"PickupCreationResponse": {
            "Response": {"ResponseStatus": {"Code": "1"}}, "PRN": "2929602E9CP",
            "RateStatus": {"Code": "01"}}}))
        .unwrap();
        assert_eq!(prn, "2929602E9CP");
        // A single pending pickup as a bare object (older shapes) and as an array.
        for pending in [
            json!({"PRN": "2929602E9CP", "ServiceDate": "20261208", "PickupType": "01",
                   "PickupStatusMessage": "Received", "ReferenceNumber": "UPSYNCPX"}),
            json!([{"PRN": "2929602E9CP", "ServiceDate": "20261208", "PickupType": "01",
                   "PickupStatusMessage": "Received", "ReferenceNumber": "UPSYNCPX"}]),
        ] {
            let list = pickup_pending_response(&json!({"PickupPendingStatusResponse": {
                "Response": {"ResponseStatus": {"Code": "1"}}, "PendingStatus": pending}}))
            .unwrap();
            assert_eq!(list.len(), 1);
            assert_eq!(list[0].reference.as_deref(), Some("UPSYNCPX"));
            assert_eq!(list[0].service_date, "2026-12-08".parse().ok());
        }
        assert!(pickup_cancel_response(&json!({"PickupCancelResponse": {
            "Response": {"ResponseStatus": {"Code": "1"}}, "PickupType": "01"}}))
        .unwrap());
    }
}
