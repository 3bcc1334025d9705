//! State: one sled database under the state directory, with a named tree per concern, and
//! the AES-256-GCM [`Vault`] for secrets.
//!
//! Layout of the state directory:
//!
//! ```text
//! <state_dir>/
//!   upsync-state.json   manifest: schema version + master-key check value (plain JSON)
//!   db/                 sled database (trees below)
//! ```
//!
//! The manifest is read and verified **before** sled is opened, so opening with a wrong
//! master key or against a layout of another version fails without touching a single byte
//! of the database.
//!
//! Trees ([`Tree`]): `credentials` and `tokens` hold only vault ciphertexts; `cursors`,
//! `jobs`, `tracking`, `subscriptions`, `dead_letters`, `audit`, `events`, `meta` hold
//! plain JSON that never contains secrets.
//!
//! Must never: write a secret in clear, log a secret, or write anything before the key and
//! schema checks pass.

pub mod cli;
pub mod key;
pub mod vault;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use key::{MasterKey, MasterKeyError};
pub use vault::{Secret, Vault};

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// sled page cache size (bytes).
const STORE_CACHE_BYTES: u64 = 16 * 1024 * 1024;

const MANIFEST: &str = "upsync-state.json";
const DB_DIR: &str = "db";

/// The named trees of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tree {
    /// Vault: ERP and UPS credentials (JSON objects, encrypted).
    Credentials,
    /// Vault: cached OAuth tokens (encrypted).
    Tokens,
    /// Incremental-read cursors per connector.
    Cursors,
    /// The job ledger.
    Jobs,
    /// Tracking state per package.
    Tracking,
    /// Track Alert subscriptions.
    Subscriptions,
    /// Dead-letter queue.
    DeadLetters,
    /// Audit trail of external calls.
    Audit,
    /// Durable inbox of received webhook events.
    Events,
    /// Counters and small bookkeeping (token budget counts, …).
    Meta,
}

impl Tree {
    pub const ALL: [Tree; 10] = [
        Tree::Credentials,
        Tree::Tokens,
        Tree::Cursors,
        Tree::Jobs,
        Tree::Tracking,
        Tree::Subscriptions,
        Tree::DeadLetters,
        Tree::Audit,
        Tree::Events,
        Tree::Meta,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tree::Credentials => "credentials",
            Tree::Tokens => "tokens",
            Tree::Cursors => "cursors",
            Tree::Jobs => "jobs",
            Tree::Tracking => "tracking",
            Tree::Subscriptions => "subscriptions",
            Tree::DeadLetters => "dead_letters",
            Tree::Audit => "audit",
            Tree::Events => "events",
            Tree::Meta => "meta",
        }
    }

    fn index(self) -> usize {
        Tree::ALL
            .iter()
            .position(|t| *t == self)
            .expect("every tree is in ALL")
    }
}

/// Errors opening or using the store. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the master key does not match this state directory ({dir}): the key check value does not decrypt. Use the master key this state was created with (UPSYNC_MASTER_KEY_FILE or $CREDENTIALS_DIRECTORY/master.key); nothing was written")]
    WrongMasterKey { dir: PathBuf },
    #[error("this state directory ({dir}) has schema version {found}, but this build of upsync reads version {expected}: {hint}")]
    SchemaMismatch {
        dir: PathBuf,
        found: u32,
        expected: u32,
        hint: &'static str,
    },
    #[error("the state manifest {path} is unreadable: {reason}; restore it from backup or move the state directory away to start afresh")]
    BadManifest { path: PathBuf, reason: String },
    #[error("no master key is configured, but this operation needs the vault: set UPSYNC_MASTER_KEY_FILE (or run under systemd with LoadCredential=master.key); create one with `upsync keygen`")]
    NoMasterKey,
    #[error("a vault entry ({tree}/{key}) does not decrypt with this master key: it was written with another key or it was moved from another entry; set it again")]
    Undecryptable { tree: &'static str, key: String },
    #[error("cannot use the state directory {dir}: {source}; check that it exists and is writable by the upsync user (and that the disk is not full)")]
    Io {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the state database under {dir} failed: {source}; check disk space and permissions")]
    Db {
        dir: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("a record in {tree} could not be decoded: {reason}")]
    Corrupt { tree: &'static str, reason: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    schema_version: u32,
    /// Vault ciphertext of a fixed plaintext; decrypts only with the right master key.
    #[serde(default)]
    key_check: Option<String>,
}

/// The state directory to use: `UPSYNC_STATE_DIR` wins over the configured value; the
/// default is `./state`.
pub fn state_dir(configured: Option<&Path>) -> PathBuf {
    if let Some(dir) = std::env::var_os("UPSYNC_STATE_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    configured
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("state"))
}

/// The opened store.
pub struct Store {
    dir: PathBuf,
    db: sled::Db,
    trees: Vec<sled::Tree>,
    vault: Option<Vault>,
    flushes: GroupFlush,
}

/// Group commit for [`Store::flush_async`]: callers take a ticket, one flush at a time runs,
/// and a flush that started after a caller's ticket covers that caller's writes, so many
/// concurrent jobs share one fsync instead of queueing one each.
#[derive(Debug, Default)]
struct GroupFlush {
    /// Tickets handed out (each caller's writes precede its ticket).
    requested: std::sync::atomic::AtomicU64,
    /// Every ticket up to this one is durable.
    durable: std::sync::atomic::AtomicU64,
    /// Held while a flush runs.
    running: tokio::sync::Mutex<()>,
    /// Flushes actually run (for tests and metrics).
    runs: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("vault", &self.vault.is_some())
            .finish()
    }
}

impl Store {
    /// Open (or create) the store under `dir`.
    ///
    /// With a key, the key check value in the manifest is verified first (and written on
    /// first use). Without a key, the vault is unavailable ([`StoreError::NoMasterKey`]).
    pub fn open(dir: &Path, key: Option<MasterKey>) -> Result<Store, StoreError> {
        let io = |source| StoreError::Io {
            dir: dir.to_path_buf(),
            source,
        };
        let manifest_path = dir.join(MANIFEST);
        let existing = read_manifest(&manifest_path)?;
        if let Some(m) = &existing {
            if m.schema_version != SCHEMA_VERSION {
                return Err(StoreError::SchemaMismatch {
                    dir: dir.to_path_buf(),
                    found: m.schema_version,
                    expected: SCHEMA_VERSION,
                    hint: if m.schema_version > SCHEMA_VERSION {
                        "it was written by a newer upsync; run that version (or restore a backup taken before the upgrade)"
                    } else {
                        "it was written by an older upsync; run the migration of the version that introduced this layout"
                    },
                });
            }
        }
        // Verify the key before anything is written.
        let mut key_check_to_write = None;
        if let Some(k) = &key {
            match existing.as_ref().and_then(|m| m.key_check.as_deref()) {
                Some(kcv) => {
                    if !vault::verify_key_check(k, kcv) {
                        return Err(StoreError::WrongMasterKey {
                            dir: dir.to_path_buf(),
                        });
                    }
                }
                None => key_check_to_write = Some(vault::make_key_check(k)),
            }
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        if existing.is_none() || key_check_to_write.is_some() {
            let manifest = Manifest {
                schema_version: SCHEMA_VERSION,
                key_check: key_check_to_write
                    .or_else(|| existing.as_ref().and_then(|m| m.key_check.clone())),
            };
            write_manifest(&manifest_path, &manifest).map_err(io)?;
        }
        remove_partial_snapshots(&dir.join(DB_DIR));
        let db = open_db(&dir.join(DB_DIR), dir)?;
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| StoreError::Db {
                dir: dir.to_path_buf(),
                source,
            })?;
        let vault = key.map(|k| {
            Vault::new(
                k,
                trees[Tree::Credentials.index()].clone(),
                trees[Tree::Tokens.index()].clone(),
            )
        });
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            trees,
            vault,
            flushes: GroupFlush::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A named tree.
    pub fn tree(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    /// The vault, when the store was opened with a master key.
    pub fn vault(&self) -> Result<&Vault, StoreError> {
        self.vault.as_ref().ok_or(StoreError::NoMasterKey)
    }

    /// Durably flush everything written so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|source| StoreError::Db {
                dir: self.dir.clone(),
                source,
            })
    }

    /// Flush without blocking the runtime's workers: a blocking flush on tokio's blocking
    /// pool (sled 0.34's own `flush_async` can deadlock when awaited from several tasks at
    /// once, spacejam/sled#1308 and #1241), with group commit: concurrent callers share
    /// one flush that starts after all of their writes.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        let g = &self.flushes;
        let ticket = g.requested.fetch_add(1, SeqCst) + 1;
        let _running = g.running.lock().await;
        if g.durable.load(SeqCst) >= ticket {
            // A flush that started after our writes has finished meanwhile.
            return Ok(());
        }
        // Everything ticketed so far was written before this flush starts.
        let covers = g.requested.load(SeqCst);
        let db = self.db.clone();
        let dir = self.dir.clone();
        let done = tokio::task::spawn_blocking(move || db.flush().map(|_| ())).await;
        let r = match done {
            Ok(r) => r.map_err(|source| StoreError::Db { dir, source }),
            // The blocking task could not run (runtime shutting down): flush here.
            Err(_) => self.flush(),
        };
        g.runs.fetch_add(1, SeqCst);
        if r.is_ok() {
            g.durable.fetch_max(covers, SeqCst);
        }
        r
    }

    /// How many flushes [`Store::flush_async`] actually ran (group commit shares them).
    pub fn flushes_run(&self) -> u64 {
        self.flushes.runs.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Read and decode a JSON value.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let raw = self.tree(tree).get(key).map_err(|source| StoreError::Db {
            dir: self.dir.clone(),
            source,
        })?;
        raw.map(|v| {
            serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: tree.name(),
                reason: format!("{key}: {e}"),
            })
        })
        .transpose()
    }

    /// Encode and write a JSON value (not flushed; call [`Store::flush_async`] before the
    /// side effect it guards).
    pub fn put_json<T: Serialize>(
        &self,
        tree: Tree,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            tree: tree.name(),
            reason: format!("{key}: {e}"),
        })?;
        self.tree(tree)
            .insert(key, bytes)
            .map(|_| ())
            .map_err(|source| StoreError::Db {
                dir: self.dir.clone(),
                source,
            })
    }

    /// Remove a key.
    pub fn remove(&self, tree: Tree, key: &str) -> Result<(), StoreError> {
        self.tree(tree)
            .remove(key)
            .map(|_| ())
            .map_err(|source| StoreError::Db {
                dir: self.dir.clone(),
                source,
            })
    }
}

/// Open sled, waiting briefly for its file lock: sled releases the lock from background
/// threads a moment after the previous `Db` in this process is dropped. A lock still held
/// after that belongs to another process (the daemon) and is reported as such.
fn open_db(db_dir: &Path, dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        match sled::Config::new()
            .path(db_dir)
            .mode(sled::Mode::HighThroughput)
            // sled's default page cache is 1 GiB: with a large ledger the daemon's RSS would
            // grow towards it. Hot data (active jobs, indexes) fits in far less.
            .cache_capacity(STORE_CACHE_BYTES)
            .open()
        {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(25));
            }
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") => {
                return Err(StoreError::Io {
                    dir: dir.to_path_buf(),
                    source: std::io::Error::other(
                        "the state directory is in use by another upsync process (is the daemon running? stop it, or run this command against a copy of the state)",
                    ),
                })
            }
            Err(source) => {
                return Err(StoreError::Db {
                    dir: dir.to_path_buf(),
                    source,
                })
            }
        }
    }
}

/// sled writes a snapshot to `snap.<lsn>.generating` and renames it when complete. A kill
/// before the rename leaves a partial file that sled would then take for the newest
/// snapshot and refuse to open (sled issue #1527). Such a file is never the real snapshot
/// (a complete one was renamed), so it is removed before opening.
fn remove_partial_snapshots(db_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(db_dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            match std::fs::remove_file(e.path()) {
                Ok(()) => {
                    tracing::warn!(file = %name, "removed a partial sled snapshot left by an interrupted start")
                }
                Err(err) => {
                    tracing::warn!(file = %name, error = %err, "could not remove a partial sled snapshot")
                }
            }
        }
    }
}

fn read_manifest(path: &Path) -> Result<Option<Manifest>, StoreError> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::BadManifest {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A database without a manifest is a layout this build does not know.
            let db = path.with_file_name(DB_DIR);
            if db.exists() {
                return Err(StoreError::BadManifest {
                    path: path.to_path_buf(),
                    reason: "missing, but a database exists beside it".into(),
                });
            }
            Ok(None)
        }
        Err(e) => Err(StoreError::BadManifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// Write atomically: temp file, fsync, rename, fsync the directory.
fn write_manifest(path: &Path, m: &Manifest) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(m).expect("manifest serialises"))?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn key(b: u8) -> MasterKey {
        MasterKey::from_bytes([b; 32])
    }

    #[test]
    fn opens_creates_trees_and_roundtrips_json() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), Some(key(1))).unwrap();
        s.put_json(Tree::Cursors, "acu", &serde_json::json!({"ts": "x"}))
            .unwrap();
        s.flush().unwrap();
        drop(s);
        let s = Store::open(dir.path(), Some(key(1))).unwrap();
        let v: serde_json::Value = s.get_json(Tree::Cursors, "acu").unwrap().unwrap();
        assert_eq!(v["ts"], "x");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_flushes_share_one_fsync_and_sequential_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let s = Arc::new(Store::open(dir.path(), None).unwrap());
        for i in 0..3 {
            s.put_json(Tree::Cursors, &format!("seq{i}"), &i).unwrap();
            s.flush_async().await.unwrap();
        }
        assert_eq!(
            s.flushes_run(),
            3,
            "a write after a flush needs a flush of its own"
        );
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let s = s.clone();
                tokio::spawn(async move {
                    s.put_json(Tree::Cursors, &format!("c{i}"), &i).unwrap();
                    s.flush_async().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let grouped = s.flushes_run() - 3;
        assert!(
            (1..64).contains(&grouped),
            "64 concurrent callers ran {grouped} flushes"
        );
        drop(s);
        let s = Store::open(dir.path(), None).unwrap();
        for i in 0..64 {
            let v: Option<i32> = s.get_json(Tree::Cursors, &format!("c{i}")).unwrap();
            assert_eq!(v, Some(i));
        }
    }

    #[test]
    fn wrong_key_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        {
            let s = Store::open(dir.path(), Some(key(1))).unwrap();
            s.vault()
                .unwrap()
                .put(Tree::Credentials, "ups", b"{}")
                .unwrap();
            s.flush().unwrap();
        }
        let before = snapshot(dir.path());
        let err = Store::open(dir.path(), Some(key(2))).unwrap_err();
        assert!(matches!(err, StoreError::WrongMasterKey { .. }));
        assert!(err.to_string().contains("master key"));
        assert_eq!(before, snapshot(dir.path()));
    }

    #[test]
    fn other_schema_version_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), None).unwrap());
        std::fs::write(
            dir.path().join(MANIFEST),
            br#"{"schema_version": 99, "key_check": null}"#,
        )
        .unwrap();
        let err = Store::open(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("newer upsync"), "{err}");
    }

    #[test]
    fn a_store_in_use_is_reported_and_a_just_closed_one_reopens() {
        let dir = tempfile::tempdir().unwrap();
        // Closed and reopened at once: sled frees its lock a moment late; open waits.
        for _ in 0..5 {
            let s = Store::open(dir.path(), None).unwrap();
            s.put_json(Tree::Meta, "k", &1).unwrap();
            drop(s);
        }
        // Held by someone else for longer than the wait: a clear error.
        let held = Store::open(dir.path(), None).unwrap();
        let err = Store::open(dir.path(), None).unwrap_err();
        assert!(
            err.to_string().contains("in use by another upsync process"),
            "{err}"
        );
        drop(held);
    }

    #[test]
    fn vault_needs_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), None).unwrap();
        assert!(matches!(s.vault(), Err(StoreError::NoMasterKey)));
    }

    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}
