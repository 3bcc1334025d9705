//! The tracker's side of the contract ([`crate::tracking::StatusSink`]): a milestone change
//! reaches the sink once, before the package's new state is saved, and a sink that fails
//! keeps the change from being saved (so it is derived again and recorded later).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::model::{
    Charges, Clock, ErpRecord, Milestone, PackageResult, ShipResult, TrackingEvent,
    TrackingSnapshot,
};
use crate::pipeline::{Job, JobState};
use crate::store::{Store, StoreError, Tree};
use crate::tracking::ports::{CarrierError, Destination, SubscribeOutcome, TrackOutcome};
use crate::tracking::{
    PackageTrack, StatusChange, StatusSink, Tracker, TrackingCarrier, TrackingMode,
    TrackingSettings,
};

const TN: &str = "1Z123X560300000018";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap()
}

/// Track answers the package's state as a milestone set by the test.
struct Carrier(Arc<Mutex<Milestone>>);

#[async_trait]
impl TrackingCarrier for Carrier {
    async fn track(&self, tn: &str) -> Result<TrackOutcome, CarrierError> {
        let m = *self.0.lock().unwrap();
        let e = TrackingEvent {
            tracking_number: tn.into(),
            milestone: m,
            status_type: if m == Milestone::Delivered { "D" } else { "I" }.into(),
            status_code: format!("{m:?}"),
            status_number: String::new(),
            description: m.label().into(),
            time: t0() + Duration::hours(1 + m as i64),
            location: Some("Atlanta, GA, US".into()),
        };
        Ok(TrackOutcome::Found {
            snapshot: TrackingSnapshot {
                tracking_number: tn.into(),
                milestone: m,
                latest: Some(e.clone()),
                estimated_delivery: None,
                delivered_at: None,
                received_by: (m == Milestone::Delivered).then(|| "J SMITH".into()),
                signature: (m == Milestone::Delivered).then(|| b"GIF89a".to_vec()),
                status_at: None,
                history: Vec::new(),
            },
            events: vec![e],
        })
    }
    async fn subscribe(
        &self,
        numbers: &[String],
        _d: Option<&Destination>,
    ) -> Result<SubscribeOutcome, CarrierError> {
        Ok(SubscribeOutcome {
            valid: numbers.to_vec(),
            invalid: vec![],
        })
    }
}

/// Records what it is given and the package's stored milestone at that moment; fails
/// while `fail` is set.
struct Sink {
    store: Arc<Store>,
    seen: Mutex<Vec<(StatusChange, Milestone)>>,
    fail: Mutex<bool>,
}

impl StatusSink for Sink {
    fn record(&self, c: &StatusChange) -> Result<(), StoreError> {
        if *self.fail.lock().unwrap() {
            return Err(StoreError::Corrupt {
                tree: "outbox",
                reason: "test".into(),
            });
        }
        let stored: PackageTrack = self
            .store
            .get_json(Tree::Tracking, &format!("p/{}", c.tracking_number))?
            .unwrap();
        self.seen
            .lock()
            .unwrap()
            .push((c.clone(), stored.milestone));
        Ok(())
    }
}

fn job(now: DateTime<Utc>) -> Job {
    let mut j = Job::new(
        ErpRecord {
            source: "erp".into(),
            id: "r1".into(),
            number: "N1".into(),
            version: "v1".into(),
            modified: now,
            data: serde_json::json!({}),
        },
        now,
    );
    j.result = Some(ShipResult {
        shipment_id: TN.into(),
        service_code: "03".into(),
        packages: vec![PackageResult {
            tracking_number: TN.into(),
            erp_line_id: "1".into(),
            label: None,
        }],
        charges: Charges::default(),
        alerts: vec![],
        documents: vec![],
        paperless: None,
    });
    j.transition(JobState::Tracking, "", now);
    j
}

#[tokio::test]
async fn the_sink_hears_each_milestone_change_before_the_package_is_saved() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let now = Arc::new(Mutex::new(t0()));
    let n = now.clone();
    let milestone = Arc::new(Mutex::new(Milestone::InTransit));
    let sink = Arc::new(Sink {
        store: store.clone(),
        seen: Mutex::new(vec![]),
        fail: Mutex::new(true),
    });
    let settings = TrackingSettings {
        mode: TrackingMode::Polling,
        ..TrackingSettings::default()
    };
    let t = Tracker::new(
        store.clone(),
        Arc::new(Carrier(milestone.clone())),
        settings,
        Clock::from_fn(move || *n.lock().unwrap()),
    )
    .unwrap()
    .with_status_sink(sink.clone());
    t.register_job(&job(t0())).unwrap();
    let step = |hours: i64| {
        *now.lock().unwrap() += Duration::hours(hours);
    };
    // The sink fails: the poll fails and the package keeps its old state.
    step(2);
    assert!(t.tick().await.is_err());
    assert_eq!(
        t.package(TN).unwrap().unwrap().milestone,
        Milestone::LabelCreated
    );
    // It works again: the same change is derived again and recorded, before the save.
    *sink.fail.lock().unwrap() = false;
    step(7);
    t.tick().await.unwrap();
    assert_eq!(
        t.package(TN).unwrap().unwrap().milestone,
        Milestone::InTransit
    );
    *milestone.lock().unwrap() = Milestone::Delivered;
    step(12);
    t.tick().await.unwrap();
    let seen = sink.seen.lock().unwrap().clone();
    let got: Vec<(Milestone, Milestone, Milestone)> = seen
        .iter()
        .map(|(c, stored)| (c.previous, c.status, *stored))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Milestone::LabelCreated,
                Milestone::InTransit,
                Milestone::LabelCreated
            ),
            (
                Milestone::InTransit,
                Milestone::Delivered,
                Milestone::InTransit
            ),
        ],
        "each change once, while the store still had the old state"
    );
    let delivered = &seen[1].0;
    assert_eq!(delivered.received_by.as_deref(), Some("J SMITH"));
    assert_eq!(delivered.job_id, "erp/r1/v1");
    assert_eq!(delivered.connector, "erp");
    assert_eq!(
        delivered.event.as_ref().map(|e| e.milestone),
        Some(Milestone::Delivered)
    );
}
