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
//! Integrity (issue 16): the manifest names the database it belongs to (`store_id`, also
//! kept in the `meta` tree), so a deleted, truncated or emptied `db/` next to an existing
//! manifest is an error ([`StoreError::DatabaseLost`]) and never silently a new, empty
//! store. [`Store::verify`] reads every record of every tree (sled checks its own CRCs
//! on the way) and decodes every cursor, plus a typed decoder the caller passes (jobs and
//! their indexes, see `app::wiring::ledger_decoder`); `check` and `run` call it at start. Every read error at run time is
//! counted in [`StoreHealth`], which `/readyz` and `/metrics` report.
//! [`backup`] copies a store consistently record by record; see its docs for restoring.
//!
//! Files are created 0600 and directories 0700 whatever the umask ([`restrict`]): the
//! ledger, tracking and labels hold names and addresses.
//!
//! Must never: write a secret in clear, log a secret, or write anything before the key and
//! schema checks pass.

pub mod backup;
pub mod creds;
/// Transitional alias: `store::cli` became [`creds`] (its commands moved to
/// `crate::commands`, issue 17). Remove once the parallel branches are merged.
#[doc(hidden)]
pub use creds as cli;
pub mod key;
pub mod restrict;
pub mod vault;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use key::{MasterKey, MasterKeyError};
pub use vault::{Secret, Vault};

/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// sled page cache size (bytes).
const STORE_CACHE_BYTES: u64 = 16 * 1024 * 1024;

pub(crate) const MANIFEST: &str = "upsync-state.json";
pub(crate) const DB_DIR: &str = "db";

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
    #[error("{}", db_error_text(dir, source))]
    Db {
        dir: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("the state database is corrupt: a record in {tree} could not be decoded ({reason}); stop upsync and restore the state directory from a backup (`upsync store backup` makes one), or salvage what still reads with `upsync store export DIR`; `upsync store verify` lists every bad record")]
    Corrupt { tree: &'static str, reason: String },
    #[error("the state database under {dir} is missing or was emptied, but its manifest ({MANIFEST}) is there: {reason}. upsync will not start afresh on its own (jobs would ship twice); restore {dir}/db from a backup, or, to really start afresh, move the whole state directory away")]
    DatabaseLost { dir: PathBuf, reason: String },
    #[error("the store verification of {dir} did not finish within {seconds}s; it checked {records} records without finding damage. Run `upsync store verify` to check all of it")]
    VerifyIncomplete {
        dir: PathBuf,
        seconds: u64,
        records: u64,
    },
}

impl StoreError {
    /// A stable code for logs, metrics and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::WrongMasterKey { .. } => "store_wrong_master_key",
            StoreError::SchemaMismatch { .. } => "store_schema_mismatch",
            StoreError::BadManifest { .. } => "store_bad_manifest",
            StoreError::NoMasterKey => "store_no_master_key",
            StoreError::Undecryptable { .. } => "store_undecryptable",
            StoreError::Io { .. } => "store_io",
            StoreError::Db {
                source: sled::Error::Corruption { .. },
                ..
            } => "store_corrupt",
            StoreError::Db { .. } => "store_db",
            StoreError::Corrupt { .. } => "store_corrupt",
            StoreError::DatabaseLost { .. } => "store_database_lost",
            StoreError::VerifyIncomplete { .. } => "store_verify_incomplete",
        }
    }

    /// Whether the error means damaged data (restore from backup) rather than a passing
    /// I/O condition.
    pub fn is_corruption(&self) -> bool {
        matches!(
            self.code(),
            "store_corrupt" | "store_database_lost" | "store_undecryptable"
        )
    }
}

fn db_error_text(dir: &Path, e: &sled::Error) -> String {
    match e {
        sled::Error::Corruption { .. } => format!(
            "the state database under {} is corrupt ({e}); stop upsync and restore the state directory from a backup, or salvage what still reads with `upsync store export DIR`",
            dir.display()
        ),
        sled::Error::Io(_) => format!(
            "the state database under {} failed: {e}; check disk space and permissions (if they are fine, the files may be damaged: run `upsync store verify`)",
            dir.display()
        ),
        _ => format!(
            "the state database under {} failed: {e}; run `upsync store verify`, and restore from a backup if it reports damage",
            dir.display()
        ),
    }
}

/// How long the start-up verification may take before it gives up (and says so).
pub const VERIFY_BOUND: std::time::Duration = std::time::Duration::from_secs(60);

/// What [`Store::verify`] read.
#[derive(Debug, Clone, Default)]
pub struct VerifyReport {
    /// Records read and decoded.
    pub records: u64,
    /// Records per tree.
    pub per_tree: Vec<(&'static str, u64)>,
    /// Every record that failed (tree, key, why); empty when the store is sound.
    pub damaged: Vec<(&'static str, String, String)>,
    /// `false` when the time bound ended the scan early.
    pub complete: bool,
    pub elapsed: std::time::Duration,
}

/// Typed decoder of a tree's values for [`Store::verify_with`]: `Err(why)` for a value
/// that does not decode.
pub type Decoder<'a> = &'a dyn Fn(Tree, &str, &[u8]) -> Result<(), String>;

/// Read errors seen at run time (shared by every user of the store).
#[derive(Debug, Default)]
pub struct StoreHealth {
    errors: std::sync::atomic::AtomicU64,
    /// Damage: stays until the daemon restarts on a sound (restored) store.
    corrupt: std::sync::Mutex<Option<String>>,
    /// An I/O failure (disk full, …): cleared by the next flush that succeeds.
    io: std::sync::Mutex<Option<String>>,
}

impl StoreHealth {
    /// Count a store error; `/readyz` fails while it stands (see the fields).
    pub fn record(&self, e: &StoreError) {
        self.errors
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let slot = if e.is_corruption() {
            &self.corrupt
        } else {
            &self.io
        };
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!("{} ({})", e, e.code()));
    }

    /// A flush succeeded: I/O failures are over (damage is not).
    fn io_recovered(&self) {
        *self.io.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `Err(why)` while the store is damaged or its last write failed.
    pub fn status(&self) -> Result<(), String> {
        for slot in [&self.corrupt, &self.io] {
            if let Some(why) = slot.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                return Err(format!("store failed: {why}"));
            }
        }
        Ok(())
    }

    /// `upsync_store_errors_total`.
    pub fn samples(&self, out: &mut Vec<crate::server::metrics::Sample>) {
        out.push(crate::server::metrics::Sample::counter(
            "upsync_store_errors",
            "Store reads or writes that failed (corruption or I/O); /readyz fails after one",
            vec![],
            self.errors() as f64,
        ));
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    // (fields are read and set by `backup` too)
    schema_version: u32,
    /// Vault ciphertext of a fixed plaintext; decrypts only with the right master key.
    #[serde(default)]
    key_check: Option<String>,
    /// Names the database this manifest belongs to (also in the `meta` tree under
    /// [`STORE_ID_KEY`]); a database without it next to a manifest with it was lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    store_id: Option<String>,
    /// The last seal written to the database and flushed ([`Store::seal`]). sled recovers
    /// a log with a bad checksum by dropping everything after the bad spot, silently; a
    /// database whose `meta` seal is below this one lost records that way.
    #[serde(default)]
    sealed: u64,
}

/// Key of the seal counter in the `meta` tree.
pub(crate) const SEAL_KEY: &str = "seal";
/// Key of the store id in the `meta` tree.
const STORE_ID_KEY: &str = "store_id";

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
    health: std::sync::Arc<StoreHealth>,
    sealing: std::sync::Mutex<()>,
    seal_on_drop: bool,
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.seal_on_drop && self.health.errors() == 0 {
            let _ = self.seal();
        }
    }
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
        Store::open_inner(dir, key, false)
    }

    /// Open a damaged store to salvage what still reads (`upsync store export`): the seal
    /// and store id checks report instead of refusing, and nothing is sealed. Never use
    /// it to run the pipeline.
    pub fn open_for_salvage(dir: &Path, key: Option<MasterKey>) -> Result<Store, StoreError> {
        Store::open_inner(dir, key, true)
    }

    fn open_inner(dir: &Path, key: Option<MasterKey>, salvage: bool) -> Result<Store, StoreError> {
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
        // A manifest naming its database, and no database file: lost, not new.
        if let Some(id) = existing.as_ref().and_then(|m| m.store_id.as_deref()) {
            let db_file = dir.join(DB_DIR).join("db");
            match std::fs::metadata(&db_file) {
                Err(_) => {
                    return Err(StoreError::DatabaseLost {
                        dir: dir.to_path_buf(),
                        reason: format!("{} does not exist (store id {id})", db_file.display()),
                    })
                }
                Ok(m) if m.len() == 0 => {
                    return Err(StoreError::DatabaseLost {
                        dir: dir.to_path_buf(),
                        reason: format!("{} is empty (store id {id})", db_file.display()),
                    })
                }
                Ok(_) => {}
            }
        }
        // sled creates segment and snapshot files as it goes: private too.
        restrict::set_private_umask();
        restrict::create_private_dir(dir).map_err(io)?;
        if existing.is_none() || key_check_to_write.is_some() {
            let manifest = Manifest {
                schema_version: SCHEMA_VERSION,
                key_check: key_check_to_write
                    .or_else(|| existing.as_ref().and_then(|m| m.key_check.clone())),
                store_id: existing.as_ref().and_then(|m| m.store_id.clone()),
                sealed: existing.as_ref().map(|m| m.sealed).unwrap_or(0),
            };
            write_manifest(&manifest_path, &manifest).map_err(io)?;
        }
        remove_partial_snapshots(&dir.join(DB_DIR));
        let db = open_db(&dir.join(DB_DIR), dir)?;
        restrict::private_tree(dir);
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
        let store = Store {
            dir: dir.to_path_buf(),
            db,
            trees,
            vault,
            flushes: GroupFlush::default(),
            health: Default::default(),
            sealing: std::sync::Mutex::new(()),
            seal_on_drop: !salvage,
        };
        if salvage {
            if let Err(e) = store.check_store_id(&manifest_path) {
                tracing::warn!(error = %e, "salvaging a damaged store: copying what still reads");
            }
            return Ok(store);
        }
        store.check_store_id(&manifest_path)?;
        store.seal()?;
        Ok(store)
    }

    /// The manifest and the `meta` tree name the same database; a store without an id
    /// (new, or written by an earlier build) gets one.
    fn check_store_id(&self, manifest_path: &Path) -> Result<(), StoreError> {
        let manifest = read_manifest(manifest_path)?.unwrap_or(Manifest {
            schema_version: SCHEMA_VERSION,
            key_check: None,
            store_id: None,
            sealed: 0,
        });
        let seal: u64 = self.get_json(Tree::Meta, SEAL_KEY)?.unwrap_or(0);
        if seal < manifest.sealed {
            let e = StoreError::Corrupt {
                tree: "meta",
                reason: format!(
                    "the database ends before its last seal (seal {seal}, the manifest records {}): sled dropped records after a damaged spot of its log",
                    manifest.sealed
                ),
            };
            self.health.record(&e);
            return Err(e);
        }
        let in_db: Option<String> = self.get_json(Tree::Meta, STORE_ID_KEY)?;
        match (&manifest.store_id, in_db) {
            (Some(want), Some(got)) if *want == got => Ok(()),
            (Some(want), Some(got)) => Err(StoreError::DatabaseLost {
                dir: self.dir.clone(),
                reason: format!("the database is another store's (id {got}, the manifest names {want})"),
            }),
            (Some(want), None) => Err(StoreError::DatabaseLost {
                dir: self.dir.clone(),
                reason: format!(
                    "the database does not hold the store id {want} the manifest names (truncated or replaced)"
                ),
            }),
            (None, found) => {
                let id = found.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                self.put_json(Tree::Meta, STORE_ID_KEY, &id)?;
                self.flush()?;
                let m = Manifest {
                    store_id: Some(id),
                    sealed: seal,
                    ..manifest
                };
                write_manifest(manifest_path, &m).map_err(|source| StoreError::Io {
                    dir: self.dir.clone(),
                    source,
                })
            }
        }
    }

    /// Seal: write the next seal number to the database, flush, then record it in the
    /// manifest. Called at open, every few seconds by the daemon and when the store is
    /// dropped; see [`Manifest::sealed`] for what it detects. Damage in what was written
    /// after the last seal is indistinguishable from a crash during that write (sled then
    /// keeps what precedes it, as after a crash).
    pub fn seal(&self) -> Result<u64, StoreError> {
        let _one = self.sealing.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.join(MANIFEST);
        let Some(mut m) = read_manifest(&path)? else {
            return Ok(0);
        };
        let current: u64 = self.get_json(Tree::Meta, SEAL_KEY)?.unwrap_or(0);
        let next = current.max(m.sealed) + 1;
        self.put_json(Tree::Meta, SEAL_KEY, &next)?;
        self.flush()?;
        m.sealed = next;
        write_manifest(&path, &m).map_err(|source| StoreError::Io {
            dir: self.dir.clone(),
            source,
        })?;
        Ok(next)
    }

    /// Read errors seen so far (shared; `/readyz` and `/metrics` read it).
    pub fn health(&self) -> &std::sync::Arc<StoreHealth> {
        &self.health
    }

    fn db_error(&self, source: sled::Error) -> StoreError {
        let e = StoreError::Db {
            dir: self.dir.clone(),
            source,
        };
        self.health.record(&e);
        e
    }

    /// Read every record of every tree (sled verifies its checksums as it reads) and
    /// decode every cursor; see [`Store::verify_with`] for typed decoding of the rest.
    pub fn verify(&self, bound: std::time::Duration) -> Result<VerifyReport, StoreError> {
        self.verify_with(bound, &|_, _, _| Ok(()))
    }

    /// [`Store::verify`] plus `decode` for every value (typed decoding of jobs and
    /// cursors, which this layer does not know). Returns the report when every record read
    /// is sound; the first damage is returned as [`StoreError::Corrupt`] (the report of
    /// [`Store::scan`] lists all of it). A scan cut short by `bound` is
    /// [`StoreError::VerifyIncomplete`] only when nothing at all could be read.
    pub fn verify_with(
        &self,
        bound: std::time::Duration,
        decode: Decoder<'_>,
    ) -> Result<VerifyReport, StoreError> {
        let report = self.scan(bound, decode);
        if let Some((tree, key, why)) = report.damaged.first() {
            let e = StoreError::Corrupt {
                tree,
                reason: format!(
                    "{key}: {why}{}",
                    match report.damaged.len() {
                        1 => String::new(),
                        n => format!(" (and {} more damaged records)", n - 1),
                    }
                ),
            };
            self.health.record(&e);
            return Err(e);
        }
        Ok(report)
    }

    /// The full scan behind [`Store::verify_with`]: every damaged record listed.
    pub fn scan(&self, bound: std::time::Duration, decode: Decoder<'_>) -> VerifyReport {
        let started = std::time::Instant::now();
        let mut r = VerifyReport {
            complete: true,
            ..VerifyReport::default()
        };
        'trees: for tree in Tree::ALL {
            let mut n = 0u64;
            for item in self.tree(tree).iter() {
                if started.elapsed() > bound {
                    r.complete = false;
                    r.per_tree.push((tree.name(), n));
                    break 'trees;
                }
                match item {
                    Err(e) => {
                        r.damaged
                            .push((tree.name(), "(unreadable)".into(), e.to_string()));
                        // An iterator error does not advance reliably: next tree.
                        break;
                    }
                    Ok((k, v)) => {
                        n += 1;
                        let key = String::from_utf8_lossy(&k).into_owned();
                        // Cursors are JSON by contract (get_json/put_json only); other
                        // trees hold raw index values too: their owners' decoder checks.
                        if tree == Tree::Cursors {
                            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&v) {
                                r.damaged.push((
                                    tree.name(),
                                    key.clone(),
                                    format!("not JSON: {e}"),
                                ));
                                continue;
                            }
                        }
                        if let Err(why) = decode(tree, &key, &v) {
                            r.damaged.push((tree.name(), key, why));
                        }
                    }
                }
            }
            r.per_tree.push((tree.name(), n));
            r.records += n;
        }
        r.elapsed = started.elapsed();
        r
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
            .map(|_| self.health.io_recovered())
            .map_err(|source| self.db_error(source))
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
            Ok(r) => r.map_err(|source| {
                let e = StoreError::Db { dir, source };
                self.health.record(&e);
                e
            }),
            // The blocking task could not run (runtime shutting down): flush here.
            Err(_) => self.flush(),
        };
        g.runs.fetch_add(1, SeqCst);
        if r.is_ok() {
            g.durable.fetch_max(covers, SeqCst);
            self.health.io_recovered();
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
        let raw = self
            .tree(tree)
            .get(key)
            .map_err(|source| self.db_error(source))?;
        raw.map(|v| {
            serde_json::from_slice(&v).map_err(|e| {
                let e = StoreError::Corrupt {
                    tree: tree.name(),
                    reason: format!("{key}: {e}"),
                };
                self.health.record(&e);
                e
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
            .map_err(|source| self.db_error(source))
    }

    /// Remove a key.
    pub fn remove(&self, tree: Tree, key: &str) -> Result<(), StoreError> {
        self.tree(tree)
            .remove(key)
            .map(|_| ())
            .map_err(|source| self.db_error(source))
    }
}

/// Open sled, waiting briefly for its file lock: sled releases the lock from background
/// threads a moment after the previous `Db` in this process is dropped. A lock still held
/// after that belongs to another process (the daemon) and is reported as such.
fn open_db(db_dir: &Path, dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let opened = std::panic::catch_unwind(|| {
            sled::Config::new()
                .path(db_dir)
                .mode(sled::Mode::HighThroughput)
                // sled's default page cache is 1 GiB: with a large ledger the daemon's RSS
                // would grow towards it. Hot data (active jobs, indexes) fits in far less.
                .cache_capacity(STORE_CACHE_BYTES)
                .open()
        })
        .unwrap_or_else(|_| Err(sled::Error::Corruption { at: None, bt: () }));
        match opened {
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

pub(crate) fn read_manifest(path: &Path) -> Result<Option<Manifest>, StoreError> {
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
pub(crate) fn write_manifest(path: &Path, m: &Manifest) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = restrict::create_private_file(&tmp)?;
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
