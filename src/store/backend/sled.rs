//! The embedded default backend: one sled database under the state directory, a sled
//! tree per [`Tree`]. Writes are durable after [`Backend::flush`] (the store's group
//! commit); a [`Fence`] is ignored (sled's file lock keeps one daemon per directory).

use std::ops::Bound;

use super::{Backend, BackendKind, Batch, Bytes, CasError, DbError, Fence, Iter};
use crate::store::Tree;

/// sled behind the [`Backend`] trait.
pub struct SledBackend {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl SledBackend {
    /// Open every tree of `db`.
    pub fn new(db: sled::Db) -> Result<SledBackend, sled::Error> {
        let trees = Tree::ALL
            .iter()
            .map(|t| db.open_tree(t.name()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SledBackend { db, trees })
    }

    fn t(&self, tree: Tree) -> &sled::Tree {
        &self.trees[tree.index()]
    }

    /// The sled database (for the blocking flush of the group commit).
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

fn kv(r: sled::Result<(sled::IVec, sled::IVec)>) -> Result<(Bytes, Bytes), DbError> {
    r.map(|(k, v)| (k.to_vec(), v.to_vec()))
        .map_err(DbError::Sled)
}

impl Backend for SledBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Sled
    }

    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError> {
        Ok(self.t(tree).get(key)?.map(|v| v.to_vec()))
    }

    fn insert(&self, tree: Tree, key: &[u8], value: Bytes) -> Result<(), DbError> {
        self.t(tree).insert(key, value)?;
        Ok(())
    }

    fn remove(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError> {
        Ok(self.t(tree).remove(key)?.map(|v| v.to_vec()))
    }

    fn range(&self, tree: Tree, from: Bound<Bytes>, to: Bound<Bytes>) -> Iter {
        Iter::new(self.t(tree).range::<Bytes, _>((from, to)).map(kv))
    }

    fn scan_prefix(&self, tree: Tree, prefix: &[u8]) -> Iter {
        Iter::new(self.t(tree).scan_prefix(prefix).map(kv))
    }

    fn apply_batch(&self, tree: Tree, batch: Batch, _fence: Option<&Fence>) -> Result<(), DbError> {
        let mut b = sled::Batch::default();
        for (k, v) in batch.ops {
            match v {
                Some(v) => b.insert(k, v),
                None => b.remove(k),
            }
        }
        self.t(tree).apply_batch(b)?;
        Ok(())
    }

    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<Bytes>,
    ) -> Result<Result<(), CasError>, DbError> {
        Ok(self
            .t(tree)
            .compare_and_swap(key, old, new)?
            .map_err(|e| CasError {
                current: e.current.map(|v| v.to_vec()),
                proposed: e.proposed.map(|v| v.to_vec()),
            }))
    }

    fn len(&self, tree: Tree) -> Result<usize, DbError> {
        Ok(self.t(tree).len())
    }

    fn flush(&self) -> Result<(), DbError> {
        let r = self.db.flush();
        release_deferred_frees();
        r?;
        Ok(())
    }
}

/// Hand this thread's deferred frees to sled's garbage collector (crossbeam-epoch) and let
/// it collect. sled frees a sealed 512 KiB log buffer only through the epoch collector,
/// and a thread's deferred frees reach the collector only when 64 have piled up on that
/// thread: with writes and flushes spread over tokio's workers and blocking threads, the
/// daemon's memory grew by about 50 KB per job until each thread's pile was full (issue 24,
/// `upsync bench`'s `upsync_rss_mb_profile`). A flush seals a buffer, so after it is when
/// there is garbage; the call costs a few atomic operations when there is none.
fn release_deferred_frees() {
    crossbeam_epoch::pin().flush();
}
