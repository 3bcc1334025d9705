//! Outbound status webhooks (issue 18): signed deliveries in order per parcel, dead
//! letters, the `events` commands, and a daemon SIGKILLed mid-flow losing nothing.
//!
//! One test binary per area (issue 17). Run one file's tests with
//! `cargo test --test events sigkill::`.
//!
//! * [`webhook`]: in process, a receiver that verifies every signature and fails some
//!   deliveries.
//! * [`sigkill`]: the real daemon killed five times while it delivers.

#[path = "../events_support/mod.rs"]
mod events_support;

mod sigkill;
mod webhook;
