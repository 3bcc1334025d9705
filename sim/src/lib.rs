//! upsync-sim: simulators of UPS, Acumatica and NetSuite: axum apps that run in-process
//! (tests, demo, bench) or standalone (`upsync sim …`). upsync re-exports this crate as
//! `upsync::sim`.
//!
//! Rule: a simulator shares no code with the client it simulates (a simulator that reuses
//! the client's structs cannot catch the client's mistakes). This is its own crate in the
//! workspace so the compiler enforces it: `sim/Cargo.toml` must not depend on `upsync`
//! (checked by `tests/house/workspace.rs`). Fidelity is judged against the official
//! documents listed in `docs/specs.md`; seeds and the address book follow
//! `docs/conventions.md`. `common` holds only simulator
//! plumbing: fault injection, request recording, a controllable clock, counters.

pub mod acumatica;
pub mod common;
pub mod netsuite;
pub mod ups;
