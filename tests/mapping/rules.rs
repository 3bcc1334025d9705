//! Every rule check produces its stable code, with record id, ERP field, mapping file and
//! line; plus property-style checks over many generated records.

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use upsync::mapping::{Mapping, RecordErrors};
use upsync::model::{ErpRecord, ServiceSelection, Shipment};

const ACU: &str = "mappings/acumatica-shipment.yaml";

fn acu_text() -> String {
    std::fs::read_to_string(ACU).unwrap()
}

fn acu() -> Mapping {
    Mapping::load(ACU).expect("bundled mapping loads")
}

fn variant(from: &str, to: &str) -> Mapping {
    let text = acu_text();
    let changed = text.replacen(from, to, 1);
    assert_ne!(changed, text, "replacement {from:?} must apply");
    Mapping::from_str(&changed, "variant.yaml").unwrap_or_else(|e| panic!("{e}"))
}

fn base() -> Value {
    json!({
        "id": "guid-1", "ShipmentNbr": "000777", "Status": "Open", "ShipVia": "UPSGROUND",
        "WarehouseID": "MAIN", "ShipmentDate": "2026-11-21T00:00:00+00:00", "Description": "Widgets",
        "ShippingSettings": {
            "ShipToAddress": {"AddressLine1": "123 Main St", "AddressLine2": null, "City": "Alpharetta",
                              "State": "GA", "PostalCode": "30005", "Country": "US"},
            "ShipToContact": {"BusinessName": "Happy Dog Pet Supply", "Attention": "Receiving",
                              "Phone1": "9225377171", "Email": null}},
        "Packages": [{"id": "p1", "LineNbr": 1, "BoxID": "LARGE", "Weight": 5.0, "UOM": "LB",
                      "Length": 12, "Width": 10, "Height": 8, "DeclaredValue": 0, "Description": "Box"}],
        "Orders": [{"OrderType": "SO", "OrderNbr": "SO1", "ShipmentNbr": "000777"}],
        "Details": [{"id": "d1", "LineNbr": 1, "InventoryID": "W-A", "Description": "Widget", "ShippedQty": 2, "UOM": "EA",
                     "custom": {"Transactions": {"UsrHSCode": "847130", "UsrOriginCountry": "US", "UsrUnitPrice": 10}}}],
        "custom": {"Document": {"UsrCustomerPO": "PO-1"}}
    })
}

fn rec(m: &Mapping, data: Value) -> ErpRecord {
    m.record_from_data("test", data)
}

fn map(m: &Mapping, data: Value) -> Result<Shipment, RecordErrors> {
    m.to_shipment(&rec(m, data))
}

fn codes(m: &Mapping, data: Value) -> Vec<String> {
    match map(m, data) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|e| e.code.clone()).collect(),
    }
}

fn with(mut v: Value, path: &[&str], new: Value) -> Value {
    let mut cur = &mut v;
    for (i, k) in path.iter().enumerate() {
        if i == path.len() - 1 {
            if let Ok(idx) = k.parse::<usize>() {
                cur[idx] = new;
            } else {
                cur[*k] = new;
            }
            break;
        }
        cur = match k.parse::<usize>() {
            Ok(idx) => &mut cur[idx],
            Err(_) => &mut cur[*k],
        };
    }
    v
}

fn ship_to(v: Value, field: &str, new: Value) -> Value {
    with(v, &["ShippingSettings", "ShipToAddress", field], new)
}

fn contact(v: Value, field: &str, new: Value) -> Value {
    with(v, &["ShippingSettings", "ShipToContact", field], new)
}

fn to_country(v: Value, country: &str, state: Value, postal: &str, via: &str) -> Value {
    let v = ship_to(v, "Country", json!(country));
    let v = ship_to(v, "State", state);
    let v = ship_to(v, "PostalCode", json!(postal));
    with(v, &["ShipVia"], json!(via))
}

fn assert_code(m: &Mapping, data: Value, code: &str) {
    let c = codes(m, data);
    assert!(c.iter().any(|x| x == code), "expected {code}, got {c:?}");
}

#[test]
fn base_record_maps_cleanly() {
    let s = map(&acu(), base()).unwrap();
    assert_eq!(s.account_number, "123X56");
    assert_eq!(s.references.len(), 3);
}

#[test]
fn address_rules() {
    let m = acu();
    assert_code(
        &m,
        ship_to(base(), "PostalCode", json!("3000")),
        "ship_to_postal_code_invalid",
    );
    assert_code(
        &m,
        ship_to(base(), "State", json!("XX")),
        "ship_to_state_invalid",
    );
    assert_code(
        &m,
        ship_to(base(), "City", json!(null)),
        "ship_to_city_missing",
    );
    assert_code(
        &m,
        ship_to(base(), "AddressLine1", json!("")),
        "ship_to_address_missing",
    );
    assert_code(
        &m,
        ship_to(base(), "Country", json!("USA")),
        "ship_to_country_invalid",
    );
    assert_code(
        &m,
        contact(
            contact(base(), "BusinessName", json!(null)),
            "Attention",
            json!(null),
        ),
        "ship_to_name_missing",
    );
    // Canada: A1A 1A1 and a province; PR: 006–009.
    let ca = to_country(base(), "CA", json!("ON"), "K1A 0B1", "UPSSTD");
    assert!(
        codes(&m, ca.clone()).is_empty(),
        "{:?}",
        codes(&m, ca.clone())
    );
    assert_code(
        &m,
        ship_to(ca.clone(), "PostalCode", json!("12345")),
        "ship_to_postal_code_invalid",
    );
    assert_code(
        &m,
        ship_to(ca, "State", json!("XX")),
        "ship_to_state_invalid",
    );
    let pr = to_country(base(), "PR", json!(null), "00907", "UPSGROUND");
    assert!(
        codes(&m, pr.clone()).is_empty(),
        "{:?}",
        codes(&m, pr.clone())
    );
    assert_code(
        &m,
        ship_to(pr, "PostalCode", json!("01001")),
        "ship_to_postal_code_invalid",
    );
}

#[test]
fn length_rules_and_auto_truncate() {
    let long = "A".repeat(40);
    // Bundled mapping auto-truncates names and lines.
    let s = map(&acu(), contact(base(), "BusinessName", json!(long.clone()))).unwrap();
    assert_eq!(s.ship_to.name.chars().count(), 35);
    // Without `truncate:` the rule fires.
    let m = variant(
        "    first_non_empty: [ShippingSettings.ShipToContact.BusinessName, ShippingSettings.ShipToContact.Attention]\n    truncate: 35",
        "    first_non_empty: [ShippingSettings.ShipToContact.BusinessName, ShippingSettings.ShipToContact.Attention]",
    );
    let errs = map(&m, contact(base(), "BusinessName", json!(long))).unwrap_err();
    let e = errs
        .0
        .iter()
        .find(|e| e.code == "name_too_long")
        .expect("name_too_long");
    assert_eq!(e.record_id, "guid-1");
    assert_eq!(
        e.field.as_deref(),
        Some("ShippingSettings.ShipToContact.BusinessName")
    );
    assert_eq!(e.mapping_file, "variant.yaml");
    assert!(e.line > 1);
    assert!(!e.message.contains("AAAA"), "messages never echo names");
    let m = variant(
        "- {path: ShippingSettings.ShipToAddress.AddressLine1, truncate: 35}",
        "- ShippingSettings.ShipToAddress.AddressLine1",
    );
    assert_code(
        &m,
        ship_to(base(), "AddressLine1", json!("9".repeat(36))),
        "address_line_too_long",
    );
    let m = variant(
        "city: {path: ShippingSettings.ShipToAddress.City, truncate: 30}",
        "city: ShippingSettings.ShipToAddress.City",
    );
    assert_code(
        &m,
        ship_to(base(), "City", json!("C".repeat(31))),
        "city_too_long",
    );
}

#[test]
fn phone_rules() {
    let m = acu();
    assert_code(
        &m,
        contact(base(), "Phone1", json!("555-0100")),
        "phone_invalid",
    );
    assert_code(
        &m,
        contact(base(), "Phone1", json!("1234567890123456")),
        "phone_invalid",
    );
    // Domestic: phone optional.
    assert!(codes(&m, contact(base(), "Phone1", json!(null))).is_empty());
    // International: required.
    let gb = to_country(base(), "GB", json!(null), "SW1A 2AA", "UPSWWEXP");
    assert!(
        codes(&m, gb.clone()).is_empty(),
        "{:?}",
        codes(&m, gb.clone())
    );
    assert_code(&m, contact(gb, "Phone1", json!(null)), "phone_missing");
    // Next Day Air Early: required domestically too.
    let m = variant(
        "    UPSNDA: \"01\"\n",
        "    UPSNDA: \"01\"\n    UPSEARLY: \"14\"\n",
    );
    let early = with(
        contact(base(), "Phone1", json!(null)),
        &["ShipVia"],
        json!("UPSEARLY"),
    );
    assert_code(&m, early, "phone_missing");
}

/// Guards issue 15 item 2: UPS refuses an international Ship without
/// `Shipper.AttentionName` ("Required if destination is international", Shipping.yaml), so
/// the mapping rules require it on non-domestic lanes with a clear error naming the
/// `ship_from` entry; domestic lanes still ship without it. Before, the shipper's attention
/// was never required and the record went to UPS to be refused.
#[test]
fn shipper_attention_is_required_on_international_lanes() {
    let m = variant(
        "      name: Example Supply Co\n      attention: Shipping Dept\n",
        "      name: Example Supply Co\n",
    );
    // Domestic: fine without it.
    assert!(codes(&m, base()).is_empty(), "{:?}", codes(&m, base()));
    let gb = to_country(base(), "GB", json!(null), "SW1A 2AA", "UPSWWEXP");
    let e = match map(&m, gb.clone()) {
        Ok(_) => panic!("international without shipper attention must not map"),
        Err(e) => e,
    };
    let v =
        e.0.iter()
            .find(|e| e.code == "shipper_attention_missing")
            .unwrap_or_else(|| panic!("{:?}", e.0));
    assert!(v.key.starts_with("ship_from.entries"), "{}", v.key);
    assert!(v.fix.contains("attention:"), "{}", v.fix);
    assert!(v.message.contains("international"), "{}", v.message);
    // The bundled mapping has it: the same record maps.
    assert!(codes(&acu(), gb).is_empty());
}

#[test]
fn package_rules_name_the_erp_field_and_mapping_line() {
    let m = acu();
    let weight_line = acu_text()
        .lines()
        .position(|l| l.trim_start().starts_with("weight: {value: Weight"))
        .unwrap()
        + 1;
    let mut data = base();
    data["Packages"] = json!([
        {"id": "p1", "Weight": 5, "UOM": "LB"},
        {"id": "p2", "Weight": null, "UOM": "LB"},
        {"id": "p3", "Weight": 0, "UOM": "LB"},
        {"id": "p4", "Weight": 151, "UOM": "LB"},
        {"id": "p5", "Weight": 70, "UOM": "KG"},
        {"id": "p6", "Weight": 5, "UOM": "LB", "Length": 109, "Width": 5, "Height": 5},
        {"id": "p7", "Weight": 5, "UOM": "LB", "Length": 60, "Width": 30, "Height": 30},
        {"id": "p8", "Weight": 5, "UOM": "STONE"}
    ]);
    let errs = map(&m, data).unwrap_err();
    let find = |code: &str| errs.0.iter().filter(|e| e.code == code).collect::<Vec<_>>();
    let missing = find("package_weight_missing");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].field.as_deref(), Some("Packages[1].Weight"));
    assert_eq!(missing[0].line, weight_line);
    assert_eq!(missing[0].mapping_file, ACU);
    assert_eq!(
        find("package_weight_invalid")[0].field.as_deref(),
        Some("Packages[2].Weight")
    );
    let heavy: Vec<_> = find("package_too_heavy")
        .iter()
        .map(|e| e.field.clone().unwrap())
        .collect();
    assert_eq!(
        heavy,
        vec!["Packages[3].Weight", "Packages[4].Weight"],
        "151 lb and 70 kg"
    );
    assert_eq!(
        find("package_too_long")[0].field.as_deref(),
        Some("Packages[5].Length")
    );
    assert_eq!(
        find("package_too_large")[0].field.as_deref(),
        Some("Packages[6].Length")
    );
    assert_eq!(
        find("package_weight_unit_invalid")[0].field.as_deref(),
        Some("Packages[7].UOM")
    );
    let mut data = base();
    data["Packages"] = json!([]);
    assert_code(&m, data, "packages_missing");
}

#[test]
fn unit_conversion_to_pounds() {
    let mut data = base();
    data["Packages"] = json!([{"id": "p1", "Weight": 2, "UOM": "KG", "Length": 10.2, "Width": 30, "Height": 20},
                              {"id": "p2", "Weight": 8, "UOM": "OZ"}]);
    let s = map(&acu(), data).unwrap();
    assert_eq!(
        s.packages[0].weight.value.to_string(),
        "4.5",
        "2 kg = 4.409 lb, rounded up"
    );
    assert_eq!(s.packages[0].weight.unit.ups_code(), "LBS");
    assert_eq!(s.packages[1].weight.value.to_string(), "0.5");
    // Dimensions: whole inches, longest side first.
    let d = s.packages[0].dimensions.as_ref().unwrap();
    assert_eq!(
        (
            d.length.to_string(),
            d.width.to_string(),
            d.height.to_string()
        ),
        ("30".into(), "20".into(), "11".into())
    );
    // Dimensions in CM converted to IN by a mapping that says so.
    let m = variant(
        "unit: {literal: IN}}",
        "unit: {literal: CM}, convert_to: IN}",
    );
    let s = map(&m, base()).unwrap();
    let d = s.packages[0].dimensions.as_ref().unwrap();
    // 12 × 10 × 8 cm → 4.72 × 3.94 × 3.15 in → rounded up to whole inches.
    assert_eq!(
        (
            d.length.to_string(),
            d.width.to_string(),
            d.height.to_string(),
            d.unit.ups_code()
        ),
        ("5".to_string(), "4".to_string(), "4".to_string(), "IN")
    );
}

#[test]
fn reference_rules() {
    let m = acu();
    // Domestic: all three on the package level.
    assert_eq!(map(&m, base()).unwrap().references.len(), 3);
    // International: optional ones dropped to fit two.
    let ca = to_country(base(), "CA", json!("ON"), "K1A0B1", "UPSSTD");
    let refs = map(&m, ca.clone()).unwrap().references;
    assert_eq!(
        refs.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(),
        vec!["TN", "PO"]
    );
    // Non-optional references beyond the lane limit are refused.
    let t = acu_text()
        .replacen(
            "value: \"Orders[0].OrderNbr\", optional: true}",
            "value: \"Orders[0].OrderNbr\"}",
            1,
        )
        .replacen("truncate: 35}, optional: true}", "truncate: 35}}", 1);
    let strict = Mapping::from_str(&t, "strict.yaml").unwrap();
    assert_code(&strict, ca, "reference_not_allowed");
    // Too long without truncate.
    let m2 = variant(
        "{path: custom.Document.UsrCustomerPO, truncate: 35}",
        "custom.Document.UsrCustomerPO",
    );
    assert_code(
        &m2,
        with(
            base(),
            &["custom", "Document", "UsrCustomerPO"],
            json!("P".repeat(36)),
        ),
        "reference_too_long",
    );
    // Barcode limits: the document number must be ≤14 alnum or ≤24 digits.
    let mut r = rec(&m, base());
    r.number = "SHIP 0007".into();
    assert!(m
        .to_shipment(&r)
        .unwrap_err()
        .codes()
        .contains(&"reference_barcode_invalid"));
    r.number = "123456789012345678901234".into();
    assert!(m.to_shipment(&r).is_ok());
    r.number = "ABCDEFGHIJKLMNO".into();
    assert!(m
        .to_shipment(&r)
        .unwrap_err()
        .codes()
        .contains(&"reference_barcode_invalid"));
    r.number = String::new();
    assert!(m
        .to_shipment(&r)
        .unwrap_err()
        .codes()
        .contains(&"reference_missing"));
}

#[test]
fn service_rules() {
    let m = acu();
    assert_code(
        &m,
        with(base(), &["ShipVia"], json!("UPSWWEXP")),
        "service_invalid_for_lane",
    );
    assert_code(
        &m,
        to_country(base(), "CA", json!("ON"), "K1A0B1", "UPSGROUND"),
        "service_invalid_for_lane",
    );
    assert_code(
        &m,
        with(base(), &["ShipVia"], json!("WILLCALL")),
        "service_unmapped",
    );
    assert_code(
        &m,
        with(base(), &["WarehouseID"], json!("NORTH")),
        "ship_from_unknown",
    );
    let s = map(&m, with(base(), &["ShipVia"], json!("UPSBEST"))).unwrap();
    assert!(matches!(
        s.service,
        ServiceSelection::CheapestWithin {
            max_business_days: 3,
            ..
        }
    ));
    let s = map(&m, with(base(), &["WarehouseID"], json!("WEST"))).unwrap();
    assert_eq!(s.account_number, "456Y78");
}

#[test]
fn international_rules() {
    let m = acu();
    let gb = to_country(base(), "GB", json!(null), "SW1A 2AA", "UPSSAVER");
    let s = map(&m, gb.clone()).unwrap();
    let intl = s.international.expect("cross-border has customs data");
    assert_eq!(intl.products.len(), 1);
    assert_eq!(s.description.as_deref(), Some("Widgets"));
    let mut none = gb.clone();
    none["Details"] = json!([]);
    assert_code(&m, none, "international_data_missing");
    let zero = with(
        gb.clone(),
        &["Details", "0", "custom", "Transactions", "UsrUnitPrice"],
        json!(0),
    );
    let errs = map(&m, zero).unwrap_err();
    let e = errs
        .0
        .iter()
        .find(|e| e.code == "international_data_missing")
        .unwrap();
    assert_eq!(
        e.field.as_deref(),
        Some("Details[0].custom.Transactions.UsrUnitPrice")
    );
    assert_code(
        &m,
        with(
            gb.clone(),
            &["Details", "0", "custom", "Transactions", "UsrHSCode"],
            json!("84"),
        ),
        "hs_code_invalid",
    );
    assert_code(
        &m,
        with(gb.clone(), &["Details", "0", "ShippedQty"], json!(1.5)),
        "customs_quantity_invalid",
    );
    // Over the 50-line limit (Shipping.yaml's cardinality of InternationalForms.Product):
    // refused under `over_limit: refuse` …
    let mut many = gb.clone();
    let line = many["Details"][0].clone();
    many["Details"] = Value::Array(vec![line.clone(); 101]);
    let refusing = variant("over_limit: split", "over_limit: refuse");
    assert_code(&refusing, many.clone(), "customs_lines_over_limit");
    let mut fifty = gb.clone();
    fifty["Details"] = Value::Array(vec![line.clone(); 50]);
    assert!(map(&refusing, fifty.clone()).is_ok(), "50 lines fit");
    // … merged by `merge_by_hs_code` …
    let merging = variant("over_limit: split", "over_limit: merge_by_hs_code");
    let s = map(&merging, many.clone()).unwrap();
    let p = &s.international.unwrap().products;
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].quantity.to_string(), "202");
    // … and split by the bundled policy: one UPS shipment per ≤ 50 lines, each needing a
    // package: with the record's single package it is refused with the fix.
    let errs = map(&acu(), many.clone()).unwrap_err();
    let e = errs
        .0
        .iter()
        .find(|e| e.code == "customs_split_needs_packages")
        .unwrap_or_else(|| panic!("{:?}", errs.codes()));
    assert!(
        e.message.contains("101 customs lines need 3 UPS shipments"),
        "{}",
        e.message
    );
    let box1 = many["Packages"][0].clone();
    many["Packages"] = json!([
        box1.clone(),
        with(box1.clone(), &["LineNbr"], json!(2)),
        with(box1, &["LineNbr"], json!(3))
    ]);
    let s = map(&acu(), many.clone()).unwrap();
    let intl = s.international.as_ref().unwrap();
    assert!(intl.split);
    assert_eq!((intl.products.len(), intl.max_lines), (101, 50));
    assert_eq!(upsync::model::split::parts_needed(&s), 3);
    // A lower `max_lines` is honoured.
    let forty = variant("max_lines: 50", "max_lines: 40");
    let refusing20 = Mapping::from_str(
        &acu_text()
            .replacen("max_lines: 50", "max_lines: 20", 1)
            .replacen("over_limit: split", "over_limit: refuse", 1),
        "variant.yaml",
    )
    .unwrap();
    let mut twenty_one = gb.clone();
    twenty_one["Details"] = Value::Array(vec![line; 21]);
    assert_code(&refusing20, twenty_one, "customs_lines_over_limit");
    let s = map(&forty, many).unwrap();
    assert_eq!(upsync::model::split::parts_needed(&s), 3);
    let parts = upsync::model::split::plan(&s).unwrap().unwrap();
    let sizes: Vec<usize> = parts
        .iter()
        .map(|p| p.international.as_ref().unwrap().products.len())
        .collect();
    assert_eq!(sizes, vec![34, 34, 33]);
}

/// `max_lines` over the spec's 50 (or 0) is refused when the mapping is compiled
/// (`upsync check`), naming the key and the fix.
#[test]
fn max_lines_over_the_spec_is_refused_at_compile() {
    for bad in ["max_lines: 51", "max_lines: 100", "max_lines: 0"] {
        let text = acu_text().replacen("max_lines: 50", bad, 1);
        let e = Mapping::from_str(&text, "variant.yaml")
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted"))
            .to_string();
        assert!(e.contains("international.max_lines"), "{e}");
        assert!(e.contains("at most 50"), "{e}");
    }
}

#[test]
fn lookup_missing_is_a_record_error() {
    let m = variant(
        "packaging: {lookup: box_packaging, key: BoxID, missing: empty, default: {literal: \"02\"}}",
        "packaging: {lookup: box_packaging, key: BoxID}",
    );
    let errs = map(&m, base()).unwrap_err();
    assert_eq!(errs.codes(), vec!["lookup_missing"]);
    assert_eq!(errs.0[0].field.as_deref(), Some("Packages[0].BoxID"));
    assert!(errs.0[0].message.contains("`LARGE`"));
    let s = map(
        &acu(),
        with(base(), &["Packages", "0", "BoxID"], json!("ENVELOPE")),
    )
    .unwrap();
    assert_eq!(s.packages[0].packaging, "01");
}

#[test]
fn cancellation_and_write_back_helpers() {
    let m = acu();
    assert!(m.void_on_cancel());
    assert!(!m.is_cancelled(&rec(&m, base())));
    // Acumatica has no Canceled status out of the box: a cancelled shipment is deleted, and
    // the bundled mapping voids on that (issue 15 item 13), not on a status.
    assert!(!m.is_cancelled(&rec(&m, with(base(), &["Status"], json!("Canceled")))));
    let r = rec(&m, base());
    assert_eq!(
        m.label_file_name(&r, "1Z123X560300000018", upsync::model::LabelFormat::Zpl),
        "000777-1Z123X560300000018.zpl"
    );
    let wb = m.write_back_failure("guid-1", "address_ambiguous", &"x".repeat(400));
    assert_eq!(wb.fields.len(), 1);
    assert_eq!(wb.fields[0].0, "custom.Document.UsrUpsError");
    assert_eq!(wb.fields[0].1.as_str().unwrap().chars().count(), 255);
}

/// Property-style: many generated records never panic; every accepted shipment satisfies
/// the UPS limits; every rejection carries a code, the record id and a mapping line.
#[test]
fn generated_records_respect_limits() {
    let m = acu();
    let ns = Mapping::load("mappings/netsuite-itemfulfillment.yaml").unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz ÄÖÜäöüßéèçñ0123456789-&."
        .chars()
        .collect();
    let word = |rng: &mut rand::rngs::StdRng, max: usize| -> String {
        let n = rng.gen_range(0..=max);
        (0..n)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
            .collect()
    };
    let lanes = [
        ("US", "GA", "30005", "UPSGROUND"),
        ("US", "NY", "100011234", "UPSNDA"),
        ("CA", "ON", "K1A 0B1", "UPSSTD"),
        ("PR", "", "00907", "UPS2DAY"),
        ("GB", "", "SW1A 2AA", "UPSWWEXP"),
        ("DE", "", "10117", "UPSSAVER"),
        ("MX", "", "06600", "UPSGROUND"),
    ];
    let (mut ok, mut rejected) = (0, 0);
    for i in 0..600 {
        let lane = lanes[rng.gen_range(0..lanes.len())];
        let mut data = base();
        data["ShipmentNbr"] = json!(format!("{:06}", i));
        data = to_country(data, lane.0, json!(lane.1), lane.2, lane.3);
        data = contact(data, "BusinessName", json!(word(&mut rng, 60)));
        data = contact(data, "Attention", json!(word(&mut rng, 40)));
        data = ship_to(
            data,
            "AddressLine1",
            json!(format!("{} {}", rng.gen_range(1..9999), word(&mut rng, 50))),
        );
        if rng.gen_bool(0.3) {
            data = contact(data, "Phone1", json!(null));
        }
        let n = rng.gen_range(0..4);
        let pkgs: Vec<Value> = (0..n)
            .map(|k| {
                let uom = ["LB", "KG", "OZ"][rng.gen_range(0..3)];
                json!({"id": format!("p{k}"), "Weight": rng.gen_range(-5.0..200.0f64), "UOM": uom,
                             "Length": rng.gen_range(0..130), "Width": rng.gen_range(0..40), "Height": rng.gen_range(0..40)})
            })
            .collect();
        data["Packages"] = Value::Array(pkgs);
        let record = rec(&m, data);
        match m.to_shipment(&record) {
            Ok(s) => {
                ok += 1;
                assert!(s.ship_to.name.chars().count() <= 35);
                assert!(s
                    .ship_to
                    .attention
                    .as_ref()
                    .is_none_or(|a| a.chars().count() <= 35));
                assert!(s
                    .ship_to
                    .address
                    .lines
                    .iter()
                    .all(|l| l.chars().count() <= 35));
                if let Some(p) = &s.ship_to.phone {
                    let d = p.chars().filter(char::is_ascii_digit).count();
                    assert!((10..=15).contains(&d));
                }
                assert!(!s.packages.is_empty());
                for p in &s.packages {
                    assert!(p.weight.value > rust_decimal::Decimal::ZERO);
                    assert!(p.weight.value <= rust_decimal::Decimal::from(150));
                }
                // The shipper is always in the US here: domestic iff the destination is US/PR.
                let domestic = ["US", "PR"].contains(&lane.0);
                assert_eq!(
                    s.international.is_some(),
                    !domestic,
                    "customs data iff cross-border"
                );
                let limit = if s.reference_level() == upsync::model::ReferenceLevel::Package {
                    5
                } else {
                    2
                };
                assert!(s.references.len() <= limit);
                assert_eq!(s.references[0].value, record.number);
            }
            Err(errs) => {
                rejected += 1;
                assert!(!errs.0.is_empty());
                for e in &errs.0 {
                    assert!(
                        !e.code.is_empty()
                            && e.record_id == "guid-1"
                            && e.line > 0
                            && !e.fix.is_empty(),
                        "{e}"
                    );
                }
            }
        }
        // The NetSuite mapping never panics on a record of the wrong shape either.
        let _ = ns.to_shipment(&record);
    }
    assert!(ok > 50 && rejected > 50, "ok {ok}, rejected {rejected}");
}

/// Several UPS accounts for one warehouse: `account:` is an expression.
#[test]
fn account_chosen_per_record() {
    let m = variant(
        "      account: {literal: \"123X56\"}",
        "      account: {when: {field: ShipVia, in: [UPSWWEXP, UPSSAVER]}, then: {literal: \"456Y78\"}, else: {literal: \"123X56\"}}",
    );
    assert_eq!(map(&m, base()).unwrap().account_number, "123X56");
    let gb = to_country(base(), "GB", json!(null), "SW1A 2AA", "UPSSAVER");
    assert_eq!(map(&m, gb).unwrap().account_number, "456Y78");
}
