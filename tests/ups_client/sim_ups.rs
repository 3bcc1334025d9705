//! UPS simulator over HTTP on loopback: raw reqwest/serde_json only (never the UPS client,
//! so the simulator can disagree with it). Time moves through `/_sim/clock/advance`.

use std::sync::{Arc, Mutex};

use base64::Engine;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use upsync::sim::ups::{self, check_digit_valid, SimHandle, UpsSimConfig};

fn minimal_ship() -> Value {
    serde_json::from_str(include_str!(
        "../../sim/src/ups/testdata/ship-request-minimal.json"
    ))
    .unwrap()
}

async fn start(cfg: UpsSimConfig) -> (SimHandle, Client) {
    let cfg = UpsSimConfig {
        tick_interval_ms: 0,
        ..cfg
    };
    let h = ups::spawn(cfg).await.expect("simulator starts");
    (h, Client::new())
}

async fn token_with(h: &SimHandle, c: &Client, id: &str, secret: &str) -> reqwest::Response {
    c.post(format!("{}/security/v1/oauth/token", h.base_url))
        .basic_auth(id, Some(secret))
        .header("x-merchant-id", "123X56")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
}

async fn token(h: &SimHandle, c: &Client) -> String {
    let r = token_with(h, c, "demo-client", "demo-secret").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

async fn call(
    h: &SimHandle,
    c: &Client,
    method: Method,
    path: &str,
    tok: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut r = c
        .request(method, format!("{}{}", h.base_url, path))
        .bearer_auth(tok)
        .header("transId", "t-1")
        .header("transactionSrc", "upsync-tests");
    if let Some(b) = body {
        r = r.json(b);
    }
    let resp = r.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn ship(
    h: &SimHandle,
    c: &Client,
    tok: &str,
    version: &str,
    body: &Value,
) -> (StatusCode, Value) {
    call(
        h,
        c,
        Method::POST,
        &format!("/api/shipments/{version}/ship"),
        tok,
        Some(body),
    )
    .await
}

async fn advance(h: &SimHandle, c: &Client, q: &str) {
    let r = c
        .post(format!("{}/_sim/clock/advance?{q}", h.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

async fn counters(h: &SimHandle, c: &Client) -> Value {
    let v: Value = c
        .get(format!("{}/_sim/stats", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["counters"].clone()
}

fn first_error(v: &Value) -> (String, String) {
    let e = &v["response"]["errors"][0];
    (
        e["code"].as_str().unwrap_or("").to_string(),
        e["message"].as_str().unwrap_or("").to_string(),
    )
}

fn to_canada(b: &mut Value) {
    let s = &mut b["ShipmentRequest"]["Shipment"];
    s["ShipTo"]["Address"] = json!({"AddressLine": ["100 King St W"], "City": "Toronto",
        "StateProvinceCode": "ON", "PostalCode": "M5X1A9", "CountryCode": "CA"});
    s["Service"]["Code"] = json!("11");
}

#[tokio::test]
async fn token_answers_like_the_example_and_refuses_bad_clients() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let r = token_with(&h, &c, "demo-client", "demo-secret").await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    for k in [
        "token_type",
        "issued_at",
        "client_id",
        "access_token",
        "scope",
        "expires_in",
        "refresh_count",
        "status",
    ] {
        assert!(v[k].is_string(), "{k} must be a string: {v}");
    }
    assert_eq!(v["expires_in"], "14399");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["issued_at"].as_str().unwrap().parse::<i64>().unwrap() > 1_600_000_000_000);
    let r = token_with(&h, &c, "demo-client", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&r.json().await.unwrap()).0, "10401");
    let r = c
        .post(format!("{}/security/v1/oauth/token", h.base_url))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&r.json().await.unwrap()).0, "10400");
    // API without token
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/shipments/v2409/ship",
        "nope",
        Some(&minimal_ship()),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&v).0, "250002");
    assert_eq!(counters(&h, &c).await["token.issued"], 1);
}

#[tokio::test]
async fn schema_rejects_missing_shipper_naming_the_field() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    b["ShipmentRequest"]["Shipment"]
        .as_object_mut()
        .unwrap()
        .remove("Shipper");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (code, msg) = first_error(&v);
    assert_eq!(code, "10002");
    assert!(msg.contains("ShipmentRequest.Shipment.Shipper"), "{msg}");
    assert_eq!(counters(&h, &c).await["ship.400"], 1);
    assert!(h.shipments().as_array().unwrap().is_empty());
}

#[tokio::test]
async fn package_level_reference_on_us_to_canada_is_rejected() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    to_canada(&mut b);
    b["ShipmentRequest"]["Shipment"]["Package"][0]["PackageWeight"]["Weight"] = json!("5");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (code, msg) = first_error(&v);
    assert_eq!(code, "120541");
    assert!(
        msg.contains("ShipmentRequest.Shipment.Package[0].ReferenceNumber"),
        "{msg}"
    );
    // the same reference at shipment level ships
    let r = b["ShipmentRequest"]["Shipment"]["Package"][0]
        .as_object_mut()
        .unwrap()
        .remove("ReferenceNumber")
        .unwrap();
    b["ShipmentRequest"]["Shipment"]["ReferenceNumber"] = r;
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn foreign_shipper_number_and_wrong_service_are_rejected() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    b["ShipmentRequest"]["Shipment"]["Shipper"]["ShipperNumber"] = json!("999Z99");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (code, msg) = first_error(&v);
    assert_eq!(code, "120100");
    assert!(msg.contains("Shipment.Shipper.ShipperNumber"));
    let mut b = minimal_ship();
    b["ShipmentRequest"]["Shipment"]["Service"]["Code"] = json!("65");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "121100");
}

#[tokio::test]
async fn ship_v2409_answers_arrays_with_real_labels_and_negotiated_charges() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    let pkg = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
    b["ShipmentRequest"]["Shipment"]["Package"] = json!([pkg.clone(), pkg]);
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["ShipmentResponse"];
    assert_eq!(r["Response"]["ResponseStatus"]["Code"], "1");
    assert_eq!(
        r["Response"]["TransactionReference"]["CustomerContext"],
        "order-1001"
    );
    let res = &r["ShipmentResults"];
    let pr = res["PackageResults"].as_array().expect("array in v2409");
    assert_eq!(pr.len(), 2);
    let id = res["ShipmentIdentificationNumber"].as_str().unwrap();
    assert_eq!(id, pr[0]["TrackingNumber"].as_str().unwrap());
    for p in pr {
        let n = p["TrackingNumber"].as_str().unwrap();
        assert!(n.starts_with("1Z123X5603") && check_digit_valid(n), "{n}");
        let img = base64::engine::general_purpose::STANDARD
            .decode(p["ShippingLabel"]["GraphicImage"].as_str().unwrap())
            .unwrap();
        assert_eq!(&img[..6], b"GIF89a");
        assert_eq!(p["ShippingLabel"]["ImageFormat"]["Code"], "GIF");
    }
    let total = res["ShipmentCharges"]["TotalCharges"]["MonetaryValue"]
        .as_str()
        .unwrap();
    assert_eq!(total.split('.').nth(1).map(str::len), Some(2), "{total}");
    let neg = res["NegotiatedRateCharges"]["TotalCharge"]["MonetaryValue"]
        .as_str()
        .unwrap();
    assert!(neg.parse::<f64>().unwrap() < total.parse::<f64>().unwrap());
    // state: one shipment with its package references
    let dump = h.shipments();
    assert_eq!(dump.as_array().unwrap().len(), 1);
    assert_eq!(dump[0]["id"], id);
    assert_eq!(dump[0]["references"], json!(["PO-1001"]));
    assert_eq!(dump[0]["packages"].as_array().unwrap().len(), 2);
    let st = counters(&h, &c).await;
    assert_eq!(st["ship.created"], 1);
    assert_eq!(st["ship.200"], 1);
}

#[tokio::test]
async fn legacy_version_answers_single_items_as_objects() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    // 456Y78 is not eligible for negotiated rates → Alert 120900
    b["ShipmentRequest"]["Shipment"]["Shipper"]["ShipperNumber"] = json!("456Y78");
    b["ShipmentRequest"]["Shipment"]["PaymentInformation"]["ShipmentCharge"][0]["BillShipper"]
        ["AccountNumber"] = json!("456Y78");
    let (s, legacy) = ship(&h, &c, &tok, "v1", &b).await;
    assert_eq!(s, StatusCode::OK, "{legacy}");
    let r = &legacy["ShipmentResponse"];
    assert!(
        r["ShipmentResults"]["PackageResults"].is_object(),
        "{legacy}"
    );
    assert!(r["Response"]["Alert"].is_object());
    assert_eq!(r["Response"]["Alert"]["Code"], "120900");
    assert!(r["ShipmentResults"].get("NegotiatedRateCharges").is_none());
    let (s, current) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK);
    let r = &current["ShipmentResponse"];
    assert!(r["ShipmentResults"]["PackageResults"].is_array());
    assert!(r["Response"]["Alert"].is_array());
}

#[tokio::test]
async fn lenient_mode_accepts_single_objects_with_a_warning() {
    let mut b = minimal_ship();
    let pkg = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
    b["ShipmentRequest"]["Shipment"]["Package"] = pkg;
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(first_error(&v)
        .1
        .contains("ShipmentRequest.Shipment.Package"));
    let (h, c) = start(UpsSimConfig {
        lenient: true,
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let alerts = v["ShipmentResponse"]["Response"]["Alert"]
        .as_array()
        .unwrap();
    assert!(alerts.iter().any(|a| a["Code"] == "129001"), "{alerts:?}");
}

#[tokio::test]
async fn void_whole_and_per_package_within_the_window() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    let pkg = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
    b["ShipmentRequest"]["Shipment"]["Package"] = json!([pkg.clone(), pkg.clone(), pkg]);
    let (_, v) = ship(&h, &c, &tok, "v2409", &b).await;
    let res = &v["ShipmentResponse"]["ShipmentResults"];
    let id = res["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let second = res["PackageResults"][1]["TrackingNumber"]
        .as_str()
        .unwrap()
        .to_string();
    // one package
    let q = url_encode(&format!("[\"{second}\"]"));
    let (s, v) = call(
        &h,
        &c,
        Method::DELETE,
        &format!("/api/shipments/v2409/void/cancel/{id}?trackingnumber={q}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let plr = &v["VoidShipmentResponse"]["PackageLevelResults"][0];
    assert_eq!(plr["TrackingNumber"], second.as_str());
    assert_eq!(plr["Status"]["Code"], "1");
    let dump = h.shipments();
    assert_eq!(dump[0]["voided"], false);
    assert_eq!(dump[0]["packages"][1]["voided"], true);
    // the whole shipment
    let (s, v) = call(
        &h,
        &c,
        Method::DELETE,
        &format!("/api/shipments/v2409/void/cancel/{id}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["VoidShipmentResponse"]["SummaryResult"]["Status"]["Description"],
        "Voided"
    );
    assert_eq!(h.shipments()[0]["voided"], true);
    assert_eq!(counters(&h, &c).await["ship.voided"], 1);
    // a second shipment, past the window
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    let id2 = v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    advance(&h, &c, "hours=25").await;
    let tok = token(&h, &c).await;
    let (s, v) = call(
        &h,
        &c,
        Method::DELETE,
        &format!("/api/shipments/v2409/void/cancel/{id2}"),
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "190102");
    // malformed id
    let (s, v) = call(
        &h,
        &c,
        Method::DELETE,
        "/api/shipments/v2409/void/cancel/1Z999AA10123456785",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "190100");
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn label_recovery_by_tracking_number_and_by_reference() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    b["ShipmentRequest"]["LabelSpecification"] = json!({"LabelImageFormat": {"Code": "ZPL"}, "LabelStockSize": {"Height": "6", "Width": "4"}});
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let tn = v["ShipmentResponse"]["ShipmentResults"]["PackageResults"][0]["TrackingNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let zpl = base64::engine::general_purpose::STANDARD
        .decode(
            v["ShipmentResponse"]["ShipmentResults"]["PackageResults"][0]["ShippingLabel"]
                ["GraphicImage"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert!(String::from_utf8(zpl).unwrap().contains(&tn));
    // Recovered in another format than shipped. GIF, not PNG: PNG is no Label Recovery
    // format for 1Z shipments (Shipping.yaml `LabelRecovery_LabelSpecification_LabelImageFormat`).
    let body = json!({"LabelRecoveryRequest": {"Request": {"SubVersion": "1903"}, "LabelSpecification": {"LabelImageFormat": {"Code": "GIF"}}, "TrackingNumber": tn}});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/labels/v1903/recovery",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let lr = &v["LabelRecoveryResponse"];
    assert_eq!(lr["ShipmentIdentificationNumber"], tn.as_str());
    let gif = base64::engine::general_purpose::STANDARD
        .decode(
            lr["LabelResults"][0]["LabelImage"]["GraphicImage"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(&gif[..6], b"GIF89a");
    // ZPL asked explicitly: without a LabelSpecification, Label Recovery's default is GIF.
    let body = json!({"LabelRecoveryRequest": {"Request": {}, "LabelSpecification": {"LabelImageFormat": {"Code": "ZPL"}}, "ReferenceValues": {"ReferenceNumber": {"Value": "PO-1001"}, "ShipperNumber": "123X56"}}});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/labels/v1903/recovery",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let text = base64::engine::general_purpose::STANDARD
        .decode(
            v["LabelRecoveryResponse"]["LabelResults"][0]["LabelImage"]["GraphicImage"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert!(String::from_utf8(text).unwrap().starts_with("^XA"));
    let body =
        json!({"LabelRecoveryRequest": {"Request": {}, "TrackingNumber": "1Z999AA10123456784"}});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/labels/v1903/recovery",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "190202");
}

#[tokio::test]
async fn rate_and_shop_with_negotiated_rates_and_transit() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let s0 = &minimal_ship()["ShipmentRequest"]["Shipment"];
    let mut pkg = s0["Package"][0].clone();
    let packaging = pkg.as_object_mut().unwrap().remove("Packaging").unwrap();
    pkg["PackagingType"] = packaging;
    pkg.as_object_mut().unwrap().remove("ReferenceNumber");
    pkg.as_object_mut().unwrap().remove("Description");
    let body = json!({"RateRequest": {
    "Request": {"TransactionReference": {"CustomerContext": "rate-1"}},
    "Shipment": {
        "Shipper": s0["Shipper"], "ShipTo": s0["ShipTo"], "ShipFrom": s0["ShipFrom"],
        "PaymentDetails": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "123X56"}}]},
        "Service": {"Code": "03"},
        "ShipmentRatingOptions": {"NegotiatedRatesIndicator": ""},
        "DeliveryTimeInformation": {"PackageBillType": "03", "Pickup": {"Date": "20261123"}},
        "Package": [pkg],
    }}});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Rate",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rs = v["RateResponse"]["RatedShipment"].as_array().unwrap();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0]["Service"]["Code"], "03");
    assert!(rs[0]["NegotiatedRateCharges"]["TotalCharge"]["MonetaryValue"].is_string());
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rs = v["RateResponse"]["RatedShipment"].as_array().unwrap();
    assert!(rs.len() >= 5);
    assert!(rs
        .iter()
        .all(|r| r["TimeInTransit"]["ServiceSummary"]["EstimatedArrival"]
            ["BusinessDaysInTransit"]
            .is_string()));
    let ground = rs.iter().find(|r| r["Service"]["Code"] == "03").unwrap();
    let nda = rs.iter().find(|r| r["Service"]["Code"] == "01").unwrap();
    let money = |r: &Value| {
        r["TotalCharges"]["MonetaryValue"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert!(money(nda) > money(ground));
    // GuaranteedDelivery only for guaranteed (air) services, never Ground (Rating.yaml).
    assert!(ground.get("GuaranteedDelivery").is_none(), "{ground}");
    assert!(nda["GuaranteedDelivery"]["BusinessDaysInTransit"].is_string());
    assert!(ground["TimeInTransit"]["ServiceSummary"]
        .get("GuaranteedIndicator")
        .is_none());
    // international service on a domestic lane
    let mut bad = body.clone();
    bad["RateRequest"]["Shipment"]["Service"]["Code"] = json!("07");
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Rate",
        &tok,
        Some(&bad),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "111100");
}

#[tokio::test]
async fn address_validation_follows_the_conventions() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let xav = |line: &str, country: &str| {
        json!({"XAVRequest": {"AddressKeyFormat": {
        "AddressLine": [line], "PoliticalDivision2": "Alpharetta", "PoliticalDivision1": "GA",
        "PostcodePrimaryLow": "30005", "CountryCode": country}}})
    };
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&xav("12 Oak Lane", "US")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["XAVResponse"];
    assert_eq!(r["ValidAddressIndicator"], "");
    assert_eq!(r["AddressClassification"]["Code"], "2");
    assert_eq!(r["Candidate"][0]["AddressClassification"]["Code"], "2");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&xav("123 Main St", "US")),
    )
    .await;
    assert_eq!(v["XAVResponse"]["AddressClassification"]["Code"], "1");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&xav("1 Ambiguous Rd", "US")),
    )
    .await;
    let r = &v["XAVResponse"];
    assert_eq!(r["AmbiguousAddressIndicator"], "");
    let n = r["Candidate"].as_array().unwrap().len();
    assert!((2..=3).contains(&n));
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&xav("5 Nowhere Rd", "PR")),
    )
    .await;
    assert_eq!(v["XAVResponse"]["NoCandidatesIndicator"], "");
    assert!(v["XAVResponse"].get("Candidate").is_none());
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&xav("1 Rue", "FR")),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "264002");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v1/3",
        &tok,
        Some(&xav("123 Main St", "US")),
    )
    .await;
    assert!(v["XAVResponse"]["Candidate"].is_object(), "{v}");
    assert!(v["XAVResponse"]["Candidate"]["AddressKeyFormat"]["AddressLine"].is_string());
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/7",
        &tok,
        Some(&xav("123 Main St", "US")),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "9264028");
}

#[tokio::test]
async fn tracking_progresses_to_delivered_on_the_sim_clock() {
    let (h, c) = start(UpsSimConfig {
        token_ttl_seconds: 30 * 86_400,
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    let tn = v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/track/v1/details/{tn}?returnSignature=true");
    let (s, v) = call(&h, &c, Method::GET, &path, &tok, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let p = &v["trackResponse"]["shipment"][0]["package"][0];
    assert_eq!(p["currentStatus"]["type"], "M");
    assert_eq!(p["deliveryDate"][0]["type"], "SDD");
    assert_eq!(p["referenceNumber"][0]["number"], "PO-1001");
    let (_, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/reference/details/PO-1001",
        &tok,
        None,
    )
    .await;
    assert_eq!(
        v["trackResponse"]["shipment"][0]["package"][0]["trackingNumber"],
        tn.as_str(),
        "default window is the last 14 days"
    );
    advance(&h, &c, "hours=5").await;
    let (_, v) = call(&h, &c, Method::GET, &path, &tok, None).await;
    assert_eq!(
        v["trackResponse"]["shipment"][0]["package"][0]["currentStatus"]["code"],
        "OR"
    );
    advance(&h, &c, "days=14").await;
    let (_, v) = call(&h, &c, Method::GET, &path, &tok, None).await;
    let p = &v["trackResponse"]["shipment"][0]["package"][0];
    assert_eq!(p["currentStatus"]["type"], "D", "{p}");
    assert_eq!(p["deliveryDate"][0]["type"], "DEL");
    assert!(!p["deliveryInformation"]["receivedBy"]
        .as_str()
        .unwrap()
        .is_empty());
    let sig = base64::engine::general_purpose::STANDARD
        .decode(
            p["deliveryInformation"]["signature"]["image"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(&sig[..6], b"GIF89a");
    let acts = p["activity"].as_array().unwrap();
    assert_eq!(acts[0]["status"]["type"], "D");
    assert_eq!(acts.last().unwrap()["status"]["type"], "M");
    let stamps: Vec<String> = acts
        .iter()
        .map(|a| {
            format!(
                "{}{}",
                a["gmtDate"].as_str().unwrap(),
                a["gmtTime"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        stamps.windows(2).all(|w| w[0] > w[1]),
        "newest first: {stamps:?}"
    );
    assert_eq!(acts[0]["gmtOffset"], "-05:00");
    // by reference, inside and outside the pickup window
    let (_, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/reference/details/PO-1001?fromPickUpDate=20000101&toPickUpDate=20991231",
        &tok,
        None,
    )
    .await;
    assert_eq!(
        v["trackResponse"]["shipment"][0]["package"][0]["trackingNumber"],
        tn.as_str()
    );
    let (_, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/reference/details/PO-1001?fromPickUpDate=20000101&toPickUpDate=20000102",
        &tok,
        None,
    )
    .await;
    assert_eq!(
        v["trackResponse"]["shipment"][0]["warnings"][0]["code"],
        "TW0001"
    );
    let (s, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/reference/details/PO-1001?fromPickUpDate=2000-01-01",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "TV1003");
}

#[tokio::test]
async fn track_not_found_malformed_and_missing_headers() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let (s, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/details/1Z999AA10123456784",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["trackResponse"]["shipment"][0]["warnings"][0]["code"],
        "TW0001"
    );
    assert!(v["trackResponse"]["shipment"][0].get("package").is_none());
    let (s, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/details/1Z12$4",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "TV1002");
    let r = c
        .get(format!(
            "{}/api/track/v1/details/1Z999AA10123456784",
            h.base_url
        ))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&r.json().await.unwrap()).0, "TV1001");
    let (h, c) = start(UpsSimConfig {
        track_not_found_404: true,
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (s, v) = call(
        &h,
        &c,
        Method::GET,
        "/api/track/v1/details/1Z999AA10123456784",
        &tok,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(first_error(&v).0, "TW0001");
}

#[tokio::test]
async fn token_expires_on_the_sim_clock() {
    let (h, c) = start(UpsSimConfig {
        token_ttl_seconds: 60,
        ..UpsSimConfig::default()
    })
    .await;
    let r = token_with(&h, &c, "demo-client", "demo-secret").await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], "60");
    let tok = v["access_token"].as_str().unwrap().to_string();
    let path = "/api/track/v1/details/1Z999AA10123456784";
    assert_eq!(
        call(&h, &c, Method::GET, path, &tok, None).await.0,
        StatusCode::OK
    );
    advance(&h, &c, "seconds=59").await;
    assert_eq!(
        call(&h, &c, Method::GET, path, &tok, None).await.0,
        StatusCode::OK
    );
    advance(&h, &c, "seconds=2").await;
    let (s, v) = call(&h, &c, Method::GET, path, &tok, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&v).0, "250002");
    let tok2 = token(&h, &c).await;
    assert_eq!(
        call(&h, &c, Method::GET, path, &tok2, None).await.0,
        StatusCode::OK
    );
    assert_eq!(counters(&h, &c).await["token.issued"], 2);
}

#[tokio::test]
async fn daily_token_cap_refuses_then_resets_next_utc_day() {
    let (h, c) = start(UpsSimConfig {
        token_daily_cap: Some(2),
        ..UpsSimConfig::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(
            token_with(&h, &c, "demo-client", "demo-secret")
                .await
                .status(),
            StatusCode::OK
        );
    }
    let r = token_with(&h, &c, "demo-client", "demo-secret").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let (code, msg) = first_error(&r.json().await.unwrap());
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("10429", "Quota Limit Exceeded")
    );
    advance(&h, &c, "days=1").await;
    assert_eq!(
        token_with(&h, &c, "demo-client", "demo-secret")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(counters(&h, &c).await["token.issued"], 3);
}

#[tokio::test]
async fn drop_after_commit_creates_the_shipment_but_breaks_the_answer() {
    let (h, c) = start(UpsSimConfig {
        faults: "ship:drop-after-commit#1".into(),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let r = c
        .post(format!("{}/api/shipments/v2409/ship", h.base_url))
        .bearer_auth(&tok)
        .json(&minimal_ship())
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(broken, "the client must see a broken connection");
    let dump = h.shipments();
    assert_eq!(
        dump.as_array().unwrap().len(),
        1,
        "the shipment was committed"
    );
    assert_eq!(dump[0]["references"], json!(["PO-1001"]));
    let st = counters(&h, &c).await;
    assert_eq!(st["ship.created"], 1);
    assert_eq!(st["ship.drop_after_commit"], 1);
    // the fault fired once: the next Ship answers normally (a duplicate per reference)
    let (s, _) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    assert_eq!(s, StatusCode::OK);
    let dump = h.shipments();
    let dups = dump
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["references"][0] == "PO-1001")
        .count();
    assert_eq!(dups, 2);
    assert_eq!(h.shipments_with_reference("PO-1001"), 2);
    let by_ref: Value = c
        .get(format!(
            "{}/_sim/ups/shipments?reference=PO-1001",
            h.base_url
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_ref.as_array().unwrap().len(), 2);
    let none: Value = c
        .get(format!("{}/_sim/ups/shipments?reference=NOPE", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(none.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn faults_and_rate_limit_answer_429_in_ups_shape() {
    let (h, c) = start(UpsSimConfig {
        faults: "rate:429#1,xav:503#1".into(),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shop",
        &tok,
        Some(&json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        v,
        json!({"response": {"errors": [{"code": "10429", "message": "Too Many Requests"}]}})
    );
    let (s, _) = call(
        &h,
        &c,
        Method::POST,
        "/api/addressvalidation/v2/3",
        &tok,
        Some(&json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let st = counters(&h, &c).await;
    assert_eq!(st["rate.429"], 1);
    assert_eq!(st["xav.503"], 1);

    let (h, c) = start(UpsSimConfig {
        rate_limit_per_second: Some(2),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let path = "/api/track/v1/details/1Z999AA10123456784";
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(call(&h, &c, Method::GET, path, &tok, None).await.0);
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_eq!(statuses[0], StatusCode::OK);
}

#[tokio::test]
async fn token_expired_fault_forces_a_401() {
    let (h, c) = start(UpsSimConfig {
        faults: "track:token-expired#1".into(),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let path = "/api/track/v1/details/1Z999AA10123456784";
    let (s, v) = call(&h, &c, Method::GET, path, &tok, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(first_error(&v).0, "250002");
    // the old token stays expired; a new one works
    assert_eq!(
        call(&h, &c, Method::GET, path, &tok, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let tok = token(&h, &c).await;
    assert_eq!(
        call(&h, &c, Method::GET, path, &tok, None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn record_dir_writes_requests_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (h, c) = start(UpsSimConfig {
        record_dir: Some(dir.path().to_path_buf()),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (s, _) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    assert_eq!(s, StatusCode::OK);
    let mut all = String::new();
    let mut n = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        n += 1;
    }
    assert_eq!(n, 2);
    assert!(all.contains("ShipmentRequest"));
    assert!(!all.contains("demo-secret"));
    assert!(!all.contains(&tok));
}

// ------------------------------------------------------------------ Track Alert

#[derive(Clone, Default)]
struct Received {
    events: Arc<Mutex<Vec<(axum::http::HeaderMap, Value)>>>,
    token_calls: Arc<Mutex<Vec<axum::http::HeaderMap>>>,
}

async fn receiver() -> (String, Received) {
    use axum::routing::post;
    let rec = Received::default();
    let r1 = rec.clone();
    let r2 = rec.clone();
    let app = axum::Router::new()
        .route(
            "/events",
            post(move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let r = r1.clone();
                async move {
                    r.events.lock().unwrap().push((headers, body.0));
                    "ok"
                }
            }),
        )
        .route(
            "/token",
            post(move |headers: axum::http::HeaderMap| {
                let r = r2.clone();
                async move {
                    r.token_calls.lock().unwrap().push(headers);
                    axum::Json(json!({"access_token": "hook-bearer", "token_type": "Bearer", "expires_in": 3600}))
                }
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (format!("http://{addr}"), rec)
}

#[tokio::test]
async fn track_alert_v1_pushes_each_transition_with_the_credential() {
    let (url, rec) = receiver().await;
    let (h, c) = start(UpsSimConfig {
        token_ttl_seconds: 60 * 86_400,
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    let tn = v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"locale": "en_US", "countryCode": "US", "trackingNumberList": [tn, "1Z1234567$8"],
        "destination": {"url": format!("{url}/events"), "credentialType": "Bearer", "credential": "opaque-shared-secret"}});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["validTrackingNumbers"], json!([tn]));
    assert_eq!(v["invalidTrackingNumbers"], json!(["1Z1234567$8"]));
    // label creation happened before subscribing: no history is pushed
    assert_eq!(h.tick().await, 0);
    advance(&h, &c, "days=10").await;
    let events = rec.events.lock().unwrap().clone();
    assert!(events.len() >= 5, "{} events", events.len());
    for (hd, ev) in &events {
        assert_eq!(hd["credential"], "opaque-shared-secret");
        assert_eq!(hd["user-agent"], "UPSPubSubTrackingService");
        assert!(hd.get("authorization").is_none());
        assert_eq!(ev["trackingNumber"], tn.as_str());
        assert_eq!(ev["gmtOffset"], "-05.00");
    }
    let types: Vec<&str> = events
        .iter()
        .map(|(_, e)| e["activityStatus"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.first(), Some(&"I"));
    assert_eq!(types.last(), Some(&"D"));
    assert!(!types.contains(&"M"));
    let last = &events.last().unwrap().1;
    assert!(!last["actualDeliveryDate"].as_str().unwrap().is_empty());
    // nothing more to push
    advance(&h, &c, "days=1").await;
    assert_eq!(rec.events.lock().unwrap().len(), events.len());
    assert_eq!(
        counters(&h, &c).await["trackalert.pushed"],
        events.len() as u64
    );
    // bad requests
    let mut nolocale = body.clone();
    nolocale.as_object_mut().unwrap().remove("locale");
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        &tok,
        Some(&nolocale),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(first_error(&v).0, "VSS300");
    let mut nodest = body.clone();
    nodest.as_object_mut().unwrap().remove("destination");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        &tok,
        Some(&nodest),
    )
    .await;
    assert_eq!(first_error(&v).0, "VSS500");
}

#[tokio::test]
async fn track_alert_subscriptions_expire_after_14_days_and_renew() {
    let (url, rec) = receiver().await;
    let (h, c) = start(UpsSimConfig {
        token_ttl_seconds: 90 * 86_400,
        serial_start: Some(4242),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    // the number the next Ship will get (deterministic serial)
    let next = upsync::sim::ups::trackno::make("123X56", "03", 4242);
    let sub = json!({"locale": "en_US", "trackingNumberList": [next],
        "destination": {"url": format!("{url}/events"), "credentialType": "Bearer", "credential": "c1"}});
    let (s, _) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        &tok,
        Some(&sub),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    advance(&h, &c, "days=14&minutes=1").await;
    let subs: Value = c
        .get(format!("{}/_sim/ups/subscriptions", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subs[0]["live"], false);
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    assert_eq!(
        v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"],
        next.as_str()
    );
    advance(&h, &c, "days=10").await;
    assert!(
        rec.events.lock().unwrap().is_empty(),
        "an expired subscription pushes nothing"
    );
    // renewing: subscribe again → live for 14 days from now, events from now on
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    let tn2 = v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let sub2 = json!({"locale": "en_US", "trackingNumberList": [next, tn2],
        "destination": {"url": format!("{url}/events"), "credentialType": "Bearer", "credential": "c2"}});
    let (s, _) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v1/subscription/standard/package",
        &tok,
        Some(&sub2),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let subs: Value = c
        .get(format!("{}/_sim/ups/subscriptions", h.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(subs.as_array().unwrap().iter().all(|s| s["live"] == true));
    advance(&h, &c, "days=10").await;
    let events = rec.events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .all(|(hd, e)| e["trackingNumber"] == tn2.as_str() && hd["credential"] == "c2"),
        "the first package was delivered before renewal: no history"
    );
    assert!(events
        .iter()
        .any(|(_, e)| e["activityStatus"]["type"] == "D"));
}

#[tokio::test]
async fn track_alert_v2_gets_a_bearer_from_the_customer_token_url() {
    let (url, rec) = receiver().await;
    let (h, c) = start(UpsSimConfig {
        token_ttl_seconds: 60 * 86_400,
        webhook: Some(ups::WebhookConfig {
            url: format!("{url}/events"),
            token_url: Some(format!("{url}/token")),
            client_id: Some("hook-id".into()),
            client_secret: Some("hook-secret".into()),
        }),
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (_, v) = ship(&h, &c, &tok, "v2409", &minimal_ship()).await;
    let tn = v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"locale": "en_US", "trackingNumberList": [tn], "eventPreferences": ["D"]});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/track/v2/subscription/enhanced/package",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    advance(&h, &c, "days=10").await;
    let events = rec.events.lock().unwrap().clone();
    assert_eq!(events.len(), 1, "only D was asked for");
    let (hd, ev) = &events[0];
    assert_eq!(hd["authorization"], "Bearer hook-bearer");
    assert_eq!(hd["x-api-key"], "hook-id");
    assert_eq!(hd["user-agent"], "UPSPubSubTrackingService");
    assert_eq!(ev["activityStatus"]["type"], "D");
    assert!(
        ev["receivedBy"].is_string(),
        "enhanced events carry receivedBy"
    );
    let calls = rec.token_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    let basic = base64::engine::general_purpose::STANDARD.encode("hook-id:hook-secret");
    assert_eq!(calls[0]["authorization"], format!("Basic {basic}").as_str());
}

#[tokio::test]
async fn token_route_works_without_sockets() {
    use tower::ServiceExt;
    let (_core, state) = ups::build_state(UpsSimConfig::default()).unwrap();
    let app = ups::router(state);
    let basic = base64::engine::general_purpose::STANDARD.encode("demo-client:demo-secret");
    let req = axum::http::Request::post("/security/v1/oauth/token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=client_credentials"))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["status"], "approved");
}

#[tokio::test]
async fn concurrent_ships_get_unique_valid_numbers() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let h = Arc::new(h);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (h, c, tok) = (h.clone(), c.clone(), tok.clone());
        tasks.push(tokio::spawn(async move {
            let mut b = minimal_ship();
            b["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"][0]["Value"] =
                json!(format!("PO-{i}"));
            let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
            assert_eq!(s, StatusCode::OK);
            v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
                .as_str()
                .unwrap()
                .to_string()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    assert!(ids.iter().all(|n| check_digit_valid(n)));
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40);
    assert_eq!(h.shipments().as_array().unwrap().len(), 40);
    assert_eq!(h.shipments_with_reference("PO-7"), 1);
}

fn rate_body() -> Value {
    let s0 = &minimal_ship()["ShipmentRequest"]["Shipment"];
    let mut pkg = s0["Package"][0].clone();
    let packaging = pkg.as_object_mut().unwrap().remove("Packaging").unwrap();
    pkg["PackagingType"] = packaging;
    pkg.as_object_mut().unwrap().remove("ReferenceNumber");
    pkg.as_object_mut().unwrap().remove("Description");
    json!({"RateRequest": {
    "Request": {"TransactionReference": {"CustomerContext": "rate-2"}},
    "Shipment": {
        "Shipper": s0["Shipper"], "ShipTo": s0["ShipTo"], "ShipFrom": s0["ShipFrom"],
        "PaymentDetails": {"ShipmentCharge": [{"Type": "01", "BillShipper": {"AccountNumber": "123X56"}}]},
        "DeliveryTimeInformation": {"PackageBillType": "03", "Pickup": {"Date": "20261123"}},
        "Package": [pkg],
    }}})
}

/// Guards issue 15 item 3 (simulator side): `TimeInTransit` only for the *timeintransit
/// request options with `DeliveryTimeInformation` (Rating.yaml `RatedShipment_TimeInTransit`);
/// `?additionalinfo=timeintransit` on Shop, which the old simulator honoured, adds nothing,
/// and Ground has no `GuaranteedDelivery`, so a client reading only that never sees Ground's days.
#[tokio::test]
async fn time_in_transit_only_for_the_timeintransit_options() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let body = rate_body();
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shop?additionalinfo=timeintransit",
        &tok,
        Some(&body),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let rs = v["RateResponse"]["RatedShipment"].as_array().unwrap();
    assert!(rs.iter().all(|r| r.get("TimeInTransit").is_none()), "{v}");
    let ground = rs.iter().find(|r| r["Service"]["Code"] == "03").unwrap();
    assert!(ground.get("GuaranteedDelivery").is_none());
    // The option alone is not enough: DeliveryTimeInformation is required too.
    let mut no_dti = body.clone();
    no_dti["RateRequest"]["Shipment"]
        .as_object_mut()
        .unwrap()
        .remove("DeliveryTimeInformation");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&no_dti),
    )
    .await;
    let rs = v["RateResponse"]["RatedShipment"].as_array().unwrap();
    assert!(rs.iter().all(|r| r.get("TimeInTransit").is_none()), "{v}");
    // International time in transit needs InvoiceLineTotal (Rating.yaml).
    let mut intl = body.clone();
    intl["RateRequest"]["Shipment"]["ShipTo"]["Address"] = json!({"AddressLine": ["100 King St W"],
        "City": "Toronto", "StateProvinceCode": "ON", "PostalCode": "M5X1A9", "CountryCode": "CA"});
    intl["RateRequest"]["Shipment"]["ShipmentTotalWeight"] =
        json!({"UnitOfMeasurement": {"Code": "LBS", "Description": "Pounds"}, "Weight": "5"});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&intl),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(first_error(&v).1.contains("InvoiceLineTotal"), "{v}");
    intl["RateRequest"]["Shipment"]["InvoiceLineTotal"] =
        json!({"CurrencyCode": "USD", "MonetaryValue": "100"});
    let (s, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&intl),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&body),
    )
    .await;
    let rs = v["RateResponse"]["RatedShipment"].as_array().unwrap();
    let ground = rs.iter().find(|r| r["Service"]["Code"] == "03").unwrap();
    assert_eq!(
        ground["TimeInTransit"]["ServiceSummary"]["EstimatedArrival"]["BusinessDaysInTransit"],
        "1"
    );
}

/// Guards issue 15 item 5: the simulator answers by `Request.SubVersion` (arrays from 2403,
/// a bare object for one item before; UPS-REFERENCE §0.1, §2.1), refuses a malformed one in
/// strict mode and, in lenient mode, accepts karrio's `"v2409"` with a `129001` alert and the
/// newest shapes. Before, the path version alone decided and `"v2409"` was a generic
/// schema error in both modes.
#[tokio::test]
async fn ship_and_rate_answer_by_sub_version() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    b["ShipmentRequest"]["Request"]["SubVersion"] = json!("1801");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["ShipmentResponse"]["ShipmentResults"]["PackageResults"].is_object(),
        "SubVersion 1801 answers the legacy shape: {v}"
    );
    b["ShipmentRequest"]["Request"]["SubVersion"] = json!("2403");
    let (_, v) = ship(&h, &c, &tok, "v1", &b).await;
    assert!(v["ShipmentResponse"]["ShipmentResults"]["PackageResults"].is_array());
    let mut rb = rate_body();
    rb["RateRequest"]["Request"]["SubVersion"] = json!("2205");
    let (_, v) = call(
        &h,
        &c,
        Method::POST,
        "/api/rating/v2409/Shoptimeintransit",
        &tok,
        Some(&rb),
    )
    .await;
    let rs = &v["RateResponse"]["RatedShipment"];
    assert!(rs.is_array(), "several services: a list in any version");
    assert!(rs[0]["RatedPackage"].is_object(), "{v}");
    // karrio-ups sends "v2409": strict refuses it naming the field …
    b["ShipmentRequest"]["Request"]["SubVersion"] = json!("v2409");
    let (s, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (code, msg) = first_error(&v);
    assert_eq!(code, "9120200");
    assert!(msg.contains("ShipmentRequest.Request.SubVersion"), "{msg}");
    // … lenient accepts it with a tolerance alert and answers the newest shapes.
    let (h, c) = start(UpsSimConfig {
        lenient: true,
        ..UpsSimConfig::default()
    })
    .await;
    let tok = token(&h, &c).await;
    let (s, v) = ship(&h, &c, &tok, "v1", &b).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["ShipmentResponse"];
    assert!(r["ShipmentResults"]["PackageResults"].is_array(), "{v}");
    let alerts = r["Response"]["Alert"].as_array().unwrap();
    assert!(
        alerts
            .iter()
            .any(|a| a["Code"] == "129001"
                && a["Description"].as_str().unwrap().contains("SubVersion")),
        "{alerts:?}"
    );
}

/// Guards issue 15 items 2 and 6: an international Ship without `Shipper.AttentionName` is
/// refused ("Required if destination is international", Shipping.yaml), and 120802 messages
/// name the party and field as UPS's do.
#[tokio::test]
async fn international_ship_without_shipper_attention_is_refused() {
    let (h, c) = start(UpsSimConfig::default()).await;
    let tok = token(&h, &c).await;
    let mut b = minimal_ship();
    to_canada(&mut b);
    let s = &mut b["ShipmentRequest"]["Shipment"];
    let r = s["Package"][0]
        .as_object_mut()
        .unwrap()
        .remove("ReferenceNumber")
        .unwrap();
    s["ReferenceNumber"] = r;
    s["Shipper"]
        .as_object_mut()
        .unwrap()
        .remove("AttentionName");
    let (st, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (code, msg) = first_error(&v);
    assert_eq!(code, "120802");
    assert!(msg.contains("Shipper AttentionName"), "{msg}");
    b["ShipmentRequest"]["Shipment"]["Shipper"]["AttentionName"] = json!("Shipping");
    b["ShipmentRequest"]["Shipment"]["ShipTo"]["Address"]
        .as_object_mut()
        .unwrap()
        .remove("StateProvinceCode");
    let (st, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{v}");
    let (code, msg) = first_error(&v);
    assert_eq!(code, "120802");
    assert!(
        msg.starts_with("Missing or invalid ship to StateProvinceCode"),
        "{msg}"
    );
    b["ShipmentRequest"]["Shipment"]["ShipTo"]["Address"]["StateProvinceCode"] = json!("ON");
    let (st, v) = ship(&h, &c, &tok, "v2409", &b).await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
