//! `upsync store verify | backup DIR | export DIR | migrate --from A --to B`: integrity,
//! backups and backend migrations of the store. On PostgreSQL (`store.backend`),
//! `verify` reads the database and `backup`/`export` write a sled state directory from it. The work is the store's ([`crate::store::Store::scan`],
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
    /// Copy the whole store between backends, verified by per-tree record counts and
    /// checksums (printed): `--from sled:DIR --to postgres://USER@HOST:PORT/DB`, or back.
    /// Stop the daemon first. Vault values are copied as ciphertexts: the same master key
    /// opens the copy.
    Migrate {
        /// `sled:DIR` or `postgres:URL` (a bare `postgres://…` URL works too).
        #[arg(long)]
        from: String,
        /// `sled:DIR` (a new or empty directory) or `postgres:URL`.
        #[arg(long)]
        to: String,
        /// Replace the records a PostgreSQL destination already holds.
        #[arg(long)]
        overwrite: bool,
    },
}

/// The configured store when it is PostgreSQL (`store.backend: postgres`); `None` for sled
/// or a configuration that does not load (the sled commands need only `state_dir`).
fn configured_postgres(g: &Globals) -> Option<crate::store::PgTarget> {
    let cfg = crate::config::load(&g.config).ok()?;
    match crate::app::wiring::store_location(&cfg).ok()? {
        crate::store::Location::Postgres(t) => Some(t),
        crate::store::Location::Sled(_) => None,
    }
}

/// `upsync store …`.
pub async fn run(g: &Globals, cmd: StoreCommand) -> anyhow::Result<ExitCode> {
    if let StoreCommand::Migrate {
        from,
        to,
        overwrite,
    } = &cmd
    {
        let (from, to) = (
            crate::store::Location::parse(from).map_err(anyhow::Error::msg)?,
            crate::store::Location::parse(to).map_err(anyhow::Error::msg)?,
        );
        let r = crate::store::migrate::migrate(&from, &to, *overwrite)?;
        for t in &r.trees {
            println!(
                "{:<14} {:>9} records  sha256 {}",
                t.tree, t.records, t.sha256
            );
        }
        println!("{}", serde_json::to_string(&r)?);
        println!(
            "migrated {} records from {} to {}: counts and checksums match",
            r.records, r.from, r.to
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(t) = configured_postgres(g) {
        let store = Store::open_postgres(&t, MasterKey::from_env().ok())?;
        return match cmd {
            StoreCommand::Verify => {
                let r = store.scan(
                    std::time::Duration::from_secs(24 * 3600),
                    &crate::app::wiring::ledger_decoder,
                );
                for (tree, key, why) in &r.damaged {
                    println!("damaged: {tree}/{key}: {why}");
                }
                println!("{} records read from {}", r.records, t.redacted());
                Ok(if r.damaged.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                })
            }
            // A sled state directory from the database (pg_dump backs up the database
            // itself; `store migrate` copies this directory back).
            StoreCommand::Backup { dir } | StoreCommand::Export { dir } => {
                let r = crate::store::backup::backup(&store, &dir, false)?;
                println!(
                    "backed up {} records from {} into the sled state directory {}",
                    r.records,
                    t.redacted(),
                    r.dir.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            StoreCommand::Migrate { .. } => unreachable!("handled above"),
        };
    }
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
        StoreCommand::Migrate { .. } => unreachable!("handled above"),
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
