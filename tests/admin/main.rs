//! Admin tests (issue 21): what the integration admin sees and does without a shell.
//!
//! One test binary per area (issue 17). Run one file's tests with
//! `cargo test --test admin console::`.
//!
//! * [`console`]: the web console over HTTP: nothing without a login, CSRF on every
//!   action, the pages, replay and void through the buttons.
//! * [`demo_console`]: `upsync demo --console` as a new user runs it.
//! * [`credentials`]: credential expiry reminders, the pause, `creds info`.
//! * [`authorize`]: UPS authorization-code OAuth: `creds authorize` end to end, refresh,
//!   refresh-token expiry, re-authorization, revocation.
//! * [`dashboards`]: the Grafana dashboard and Prometheus alerts use exported metrics only.
//! * [`browser`]: the same in a real headless Chromium (skipped, saying so, where no
//!   Chromium is installed; `.ci/run` installs it).

#[path = "../pipeline_support/mod.rs"]
mod pipeline_support;

mod authorize;
mod browser;
mod console;
mod credentials;
mod dashboards;
mod demo_console;
