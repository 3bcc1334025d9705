//! Benchmark harness (`upsync bench`): the full pipeline (source → mapping → ledger → UPS →
//! write-back) against the in-process loopback simulators of [`crate::app::world`], printing
//! ONE JSON line of figures per run. The scenarios and their targets:
//!
//! * `throughput` — zero latency, no quota: shipments/s end to end (target ≥ 1,000/s).
//! * `quota` — 200 ms UPS latency, quota Q req/s (the UPS simulator's rate limit is Q too,
//!   so anything upsync sends above Q comes back as a 429): achieved rate vs 0.95·Q.
//! * `latency` — records released over time at a steady rate while the daemon polls on a
//!   short schedule: release → written back p50/p99 vs poll interval + 1 s. With `--push`
//!   the schedule is hourly and the Acumatica simulator's push notifications wake the
//!   connector: p99 vs 2 s, and ERP requests vs a polling run of the same releases.
//! * `frugal` — the real binary (`upsync run`) as a child process: its steady-state RSS, its
//!   CPU while idle between schedules, and token requests vs the minimum the lifetime allows.
//! * `state` — a ledger of N jobs (default 1,000,000, most delivered): startup time, disk
//!   size, RSS; then retention pruning.
//! * `history` — a poll cycle's ERP requests for a few changed records among 10k and 100k.
//! * `mapping` — records/s of the bundled Acumatica mapping.
//! * `checkout` — `POST /v1/rates` with a Zipf-like mix of lanes, fast or slow UPS: quotes
//!   by source, UPS calls, p50/p99, and whether every answer came within timeout + 100 ms
//!   ([`checkout`]).
//! * `reconcile` — lost Ship answers, a lagging reference index and another shipper using
//!   the same ERP numbers: re-ships, late duplicates voided, duplicates billed, lost
//!   ([`reconcile`]).
//!
//! `throughput` runs its simulators in a child process ([`sims`]): its line gives the
//! daemon's CPU and peak RSS (`upsync_*`) apart from the simulators' (`sim_*`). CPU and RSS
//! figures of the other in-process scenarios include the simulators (they run in this
//! process, on threads of their own); `frugal` measures the daemon alone. [`audit`] is also what the fault suite uses
//! to prove "nothing lost, nothing shipped twice, every ERP record consistent with UPS".
//!
//! Never: print secrets or addresses; the line carries counts and timings only.

pub mod hostile;
pub mod mapping;
pub mod measure;
pub mod push;
mod reconcile;
pub mod sims;

pub mod audit;
mod checkout;
mod frugal;
pub mod ha;
mod history;
mod latency;
mod quota;
mod state;
mod throughput;

pub use audit::{audit, Audit};
use frugal::frugal;
use history::history;
use latency::latency;
use mapping::mapping;
use quota::quota;
use state::state;
use throughput::throughput;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{json, Map, Value};

use crate::app::world::{World, WorldDir, WorldOptions};
use crate::pipeline::{JobState, Pipeline};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Zero latency, no quota: shipments/s end to end.
    Throughput,
    /// 200 ms UPS latency and a quota of Q requests/s: the rate achieved vs 0.95·Q.
    Quota,
    /// Records released at a steady rate: release → written back, p50/p99.
    Latency,
    /// The real binary as a child process: steady RSS, idle CPU, token requests.
    Frugal,
    /// A ledger of N jobs: startup time, disk size, RSS, retention pruning.
    State,
    /// A poll cycle's ERP requests for a few changed records among 10k and 100k.
    History,
    /// Records/s of the bundled Acumatica mapping.
    Mapping,
    /// Exactly-once under lost Ship answers and a lagging reference index.
    Reconcile,
    /// Hostile clients against the HTTP listener (see `src/bench/hostile.rs`).
    Hostile,
    /// `POST /v1/rates`: cache, single-flight, deadline and fallback (`src/bench/checkout.rs`).
    Checkout,
    /// Several daemons on one PostgreSQL database, one SIGKILLed at random (`src/bench/ha.rs`).
    Ha,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    Acumatica,
    Netsuite,
    Both,
}

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Which scenario to run.
    #[arg(long, value_enum, default_value = "throughput")]
    pub scenario: Scenario,
    /// Number of shipments (jobs for `state`, records for `mapping`); default per scenario.
    #[arg(long)]
    pub shipments: Option<usize>,
    /// Which connectors take part (default: both ERPs, half the shipments each; the
    /// `reconcile` scenario likewise).
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
    /// `latency`: the ERP pushes its changes (issue 23): the poll schedule is hourly and
    /// the connector takes push notifications. The line also carries a polling run of the
    /// same releases (`erp_requests_polling`), so the request cost can be compared.
    #[arg(long)]
    pub push: bool,
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
    /// Top-level keys of the world's Acumatica profile, `KEY=VALUE` (repeatable), e.g.
    /// `sessions=2`, `label_files=per_shipment` (docs/acumatica.md).
    #[arg(long = "acumatica-set")]
    pub acumatica_set: Vec<String>,
    /// The bundled Acumatica mapping's `write_back.confirm_shipment` (default: as bundled,
    /// true); `false` to see the figures without `ConfirmShipment`.
    #[arg(long)]
    pub acumatica_confirm: Option<bool>,
    /// How long the Acumatica simulator's `ConfirmShipment` runs, in ms of its clock (its
    /// status answers 202 until then; ERP-NOTES §A4 gives no duration). The bench polls at
    /// a 10 ms interval (bundled: 1000): 3 ms is about what a confirmation took with the
    /// fixed-step polling before issue 24's pacing (1 ms, then 2 ms). 0 = the simulator's
    /// default model instead: one 202 answer, then 204, however long the wait.
    #[arg(long, default_value_t = 3)]
    pub acumatica_action_ms: u64,
    /// API sessions the Acumatica simulator's licence allows at once (default 2, a trial
    /// licence, ERP-NOTES §A2 "License limits"). With `--acumatica-set sessions=N` (N ≤
    /// this) confirmations run in N-1 sessions at once: upsync past one confirming session.
    #[arg(long, default_value_t = 2)]
    pub acumatica_licence_sessions: usize,
    /// `reconcile`: share of Ship answers lost after the shipment was created.
    #[arg(long, default_value_t = 0.1)]
    pub drop_rate: f64,
    /// `reconcile`: UPS minutes before a new shipment is found by reference.
    #[arg(long, default_value_t = 10)]
    pub reference_index_delay_minutes: i64,
    /// `reconcile`: `pipeline.reconcile.absent_after_seconds`, in minutes.
    #[arg(long, default_value_t = 30)]
    pub absent_after_minutes: i64,
    /// `checkout`: distinct lanes × package profiles asked (Zipf-like repeats).
    #[arg(long, default_value_t = 250)]
    pub lanes: usize,
    /// `ha`: the PostgreSQL server (`postgres://user@host:port/db`); each run creates a
    /// database of its own there. Default: a throwaway server (Debian's `postgresql`).
    /// `reconcile`, `throughput` and the other one-daemon scenarios: the (empty) PostgreSQL
    /// database to keep the ledger in (default: sled).
    #[arg(long, env = "UPSYNC_BENCH_STORE_URL", hide_env_values = true)]
    pub store_url: Option<String>,
    /// `ha`: daemons sharing the database.
    #[arg(long, default_value_t = 3)]
    pub daemons: usize,
    /// `ha`: SIGKILL rounds.
    #[arg(long, default_value_t = 20)]
    pub kills: usize,
    /// `ha`: `store.lease_seconds` of the daemons (at least 5, as `check` requires).
    #[arg(long, default_value_t = 5)]
    pub lease_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LabelSinkArg {
    Directory,
    None,
}

/// Apply `--label-sink` to the world's configuration.
fn apply_label_sink(w: &WorldDir, sink: LabelSinkArg) -> anyhow::Result<()> {
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
        Scenario::Checkout => checkout::checkout(&args, &dir).await?,
        Scenario::Ha => ha::ha(&args, &dir).await?,
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

/// The writes the run asked of the store, per shipment (all trees, then per tree):
/// deterministic for a given build and seed, where CPU time drifts with the machine.
fn store_writes(m: &mut Map<String, Value>, store: &crate::store::Store, shipped: u64) {
    let per = |x: u64| round(x as f64 / shipped.max(1) as f64, 2);
    let writes = store.writes();
    let (ops, bytes) = writes
        .iter()
        .fold((0, 0), |(o, b), (_, ops, bytes)| (o + ops, b + bytes));
    m.insert("store_writes_per_shipment".into(), json!(per(ops)));
    m.insert(
        "store_bytes_written_per_shipment".into(),
        json!(per(bytes).round()),
    );
    let by_tree: Map<String, Value> = writes
        .into_iter()
        .filter(|(_, ops, _)| *ops > 0)
        .map(|(t, ops, bytes)| {
            let line = json!({"writes": per(ops), "bytes": per(bytes).round()});
            (t.name().to_string(), line)
        })
        .collect();
    m.insert(
        "store_writes_per_shipment_by_tree".into(),
        Value::Object(by_tree),
    );
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn world_options(args: &BenchArgs, dir: &Path, n: usize) -> WorldOptions {
    let mut o = WorldOptions::new(dir);
    let (a, ns) = match args.mix.unwrap_or(Mix::Both) {
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
    if args.acumatica_action_ms > 0 {
        o.acumatica_action_polls = 0;
        o.acumatica_action_ms = args.acumatica_action_ms;
    }
    o.acumatica_max_sessions = args.acumatica_licence_sessions.max(1);
    o.separate_sim_runtime = true;
    // The ledger in that (empty) database instead of sled (issue 22: one suite, two stores).
    o.store_url = args.store_url.clone();
    o
}

// ------------------------------------------------------------------------------------------
// Consistency audit (bench and fault suite)

// ------------------------------------------------------------------------------------------
// Shared measurements

/// The Acumatica line's extra figures (docs/acumatica.md, "Requests per shipment"):
/// `erp_requests_per_shipment` counts every request but the confirm's status polls
/// (`action.status`); `…_with_polls` counts them too; `…_one_file` is what a shipment with
/// one attached file costs (one package, no invoice: the mix's multi-file shipments —
/// GIF/PNG labels of several packages, invoice PDFs — counted as one file each).
fn acumatica_figures(line: &mut Value, counters: &BTreeMap<String, u64>, r: u64, n: i64) {
    let n = n.max(1) as f64;
    let get = |k: &str| counters.get(k).copied().unwrap_or(0) as f64;
    let polls = get("action.status");
    let files = get("files");
    let per = |x: f64| json!(round(x / n, 2));
    line["files_per_shipment"] = per(files);
    line["action_status_polls_per_shipment"] = per(polls);
    line["erp_requests_per_shipment_with_polls"] = per(r as f64 + polls);
    line["erp_requests_per_shipment_one_file"] = per(r as f64 - files + n);
    // What bounds the Acumatica half (ERP-NOTES §A4: a running action keeps its session's
    // form busy): how long each confirmation held its session, as the simulator saw it
    // (POST to the 204 of its last status poll), and so how many one session can confirm
    // per second at most.
    let actions = get("action");
    if actions > 0.0 {
        let held_ms = get("action.held_us") / 1000.0 / actions;
        line["action_held_ms_per_confirmation"] = json!(round(held_ms, 2));
        if held_ms > 0.0 {
            line["confirmations_per_second_per_session"] = json!(round(1000.0 / held_ms, 1));
        }
    }
}

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
    SimFigures::of(w).erp_requests()
}

/// What the simulators saw during a pipeline scenario, wherever they ran.
pub struct SimFigures {
    pub audit: Audit,
    /// Counters of the Acumatica and NetSuite simulators (`/_sim/stats`), when present.
    pub acumatica: Option<BTreeMap<String, u64>>,
    pub netsuite: Option<BTreeMap<String, u64>>,
    /// The simulators' own process, when they ran in a child ([`sims::ChildWorld`]).
    pub process: Option<sims::ProcessFigures>,
}

impl SimFigures {
    /// Of an in-process world.
    pub fn of(w: &World) -> SimFigures {
        SimFigures {
            audit: audit(w),
            acumatica: w.acumatica.as_ref().map(|a| a.core.stats.snapshot()),
            netsuite: w.netsuite.as_ref().map(|n| n.core.stats.snapshot()),
            process: None,
        }
    }

    /// ERP requests received, both ERPs.
    pub fn erp_requests(&self) -> u64 {
        [&self.acumatica, &self.netsuite]
            .into_iter()
            .flatten()
            .map(sim_requests)
            .sum()
    }

    /// Per ERP connector (named as the world names them): its counters.
    fn by_connector(&self) -> Vec<(&'static str, &BTreeMap<String, u64>)> {
        let mut v = Vec::new();
        if let Some(a) = &self.acumatica {
            v.push(("acumatica", a));
        }
        if let Some(n) = &self.netsuite {
            v.push(("netsuite", n));
        }
        v
    }
}

/// Jobs that got their shipment (shipped or any later state), per connector.
fn shipped_by_connector(p: &Pipeline) -> BTreeMap<String, i64> {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for ((c, s), n) in p.ledger().state_counts() {
        if matches!(
            s,
            JobState::Shipped | JobState::WrittenBack | JobState::Tracking | JobState::Delivered
        ) {
            *m.entry(c).or_default() += n;
        }
    }
    m
}

fn active_jobs_of(p: &Pipeline, connector: &str) -> i64 {
    p.ledger()
        .state_counts()
        .iter()
        .filter(|((c, s), _)| c == connector && s.is_active())
        .map(|(_, n)| *n)
        .sum()
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

/// What [`drive`] did: cycles run, and when each connector was done.
#[derive(Debug, Default)]
pub struct Drove {
    pub seconds: BTreeMap<String, f64>,
    /// Per connector, each cycle's `[reading seconds, whole cycle seconds, records read,
    /// jobs processed]`: how much of its time went to listing before its jobs ran.
    pub cycle_log: BTreeMap<String, Vec<[f64; 4]>>,
}

impl Drove {
    /// Cycles run, all connectors together.
    pub fn cycles(&self) -> usize {
        self.cycle_log.values().map(Vec::len).sum()
    }
}

/// Run cycles of every connector until no job is active (or nothing moves for a while).
/// Each connector runs its own cycles, side by side, as the daemon's schedules do: a slow
/// ERP (Acumatica's confirmations) never holds up a fast one (issue 24: run one after the
/// other, NetSuite waited for each of Acumatica's long cycles, and the mixed run was slower
/// than either ERP alone).
async fn drive(p: &Arc<Pipeline>, deadline: Duration) -> anyhow::Result<Drove> {
    let start = Instant::now();
    let mut loops = tokio::task::JoinSet::new();
    for c in p.connectors() {
        let (p, c) = (p.clone(), c.clone());
        loops.spawn(async move {
            let log = drive_connector(&p, &c, start, deadline).await?;
            anyhow::Ok((c.name.clone(), log, start.elapsed()))
        });
    }
    let mut drove = Drove::default();
    while let Some(done) = loops.join_next().await {
        let (name, log, took) = done.context("a connector's bench loop panicked")??;
        drove
            .seconds
            .insert(name.clone(), round(took.as_secs_f64(), 3));
        drove.cycle_log.insert(name, log);
    }
    Ok(drove)
}

/// [`drive`] for one connector: its cycles as [`Drove::cycle_log`] has them.
async fn drive_connector(
    p: &Pipeline,
    c: &Arc<crate::pipeline::Connector>,
    start: Instant,
    deadline: Duration,
) -> anyhow::Result<Vec<[f64; 4]>> {
    let mut cycles = Vec::new();
    let mut idle = 0;
    loop {
        let began = Instant::now();
        let r = p.run_cycle(c).await?;
        cycles.push([
            round(r.read_time.as_secs_f64(), 3),
            round(began.elapsed().as_secs_f64(), 3),
            r.records_read as f64,
            r.jobs_processed as f64,
        ]);
        if active_jobs_of(p, &c.name) == 0 && r.records_read == 0 {
            break;
        }
        if r.records_read == 0 && r.jobs_processed == 0 {
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
    sims: &SimFigures,
    a: &crate::app::wiring::Assembly,
    spent: measure::Spent,
) -> Map<String, Value> {
    let (wall, cpu) = (spent.wall, spent.cpu);
    use crate::ups::Api;
    let shipped = a
        .pipeline
        .stats
        .shipped
        .load(std::sync::atomic::Ordering::Relaxed);
    // Every UPS client of the configuration (one per OAuth client), added up.
    let clients: Vec<_> = a
        .accounts
        .clients()
        .iter()
        .map(|c| c.client.stats())
        .collect();
    let total = |f: &dyn Fn(&crate::ups::StatsSnapshot) -> u64| clients.iter().map(f).sum::<u64>();
    let by_api: Map<String, Value> = Api::ALL
        .iter()
        .filter(|api| **api != Api::Token)
        .map(|api| {
            (
                api.as_str().to_string(),
                json!(total(&|s| s.requests_to(*api))),
            )
        })
        .filter(|(_, v)| v != &json!(0))
        .collect();
    let token_requests = total(&|s| s.token_requests_total);
    let audit = &sims.audit;
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
    match &sims.process {
        // The simulators in a child: this process is the daemon alone.
        Some(child) => {
            m.insert(
                "upsync_peak_rss_mb".into(),
                json!(round(measure::peak_rss_mb(), 1)),
            );
            m.insert("sim_peak_rss_mb".into(), json!(round(child.peak_rss_mb, 1)));
            // How often the daemon's threads slept and were woken: on this VM a wake-up of
            // an idle vCPU costs CPU that is no code of upsync's (docs/performance.md,
            // session 15), so a run paced by the ERP costs more per shipment.
            m.insert(
                "upsync_wakeups_per_shipment".into(),
                json!(round(spent.sleeps as f64 / (shipped.max(1) as f64), 2)),
            );
        }
        None => {
            m.insert(
                "peak_rss_mb".into(),
                json!(round(measure::peak_rss_mb(), 1)),
            );
        }
    }
    m.insert("ups_requests".into(), Value::Object(by_api));
    m.insert(
        "ups_requests_total".into(),
        json!(total(&|s| s.requests.iter().map(|r| r.count).sum::<u64>()) - token_requests),
    );
    m.insert("token_requests".into(), json!(token_requests));
    let erp = sims.erp_requests();
    m.insert("erp_requests".into(), json!(erp));
    m.insert(
        "erp_requests_per_shipment".into(),
        json!(round(erp as f64 / shipped.max(1) as f64, 2)),
    );
    // Per ERP connector: its shipments, the requests its ERP received, per operation.
    let shipped_by = shipped_by_connector(&a.pipeline);
    let connectors: Map<String, Value> = sims
        .by_connector()
        .into_iter()
        .map(|(name, counters)| {
            let n = shipped_by.get(name).copied().unwrap_or(0);
            let r = sim_requests(counters);
            let mut line = json!({
                "shipments": n,
                "erp_requests": r,
                "erp_requests_per_shipment": round(r as f64 / n.max(1) as f64, 2),
                "erp_requests_by_operation": sim_ops(counters),
            });
            if name == "acumatica" {
                acumatica_figures(&mut line, counters, r, n);
            }
            (name.to_string(), line)
        })
        .collect();
    m.insert("connectors".into(), Value::Object(connectors));
    m.insert("ups_429_seen".into(), json!(total(&|s| s.rate_limited)));
    m.insert("ups_retries".into(), json!(total(&|s| s.retries)));
    m.insert("duplicates".into(), json!(audit.duplicates));
    m.insert("lost".into(), json!(audit.lost));
    m.insert("inconsistent".into(), json!(audit.inconsistent));
    m.insert("jobs".into(), Value::Object(states(&a.pipeline)));
    m.insert(
        "store_flushes".into(),
        json!(a.pipeline.ledger().store().flushes_run()),
    );
    store_writes(&mut m, a.pipeline.ledger().store(), shipped);
    m.insert("includes_simulators".into(), json!(sims.process.is_none()));
    if sims.process.is_some() {
        m.insert("simulators_in_child_process".into(), json!(true));
    } else {
        m.insert(
            "simulators_on_own_threads".into(),
            json!(spent.sim_cpu > Duration::ZERO),
        );
    }
    m
}

// ------------------------------------------------------------------------------------------
// Scenarios

/// `--acumatica-concurrency` in the world's Acumatica profile.
fn apply_acumatica_concurrency(w: &WorldDir, n: Option<u32>) -> anyhow::Result<()> {
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

/// `--acumatica-set KEY=VALUE` in the world's Acumatica profile and `--acumatica-confirm`
/// in its mapping.
fn apply_acumatica_options(w: &WorldDir, args: &BenchArgs) -> anyhow::Result<()> {
    let p = w.dir.join("connectors/acumatica.yaml");
    if p.exists() && !args.acumatica_set.is_empty() {
        let mut text = std::fs::read_to_string(&p)?;
        for kv in &args.acumatica_set {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--acumatica-set wants KEY=VALUE, got {kv}"))?;
            let lines: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with(&format!("{k}:")))
                .map(str::to_string)
                .collect();
            text = lines.join("\n") + &format!("\n{k}: {v}\n");
        }
        std::fs::write(&p, text)?;
    }
    let m = w.dir.join("mappings/acumatica-shipment.yaml");
    if let (Some(c), true) = (args.acumatica_confirm, m.exists()) {
        let text = std::fs::read_to_string(&m)?;
        std::fs::write(
            &m,
            text.replace(
                "  confirm_shipment: true",
                &format!("  confirm_shipment: {c}"),
            ),
        )?;
    }
    Ok(())
}

/// `action_poll_interval_ms: 10` in the world's Acumatica profile.
fn fast_action_polling(w: &WorldDir) -> anyhow::Result<()> {
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
