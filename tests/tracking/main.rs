//! Tracking integration tests on simulated clocks.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test tracking alert::`.
//!
//! * [`alert`]: Track Alert mode end to end.
//! * [`polling`]: polling mode at scale within the Track quota.
//! * [`quantum_view`]: Quantum View mode: bookmarks across a crash, foreign parcels.
//! * [`troubles`]: weeks of tracking with every trouble scenario.
//! * [`webhook`]: the Track Alert webhook receiver.

#[path = "../tracking_support/mod.rs"]
mod tracking_support;

mod alert;
mod polling;
mod quantum_view;
mod troubles;
mod webhook;
