//! [`TreeHandle`]: one tree of the store, with sled-shaped methods over any [`Backend`].

use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use super::{Backend, Batch, Bytes, CasError, DbError, Fence, Iter};
use crate::store::{StoreError, Tree};

/// One tree of the store ([`Store::tree`](crate::store::Store::tree)); cheap to clone.
#[derive(Clone)]
pub struct TreeHandle {
    tree: Tree,
    backend: Arc<dyn Backend>,
    /// Where the store lives (state directory, or the redacted database URL), for errors.
    place: Arc<PathBuf>,
    /// Writes asked of this tree (shared by its clones).
    writes: Arc<WriteCount>,
}

/// The writes asked of one tree since the store opened: operations (an insert, a removal,
/// each operation of a batch, a swap that wrote) and their key and value bytes. The bench
/// prints them per shipment: unlike CPU time they do not drift with the machine. sled
/// skips a write that changes nothing; it is counted all the same (it was asked for).
#[derive(Debug, Default)]
pub struct WriteCount {
    ops: AtomicU64,
    bytes: AtomicU64,
}

impl WriteCount {
    fn add(&self, key: &[u8], value_len: usize) {
        self.ops.fetch_add(1, Relaxed);
        self.bytes
            .fetch_add((key.len() + value_len) as u64, Relaxed);
    }

    /// `(operations, bytes)` so far.
    pub fn get(&self) -> (u64, u64) {
        (self.ops.load(Relaxed), self.bytes.load(Relaxed))
    }
}

impl std::fmt::Debug for TreeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeHandle")
            .field("tree", &self.tree.name())
            .field("backend", &self.backend.kind().name())
            .finish()
    }
}

fn owned<K: AsRef<[u8]>>(b: Bound<&K>) -> Bound<Bytes> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl TreeHandle {
    pub(crate) fn new(tree: Tree, backend: Arc<dyn Backend>, place: Arc<PathBuf>) -> TreeHandle {
        TreeHandle {
            tree,
            backend,
            place,
            writes: Arc::default(),
        }
    }

    /// The writes asked of this tree so far ([`WriteCount`]).
    pub fn writes(&self) -> (u64, u64) {
        self.writes.get()
    }

    fn count_batch(&self, batch: &Batch) {
        for (k, v) in &batch.ops {
            self.writes.add(k, v.as_ref().map_or(0, Vec::len));
        }
    }

    /// Which tree this is.
    pub fn which(&self) -> Tree {
        self.tree
    }

    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, DbError> {
        self.backend.get(self.tree, key.as_ref())
    }

    pub fn contains_key(&self, key: impl AsRef<[u8]>) -> Result<bool, DbError> {
        self.get(key).map(|v| v.is_some())
    }

    /// Write `value` under `key` (on sled not durable before a flush).
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl Into<Bytes>) -> Result<(), DbError> {
        let value = value.into();
        self.writes.add(key.as_ref(), value.len());
        self.backend.insert(self.tree, key.as_ref(), value)
    }

    /// Remove `key`, returning the value it held.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, DbError> {
        self.writes.add(key.as_ref(), 0);
        self.backend.remove(self.tree, key.as_ref())
    }

    /// Records whose key starts with `prefix`, in key-byte order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        self.backend.scan_prefix(self.tree, prefix.as_ref())
    }

    /// Every record, in key-byte order.
    pub fn iter(&self) -> Iter {
        self.backend
            .range(self.tree, Bound::Unbounded, Bound::Unbounded)
    }

    /// Records with keys in `range`, in key-byte order.
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Iter {
        self.backend.range(
            self.tree,
            owned::<K>(range.start_bound()),
            owned::<K>(range.end_bound()),
        )
    }

    /// Apply every write of `batch` atomically.
    pub fn apply_batch(&self, batch: Batch) -> Result<(), DbError> {
        self.count_batch(&batch);
        self.backend.apply_batch(self.tree, batch, None)
    }

    /// Apply `batch` atomically, only while `fence` still holds (PostgreSQL checks the
    /// lease in the same transaction; sled ignores it). A lease that moved on is
    /// [`StoreError::Fenced`]: the caller abandons the work, another daemon has it.
    pub fn apply_batch_fenced(
        &self,
        batch: Batch,
        fence: Option<&Fence>,
    ) -> Result<(), StoreError> {
        self.count_batch(&batch);
        self.backend
            .apply_batch(self.tree, batch, fence)
            .map_err(|e| match e {
                DbError::Fenced(f) => StoreError::Fenced {
                    tree: self.tree.name(),
                    lease: f.lease,
                    owner: f.owner,
                    token: f.token,
                },
                source => StoreError::Db {
                    dir: self.place.as_ref().clone(),
                    source,
                },
            })
    }

    /// Write `new` (remove for `None`) only if `key` holds `old` (absent for `None`).
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<impl AsRef<[u8]>>,
        new: Option<impl Into<Bytes>>,
    ) -> Result<Result<(), CasError>, DbError> {
        let new: Option<Bytes> = new.map(Into::into);
        let len = new.as_ref().map_or(0, Vec::len);
        let swapped = self.backend.compare_and_swap(
            self.tree,
            key.as_ref(),
            old.as_ref().map(|o| o.as_ref()),
            new,
        )?;
        if swapped.is_ok() {
            self.writes.add(key.as_ref(), len);
        }
        Ok(swapped)
    }

    /// Replace the value of `key` with `f(current)` atomically (a compare-and-swap loop,
    /// as sled does it) and return the new value.
    pub fn update_and_fetch(
        &self,
        key: impl AsRef<[u8]>,
        mut f: impl FnMut(Option<&[u8]>) -> Option<Bytes>,
    ) -> Result<Option<Bytes>, DbError> {
        let key = key.as_ref();
        let mut current = self.get(key)?;
        loop {
            let next = f(current.as_deref());
            match self.compare_and_swap(key, current.as_deref(), next.clone())? {
                Ok(()) => return Ok(next),
                Err(CasError { current: found, .. }) => current = found,
            }
        }
    }

    /// Records in the tree (on an error: logged, and 0).
    pub fn len(&self) -> usize {
        self.backend.len(self.tree).unwrap_or_else(|e| {
            tracing::warn!(tree = self.tree.name(), error = %e, "could not count a store tree");
            0
        })
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Make every write so far durable (the whole store; a no-op on PostgreSQL).
    pub fn flush(&self) -> Result<(), DbError> {
        self.backend.flush()
    }
}
