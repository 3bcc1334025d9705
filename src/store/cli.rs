//! `upsync keygen` and `upsync creds …`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum CredsCommand {
    /// Store credentials NAME: reads one JSON object on stdin.
    Set { name: String },
    /// List credential names, field names and update times (never values).
    List,
    /// Remove credentials NAME.
    Rm { name: String },
}

pub fn keygen() -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("keygen")
}

pub async fn run(_g: &crate::cli::Globals, _cmd: CredsCommand) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("creds")
}
