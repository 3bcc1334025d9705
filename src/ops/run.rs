//! `upsync run`: the daemon.

use std::process::ExitCode;

pub async fn run(_g: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("run")
}
