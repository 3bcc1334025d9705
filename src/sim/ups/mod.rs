//! UPS simulator: UPS's paths, versions and shapes on loopback, every body validated against the official OpenAPI schemas.
//!
//! Stub: filled in by its issue.

use std::process::ExitCode;

/// Command-line options of this simulator.
#[derive(Debug, clap::Args)]
pub struct SimUpsArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

pub async fn run(_args: SimUpsArgs) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("sim")
}
