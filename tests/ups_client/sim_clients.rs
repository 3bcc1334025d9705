//! The UPS simulator with several OAuth clients (issue 19), over raw HTTP (never the UPS
//! client): each client gets its own tokens, counted per client; each may ship only its
//! own shipper numbers (another client's is refused with 400 `120100`, as UPS does); the
//! shipments dump records which client shipped which account.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use upsync::sim::ups::{self, ClientSpec, UpsSimConfig};

fn minimal_ship() -> Value {
    serde_json::from_str(include_str!(
        "../../sim/src/ups/testdata/ship-request-minimal.json"
    ))
    .unwrap()
}

async fn token(base: &str, c: &Client, id: &str, secret: &str) -> String {
    let r = c
        .post(format!("{base}/security/v1/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_string()
}

async fn ship_as(base: &str, c: &Client, tok: &str, shipper: &str) -> (StatusCode, Value) {
    let mut b = minimal_ship();
    let s = &mut b["ShipmentRequest"]["Shipment"];
    s["Shipper"]["ShipperNumber"] = json!(shipper);
    s["PaymentInformation"]["ShipmentCharge"] =
        json!([{"Type": "01", "BillShipper": {"AccountNumber": shipper}}]);
    let r = c
        .post(format!("{base}/api/shipments/v2409/ship"))
        .bearer_auth(tok)
        .header("transId", "t-1")
        .header("transactionSrc", "upsync-tests")
        .json(&b)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Two clients, one account each: tokens counted per client (`token.issued.<id>`), each
/// ships its own account, another client's account is refused with `120100`, and the
/// shipments dump names the client of each shipment.
#[tokio::test]
async fn each_client_has_its_own_tokens_and_only_its_own_shipper_numbers() {
    let h = ups::spawn(UpsSimConfig {
        tick_interval_ms: 0,
        clients: vec![
            ClientSpec::parse("east-client:east-secret:123X56").unwrap(),
            ClientSpec::parse("west-client:west-secret:456Y78").unwrap(),
        ],
        ..UpsSimConfig::default()
    })
    .await
    .unwrap();
    let c = Client::new();
    let base = h.base_url.clone();
    let east = token(&base, &c, "east-client", "east-secret").await;
    let west = token(&base, &c, "west-client", "west-secret").await;
    let _ = token(&base, &c, "west-client", "west-secret").await;
    let stats = h.stats();
    assert_eq!(stats.get("token.issued.east-client"), Some(&1));
    assert_eq!(stats.get("token.issued.west-client"), Some(&2));

    let (s, _) = ship_as(&base, &c, &east, "123X56").await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = ship_as(&base, &c, &west, "456Y78").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = ship_as(&base, &c, &west, "123X56").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["response"]["errors"][0]["code"], "120100", "{v}");

    let dump = h.shipments();
    let pairs: Vec<(String, String)> = dump
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["client_id"].as_str().unwrap().to_string(),
                s["shipper_number"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("east-client".to_string(), "123X56".to_string()),
            ("west-client".to_string(), "456Y78".to_string())
        ]
    );
}
