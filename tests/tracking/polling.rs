//! Polling mode at scale on a simulated clock (issue 8, must-show 3): 1,000 packages over a
//! week stay within a given Track quota (rolling hour and day), make fewer calls than a
//! fixed-interval poller would, treat `TW0001` as "not yet", and still bring every delivery
//! to the ERP. Run with `--nocapture` to see the numbers.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::tracking_support::*;
use upsync::model::Milestone;
use upsync::pipeline::{JobState, Ledger};
use upsync::tracking::*;

const PACKAGES: u32 = 1000;
const TICK_MINUTES: i64 = 5;
const PER_HOUR: u32 = 800;
const PER_DAY: u32 = 12_000;

fn step(at: DateTime<Utc>, t: &'static str, c: &'static str, d: &'static str) -> Step {
    Step {
        at,
        status_type: t,
        code: c,
        description: d,
        city: "Louisville, KY",
    }
}

fn parcel(rng: &mut StdRng, tn: String, created: DateTime<Utc>, i: u32) -> Parcel {
    if i % 100 == 7 {
        // Label printed, never handed to UPS: Track says TW0001 all week.
        return Parcel {
            tracking_number: tn,
            created,
            steps: vec![],
            estimated: None,
        };
    }
    let mut steps = vec![step(created, "M", "MP", "Shipper created a label")];
    let pickup = created + Duration::hours(rng.gen_range(2..10));
    steps.push(step(pickup, "I", "OR", "Origin Scan"));
    steps.push(step(
        pickup + Duration::hours(3),
        "I",
        "DP",
        "Departed from Facility",
    ));
    let days = rng.gen_range(1..=5);
    let day0 = (pickup + Duration::days(days)).date_naive();
    let ofd =
        day0.and_hms_opt(12, 0, 0).unwrap().and_utc() + Duration::minutes(rng.gen_range(0..120));
    let mut t = pickup + Duration::hours(3);
    loop {
        t += Duration::hours(rng.gen_range(10..30));
        if t >= ofd - Duration::hours(2) {
            break;
        }
        if i % 25 == 3 {
            steps.push(step(t, "X", "X1", "Weather delay"));
            t += Duration::hours(4);
        }
        steps.push(step(t, "I", "AR", "Arrived at Facility"));
    }
    steps.push(step(ofd, "I", "OT", "Out For Delivery Today"));
    steps.push(step(
        ofd + Duration::minutes(rng.gen_range(60..480)),
        "D",
        "FS",
        "DELIVERED",
    ));
    Parcel {
        tracking_number: tn,
        created,
        steps,
        estimated: Some(day0),
    }
}

upsync::both_stores! {
    #[tokio::test]
    async fn polling_a_thousand_packages_for_a_week_stays_in_quota_and_beats_fixed_interval(store_url) {
        let clock = TestClock::new(start());
        let (_dir, store) = open_store_on(store_url);
        let ledger = Ledger::new(store.clone());
        let ups = FakeUps::new(clock.clone());
        ups.set_not_yet_for(Duration::minutes(30));
        let erp = FakeErp::new(clock.clone());
        let settings = TrackingSettings {
            mode: TrackingMode::Polling,
            track_quota: TrackQuota {
                calls_per_hour: Some(PER_HOUR),
                calls_per_day: Some(PER_DAY),
            },
            track_concurrency: 16,
            ..TrackingSettings::default()
        };
        let tracker = Arc::new(
            Tracker::new(store.clone(), ups.clone(), settings, clock.clock())
                .unwrap()
                .with_erp("erp", erp.clone(), Arc::new(FakeMapper)),
        );
        let mut rng = StdRng::seed_from_u64(1000);
        let mut planned: Vec<(String, DateTime<Utc>)> = (0..PACKAGES)
            .map(|i| {
                let tn = one_z("03", 5000 + i);
                let created = start() + Duration::minutes(rng.gen_range(0..2 * 24 * 60));
                ups.add(parcel(&mut rng, tn.clone(), created, i));
                (tn, created)
            })
            .collect();
        planned.sort_by_key(|(_, c)| *c);

        let end = start() + Duration::days(7);
        let mut next = 0;
        let mut registered_at = std::collections::BTreeMap::new();
        while clock.now() < end {
            clock.advance(Duration::minutes(TICK_MINUTES));
            let now = clock.now();
            while next < planned.len() && planned[next].1 <= now {
                let (tn, _) = &planned[next];
                let job = tracking_job(&ledger, &format!("P{next:04}"), &[tn], now);
                assert_eq!(tracker.register_job(&job).unwrap(), 1);
                registered_at.insert(tn.clone(), now);
                next += 1;
            }
            tracker.tick().await.unwrap();
        }

        // ---- quota ----
        let calls = ups.track_calls();
        let times: Vec<DateTime<Utc>> = calls.iter().map(|(t, _)| *t).collect();
        let max_hour = max_in_window(&times, Duration::hours(1));
        let max_day = max_in_window(&times, Duration::days(1));
        assert!(
            max_hour <= PER_HOUR as usize,
            "{max_hour} calls in one hour > {PER_HOUR}"
        );
        assert!(
            max_day <= PER_DAY as usize,
            "{max_day} calls in one day > {PER_DAY}"
        );

        // ---- versus a fixed-interval poller (stops when it sees the delivery) ----
        let parcels = ups.parcels();
        let lifetimes: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = parcels
            .iter()
            .map(|p| (registered_at[&p.tracking_number], p.terminal_at()))
            .collect();
        let fixed_15m = fixed_interval_calls(&lifetimes, Duration::minutes(15), end);
        let fixed_1h = fixed_interval_calls(&lifetimes, Duration::hours(1), end);
        let ours = calls.len() as u64;
        println!(
            "polling {PACKAGES} packages for 7 simulated days: {ours} Track calls (quota {PER_HOUR}/h, {PER_DAY}/day; busiest hour {max_hour}, busiest day {max_day})"
        );
        println!(
            "  a fixed-interval poller would make {fixed_15m} calls every 15 min (same out-for-delivery freshness), {fixed_1h} every hour"
        );
        assert!(ours < fixed_1h, "{ours} ≥ fixed hourly {fixed_1h}");
        assert!(ours < fixed_15m);

        // ---- TW0001 is "not yet", not an error ----
        let stats = tracker.stats().snapshot();
        assert!(stats.polls_not_yet > 0);
        assert_eq!(stats.poll_errors, 0);
        for p in parcels.iter().filter(|p| p.steps.is_empty()) {
            let pk = tracker.package(&p.tracking_number).unwrap().unwrap();
            // Still TW0001 after `not_found_after_hours` (24): upsync's own `not_found`.
            assert_eq!(pk.milestone, Milestone::NotFound);
            assert!(!pk.done);
        }

        // ---- every delivery reached the ERP, soon enough ----
        let mut delays = Vec::new();
        let writes = erp.writes.lock().unwrap().clone();
        for (i, (tn, _)) in planned.iter().enumerate() {
            let p = parcels.iter().find(|p| &p.tracking_number == tn).unwrap();
            let record = format!("P{i:04}");
            let job = ledger.current_for("erp", &record).unwrap().unwrap();
            match p.terminal_at() {
                Some(t) if t < end - Duration::hours(6) => {
                    assert_eq!(erp.field(&record, STATUS).unwrap(), "Delivered", "{record}");
                    assert!(
                        erp.field(&record, SIGNATURE).is_some(),
                        "signature from Track"
                    );
                    assert_eq!(job.state, JobState::Delivered);
                    let w = writes
                        .iter()
                        .find(|w| {
                            w.plan.record_id == record
                                && w.plan
                                    .fields
                                    .iter()
                                    .any(|(k, v)| k == STATUS && v == "Delivered")
                        })
                        .unwrap();
                    delays.push((w.at - t).num_minutes());
                }
                Some(_) => {}
                None => assert_eq!(job.state, JobState::Tracking),
            }
        }
        delays.sort_unstable();
        let p50 = delays[delays.len() / 2];
        let p95 = delays[delays.len() * 95 / 100];
        println!(
            "  {} deliveries reached the ERP: delay p50 {p50} min, p95 {p95} min, max {} min; polls deferred by quota {}; ERP writes {}",
            delays.len(),
            delays.last().unwrap(),
            stats.polls_deferred_by_quota,
            writes.len()
        );
        assert!(delays.len() > 900);
        assert!(p95 <= 24 * 60, "deliveries too stale: p95 {p95} min");
    }
}
