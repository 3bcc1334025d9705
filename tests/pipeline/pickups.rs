//! Issue 20, pickups and the dispatch calendar, end to end in process: the daemon's
//! assembly (on the UPS simulator's clock) against the Acumatica and UPS simulators, with a
//! `dispatch:` section in which both warehouses (MAIN, WEST) book on-call pickups.
//!
//! * one PRN per site and business day, for every label of that day, written back to each
//!   ERP record; the next day, a new PRN;
//! * a crash between the pickup request and its store (the answer dropped after UPS booked
//!   it, then a new assembly on the same store, as after a restart) books one pickup: the
//!   restarted daemon adopts the PRN from UPS's pending list;
//! * a pickup whose shipments are all voided is cancelled at UPS;
//! * every Pickup request the simulator recorded validates against Pickup.yaml, and every
//!   Ship carried the calendar's `ShipmentDate`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::Value;
use upsync::app::world::World;
use upsync::dispatch::{Pickup, PickupState};
use upsync::pipeline::JobState;
use upsync::sim::ups::schema::{validate, BodySchema};

use crate::pipeline_support::*;

const DISPATCH: &str = r#"dispatch:
  pickups: {mode: on_call}
  sites:
    - {key: MAIN, time_zone: UTC, cutoff: "17:00", working_days: [mon, tue, wed, thu, fri, sat, sun]}
    - {key: WEST, time_zone: UTC, cutoff: "17:00", working_days: [mon, tue, wed, thu, fri, sat, sun]}
"#;

/// Move the UPS simulator's clock to the next 10:00 UTC (before the 17:00 cutoffs).
async fn to_ten_oclock(w: &World) -> DateTime<Utc> {
    let now = w.ups.core.clock.now();
    let ten = now
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap());
    let mut at = ten.and_utc();
    if at <= now {
        at += Duration::days(1);
    }
    w.ups.advance(at - now).await;
    w.ups.core.clock.now()
}

async fn world(dir: &std::path::Path, faults: &str, store_url: Option<String>) -> World {
    let mut o = options(dir, 8, 0);
    o.store_url = store_url;
    o.record_dir = Some(dir.join("record"));
    o.ups_faults = faults.into();
    let w = start(o).await;
    let mut cfg = std::fs::read_to_string(&w.config_path).unwrap();
    cfg.push_str(DISPATCH);
    std::fs::write(&w.config_path, cfg).unwrap();
    w
}

async fn cycle(a: &upsync::app::wiring::Assembly) {
    for c in a.pipeline.connectors() {
        let r = a.pipeline.run_cycle(c).await.unwrap();
        assert!(r.paused.is_none(), "{r:?}");
    }
}

fn book(a: &upsync::app::wiring::Assembly) -> Vec<Pickup> {
    a.pipeline
        .dispatch()
        .expect("dispatch")
        .book()
        .all()
        .unwrap()
}

fn erp_field(w: &World, record_id: &str, field: &str) -> Option<String> {
    w.acumatica
        .as_ref()
        .unwrap()
        .state
        .shipment(record_id)?
        .pointer(&format!("/custom/Document/{field}/value"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Every recorded request whose path contains `needle`.
fn recorded(dir: &std::path::Path, needle: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir.join("record/ups")) else {
        return out;
    };
    for e in rd {
        let v: Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        if v["path"].as_str().unwrap_or("").contains(needle) {
            out.push(v);
        }
    }
    out
}

/// Every recorded Pickup creation body validates against the official schema.
fn assert_recorded_pickups_validate(dir: &std::path::Path) -> usize {
    let creations = recorded(dir, "/pickupcreation/");
    for r in &creations {
        let mut body = r["body"].clone();
        assert_eq!(
            validate(BodySchema::PickupCreation, &mut body, false),
            Ok(vec![]),
            "{r}"
        );
    }
    creations.len()
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_pickup_per_site_and_day_covers_every_label_and_its_prn_reaches_the_erp(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let w = world(dir.path(), "", store_url).await;
        let day1 = to_ten_oclock(&w).await.date_naive();
        let store = w.open_store().unwrap();
        let a = w.assemble_on_sim_clock(store).await.unwrap();
        cycle(&a).await;

        let shipped: Vec<_> = a
            .pipeline
            .ledger()
            .jobs(None, Some(JobState::Tracking))
            .map(|j| j.unwrap())
            .collect();
        assert!(shipped.len() >= 3, "{}", shipped.len());
        // Every Ship carried the calendar's date (today, before the cutoff) and the ERP has it.
        for j in &shipped {
            assert_eq!(
                j.shipment.as_ref().unwrap().ship_date,
                Some(day1),
                "{}",
                j.id
            );
            assert_eq!(
                erp_field(&w, &j.record_id, "UsrUpsShipDate").as_deref(),
                Some(day1.format("%Y-%m-%d").to_string().as_str())
            );
        }
        let dumped = w.ups.shipments();
        for s in dumped.as_array().unwrap() {
            assert_eq!(
                s["ship_date"],
                Value::String(day1.format("%Y-%m-%d").to_string())
            );
        }

        let pickups = book(&a);
        let sites: BTreeSet<&str> = pickups.iter().map(|p| p.site.as_str()).collect();
        assert_eq!(
            pickups.len(),
            sites.len(),
            "one pickup per site: {pickups:?}"
        );
        assert!(
            pickups.iter().any(|p| p.shipments.len() >= 2),
            "a site with two labels the same day: {pickups:?}"
        );
        let mut prns = BTreeSet::new();
        for p in &pickups {
            assert_eq!(p.state, PickupState::Booked, "{p:?}");
            assert_eq!(p.date, day1);
            assert_eq!(p.requests, 1);
            let prn = p.prn.clone().unwrap();
            assert!(prns.insert(prn.clone()), "PRNs differ per site");
            for c in &p.shipments {
                let job = a.pipeline.ledger().get(&c.job_id).unwrap().unwrap();
                assert_eq!(
                    erp_field(&w, &job.record_id, "UsrUpsPickupPrn").as_deref(),
                    Some(prn.as_str()),
                    "{} has its PRN",
                    c.number
                );
            }
            let packages: u32 = p.shipments.iter().map(|c| c.packages).sum();
            assert_eq!(
                p.request().pieces.iter().map(|x| x.quantity).sum::<u32>(),
                packages
            );
        }
        assert_eq!(
            w.ups.stats().get("pickup.created").copied(),
            Some(pickups.len() as u64)
        );

        // A label later the same day is covered by the same PRN.
        let before: BTreeMap<String, usize> = pickups
            .iter()
            .map(|p| (p.site.clone(), p.shipments.len()))
            .collect();
        add_acumatica_shipment(&w).await;
        add_acumatica_shipment(&w).await;
        cycle(&a).await;
        let later = book(&a);
        let grown: Vec<_> = later
            .iter()
            .filter(|p| before.get(&p.site).is_some_and(|n| p.shipments.len() > *n))
            .collect();
        assert!(!grown.is_empty(), "{later:?}");
        for p in &grown {
            let prn = p.prn.clone().unwrap();
            assert!(prns.contains(&prn), "same PRN later the same day");
            assert!(p
                .shipments
                .iter()
                .all(|c| c.prn_written.as_deref() == Some(prn.as_str())));
        }
        let created_day1 = w.ups.stats().get("pickup.created").copied().unwrap_or(0);
        assert_eq!(created_day1, later.len() as u64, "nothing booked twice");

        // The next day: a new pickup, a new PRN.
        w.ups.advance(Duration::days(1)).await;
        add_acumatica_shipment(&w).await;
        add_acumatica_shipment(&w).await;
        add_acumatica_shipment(&w).await;
        cycle(&a).await;
        let all = book(&a);
        let day2: Vec<_> = all
            .iter()
            .filter(|p| p.date == day1.succ_opt().unwrap())
            .collect();
        assert!(!day2.is_empty(), "{all:?}");
        for p in day2 {
            assert_eq!(p.state, PickupState::Booked);
            assert!(
                !prns.contains(p.prn.as_ref().unwrap()),
                "a new day, a new PRN"
            );
        }
        assert_eq!(
            assert_recorded_pickups_validate(dir.path()) as u64,
            all.len() as u64
        );
    }
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crash_between_the_pickup_request_and_its_store_books_one_pickup(store_url) {
        let dir = tempfile::tempdir().unwrap();
        // UPS books the first pickup and the answer is lost.
        let w = world(dir.path(), "pickup:drop-after-commit#1", store_url).await;
        to_ten_oclock(&w).await;
        let store = w.open_store().unwrap();
        {
            let a = w.assemble_on_sim_clock(store.clone()).await.unwrap();
            cycle(&a).await;
            let in_doubt: Vec<_> = book(&a)
                .into_iter()
                .filter(|p| p.state == PickupState::Requesting)
                .collect();
            assert_eq!(in_doubt.len(), 1, "{:?}", book(&a));
            assert_eq!(
                w.ups.stats().get("pickup.drop_after_commit").copied(),
                Some(1)
            );
            // The daemon goes away here; only the store remains.
        }
        let sim_before: Vec<_> = w.ups.state.pickups.all();
        let a = w.assemble_on_sim_clock(store).await.unwrap();
        cycle(&a).await;
        let pickups = book(&a);
        assert!(
            pickups.iter().all(|p| p.state == PickupState::Booked),
            "{pickups:?}"
        );
        let sim_after = w.ups.state.pickups.all();
        assert_eq!(sim_after.len(), sim_before.len(), "no second booking");
        assert_eq!(sim_after.len(), pickups.len(), "one booking per site");
        for p in &pickups {
            assert_eq!(p.requests, 1, "one creation request for {}", p.site);
            let at_ups = sim_after
                .iter()
                .find(|s| s.reference.as_deref() == Some(p.reference.as_str()))
                .unwrap();
            assert_eq!(p.prn.as_deref(), Some(at_ups.prn.as_str()), "PRN adopted");
            assert!(p.history.iter().any(|(_, n)| n.contains("adopted")) || p.requests == 1);
        }
        assert!(pickups
            .iter()
            .any(|p| p.history.iter().any(|(_, n)| n.contains("adopted"))));
        // The simulator saw exactly one creation per site, all valid, and a pending lookup.
        assert_eq!(assert_recorded_pickups_validate(dir.path()), pickups.len());
        assert!(!recorded(dir.path(), "/pickup/oncall").is_empty());
    }
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pickup_whose_shipments_are_all_voided_is_cancelled_at_ups(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let w = world(dir.path(), "", store_url).await;
        to_ten_oclock(&w).await;
        let store = w.open_store().unwrap();
        let a = w.assemble_on_sim_clock(store).await.unwrap();
        cycle(&a).await;
        let pickups = book(&a);
        let target = pickups
            .iter()
            .min_by_key(|p| p.shipments.len())
            .unwrap()
            .clone();
        let other: Vec<_> = pickups.iter().filter(|p| p.site != target.site).collect();
        // The warehouse cancels every shipment of the site's day: corrected and deleted in the
        // ERP, the pipeline voids their labels (`void_on_cancel`). (`jobs void` alone would
        // re-ship the record: a new label the same day.)
        for c in &target.shipments {
            let job = a.pipeline.ledger().get(&c.job_id).unwrap().unwrap();
            crate::cancel::acumatica_correct_and_delete(&w, &job.number, &job.record_id).await;
        }
        // The deleted-record check runs at most every 15 minutes of the pipeline's clock.
        w.ups.advance(Duration::minutes(16)).await;
        cycle(&a).await;
        for c in &target.shipments {
            let job = a.pipeline.ledger().get(&c.job_id).unwrap().unwrap();
            assert_eq!(job.state, JobState::Voided, "{}", job.id);
        }
        let after = a
            .pipeline
            .dispatch()
            .unwrap()
            .book()
            .get(&target.site, target.date)
            .unwrap()
            .unwrap();
        assert_eq!(after.state, PickupState::Cancelled, "{after:?}");
        let at_ups = w.ups.state.pickups.all();
        let prn = target.prn.clone().unwrap();
        assert!(at_ups.iter().any(|p| p.prn == prn && p.cancelled));
        assert_eq!(w.ups.stats().get("pickup.cancelled").copied(), Some(1));
        for p in other {
            assert!(at_ups
                .iter()
                .any(|s| Some(&s.prn) == p.prn.as_ref() && !s.cancelled));
        }
        // Cancelling again (the CLI's path) is refused by UPS for an unknown PRN.
        let e = a.pipeline.cancel_pickup("29XXXXXXXXX").await.unwrap_err();
        assert!(e.to_string().contains("29XXXXXXXXX"), "{e}");
    }
}
