//! `upsync events list | show | retry`: inspect the outbound events outbox and send
//! dead-lettered events again (docs/outbound-events.md).
//!
//! They read and change the store directly: the daemon holds the state directory's lock,
//! so run them while it is stopped (or against a copy of the state, for `list`/`show`).
//! No master key is needed: the outbox holds no secrets.

use std::process::ExitCode;

use crate::app::wiring;
use crate::cli::Globals;
use crate::events::{DeliveryState, Filter, Outbox};

#[derive(Debug, clap::Subcommand)]
pub enum EventsCommand {
    /// List deliveries (one row per event and webhook), oldest first.
    List {
        /// Only deliveries in this state: pending, delivered or dead.
        #[arg(long)]
        state: Option<String>,
        /// Only this webhook (its `name` in events.webhooks).
        #[arg(long)]
        webhook: Option<String>,
        /// Only this parcel (1Z number).
        #[arg(long)]
        tracking: Option<String>,
    },
    /// Show one event: its JSON body and every delivery with its attempts.
    Show { id: String },
    /// Put dead-lettered deliveries back in their queues with a fresh attempt budget: those
    /// of event ID, or every dead one with --all-dead (optionally of one --webhook). The
    /// daemon sends them at its next start.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all_dead"])))]
    Retry {
        id: Option<String>,
        #[arg(long)]
        all_dead: bool,
        #[arg(long)]
        webhook: Option<String>,
    },
}

/// `upsync events …`.
pub async fn run(g: &Globals, cmd: EventsCommand) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(&g.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let outbox = Outbox::reader(wiring::open_store_keyless(&cfg)?);
    match cmd {
        EventsCommand::List {
            state,
            webhook,
            tracking,
        } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown state '{s}'; states: {}",
                        DeliveryState::ALL.map(|s| s.as_str()).join(", ")
                    )
                })?),
            };
            let rows = outbox.deliveries(&Filter {
                state,
                webhook,
                tracking_number: tracking,
            })?;
            println!(
                "{:<36} {:<12} {:<9} {:<20} {:>4} {:<16} {:>8}  DETAIL",
                "EVENT", "WEBHOOK", "STATE", "TRACKING", "SEQ", "STATUS", "ATTEMPTS"
            );
            for d in &rows {
                let detail = match d.state {
                    DeliveryState::Delivered => d
                        .delivered_at
                        .map(|t| format!("delivered {}", t.format("%Y-%m-%d %H:%M:%SZ")))
                        .unwrap_or_default(),
                    DeliveryState::Pending => format!(
                        "next attempt {}{}",
                        d.next_attempt_at.format("%Y-%m-%d %H:%M:%SZ"),
                        d.last_error
                            .as_ref()
                            .map(|e| format!("; last: {e}"))
                            .unwrap_or_default()
                    ),
                    DeliveryState::Dead => {
                        format!("[{}]", d.last_error.as_deref().unwrap_or("?"))
                    }
                };
                println!(
                    "{:<36} {:<12} {:<9} {:<20} {:>4} {:<16} {:>8}  {}",
                    d.event_id,
                    d.webhook,
                    d.state,
                    d.tracking_number,
                    d.sequence,
                    status_name(d.status),
                    d.attempts,
                    detail
                );
            }
            eprintln!("{} deliveries", rows.len());
            Ok(ExitCode::SUCCESS)
        }
        EventsCommand::Show { id } => {
            let Some(e) = outbox.event(&id)? else {
                anyhow::bail!("no event {id} in the outbox (see `upsync events list`)");
            };
            println!("event     {}", e.id);
            println!("parcel    {} sequence {}", e.tracking_number, e.sequence);
            println!("status    {}", status_name(e.status));
            println!(
                "recorded  {}",
                e.recorded_at.format("%Y-%m-%d %H:%M:%S%.3fZ")
            );
            if let Some(s) = &e.source_event {
                println!("from scan {s}");
            }
            let body: serde_json::Value = serde_json::from_str(&e.body)?;
            println!("body:\n{}", serde_json::to_string_pretty(&body)?);
            let deliveries = outbox.deliveries(&Filter {
                tracking_number: Some(e.tracking_number.clone()),
                ..Filter::default()
            })?;
            let mine: Vec<_> = deliveries.iter().filter(|d| d.event_id == e.id).collect();
            if mine.is_empty() {
                println!("deliveries: none (no webhook wanted this status when it was recorded)");
            }
            for d in mine {
                println!(
                    "delivery  {}: {} after {} attempt(s){}",
                    d.webhook,
                    d.state,
                    d.attempts,
                    d.last_error
                        .as_ref()
                        .map(|e| format!("; last error: {e}"))
                        .unwrap_or_default()
                );
                for a in &d.history {
                    println!(
                        "  {}  {:<28} {} ms",
                        a.at.format("%Y-%m-%d %H:%M:%S%.3fZ"),
                        a.outcome,
                        a.duration_ms
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EventsCommand::Retry {
            id,
            all_dead: _,
            webhook,
        } => {
            let retried = outbox.retry_dead(id.as_deref(), webhook.as_deref())?;
            if retried.is_empty() {
                match id {
                    Some(id) => anyhow::bail!(
                        "event {id} has no dead-lettered delivery{} (see `upsync events list --state dead`)",
                        webhook.map(|w| format!(" at webhook {w}")).unwrap_or_default()
                    ),
                    None => println!("no dead-lettered deliveries"),
                }
            }
            for d in &retried {
                println!(
                    "{} {} {} sequence {}: pending again",
                    d.event_id, d.webhook, d.tracking_number, d.sequence
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The snake_case name a receiver sees (`in_transit`).
fn status_name(m: crate::model::Milestone) -> String {
    serde_json::to_value(m)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
