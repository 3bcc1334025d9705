//! Scenario `checkout`: `POST /v1/rates` over HTTP against the checkout endpoint, in
//! process, on the UPS simulator (no ERP, no pipeline). A realistic mix: `--lanes`
//! distinct lanes × package profiles (default 250), drawn with Zipf-like repeats (rank r
//! asked ∝ 1/r), `--shipments` quotes (default 2,000) from `--concurrency` clients.
//!
//! `--ups-latency-ms N` slows the simulator's Rating answers only (fault rule
//! `rate:latency=N`, `sim/src/common/faults.rs`), so the token stays fast; with N above
//! `checkout.timeout_ms` (1,500 ms by default) no request may wait past the deadline:
//! a request that finds no UPS answer by its deadline gets an estimate, and `bound_held`
//! says whether every answer came within timeout + 100 ms (`max_ms` vs `bound_ms`). Calls
//! that land after the deadline still fill the cache (by design), so later askers of
//! those lanes get `cache`, and a request that joined a call shortly before it landed gets
//! `ups` within its own deadline. `--quota Q` gives checkout a Rating quota of Q/s
//! (default: none). The simulator runs on a runtime of its own (`sim_cpu_s`).
//!
//! `ups_rate_calls` is read from the simulator's own counters, not from upsync's.

use super::*;

use rand::{Rng, SeedableRng};

use crate::checkout::http::ApiToken;
use crate::checkout::Checkout;

const TOKEN: &str = "bench-checkout-token";

/// The body of lane `i`: a destination ZIP, residential or not, a package profile.
fn lane_body(i: usize) -> Value {
    let zip = 10_000 + (i * 7919) % 89_000;
    let weight = 1 + (i / 3) % 9;
    let dims = [(10, 8, 4), (12, 10, 6), (16, 12, 8), (20, 14, 10)][i % 4];
    json!({
        "ship_from": "main",
        "ship_to": {"lines": ["1 Bench Lane"], "city": "Anytown", "postal_code": format!("{zip:05}"),
                    "country": "US", "residential": i.is_multiple_of(2)},
        "packages": [{"weight": weight as f64 + 0.4, "length": dims.0, "width": dims.1, "height": dims.2}]
    })
}

/// `n` lane indices drawn with P(rank r) ∝ 1/(r+1), reproducibly.
fn zipf_draws(lanes: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut cum = Vec::with_capacity(lanes);
    let mut total = 0.0;
    for r in 0..lanes {
        total += 1.0 / (r as f64 + 1.0);
        cum.push(total);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u = rng.gen_range(0.0..total);
            cum.partition_point(|c| *c < u).min(lanes - 1)
        })
        .collect()
}

pub(super) async fn checkout(args: &BenchArgs, _dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let quotes = args.shipments.unwrap_or(2000);
    let lanes = args.lanes.max(1);
    let latency = args.ups_latency_ms.unwrap_or(0);
    // The simulator on a runtime of its own (as the world's `separate_sim_runtime`): its
    // schema validation is CPU work that must not delay the endpoint's timers.
    let sim_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(crate::app::world::SIM_THREAD_NAME)
        .enable_all()
        .build()?;
    let sim = sim_rt
        .spawn(crate::sim::ups::spawn(crate::sim::ups::UpsSimConfig {
            faults: if latency > 0 {
                format!("rate:latency={latency}")
            } else {
                String::new()
            },
            tick_interval_ms: 0,
            ..Default::default()
        }))
        .await??;
    let ups = crate::ups::UpsClient::new(
        crate::ups::UpsClientConfig::new(&sim.base_url, "123X56"),
        crate::ups::UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(crate::ups::MemoryTokenStore::new()),
    )?;
    ups.ensure_token().await?;
    let mut cfg = crate::config::CheckoutConfig {
        rating_requests_per_second: args.quota.unwrap_or(0),
        ..Default::default()
    };
    cfg.ship_from = vec![crate::config::CheckoutShipFrom {
        account: None,
        ..crate::config::CheckoutShipFrom::example()
    }];
    let settings = crate::app::wiring::checkout_settings_from(&cfg, "123X56");
    let timeout_ms = settings.timeout.as_millis() as u64;
    let checkout = Arc::new(Checkout::new(
        settings,
        Arc::new(crate::app::adapters::UpsQuoter::new(ups)),
    ));
    let app =
        crate::checkout::http::router(checkout.clone(), ApiToken::new(TOKEN).context("token")?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}{}",
        listener.local_addr()?,
        crate::checkout::http::RATES_PATH
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::checkout::http::serve(
        listener,
        app,
        crate::server::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));

    let draws = Arc::new(zipf_draws(lanes, quotes, 19));
    let distinct: HashSet<usize> = draws.iter().copied().collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let http = reqwest::Client::new();
    let span = measure::Span::start();
    let t0 = Instant::now();
    // The shops (the HTTP clients) on a runtime of their own too: they are not upsync.
    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-client")
        .enable_all()
        .build()?;
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (draws, next, http, url) = (draws.clone(), next.clone(), http.clone(), url.clone());
        workers.push(client_rt.spawn(async move {
            // (ms, source or None for an error)
            let mut out: Vec<(f64, Option<String>)> = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(lane) = draws.get(i) else { break };
                let started = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .json(&lane_body(*lane))
                    .send()
                    .await;
                let source = match r {
                    Ok(r) if r.status().is_success() => r
                        .json::<Value>()
                        .await
                        .ok()
                        .and_then(|v| v["source"].as_str().map(str::to_string)),
                    _ => None,
                };
                out.push((started.elapsed().as_secs_f64() * 1000.0, source));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for w in workers {
        results.extend(w.await?);
    }
    let wall = t0.elapsed();
    client_rt.shutdown_background();
    let spent = span.stop();
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    let ups_rate_calls = sim.stats().get("rate").copied().unwrap_or(0);
    sim.shutdown();
    sim_rt.shutdown_background();

    let count = |s: &str| {
        results
            .iter()
            .filter(|(_, x)| x.as_deref() == Some(s))
            .count()
    };
    let errors = results.iter().filter(|(_, x)| x.is_none()).count();
    let mut all: Vec<f64> = results.iter().map(|(ms, _)| *ms).collect();
    let mut cached: Vec<f64> = results
        .iter()
        .filter(|(_, x)| x.as_deref() == Some("cache"))
        .map(|(ms, _)| *ms)
        .collect();
    let p = |v: &mut Vec<f64>, q: f64| measure::percentile(v, q).map(|x| round(x, 2));
    let bound_ms = timeout_ms + 100;
    let max_ms = p(&mut all, 100.0);
    let st = checkout.stats();
    let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("checkout"));
    m.insert("quotes".into(), json!(results.len() - errors));
    m.insert("errors".into(), json!(errors));
    m.insert("lanes".into(), json!(lanes));
    m.insert("distinct_lanes_asked".into(), json!(distinct.len()));
    m.insert("concurrency".into(), json!(args.concurrency));
    m.insert("ups_latency_ms".into(), json!(latency));
    m.insert("timeout_ms".into(), json!(timeout_ms));
    m.insert(
        "checkout_quota_per_second".into(),
        json!(args.quota.unwrap_or(0)),
    );
    m.insert("ups_rate_calls".into(), json!(ups_rate_calls));
    m.insert("ups_quotes".into(), json!(count("ups")));
    m.insert("cache_hits".into(), json!(count("cache")));
    m.insert("estimates".into(), json!(count("estimate")));
    m.insert("joined_in_flight".into(), json!(load(&st.joined)));
    m.insert(
        "estimates_timeout".into(),
        json!(load(&st.estimate_timeout)),
    );
    m.insert("estimates_quota".into(), json!(load(&st.estimate_quota)));
    m.insert(
        "estimates_ups_error".into(),
        json!(load(&st.estimate_error)),
    );
    m.insert("p50_ms".into(), json!(p(&mut all, 50.0)));
    m.insert("p99_ms".into(), json!(p(&mut all, 99.0)));
    m.insert("p99_cached_ms".into(), json!(p(&mut cached, 99.0)));
    m.insert("max_ms".into(), json!(max_ms));
    m.insert(
        "server_max_ms".into(),
        json!(round(load(&st.latency_max_us) as f64 / 1000.0, 2)),
    );
    m.insert("bound_ms".into(), json!(bound_ms));
    m.insert(
        "bound_held".into(),
        json!(max_ms.is_some_and(|x| x <= bound_ms as f64)),
    );
    m.insert(
        "quotes_per_second".into(),
        json!(round(results.len() as f64 / wall.as_secs_f64(), 1)),
    );
    m.insert("wall_s".into(), json!(round(wall.as_secs_f64(), 2)));
    m.insert("cpu_s".into(), json!(round(spent.cpu.as_secs_f64(), 2)));
    m.insert(
        "sim_cpu_s".into(),
        json!(round(spent.sim_cpu.as_secs_f64(), 2)),
    );
    Ok(m)
}
