//! Scenario `throughput`: zero latency, no quota; shipments/s end to end.

use super::*;

pub(super) async fn throughput(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let n = args.shipments.unwrap_or(2000);
    let w = World::start(world_options(args, dir, n)).await?;
    // The Acumatica simulator confirms a shipment as a long-running action (202, then 204 on
    // the next poll): at the bundled 1 s poll interval each write-back waits a second for
    // the ERP. Poll it every 10 ms here so the figure is upsync's, not the ERP's wait.
    fast_action_polling(&w)?;
    apply_label_sink(&w, args.label_sink)?;
    apply_acumatica_concurrency(&w, args.acumatica_concurrency)?;
    apply_acumatica_options(&w, args)?;
    let store = w.open_store()?;
    let a = w.assemble(store).await?;
    let span = measure::Span::start();
    let cycles = drive(&a.pipeline, Duration::from_secs(600)).await?;
    let spent = span.stop();
    let mut m = pipeline_line("throughput", &w, &a, spent);
    m.insert("cycles".into(), json!(cycles));
    m.insert("acumatica_action_poll_ms".into(), json!(10));
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
    if let Some(a) = &w.acumatica {
        // Every request the simulator counted, its action status polls included.
        let st = a.core.stats.snapshot();
        m.insert("acumatica_ops".into(), json!(st));
    }
    m.insert("target_shipments_per_second".into(), json!(1000));
    Ok(m)
}
