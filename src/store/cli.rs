//! `upsync keygen` and `upsync creds set NAME | list | rm NAME`, plus [`Credentials`], the
//! record every client reads its secrets from (`Credentials::load(&store, "ups")`).
//!
//! A credentials entry is one JSON object of string fields (e.g. `client_id`,
//! `client_secret`), stored encrypted in the vault's `credentials` tree together with the
//! time it was set. Field names and times are shown; values never are.
//!
//! Must never: print, log or put in an error message a credential value, or echo what was
//! read on stdin (JSON parse errors report line and column only).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{MasterKey, Store, StoreError, Tree};

#[derive(Debug, clap::Subcommand)]
pub enum CredsCommand {
    /// Store credentials NAME: reads one JSON object on stdin.
    Set { name: String },
    /// List credential names, field names and update times (never values).
    List,
    /// Remove credentials NAME.
    Rm { name: String },
}

/// Largest accepted stdin for `creds set` (a PEM private key is ~3 KiB).
const MAX_INPUT_BYTES: u64 = 256 * 1024;

/// Errors of the credentials commands. None of them carries a value.
#[derive(Debug, thiserror::Error)]
pub enum CredsError {
    #[error("`{0}` is not a usable credentials name: use 1 to 128 letters, digits, `.`, `-` or `_` (e.g. ups, acumatica-main)")]
    BadName(String),
    #[error("stdin is not one JSON object ({0}); pipe a single object such as {{\"client_id\":\"…\",\"client_secret\":\"…\"}}")]
    NotJson(String),
    #[error("stdin holds JSON {0}, not an object; pipe a single object such as {{\"client_id\":\"…\",\"client_secret\":\"…\"}}")]
    NotObject(&'static str),
    #[error("the object has no fields; give at least one, e.g. {{\"client_id\":\"…\",\"client_secret\":\"…\"}}")]
    Empty,
    #[error("field `{field}` is {kind}; only string values are stored (nested objects and lists are not supported): write it as a string, e.g. \"{field}\": \"…\"")]
    NotString { field: String, kind: &'static str },
    #[error("stdin is larger than {MAX_INPUT_BYTES} bytes; credentials are small JSON objects")]
    TooLarge,
    #[error("cannot read stdin: {0}")]
    Stdin(std::io::Error),
    #[error("no credentials named `{0}` in the vault; `upsync creds list` shows what is stored")]
    NotFound(String),
    #[error("credentials `{0}` in the vault are not a credentials record; set them again with `upsync creds set {0}`")]
    Corrupt(String),
    #[error("cannot find the state directory: {0}")]
    Config(String),
    #[error(transparent)]
    MasterKey(#[from] super::MasterKeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A decrypted credentials entry. `Debug` shows field names only; values are zeroed on drop.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// Field name → value (all strings).
    pub fields: BTreeMap<String, String>,
    /// When `creds set` stored it.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("fields", &self.fields.keys().collect::<Vec<_>>())
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Drop for Credentials {
    fn drop(&mut self) {
        for v in self.fields.values_mut() {
            zeroize::Zeroize::zeroize(v);
        }
    }
}

impl Credentials {
    /// Read credentials `name` from the vault (`None` when absent).
    pub fn load(store: &Store, name: &str) -> Result<Option<Credentials>, CredsError> {
        let Some(secret) = store.vault()?.get(Tree::Credentials, name)? else {
            return Ok(None);
        };
        serde_json::from_slice(secret.expose())
            .map(Some)
            .map_err(|_| CredsError::Corrupt(name.to_string()))
    }

    /// Encrypt and store as `name` (not flushed; [`set`] flushes).
    pub fn save(&self, store: &Store, name: &str) -> Result<(), CredsError> {
        let mut bytes = serde_json::to_vec(self).expect("credentials serialise");
        let r = store.vault()?.put(Tree::Credentials, name, &bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(r?)
    }

    /// A field's value, if present.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    /// Parse what `creds set` reads: one JSON object with string values only.
    pub fn parse(input: &str) -> Result<Credentials, CredsError> {
        // serde_json's syntax errors name line and column, never the content.
        let value: serde_json::Value =
            serde_json::from_str(input).map_err(|e| CredsError::NotJson(syntax_only(&e)))?;
        let serde_json::Value::Object(map) = value else {
            return Err(CredsError::NotObject(kind(&value)));
        };
        if map.is_empty() {
            return Err(CredsError::Empty);
        }
        let mut fields = BTreeMap::new();
        for (k, v) in map {
            match v {
                serde_json::Value::String(s) => {
                    fields.insert(k, s);
                }
                other => {
                    return Err(CredsError::NotString {
                        field: k,
                        kind: kind(&other),
                    })
                }
            }
        }
        Ok(Credentials {
            fields,
            updated_at: Utc::now(),
        })
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a nested object",
    }
}

/// Category + position of a JSON error, without any echo of the input.
fn syntax_only(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Eof => "it ends too early",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Io => "read error",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

fn check_name(name: &str) -> Result<(), CredsError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(CredsError::BadName(name.to_string()))
    }
}

/// `upsync keygen`: the key on stdout, how to install it on stderr.
pub fn keygen() -> anyhow::Result<ExitCode> {
    let key = MasterKey::generate_text();
    print!("{key}");
    if std::io::stdout().is_terminal() {
        eprintln!(
            "\nThis is a new master key (base64, 32 bytes). Install it so only upsync can read it, e.g.:\n  \
             (umask 077; upsync keygen > /etc/upsync/master.key)   # mode 600\n  \
             export UPSYNC_MASTER_KEY_FILE=/etc/upsync/master.key    # or systemd: LoadCredential=master.key:/etc/upsync/master.key\n\
             Keep a copy somewhere safe: without it the vault cannot be read."
        );
    } else {
        eprintln!(
            "upsync: new master key written to stdout; make sure the file is mode 600 (chmod 600 FILE) and point UPSYNC_MASTER_KEY_FILE at it"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Open the store named by the configuration (or `UPSYNC_STATE_DIR`) with the master key.
fn open_store(g: &crate::cli::Globals) -> Result<Store, CredsError> {
    let key = MasterKey::from_env()?;
    let configured = crate::config::configured_state_dir(&g.config).map_err(CredsError::Config)?;
    let dir = super::state_dir(configured.as_deref());
    Ok(Store::open(&dir, Some(key))?)
}

/// `upsync creds …`.
pub async fn run(g: &crate::cli::Globals, cmd: CredsCommand) -> anyhow::Result<ExitCode> {
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

fn set(g: &crate::cli::Globals, name: &str) -> Result<(), CredsError> {
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

fn list(g: &crate::cli::Globals) -> Result<(), CredsError> {
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

fn rm(g: &crate::cli::Globals, name: &str) -> Result<(), CredsError> {
    check_name(name)?;
    let store = open_store(g)?;
    if !store.vault()?.remove(Tree::Credentials, name)? {
        return Err(CredsError::NotFound(name.to_string()));
    }
    store.flush()?;
    println!("removed credentials `{name}`");
    Ok(())
}

/// Why `check` could not look into the vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VaultUnavailable {
    /// Not a fault of the setup where `check` runs (no key configured here, key file not
    /// readable by this user, store locked by the running daemon): a warning.
    NotHere(String),
    /// A setup fault the daemon would stop on too (wrong key, key file too open or
    /// malformed, other schema version): an error.
    Broken(String),
}

/// For `upsync check`: which credentials the vault holds (names and field names only),
/// without creating a store that does not exist yet.
pub fn present_credentials(
    config_state_dir: Option<&Path>,
) -> Result<PresentCredentials, VaultUnavailable> {
    use super::MasterKeyError as K;
    let dir: PathBuf = super::state_dir(config_state_dir);
    let key = MasterKey::from_env().map_err(|e| match e {
        K::NotConfigured | K::Unreadable { .. } => VaultUnavailable::NotHere(e.to_string()),
        K::TooOpen { .. } | K::Malformed { .. } => VaultUnavailable::Broken(e.to_string()),
    })?;
    if !dir.exists() {
        return Ok(PresentCredentials {
            dir,
            entries: BTreeMap::new(),
        });
    }
    let store = Store::open(&dir, Some(key)).map_err(|e| match e {
        _ if e.is_corruption() => VaultUnavailable::Broken(e.to_string()),
        StoreError::Io { .. } | StoreError::Db { .. } => VaultUnavailable::NotHere(e.to_string()),
        _ => VaultUnavailable::Broken(e.to_string()),
    })?;
    let names = store
        .vault()
        .and_then(|v| v.keys(Tree::Credentials))
        .map_err(|e| VaultUnavailable::NotHere(e.to_string()))?;
    let mut entries = BTreeMap::new();
    for name in names {
        let fields = match Credentials::load(&store, &name) {
            Ok(Some(c)) => Ok(c.fields.keys().cloned().collect()),
            Ok(None) => continue,
            Err(e) => Err(e.to_string()),
        };
        entries.insert(name, fields);
    }
    Ok(PresentCredentials { dir, entries })
}

/// For `upsync check` and `upsync run`: open the store (without the key) and verify every
/// record ([`Store::verify_with`]). `Ok(None)` when there is no store yet (nothing is
/// created); `NotHere` when it is in use by the running daemon (which verified it at its
/// start); `Broken` when it is damaged.
pub fn verify_state(
    config_state_dir: Option<&Path>,
    decode: super::Decoder<'_>,
) -> Result<Option<super::VerifyReport>, VaultUnavailable> {
    let dir: PathBuf = super::state_dir(config_state_dir);
    if !dir.join(super::MANIFEST).exists() && !dir.join(super::DB_DIR).exists() {
        return Ok(None);
    }
    let store = Store::open(&dir, MasterKey::from_env().ok()).map_err(|e| match e {
        _ if e.is_corruption() => VaultUnavailable::Broken(e.to_string()),
        StoreError::Io { .. } => VaultUnavailable::NotHere(e.to_string()),
        _ => VaultUnavailable::Broken(e.to_string()),
    })?;
    store
        .verify_with(super::VERIFY_BOUND, decode)
        .map(Some)
        .map_err(|e| VaultUnavailable::Broken(e.to_string()))
}

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

/// What `store verify`/`backup`/`export` need from the layers above: the typed decoder of
/// ledger records, and how to ask a running daemon for a backup.
pub struct StoreCommandHooks<'a> {
    pub decode: super::Decoder<'a>,
}

/// `upsync store …`.
pub async fn run_store_command(
    g: &crate::cli::Globals,
    cmd: StoreCommand,
    hooks: StoreCommandHooks<'_>,
) -> anyhow::Result<ExitCode> {
    let configured = crate::config::configured_state_dir(&g.config).map_err(anyhow::Error::msg)?;
    let dir = super::state_dir(configured.as_deref());
    if !dir.join(super::MANIFEST).exists() {
        anyhow::bail!(
            "no store at {} (no {} there); set UPSYNC_STATE_DIR or state_dir",
            dir.display(),
            super::MANIFEST
        );
    }
    let key = MasterKey::from_env().ok();
    match cmd {
        StoreCommand::Verify => {
            let store = Store::open(&dir, key)?;
            let r = store.scan(std::time::Duration::from_secs(24 * 3600), hooks.decode);
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
    g: &crate::cli::Globals,
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
        Ok(store) => super::backup::backup(&store, &to, salvage)?,
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
    g: &crate::cli::Globals,
    to: &Path,
    salvage: bool,
) -> anyhow::Result<super::backup::BackupReport> {
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
    Ok(super::backup::BackupReport {
        dir: to.to_path_buf(),
        records: body["records"].as_u64().unwrap_or(0),
        skipped: serde_json::from_value(body["skipped"].clone()).unwrap_or_default(),
    })
}

/// What the vault holds: entry name → its field names (or why it is unreadable).
#[derive(Debug, Clone)]
pub struct PresentCredentials {
    pub dir: PathBuf,
    pub entries: BTreeMap<String, Result<Vec<String>, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flat_string_objects_are_accepted_and_errors_never_echo_values() {
        let c =
            Credentials::parse(r#"{"client_id":"abc","client_secret":"s3cr3t-VALUE"}"#).unwrap();
        assert_eq!(c.get("client_secret"), Some("s3cr3t-VALUE"));
        assert!(!format!("{c:?}").contains("s3cr3t"));

        let cases = [
            (r#"{"a":{"b":"s3cr3t-VALUE"}}"#, "nested object"),
            (r#"{"a":["s3cr3t-VALUE"]}"#, "a list"),
            (r#"{"a":12345}"#, "a number"),
            (r#"["s3cr3t-VALUE"]"#, "not an object"),
            (r#"{"a":"s3cr3t-VALUE""#, "line 1"),
            (r#"{"a":"s3cr3t-VALUE" "b"}"#, "syntax"),
            ("{}", "no fields"),
        ];
        for (input, want) in cases {
            let e = Credentials::parse(input).unwrap_err().to_string();
            assert!(e.contains(want), "{input}: {e}");
            assert!(!e.contains("s3cr3t") && !e.contains("12345"), "{e}");
        }
    }

    #[test]
    fn names_are_restricted() {
        assert!(check_name("acumatica-main").is_ok());
        assert!(check_name("ups.prod_2").is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(129)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn save_and_load_roundtrip_through_the_vault() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Some(MasterKey::from_bytes([3; 32]))).unwrap();
        let c = Credentials::parse(r#"{"user":"admin","password":"pw"}"#).unwrap();
        c.save(&store, "acu").unwrap();
        let back = Credentials::load(&store, "acu").unwrap().unwrap();
        assert_eq!(back.get("password"), Some("pw"));
        assert_eq!(back.updated_at, c.updated_at);
        assert!(Credentials::load(&store, "none").unwrap().is_none());
    }
}
