use super::*;

use tower::ServiceExt;

async fn send(app: &Router, req: axum::http::Request<axum::body::Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn req(
    method: &str,
    uri: &str,
    tok: &str,
    body: Option<Value>,
) -> axum::http::Request<axum::body::Body> {
    let b = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {tok}"))
        .header("transId", "t1")
        .header("transactionSrc", "tests")
        .header("content-type", "application/json");
    b.body(match body {
        Some(v) => axum::body::Body::from(v.to_string()),
        None => axum::body::Body::empty(),
    })
    .unwrap()
}

fn assert_shape(text: &str, name: &str, v: &Value) {
    let val = schema::response_validator(text, name);
    let errs: Vec<String> = val
        .iter_errors(v)
        .map(|e| format!("{} at {}", e.kind().keyword(), e.instance_path()))
        .collect();
    assert!(errs.is_empty(), "{name}: {errs:?}");
}

/// Every answer matches the official RESPONSE schema (shape, types, required, enums).
#[tokio::test]
async fn answers_match_the_official_response_schemas() {
    let (core, state) = build_state(UpsSimConfig {
        token_ttl_seconds: 30 * 86_400,
        ..UpsSimConfig::default()
    })
    .unwrap();
    let app = router(state);
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("demo-client:demo-secret");
    let t = axum::http::Request::post("/security/v1/oauth/token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=client_credentials"))
        .unwrap();
    let (_, tv) = send(&app, t).await;
    let tok = tv["access_token"].as_str().unwrap().to_string();
    let mut ship_body: Value =
        serde_json::from_str(include_str!("testdata/ship-request-minimal.json")).unwrap();
    let pkg = ship_body["ShipmentRequest"]["Shipment"]["Package"][0].clone();
    ship_body["ShipmentRequest"]["Shipment"]["Package"] = json!([pkg.clone(), pkg]);
    let (s, ship) = send(
        &app,
        req("POST", "/api/shipments/v2409/ship", &tok, Some(ship_body)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{ship}");
    assert_shape(schema::spec::SHIPPING, "SHIPResponseWrapper", &ship);
    let tn = ship["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let lr = json!({"LabelRecoveryRequest": {"Request": {}, "TrackingNumber": tn}});
    let (s, v) = send(
        &app,
        req("POST", "/api/labels/v1903/recovery", &tok, Some(lr)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_shape(schema::spec::SHIPPING, "LABELRECOVERYResponseWrapper", &v);
    let rate = json!({"RateRequest": {"Request": {}, "Shipment": {
        "Shipper": {"ShipperNumber": "123X56", "Address": {"AddressLine": ["2311 York Rd"], "City": "Timonium", "StateProvinceCode": "MD", "PostalCode": "21093", "CountryCode": "US"}},
        "ShipTo": {"Address": {"AddressLine": ["123 Main St"], "City": "Alpharetta", "StateProvinceCode": "GA", "PostalCode": "30005", "CountryCode": "US"}},
        "ShipmentRatingOptions": {"NegotiatedRatesIndicator": ""},
        "Package": [{"PackagingType": {"Code": "02"}, "PackageWeight": {"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": "5"}}]}}});
    let (s, v) = send(
        &app,
        req(
            "POST",
            "/api/rating/v2409/Shoptimeintransit",
            &tok,
            Some(rate),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_shape(schema::spec::RATING, "RATEResponseWrapper", &v);
    let xav = json!({"XAVRequest": {"AddressKeyFormat": {"AddressLine": ["1 Ambiguous Way"], "PoliticalDivision2": "Alpharetta", "PoliticalDivision1": "GA", "PostcodePrimaryLow": "30005", "CountryCode": "US"}}});
    let (s, v) = send(
        &app,
        req("POST", "/api/addressvalidation/v2/3", &tok, Some(xav)),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_shape(schema::spec::ADDRESS_VALIDATION, "XAVResponseWrapper", &v);
    core.clock.advance(chrono::Duration::days(10));
    let (s, v) = send(&app, req("GET", &format!("/api/track/v1/details/{tn}?returnSignature=true&returnMilestones=true&returnPOD=true"), &tok, None)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_shape(schema::spec::TRACKING, "TrackApiResponse", &v);
    let (s, v) = send(
        &app,
        req(
            "GET",
            "/api/track/v1/details/1Z999AA10123456784",
            &tok,
            None,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_shape(schema::spec::TRACKING, "TrackApiResponse", &v);
    // the webhook payload
    let event = delivered_payload(&tn);
    assert_shape(schema::spec::TRACK_ALERT, "TrackingEventRequest", &event);
    let (s, v) = send(
        &app,
        req(
            "DELETE",
            &format!("/api/shipments/v2409/void/cancel/{tn}"),
            &tok,
            None,
        ),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "10 days later the void window is over: {v}"
    );
}

/// The enhanced Track Alert payload of a delivered package.
fn delivered_payload(tn: &str) -> Value {
    let (_core, st) = build_state(UpsSimConfig::default()).unwrap();
    let sh = state::Shipment {
        id: tn.to_string(),
        client_id: "demo-client".into(),
        shipper_number: "123X56".into(),
        service: "03".into(),
        created_at: st.now(),
        origin: state::Place {
            city: "Timonium".into(),
            state: "MD".into(),
            postal: "21093".into(),
            country: "US".into(),
        },
        destination: state::Place {
            city: "Alpharetta".into(),
            state: "GA".into(),
            postal: "30005".into(),
            country: "US".into(),
        },
        shipper_name: "S".into(),
        ship_to_name: "T".into(),
        residential: false,
        references: vec![],
        packages: vec![state::Package {
            tracking_number: tn.to_string(),
            weight_lbs: "5.0".into(),
            references: vec![],
            voided_at: None,
            exception: false,
            scenario: Default::default(),
            published: Default::default(),
        }],
        label_format: label::LabelFormat::Gif,
        currency: "USD".into(),
        total: "1.00".into(),
        negotiated_total: None,
        customer_context: String::new(),
    };
    let pl = track::plan(&sh, &sh.packages[0]);
    let last = pl.events.len() - 1;
    alert::payload(&sh, &sh.packages[0], &pl, last, true)
}

#[test]
fn client_spec_parses() {
    let c = ClientSpec::parse("demo-client:demo-secret:123X56+456y78").unwrap();
    assert_eq!(c, ClientSpec::demo());
    assert!(ClientSpec::parse("a:b").is_err());
    assert!(ClientSpec::parse("a:b:12345").is_err());
}

#[test]
fn operations_from_paths() {
    let m = Method::POST;
    assert_eq!(operation(&m, "/api/shipments/v2409/ship"), Some("ship"));
    assert_eq!(
        operation(&Method::DELETE, "/api/shipments/v2409/void/cancel/1Z"),
        Some("void")
    );
    assert_eq!(operation(&m, "/api/rating/v2409/Shop"), Some("rate"));
    assert_eq!(
        operation(&m, "/api/track/v1/subscription/standard/package"),
        Some("trackalert")
    );
    assert_eq!(operation(&m, "/api/track/v1/details/1Z"), Some("track"));
    assert_eq!(operation(&m, "/_sim/stats"), None);
    assert_eq!(operation(&m, "/security/v1/oauth/token"), Some("token"));
}

#[test]
fn versions() {
    assert_eq!(version_number("v2409"), Some(2409));
    assert_eq!(version_number("1701"), Some(1701));
    assert_eq!(version_number("vx"), None);
}

#[test]
fn single_items_collapse_only_in_legacy() {
    assert_eq!(one_or_many(vec![json!(1)], false), json!(1));
    assert_eq!(one_or_many(vec![json!(1)], true), json!([1]));
    assert_eq!(one_or_many(vec![json!(1), json!(2)], false), json!([1, 2]));
}

/// Every scenario's Track answers and Track Alert events, at every step of the timeline,
/// match the official response schemas (Tracking.yaml `TrackApiResponse`, incl.
/// `AccessPointInformation`; UPSTrackAlert.yaml `TrackingEventRequest`, incl. type `U`).
/// Track's type `RS` (returned to shipper, UPS-REFERENCE §6) is pushed as `D` with code
/// `RS`, since UPSTrackAlert.yaml's `activityStatus.type` enumerates only D I M MV U X.
#[test]
fn scenario_answers_match_the_official_schemas() {
    use track::TrackScenario;
    let track_v = schema::response_validator(schema::spec::TRACKING, "TrackApiResponse");
    let alert_v = schema::response_validator(schema::spec::TRACK_ALERT, "TrackingEventRequest");
    let g = trackno::Generator::new(77);
    let mut types = std::collections::BTreeSet::new();
    for scenario in TrackScenario::ALL {
        for _ in 0..4 {
            let tn = g.next("123X56", "03");
            let mut sh = sample_shipment(&tn);
            sh.packages[0].scenario = scenario;
            let p = &sh.packages[0];
            let pl = track::plan(&sh, p);
            let mut instants: Vec<_> = pl.events.iter().map(|e| e.at).collect();
            instants.push(sh.created_at + chrono::Duration::days(40));
            for at in instants {
                let pkg = track::package_json(
                    &sh,
                    0,
                    at + chrono::Duration::minutes(1),
                    track::Want {
                        signature: true,
                        pod: true,
                        milestones: true,
                    },
                );
                let body = json!({"trackResponse": {"shipment": [{"inquiryNumber": tn, "package": [pkg]}]}});
                let errs: Vec<String> = track_v
                    .iter_errors(&body)
                    .map(|e| format!("{} at {}", e.kind().keyword(), e.instance_path()))
                    .collect();
                assert!(errs.is_empty(), "{scenario}: {errs:?}");
            }
            for (_, item) in alert::feed(&pl) {
                let ev = alert::feed_payload(&sh, p, &pl, item, true);
                let typ = ev["activityStatus"]["type"].as_str().unwrap().to_string();
                types.insert(typ.clone());
                let errs: Vec<String> = alert_v
                    .iter_errors(&ev)
                    .map(|e| format!("{} at {}", e.kind().keyword(), e.instance_path()))
                    .collect();
                assert!(errs.is_empty(), "{scenario} {typ}: {errs:?}");
                assert_eq!(
                    ev["activityStatus"]["descriptionCode"]
                        .as_str()
                        .map(str::len),
                    Some(3)
                );
            }
        }
    }
    let all: Vec<&str> = types.iter().map(String::as_str).collect();
    assert_eq!(all, ["D", "I", "M", "U", "X"]);
}

/// A one-package shipment created now (sim clock of a fresh state).
fn sample_shipment(tn: &str) -> state::Shipment {
    let (_core, st) = build_state(UpsSimConfig::default()).unwrap();
    state::Shipment {
        id: tn.to_string(),
        client_id: "demo-client".into(),
        shipper_number: "123X56".into(),
        service: "03".into(),
        created_at: st.now(),
        origin: state::Place {
            city: "Timonium".into(),
            state: "MD".into(),
            postal: "21093".into(),
            country: "US".into(),
        },
        destination: state::Place {
            city: "Alpharetta".into(),
            state: "GA".into(),
            postal: "30005".into(),
            country: "US".into(),
        },
        shipper_name: "S".into(),
        ship_to_name: "Happy Dog Pet Supply".into(),
        residential: false,
        references: vec![],
        packages: vec![state::Package {
            tracking_number: tn.to_string(),
            weight_lbs: "5.0".into(),
            references: vec![],
            voided_at: None,
            exception: false,
            scenario: Default::default(),
            published: Default::default(),
        }],
        label_format: label::LabelFormat::Gif,
        currency: "USD".into(),
        total: "1.00".into(),
        negotiated_total: None,
        customer_context: String::new(),
    }
}
