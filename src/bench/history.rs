//! Scenario `history`: a poll cycle's ERP requests for a few changed records among 10k and
//! 100k.

use super::*;

/// One poll cycle's ERP requests with `changed` changed records among `total`.
pub(super) async fn history_one(
    args: &BenchArgs,
    dir: &Path,
    total: usize,
    changed: usize,
) -> anyhow::Result<Value> {
    use crate::sources::Cursor;
    let mut o = world_options(args, dir, total);
    if args.mix == Some(Mix::Both) {
        o.acumatica_shipments = total;
        o.netsuite_fulfillments = 0;
    }
    let w = World::start(o).await?;
    // The simulator holds its records as JSON values (about 100 KB each): most of the
    // process's memory is the ERP's, which a real deployment does not carry.
    let rss_seeded = measure::rss_mb();
    let store = w.open_store()?;
    let a = w.assemble(store).await?;
    let conn = a.pipeline.connectors()[0].clone();
    // The history: read everything once (what the first cycle does), keep the cursor.
    let mut cursor = Cursor::default();
    let t_first = Instant::now();
    let mut first_records = 0;
    loop {
        let page = conn.source.poll(&cursor).await?;
        first_records += page.records.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let first_secs = t_first.elapsed().as_secs_f64();
    let rss_read = measure::rss_mb();
    let before = erp_requests(&w);
    let first_requests = before;
    // Change a few records, then one more poll from the stored cursor.
    let http = reqwest::Client::new();
    if let Some(acu) = &w.acumatica {
        // The first seeded numbers (000001…), looked up one by one: a copy of every
        // shipment would double the simulator's memory for five records.
        let first = (1..=changed).filter_map(|n| acu.state.shipment(&format!("{n:06}")));
        for s in first {
            http.post(format!("{}/_sim/acumatica/shipments", acu.base_url))
                .json(&json!({"id": s["id"], "touch": true}))
                .send()
                .await?
                .error_for_status()?;
        }
    }
    if let Some(ns) = &w.netsuite {
        for id in 5000..5000 + changed as u64 {
            http.post(format!("{}/_sim/netsuite/fulfillments", ns.base_url))
                .json(&json!({"id": id, "memo": "touched"}))
                .send()
                .await?
                .error_for_status()?;
        }
    }
    let before = erp_requests(&w).max(before);
    let t = Instant::now();
    let mut read = 0;
    loop {
        let page = conn.source.poll(&cursor).await?;
        read += page.records.len();
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let after = erp_requests(&w);
    Ok(json!({
        "records": total,
        "changed": changed,
        "first_read_records": first_records,
        "first_read_requests": first_requests,
        "first_read_seconds": round(first_secs, 2),
        "cycle_records_read": read,
        "cycle_erp_requests": after - before,
        "cycle_seconds": round(secs, 3),
        "rss_mb_simulator_seeded": round(rss_seeded, 1),
        "rss_mb_after_first_read": round(rss_read, 1),
    }))
}

pub(super) async fn history(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let changed = 5;
    let small = args.shipments.unwrap_or(10_000);
    let r1 = history_one(args, &dir.join("h1"), small, changed).await?;
    let r2 = history_one(args, &dir.join("h2"), small * 10, changed).await?;
    let mut m = Map::new();
    m.insert("scenario".into(), json!("history"));
    m.insert(
        "connector".into(),
        json!(match args.mix {
            Some(Mix::Netsuite) => "netsuite",
            _ => "acumatica",
        }),
    );
    m.insert("small".into(), r1);
    m.insert("large".into(), r2);
    m.insert(
        "peak_rss_mb".into(),
        json!(round(measure::peak_rss_mb(), 1)),
    );
    Ok(m)
}
