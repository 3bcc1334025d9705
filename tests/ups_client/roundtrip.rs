//! UPS client ↔ UPS simulator, schema validation on (issue 3, Must-show 1 and 4):
//! every operation round-trips; a request without `Shipper` and one with a reference at
//! the wrong level are rejected in UPS's error shape and surfaced with code and field;
//! drop-after-commit gives "outcome unknown" and no second Ship.

use std::sync::Arc;

use upsync::model::*;
use upsync::sim::ups::{spawn, SimHandle, UpsSimConfig};
use upsync::ups::build::ShipOptions;
use upsync::ups::*;

fn party(name: &str, line: &str, city: &str, st: &str, zip: &str, cc: &str) -> Party {
    Party {
        name: name.into(),
        attention: Some("Receiving".into()),
        phone: Some("4105551234".into()),
        email: None,
        tax_id: None,
        address: Address {
            lines: vec![line.into()],
            city: city.into(),
            state: st.into(),
            postal_code: zip.into(),
            country: cc.into(),
            residential: None,
            po_box: false,
        },
    }
}

fn pkg(id: &str) -> Package {
    Package {
        erp_line_id: id.into(),
        weight: Weight {
            value: "5".parse().unwrap(),
            unit: WeightUnit::Lbs,
        },
        dimensions: Some(Dimensions {
            length: "12".parse().unwrap(),
            width: "10".parse().unwrap(),
            height: "8".parse().unwrap(),
            unit: DimensionUnit::In,
        }),
        packaging: "02".into(),
        description: Some("Widgets".into()),
        declared_value: None,
    }
}

fn shipment(n: usize, reference: &str) -> Shipment {
    Shipment {
        source: "s".into(),
        record_id: "r".into(),
        number: reference.into(),
        account_number: "123X56".into(),
        shipper: party(
            "T and T Designs",
            "2311 York Rd",
            "Timonium",
            "MD",
            "21093",
            "US",
        ),
        ship_from: None,
        ship_to: party(
            "Happy Dog",
            "12 Maple Lane",
            "Alpharetta",
            "GA",
            "30005",
            "US",
        ),
        service: ServiceSelection::Fixed { code: "03".into() },
        packages: (0..n).map(|i| pkg(&format!("l{i}"))).collect(),
        references: vec![
            Reference {
                code: "IK".into(),
                value: reference.into(),
                barcode: false,
            },
            Reference {
                code: "PO".into(),
                value: "PO-1".into(),
                barcode: false,
            },
        ],
        description: Some("Widgets".into()),
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

async fn setup(faults: &str) -> (SimHandle, UpsClient) {
    let sim = spawn(UpsSimConfig {
        tick_interval_ms: 0,
        faults: faults.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let client = UpsClient::new(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap();
    (sim, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_round_trips() {
    let (sim, c) = setup("").await;
    let sh = shipment(2, "REF-RT-2");

    // Address validation with classification.
    match c.validate_address(&sh.ship_to.address).await.unwrap() {
        AddressCheck::Valid { residential, .. } => assert_eq!(residential, Some(true)),
        other => panic!("expected valid residential, got {other:?}"),
    }
    let mut a = sh.ship_to.address.clone();
    a.lines = vec!["1 Nowhere Rd".into()];
    assert_eq!(
        c.validate_address(&a).await.unwrap(),
        AddressCheck::NoCandidates
    );
    a.lines = vec!["1 Ambiguous Rd".into()];
    match c.validate_address(&a).await.unwrap() {
        AddressCheck::Ambiguous { candidates } => assert!(candidates.len() >= 2),
        other => panic!("expected ambiguous, got {other:?}"),
    }
    let mut de = sh.ship_to.address.clone();
    de.country = "DE".into();
    assert_eq!(
        c.validate_address(&de).await.unwrap(),
        AddressCheck::NotCovered
    );

    // Rating: Shop lists services with negotiated charges; Rate prices one.
    let quotes = c.shop(&sh).await.unwrap();
    assert!(quotes.len() >= 3, "{quotes:?}");
    assert!(quotes.iter().any(|q| q.service_code == "03"));
    assert!(quotes.iter().all(|q| q.charges.total.is_some()));
    assert!(quotes.iter().any(|q| q.charges.negotiated.is_some()));
    let rate = c.rate(&sh).await.unwrap();
    assert_eq!(rate.len(), 1);
    assert_eq!(rate[0].service_code, "03");

    // Ship: one 1Z per package, in order, labels decoded, negotiated charges.
    let r = c.ship(&sh).await.unwrap();
    assert_eq!(r.packages.len(), 2);
    assert_eq!(r.shipment_id, r.packages[0].tracking_number);
    for (p, line) in r.packages.iter().zip(["l0", "l1"]) {
        assert!(
            wire::is_valid_1z(&p.tracking_number),
            "{}",
            p.tracking_number
        );
        assert_eq!(p.erp_line_id, line);
        let label = p.label.as_ref().unwrap();
        assert_eq!(label.format, LabelFormat::Gif);
        assert!(label.data.starts_with(b"GIF8"));
    }
    assert!(r.charges.negotiated.is_some());
    assert_eq!(sim.shipments_with_reference("REF-RT-2"), 1);

    // Track: label created so far.
    match c.track(&r.packages[0].tracking_number).await.unwrap() {
        TrackOutcome::Found { snapshot, .. } => {
            assert_eq!(snapshot.milestone, Milestone::LabelCreated)
        }
        TrackOutcome::NotYet => panic!("a created shipment is trackable in the simulator"),
    }
    // Unknown number: TW0001 on a 200 → not yet, not an error.
    assert!(matches!(
        c.track("1Z999AA10123456784").await.unwrap(),
        TrackOutcome::NotYet
    ));

    // Track by reference finds the shipment with all its packages.
    let today = c.clock().today();
    let found = c
        .track_by_reference("REF-RT-2", None, today - chrono::Duration::days(14), today)
        .await
        .unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].tracking_numbers.len(), 2);

    // Label recovery.
    let rec = c
        .recover_label(&r.packages[0].tracking_number, &sh.label)
        .await
        .unwrap();
    assert!(!rec.packages.is_empty());
    assert!(rec.packages[0].label.is_some());

    // Track Alert v1 (with destination).
    let sub = c
        .subscribe(
            std::slice::from_ref(&r.packages[0].tracking_number),
            Some(("https://127.0.0.1:9/hook", "secret")),
        )
        .await
        .unwrap();
    assert_eq!(sub.valid, vec![r.packages[0].tracking_number.clone()]);

    // Void one package, then the rest.
    let v = c
        .void(
            &r.shipment_id,
            Some(std::slice::from_ref(&r.packages[1].tracking_number)),
        )
        .await
        .unwrap();
    assert!(v.voided());
    let v = c.void(&r.shipment_id, None).await.unwrap();
    assert!(v.voided());

    // ZPL labels are real ZPL text with the 1Z.
    let mut z = shipment(1, "REF-RT-ZPL");
    z.label = LabelSpec {
        format: LabelFormat::Zpl,
        stock_size: None,
    };
    let rz = c.ship(&z).await.unwrap();
    let text = String::from_utf8(rz.packages[0].label.as_ref().unwrap().data.clone()).unwrap();
    assert!(text.starts_with("^XA") && text.contains(&rz.shipment_id[2..]));

    // US→CA with customs forms: shipment-level references, accepted.
    let mut ca = shipment(1, "REF-RT-CA");
    ca.ship_to = party("Maple", "100 King St W", "Toronto", "ON", "M5X1A9", "CA");
    ca.service = ServiceSelection::Fixed { code: "11".into() };
    ca.international = Some(International {
        form_types: vec!["01".into()],
        invoice_number: Some("INV1".into()),
        invoice_date: Some(today),
        currency: "USD".into(),
        reason_for_export: "SALE".into(),
        terms_of_shipment: None,
        products: vec![Product {
            description: "Widget".into(),
            hs_code: Some("847130".into()),
            origin_country: "US".into(),
            quantity: "2".parse().unwrap(),
            unit_of_measure: "PCS".into(),
            unit_value: "49.5".parse().unwrap(),
            part_number: None,
        }],
        max_lines: 50,
        split: false,
        paperless: None,
    });
    assert!(c.ship(&ca).await.is_ok());

    // Shipping.yaml caps InternationalForms.Product at 50 (issue 20): the simulator refuses
    // 51 with UPS's error, which the client classifies as a business error on the forms.
    let intl = ca.international.as_mut().unwrap();
    let line = intl.products[0].clone();
    intl.products = vec![line; 51];
    let e = c.ship(&ca).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120802"), "{e}");
    assert_eq!(e.code(), "ups_international_forms_invalid", "{e}");
    assert_eq!(e.class(), ErrorClass::Business);
    assert!(e.to_string().contains("at most 50"), "{e}");
    ca.international.as_mut().unwrap().products.truncate(50);
    assert!(c.ship(&ca).await.is_ok(), "50 products are accepted");

    // An account that is not eligible for negotiated rates: published charges + Alert 120900.
    let mut ne = shipment(1, "REF-RT-NE");
    ne.account_number = "456Y78".into();
    let rne = c.ship(&ne).await.unwrap();
    assert!(rne.charges.negotiated.is_none());
    assert!(rne.alerts.iter().any(|a| a.code == "120900"));

    // A foreign account is refused with code and field.
    let mut bad = shipment(1, "REF-RT-BAD");
    bad.account_number = "999999".into();
    let e = c.ship(&bad).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120100"));
    assert!(e.field().unwrap_or("").contains("ShipperNumber"), "{e}");
    assert_eq!(e.class(), ErrorClass::Business);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_violations_come_back_in_ups_shape_with_code_and_field() {
    let (_sim, c) = setup("").await;
    let sh = shipment(1, "REF-SCHEMA");

    let mut body = upsync::ups::build::ship_request(&sh, &ShipOptions::default());
    body["ShipmentRequest"]["Shipment"]
        .as_object_mut()
        .unwrap()
        .remove("Shipper");
    let e = c
        .call_raw(
            Api::Ship,
            reqwest::Method::POST,
            "api/shipments/v2409/ship",
            Some(body),
        )
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(400));
    assert!(e.ups_code().is_some());
    assert!(e.field().unwrap_or("").contains("Shipper"), "{e}");
    assert_eq!(e.class(), ErrorClass::Business);

    // A domestic reference moved to shipment level (only allowed off US→US/PR→PR).
    let mut body = upsync::ups::build::ship_request(&sh, &ShipOptions::default());
    let refs = body["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"].clone();
    assert!(
        refs.is_array(),
        "the builder places domestic references on the package"
    );
    body["ShipmentRequest"]["Shipment"]["ReferenceNumber"] = refs;
    body["ShipmentRequest"]["Shipment"]["Package"][0]
        .as_object_mut()
        .unwrap()
        .remove("ReferenceNumber");
    let e = c
        .call_raw(
            Api::Ship,
            reqwest::Method::POST,
            "api/shipments/v2409/ship",
            Some(body),
        )
        .await
        .unwrap_err();
    assert_eq!(e.http_status(), Some(400));
    assert!(e.field().unwrap_or("").contains("ReferenceNumber"), "{e}");
    assert_eq!(e.code(), "ups_reference_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_after_commit_is_outcome_unknown_and_never_resent() {
    let (sim, c) = setup("ship:drop-after-commit").await;
    let sh = shipment(2, "REF-DROP");
    let e = c.ship(&sh).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e}");
    assert_eq!(e.code(), "ups_outcome_unknown");
    // UPS did create it, exactly once: the client did not resend.
    assert_eq!(sim.stats().get("ship").copied(), Some(1));
    assert_eq!(sim.shipments_with_reference("REF-DROP"), 1);
    // Reconciliation can find it by reference.
    let today = c.clock().today();
    let found = c
        .track_by_reference("REF-DROP", None, today - chrono::Duration::days(1), today)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tracking_numbers.len(), 2);
}

// ------------------------------------------------------------------ issue 15 item 1 and 4

async fn setup_with(cfg: UpsSimConfig) -> (SimHandle, UpsClient) {
    let sim = spawn(UpsSimConfig {
        tick_interval_ms: 0,
        ..cfg
    })
    .await
    .unwrap();
    let client = UpsClient::new(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap();
    (sim, client)
}

/// The simulator models UPS's lagging reference index: a fresh shipment is found by its
/// 1Z at once but by reference (Track and Label Recovery) only after the delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_label_is_found_by_reference_only_after_the_index_delay() {
    let (sim, c) = setup_with(UpsSimConfig {
        reference_index_delay_minutes: 10,
        ..Default::default()
    })
    .await;
    let sh = shipment(1, "REF-LAG-1");
    let r = c.ship(&sh).await.unwrap();
    let today = c.clock().today();
    let (from, to) = (
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1),
    );
    assert!(matches!(
        c.track(&r.packages[0].tracking_number).await.unwrap(),
        TrackOutcome::Found { .. }
    ));
    let m = c
        .track_by_reference("REF-LAG-1", Some("123X56"), from, to)
        .await
        .unwrap();
    assert!(m.is_empty(), "not indexed yet: {m:?}");
    let gif = LabelSpec {
        format: LabelFormat::Gif,
        stock_size: None,
    };
    assert!(c
        .recover_label_by_reference("REF-LAG-1", "123X56", &gif)
        .await
        .unwrap()
        .is_none());
    sim.advance(chrono::Duration::minutes(11)).await;
    let m = c
        .track_by_reference("REF-LAG-1", Some("123X56"), from, to)
        .await
        .unwrap();
    assert_eq!(m.len(), 1);
    let rec = c
        .recover_label_by_reference("REF-LAG-1", "123X56", &gif)
        .await
        .unwrap()
        .expect("indexed now");
    assert_eq!(rec.shipment_id.as_deref(), Some(r.shipment_id.as_str()));
}

/// Another shipper's shipment with the same reference: without `shipperNum` UPS answers
/// 151085; the client always sends it, and the carrier adapter keeps only this account's
/// 1Z numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_shippers_reference_is_never_taken_for_ours() {
    use upsync::pipeline::Carrier;
    let (sim, c) = setup_with(UpsSimConfig::default()).await;
    let sh = shipment(2, "IF1001");
    let ours = c.ship(&sh).await.unwrap();
    let theirs = sim
        .state
        .add_foreign_shipment("999Z99", &["IF1001".to_string()]);
    let today = c.clock().today();
    let (from, to) = (
        today - chrono::Duration::days(1),
        today + chrono::Duration::days(1),
    );
    let e = c
        .track_by_reference("IF1001", None, from, to)
        .await
        .unwrap_err();
    assert_eq!(e.ups_code(), Some("151085"), "{e}");
    let m = c
        .track_by_reference("IF1001", Some("123X56"), from, to)
        .await
        .unwrap();
    let numbers: Vec<&String> = m.iter().flat_map(|m| &m.tracking_numbers).collect();
    assert_eq!(numbers.len(), 2);
    assert!(!numbers.contains(&&theirs));
    let carrier = upsync::app::adapters::UpsCarrier::new(c.clone());
    let found = carrier
        .find_by_reference("IF1001", "123X56", from, to)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].shipment_id, ours.shipment_id);
    assert!(upsync::app::adapters::is_shippers(
        &ours.shipment_id,
        "123X56"
    ));
    assert!(!upsync::app::adapters::is_shippers(&theirs, "123X56"));
}

/// Label Recovery takes GIF, PDF, ZPL, EPL or SPL (Shipping.yaml): the simulator refuses
/// PNG, and the client recovers a PNG label as GIF and converts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn label_recovery_formats_follow_the_spec_and_png_labels_still_recover() {
    let (sim, c) = setup_with(UpsSimConfig::default()).await;
    let mut sh = shipment(1, "REF-PNG-1");
    sh.label = LabelSpec {
        format: LabelFormat::Png,
        stock_size: None,
    };
    let r = c.ship(&sh).await.unwrap();
    let tn = r.packages[0].tracking_number.clone();
    // Straight to the simulator: PNG is refused, PDF is served.
    let token = reqwest::Client::new()
        .post(format!("{}/security/v1/oauth/token", sim.base_url))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let ask = |code: &str| {
        serde_json::json!({"LabelRecoveryRequest": {
            "Request": {},
            "LabelSpecification": {"LabelImageFormat": {"Code": code}, "HTTPUserAgent": "Mozilla/4.5"},
            "TrackingNumber": tn,
        }})
    };
    let http = reqwest::Client::new();
    let url = format!("{}/api/labels/v1903/recovery", sim.base_url);
    let png = http
        .post(&url)
        .bearer_auth(&token)
        .json(&ask("PNG"))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 400);
    let body: serde_json::Value = png.json().await.unwrap();
    assert_eq!(body["response"]["errors"][0]["code"], "190203", "{body}");
    let pdf: serde_json::Value = http
        .post(&url)
        .bearer_auth(&token)
        .json(&ask("PDF"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let image = pdf["LabelRecoveryResponse"]["LabelResults"][0]["LabelImage"]["GraphicImage"]
        .as_str()
        .unwrap();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(image)
        .unwrap();
    assert!(bytes.starts_with(b"%PDF-1.4"));
    assert!(bytes.ends_with(b"%%EOF\n"));
    // The client: asks GIF, hands back PNG.
    let rec = c.recover_label(&tn, &sh.label).await.unwrap();
    let label = rec.packages[0].label.as_ref().unwrap();
    assert_eq!(label.format, LabelFormat::Png);
    assert!(label.data.starts_with(b"\x89PNG\r\n\x1a\n"));
}
