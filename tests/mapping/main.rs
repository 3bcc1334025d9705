//! Mapping integration tests: the engine, its error reports and the `mapping` CLI.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test mapping rules::`.
//!
//! * [`api_records`]: `mapping test` on records exactly as the ERP APIs return them.
//! * [`bench`]: mapping throughput (the timed run is ignored by default).
//! * [`check`]: a broken mapping reports every error with file and line via `check`.
//! * [`cli`]: `upsync mapping test`, fixture and record modes.
//! * [`errors`]: all problems of a broken mapping at once, with file, line and fix.
//! * [`fixtures`]: the bundled fixtures pass; a changed expectation fails readably.
//! * [`returns`]: return mappings: parties swapped, ReturnService, the return rules.
//! * [`rules`]: every rule check's stable code, plus property-style checks.
//! * [`ship_schema`]: Ship requests from the bundled mappings validate against UPS's schema.

#[path = "../common/mod.rs"]
mod common;

mod api_records;
mod bench;
mod check;
mod cli;
mod errors;
mod fixtures;
mod returns;
mod rules;
mod ship_schema;
