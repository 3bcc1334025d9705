//! `upsync demo`: the first five minutes of a new user, with no set-up at all.
//!
//! Starts the three simulators in-process on loopback ([`crate::app::world::World`]: UPS,
//! Acumatica and NetSuite, seeded with N shipments each), writes a real configuration,
//! profiles, mappings, master key and vault into a working directory, and then runs the
//! *real* daemon pieces in-process: [`crate::app::wiring::assemble`] (the same assembly
//! `upsync run` uses), the real store, the real HTTP listener (`/healthz`, `/readyz`,
//! `/metrics`, the Track Alert webhook), connector cycles through shipping and write-back,
//! and then tracking to delivery on an accelerated simulator clock (the UPS simulator's
//! clock is moved forward in steps and the tracker, running on that same clock, polls
//! Track, receives Track Alert pushes or reads Quantum View files: `--tracking`).
//!
//! Output: a few progress lines, a table per shipment and totals on stdout; labels stay in
//! `<dir>/labels/` (the path is printed). `--record-dir` keeps every request the
//! simulators received, `--report` writes the table as JSON. Exit 0 only when every
//! shipment was delivered.
//!
//! Must never: touch anything outside its working directory (and the optional record dir
//! and report file), or print secrets (the demo credentials are simulator-only anyway).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::app::wiring::{self, Assembly, Current};
use crate::app::world::{World, WorldOptions};
use crate::model::Milestone;
use crate::pipeline::{Job, JobState};
use crate::sim::ups::{ScenarioKey, TrackScenario};

mod dispatch;
mod rows;
pub mod split;
use rows::{erp_view, rows};
pub use rows::{print_table, ShipmentRow};

/// What the demo does, for callers that run it in-process (tests).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub shipments: usize,
    pub dir: PathBuf,
    pub record_dir: Option<PathBuf>,
    /// Give up (and report what is not delivered) after this much wall time.
    pub deadline: Duration,
    /// Seed troubled parcels among the normal ones ([`TROUBLES`]): failed attempts, an
    /// Access Point, an exception, a return, parcels never scanned, unknown or stalled.
    pub troubles: bool,
    /// How the daemon follows the parcels.
    pub tracking: DemoTracking,
    /// Keep the admin console up after the run (until Ctrl-C or SIGTERM), printing its URL
    /// and where the admin token is; the table is printed before.
    pub console: bool,
    /// Keep the ledger in this PostgreSQL database instead of sled under `dir` (tests that
    /// run on both backends, `upsync::both_stores!`).
    pub store_url: Option<String>,
}

/// `--tracking`: the tracking mode the demo's daemon runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DemoTracking {
    /// Track calls on a schedule (`tracking.mode: poll`).
    #[default]
    Polling,
    /// Track Alert v2: the UPS simulator pushes every scan to the daemon's webhook.
    TrackAlert,
    /// Quantum View subscription files, read page by page.
    QuantumView,
}

impl DemoTracking {
    /// `polling`, `track_alert`, `quantum_view`.
    pub fn parse(s: &str) -> Option<DemoTracking> {
        match s {
            "polling" | "poll" => Some(DemoTracking::Polling),
            "track_alert" => Some(DemoTracking::TrackAlert),
            "quantum_view" => Some(DemoTracking::QuantumView),
            _ => None,
        }
    }

    /// The `tracking.mode` written into the demo's configuration.
    fn config_mode(self) -> &'static str {
        match self {
            DemoTracking::Polling => "poll",
            DemoTracking::TrackAlert => "track_alert",
            DemoTracking::QuantumView => "quantum_view",
        }
    }

    fn how(self) -> &'static str {
        match self {
            DemoTracking::Polling => "by polling UPS Track",
            DemoTracking::TrackAlert => {
                "by Track Alert (UPS pushes each scan to the webhook; Track backfills)"
            }
            DemoTracking::QuantumView => {
                "by Quantum View (subscription files read page by page; Track backfills)"
            }
        }
    }
}

/// The trouble scenarios `--troubles` gives to the first shipped jobs (alternating the
/// ERPs), with the final status each must reach: (UPS simulator scenario, status).
pub const TROUBLES: [(TrackScenario, Milestone); 8] = [
    (TrackScenario::AttemptThenDelivered, Milestone::Delivered),
    (TrackScenario::AccessPoint, Milestone::Delivered),
    (TrackScenario::ExceptionThenDelivered, Milestone::Delivered),
    (TrackScenario::ReturnedToSender, Milestone::ReturnedToSender),
    (TrackScenario::NeverScanned, Milestone::Expired),
    (TrackScenario::Unknown, Milestone::Expired),
    (TrackScenario::Stalled, Milestone::Expired),
    (TrackScenario::AccessPoint, Milestone::Delivered),
];

/// Everything the demo found out.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    pub rows: Vec<ShipmentRow>,
    pub dir: PathBuf,
    pub label_dir: PathBuf,
    /// `http://127.0.0.1:PORT` of the daemon's listener while it ran.
    pub http_base: String,
    /// `/metrics` scraped over HTTP at the end.
    pub metrics: String,
    /// `/readyz` status at the end.
    pub readyz_status: u16,
    /// Records the connectors read but skipped (not a UPS ship-via).
    pub seeded: usize,
    /// Simulated days the UPS clock moved forward.
    pub simulated_days: f64,
    pub elapsed: Duration,
    /// The table was printed already (`console`: before the console came up).
    pub table_printed: bool,
}

impl DemoOutcome {
    pub fn all_delivered(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.milestone == "delivered")
    }

    /// Every parcel reached the final status its scenario expects (all `delivered`
    /// without `--troubles`).
    pub fn all_as_expected(&self) -> bool {
        !self.rows.is_empty() && self.rows.iter().all(|r| r.status == r.expected_status)
    }
}

/// Progress printer: elapsed wall time in front of every line.
struct Progress<'a> {
    out: &'a mut dyn Write,
    start: Instant,
}

impl Progress<'_> {
    fn line(&mut self, msg: impl std::fmt::Display) {
        let _ = writeln!(
            self.out,
            "[{:>5.1}s] {msg}",
            self.start.elapsed().as_secs_f64()
        );
        let _ = self.out.flush();
    }
}

/// Run the whole demo in-process; progress lines go to `out`.
pub async fn execute(o: DemoOptions, out: &mut dyn Write) -> anyhow::Result<DemoOutcome> {
    let start = Instant::now();
    let mut p = Progress { out, start };
    if let Some(r) = &o.record_dir {
        std::fs::create_dir_all(r).with_context(|| format!("cannot create {}", r.display()))?;
    }
    let mut wo = WorldOptions::new(&o.dir);
    wo.acumatica_shipments = o.shipments;
    wo.netsuite_fulfillments = o.shipments;
    // Return records in both ERPs and one outbound shipment with an automatic return.
    wo.returns = 2;
    wo.record_dir = o.record_dir.clone();
    wo.store_url = o.store_url.clone();
    // International documents (issue 20): paperless and printed invoices, uploads.
    wo.paperless_documents = true;
    // The UPS clock jumps days ahead while the client's token clock is real time: a token
    // that outlives the demo's simulated weeks avoids a 401-and-refresh on every jump.
    wo.ups_token_ttl_seconds = 60 * 86_400;
    // The demo drives cycles itself; the configured schedule is what `upsync run` would use.
    wo.schedule = "*/30 * * * * *".into();
    // The listener first: Track Alert's destination is its address.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http_base = format!("http://{}", listener.local_addr()?);
    wo.tracking_mode = o.tracking.config_mode().into();
    if o.tracking == DemoTracking::TrackAlert {
        wo.webhook_base = Some(http_base.clone());
    }
    let w = World::start(wo)
        .await
        .context("cannot start the simulators")?;
    p.line(format_args!(
        "simulators up: UPS {}  Acumatica {}  NetSuite {}",
        w.ups.base_url,
        w.acumatica
            .as_ref()
            .map(|h| h.base_url.as_str())
            .unwrap_or("-"),
        w.netsuite
            .as_ref()
            .map(|h| h.base_url.as_str())
            .unwrap_or("-"),
    ));
    p.line(format_args!(
        "seeded {n} Acumatica shipments and {n} NetSuite item fulfillments; working dir {}",
        o.dir.display(),
        n = o.shipments
    ));
    // Issue 20: an international order over the customs line limit (split at UPS).
    let split_order = split::seed(&w).await?;
    if let Some(nbr) = &split_order {
        p.line(format_args!(
            "seeded Acumatica shipment {nbr}: {} customs lines to Canada in {} packages (over_limit: split)",
            split::LINES,
            split::PACKAGES
        ));
    }
    if let Some(nbr) = crate::app::documents::demo_non_paperless_shipment(&w).await? {
        p.line(format_args!(
            "international shipment {nbr} ships from WEST (account 456Y78, not paperless-enabled): printed invoice"
        ));
    }

    let line = dispatch::prepare(&w).await?;
    p.line(format_args!("{line}"));

    // The daemon, in-process: store, assembly, HTTP listener.
    let store = w.open_store()?;
    let assembly = Arc::new(assemble(&w, store.clone()).await?);
    let current: Current = Arc::new(RwLock::new(assembly.clone()));
    if o.tracking == DemoTracking::QuantumView {
        // Small pages, so the reads follow UPS's bookmarks.
        w.ups.state.quantum.set_page_size(20);
    }
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let app = crate::server::router(
        wiring::server_state(&current),
        Some(assembly.webhook.clone()),
    );
    let server = tokio::spawn(crate::server::serve(listener, app, async {
        let _ = http_stopped.await;
    }));
    p.line(format_args!(
        "upsync listening on {http_base} (/metrics, /readyz, /healthz)"
    ));

    let deadline = start + o.deadline;
    ship_all(&assembly, &mut p, deadline).await?;
    let expected = if o.troubles {
        seed_troubles(&w, &assembly, &mut p)?
    } else {
        Default::default()
    };
    let simulated_days = track_all(&w, &assembly, &mut p, deadline, &expected, o.tracking).await?;

    // Scrape our own endpoints like a monitoring system would.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let metrics = http
        .get(format!("{http_base}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    let readyz_status = http
        .get(format!("{http_base}/readyz"))
        .send()
        .await?
        .status()
        .as_u16();

    let mut rows = rows(&assembly, &w.label_dir, &o.dir, &expected)?;
    for r in &mut rows {
        (r.erp_status, r.erp_signature) = erp_view(&w, r);
    }
    // The outbound records plus the return records of both ERPs (issue 20).
    let return_records = rows.iter().filter(|r| r.kind == "return").count();
    let mut outcome = DemoOutcome {
        rows,
        dir: o.dir.clone(),
        label_dir: w.label_dir.clone(),
        http_base,
        metrics,
        readyz_status,
        seeded: o.shipments * 2 + usize::from(split_order.is_some()) + return_records,
        simulated_days,
        elapsed: start.elapsed(),
        table_printed: false,
    };
    if o.console {
        print_table(&outcome, p.out)?;
        outcome.table_printed = true;
        let dead = match &w.acumatica {
            Some(h) => Some(crate::app::console::demo_dead_letter(&h.base_url, &assembly).await?),
            None => None,
        };
        crate::app::console::hold_for_demo(&current, &store, &o.dir, dead, p.out).await?;
    }
    assembly.pipeline.stop();
    assembly
        .pipeline
        .drain(crate::app::run::SHUTDOWN_BOUND)
        .await;
    for c in assembly.pipeline.connectors() {
        c.source.close().await;
    }
    store.flush_async().await?;
    let _ = stop_http.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    w.ups.shutdown();
    Ok(outcome)
}

/// The daemon's assembly against the world, on the UPS simulator's clock (so tracking
/// follows the accelerated clock).
async fn assemble(w: &World, store: Arc<crate::store::Store>) -> anyhow::Result<Assembly> {
    w.assemble_on_sim_clock(store).await
}

fn count_states(a: &Assembly) -> std::collections::BTreeMap<JobState, i64> {
    let mut m = std::collections::BTreeMap::new();
    for ((_, s), n) in a.pipeline.ledger().state_counts() {
        *m.entry(s).or_insert(0) += n;
    }
    m
}

/// One progress line about shipping, from the ledger's counts.
fn shipping_line(a: &Assembly) -> (String, i64) {
    let s = count_states(a);
    let sum = |f: &dyn Fn(JobState) -> bool| -> i64 {
        s.iter().filter(|(st, _)| f(**st)).map(|(_, n)| n).sum()
    };
    let total = sum(&|_| true);
    let active = sum(&|st| st.is_active());
    let labelled = sum(&|st| st.has_shipment());
    let back = sum(&|st| {
        matches!(
            st,
            JobState::WrittenBack | JobState::Tracking | JobState::Delivered
        )
    });
    let failed = sum(&|st| st == JobState::Failed);
    let line = format!(
        "shipping: {total} jobs, {labelled} labels created, {back} written back to the ERP{}",
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        }
    );
    (line, active)
}

/// Connector cycles (both connectors at once, as their schedules would run them) until
/// every record was read and every job left the shipping states; a progress line whenever
/// the counts change (checked twice a second).
async fn ship_all(a: &Assembly, p: &mut Progress<'_>, deadline: Instant) -> anyhow::Result<()> {
    let mut last = String::new();
    let mut read = 0usize;
    let mut show = |p: &mut Progress<'_>| -> i64 {
        let (line, active) = shipping_line(a);
        if line != last {
            p.line(&line);
            last = line;
        }
        active
    };
    loop {
        let cycles = futures::future::join_all(
            a.pipeline
                .connectors()
                .iter()
                .map(|c| async move { (c, a.pipeline.run_cycle(c).await) }),
        );
        tokio::pin!(cycles);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        tick.tick().await;
        let reports = loop {
            tokio::select! {
                r = &mut cycles => break r,
                _ = tick.tick() => { show(p); }
            }
        };
        let mut created = 0;
        for (c, r) in reports {
            let r = r.with_context(|| format!("connector '{}': cycle failed", c.name))?;
            if let Some(why) = &r.paused {
                anyhow::bail!("connector '{}' paused: {why}", c.name);
            }
            read += r.records_read;
            created += r.jobs_created;
        }
        let active = show(p);
        if created == 0 && active == 0 && read > 0 {
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("shipping did not finish in time ({active} jobs still active)");
        }
        if created == 0 {
            // Jobs waiting for a retry: give their backoff a moment.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Hours the UPS clock moves per tracking tick.
const STEP_HOURS: i64 = 2;
/// Give up after this many simulated days (the longest planned timeline is ~7 business days).
const MAX_DAYS: i64 = 30;

fn milestone_name(m: Milestone) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| m.label().to_string())
}

/// Move the UPS clock forward in steps; the tracker (on the same clock) polls Track and
/// writes milestones back, until every tracked job is delivered. Returns simulated days.
async fn track_all(
    w: &World,
    a: &Assembly,
    p: &mut Progress<'_>,
    deadline: Instant,
    expected: &Expected,
    mode: DemoTracking,
) -> anyhow::Result<f64> {
    let registered = a.tracker.scan_jobs()?;
    p.line(format_args!(
        "tracking {registered} packages {}; the UPS clock now moves {STEP_HOURS} hours per step",
        mode.how()
    ));
    let start = w.ups.core.clock.now();
    let mut steps = 0i64;
    loop {
        w.ups.advance(chrono::Duration::hours(STEP_HOURS)).await;
        steps += 1;
        a.tracker.scan_jobs()?;
        a.tracker.tick().await?;
        let s = count_states(a);
        let tracking = s.get(&JobState::Tracking).copied().unwrap_or(0);
        let delivered = s.get(&JobState::Delivered).copied().unwrap_or(0);
        let day_done = (steps * STEP_HOURS) % 24 == 0;
        // With troubles some parcels never get delivered: done when each reached the
        // status its scenario expects (a returned or expired parcel stays in `tracking`).
        let settled = if expected.is_empty() {
            tracking == 0
        } else {
            all_settled(a, expected)?
        };
        if day_done || settled {
            let mut by: std::collections::BTreeMap<Milestone, usize> = Default::default();
            for pk in a.tracker.packages()? {
                *by.entry(pk.milestone).or_default() += 1;
            }
            let parts: Vec<String> = by
                .iter()
                .map(|(m, n)| format!("{n} {}", milestone_name(*m).replace('_', " ")))
                .collect();
            let now = w.ups.core.clock.now();
            p.line(format_args!(
                "day {:>2} ({}): packages {}; shipments delivered {delivered}/{}",
                (now - start).num_hours() / 24,
                now.format("%a %d %b"),
                if parts.is_empty() {
                    "-".into()
                } else {
                    parts.join(", ")
                },
                delivered + tracking
            ));
        }
        if settled {
            let s = a.tracker.stats().snapshot();
            p.line(format_args!(
                "tracking events: {} pushed by Track Alert, {} read from Quantum View ({} files); {} Track calls",
                s.events_received, s.qv_events, s.qv_files, s.polls
            ));
            break;
        }
        if steps * STEP_HOURS > MAX_DAYS * 24 || Instant::now() > deadline {
            p.line(format_args!(
                "giving up: {tracking} shipments still in transit after {} simulated days",
                steps * STEP_HOURS / 24
            ));
            break;
        }
    }
    Ok((steps * STEP_HOURS) as f64 / 24.0)
}

/// UPS service names of the codes the demo's mappings use.
pub fn service_name(code: &str) -> &'static str {
    match code {
        "01" => "Next Day Air",
        "02" => "2nd Day Air",
        "03" => "Ground",
        "07" => "Worldwide Express",
        "08" => "Worldwide Expedited",
        "11" => "Standard",
        "12" => "3 Day Select",
        "13" => "Next Day Air Saver",
        "14" => "Next Day Air Early",
        "54" => "Worldwide Express Plus",
        "59" => "2nd Day Air A.M.",
        "65" => "Worldwide Saver",
        _ => "UPS",
    }
}

/// The job's milestone as tracking last saw it (its packages aggregated), else its
/// ledger state.
pub(crate) fn milestone_of(a: &Assembly, job: &Job) -> String {
    if job.state == JobState::Delivered {
        return "delivered".into();
    }
    let tracked = a.tracker.job(&job.id).ok().flatten().and_then(|jt| {
        let pkgs: Vec<_> = jt
            .packages
            .iter()
            .filter_map(|tn| a.tracker.package(tn).ok().flatten())
            .collect();
        crate::tracking::aggregate(&pkgs)
    });
    match (tracked, job.state) {
        (Some(s), _) => milestone_name(s.milestone),
        (None, JobState::Tracking | JobState::WrittenBack) => "label_created".into(),
        (None, other) => other.as_str().into(),
    }
}

/// Job id → (scenario, expected final status) of the troubled parcels.
pub(crate) type Expected = std::collections::BTreeMap<String, (TrackScenario, Milestone)>;

/// Give [`TROUBLES`] to the first shipped jobs, alternating the connectors, through the
/// UPS simulator's scenario table (by the ERP number, the shipment's first reference).
fn seed_troubles(w: &World, a: &Assembly, p: &mut Progress<'_>) -> anyhow::Result<Expected> {
    let mut by_source: std::collections::BTreeMap<String, Vec<Job>> = Default::default();
    for j in a.pipeline.ledger().jobs(None, None) {
        let j = j?;
        if j.result.is_some() && j.state != JobState::Superseded {
            by_source.entry(j.source.clone()).or_default().push(j);
        }
    }
    let mut queues: Vec<std::collections::VecDeque<Job>> = by_source
        .into_values()
        .map(|mut v| {
            v.sort_by(|x, y| x.number.cmp(&y.number));
            v.into()
        })
        .collect();
    let mut out = Expected::new();
    for (i, (scenario, status)) in TROUBLES.into_iter().enumerate() {
        let n = queues.len();
        let Some(job) = (0..n).find_map(|k| queues[(i + k) % n].pop_front()) else {
            break;
        };
        let reference = job
            .shipment
            .as_ref()
            .and_then(|s| s.references.first().map(|r| r.value.clone()))
            .unwrap_or_else(|| job.number.clone());
        w.ups
            .set_track_scenario(ScenarioKey::Reference(reference), scenario);
        out.insert(job.id.clone(), (scenario, status));
    }
    let names: Vec<String> = out
        .values()
        .map(|(s, m)| format!("{} → {}", s.as_str(), m.as_str()))
        .collect();
    p.line(format_args!(
        "troubles: {} parcels take another path: {}",
        out.len(),
        names.join(", ")
    ));
    Ok(out)
}

/// Every troubled parcel reached its expected status and every other job is delivered.
fn all_settled(a: &Assembly, expected: &Expected) -> anyhow::Result<bool> {
    let store = a.pipeline.ledger().store();
    for j in a.pipeline.ledger().jobs(None, None) {
        let j = j?;
        if !matches!(
            j.state,
            JobState::Tracking | JobState::Delivered | JobState::WrittenBack
        ) {
            continue;
        }
        let want = expected
            .get(&j.id)
            .map_or(Milestone::Delivered, |(_, m)| *m);
        let view = crate::tracking::view::job_view(store, &j.id)?;
        let have = view
            .as_ref()
            .and_then(|v| v.snapshot.as_ref().map(|s| s.milestone));
        let written = view.and_then(|v| v.job.status_history.last().map(|m| m.status));
        if have != Some(want) || written != Some(want) {
            return Ok(false);
        }
    }
    Ok(true)
}
