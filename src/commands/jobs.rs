//! `upsync jobs list | show | replay | void`: inspect and act on jobs in the ledger.
//!
//! `jobs list/show` read the ledger only; `jobs replay/void` build the pipeline (they call
//! UPS and the ERP). The daemon holds the state directory's lock: run these while it is
//! stopped, or against a copy of the state.

use std::process::ExitCode;

use crate::app::wiring;
use crate::cli::Globals;
use crate::model::Milestone;
use crate::pipeline::ledger::{JobState, Ledger};
use crate::tracking::view::JobTrackingView;

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// List jobs, optionally only those in one state (seen, mapped, address_checked,
    /// shipping, shipped, written_back, tracking, delivered, failed, voided, superseded) or
    /// `conflict` for jobs whose record changed after shipping.
    List {
        #[arg(long)]
        state: Option<String>,
        /// Only jobs whose parcels are at this tracking status (label_created, not_found,
        /// picked_up, in_transit, out_for_delivery, delivery_attempted,
        /// available_for_pickup, exception, delivered, returned_to_sender, voided, expired),
        /// or `trouble` for any status that needs a person (exception, delivery_attempted,
        /// not_found, expired, returned_to_sender).
        #[arg(long)]
        status: Option<String>,
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
        JobsCommand::List { state, status } => {
            let store = wiring::open_store_keyless(&cfg)?;
            let ledger = Ledger::new(store.clone());
            let statuses = crate::tracking::view::job_statuses(&store)?;
            let wanted: Option<Box<dyn Fn(Milestone) -> bool>> = match status.as_deref() {
                None => None,
                Some("trouble") => Some(Box::new(|m: Milestone| m.is_trouble())),
                Some(s) => {
                    let m = Milestone::parse(s).ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown tracking status '{s}'; statuses: {}, trouble",
                            Milestone::ALL.map(|m| m.as_str()).join(", ")
                        )
                    })?;
                    Some(Box::new(move |x: Milestone| x == m))
                }
            };
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
            println!(
                "{:<60} {:<15} {:<12} {:<20} DETAIL",
                "JOB", "STATE", "DOCUMENT", "TRACKING"
            );
            for job in ledger.jobs(None, filter) {
                let job = job?;
                if conflicts && job.conflict.is_none() {
                    continue;
                }
                let tracking = statuses.get(&job.id).copied();
                if let Some(w) = &wanted {
                    if !tracking.is_some_and(w) {
                        continue;
                    }
                }
                let detail = job.summary();
                println!(
                    "{:<60} {:<15} {:<12} {:<20} {}",
                    job.id,
                    job.state,
                    job.number,
                    tracking.map(|m| m.as_str()).unwrap_or("-"),
                    detail
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Show { id } => {
            let store = wiring::open_store_keyless(&cfg)?;
            let ledger = Ledger::new(store.clone());
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
                for d in &r.documents {
                    println!("form      {} ({})", d.file_name, d.kind);
                }
                if let Some(p) = &r.paperless {
                    println!(
                        "paperless invoice {}; documents [{}]{}",
                        if p.invoice_electronic {
                            "electronic"
                        } else {
                            "printed"
                        },
                        p.document_ids.join(" "),
                        p.forms_group_id
                            .as_ref()
                            .map(|g| format!(" pushed (FormsGroupID {g})"))
                            .unwrap_or_default()
                    );
                    for f in &p.fallbacks {
                        println!("on paper  {f}");
                    }
                }
            }
            if let Some(f) = &job.freight {
                for line in freight_lines(f) {
                    println!("{line}");
                }
            } else if let Some(d) = job.quoted_days {
                println!("transit   {d} business day(s) quoted");
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
            if let Some(v) = crate::tracking::view::job_view(&store, &job.id)? {
                print_tracking(&v);
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

/// The freight part of `jobs show`: UPS's list and account figures, the basis used (and
/// why, when it fell back), the figure written or why it was refused, service and transit.
pub fn freight_lines(f: &crate::model::FreightOutcome) -> Vec<String> {
    let fig = |d: Option<rust_decimal::Decimal>| {
        d.map(|d| format!("{d} {}", f.currency))
            .unwrap_or_else(|| "none".to_string())
    };
    let mut out = vec![format!(
        "freight   list {} · account {} · basis {} (asked {})",
        fig(f.list),
        fig(f.account),
        f.basis.as_str(),
        f.asked.as_str()
    )];
    if let Some(why) = &f.fallback_reason {
        out.push(format!("fallback  {why}"));
    }
    match (&f.refused, f.written) {
        (Some((code, msg)), _) => out.push(format!("refused   [{code}] {msg}")),
        (None, Some(w)) => out.push(format!(
            "written   {w} {} to {}",
            f.currency,
            f.fields.join(", ")
        )),
        _ => {}
    }
    if let Some(doc) = &f.document_currency {
        out.push(format!("document  currency {doc}"));
    }
    out.push(match f.transit_days {
        Some(d) => format!(
            "service   {} ({d} business day(s) in transit quoted)",
            f.service
        ),
        None => format!("service   {} (no transit quote: fixed service)", f.service),
    });
    out
}

/// The tracking part of `jobs show`: status, estimate, delivery, the statuses written to
/// the ERP and every scan kept.
fn print_tracking(v: &JobTrackingView) {
    let fmt = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    if let Some(s) = &v.snapshot {
        let since = s.status_at.as_ref().map(fmt).unwrap_or_default();
        println!("tracking  {} since {since}", s.milestone.as_str());
        if let Some(d) = s.estimated_delivery {
            println!("estimate  {d}");
        }
        if let Some(at) = &s.delivered_at {
            println!(
                "delivered {} received by {}{}",
                fmt(at),
                s.received_by.as_deref().unwrap_or("-"),
                if s.signature.is_some() {
                    " (signature kept)"
                } else {
                    ""
                }
            );
        }
    }
    if !v.job.status_history.is_empty() {
        let written: Vec<String> = v
            .job
            .status_history
            .iter()
            .map(|m| format!("{} ({})", m.status.as_str(), fmt(&m.at)))
            .collect();
        println!("written   {}", written.join(" → "));
    }
    for p in &v.packages {
        println!(
            "package   {} {}{}",
            p.tracking_number,
            p.milestone.as_str(),
            if p.abandoned {
                " (tracking given up)"
            } else {
                ""
            }
        );
        for e in &p.history {
            println!(
                "  {}  {:<20} {:<3} {:<3} {}{}",
                e.time.format("%Y-%m-%d %H:%M:%SZ"),
                e.milestone.as_str(),
                e.status_type,
                e.status_code,
                e.description,
                e.location
                    .as_deref()
                    .map(|l| format!(" @ {l}"))
                    .unwrap_or_default()
            );
        }
    }
}
