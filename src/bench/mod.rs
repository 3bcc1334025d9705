//! Benchmark harness: the full pipeline against in-process simulators, one JSON line of figures.

pub mod measure;

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Number of shipments.
    #[arg(long, default_value_t = 1000)]
    pub shipments: usize,
}

pub async fn run(_g: &crate::cli::Globals, _args: BenchArgs) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("bench")
}
