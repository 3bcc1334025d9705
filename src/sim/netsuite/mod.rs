//! NetSuite simulator: SuiteTalk REST with OAuth 2.0 M2M and TBA, SuiteQL subset, itemFulfillment record API.
//!
//! Stub: filled in by its issue.

use std::process::ExitCode;

/// Command-line options of this simulator.
#[derive(Debug, clap::Args)]
pub struct SimNetsuiteArgs {
    /// Address to listen on (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
}

pub async fn run(_args: SimNetsuiteArgs) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("sim")
}
