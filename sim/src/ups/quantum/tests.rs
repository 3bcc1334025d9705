use super::*;
use crate::ups::{build_state, router, UpsSimConfig};
use axum::Router;
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

fn post(uri: &str, tok: &str, body: &Value) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(uri)
        .header("authorization", format!("Bearer {tok}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

struct Sim {
    app: Router,
    state: Arc<UpsState>,
    tok: String,
}

async fn sim() -> Sim {
    let (_core, state) = build_state(UpsSimConfig {
        token_ttl_seconds: 30 * 86_400,
        ..UpsSimConfig::default()
    })
    .unwrap();
    let app = router(state.clone());
    let basic = b64().encode("demo-client:demo-secret");
    let t = axum::http::Request::post("/security/v1/oauth/token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=client_credentials"))
        .unwrap();
    let (_, tv) = send(&app, t).await;
    let tok = tv["access_token"].as_str().unwrap().to_string();
    Sim { app, state, tok }
}

impl Sim {
    async fn ship(&self) -> String {
        let body: Value =
            serde_json::from_str(include_str!("../testdata/ship-request-minimal.json")).unwrap();
        let (s, v) = send(
            &self.app,
            post("/api/shipments/v2409/ship", &self.tok, &body),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn qv(&self, request: Value) -> (StatusCode, Value) {
        send(
            &self.app,
            post(
                "/api/quantumview/v3/events",
                &self.tok,
                &json!({"QuantumViewRequest": request}),
            ),
        )
        .await
    }

    /// Follow bookmarks; every page's files.
    async fn all_pages(&self, mut request: Value) -> (usize, Vec<Value>) {
        let mut pages = 0;
        let mut files = Vec::new();
        loop {
            let (s, v) = self.qv(request.clone()).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_response_shape(&v);
            pages += 1;
            let r = &v["QuantumViewResponse"];
            for e in r["QuantumViewEvents"]["SubscriptionEvents"]
                .as_array()
                .unwrap()
            {
                files.extend(
                    e["SubscriptionFile"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
            match r["Bookmark"].as_str() {
                Some(b) => request["Bookmark"] = json!(b),
                None => return (pages, files),
            }
            assert!(pages < 100);
        }
    }
}

fn assert_response_shape(v: &Value) {
    let val = schema::response_validator(schema::spec::QUANTUM_VIEW, "QUANTUMVIEWResponseWrapper");
    let errs: Vec<String> = val
        .iter_errors(v)
        .map(|e| format!("{} at {}", e.kind().keyword(), e.instance_path()))
        .collect();
    assert!(errs.is_empty(), "{errs:?}");
}

fn unread() -> Value {
    json!({"Request": {"RequestAction": "QVEvents"}})
}

fn records<'a>(files: &'a [Value], kind: &str, tn: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for f in files {
        for r in f[kind].as_array().into_iter().flatten() {
            let hit = r["TrackingNumber"] == tn
                || r["Package"]
                    .as_array()
                    .is_some_and(|p| p.iter().any(|p| p["TrackingNumber"] == tn));
            if hit {
                out.push(r);
            }
        }
    }
    out
}

#[tokio::test]
async fn unread_files_follow_the_timeline_in_pages_then_turn_read() {
    let s = sim().await;
    s.state.quantum.set_page_size(1);
    let tn = s.ship().await;
    s.state.core.clock.advance(Duration::days(6));
    let (pages, files) = s.all_pages(unread()).await;
    assert!(pages >= 3, "one file per page with page_size 1: {pages}");
    assert_eq!(records(&files, "Manifest", &tn).len(), 1);
    assert_eq!(records(&files, "Origin", &tn).len(), 1);
    let d = records(&files, "Delivery", &tn);
    assert_eq!(d.len(), 1);
    assert!(d[0]["DeliveryLocation"]["SignedForByName"].is_string());
    assert!(files.iter().all(|f| f["StatusType"]["Code"] == "U"));
    // Every file was served once: nothing is unread any more.
    let (_, again) = s.all_pages(unread()).await;
    assert!(again.is_empty(), "{again:?}");
    // A date range still sees them, now read.
    let begin = (s.state.now() - Duration::days(6) - Duration::hours(1))
        .format("%Y%m%d%H%M%S")
        .to_string();
    let ranged = json!({"Request": {"RequestAction": "QVEvents"},
        "SubscriptionRequest": [{"Name": DEFAULT_SUBSCRIPTION, "DateTimeRange": {"BeginDateTime": begin}}]});
    let (_, files2) = s.all_pages(ranged).await;
    assert_eq!(files2.len(), files.len());
    assert!(files2.iter().all(|f| f["StatusType"]["Code"] == "R"));
}

#[tokio::test]
async fn ranges_more_than_seven_days_back_are_refused() {
    let s = sim().await;
    let begin = (s.state.now() - Duration::days(8))
        .format("%Y%m%d%H%M%S")
        .to_string();
    let (st, v) = s
        .qv(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": [{"DateTimeRange": {"BeginDateTime": begin}}]}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["response"]["errors"][0]["code"], RANGE_TOO_OLD, "{v}");
    assert!(v["response"]["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("BeginDateTime"));
    let (st, v) = s
        .qv(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": [{"DateTimeRange": {"EndDateTime": "20261201000000"}}]}))
        .await;
    assert_eq!(
        (st, v["response"]["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("20007"))
    );
}

#[tokio::test]
async fn bad_version_action_schema_and_bookmark_are_refused_in_ups_shape() {
    let s = sim().await;
    let (st, v) = send(
        &s.app,
        post(
            "/api/quantumview/v9/events",
            &s.tok,
            &json!({"QuantumViewRequest": unread()}),
        ),
    )
    .await;
    assert_eq!(
        (st, v["response"]["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("10002"))
    );
    let (st, v) = s
        .qv(json!({"Request": {"RequestAction": "QVEvent5"}}))
        .await;
    assert_eq!(
        (st, v["response"]["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("20006"))
    );
    let (st, v) = s.qv(json!({"Request": {}})).await;
    assert_eq!(
        (st, v["response"]["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("10002")),
        "{v}"
    );
    let (st, v) = s
        .qv(json!({"Request": {"RequestAction": "QVEvents"}, "Bookmark": b64().encode("someone-else")}))
        .await;
    assert_eq!(
        (st, v["response"]["errors"][0]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!("20008"))
    );
    // No bearer: the gateway answers 401 as for every UPS route.
    let r = axum::http::Request::post("/api/quantumview/v3/events")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"QuantumViewRequest": unread()}).to_string(),
        ))
        .unwrap();
    let (st, _) = send(&s.app, r).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn foreign_shipments_of_the_account_appear_with_their_references() {
    let s = sim().await;
    let tn = s
        .state
        .add_foreign_shipment("123X56", &["WS-000777".to_string()]);
    let other = s
        .state
        .add_foreign_shipment("999Z99", &["WS-000778".to_string()]);
    s.state.core.clock.advance(Duration::days(5));
    let (_, files) = s.all_pages(unread()).await;
    let d = records(&files, "Delivery", &tn);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["PackageReferenceNumber"][0]["Value"], "WS-000777");
    assert!(
        records(&files, "Origin", &other).is_empty(),
        "another shipper's account"
    );
}

#[tokio::test]
async fn named_subscriptions_file_names_and_local_times() {
    let s = sim().await;
    s.state
        .quantum
        .add_subscription("Warehouse2", s.state.now());
    let tn = s.ship().await;
    s.state.core.clock.advance(Duration::days(5));
    let (_, files) = s
        .all_pages(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": [{"Name": "Warehouse2"}, {"Name": "Nope"}]}))
        .await;
    let origin = records(&files, "Origin", &tn)[0].clone();
    let name = files[0]["FileName"].as_str().unwrap().to_string();
    // The spec's example shape: one SubscriptionRequest object, FileName as a string — the
    // schema declares arrays, so strict mode refuses it like Ship does.
    let (st, _) = s
        .qv(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": {"Name": "Warehouse2", "FileName": name}}))
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (_, by_name) = s
        .all_pages(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": [{"Name": "Warehouse2", "FileName": [name]}]}))
        .await;
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0]["StatusType"]["Code"], "R");
    s.state.quantum.set_local_times(true);
    let (_, local) = s
        .all_pages(json!({"Request": {"RequestAction": "QVEvents"},
            "SubscriptionRequest": [{"Name": "Warehouse2", "DateTimeRange": {"BeginDateTime": (s.state.now() - Duration::days(6)).format("%Y%m%d%H%M%S").to_string()}}]}))
        .await;
    let lo = records(&local, "Origin", &tn)[0].clone();
    let t = |v: &Value| {
        NaiveDateTime::parse_from_str(
            &format!(
                "{}{}",
                v["Date"].as_str().unwrap(),
                v["Time"].as_str().unwrap()
            ),
            "%Y%m%d%H%M%S",
        )
        .unwrap()
    };
    assert_eq!(t(&origin) - t(&lo), Duration::hours(5));
}

/// QuantumView.yaml's own request example (one `SubscriptionRequest` object, `FileName` a
/// string, `Bookmark` inside it) is accepted in lenient mode, each single item reported as
/// a tolerance; its bookmark is not ours, so it is refused in UPS's shape.
#[tokio::test]
async fn the_specs_request_example_is_accepted_leniently() {
    let (_core, state) = build_state(UpsSimConfig {
        token_ttl_seconds: 30 * 86_400,
        lenient: true,
        ..UpsSimConfig::default()
    })
    .unwrap();
    let app = router(state.clone());
    let basic = b64().encode("demo-client:demo-secret");
    let t = axum::http::Request::post("/security/v1/oauth/token")
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from("grant_type=client_credentials"))
        .unwrap();
    let (_, tv) = send(&app, t).await;
    let tok = tv["access_token"].as_str().unwrap().to_string();
    let doc: Value = serde_norway::from_str(schema::spec::QUANTUM_VIEW).unwrap();
    let mut example = doc
        .pointer("/paths/~1quantumview~1{version}~1events/post/requestBody/content/application~1json/examples/json/value")
        .cloned()
        .unwrap();
    let (s, v) = send(&app, post("/api/quantumview/v3/events", &tok, &example)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["response"]["errors"][0]["code"], "20008", "{v}");
    // Without the foreign bookmark: 200, the tolerated single items as alerts.
    example["QuantumViewRequest"]["SubscriptionRequest"]
        .as_object_mut()
        .unwrap()
        .remove("Bookmark");
    let (s, v) = send(&app, post("/api/quantumview/v3/events", &tok, &example)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let alerts = v["QuantumViewResponse"]["Response"]["Alert"]
        .as_array()
        .unwrap();
    assert_eq!(alerts.len(), 2, "{v}");
    assert_eq!(
        v["QuantumViewResponse"]["QuantumViewEvents"]["SubscriptionEvents"][0]
            ["SubscriptionStatus"]["Code"],
        "UN",
        "OutboundXML is not a subscription of the simulator: {v}"
    );
}
