//! Application assembly: builds the daemon from config (wiring, adapters between ports,
//! the in-process world of simulators) and runs it (`run`, `demo`, `ping`, labels, logging).
//! Below `commands/` (which owns the command line), above the layers it assembles.

pub mod accounts;
pub mod adapters;
pub mod authorize;
pub mod cert;
pub mod console;
pub mod credentials;
pub mod demo;
pub mod documents;
pub mod labels;
pub mod logging;
pub mod notify;
pub mod ping;
pub mod returns;
pub mod run;
pub mod wiring;
pub mod world;
