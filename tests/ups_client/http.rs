//! `UpsClient` over HTTP against small stub servers on 127.0.0.1:0, with tokio's clock
//! paused so token lifetimes, backoff and quotas run instantly.
//!
//! The stub (`Stub`) implements the OAuth endpoint itself (issues `tok-N` tokens with a
//! configurable `expires_in`, rejects expired tokens on API calls with 401 `250002`) and
//! hands every API request to a per-test closure that sees how many times that path was hit.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use upsync::model::*;
use upsync::ups::{
    Api, Clock, MemoryTokenStore, RetryPolicy, TokenStore, UpsClient, UpsClientConfig,
    UpsCredentials, UpsError,
};

// ------------------------------------------------------------------ stub server

#[derive(Debug, Clone)]
struct Hit {
    method: String,
    path: String,
    query: String,
    trans_id: Option<String>,
    transaction_src: Option<String>,
    body: Value,
    at: Instant,
}

impl Hit {
    /// One logical request: method, path, query and body (so retries share a key).
    fn key(&self) -> String {
        format!("{} {}?{} {}", self.method, self.path, self.query, self.body)
    }
}

type Handler = Arc<dyn Fn(&Hit, u32) -> (u16, Value) + Send + Sync>;

struct StubInner {
    ttl_secs: AtomicU64,
    /// When non-zero, the OAuth endpoint answers this status instead of a token.
    token_fail_status: AtomicU32,
    token_requests: AtomicU32,
    merchant_ids: Mutex<Vec<String>>,
    tokens: Mutex<HashMap<String, Instant>>,
    hits: Mutex<Vec<Hit>>,
    per_key: Mutex<HashMap<String, u32>>,
    handler: Handler,
}

#[derive(Clone)]
struct Stub(Arc<StubInner>);

impl Stub {
    fn token_requests(&self) -> u32 {
        self.0.token_requests.load(Ordering::SeqCst)
    }
    fn hits(&self) -> Vec<Hit> {
        self.0.hits.lock().unwrap().clone()
    }
    fn hits_on(&self, prefix: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.path.starts_with(prefix))
            .collect()
    }
}

async fn any(
    State(s): State<Stub>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    if uri.path() == "/security/v1/oauth/token" {
        assert_eq!(method, Method::POST);
        assert!(h("authorization").unwrap_or_default().starts_with("Basic "));
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            "grant_type=client_credentials"
        );
        let n = s.0.token_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let fail = s.0.token_fail_status.load(Ordering::SeqCst);
        if fail != 0 {
            let code = if fail == 401 { "10401" } else { "10004" };
            return (
                StatusCode::from_u16(fail as u16).unwrap(),
                axum::Json(json!({"response":{"errors":[{"code": code,"message":"token endpoint says no"}]}})),
            )
                .into_response();
        }
        s.0.merchant_ids
            .lock()
            .unwrap()
            .push(h("x-merchant-id").unwrap_or_default());
        let tok = format!("tok-{n}");
        s.0.tokens
            .lock()
            .unwrap()
            .insert(tok.clone(), Instant::now());
        let ttl = s.0.ttl_secs.load(Ordering::SeqCst);
        return (
            StatusCode::OK,
            axum::Json(json!({"token_type":"Bearer","issued_at":"1719504000000","client_id":"c",
                "access_token": tok, "scope":"", "expires_in": ttl.to_string(), "refresh_count":"0","status":"approved"})),
        )
            .into_response();
    }
    // API call: the bearer must be a token we issued that has not expired.
    let bearer = h("authorization")
        .and_then(|a| a.strip_prefix("Bearer ").map(str::to_string))
        .unwrap_or_default();
    let ttl = Duration::from_secs(s.0.ttl_secs.load(Ordering::SeqCst));
    let valid =
        s.0.tokens
            .lock()
            .unwrap()
            .get(&bearer)
            .map(|at| at.elapsed() < ttl)
            .unwrap_or(false);
    let hit = Hit {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or("").to_string(),
        trans_id: h("transid"),
        transaction_src: h("transactionsrc"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    s.0.hits.lock().unwrap().push(hit.clone());
    if !valid {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}})),
        )
            .into_response();
    }
    let key = hit.key();
    let n = {
        let mut m = s.0.per_key.lock().unwrap();
        let c = m.entry(key).or_default();
        *c += 1;
        *c
    };
    let (status, body) = (s.0.handler)(&hit, n);
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

async fn stub(ttl_secs: u64, handler: Handler) -> (Stub, String) {
    let s = Stub(Arc::new(StubInner {
        ttl_secs: AtomicU64::new(ttl_secs),
        token_fail_status: AtomicU32::new(0),
        token_requests: AtomicU32::new(0),
        merchant_ids: Mutex::new(vec![]),
        tokens: Mutex::new(HashMap::new()),
        hits: Mutex::new(vec![]),
        per_key: Mutex::new(HashMap::new()),
        handler,
    }));
    let app = axum::Router::new().fallback(any).with_state(s.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (s, format!("http://{addr}"))
}

fn fixture(name: &str) -> Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ups")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn cfg(base: &str) -> UpsClientConfig {
    let mut c = UpsClientConfig::new(base, "123X56");
    // No request timeout: with the clock paused, a timer would fire while real I/O is in flight.
    c.request_timeout = None;
    c.retry = RetryPolicy {
        max_attempts: 5,
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(5),
    };
    c
}

fn creds() -> UpsCredentials {
    UpsCredentials::new("demo-client", "demo-secret")
}

fn client_on(base: &str, store: Arc<dyn TokenStore>, clock: Clock) -> UpsClient {
    UpsClient::with_clock(cfg(base), creds(), store, clock).unwrap()
}

fn client(base: &str) -> UpsClient {
    client_on(
        base,
        Arc::new(MemoryTokenStore::new()),
        Clock::starting_at(start_time()),
    )
}

fn track_ok() -> Handler {
    Arc::new(|_h, _n| (200, fixture("track-response-delivered.json")))
}

fn shipment(n_packages: usize) -> Shipment {
    let party = |name: &str, line: &str, city: &str, st: &str, zip: &str| Party {
        name: name.into(),
        attention: None,
        phone: Some("4105551234".into()),
        email: None,
        tax_id: None,
        address: Address {
            lines: vec![line.into()],
            city: city.into(),
            state: st.into(),
            postal_code: zip.into(),
            country: "US".into(),
            residential: None,
            po_box: false,
        },
    };
    Shipment {
        source: "acumatica-main".into(),
        record_id: "guid-1".into(),
        number: "000123".into(),
        account_number: "123X56".into(),
        shipper: party("T and T Designs", "2311 York Rd", "Timonium", "MD", "21093"),
        ship_from: None,
        ship_to: party("Happy Dog", "123 Main St", "Alpharetta", "GA", "30005"),
        service: ServiceSelection::Fixed { code: "03".into() },
        packages: (0..n_packages)
            .map(|i| Package {
                erp_line_id: format!("line-{i}"),
                weight: Weight {
                    value: "5".parse().unwrap(),
                    unit: WeightUnit::Lbs,
                },
                dimensions: None,
                packaging: "02".into(),
                description: None,
                declared_value: None,
            })
            .collect(),
        references: vec![Reference {
            code: "IK".into(),
            value: "000123".into(),
            barcode: false,
        }],
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

// ------------------------------------------------------------------ token economy

async fn continuous_calls(ttl: u64, minutes: u64) -> (u32, u64) {
    let (s, base) = stub(ttl, track_ok()).await;
    let c = client(&base);
    let step = Duration::from_secs(30);
    let steps = minutes * 60 / step.as_secs();
    for _ in 0..steps {
        let out = c.track("1Z123X560300000018").await.unwrap();
        assert!(matches!(out, upsync::ups::TrackOutcome::Found { .. }));
        tokio::time::sleep(step).await;
    }
    let margin = (ttl / 10).min(300);
    let expected = (minutes * 60).div_ceil(ttl - margin);
    assert!(
        s.hits_on("/api/track").iter().all(|h| h.trans_id.is_some()),
        "every call carries transId"
    );
    (s.token_requests(), expected)
}

#[tokio::test(start_paused = true)]
async fn continuous_calls_cost_one_token_per_lifetime_minus_margin() {
    // Short lifetimes: 10 min (margin 1 min) and 1 h (margin 5 min), 3 hours of calls.
    for ttl in [600u64, 3600] {
        let (got, expected) = continuous_calls(ttl, 180).await;
        assert!(
            got as u64 >= expected && got as u64 <= expected + 1,
            "ttl {ttl}: {got} token requests, expected {expected} (+1 at most)"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn thousand_concurrent_first_calls_cost_one_token() {
    let (s, base) = stub(3600, track_ok()).await;
    let c = client(&base);
    let calls = (0..1000).map(|_| {
        let c = c.clone();
        async move { c.track("1Z123X560300000018").await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| r.is_ok()));
    assert_eq!(s.token_requests(), 1);
    assert_eq!(s.hits_on("/api/track").len(), 1000);
    let st = c.stats();
    assert_eq!(st.token_requests_total, 1);
    assert_eq!(st.token_requests_today, 1);
    assert!(!st.token_budget_warning);
    assert_eq!(st.count(Api::Track, 200), 1000);
    assert_eq!(st.count(Api::Token, 200), 1);
    // transIds are unique and ≤ 32 characters; transactionSrc is always sent.
    let hits = s.hits_on("/api/track");
    let ids: std::collections::HashSet<_> =
        hits.iter().map(|h| h.trans_id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 1000);
    assert!(ids.iter().all(|i| i.len() <= 32 && !i.is_empty()));
    assert!(hits
        .iter()
        .all(|h| h.transaction_src.as_deref() == Some("upsync")));
    assert_eq!(s.0.merchant_ids.lock().unwrap().as_slice(), ["123X56"]);
}

#[tokio::test(start_paused = true)]
async fn restart_with_a_valid_stored_token_costs_nothing() {
    let (s, base) = stub(3600, track_ok()).await;
    let store: Arc<MemoryTokenStore> = Arc::new(MemoryTokenStore::new());
    let clock = Clock::starting_at(start_time());
    let c1 = client_on(&base, store.clone(), clock.clone());
    c1.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 1);
    drop(c1);
    tokio::time::sleep(Duration::from_secs(600)).await;
    // "Restart": a new client on the same store.
    let c2 = client_on(&base, store.clone(), clock.clone());
    c2.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 1, "stored token reused");
    assert_eq!(c2.stats().token_requests_total, 0);
    assert_eq!(c2.stats().token_requests_today, 1);
    // Once the stored token is past its refresh point, a restart fetches one.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    let c3 = client_on(&base, store, clock);
    c3.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 2);
}

#[tokio::test(start_paused = true)]
async fn token_budget_is_refused_before_it_is_exceeded_and_resets_next_utc_day() {
    let (s, base) = stub(600, track_ok()).await;
    let store: Arc<MemoryTokenStore> = Arc::new(MemoryTokenStore::new());
    // 23:00 UTC: the day rolls over one hour in.
    let clock = Clock::starting_at(
        DateTime::parse_from_rfc3339("2026-11-21T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    );
    let mut config = cfg(&base);
    config.token_budget_per_day = 3;
    let c = UpsClient::with_clock(config, creds(), store.clone(), clock.clone()).unwrap();
    let mut refused = None;
    for minute in 0..40 {
        match c.track("1Z123X560300000018").await {
            Ok(_) => {}
            Err(e) => {
                refused = Some((minute, e));
                break;
            }
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    let (minute, e) = refused.expect("the 4th token must be refused");
    let st = c.stats();
    assert_eq!((st.token_requests_today, st.token_budget_per_day), (3, 3));
    assert!(st.token_budget_warning);
    // Tokens at 0, 9, 18 min (600 s lifetime − 60 s margin); the refresh due at 27 min is
    // refused but the current token is still valid until 28 min, when the call fails.
    assert_eq!(minute, 28);
    match &e {
        UpsError::TokenBudgetExhausted { used, budget, .. } => {
            assert_eq!((*used, *budget), (3, 3));
        }
        other => panic!("expected TokenBudgetExhausted, got {other:?}"),
    }
    assert_eq!(e.class(), ErrorClass::Config);
    assert_eq!(e.code(), "ups_token_budget_exhausted");
    assert!(e.to_string().contains("token_budget_per_day"));
    assert_eq!(s.token_requests(), 3, "the refused request never left");
    // After midnight UTC the budget is fresh again.
    tokio::time::sleep(Duration::from_secs(34 * 60)).await;
    assert_eq!(clock.now().date_naive().to_string(), "2026-11-22");
    c.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 4);
}

// ------------------------------------------------------------------ auth failures

#[tokio::test(start_paused = true)]
async fn failed_refresh_ahead_keeps_the_valid_token_and_paces_new_attempts() {
    // Lifetime 600 s, margin 60 s: refresh-ahead starts at 540 s.
    let (s, base) = stub(600, track_ok()).await;
    let c = client(&base);
    c.track("1Z123X560300000018").await.unwrap();
    tokio::time::sleep(Duration::from_secs(545)).await;
    s.0.token_fail_status.store(503, Ordering::SeqCst);
    let t0 = Instant::now();
    // Calls every 5 s until just before expiry all succeed with the current token.
    while t0.elapsed() < Duration::from_secs(45) {
        c.track("1Z123X560300000018").await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // One bounded retry sequence (5 attempts) per 30 s pause, not one per call.
    let spent = s.token_requests() - 1;
    assert!(
        (5..=10).contains(&spent),
        "{spent} token requests while OAuth was down"
    );
    // UPS OAuth back: the next refresh succeeds.
    s.0.token_fail_status.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    c.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 1 + spent + 1);
}

#[tokio::test(start_paused = true)]
async fn callers_queued_behind_a_failed_token_fetch_share_its_error() {
    let (s, base) = stub(3600, track_ok()).await;
    let c = client(&base);
    // Bad credentials: one token request for 200 concurrent callers, all get Auth.
    s.0.token_fail_status.store(401, Ordering::SeqCst);
    let calls = (0..200).map(|_| {
        let c = c.clone();
        async move { c.track("1Z123X560300000018").await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(
        r,
        Err(UpsError::Auth {
            api: Api::Token,
            ..
        })
    )));
    assert_eq!(s.token_requests(), 1);
    assert!(s.hits_on("/api/").is_empty());
    // OAuth down (503): one bounded retry sequence, not one per caller.
    tokio::time::sleep(Duration::from_secs(1)).await;
    s.0.token_fail_status.store(503, Ordering::SeqCst);
    let calls = (0..200).map(|_| {
        let c = c.clone();
        async move { c.track("1Z123X560300000018").await }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(
        r,
        Err(UpsError::Unavailable {
            api: Api::Token,
            attempts: 5,
            ..
        })
    )));
    assert_eq!(s.token_requests(), 1 + 5);
    // Recovery: the next call after the failure fetches again and succeeds.
    s.0.token_fail_status.store(0, Ordering::SeqCst);
    c.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 7);
    assert_eq!(c.stats().token_requests_today, 7);
}

#[tokio::test(start_paused = true)]
async fn persistent_401_costs_one_refresh_and_one_retry_then_auth_error() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| {
            (
                401,
                json!({"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}}),
            )
        }),
    )
    .await;
    let c = client(&base);
    let e = c.track("1Z123X560300000018").await.unwrap_err();
    match &e {
        UpsError::Auth { api, code, .. } => {
            assert_eq!(*api, Api::Track);
            assert_eq!(code, "250002");
        }
        other => panic!("expected Auth, got {other:?}"),
    }
    assert_eq!(e.class(), ErrorClass::Auth);
    assert!(e.to_string().contains("\"Tracking\" API product"), "{e}");
    assert_eq!(s.token_requests(), 2, "one refresh");
    assert_eq!(s.hits_on("/api/track").len(), 2, "one retry");
    assert_eq!(c.stats().auth_refreshes, 1);
}

#[tokio::test(start_paused = true)]
async fn expired_token_code_251004_on_a_200_path_refreshes_and_succeeds() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, n| {
            if n == 1 {
                (
                    401,
                    json!({"response":{"errors":[{"code":"251004","message":"Token expired"}]}}),
                )
            } else {
                (200, fixture("track-response-delivered.json"))
            }
        }),
    )
    .await;
    let c = client(&base);
    c.track("1Z123X560300000018").await.unwrap();
    assert_eq!(s.token_requests(), 2);
    assert_eq!(s.hits_on("/api/track").len(), 2);
}

// ------------------------------------------------------------------ 429 storms, 5xx bursts

/// Deterministic number of failures (0..=3) before success for a request key.
fn failures_for(key: &str) -> u32 {
    let h = key.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    (h % 4) as u32
}

fn storm_handler(fail_status: u16) -> Handler {
    Arc::new(move |h, n| {
        if n <= failures_for(&h.key()) {
            let body = if fail_status == 429 {
                json!({"response":{"errors":[{"code":"10429","message":"Too Many Requests"}]}})
            } else {
                json!({"response":{"errors":[{"code":"10004","message":"Service temporarily unavailable"}]}})
            };
            return (fail_status, body);
        }
        let body = if h.path.contains("/track/") {
            fixture("track-response-delivered.json")
        } else if h.path.contains("/rating/") {
            fixture("rate-shop-response.json")
        } else if h.path.contains("/addressvalidation/") {
            fixture("xav-response-residential.json")
        } else if h.path.contains("/void/") {
            fixture("void-response.json")
        } else {
            json!({})
        };
        (200, body)
    })
}

async fn safe_calls_survive(fail_status: u16) {
    let (s, base) = stub(3600, storm_handler(fail_status)).await;
    let c = client(&base);
    let addr = shipment(1).ship_to.address;
    let mut tasks = Vec::new();
    for i in 0..40u32 {
        let c = c.clone();
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let n = format!("1Z123X56030000{:04}", i);
            c.track(&n).await.map(|_| ())?;
            let mut a = addr.clone();
            a.lines = vec![format!("{i} Main St")];
            c.validate_address(&a).await.map(|_| ())?;
            let mut sh = shipment(1);
            sh.number = format!("N{i}");
            c.shop(&sh).await.map(|_| ())?;
            c.void(&n, None).await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // Per key: exactly failures+1 attempts, never more than max_attempts.
    let mut per_key: HashMap<String, u32> = HashMap::new();
    for h in s.hits() {
        *per_key.entry(h.key()).or_default() += 1;
    }
    let mut failures = 0u32;
    let mut total = 0u32;
    for (k, n) in &per_key {
        assert_eq!(*n, failures_for(k) + 1, "{k}");
        assert!(*n <= 5);
        failures += failures_for(k);
        total += n;
    }
    assert!(
        failures * 100 / total >= 40,
        "storm too mild: {failures}/{total}"
    );
    let st = c.stats();
    let failed_status: u64 = st
        .requests
        .iter()
        .filter(|r| r.status == fail_status)
        .map(|r| r.count)
        .sum();
    assert_eq!(st.retries, failed_status, "every failure was retried once");
    if fail_status == 429 {
        assert_eq!(st.rate_limited, failed_status);
    }
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn safe_calls_survive_a_429_storm() {
    safe_calls_survive(429).await;
}

#[tokio::test(start_paused = true)]
async fn safe_calls_survive_5xx_bursts() {
    safe_calls_survive(503).await;
}

#[tokio::test(start_paused = true)]
async fn backoff_delays_grow_with_full_jitter() {
    // Every track number fails 4 times, then succeeds: gaps between attempts are the delays.
    let (s, base) = stub(
        3600,
        Arc::new(|_h, n| {
            if n <= 4 {
                (
                    429,
                    json!({"response":{"errors":[{"code":"10429","message":"Too Many Requests"}]}}),
                )
            } else {
                (200, fixture("track-response-delivered.json"))
            }
        }),
    )
    .await;
    let c = client(&base);
    let policy = c.config().retry.clone();
    for i in 0..40 {
        c.track(&format!("1Z123X5603000{i:05}")).await.unwrap();
    }
    let mut by_path: HashMap<String, Vec<Instant>> = HashMap::new();
    for h in s.hits_on("/api/track") {
        by_path.entry(h.path.clone()).or_default().push(h.at);
    }
    let mut gaps_by_attempt: Vec<Vec<Duration>> = vec![vec![]; 4];
    for times in by_path.values() {
        assert_eq!(times.len(), 5);
        for a in 0..4 {
            let gap = times[a + 1] - times[a];
            assert!(
                gap <= policy.ceiling(a as u32 + 1) + Duration::from_millis(2),
                "attempt {}: gap {gap:?} above ceiling",
                a + 1
            );
            gaps_by_attempt[a].push(gap);
        }
    }
    let mean = |v: &Vec<Duration>| v.iter().sum::<Duration>() / v.len() as u32;
    let means: Vec<Duration> = gaps_by_attempt.iter().map(mean).collect();
    assert!(
        means[3] > means[0] * 3,
        "delays must grow: means per attempt {means:?}"
    );
    let distinct: std::collections::HashSet<_> = gaps_by_attempt[3].iter().collect();
    assert!(distinct.len() > 10, "delays must be jittered");
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_then_the_error_is_typed() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| {
            (
                429,
                json!({"response":{"errors":[{"code":"10429","message":"Too Many Requests"}]}}),
            )
        }),
    )
    .await;
    let c = client(&base);
    let e = c.track("1Z123X560300000018").await.unwrap_err();
    assert!(
        matches!(
            e,
            UpsError::RateLimited {
                api: Api::Track,
                attempts: 5
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Transient);
    assert_eq!(s.hits_on("/api/track").len(), 5);
}

// ------------------------------------------------------------------ Ship is never retried

#[tokio::test(start_paused = true)]
async fn ship_429_is_transient_and_not_retried() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| {
            (
                429,
                json!({"response":{"errors":[{"code":"10429","message":"Too Many Requests"}]}}),
            )
        }),
    )
    .await;
    let c = client(&base);
    let e = c.ship(&shipment(1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            UpsError::RateLimited {
                api: Api::Ship,
                attempts: 1
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Transient);
    assert!(!e.is_outcome_unknown());
    assert_eq!(s.hits_on("/api/shipments").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn ship_5xx_is_outcome_unknown_and_not_retried() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| {
            (
                500,
                json!({"response":{"errors":[{"code":"10004","message":"Internal error"}]}}),
            )
        }),
    )
    .await;
    let c = client(&base);
    let e = c.ship(&shipment(2)).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert_eq!(e.code(), "ups_outcome_unknown");
    assert_eq!(s.hits_on("/api/shipments").len(), 1);
    assert_eq!(c.stats().outcome_unknown, 1);
}

#[tokio::test(start_paused = true)]
async fn ship_unreadable_200_is_outcome_unknown() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| (200, json!({"ShipmentResponse": {}}))),
    )
    .await;
    let c = client(&base);
    let e = c.ship(&shipment(1)).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert_eq!(s.hits_on("/api/shipments").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn ship_timeout_after_send_is_outcome_unknown() {
    let (s, base) = stub(3600, Arc::new(|_h, _n| (200, json!({})))).await;
    // A proxy that accepts, reads the whole request and never answers.
    let _ = s;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ship_requests = Arc::new(AtomicU32::new(0));
    let counter = ship_requests.clone();
    let token_base = base.clone();
    tokio::spawn(raw_server(listener, counter, token_base, RawMode::Hang));
    let mut config = cfg(&format!("http://{addr}"));
    config.request_timeout = Some(Duration::from_secs(20));
    let c = UpsClient::with_clock(
        config,
        creds(),
        Arc::new(MemoryTokenStore::new()),
        Clock::starting_at(start_time()),
    )
    .unwrap();
    let e = c.ship(&shipment(1)).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert_eq!(ship_requests.load(Ordering::SeqCst), 1);
}

#[derive(Clone, Copy)]
enum RawMode {
    /// Read the request body, then reset the connection.
    Reset,
    /// Read the request body, then say nothing.
    Hang,
}

/// A bare HTTP/1.1 server: answers the OAuth request with a token, and for any other
/// request reads the full body (counting it) and then resets or hangs.
async fn raw_server(
    listener: tokio::net::TcpListener,
    ship_requests: Arc<AtomicU32>,
    _unused: String,
    mode: RawMode,
) {
    loop {
        let (mut sock, _) = listener.accept().await.unwrap();
        let counter = ship_requests.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let head_end = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break p + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            if head.starts_with("POST /security/v1/oauth/token") {
                let body = r#"{"access_token":"raw-token","token_type":"Bearer","expires_in":"14399","issued_at":"0","status":"approved"}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
                return;
            }
            if head.contains(" /api/") {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            match mode {
                RawMode::Reset => {
                    let _ = sock.set_zero_linger();
                    drop(sock);
                }
                RawMode::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
            }
        });
    }
}

#[tokio::test(start_paused = true)]
async fn ship_reset_after_the_body_is_read_is_outcome_unknown_and_sent_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ship_requests = Arc::new(AtomicU32::new(0));
    tokio::spawn(raw_server(
        listener,
        ship_requests.clone(),
        String::new(),
        RawMode::Reset,
    ));
    let c = client(&format!("http://{addr}"));
    let e = c.ship(&shipment(2)).await.unwrap_err();
    assert!(e.is_outcome_unknown(), "{e:?}");
    assert_eq!(e.class(), ErrorClass::Transient);
    // Give any (wrong) background retry the chance to happen.
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(
        ship_requests.load(Ordering::SeqCst),
        1,
        "exactly one Ship sent"
    );
    assert_eq!(c.stats().outcome_unknown, 1);
    assert_eq!(c.stats().count(Api::Ship, 0), 1);
}

#[tokio::test(start_paused = true)]
async fn connection_resets_are_retried_for_safe_calls_within_the_bound() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicU32::new(0));
    tokio::spawn(raw_server(
        listener,
        requests.clone(),
        String::new(),
        RawMode::Reset,
    ));
    let c = client(&format!("http://{addr}"));
    let e = c.track("1Z123X560300000018").await.unwrap_err();
    assert!(
        matches!(
            e,
            UpsError::Unavailable {
                api: Api::Track,
                attempts: 5,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Transient);
    assert_eq!(requests.load(Ordering::SeqCst), 5);
    assert_eq!(c.stats().retries, 4);
}

#[tokio::test(start_paused = true)]
async fn ship_connect_refused_is_a_definite_transient_failure() {
    // Bind and drop to get a port nobody listens on.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let store = Arc::new(MemoryTokenStore::new());
    let clock = Clock::starting_at(start_time());
    store.save(
        "demo-client",
        &upsync::ups::StoredToken {
            access_token: "t".into(),
            obtained_at: clock.now(),
            expires_in_seconds: 3600,
        },
    );
    let c = client_on(&format!("http://{addr}"), store, clock);
    let e = c.ship(&shipment(1)).await.unwrap_err();
    assert!(
        matches!(
            e,
            UpsError::Unavailable {
                api: Api::Ship,
                attempts: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_outcome_unknown());
}

// ------------------------------------------------------------------ operations round trip

#[tokio::test(start_paused = true)]
async fn operations_use_ups_paths_versions_and_headers() {
    let (s, base) = stub(
        3600,
        Arc::new(|h, _n| {
            let p = h.path.as_str();
            let body = if p == "/api/shipments/v2409/ship" {
                fixture("ship-response-two-packages.json")
            } else if p.starts_with("/api/rating/v2409/") {
                fixture("rate-shop-response.json")
            } else if p == "/api/addressvalidation/v2/3" {
                fixture("xav-response-residential.json")
            } else if p.starts_with("/api/shipments/v2409/void/cancel/") {
                fixture("void-response.json")
            } else if p == "/api/labels/v1/recovery" {
                json!({"LabelRecoveryResponse":{"Response":{"ResponseStatus":{"Code":"1"}},
                    "ShipmentIdentificationNumber":"1Z123X560100000030",
                    "LabelResults":[{"TrackingNumber":"1Z123X560100000030","LabelImage":{"LabelImageFormat":{"Code":"GIF"},"GraphicImage":"R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"}}]}})
            } else if p.starts_with("/api/track/v1/details/1Z123X560100000058") {
                fixture("track-response-not-found.json")
            } else if p.starts_with("/api/track/v1/reference/details/") {
                fixture("track-response-delivered.json")
            } else if p.contains("/subscription/") {
                let list = h.body["trackingNumberList"].as_array().cloned().unwrap_or_default();
                json!({"validTrackingNumbers": list, "invalidTrackingNumbers": []})
            } else {
                return (404, json!({"response":{"errors":[{"code":"404","message":"no route"}]}}));
            };
            (200, body)
        }),
    )
    .await;
    let c = client(&base);
    let sh = shipment(2);

    let r = c.ship(&sh).await.unwrap();
    assert_eq!(r.packages[1].erp_line_id, "line-1");
    assert_eq!(r.packages[1].tracking_number, "1Z123X560100000049");
    let ship_hit = &s.hits_on("/api/shipments/v2409/ship")[0];
    assert_eq!(
        ship_hit.body["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"][0]["Value"],
        "000123"
    );

    // Issue 15 item 3: only the *timeintransit request options return TimeInTransit
    // (Rating.yaml), so Shop/Rate go to Shoptimeintransit/Ratetimeintransit with
    // DeliveryTimeInformation; `?additionalinfo=timeintransit` is not relied upon.
    // Item 5: Request.SubVersion is sent well-formed (YYMM), for Ship and Rate.
    assert_eq!(
        ship_hit.body["ShipmentRequest"]["Request"]["SubVersion"],
        "2409"
    );
    let q = c.shop(&sh).await.unwrap();
    assert_eq!(q.len(), 2);
    let shop_hit = &s.hits_on("/api/rating/v2409/Shoptimeintransit")[0];
    assert_eq!(shop_hit.query, "");
    let req = &shop_hit.body["RateRequest"];
    assert_eq!(req["Request"]["RequestOption"], "Shoptimeintransit");
    assert_eq!(req["Request"]["SubVersion"], "2409");
    assert_eq!(
        req["Shipment"]["DeliveryTimeInformation"]["Pickup"]["Date"],
        "20261121"
    );
    c.rate(&sh).await.unwrap();
    assert_eq!(s.hits_on("/api/rating/v2409/Ratetimeintransit").len(), 1);

    let a = c.validate_address(&sh.ship_to.address).await.unwrap();
    assert!(matches!(
        a,
        AddressCheck::Valid {
            residential: Some(true),
            ..
        }
    ));
    let mut ca = sh.ship_to.address.clone();
    ca.country = "CA".into();
    let before = s.hits().len();
    assert_eq!(
        c.validate_address(&ca).await.unwrap(),
        AddressCheck::NotCovered
    );
    assert_eq!(
        s.hits().len(),
        before,
        "no call for a country UPS does not cover"
    );

    let v = c.void("1Z123X560100000030", None).await.unwrap();
    assert!(v.voided());
    let pk = vec!["1Z123X560100000049".to_string()];
    c.void("1Z123X560100000030", Some(&pk)).await.unwrap();
    let void_hits = s.hits_on("/api/shipments/v2409/void/cancel/1Z123X560100000030");
    assert_eq!(void_hits.len(), 2);
    assert_eq!(void_hits[0].method, "DELETE");
    assert_eq!(void_hits[1].query, "trackingnumber=1Z123X560100000049");

    let l = c
        .recover_label("1Z123X560100000030", &sh.label)
        .await
        .unwrap();
    assert!(l.packages[0].label.is_some());
    assert_eq!(
        s.hits_on("/api/labels/v1/recovery")[0].body["LabelRecoveryRequest"]["TrackingNumber"],
        "1Z123X560100000030"
    );

    assert_eq!(
        c.track("1Z123X560100000058").await.unwrap(),
        upsync::ups::TrackOutcome::NotYet
    );
    let from = chrono::NaiveDate::from_ymd_opt(2026, 11, 7).unwrap();
    let to = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
    let m = c
        .track_by_reference("000123", None, from, to)
        .await
        .unwrap();
    assert_eq!(m[0].tracking_numbers, vec!["1Z123X560300000018"]);
    let rh = &s.hits_on("/api/track/v1/reference/details/000123")[0];
    assert!(rh.query.contains("fromPickUpDate=20261107"));
    assert!(rh.query.contains("toPickUpDate=20261121"));

    // 250 numbers → 3 calls of ≤100; v1 with destination, v2 without.
    let numbers: Vec<String> = (0..250).map(|i| format!("1Z123X5603{i:08}")).collect();
    let r = c
        .subscribe(&numbers, Some(("https://hooks.example/ups", "shh")))
        .await
        .unwrap();
    assert_eq!(r.valid.len(), 250);
    let subs = s.hits_on("/api/track/v1/subscription/standard/package");
    assert_eq!(subs.len(), 3);
    let sizes: Vec<usize> = subs
        .iter()
        .map(|h| h.body["trackingNumberList"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(subs[0].body["destination"]["credential"], "shh");
    c.subscribe(&numbers[..3], None).await.unwrap();
    let v2 = s.hits_on("/api/track/v2/subscription/standard/package");
    assert_eq!(v2.len(), 1);
    assert!(v2[0].body.get("destination").is_none());

    // Every API call carried transId + transactionSrc.
    for h in s.hits() {
        assert!(
            h.trans_id
                .as_deref()
                .map(|t| t.len() <= 32)
                .unwrap_or(false),
            "{}",
            h.path
        );
        assert_eq!(h.transaction_src.as_deref(), Some("upsync"));
    }
    assert_eq!(s.token_requests(), 1);
}

#[tokio::test(start_paused = true)]
async fn ups_rejections_surface_code_and_field() {
    let (s, base) = stub(
        3600,
        Arc::new(|_h, _n| {
            (
                400,
                json!({"response":{"errors":[{"code":"120100","message":"Missing or invalid shipper number: Shipment.Shipper.ShipperNumber"}]}}),
            )
        }),
    )
    .await;
    let c = client(&base);
    let e = c.ship(&shipment(1)).await.unwrap_err();
    assert_eq!(e.ups_code(), Some("120100"));
    assert_eq!(e.field(), Some("Shipment.Shipper.ShipperNumber"));
    assert_eq!(e.http_status(), Some(400));
    assert_eq!(e.class(), ErrorClass::Business);
    assert_eq!(e.code(), "ups_shipper_number_invalid");
    assert_eq!(s.hits_on("/api/shipments").len(), 1);
    // Local checks stop a Ship UPS would refuse before anything is sent.
    let mut bad = shipment(1);
    bad.packages[0].weight.value = rust_decimal::Decimal::ZERO;
    let e = c.ship(&bad).await.unwrap_err();
    assert!(matches!(e, UpsError::Invalid { .. }));
    assert_eq!(e.code(), "ups_package_weight_invalid");
    assert_eq!(s.hits_on("/api/shipments").len(), 1);
}

#[tokio::test(start_paused = true)]
async fn quota_paces_calls_on_tokio_time() {
    let (s, base) = stub(3600, track_ok()).await;
    let mut config = cfg(&base);
    config.quotas.track = std::num::NonZeroU32::new(5);
    let c = UpsClient::with_clock(
        config,
        creds(),
        Arc::new(MemoryTokenStore::new()),
        Clock::starting_at(start_time()),
    )
    .unwrap();
    let t0 = Instant::now();
    for i in 0..25 {
        c.track(&format!("1Z123X5603000{i:05}")).await.unwrap();
    }
    let took = t0.elapsed();
    // 5 immediately, 20 more at 5/s → ≈ 4 s of (paused) time.
    assert!(
        took >= Duration::from_millis(3800) && took <= Duration::from_millis(4500),
        "{took:?}"
    );
    let hits = s.hits_on("/api/track");
    let in_first_second = hits
        .iter()
        .filter(|h| h.at - t0 < Duration::from_millis(999))
        .count();
    // Burst of 5, then one every 200 ms.
    assert!(in_first_second <= 10, "{in_first_second}");
}
