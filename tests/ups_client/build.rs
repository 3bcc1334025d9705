//! Golden tests for the pure UPS request builders (`upsync::ups::build`).
//!
//! Golden files live in `tests/fixtures/ups/golden/`; regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test ups_client build::` and review the diff.

use rust_decimal::Decimal;
use serde_json::Value;
use std::path::PathBuf;

use upsync::model::*;
use upsync::ups::build::{self, RateOptions, ShipOptions};

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn party(name: &str, lines: &[&str], city: &str, state: &str, zip: &str, cc: &str) -> Party {
    Party {
        name: name.into(),
        attention: None,
        phone: Some("4105551234".into()),
        email: None,
        tax_id: None,
        address: Address {
            lines: lines.iter().map(|s| s.to_string()).collect(),
            city: city.into(),
            state: state.into(),
            postal_code: zip.into(),
            country: cc.into(),
            residential: None,
            po_box: false,
        },
    }
}

fn package(id: &str, lbs: &str, dims: Option<(&str, &str, &str)>) -> Package {
    Package {
        erp_line_id: id.into(),
        weight: Weight {
            value: dec(lbs),
            unit: WeightUnit::Lbs,
        },
        dimensions: dims.map(|(l, w, h)| Dimensions {
            length: dec(l),
            width: dec(w),
            height: dec(h),
            unit: DimensionUnit::In,
        }),
        packaging: "02".into(),
        description: Some("Widgets".into()),
        declared_value: None,
    }
}

pub fn domestic_residential() -> Shipment {
    let mut ship_to = party(
        "Jane Doe",
        &["12 Maple Lane", "Apt 4"],
        "Alpharetta",
        "GA",
        "30005",
        "US",
    );
    ship_to.address.residential = Some(true);
    ship_to.attention = Some("Jane Doe".into());
    let mut p1 = package("pkg-guid-1", "5.25", Some(("12", "10", "8")));
    p1.declared_value = Some(Money {
        amount: dec("100"),
        currency: "USD".into(),
    });
    Shipment {
        source: "acumatica-main".into(),
        record_id: "guid-000123".into(),
        number: "000123".into(),
        account_number: "123X56".into(),
        shipper: party(
            "T and T Designs",
            &["2311 York Rd"],
            "Timonium",
            "MD",
            "21093",
            "US",
        ),
        ship_from: None,
        ship_to,
        service: ServiceSelection::Fixed { code: "03".into() },
        packages: vec![
            p1,
            package("pkg-guid-2", "2", Some(("6.5", "6", "4"))),
            package("pkg-guid-3", "11.04", None),
        ],
        references: vec![
            Reference {
                code: "IK".into(),
                value: "000123".into(),
                barcode: false,
            },
            Reference {
                code: "PO".into(),
                value: "PO-778".into(),
                barcode: false,
            },
        ],
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

pub fn us_to_canada() -> Shipment {
    let mut s = domestic_residential();
    s.number = "000124".into();
    s.ship_to = party(
        "Maple Leaf Supplies",
        &["100 King St W"],
        "Toronto",
        "ON",
        "M5X1A9",
        "CA",
    );
    s.ship_to.attention = Some("Receiving".into());
    s.service = ServiceSelection::Fixed { code: "11".into() };
    s.packages = vec![package("pkg-ca-1", "7.5", Some(("12", "10", "8")))];
    s.description = Some("Widgets".into());
    s.international = Some(International {
        form_types: vec!["01".into()],
        invoice_number: Some("000124".into()),
        invoice_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 21),
        currency: "USD".into(),
        reason_for_export: "SALE".into(),
        terms_of_shipment: Some("DAP".into()),
        products: vec![
            Product {
                description: "Widget A, anodised aluminium housing with mounting kit".into(),
                hs_code: Some("847130".into()),
                origin_country: "US".into(),
                quantity: dec("2"),
                unit_of_measure: "PCS".into(),
                unit_value: dec("49.50"),
                part_number: Some("WIDGET-A".into()),
            },
            Product {
                description: "Widget B".into(),
                hs_code: Some("847150".into()),
                origin_country: "US".into(),
                quantity: dec("1"),
                unit_of_measure: "PCS".into(),
                unit_value: dec("20.25"),
                part_number: None,
            },
        ],
        max_lines: 50,
        split: false,
        paperless: None,
    });
    s
}

/// Every scalar in the body is a JSON string (UPS-REFERENCE §0: "never emit numbers").
fn assert_all_scalars_are_strings(v: &Value, path: &str) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                assert_all_scalars_are_strings(v, &format!("{path}.{k}"));
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                assert_all_scalars_are_strings(v, &format!("{path}[{i}]"));
            }
        }
        Value::String(_) => {}
        other => panic!("{path} is {other}, not a string"),
    }
}

fn golden(name: &str, v: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ups/golden")
        .join(name);
    let text = serde_json::to_string_pretty(v).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    let want: Value = serde_json::from_str(&want).unwrap();
    assert_eq!(
        &want,
        v,
        "golden {name} differs; got:\n{}",
        serde_json::to_string_pretty(v).unwrap()
    );
}

#[test]
fn domestic_residential_multi_package_puts_references_on_packages() {
    let sh = domestic_residential();
    let v = build::ship_request(&sh, &ShipOptions::default());
    assert_all_scalars_are_strings(&v, "$");
    let s = &v["ShipmentRequest"]["Shipment"];
    assert!(
        s.get("ReferenceNumber").is_none(),
        "no shipment-level refs US→US"
    );
    let pkgs = s["Package"].as_array().unwrap();
    assert_eq!(pkgs.len(), 3);
    for p in pkgs {
        let refs = p["ReferenceNumber"].as_array().unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0]["Code"], "IK");
        assert_eq!(refs[0]["Value"], "000123");
        assert_eq!(refs[1]["Code"], "PO");
    }
    assert_eq!(s["ShipTo"]["Address"]["ResidentialAddressIndicator"], "");
    assert_eq!(s["ShipmentRatingOptions"]["NegotiatedRatesIndicator"], "");
    assert_eq!(
        s["PaymentInformation"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"],
        "123X56"
    );
    assert_eq!(s["Shipper"]["ShipperNumber"], "123X56");
    assert_eq!(s["Service"]["Code"], "03");
    assert_eq!(pkgs[0]["PackageWeight"]["Weight"], "5.3");
    assert_eq!(pkgs[1]["Dimensions"]["Length"], "7", "dims round up");
    assert_eq!(
        pkgs[0]["PackageServiceOptions"]["DeclaredValue"]["MonetaryValue"],
        "100.00"
    );
    assert!(s.get("InvoiceLineTotal").is_none());
    assert!(s.get("ShipmentServiceOptions").is_none());
    assert!(s.get("ShipFrom").is_none());
    let label = &v["ShipmentRequest"]["LabelSpecification"];
    assert_eq!(label["LabelImageFormat"]["Code"], "GIF");
    assert_eq!(label["HTTPUserAgent"], "Mozilla/4.5");
    assert_eq!(
        v["ShipmentRequest"]["Request"]["TransactionReference"]["CustomerContext"],
        "000123"
    );
    golden("ship-domestic-residential.json", &v);
}

#[test]
fn more_than_five_references_are_capped_per_package() {
    let mut sh = domestic_residential();
    sh.references = (0..7)
        .map(|i| Reference {
            code: "TN".into(),
            value: format!("R{i}"),
            barcode: false,
        })
        .collect();
    let v = build::ship_request(&sh, &ShipOptions::default());
    let refs = v["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"]
        .as_array()
        .unwrap();
    assert_eq!(refs.len(), 5);
}

#[test]
fn us_to_canada_uses_shipment_references_forms_and_invoice_line_total() {
    let sh = us_to_canada();
    let v = build::ship_request(&sh, &ShipOptions::default());
    assert_all_scalars_are_strings(&v, "$");
    let s = &v["ShipmentRequest"]["Shipment"];
    let refs = s["ReferenceNumber"].as_array().unwrap();
    assert_eq!(refs.len(), 2);
    for r in refs {
        assert_eq!(r["Code"].as_str().unwrap().len(), 2);
    }
    for p in s["Package"].as_array().unwrap() {
        assert!(p.get("ReferenceNumber").is_none(), "no package refs US→CA");
    }
    let forms = &s["ShipmentServiceOptions"]["InternationalForms"];
    assert_eq!(forms["FormType"], serde_json::json!(["01"]));
    assert_eq!(forms["InvoiceDate"], "20261121");
    assert_eq!(forms["CurrencyCode"], "USD");
    assert_eq!(forms["ReasonForExport"], "SALE");
    let products = forms["Product"].as_array().unwrap();
    assert_eq!(products.len(), 2);
    let d = products[0]["Description"].as_array().unwrap();
    assert_eq!(d.len(), 2, "long description split into ≤35-char parts");
    assert!(d.iter().all(|x| x.as_str().unwrap().chars().count() <= 35));
    assert_eq!(products[0]["Unit"]["Number"], "2");
    assert_eq!(products[0]["Unit"]["Value"], "49.5");
    assert_eq!(products[0]["CommodityCode"], "847130");
    assert_eq!(forms["Contacts"]["SoldTo"]["AttentionName"], "Receiving");
    // 2 × 49.50 + 20.25 = 119.25 → whole units, rounded up.
    assert_eq!(s["InvoiceLineTotal"]["MonetaryValue"], "120");
    assert_eq!(s["InvoiceLineTotal"]["CurrencyCode"], "USD");
    assert_eq!(s["Description"], "Widgets");
    golden("ship-us-ca.json", &v);
}

#[test]
fn us_to_germany_has_forms_but_no_invoice_line_total() {
    let mut sh = us_to_canada();
    sh.ship_to.address.country = "DE".into();
    sh.ship_to.address.state = String::new();
    let v = build::ship_request(&sh, &ShipOptions::default());
    let s = &v["ShipmentRequest"]["Shipment"];
    assert!(s.get("InvoiceLineTotal").is_none());
    assert!(s["ShipmentServiceOptions"]["InternationalForms"].is_object());
    assert!(s["ShipTo"]["Address"].get("StateProvinceCode").is_none());
}

/// Guards the international side of issue 15 item 3: now that Shop asks for time in
/// transit, an international rate request carries `InvoiceLineTotal` and
/// `ShipmentTotalWeight` (Rating.yaml: required for international *timeintransit requests);
/// without a pickup date (plain Shop) no InvoiceLineTotal is added.
#[test]
fn international_time_in_transit_rating_carries_invoice_line_total() {
    let mut sh = us_to_canada();
    sh.ship_to.address.country = "DE".into();
    sh.ship_to.address.state = String::new();
    let mut opts = RateOptions::shop();
    opts.pickup_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let v = build::rate_request(&sh, &opts);
    let s = &v["RateRequest"]["Shipment"];
    assert_eq!(
        v["RateRequest"]["Request"]["RequestOption"],
        "Shoptimeintransit"
    );
    assert!(s["InvoiceLineTotal"]["MonetaryValue"].is_string(), "{s}");
    assert!(s["InvoiceLineTotal"]["CurrencyCode"].is_string());
    assert!(s["ShipmentTotalWeight"]["Weight"].is_string());
    let v = build::rate_request(&sh, &RateOptions::shop());
    assert!(v["RateRequest"]["Shipment"]
        .get("InvoiceLineTotal")
        .is_none());
    assert_eq!(v["RateRequest"]["Request"]["RequestOption"], "Shop");
}

#[test]
fn pr_to_pr_is_package_level_us_to_pr_is_shipment_level() {
    let mut sh = domestic_residential();
    sh.shipper.address.country = "PR".into();
    sh.ship_to.address.country = "PR".into();
    let v = build::ship_request(&sh, &ShipOptions::default());
    assert!(v["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"].is_array());
    sh.shipper.address.country = "US".into();
    let v = build::ship_request(&sh, &ShipOptions::default());
    assert!(v["ShipmentRequest"]["Shipment"]["ReferenceNumber"].is_array());
    assert!(v["ShipmentRequest"]["Shipment"]["Package"][0]
        .get("ReferenceNumber")
        .is_none());
}

#[test]
fn ship_from_decides_the_lane_and_is_sent() {
    let mut sh = domestic_residential();
    sh.ship_from = Some(party(
        "West DC",
        &["1200 Harbor Blvd"],
        "Oakland",
        "CA",
        "94607",
        "US",
    ));
    let v = build::ship_request(&sh, &ShipOptions::default());
    assert_eq!(
        v["ShipmentRequest"]["Shipment"]["ShipFrom"]["Address"]["City"],
        "Oakland"
    );
    assert!(v["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"].is_array());
}

#[test]
fn zpl_gets_label_stock_size_and_no_user_agent() {
    let mut sh = domestic_residential();
    sh.label = LabelSpec {
        format: LabelFormat::Zpl,
        stock_size: Some((8, 4)),
    };
    let v = build::ship_request(&sh, &ShipOptions::default());
    let l = &v["ShipmentRequest"]["LabelSpecification"];
    assert_eq!(l["LabelImageFormat"]["Code"], "ZPL");
    assert_eq!(l["LabelStockSize"]["Height"], "8");
    assert_eq!(l["LabelStockSize"]["Width"], "4");
    assert!(l.get("HTTPUserAgent").is_none());
    sh.label.stock_size = None;
    let v = build::ship_request(&sh, &ShipOptions::default());
    let l = &v["ShipmentRequest"]["LabelSpecification"];
    assert_eq!(l["LabelStockSize"]["Height"], "6", "default stock 6×4");
    assert_all_scalars_are_strings(&v, "$");
}

#[test]
fn cheapest_within_needs_a_resolved_service() {
    let mut sh = domestic_residential();
    sh.service = ServiceSelection::CheapestWithin {
        max_business_days: 3,
        allowed: vec![],
        fallback: None,
    };
    let opts = ShipOptions::default();
    let problems = build::check_shipment(&sh, &opts);
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].field, "Shipment.Service.Code");
    let opts = ShipOptions {
        service_code: Some("02".into()),
        ..ShipOptions::default()
    };
    assert!(build::check_shipment(&sh, &opts).is_empty());
    let v = build::ship_request(&sh, &opts);
    assert_eq!(v["ShipmentRequest"]["Shipment"]["Service"]["Code"], "02");
}

#[test]
fn local_checks_catch_zero_weight_and_bad_shipment_reference_codes() {
    let mut sh = us_to_canada();
    sh.packages[0].weight.value = Decimal::ZERO;
    sh.references[0].code = "I".into();
    let p = build::check_shipment(&sh, &ShipOptions::default());
    let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
    assert!(fields.contains(&"Shipment.Package[0].PackageWeight.Weight"));
    assert!(fields.contains(&"Shipment.ReferenceNumber[0].Code"));
}

#[test]
fn rate_and_shop_requests() {
    let sh = domestic_residential();
    let mut opts = RateOptions::shop();
    opts.pickup_date = chrono::NaiveDate::from_ymd_opt(2026, 11, 23);
    let v = build::rate_request(&sh, &opts);
    assert_all_scalars_are_strings(&v, "$");
    let r = &v["RateRequest"];
    // With a pickup date the request asks for time in transit (issue 15 item 3: only the
    // *timeintransit options return TimeInTransit, so Ground's days come only that way).
    assert_eq!(r["Request"]["RequestOption"], "Shoptimeintransit");
    assert_eq!(build::rate_request_option(&sh, &opts), "Shoptimeintransit");
    let s = &r["Shipment"];
    assert!(s.get("Service").is_none(), "Shop sends no service");
    assert_eq!(s["Shipper"]["ShipperNumber"], "123X56");
    assert_eq!(
        s["PaymentDetails"]["ShipmentCharge"][0]["BillShipper"]["AccountNumber"],
        "123X56"
    );
    assert!(s.get("PaymentInformation").is_none());
    assert_eq!(s["Package"][0]["PackagingType"]["Code"], "02");
    assert!(s["Package"][0].get("Packaging").is_none());
    assert_eq!(s["ShipmentRatingOptions"]["NegotiatedRatesIndicator"], "");
    assert_eq!(s["DeliveryTimeInformation"]["PackageBillType"], "03");
    assert_eq!(s["DeliveryTimeInformation"]["Pickup"]["Date"], "20261123");
    assert_eq!(s["ShipTo"]["Address"]["ResidentialAddressIndicator"], "");
    let v = build::rate_request(&sh, &RateOptions::rate());
    assert_eq!(v["RateRequest"]["Shipment"]["Service"]["Code"], "03");
    assert!(v["RateRequest"]["Shipment"]
        .get("DeliveryTimeInformation")
        .is_none());
    assert_eq!(v["RateRequest"]["Request"]["RequestOption"], "Rate");
    let v = build::rate_request(&us_to_canada(), &RateOptions::rate());
    assert_eq!(
        v["RateRequest"]["Shipment"]["ShipmentTotalWeight"]["Weight"],
        "7.5"
    );
}

/// Guards issue 15 item 5: `Request.SubVersion` goes out as YYMM only: a path-style
/// `"v2409"` (what karrio-ups sends, refused by a strict UPS) is normalised, junk dropped.
#[test]
fn sub_version_is_sent_as_yymm() {
    assert_eq!(build::sub_version_of("v2409").as_deref(), Some("2409"));
    assert_eq!(build::sub_version_of("1701").as_deref(), Some("1701"));
    assert_eq!(build::sub_version_of("v1"), None);
    let sh = domestic_residential();
    let mut o = ShipOptions {
        sub_version: Some("v2409".into()),
        ..ShipOptions::default()
    };
    let v = build::ship_request(&sh, &o);
    assert_eq!(v["ShipmentRequest"]["Request"]["SubVersion"], "2409");
    o.sub_version = Some("latest".into());
    let v = build::ship_request(&sh, &o);
    assert!(v["ShipmentRequest"]["Request"].get("SubVersion").is_none());
    let mut r = RateOptions::shop();
    r.sub_version = Some("v2409".into());
    let v = build::rate_request(&sh, &r);
    assert_eq!(v["RateRequest"]["Request"]["SubVersion"], "2409");
}

#[test]
fn xav_request_shape() {
    let sh = domestic_residential();
    let v = build::xav_request(&sh.ship_to.address);
    assert_all_scalars_are_strings(&v, "$");
    let k = &v["XAVRequest"]["AddressKeyFormat"];
    assert_eq!(
        k["AddressLine"],
        serde_json::json!(["12 Maple Lane", "Apt 4"])
    );
    assert_eq!(k["PoliticalDivision2"], "Alpharetta");
    assert_eq!(k["PoliticalDivision1"], "GA");
    assert_eq!(k["PostcodePrimaryLow"], "30005");
    assert_eq!(k["CountryCode"], "US");
}
