//! `upsync ping`: for each configured system, authenticate and make one cheap read-only
//! call; one line each with status and latency; exit 1 if any fails.
//!
//! UPS: a token (reused from the vault when still valid) and one Track call for a number
//! that does not exist (UPS answers "not found", proving the Track product is enabled).
//! ERPs: the connector's own `ping` (Acumatica: endpoint version check and sign-in/out;
//! NetSuite: a token and a one-row SuiteQL query).

use std::process::ExitCode;
use std::time::Instant;

use crate::ops::wiring;

pub async fn run(g: &crate::cli::Globals) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(&g.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = wiring::open_store(&cfg)?;
    let mut failed = 0;

    let started = Instant::now();
    let ups = async {
        let client = wiring::build_ups_client(&cfg, &store)?;
        client.ensure_token().await?;
        client.track("1Z999AA10123456784").await?;
        anyhow::Ok(())
    }
    .await;
    failed += report("ups", &cfg.ups.effective_base_url(), started, ups);

    for c in &cfg.connectors {
        let started = Instant::now();
        let r = async {
            let source = wiring::build_source(c, &store)?;
            let r = source.ping().await;
            source.close().await;
            r.map_err(anyhow::Error::from)
        }
        .await;
        failed += report(&c.name, c.kind.as_str(), started, r);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn report(name: &str, what: &str, started: Instant, r: anyhow::Result<()>) -> usize {
    let ms = started.elapsed().as_millis();
    match r {
        Ok(()) => {
            println!("ok    {name:<24} {what:<40} {ms:>6} ms");
            0
        }
        Err(e) => {
            println!("FAIL  {name:<24} {what:<40} {ms:>6} ms  {e:#}");
            1
        }
    }
}
