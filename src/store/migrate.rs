//! `upsync store migrate --from sled:DIR|postgres:URL --to sled:DIR|postgres:URL`: copy a
//! whole installation between backends (issue 22), every tree record by record, vault
//! values as the ciphertexts they are (the same master key opens the copy: the manifest's
//! key check value goes along), then verified by per-tree record counts and checksums.
//!
//! A destination that already holds records is refused unless `overwrite` (PostgreSQL:
//! its records are deleted first; a sled destination must be a new or empty directory,
//! written by [`super::backup::backup`]). Stop the daemon before migrating: records
//! written during the copy would be missed by the checksums (they would then differ).

use std::path::Path;

use ring::digest::{Context, SHA256};

use super::open_pg::PG_MANIFEST_KEY;
use super::{Batch, Location, Store, StoreError, Tree};

/// One tree's count and checksum (SHA-256 over every key and value, in key order).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TreeSum {
    pub tree: &'static str,
    pub records: u64,
    pub sha256: String,
}

/// Keys of the `meta` tree that describe a store rather than belong to it (the manifest
/// record of PostgreSQL, sled's seal counter, which every open of a sled store advances):
/// left out of the checksums.
fn bookkeeping(tree: Tree, key: &[u8]) -> bool {
    tree == Tree::Meta && (key == PG_MANIFEST_KEY.as_bytes() || key == super::SEAL_KEY.as_bytes())
}

/// Counts and checksums of every tree of `store`.
pub fn sums(store: &Store) -> Result<Vec<TreeSum>, StoreError> {
    let mut out = Vec::new();
    for tree in Tree::ALL {
        let mut h = Context::new(&SHA256);
        let mut n = 0u64;
        for kv in store.tree(tree).iter() {
            let (k, v) = kv.map_err(|source| StoreError::Db {
                dir: store.dir().to_path_buf(),
                source,
            })?;
            if bookkeeping(tree, &k) {
                continue;
            }
            h.update(&(k.len() as u64).to_be_bytes());
            h.update(&k);
            h.update(&(v.len() as u64).to_be_bytes());
            h.update(&v);
            n += 1;
        }
        let digest = h.finish();
        out.push(TreeSum {
            tree: tree.name(),
            records: n,
            sha256: digest.as_ref().iter().map(|b| format!("{b:02x}")).collect(),
        });
    }
    Ok(out)
}

/// What a migration copied, and the sums both sides agreed on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrateReport {
    pub from: String,
    pub to: String,
    pub records: u64,
    pub trees: Vec<TreeSum>,
}

fn refused(to: &Location, why: String) -> StoreError {
    StoreError::Io {
        dir: std::path::PathBuf::from(to.describe()),
        source: std::io::Error::other(why),
    }
}

/// Copy the store at `from` into `to` and verify the copy.
pub fn migrate(
    from: &Location,
    to: &Location,
    overwrite: bool,
) -> Result<MigrateReport, StoreError> {
    if let Location::Sled(dir) = from {
        if !dir.join(super::MANIFEST).exists() {
            return Err(refused(
                from,
                format!(
                    "no store at {} (no {} there)",
                    dir.display(),
                    super::MANIFEST
                ),
            ));
        }
    }
    let source = from.open(None)?;
    let manifest = source.manifest()?.ok_or_else(|| {
        refused(
            from,
            "the source has no manifest: it is not an upsync store".into(),
        )
    })?;
    let before = sums(&source)?;
    match to {
        Location::Sled(dir) => {
            copy_to_sled(&source, dir)?;
        }
        Location::Postgres(t) => {
            let dest = Store::open_postgres(t, None)?;
            let held: u64 = sums(&dest)?
                .iter()
                .map(|s| s.records)
                .sum::<u64>()
                .saturating_sub(1); // the store id written when the database was opened
            if held > 0 && !overwrite {
                return Err(refused(
                    to,
                    format!("the destination already holds {held} records; pass --overwrite to replace them"),
                ));
            }
            for tree in Tree::ALL {
                let h = dest.tree(tree);
                let keys: Vec<Vec<u8>> =
                    h.iter()
                        .keys()
                        .collect::<Result<_, _>>()
                        .map_err(|source| StoreError::Db {
                            dir: dest.dir().to_path_buf(),
                            source,
                        })?;
                let mut b = Batch::default();
                keys.iter().for_each(|k| b.remove(k));
                h.apply_batch_fenced(b, None)?;
            }
            for tree in Tree::ALL {
                let mut b = Batch::default();
                for kv in source.tree(tree).iter() {
                    let (k, v) = kv.map_err(|source_err| StoreError::Db {
                        dir: source.dir().to_path_buf(),
                        source: source_err,
                    })?;
                    if bookkeeping(tree, &k) {
                        continue;
                    }
                    b.insert(k, v);
                    if b.ops.len() >= 500 {
                        dest.tree(tree)
                            .apply_batch_fenced(std::mem::take(&mut b), None)?;
                    }
                }
                dest.tree(tree).apply_batch_fenced(b, None)?;
            }
            let mut m = manifest.clone();
            m.sealed = 0;
            dest.tree(Tree::Meta)
                .insert(
                    PG_MANIFEST_KEY,
                    serde_json::to_vec(&m).expect("the manifest serialises"),
                )
                .map_err(|source| StoreError::Db {
                    dir: dest.dir().to_path_buf(),
                    source,
                })?;
        }
    }
    // Verify: reopen the destination as a store and compare.
    let dest = to.open(None)?;
    let after = sums(&dest)?;
    if before != after {
        return Err(StoreError::Corrupt {
            tree: "meta",
            reason: format!(
                "the copy at {} differs from its source after migration: source {:?}, copy {:?}",
                to.describe(),
                before,
                after
            ),
        });
    }
    Ok(MigrateReport {
        from: from.describe(),
        to: to.describe(),
        records: before.iter().map(|s| s.records).sum(),
        trees: before,
    })
}

fn copy_to_sled(source: &Store, dir: &Path) -> Result<(), StoreError> {
    super::backup::backup(source, dir, false).map(|_| ())
}

#[cfg(test)]
mod tests;
