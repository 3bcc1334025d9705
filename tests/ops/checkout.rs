//! The checkout rating endpoint (`POST /v1/rates`, issue 19) against the UPS simulator:
//! the token, UPS then cache, single-flight, the deadline and the fallback table, the
//! quota share, the bounded cache, field-named 400s. Assertions are on `source` and on the
//! simulator's own Rating counter, never on wall time. Handlers run through
//! `tower::ServiceExt::oneshot`, plus one real socket test.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use upsync::checkout::http::{router, ApiToken};
use upsync::checkout::{Checkout, Settings};
use upsync::sim::ups::{spawn, SimHandle, UpsSimConfig};
use upsync::ups::{MemoryTokenStore, UpsClient, UpsClientConfig, UpsCredentials};

const TOKEN: &str = "test-checkout-token";

struct Rig {
    sim: SimHandle,
    checkout: Arc<Checkout>,
    app: axum::Router,
}

impl Rig {
    /// UPS Rating calls the simulator received.
    fn rate_calls(&self) -> u64 {
        self.sim.stats().get("rate").copied().unwrap_or(0)
    }

    async fn post(&self, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::post("/v1/rates").header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let r = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn quote(&self, body: &Value) -> Value {
        let (status, v) = self.post(body, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }
}

/// A simulator with `faults`, a checkout with `timeout`, `capacity` and `per_second`.
async fn rig(faults: &str, timeout: Duration, capacity: usize, per_second: u32) -> Rig {
    rig_late(faults, timeout, capacity, per_second, false).await
}

/// [`rig`], choosing `checkout.cache_late_answers`.
async fn rig_late(
    faults: &str,
    timeout: Duration,
    capacity: usize,
    per_second: u32,
    cache_late_answers: bool,
) -> Rig {
    let sim = spawn(UpsSimConfig {
        faults: faults.into(),
        tick_interval_ms: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let ups = UpsClient::new(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap();
    let mut cfg = upsync::config::CheckoutConfig {
        timeout_ms: timeout.as_millis() as u64,
        cache_capacity: capacity as u32,
        rating_requests_per_second: per_second,
        cache_late_answers,
        ..Default::default()
    };
    cfg.ship_from = vec![upsync::config::CheckoutShipFrom::example()];
    let settings: Settings = upsync::app::wiring::checkout_settings_from(&cfg, "123X56");
    let checkout = Arc::new(Checkout::new(
        settings,
        Arc::new(upsync::app::adapters::UpsQuoter::new(ups)),
    ));
    let app = router(checkout.clone(), ApiToken::new(TOKEN).unwrap());
    Rig { sim, checkout, app }
}

fn body(postal: &str) -> Value {
    json!({
        "ship_from": "main",
        "ship_to": {"lines": ["12 Elm Lane"], "city": "Roswell", "state": "GA",
                    "postal_code": postal, "country": "US", "residential": true},
        "packages": [{"weight": 4.2, "length": 12, "width": 10, "height": 6}]
    })
}

fn sources(v: &Value) -> Vec<String> {
    v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_string())
        .collect()
}

/// No token, a wrong token, another scheme: 401 JSON, and UPS is never called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_or_with_a_wrong_token_is_401() {
    let r = rig("", Duration::from_secs(5), 100, 0).await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, v) = r.post(&body("30075"), token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(v["code"], "unauthorized");
        assert!(!v.to_string().contains(TOKEN));
    }
    let req = Request::post("/v1/rates")
        .header("authorization", format!("Basic {TOKEN}"))
        .body(Body::from(body("30075").to_string()))
        .unwrap();
    let resp = r.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.rate_calls(), 0);
}

/// The first quote comes from UPS (list and account charges, currency, transit days);
/// the same lane and profile again comes from the cache, without a second UPS call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quote_from_ups_then_from_the_cache() {
    let r = rig("", Duration::from_secs(5), 100, 0).await;
    let first = r.quote(&body("30075")).await;
    assert_eq!(first["source"], "ups", "{first}");
    assert!(sources(&first).iter().all(|s| s == "ups"));
    let ground = first["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["service_code"] == "03")
        .expect("Ground is offered");
    assert_eq!(ground["service_name"], "UPS Ground");
    assert_eq!(ground["currency"], "USD");
    assert!(ground["charge_list"].is_string(), "{ground}");
    assert!(
        ground["charge_account"].is_string(),
        "123X56 is eligible for negotiated rates: {ground}"
    );
    assert!(ground["transit_days"].as_u64().is_some(), "{ground}");
    assert_eq!(r.rate_calls(), 1);
    // Same bucket: 4.9 lb rounds to the same 5 lb, ZIP+4 to its ZIP.
    let mut again = body("30075-1234");
    again["packages"][0]["weight"] = json!(4.9);
    let second = r.quote(&again).await;
    assert_eq!(second["source"], "cache", "{second}");
    assert_eq!(
        second["services"][0]["charge_list"],
        first["services"][0]["charge_list"]
    );
    assert_eq!(r.rate_calls(), 1, "the cache answered");
}

/// N concurrent identical requests cost one UPS call (single-flight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_requests_share_one_ups_call() {
    // Slow enough that all of them arrive while the first call is in the air.
    let r = Arc::new(rig("rate:latency=400", Duration::from_secs(10), 100, 0).await);
    let asks = (0..8).map(|_| {
        let r = r.clone();
        tokio::spawn(async move { r.quote(&body("10001")).await })
    });
    let answers = futures::future::join_all(asks).await;
    for a in answers {
        let a = a.unwrap();
        assert_ne!(a["source"], "estimate", "{a}");
    }
    assert_eq!(r.rate_calls(), 1);
    let joined = r
        .checkout
        .stats()
        .joined
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(joined >= 1, "some joined the flight");
}

/// UPS slower than the deadline: the fallback table, marked estimate; the call was made
/// once, and a second asker of the lane, finding the call overdue, gets the estimate at
/// once rather than calling again or waiting on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_ups_gives_the_estimate() {
    let r = rig("rate:latency=3000", Duration::from_millis(100), 100, 0).await;
    let v = r.quote(&body("60601")).await;
    assert_eq!(v["source"], "estimate", "{v}");
    assert_eq!(v["estimate_reason"], "timeout");
    assert!(sources(&v).iter().all(|s| s == "estimate"));
    let ground = &v["services"][0];
    assert_eq!(ground["service_code"], "03");
    assert_eq!(ground["charge_account"], Value::Null);
    // Default table: 12.00 + 0.95 × 5 lb.
    assert_eq!(ground["charge_list"], "16.75");
    let again = r.quote(&body("60601")).await;
    assert_eq!(again["source"], "estimate");
    assert_eq!(r.rate_calls(), 1, "the second asker did not call again");
}

/// A UPS answer that lands after the deadline: not kept by default (the next asker of the
/// lane gets the estimate and UPS is asked again); kept with `cache_late_answers: true`
/// (the next asker gets it from the cache, UPS is not asked again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_answer_fills_the_cache_only_when_configured() {
    for keep in [false, true] {
        let r = rig_late("rate:latency=300", Duration::from_millis(50), 100, 0, keep).await;
        let v = r.quote(&body("30303")).await;
        assert_eq!(v["source"], "estimate", "{v}");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let v = r.quote(&body("30303")).await;
            if keep {
                if v["source"] == "cache" {
                    assert_eq!(r.rate_calls(), 1, "kept: no second call");
                    break;
                }
                assert_eq!(v["source"], "estimate", "{v}");
            } else {
                assert_eq!(v["source"], "estimate", "not kept: {v}");
                if r.rate_calls() >= 2 {
                    break;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the late answer never landed (keep = {keep})"
            );
        }
    }
}

/// A UPS error gives the estimate too, is not retried by the client (a retry would spend
/// a permit of checkout's quota it did not take) and is not cached: the next asker tries
/// UPS again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ups_error_gives_the_estimate_and_is_not_cached() {
    let r = rig("rate:503#1", Duration::from_secs(5), 100, 0).await;
    let v = r.quote(&body("94105")).await;
    assert_eq!(v["source"], "estimate", "{v}");
    assert_eq!(v["estimate_reason"], "ups_error");
    let v = r.quote(&body("94105")).await;
    assert_eq!(v["source"], "ups", "{v}");
    assert_eq!(r.rate_calls(), 2);
}

/// Checkout's own quota: a request that finds no permit at once gets the estimate
/// instead of waiting, and UPS is not called for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_permit_at_once_gives_the_estimate() {
    let r = rig("", Duration::from_secs(5), 100, 1).await;
    assert_eq!(r.quote(&body("30075")).await["source"], "ups");
    let v = r.quote(&body("98101")).await;
    assert_eq!(v["source"], "estimate", "{v}");
    assert_eq!(v["estimate_reason"], "quota");
    assert_eq!(r.rate_calls(), 1);
}

/// Capacity 2: a third key evicts the least recently used, which then costs a UPS call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bounded() {
    let r = rig("", Duration::from_secs(5), 2, 0).await;
    for zip in ["30075", "10001", "60601"] {
        assert_eq!(r.quote(&body(zip)).await["source"], "ups");
    }
    assert_eq!(r.checkout.cache().len(), 2);
    assert_eq!(r.quote(&body("60601")).await["source"], "cache");
    assert_eq!(r.quote(&body("30075")).await["source"], "ups", "evicted");
    assert_eq!(r.rate_calls(), 4);
}

/// A bad body is a 400 naming the field; UPS is never called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_body_is_400_naming_the_field() {
    let r = rig("", Duration::from_secs(5), 100, 0).await;
    let mut no_postal = body("30075");
    no_postal["ship_to"]
        .as_object_mut()
        .unwrap()
        .remove("postal_code");
    let mut heavy = body("30075");
    heavy["packages"][0]["weight"] = json!("heavy");
    let mut unknown_wh = body("30075");
    unknown_wh["ship_from"] = json!("nowhere");
    for (b, field) in [
        (no_postal, "ship_to.postal_code"),
        (heavy, "packages[0].weight"),
        (unknown_wh, "ship_from"),
        (json!([1, 2]), "body"),
    ] {
        let (status, v) = r.post(&b, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
        assert_eq!(v["field"], field, "{v}");
    }
    let req = Request::post("/v1/rates")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from("{not json"))
        .unwrap();
    let resp = r.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.rate_calls(), 0);
}

/// Over a real socket, through the hardened listener: 401 without the token, 200 with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_a_real_socket() {
    let r = rig("", Duration::from_secs(5), 100, 0).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/rates", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(upsync::checkout::http::serve(
        listener,
        r.app.clone(),
        upsync::server::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let http = reqwest::Client::new();
    let no = http.post(&url).json(&body("30075")).send().await.unwrap();
    assert_eq!(no.status(), 401);
    assert_eq!(no.headers()["www-authenticate"], "Bearer");
    let yes = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&body("30075"))
        .send()
        .await
        .unwrap();
    assert_eq!(yes.status(), 200);
    let v: Value = yes.json().await.unwrap();
    assert_eq!(v["source"], "ups");
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}
