//! `upsync creds set NAME | list | rm NAME`: manage encrypted credentials in the vault
//! ([`crate::store::creds::Credentials`]).
//!
//! Must never: print, log or put in an error message a credential value, or echo what was
//! read on stdin (JSON parse errors report line and column only).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use chrono::SecondsFormat;

use crate::cli::Globals;
use crate::store::creds::{check_name, open_configured, Credentials, CredsError, MAX_INPUT_BYTES};
use crate::store::{Store, Tree};

#[derive(Debug, clap::Subcommand)]
pub enum CredsCommand {
    /// Store credentials NAME: reads one JSON object on stdin.
    Set { name: String },
    /// List credential names, field names and update times (never values).
    List,
    /// Remove credentials NAME.
    Rm { name: String },
}

/// Open the store named by the configuration (or `UPSYNC_STATE_DIR`) with the master key.
fn open_store(g: &Globals) -> Result<Store, CredsError> {
    open_configured(&g.config)
}

/// `upsync creds …`.
pub async fn run(g: &Globals, cmd: CredsCommand) -> anyhow::Result<ExitCode> {
    let g = g.clone();
    let result = tokio::task::spawn_blocking(move || match cmd {
        CredsCommand::Set { name } => set(&g, &name),
        CredsCommand::List => list(&g),
        CredsCommand::Rm { name } => rm(&g, &name),
    })
    .await?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("upsync creds: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn set(g: &Globals, name: &str) -> Result<(), CredsError> {
    check_name(name)?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Paste one JSON object of string fields for `{name}`, then press Ctrl-D:");
    }
    let mut input = String::new();
    stdin
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut input)
        .map_err(CredsError::Stdin)?;
    if input.len() as u64 > MAX_INPUT_BYTES {
        zeroize::Zeroize::zeroize(&mut input);
        return Err(CredsError::TooLarge);
    }
    let parsed = Credentials::parse(&input);
    zeroize::Zeroize::zeroize(&mut input);
    let creds = parsed?;
    let store = open_store(g)?;
    creds.save(&store, name)?;
    store.flush()?;
    let fields: Vec<&str> = creds.fields.keys().map(String::as_str).collect();
    println!(
        "stored credentials `{name}` (fields: {})",
        fields.join(", ")
    );
    Ok(())
}

fn list(g: &Globals) -> Result<(), CredsError> {
    let store = open_store(g)?;
    let names = store.vault()?.keys(Tree::Credentials)?;
    if names.is_empty() {
        println!("no credentials stored; add some with `upsync creds set NAME < secret.json`");
        return Ok(());
    }
    let width = names.iter().map(String::len).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<20}  FIELDS", "NAME", "UPDATED (UTC)");
    for name in names {
        match Credentials::load(&store, &name) {
            Ok(Some(c)) => {
                let fields: Vec<&str> = c.fields.keys().map(String::as_str).collect();
                println!(
                    "{name:<width$}  {:<20}  {}",
                    c.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    fields.join(", ")
                );
            }
            Ok(None) => {}
            Err(e) => println!("{name:<width$}  {:<20}  unreadable: {e}", "-"),
        }
    }
    Ok(())
}

fn rm(g: &Globals, name: &str) -> Result<(), CredsError> {
    check_name(name)?;
    let store = open_store(g)?;
    if !store.vault()?.remove(Tree::Credentials, name)? {
        return Err(CredsError::NotFound(name.to_string()));
    }
    store.flush()?;
    println!("removed credentials `{name}`");
    Ok(())
}
