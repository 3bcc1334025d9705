//! Opening the store: the manifest (schema version, master-key check, store id) is read
//! and verified before sled is opened; sealing; sled's file lock and partial snapshots.

use super::*;

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

    pub(super) fn open_inner(
        dir: &Path,
        key: Option<MasterKey>,
        salvage: bool,
    ) -> Result<Store, StoreError> {
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
        let backend = backend::sled::SledBackend::new(db).map_err(|source| StoreError::Db {
            dir: dir.to_path_buf(),
            source: source.into(),
        })?;
        let backend: std::sync::Arc<dyn Backend> = std::sync::Arc::new(backend);
        let place = std::sync::Arc::new(dir.to_path_buf());
        let trees: Vec<TreeHandle> = Tree::ALL
            .iter()
            .map(|t| TreeHandle::new(*t, backend.clone(), place.clone()))
            .collect();
        let vault = key.map(|k| {
            Vault::new(
                k,
                trees[Tree::Credentials.index()].clone(),
                trees[Tree::Tokens.index()].clone(),
            )
        });
        let store = Store {
            dir: dir.to_path_buf(),
            backend,
            trees,
            pg: None,
            vault,
            flushes: Default::default(),
            health: Default::default(),
            sealing: std::sync::Mutex::new(()),
            seal_on_drop: !salvage,
            ledger_checked: Default::default(),
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
    pub(super) fn check_store_id(&self, manifest_path: &Path) -> Result<(), StoreError> {
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
        if self.backend_kind() != BackendKind::Sled {
            // Each write is committed by the database: no log to truncate, nothing to seal.
            return Ok(0);
        }
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
}

/// Open sled, waiting briefly for its file lock: sled releases the lock from background
/// threads a moment after the previous `Db` in this process is dropped. A lock still held
/// after that belongs to another process (the daemon) and is reported as such.
pub(super) fn open_db(db_dir: &Path, dir: &Path) -> Result<sled::Db, StoreError> {
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
                    source: source.into(),
                })
            }
        }
    }
}

/// sled writes a snapshot to `snap.<lsn>.generating` and renames it when complete. A kill
/// before the rename leaves a partial file that sled would then take for the newest
/// snapshot and refuse to open (sled issue #1527). Such a file is never the real snapshot
/// (a complete one was renamed), so it is removed before opening.
pub(super) fn remove_partial_snapshots(db_dir: &Path) {
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
