//! The house rules, checked on the source tree (issue 17): one test binary (each test
//! binary links the whole crate, so these cheap checks share one to keep CI's build lean).
//!
//! * [`layers`]: only the commands know the command line; mapping knows neither UPS nor
//!   the connectors; pipeline and tracking do not import each other; one Clock, one
//!   TrackOutcome, one classified failure type.
//! * [`workspace`]: the simulator crate depends on nothing of upsync, and plain
//!   `cargo test` covers it.
//! * [`error_codes`]: the error-code registry, its generated docs table, and every code in
//!   use registered.

mod error_codes;
mod layers;
mod workspace;
