//! Track Alert mode end to end on a simulated clock (issue 8, must-show 1): parcels progress
//! at a fake UPS, which pushes webhook events only while a subscription is live; the
//! tracker subscribes, backfills, renews before the 14 days run out, stops renewing at
//! delivery, and writes every transition to a fake ERP. 20 simulated days, no sleeping.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tower::ServiceExt;
use zeroize::Zeroizing;

use crate::tracking_support::*;
use upsync::model::Milestone;
use upsync::pipeline::{JobState, Ledger};
use upsync::store::Store;
use upsync::tracking::*;

const TICK_MINUTES: i64 = 10;

fn step(
    at: DateTime<Utc>,
    t: &'static str,
    c: &'static str,
    d: &'static str,
    city: &'static str,
) -> Step {
    Step {
        at,
        status_type: t,
        code: c,
        description: d,
        city,
    }
}

/// A parcel created at `created`, of a kind chosen by `kind` (0..10).
fn parcel(rng: &mut StdRng, tn: String, created: DateTime<Utc>, kind: u32) -> Parcel {
    let mut steps = vec![step(
        created,
        "M",
        "MP",
        "Shipper created a label",
        "Timonium, MD",
    )];
    let pickup = created + Duration::hours(rng.gen_range(3..8));
    steps.push(step(pickup, "I", "OR", "Origin Scan", "Baltimore, MD"));
    steps.push(step(
        pickup + Duration::hours(4),
        "I",
        "DP",
        "Departed from Facility",
        "Baltimore, MD",
    ));
    let transit_days: i64 = match kind {
        0..=5 => rng.gen_range(1..=5),
        6..=7 => rng.gen_range(13..=18),
        8 => 40, // not delivered within the 20 days
        _ => 6,  // returned
    };
    // Delivery day at 13:00 UTC (08:00 local), out for delivery 5 h before.
    let day0 = (pickup + Duration::days(transit_days)).date_naive();
    let ofd = day0.and_hms_opt(13, 0, 0).unwrap().and_utc() - Duration::hours(5);
    let mut t = pickup + Duration::hours(4);
    let mut n = 0;
    loop {
        t += Duration::hours(rng.gen_range(20..44));
        if t >= ofd - Duration::hours(2) || t > created + Duration::days(25) {
            break;
        }
        n += 1;
        if kind >= 6 && n == 3 {
            steps.push(step(t, "X", "X1", "Weather delay", "Louisville, KY"));
            t += Duration::hours(6);
        }
        steps.push(step(t, "I", "AR", "Arrived at Facility", "Louisville, KY"));
    }
    let estimated = (kind < 8).then_some(day0);
    match kind {
        8 => {}
        9 => {
            steps.push(step(
                t + Duration::hours(3),
                "X",
                "X2",
                "Receiver refused",
                "Charlotte, NC",
            ));
            steps.push(step(
                t + Duration::hours(30),
                "RS",
                "RS",
                "Returned to shipper",
                "Charlotte, NC",
            ));
        }
        _ => {
            steps.push(step(
                ofd,
                "I",
                "OT",
                "Out For Delivery Today",
                "Charlotte, NC",
            ));
            steps.push(step(
                ofd + Duration::hours(5),
                "D",
                "FS",
                "DELIVERED",
                "Charlotte, NC",
            ));
        }
    }
    Parcel {
        tracking_number: tn,
        created,
        steps,
        estimated,
    }
}

struct Pusher {
    version: AlertVersion,
    token: Option<(String, DateTime<Utc>)>,
}

impl Pusher {
    /// Deliver one webhook body as UPS would (v1 credential header, or v2 bearer token
    /// fetched from upsync's token endpoint and refreshed when it expires).
    async fn push(&mut self, app: &axum::Router, now: DateTime<Utc>, body: String) -> StatusCode {
        let mut req = Request::post(TRACK_ALERT_PATH)
            .header("content-type", "application/json")
            .header("user-agent", "UPSPubSubTrackingService");
        match self.version {
            AlertVersion::V1 => req = req.header("credential", "v1-shared-secret"),
            AlertVersion::V2 => {
                if self
                    .token
                    .as_ref()
                    .is_none_or(|(_, exp)| *exp <= now + Duration::minutes(1))
                {
                    let basic = base64::engine::general_purpose::STANDARD
                        .encode("ups-push:v2-client-secret");
                    let r = app
                        .clone()
                        .oneshot(
                            Request::post(TOKEN_PATH)
                                .header("authorization", format!("Basic {basic}"))
                                .header("content-type", "application/x-www-form-urlencoded")
                                .body(Body::from("grant_type=client_credentials"))
                                .unwrap(),
                        )
                        .await
                        .unwrap();
                    assert_eq!(r.status(), StatusCode::OK);
                    let b = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
                    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                    let ttl = v["expires_in"].as_i64().unwrap();
                    self.token = Some((
                        v["access_token"].as_str().unwrap().to_string(),
                        now + Duration::seconds(ttl),
                    ));
                }
                let tok = &self.token.as_ref().unwrap().0;
                req = req
                    .header("authorization", format!("Bearer {tok}"))
                    .header("x-api-key", "ups-push");
            }
        }
        app.clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap()
            .status()
    }
}

fn settings(version: AlertVersion) -> TrackingSettings {
    TrackingSettings {
        mode: TrackingMode::TrackAlert,
        alert_version: version,
        destination: (version == AlertVersion::V1).then(|| Destination {
            url: "https://upsync.example.test/webhooks/ups/track-alert".into(),
            credential_type: "Bearer".into(),
            credential: Zeroizing::new("v1-shared-secret".into()),
        }),
        erp_writes_per_minute: 30,
        erp_write_burst: 10,
        ..TrackingSettings::default()
    }
}

fn auth() -> WebhookAuth {
    WebhookAuth {
        v1_credential: Some(Zeroizing::new("v1-shared-secret".into())),
        v2_client: Some(OAuthClient {
            client_id: "ups-push".into(),
            client_secret: Zeroizing::new("v2-client-secret".into()),
            token_ttl_seconds: 6 * 3600,
        }),
    }
}

fn build(
    store: &Arc<Store>,
    ups: &Arc<FakeUps>,
    erp: &Arc<FakeErp>,
    clock: &TestClock,
    s: TrackingSettings,
) -> (Arc<Tracker>, axum::Router) {
    let tracker = Tracker::new(store.clone(), ups.clone(), s, clock.clock())
        .unwrap()
        .with_erp("erp", erp.clone(), Arc::new(FakeMapper));
    let app = router(tracker.webhook_state(auth()));
    (Arc::new(tracker), app)
}

fn progress(label: &str) -> u8 {
    match label {
        "Label Created" => 0,
        "Picked Up" => 1,
        "In Transit" => 2,
        "Exception" => 3,
        "Out for Delivery" => 4,
        _ => 5,
    }
}

async fn twenty_days(version: AlertVersion, store_url: Option<String>) {
    let clock = TestClock::new(start());
    let (_dir, store) = open_store_on(store_url);
    let ledger = Ledger::new(store.clone());
    let ups = FakeUps::new(clock.clone());
    let erp = FakeErp::new(clock.clone());
    let (mut tracker, mut app) = build(&store, &ups, &erp, &clock, settings(version));
    let mut rng = StdRng::seed_from_u64(8);

    // 50 single-package jobs, 4 two-package jobs, 2 jobs voided after a day.
    struct Planned {
        record: String,
        numbers: Vec<String>,
        created: DateTime<Utc>,
        void_at: Option<DateTime<Utc>>,
    }
    let mut planned = Vec::new();
    let mut serial = 0;
    for j in 0..56u32 {
        let created = start() + Duration::minutes(rng.gen_range(0..3 * 24 * 60));
        let npk = if (50..54).contains(&j) { 2 } else { 1 };
        let mut numbers = Vec::new();
        for _ in 0..npk {
            serial += 1;
            let tn = one_z("03", serial);
            let kind = if j >= 50 { 0 } else { j % 10 };
            let p = if j >= 54 {
                // voided: only the label.
                Parcel {
                    tracking_number: tn.clone(),
                    created,
                    steps: vec![step(
                        created,
                        "M",
                        "MP",
                        "Shipper created a label",
                        "Timonium, MD",
                    )],
                    estimated: None,
                }
            } else {
                parcel(&mut rng, tn.clone(), created, kind)
            };
            ups.add(p);
            numbers.push(tn);
        }
        planned.push(Planned {
            record: format!("R{j:03}"),
            numbers,
            created,
            void_at: (j >= 54).then(|| created + Duration::days(1)),
        });
    }

    let end = start() + Duration::days(20);
    let mut created = vec![false; planned.len()];
    let mut voided = vec![false; planned.len()];
    let mut pusher = Pusher {
        version,
        token: None,
    };
    let mut pushes = 0;
    let mut restarted = false;
    while clock.now() < end {
        clock.advance(Duration::minutes(TICK_MINUTES));
        let now = clock.now();
        for (i, p) in planned.iter().enumerate() {
            if !created[i] && p.created <= now {
                let nums: Vec<&str> = p.numbers.iter().map(String::as_str).collect();
                tracking_job(&ledger, &p.record, &nums, now);
                created[i] = true;
            }
            if let Some(v) = p.void_at {
                if !voided[i] && v <= now {
                    let mut job = ledger.current_for("erp", &p.record).unwrap().unwrap();
                    job.transition(JobState::Voided, "voided by user", now);
                    ledger.save(&job).unwrap();
                    voided[i] = true;
                }
            }
        }
        // Restart halfway: a new tracker and webhook over the same store carry on.
        if !restarted && now >= start() + Duration::days(10) {
            (tracker, app) = build(&store, &ups, &erp, &clock, settings(version));
            restarted = true;
        }
        tracker.scan_jobs().unwrap();
        for body in ups.due_pushes() {
            let status = pusher.push(&app, now, body.to_string()).await;
            assert_eq!(status, StatusCode::OK);
            pushes += 1;
        }
        tracker.tick().await.unwrap();
    }

    // ---- every undelivered package stayed subscribed; delivered ones were not renewed ----
    let calls = ups.subscribe_calls();
    assert!(calls.iter().all(|c| c.numbers.len() <= 100));
    for c in &calls {
        match version {
            AlertVersion::V1 => assert_eq!(
                c.destination_url.as_deref(),
                Some("https://upsync.example.test/webhooks/ups/track-alert")
            ),
            AlertVersion::V2 => assert_eq!(c.destination_url, None),
        }
    }
    let mut subs: BTreeMap<String, Vec<DateTime<Utc>>> = BTreeMap::new();
    for c in &calls {
        for n in &c.numbers {
            subs.entry(n.clone()).or_default().push(c.at);
        }
    }
    let parcels: BTreeMap<String, Parcel> = ups
        .parcels()
        .into_iter()
        .map(|p| (p.tracking_number.clone(), p))
        .collect();
    let voided_numbers: Vec<String> = planned
        .iter()
        .filter(|p| p.void_at.is_some())
        .flat_map(|p| p.numbers.clone())
        .collect();
    let mut renewals = 0;
    let mut long_lived = 0;
    for (tn, p) in &parcels {
        let times = subs
            .get(tn)
            .unwrap_or_else(|| panic!("{tn} never subscribed"));
        assert!(
            times[0] - p.created <= Duration::minutes(2 * TICK_MINUTES),
            "{tn} subscribed late"
        );
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= Duration::days(12) && gap < Duration::days(13),
                "{tn}: renewal after {gap} (must be on day 12–13)"
            );
            renewals += 1;
        }
        let stop = if voided_numbers.contains(tn) {
            planned
                .iter()
                .find(|x| x.numbers.contains(tn))
                .unwrap()
                .void_at
                .unwrap()
        } else {
            p.terminal_at().unwrap_or(end).min(end)
        };
        let last = *times.last().unwrap();
        assert!(
            last + Duration::days(14) > stop,
            "{tn}: subscription lapsed before {stop}"
        );
        if let Some(t) = p.terminal_at().filter(|t| *t <= end) {
            assert!(
                times.iter().all(|s| *s < t),
                "{tn}: renewed after it was terminal"
            );
        }
        if voided_numbers.contains(tn) {
            assert!(
                times
                    .iter()
                    .all(|s| *s < stop + Duration::minutes(TICK_MINUTES)),
                "{tn}: renewed after void"
            );
        }
        if stop - p.created > Duration::days(13) {
            long_lived += 1;
        }
    }
    assert!(
        ups.missed().is_empty(),
        "events happened with no live subscription: {:?}",
        ups.missed()
    );
    let stats = tracker.stats().snapshot();
    assert_eq!(stats.subscriptions_lapsed, 0);
    assert!(
        long_lived >= 5,
        "the scenario must exercise renewals ({long_lived})"
    );
    assert!(renewals >= long_lived);

    // ---- every transition reached the ERP record ----
    for p in planned
        .iter()
        .filter(|p| p.numbers.len() == 1 && p.void_at.is_none())
    {
        let parcel = &parcels[&p.numbers[0]];
        let mut expected: Vec<String> = Vec::new();
        for s in parcel.steps.iter().filter(|s| s.at <= end) {
            let l = s.milestone().label().to_string();
            if expected.last() != Some(&l) {
                expected.push(l);
            }
        }
        assert_eq!(
            erp.status_history(&p.record),
            expected,
            "record {}",
            p.record
        );
        let last = parcel.steps.iter().rfind(|s| s.at <= end).unwrap();
        let scan = erp.field(&p.record, LAST_SCAN).unwrap();
        assert!(scan.as_str().unwrap().contains(last.description), "{scan}");
        let job = ledger.current_for("erp", &p.record).unwrap().unwrap();
        match parcel.terminal_at().filter(|t| *t <= end) {
            Some(_) if last.milestone() == Milestone::Delivered => {
                assert_eq!(job.state, JobState::Delivered, "{}", p.record);
                assert_eq!(erp.field(&p.record, RECEIVED_BY).unwrap(), "JOHN");
                assert_eq!(
                    erp.field(&p.record, DELIVERED_AT).unwrap(),
                    last.at.to_rfc3339().as_str()
                );
            }
            Some(_) => assert_eq!(
                job.state,
                JobState::Delivered,
                "returned counts as finished"
            ),
            None => assert_eq!(job.state, JobState::Tracking, "{}", p.record),
        }
    }
    // Two-package jobs: the ERP status only moves forward and ends delivered.
    for p in planned.iter().filter(|p| p.numbers.len() == 2) {
        let h = erp.status_history(&p.record);
        assert!(
            h.windows(2).all(|w| progress(&w[0]) <= progress(&w[1])),
            "{h:?}"
        );
        assert_eq!(h.last().map(String::as_str), Some("Delivered"));
        let job = ledger.current_for("erp", &p.record).unwrap().unwrap();
        assert_eq!(job.state, JobState::Delivered);
    }
    // Voided jobs: tracking stopped, ERP told.
    for p in planned.iter().filter(|p| p.void_at.is_some()) {
        assert_eq!(erp.field(&p.record, STATUS).unwrap(), "Voided");
        let pk = tracker.package(&p.numbers[0]).unwrap().unwrap();
        assert!(pk.done);
    }
    // ERP write rate stayed bounded: burst + rate per minute in any minute.
    let max_per_minute = max_in_window(&erp.write_times(), Duration::seconds(60));
    assert!(
        max_per_minute <= 10 + 30,
        "{max_per_minute} ERP writes in one minute"
    );
    // No plan was written twice in a row for a record.
    let writes = erp.writes.lock().unwrap().clone();
    let mut last_plan: BTreeMap<String, upsync::model::WriteBack> = BTreeMap::new();
    for w in &writes {
        assert_ne!(
            last_plan.get(&w.plan.record_id),
            Some(&w.plan),
            "unchanged plan rewritten"
        );
        last_plan.insert(w.plan.record_id.clone(), w.plan.clone());
    }

    let track_calls = ups.track_calls().len();
    println!(
        "track alert {version:?}, 20 simulated days: {} packages, {pushes} events pushed, {} subscribe calls, {renewals} renewals, {} lapses, {track_calls} Track calls, {} ERP writes",
        parcels.len(),
        calls.len(),
        stats.subscriptions_lapsed,
        writes.len(),
    );
    println!(
        "  tracker counters since the restart on day 10: renewed {} lapsed {} quiet polls {} events {} duplicates {} writes {} jobs finished {}",
        stats.subscriptions_renewed,
        stats.subscriptions_lapsed,
        stats.polls_quiet_fallback,
        stats.events_received,
        stats.events_duplicate,
        stats.write_backs,
        stats.jobs_finished
    );
}

upsync::both_stores! {
    #[tokio::test]
    async fn twenty_days_v1_every_package_stays_subscribed_and_every_transition_reaches_the_erp(store_url) {
        twenty_days(AlertVersion::V1, store_url).await;
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn twenty_days_v2_every_package_stays_subscribed_and_every_transition_reaches_the_erp(store_url) {
        twenty_days(AlertVersion::V2, store_url).await;
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn lost_pushes_fall_back_to_a_poll_after_the_quiet_period(store_url) {
        let clock = TestClock::new(start());
        let (_dir, store) = open_store_on(store_url);
        let ledger = Ledger::new(store.clone());
        let ups = FakeUps::new(clock.clone());
        let erp = FakeErp::new(clock.clone());
        let s = TrackingSettings {
            quiet_period_seconds: 6 * 3600,
            ..settings(AlertVersion::V2)
        };
        let (tracker, app) = build(&store, &ups, &erp, &clock, s);
        let mut rng = StdRng::seed_from_u64(3);
        let lost = one_z("03", 1);
        let fine = one_z("03", 2);
        for tn in [&lost, &fine] {
            ups.add(parcel(&mut rng, tn.clone(), start(), 0));
        }
        ups.lose_pushes(&lost);
        tracking_job(&ledger, "LOST", &[&lost], start());
        tracking_job(&ledger, "FINE", &[&fine], start());
        let mut pusher = Pusher {
            version: AlertVersion::V2,
            token: None,
        };
        for _ in 0..(8 * 24 * 6) {
            clock.advance(Duration::minutes(TICK_MINUTES));
            tracker.scan_jobs().unwrap();
            for b in ups.due_pushes() {
                assert_eq!(
                    pusher.push(&app, clock.now(), b.to_string()).await,
                    StatusCode::OK
                );
            }
            tracker.tick().await.unwrap();
        }
        let delivered = ups
            .parcels()
            .into_iter()
            .find(|p| p.tracking_number == lost)
            .unwrap()
            .terminal_at()
            .unwrap();
        let w = erp
            .writes
            .lock()
            .unwrap()
            .iter()
            .find(|w| {
                w.plan.record_id == "LOST"
                    && w.plan
                        .fields
                        .iter()
                        .any(|(k, v)| k == STATUS && v == "Delivered")
            })
            .map(|w| w.at)
            .expect("the lost parcel's delivery reached the ERP by polling");
        assert!(
            w - delivered <= Duration::hours(6) + Duration::minutes(2 * TICK_MINUTES),
            "{}",
            w - delivered
        );
        let st = tracker.stats().snapshot();
        assert!(st.polls_quiet_fallback > 0);
        assert_eq!(erp.field("FINE", STATUS).unwrap(), "Delivered");
        // No quiet polls for a package whose events flow: at most one per quiet period.
        let pk = tracker.package(&fine).unwrap().unwrap();
        assert!(pk.done);
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn refused_subscriptions_are_polled_and_batches_hold_at_most_100(store_url) {
        let clock = TestClock::new(start());
        let (_dir, store) = open_store_on(store_url);
        let ledger = Ledger::new(store.clone());
        let ups = FakeUps::new(clock.clone());
        let erp = FakeErp::new(clock.clone());
        let (tracker, _app) = build(&store, &ups, &erp, &clock, settings(AlertVersion::V2));
        let mut rng = StdRng::seed_from_u64(5);
        let mut numbers = Vec::new();
        for i in 0..250 {
            let tn = one_z("02", 1000 + i);
            ups.add(parcel(&mut rng, tn.clone(), start(), 0));
            numbers.push(tn);
        }
        ups.refuse(&numbers[7]);
        for (i, chunk) in numbers.chunks(5).enumerate() {
            let nums: Vec<&str> = chunk.iter().map(String::as_str).collect();
            tracking_job(&ledger, &format!("B{i:03}"), &nums, start());
        }
        assert_eq!(tracker.scan_jobs().unwrap(), 250);
        assert_eq!(
            tracker.scan_jobs().unwrap(),
            0,
            "registration is idempotent"
        );
        clock.advance(Duration::minutes(1));
        let r = tracker.tick().await.unwrap();
        let sizes: Vec<usize> = ups
            .subscribe_calls()
            .iter()
            .map(|c| c.numbers.len())
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);
        assert_eq!(r.subscribed, 249);
        assert_eq!(r.rejected, 1);
        // Refused → polled on the polling schedule; everyone else got one backfill.
        assert_eq!(tracker.stats().snapshot().polls_backfill, 249);
        for _ in 0..(7 * 24 * 6) {
            clock.advance(Duration::minutes(TICK_MINUTES));
            tracker.tick().await.unwrap();
        }
        assert!(tracker.stats().snapshot().polls_scheduled > 0);
        let refused = tracker.package(&numbers[7]).unwrap().unwrap();
        assert!(refused.alert_rejected);
        assert_eq!(refused.milestone, Milestone::Delivered);
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn freshness_reports_in_transit_packages_only(store_url) {
        let clock = TestClock::new(start());
        let (_dir, store) = open_store_on(store_url);
        let ledger = Ledger::new(store.clone());
        let ups = FakeUps::new(clock.clone());
        let erp = FakeErp::new(clock.clone());
        let (tracker, _app) = build(&store, &ups, &erp, &clock, settings(AlertVersion::V2));
        let mut rng = StdRng::seed_from_u64(9);
        let a = one_z("03", 1);
        ups.add(parcel(&mut rng, a.clone(), start(), 0));
        tracking_job(&ledger, "A", &[&a], start());
        tracker.scan_jobs().unwrap();
        clock.advance(Duration::minutes(1));
        tracker.tick().await.unwrap();
        // Label created only: not in transit yet.
        assert!(tracker.freshness().unwrap().is_empty());
        clock.advance(Duration::hours(9));
        tracker.tick().await.unwrap(); // quiet fallback poll after 12 h? not yet.
        clock.advance(Duration::hours(4));
        tracker.tick().await.unwrap(); // now ≥ 12 h quiet: one Track call sees the pickup.
        let f = tracker.freshness().unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].0, a);
        clock.advance(Duration::minutes(30));
        let f = tracker.freshness().unwrap();
        assert_eq!(f[0].1, 30 * 60);
        let s = tracker.freshness_summary().unwrap();
        assert_eq!((s.packages, s.max_seconds), (1, 1800));
    }
}
