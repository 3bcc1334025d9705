//! Command line (clap). Each command hands over to the module that owns it; this file only
//! parses, sets up logging and the runtime, and turns results into exit codes.
//!
//! Exit codes: 0 success, 1 failure, 78 (EX_CONFIG) configuration errors (`check`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

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
    Demo(crate::app::demo::DemoArgs),
    /// Print a new random master key (base64) for UPSYNC_MASTER_KEY_FILE.
    Keygen,
    /// The state store: verify every record, back it up (also while the daemon runs),
    /// export what still reads from a damaged one.
    #[command(subcommand)]
    Store(crate::store::cli::StoreCommand),
    /// Manage encrypted credentials in the vault.
    #[command(subcommand)]
    Creds(crate::store::cli::CredsCommand),
    /// Test mappings: run fixtures, or map one record and print the result.
    #[command(subcommand)]
    Mapping(crate::mapping::cli::MappingCommand),
    /// Inspect and act on jobs in the ledger.
    #[command(subcommand)]
    Jobs(crate::pipeline::cli::JobsCommand),
    /// Labels: reprint stored labels without creating a shipment.
    #[command(subcommand)]
    Labels(crate::app::labels::LabelsCommand),
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
    let runtime = match tokio::runtime::Builder::new_multi_thread()
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

async fn dispatch(command: Command, g: Globals) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run => crate::app::run::run(&g).await,
        Command::Once { connector } => crate::pipeline::cli::once(&g, connector.as_deref()).await,
        Command::Check {
            online,
            no_credentials,
        } => crate::config::check::run(&g, online, no_credentials).await,
        Command::Store(cmd) => {
            let hooks = crate::store::cli::StoreCommandHooks {
                decode: &crate::app::wiring::ledger_decoder,
            };
            crate::store::cli::run_store_command(&g, cmd, hooks).await
        }
        Command::Ping => crate::app::ping::run(&g).await,
        Command::Demo(args) => crate::app::demo::run(&g, args).await,
        Command::Keygen => crate::store::cli::keygen(),
        Command::Creds(cmd) => crate::store::cli::run(&g, cmd).await,
        Command::Mapping(cmd) => crate::mapping::cli::run(&g, cmd).await,
        Command::Jobs(cmd) => crate::pipeline::cli::run(&g, cmd).await,
        Command::Labels(cmd) => crate::app::labels::run(&g, cmd).await,
        Command::Sim(SimCommand::Ups(a)) => crate::sim::ups::run(a).await,
        Command::Sim(SimCommand::Acumatica(a)) => crate::sim::acumatica::run(a).await,
        Command::Sim(SimCommand::Netsuite(a)) => crate::sim::netsuite::run(a).await,
        Command::Bench(args) => crate::bench::run(&g, args).await,
    }
}

/// Error for a command whose implementation has not landed yet.
pub fn not_yet(what: &str) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`{what}` is not implemented yet in this build")
}
