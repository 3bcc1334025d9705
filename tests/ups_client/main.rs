//! UPS client and UPS simulator tests.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test ups_client http::`.
//!
//! * [`build`]: golden tests for the pure request builders.
//! * [`http`]: `UpsClient` over HTTP against stub servers, paused clock.
//! * [`parse`]: response parsers against UPS's own examples.
//! * [`sim`]: `UpsClient` against the simulator: the fidelity items of issue 15.
//! * [`roundtrip`]: client ↔ simulator round trips with schema validation on.
//! * [`sim_ups`]: the UPS simulator over raw HTTP (never the client).
//! * [`sim_clients`]: the simulator with several OAuth clients (issue 19).
//! * [`paperless`]: international documents: invoice PDF, paperless uploads by content
//!   hash, push after Ship, printed fallbacks, the Paperless simulator's refusals (issue 20).
//! * [`sim_authcode`]: the client on the authorization-code grant (issue 21): refresh-token
//!   renewal, rotation stored, expiry.
//! * [`sim_returns`]: the simulator refuses bad return shipments with UPS errors (issue 20).

mod build;
mod http;
mod paperless;
mod parse;
mod roundtrip;
mod sim;
mod sim_authcode;
mod sim_clients;
mod sim_returns;
mod sim_ups;
