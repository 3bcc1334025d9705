//! Issue 4, Must-show 4: a 422 on write-back is reported with the field's own error text,
//! and the job waits in the dead-letter queue with that reason; it is not shipped again,
//! and `replay` after the ERP accepts the field resumes the write-back only.

use upsync::app::world::{World, WorldOptions};
use upsync::pipeline::JobState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_422_on_write_back_dead_letters_the_job_with_the_fields_own_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 3;
    o.netsuite_fulfillments = 0;
    let w = World::start(o).await.unwrap();
    let acu = w.acumatica.as_ref().unwrap();
    let http = reqwest::Client::new();
    let text = "'Tracking Number' is not valid for this carrier.";
    let r = http
        .put(format!("{}/_sim/acumatica/reject", acu.base_url))
        .json(&serde_json::json!({"field": "TrackingNbr", "message": text}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let store = w.open_store().unwrap();
    let a = w.assemble(store).await.unwrap();
    let conn = a.pipeline.connectors()[0].clone();
    a.pipeline.run_cycle(&conn).await.unwrap();

    let ledger = a.pipeline.ledger();
    let failed: Vec<_> = ledger
        .jobs(None, Some(JobState::Failed))
        .map(Result::unwrap)
        .collect();
    assert!(!failed.is_empty(), "write-back rejections must dead-letter");
    let shipped_before = w.ups.stats().get("ship.created").copied().unwrap_or(0);
    for job in &failed {
        let err = job.last_error.as_ref().unwrap();
        assert_eq!(err.code, "erp_rejected_write");
        assert!(err.message.contains(text), "{}", err.message);
        assert!(err.message.contains("TrackingNbr"), "{}", err.message);
        assert!(
            job.result.is_some(),
            "the label exists: the job failed after shipping"
        );
    }
    let dl = ledger.dead_letters().unwrap();
    assert_eq!(
        dl.len(),
        failed.len(),
        "{dl:#?}\n{:#?}",
        failed.iter().map(|j| &j.id).collect::<Vec<_>>()
    );
    assert!(dl.iter().all(|d| d.failure.message.contains(text)));

    // Another cycle does not ship them again.
    a.pipeline.run_cycle(&conn).await.unwrap();
    assert_eq!(
        w.ups.stats().get("ship.created").copied().unwrap_or(0),
        shipped_before
    );

    // The ERP accepts the field again: replay resumes the write-back, no new Ship.
    http.delete(format!("{}/_sim/acumatica/reject", acu.base_url))
        .send()
        .await
        .unwrap();
    for job in &failed {
        let done = a.pipeline.replay(&job.id).await.unwrap();
        assert_eq!(done.state, JobState::Tracking, "{}", done.id);
    }
    assert_eq!(
        w.ups.stats().get("ship.created").copied().unwrap_or(0),
        shipped_before
    );
    assert!(ledger.dead_letters().unwrap().is_empty());
    for job in &failed {
        let rec = acu.state.shipment(&job.record_id).expect("record exists");
        let tn = job.result.as_ref().unwrap().packages[0]
            .tracking_number
            .clone();
        assert!(rec.to_string().contains(&tn), "{} lacks {tn}", job.number);
    }
}

/// Issue 15 item 8, through the pipeline: the mapping confirms each shipment after its
/// write-back, and several jobs write back at once over the connector's one session. While a
/// ConfirmShipment runs, Acumatica fails that session's other requests (the simulator does
/// too); the connector holds them back until the action ends, so no job is dead-lettered
/// and the simulator never sees a request hit the running action. Before the fix, the
/// concurrent write-backs hit it and were dead-lettered as rejected writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_write_backs_with_confirm_never_dead_letter_for_a_busy_session() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 12;
    o.netsuite_fulfillments = 0;
    o.jobs_in_flight = 4;
    let w = World::start(o).await.unwrap();
    let profile = w.dir.join("connectors/acumatica.yaml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        text.replace(
            "action_poll_interval_ms: 1000",
            "action_poll_interval_ms: 20",
        ),
    )
    .unwrap();
    let acu = w.acumatica.as_ref().unwrap();
    let store = w.open_store().unwrap();
    let a = w.assemble(store).await.unwrap();
    let conn = a.pipeline.connectors()[0].clone();
    for _ in 0..3 {
        a.pipeline.run_cycle(&conn).await.unwrap();
    }
    let ledger = a.pipeline.ledger();
    let dl = ledger.dead_letters().unwrap();
    assert!(dl.is_empty(), "{dl:#?}");
    let tracking: Vec<_> = ledger
        .jobs(None, Some(JobState::Tracking))
        .map(Result::unwrap)
        .collect();
    assert!(
        tracking.len() >= 4,
        "only {} jobs got through",
        tracking.len()
    );
    for job in &tracking {
        let rec = acu.state.shipment(&job.record_id).unwrap();
        assert_eq!(rec["Status"]["value"], "Confirmed", "{}", job.number);
    }
    assert_eq!(
        acu.core.stats.get("busy"),
        0,
        "a request hit a running action"
    );
    assert!(acu.core.stats.get("action.ConfirmShipment") >= 4);
}
