//! `upsync ping`: reach every configured system with its credentials; one line each
//! ([`crate::app::ping`]).

use std::process::ExitCode;

use crate::cli::Globals;

/// `upsync ping`.
pub async fn run(g: &Globals) -> anyhow::Result<ExitCode> {
    crate::app::ping::run(&g.config).await
}
