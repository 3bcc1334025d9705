//! Assembly: configuration → store, vault credentials, UPS client, sources, mappings,
//! pipeline, tracking, server. The only place that knows every layer.

use std::process::ExitCode;

/// `upsync labels reprint JOB`.
pub async fn reprint(_g: &crate::cli::Globals, _job: &str) -> anyhow::Result<ExitCode> {
    crate::cli::not_yet("labels reprint")
}
