//! `upsync jobs list | show | replay | void`: inspect and act on jobs in the ledger.
//!
//! `jobs list/show` read the ledger only; `jobs replay/void` build the pipeline (they call
//! UPS and the ERP). The daemon holds the state directory's lock: run these while it is
//! stopped, or against a copy of the state.

use std::process::ExitCode;

use crate::app::wiring;
use crate::cli::Globals;
use crate::pipeline::ledger::{JobState, Ledger};

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// List jobs, optionally only those in one state (seen, mapped, address_checked,
    /// shipping, shipped, written_back, tracking, delivered, failed, voided, superseded) or
    /// `conflict` for jobs whose record changed after shipping.
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one job's timeline (transitions with times and UPS/ERP ids; no secrets).
    Show { id: String },
    /// Re-map and continue a job from its safe point (after fixing the record or mapping).
    Replay { id: String },
    /// Void the job's shipment at UPS, then ship the record's current version again.
    Void { id: String },
}

/// `upsync jobs …`.
pub async fn run(g: &Globals, cmd: JobsCommand) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(&g.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    match cmd {
        JobsCommand::List { state } => {
            let ledger = Ledger::new(wiring::open_store_keyless(&cfg)?);
            let (filter, conflicts) = match state.as_deref() {
                None => (None, false),
                Some("conflict") => (None, true),
                Some(s) => (
                    Some(JobState::parse(s).ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown state '{s}'; states: {}, conflict",
                            JobState::ALL.map(|s| s.as_str()).join(", ")
                        )
                    })?),
                    false,
                ),
            };
            println!("{:<60} {:<15} {:<12} DETAIL", "JOB", "STATE", "DOCUMENT");
            for job in ledger.jobs(None, filter) {
                let job = job?;
                if conflicts && job.conflict.is_none() {
                    continue;
                }
                let detail = match (&job.conflict, &job.last_error, &job.result) {
                    (Some(c), _, _) => format!("CONFLICT: {}", c.what),
                    (_, Some(f), _) if job.state == JobState::Failed => {
                        format!("[{}] {}", f.code, f.message)
                    }
                    (_, _, Some(r)) => r.shipment_id.clone(),
                    (_, Some(f), _) => format!("retrying: [{}]", f.code),
                    _ => String::new(),
                };
                println!(
                    "{:<60} {:<15} {:<12} {}",
                    job.id, job.state, job.number, detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Show { id } => {
            let ledger = Ledger::new(wiring::open_store_keyless(&cfg)?);
            let Some(job) = ledger.get(&id)? else {
                anyhow::bail!("no job {id} in the ledger (see `upsync jobs list`)");
            };
            println!("job       {}", job.id);
            println!(
                "document  {} (record {}, version {})",
                job.number, job.record_id, job.version
            );
            println!("state     {}", job.state);
            if let Some(r) = &job.result {
                let numbers: Vec<&str> = r
                    .packages
                    .iter()
                    .map(|p| p.tracking_number.as_str())
                    .collect();
                println!(
                    "shipment  {} [{}] service {}",
                    r.shipment_id,
                    numbers.join(" "),
                    r.service_code
                );
                if let Some(m) = r.charges.effective() {
                    println!("charges   {} {}", m.amount, m.currency);
                }
            }
            if let Some(f) = &job.last_error {
                println!(
                    "error     [{}] ({}) {}",
                    f.code,
                    f.class.as_str(),
                    f.message
                );
            }
            if let Some(c) = &job.conflict {
                println!(
                    "conflict  version {} changed: {} (void with `upsync jobs void {}`)",
                    c.version, c.what, job.id
                );
            }
            if let Some(a) = &job.ship_attempt {
                if let Some(r) = &a.reference {
                    println!("reference {r} (unique to this job; stamped on every Ship of it)");
                }
                if a.misses > 0 && job.state == JobState::Shipping {
                    println!(
                        "in doubt  {} lookup(s) by reference found nothing yet",
                        a.misses
                    );
                }
            }
            if let Some(w) = ledger.get_watch(&job.id)? {
                println!(
                    "watching  reference {} until {} for a late-indexed first label ({} voided)",
                    w.reference,
                    w.until.format("%Y-%m-%d %H:%M UTC"),
                    w.voided.len()
                );
            }
            let audit = ledger.audit(&job.id)?;
            if !audit.is_empty() {
                println!("external calls:");
                for a in audit {
                    println!(
                        "  {}  {:<10} {:<20} {:<22} {} ms",
                        a["at"].as_str().unwrap_or(""),
                        a["system"].as_str().unwrap_or(""),
                        a["op"].as_str().unwrap_or(""),
                        a["outcome"].as_str().unwrap_or(""),
                        a["duration_ms"]
                    );
                }
            }
            println!("timeline:");
            for t in &job.timeline {
                println!(
                    "  {}  {:>15} → {:<15} {}",
                    t.at.format("%Y-%m-%d %H:%M:%S%.3fZ"),
                    t.from.map(|s| s.as_str()).unwrap_or("-"),
                    t.to.as_str(),
                    t.note
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Replay { id } => {
            let store = wiring::open_store(&cfg)?;
            let a = wiring::assemble(cfg, store.clone()).await?;
            let job = a.pipeline.replay(&id).await?;
            store.flush()?;
            println!("{} is now {}", job.id, job.state);
            Ok(if job.state == JobState::Failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        JobsCommand::Void { id } => {
            let store = wiring::open_store(&cfg)?;
            let a = wiring::assemble(cfg, store.clone()).await?;
            let job = a.pipeline.void(&id).await?;
            store.flush()?;
            println!("{} is now {}", job.id, job.state);
            Ok(ExitCode::SUCCESS)
        }
    }
}
