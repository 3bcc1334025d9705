//! `upsync check`: every problem at once, exit 78 on any.

use std::process::ExitCode;

pub async fn run(_g: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("check")
}
