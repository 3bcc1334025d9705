//! `upsync ping`: authenticate against every configured system and make one cheap call.

use std::process::ExitCode;

pub async fn run(_g: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("ping")
}
