//! `upsync demo`: built-in simulators, seeded ERPs, the real pipeline, a summary table.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Shipments to seed per ERP.
    #[arg(long, default_value_t = 20)]
    pub shipments: usize,
}

pub async fn run(_g: &crate::cli::Globals, _args: DemoArgs) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("demo")
}
