//! `upsync store backup DIR` and `upsync store export DIR`: a copy of the store that is
//! itself a complete state directory (manifest + database), taken record by record
//! through sled while the store stays open, so it can be taken while the daemon runs (the
//! daemon does it on `POST /admin/store/backup` from loopback; the command asks it when the
//! store is locked by it).
//!
//! Consistency: every record is copied whole as it was at one moment (sled reads are
//! atomic per key); records written while the copy runs may be in it or not, and since the
//! ledger records every step of a job in its own key before the step's side effect, a
//! restored copy resumes like a restart after a crash at that moment (jobs in `shipping`
//! are reconciled by reference, never shipped twice).
//!
//! `backup` fails on the first damaged record; `export` (salvage) skips damaged records,
//! lists them, and copies everything that still reads.
//!
//! On PostgreSQL the same command writes a sled state directory from the database (the
//! manifest comes from the database's `meta` record); `upsync store migrate` copies it
//! back into a database.
//!
//! Restore: stop upsync, move the damaged state directory away, put the backup directory
//! in its place (or point `UPSYNC_STATE_DIR` at it), `upsync store verify`, start upsync.
//! The same master key opens it (the manifest's key check value is copied).

use std::path::{Path, PathBuf};

use super::{restrict, Store, StoreError, Tree, DB_DIR, MANIFEST};

/// What a backup or export copied.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BackupReport {
    pub dir: PathBuf,
    pub records: u64,
    /// (tree, key, why) of records that could not be read (export only).
    pub skipped: Vec<(String, String, String)>,
}

/// Copy `store` into `dest` (which must not exist, or be an empty directory).
/// `salvage`: skip damaged records instead of failing.
pub fn backup(store: &Store, dest: &Path, salvage: bool) -> Result<BackupReport, StoreError> {
    let io = |source| StoreError::Io {
        dir: dest.to_path_buf(),
        source,
    };
    if dest.exists() {
        let empty = std::fs::read_dir(dest).map_err(io)?.next().is_none();
        if !empty {
            return Err(io(std::io::Error::other(
                "the backup directory exists and is not empty; name a new directory",
            )));
        }
    }
    restrict::create_private_dir(dest).map_err(io)?;
    let db = sled::Config::new()
        .path(dest.join(DB_DIR))
        .mode(sled::Mode::HighThroughput)
        .open()
        .map_err(|source| StoreError::Db {
            dir: dest.to_path_buf(),
            source: source.into(),
        })?;
    let db_err = |source: sled::Error| StoreError::Db {
        dir: dest.to_path_buf(),
        source: source.into(),
    };
    let mut report = BackupReport {
        dir: dest.to_path_buf(),
        ..Default::default()
    };
    for tree in Tree::ALL {
        let to = db.open_tree(tree.name()).map_err(db_err)?;
        for item in store.tree(tree).iter() {
            match item {
                Ok((k, v)) => {
                    to.insert(k, v).map_err(db_err)?;
                    report.records += 1;
                }
                Err(e) if salvage => {
                    report
                        .skipped
                        .push((tree.name().into(), "(unreadable)".into(), e.to_string()));
                    break;
                }
                Err(source) => {
                    return Err(StoreError::Db {
                        dir: store.dir().to_path_buf(),
                        source,
                    })
                }
            }
        }
    }
    db.flush().map_err(db_err)?;
    // The copy's own seal: the source may seal again while it is copied, and a salvaged
    // copy has the seal of what it could read.
    let copied_seal: u64 = db
        .open_tree(Tree::Meta.name())
        .and_then(|t| t.get(super::SEAL_KEY))
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or(0);
    drop(db);
    let mut manifest = store.manifest()?.ok_or_else(|| StoreError::BadManifest {
        path: store.dir().join(MANIFEST),
        reason: "missing".into(),
    })?;
    manifest.sealed = copied_seal;
    super::write_manifest(&dest.join(MANIFEST), &manifest).map_err(io)?;
    restrict::private_tree(dest);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MasterKey;

    /// Guards issue 16 (backup/restore): a backup taken while the store is open is a
    /// complete state directory that opens with the same key and holds every record.
    #[test]
    fn backup_while_open_restores_with_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let key = || MasterKey::from_bytes([7; 32]);
        let s = Store::open(&dir.path().join("state"), Some(key())).unwrap();
        for i in 0..500 {
            s.put_json(Tree::Jobs, &format!("j/{i}"), &serde_json::json!({"n": i}))
                .unwrap();
        }
        s.vault()
            .unwrap()
            .put(Tree::Credentials, "ups", b"{}")
            .unwrap();
        let r = backup(&s, &dir.path().join("bk"), false).unwrap();
        assert!(r.records >= 502, "{r:?}");
        // The original stays open and usable.
        s.put_json(Tree::Jobs, "j/after", &1).unwrap();
        drop(s);
        let restored = Store::open(&dir.path().join("bk"), Some(key())).unwrap();
        restored.verify(std::time::Duration::from_secs(30)).unwrap();
        let v: serde_json::Value = restored.get_json(Tree::Jobs, "j/499").unwrap().unwrap();
        assert_eq!(v["n"], 499);
        assert!(restored
            .vault()
            .unwrap()
            .get(Tree::Credentials, "ups")
            .unwrap()
            .is_some());
        assert!(restored
            .get_json::<i32>(Tree::Jobs, "j/after")
            .unwrap()
            .is_none());
        // A non-empty target is refused.
        drop(restored);
        let s = Store::open(&dir.path().join("state"), Some(key())).unwrap();
        assert!(backup(&s, &dir.path().join("bk"), false).is_err());
    }
}
