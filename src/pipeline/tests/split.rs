//! Engine tests: split groups (`over_limit: split`): every part shipped exactly once,
//! through crashes and in-doubt answers in the middle of the group, void of every part, a
//! refused part, and old single-shipment jobs unchanged.

use super::*;
use crate::pipeline::Job;

/// The fake mapping, international: `lines` customs lines and `packages` packages from
/// the record, `over_limit: split` at 50 lines.
struct SplitMapper;

impl Mapper for SplitMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        let mut s = FakeMapper.to_shipment(r)?;
        let lines = r.data["lines"].as_u64().unwrap_or(1) as usize;
        let packages = r.data["packages"].as_u64().unwrap_or(1) as usize;
        let p = s.packages[0].clone();
        s.packages = (0..packages)
            .map(|i| Package {
                erp_line_id: format!("p{}", i + 1),
                ..p.clone()
            })
            .collect();
        s.ship_to.address.country = "CA".into();
        s.international = Some(International {
            form_types: vec!["01".into()],
            paperless: None,
            invoice_number: Some(r.number.clone()),
            invoice_date: None,
            currency: "USD".into(),
            reason_for_export: "SALE".into(),
            terms_of_shipment: None,
            products: (0..lines)
                .map(|i| Product {
                    description: format!("Item {i}"),
                    hs_code: Some("847130".into()),
                    origin_country: "US".into(),
                    quantity: Decimal::ONE,
                    unit_of_measure: "PCS".into(),
                    unit_value: Decimal::from(10),
                    part_number: None,
                })
                .collect(),
            max_lines: 50,
            split: true,
        });
        Ok(s)
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![(
                "tracking".into(),
                res.packages
                    .iter()
                    .map(|p| p.tracking_number.clone())
                    .collect::<Vec<_>>()
                    .join(",")
                    .into(),
            )],
            ..Default::default()
        }
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
        true
    }
}

fn record(lines: u64, packages: u64) -> serde_json::Value {
    serde_json::json!({"weight": 3.0, "lines": lines, "packages": packages})
}

fn job(h: &H) -> Job {
    h.p.ledger().current_for("erp", "r1").unwrap().unwrap()
}

/// Every part's reference has exactly one live shipment at UPS, and UPS holds no other
/// live shipment of the record.
fn assert_one_live_per_part(h: &H, job: &Job) {
    assert_eq!(job.parts.len(), 3);
    for p in &job.parts {
        assert_eq!(h.ups.live_for(&p.reference), 1, "part {}", p.reference);
    }
    assert_eq!(
        h.ups.live_for("Nr1"),
        3,
        "three live shipments for the record"
    );
}

/// 120 lines → three UPS shipments of 40 lines and 2 packages, distinct references, all
/// 1Z numbers in the job's result and written back to the one record.
#[tokio::test]
async fn a_record_over_the_limit_ships_as_three_parts() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.src.put("r1", 1, record(120, 6));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 3);
    let job = job(&h);
    assert_one_live_per_part(&h, &job);
    let refs: std::collections::BTreeSet<_> = job.parts.iter().map(|p| &p.reference).collect();
    assert_eq!(refs.len(), 3, "references distinct");
    assert!(job.parts[1].reference.ends_with("-P2of3"));
    for p in &job.parts {
        let intl = p.shipment.international.as_ref().unwrap();
        assert_eq!(intl.products.len(), 40);
        assert_eq!(p.shipment.packages.len(), 2);
    }
    let result = job.result.as_ref().unwrap();
    assert_eq!(result.packages.len(), 6);
    let ids: std::collections::BTreeSet<_> =
        result.packages.iter().map(|p| &p.tracking_number).collect();
    assert_eq!(ids.len(), 3, "1Z numbers of three shipments");
    let writes = h.src.writes.lock().unwrap();
    let tracking = writes
        .iter()
        .find_map(|w| w.fields.iter().find(|(k, _)| k == "tracking"))
        .map(|(_, v)| v.as_str().unwrap().to_string())
        .expect("written back");
    assert_eq!(tracking.split(',').count(), 6);
}

/// At the limit: one ordinary shipment, no parts.
#[tokio::test]
async fn a_record_at_the_limit_ships_whole() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.src.put("r1", 1, record(50, 1));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 1);
    assert!(job(&h).parts.is_empty());
}

/// Crash after part 2 of 3 shipped, with part 3's attempt flushed but never sent: after
/// restart part 3 is looked up, found absent, and shipped once; parts 1 and 2 are not
/// shipped again.
#[tokio::test]
async fn crash_after_part_two_shipped_ships_every_part_once() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.ups.script.lock().unwrap().extend(["ok", "ok", "crash"]);
    h.src.put("r1", 1, record(120, 3));
    h.cycle().await;
    let j = job(&h);
    assert_eq!(j.state, JobState::Shipping);
    assert!(j.parts[0].result.is_some() && j.parts[1].result.is_some());
    assert!(j.parts[2].attempt.is_some() && j.parts[2].result.is_none());
    assert_eq!(h.ups.live_for(&j.parts[2].reference), 0);
    h.run_minutes(40, 5).await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(
        h.ship_calls(),
        4,
        "three parts plus the one crashed attempt"
    );
    assert_one_live_per_part(&h, &job(&h));
}

/// In doubt on part 2 (UPS committed, the answer was lost): part 2 is reconciled by its
/// reference (labels recovered), never shipped again; part 3 ships after.
#[tokio::test]
async fn in_doubt_on_part_two_is_reconciled_not_reshipped() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.ups.script.lock().unwrap().extend(["ok", "drop"]);
    h.src.put("r1", 1, record(120, 3));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Shipping);
    assert_eq!(h.ship_calls(), 2);
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(
        h.ship_calls(),
        3,
        "part 2 found by reference: no second Ship"
    );
    let j = job(&h);
    assert_one_live_per_part(&h, &j);
    assert!(j
        .timeline
        .iter()
        .any(|t| t.note.starts_with("part 2/3 reconciled")));
}

/// The process dies after UPS committed part 2: found by reference after restart.
#[tokio::test]
async fn crash_after_commit_of_part_two_ships_every_part_once() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.ups
        .script
        .lock()
        .unwrap()
        .extend(["ok", "crash-after-commit"]);
    h.src.put("r1", 1, record(120, 3));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Shipping);
    h.run_minutes(10, 5).await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ship_calls(), 3);
    assert_one_live_per_part(&h, &job(&h));
}

/// UPS refuses part 2 (nothing created): part 1 is voided and the record dead-lettered
/// with UPS's code; no half group stays live.
#[tokio::test]
async fn a_refused_part_voids_the_group_and_dead_letters() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.ups.script.lock().unwrap().extend(["ok", "refuse"]);
    h.src.put("r1", 1, record(120, 3));
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Failed);
    assert_eq!(h.ups.live_for("Nr1"), 0, "part 1 voided");
    let j = job(&h);
    assert!(j.parts.is_empty());
    assert_eq!(
        j.last_error.as_ref().map(|f| f.code.as_str()),
        Some("ups_international_forms_invalid")
    );
}

/// `jobs void` voids every part of the group.
#[tokio::test]
async fn void_voids_every_part() {
    let h = H::with_mapper(Arc::new(SplitMapper));
    h.src.put("r1", 1, record(120, 3));
    h.cycle().await;
    let j = job(&h);
    assert_one_live_per_part(&h, &j);
    let voided = h.p.void(&j.id).await.unwrap();
    assert_eq!(voided.state, JobState::Voided);
    assert!(voided.parts.iter().all(|p| p.voided));
    for p in &j.parts {
        assert_eq!(h.ups.live_for(&p.reference), 0, "part {}", p.reference);
    }
}

/// A job recorded before split groups existed (no `parts` key) loads as a single shipment.
#[test]
fn old_jobs_load_without_parts() {
    let rec = ErpRecord {
        source: "erp".into(),
        id: "r1".into(),
        number: "Nr1".into(),
        version: "000001".into(),
        modified: Utc::now(),
        data: serde_json::json!({}),
    };
    let mut v = serde_json::to_value(Job::new(rec, Utc::now())).unwrap();
    assert!(v.get("parts").is_none(), "empty parts are not written");
    v.as_object_mut().unwrap().remove("parts");
    let job: Job = serde_json::from_value(v).unwrap();
    assert!(job.parts.is_empty());
    assert!(job.ups_shipment_ids().is_empty());
}
