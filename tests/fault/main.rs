//! Fault suite. The soak keeps its own binary (`tests/fault_soak.rs`): it kills the daemon at
//! random moments and wants the machine to itself (cargo runs test binaries one at a time).
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test fault fuzz::`.
//!
//! * [`disk`]: read-only state directory and full disk.
//! * [`fuzz`]: bounded randomized-input and property tests.
//! * [`ha`]: three daemons on one PostgreSQL database, one SIGKILLed at random (issue 22).
//! * [`secrets`]: no secret in logs, store or labels after a full run.

mod disk;
mod fuzz;
mod ha;
mod secrets;
