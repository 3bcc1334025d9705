//! Scenario `latency`: records released at a steady rate while the daemon polls on a short
//! schedule; release → written back p50/p99.
//!
//! With `--push` (issue 23) the schedule is hourly and the Acumatica simulator's push
//! notifications ([`super::push`]) wake the connector instead. The same releases (same
//! seed, same count, same rate) are first run once with polling every second, so the line
//! reports both request counts: `erp_requests_polling` and `erp_requests_push`, taken when
//! the last release is written back (the final drain is not counted).

use super::*;

/// Every second (6-field cron): the polling run.
const POLL_EVERY_SECOND: &str = "*/1 * * * * *";
/// Hourly: the push run's safety net.
const HOURLY: &str = "0 0 * * * *";

/// What one run measured.
struct Run {
    line: Map<String, Value>,
    erp_requests: u64,
    p99: f64,
}

pub(super) async fn latency(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    if !args.push {
        return Ok(run(args, dir, false).await?.line);
    }
    let polling = run(args, &dir.join("polling"), false).await?;
    let pushed = run(args, &dir.join("push"), true).await?;
    let mut m = pushed.line;
    m.insert("push".into(), json!(true));
    m.insert("erp_requests_polling".into(), json!(polling.erp_requests));
    m.insert("erp_requests_push".into(), json!(pushed.erp_requests));
    m.insert(
        "erp_requests_ratio".into(),
        json!(round(
            pushed.erp_requests as f64 / polling.erp_requests.max(1) as f64,
            3
        )),
    );
    m.insert("erp_requests_ratio_target".into(), json!(2.0));
    m.insert(
        "polling_release_to_written_back_p99_s".into(),
        json!(round(polling.p99, 3)),
    );
    m.insert("target_p99_s".into(), json!(2));
    Ok(m)
}

async fn run(args: &BenchArgs, dir: &Path, push: bool) -> anyhow::Result<Run> {
    let secs = args.seconds.unwrap_or(30);
    let poll = 1u64;
    let mut o = world_options(args, dir, 1);
    o.netsuite_fulfillments = 0;
    o.acumatica_shipments = 1;
    o.schedule = if push { HOURLY } else { POLL_EVERY_SECOND }.to_string();
    let w = World::start(o).await?;
    // The ERP's own confirm action (202 → 204) is polled every 10 ms, not the bundled 1 s:
    // a cycle waits for its slowest job, so a 1 s ERP action would hold the next poll.
    fast_action_polling(&w)?;
    if push {
        super::push::enable(&w, crate::config::defaults::PUSH_MIN_GAP_SECONDS)?;
    }
    let store = w.open_store()?;
    let a = Arc::new(w.assemble(store).await?);
    let acu = w.acumatica.as_ref().context("no Acumatica simulator")?;
    let (stop_push, push_stop) = tokio::sync::watch::channel(false);
    let mut push_loops = None;
    if push {
        super::push::serve_and_point(&w, &a).await?;
        push_loops = Some(tokio::spawn(a.push.clone().run(push_stop)));
    }
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
    let erp_requests = erp_requests(&w);
    let _ = sched.shutdown().await;
    let _ = stop_push.send(true);
    if let Some(l) = push_loops {
        let _ = l.await;
    }
    // Finish what is in flight so the audit sees a quiet world.
    drive(&a.pipeline, Duration::from_secs(30)).await?;
    let mut lat: Vec<f64> = done.values().map(Duration::as_secs_f64).collect();
    let p50 = measure::percentile(&mut lat, 50.0).unwrap_or(f64::NAN);
    let p99 = measure::percentile(&mut lat, 99.0).unwrap_or(f64::NAN);
    let max = measure::percentile(&mut lat, 100.0).unwrap_or(f64::NAN);
    let mut m = pipeline_line("latency", &SimFigures::of(&w), &a, spent);
    m.insert("released".into(), json!(released.len()));
    m.insert("written_back".into(), json!(done.len()));
    m.insert("release_rate_per_second".into(), json!(args.rate));
    if push {
        m.insert("poll_schedule".into(), json!(HOURLY));
        m.insert(
            "push_min_gap_seconds".into(),
            json!(crate::config::defaults::PUSH_MIN_GAP_SECONDS),
        );
        let stats = a.push.stats("acumatica");
        let g = |f: fn(&crate::push::PushStats) -> &std::sync::atomic::AtomicU64| {
            stats.map_or(0, |s| f(s).load(std::sync::atomic::Ordering::Relaxed))
        };
        m.insert("pushes_accepted".into(), json!(g(|s| &s.accepted)));
        m.insert("pushes_ignored".into(), json!(g(|s| &s.ignored)));
        m.insert("push_cycles".into(), json!(g(|s| &s.cycles)));
    } else {
        m.insert("poll_interval_seconds".into(), json!(poll));
        m.insert("target_p99_s".into(), json!(poll + 1));
    }
    m.insert("release_to_written_back_p50_s".into(), json!(round(p50, 3)));
    m.insert("release_to_written_back_p99_s".into(), json!(round(p99, 3)));
    m.insert("release_to_written_back_max_s".into(), json!(round(max, 3)));
    m.insert(
        "erp_requests_until_written_back".into(),
        json!(erp_requests),
    );
    m.insert("acumatica_action_poll_ms".into(), json!(10));
    Ok(Run {
        line: m,
        erp_requests,
        p99,
    })
}
