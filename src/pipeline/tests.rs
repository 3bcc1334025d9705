//! Engine tests against in-memory fakes of a source, UPS and a mapping.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::engine::{Clock, Connector, ConnectorSettings, Pipeline, PipelineSettings};
use super::ledger::{JobState, Ledger};
use super::ports::{Carrier, CarrierError, FoundShipment, Mapper, MappingFailure};
use crate::model::*;
use crate::sources::{Cursor, Page, Source, SourceError};
use crate::store::Store;

// ---------- fake ERP ----------

#[derive(Default)]
struct FakeSource {
    records: Mutex<BTreeMap<String, ErpRecord>>,
    writes: Mutex<Vec<WriteBack>>,
    fail_writes: Mutex<bool>,
}

impl FakeSource {
    fn put(&self, id: &str, version: u32, data: serde_json::Value) {
        self.records.lock().unwrap().insert(
            id.to_string(),
            ErpRecord {
                source: "erp".into(),
                id: id.into(),
                number: format!("N{id}"),
                version: format!("{version:06}"),
                modified: Utc::now(),
                data,
            },
        );
    }
}

#[async_trait]
impl Source for FakeSource {
    fn name(&self) -> &str {
        "erp"
    }
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        // Cursor = highest version seen; overlap on the boundary (>=) like a real source.
        let from = cursor.0.as_str().unwrap_or("").to_string();
        let recs: Vec<ErpRecord> = self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.version >= from)
            .cloned()
            .collect();
        let max = recs.iter().map(|r| r.version.clone()).max().unwrap_or(from);
        Ok(Page {
            records: recs,
            cursor: Cursor(serde_json::Value::String(max)),
            more: false,
        })
    }
    async fn fetch(&self, id: &str) -> Result<Option<ErpRecord>, SourceError> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }
    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError> {
        if *self.fail_writes.lock().unwrap() {
            return Err(SourceError::Rejected {
                system: "erp".into(),
                record: plan.record_id.clone(),
                message: "rejected".into(),
                fields: vec![crate::sources::FieldError {
                    field: "TrackingNbr".into(),
                    message: "Tracking number is too long".into(),
                }],
            });
        }
        self.writes.lock().unwrap().push(plan.clone());
        Ok(())
    }
}

// ---------- fake UPS ----------

#[derive(Default)]
struct FakeUps {
    /// shipments: (reference values, id, voided)
    shipments: Mutex<Vec<(Vec<String>, String, bool)>>,
    ship_calls: Mutex<u32>,
    /// Next ship calls: "drop" (commit, then outcome unknown), "429", "auth".
    script: Mutex<Vec<&'static str>>,
    /// Lookups by reference that find nothing although the shipment exists (UPS's
    /// reference index lagging a fresh label).
    unindexed_lookups: Mutex<u32>,
    lookups: Mutex<u32>,
}

impl FakeUps {
    fn live_for(&self, reference: &str) -> usize {
        self.shipments
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, v)| r.iter().any(|x| x == reference) && !v)
            .count()
    }

    fn push(&self, references: &[&str], id: &str) {
        self.shipments.lock().unwrap().push((
            references.iter().map(|r| r.to_string()).collect(),
            id.into(),
            false,
        ));
    }
}

#[async_trait]
impl Carrier for FakeUps {
    async fn validate_address(&self, a: &Address) -> Result<AddressCheck, CarrierError> {
        if a.lines.iter().any(|l| l.contains("Nowhere")) {
            return Ok(AddressCheck::NoCandidates);
        }
        Ok(AddressCheck::Valid {
            residential: Some(a.lines.iter().any(|l| l.contains("Apt"))),
            candidate: None,
        })
    }
    async fn shop(&self, _s: &Shipment) -> Result<Vec<RateQuote>, CarrierError> {
        Ok(vec![])
    }
    async fn ship(&self, s: &Shipment) -> Result<ShipResult, CarrierError> {
        *self.ship_calls.lock().unwrap() += 1;
        let next = {
            let mut sc = self.script.lock().unwrap();
            if sc.is_empty() {
                None
            } else {
                Some(sc.remove(0))
            }
        };
        match next {
            Some("429") => return Err(CarrierError::transient("ups_rate_limited", "429")),
            Some("auth") => {
                return Err(CarrierError {
                    class: ErrorClass::Auth,
                    code: "ups_auth".into(),
                    message: "bad token".into(),
                    outcome_unknown: false,
                })
            }
            _ => {}
        }
        let n = self.shipments.lock().unwrap().len();
        let id = format!("1ZFAKE{n:012}");
        let refs: Vec<String> = std::iter::once(s.number.clone())
            .chain(s.references.iter().map(|r| r.value.clone()))
            .collect();
        self.shipments
            .lock()
            .unwrap()
            .push((refs, id.clone(), false));
        if next == Some("drop") {
            return Err(CarrierError::outcome_unknown("connection reset after send"));
        }
        Ok(result_for(&id, s))
    }
    async fn find_by_reference(
        &self,
        reference: &str,
        _shipper: &str,
        _from: NaiveDate,
        _to: NaiveDate,
    ) -> Result<Vec<FoundShipment>, CarrierError> {
        *self.lookups.lock().unwrap() += 1;
        {
            let mut hidden = self.unindexed_lookups.lock().unwrap();
            if *hidden > 0 {
                *hidden -= 1;
                return Ok(vec![]);
            }
        }
        Ok(self
            .shipments
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, _)| r.iter().any(|x| x == reference))
            .map(|(_, id, v)| FoundShipment {
                shipment_id: id.clone(),
                tracking_numbers: vec![id.clone()],
                voided: *v,
            })
            .collect())
    }
    async fn recover(
        &self,
        found: &FoundShipment,
        s: &Shipment,
        _l: &LabelSpec,
    ) -> Result<ShipResult, CarrierError> {
        Ok(result_for(&found.shipment_id, s))
    }
    async fn void(&self, id: &str) -> Result<(), CarrierError> {
        for s in self.shipments.lock().unwrap().iter_mut() {
            if s.1 == id {
                s.2 = true;
            }
        }
        Ok(())
    }
}

fn result_for(id: &str, s: &Shipment) -> ShipResult {
    ShipResult {
        shipment_id: id.to_string(),
        service_code: "03".into(),
        packages: s
            .packages
            .iter()
            .map(|p| PackageResult {
                tracking_number: id.to_string(),
                erp_line_id: p.erp_line_id.clone(),
                label: Some(Label {
                    format: LabelFormat::Zpl,
                    data: b"^XA^XZ".to_vec(),
                }),
            })
            .collect(),
        charges: Charges::default(),
        alerts: vec![],
    }
}

// ---------- fake mapping ----------

struct FakeMapper;

impl Mapper for FakeMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        let d = &r.data;
        let weight = d["weight"].as_f64().unwrap_or(0.0);
        if weight <= 0.0 {
            return Err(MappingFailure {
                problems: vec![(
                    "package_weight_missing".into(),
                    "Packages[0].Weight is missing".into(),
                )],
            });
        }
        let addr = Address {
            lines: vec![d["street"].as_str().unwrap_or("1 Main St").to_string()],
            city: d["city"].as_str().unwrap_or("Atlanta").to_string(),
            state: "GA".into(),
            postal_code: "30005".into(),
            country: "US".into(),
            residential: None,
            po_box: false,
        };
        Ok(Shipment {
            source: r.source.clone(),
            record_id: r.id.clone(),
            number: r.number.clone(),
            account_number: "123X56".into(),
            shipper: Party {
                name: "Shipper".into(),
                address: addr.clone(),
                ..Default::default()
            },
            ship_from: None,
            ship_to: Party {
                name: "Customer".into(),
                address: addr,
                ..Default::default()
            },
            service: ServiceSelection::Fixed { code: "03".into() },
            packages: vec![Package {
                erp_line_id: "p1".into(),
                weight: Weight {
                    value: Decimal::try_from(weight).unwrap(),
                    unit: WeightUnit::Lbs,
                },
                dimensions: None,
                packaging: "02".into(),
                description: None,
                declared_value: None,
            }],
            references: vec![Reference {
                code: "TN".into(),
                value: r.number.clone(),
                barcode: false,
            }],
            description: None,
            label: LabelSpec {
                format: LabelFormat::Zpl,
                stock_size: Some((6, 4)),
            },
            notifications: vec![],
            international: None,
            ship_date: None,
            negotiated_rates: true,
        })
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("tracking".into(), res.shipment_id.clone().into())],
            ..Default::default()
        }
    }
    fn write_back_failure(&self, r: &ErpRecord, code: &str, _m: &str) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("error".into(), code.into())],
            ..Default::default()
        }
    }
    fn write_back_tracking(&self, r: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("status".into(), s.milestone.label().into())],
            ..Default::default()
        }
    }
    fn is_cancelled(&self, r: &ErpRecord) -> bool {
        r.data["cancelled"].as_bool().unwrap_or(false)
    }
    fn void_on_cancel(&self) -> bool {
        true
    }
}

// ---------- harness ----------

struct H {
    _dir: tempfile::TempDir,
    src: Arc<FakeSource>,
    ups: Arc<FakeUps>,
    now: Arc<Mutex<DateTime<Utc>>>,
    p: Pipeline,
}

impl H {
    fn new() -> H {
        H::with_mapper(Arc::new(FakeMapper))
    }

    fn with_mapper(mapper: Arc<dyn Mapper>) -> H {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let src = Arc::new(FakeSource::default());
        let ups = Arc::new(FakeUps::default());
        let now = Arc::new(Mutex::new(Utc::now()));
        let n2 = now.clone();
        let clock = Clock::from_fn(move || *n2.lock().unwrap());
        let conn = Arc::new(Connector::new(
            "erp",
            src.clone(),
            mapper,
            ConnectorSettings::default(),
        ));
        let p = Pipeline::new(
            Ledger::new(store),
            ups.clone(),
            vec![conn],
            PipelineSettings::default(),
            clock,
        );
        H {
            _dir: dir,
            src,
            ups,
            now,
            p,
        }
    }

    async fn cycle(&self) -> super::CycleReport {
        let c = self.p.connector("erp").unwrap().clone();
        self.p.run_cycle(&c).await.unwrap()
    }

    fn advance_hours(&self, h: i64) {
        *self.now.lock().unwrap() += chrono::Duration::hours(h);
    }

    /// Cycles every `step` minutes for `minutes` minutes of pipeline time.
    async fn run_minutes(&self, minutes: i64, step: i64) {
        let mut t = 0;
        while t < minutes {
            *self.now.lock().unwrap() += chrono::Duration::minutes(step);
            self.cycle().await;
            t += step;
        }
    }

    fn state(&self, id: &str) -> JobState {
        self.p
            .ledger()
            .current_for("erp", id)
            .unwrap()
            .unwrap()
            .state
    }

    fn ship_calls(&self) -> u32 {
        *self.ups.ship_calls.lock().unwrap()
    }
}

fn ok_record(weight: f64) -> serde_json::Value {
    serde_json::json!({"weight": weight, "street": "1 Main St", "city": "Atlanta"})
}

#[tokio::test]
async fn records_are_shipped_once_and_written_back() {
    let h = H::new();
    for i in 0..3 {
        h.src.put(&format!("r{i}"), 1, ok_record(2.0));
    }
    let r = h.cycle().await;
    assert_eq!(r.jobs_created, 3);
    for i in 0..3 {
        assert_eq!(h.state(&format!("r{i}")), JobState::Tracking);
    }
    assert_eq!(h.ship_calls(), 3);
    assert_eq!(h.src.writes.lock().unwrap().len(), 3);
    // The overlapping next poll re-reads the same versions: nothing new happens.
    let r = h.cycle().await;
    assert_eq!(r.jobs_created, 0);
    assert_eq!(h.ship_calls(), 3);
}

#[tokio::test]
async fn drop_after_commit_is_reconciled_without_a_second_ship() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("drop");
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    assert_eq!(
        h.state("r1"),
        JobState::Shipping,
        "in doubt after outcome unknown"
    );
    assert_eq!(h.ship_calls(), 1);
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(
        h.ship_calls(),
        1,
        "reconciliation found the shipment: no second Ship"
    );
    assert_eq!(h.ups.live_for("Nr1"), 1);
    assert_eq!(
        h.p.stats
            .in_doubt_found
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

#[tokio::test]
async fn crash_while_shipping_with_nothing_at_ups_ships_once() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    // Simulate a crash right after `shipping` was flushed and before Ship was sent.
    let rec = h.src.fetch("r1").await.unwrap().unwrap();
    let mut job = super::Job::new(rec.clone(), Utc::now());
    job.shipment = Some(FakeMapper.to_shipment(&rec).unwrap());
    job.transition(JobState::Shipping, "attempt 1", Utc::now());
    h.p.ledger().save_flushed(&job).await.unwrap();
    // One lookup that finds nothing proves nothing (UPS indexes new labels late): the job
    // stays in doubt until lookups over the absent window all missed.
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Shipping);
    assert_eq!(h.ship_calls(), 0);
    h.run_minutes(40, 5).await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert!(job
        .timeline
        .iter()
        .any(|t| t.note.contains("reconciled: UPS has no shipment")));
}

/// Issue 15 item 1: a fresh label that UPS's reference search does not find yet is not
/// shipped again. Before: the first empty lookup re-shipped at once (two labels).
#[tokio::test]
async fn a_label_not_yet_found_by_reference_is_not_shipped_twice() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("drop");
    *h.ups.unindexed_lookups.lock().unwrap() = 2;
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Shipping);
    h.run_minutes(60, 5).await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(
        h.ship_calls(),
        1,
        "found on the third lookup: no second Ship"
    );
    assert!(*h.ups.lookups.lock().unwrap() >= 3);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    let reference = super::ledger::job_reference(&job.id);
    assert_eq!(h.ups.live_for(&reference), 1);
    assert_eq!(
        job.ship_attempt.as_ref().unwrap().reference.as_deref(),
        Some(reference.as_str())
    );
}

/// Issue 15 item 1: absence is final only after the window; the job ships again and its
/// reference is watched, so a first shipment that UPS indexes even later is voided.
#[tokio::test]
async fn a_late_indexed_first_label_is_voided_after_the_reship() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("drop");
    *h.ups.unindexed_lookups.lock().unwrap() = 4;
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    h.run_minutes(60, 5).await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 2, "absent over the window: shipped again");
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    let reference = super::ledger::job_reference(&job.id);
    assert_eq!(
        h.ups.live_for(&reference),
        2,
        "the first label exists after all"
    );
    assert!(h.p.ledger().get_watch(&job.id).unwrap().is_some());
    // UPS now finds both by the job's reference: the watch voids the one the job does not hold.
    h.run_minutes(60, 10).await;
    assert_eq!(h.ups.live_for(&reference), 1);
    let kept = job.result.as_ref().unwrap().shipment_id.clone();
    assert!(h
        .ups
        .shipments
        .lock()
        .unwrap()
        .iter()
        .any(|(_, id, voided)| *id == kept && !voided));
    assert_eq!(
        h.p.stats
            .late_duplicates_voided
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // The watch ends after its window.
    h.advance_hours(49);
    h.cycle().await;
    assert!(h.p.ledger().get_watch(&job.id).unwrap().is_none());
}

/// Issue 15 item 1: reconciliation looks up the job's own reference, so another shipment
/// that merely carries the same ERP number (another shipper, another job) is left alone.
#[tokio::test]
async fn a_shipment_that_only_shares_the_erp_number_is_not_taken_or_voided() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("drop");
    h.ups.push(&["Nr1"], "1ZOTHER00000000001");
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_ne!(
        job.result.as_ref().unwrap().shipment_id,
        "1ZOTHER00000000001"
    );
    assert_eq!(
        h.ups.live_for("Nr1"),
        2,
        "the other shipment is not ours to void"
    );
}

#[tokio::test]
async fn duplicates_found_by_reconciliation_are_voided_and_counted() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("drop");
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    // A second shipment of this very job exists meanwhile (an earlier attempt's).
    let id = h.p.ledger().current_for("erp", "r1").unwrap().unwrap().id;
    let reference = super::ledger::job_reference(&id);
    h.ups.push(&["Nr1", &reference], "1ZFAKE999999999999");
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ups.live_for(&reference), 1);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.duplicates_voided, 1);
}

#[tokio::test]
async fn business_failure_dead_letters_and_a_fixed_record_ships() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(0.0));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Failed);
    let dl = h.p.ledger().dead_letters().unwrap();
    assert_eq!(dl.len(), 1);
    assert_eq!(dl[0].failure.code, "package_weight_missing");
    assert!(h
        .src
        .writes
        .lock()
        .unwrap()
        .iter()
        .any(|w| w.fields[0].1 == "package_weight_missing"));
    assert_eq!(h.ship_calls(), 0);
    h.src.put("r1", 2, ok_record(3.0));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
    assert!(h.p.ledger().dead_letters().unwrap().is_empty());
}

#[tokio::test]
async fn invalid_address_dead_letters_and_replay_after_fix_ships_once() {
    let h = H::new();
    h.src.put(
        "r1",
        1,
        serde_json::json!({"weight": 1.0, "street": "999 Nowhere Rd"}),
    );
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Failed);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.last_error.as_ref().unwrap().code, "address_invalid");
    // Fixed in place without a version change (e.g. mapping fix): replay.
    h.src.put(
        "r1",
        1,
        serde_json::json!({"weight": 1.0, "street": "12 Real St"}),
    );
    let done = h.p.replay(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
    // Replaying a shipped job is refused and ships nothing.
    assert!(h.p.replay(&job.id).await.is_err());
    assert_eq!(h.ship_calls(), 1);
}

#[tokio::test]
async fn address_change_after_shipping_is_a_conflict_not_a_reship() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    // Our own write-back bumps the version without changing content: no conflict.
    h.src.put("r1", 2, ok_record(2.0));
    h.cycle().await;
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert!(job.conflict.is_none());
    // A real address change.
    h.src.put(
        "r1",
        3,
        serde_json::json!({"weight": 2.0, "street": "5 Other St", "city": "Macon"}),
    );
    h.cycle().await;
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    let c = job.conflict.as_ref().expect("conflict flagged");
    assert!(c.what.contains("street"));
    assert_eq!(h.ship_calls(), 1, "not re-shipped");
    // The operator voids and re-ships.
    let voided = h.p.void(&job.id).await.unwrap();
    assert_eq!(voided.state, JobState::Voided);
    assert_eq!(h.ship_calls(), 2);
    assert_eq!(h.ups.live_for("Nr1"), 1);
}

#[tokio::test]
async fn transient_ship_failure_is_retried_later_without_blocking() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("429");
    h.src.put("r1", 1, ok_record(2.0));
    h.src.put("r2", 1, ok_record(2.0));
    h.cycle().await;
    let states = [h.state("r1"), h.state("r2")];
    assert!(states.contains(&JobState::AddressChecked));
    assert!(
        states.contains(&JobState::Tracking),
        "other job not blocked"
    );
    h.advance_hours(2);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.state("r2"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 3);
    assert_eq!(h.ups.live_for("Nr1") + h.ups.live_for("Nr2"), 2);
}

#[tokio::test]
async fn auth_failure_pauses_the_connector() {
    let h = H::new();
    h.ups.script.lock().unwrap().push("auth");
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    let conn = h.p.connector("erp").unwrap();
    assert!(conn.health.paused_reason().is_some());
    let r = h.cycle().await;
    assert!(r.paused.is_some());
    assert_eq!(h.ship_calls(), 1);
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
}

#[tokio::test]
async fn write_back_rejection_dead_letters_and_replay_resumes_without_shipping() {
    let h = H::new();
    *h.src.fail_writes.lock().unwrap() = true;
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    assert!(job
        .last_error
        .as_ref()
        .unwrap()
        .message
        .contains("Tracking number is too long"));
    // Writing the failure reason to the ERP bumps the record's version: the shipped job must
    // not be superseded (that would ship it again).
    h.src.put("r1", 2, ok_record(2.0));
    h.cycle().await;
    assert_eq!(
        h.ship_calls(),
        1,
        "a dead-lettered job that holds a shipment ships once"
    );
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Failed);
    *h.src.fail_writes.lock().unwrap() = false;
    let done = h.p.replay(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
}

#[tokio::test]
async fn cancellation_after_shipping_voids_at_ups() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    h.src.put(
        "r1",
        2,
        serde_json::json!({"weight": 2.0, "cancelled": true}),
    );
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Voided);
    assert_eq!(h.ups.live_for("Nr1"), 0);
}

#[tokio::test]
async fn a_new_version_that_maps_the_same_leaves_a_dead_letter_alone() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(0.0));
    h.cycle().await;
    let failed = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    // Our own write-back of the reason (or any edit UPS never sees) bumps the version.
    h.src.put("r1", 2, ok_record(0.0));
    let r = h.cycle().await;
    assert_eq!(r.jobs_created, 0);
    let still = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(still.id, failed.id);
    assert_eq!(h.p.ledger().jobs(None, None).count(), 1);
}

#[tokio::test]
async fn replay_of_a_job_dead_lettered_in_doubt_reconciles_first() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    let rec = h.src.fetch("r1").await.unwrap().unwrap();
    let now = Utc::now();
    let mut job = super::Job::new(rec.clone(), now);
    job.shipment = Some(FakeMapper.to_shipment(&rec).unwrap());
    job.transition(JobState::Shipping, "attempt 1", now);
    job.last_error = Some(super::ledger::Failure {
        class: crate::model::ErrorClass::Business,
        code: "ups_label_not_found".into(),
        message: "label recovery refused".into(),
        at: now,
    });
    job.transition(JobState::Failed, "ups_label_not_found", now);
    h.p.ledger().save_flushed(&job).await.unwrap();
    // The Ship had reached UPS.
    h.ups.push(&["Nr1"], "1ZINDOUBT000000001");
    // A newer version of the record does not start a second shipment either.
    h.src.put("r1", 2, ok_record(2.5));
    h.cycle().await;
    assert_eq!(h.ship_calls(), 0);
    let done = h.p.replay(&job.id).await.unwrap();
    assert_eq!(done.state, JobState::Tracking);
    assert_eq!(h.ship_calls(), 0, "reconciled, not shipped again");
    assert_eq!(h.ups.live_for("Nr1"), 1);
    assert_eq!(
        done.result.as_ref().unwrap().shipment_id,
        "1ZINDOUBT000000001"
    );
}

// ---------- cheapest service within days: the real UPS client against the UPS simulator ----------

/// FakeMapper's record with a fixed lane and `CheapestWithin { max_business_days }`.
struct LaneMapper {
    to: Address,
    max_business_days: u32,
}

impl Mapper for LaneMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        let mut s = FakeMapper.to_shipment(r)?;
        s.shipper.address = Address {
            lines: vec!["2311 York Rd".into()],
            city: "Timonium".into(),
            state: "MD".into(),
            postal_code: "21093".into(),
            country: "US".into(),
            residential: None,
            po_box: false,
        };
        s.ship_to.address = self.to.clone();
        s.service = ServiceSelection::CheapestWithin {
            max_business_days: self.max_business_days,
            allowed: vec![],
            fallback: None,
        };
        Ok(s)
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        FakeMapper.write_back_shipped(r, res)
    }
    fn write_back_failure(&self, r: &ErpRecord, code: &str, m: &str) -> WriteBack {
        FakeMapper.write_back_failure(r, code, m)
    }
    fn write_back_tracking(&self, r: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        FakeMapper.write_back_tracking(r, s)
    }
    fn is_cancelled(&self, r: &ErpRecord) -> bool {
        FakeMapper.is_cancelled(r)
    }
    fn void_on_cancel(&self) -> bool {
        false
    }
}

/// Ship one record from Timonium MD 21093 to `to` with "cheapest within `days` business
/// days", through the real [`crate::ups::UpsClient`] and the UPS simulator; the service
/// the simulator shipped with.
async fn cheapest_within(to: Address, days: u32) -> String {
    let sim = crate::sim::ups::spawn(crate::sim::ups::UpsSimConfig {
        tick_interval_ms: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = crate::ups::UpsClient::new(
        crate::ups::UpsClientConfig::new(&sim.base_url, "123X56"),
        crate::ups::UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(crate::ups::MemoryTokenStore::new()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let src = Arc::new(FakeSource::default());
    let conn = Arc::new(Connector::new(
        "erp",
        src.clone(),
        Arc::new(LaneMapper {
            to,
            max_business_days: days,
        }),
        ConnectorSettings {
            validate_address: false,
            ..ConnectorSettings::default()
        },
    ));
    let clock = Clock::system();
    let p = Pipeline::new(
        Ledger::new(store),
        Arc::new(crate::app::adapters::UpsCarrier::new(client)),
        vec![conn.clone()],
        PipelineSettings::default(),
        clock,
    );
    src.put("r1", 1, ok_record(5.0));
    p.run_cycle(&conn).await.unwrap();
    let job = p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Tracking, "{:?}", job.last_error);
    let shipped = sim.shipments();
    assert_eq!(shipped.as_array().unwrap().len(), 1, "{shipped}");
    let service = shipped[0]["service"].as_str().unwrap().to_string();
    sim.shutdown();
    service
}

fn us(city: &str, state: &str, zip: &str) -> Address {
    Address {
        lines: vec!["1 Main St".into()],
        city: city.into(),
        state: state.into(),
        postal_code: zip.into(),
        country: "US".into(),
        residential: None,
        po_box: false,
    }
}

/// Guards issue 15 item 3: Ground (cheapest, 1 business day MD→GA in the simulator) wins
/// "cheapest within 2 days" over the air services. UPS gives Ground's days only in
/// `TimeInTransit` (request option `Shoptimeintransit`), never in `GuaranteedDelivery`; the
/// old client asked `Shop?additionalinfo=timeintransit`, saw no days for Ground and shipped
/// 2nd Day Air.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheapest_service_within_days_ships_ground_when_ground_is_fast_enough() {
    let service = cheapest_within(us("Alpharetta", "GA", "30005"), 2).await;
    assert_eq!(service, "03");
}

/// Guards issue 15 item 3: when Ground is too slow (4 business days MD→CA in the
/// simulator), the cheapest air service within 3 days (3 Day Select) wins over the dearer
/// 2nd Day Air and Next Day Air.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheapest_service_within_days_ships_the_cheapest_air_when_ground_is_too_slow() {
    let service = cheapest_within(us("Beverly Hills", "CA", "90210"), 3).await;
    assert_eq!(service, "12");
}

// ---------- records deleted in the ERP after shipping (issue 15 item 13) ----------

/// The fake mapping with `void_on_cancel: false`.
struct NoVoidMapper;

impl Mapper for NoVoidMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        FakeMapper.to_shipment(r)
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        FakeMapper.write_back_shipped(r, res)
    }
    fn write_back_failure(&self, r: &ErpRecord, code: &str, m: &str) -> WriteBack {
        FakeMapper.write_back_failure(r, code, m)
    }
    fn write_back_tracking(&self, r: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        FakeMapper.write_back_tracking(r, s)
    }
    fn is_cancelled(&self, r: &ErpRecord) -> bool {
        FakeMapper.is_cancelled(r)
    }
    fn void_on_cancel(&self) -> bool {
        false
    }
}

/// Guards: a shipped record that disappears from the ERP (how NetSuite and Acumatica
/// cancel) gets its UPS shipment voided and its job ends `voided`; the check runs at most
/// once per `vanished_check_seconds` on the injected clock. The old pipeline never looked:
/// the job stayed in `tracking` with a live label.
#[tokio::test]
async fn a_record_deleted_after_shipping_is_voided() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    h.src.put("r2", 1, ok_record(3.0));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    h.src.records.lock().unwrap().remove("r1");
    h.cycle().await;
    assert_eq!(
        h.state("r1"),
        JobState::Tracking,
        "checked at most once per vanished_check_seconds (900 s)"
    );
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Voided);
    assert_eq!(h.ups.live_for("Nr1"), 0);
    assert_eq!(
        h.state("r2"),
        JobState::Tracking,
        "the record still there is left alone"
    );
    assert_eq!(h.ups.live_for("Nr2"), 1);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert!(job
        .timeline
        .last()
        .unwrap()
        .note
        .starts_with("deleted in ERP; voided"));
    assert_eq!(
        h.p.stats.voided.load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}

/// Guards: with `void_on_cancel: false` a deleted record is surfaced on its job (conflict
/// note + counter), once, and its shipment stays live — never silently ignored.
#[tokio::test]
async fn a_record_deleted_without_void_on_cancel_is_flagged_once() {
    let h = H::with_mapper(Arc::new(NoVoidMapper));
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    h.src.records.lock().unwrap().remove("r1");
    for _ in 0..2 {
        h.advance_hours(1);
        h.cycle().await;
    }
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Tracking);
    let c = job.conflict.expect("flagged");
    assert_eq!(c.version, "(deleted in ERP)");
    assert!(c.what.contains("void_on_cancel: false"), "{}", c.what);
    assert_eq!(h.ups.live_for("Nr1"), 1);
    assert_eq!(
        h.p.stats
            .conflicts
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
}
