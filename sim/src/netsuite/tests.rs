use super::*;
use axum::body::{to_bytes, Body};
use axum::http::Request;
use tower::ServiceExt;

fn sim(seed: usize) -> Arc<NetSuiteSim> {
    let cfg = NetSuiteSimConfig {
        seed,
        ..Default::default()
    };
    NetSuiteSim::new(&cfg, SimCore::new("netsuite", Faults::default(), None))
}

fn bearer(sim: &NetSuiteSim) -> String {
    let t = "nssim.test".to_string();
    sim.tokens.lock().unwrap().insert(
        t.clone(),
        IssuedToken {
            client_id: "x".into(),
            expires: sim.core.clock.now() + chrono::Duration::hours(1),
        },
    );
    format!("Bearer {t}")
}

async fn call(app: Router, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let r = app.oneshot(req).await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let b = to_bytes(r.into_body(), usize::MAX).await.unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&b).unwrap_or(Value::Null),
    )
}

fn suiteql_req(auth: &str, q: &str, query: &str) -> Request<Body> {
    Request::post(format!("/services/rest/query/v1/suiteql{query}"))
        .header("authorization", auth)
        .header("prefer", "transient")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "q": q }).to_string()))
        .unwrap()
}

#[tokio::test]
async fn envelope_and_errors() {
    let s = sim(25);
    let auth = bearer(&s);
    let app = router(s.clone());
    let (st, _, v) = call(
        app.clone(),
        suiteql_req(
            &auth,
            "SELECT t.id, t.tranid FROM transaction t ORDER BY t.id",
            "?limit=10&offset=10",
        ),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["count"], 10);
    assert_eq!(v["totalResults"], 25);
    assert_eq!(v["hasMore"], true);
    assert_eq!(v["offset"], 10);
    let rels: Vec<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["rel"].as_str().unwrap())
        .collect();
    assert_eq!(rels, ["first", "prev", "next", "last", "self"]);
    assert!(v["links"][2]["href"]
        .as_str()
        .unwrap()
        .ends_with("limit=10&offset=20"));
    assert!(v["items"][0]["id"].is_string());
    assert_eq!(v["items"][0]["links"], json!([]));

    let (st, _, v) = call(
        app.clone(),
        suiteql_req(&auth, "SELECT t.subsidiary FROM transaction t", ""),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "INVALID_PARAMETER");
    assert_eq!(v["o:errorDetails"][0]["o:errorQueryParam"], "q");
    assert!(v["o:errorDetails"][0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("Invalid search query."));

    let (st, _, v) = call(
        app.clone(),
        suiteql_req(&auth, "SELECT t.id FROM transaction t", "?offset=100000"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["o:errorDetails"][0]["o:errorQueryParam"], "offset");

    let (st, _, _) = call(
        app.clone(),
        suiteql_req(&auth, "SELECT t.id FROM transaction t", "?limit=1001"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let mut no_prefer = suiteql_req(&auth, "SELECT t.id FROM transaction t", "");
    no_prefer.headers_mut().remove("prefer");
    let (st, _, v) = call(app.clone(), no_prefer).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["o:errorDetails"][0]["o:errorHeader"], "Prefer");

    let (st, h, v) = call(
        app.clone(),
        suiteql_req("Bearer nope", "SELECT t.id FROM transaction t", ""),
    )
    .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "INVALID_LOGIN");
}

fn patch_req(auth: &str, id: u64, query: &str, body: Value) -> Request<Body> {
    Request::patch(format!(
        "/services/rest/record/v1/itemFulfillment/{id}{query}"
    ))
    .header("authorization", auth)
    .header("content-type", "application/json")
    .body(Body::from(body.to_string()))
    .unwrap()
}

#[tokio::test]
async fn patch_appends_without_replace_and_replaces_with_it() {
    let s = sim(3);
    let auth = bearer(&s);
    let app = router(s.clone());
    let mut f = s.fulfillment(5000).unwrap();
    f.package_sublist = PackageSublist::Package;
    s.put(f);
    let before = s.fulfillment(5000).unwrap();
    let body = json!({"package": {"items": [{"packageWeight": 2.5, "packageDescr": "Box 1", "packageTrackingNumber": "1Z999AA10123456784"}]},
                      "custbody_ups_reference": "1Z999AA10123456784", "shipStatus": {"id": "C"}});
    for _ in 0..2 {
        let (st, h, _) = call(app.clone(), patch_req(&auth, 5000, "", body.clone())).await;
        assert_eq!(st, StatusCode::NO_CONTENT);
        assert!(h["location"]
            .to_str()
            .unwrap()
            .ends_with("/services/rest/record/v1/itemFulfillment/5000"));
    }
    let after = s.fulfillment(5000).unwrap();
    assert_eq!(
        after.packages.len(),
        before.packages.len() + 2,
        "non-keyed lines appended"
    );
    assert_eq!(after.status, 'C');
    assert!(after.lastmodified > before.lastmodified);
    for _ in 0..3 {
        let (st, _, _) = call(
            app.clone(),
            patch_req(&auth, 5000, "?replace=package", body.clone()),
        )
        .await;
        assert_eq!(st, StatusCode::NO_CONTENT);
    }
    assert_eq!(s.fulfillment(5000).unwrap().packages.len(), 1);

    let (st, _, v) = call(
        app.clone(),
        patch_req(&auth, 5000, "", json!({"custbody_nope": "x"})),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["o:errorDetails"][0]["o:errorPath"], "custbody_nope");
    let (st, _, v) = call(
        app.clone(),
        patch_req(
            &auth,
            5000,
            "?replace=package",
            json!({"package": {"items": [{"packageWeight": "heavy"}]}}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["o:errorDetails"][0]["o:errorPath"],
        "package.items[0].packageWeight"
    );
    let (st, _, v) = call(app.clone(), patch_req(&auth, 99, "", json!({}))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "NONEXISTENT_ID");
}

#[tokio::test]
async fn record_get_expands_sublists_on_request() {
    let s = sim(2);
    let auth = bearer(&s);
    let app = router(s.clone());
    let mut f = s.fulfillment(5001).unwrap();
    f.package_sublist = PackageSublist::Package;
    s.put(f);
    let get = |q: &str| {
        Request::get(format!("/services/rest/record/v1/itemFulfillment/5001{q}"))
            .header("authorization", auth.as_str())
            .body(Body::empty())
            .unwrap()
    };
    let (st, _, v) = call(app.clone(), get("")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v["package"].get("items").is_none());
    let (_, _, v) = call(app.clone(), get("?expandSubResources=true")).await;
    let n = s.fulfillment(5001).unwrap().packages.len();
    assert_eq!(v["package"]["items"].as_array().unwrap().len(), n);
    assert!(v["package"]["items"][0]["packageWeight"].is_number());
    assert!(v["shipStatus"]["id"].is_string());
}

/// Issue 15 item 12 — guards: a record shows the package sublist of its ship method
/// (§N4), with that sublist's field names; a PATCH of another sublist is refused and
/// `replace=` takes the carried sublist's name.
#[tokio::test]
async fn records_carry_the_package_sublist_of_their_ship_method() {
    let s = sim(400);
    let kinds: std::collections::BTreeSet<&str> = s
        .read_store()
        .by_id
        .values()
        .map(|f| f.package_sublist.name())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["package", "packageFedex", "packageUps", "packageUsps"]
    );
    let auth = bearer(&s);
    let app = router(s.clone());
    let mut f = s.fulfillment(5000).unwrap();
    f.package_sublist = PackageSublist::PackageUps;
    s.put(f.clone());
    let get = Request::get("/services/rest/record/v1/itemFulfillment/5000?expandSubResources=true")
        .header("authorization", auth.as_str())
        .body(Body::empty())
        .unwrap();
    let (_, _, v) = call(app.clone(), get).await;
    assert!(v.get("package").is_none());
    let line = &v["packageUps"]["items"][0];
    assert!(line["packageWeightUps"].is_number(), "{line}");
    assert!(line["packageLengthUps"].is_number(), "{line}");
    let (st, _, v) = call(
        app.clone(),
        patch_req(
            &auth,
            5000,
            "?replace=package",
            json!({"package": {"items": [{"packageWeight": 1}]}}),
        ),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["o:errorDetails"][0]["o:errorPath"], "package");
    let (st, _, _) = call(
        app.clone(),
        patch_req(&auth, 5000, "?replace=packageUps",
            json!({"packageUps": {"items": [{"packageWeightUps": 1, "packageTrackingNumberUps": "1Z1", "reference1Ups": "IF1000"}]}})),
    )
    .await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let after = s.fulfillment(5000).unwrap();
    assert_eq!(after.packages.len(), 1);
    assert_eq!(after.packages[0].tracking.as_deref(), Some("1Z1"));
    assert_eq!(after.packages[0].reference1.as_deref(), Some("IF1000"));
}

/// Issue 15 item 13 — guards: cancelling an item fulfillment deletes it (§N4 DELETE);
/// afterwards GET is 404 NONEXISTENT_ID and SuiteQL no longer returns it.
#[tokio::test]
async fn delete_removes_the_record_everywhere() {
    let s = sim(3);
    let auth = bearer(&s);
    let app = router(s.clone());
    let req = |m: &str| {
        Request::builder()
            .method(m)
            .uri("/services/rest/record/v1/itemFulfillment/5001")
            .header("authorization", auth.as_str())
            .body(Body::empty())
            .unwrap()
    };
    let (st, _, _) = call(app.clone(), req("DELETE")).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _, v) = call(app.clone(), req("GET")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["o:errorDetails"][0]["o:errorCode"], "NONEXISTENT_ID");
    let (st, _, _) = call(app.clone(), req("DELETE")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, _, v) = call(
        app.clone(),
        suiteql_req(
            &auth,
            "SELECT t.id FROM transaction t WHERE t.id IN (5000, 5001, 5002)",
            "",
        ),
    )
    .await;
    assert_eq!(v["totalResults"], 2);
}

#[tokio::test]
async fn concurrency_limit_rejects_and_counts() {
    let s = sim(1);
    s.set_concurrency_limit(1);
    let _held = acquire(&s).ok().unwrap();
    let auth = bearer(&s);
    let (st, _, v) = call(
        router(s.clone()),
        suiteql_req(&auth, "SELECT t.id FROM transaction t", ""),
    )
    .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        v["o:errorDetails"][0]["o:errorCode"],
        "CONCURRENCY_LIMIT_EXCEEDED"
    );
    assert_eq!(s.core.stats.get("concurrency.rejected"), 1);
    assert_eq!(s.core.stats.get("concurrency.max_seen"), 1);
}

#[tokio::test]
async fn admin_add_and_modify() {
    let s = sim(1);
    let app = router(s.clone());
    let req = |body: Value| {
        Request::post("/_sim/netsuite/fulfillments")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let (st, _, v) = call(app.clone(), req(json!({"status": "A"}))).await;
    assert_eq!(st, StatusCode::OK);
    let id = v["id"].as_u64().unwrap();
    assert_eq!(id, 5001);
    let (_, _, v) = call(app.clone(), req(json!({"id": id, "entity": "Zoë Ltd"}))).await;
    assert_eq!(v["entity"], "Zoë Ltd");
    assert_eq!(s.read_store().len(), 2);
}
