//! upsync: connects ERPs (Acumatica, NetSuite) to UPS.
//!
//! The flow, one folder per step (see `../shared/DESIGN.md` and README):
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
//! * [`tracking`]: Track Alert subscriptions, polling, webhook events.
//! * [`server`]: the HTTP listener (webhook, metrics, health).
//! * [`sim`]: loopback simulators of UPS, Acumatica and NetSuite (share no code with the clients).
//! * [`ops`]: operator commands (demo, ping, labels).
//! * [`bench`]: the benchmark harness.

pub mod bench;
pub mod cli;
pub mod config;
pub mod mapping;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod server;
pub mod sim;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod tracking;
pub mod ups;
