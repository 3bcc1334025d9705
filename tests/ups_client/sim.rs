//! `UpsClient` against the UPS simulator for the fidelity items of issue 15: what the
//! client makes of UPS's party errors (one code, 120802, for several fields), the
//! international Shipper.AttentionName rule, and Request.SubVersion.
//!
//! The simulator runs in-process on 127.0.0.1:0; nothing here sleeps.

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

fn shipment() -> Shipment {
    Shipment {
        source: "s".into(),
        record_id: "rec-15".into(),
        number: "SO-15".into(),
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
        packages: vec![Package {
            erp_line_id: "l0".into(),
            weight: Weight {
                value: "5".parse().unwrap(),
                unit: WeightUnit::Lbs,
            },
            dimensions: None,
            packaging: "02".into(),
            description: None,
            declared_value: None,
        }],
        references: vec![Reference {
            code: "IK".into(),
            value: "SO-15".into(),
            barcode: false,
        }],
        description: Some("Widgets".into()),
        label: LabelSpec {
            format: LabelFormat::Gif,
            stock_size: None,
        },
        notifications: vec![],
        international: None,
        ship_date: None,
        negotiated_rates: false,
        billing: Default::default(),
        tax_information: false,
        return_service: None,
    }
}

fn to_canada(mut sh: Shipment) -> Shipment {
    sh.ship_to.address = Address {
        lines: vec!["100 King St W".into()],
        city: "Toronto".into(),
        state: "ON".into(),
        postal_code: "M5X1A9".into(),
        country: "CA".into(),
        residential: None,
        po_box: false,
    };
    sh.service = ServiceSelection::Fixed { code: "11".into() };
    sh
}

async fn setup(cfg: UpsSimConfig, ship_version: &str) -> (SimHandle, UpsClient) {
    let sim = spawn(UpsSimConfig {
        tick_interval_ms: 0,
        ..cfg
    })
    .await
    .unwrap();
    let mut c = UpsClientConfig::new(&sim.base_url, "123X56");
    c.versions.ship = ship_version.into();
    let client = UpsClient::new(
        c,
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap();
    (sim, client)
}

/// Guards issue 15 item 6: UPS answers 120802 for a ShipTo state, a Shipper postal code,
/// a cross-border phone … alike; the client reads the field the message names and gives a
/// specific stable code, field, fix and class (ShipTo = the record's data → business;
/// Shipper = the admin's configuration → config). Before, all were `ups_address_invalid`,
/// business.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn party_rejections_get_the_code_and_class_of_the_field_ups_names() {
    let (sim, c) = setup(UpsSimConfig::default(), "v2409").await;

    let mut sh = shipment();
    sh.ship_to.address.state = String::new();
    let e = c.ship(&sh).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120802"));
    assert_eq!(e.code(), "ups_shipto_address_invalid", "{e}");
    assert_eq!(e.class(), ErrorClass::Business);
    assert_eq!(e.field(), Some("Shipment.ShipTo.Address"));
    assert!(e.fix().unwrap().contains("ERP record"), "{e}");

    let mut sh = shipment();
    sh.shipper.address.postal_code = "2109".into();
    let e = c.ship(&sh).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120802"));
    assert_eq!(e.code(), "ups_shipper_address_invalid", "{e}");
    assert_eq!(e.class(), ErrorClass::Config);
    assert!(e.fix().unwrap().contains("ship_from"), "{e}");

    let mut sh = to_canada(shipment());
    sh.ship_to.phone = None;
    let e = c.ship(&sh).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120802"));
    assert_eq!(e.code(), "ups_phone_required", "{e}");
    assert_eq!(e.class(), ErrorClass::Business);
    assert_eq!(e.field(), Some("Shipment.ShipTo.Phone.Number"));

    let mut sh = to_canada(shipment());
    sh.description = None;
    let e = c.ship(&sh).await.unwrap_err();
    assert_eq!(e.code(), "ups_description_required", "{e}");
    assert_eq!(e.class(), ErrorClass::Business);

    // Nothing of these was created at UPS.
    assert_eq!(sim.shipments().as_array().unwrap().len(), 0);
}

/// Guards issue 15 item 2: an international Ship without `Shipper.AttentionName` is
/// refused by UPS ("Required if destination is international", Shipping.yaml) and the
/// client says which field and that it is the ship_from configuration. Before, the
/// simulator shipped it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn international_ship_without_shipper_attention_is_refused_as_config() {
    let (sim, c) = setup(UpsSimConfig::default(), "v2409").await;
    let mut sh = to_canada(shipment());
    sh.shipper.attention = None;
    let e = c.ship(&sh).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120802"));
    assert_eq!(e.code(), "ups_attention_required", "{e}");
    assert_eq!(e.class(), ErrorClass::Config);
    assert_eq!(e.field(), Some("Shipment.Shipper.AttentionName"));
    assert!(e.fix().unwrap().contains("attention:"), "{e}");
    // Domestic lanes still ship without it.
    let mut sh = shipment();
    sh.shipper.attention = None;
    c.ship(&sh).await.unwrap();
    // And with it, the international one ships.
    let r = c.ship(&to_canada(shipment())).await.unwrap();
    assert_eq!(r.packages.len(), 1);
    assert_eq!(sim.shipments().as_array().unwrap().len(), 2);
}

/// Guards issue 15 item 5: the client sends `Request.SubVersion` as YYMM even when told
/// `"v2409"` (what karrio-ups sends; a strict UPS refuses it), and reads both answer shapes:
/// arrays (SubVersion ≥ 2403) and single objects (legacy path `v1`, no SubVersion sent).
/// Before, `"v2409"` went out as is and the strict simulator refused the Ship.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_version_is_well_formed_and_both_shapes_are_read() {
    let (sim, c) = setup(UpsSimConfig::default(), "v2409").await;
    let opts = ShipOptions {
        sub_version: Some("v2409".into()),
        ..c.default_ship_options()
    };
    let r = c.ship_with(&shipment(), &opts).await.unwrap();
    assert_eq!(r.packages.len(), 1);
    // Rating with a SubVersion too, answer read.
    let quotes = c.shop(&shipment()).await.unwrap();
    assert!(quotes.iter().any(|q| q.service_code == "03"));
    sim.shutdown();

    // Legacy shapes: one package comes back as a bare object, and is read.
    let (sim, c) = setup(UpsSimConfig::default(), "v1").await;
    assert_eq!(c.default_ship_options().sub_version, None);
    let r = c.ship(&shipment()).await.unwrap();
    assert_eq!(r.packages.len(), 1);
    assert!(r.packages[0].label.is_some());
    assert_eq!(sim.shipments().as_array().unwrap().len(), 1);
}

/// Guards issue 15 item 3 on an international lane: Shop goes out as `Shoptimeintransit`
/// with `InvoiceLineTotal` and `ShipmentTotalWeight` (the simulator refuses an international
/// time-in-transit request without them, Rating.yaml), and every service, Standard (not
/// guaranteed) included, comes back with its business days.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn international_shop_has_transit_days_for_every_service() {
    let (_sim, c) = setup(UpsSimConfig::default(), "v2409").await;
    let mut sh = to_canada(shipment());
    sh.ship_to.address = Address {
        lines: vec!["Hauptstr. 5".into()],
        city: "Berlin".into(),
        state: String::new(),
        postal_code: "10115".into(),
        country: "DE".into(),
        residential: None,
        po_box: false,
    };
    sh.service = ServiceSelection::Fixed { code: "65".into() };
    let quotes = c.shop(&sh).await.unwrap();
    assert!(quotes.len() >= 3, "{quotes:?}");
    assert!(
        quotes.iter().all(|q| q.business_days.is_some()),
        "{quotes:?}"
    );
    let standard = to_canada(shipment());
    let quotes = c.shop(&standard).await.unwrap();
    let std11 = quotes.iter().find(|q| q.service_code == "11").unwrap();
    assert!(std11.business_days.is_some());
    assert!(!std11.guaranteed);
}

/// Guards issue 19's billing options against the simulator (which validates every body
/// against Shipping.yaml): bill third party and bill receiver are accepted, duties by the
/// shipper (DDP) go as a type-02 charge across a border, and a third party without an
/// account is refused by the simulator in UPS's error shape (the builder sends what the
/// shipment says; the mapping refuses such a record before any call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn billing_options_are_accepted_and_a_third_party_without_account_is_refused() {
    let (sim, c) = setup(UpsSimConfig::default(), "v2409").await;
    let mut sh = shipment();
    sh.billing.transportation = Payer::ThirdParty {
        account: "A1B2C3".into(),
        postal_code: "30005".into(),
        country: "US".into(),
    };
    let r = c.ship(&sh).await.unwrap();
    assert!(
        r.alerts.iter().all(|a| a.code != "121524"),
        "{:?}",
        r.alerts
    );
    let mut sh = to_canada(shipment());
    sh.billing.transportation = Payer::Receiver {
        account: "R1C2V3".into(),
        postal_code: "M5X1A9".into(),
        country: "CA".into(),
    };
    sh.billing.duties = Some(Payer::Shipper);
    sh.international = None;
    let body = upsync::ups::build::ship_request(&sh, &ShipOptions::default());
    let charges = &body["ShipmentRequest"]["Shipment"]["PaymentInformation"]["ShipmentCharge"];
    assert_eq!(charges[0]["Type"], "01");
    assert_eq!(charges[0]["BillReceiver"]["AccountNumber"], "R1C2V3");
    assert_eq!(charges[1]["Type"], "02");
    assert_eq!(charges[1]["BillShipper"]["AccountNumber"], "123X56");
    // Domestic: no duties charge is built at all (UPS would ignore it with Alert 121524).
    let mut dom = shipment();
    dom.billing.duties = Some(Payer::Shipper);
    let body = upsync::ups::build::ship_request(&dom, &ShipOptions::default());
    let charges = body["ShipmentRequest"]["Shipment"]["PaymentInformation"]["ShipmentCharge"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(charges.len(), 1, "{charges:?}");
    // A third party without an account: UPS's error shape, nothing created.
    let mut bad = shipment();
    bad.billing.transportation = Payer::ThirdParty {
        account: String::new(),
        postal_code: "30005".into(),
        country: "US".into(),
    };
    let before = sim.state.read_shipments().by_reference("SO-15").len();
    let e = c.ship(&bad).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Business, "{e}");
    assert!(e.to_string().contains("BillThirdParty"), "{e}");
    assert_eq!(
        sim.state.read_shipments().by_reference("SO-15").len(),
        before
    );
}

/// Guards the with-taxes figures: `tax_information` sends `TaxInformationIndicator`; a
/// Canadian origin gets GST on the negotiated total (inside `NegotiatedRateCharges`, as
/// Shipping.yaml puts it when negotiated rates apply) and the client reads it; a US origin
/// gets no tax block, so the with-taxes figure stays empty (and freight uses the total).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taxes_are_read_when_asked_for() {
    let (_sim, c) = setup(UpsSimConfig::default(), "v2409").await;
    let mut sh = shipment();
    sh.tax_information = true;
    sh.negotiated_rates = true;
    let r = c.ship(&sh).await.unwrap();
    assert!(r.charges.negotiated.is_some());
    assert_eq!(r.charges.negotiated_with_taxes, None);
    assert_eq!(r.charges.total_with_taxes, None);
    // From Canada to the US with Standard.
    let mut ca = shipment();
    ca.shipper.address = Address {
        lines: vec!["100 King St W".into()],
        city: "Toronto".into(),
        state: "ON".into(),
        postal_code: "M5X1A9".into(),
        country: "CA".into(),
        residential: None,
        po_box: false,
    };
    ca.service = ServiceSelection::Fixed { code: "11".into() };
    ca.tax_information = true;
    ca.negotiated_rates = true;
    let r = c.ship(&ca).await.unwrap();
    let n = r.charges.negotiated.clone().unwrap();
    let t = r.charges.negotiated_with_taxes.clone().expect("GST block");
    assert_eq!(t.currency, n.currency);
    assert_eq!(
        t.amount,
        n.amount + (n.amount * rust_decimal::Decimal::new(5, 2)).round_dp(2)
    );
    let rule = FreightRule {
        include_taxes: true,
        ..FreightRule::default()
    };
    assert_eq!(rule.figures(&r.charges).1, Some(t));
}
