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
//! `jobs`, `tracking`, `subscriptions`, `dead_letters`, `audit`, `events`, `outbox`, `meta`
//! hold plain JSON that never contains secrets.
//!
//! Integrity (issue 16): the manifest names the database it belongs to (`store_id`, also
//! kept in the `meta` tree), so a deleted, truncated or emptied `db/` next to an existing
//! manifest is an error ([`StoreError::DatabaseLost`]) and never silently a new, empty
//! store. [`Store::verify`] reads every record of every tree (sled checks its own CRCs
//! on the way) and decodes every cursor, plus a typed decoder the caller passes (jobs and
//! their indexes, see `pipeline::verify::ledger_decoder`); `check` and `run` call it at start. Every read error at run time is
//! counted in [`StoreHealth`], which `/readyz` and `/metrics` report.
//! [`backup`] copies a store consistently record by record; see its docs for restoring.
//!
//! Files are created 0600 and directories 0700 whatever the umask ([`restrict`]): the
//! ledger, tracking and labels hold names and addresses.
//!
//! Must never: write a secret in clear, log a secret, or write anything before the key and
//! schema checks pass.
//!
//! Files: this one holds the types; `open.rs` (manifest, open, seal), `verify.rs`,
//! `flush.rs` (group commit), `json.rs` (typed records), `tests.rs`.

pub mod backend;
pub mod backup;
pub mod creds;
pub mod key;
pub mod pgserver;
pub mod restrict;
pub mod vault;

mod flush;
mod json;
pub mod migrate;
mod open;
mod open_pg;
mod verify;

pub(crate) use open::{read_manifest, write_manifest};
pub use open_pg::{Location, PgTarget};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use backend::postgres::PgHandle;
pub use backend::{Backend, BackendKind, Batch, CasError, DbError, Fence, TreeHandle};
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
    /// Outbound status events and their deliveries to webhooks (`crate::events`).
    Outbox,
    /// Counters and small bookkeeping (token budget counts, …).
    Meta,
    /// On-call pickups per site and business day (`crate::dispatch::book`).
    Pickups,
}

impl Tree {
    pub const ALL: [Tree; 12] = [
        Tree::Credentials,
        Tree::Tokens,
        Tree::Cursors,
        Tree::Jobs,
        Tree::Tracking,
        Tree::Subscriptions,
        Tree::DeadLetters,
        Tree::Audit,
        Tree::Events,
        Tree::Outbox,
        Tree::Meta,
        Tree::Pickups,
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
            Tree::Outbox => "outbox",
            Tree::Meta => "meta",
            Tree::Pickups => "pickups",
        }
    }

    pub(crate) fn index(self) -> usize {
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
        source: DbError,
    },
    #[error("a fenced write to {tree} was refused: the lease {lease} is no longer held by {owner} with fence {token} (it expired and another daemon took it over); this daemon abandons that work, the lease holder carries it on")]
    Fenced {
        tree: &'static str,
        lease: String,
        owner: String,
        token: i64,
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
            StoreError::Db { source, .. } if source.is_corruption() => "store_corrupt",
            StoreError::Db {
                source: DbError::Postgres(_),
                ..
            } => "store_postgres",
            StoreError::Db {
                source: DbError::Fenced(_),
                ..
            }
            | StoreError::Fenced { .. } => "store_fenced",
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

fn db_error_text(dir: &Path, e: &DbError) -> String {
    let e = match e {
        DbError::Sled(e) => e,
        DbError::Postgres(e) => return e.to_string(),
        DbError::Fenced(f) => {
            return format!(
                "a fenced write was refused: the lease {} is no longer held by {} with fence {}",
                f.lease, f.owner, f.token
            )
        }
    };
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
    backend: std::sync::Arc<dyn Backend>,
    trees: Vec<TreeHandle>,
    /// Async access to the database for the cluster (PostgreSQL only).
    pg: Option<PgHandle>,
    vault: Option<Vault>,
    flushes: flush::GroupFlush,
    health: std::sync::Arc<StoreHealth>,
    sealing: std::sync::Mutex<()>,
    seal_on_drop: bool,
    /// Set once the ledger has checked the jobs a crash may have left half-saved
    /// ([`crate::pipeline::Ledger::new`]): once per opening, before anything else writes.
    ledger_checked: std::sync::atomic::AtomicBool,
}

impl Drop for Store {
    fn drop(&mut self) {
        // The flush thread holds the database open: stop it first.
        self.flushes.stop();
        if self.seal_on_drop && self.health.errors() == 0 {
            let _ = self.seal();
        }
    }
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
    /// Read errors seen so far (shared; `/readyz` and `/metrics` read it).
    pub fn health(&self) -> &std::sync::Arc<StoreHealth> {
        &self.health
    }

    fn db_error(&self, source: DbError) -> StoreError {
        let e = StoreError::Db {
            dir: self.dir.clone(),
            source,
        };
        self.health.record(&e);
        e
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A named tree (sled-shaped methods over the backend, see [`TreeHandle`]).
    pub fn tree(&self, tree: Tree) -> &TreeHandle {
        &self.trees[tree.index()]
    }

    /// The writes asked of each tree since the store opened, `(tree, operations, bytes)`
    /// ([`backend::handle::WriteCount`]; the bench's `store_writes_per_shipment`).
    pub fn writes(&self) -> Vec<(Tree, u64, u64)> {
        self.trees
            .iter()
            .map(|t| {
                let (ops, bytes) = t.writes();
                (t.which(), ops, bytes)
            })
            .collect()
    }

    /// Which backend this store runs on.
    pub fn backend_kind(&self) -> BackendKind {
        self.backend.kind()
    }

    /// True for the first caller only, per opening of the store: the ledger's check of
    /// jobs a crash left half-saved runs once, before the pipeline writes (a later check
    /// would race the pipeline's own in-order saves).
    pub(crate) fn first_ledger_check(&self) -> bool {
        !self
            .ledger_checked
            .swap(true, std::sync::atomic::Ordering::SeqCst)
    }

    /// Async access to the database for the cluster module; `None` on sled.
    pub fn postgres(&self) -> Option<PgHandle> {
        self.pg.clone()
    }

    /// The vault, when the store was opened with a master key.
    pub fn vault(&self) -> Result<&Vault, StoreError> {
        self.vault.as_ref().ok_or(StoreError::NoMasterKey)
    }
}

#[cfg(test)]
mod tests;
