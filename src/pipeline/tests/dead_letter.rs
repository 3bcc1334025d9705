//! Engine tests: failures by class — business failures dead-letter (and replay after a fix
//! ships once), transient ones retry, auth pauses the connector.

use super::*;

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
