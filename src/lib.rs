//! upsync: connects ERPs (Acumatica, NetSuite) to UPS.
//!
//! The flow, one folder per step (see `docs/design.md` and README):
//!
//! ```text
//! sources/ ──▶ mapping/ ──▶ pipeline/ (ledger) ──▶ ups/ ──▶ pipeline/ ──▶ sources/ (write-back)
//!                                                    └──▶ tracking/ ──▶ sources/ (events)
//! ```
//!
//! * [`model`]: canonical types every layer shares (no I/O).
//! * [`config`]: YAML + `UPSYNC__*` env configuration and `upsync check`.
//! * [`store`]: sled state and the AES-256-GCM vault.
//! * [`mapping`]: the YAML field-mapping engine (pure).
//! * [`ups`]: the UPS client (knows nothing of ERPs).
//! * [`sources`]: ERP connectors (know nothing of UPS).
//! * [`pipeline`]: job ledger, scheduling, retries, dead-letter.
//! * [`dispatch`]: per-site dispatch calendars (cutoff, working days, holidays → ship date)
//!   and on-call UPS pickups (one per site and business day, exactly once).
//! * [`tracking`]: Track Alert subscriptions, polling, webhook events.
//! * [`events`]: outbound status events: durable outbox, signed webhooks, retries.
//! * [`push`]: ERP push notifications in (Acumatica, NetSuite) that wake a connector's cycle.
//! * [`server`]: the HTTP listener (webhook, metrics, health).
//! * [`console`]: the admin web console (login, pages, replay/void buttons).
//! * [`checkout`]: checkout rating (`POST /v1/rates`): cache, deadline, fallback table.
//! * [`sim`]: loopback simulators of UPS, Acumatica and NetSuite (share no code with the clients).
//! * [`cli`], [`commands`]: the command line; the only code that knows it.
//! * [`app`]: application assembly: builds the daemon from config (wiring, world, adapters).
//! * [`bench`]: the benchmark harness.

pub mod app;
pub mod bench;
pub mod checkout;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod console;
pub mod dispatch;
pub mod events;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod push;
pub mod server;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod tracking;
pub mod ups;

/// The simulators live in their own crate (`sim/`, `upsync-sim`), which depends on nothing of
/// upsync; re-exported so `crate::sim::…` and `upsync::sim::…` keep working.
pub use upsync_sim as sim;
