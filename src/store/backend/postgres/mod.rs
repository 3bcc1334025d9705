//! The PostgreSQL backend (issue 22): every tree in one table `upsync_kv(tree, key,
//! value)` (see [`schema`]), keys ordered by their bytes (`bytea` compares bytewise), each
//! write committed when it returns (so `flush` is a no-op and a write that guards a side
//! effect is durable before it). Batches and fenced batches are one transaction each;
//! compare-and-swap is one conditional statement.
//!
//! The store's API is synchronous: [`bridge`] runs the driver (`tokio-postgres` with a
//! `deadpool-postgres` pool) on a runtime of its own. The cluster gets a separate pool for
//! async SQL through [`PgHandle`].
//!
//! What the database sees: tree names, keys (job ids, record ids, tracking numbers) and
//! values as upsync writes them: JSON for plain trees, vault ciphertexts (AES-256-GCM with
//! the master key, which never leaves upsync) for `credentials` and `tokens`.
//!
//! Must never: log or show the URL's password ([`bridge::redact`]).

pub mod bridge;
pub mod schema;

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use super::{Backend, BackendKind, Batch, Bytes, CasError, DbError, Fence, Iter, Kv};
use crate::store::Tree;

/// A failed PostgreSQL operation: where (host, port, database; never the password), what
/// failed, and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the PostgreSQL store at {target} failed: {reason}; {fix}")]
pub struct PgError {
    /// `host:port/database` of the server (redacted URL).
    pub target: String,
    pub reason: String,
    pub fix: &'static str,
}

/// Async access to the store's database for the cluster module (leases, heartbeats):
/// a pool of its own, so its connections live on the caller's runtime and never wait
/// behind the store's synchronous bridge.
#[derive(Clone)]
pub struct PgHandle {
    pub pool: deadpool_postgres::Pool,
    /// `host:port/database` (no password), for messages.
    pub target: String,
}

impl std::fmt::Debug for PgHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgHandle")
            .field("target", &self.target)
            .finish()
    }
}

/// The server's own words for a failed statement.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

const FIX_REACH: &str = "check that the PostgreSQL server is running and reachable from this host, that store.url (or UPSYNC_STORE_URL) names the right host, port, database and role, and that pg_hba.conf lets this role in; `upsync check` tests the connection";

/// A connection could not be had from the pool.
pub fn pool_error(target: &str, e: deadpool_postgres::PoolError) -> PgError {
    PgError {
        target: target.to_string(),
        reason: format!("no connection: {e}"),
        fix: FIX_REACH,
    }
}

fn query_error(target: &str, what: &str, e: &tokio_postgres::Error) -> PgError {
    PgError {
        target: target.to_string(),
        reason: format!("{what}: {}", describe(e)),
        fix: FIX_REACH,
    }
}

/// Rows per page of a scan.
const PAGE: i64 = 512;

/// PostgreSQL behind the [`Backend`] trait.
pub struct PgBackend {
    bridge: Arc<bridge::Bridge>,
}

impl PgBackend {
    /// Connect (a `SELECT 1`), then apply the migrations. `Ok(Err(found))`: the database
    /// has a schema newer than this build.
    pub fn open(url: &str, pool_size: usize) -> Result<Result<PgBackend, i32>, PgError> {
        let bridge = Arc::new(bridge::Bridge::new(url, pool_size)?);
        let target = bridge.target().to_string();
        let t = target.clone();
        bridge.run(move |pool| async move {
            let c = pool.get().await.map_err(|e| pool_error(&t, e))?;
            c.query_one("SELECT 1", &[])
                .await
                .map_err(|e| query_error(&t, "SELECT 1", &e))?;
            Ok(())
        })?;
        let t = target.clone();
        match bridge.run(move |pool| schema::migrate(pool, t))? {
            Ok(_) => Ok(Ok(PgBackend { bridge })),
            Err(found) => Ok(Err(found)),
        }
    }

    /// `host:port/database`.
    pub fn target(&self) -> &str {
        self.bridge.target()
    }

    /// Run one statement-level closure on a pooled connection.
    fn with<T, F>(
        &self,
        what: &'static str,
        work: impl FnOnce(deadpool_postgres::Object) -> F + Send + 'static,
    ) -> Result<T, DbError>
    where
        T: Send + 'static,
        F: std::future::Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let target = self.target().to_string();
        self.bridge
            .run(move |pool| async move {
                let c = pool.get().await.map_err(|e| pool_error(&target, e))?;
                work(c).await.map_err(|e| query_error(&target, what, &e))
            })
            .map_err(DbError::Postgres)
    }
}

fn lower_sql(b: &Bound<Bytes>) -> &'static str {
    match b {
        Bound::Included(_) => " AND key >= $2",
        Bound::Excluded(_) => " AND key > $2",
        Bound::Unbounded => " AND $2::bytea IS NULL",
    }
}

fn upper_sql(b: &Bound<Bytes>) -> &'static str {
    match b {
        Bound::Included(_) => " AND key <= $3",
        Bound::Excluded(_) => " AND key < $3",
        Bound::Unbounded => " AND $3::bytea IS NULL",
    }
}

fn bound_value(b: &Bound<Bytes>) -> Option<Bytes> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Some(k.clone()),
        Bound::Unbounded => None,
    }
}

/// A scan, fetched page by page (keyset pagination: the next page starts after the last
/// key seen), so a large tree is never read into memory at once.
struct PgScan {
    backend: PgBackend,
    tree: Tree,
    from: Bound<Bytes>,
    to: Bound<Bytes>,
    buf: VecDeque<Kv>,
    done: bool,
}

impl Iterator for PgScan {
    type Item = Result<Kv, DbError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() && !self.done {
            let sql = format!(
                "SELECT key, value FROM upsync_kv WHERE tree = $1{}{} ORDER BY key LIMIT {PAGE}",
                lower_sql(&self.from),
                upper_sql(&self.to)
            );
            let (tree, lo, hi) = (
                self.tree.name(),
                bound_value(&self.from),
                bound_value(&self.to),
            );
            let rows = self.backend.with("scan", move |c| async move {
                let st = c.prepare_cached(&sql).await?;
                let rows = c.query(&st, &[&tree, &lo, &hi]).await?;
                Ok(rows
                    .iter()
                    .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                    .collect::<Vec<Kv>>())
            });
            match rows {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(rows) => {
                    if (rows.len() as i64) < PAGE {
                        self.done = true;
                    }
                    if let Some((k, _)) = rows.last() {
                        self.from = Bound::Excluded(k.clone());
                    }
                    self.buf.extend(rows);
                }
            }
        }
        self.buf.pop_front().map(Ok)
    }
}

impl Backend for PgBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Postgres
    }

    fn get(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError> {
        let (tree, key) = (tree.name(), key.to_vec());
        self.with("get", move |c| async move {
            let st = c
                .prepare_cached("SELECT value FROM upsync_kv WHERE tree = $1 AND key = $2")
                .await?;
            Ok(c.query_opt(&st, &[&tree, &key]).await?.map(|r| r.get(0)))
        })
    }

    fn insert(&self, tree: Tree, key: &[u8], value: Bytes) -> Result<(), DbError> {
        let (tree, key) = (tree.name(), key.to_vec());
        self.with("insert", move |c| async move {
            let st = c
                .prepare_cached(
                    "INSERT INTO upsync_kv (tree, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value",
                )
                .await?;
            c.execute(&st, &[&tree, &key, &value]).await?;
            Ok(())
        })
    }

    fn remove(&self, tree: Tree, key: &[u8]) -> Result<Option<Bytes>, DbError> {
        let (tree, key) = (tree.name(), key.to_vec());
        self.with("remove", move |c| async move {
            let st = c
                .prepare_cached(
                    "DELETE FROM upsync_kv WHERE tree = $1 AND key = $2 RETURNING value",
                )
                .await?;
            Ok(c.query_opt(&st, &[&tree, &key]).await?.map(|r| r.get(0)))
        })
    }

    fn range(&self, tree: Tree, from: Bound<Bytes>, to: Bound<Bytes>) -> Iter {
        Iter::new(PgScan {
            backend: PgBackend {
                bridge: self.bridge.clone(),
            },
            tree,
            from,
            to,
            buf: VecDeque::new(),
            done: false,
        })
    }

    fn apply_batch(&self, tree: Tree, batch: Batch, fence: Option<&Fence>) -> Result<(), DbError> {
        let tree = tree.name();
        let mut removes: Vec<Bytes> = Vec::new();
        let (mut keys, mut values): (Vec<Bytes>, Vec<Bytes>) = (Vec::new(), Vec::new());
        for (k, v) in batch.collapsed() {
            match v {
                Some(v) => {
                    keys.push(k);
                    values.push(v);
                }
                None => removes.push(k),
            }
        }
        let fence = fence.cloned();
        let target = self.target().to_string();
        self.bridge
            .run(move |pool| async move {
                let q = |e: tokio_postgres::Error| query_error(&target, "batch", &e);
                let mut c = pool.get().await.map_err(|e| pool_error(&target, e))?;
                let tx = c.transaction().await.map_err(q)?;
                if let Some(f) = &fence {
                    let st = tx
                        .prepare_cached(
                            "SELECT 1 FROM upsync_leases WHERE name = $1 AND owner = $2
                             AND fence = $3 AND expires_at > now() FOR SHARE",
                        )
                        .await
                        .map_err(q)?;
                    let held = tx
                        .query_opt(&st, &[&f.lease, &f.owner, &f.token])
                        .await
                        .map_err(q)?;
                    if held.is_none() {
                        let _ = tx.rollback().await;
                        return Ok(Err(f.clone()));
                    }
                }
                if !removes.is_empty() {
                    let st = tx
                        .prepare_cached("DELETE FROM upsync_kv WHERE tree = $1 AND key = ANY($2)")
                        .await
                        .map_err(q)?;
                    tx.execute(&st, &[&tree, &removes]).await.map_err(q)?;
                }
                if !keys.is_empty() {
                    let st = tx
                        .prepare_cached(
                            "INSERT INTO upsync_kv (tree, key, value)
                             SELECT $1, k, v FROM unnest($2::bytea[], $3::bytea[]) AS t(k, v)
                             ON CONFLICT (tree, key) DO UPDATE SET value = EXCLUDED.value",
                        )
                        .await
                        .map_err(q)?;
                    tx.execute(&st, &[&tree, &keys, &values]).await.map_err(q)?;
                }
                tx.commit().await.map_err(q)?;
                Ok(Ok(()))
            })
            .map_err(DbError::Postgres)?
            .map_err(DbError::Fenced)
    }

    fn compare_and_swap(
        &self,
        tree: Tree,
        key: &[u8],
        old: Option<&[u8]>,
        new: Option<Bytes>,
    ) -> Result<Result<(), CasError>, DbError> {
        let (tree, key, old) = (tree.name(), key.to_vec(), old.map(<[u8]>::to_vec));
        self.with("compare_and_swap", move |c| async move {
            // One conditional statement each: atomic without a transaction.
            let changed = match (&old, &new) {
                (None, Some(n)) => {
                    c.execute(
                        "INSERT INTO upsync_kv (tree, key, value) VALUES ($1, $2, $3)
                         ON CONFLICT (tree, key) DO NOTHING",
                        &[&tree, &key, n],
                    )
                    .await?
                }
                (Some(o), Some(n)) => {
                    c.execute(
                        "UPDATE upsync_kv SET value = $4 WHERE tree = $1 AND key = $2 AND value = $3",
                        &[&tree, &key, o, n],
                    )
                    .await?
                }
                (Some(o), None) => {
                    c.execute(
                        "DELETE FROM upsync_kv WHERE tree = $1 AND key = $2 AND value = $3",
                        &[&tree, &key, o],
                    )
                    .await?
                }
                (None, None) => 0,
            };
            if changed == 1 {
                return Ok(Ok(()));
            }
            let current: Option<Bytes> = c
                .query_opt(
                    "SELECT value FROM upsync_kv WHERE tree = $1 AND key = $2",
                    &[&tree, &key],
                )
                .await?
                .map(|r| r.get(0));
            if old.is_none() && new.is_none() && current.is_none() {
                return Ok(Ok(()));
            }
            Ok(Err(CasError {
                current,
                proposed: new,
            }))
        })
    }

    fn len(&self, tree: Tree) -> Result<usize, DbError> {
        let tree = tree.name();
        self.with("count", move |c| async move {
            let n: i64 = c
                .query_one("SELECT count(*) FROM upsync_kv WHERE tree = $1", &[&tree])
                .await?
                .get(0);
            Ok(n as usize)
        })
    }

    fn flush(&self) -> Result<(), DbError> {
        Ok(())
    }

    fn needs_flush(&self) -> bool {
        false
    }

    fn ping(&self) -> Result<(), DbError> {
        PgBackend::ping(self).map_err(DbError::Postgres)
    }
}

/// `SELECT 1` within a short timeout, for `upsync check` and `/readyz`; the error names
/// host, port and database and the fix.
pub fn probe(url: &str) -> Result<(), PgError> {
    let b = bridge::Bridge::new(url, 1)?;
    let target = b.target().to_string();
    b.run(move |pool| async move {
        let timeout = bridge::CONNECT_TIMEOUT;
        let t = target.clone();
        let work = async move {
            let c = pool.get().await.map_err(|e| pool_error(&t, e))?;
            c.query_one("SELECT 1", &[])
                .await
                .map_err(|e| query_error(&t, "SELECT 1", &e))?;
            Ok(())
        };
        tokio::time::timeout(timeout, work)
            .await
            .unwrap_or_else(|_| {
                Err(PgError {
                    target,
                    reason: format!("no answer to SELECT 1 within {}s", timeout.as_secs()),
                    fix: FIX_REACH,
                })
            })
    })
}

impl PgBackend {
    /// [`probe`] over this backend's own pool (for `/readyz`).
    pub fn ping(&self) -> Result<(), PgError> {
        let target = self.target().to_string();
        self.bridge.run(move |pool| async move {
            let t = target.clone();
            let work = async move {
                let c = pool.get().await.map_err(|e| pool_error(&t, e))?;
                c.query_one("SELECT 1", &[])
                    .await
                    .map_err(|e| query_error(&t, "SELECT 1", &e))?;
                Ok(())
            };
            tokio::time::timeout(bridge::CONNECT_TIMEOUT, work)
                .await
                .unwrap_or_else(|_| {
                    Err(PgError {
                        target,
                        reason: "no answer to SELECT 1 within 5s".into(),
                        fix: FIX_REACH,
                    })
                })
        })
    }

    /// A pool of its own for async callers (the cluster), see [`PgHandle`].
    pub fn handle(url: &str, pool_size: usize) -> Result<PgHandle, PgError> {
        let (pool, target) = bridge::pool(url, pool_size)?;
        Ok(PgHandle { pool, target })
    }
}

#[cfg(test)]
mod tests;
