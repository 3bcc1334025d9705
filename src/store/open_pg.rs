//! Opening the store on PostgreSQL: connect, migrate the schema, then check the manifest
//! kept in the database (the `meta` tree, key [`PG_MANIFEST_KEY`]: schema version,
//! master-key check value, store id) before anything else is written, exactly as the
//! sled manifest file is checked before sled opens.

use super::*;

/// Key of the manifest in the `meta` tree (PostgreSQL only; sled keeps it in a file).
pub(crate) const PG_MANIFEST_KEY: &str = "manifest";

/// How the store is opened on PostgreSQL (`store:` in the config).
#[derive(Debug, Clone)]
pub struct PgTarget {
    /// `postgres://…` (may hold a password: never log it, see [`PgTarget::redacted`]).
    pub url: String,
    pub pool_size: usize,
}

impl PgTarget {
    pub fn new(url: impl Into<String>) -> PgTarget {
        PgTarget {
            url: url.into(),
            pool_size: 8,
        }
    }

    /// `postgres://host:port/database`, without user or password.
    pub fn redacted(&self) -> String {
        format!(
            "postgres://{}",
            backend::postgres::bridge::redact(&self.url)
        )
    }
}

impl Store {
    /// Open (or create) the store in the PostgreSQL database `target.url`.
    ///
    /// The schema is migrated first (idempotent, under an advisory lock); then the
    /// manifest in the database is checked like the sled one: schema version, master key
    /// (before anything is written), and a database that holds upsync records but no
    /// manifest is [`StoreError::DatabaseLost`], never silently adopted.
    pub fn open_postgres(target: &PgTarget, key: Option<MasterKey>) -> Result<Store, StoreError> {
        let place = PathBuf::from(target.redacted());
        let db = |source: backend::postgres::PgError| StoreError::Db {
            dir: place.clone(),
            source: DbError::Postgres(source),
        };
        let pg =
            match backend::postgres::PgBackend::open(&target.url, target.pool_size).map_err(db)? {
                Ok(pg) => pg,
                Err(found) => {
                    return Err(StoreError::SchemaMismatch {
                        dir: place,
                        found: found as u32,
                        expected: backend::postgres::schema::latest() as u32,
                        hint: "the database schema was written by a newer upsync; run that version",
                    })
                }
            };
        let handle =
            backend::postgres::PgBackend::handle(&target.url, target.pool_size.clamp(2, 4))
                .map_err(db)?;
        let backend: std::sync::Arc<dyn Backend> = std::sync::Arc::new(pg);
        let meta = TreeHandle::new(
            Tree::Meta,
            backend.clone(),
            std::sync::Arc::new(place.clone()),
        );
        let dberr = |source: DbError| StoreError::Db {
            dir: place.clone(),
            source,
        };
        let existing: Option<Manifest> = match meta.get(PG_MANIFEST_KEY).map_err(dberr)? {
            None => None,
            Some(raw) => {
                Some(
                    serde_json::from_slice(&raw).map_err(|e| StoreError::BadManifest {
                        path: place.join("meta").join(PG_MANIFEST_KEY),
                        reason: e.to_string(),
                    })?,
                )
            }
        };
        let mut m = match existing {
            Some(m) => {
                if m.schema_version != SCHEMA_VERSION {
                    return Err(StoreError::SchemaMismatch {
                        dir: place,
                        found: m.schema_version,
                        expected: SCHEMA_VERSION,
                        hint:
                            "the records were written by another upsync version; run that version",
                    });
                }
                m
            }
            None => {
                // No manifest: a new database, unless upsync records are already there.
                let records: usize = Tree::ALL
                    .iter()
                    .map(|t| backend.len(*t))
                    .sum::<Result<usize, _>>()
                    .map_err(dberr)?;
                if records > 0 {
                    return Err(StoreError::DatabaseLost {
                        dir: place,
                        reason: format!(
                            "the database holds {records} upsync records but no manifest (meta/{PG_MANIFEST_KEY})"
                        ),
                    });
                }
                Manifest {
                    schema_version: SCHEMA_VERSION,
                    key_check: None,
                    store_id: None,
                    sealed: 0,
                }
            }
        };
        let mut write = m.store_id.is_none();
        if let Some(k) = &key {
            match m.key_check.as_deref() {
                Some(kcv) if !vault::verify_key_check(k, kcv) => {
                    return Err(StoreError::WrongMasterKey { dir: place })
                }
                Some(_) => {}
                None => {
                    m.key_check = Some(vault::make_key_check(k));
                    write = true;
                }
            }
        }
        // The store id: in the manifest and under its own key (as on sled).
        let in_db: Option<String> = meta
            .get(STORE_ID_KEY)
            .map_err(dberr)?
            .and_then(|v| serde_json::from_slice(&v).ok());
        match (&m.store_id, in_db) {
            (Some(want), Some(got)) if *want == got => {}
            (Some(want), got) => {
                return Err(StoreError::DatabaseLost {
                    dir: place,
                    reason: format!(
                        "the records name store id {} but the manifest names {want}",
                        got.as_deref().unwrap_or("(none)")
                    ),
                })
            }
            (None, got) => {
                let id = got.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                meta.insert(STORE_ID_KEY, serde_json::to_vec(&id).expect("a string"))
                    .map_err(dberr)?;
                m.store_id = Some(id);
            }
        }
        if write {
            meta.insert(
                PG_MANIFEST_KEY,
                serde_json::to_vec(&m).expect("the manifest serialises"),
            )
            .map_err(dberr)?;
        }
        let place_arc = std::sync::Arc::new(place.clone());
        let trees: Vec<TreeHandle> = Tree::ALL
            .iter()
            .map(|t| TreeHandle::new(*t, backend.clone(), place_arc.clone()))
            .collect();
        let vault = key.map(|k| {
            Vault::new(
                k,
                trees[Tree::Credentials.index()].clone(),
                trees[Tree::Tokens.index()].clone(),
            )
        });
        Ok(Store {
            dir: place,
            backend,
            trees,
            pg: Some(handle),
            vault,
            flushes: Default::default(),
            health: Default::default(),
            sealing: std::sync::Mutex::new(()),
            seal_on_drop: false,
            ledger_checked: Default::default(),
        })
    }

    /// The manifest of this store: the file beside a sled database, the `meta` record on
    /// PostgreSQL (for backups and migrations).
    pub(crate) fn manifest(&self) -> Result<Option<Manifest>, StoreError> {
        match self.backend_kind() {
            BackendKind::Sled => read_manifest(&self.dir.join(MANIFEST)),
            BackendKind::Postgres => self
                .tree(Tree::Meta)
                .get(PG_MANIFEST_KEY)
                .map_err(|source| self.db_error(source))?
                .map(|raw| {
                    serde_json::from_slice(&raw).map_err(|e| StoreError::BadManifest {
                        path: self.dir.join("meta").join(PG_MANIFEST_KEY),
                        reason: e.to_string(),
                    })
                })
                .transpose(),
        }
    }

    /// Whether the database answers (`SELECT 1` within 5 s on PostgreSQL, which also
    /// clears a passing failure from [`StoreHealth`]; always on sled).
    pub fn ping(&self) -> Result<(), StoreError> {
        self.backend
            .ping()
            // Every write commits on its own there: an answer ends a passing failure.
            .map(|_| self.health.io_recovered())
            .map_err(|source| self.db_error(source))
    }
}

/// Where a store lives: a sled state directory or a PostgreSQL database (`upsync store
/// migrate` names both ends this way: `sled:DIR`, `postgres:URL` or a bare
/// `postgres://…` URL).
#[derive(Debug, Clone)]
pub enum Location {
    Sled(PathBuf),
    Postgres(PgTarget),
}

impl Location {
    pub fn parse(spec: &str) -> Result<Location, String> {
        if let Some(dir) = spec.strip_prefix("sled:") {
            return Ok(Location::Sled(PathBuf::from(dir)));
        }
        // `postgres:URL`, or the URL itself (which starts with `postgres:` too).
        let url = spec
            .strip_prefix("postgres:")
            .filter(|rest| !rest.starts_with("//"))
            .unwrap_or(spec);
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(PgTarget::new(url)));
        }
        Err(format!(
            "`{}` names no store: write sled:DIR or postgres://USER@HOST:PORT/DATABASE",
            if spec.contains('@') { "(a URL)" } else { spec }
        ))
    }

    /// Open (or create) the store there.
    pub fn open(&self, key: Option<MasterKey>) -> Result<Store, StoreError> {
        match self {
            Location::Sled(dir) => Store::open(dir, key),
            Location::Postgres(t) => Store::open_postgres(t, key),
        }
    }

    /// For messages: the directory, or the URL without user and password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sled(dir) => format!("sled:{}", dir.display()),
            Location::Postgres(t) => t.redacted(),
        }
    }
}

#[cfg(test)]
mod location_tests {
    use super::*;

    #[test]
    fn locations_parse_with_and_without_their_prefix() {
        let url = "postgres://u:pw@db:5433/upsync";
        for spec in [url.to_string(), format!("postgres:{url}")] {
            match Location::parse(&spec).unwrap() {
                Location::Postgres(t) => {
                    assert_eq!(t.url, url);
                    assert_eq!(t.redacted(), "postgres://db:5433/upsync");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            Location::parse("sled:/var/lib/upsync"),
            Ok(Location::Sled(_))
        ));
        let e = Location::parse("mysql://u:pw@h/db").unwrap_err();
        assert!(!e.contains("pw"), "{e}");
    }
}
