//! `upsync bench --scenario reconcile`: exactly-once when Ship answers are lost and UPS's
//! reference search lags (issue 15 item 1).
//!
//! The world: both ERPs (or `--mix`), the UPS simulator dropping ~`--drop-rate` of Ship
//! answers after the shipment is created (`drop-after-commit`), finding a new shipment by
//! reference only `--reference-index-delay-minutes` after it was created, and holding
//! another shipper's shipments that carry the very same ERP numbers (reference values are
//! free text). upsync runs on the simulator's clock, which moves one minute per cycle, so
//! an hour of UPS time passes in seconds.
//!
//! The line: `shipments`, `drops` (Ship answers lost after commit), `reships` (in-doubt jobs
//! that reconciliation declared absent and shipped again), `late_duplicates_voided`,
//! `duplicates_billed` (live extra labels of ours at UPS at the end), `lost` (ERP records
//! without their 1Z numbers). Both of the last two must be 0. `--absent-after-minutes`
//! shorter than the index delay shows the other path: re-ships happen and the late first
//! labels are voided by the watch.
//!
//! Never: print addresses or secrets; counts only.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

use serde_json::{json, Map, Value};

use super::{active_jobs, audit, fast_action_polling, round, world_options, BenchArgs, Mix};
use crate::app::world::World;

/// The other shipper in the simulator (not one of upsync's accounts).
const OTHER_SHIPPER: &str = "999Z99";

pub async fn reconcile(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    // About one seeded record in ten uses another carrier: 340 records give ≥ 300 shipments.
    let n = args.shipments.unwrap_or(340);
    let mut o = world_options(
        &BenchArgs {
            mix: Some(args.mix.unwrap_or(Mix::Both)),
            ..args.clone()
        },
        dir,
        n,
    );
    let drop_rate = args.drop_rate.clamp(0.0, 1.0);
    let delay = args.reference_index_delay_minutes.max(0);
    let absent_after = args.absent_after_minutes.max(1);
    o.ups_faults = format!("ship:drop-after-commit@{drop_rate}");
    o.ups_reference_index_delay_minutes = delay;
    o.reconcile_absent_after_seconds = absent_after as u64 * 60;
    o.reconcile_min_lookups = 3;
    // `--store-url`: the ledger in that PostgreSQL database instead of sled.
    o.store_url = args.store_url.clone();
    let w = World::start(o).await?;
    fast_action_polling(&w)?;
    // Another shipper uses the same document numbers as references.
    let numbers: Vec<String> = super::audit::erp_numbers(&w);
    for number in &numbers {
        w.ups
            .state
            .add_foreign_shipment(OTHER_SHIPPER, std::slice::from_ref(number));
    }
    let store = w.open_store()?;
    let a = w.assemble_on_sim_clock(store).await?;
    let p = a.pipeline.clone();
    let started = Instant::now();
    let ups_start = w.ups.core.clock.now();
    // Settle: every job shipped and written back; then keep going long enough for a label
    // that reconciliation gave up on to be indexed and found by the watch.
    let interval = (absent_after / 2).max(1);
    let tail_minutes = delay + 2 * interval + 5;
    let mut settled_at: Option<i64> = None;
    let mut minutes = 0i64;
    let mut cycles = 0usize;
    while minutes < 24 * 60 {
        for c in p.connectors() {
            p.run_cycle(c).await?;
        }
        cycles += 1;
        if active_jobs(&p) == 0 {
            let at = *settled_at.get_or_insert(minutes);
            if minutes - at >= tail_minutes {
                break;
            }
        } else {
            settled_at = None;
        }
        w.ups.advance(chrono::Duration::minutes(1)).await;
        minutes += 1;
    }
    let wall = started.elapsed();
    let ups_minutes = (w.ups.core.clock.now() - ups_start).num_minutes();
    let audit = audit(&w);
    let sim = w.ups.stats();
    let stat = |k: &str| sim.get(k).copied().unwrap_or(0);
    let s = &p.stats;
    let mut m = Map::new();
    m.insert("scenario".into(), json!("reconcile"));
    m.insert("shipments".into(), json!(s.shipped.load(Ordering::Relaxed)));
    m.insert("erp_records_expected".into(), json!(audit.expected));
    m.insert("drops".into(), json!(stat("ship.drop_after_commit")));
    m.insert("ship_requests".into(), json!(stat("ship")));
    m.insert(
        "in_doubt_found".into(),
        json!(s.in_doubt_found.load(Ordering::Relaxed)),
    );
    m.insert(
        "reconcile_misses".into(),
        json!(s.reconcile_misses.load(Ordering::Relaxed)),
    );
    m.insert(
        "reships".into(),
        json!(s.in_doubt_missing.load(Ordering::Relaxed)),
    );
    m.insert(
        "late_duplicates_voided".into(),
        json!(s.late_duplicates_voided.load(Ordering::Relaxed)),
    );
    m.insert(
        "duplicates_voided".into(),
        json!(s.duplicates_voided.load(Ordering::Relaxed)),
    );
    m.insert("duplicates_billed".into(), json!(audit.duplicates));
    m.insert("lost".into(), json!(audit.lost));
    m.insert("inconsistent".into(), json!(audit.inconsistent));
    m.insert("foreign_shipments".into(), json!(numbers.len()));
    m.insert("foreign_shipments_voided".into(), json!(foreign_voided(&w)));
    m.insert("drop_rate".into(), json!(drop_rate));
    m.insert("reference_index_delay_minutes".into(), json!(delay));
    m.insert("absent_after_minutes".into(), json!(absent_after));
    m.insert("ups_minutes_simulated".into(), json!(ups_minutes));
    m.insert("cycles".into(), json!(cycles));
    m.insert("wall_seconds".into(), json!(round(wall.as_secs_f64(), 3)));
    if !audit.examples.is_empty() {
        m.insert("examples".into(), json!(audit.examples));
    }
    Ok(m)
}

/// The other shipper's shipments that something voided (must be 0: never ours to void).
fn foreign_voided(w: &World) -> usize {
    w.ups
        .state
        .read_shipments()
        .list
        .iter()
        .filter(|s| s.shipper_number == OTHER_SHIPPER && s.voided())
        .count()
}
