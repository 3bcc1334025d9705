//! Label sinks and `upsync labels reprint`.

use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum LabelsCommand {
    /// Re-send a job's stored labels to its label sink without creating a shipment.
    Reprint { job: String },
}

pub async fn run(_g: &crate::cli::Globals, _cmd: LabelsCommand) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("labels")
}
