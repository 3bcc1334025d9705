//! [`Credentials`], the record every client reads its secrets from
//! (`Credentials::load(&store, "ups")`), and the vault look-ups `check` and the commands
//! use ([`present_credentials`], [`verify_state`], [`open_configured`]). The commands
//! themselves (`upsync keygen`, `creds …`, `store …`) are in `crate::commands`.
//!
//! A credentials entry is one JSON object of string fields (e.g. `client_id`,
//! `client_secret`), stored encrypted in the vault's `credentials` tree together with the
//! time it was set. Field names and times are shown; values never are.
//!
//! Must never: print, log or put in an error message a credential value, or echo what was
//! read on stdin (JSON parse errors report line and column only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MasterKey, Store, StoreError, Tree};

/// Largest accepted stdin for `creds set` (a PEM private key is ~3 KiB).
pub const MAX_INPUT_BYTES: u64 = 256 * 1024;

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
    #[error("cannot find the store: {0}")]
    Config(String),
    /// A bad argument (`--expires-at`) or an unusable configuration, with what to do.
    #[error("{0}")]
    Invalid(String),
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

    /// Encrypt and store as `name` (not flushed; `upsync creds set` flushes).
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

/// A credentials name: 1–128 characters of ASCII letters, digits, `.`, `-`, `_`.
pub fn check_name(name: &str) -> Result<(), CredsError> {
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

/// Open the store named by the configuration file `config` with the master key: its
/// PostgreSQL database (`store.backend: postgres`), else its sled state directory (or
/// `UPSYNC_STATE_DIR`) ([`configured_location`]).
pub fn open_configured(config: &Path) -> Result<Store, CredsError> {
    let key = MasterKey::from_env()?;
    Ok(configured_location(config)?.open(Some(key))?)
}

/// The store a configuration file names, read leniently like
/// [`crate::config::configured_state_dir`] (the credentials commands must work before the
/// rest of the configuration is valid, or without a file): `store.backend: postgres`
/// (or `UPSYNC__STORE__BACKEND=postgres`) with `store.url` (or `UPSYNC_STORE_URL`) and
/// `store.pool_size` is the database; anything else is the sled state directory.
pub fn configured_location(config: &Path) -> Result<super::Location, CredsError> {
    use crate::config::defaults::{ENV_PREFIX, ENV_SEPARATOR};
    let yaml = if config.exists() {
        Some(
            crate::config::guard::load_yaml_file(config)
                .map(|(_, v)| v)
                .map_err(|e| {
                    CredsError::Config(format!(
                        "{} {e}; fix it (`upsync check` shows every problem)",
                        config.display()
                    ))
                })?,
        )
    } else {
        None
    };
    let store = yaml.as_ref().and_then(|v| v.get("store"));
    let field = |k: &str| store.and_then(|s| s.get(k));
    let backend = std::env::var(format!(
        "{ENV_PREFIX}{ENV_SEPARATOR}STORE{ENV_SEPARATOR}BACKEND"
    ))
    .ok()
    .filter(|v| !v.is_empty())
    .or_else(|| {
        field("backend")
            .and_then(|b| b.as_str())
            .map(str::to_string)
    });
    if backend.as_deref() != Some("postgres") {
        let configured = crate::config::configured_state_dir(config).map_err(CredsError::Config)?;
        return Ok(super::Location::Sled(super::state_dir(
            configured.as_deref(),
        )));
    }
    let url = std::env::var("UPSYNC_STORE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| field("url").and_then(|u| u.as_str()).map(str::to_string))
        .ok_or_else(|| {
            CredsError::Config(format!(
                "{}: store.backend is postgres but no database is named; set store.url or UPSYNC_STORE_URL (postgres://USER@HOST:PORT/DATABASE)",
                config.display()
            ))
        })?;
    let pool_size = field("pool_size")
        .and_then(|n| n.as_u64())
        .unwrap_or(crate::config::defaults::STORE_POOL_SIZE as u64)
        .clamp(1, 64) as usize;
    Ok(super::Location::Postgres(super::PgTarget {
        url,
        pool_size,
    }))
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
    present_credentials_at(&super::Location::Sled(super::state_dir(config_state_dir)))
}

/// [`present_credentials`] in the store at `location` (a sled directory that does not
/// exist yet holds none; a PostgreSQL database is opened, which creates its schema).
pub fn present_credentials_at(
    location: &super::Location,
) -> Result<PresentCredentials, VaultUnavailable> {
    use super::MasterKeyError as K;
    let dir: PathBuf = match location {
        super::Location::Sled(d) => d.clone(),
        // For messages only: the URL without user and password.
        super::Location::Postgres(t) => PathBuf::from(t.redacted()),
    };
    let key = MasterKey::from_env().map_err(|e| match e {
        K::NotConfigured | K::Unreadable { .. } => VaultUnavailable::NotHere(e.to_string()),
        K::TooOpen { .. } | K::Malformed { .. } => VaultUnavailable::Broken(e.to_string()),
    })?;
    if matches!(location, super::Location::Sled(_)) && !dir.exists() {
        return Ok(PresentCredentials {
            dir,
            entries: BTreeMap::new(),
        });
    }
    let store = location.open(Some(key)).map_err(|e| match e {
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

/// What upsync knows about a credentials entry besides its secret fields: when it expires
/// (`creds set NAME --expires-at DATE`). Kept in the `meta` tree in clear (a date is not a
/// secret), so `creds info` and the reminders read it without the master key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredentialMeta {
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl CredentialMeta {
    fn key(name: &str) -> String {
        format!("credential_meta/{name}")
    }

    /// The entry's metadata (default when none was set).
    pub fn load(store: &Store, name: &str) -> Result<CredentialMeta, CredsError> {
        Ok(store
            .get_json::<CredentialMeta>(crate::store::Tree::Meta, &Self::key(name))?
            .unwrap_or_default())
    }

    pub fn save(&self, store: &Store, name: &str) -> Result<(), CredsError> {
        store.put_json(crate::store::Tree::Meta, &Self::key(name), self)?;
        Ok(())
    }
}

/// When a credentials entry last worked (a connector's source read with its login, a UPS
/// authorization stored): one timestamp in the `meta` tree per entry, written at most once
/// per cycle. For `creds info`'s "last successful use".
#[derive(Debug, Clone, Copy)]
pub struct CredentialUse;

impl CredentialUse {
    fn key(name: &str) -> String {
        format!("credential_used/{name}")
    }

    /// Record a successful use at `at` (best effort: a failed write is not an error of the
    /// cycle).
    pub fn record(store: &Store, name: &str, at: DateTime<Utc>) {
        let _ = store.put_json(crate::store::Tree::Meta, &Self::key(name), &at);
    }

    /// The last recorded successful use.
    pub fn last(store: &Store, name: &str) -> Option<DateTime<Utc>> {
        store
            .get_json::<DateTime<Utc>>(crate::store::Tree::Meta, &Self::key(name))
            .ok()
            .flatten()
    }
}
