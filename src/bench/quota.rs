//! Scenario `quota`: 200 ms UPS latency and a UPS quota of Q req/s (the simulator's rate
//! limit is Q too, so anything sent above Q comes back as a 429); achieved rate vs 0.95·Q.

use super::*;

pub(super) async fn quota(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let q = args.quota.unwrap_or(40).max(2);
    let n = args.shipments.unwrap_or(600);
    // NetSuite by default: every shipment costs exactly one XAV and one Ship (the Acumatica
    // seeds' UPSBEST also calls Rating).
    let mix = args.mix.unwrap_or(Mix::Netsuite);
    let mut o = world_options(
        &BenchArgs {
            mix: Some(mix),
            ..args.clone()
        },
        dir,
        n,
    );
    o.ups_latency_ms = args.ups_latency_ms.unwrap_or(200);
    o.ups_rate_limit = Some(q);
    o.ups_quota_per_second = q;
    // One OAuth client: the figure is one client's quota at work (two clients would have
    // two quotas).
    o.ups_single_account = true;
    let w = World::start(o).await?;
    // The simulator's limit is per client across APIs: the world's config gives upsync the
    // same Q as `all_apis_requests_per_second` (and Q per API).
    fast_action_polling(&w)?;
    let store = w.open_store()?;
    let a = w.assemble(store).await?;
    // When UPS requests flow: from the first to the last one sent (the ERP read before the
    // first and the write-backs after the last are not UPS's quota at work).
    // (first sample with requests, its count, last sample that saw new ones, its count)
    type Window = (Option<(Instant, u64)>, Option<(Instant, u64)>);
    let window: Arc<std::sync::Mutex<Window>> = Arc::default();
    let sampler = {
        let (ups, window) = (a.ups_client.clone(), window.clone());
        tokio::spawn(async move {
            loop {
                let st = ups.stats();
                let sent: u64 = crate::ups::Api::ALL
                    .iter()
                    .filter(|api| **api != crate::ups::Api::Token)
                    .map(|api| st.requests_to(*api))
                    .sum();
                {
                    let mut w = window.lock().unwrap_or_else(|e| e.into_inner());
                    if sent > w.1.map_or(0, |l| l.1) {
                        let now = Instant::now();
                        w.0.get_or_insert((now, sent));
                        w.1 = Some((now, sent));
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let span = measure::Span::start();
    drive(&a.pipeline, Duration::from_secs(900)).await?;
    let spent = span.stop();
    let wall = spent.wall;
    sampler.abort();
    let mut m = pipeline_line("quota", &SimFigures::of(&w), &a, spent);
    let sent = m["ups_requests_total"].as_u64().unwrap_or(0);
    let (first, last) = *window.lock().unwrap_or_else(|e| e.into_inner());
    // Requests sent between the first and the last sample, over the time between them.
    let (active, rate) = match (first, last) {
        (Some(f), Some(l)) if l.0 > f.0 => {
            let d = l.0 - f.0;
            (d, (l.1 - f.1) as f64 / d.as_secs_f64())
        }
        _ => (wall, sent as f64 / wall.as_secs_f64()),
    };
    m.insert(
        "wall_rate".into(),
        json!(round(sent as f64 / wall.as_secs_f64(), 2)),
    );
    m.insert(
        "ups_active_seconds".into(),
        json!(round(active.as_secs_f64(), 3)),
    );
    let sim = w.ups.stats();
    let sim_429: u64 = sim
        .iter()
        .filter(|(k, _)| k.ends_with(".429"))
        .map(|(_, v)| *v)
        .sum();
    m.insert("quota_q".into(), json!(q));
    m.insert("ups_latency_ms".into(), json!(200));
    m.insert("achieved_ups_rate".into(), json!(round(rate, 2)));
    m.insert("target_rate".into(), json!(round(0.95 * f64::from(q), 2)));
    m.insert("utilisation".into(), json!(round(rate / f64::from(q), 3)));
    m.insert("sim_429_caused_by_upsync".into(), json!(sim_429));
    Ok(m)
}
