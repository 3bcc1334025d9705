//! `upsync once [--connector NAME]`: one cycle of each (or one) connector, then exit. The
//! daemon holds the state directory's lock: run it while the daemon is stopped.

use std::process::ExitCode;

use crate::app::wiring;
use crate::cli::Globals;

/// `upsync once [--connector NAME]`: one cycle of each (or one) connector, then exit.
pub async fn once(g: &Globals, connector: Option<&str>) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(&g.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = wiring::open_store(&cfg)?;
    let a = wiring::assemble(cfg, store.clone()).await?;
    let mut failed = false;
    for c in a.pipeline.connectors() {
        if connector.is_some_and(|n| n != c.name) {
            continue;
        }
        let r = a.pipeline.run_cycle(c).await?;
        println!(
            "{}: read {} records, {} new jobs, {} jobs worked{}{}",
            c.name,
            r.records_read,
            r.jobs_created,
            r.jobs_processed,
            r.paused
                .as_deref()
                .map(|p| format!("; PAUSED: {p}"))
                .unwrap_or_default(),
            r.source_error
                .as_deref()
                .map(|e| format!("; source error: {e}"))
                .unwrap_or_default(),
        );
        failed |= r.paused.is_some() || c.health.paused_reason().is_some();
    }
    if let Some(n) = connector {
        a.pipeline.connector(n)?;
    }
    // Sessions kept for a next cycle that will not come go back to the licence.
    for c in a.pipeline.connectors() {
        c.source.close().await;
    }
    // On a shared database, leave the cluster: the connector and job leases this run took
    // are released now instead of expiring after `store.lease_seconds` (until then a next
    // `once`, another daemon id, would stand by and poll nothing).
    if let Some(c) = a.pipeline.shared_coordinator() {
        if let Err(e) = c.leave().await {
            tracing::warn!(error = %e, "could not release this run's leases; they expire after store.lease_seconds");
        }
    }
    store.flush()?;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
