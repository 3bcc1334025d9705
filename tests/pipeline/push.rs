//! Issue 23, Must show 1: ERP push notifications wake the connectors. With the poll
//! schedule hourly, records released in the Acumatica and NetSuite simulators are shipped
//! and written back soon after their push (waited for with a generous deadline, never
//! timed); with the simulators dropping every push, they ship at the next poll (run here
//! deterministically, as the schedule would); duplicated and reordered pushes change
//! nothing: one UPS shipment per record (the UPS simulator's counters and the consistency
//! audit), one job per record.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use upsync::app::world::World;

use crate::pipeline_support::*;

/// Generous: a push-woken cycle takes well under a second here; a loaded CI box may not.
const DEADLINE: Duration = Duration::from_secs(60);

/// A new ready UPS record in each ERP (templates with another carrier are skipped, as
/// the profiles would): (Acumatica ShipmentNbr, NetSuite id).
async fn release(w: &World) -> (String, u64) {
    let acu = loop {
        let r = sim_post(
            &w.acumatica.as_ref().unwrap().base_url,
            "/_sim/acumatica/shipments",
            &json!({"Hold": {"value": false}, "Status": {"value": "Open"}}),
        )
        .await;
        if v(&r["ShipVia"])
            .as_str()
            .is_some_and(|s| s.starts_with("UPS"))
        {
            break v(&r["ShipmentNbr"]).as_str().unwrap().to_string();
        }
    };
    let ns = loop {
        let (id, _) = add_netsuite_fulfillment(w).await;
        let f = w.netsuite.as_ref().unwrap().sim.fulfillment(id).unwrap();
        if upsync::sim::netsuite::store::ship_method_name(f.shipmethod).starts_with("UPS") {
            break id;
        }
    };
    (acu, ns)
}

/// Every package line of the record carries a tracking number.
fn written_back(w: &World, (acu, ns): &(String, u64)) -> bool {
    let a = w.acumatica.as_ref().unwrap().state.shipment(acu).unwrap();
    let a_done = a["Packages"].as_array().is_some_and(|p| {
        !p.is_empty()
            && p.iter()
                .all(|p| v(&p["TrackingNbr"]).as_str().is_some_and(is_1z))
    });
    let f = w.netsuite.as_ref().unwrap().sim.fulfillment(*ns).unwrap();
    let n_done = !f.packages.is_empty()
        && f.packages
            .iter()
            .all(|p| p.tracking.as_deref().is_some_and(is_1z));
    a_done && n_done
}

async fn wait_written_back(w: &World, records: &[(String, u64)], what: &str) {
    let t = Instant::now();
    while !records.iter().all(|r| written_back(w, r)) {
        assert!(
            t.elapsed() < DEADLINE,
            "{what}: not written back: {records:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn faults(w: &World, spec: &str) {
    w.acumatica
        .as_ref()
        .unwrap()
        .core
        .faults
        .replace(spec)
        .unwrap();
    w.netsuite
        .as_ref()
        .unwrap()
        .core
        .faults
        .replace(spec)
        .unwrap();
}

fn push_stat(w: &World, key: &str) -> u64 {
    w.acumatica.as_ref().unwrap().core.stats.get(key)
        + w.netsuite.as_ref().unwrap().core.stats.get(key)
}

fn ships(w: &World) -> u64 {
    w.ups.stats().get("ship.created").copied().unwrap_or(0)
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pushes_wake_the_connectors_and_lost_or_repeated_pushes_change_nothing(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 2, 2);
        o.store_url = store_url;
        o.schedule = "0 * * * *".into(); // hourly: the safety net, not what ships here
        let w = World::start(o).await.unwrap();
        upsync::bench::push::enable(&w, 0).unwrap();
        let store = w.open_store().unwrap();
        let a = Arc::new(w.assemble(store).await.unwrap());
        let p = a.pipeline.clone();
        // The seeds, read once before pushes start (as a first poll would).
        for c in p.connectors() {
            p.run_cycle(c).await.unwrap();
        }
        upsync::bench::push::serve_and_point(&w, &a).await.unwrap();
        let (_stop_tx, stop) = tokio::sync::watch::channel(false);
        tokio::spawn(a.push.clone().run(stop));
        let sched = upsync::pipeline::schedule::start(p.clone(), &a.schedules, None)
            .await
            .unwrap();
        let ships_before = ships(&w);

        // 1. Pushes on: released records ship without a poll.
        let first = vec![release(&w).await, release(&w).await];
        wait_written_back(&w, &first, "pushed releases").await;
        let accepted = |erp: &str| {
            a.push
                .stats(erp)
                .unwrap()
                .accepted
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        assert!(accepted("acumatica") >= 2 && accepted("netsuite") >= 2);

        // 2. Every push lost: nothing wakes the connectors; the next poll ships them.
        faults(&w, "push:drop");
        let dropped_before = push_stat(&w, "push.dropped");
        let lost = vec![release(&w).await];
        let t = Instant::now();
        while push_stat(&w, "push.dropped") < dropped_before + 2 {
            assert!(
                t.elapsed() < DEADLINE,
                "the simulators did not drop the pushes"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !written_back(&w, &lost[0]),
            "with its pushes lost, a record waits for the poll"
        );
        for c in p.connectors() {
            p.run_cycle_queued(c).await.unwrap(); // the hourly poll, now
        }
        wait_written_back(&w, &lost, "released while pushes were lost, after the poll").await;

        // 3. Duplicated, then reordered pushes.
        faults(&w, "push:duplicate");
        let dup = vec![release(&w).await, release(&w).await];
        wait_written_back(&w, &dup, "duplicated pushes").await;
        faults(&w, "push:reorder");
        let reordered = vec![release(&w).await, release(&w).await, release(&w).await];
        wait_written_back(&w, &reordered, "reordered pushes").await;
        assert!(
            push_stat(&w, "push.duplicated") >= 2,
            "duplicates were sent"
        );
        assert!(
            push_stat(&w, "push.reordered") >= 2,
            "pushes were reordered"
        );
        faults(&w, "");

        // Exactly one UPS shipment per released record, one job per record, no strays.
        let records = first.len() + lost.len() + dup.len() + reordered.len();
        // Let any follow-up cycle finish before counting.
        for c in p.connectors() {
            p.run_cycle_queued(c).await.unwrap();
        }
        assert_eq!(
            ships(&w) - ships_before,
            2 * records as u64,
            "one Ship per released record in each ERP"
        );
        let audit = upsync::bench::audit(&w);
        assert_eq!(
            (audit.lost, audit.duplicates, audit.inconsistent),
            (0, 0, 0),
            "{audit:?}"
        );
        let jobs: Vec<_> = p.ledger().jobs(None, None).map(Result::unwrap).collect();
        let ledger_records: std::collections::BTreeSet<String> = jobs
            .iter()
            .map(|j| format!("{}/{}", j.source, j.number))
            .collect();
        assert_eq!(jobs.len(), ledger_records.len(), "one job per record");
        drop(sched);
    }
}
