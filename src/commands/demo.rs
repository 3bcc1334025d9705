//! `upsync demo [--shipments N] [--dir DIR] [--record-dir DIR] [--report FILE]
//! [--tracking polling|track_alert|quantum_view] [--troubles] [--console]`: the
//! built-in simulators on loopback, seeded ERPs, a full cycle to delivery and a summary
//! table. The demo itself is [`crate::app::demo`]; this is its command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use crate::app::demo::{execute, print_table, DemoOptions, DemoTracking};
use crate::cli::Globals;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Shipments to seed per ERP (about one in ten uses a non-UPS carrier and is skipped).
    #[arg(long, default_value_t = 20)]
    pub shipments: usize,
    /// Working directory (config, state, labels). Default: a new folder under the system
    /// temporary directory, kept after the demo so the labels can be opened.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep every request the simulators received, one sub-folder per simulator.
    #[arg(long)]
    pub record_dir: Option<PathBuf>,
    /// Write the final table as JSON (one object per shipment).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// How the daemon follows the parcels: polling (Track calls), track_alert (the UPS
    /// simulator pushes to the daemon's webhook) or quantum_view (subscription files).
    #[arg(long, default_value = "polling", value_parser = ["polling", "track_alert", "quantum_view"])]
    pub tracking: String,
    /// Seed troubled parcels among the normal ones (failed attempts, an Access Point, an
    /// exception, a return, parcels never scanned, unknown to UPS, or stalled); the demo
    /// passes when each reaches its expected final status.
    #[arg(long)]
    pub troubles: bool,
    /// Keep the admin console up after the demo (until Ctrl-C) and print its URL and where
    /// the admin token is, to click through jobs, dead letters and tracking.
    #[arg(long)]
    pub console: bool,
}

/// `upsync demo …`.
pub async fn run(_g: &Globals, args: DemoArgs) -> anyhow::Result<ExitCode> {
    // Progress lines, not log spam: warnings and errors only unless UPSYNC_LOG says more.
    crate::app::logging::quiet_default("warn");
    let dir = match args.dir {
        Some(d) => d,
        None => fresh_temp_dir()?,
    };
    let opts = DemoOptions {
        shipments: args.shipments,
        dir,
        record_dir: args.record_dir,
        deadline: Duration::from_secs(if args.troubles { 240 } else { 120 }),
        troubles: args.troubles,
        tracking: DemoTracking::parse(&args.tracking).unwrap_or_default(),
        console: args.console,
        store_url: None,
    };
    if std::fs::read_dir(&opts.dir).is_ok_and(|mut d| d.next().is_some()) {
        anyhow::bail!(
            "{} is not empty; the demo needs a new or empty folder (its state must match the freshly seeded simulators)",
            opts.dir.display()
        );
    }
    let mut out = std::io::stdout();
    let outcome = execute(opts, &mut out).await?;
    if !outcome.table_printed {
        print_table(&outcome, &mut out)?;
    }
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&outcome.rows)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        writeln!(out, "report: {}", path.display())?;
    }
    Ok(if outcome.all_as_expected() {
        ExitCode::SUCCESS
    } else {
        writeln!(
            out,
            "not every parcel reached its expected status; see the table above and `upsync --config {} jobs list`",
            outcome.dir.join("upsync.yaml").display()
        )?;
        ExitCode::FAILURE
    })
}

/// A new, empty, kept folder: `$TMPDIR/upsync-demo-<time>-<pid>`.
fn fresh_temp_dir() -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    let dir = std::env::temp_dir().join(format!("upsync-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}
