//! `upsync sim ups|acumatica|netsuite …`: run one simulator standalone on loopback.

use std::process::ExitCode;

use crate::cli::SimCommand;

/// `upsync sim …`.
pub async fn run(cmd: SimCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SimCommand::Ups(a) => crate::sim::ups::run(a).await,
        SimCommand::Acumatica(a) => crate::sim::acumatica::run(a).await,
        SimCommand::Netsuite(a) => crate::sim::netsuite::run(a).await,
        SimCommand::World(a) => crate::bench::sims::serve(a).await,
    }
}
