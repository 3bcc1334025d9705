//! The UPS simulator refuses bad return shipments over HTTP with UPS's error shape
//! (`sim/src/ups/ship/returns.rs`, rules from Shipping.yaml), and ships a good one. Raw
//! reqwest/serde_json only: the simulator must be able to disagree with the client.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use upsync::sim::ups::{self, SimHandle, UpsSimConfig};

async fn start() -> (SimHandle, Client, String) {
    let h = ups::spawn(UpsSimConfig {
        tick_interval_ms: 0,
        ..Default::default()
    })
    .await
    .expect("simulator starts");
    let c = Client::new();
    let v: Value = c
        .post(format!("{}/security/v1/oauth/token", h.base_url))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("x-merchant-id", "123X56")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = v["access_token"].as_str().unwrap().to_string();
    (h, c, tok)
}

async fn ship(h: &SimHandle, c: &Client, tok: &str, body: &Value) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}/api/shipments/v2409/ship", h.base_url))
        .bearer_auth(tok)
        .header("transId", "t-1")
        .header("transactionSrc", "upsync-tests")
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A print-return-label request: the customer in ShipFrom, the warehouse in ShipTo.
fn return_request() -> Value {
    let mut b: Value = serde_json::from_str(include_str!(
        "../../sim/src/ups/testdata/ship-request-minimal.json"
    ))
    .unwrap();
    let sh = &mut b["ShipmentRequest"]["Shipment"];
    let mut customer = sh["ShipTo"].clone();
    customer["Address"]
        .as_object_mut()
        .unwrap()
        .remove("ResidentialAddressIndicator");
    sh["ShipFrom"] = customer;
    let mut warehouse = sh["Shipper"].clone();
    warehouse.as_object_mut().unwrap().remove("ShipperNumber");
    sh["ShipTo"] = warehouse;
    sh["ReturnService"] = json!({"Code": "9", "Description": "UPS Print Return Label"});
    let first = match &sh["Package"] {
        Value::Array(a) => a[0].clone(),
        p => p.clone(),
    };
    sh["Package"] = json!([first]);
    sh["Package"][0]["Description"] = json!("Returned goods");
    b
}

fn first_error(v: &Value) -> (String, String) {
    let e = &v["response"]["errors"][0];
    (
        e["code"].as_str().unwrap_or("").to_string(),
        e["message"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn bad_return_requests_are_refused_with_ups_errors_and_a_good_one_ships() {
    let (h, c, tok) = start().await;

    let mut b = return_request();
    b["ShipmentRequest"]["Shipment"]["Package"][0]
        .as_object_mut()
        .unwrap()
        .remove("Description");
    let (s, v) = ship(&h, &c, &tok, &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (code, msg) = first_error(&v);
    assert_eq!(code, "121211");
    assert!(msg.contains("Package[0].Description"), "{msg}");

    let mut b = return_request();
    b["ShipmentRequest"]["Shipment"]["ReturnService"]["Code"] = json!("8");
    let (s, v) = ship(&h, &c, &tok, &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(first_error(&v).0, "121212", "ERL without LabelDelivery");

    let mut b = return_request();
    let pk = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
    b["ShipmentRequest"]["Shipment"]["Package"] = json!([pk.clone(), pk]);
    let (s, v) = ship(&h, &c, &tok, &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        first_error(&v).0,
        "120519",
        "one package per US-origin return"
    );

    let mut b = return_request();
    b["ShipmentRequest"]["Shipment"]["Service"]["Code"] = json!("13");
    let (s, v) = ship(&h, &c, &tok, &b).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(first_error(&v).0, "121100");

    assert!(
        h.shipments().as_array().unwrap().is_empty(),
        "nothing created"
    );
    let (s, v) = ship(&h, &c, &tok, &return_request()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(h.shipments().as_array().unwrap().len(), 1);
}
