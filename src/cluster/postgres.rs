//! [`Postgres`]: leases and heartbeats as rows of the shared database (tables
//! `upsync_leases(name, owner, fence, expires_at)` and `upsync_daemons(id, started_at,
//! heartbeat_at)`, created by the store's migration 1).
//!
//! A claim is two statements, each atomic on its own: names never leased are inserted as
//! ours (`ON CONFLICT DO NOTHING`: a concurrent insert of the same name wins once); the
//! others are taken with `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED)` when expired or
//! already ours. Every new grant's fence is the next value of one sequence
//! (`upsync_lease_fences`, the store's migration 2), so it is above every fence granted
//! before, for any name, even after the name's old row was pruned ([`PRUNE_AFTER`]). The database's clock (`now()`)
//! decides expiry, so daemons on hosts with skewed clocks agree.

use std::time::Duration;

use chrono::Utc;
use deadpool_postgres::Pool;

use super::{ClusterError, Coordinator, Lease};

/// Leases in PostgreSQL, shared by every daemon on the database.
pub struct Postgres {
    pool: Pool,
    id: String,
    lease: Duration,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("id", &self.id)
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

const CLAIM_NEW: &str = "INSERT INTO upsync_leases(name, owner, fence, expires_at) \
     SELECT n, $2, nextval('upsync_lease_fences'), now() + make_interval(secs => $3::float8) \
     FROM unnest($1::text[]) AS n \
     ON CONFLICT (name) DO NOTHING \
     RETURNING name, fence, extract(epoch from expires_at - now())::float8";

const CLAIM_EXISTING: &str = "UPDATE upsync_leases l SET owner = $2, \
       fence = CASE WHEN l.owner = $2 AND l.expires_at > now() THEN l.fence \
                    ELSE nextval('upsync_lease_fences') END, \
       expires_at = now() + make_interval(secs => $3::float8) \
     FROM (SELECT name FROM upsync_leases WHERE name = ANY($1::text[]) \
           AND (expires_at <= now() OR owner = $2) FOR UPDATE SKIP LOCKED) c \
     WHERE l.name = c.name \
     RETURNING l.name, l.fence, extract(epoch from l.expires_at - now())::float8";

const RENEW: &str =
    "UPDATE upsync_leases SET expires_at = now() + make_interval(secs => $4::float8) \
     WHERE name = $1 AND owner = $2 AND fence = $3 AND expires_at > now() \
     RETURNING extract(epoch from expires_at - now())::float8";

const RELEASE: &str = "UPDATE upsync_leases SET expires_at = now() \
     WHERE name = $1 AND owner = $2 AND fence = $3 AND expires_at > now()";

const HEARTBEAT: &str = "INSERT INTO upsync_daemons(id, started_at, heartbeat_at) \
     VALUES ($1, now(), now()) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()";

const LIVE: &str = "SELECT count(*) FROM upsync_daemons \
     WHERE heartbeat_at > now() - make_interval(secs => $1::float8)";

/// Rows of leases expired for an hour and of daemons silent for an hour (a lease of a
/// finished job is never claimed again; a killed daemon never leaves). Safe because fences
/// come from one sequence: a name granted again after its row went gets a higher fence.
const PRUNE_LEASES: &str =
    "DELETE FROM upsync_leases WHERE expires_at < now() - make_interval(secs => $1::float8)";
const PRUNE_DAEMONS: &str =
    "DELETE FROM upsync_daemons WHERE heartbeat_at < now() - make_interval(secs => $1::float8)";

/// How long an expired lease row or a silent daemon's row is kept (for operators looking
/// at who held what): an hour.
pub const PRUNE_AFTER: Duration = Duration::from_secs(3600);

const HELD: &str = "SELECT name, fence, extract(epoch from expires_at - now())::float8 \
     FROM upsync_leases WHERE owner = $1 AND expires_at > now() ORDER BY name";

impl Postgres {
    /// A coordinator on `pool` with a new daemon id.
    pub fn new(pool: Pool, lease: Duration) -> Postgres {
        Postgres::with_id(pool, lease, super::new_daemon_id())
    }

    /// A coordinator with a given id (tests play several daemons in one process).
    pub fn with_id(pool: Pool, lease: Duration, id: String) -> Postgres {
        Postgres { pool, id, lease }
    }

    async fn client(&self, what: &'static str) -> Result<deadpool_postgres::Object, ClusterError> {
        self.pool.get().await.map_err(|e| ClusterError::db(what, e))
    }

    /// The lifetime of a grant or renewal ([`super::lease_ttl`]).
    fn secs(&self) -> f64 {
        super::lease_ttl(self.lease).as_secs_f64()
    }

    /// The window of a live daemon's heartbeat: the whole lease time.
    fn live_secs(&self) -> f64 {
        self.lease.as_secs_f64()
    }

    fn lease_from(&self, name: String, fence: i64, remaining: f64) -> Lease {
        Lease {
            name,
            owner: self.id.clone(),
            fence,
            expires_at: Utc::now()
                + chrono::Duration::milliseconds((remaining * 1000.0).round() as i64),
        }
    }
}

#[async_trait::async_trait]
impl Coordinator for Postgres {
    fn daemon_id(&self) -> &str {
        &self.id
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn lease_duration(&self) -> Duration {
        self.lease
    }

    async fn claim(&self, names: &[String]) -> Result<Vec<Lease>, ClusterError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.client("claim a lease").await?;
        let secs = self.secs();
        let mut out = Vec::new();
        let names = names.to_vec();
        let st = c
            .prepare_cached(CLAIM_NEW)
            .await
            .map_err(|e| ClusterError::db("claim a lease", e))?;
        for r in c
            .query(&st, &[&names, &self.id, &secs])
            .await
            .map_err(|e| ClusterError::db("claim a lease", e))?
        {
            out.push(self.lease_from(r.get(0), r.get(1), r.get(2)));
        }
        let rest: Vec<String> = names
            .into_iter()
            .filter(|n| !out.iter().any(|l| &l.name == n))
            .collect();
        if rest.is_empty() {
            return Ok(out);
        }
        let st = c
            .prepare_cached(CLAIM_EXISTING)
            .await
            .map_err(|e| ClusterError::db("claim a lease", e))?;
        for r in c
            .query(&st, &[&rest, &self.id, &secs])
            .await
            .map_err(|e| ClusterError::db("claim a lease", e))?
        {
            out.push(self.lease_from(r.get(0), r.get(1), r.get(2)));
        }
        Ok(out)
    }

    async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, ClusterError> {
        let c = self.client("renew a lease").await?;
        let st = c
            .prepare_cached(RENEW)
            .await
            .map_err(|e| ClusterError::db("renew a lease", e))?;
        let row = c
            .query_opt(&st, &[&lease.name, &self.id, &lease.fence, &self.secs()])
            .await
            .map_err(|e| ClusterError::db("renew a lease", e))?;
        Ok(row.map(|r| self.lease_from(lease.name.clone(), lease.fence, r.get(0))))
    }

    async fn release(&self, lease: &Lease) -> Result<(), ClusterError> {
        let c = self.client("release a lease").await?;
        let st = c
            .prepare_cached(RELEASE)
            .await
            .map_err(|e| ClusterError::db("release a lease", e))?;
        c.execute(&st, &[&lease.name, &self.id, &lease.fence])
            .await
            .map_err(|e| ClusterError::db("release a lease", e))?;
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), ClusterError> {
        let c = self.client("heartbeat").await?;
        c.execute(HEARTBEAT, &[&self.id])
            .await
            .map_err(|e| ClusterError::db("heartbeat", e))?;
        Ok(())
    }

    async fn live_daemons(&self) -> Result<u32, ClusterError> {
        let c = self.client("count live daemons").await?;
        let n: i64 = c
            .query_one(LIVE, &[&self.live_secs()])
            .await
            .map_err(|e| ClusterError::db("count live daemons", e))?
            .get(0);
        Ok((n.max(1)) as u32)
    }

    async fn held(&self) -> Result<Vec<Lease>, ClusterError> {
        let c = self.client("list leases").await?;
        let rows = c
            .query(HELD, &[&self.id])
            .await
            .map_err(|e| ClusterError::db("list leases", e))?;
        Ok(rows
            .into_iter()
            .map(|r| self.lease_from(r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    async fn prune(&self) -> Result<u64, ClusterError> {
        let c = self.client("prune old leases").await?;
        let age = PRUNE_AFTER.as_secs_f64();
        let mut n = 0;
        for sql in [PRUNE_LEASES, PRUNE_DAEMONS] {
            n += c
                .execute(sql, &[&age])
                .await
                .map_err(|e| ClusterError::db("prune old leases", e))?;
        }
        Ok(n)
    }

    async fn leave(&self) -> Result<(), ClusterError> {
        let c = self.client("leave").await?;
        c.execute("DELETE FROM upsync_daemons WHERE id = $1", &[&self.id])
            .await
            .map_err(|e| ClusterError::db("leave", e))?;
        c.execute(
            "UPDATE upsync_leases SET expires_at = now() WHERE owner = $1 AND expires_at > now()",
            &[&self.id],
        )
        .await
        .map_err(|e| ClusterError::db("leave", e))?;
        Ok(())
    }
}

/// A pool on `url` (`postgres://user@host:port/db`), `size` connections at most.
pub fn pool(url: &str, size: usize) -> Result<Pool, ClusterError> {
    let cfg: tokio_postgres::Config = url
        .parse()
        .map_err(|e| ClusterError::db("parse store.url", e))?;
    let mgr = deadpool_postgres::Manager::from_config(
        cfg,
        tokio_postgres::NoTls,
        deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(size.max(1))
        .build()
        .map_err(|e| ClusterError::db("build a connection pool", e))
}
