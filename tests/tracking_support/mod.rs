//! Shared fakes for the tracking integration tests (`tests/tracking/`):
//! a settable clock, a fake UPS whose parcels progress on that clock (Track, Track Alert
//! subscriptions, webhook pushes while a subscription is live), a fake ERP (`Source`) that
//! records every write, and a fake mapping (`Mapper`) with Acumatica-like field names.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};

use upsync::model::Clock;
use upsync::model::*;
use upsync::pipeline::{Job, JobState, Ledger, Mapper, MappingFailure};
use upsync::sources::{Cursor, Page, Source, SourceError};
use upsync::store::Store;
use upsync::tracking::{
    CarrierError, Destination, SubscribeOutcome, TrackOutcome, TrackingCarrier,
};

// ---------- clock ----------

#[derive(Clone)]
pub struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    pub fn new(start: DateTime<Utc>) -> TestClock {
        TestClock(Arc::new(Mutex::new(start)))
    }
    pub fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
    pub fn clock(&self) -> Clock {
        let c = self.0.clone();
        Clock::from_fn(move || *c.lock().unwrap())
    }
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 6, 0, 0).unwrap()
}

// ---------- fake UPS ----------

/// One scan of a parcel.
#[derive(Debug, Clone)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub status_type: &'static str,
    pub code: &'static str,
    pub description: &'static str,
    pub city: &'static str,
}

impl Step {
    pub fn milestone(&self) -> Milestone {
        Milestone::from_ups(self.status_type, self.code)
    }
}

#[derive(Debug, Clone)]
pub struct Parcel {
    pub tracking_number: String,
    pub created: DateTime<Utc>,
    pub steps: Vec<Step>,
    /// Scheduled delivery day (as UPS would estimate it).
    pub estimated: Option<chrono::NaiveDate>,
}

impl Parcel {
    pub fn terminal_at(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .find(|s| s.milestone().is_terminal())
            .map(|s| s.at)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubscribeCall {
    pub at: DateTime<Utc>,
    pub numbers: Vec<String>,
    pub destination_url: Option<String>,
}

#[derive(Default)]
struct UpsState {
    parcels: BTreeMap<String, Parcel>,
    /// number → times it was (re)subscribed; each subscription lives 14 days.
    subs: BTreeMap<String, Vec<DateTime<Utc>>>,
    pushed: BTreeMap<String, usize>,
    track_calls: Vec<(DateTime<Utc>, String)>,
    subscribe_calls: Vec<SubscribeCall>,
    /// Steps that happened while no subscription was live (after the first subscription).
    missed: Vec<(String, DateTime<Utc>)>,
    lost_pushes: BTreeSet<String>,
    invalid: BTreeSet<String>,
    /// Track answers TW0001 for this long after a label is created.
    not_yet_for: Duration,
}

pub struct FakeUps {
    clock: TestClock,
    st: Mutex<UpsState>,
}

fn event_of(tn: &str, s: &Step) -> TrackingEvent {
    TrackingEvent {
        tracking_number: tn.to_string(),
        milestone: s.milestone(),
        status_type: s.status_type.to_string(),
        status_code: s.code.to_string(),
        status_number: String::new(),
        description: s.description.to_string(),
        time: s.at,
        location: Some(format!("{}, US", s.city)),
    }
}

impl FakeUps {
    pub fn new(clock: TestClock) -> Arc<FakeUps> {
        Arc::new(FakeUps {
            clock,
            st: Mutex::new(UpsState::default()),
        })
    }

    pub fn add(&self, p: Parcel) {
        self.st
            .lock()
            .unwrap()
            .parcels
            .insert(p.tracking_number.clone(), p);
    }

    pub fn parcels(&self) -> Vec<Parcel> {
        self.st.lock().unwrap().parcels.values().cloned().collect()
    }

    /// Webhook deliveries for this number are lost (UPS push failing).
    pub fn lose_pushes(&self, tn: &str) {
        self.st.lock().unwrap().lost_pushes.insert(tn.to_string());
    }

    /// Track answers TW0001 ("not yet") for this long after each label.
    pub fn set_not_yet_for(&self, d: Duration) {
        self.st.lock().unwrap().not_yet_for = d;
    }

    /// UPS refuses to subscribe this number.
    pub fn refuse(&self, tn: &str) {
        self.st.lock().unwrap().invalid.insert(tn.to_string());
    }

    pub fn track_calls(&self) -> Vec<(DateTime<Utc>, String)> {
        self.st.lock().unwrap().track_calls.clone()
    }

    pub fn subscribe_calls(&self) -> Vec<SubscribeCall> {
        self.st.lock().unwrap().subscribe_calls.clone()
    }

    pub fn missed(&self) -> Vec<(String, DateTime<Utc>)> {
        self.st.lock().unwrap().missed.clone()
    }

    /// Track Alert payloads for steps up to now of parcels with a live subscription, in the
    /// UPS webhook format (`gmtOffset` with a dot). Steps that happened with no live
    /// subscription are recorded as missed and never pushed.
    pub fn due_pushes(&self) -> Vec<Value> {
        let now = self.clock.now();
        let mut st = self.st.lock().unwrap();
        let mut out = Vec::new();
        let numbers: Vec<String> = st.parcels.keys().cloned().collect();
        for tn in numbers {
            let Some(times) = st.subs.get(&tn).cloned() else {
                continue;
            };
            let covered =
                |t: DateTime<Utc>| times.iter().any(|s| *s <= t && t < *s + Duration::days(14));
            let p = st.parcels[&tn].clone();
            let from = *st.pushed.get(&tn).unwrap_or(&0);
            let mut upto = from;
            for (i, s) in p.steps.iter().enumerate().skip(from) {
                if s.at > now {
                    break;
                }
                upto = i + 1;
                if s.at < times[0] {
                    continue; // before the first subscription: the backfill's job
                }
                if !covered(s.at) {
                    st.missed.push((tn.clone(), s.at));
                    continue;
                }
                if st.lost_pushes.contains(&tn) {
                    continue;
                }
                out.push(alert_payload(&tn, s, p.estimated));
            }
            st.pushed.insert(tn, upto);
        }
        out
    }
}

/// A Track Alert webhook body for one step.
pub fn alert_payload(tn: &str, s: &Step, estimated: Option<chrono::NaiveDate>) -> Value {
    let local = s.at - Duration::hours(5);
    let delivered = s.milestone() == Milestone::Delivered;
    json!({
        "trackingNumber": tn,
        "localActivityDate": local.format("%Y%m%d").to_string(),
        "localActivityTime": local.format("%H%M%S").to_string(),
        "activityLocation": {"city": s.city, "stateProvince": "", "postalCode": "", "country": "US"},
        "activityStatus": {"type": s.status_type, "code": s.code, "description": s.description},
        "scheduledDeliveryDate": estimated.map(|d| d.format("%Y%m%d").to_string()).unwrap_or_default(),
        "actualDeliveryDate": if delivered { local.format("%Y%m%d").to_string() } else { String::new() },
        "actualDeliveryTime": if delivered { local.format("%H%M%S").to_string() } else { String::new() },
        "gmtActivityDate": s.at.format("%Y%m%d").to_string(),
        "gmtActivityTime": s.at.format("%H%M%S").to_string(),
        "gmtOffset": "-05.00",
        "receivedBy": if delivered { "JOHN" } else { "" },
    })
}

#[async_trait]
impl TrackingCarrier for FakeUps {
    async fn track(&self, tn: &str) -> Result<TrackOutcome, CarrierError> {
        let now = self.clock.now();
        let mut st = self.st.lock().unwrap();
        st.track_calls.push((now, tn.to_string()));
        let Some(p) = st.parcels.get(tn) else {
            return Ok(TrackOutcome::NotYet);
        };
        let seen: Vec<&Step> = p.steps.iter().filter(|s| s.at <= now).collect();
        // UPS may answer TW0001 for a while after the label is created.
        if seen.is_empty() || now < p.created + st.not_yet_for {
            return Ok(TrackOutcome::NotYet);
        }
        let events: Vec<TrackingEvent> = seen.iter().rev().map(|s| event_of(tn, s)).collect();
        let last = seen.last().unwrap();
        let delivered = last.milestone() == Milestone::Delivered;
        Ok(TrackOutcome::Found {
            snapshot: TrackingSnapshot {
                tracking_number: tn.to_string(),
                milestone: last.milestone(),
                latest: Some(event_of(tn, last)),
                estimated_delivery: p.estimated,
                delivered_at: delivered.then_some(last.at),
                received_by: delivered.then(|| "JOHN".to_string()),
                signature: delivered.then(|| b"GIF89a-signature".to_vec()),
                status_at: None,
                history: Vec::new(),
            },
            events,
        })
    }

    async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<&Destination>,
    ) -> Result<SubscribeOutcome, CarrierError> {
        assert!(
            numbers.len() <= 100,
            "UPS accepts at most 100 numbers per call"
        );
        let now = self.clock.now();
        let mut st = self.st.lock().unwrap();
        st.subscribe_calls.push(SubscribeCall {
            at: now,
            numbers: numbers.to_vec(),
            destination_url: destination.map(|d| d.url.clone()),
        });
        let mut out = SubscribeOutcome::default();
        for tn in numbers {
            if st.invalid.contains(tn) {
                out.invalid.push(tn.clone());
                continue;
            }
            st.subs.entry(tn.clone()).or_default().push(now);
            out.valid.push(tn.clone());
        }
        Ok(out)
    }
}

// ---------- fake ERP ----------

#[derive(Debug, Clone)]
pub struct ErpWrite {
    pub at: DateTime<Utc>,
    pub plan: WriteBack,
}

pub struct FakeErp {
    clock: TestClock,
    pub writes: Mutex<Vec<ErpWrite>>,
    /// record id → current header fields
    pub records: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    pub fail_transient: Mutex<bool>,
}

impl FakeErp {
    pub fn new(clock: TestClock) -> Arc<FakeErp> {
        Arc::new(FakeErp {
            clock,
            writes: Mutex::new(Vec::new()),
            records: Mutex::new(BTreeMap::new()),
            fail_transient: Mutex::new(false),
        })
    }

    pub fn field(&self, record: &str, field: &str) -> Option<Value> {
        self.records
            .lock()
            .unwrap()
            .get(record)?
            .get(field)
            .cloned()
    }

    /// Status values written to one record, consecutive repeats removed.
    pub fn status_history(&self, record: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for w in self.writes.lock().unwrap().iter() {
            if w.plan.record_id != record {
                continue;
            }
            for (k, v) in &w.plan.fields {
                if k == STATUS {
                    let s = v.as_str().unwrap_or_default().to_string();
                    if out.last() != Some(&s) {
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    pub fn write_times(&self) -> Vec<DateTime<Utc>> {
        self.writes.lock().unwrap().iter().map(|w| w.at).collect()
    }
}

#[async_trait]
impl Source for FakeErp {
    fn name(&self) -> &str {
        "erp"
    }
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn poll(&self, _cursor: &Cursor) -> Result<Page, SourceError> {
        Ok(Page::default())
    }
    async fn fetch(&self, _id: &str) -> Result<Option<ErpRecord>, SourceError> {
        Ok(None)
    }
    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError> {
        if *self.fail_transient.lock().unwrap() {
            return Err(SourceError::Transient {
                system: "erp".into(),
                message: "busy".into(),
            });
        }
        self.writes.lock().unwrap().push(ErpWrite {
            at: self.clock.now(),
            plan: plan.clone(),
        });
        let mut recs = self.records.lock().unwrap();
        let rec = recs.entry(plan.record_id.clone()).or_default();
        for (k, v) in &plan.fields {
            rec.insert(k.clone(), v.clone());
        }
        Ok(())
    }
}

pub const STATUS: &str = "custom.Document.UsrUpsStatus";
pub const LAST_SCAN: &str = "custom.Document.UsrUpsLastScan";
pub const ESTIMATED: &str = "custom.Document.UsrUpsEstimatedDelivery";
pub const DELIVERED_AT: &str = "custom.Document.UsrUpsDeliveredAt";
pub const RECEIVED_BY: &str = "custom.Document.UsrUpsReceivedBy";
pub const SIGNATURE: &str = "custom.Document.UsrUpsSignature";

/// Mapping with Acumatica-like write-back fields.
pub struct FakeMapper;

impl Mapper for FakeMapper {
    fn to_shipment(&self, _record: &ErpRecord) -> Result<Shipment, MappingFailure> {
        Err(MappingFailure {
            problems: vec![("not_used".into(), "tracking tests do not map".into())],
        })
    }
    fn write_back_shipped(&self, record: &ErpRecord, _result: &ShipResult) -> WriteBack {
        WriteBack {
            record_id: record.id.clone(),
            ..WriteBack::default()
        }
    }
    fn write_back_failure(&self, record: &ErpRecord, _code: &str, _message: &str) -> WriteBack {
        WriteBack {
            record_id: record.id.clone(),
            ..WriteBack::default()
        }
    }
    fn write_back_tracking(&self, record: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        let mut fields = vec![(STATUS.to_string(), Value::from(s.milestone.label()))];
        if let Some(e) = &s.latest {
            fields.push((
                LAST_SCAN.to_string(),
                Value::from(format!(
                    "{} {} {}",
                    e.time.format("%Y-%m-%d %H:%M"),
                    e.location.clone().unwrap_or_default(),
                    e.description
                )),
            ));
        }
        if let Some(d) = s.estimated_delivery {
            fields.push((ESTIMATED.to_string(), Value::from(d.to_string())));
        }
        if let Some(d) = s.delivered_at {
            fields.push((DELIVERED_AT.to_string(), Value::from(d.to_rfc3339())));
        }
        if let Some(r) = &s.received_by {
            fields.push((RECEIVED_BY.to_string(), Value::from(r.clone())));
        }
        if let Some(sig) = &s.signature {
            fields.push((SIGNATURE.to_string(), Value::from(sig.len())));
        }
        WriteBack {
            record_id: record.id.clone(),
            fields,
            ..WriteBack::default()
        }
    }
    fn is_cancelled(&self, _record: &ErpRecord) -> bool {
        false
    }
    fn void_on_cancel(&self) -> bool {
        false
    }
}

// ---------- ledger jobs ----------

/// Put a job in `tracking` state into the ledger (as the pipeline leaves it after write-back).
pub fn tracking_job(ledger: &Ledger, record_id: &str, numbers: &[&str], now: DateTime<Utc>) -> Job {
    let record = ErpRecord {
        source: "erp".into(),
        id: record_id.into(),
        number: format!("S{record_id}"),
        version: "v1".into(),
        modified: now,
        data: json!({}),
    };
    let mut job = Job::new(record, now);
    job.result = Some(ShipResult {
        shipment_id: numbers[0].to_string(),
        service_code: "03".into(),
        packages: numbers
            .iter()
            .enumerate()
            .map(|(i, tn)| PackageResult {
                tracking_number: tn.to_string(),
                erp_line_id: format!("{}", i + 1),
                label: None,
            })
            .collect(),
        charges: Charges::default(),
        alerts: vec![],
        documents: vec![],
        paperless: None,
    });
    job.transition(JobState::Shipped, "", now);
    job.transition(JobState::WrittenBack, "", now);
    job.transition(JobState::Tracking, "", now);
    ledger.save(&job).unwrap();
    job
}

/// A 1Z number with a valid check digit (UPS-REFERENCE §11) for shipper `123X56`.
pub fn one_z(service: &str, serial: u32) -> String {
    let body = format!("123X56{service}{serial:07}");
    let mut sum = 0u32;
    for (i, c) in body.chars().enumerate() {
        let v = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            (c as u32 - 63) % 10
        };
        sum += if i % 2 == 1 { 2 * v } else { v };
    }
    format!("1Z{body}{}", (10 - sum % 10) % 10)
}

pub fn open_store() -> (tempfile::TempDir, Arc<Store>) {
    open_store_on(None)
}

/// A store on sled (`None`) or in the PostgreSQL database `url` (`upsync::both_stores!`).
pub fn open_store_on(url: Option<String>) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = match url {
        None => Store::open(dir.path(), None).unwrap(),
        Some(u) => Store::open_postgres(&upsync::store::PgTarget::new(u), None).unwrap(),
    };
    (dir, Arc::new(store))
}

/// Largest number of timestamps inside any window of `width` (timestamps sorted).
pub fn max_in_window(times: &[DateTime<Utc>], width: Duration) -> usize {
    let mut t: Vec<DateTime<Utc>> = times.to_vec();
    t.sort();
    let mut best = 0;
    let mut lo = 0;
    for hi in 0..t.len() {
        while t[hi] - t[lo] >= width {
            lo += 1;
        }
        best = best.max(hi - lo + 1);
    }
    best
}
