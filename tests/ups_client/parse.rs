//! UPS response parsers against UPS's own examples (copied into `tests/fixtures/ups/`).

use rust_decimal::Decimal;
use serde_json::Value;

use upsync::model::*;
use upsync::ups::parse::{self, TrackOutcome};

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ups")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn shipment_with_packages(ids: &[&str]) -> Shipment {
    Shipment {
        source: "t".into(),
        record_id: "r".into(),
        number: "000123".into(),
        account_number: "123X56".into(),
        shipper: Party::default(),
        ship_from: None,
        ship_to: Party::default(),
        service: ServiceSelection::Fixed { code: "03".into() },
        packages: ids
            .iter()
            .map(|id| Package {
                erp_line_id: id.to_string(),
                weight: Weight {
                    value: dec("5"),
                    unit: WeightUnit::Lbs,
                },
                dimensions: None,
                packaging: "02".into(),
                description: None,
                declared_value: None,
            })
            .collect(),
        references: vec![],
        description: None,
        label: LabelSpec {
            format: LabelFormat::Gif,
            stock_size: None,
        },
        notifications: vec![],
        international: None,
        ship_date: None,
        negotiated_rates: true,
        billing: Default::default(),
        tax_information: false,
        return_service: None,
    }
}

const GIF_1X1: &[u8] = b"GIF89a";

#[test]
fn ship_single_package_current_array_form() {
    let sh = shipment_with_packages(&["line-1"]);
    let r = parse::ship_response(&fixture("ship-response-single-package.json"), &sh, "03").unwrap();
    assert_eq!(r.shipment_id, "1Z123X560300000018");
    assert_eq!(r.service_code, "03");
    assert_eq!(r.packages.len(), 1);
    assert_eq!(r.packages[0].tracking_number, "1Z123X560300000018");
    assert_eq!(r.packages[0].erp_line_id, "line-1");
    let label = r.packages[0].label.as_ref().unwrap();
    assert_eq!(label.format, LabelFormat::Gif);
    assert!(
        label.data.starts_with(GIF_1X1),
        "base64 decoded to GIF bytes"
    );
    assert_eq!(r.charges.total.as_ref().unwrap().amount, dec("13.58"));
    assert_eq!(r.charges.total.as_ref().unwrap().currency, "USD");
    assert_eq!(r.charges.negotiated, None);
    assert_eq!(r.alerts.len(), 1);
    assert_eq!(r.alerts[0].code, "120900");
}

#[test]
fn ship_single_package_legacy_object_form_parses_the_same() {
    let sh = shipment_with_packages(&["line-1"]);
    let a = parse::ship_response(&fixture("ship-response-single-package.json"), &sh, "03").unwrap();
    let b = parse::ship_response(
        &fixture("ship-response-single-package-legacy-object.json"),
        &sh,
        "03",
    )
    .unwrap();
    assert_eq!(
        a, b,
        "bare objects (PackageResults, Alert) read as one-item lists"
    );
}

#[test]
fn ship_two_packages_match_erp_lines_by_order_and_negotiated_total_is_singular() {
    let sh = shipment_with_packages(&["A", "B"]);
    let r = parse::ship_response(&fixture("ship-response-two-packages.json"), &sh, "01").unwrap();
    assert_eq!(r.shipment_id, "1Z123X560100000030");
    let ids: Vec<(&str, &str)> = r
        .packages
        .iter()
        .map(|p| (p.tracking_number.as_str(), p.erp_line_id.as_str()))
        .collect();
    assert_eq!(
        ids,
        vec![("1Z123X560100000030", "A"), ("1Z123X560100000049", "B")]
    );
    assert_eq!(r.charges.total.as_ref().unwrap().amount, dec("98.40"));
    assert_eq!(r.charges.negotiated.as_ref().unwrap().amount, dec("71.22"));
    assert_eq!(r.charges.effective().unwrap().amount, dec("71.22"));
    assert!(r.alerts.is_empty());
    for p in &r.packages {
        assert!(upsync::ups::wire::is_valid_1z(&p.tracking_number));
    }
}

#[test]
fn ship_package_count_mismatch_is_an_error() {
    let sh = shipment_with_packages(&["A", "B", "C"]);
    assert!(parse::ship_response(&fixture("ship-response-two-packages.json"), &sh, "01").is_err());
}

#[test]
fn rate_shop_response() {
    let q = parse::rate_response(&fixture("rate-shop-response.json")).unwrap();
    assert_eq!(q.len(), 2);
    assert_eq!(q[0].service_code, "03");
    assert_eq!(q[0].charges.total.as_ref().unwrap().amount, dec("13.58"));
    assert_eq!(
        q[0].charges.negotiated.as_ref().unwrap().amount,
        dec("10.12")
    );
    assert_eq!(q[0].business_days, None);
    assert!(!q[0].guaranteed);
    assert_eq!(q[1].service_code, "01");
    assert_eq!(
        q[1].charges.negotiated.as_ref().unwrap().amount,
        dec("44.90")
    );
    assert_eq!(q[1].business_days, Some(1));
    assert!(q[1].guaranteed);
}

#[test]
fn rate_single_rated_shipment_object_and_time_in_transit() {
    let v: Value = serde_json::json!({"RateResponse":{"Response":{"ResponseStatus":{"Code":"1"}},
        "RatedShipment":{"Service":{"Code":"02"},"TotalCharges":{"CurrencyCode":"USD","MonetaryValue":"30.10"},
          "TimeInTransit":{"PickupDate":"20261123","ServiceSummary":{"Service":{"Description":"2ND DAY AIR"},
            "EstimatedArrival":{"Arrival":{"Date":"20261125","Time":"230000"},"BusinessDaysInTransit":"2"}}}}}});
    let q = parse::rate_response(&v).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].service_code, "02");
    assert_eq!(q[0].business_days, Some(2));
    assert_eq!(q[0].charges.negotiated, None);
}

#[test]
fn track_delivered() {
    let out = parse::track_response(
        &fixture("track-response-delivered.json"),
        "1Z123X560300000018",
    )
    .unwrap();
    let TrackOutcome::Found { snapshot, events } = out else {
        panic!("expected Found")
    };
    assert_eq!(snapshot.milestone, Milestone::Delivered);
    assert_eq!(snapshot.received_by.as_deref(), Some("JOHN"));
    assert!(snapshot.signature.as_ref().unwrap().starts_with(GIF_1X1));
    assert_eq!(
        snapshot.delivered_at.unwrap().to_rfc3339(),
        "2024-04-23T13:50:04+00:00"
    );
    assert_eq!(events.len(), 4);
    assert_eq!(events[0].milestone, Milestone::LabelCreated, "oldest first");
    assert_eq!(events[1].milestone, Milestone::PickedUp);
    assert_eq!(events[2].milestone, Milestone::OutForDelivery);
    assert_eq!(events[3].milestone, Milestone::Delivered);
    assert_eq!(events[3].location.as_deref(), Some("CHARLOTTE, NC, US"));
    assert_eq!(snapshot.latest.as_ref(), events.last());
    assert!(events.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn track_not_found_is_not_yet() {
    let out = parse::track_response(
        &fixture("track-response-not-found.json"),
        "1Z123X560100000058",
    )
    .unwrap();
    assert_eq!(out, TrackOutcome::NotYet);
    let refs = parse::track_reference_response(&fixture("track-response-not-found.json")).unwrap();
    assert!(refs.is_empty());
}

#[test]
fn track_by_reference_lists_tracking_numbers() {
    let refs = parse::track_reference_response(&fixture("track-response-delivered.json")).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].tracking_numbers, vec!["1Z123X560300000018"]);
    assert_eq!(refs[0].references, vec!["PO-1001"]);
    assert_eq!(refs[0].milestone, Some(Milestone::Delivered));
}

#[test]
fn xav_residential() {
    let c = parse::xav_response(&fixture("xav-response-residential.json")).unwrap();
    let AddressCheck::Valid {
        residential,
        candidate,
    } = c
    else {
        panic!("expected Valid, got {c:?}")
    };
    assert_eq!(residential, Some(true));
    let a = candidate.unwrap();
    assert_eq!(a.lines, vec!["26601 ALISO CREEK RD"]);
    assert_eq!(a.city, "ALISO VIEJO");
    assert_eq!(a.state, "CA");
    assert_eq!(a.postal_code, "92656-1521");
    assert_eq!(a.country, "US");
}

#[test]
fn xav_ambiguous_and_no_candidates_and_v1_string_address_line() {
    let v: Value = serde_json::json!({"XAVResponse":{"Response":{"ResponseStatus":{"Code":"1"}},
        "AmbiguousAddressIndicator":"",
        "Candidate":[{"AddressKeyFormat":{"AddressLine":"1 A ST","PoliticalDivision2":"X","PoliticalDivision1":"NY","PostcodePrimaryLow":"10001","CountryCode":"US"}},
                     {"AddressKeyFormat":{"AddressLine":["1 A AVE"],"PoliticalDivision2":"X","PoliticalDivision1":"NY","PostcodePrimaryLow":"10002","CountryCode":"US"}}]}});
    let AddressCheck::Ambiguous { candidates } = parse::xav_response(&v).unwrap() else {
        panic!()
    };
    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[0].lines, vec!["1 A ST"]);
    let v: Value = serde_json::json!({"XAVResponse":{"Response":{"ResponseStatus":{"Code":"1"}},"NoCandidatesIndicator":""}});
    assert_eq!(parse::xav_response(&v).unwrap(), AddressCheck::NoCandidates);
}

#[test]
fn void_response() {
    let r = parse::void_response(&fixture("void-response.json")).unwrap();
    assert!(r.voided());
    assert_eq!(r.status_description, "Voided");
    let v: Value = serde_json::json!({"VoidShipmentResponse":{"Response":{"ResponseStatus":{"Code":"1"}},
        "SummaryResult":{"Status":{"Code":"1","Description":"Voided"}},
        "PackageLevelResults":{"TrackingNumber":"1Z123X560100000049","Status":{"Code":"1","Description":"Voided"}}}});
    let r = parse::void_response(&v).unwrap();
    assert_eq!(r.packages, vec![("1Z123X560100000049".to_string(), true)]);
}

#[test]
fn label_recovery_response_decodes_labels() {
    let v: Value = serde_json::json!({"LabelRecoveryResponse":{"Response":{"ResponseStatus":{"Code":"1"}},
        "ShipmentIdentificationNumber":"1Z123X560300000018",
        "LabelResults":{"TrackingNumber":"1Z123X560300000018","LabelImage":{"LabelImageFormat":{"Code":"ZPL"},"GraphicImage":"XlhBXkZEMVoxMjNeRlNeWFo="}}}});
    let r = parse::label_recovery_response(&v, LabelFormat::Gif).unwrap();
    assert_eq!(r.shipment_id.as_deref(), Some("1Z123X560300000018"));
    let l = r.packages[0].label.as_ref().unwrap();
    assert_eq!(l.format, LabelFormat::Zpl);
    assert_eq!(l.data, b"^XA^FD1Z123^FS^XZ");
}

#[test]
fn trackalert_and_token_and_errors() {
    let r =
        parse::subscription_response(&fixture("trackalert-subscription-response.json")).unwrap();
    assert_eq!(r.valid, vec!["1ZCIETST0111111114"]);
    assert_eq!(r.invalid, vec!["1Z1234567$8"]);
    let t = parse::token_response(&fixture("oauth-token-response.json")).unwrap();
    assert_eq!(t.expires_in_seconds, 14399);
    let f = parse::faults(&fixture("error-response.json"));
    assert_eq!(f[0].code, "250002");
    let f = parse::faults(&fixture("error-rate-limited.json"));
    assert_eq!(f[0].code, "10429");
}

/// A package waiting at a UPS Access Point, in both shapes the simulator produces (the
/// documents leave it open [ext]): type `D` or `I` with code `KB` / statusCode `040`, and a
/// `DEL` delivery date beside the `D` one. Neither is "delivered" until the `KM` pickup.
#[test]
fn track_access_point_is_available_for_pickup_not_delivered() {
    for ty in ["D", "I"] {
        let kb = serde_json::json!({"type": ty, "code": "KB", "statusCode": "040",
            "description": "Delivered to UPS Access Point™. Awaiting customer pickup."});
        let ot = serde_json::json!({"type": "I", "code": "OT", "statusCode": "021", "description": "Out For Delivery Today"});
        let mut pkg = serde_json::json!({
            "trackingNumber": "1Z123X560300000018",
            "currentStatus": kb,
            "activity": [
                {"status": kb, "date": "20261208", "time": "113800", "gmtDate": "20261208", "gmtTime": "163800", "gmtOffset": "-05:00"},
                {"status": ot, "date": "20261208", "time": "083000", "gmtDate": "20261208", "gmtTime": "133000", "gmtOffset": "-05:00"},
            ],
            "accessPointInformation": {"pickupByDate": "20261215"},
        });
        if ty == "D" {
            pkg["deliveryDate"] = serde_json::json!([{"type": "DEL", "date": "20261208"}]);
        }
        let v = serde_json::json!({"trackResponse": {"shipment": [{"inquiryNumber": "1Z123X560300000018", "package": [pkg]}]}});
        let TrackOutcome::Found { snapshot, events } =
            parse::track_response(&v, "1Z123X560300000018").unwrap()
        else {
            panic!("expected Found")
        };
        assert_eq!(
            snapshot.milestone,
            Milestone::AvailableForPickup,
            "type {ty}"
        );
        assert_eq!(events[1].milestone, Milestone::AvailableForPickup);
        assert_eq!(events[1].status_number, "040");
        assert_eq!(snapshot.delivered_at, None);
    }
}
