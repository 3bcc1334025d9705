//! `upsync bench [options]`: the full pipeline against in-process simulators; one JSON
//! line of figures ([`crate::bench`]).

use std::process::ExitCode;

use crate::cli::Globals;

/// `upsync bench …`.
pub async fn run(_g: &Globals, args: crate::bench::BenchArgs) -> anyhow::Result<ExitCode> {
    crate::bench::run(args).await
}
