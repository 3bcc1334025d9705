//! The store's plug point (issue 22): one [`Backend`] trait over bytes per [`Tree`], with
//! two implementations, [`sled`](self::sled) (the embedded default: today's behaviour) and
//! [`postgres`] (several daemons on one database).
//!
//! Callers never see a backend: [`Store::tree`](super::Store::tree) hands out a
//! [`TreeHandle`] with sled-shaped method names (`get`, `insert`, `remove`, `scan_prefix`,
//! `iter`, `range`, `apply_batch`, `compare_and_swap`, `update_and_fetch`, `len`), so code
//! written against a `sled::Tree` only changes types: `sled::Batch` → [`Batch`],
//! `sled::IVec` → `Vec<u8>`, `sled::Error` → [`DbError`].
//!
//! Keys order by their bytes (unsigned, shorter first on a common prefix) on both
//! backends; `scan_prefix` and `range` iterate in that order.
//!
//! Fencing: [`TreeHandle::apply_batch_fenced`] writes a batch only while a lease
//! ([`Fence`]) still holds, in the same transaction on PostgreSQL; sled ignores the fence
//! (one daemon per state directory, enforced by sled's file lock).
//!
//! Must never: log a value (vault ciphertexts, names and addresses pass through here).

pub mod handle;
pub mod postgres;
pub mod sled;

use std::ops::Bound;

pub use handle::TreeHandle;

use super::Tree;

/// Bytes of a key or a value.
pub type Bytes = Vec<u8>;

/// One `(key, value)` of a scan.
pub type Kv = (Bytes, Bytes);

/// A lease a write is conditioned on (issue 22's fencing token): the write happens only
/// while `owner` still holds lease `lease` with fence `token` and it has not expired.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fence {
    /// The lease's name (`job:<id>`, `connector:<name>`, …).
    pub lease: String,
    /// The daemon holding it (`host:pid:random`).
    pub owner: String,
    /// Incremented on every new grant of the lease: a write carrying an older token is
    /// refused.
    pub token: i64,
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sled,
    Postgres,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Sled => "sled",
            BackendKind::Postgres => "postgres",
        }
    }
}

/// A failed read or write of a backend (the store wraps it in
/// [`StoreError::Db`](super::StoreError::Db) with where it happened).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sled(#[from] ::sled::Error),
    #[error("{0}")]
    Postgres(#[from] postgres::PgError),
    /// A fenced write refused: the lease moved on (see [`Fence`]).
    #[error("the lease {} is no longer held by {} with fence {}", .0.lease, .0.owner, .0.token)]
    Fenced(Fence),
}

impl DbError {
    /// Damaged data (restore from a backup) rather than a passing condition.
    pub fn is_corruption(&self) -> bool {
        matches!(self, DbError::Sled(::sled::Error::Corruption { .. }))
    }
}

/// Writes applied atomically by [`TreeHandle::apply_batch`]: all or none, later
/// operations on a key winning over earlier ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    pub(crate) ops: Vec<(Bytes, Option<Bytes>)>,
}

impl Batch {
    /// Set `key` to `value`.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl Into<Bytes>) {
        self.ops.push((key.as_ref().to_vec(), Some(value.into())));
    }

    /// Remove `key`.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.ops.push((key.as_ref().to_vec(), None));
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The last operation per key, in key order (what the batch does once applied).
    pub fn collapsed(&self) -> std::collections::BTreeMap<Bytes, Option<Bytes>> {
        let mut m = std::collections::BTreeMap::new();
        for (k, v) in &self.ops {
            m.insert(k.clone(), v.clone());
        }
        m
    }
}

/// [`TreeHandle::compare_and_swap`] found another value than expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasError {
    /// The value found (`None`: absent).
    pub current: Option<Bytes>,
    /// The value that was not written.
    pub proposed: Option<Bytes>,
}

/// The backend plug point: bytes per tree. Implementations: [`sled::SledBackend`],
/// [`postgres::PgBackend`].
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;
    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError>;
    /// Write `value` under `key` (not flushed on sled; committed on PostgreSQL).
    fn insert(&self, tree: Tree, key: &[u8], value: Bytes) -> Result<(), DbError>;
    /// Remove `key`, returning what it held.
    fn remove(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError>;
    /// Records with keys in `(from, to)`, in key-byte order.
    fn range(&self, tree: Tree, from: Bound<Bytes>, to: Bound<Bytes>) -> Iter;
    /// Records whose key starts with `prefix`, in key-byte order.
    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> Iter {
        let to = match prefix_successor(prefix) {
            Some(end) => Bound::Excluded(end),
            None => Bound::Unbounded,
        };
        self.range(tree, Bound::Included(prefix.to_vec()), to)
    }
    /// All or nothing; with a fence, only while the lease holds ([`DbError::Fenced`]
    /// otherwise; sled ignores the fence).
    fn apply_batch(&self, tree: Tree, batch: Batch, fence: Option<&Fence>) -> Result<(), DbError>;
    /// Write `new` (remove for `None`) only if `key` holds `old` (absent for `None`).
    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<Bytes>,
    ) -> Result<Result<(), CasError>, DbError>;
    fn len(&self, tree: Tree) -> Result<usize, DbError>;
    /// Make every write so far durable (a no-op where each write commits on return).
    fn flush(&self) -> Result<(), DbError>;
    /// Whether [`Backend::flush`] does anything (sled) or writes are durable on return.
    fn needs_flush(&self) -> bool {
        true
    }
    /// Whether the database answers now (PostgreSQL: `SELECT 1` within a few seconds).
    fn ping(&self) -> Result<(), DbError> {
        Ok(())
    }
}

/// The smallest key greater than every key starting with `prefix` (`None`: no bound).
pub fn prefix_successor(prefix: &[u8]) -> Option<Bytes> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A scan's records, in key order (sled: lazily from the tree; PostgreSQL: page by page).
pub struct Iter {
    inner: Box<dyn Iterator<Item = Result<Kv, DbError>> + Send>,
}

impl Iter {
    pub fn new(inner: impl Iterator<Item = Result<Kv, DbError>> + Send + 'static) -> Iter {
        Iter {
            inner: Box::new(inner),
        }
    }

    /// Only the keys.
    pub fn keys(self) -> impl Iterator<Item = Result<Bytes, DbError>> + Send {
        self.map(|r| r.map(|(k, _)| k))
    }

    /// Only the values.
    pub fn values(self) -> impl Iterator<Item = Result<Bytes, DbError>> + Send {
        self.map(|r| r.map(|(_, v)| v))
    }
}

impl Iterator for Iter {
    type Item = Result<Kv, DbError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_every_key_with_the_prefix() {
        assert_eq!(prefix_successor(b"s/"), Some(b"s0".to_vec()));
        assert_eq!(prefix_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff\xff"), None);
        assert_eq!(prefix_successor(b""), None);
    }

    #[test]
    fn a_batch_collapses_to_the_last_operation_per_key() {
        let mut b = Batch::default();
        b.insert("k", b"1".to_vec());
        b.remove("k");
        b.insert("j", b"2".as_slice());
        let c = b.collapsed();
        assert_eq!(c.get(b"k".as_slice()), Some(&None));
        assert_eq!(c.get(b"j".as_slice()), Some(&Some(b"2".to_vec())));
    }
}
