//! Outbound events (issue 18): every change of a parcel's status is POSTed as signed JSON
//! to the webhooks of `events.webhooks`, from a durable outbox, in order per parcel.
//!
//! ```text
//! Tracker::after_change ──StatusSink::record──▶ Outbox (sled `outbox` tree, flushed)
//!   (before the package is saved)                 │ h/ e/ d/ q/ x/ records
//!                                                 ▼
//!                            Deliverer (per webhook, per parcel in sequence, parcels in
//!                            parallel) ──HMAC-SHA256 signed POST──▶ receiver
//!                                 │ 2xx → delivered; else backoff + jitter; after
//!                                 ▼ max_attempts → dead (upsync events retry)
//!                            /metrics (upsync_events_*), upsync events list|show|retry
//! ```
//!
//! Where to look:
//! * [`config`]: the `events:` section ([`EventsConfig`]) and its `check` problems.
//! * [`outbox`]: the durable records, idempotent recording ([`Outbox::record_change`],
//!   also the tracker's [`crate::tracking::StatusSink`]), queues, retry, pruning.
//! * [`deliver`]: the worker ([`Deliverer`]) and its transport ([`Poster`]).
//! * [`sign`]: the signature, and [`verify`] for receivers.
//! * [`stats`]: counters for `/metrics`.
//!
//! The wire format, the signature recipe and the guarantees (at least once, order per
//! parcel, what a dead letter does to order) are in `docs/outbound-events.md`.
//!
//! Must never: put a secret in the configuration, a log line or an error (secrets come
//! from the vault, `Webhook`'s `Debug` redacts them); log an event body; send a parcel's
//! event before the previous one was delivered or dead-lettered; lose an event the
//! tracker's state already reflects.

pub mod config;
pub mod deliver;
pub mod outbox;
pub mod sign;
pub mod stats;

#[cfg(test)]
mod hook_tests;

pub use config::{EventsConfig, EventsProblem, WebhookConfig};
pub use deliver::{Deliverer, HttpPoster, Outgoing, Poster, Settings, Webhook};
pub use outbox::{Backlog, Delivery, DeliveryState, EventBody, EventRecord, Filter, Outbox, Route};
pub use sign::{sign, verify, VerifyError};
pub use stats::{EventsStats, EventsStatsSnapshot};
