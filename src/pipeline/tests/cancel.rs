//! Engine tests: what happens to a shipped record afterwards — an address change is a
//! conflict, a cancellation voids at UPS, a record deleted in the ERP is voided or flagged.

use super::*;

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
