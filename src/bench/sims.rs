//! The bench world's simulators in a child process, so a bench line can tell the daemon's
//! memory and CPU from the simulators' (issue 24: `upsync_peak_rss_mb` apart from
//! `sim_peak_rss_mb`). The simulators hold every seeded record as JSON values (tens of KB
//! each); in the bench's own process they hid whatever the daemon holds per job in flight.
//!
//! Two sides, one protocol of JSON lines:
//! * the child, `upsync sim world --options JSON` (hidden; [`serve`]): starts the
//!   simulators [`WorldOptions`] asks for, on loopback, seeded, and prints their base URLs
//!   ([`SimUrls`]) as its first line. Then it reads commands from stdin, one a line:
//!   `audit` answers with one line, the [`Audit`] of its simulators (nothing lost, nothing
//!   shipped twice). Stdin closed → it exits (so it never outlives the bench).
//! * the bench, [`ChildWorld`]: spawns the child, writes the working directory for its URLs
//!   ([`WorldDir::write`]), reads the simulators' counters from their `/_sim/stats` routes
//!   (`sim::common::admin_router`) and the child's CPU and peak RSS from `/proc/<pid>`.
//!
//! Tests keep the in-process [`World`] (they read simulator state directly); only the
//! `throughput` scenario runs its simulators here.
//!
//! Never: print secrets or addresses (URLs are loopback, the audit carries counts and
//! document numbers only).

use std::collections::BTreeMap;
use std::process::{ExitCode, Stdio};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::app::world::{SimUrls, Simulators, WorldDir, WorldOptions};

use super::audit::{audit_simulators, Audit};

/// `upsync sim world` (hidden): the bench world's simulators, for a bench in another process.
#[derive(Debug, Clone, clap::Args)]
pub struct SimWorldArgs {
    /// The world's options as JSON (`WorldOptions`; only the simulators' part is used).
    #[arg(long)]
    pub options: String,
}

/// The child's side: start, print the URLs, answer `audit` until stdin closes.
pub async fn serve(args: SimWorldArgs) -> anyhow::Result<ExitCode> {
    let mut o: WorldOptions =
        serde_json::from_str(&args.options).context("--options is not a world's options")?;
    // This process is the simulators' own: no second runtime needed.
    o.separate_sim_runtime = false;
    let sims = Simulators::start(&o).await?;
    println!("{}", serde_json::to_string(&sims.urls())?);
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        match line.trim() {
            "audit" => {
                let a =
                    audit_simulators(&sims.ups, sims.acumatica.as_ref(), sims.netsuite.as_ref());
                println!("{}", serde_json::to_string(&a)?);
            }
            "" => {}
            other => eprintln!("upsync sim world: unknown command {other:?} (known: audit)"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// CPU and memory of the simulators' process.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessFigures {
    /// User + system CPU since it started.
    pub cpu_seconds: f64,
    pub rss_mb: f64,
    /// Peak resident set (VmHWM).
    pub peak_rss_mb: f64,
}

/// A world whose simulators run in a child process ([`serve`]); derefs to its working
/// directory, like [`crate::app::world::World`].
pub struct ChildWorld {
    files: WorldDir,
    pub urls: SimUrls,
    pid: u32,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    http: reqwest::Client,
    /// Declared last; killed when dropped (closing stdin alone would also end it).
    _child: Child,
}

impl std::ops::Deref for ChildWorld {
    type Target = WorldDir;

    fn deref(&self) -> &WorldDir {
        &self.files
    }
}

impl ChildWorld {
    /// Spawn this binary as `upsync sim world`, wait for its URLs, write the directory.
    pub async fn start(o: WorldOptions) -> anyhow::Result<ChildWorld> {
        let exe = std::env::current_exe()?;
        let mut child = tokio::process::Command::new(exe)
            .arg("sim")
            .arg("world")
            .arg("--options")
            .arg(serde_json::to_string(&o)?)
            .env("UPSYNC_LOG", "warn")
            // The simulators serve every request the daemon makes: two workers, whatever
            // the daemon runs with (its default is one, see `cli::worker_threads`).
            .env("UPSYNC_WORKER_THREADS", "2")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the simulators' process (`upsync sim world`)")?;
        let pid = child.id().context("the simulators' process has no pid")?;
        let stdin = child.stdin.take().context("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let first = stdout
            .next_line()
            .await?
            .context("the simulators' process ended before printing its URLs")?;
        let urls: SimUrls = serde_json::from_str(&first)
            .with_context(|| format!("the simulators' process printed {first:?}"))?;
        let files = WorldDir::write(&o, &urls, None)?;
        Ok(ChildWorld {
            files,
            urls,
            pid,
            stdin,
            stdout,
            http: reqwest::Client::new(),
            _child: child,
        })
    }

    /// The child's audit of its simulators.
    pub async fn audit(&mut self) -> anyhow::Result<Audit> {
        self.stdin.write_all(b"audit\n").await?;
        self.stdin.flush().await?;
        let line = self
            .stdout
            .next_line()
            .await?
            .context("the simulators' process ended before answering `audit`")?;
        Ok(serde_json::from_str(&line)?)
    }

    /// The counters of the simulator at `base` (`GET /_sim/stats`).
    pub async fn counters(&self, base: &str) -> anyhow::Result<BTreeMap<String, u64>> {
        #[derive(serde::Deserialize)]
        struct Stats {
            counters: BTreeMap<String, u64>,
        }
        let s: Stats = self
            .http
            .get(format!("{base}/_sim/stats"))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(s.counters)
    }

    /// The child's CPU and memory now (`/proc/<pid>`).
    pub fn process(&self) -> ProcessFigures {
        super::frugal::proc_figures(self.pid)
            .map(|(cpu_seconds, rss_mb, peak_rss_mb)| ProcessFigures {
                cpu_seconds,
                rss_mb,
                peak_rss_mb,
            })
            .unwrap_or_default()
    }

    /// Everything a bench line needs from the simulators.
    pub async fn figures(&mut self) -> anyhow::Result<super::SimFigures> {
        let audit = self.audit().await?;
        let acumatica = match self.urls.acumatica.clone() {
            Some(u) => Some(self.counters(&u).await?),
            None => None,
        };
        let netsuite = match self.urls.netsuite.clone() {
            Some(u) => Some(self.counters(&u).await?),
            None => None,
        };
        Ok(super::SimFigures {
            audit,
            acumatica,
            netsuite,
            process: Some(self.process()),
        })
    }
}
