//! `upsync run`: the daemon ([`crate::app::run`]).

use std::process::ExitCode;

use crate::cli::Globals;

/// `upsync run`.
pub async fn run(g: &Globals) -> anyhow::Result<ExitCode> {
    crate::app::run::run(&g.config).await
}
