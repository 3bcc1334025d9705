//! The console's backend over the running daemon ([`crate::console::ConsoleBackend`]): it
//! reads the assembly in force (replaced on reload) and its store, and its buttons call the
//! pipeline's own `replay` and `void`, as `upsync jobs replay|void` do.
//!
//! Also [`start`]: binds `console.listen` and serves the console with the same hardened
//! listener as the ops routes (`http.*` limits), for `upsync run` and `upsync demo --console`.

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;

use crate::app::wiring::{Assembly, Current};
use crate::console::{
    ConnectorRow, ConsoleBackend, ConsoleSettings, CredentialRow, DeadLetterRow, FailureView,
    JobDetail, JobQuery, JobRow, Overview, TimelineRow, TokenBudgetRow,
};
use crate::model::Milestone;
use crate::pipeline::{Job, JobState};

/// [`ConsoleBackend`] over the assembly in force.
pub struct DaemonConsole {
    current: Current,
}

impl DaemonConsole {
    pub fn new(current: Current) -> DaemonConsole {
        DaemonConsole { current }
    }

    fn assembly(&self) -> Arc<Assembly> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn text(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// A time as the pages show it (UTC, to the second).
fn when(t: chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn failure_view(f: &crate::pipeline::ledger::Failure) -> FailureView {
    FailureView {
        code: f.code.clone(),
        message: f.message.clone(),
        fix: crate::model::codes::lookup(&f.code)
            .map(|c| c.fix.to_string())
            .unwrap_or_else(|| "see docs/error-codes.md".into()),
        at: when(f.at),
    }
}

fn row(job: &Job, status: Option<Milestone>) -> JobRow {
    JobRow {
        id: job.id.clone(),
        connector: job.source.clone(),
        number: job.number.clone(),
        state: job.state.as_str().to_string(),
        status: status.map(|m| m.as_str().to_string()),
        tracking_numbers: job
            .result
            .as_ref()
            .map(|r| {
                r.packages
                    .iter()
                    .map(|p| p.tracking_number.clone())
                    .collect()
            })
            .unwrap_or_default(),
        detail: job.summary(),
        updated_at: when(job.updated_at),
    }
}

fn matches(job: &Job, q: &str) -> bool {
    job.number.eq_ignore_ascii_case(q)
        || job.result.as_ref().is_some_and(|r| {
            r.shipment_id.eq_ignore_ascii_case(q)
                || r.packages
                    .iter()
                    .any(|p| p.tracking_number.eq_ignore_ascii_case(q))
        })
}

#[async_trait::async_trait]
impl ConsoleBackend for DaemonConsole {
    fn overview(&self) -> Result<Overview, String> {
        let a = self.assembly();
        let counts = a.pipeline.ledger().state_counts();
        let now = Utc::now();
        let connectors = a
            .pipeline
            .connectors()
            .iter()
            .map(|c| {
                let of = |f: &dyn Fn(JobState) -> bool| -> i64 {
                    counts
                        .iter()
                        .filter(|((n, s), _)| *n == c.name && f(*s))
                        .map(|(_, v)| *v)
                        .sum()
                };
                let last = c.health.last_cycle();
                ConnectorRow {
                    name: c.name.clone(),
                    kind: a
                        .config
                        .connectors
                        .iter()
                        .find(|x| x.name == c.name)
                        .map(|x| x.kind.as_str().to_string())
                        .unwrap_or_default(),
                    last_cycle: last.as_ref().map(|(at, _)| when(*at)),
                    last_outcome: last.map(|(_, o)| o),
                    next_run: a
                        .schedules
                        .iter()
                        .find(|(n, _)| *n == c.name)
                        .and_then(|(_, cron)| crate::config::cron::next_run(cron, now))
                        .map(when),
                    backlog: of(&|s| s.is_active()),
                    failed: of(&|s| s == JobState::Failed),
                    paused: c.health.paused_reason(),
                }
            })
            .collect();
        let statuses = crate::tracking::view::job_statuses(&a.store).map_err(text)?;
        Ok(Overview {
            connectors,
            token_budgets: a
                .accounts
                .clients()
                .iter()
                .map(|c| {
                    let s = c.client.stats();
                    TokenBudgetRow {
                        client: c.accounts.join(", "),
                        used_today: s.token_requests_today,
                        budget_per_day: s.token_budget_per_day,
                        warning: s.token_budget_warning,
                    }
                })
                .collect(),
            dead_letters: counts
                .iter()
                .filter(|((_, s), _)| *s == JobState::Failed)
                .map(|(_, v)| *v as usize)
                .sum(),
            tracking_exceptions: statuses.values().filter(|m| m.is_trouble()).count(),
            credentials: crate::app::credentials::inventory(&a.config, &a.store, a.pipeline.now())
                .into_iter()
                .filter(|c| !c.used_by.is_empty())
                .map(|c| CredentialRow {
                    state: c.state.as_str().to_string(),
                    expires_at: c.expires_at.map(when),
                    days_left: c.expires_at.map(|t| (t - a.pipeline.now()).num_days()),
                    kind: c.kind,
                    name: c.name,
                })
                .collect(),
        })
    }

    fn connectors(&self) -> Vec<String> {
        self.assembly()
            .pipeline
            .connectors()
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    fn jobs(&self, q: &JobQuery, limit: usize) -> Result<Vec<JobRow>, String> {
        let a = self.assembly();
        let state = match q.state.as_deref() {
            None => None,
            Some(s) => Some(JobState::parse(s).ok_or_else(|| format!("unknown state '{s}'"))?),
        };
        let wanted: Option<Box<dyn Fn(Milestone) -> bool>> = match q.status.as_deref() {
            None => None,
            Some("trouble") => Some(Box::new(|m: Milestone| m.is_trouble())),
            Some(s) => {
                let m = Milestone::parse(s).ok_or_else(|| format!("unknown status '{s}'"))?;
                Some(Box::new(move |x| x == m))
            }
        };
        let statuses = crate::tracking::view::job_statuses(&a.store).map_err(text)?;
        let mut out = Vec::new();
        for job in a.pipeline.ledger().jobs(q.connector.as_deref(), state) {
            let job = job.map_err(text)?;
            let status = statuses.get(&job.id).copied();
            if let Some(w) = &wanted {
                if !status.is_some_and(w) {
                    continue;
                }
            }
            if let Some(needle) = q.q.as_deref() {
                if !matches(&job, needle.trim()) {
                    continue;
                }
            }
            out.push(row(&job, status));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn job(&self, id: &str) -> Result<Option<JobDetail>, String> {
        let a = self.assembly();
        let Some(job) = a.pipeline.ledger().get(id).map_err(text)? else {
            return Ok(None);
        };
        let view = crate::tracking::view::job_view(&a.store, id).map_err(text)?;
        let status = view
            .as_ref()
            .and_then(|v| v.snapshot.as_ref())
            .map(|s| s.milestone);
        let audit = a
            .pipeline
            .ledger()
            .audit(id)
            .map_err(text)?
            .into_iter()
            .map(|v| v.to_string())
            .collect();
        Ok(Some(JobDetail {
            row: row(&job, status),
            failure: job.last_error.as_ref().map(failure_view),
            timeline: job
                .timeline
                .iter()
                .map(|t| TimelineRow {
                    at: when(t.at),
                    from: t.from.map(|f| f.as_str().to_string()).unwrap_or_default(),
                    to: t.to.as_str().to_string(),
                    note: t.note.clone(),
                })
                .collect(),
            audit,
            status_history: view
                .map(|v| {
                    v.job
                        .status_history
                        .iter()
                        .map(|m| m.status.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            can_replay: job.state == JobState::Failed,
            can_void: job.result.is_some()
                && !matches!(job.state, JobState::Voided | JobState::Delivered),
        }))
    }

    fn dead_letters(&self) -> Result<Vec<DeadLetterRow>, String> {
        let a = self.assembly();
        let ledger = a.pipeline.ledger();
        let mut rows = Vec::new();
        for d in ledger.dead_letters().map_err(text)? {
            let shipped = ledger
                .get(&d.job_id)
                .map_err(text)?
                .is_some_and(|j| j.result.is_some());
            rows.push(DeadLetterRow {
                job_id: d.job_id,
                connector: d.source,
                number: d.number,
                failure: failure_view(&d.failure),
                shipped,
            });
        }
        Ok(rows)
    }

    fn tracking_exceptions(&self) -> Result<Vec<JobRow>, String> {
        let a = self.assembly();
        let statuses = crate::tracking::view::job_statuses(&a.store).map_err(text)?;
        let mut out = Vec::new();
        for (id, m) in statuses.iter().filter(|(_, m)| m.is_trouble()) {
            if let Some(job) = a.pipeline.ledger().get(id).map_err(text)? {
                out.push(row(&job, Some(*m)));
            }
        }
        Ok(out)
    }

    async fn replay(&self, id: &str) -> Result<String, String> {
        let a = self.assembly();
        let job = a.pipeline.replay(id).await.map_err(text)?;
        Ok(job.state.as_str().to_string())
    }

    async fn void(&self, id: &str) -> Result<String, String> {
        let a = self.assembly();
        let job = a.pipeline.void(id).await.map_err(text)?;
        Ok(job.state.as_str().to_string())
    }

    fn pickups(&self) -> Result<Vec<crate::console::PickupRow>, String> {
        let a = self.assembly();
        Ok(crate::dispatch::book::read_all(&a.store)
            .map_err(text)?
            .iter()
            .rev()
            .map(pickup_row)
            .collect())
    }

    async fn cancel_pickup(&self, prn: &str) -> Result<String, String> {
        let a = self.assembly();
        let p = a.pipeline.cancel_pickup(prn).await.map_err(text)?;
        Ok(p.state.as_str().to_string())
    }
}

/// A pickup as the console's pickups page shows it.
fn pickup_row(p: &crate::dispatch::Pickup) -> crate::console::PickupRow {
    crate::console::PickupRow {
        site: p.site.clone(),
        date: p.date.format("%Y-%m-%d").to_string(),
        prn: p.prn.clone(),
        state: p.state.as_str().to_string(),
        shipments: p
            .shipments
            .iter()
            .map(|c| {
                if c.voided {
                    format!("{} (voided)", c.number)
                } else {
                    c.number.clone()
                }
            })
            .collect(),
        packages: p.packages(),
        weight_lbs: format!("{:.1}", p.weight_lbs()),
        last_note: p.history.last().map(|(_, n)| n.clone()).unwrap_or_default(),
        can_cancel: p.state == crate::dispatch::PickupState::Booked && p.prn.is_some(),
    }
}

/// What the daemon will serve: `None` when the console is off, else its address and
/// settings (the admin token read from the vault; an unusable one is an error that says
/// how to set it).
pub fn plan(
    cfg: &crate::config::Config,
    store: &crate::store::Store,
) -> anyhow::Result<Option<(String, ConsoleSettings)>> {
    let c = &cfg.console;
    if !c.enabled {
        return Ok(None);
    }
    let fields = crate::app::wiring::read_credentials(store, &c.admin_token)?;
    let token = crate::console::admin_token_from_fields(&c.admin_token, &fields)
        .map_err(anyhow::Error::msg)?;
    Ok(Some((
        c.listen.clone(),
        ConsoleSettings {
            admin_token: token,
            session_idle: std::time::Duration::from_secs(c.session_idle_minutes.max(1) * 60),
            secure_cookie: c.secure_cookie,
        },
    )))
}

/// A console being served: its address, and the handle that stops it.
pub struct RunningConsole {
    pub addr: std::net::SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningConsole {
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.task).await;
    }
}

/// Bind `listen` (or `console.listen`) and serve the console over `current` (whether or
/// not `console.enabled` says so: the caller decided).
pub async fn start(current: &Current, listen: Option<&str>) -> anyhow::Result<RunningConsole> {
    let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
    let mut on = a.config.clone();
    on.console.enabled = true;
    let (configured, settings) = plan(&on, &a.store)?.expect("enabled above");
    let listen = listen.map(str::to_string).unwrap_or(configured);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (console.listen)"))?;
    let addr = listener.local_addr()?;
    let app = crate::console::router(Arc::new(DaemonConsole::new(current.clone())), settings);
    let limits = crate::server::Limits::from_config(&a.config.http);
    let stats = Arc::new(crate::server::ListenerStats::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crate::server::serve_with(
        listener,
        app,
        limits,
        stats,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(RunningConsole { addr, stop, task })
}

/// `upsync demo --console`: one record for the admin to fix and replay. A new shipment in
/// the Acumatica simulator (UPS Ground to Atlanta) whose first package has no weight; one
/// cycle dead-letters it (`package_weight_invalid`). Returns its shipment number and the
/// `curl` that fixes it in the simulator. It is added after the demo's table, so the report
/// and the exit status are unchanged.
pub async fn demo_dead_letter(
    acumatica_url: &str,
    a: &Assembly,
) -> anyhow::Result<(String, String)> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()?;
    let url = format!("{acumatica_url}/_sim/acumatica/shipments");
    let rec: serde_json::Value = http
        .post(&url)
        .json(&serde_json::json!({
            "ShipVia": {"value": "UPSGROUND"},
            "ShippingSettings": {"ShipToAddress": {
                "AddressLine1": {"value": "100 Peachtree Street"}, "City": {"value": "Atlanta"},
                "State": {"value": "GA"}, "PostalCode": {"value": "30303"}, "Country": {"value": "US"}}}
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let number = rec["ShipmentNbr"]["value"]
        .as_str()
        .context("the simulator's new shipment has a number")?
        .to_string();
    let weight = |w: f64| {
        serde_json::json!({
            "id": rec["id"],
            "Packages": [{"id": rec["Packages"][0]["id"], "Weight": {"value": w}}]
        })
    };
    http.post(&url)
        .json(&weight(0.0))
        .send()
        .await?
        .error_for_status()?;
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await?;
    }
    let fix = format!(
        "curl -s -X POST {url} -H 'content-type: application/json' -d '{}'",
        weight(4.5)
    );
    Ok((number, fix))
}

/// `upsync demo --console`: a fresh admin token in the demo's vault (entry
/// `console-admin`, also written to `<dir>/console-admin-token`, mode 0600), the console on
/// a free loopback port, its URL printed; then wait for Ctrl-C or SIGTERM.
pub async fn hold_for_demo(
    current: &Current,
    store: &crate::store::Store,
    dir: &std::path::Path,
    dead_letter: Option<(String, String)>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    use ring::rand::SecureRandom;
    use std::io::Write;
    let mut bytes = [0u8; 20];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| anyhow::anyhow!("the system random source failed"))?;
    let token = hex::encode(bytes);
    let entry = crate::config::defaults::CONSOLE_ADMIN_TOKEN;
    crate::store::creds::Credentials {
        fields: [("token".to_string(), token.clone())].into(),
        updated_at: Utc::now(),
    }
    .save(store, entry)?;
    let file = dir.join("console-admin-token");
    let mut f = crate::store::restrict::create_private_file(&file)
        .with_context(|| format!("cannot write {}", file.display()))?;
    f.write_all(token.as_bytes())?;
    let console = start(current, Some("127.0.0.1:0")).await?;
    if let Some((n, fix)) = dead_letter {
        writeln!(
            out,
            "Acumatica shipment {n} (added after the table) has a package without weight and waits in the dead-letter queue."
        )?;
        writeln!(out, "fix it in the simulator, then press Replay: {fix}")?;
    }
    writeln!(out, "console: http://{}/console/", console.addr)?;
    writeln!(
        out,
        "admin token: vault entry `{entry}` (the token is in {}); Ctrl-C stops the demo",
        file.display()
    )?;
    out.flush()?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    console.stop().await;
    Ok(())
}
