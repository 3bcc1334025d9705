//! Operator-facing commands and plumbing: `run`, `demo`, `ping`, labels, logging.

pub mod demo;
pub mod labels;
pub mod logging;
pub mod notify;
pub mod ping;
pub mod run;
pub mod wiring;
pub mod world;
