//! `upsync store verify | backup DIR | export DIR`: integrity and backups of the state
//! directory. The work is the store's ([`crate::store::Store::scan`],
//! [`crate::store::backup::backup`]); a running daemon is asked to take the copy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::cli::Globals;
use crate::store::{MasterKey, Store};

/// `upsync store …`: integrity and backups of the state directory.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Read and decode every record; list every damaged one; exit 1 when any is.
    Verify,
    /// Copy the store into DIR (new or empty): a complete state directory to restore from.
    /// Works while the daemon runs (it is asked to take the copy over its loopback
    /// listener). Restore: stop upsync, put DIR in place of the state directory (or point
    /// UPSYNC_STATE_DIR at it), `upsync store verify`, start upsync.
    Backup { dir: PathBuf },
    /// Salvage: like `backup`, but copies every record that still reads and lists the
    /// ones that do not, instead of stopping at the first.
    Export { dir: PathBuf },
}

/// `upsync store …`.
pub async fn run(g: &Globals, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    let configured = crate::config::configured_state_dir(&g.config).map_err(anyhow::Error::msg)?;
    let dir = crate::store::state_dir(configured.as_deref());
    if !dir.join(crate::store::MANIFEST).exists() {
        anyhow::bail!(
            "no store at {} (no {} there); set UPSYNC_STATE_DIR or state_dir",
            dir.display(),
            crate::store::MANIFEST
        );
    }
    let key = MasterKey::from_env().ok();
    match cmd {
        StoreCommand::Verify => {
            let store = Store::open(&dir, key)?;
            let r = store.scan(
                std::time::Duration::from_secs(24 * 3600),
                &crate::app::wiring::ledger_decoder,
            );
            for (tree, key, why) in &r.damaged {
                println!("damaged: {tree}/{key}: {why}");
            }
            println!(
                "{}",
                serde_json::json!({
                    "records": r.records,
                    "damaged": r.damaged.len(),
                    "elapsed_ms": r.elapsed.as_millis() as u64,
                    "trees": r.per_tree.iter().map(|(t, n)| serde_json::json!({"tree": t, "records": n})).collect::<Vec<_>>(),
                })
            );
            if r.damaged.is_empty() {
                println!("store {} is sound", dir.display());
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "store {} is corrupt: restore it from a backup, or salvage it with `upsync store export DIR`",
                    dir.display()
                );
                Ok(ExitCode::FAILURE)
            }
        }
        StoreCommand::Backup { dir: to } => backup_command(g, &dir, key, &to, false).await,
        StoreCommand::Export { dir: to } => backup_command(g, &dir, key, &to, true).await,
    }
}

async fn backup_command(
    g: &Globals,
    dir: &Path,
    key: Option<MasterKey>,
    to: &Path,
    salvage: bool,
) -> anyhow::Result<ExitCode> {
    let to = if to.is_absolute() {
        to.to_path_buf()
    } else {
        std::env::current_dir()?.join(to)
    };
    let opened = if salvage {
        Store::open_for_salvage(dir, key)
    } else {
        Store::open(dir, key)
    };
    let report = match opened {
        Ok(store) => crate::store::backup::backup(&store, &to, salvage)?,
        Err(e) if e.to_string().contains("in use by another upsync process") => {
            ask_daemon(g, &to, salvage).await?
        }
        Err(e) => return Err(e.into()),
    };
    for (tree, key, why) in &report.skipped {
        println!("skipped: {tree}/{key}: {why}");
    }
    println!(
        "{} {} records into {}{}",
        if salvage { "exported" } else { "backed up" },
        report.records,
        report.dir.display(),
        if report.skipped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} damaged records could not be read",
                report.skipped.len()
            )
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// The daemon holds the store: it takes the copy (`POST /admin/store/backup`, loopback).
async fn ask_daemon(
    g: &Globals,
    to: &Path,
    salvage: bool,
) -> anyhow::Result<crate::store::backup::BackupReport> {
    let cfg = crate::config::load(&g.config)
        .map_err(|r| anyhow::anyhow!("the store is in use by the daemon, and the configuration (for http.listen) does not load: {}", r.summary()))?;
    let mut addr: std::net::SocketAddr = cfg.http.listen.parse()?;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let r = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3600))
        .build()?
        .post(format!("http://{addr}{}", crate::server::BACKUP_PATH))
        .json(&serde_json::json!({"dir": to, "salvage": salvage}))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("the store is in use by the daemon, which could not be asked for the backup at {addr}: {e}"))?;
    let status = r.status();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!(
            "the daemon refused the backup ({status}): {}",
            body["error"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(crate::store::backup::BackupReport {
        dir: to.to_path_buf(),
        records: body["records"].as_u64().unwrap_or(0),
        skipped: serde_json::from_value(body["skipped"].clone()).unwrap_or_default(),
    })
}
