//! `upsync labels reprint JOB`: re-send a job's stored labels to its connector's label
//! sink ([`crate::app::wiring::reprint`]); it never creates a shipment.

use std::process::ExitCode;

use crate::cli::Globals;

#[derive(Debug, clap::Subcommand)]
pub enum LabelsCommand {
    /// Re-send a job's stored labels to its label sink without creating a shipment.
    Reprint { job: String },
}

/// `upsync labels …`.
pub async fn run(g: &Globals, cmd: LabelsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LabelsCommand::Reprint { job } => crate::app::wiring::reprint(&g.config, &job).await,
    }
}
