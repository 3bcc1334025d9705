//! `upsync ping`: for each configured system, authenticate and make one cheap read-only
//! call; one line each with status and latency; exit 1 if any fails.
//!
//! UPS: a token (reused from the vault when still valid) and one Track call for a number
//! that does not exist (UPS answers "not found", proving the Track product is enabled).
//! ERPs: the connector's own `ping` (Acumatica: endpoint version check and sign-in/out;
//! NetSuite: a token and a one-row SuiteQL query), then an indented line with the records
//! in the profile's ready state overall versus passing its ship via / ship method filter,
//! and a warning when none pass (issue 15 item 14: a misspelt carrier name must not look
//! like a quiet day). The latency figure covers the ping and the count.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crate::app::wiring;
use crate::sources::{ReadyCounts, Source};

/// Ready-record counts of every configured connector, signed in with its stored
/// credentials: `(index in config, name, counts)`. Used by `ping` and `check --online`.
pub async fn ready_counts_by_connector(
    config: &Path,
) -> anyhow::Result<Vec<(usize, String, Result<Option<ReadyCounts>, String>)>> {
    let cfg = crate::config::load(config).map_err(|r| anyhow::anyhow!("{r}"))?;
    let store = wiring::open_store(&cfg)?;
    let mut out = Vec::new();
    for (i, c) in cfg.connectors.iter().enumerate() {
        let counts = match wiring::build_source(c, &store) {
            Ok(source) => {
                let r = source.ready_counts().await.map_err(|e| e.to_string());
                source.close().await;
                r
            }
            Err(e) => Err(format!("{e:#}")),
        };
        out.push((i, c.name.clone(), counts));
    }
    Ok(out)
}

/// The indented lines `ping` prints under a connector: its ready counts and the warning
/// when no ready record passes the profile's filter.
fn print_counts(counts: Result<Option<ReadyCounts>, String>) {
    match counts {
        Ok(Some(c)) => {
            println!("      {}", c.summary());
            if let Some(w) = c.warning() {
                println!("      warning: {w}");
            }
        }
        Ok(None) => {}
        Err(e) => println!("      warning: could not count the ready records: {e}"),
    }
}

async fn ping_and_count(
    source: &dyn Source,
) -> anyhow::Result<Result<Option<ReadyCounts>, String>> {
    source.ping().await?;
    Ok(source.ready_counts().await.map_err(|e| e.to_string()))
}

/// `upsync ping`: reach every system named by the configuration file `config`.
pub async fn run(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let store = wiring::open_store(&cfg)?;
    let mut failed = 0;

    // One line per UPS client (one per OAuth client; accounts sharing one share the line).
    let started = Instant::now();
    match crate::app::accounts::Accounts::build(&cfg, &store) {
        Err(e) => failed += report("ups", &cfg.ups.effective_base_url(), started, Err(e)),
        Ok(accounts) => {
            for c in accounts.clients() {
                let started = Instant::now();
                let ups = async {
                    c.client.ensure_token().await?;
                    c.client.track("1Z999AA10123456784").await?;
                    anyhow::Ok(())
                };
                let name = if accounts.is_strict() {
                    format!("ups {}", c.accounts.join("+"))
                } else {
                    "ups".to_string()
                };
                failed += report(&name, &c.client.config().base_url, started, ups.await);
            }
        }
    }

    for c in &cfg.connectors {
        let started = Instant::now();
        let r = async {
            let source = wiring::build_source(c, &store)?;
            let r = ping_and_count(source.as_ref()).await;
            source.close().await;
            r
        }
        .await;
        let (r, counts) = match r {
            Ok(counts) => (Ok(()), Some(counts)),
            Err(e) => (Err(e), None),
        };
        failed += report(&c.name, c.kind.as_str(), started, r);
        if let Some(c) = counts {
            print_counts(c);
        }
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
