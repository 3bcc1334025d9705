//! `upsync pickups list | show PRN | cancel PRN`: the on-call pickups of the dispatch book
//! (docs/pickups.md).
//!
//! `list` and `show` read the store only; `cancel` builds the pipeline (it calls UPS's
//! Pickup cancel with the PRN, then records the cancellation). The daemon holds the state
//! directory's lock: run `cancel` while it is stopped, or use the console's button.

use std::process::ExitCode;

use crate::app::wiring;
use crate::cli::Globals;
use crate::dispatch::book::{read_all, Pickup};

#[derive(Debug, clap::Subcommand)]
pub enum PickupsCommand {
    /// List pickups, newest day first: site, date, state, PRN, shipments, packages, weight.
    List,
    /// Show one pickup by PRN: the shipments it covers and its history.
    Show { prn: String },
    /// Cancel a pickup at UPS by PRN (`DELETE …/pickup/02`), then record it.
    Cancel { prn: String },
}

/// One line of `pickups list` (also the console's row).
pub fn summary(p: &Pickup) -> String {
    format!(
        "{:<12} {:<10} {:<11} {:<12} {:>3} shipments {:>4} packages {:>8.1} lbs",
        p.site,
        p.date.format("%Y-%m-%d"),
        p.state.as_str(),
        p.prn.as_deref().unwrap_or("-"),
        p.live().count(),
        p.packages(),
        p.weight_lbs(),
    )
}

/// `upsync pickups …`.
pub async fn run(g: &Globals, cmd: PickupsCommand) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(&g.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    match cmd {
        PickupsCommand::List => {
            let store = wiring::open_store_keyless(&cfg)?;
            let mut all = read_all(&store)?;
            all.reverse();
            println!(
                "{:<12} {:<10} {:<11} {:<12} SIZE",
                "SITE", "DATE", "STATE", "PRN"
            );
            for p in &all {
                println!("{}", summary(p));
            }
            if all.is_empty() {
                println!("(no pickups: `dispatch.sites[].pickups.mode: on_call` books them)");
            }
            Ok(ExitCode::SUCCESS)
        }
        PickupsCommand::Show { prn } => {
            let store = wiring::open_store_keyless(&cfg)?;
            let Some(p) = read_all(&store)?
                .into_iter()
                .find(|p| p.prn.as_deref() == Some(prn.trim()))
            else {
                eprintln!("upsync: no pickup with PRN {prn} (see `upsync pickups list`)");
                return Ok(ExitCode::FAILURE);
            };
            println!("{}", summary(&p));
            println!(
                "account {} · window {}–{} · reference {} · {} creation request(s)",
                p.account_number,
                p.ready_time.format("%H:%M"),
                p.close_time.format("%H:%M"),
                p.reference,
                p.requests
            );
            for c in &p.shipments {
                println!(
                    "  {:<12} {:<60} {} pkg {:>6.1} lbs service {} to {}{}{}",
                    c.number,
                    c.job_id,
                    c.packages,
                    c.weight_lbs,
                    c.service_code,
                    c.destination_country,
                    if c.voided { " (voided)" } else { "" },
                    if c.prn_written.is_some() {
                        " · PRN on the ERP record"
                    } else {
                        ""
                    },
                );
            }
            for (at, note) in &p.history {
                println!("  {} {note}", at.format("%Y-%m-%d %H:%M:%S"));
            }
            Ok(ExitCode::SUCCESS)
        }
        PickupsCommand::Cancel { prn } => {
            let store = wiring::open_store(&cfg)?;
            let a = wiring::assemble(cfg, store.clone()).await?;
            let p = a.pipeline.cancel_pickup(&prn).await?;
            store.flush()?;
            println!("{}", summary(&p));
            Ok(ExitCode::SUCCESS)
        }
    }
}
