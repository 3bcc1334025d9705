//! Tracking scenarios (issue 18) over HTTP on loopback: each scenario is chosen through the
//! admin route or the in-process handle, the sim clock is driven across weeks, and Track
//! (`/api/track/v1/details/{n}`, reference and shipment routes) and Track Alert pushes must
//! tell the same story. Raw reqwest/serde_json only.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use upsync_sim::ups::{self, track, ScenarioKey, SimHandle, TrackScenario, UpsSimConfig};

type Events = Arc<Mutex<Vec<Value>>>;

/// A Track Alert v1 receiver on loopback: every pushed event, in arrival order.
async fn receiver() -> (String, Events) {
    let events: Events = Arc::default();
    let e = events.clone();
    let app = axum::Router::new().route(
        "/events",
        axum::routing::post(move |body: axum::Json<Value>| {
            let e = e.clone();
            async move {
                e.lock().unwrap().push(body.0);
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(l, app).await.unwrap();
    });
    (format!("http://{addr}/events"), events)
}

struct Sim {
    h: SimHandle,
    c: Client,
    tok: String,
    hook: String,
    events: Events,
}

async fn start_with(cfg: UpsSimConfig) -> Sim {
    let h = ups::spawn(UpsSimConfig {
        tick_interval_ms: 0,
        token_ttl_seconds: 120 * 86_400,
        serial_start: Some(1_234_500),
        ..cfg
    })
    .await
    .expect("simulator starts");
    let c = Client::new();
    let v: Value = c
        .post(format!("{}/security/v1/oauth/token", h.base_url))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tok = v["access_token"].as_str().unwrap().to_string();
    let (hook, events) = receiver().await;
    Sim {
        h,
        c,
        tok,
        hook,
        events,
    }
}

async fn start() -> Sim {
    start_with(UpsSimConfig::default()).await
}

impl Sim {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .c
            .get(format!("{}{path}", self.h.base_url))
            .bearer_auth(&self.tok)
            .header("transId", "t-1")
            .header("transactionSrc", "sim-tests")
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, String) {
        let r = self
            .c
            .post(format!("{}{path}", self.h.base_url))
            .bearer_auth(&self.tok)
            .header("transId", "t-1")
            .header("transactionSrc", "sim-tests")
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Ship the minimal request with package reference `reference`; returns the 1Z.
    async fn ship(&self, reference: &str) -> String {
        let mut b: Value = serde_json::from_str(include_str!(
            "../src/ups/testdata/ship-request-minimal.json"
        ))
        .unwrap();
        b["ShipmentRequest"]["Shipment"]["Package"][0]["ReferenceNumber"][0]["Value"] =
            json!(reference);
        let (s, text) = self.post("/api/shipments/v2409/ship", &b).await;
        assert_eq!(s, StatusCode::OK, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Subscribe (v1 standard, all events) or renew.
    async fn subscribe(&self, tn: &str) {
        let body = json!({"locale": "en_US", "trackingNumberList": [tn],
            "destination": {"url": self.hook, "credentialType": "Bearer", "credential": "c"}});
        let (s, text) = self
            .post("/api/track/v1/subscription/standard/package", &body)
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
    }

    async fn scenario(&self, body: Value) -> (StatusCode, String) {
        let r = self
            .c
            .post(format!("{}/_sim/ups/track-scenarios", self.h.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn track(&self, tn: &str) -> Value {
        let (s, v) = self
            .get(&format!(
                "/api/track/v1/details/{tn}?returnSignature=true&returnMilestones=true"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    fn pushed(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }
}

/// `type/code/statusCode` of a Track status or a Track Alert `activityStatus`.
fn key(s: &Value) -> String {
    let code3 = s
        .get("statusCode")
        .or_else(|| s.get("descriptionCode"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!(
        "{}/{}/{}",
        s["type"].as_str().unwrap_or("?"),
        s["code"].as_str().unwrap_or("?"),
        code3
    )
}

/// What was seen while driving the clock.
#[derive(Debug, Default)]
struct Seen {
    /// Distinct successive `currentStatus` values.
    current: Vec<String>,
    /// Distinct successive `deliveryDate[0]` as `TYPE date`.
    dates: Vec<String>,
    /// Distinct successive `accessPointInformation.pickupByDate` (or "-").
    pickup_by: Vec<String>,
    /// The last Track package.
    last: Value,
}

fn push_new(v: &mut Vec<String>, s: String) {
    if v.last() != Some(&s) {
        v.push(s);
    }
}

/// Drive the clock `days` days in 3-hour steps (ticks push Track Alert events), renewing
/// the subscription weekly, and watch Track.
async fn drive(sim: &Sim, tn: &str, days: i64) -> Seen {
    let mut seen = Seen::default();
    for step in 1..=days * 8 {
        sim.h.advance(Duration::hours(3)).await;
        if step % (7 * 8) == 0 {
            sim.subscribe(tn).await;
        }
        let v = sim.track(tn).await;
        let p = v["trackResponse"]["shipment"][0]["package"][0].clone();
        push_new(&mut seen.current, key(&p["currentStatus"]));
        if let Some(d) = p["deliveryDate"].get(0) {
            push_new(
                &mut seen.dates,
                format!(
                    "{} {}",
                    d["type"].as_str().unwrap(),
                    d["date"].as_str().unwrap()
                ),
            );
        }
        push_new(
            &mut seen.pickup_by,
            p["accessPointInformation"]["pickupByDate"]
                .as_str()
                .unwrap_or("-")
                .to_string(),
        );
        seen.last = p;
    }
    seen
}

/// The activity sequence of a Track package, oldest first.
fn activities(p: &Value) -> Vec<String> {
    let mut v: Vec<String> = p["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| key(&a["status"]))
        .collect();
    v.reverse();
    v
}

fn pushed_keys(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| key(&e["activityStatus"])).collect()
}

const M: &str = "M/MP/003";
const OR: &str = "I/OR/005";
const DP: &str = "I/DP/005";
const AR: &str = "I/AR/005";
const OT: &str = "I/OT/021";
const ATTEMPT: &str = "X/UD/048";
const FS: &str = "D/FS/011";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Ship one package under `scenario` (registered by reference BEFORE shipping when
/// `by_reference`, else by tracking number after shipping), subscribe, drive 30 days.
async fn run(scenario: &str, by_reference: bool) -> (Sim, String, Seen, Vec<Value>) {
    let sim = start().await;
    let reference = format!("SC-{scenario}");
    if by_reference {
        let (s, t) = sim
            .scenario(json!({"reference": reference, "scenario": scenario}))
            .await;
        assert_eq!(s, StatusCode::OK, "{t}");
    }
    let tn = sim.ship(&reference).await;
    if !by_reference {
        let (s, t) = sim
            .scenario(json!({"tracking_number": tn, "scenario": scenario}))
            .await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(v["tracking_numbers"], json!([tn]));
    }
    sim.subscribe(&tn).await;
    let seen = drive(&sim, &tn, 30).await;
    let pushed = sim.pushed();
    assert!(
        pushed.iter().all(|e| e["trackingNumber"] == tn.as_str()),
        "{pushed:?}"
    );
    (sim, tn, seen, pushed)
}

/// Pushes = the Track activities after subscribing (the label was created before), with a
/// `U` after each activity that moved the date.
fn expected_pushes(track: &[&str], u_after: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut moved = u_after.iter().peekable();
    for a in &track[1..] {
        out.push(a.to_string());
        if moved.peek() == Some(&a) {
            moved.next();
            out.push(format!("U/{}", a.split_once('/').unwrap().1));
        }
    }
    assert!(moved.next().is_none(), "every U is placed");
    out
}

#[tokio::test]
async fn delivered_never_attempts() {
    let (_sim, _tn, seen, pushed) = run("delivered", true).await;
    let expected = [M, OR, DP, AR, OT, FS];
    assert_eq!(activities(&seen.last), strs(&expected));
    assert_eq!(seen.current.last().map(String::as_str), Some(FS));
    assert_eq!(pushed_keys(&pushed), expected_pushes(&expected, &[]));
    assert!(seen.dates.first().unwrap().starts_with("SDD "));
    assert!(seen.dates.last().unwrap().starts_with("DEL "));
    assert_eq!(seen.dates.len(), 2, "{:?}", seen.dates);
    assert!(seen.last["deliveryInformation"]["receivedBy"].is_string());
    assert!(seen.last["deliveryInformation"]["signature"]["image"].is_string());
}

#[tokio::test]
async fn attempt_then_delivered_reschedules() {
    let (_sim, _tn, seen, pushed) = run("attempt_then_delivered", false).await;
    let expected = [M, OR, DP, AR, OT, ATTEMPT, OT, FS];
    assert_eq!(activities(&seen.last), strs(&expected));
    assert_eq!(pushed_keys(&pushed), expected_pushes(&expected, &[ATTEMPT]));
    // SDD → RDD (the next business day) → DEL on that day
    assert_eq!(seen.dates.len(), 3, "{:?}", seen.dates);
    let (sdd, rdd, del) = (&seen.dates[0], &seen.dates[1], &seen.dates[2]);
    assert!(sdd.starts_with("SDD ") && rdd.starts_with("RDD ") && del.starts_with("DEL "));
    assert!(rdd[4..] > sdd[4..]);
    assert_eq!(rdd[4..], del[4..]);
    let attempt = pushed
        .iter()
        .find(|e| e["activityStatus"]["type"] == "X")
        .unwrap();
    assert_eq!(
        attempt["activityStatus"]["description"],
        "The receiver was not available for delivery. We'll make a second attempt the next business day."
    );
    let u = pushed
        .iter()
        .find(|e| e["activityStatus"]["type"] == "U")
        .unwrap();
    assert_eq!(u["scheduledDeliveryDate"], rdd[4..]);
    assert_eq!(u["activityStatus"]["descriptionCode"], "048");
    // events before the U still carry the original date
    assert_eq!(pushed[0]["scheduledDeliveryDate"], sdd[4..]);
    assert_eq!(pushed.last().unwrap()["scheduledDeliveryDate"], rdd[4..]);
    assert_eq!(pushed.last().unwrap()["actualDeliveryDate"], del[4..]);
}

#[tokio::test]
async fn normal_follows_the_hash() {
    let (_sim, tn, seen, pushed) = run("normal", true).await;
    let expected: &[&str] = if track::fnv(&tn).is_multiple_of(10) {
        &[M, OR, DP, AR, OT, ATTEMPT, OT, FS]
    } else {
        &[M, OR, DP, AR, OT, FS]
    };
    let u: &[&str] = if expected.len() == 8 { &[ATTEMPT] } else { &[] };
    assert_eq!(activities(&seen.last), strs(expected));
    assert_eq!(pushed_keys(&pushed), expected_pushes(expected, u));
}

#[tokio::test]
async fn access_point_waits_then_is_picked_up() {
    let (sim, tn, seen, pushed) = run("access_point", true).await;
    let kb = track::access_point_variant(&tn);
    let kb = format!("{}/KB/040", kb.typ);
    let expected = [M, OR, DP, AR, OT, kb.as_str(), "D/KM/011"];
    assert_eq!(activities(&seen.last), strs(&expected));
    assert_eq!(pushed_keys(&pushed), expected_pushes(&expected, &[]));
    // pickupByDate only while waiting
    assert_eq!(seen.pickup_by.len(), 3, "{:?}", seen.pickup_by);
    assert_eq!(seen.pickup_by[0], "-");
    assert_eq!(seen.pickup_by[2], "-");
    assert_eq!(seen.pickup_by[1].len(), 8);
    let p = &seen.last;
    assert_eq!(
        p["activity"][1]["status"]["description"],
        "Delivered to UPS Access Point™. Awaiting customer pickup."
    );
    assert_eq!(
        p["currentStatus"]["description"],
        "Picked up by the customer at the UPS Access Point™"
    );
    assert_eq!(p["deliveryInformation"]["receivedBy"], "SUPPLY");
    assert_eq!(p["deliveryInformation"]["location"], "UPS Access Point™");
    assert_eq!(p["deliveryDate"][0]["type"], "DEL");
    // the pickup event of an enhanced subscriber would carry receivedBy; the standard one not
    assert!(pushed.last().unwrap().get("receivedBy").is_none());
    drop(sim);
}

/// While waiting at the Access Point: no consignee delivery information yet, whichever
/// variant; both variants occur among a few dozen numbers (one reference, registered
/// before the shipments exist, applies to all of them).
#[tokio::test]
async fn access_point_variants_both_occur() {
    let sim = start().await;
    sim.h.set_track_scenario(
        ScenarioKey::Reference("AP-BATCH".into()),
        TrackScenario::AccessPoint,
    );
    let mut numbers = Vec::new();
    for _ in 0..24 {
        numbers.push(sim.ship("AP-BATCH").await);
    }
    // a week: everyone is at the Access Point (Ground here ≤ 5 business days), nobody picked
    // up yet? Drive day by day and look at each package while it waits.
    let mut variants = std::collections::BTreeMap::new();
    for _ in 0..30 {
        sim.h.advance(Duration::hours(6)).await;
        for tn in &numbers {
            let v = sim.track(tn).await;
            let p = &v["trackResponse"]["shipment"][0]["package"][0];
            if p["currentStatus"]["code"] == "KB" {
                let typ = p["currentStatus"]["type"].as_str().unwrap().to_string();
                assert!(p["accessPointInformation"]["pickupByDate"].is_string());
                assert!(
                    p.get("deliveryInformation").is_none(),
                    "not delivered to the consignee yet: {p}"
                );
                if typ == "D" {
                    assert_eq!(p["deliveryDate"][0]["type"], "DEL");
                } else {
                    assert_eq!(p["deliveryDate"][0]["type"], "SDD");
                }
                variants.insert(tn.clone(), typ);
            }
        }
    }
    assert_eq!(variants.len(), numbers.len(), "every package waited");
    let d = variants.values().filter(|t| *t == "D").count();
    let i = variants.values().filter(|t| *t == "I").count();
    assert!(d > 0 && i > 0, "both variants: D {d}, I {i}");
    assert_eq!(d + i, numbers.len());
}

#[tokio::test]
async fn exception_then_delivered_moves_the_date() {
    let (_sim, _tn, seen, pushed) = run("exception_then_delivered", true).await;
    let ad = "X/AD/029";
    let expected = [M, OR, DP, AR, ad, AR, OT, FS];
    assert_eq!(activities(&seen.last), strs(&expected));
    assert_eq!(pushed_keys(&pushed), expected_pushes(&expected, &[ad]));
    let acts = seen.last["activity"].as_array().unwrap();
    assert_eq!(
        acts[3]["status"]["description"],
        "The address is incomplete. We're attempting to obtain the correct address."
    );
    assert_eq!(
        acts[2]["status"]["description"],
        "Address information updated"
    );
    assert_eq!(seen.dates.len(), 3, "{:?}", seen.dates);
    assert!(seen.dates[1].starts_with("RDD "));
    assert!(seen.dates[1][4..] > seen.dates[0][4..]);
}

#[tokio::test]
async fn returned_to_sender_ends_at_the_origin() {
    let (_sim, _tn, seen, pushed) = run("returned_to_sender", false).await;
    let rt = "X/RT/035";
    let rs = "RS/RS/034";
    let expected = [M, OR, DP, AR, OT, ATTEMPT, OT, ATTEMPT, rt, DP, AR, rs];
    assert_eq!(activities(&seen.last), strs(&expected));
    // Track Alert has no type `RS`: the return is pushed as a delivery to the shipper.
    let pushed_rs: Vec<String> = expected_pushes(&expected, &[ATTEMPT])
        .into_iter()
        .map(|k| k.replace("RS/RS/034", "D/RS/034"))
        .collect();
    assert_eq!(pushed_keys(&pushed), pushed_rs);
    let p = &seen.last;
    assert_eq!(p["currentStatus"]["description"], "Returned to shipper");
    assert_eq!(
        p["activity"][3]["status"]["description"],
        "Returning to sender: the receiver was not available after the final attempt"
    );
    assert_eq!(p["activity"][0]["location"]["address"]["city"], "TIMONIUM");
    assert_eq!(
        p["activity"][0]["location"]["address"]["postalCode"],
        "21093"
    );
    assert!(p.get("deliveryInformation").is_none());
    assert!(!seen.dates.iter().any(|d| d.starts_with("DEL")));
    assert_eq!(
        seen.current.last().map(String::as_str),
        Some(rs),
        "terminal"
    );
}

#[tokio::test]
async fn never_scanned_stays_label_created() {
    let (_sim, _tn, seen, pushed) = run("never_scanned", true).await;
    assert_eq!(activities(&seen.last), strs(&[M]));
    assert_eq!(seen.current, strs(&[M]));
    assert!(pushed.is_empty(), "{pushed:?}");
    assert!(seen.dates.iter().all(|d| d.starts_with("SDD")));
}

#[tokio::test]
async fn stalled_stops_at_a_hub() {
    let (_sim, _tn, seen, pushed) = run("stalled", false).await;
    let expected = [M, OR, DP, AR];
    assert_eq!(activities(&seen.last), strs(&expected));
    assert_eq!(seen.current, strs(&expected), "nothing after the hub");
    assert_eq!(pushed_keys(&pushed), expected_pushes(&expected, &[]));
    assert_eq!(
        seen.last["activity"][0]["location"]["address"]["city"],
        "LOUISVILLE"
    );
}

#[tokio::test]
async fn unknown_is_not_found_everywhere() {
    let (sim, tn, seen, pushed) = {
        let sim = start().await;
        let tn = sim.ship("SC-unknown").await;
        sim.h.set_track_scenario(
            ScenarioKey::TrackingNumber(tn.to_ascii_lowercase()),
            TrackScenario::Unknown,
        );
        sim.subscribe(&tn).await;
        let mut answers = Vec::new();
        for _ in 0..30 {
            sim.h.advance(Duration::days(1)).await;
            answers.push(sim.track(&tn).await);
        }
        let pushed = sim.pushed();
        (sim, tn, answers, pushed)
    };
    for v in &seen {
        let s = &v["trackResponse"]["shipment"][0];
        assert_eq!(s["warnings"][0]["code"], "TW0001", "{v}");
        assert_eq!(
            s["warnings"][0]["message"],
            "Tracking Information Not Found"
        );
        assert!(s.get("package").is_none());
    }
    assert!(pushed.is_empty(), "{pushed:?}");
    for path in [
        format!("/api/track/v1/shipment/details/{tn}"),
        "/api/track/v1/reference/details/SC-unknown?fromPickUpDate=20000101&toPickUpDate=20991231"
            .to_string(),
    ] {
        let (s, v) = sim.get(&path).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["trackResponse"]["shipment"][0]["warnings"][0]["code"], "TW0001",
            "{path}: {v}"
        );
    }
    // with --track-not-found-404: 404
    let sim404 = start_with(UpsSimConfig {
        track_not_found_404: true,
        ..UpsSimConfig::default()
    })
    .await;
    let tn = sim404.ship("SC-unknown").await;
    let (s, _) = sim404.get(&format!("/api/track/v1/details/{tn}")).await;
    assert_eq!(s, StatusCode::OK, "known before the scenario");
    sim404.h.set_track_scenario(
        ScenarioKey::Reference("SC-unknown".into()),
        TrackScenario::Unknown,
    );
    let (s, v) = sim404.get(&format!("/api/track/v1/details/{tn}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["response"]["errors"][0]["code"], "TW0001");
}

#[tokio::test]
async fn scenarios_show_on_the_reference_and_shipment_routes() {
    let sim = start().await;
    let tn = sim.ship("SC-ROUTES").await;
    sim.h.set_track_scenario(
        ScenarioKey::Reference("SC-ROUTES".into()),
        TrackScenario::Stalled,
    );
    sim.h.advance(Duration::days(30)).await;
    for path in [
        format!("/api/track/v1/details/{tn}"),
        format!("/api/track/v1/shipment/details/{tn}"),
        "/api/track/v1/reference/details/SC-ROUTES?fromPickUpDate=20000101&toPickUpDate=20991231"
            .to_string(),
    ] {
        let (s, v) = sim.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        let p = &v["trackResponse"]["shipment"][0]["package"][0];
        assert_eq!(activities(p), strs(&[M, OR, DP, AR]), "{path}");
    }
}

#[tokio::test]
async fn tracking_number_beats_reference_and_later_reference_wins() {
    let sim = start().await;
    let a = sim.ship("SHARED").await;
    let b = sim.ship("SHARED").await;
    sim.h.set_track_scenario(
        ScenarioKey::Reference("SHARED".into()),
        TrackScenario::NeverScanned,
    );
    sim.h.set_track_scenario(
        ScenarioKey::TrackingNumber(a.clone()),
        TrackScenario::Delivered,
    );
    sim.h.advance(Duration::days(20)).await;
    let cur = |v: Value| key(&v["trackResponse"]["shipment"][0]["package"][0]["currentStatus"]);
    assert_eq!(cur(sim.track(&a).await), FS);
    assert_eq!(cur(sim.track(&b).await), M);
    // re-registering the reference does not override the tracking number's entry
    sim.h.set_track_scenario(
        ScenarioKey::Reference("SHARED".into()),
        TrackScenario::Stalled,
    );
    assert_eq!(cur(sim.track(&a).await), FS);
    assert_eq!(cur(sim.track(&b).await), AR);
}

#[tokio::test]
async fn admin_route_validates_and_lists() {
    let sim = start().await;
    let tn = sim.ship("PO-ADMIN").await;
    for (body, needle) in [
        (
            json!({"reference": "PO-ADMIN", "scenario": "teleported"}),
            "unknown track scenario 'teleported'",
        ),
        (json!({"reference": "PO-ADMIN"}), "\"scenario\""),
        (json!({"scenario": "stalled"}), "exactly one"),
        (
            json!({"reference": "PO-ADMIN", "tracking_number": tn, "scenario": "stalled"}),
            "exactly one",
        ),
        (
            json!({"reference": "  ", "scenario": "stalled"}),
            "exactly one",
        ),
        (
            json!({"reference": 7, "scenario": "stalled"}),
            "exactly one",
        ),
    ] {
        let (s, text) = sim.scenario(body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {text}");
        assert!(text.contains(needle), "{body}: {text}");
    }
    let list = |sim: &Sim| {
        let url = format!("{}/_sim/ups/track-scenarios", sim.h.base_url);
        let c = sim.c.clone();
        async move {
            c.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        list(&sim).await,
        json!([]),
        "nothing registered by bad calls"
    );
    let (s, text) = sim
        .scenario(json!({"reference": "PO-ADMIN", "scenario": "Access_Point"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        json!({"reference": "PO-ADMIN", "scenario": "access_point", "tracking_numbers": [tn]})
    );
    let (s, _) = sim
        .scenario(json!({"tracking_number": "1zfuture0000000000", "scenario": "unknown"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list(&sim).await,
        json!([
            {"reference": "PO-ADMIN", "scenario": "access_point"},
            {"tracking_number": "1ZFUTURE0000000000", "scenario": "unknown"},
        ])
    );
    let dump = sim.h.shipments();
    assert_eq!(dump[0]["packages"][0]["scenario"], "access_point");
}

#[test]
fn scenario_names_round_trip() {
    for s in TrackScenario::ALL {
        assert_eq!(s.as_str().parse::<TrackScenario>(), Ok(s));
        assert_eq!(s.to_string(), s.as_str());
    }
    assert_eq!(TrackScenario::default(), TrackScenario::Normal);
    let e = "nope".parse::<TrackScenario>().unwrap_err();
    assert!(e.to_string().contains("returned_to_sender"));
}
