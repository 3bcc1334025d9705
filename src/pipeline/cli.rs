//! `upsync once` and `upsync jobs …` commands.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum JobsCommand {
    /// List jobs, optionally only those in one state.
    List {
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one job's timeline.
    Show { id: String },
    /// Re-map and continue a job from its safe point (after fixing the record or mapping).
    Replay { id: String },
    /// Void the job's shipment at UPS (then it may be shipped again).
    Void { id: String },
}

pub async fn once(_g: &crate::cli::Globals, _connector: Option<&str>) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("once")
}

pub async fn run(_g: &crate::cli::Globals, _cmd: JobsCommand) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("jobs")
}
