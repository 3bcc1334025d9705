//! Acumatica simulator: contract-based REST (Default endpoint), cookie and OAuth sign-in, licence limits.
//!
//! Stub: filled in by its issue.

use std::process::ExitCode;

/// Command-line options of this simulator.
#[derive(Debug, clap::Args)]
pub struct SimAcumaticaArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

pub async fn run(_args: SimAcumaticaArgs) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("sim")
}
