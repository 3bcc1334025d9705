//! Command line (clap). This file only parses, sets up logging and the runtime, hands each
//! command to its file in [`crate::commands`], and turns results into exit codes.
//!
//! Exit codes: 0 success, 1 failure, 78 (EX_CONFIG) configuration errors (`check`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Connects Acumatica and NetSuite to UPS: labels, tracking and write-back, exactly once.
#[derive(Debug, Parser)]
#[command(name = "upsync", version, about, long_about = None)]
pub struct Cli {
    /// Configuration file (YAML). Environment overrides: UPSYNC__SECTION__KEY.
    #[arg(
        long,
        global = true,
        env = "UPSYNC_CONFIG",
        default_value = "config/upsync.yaml"
    )]
    pub config: PathBuf,

    /// Log format: text on a terminal, json for journald/log shippers. Filter: UPSYNC_LOG.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

pub use crate::app::logging::LogFormat;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: schedules, HTTP server (webhook, metrics, health), systemd notify.
    Run,
    /// Run one cycle of every connector (or one), then exit.
    Once {
        /// Only this connector.
        #[arg(long)]
        connector: Option<String>,
    },
    /// Validate config, profiles, mappings and fixtures, verify the store; report every
    /// problem; exit 78 on error (also when the credentials cannot be checked here).
    Check {
        /// Also sign in to every ERP with its stored credentials and count the records in the
        /// profile's ready state, overall and passing its ship via / ship method filter
        /// (warns when none pass).
        #[arg(long)]
        online: bool,
        /// Do not check the credentials in the vault (e.g. on a build host without the
        /// master key); without it, credentials that cannot be checked are an error.
        #[arg(long)]
        no_credentials: bool,
    },
    /// Reach every configured system with its credentials; one line each.
    Ping,
    /// Built-in simulators on loopback, seeded ERPs, full cycle to delivery, summary table.
    Demo(crate::commands::demo::DemoArgs),
    /// Print a new random master key (base64) for UPSYNC_MASTER_KEY_FILE.
    Keygen,
    /// The state store: verify every record, back it up (also while the daemon runs),
    /// export what still reads from a damaged one.
    #[command(subcommand)]
    Store(crate::commands::store::StoreCommand),
    /// Manage encrypted credentials in the vault.
    #[command(subcommand)]
    Creds(crate::commands::creds::CredsCommand),
    /// Test mappings: run fixtures, or map one record and print the result.
    #[command(subcommand)]
    Mapping(crate::commands::mapping::MappingCommand),
    /// Inspect and act on jobs in the ledger.
    #[command(subcommand)]
    Jobs(crate::commands::jobs::JobsCommand),
    /// On-call UPS pickups per site and day: list, show, cancel (docs/pickups.md).
    #[command(subcommand)]
    Pickups(crate::commands::pickups::PickupsCommand),
    /// Outbound status events: list, show, retry dead-lettered deliveries.
    #[command(subcommand)]
    Events(crate::commands::events::EventsCommand),
    /// Checkout rating: quote one shipment as `POST /v1/rates` would.
    #[command(subcommand)]
    Rates(crate::commands::rates::RatesCommand),
    /// Labels: reprint stored labels without creating a shipment.
    #[command(subcommand)]
    Labels(crate::commands::labels::LabelsCommand),
    /// Run a simulator (UPS, Acumatica or NetSuite) on loopback.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Benchmark the full pipeline against in-process simulators; prints one JSON line.
    Bench(crate::bench::BenchArgs),
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// UPS simulator (OAuth, Ship, Void, Rate, XAV, Track, Track Alert, Label Recovery).
    Ups(crate::sim::ups::SimUpsArgs),
    /// Acumatica simulator (contract-based REST, Default endpoint).
    Acumatica(crate::sim::acumatica::SimAcumaticaArgs),
    /// NetSuite simulator (SuiteTalk REST: OAuth 2.0 M2M, TBA, SuiteQL, record API).
    Netsuite(crate::sim::netsuite::SimNetsuiteArgs),
    /// A bench world's simulators, for a bench in another process (`upsync bench`).
    #[command(hide = true)]
    World(crate::bench::sims::SimWorldArgs),
}

/// Global options every command receives.
#[derive(Debug, Clone)]
pub struct Globals {
    pub config: PathBuf,
    pub log_format: LogFormat,
}

/// Parse, set up logging and runtime, dispatch.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // State, ledger and labels hold names and addresses: private whatever the umask.
    crate::store::restrict::set_private_umask();
    let globals = Globals {
        config: cli.config.clone(),
        log_format: cli.log_format,
    };
    crate::app::logging::init(globals.log_format);
    if matches!(
        cli.command,
        Command::Jobs(_)
            | Command::Pickups(_)
            | Command::Events(_)
            | Command::Labels(_)
            | Command::Mapping(_)
            | Command::Store(_)
            | Command::Creds(_)
            | Command::Check { .. }
            | Command::Keygen
    ) {
        crate::commands::quiet_on_closed_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("upsync: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(dispatch(cli.command, globals));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("upsync: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime's worker threads: `UPSYNC_WORKER_THREADS`, else one.
///
/// The daemon waits on the network nearly all the time, and what blocks already runs on
/// threads of its own (sled's I/O threads and the store's flush thread, label files on
/// tokio's blocking pool). A second worker mostly wakes up to steal a task and goes back to
/// sleep: one worker made the same shipments/s for 12–20 % less CPU per shipment in
/// `upsync bench` (docs/performance.md, "Session 10"). Read before the configuration is
/// (the runtime runs the loading), so it is an environment variable, not a config key.
fn worker_threads() -> usize {
    const DEFAULT: usize = 1;
    match std::env::var("UPSYNC_WORKER_THREADS") {
        Err(_) => DEFAULT,
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => n,
            _ => {
                eprintln!(
                    "upsync: UPSYNC_WORKER_THREADS={v:?} is not a thread count from 1 to 256; using {DEFAULT}"
                );
                DEFAULT
            }
        },
    }
}

async fn dispatch(command: Command, g: Globals) -> anyhow::Result<ExitCode> {
    use crate::commands as c;
    match command {
        Command::Run => c::run::run(&g).await,
        Command::Once { connector } => c::once::once(&g, connector.as_deref()).await,
        Command::Check {
            online,
            no_credentials,
        } => c::check::run(&g, online, no_credentials).await,
        Command::Store(cmd) => c::store::run(&g, cmd).await,
        Command::Ping => c::ping::run(&g).await,
        Command::Demo(args) => c::demo::run(&g, args).await,
        Command::Keygen => c::keygen::keygen(),
        Command::Creds(cmd) => c::creds::run(&g, cmd).await,
        Command::Mapping(cmd) => c::mapping::run(&g, cmd).await,
        Command::Jobs(cmd) => c::jobs::run(&g, cmd).await,
        Command::Pickups(cmd) => c::pickups::run(&g, cmd).await,
        Command::Events(cmd) => c::events::run(&g, cmd).await,
        Command::Labels(cmd) => c::labels::run(&g, cmd).await,
        Command::Rates(cmd) => c::rates::run(&g, cmd).await,
        Command::Sim(cmd) => c::sim::run(cmd).await,
        Command::Bench(args) => c::bench::run(&g, args).await,
    }
}
