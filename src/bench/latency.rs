//! Scenario `latency`: records released at a steady rate while the daemon polls on a short
//! schedule; release → written back p50/p99.

use super::*;

pub(super) async fn latency(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let secs = args.seconds.unwrap_or(30);
    let poll = 1u64;
    let mut o = world_options(args, dir, 1);
    o.netsuite_fulfillments = 0;
    o.acumatica_shipments = 1;
    o.schedule = format!("*/{poll} * * * * *");
    let w = World::start(o).await?;
    // The ERP's own confirm action (202 → 204) is polled every 10 ms, not the bundled 1 s:
    // a cycle waits for its slowest job, so a 1 s ERP action would hold the next poll.
    fast_action_polling(&w)?;
    let store = w.open_store()?;
    let a = Arc::new(w.assemble(store).await?);
    let acu = w.acumatica.as_ref().context("no Acumatica simulator")?;
    let mut sched =
        crate::pipeline::schedule::start(a.pipeline.clone(), &a.schedules, None).await?;
    let http = reqwest::Client::new();
    let span = measure::Span::start();
    let t0 = Instant::now();
    let mut released: HashMap<String, Instant> = HashMap::new();
    let mut done: HashMap<String, Duration> = HashMap::new();
    let every = Duration::from_secs_f64(1.0 / args.rate.max(0.1));
    let mut next = Instant::now();
    let mut last_check = Instant::now();
    // Looks up only the releases not yet written back (by ShipmentNbr), so the harness's
    // own CPU stays small next to upsync's.
    let check = |done: &mut HashMap<String, Duration>, released: &HashMap<String, Instant>| {
        for (nbr, at) in released {
            if done.contains_key(nbr) {
                continue;
            }
            let Some(s) = acu.state.shipment(nbr) else {
                continue;
            };
            let all = s["Packages"].as_array().is_some_and(|p| {
                !p.is_empty()
                    && p.iter().all(|p| {
                        p["TrackingNbr"]["value"]
                            .as_str()
                            .is_some_and(|t| !t.is_empty())
                    })
            });
            if all {
                done.insert(nbr.clone(), at.elapsed());
            }
        }
    };
    while t0.elapsed() < Duration::from_secs(secs) {
        if Instant::now() >= next {
            if let Some(nbr) = release_acumatica(&http, &acu.base_url).await? {
                released.insert(nbr, Instant::now());
            }
            next += every;
        }
        if last_check.elapsed() >= Duration::from_millis(50) {
            check(&mut done, &released);
            last_check = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let the last releases through (bounded).
    let drain = Instant::now();
    while done.len() < released.len() && drain.elapsed() < Duration::from_secs(poll + 10) {
        check(&mut done, &released);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let spent = span.stop();
    let _ = sched.shutdown().await;
    // Finish what is in flight so the audit sees a quiet world.
    drive(&a.pipeline, Duration::from_secs(30)).await?;
    let mut lat: Vec<f64> = done.values().map(Duration::as_secs_f64).collect();
    let p50 = measure::percentile(&mut lat, 50.0).unwrap_or(f64::NAN);
    let p99 = measure::percentile(&mut lat, 99.0).unwrap_or(f64::NAN);
    let max = measure::percentile(&mut lat, 100.0).unwrap_or(f64::NAN);
    let mut m = pipeline_line("latency", &w, &a, spent);
    m.insert("released".into(), json!(released.len()));
    m.insert("written_back".into(), json!(done.len()));
    m.insert("release_rate_per_second".into(), json!(args.rate));
    m.insert("poll_interval_seconds".into(), json!(poll));
    m.insert("release_to_written_back_p50_s".into(), json!(round(p50, 3)));
    m.insert("release_to_written_back_p99_s".into(), json!(round(p99, 3)));
    m.insert("release_to_written_back_max_s".into(), json!(round(max, 3)));
    m.insert("target_p99_s".into(), json!(poll + 1));
    m.insert("acumatica_action_poll_ms".into(), json!(10));
    Ok(m)
}
