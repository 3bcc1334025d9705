//! `upsync labels reprint JOB`: re-send a job's stored labels to its label sink; it never
//! creates a shipment. The sinks themselves live in [`crate::sinks`].

use std::process::ExitCode;

pub use crate::sinks::{label_file_name, DirectorySink, PrinterSink};

#[derive(Debug, clap::Subcommand)]
pub enum LabelsCommand {
    /// Re-send a job's stored labels to its label sink without creating a shipment.
    Reprint { job: String },
}

pub async fn run(g: &crate::cli::Globals, cmd: LabelsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LabelsCommand::Reprint { job } => crate::ops::wiring::reprint(g, &job).await,
    }
}
