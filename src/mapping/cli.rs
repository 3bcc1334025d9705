//! `upsync mapping …` commands.

use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum MappingCommand {
    /// Run mapping fixtures (`mappings/*.test.yaml`), or with MAPPING RECORD.json print the
    /// canonical shipment and the UPS Ship request it becomes.
    Test {
        /// Fixture files, or a mapping file followed by a record JSON file.
        files: Vec<PathBuf>,
    },
}

pub async fn run(_g: &crate::cli::Globals, _cmd: MappingCommand) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("mapping test")
}
