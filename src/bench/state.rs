//! Scenario `state`: a ledger of N jobs (most delivered): startup time, disk size, RSS;
//! then retention pruning.

use super::*;

pub(super) async fn state(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    use crate::store::{MasterKey, Store};
    let n = args.shipments.unwrap_or(1_000_000);
    // Real jobs as templates: ship a few through the pipeline first.
    let mut o = world_options(args, &dir.join("template"), 20);
    o.acumatica_shipments = 20;
    o.netsuite_fulfillments = 0;
    let w = World::start(o).await?;
    let templates: Vec<crate::pipeline::Job> = {
        let store = w.open_store()?;
        let a = w.assemble(store).await?;
        drive(&a.pipeline, Duration::from_secs(120)).await?;
        a.pipeline
            .ledger()
            .jobs(None, Some(JobState::Tracking))
            .filter_map(Result::ok)
            .collect()
    };
    anyhow::ensure!(!templates.is_empty(), "no template job shipped");
    let template_bytes = templates
        .iter()
        .map(|j| serde_json::to_vec(j).map(|v| v.len()).unwrap_or(0))
        .sum::<usize>()
        / templates.len();
    let part = |v: serde_json::Result<Vec<u8>>| v.map(|v| v.len()).unwrap_or(0);
    let t = &templates[0];
    let parts = json!({
        "record": part(serde_json::to_vec(&t.record)),
        "shipment": part(serde_json::to_vec(&t.shipment)),
        "result": part(serde_json::to_vec(&t.result)),
        "timeline": part(serde_json::to_vec(&t.timeline)),
    });
    let state_dir = dir.join("state-big");
    let key = MasterKey::load(&w.key_path)?;
    let old = chrono::Utc::now() - chrono::Duration::days(200);
    let t_fill = Instant::now();
    {
        let store = Arc::new(Store::open(&state_dir, Some(key.clone()))?);
        let ledger = crate::pipeline::Ledger::new(store.clone());
        for i in 0..n {
            let mut j = templates[i % templates.len()].clone();
            j.record_id = format!("{:08}", i);
            j.record.id = j.record_id.clone();
            j.id = crate::pipeline::ledger::job_id(&j.source, &j.record_id, &j.version);
            // 95 % delivered (half of them past retention), 5 % still tracking.
            if i % 20 != 0 {
                j.state = JobState::Delivered;
                if i % 2 == 0 {
                    j.updated_at = old;
                }
            }
            ledger.save(&j)?;
            if i % 100_000 == 99_999 {
                store.flush()?;
            }
        }
        store.flush()?;
    }
    let fill_secs = t_fill.elapsed().as_secs_f64();
    let disk_before = measure::dir_size_mb(&state_dir);
    let rss_before_open = measure::rss_mb();
    let t_open = Instant::now();
    let store = Arc::new(Store::open(&state_dir, Some(key))?);
    let ledger = crate::pipeline::Ledger::new(store.clone());
    let startup = t_open.elapsed().as_secs_f64();
    let rss_after_open = measure::rss_mb();
    let counts: i64 = ledger.state_counts().values().sum();
    let t_active = Instant::now();
    let active = ledger.active_ids("acumatica")?.len();
    let active_scan = t_active.elapsed().as_secs_f64();
    let t_prune = Instant::now();
    let pruned = ledger.prune(chrono::Utc::now() - chrono::Duration::days(120))?;
    store.flush()?;
    let prune_secs = t_prune.elapsed().as_secs_f64();
    let after: i64 = ledger.state_counts().values().sum();
    drop(ledger);
    drop(store);
    let disk_after = measure::dir_size_mb(&state_dir);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("state"));
    m.insert("jobs".into(), json!(n));
    m.insert("job_json_bytes_avg".into(), json!(template_bytes));
    m.insert("job_json_parts_bytes".into(), parts);
    // 95 % of the filled jobs are delivered, and stored compacted.
    let mut delivered = templates[0].clone();
    delivered.compact();
    m.insert(
        "delivered_job_json_bytes".into(),
        json!(serde_json::to_vec(&delivered).map(|v| v.len()).unwrap_or(0)),
    );
    m.insert("fill_seconds".into(), json!(round(fill_secs, 1)));
    m.insert("disk_mb".into(), json!(round(disk_before, 1)));
    m.insert("startup_seconds".into(), json!(round(startup, 3)));
    m.insert("rss_mb_after_open".into(), json!(round(rss_after_open, 1)));
    m.insert(
        "rss_mb_open_delta".into(),
        json!(round(rss_after_open - rss_before_open, 1)),
    );
    m.insert("counted_jobs".into(), json!(counts));
    m.insert("active_ids".into(), json!(active));
    m.insert("active_scan_seconds".into(), json!(round(active_scan, 3)));
    m.insert("retention_days".into(), json!(120));
    m.insert("pruned".into(), json!(pruned));
    m.insert("prune_seconds".into(), json!(round(prune_secs, 1)));
    m.insert("jobs_after_prune".into(), json!(after));
    m.insert("disk_mb_after_prune".into(), json!(round(disk_after, 1)));
    m.insert(
        "peak_rss_mb".into(),
        json!(round(measure::peak_rss_mb(), 1)),
    );
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(m)
}
