//! Scenario `throughput`: zero latency, no quota; shipments/s end to end. The simulators
//! run in a child process ([`super::sims`]), so the line gives the daemon's CPU and peak
//! RSS apart from theirs.

use super::*;

pub(super) async fn throughput(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let n = args.shipments.unwrap_or(2000);
    let mut w = sims::ChildWorld::start(world_options(args, dir, n)).await?;
    // The Acumatica simulator confirms a shipment as a long-running action (202, then 204 on
    // the next poll): at the bundled 1 s poll interval each write-back waits a second for
    // the ERP. Poll it every 10 ms here so the figure is upsync's, not the ERP's wait.
    fast_action_polling(&w)?;
    apply_label_sink(&w, args.label_sink)?;
    apply_acumatica_concurrency(&w, args.acumatica_concurrency)?;
    apply_acumatica_options(&w, args)?;
    let store = w.open_store()?;
    let a = w.assemble(store).await?;
    let rss_before = measure::rss_mb();
    let sampler = measure::RssSampler::start(Duration::from_millis(100));
    let span = measure::Span::start();
    let sim0 = w.process().cpu_seconds;
    let drove = drive(&a.pipeline, Duration::from_secs(600)).await?;
    let mut spent = span.stop();
    let rss_profile = sampler.stop(10);
    // This process is the daemon alone; the simulators' CPU is their process's.
    spent.sim_cpu = Duration::from_secs_f64((w.process().cpu_seconds - sim0).max(0.0));
    spent.cpu += spent.sim_cpu;
    let sims = w.figures().await?;
    let mut m = pipeline_line("throughput", &sims, &a, spent);
    m.insert("cycles".into(), json!(drove.cycles()));
    // How the daemon's memory grew while jobs were in flight: before, then [seconds, MiB].
    m.insert("upsync_rss_mb_before".into(), json!(round(rss_before, 1)));
    m.insert("upsync_rss_mb_profile".into(), json!(rss_profile));
    // When each connector was done, and its own rate (they run side by side).
    if let Some(Value::Object(by)) = m.get_mut("connectors") {
        for (name, line) in by.iter_mut() {
            let (Some(secs), Value::Object(line)) = (drove.seconds.get(name), line) else {
                continue;
            };
            let n = line.get("shipments").and_then(Value::as_f64).unwrap_or(0.0);
            line.insert("seconds".into(), json!(secs));
            if let Some(log) = drove.cycle_log.get(name) {
                let reading: f64 = log.iter().map(|c| c[0]).sum();
                line.insert("reading_seconds".into(), json!(round(reading, 3)));
                // The first eight cycles (the backlog's); `cycles` counts them all.
                line.insert(
                    "cycle_log".into(),
                    json!(log.iter().take(8).collect::<Vec<_>>()),
                );
            }
            line.insert(
                "shipments_per_second".into(),
                json!(round(n / secs.max(1e-9), 1)),
            );
        }
    }
    m.insert("acumatica_action_poll_ms".into(), json!(10));
    m.insert(
        "acumatica_action_ms".into(),
        json!(args.acumatica_action_ms),
    );
    m.insert(
        "label_sink".into(),
        json!(format!("{:?}", args.label_sink).to_lowercase()),
    );
    m.insert("concurrency".into(), json!(args.concurrency));
    if let Some(n) = args.acumatica_concurrency {
        m.insert("acumatica_concurrency".into(), json!(n));
    }
    if !args.acumatica_set.is_empty() {
        m.insert("acumatica_set".into(), json!(args.acumatica_set));
    }
    if let Some(c) = args.acumatica_confirm {
        m.insert("acumatica_confirm".into(), json!(c));
    }
    m.insert(
        "acumatica_licence_sessions".into(),
        json!(args.acumatica_licence_sessions),
    );
    if let Some(st) = &sims.acumatica {
        // Every request the simulator counted, its action status polls included.
        m.insert("acumatica_ops".into(), json!(st));
    }
    m.insert("target_shipments_per_second".into(), json!(1000));
    m.insert("target_upsync_peak_rss_mb".into(), json!(150));
    Ok(m)
}
