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
pub mod pickups;
pub mod ping;
pub mod rates;
pub mod run;
pub mod sim;
pub mod store;

/// Report commands (`jobs list | head`) end quietly when the reader goes away, as Unix
/// tools do: Rust ignores SIGPIPE, so `println!` into a closed pipe used to panic (exit
/// 101 with a backtrace hint). Not for the daemon and the commands that serve or call
/// over sockets (`run`, `once`, `demo`, `sim`, `bench`): a peer that hangs up must be an
/// error they handle, never a signal that kills the process.
pub fn quiet_on_closed_pipe() {
    // SAFETY: signal(2) only resets the disposition of SIGPIPE for this process; no
    // handler runs Rust code.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
