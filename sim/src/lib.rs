//! Simulators of UPS, Acumatica and NetSuite: axum apps that run in-process (tests, demo,
//! bench) or standalone (`upsync sim …`).
//!
//! Rule: a simulator shares no code with the client it simulates (a simulator that reuses
//! the client's structs cannot catch the client's mistakes). `common` holds only simulator
//! plumbing: fault injection, request recording, a controllable clock, counters.

pub mod acumatica;
pub mod common;
pub mod netsuite;
pub mod ups;
