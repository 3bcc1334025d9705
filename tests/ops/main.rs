//! Operations tests: the real binary as an admin and systemd run it.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test ops reload::`.
//!
//! * [`checkout`]: `POST /v1/rates`: token, cache, single-flight, deadline, fallback.
//! * [`demo`]: `upsync demo` as a user runs it.
//! * [`demo_tracking`]: `upsync demo --tracking polling|track_alert|quantum_view`.
//! * [`metrics`]: `/metrics` families after a demo-sized run.
//! * [`notify`]: `upsync run` under a fake systemd: READY, WATCHDOG, STOPPING.
//! * [`ping`]: `upsync ping`.
//! * [`push`]: `upsync run` takes ERP pushes on its listener, also after a reload.
//! * [`readyz`]: `/readyz` served from the daemon's assembly.
//! * [`reload`]: SIGHUP reloads, a broken configuration is rejected.
//! * [`systemd_unit`]: `systemd-analyze verify` on the shipped unit.

mod checkout;
mod demo;
mod demo_tracking;
mod metrics;
mod notify;
mod ping;
mod push;
mod readyz;
mod reload;
mod systemd_unit;
