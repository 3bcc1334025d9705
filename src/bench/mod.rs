//! Benchmark harness (`upsync bench`): the full pipeline (source → mapping → ledger → UPS →
//! write-back) against the in-process loopback simulators of [`crate::ops::world`], printing
//! ONE JSON line of figures per run. Issue 10 lists the scenarios and their targets:
//!
//! * `throughput` — zero latency, no quota: shipments/s end to end (target ≥ 1,000/s).
//! * `quota` — 200 ms UPS latency, quota Q req/s (the UPS simulator's rate limit is Q too,
//!   so anything upsync sends above Q comes back as a 429): achieved rate vs 0.95·Q.
//! * `latency` — records released over time at a steady rate while the daemon polls on a
//!   short schedule: release → written back p50/p99 vs poll interval + 1 s.
//! * `frugal` — the real binary (`upsync run`) as a child process: its steady-state RSS, its
//!   CPU while idle between schedules, and token requests vs the minimum the lifetime allows.
//! * `state` — a ledger of N jobs (default 1,000,000, most delivered): startup time, disk
//!   size, RSS; then retention pruning.
//! * `history` — a poll cycle's ERP requests for a few changed records among 10k and 100k.
//! * `mapping` — records/s of the bundled Acumatica mapping.
//! * `reconcile` — lost Ship answers, a lagging reference index and another shipper using
//!   the same ERP numbers: re-ships, late duplicates voided, duplicates billed, lost
//!   ([`reconcile`]).
//!
//! CPU and RSS figures of in-process scenarios include the simulators (they run in this
//! process); `frugal` measures the daemon alone. [`audit`] is also what the fault suite uses
//! to prove "nothing lost, nothing shipped twice, every ERP record consistent with UPS".
//!
//! Never: print secrets or addresses; the line carries counts and timings only.

pub mod hostile;
pub mod measure;
mod reconcile;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Map, Value};

use crate::ops::world::{World, WorldOptions};
use crate::pipeline::{JobState, Pipeline};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Throughput,
    Quota,
    Latency,
    Frugal,
    State,
    History,
    Mapping,
    /// Exactly-once under lost Ship answers and a lagging reference index (issue 15).
    Reconcile,
    /// Hostile clients against the HTTP listener (issue 16): see [`hostile`].
    Hostile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    Acumatica,
    Netsuite,
    Both,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Which scenario to run (see the module docs).
    #[arg(long, value_enum, default_value = "throughput")]
    pub scenario: Scenario,
    /// Number of shipments (jobs for `state`, records for `mapping`); default per scenario.
    #[arg(long)]
    pub shipments: Option<usize>,
    /// Which connectors take part.
    #[arg(long, value_enum)]
    pub mix: Option<Mix>,
    /// Simulated UPS latency per request, ms (default per scenario).
    #[arg(long)]
    pub ups_latency_ms: Option<u64>,
    /// Simulated ERP latency per request, ms.
    #[arg(long, default_value_t = 0)]
    pub erp_latency_ms: u64,
    /// UPS quota Q, requests/s (the simulator's rate limit and upsync's quotas); 0 = none.
    #[arg(long)]
    pub quota: Option<u32>,
    /// UPS token lifetime, seconds (default per scenario).
    #[arg(long)]
    pub token_ttl: Option<u64>,
    /// Jobs in flight per connector (`pipeline.jobs_in_flight`).
    #[arg(long, default_value_t = 32)]
    pub concurrency: u32,
    /// Duration of time-based scenarios (`latency`, `frugal`), seconds.
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Release rate for `latency`, shipments per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Working directory (default: a fresh temporary directory, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where labels go: a file per package in `<dir>/labels` (as the bundled config), or
    /// nowhere but the ledger (`none`), to see what file creation costs on this disk.
    #[arg(long, value_enum, default_value = "directory")]
    pub label_sink: LabelSinkArg,
    /// Acumatica requests in flight (the profile's `concurrency`, 2 as bundled: a licence
    /// allows few); raise it to see past the ERP's limit.
    #[arg(long)]
    pub acumatica_concurrency: Option<u32>,
    /// `reconcile`: share of Ship answers lost after the shipment was created.
    #[arg(long, default_value_t = 0.1)]
    pub drop_rate: f64,
    /// `reconcile`: UPS minutes before a new shipment is found by reference.
    #[arg(long, default_value_t = 10)]
    pub reference_index_delay_minutes: i64,
    /// `reconcile`: `pipeline.reconcile.absent_after_seconds`, in minutes.
    #[arg(long, default_value_t = 30)]
    pub absent_after_minutes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelSinkArg {
    Directory,
    None,
}

/// Apply `--label-sink` to the world's configuration.
fn apply_label_sink(w: &World, sink: LabelSinkArg) -> anyhow::Result<()> {
    if sink == LabelSinkArg::Directory {
        return Ok(());
    }
    let cfg = std::fs::read_to_string(&w.config_path)?;
    let cfg = cfg.replace(
        "label_sink:\n      type: directory\n      path: labels\n",
        "label_sink:\n      type: none\n",
    );
    std::fs::write(&w.config_path, cfg)?;
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let tmp = tempfile::Builder::new().prefix("upsync-bench-").tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    let mut line = match args.scenario {
        Scenario::Throughput => throughput(&args, &dir).await?,
        Scenario::Quota => quota(&args, &dir).await?,
        Scenario::Latency => latency(&args, &dir).await?,
        Scenario::Frugal => frugal(&args, &dir).await?,
        Scenario::State => state(&args, &dir).await?,
        Scenario::History => history(&args, &dir).await?,
        Scenario::Mapping => mapping(&args)?,
        Scenario::Reconcile => reconcile::reconcile(&args, &dir).await?,
        Scenario::Hostile => hostile::run(&args, &dir).await?,
    };
    line.insert("load_average".into(), json!(load_average()));
    println!("{}", Value::Object(line));
    Ok(ExitCode::SUCCESS)
}

/// The 1-minute load average (`/proc/loadavg`), for context next to each figure.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(-1.0)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn world_options(args: &BenchArgs, dir: &Path, n: usize) -> WorldOptions {
    let mut o = WorldOptions::new(dir);
    let (a, ns) = match args.mix.unwrap_or(Mix::Acumatica) {
        Mix::Acumatica => (n, 0),
        Mix::Netsuite => (0, n),
        Mix::Both => (n - n / 2, n / 2),
    };
    o.acumatica_shipments = a;
    o.netsuite_fulfillments = ns;
    o.jobs_in_flight = args.concurrency;
    o.ups_latency_ms = args.ups_latency_ms.unwrap_or(0);
    if let Some(t) = args.token_ttl {
        o.ups_token_ttl_seconds = t;
    }
    if args.erp_latency_ms > 0 {
        let spec = format!("*:latency={}", args.erp_latency_ms);
        o.acumatica_faults = spec.clone();
        o.netsuite_faults = spec;
    }
    if let Some(q) = args.quota.filter(|q| *q > 0) {
        o.ups_rate_limit = Some(q);
        o.ups_quota_per_second = q;
    }
    o.separate_sim_runtime = true;
    o
}

// ------------------------------------------------------------------------------------------
// Consistency audit (bench and fault suite)

/// Nothing lost, nothing shipped twice, every ERP record consistent with UPS.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Audit {
    /// ERP records that are UPS shipments and were ready (or already carry tracking).
    pub expected: usize,
    /// Of those, records whose every package carries a 1Z number.
    pub written_back: usize,
    /// Expected records without tracking numbers.
    pub lost: usize,
    /// Live UPS shipments that no ERP record points at (a second label for one record).
    pub duplicates: usize,
    /// ERP tracking numbers UPS does not know, or that belong to a voided shipment, or a
    /// record whose packages point at more than one shipment.
    pub inconsistent: usize,
    /// Live UPS shipments.
    pub ups_live: usize,
    /// Voided UPS shipments (reconciliation voids duplicates it finds).
    pub ups_voided: usize,
    /// Some example record numbers of each problem (numbers only, never addresses).
    pub examples: Vec<String>,
}

/// One ERP record as the audit sees it.
struct ErpView {
    number: String,
    expected: bool,
    tracking: Vec<Option<String>>,
}

fn acumatica_views(sim: &crate::sim::acumatica::SimHandle) -> Vec<ErpView> {
    let v = |x: &Value| -> Option<String> {
        let x = x.get("value").unwrap_or(x);
        x.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    sim.state
        .shipments()
        .iter()
        .map(|s| {
            let ship_via = v(&s["ShipVia"]).unwrap_or_default();
            let status = v(&s["Status"]).unwrap_or_default();
            let hold = s["Hold"]
                .get("value")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let tracking: Vec<Option<String>> = s["Packages"]
                .as_array()
                .map(|p| p.iter().map(|p| v(&p["TrackingNbr"])).collect())
                .unwrap_or_default();
            let has_any = tracking.iter().any(Option::is_some);
            let ups = ship_via.starts_with("UPS");
            ErpView {
                number: v(&s["ShipmentNbr"]).unwrap_or_default(),
                expected: ups && (has_any || (status == "Open" && !hold)),
                tracking,
            }
        })
        .collect()
}

fn netsuite_views(sim: &crate::sim::netsuite::SimHandle) -> Vec<ErpView> {
    let mut out = Vec::new();
    let mut id = 5000u64;
    let mut misses = 0;
    while misses < 50 {
        let Some(f) = sim.sim.fulfillment(id) else {
            misses += 1;
            id += 1;
            continue;
        };
        misses = 0;
        id += 1;
        let ups = crate::sim::netsuite::store::ship_method_name(f.shipmethod).starts_with("UPS");
        let tracking: Vec<Option<String>> = f
            .packages
            .iter()
            .map(|p| p.tracking.clone().filter(|t| !t.is_empty()))
            .collect();
        let has_any = tracking.iter().any(Option::is_some);
        out.push(ErpView {
            number: f.tranid.clone(),
            expected: ups && (has_any || matches!(f.status, 'A' | 'B')),
            tracking,
        });
    }
    out
}

/// Document numbers of every ERP record in the simulators (what upsync stamps as reference).
fn erp_numbers(w: &World) -> Vec<String> {
    let mut views = Vec::new();
    if let Some(a) = &w.acumatica {
        views.extend(acumatica_views(a));
    }
    if let Some(n) = &w.netsuite {
        views.extend(netsuite_views(n));
    }
    views.into_iter().map(|v| v.number).collect()
}

/// Compare every ERP simulator's records with the UPS simulator's shipments.
pub fn audit(w: &World) -> Audit {
    let mut views = Vec::new();
    if let Some(a) = &w.acumatica {
        views.extend(acumatica_views(a));
    }
    if let Some(n) = &w.netsuite {
        views.extend(netsuite_views(n));
    }
    // tracking number → (shipment id, voided)
    let mut by_tracking: HashMap<String, (String, bool)> = HashMap::new();
    let mut live: HashSet<String> = HashSet::new();
    let mut out = Audit::default();
    {
        let ships = w.ups.state.read_shipments();
        // Shipments of other shippers (no client of the simulator created them) are not ours.
        for s in ships.list.iter().filter(|s| !s.client_id.is_empty()) {
            let voided = s.voided();
            if voided {
                out.ups_voided += 1;
            } else {
                live.insert(s.id.clone());
            }
            for p in &s.packages {
                by_tracking.insert(p.tracking_number.clone(), (s.id.clone(), voided));
            }
        }
    }
    out.ups_live = live.len();
    let mut claimed: HashSet<String> = HashSet::new();
    for r in &views {
        if !r.expected {
            continue;
        }
        out.expected += 1;
        if r.tracking.is_empty() || r.tracking.iter().any(Option::is_none) {
            out.lost += 1;
            if out.examples.len() < 10 {
                out.examples.push(format!("lost {}", r.number));
            }
            continue;
        }
        out.written_back += 1;
        let mut ids = HashSet::new();
        let mut bad = false;
        for t in r.tracking.iter().flatten() {
            match by_tracking.get(t) {
                Some((id, false)) => {
                    ids.insert(id.clone());
                }
                _ => bad = true,
            }
        }
        if bad || ids.len() != 1 {
            out.inconsistent += 1;
            if out.examples.len() < 10 {
                out.examples.push(format!("inconsistent {}", r.number));
            }
        }
        claimed.extend(ids);
    }
    out.duplicates = live.difference(&claimed).count();
    out
}

// ------------------------------------------------------------------------------------------
// Shared measurements

/// Requests a simulator received: its per-operation counters (keys without a `.`).
pub fn sim_requests(stats: &BTreeMap<String, u64>) -> u64 {
    stats
        .iter()
        .filter(|(k, _)| !k.contains('.') && !k.starts_with("trackalert"))
        .map(|(_, v)| *v)
        .sum()
}

fn sim_ops(stats: &BTreeMap<String, u64>) -> Map<String, Value> {
    stats
        .iter()
        .filter(|(k, _)| !k.contains('.'))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect()
}

fn erp_requests(w: &World) -> u64 {
    w.acumatica
        .as_ref()
        .map(|a| sim_requests(&a.core.stats.snapshot()))
        .unwrap_or(0)
        + w.netsuite
            .as_ref()
            .map(|n| sim_requests(&n.core.stats.snapshot()))
            .unwrap_or(0)
}

fn active_jobs(p: &Pipeline) -> i64 {
    p.ledger()
        .state_counts()
        .iter()
        .filter(|((_, s), _)| s.is_active())
        .map(|(_, n)| *n)
        .sum()
}

fn states(p: &Pipeline) -> Map<String, Value> {
    let mut m: BTreeMap<&str, i64> = BTreeMap::new();
    for ((_, s), n) in p.ledger().state_counts() {
        if n != 0 {
            *m.entry(s.as_str()).or_default() += n;
        }
    }
    m.into_iter().map(|(k, v)| (k.into(), json!(v))).collect()
}

/// Run cycles of every connector until no job is active (or nothing moves for a while).
async fn drive(p: &Arc<Pipeline>, deadline: Duration) -> anyhow::Result<usize> {
    let start = Instant::now();
    let mut cycles = 0;
    let mut idle = 0;
    loop {
        let mut read = 0;
        let mut processed = 0;
        for c in p.connectors() {
            let r = p.run_cycle(c).await?;
            read += r.records_read;
            processed += r.jobs_processed;
        }
        cycles += 1;
        if active_jobs(p) == 0 && read == 0 {
            break;
        }
        if read == 0 && processed == 0 {
            idle += 1;
            if idle > 3 {
                // Jobs waiting on their backoff: give them time.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        } else {
            idle = 0;
        }
        if start.elapsed() > deadline {
            break;
        }
    }
    Ok(cycles)
}

/// Figures common to the pipeline scenarios.
fn pipeline_line(
    scenario: &str,
    w: &World,
    a: &crate::ops::wiring::Assembly,
    spent: measure::Spent,
) -> Map<String, Value> {
    let (wall, cpu) = (spent.wall, spent.cpu);
    use crate::ups::Api;
    let shipped = a
        .pipeline
        .stats
        .shipped
        .load(std::sync::atomic::Ordering::Relaxed);
    let ups = a.ups_client.stats();
    let by_api: Map<String, Value> = Api::ALL
        .iter()
        .filter(|api| **api != Api::Token)
        .map(|api| (api.as_str().to_string(), json!(ups.requests_to(*api))))
        .filter(|(_, v)| v != &json!(0))
        .collect();
    let audit = audit(w);
    let secs = wall.as_secs_f64().max(1e-9);
    let mut m = Map::new();
    m.insert("scenario".into(), json!(scenario));
    m.insert("shipments".into(), json!(shipped));
    m.insert("wall_seconds".into(), json!(round(secs, 3)));
    m.insert(
        "shipments_per_second".into(),
        json!(round(shipped as f64 / secs, 1)),
    );
    m.insert("cpu_seconds".into(), json!(round(cpu.as_secs_f64(), 3)));
    m.insert(
        "cpu_ms_per_shipment".into(),
        json!(round(
            cpu.as_secs_f64() * 1000.0 / (shipped.max(1) as f64),
            3
        )),
    );
    // The simulators run on their own threads: upsync's share is the rest (its HTTP client,
    // mapping, ledger, sled and label files), and what 2 cores of it alone could carry.
    let upsync_cpu = cpu.saturating_sub(spent.sim_cpu).as_secs_f64();
    m.insert(
        "sim_cpu_seconds".into(),
        json!(round(spent.sim_cpu.as_secs_f64(), 3)),
    );
    m.insert("upsync_cpu_seconds".into(), json!(round(upsync_cpu, 3)));
    m.insert(
        "upsync_cpu_ms_per_shipment".into(),
        json!(round(upsync_cpu * 1000.0 / (shipped.max(1) as f64), 3)),
    );
    m.insert(
        "upsync_capacity_per_2_cores".into(),
        json!(round(2.0 * shipped as f64 / upsync_cpu.max(1e-9), 0)),
    );
    m.insert(
        "peak_rss_mb".into(),
        json!(round(measure::peak_rss_mb(), 1)),
    );
    m.insert("ups_requests".into(), Value::Object(by_api));
    m.insert(
        "ups_requests_total".into(),
        json!(ups.requests.iter().map(|r| r.count).sum::<u64>() - ups.token_requests_total),
    );
    m.insert("token_requests".into(), json!(ups.token_requests_total));
    m.insert("erp_requests".into(), json!(erp_requests(w)));
    m.insert("ups_429_seen".into(), json!(ups.rate_limited));
    m.insert("ups_retries".into(), json!(ups.retries));
    m.insert("duplicates".into(), json!(audit.duplicates));
    m.insert("lost".into(), json!(audit.lost));
    m.insert("inconsistent".into(), json!(audit.inconsistent));
    m.insert("jobs".into(), Value::Object(states(&a.pipeline)));
    m.insert(
        "store_flushes".into(),
        json!(a.pipeline.ledger().store().flushes_run()),
    );
    m.insert("includes_simulators".into(), json!(true));
    m.insert(
        "simulators_on_own_threads".into(),
        json!(spent.sim_cpu > Duration::ZERO),
    );
    m
}

// ------------------------------------------------------------------------------------------
// Scenarios

async fn throughput(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let n = args.shipments.unwrap_or(2000);
    let w = World::start(world_options(args, dir, n)).await?;
    // The Acumatica simulator confirms a shipment as a long-running action (202, then 204 on
    // the next poll): at the bundled 1 s poll interval each write-back waits a second for
    // the ERP. Poll it every 10 ms here so the figure is upsync's, not the ERP's wait.
    fast_action_polling(&w)?;
    apply_label_sink(&w, args.label_sink)?;
    apply_acumatica_concurrency(&w, args.acumatica_concurrency)?;
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
    m.insert("target_shipments_per_second".into(), json!(1000));
    Ok(m)
}

/// `--acumatica-concurrency` in the world's Acumatica profile.
fn apply_acumatica_concurrency(w: &World, n: Option<u32>) -> anyhow::Result<()> {
    let Some(n) = n else { return Ok(()) };
    let p = w.dir.join("connectors/acumatica.yaml");
    let text = std::fs::read_to_string(&p)?;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with("concurrency:") {
                format!("concurrency: {n}")
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&p, out.join("\n") + "\n")?;
    Ok(())
}

/// `action_poll_interval_ms: 10` in the world's Acumatica profile.
fn fast_action_polling(w: &World) -> anyhow::Result<()> {
    let p = w.dir.join("connectors/acumatica.yaml");
    let text = std::fs::read_to_string(&p)?;
    std::fs::write(
        &p,
        text.replace(
            "action_poll_interval_ms: 1000",
            "action_poll_interval_ms: 10",
        ),
    )?;
    Ok(())
}

async fn quota(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
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
    let mut m = pipeline_line("quota", &w, &a, spent);
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

/// Release one new ready Acumatica shipment through the simulator's admin route (a seeded
/// template). Returns its number when it is a UPS shipment (about 10 % of the templates use
/// another carrier; those are filtered out by the connector profile, as in real life).
async fn release_acumatica(http: &reqwest::Client, base: &str) -> anyhow::Result<Option<String>> {
    let body = json!({
        "Hold": {"value": false},
        "Status": {"value": "Open"},
    });
    let r: Value = http
        .post(format!("{base}/_sim/acumatica/shipments"))
        .json(&body)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let v = |x: &Value| x.get("value").unwrap_or(x).as_str().map(str::to_string);
    let nbr = v(&r["ShipmentNbr"]).context("admin upsert answered without ShipmentNbr")?;
    let ups = v(&r["ShipVia"]).is_some_and(|s| s.starts_with("UPS"));
    Ok(ups.then_some(nbr))
}

async fn latency(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
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

/// CPU seconds (user + system) and RSS/HWM (MiB) of another process.
fn proc_figures(pid: u32) -> Option<(f64, f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields after ")": state(0) ... utime(11) stime(12)
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |field: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    Some((ticks / hz.max(1.0), kib("VmRSS:"), kib("VmHWM:")))
}

async fn frugal(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let busy = args.seconds.unwrap_or(40);
    let idle = 20u64;
    let ttl = args.token_ttl.unwrap_or(10);
    let poll = 5u64;
    let mut o = world_options(args, dir, 50);
    o.acumatica_shipments = 50;
    o.netsuite_fulfillments = 0;
    o.ups_token_ttl_seconds = ttl;
    o.schedule = format!("*/{poll} * * * * *");
    let w = World::start(o).await?;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::from(w.command(&exe))
        .arg("run")
        .env("UPSYNC_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start `upsync run`")?;
    let pid = child.id().context("child has no pid")?;
    let acu = w.acumatica.as_ref().context("no Acumatica simulator")?;
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut rss_samples = Vec::new();
    // Busy phase: a release every 2 s keeps UPS work going for `busy` seconds.
    while t0.elapsed() < Duration::from_secs(busy) {
        release_acumatica(&http, &acu.base_url).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        if t0.elapsed() > Duration::from_secs(10) {
            if let Some((_, rss, _)) = proc_figures(pid) {
                rss_samples.push(rss);
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(poll + 2)).await;
    let busy_wall = t0.elapsed();
    let (cpu_busy_end, _, _) = proc_figures(pid).context("daemon exited early")?;
    // Idle phase: nothing to do; the daemon only polls on its schedule.
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let (cpu_idle_end, rss, hwm) = proc_figures(pid).context("daemon exited early")?;
    rss_samples.push(rss);
    // SAFETY: signalling our own child by pid.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    let ups = w.ups.stats();
    let tokens = ups.get("token.issued").copied().unwrap_or(0);
    let min_tokens = busy_wall.as_secs_f64() / ttl as f64;
    let mut rss_sorted = rss_samples.clone();
    let audit = audit(&w);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("frugal"));
    m.insert("shipments".into(), json!(audit.written_back));
    m.insert("lost".into(), json!(audit.lost));
    m.insert("duplicates".into(), json!(audit.duplicates));
    m.insert("daemon_cpu_seconds".into(), json!(round(cpu_idle_end, 3)));
    m.insert(
        "cpu_ms_per_shipment".into(),
        json!(round(
            cpu_busy_end * 1000.0 / audit.written_back.max(1) as f64,
            3
        )),
    );
    m.insert(
        "idle_cpu_ms_per_second".into(),
        json!(round(
            (cpu_idle_end - cpu_busy_end) * 1000.0 / idle as f64,
            3
        )),
    );
    m.insert(
        "steady_rss_mb_median".into(),
        json!(round(
            measure::percentile(&mut rss_sorted, 50.0).unwrap_or(0.0),
            1
        )),
    );
    m.insert("steady_rss_mb_end".into(), json!(round(rss, 1)));
    m.insert("peak_rss_mb".into(), json!(round(hwm, 1)));
    m.insert("target_rss_mb".into(), json!(50));
    m.insert("token_ttl_seconds".into(), json!(ttl));
    m.insert(
        "busy_seconds".into(),
        json!(round(busy_wall.as_secs_f64(), 1)),
    );
    m.insert("token_requests".into(), json!(tokens));
    m.insert("token_requests_minimum".into(), json!(min_tokens.ceil()));
    m.insert("ups_requests".into(), Value::Object(sim_ops(&ups)));
    m.insert("erp_requests".into(), json!(erp_requests(&w)));
    m.insert("measures".into(), json!("the daemon process only"));
    Ok(m)
}

async fn state(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
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

/// One poll cycle's ERP requests with `changed` changed records among `total`.
async fn history_one(
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

async fn history(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
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

fn mapping(args: &BenchArgs) -> anyhow::Result<Map<String, Value>> {
    use crate::mapping::Mapping;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("acumatica-shipment.yaml");
    std::fs::write(&path, crate::ops::world::ACUMATICA_MAPPING)?;
    let mapping = Mapping::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = args.shipments.unwrap_or(1000);
    let records = acumatica_records(n, 42);
    let ok = records
        .iter()
        .filter(|r| mapping.to_shipment(r).is_ok())
        .count();
    let iterations = 20usize;
    let (t0, c0) = (Instant::now(), measure::cpu_time());
    let rate = crate::mapping::bench_throughput(&mapping, &records, iterations);
    let (wall, cpu) = (t0.elapsed(), measure::cpu_time() - c0);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("mapping"));
    m.insert("mapping".into(), json!("mappings/acumatica-shipment.yaml"));
    m.insert("records".into(), json!(records.len()));
    m.insert("records_mapping_ok".into(), json!(ok));
    m.insert("iterations".into(), json!(iterations));
    m.insert("records_per_second".into(), json!(round(rate, 0)));
    m.insert("wall_seconds".into(), json!(round(wall.as_secs_f64(), 3)));
    m.insert(
        "cpu_us_per_record".into(),
        json!(round(
            cpu.as_secs_f64() * 1e6 / (records.len() * iterations) as f64,
            2
        )),
    );
    m.insert("target_records_per_second".into(), json!(50_000));
    m.insert(
        "peak_rss_mb".into(),
        json!(round(measure::peak_rss_mb(), 1)),
    );
    Ok(m)
}

/// Seeded Acumatica records decoded as the connector does (UPS ship-vias only).
pub fn acumatica_records(n: usize, seed: u64) -> Vec<crate::model::ErpRecord> {
    crate::sim::acumatica::seed::generate(n, seed, 0)
        .iter()
        .filter_map(|s| crate::sources::acumatica::codec::to_record("acumatica", s).ok())
        .filter(|r| {
            r.data["ShipVia"]
                .as_str()
                .is_some_and(|v| v.starts_with("UPS"))
        })
        .collect()
}
