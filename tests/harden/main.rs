//! Hardening tests (issue 16).
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test harden cli::`.
//!
//! * [`backup`]: `store backup` while the daemon runs, and restore.
//! * [`cli`]: corrupt stores and hostile configuration files through the binary.
//! * [`listener`]: the HTTP listener against hostile clients.
//! * [`store`]: a corrupt store is never called healthy.

#[path = "../common/mod.rs"]
mod common;

mod backup;
mod cli;
mod listener;
mod store;
