//! Returns (issue 20, docs/returns.md): a return mapping swaps the parties as UPS wants,
//! builds a schema-valid Ship request with `ReturnService`, and each rule UPS applies to
//! returns is checked before the call with its own code, naming the record, the field and
//! the fix (the record then waits, dead-lettered with that code).

use serde_json::{json, Value};

use upsync::mapping::{Mapping, RecordError};
use upsync::sim::ups::schema::{validate, BodySchema};

const RET: &str = "mappings/acumatica-return.yaml";

fn ret() -> Mapping {
    Mapping::load(RET).expect("bundled return mapping loads")
}

fn variant(from: &str, to: &str) -> Mapping {
    let text = std::fs::read_to_string(RET).unwrap();
    let changed = text.replacen(from, to, 1);
    assert_ne!(changed, text, "replacement {from:?} must apply");
    Mapping::from_str(&changed, "variant.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn receipt() -> Value {
    json!({
        "id": "guid-r1", "ShipmentNbr": "RT0001", "Operation": "Receipt", "Status": "Open",
        "ShipVia": "UPSGROUND", "WarehouseID": "MAIN",
        "ShippingSettings": {
            "ShipToAddress": {"AddressLine1": "123 Main St", "City": "Alpharetta", "State": "GA",
                              "PostalCode": "30005", "Country": "US"},
            "ShipToContact": {"BusinessName": "Happy Dog Pet Supply", "Attention": "Receiving",
                              "Phone1": "9225377171", "Email": "dog@example.com"}},
        "Packages": [{"id": "p1", "Weight": 5.0, "UOM": "LB", "Length": 12, "Width": 10, "Height": 8,
                      "Description": "Return of SO1"}],
        "Orders": [{"OrderType": "RC", "OrderNbr": "RC007001"}],
        "custom": {"Document": {"UsrOrigShipmentID": "guid-outbound"}}
    })
}

/// The one error of mapping `data`, which must have exactly `code`.
fn only_error(m: &Mapping, data: Value, code: &str) -> RecordError {
    let r = m.record_from_data("test", data);
    let errs = m.to_shipment(&r).expect_err("must be refused").0;
    let codes: Vec<&str> = errs.iter().map(|e| e.code.as_str()).collect();
    assert_eq!(codes, vec![code], "{errs:?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn a_receipt_becomes_a_schema_valid_return_request_with_the_parties_swapped() {
    let m = ret();
    let s = m
        .to_shipment(&m.record_from_data("test", receipt()))
        .unwrap();
    let rs = s.return_service.as_ref().unwrap();
    assert_eq!(rs.code, "9");
    assert_eq!(s.ship_from.as_ref().unwrap().name, "Happy Dog Pet Supply");
    assert_eq!(s.ship_to.name, "Example Supply Co");
    assert_eq!(s.shipper.name, "Example Supply Co");
    assert!(s
        .references
        .iter()
        .any(|r| r.code == "RZ" && r.value == "RC007001"));
    let mut body = upsync::ups::build::ship_request(&s, &Default::default());
    let sh = &body["ShipmentRequest"]["Shipment"];
    assert_eq!(sh["ReturnService"]["Code"], "9");
    assert_eq!(sh["ShipFrom"]["Address"]["City"], "Alpharetta");
    assert_eq!(sh["ShipTo"]["Address"]["City"], "Timonium");
    assert_eq!(sh["Shipper"]["ShipperNumber"], "123X56");
    assert_eq!(sh["Package"][0]["Description"], "Return of SO1");
    validate(BodySchema::Ship, &mut body, false).expect("valid against Shipping.yaml");
}

#[test]
fn an_electronic_return_label_asks_ups_to_email_it() {
    let m = variant("  code: 9\n", "  code: 8\n");
    let s = m
        .to_shipment(&m.record_from_data("test", receipt()))
        .unwrap();
    let mut body = upsync::ups::build::ship_request(&s, &Default::default());
    assert_eq!(
        body["ShipmentRequest"]["Shipment"]["ShipmentServiceOptions"]["LabelDelivery"]["EMail"]
            ["EMailAddress"],
        "dog@example.com"
    );
    validate(BodySchema::Ship, &mut body, false).expect("valid against Shipping.yaml");
}

#[test]
fn a_package_without_description_is_refused_naming_the_field() {
    let mut d = receipt();
    d["Packages"][0]["Description"] = Value::Null;
    let e = only_error(&ret(), d, "return_package_description_missing");
    assert_eq!(e.record_id, "guid-r1");
    assert_eq!(e.field.as_deref(), Some("Packages[0].Description"));
    assert!(e.fix.contains("description"), "{}", e.fix);
}

#[test]
fn more_than_one_package_from_a_us_customer_is_refused() {
    let mut d = receipt();
    let p = d["Packages"][0].clone();
    d["Packages"] = json!([p.clone(), p]);
    d["Packages"][1]["id"] = json!("p2");
    let e = only_error(&ret(), d, "return_package_count_invalid");
    assert!(
        e.message.contains("2 packages") && e.message.contains("US"),
        "{}",
        e.message
    );
    assert!(e.fix.contains("one return per package"), "{}", e.fix);
}

#[test]
fn a_service_ups_does_not_offer_for_returns_is_refused() {
    let m = variant("UPSGROUND: \"03\"", "UPSGROUND: \"13\"");
    let e = only_error(&m, receipt(), "return_service_not_allowed");
    assert_eq!(e.field.as_deref(), Some("ShipVia"));
    assert!(e.message.contains("13"), "{}", e.message);
}

#[test]
fn an_electronic_label_without_email_is_refused() {
    let m = variant("  code: 9\n", "  code: 8\n");
    let mut d = receipt();
    d["ShippingSettings"]["ShipToContact"]["Email"] = Value::Null;
    let e = only_error(&m, d, "return_label_email_missing");
    assert_eq!(e.key, "return_service.label_email");
    assert_eq!(
        e.field.as_deref(),
        Some("ShippingSettings.ShipToContact.Email")
    );
}

#[test]
fn an_unknown_return_service_code_is_refused() {
    let m = variant("  code: 9\n", "  code: 4\n");
    let e = only_error(&m, receipt(), "return_service_code_invalid");
    assert_eq!(e.key, "return_service.code");
    assert!(e.fix.contains("9 (print return label)"), "{}", e.fix);
}

#[test]
fn billing_the_receiver_for_a_return_is_refused() {
    let m = variant(
        "negotiated_rates: true\n",
        "negotiated_rates: true\nbilling:\n  transportation:\n    payer: {literal: receiver}\n    account: {literal: R12345}\n    postal_code: {literal: \"30005\"}\n    country: {literal: US}\n",
    );
    let e = only_error(&m, receipt(), "return_bill_receiver_not_allowed");
    assert!(e.fix.contains("bill the shipper"), "{}", e.fix);
}

/// The outbound mapping's `auto_return:` makes a return of a flagged shipment only, with
/// the return rules applied (two packages from the US: refused, the outbound unaffected).
#[test]
fn auto_return_follows_its_condition_and_the_return_rules() {
    let m = Mapping::load("mappings/acumatica-shipment.yaml").unwrap();
    let mut d = receipt();
    d["ShipmentNbr"] = json!("000777");
    d["Operation"] = json!("Issue");
    d["Packages"][0]["Description"] = Value::Null;
    let r = m.record_from_data("test", d.clone());
    assert!(
        m.auto_return_shipment(&r).is_none(),
        "not flagged: no return"
    );
    d["custom"]["Document"]["UsrUpsAutoReturn"] = json!(true);
    let r = m.record_from_data("test", d.clone());
    let s = m.auto_return_shipment(&r).unwrap().unwrap();
    assert_eq!(s.return_service.as_ref().unwrap().code, "9");
    assert_eq!(
        s.packages[0].description.as_deref(),
        Some("Returned merchandise")
    );
    assert_eq!(s.ship_from.as_ref().unwrap().address.city, "Alpharetta");
    let p = d["Packages"][0].clone();
    d["Packages"] = json!([p.clone(), p]);
    d["Packages"][1]["id"] = json!("p2");
    let r = m.record_from_data("test", d);
    assert!(m.to_shipment(&r).is_ok(), "the outbound ships");
    let errs = m.auto_return_shipment(&r).unwrap().unwrap_err().0;
    assert_eq!(errs[0].code, "return_package_count_invalid");
}
