//! Quantum View mode against the UPS simulator (issue 18): shipments created at the
//! simulator, its clock advanced, the tracker reads the subscription files page by page
//! (page size 2, so bookmarks are followed) and brings every job to `delivered`; a crash in
//! the middle of a read (tracker dropped, store reopened, new tracker) neither skips nor
//! double-applies an event; parcels upsync did not ship are matched by reference or counted
//! and ignored; a range more than 7 days back (after a long stop) is refused by UPS and the
//! read restarts inside the 7 days.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use serde_json::Value;

use crate::tracking_support::{tracking_job, FakeErp, FakeMapper, TestClock};
use upsync::app::adapters::UpsCarrier;
use upsync::model::{Clock, Milestone};
use upsync::pipeline::{JobState, Ledger};
use upsync::sim::ups::{spawn, SimHandle, UpsSimConfig};
use upsync::store::{Store, Tree};
use upsync::tracking::*;
use upsync::ups::{Api, MemoryTokenStore, UpsClient, UpsClientConfig, UpsCredentials};

/// The UPS carrier; with `fail_next_page` set, the next Quantum View call that carries a
/// bookmark fails (a crash stand-in: the read stops in the middle, its bookmark persisted).
struct Flaky {
    inner: UpsCarrier,
    fail_next_page: AtomicBool,
}

#[async_trait]
impl TrackingCarrier for Flaky {
    async fn track(&self, tn: &str) -> Result<TrackOutcome, CarrierError> {
        TrackingCarrier::track(&self.inner, tn).await
    }
    async fn subscribe(
        &self,
        numbers: &[String],
        d: Option<&Destination>,
    ) -> Result<SubscribeOutcome, CarrierError> {
        TrackingCarrier::subscribe(&self.inner, numbers, d).await
    }
    async fn quantum_view(&self, request: QvRequest) -> Result<QvPage, CarrierError> {
        if request.bookmark.is_some() && self.fail_next_page.swap(false, Ordering::SeqCst) {
            return Err(CarrierError::transient("ups_unavailable", "injected"));
        }
        TrackingCarrier::quantum_view(&self.inner, request).await
    }
}

fn client(sim: &SimHandle) -> UpsClient {
    UpsClient::new(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(MemoryTokenStore::new()),
    )
    .unwrap()
}

async fn ship(c: &UpsClient) -> String {
    let body: Value = serde_json::from_str(include_str!(
        "../../sim/src/ups/testdata/ship-request-minimal.json"
    ))
    .unwrap();
    let v = c
        .call_raw(
            Api::Ship,
            reqwest::Method::POST,
            "api/shipments/v2409/ship",
            Some(body),
        )
        .await
        .unwrap();
    v["ShipmentResponse"]["ShipmentResults"]["ShipmentIdentificationNumber"]
        .as_str()
        .unwrap()
        .to_string()
}

fn settings(match_by_reference: bool) -> TrackingSettings {
    TrackingSettings {
        mode: TrackingMode::QuantumView,
        quiet_period_seconds: 36 * 3600,
        quantum_view: QuantumViewSettings {
            interval_seconds: 3600,
            match_by_reference,
            ..QuantumViewSettings::default()
        },
        ..TrackingSettings::default()
    }
}

struct World {
    sim: SimHandle,
    client: UpsClient,
    erp: Arc<FakeErp>,
    dir: tempfile::TempDir,
    /// `None`: sled in `dir`; else the PostgreSQL database (`upsync::both_stores!`).
    store_url: Option<String>,
}

impl World {
    async fn new(store_url: Option<String>) -> World {
        let sim = spawn(UpsSimConfig {
            tick_interval_ms: 0,
            ..Default::default()
        })
        .await
        .unwrap();
        sim.state.quantum.set_page_size(2);
        sim.state.quantum.set_file_minutes(30);
        let client = client(&sim);
        World {
            erp: FakeErp::new(TestClock::new(sim.core.clock.now())),
            sim,
            client,
            dir: tempfile::tempdir().unwrap(),
            store_url,
        }
    }

    fn open(&self) -> Arc<Store> {
        match &self.store_url {
            None => Arc::new(Store::open(self.dir.path(), None).unwrap()),
            Some(u) => Arc::new(
                Store::open_postgres(&upsync::store::PgTarget::new(u.clone()), None).unwrap(),
            ),
        }
    }

    fn tracker(
        &self,
        store: Arc<Store>,
        carrier: Arc<dyn TrackingCarrier>,
        s: TrackingSettings,
    ) -> Tracker {
        let core = self.sim.core.clone();
        Tracker::new(store, carrier, s, Clock::from_fn(move || core.clock.now()))
            .unwrap()
            .with_erp("erp", self.erp.clone(), Arc::new(FakeMapper))
    }

    fn flaky(&self, fail_next_page: bool) -> Arc<Flaky> {
        Arc::new(Flaky {
            inner: UpsCarrier::new(self.client.clone()),
            fail_next_page: AtomicBool::new(fail_next_page),
        })
    }

    /// Advance the simulator `hours` one hour at a time, scanning and ticking each hour.
    async fn run(&self, t: &Tracker, hours: u32) {
        for _ in 0..hours {
            self.sim.advance(Duration::hours(1)).await;
            t.scan_jobs().unwrap();
            t.tick().await.unwrap();
        }
    }
}

fn add(a: &TrackingStatsSnapshot, b: &TrackingStatsSnapshot) -> (u64, u64, u64, u64, u64) {
    (
        a.qv_files + b.qv_files,
        a.qv_foreign_ignored + b.qv_foreign_ignored,
        a.qv_foreign_matched + b.qv_foreign_matched,
        a.qv_errors + b.qv_errors,
        a.qv_range_restarts + b.qv_range_restarts,
    )
}

/// Every subscription file the simulator has for the account now (a range read of 7 days).
async fn files_at_ups(w: &World) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let now = w.sim.core.clock.now();
    let mut req = QvRequest {
        version: "v3".into(),
        subscription_names: vec![],
        begin: now - Duration::days(7) + Duration::minutes(5),
        end: now,
        bookmark: None,
    };
    loop {
        let page = w.client.quantum_view(&req).await.unwrap();
        out.extend(
            page.files
                .iter()
                .map(|f| format!("{}/{}", f.subscription, f.name)),
        );
        match page.bookmark {
            Some(b) => req.bookmark = Some(b),
            None => return out,
        }
    }
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn quantum_view_delivers_every_job_across_a_crash_without_skips_or_doubles(store_url) {
        let w = World::new(store_url).await;
        let store = w.open();
        let ledger = Ledger::new(store.clone());
        let now = w.sim.core.clock.now();
        let mut numbers = Vec::new();
        for i in 0..5 {
            let tn = ship(&w.client).await;
            tracking_job(&ledger, &format!("R{i}"), &[tn.as_str()], now);
            numbers.push(tn);
        }
        // A WorldShip label of the same account carrying record R3's number, and one that
        // matches nothing.
        let matched = w
            .sim
            .state
            .add_foreign_shipment("123X56", &["SR3".to_string()]);
        let stranger = w
            .sim
            .state
            .add_foreign_shipment("123X56", &["NOT-OURS-1".to_string()]);

        // First life, until a Quantum View call fails in the middle of a read.
        let t1 = w.tracker(store.clone(), w.flaky(true), settings(true));
        for _ in 0..48 {
            w.run(&t1, 1).await;
            if t1.stats().snapshot().qv_errors > 0 {
                break;
            }
        }
        let p1 = t1.qv_progress().unwrap();
        let s1 = t1.stats().snapshot();
        assert_eq!(s1.qv_errors, 1, "{s1:?}");
        assert!(s1.qv_files > 0);
        assert!(
            p1.run.as_ref().is_some_and(|r| r.bookmark.is_some()),
            "stopped in the middle of a read: {p1:?}"
        );
        // The crash: everything dropped, the store reopened.
        drop(t1);
        drop(ledger);
        drop(store);
        let store = w.open();
        let t2 = w.tracker(store.clone(), w.flaky(false), settings(true));
        assert_eq!(
            t2.qv_progress().unwrap(),
            p1,
            "the bookmark survived the crash"
        );
        let ledger = Ledger::new(store.clone());
        let all_delivered = || {
            (0..5).all(|i| {
                ledger
                    .current_for("erp", &format!("R{i}"))
                    .unwrap()
                    .is_some_and(|j| j.state == JobState::Delivered)
            })
        };
        // Until every job is delivered and the stranger's three events were read too: its
        // delivery can come in a later file than the last of ours.
        let stranger_read = || add(&s1, &t2.stats().snapshot()).1 >= 3;
        for _ in 0..10 * 24 {
            w.run(&t2, 1).await;
            if all_delivered() && stranger_read() {
                break;
            }
        }
        let s2 = t2.stats().snapshot();

        for i in 0..5 {
            let job = ledger
                .current_for("erp", &format!("R{i}"))
                .unwrap()
                .unwrap();
            assert_eq!(job.state, JobState::Delivered, "R{i}");
            assert_eq!(
                w.erp
                    .field(&format!("R{i}"), crate::tracking_support::STATUS),
                Some(Value::from("Delivered"))
            );
        }
        // Every package: one event per identity, exactly one manifest, origin and delivery.
        for tn in numbers.iter().chain([&matched]) {
            let p = t2.package(tn).unwrap().unwrap();
            assert_eq!(p.milestone, Milestone::Delivered, "{tn}");
            let ids: BTreeSet<String> = p.history.iter().map(|e| e.identity()).collect();
            assert_eq!(ids.len(), p.history.len(), "{tn}: {:?}", p.history);
            for code in ["MP", "OR", "FS"] {
                assert_eq!(
                    p.history.iter().filter(|e| e.status_code == code).count(),
                    1,
                    "{tn} {code}: {:?}",
                    p.history
                );
            }
        }
        // The foreign parcel matched by reference is a package of R3; the other is ignored.
        let jt = t2
            .job(&ledger.current_for("erp", "R3").unwrap().unwrap().id)
            .unwrap()
            .unwrap();
        assert!(jt.packages.contains(&matched), "{jt:?}");
        assert!(t2.package(&stranger).unwrap().is_none());
        // Exported on /metrics like every tracking counter (`upsync_tracking_events{kind=…}`).
        assert!(t2
            .stats()
            .pairs()
            .iter()
            .any(|(k, _)| *k == "qv_foreign_ignored"));
        let (files, ignored, matched_n, errors, restarts) = add(&s1, &s2);
        assert_eq!(matched_n, 1);
        assert!(
            ignored >= 3,
            "manifest, origin, delivery of the stranger: {ignored}"
        );
        assert_eq!((errors, restarts), (1, 0));
        // Each file was processed exactly once over both lives, and none UPS has was skipped.
        let marks: BTreeSet<String> = store
            .tree(Tree::Tracking)
            .scan_prefix("q/f/")
            .keys()
            .map(|k| String::from_utf8_lossy(&k.unwrap()[4..]).into_owned())
            .collect();
        assert_eq!(files as usize, marks.len(), "{marks:?}");
        let at_ups = files_at_ups(&w).await;
        assert!(at_ups.is_subset(&marks), "{at_ups:?} vs {marks:?}");
        assert!(s1.qv_events + s2.qv_events >= 3 * 6, "{s1:?} {s2:?}");

        // A long stop: UPS refuses the range (more than 7 days back); the read restarts.
        drop(t2);
        w.sim.advance(Duration::days(10)).await;
        let t3 = w.tracker(store.clone(), w.flaky(false), settings(true));
        t3.tick().await.unwrap();
        let s3 = t3.stats().snapshot();
        assert_eq!((s3.qv_range_restarts, s3.qv_errors), (1, 0), "{s3:?}");
        let p3 = t3.qv_progress().unwrap();
        assert!(p3.run.is_none() && p3.cursor.is_some(), "{p3:?}");
    }
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn foreign_parcels_are_counted_and_ignored_without_reference_matching(store_url) {
        let w = World::new(store_url).await;
        let store = w.open();
        let ledger = Ledger::new(store.clone());
        let tn = ship(&w.client).await;
        tracking_job(&ledger, "R0", &[tn.as_str()], w.sim.core.clock.now());
        let foreign = w
            .sim
            .state
            .add_foreign_shipment("123X56", &["SR0".to_string()]);
        // Quantum View times as Track's local time (UTC−05:00): still one event each.
        w.sim.state.quantum.set_local_times(true);
        let t = w.tracker(store.clone(), w.flaky(false), settings(false));
        w.run(&t, 6 * 24).await;
        let s = t.stats().snapshot();
        assert!(s.qv_foreign_ignored >= 3, "{s:?}");
        assert_eq!(s.qv_foreign_matched, 0);
        assert!(t.package(&foreign).unwrap().is_none());
        let p = t.package(&tn).unwrap().unwrap();
        assert_eq!(p.milestone, Milestone::Delivered);
        assert_eq!(
            ledger.current_for("erp", "R0").unwrap().unwrap().state,
            JobState::Delivered
        );
        assert_eq!(
            p.history.iter().filter(|e| e.status_code == "MP").count(),
            1,
            "{:?}",
            p.history
        );
        // Quantum View's copy (local time read as UTC) gave way to Track's GMT one.
        let mp = p.history.iter().find(|e| e.status_code == "MP").unwrap();
        assert!(mp.description.contains("UPS has not received"), "{mp:?}");
    }
}

upsync::both_stores! {
    /// The simulator's trouble scenarios through Quantum View: an Access Point stop shows as
    /// "available for pickup" before the delivery, attempts and address exceptions keep UPS's
    /// reason text, and a return (which Quantum View has no record for) is brought by the
    /// quiet-period Track call.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn trouble_scenarios_reach_their_end_through_quantum_view(store_url) {
        use upsync::sim::ups::{ScenarioKey, TrackScenario};
        let w = World::new(store_url).await;
        let store = w.open();
        let ledger = Ledger::new(store.clone());
        let scenarios = [
            TrackScenario::AccessPoint,
            TrackScenario::AttemptThenDelivered,
            TrackScenario::ExceptionThenDelivered,
            TrackScenario::ReturnedToSender,
        ];
        let mut numbers = Vec::new();
        for (i, sc) in scenarios.iter().enumerate() {
            let tn = ship(&w.client).await;
            w.sim
                .set_track_scenario(ScenarioKey::TrackingNumber(tn.clone()), *sc);
            tracking_job(
                &ledger,
                &format!("T{i}"),
                &[tn.as_str()],
                w.sim.core.clock.now(),
            );
            numbers.push(tn);
        }
        let t = w.tracker(store.clone(), w.flaky(false), settings(false));
        for _ in 0..20 * 24 {
            w.run(&t, 1).await;
            if numbers
                .iter()
                .all(|tn| t.package(tn).unwrap().is_some_and(|p| p.done))
            {
                break;
            }
        }
        let p = |i: usize| t.package(&numbers[i]).unwrap().unwrap();
        let ap = p(0);
        assert_eq!(ap.milestone, Milestone::Delivered, "{:?}", ap.history);
        assert!(
            ap.history
                .iter()
                .any(|e| e.milestone == Milestone::AvailableForPickup),
            "{:?}",
            ap.history
        );
        let attempt = p(1);
        assert_eq!(attempt.milestone, Milestone::Delivered);
        assert!(attempt
            .history
            .iter()
            .any(|e| e.milestone == Milestone::DeliveryAttempted));
        let address = p(2);
        assert_eq!(address.milestone, Milestone::Delivered);
        assert!(address.history.iter().any(|e| e.status_code == "AD"));
        let returned = p(3);
        assert_eq!(
            returned.milestone,
            Milestone::ReturnedToSender,
            "{:?}",
            returned.history
        );
        for pk in [ap, attempt, address, returned] {
            let ids: BTreeSet<String> = pk.history.iter().map(|e| e.identity()).collect();
            assert_eq!(ids.len(), pk.history.len(), "{:?}", pk.history);
        }
        let s = t.stats().snapshot();
        assert!(s.qv_events > 0 && s.polls_quiet_fallback > 0, "{s:?}");
    }
}
