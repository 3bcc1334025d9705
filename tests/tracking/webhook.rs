//! The Track Alert webhook receiver (issue 8, must-show 2): wrong credentials → 401 and
//! nothing stored; ≥ 10,000 random and mutated bodies never crash it; duplicate and
//! reordered events leave the ERP showing the latest true state; one real-socket test.

use std::future::IntoFuture;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tower::ServiceExt;
use zeroize::Zeroizing;

use crate::tracking_support::*;
use upsync::pipeline::{JobState, Ledger};
use upsync::store::{Store, Tree};
use upsync::tracking::*;

const SECRET: &str = "v1-shared-secret";

/// `ups-examples/trackalert-webhook-event-delivered.json`.
const EXAMPLE: &str = r#"{
  "trackingNumber": "1Z204W4R0308071865",
  "localActivityDate": "20240423",
  "localActivityTime": "095004",
  "activityLocation": {"city": "CHARLOTTE", "stateProvince": "NC", "postalCode": "28209", "country": "US"},
  "activityStatus": {"type": "D", "code": "FS", "description": "Delivered", "descriptionCode": "011"},
  "scheduledDeliveryDate": "20240423",
  "actualDeliveryDate": "20240423",
  "actualDeliveryTime": "095004",
  "gmtActivityDate": "20240423",
  "gmtActivityTime": "135004",
  "gmtOffset": "-04.00",
  "deliveryStartTime": "",
  "deliveryEndTime": "",
  "deliveryTimeDescription": "",
  "receivedBy": "JOHN"
}"#;

struct Env {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    ledger: Ledger,
    clock: TestClock,
    erp: Arc<FakeErp>,
    tracker: Arc<Tracker>,
    app: axum::Router,
}

fn env(store_url: Option<String>) -> Env {
    let clock = TestClock::new(start());
    let (dir, store) = open_store_on(store_url);
    let ups = FakeUps::new(clock.clone());
    let erp = FakeErp::new(clock.clone());
    let tracker = Tracker::new(
        store.clone(),
        ups,
        TrackingSettings {
            erp_writes_per_minute: 10_000,
            erp_write_burst: 10_000,
            ..TrackingSettings::default()
        },
        clock.clock(),
    )
    .unwrap()
    .with_erp("erp", erp.clone(), Arc::new(FakeMapper));
    let app = router(tracker.webhook_state(WebhookAuth {
        v1_credential: Some(Zeroizing::new(SECRET.into())),
        v2_client: Some(OAuthClient {
            client_id: "ups-push".into(),
            client_secret: Zeroizing::new("v2-client-secret".into()),
            token_ttl_seconds: 3600,
        }),
    }));
    Env {
        _dir: dir,
        ledger: Ledger::new(store.clone()),
        store,
        clock,
        erp,
        tracker: Arc::new(tracker),
        app,
    }
}

fn post(body: impl Into<Body>, credential: Option<&str>) -> Request<Body> {
    let mut r = Request::post(TRACK_ALERT_PATH).header("content-type", "application/json");
    if let Some(c) = credential {
        r = r.header("credential", c);
    }
    r.body(body.into()).unwrap()
}

async fn send(app: &axum::Router, req: Request<Body>) -> StatusCode {
    app.clone().oneshot(req).await.unwrap().status()
}

fn events_stored(store: &Store) -> usize {
    store.tree(Tree::Events).len()
}

upsync::both_stores! {
    #[tokio::test]
    async fn wrong_or_missing_credentials_get_401_and_nothing_is_stored(store_url) {
        let e = env(store_url);
        let tn = "1Z204W4R0308071865";
        let job = tracking_job(&e.ledger, "R1", &[tn], start());
        e.tracker.register_job(&job).unwrap();
        let wrong = [
            None,
            Some(""),
            Some("v1-shared-secreT"),
            Some("v1-shared-secret "),
            Some("v1-shared-secret-and-more"),
            Some("Bearer v1-shared-secret"),
        ];
        for c in wrong {
            assert_eq!(
                send(&e.app, post(EXAMPLE, c)).await,
                StatusCode::UNAUTHORIZED,
                "{c:?}"
            );
        }
        // The secret in the wrong header, a bearer token nobody issued.
        let r = Request::post(TRACK_ALERT_PATH)
            .header("authorization", SECRET)
            .body(Body::from(EXAMPLE))
            .unwrap();
        assert_eq!(send(&e.app, r).await, StatusCode::UNAUTHORIZED);
        let r = Request::post(TRACK_ALERT_PATH)
            .header("authorization", "Bearer not-a-token-we-issued")
            .body(Body::from(EXAMPLE))
            .unwrap();
        assert_eq!(send(&e.app, r).await, StatusCode::UNAUTHORIZED);
        // Even a body too large or malformed is refused for credentials first.
        assert_eq!(
            send(&e.app, post(vec![b'x'; 200_000], Some("nope"))).await,
            StatusCode::UNAUTHORIZED
        );

        assert_eq!(events_stored(&e.store), 0);
        e.clock.advance(Duration::minutes(1));
        e.tracker.tick().await.unwrap();
        assert!(
            e.erp.field("R1", STATUS).is_none() || e.erp.field("R1", STATUS).unwrap() != "Delivered"
        );
        let st = e.tracker.stats().snapshot();
        assert_eq!(st.events_unauthorized, 9);
        assert_eq!(st.events_received, 0);

        // The right credential: stored and, after processing, on the ERP record.
        assert_eq!(
            send(&e.app, post(EXAMPLE, Some(SECRET))).await,
            StatusCode::OK
        );
        assert_eq!(events_stored(&e.store), 1);
        e.tracker.tick().await.unwrap();
        assert_eq!(events_stored(&e.store), 0, "inbox drained");
        assert_eq!(e.erp.field("R1", STATUS).unwrap(), "Delivered");
    }
}

// ---------- fuzz ----------

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..10) {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e300),
        4 => Value::from(""),
        5 => Value::from("x".repeat(rng.gen_range(0..70_000))),
        6 => Value::from("Zoë Müller ☃ \u{202e} \u{0}\u{1f}"),
        7 if depth < 3 => Value::Array(
            (0..rng.gen_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        8 if depth < 3 => {
            let mut m = serde_json::Map::new();
            for k in ["type", "code", "city", "a"] {
                if rng.gen() {
                    m.insert(k.into(), random_value(rng, depth + 1));
                }
            }
            Value::Object(m)
        }
        _ => Value::from(
            [
                "20240423", "135004", "-04.00", "99999999", "20240230", "246060", "+14.00",
                "-14.60", ".", "1Z",
            ]
            .choose(rng)
            .copied()
            .unwrap_or_default(),
        ),
    }
}

fn paths(v: &Value) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if let Value::Object(m) = v {
        for (k, sub) in m {
            out.push(vec![k.clone()]);
            for mut p in paths(sub) {
                p.insert(0, k.clone());
                out.push(p);
            }
        }
    }
    out
}

fn at_path<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for k in path {
        cur = cur.as_object_mut()?.get_mut(k)?;
    }
    Some(cur)
}

fn remove_path(v: &mut Value, path: &[String]) {
    if let Some((last, parent)) = path.split_last() {
        if let Some(Value::Object(m)) = at_path(v, parent) {
            m.remove(last);
        }
    }
}

fn mutate(rng: &mut StdRng, base: &Value, numbers: &[String]) -> Vec<u8> {
    let mut v = base.clone();
    let ps = paths(&v);
    match rng.gen_range(0..10) {
        0 => {
            for _ in 0..rng.gen_range(1..4) {
                let p = ps.choose(rng).unwrap();
                remove_path(&mut v, p);
            }
            serde_json::to_vec(&v).unwrap()
        }
        1 | 2 => {
            let p = ps.choose(rng).unwrap();
            if let Some(slot) = at_path(&mut v, p) {
                *slot = random_value(rng, 0);
            }
            serde_json::to_vec(&v).unwrap()
        }
        3 => {
            let s = serde_json::to_vec(&v).unwrap();
            s[..rng.gen_range(0..s.len())].to_vec()
        }
        4 => {
            let mut s = serde_json::to_vec(&v).unwrap();
            for _ in 0..rng.gen_range(1..5) {
                let i = rng.gen_range(0..s.len());
                s[i] = rng.gen_range(0x80..=0xff);
            }
            s
        }
        5 => (0..rng.gen_range(0..3000)).map(|_| rng.gen()).collect(),
        6 => {
            let n = rng.gen_range(1..20_000);
            let (o, c) = if rng.gen() {
                ("[", "]")
            } else {
                ("{\"a\":", "}")
            };
            let mut s = o.repeat(n);
            if rng.gen() {
                s.push_str(&c.repeat(n));
            }
            s.into_bytes()
        }
        7 => {
            // Plausible but different events: numbers we track, random statuses and times.
            v["trackingNumber"] = Value::from(numbers.choose(rng).unwrap().clone());
            let (t, c) = *[
                ("M", "MP"),
                ("I", "OR"),
                ("I", "DP"),
                ("I", "OT"),
                ("X", "X1"),
                ("D", "FS"),
                ("U", "UD"),
                ("MV", "MV"),
                ("RS", "RS"),
            ]
            .choose(rng)
            .unwrap();
            v["activityStatus"]["type"] = Value::from(t);
            v["activityStatus"]["code"] = Value::from(c);
            let when = start() + Duration::minutes(rng.gen_range(0..10_000));
            v["gmtActivityDate"] = Value::from(when.format("%Y%m%d").to_string());
            v["gmtActivityTime"] = Value::from(when.format("%H%M%S").to_string());
            v["gmtOffset"] = Value::from(
                ["-04.00", "-05:00", "+01.00", "garbage", ""]
                    .choose(rng)
                    .copied()
                    .unwrap(),
            );
            serde_json::to_vec(&v).unwrap()
        }
        8 => {
            let mut s = serde_json::to_vec(&v).unwrap();
            let i = rng.gen_range(0..s.len());
            let junk: &[u8] = [
                &b"\"\\u0000\""[..],
                b"\\ud800",
                b",,",
                b"}",
                b"NaN",
                b"1e99999",
            ]
            .choose(rng)
            .unwrap();
            s.splice(i..i, junk.iter().copied());
            s
        }
        _ => {
            let once = mutate(rng, base, numbers);
            match serde_json::from_slice::<Value>(&once) {
                Ok(v2) => mutate(rng, &v2, numbers),
                Err(_) => once,
            }
        }
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn ten_thousand_random_and_mutated_bodies_never_crash_the_receiver(store_url) {
        let e = env(store_url);
        let numbers: Vec<String> = (0..5).map(|i| one_z("03", 70 + i)).collect();
        for (i, tn) in numbers.iter().enumerate() {
            let job = tracking_job(&e.ledger, &format!("F{i}"), &[tn], start());
            e.tracker.register_job(&job).unwrap();
        }
        let base: Value = serde_json::from_str(EXAMPLE).unwrap();
        let mut rng = StdRng::seed_from_u64(0x0f22);
        let (mut ok, mut bad, mut large) = (0u64, 0u64, 0u64);
        for i in 0..10_000 {
            let body = mutate(&mut rng, &base, &numbers);
            let status = send(&e.app, post(body, Some(SECRET))).await;
            match status {
                StatusCode::OK => ok += 1,
                StatusCode::BAD_REQUEST => bad += 1,
                StatusCode::PAYLOAD_TOO_LARGE => large += 1,
                other => panic!("payload {i}: unexpected status {other}"),
            }
            if i % 1000 == 999 {
                // The worker copes with whatever was accepted.
                e.tracker.drain_inbox().unwrap();
            }
        }
        e.tracker.tick().await.unwrap();
        let st = e.tracker.stats().snapshot();
        println!(
            "fuzz: 10000 bodies → {ok} stored (200), {bad} refused (400), {large} too large (413)"
        );
        assert_eq!(st.events_received, ok);
        assert_eq!(st.events_rejected, bad + large);
        assert!(
            ok > 500 && bad > 3000 && large > 50,
            "the mix must exercise every path"
        );
        assert_eq!(
            events_stored(&e.store),
            0,
            "every stored event was processed"
        );
    }
}

// ---------- duplicates and reordering ----------

fn steps(t0: DateTime<Utc>) -> Vec<Step> {
    let s = |h: i64, t, c, d, city| Step {
        at: t0 + Duration::hours(h),
        status_type: t,
        code: c,
        description: d,
        city,
    };
    vec![
        s(0, "M", "MP", "Shipper created a label", "Timonium, MD"),
        s(5, "I", "OR", "Origin Scan", "Baltimore, MD"),
        s(9, "I", "DP", "Departed from Facility", "Baltimore, MD"),
        s(30, "I", "AR", "Arrived at Facility", "Charlotte, NC"),
        s(31, "U", "UD", "Delivery date updated", "Charlotte, NC"),
        s(52, "I", "OT", "Out For Delivery Today", "Charlotte, NC"),
        s(57, "D", "FS", "DELIVERED", "Charlotte, NC"),
    ]
}

upsync::both_stores! {
    #[tokio::test]
    async fn duplicate_and_reordered_events_leave_the_erp_showing_the_latest_true_state(store_url) {
        let e = env(store_url);
        let t0 = start();
        let est = (t0 + Duration::hours(57)).date_naive();
        let mut rng = StdRng::seed_from_u64(77);
        for round in 0..20u32 {
            let tn = one_z("01", 900 + round);
            let record = format!("D{round:02}");
            let job = tracking_job(&e.ledger, &record, &[&tn], e.clock.now());
            e.tracker.register_job(&job).unwrap();
            let all = steps(t0);
            // Each event 1–3 times, in random order, with ticks at random points.
            let mut deliveries: Vec<&Step> = Vec::new();
            for s in &all {
                for _ in 0..rng.gen_range(1..=3) {
                    deliveries.push(s);
                }
            }
            deliveries.shuffle(&mut rng);
            let mut seen: Vec<&Step> = Vec::new();
            for s in deliveries {
                let body = alert_payload(&tn, s, Some(est)).to_string();
                assert_eq!(send(&e.app, post(body, Some(SECRET))).await, StatusCode::OK);
                seen.push(s);
                if rng.gen_bool(0.3) {
                    e.clock.advance(Duration::seconds(30));
                    e.tracker.tick().await.unwrap();
                    // The ERP shows the latest event known so far (by activity time).
                    let latest = seen
                        .iter()
                        .filter(|s| s.status_type != "U")
                        .max_by_key(|s| s.at)
                        .map(|s| s.milestone().label());
                    if let Some(l) = latest {
                        assert_eq!(e.erp.field(&record, STATUS).unwrap(), l, "round {round}");
                    }
                }
            }
            e.clock.advance(Duration::seconds(30));
            e.tracker.tick().await.unwrap();
            assert_eq!(e.erp.field(&record, STATUS).unwrap(), "Delivered");
            let scan = e.erp.field(&record, LAST_SCAN).unwrap();
            assert!(scan.as_str().unwrap().contains("DELIVERED"), "{scan}");
            assert_eq!(e.erp.field(&record, RECEIVED_BY).unwrap(), "JOHN");
            assert_eq!(
                e.erp.field(&record, DELIVERED_AT).unwrap(),
                (t0 + Duration::hours(57)).to_rfc3339().as_str()
            );
            assert_eq!(
                e.erp.field(&record, ESTIMATED).unwrap(),
                est.to_string().as_str()
            );
            let job = e.ledger.current_for("erp", &record).unwrap().unwrap();
            assert_eq!(job.state, JobState::Delivered);

            // Late stragglers after delivery change nothing on the ERP.
            let writes_before = e.erp.writes.lock().unwrap().len();
            for s in &all[1..4] {
                let body = alert_payload(&tn, s, Some(est)).to_string();
                assert_eq!(send(&e.app, post(body, Some(SECRET))).await, StatusCode::OK);
            }
            e.tracker.tick().await.unwrap();
            assert_eq!(e.erp.writes.lock().unwrap().len(), writes_before);
            assert_eq!(e.erp.field(&record, STATUS).unwrap(), "Delivered");
        }
        let st = e.tracker.stats().snapshot();
        assert!(st.events_duplicate > 20);
        assert!(st.events_out_of_order > 0);
    }
}

// ---------- real socket ----------

upsync::both_stores! {
    #[tokio::test]
    async fn real_socket_v1_and_v2(store_url) {
        let e = env(store_url);
        let tn = "1Z204W4R0308071865";
        let job = tracking_job(&e.ledger, "S1", &[tn], start());
        e.tracker.register_job(&job).unwrap();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(
            axum::serve(listener, e.app.clone())
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .into_future(),
        );
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap();
        let url = format!("http://{addr}{TRACK_ALERT_PATH}");

        // v1: wrong then right credential.
        let r = client
            .post(&url)
            .header("credential", "wrong")
            .body(EXAMPLE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
        let r = client
            .post(&url)
            .header("credential", SECRET)
            .body(EXAMPLE)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);

        // v2: token with client_secret_basic, then bearer.
        let r = client
            .post(format!("http://{addr}{TOKEN_PATH}"))
            .basic_auth("ups-push", Some("v2-client-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let tok: Value = r.json().await.unwrap();
        let tok = tok["access_token"].as_str().unwrap().to_string();
        let mut dup: Value = serde_json::from_str(EXAMPLE).unwrap();
        dup["gmtActivityTime"] = Value::from("135005");
        let r = client
            .post(&url)
            .bearer_auth(&tok)
            .header("x-api-key", "ups-push")
            .json(&dup)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        let r = client
            .post(&url)
            .header("credential", SECRET)
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::BAD_REQUEST);

        stop_tx.send(()).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), server)
            .await
            .expect("server stops")
            .unwrap()
            .unwrap();

        e.tracker.tick().await.unwrap();
        let p = e.tracker.package(tn).unwrap().unwrap();
        assert_eq!(p.history.len(), 2);
        assert_eq!(e.erp.field("S1", STATUS).unwrap(), "Delivered");
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn events_before_registration_are_parked_then_applied(store_url) {
        let e = env(store_url);
        let early = one_z("03", 4242);
        let never = one_z("03", 4243);
        let t0 = start();
        let all = steps(t0);
        for tn in [&early, &never] {
            let body = alert_payload(tn, &all[2], None).to_string();
            assert_eq!(send(&e.app, post(body, Some(SECRET))).await, StatusCode::OK);
        }
        e.tracker.tick().await.unwrap();
        assert_eq!(e.tracker.stats().snapshot().events_unknown, 2);
        // The job shows up in the ledger after the events.
        e.clock.advance(Duration::minutes(5));
        tracking_job(&e.ledger, "EARLY", &[&early], e.clock.now());
        assert_eq!(e.tracker.scan_jobs().unwrap(), 1);
        e.tracker.tick().await.unwrap();
        assert_eq!(e.erp.field("EARLY", STATUS).unwrap(), "In Transit");
        let p = e.tracker.package(&early).unwrap().unwrap();
        assert_eq!(p.history.len(), 1);
        // The other one's job never comes: dropped after the parking period.
        let parked = |store: &Store| store.tree(Tree::Tracking).scan_prefix("u/").count();
        assert_eq!(parked(&e.store), 1);
        e.clock.advance(Duration::days(8));
        e.tracker.scan_jobs().unwrap();
        assert_eq!(parked(&e.store), 0);
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn the_run_loop_processes_the_inbox_asynchronously_and_stops(store_url) {
        let e = env(store_url);
        let tn = one_z("03", 5151);
        let job = tracking_job(&e.ledger, "RUN", &[&tn], start());
        e.tracker.register_job(&job).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let handle = tokio::spawn(e.tracker.clone().run(stop_rx));
        let body = alert_payload(&tn, &steps(start())[1], None).to_string();
        // 200 means stored; processing happens in the worker, woken by the webhook.
        assert_eq!(send(&e.app, post(body, Some(SECRET))).await, StatusCode::OK);
        let processed = async {
            loop {
                let p = e.tracker.package(&tn).unwrap().unwrap();
                if !p.history.is_empty() {
                    return p;
                }
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        let p = tokio::time::timeout(std::time::Duration::from_secs(10), processed)
            .await
            .expect("the worker drained the inbox");
        assert_eq!(p.milestone, upsync::model::Milestone::PickedUp);
        stop_tx.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(10), handle)
            .await
            .expect("run stops when told")
            .unwrap();
    }
}
