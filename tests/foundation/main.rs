//! Foundation tests: configuration, `check` and the vault.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test foundation creds::`.
//!
//! * [`check`]: `upsync check` through the real binary.
//! * [`creds`]: the vault through the real binary.
//! * [`settings`]: every setting of `config/upsync.yaml` changes something.

#[path = "../common/mod.rs"]
mod common;

mod check;
mod creds;
mod settings;
