//! The commands of the `upsync` binary, one file each. With `src/cli.rs` (clap
//! definitions, [`crate::cli::Globals`]) and `src/main.rs`, this is the only code that knows
//! the command line: the layers below (`app/`, `pipeline/`, `mapping/`, `store/`,
//! `config/`, …) take paths and values, never `Globals` or clap arguments, and the
//! commands call them. `tests/house/layers.rs` keeps it so.

pub mod bench;
pub mod check;
pub mod creds;
pub mod demo;
pub mod events;
pub mod jobs;
pub mod keygen;
pub mod labels;
pub mod mapping;
pub mod once;
pub mod ping;
pub mod rates;
pub mod run;
pub mod sim;
pub mod store;
