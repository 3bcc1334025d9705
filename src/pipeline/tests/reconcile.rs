//! Engine tests: in-doubt reconciliation (drop after commit, crash while shipping, labels
//! UPS indexes late, duplicates), and replay of a job dead-lettered in doubt.

use super::*;

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
    let mut job = crate::pipeline::Job::new(rec.clone(), Utc::now());
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
    let reference = crate::pipeline::ledger::job_reference(&job.id);
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
    let reference = crate::pipeline::ledger::job_reference(&job.id);
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
    let reference = crate::pipeline::ledger::job_reference(&id);
    h.ups.push(&["Nr1", &reference], "1ZFAKE999999999999");
    h.advance_hours(1);
    h.cycle().await;
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(h.ups.live_for(&reference), 1);
    let job = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.duplicates_voided, 1);
}

#[tokio::test]
async fn replay_of_a_job_dead_lettered_in_doubt_reconciles_first() {
    let h = H::new();
    h.src.put("r1", 1, ok_record(2.0));
    let rec = h.src.fetch("r1").await.unwrap().unwrap();
    let now = Utc::now();
    let mut job = crate::pipeline::Job::new(rec.clone(), now);
    job.shipment = Some(FakeMapper.to_shipment(&rec).unwrap());
    job.transition(JobState::Shipping, "attempt 1", now);
    job.last_error = Some(crate::pipeline::ledger::Failure {
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
