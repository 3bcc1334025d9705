//! Several daemons on one database (issue 22): who works what, and who may still write.
//!
//! A [`Coordinator`] hands out **leases**: a named right (`job:<id>`, `connector:<name>`,
//! `token:<client>`) held by one daemon until it expires, with a **fence**, a number that
//! grows with every new grant. A daemon writes the state a lease guards only with that
//! fence ([`crate::store::Fence`], checked by the store in the same transaction as the
//! write), so a daemon that stalled past its lease, and whose work another daemon took
//! over, is refused at its next write instead of working the job twice.
//!
//! Two implementations:
//! - [`Local`] (sled, one daemon per state directory, enforced by sled's file lock): every
//!   lease granted at once with fence 0; nothing changes from a single daemon's behaviour.
//! - [`Postgres`]: leases and heartbeats are rows of `upsync_leases` / `upsync_daemons`
//!   (the store's migration 1); leases are claimed with `SELECT … FOR UPDATE SKIP LOCKED`,
//!   so two daemons never both get one, and a dead daemon's leases pass to another when
//!   they expire. Nothing home-made: the database's row locks and clock decide.
//!
//! Also here: the daemon's identity (`host:pid:random`), its heartbeat, and the number of
//! live daemons, which divides the UPS quota ([`quota_share`]).
//!
//! Must never: grant one lease to two daemons at once; hand a lower or equal fence to a new
//! holder; block a runtime thread (every call is async SQL on the pool).
//! See docs/cluster.md.

use std::time::Duration;

use chrono::{DateTime, Utc};

mod lead;
mod local;
mod member;
mod postgres;
mod scope;
#[cfg(test)]
mod tests;

pub use lead::lead;
pub use local::Local;
pub use member::Member;
pub use postgres::{pool, Postgres};
pub use scope::{current_fence, with_fence};

/// The lease time when the configuration names none (`store.lease_seconds`).
pub const DEFAULT_LEASE_SECONDS: u64 = crate::config::defaults::STORE_LEASE_SECONDS;

/// How long one grant or renewal keeps a lease: three fifths of the lease time
/// (`store.lease_seconds`, L).
///
/// `lease_seconds` is the **takeover bound**, not the row's lifetime: a daemon that dies
/// keeps its leases at most `3L/5` after its last renewal, the others try to claim at
/// least every `L/5` ([`claim_interval`]; connectors and jobs at every cycle of the
/// schedule), so another daemon holds them within `4L/5` of the death, leaving `L/5` for
/// the claim itself and a loaded machine. A holder renews every `L/5`, so two renewals in a
/// row may fail (a slow database, a pause) before the lease runs out.
pub fn lease_ttl(lease: Duration) -> Duration {
    lease * 3 / 5
}

/// How often a held lease is renewed and a standby daemon tries to claim one (tracking,
/// events): a fifth of the lease time, at most a second for standbys (see [`lease_ttl`]).
pub fn claim_interval(lease: Duration) -> Duration {
    lease / 5
}

/// A lease held by this daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// What it guards: `job:<id>`, `connector:<name>`, `token:<client>`.
    pub name: String,
    /// The daemon holding it.
    pub owner: String,
    /// Grows with every new grant of this name; writes carry it.
    pub fence: i64,
    /// When it runs out unless renewed (this daemon's estimate; the database's clock decides).
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// The lease name of a job.
    pub fn job(id: &str) -> String {
        format!("job:{id}")
    }

    /// The lease name of a connector's polling.
    pub fn connector(name: &str) -> String {
        format!("connector:{name}")
    }

    /// The lease name of an OAuth client's token fetch.
    pub fn token(client: &str) -> String {
        format!("token:{client}")
    }
}

/// Why the coordinator could not answer (the database is unreachable or refused the SQL).
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("lease database unreachable ({what}): {detail}; check `store.url` and that the server runs (`upsync check`)")]
    Database { what: &'static str, detail: String },
}

impl ClusterError {
    pub(crate) fn db(what: &'static str, e: impl std::fmt::Display) -> ClusterError {
        ClusterError::Database {
            what,
            detail: e.to_string(),
        }
    }
}

/// The plug point: who holds what, and how many daemons are alive.
#[async_trait::async_trait]
pub trait Coordinator: Send + Sync {
    /// This daemon's id (`host:pid:random`).
    fn daemon_id(&self) -> &str;

    /// Whether other daemons may share the work (false for [`Local`]: callers skip the
    /// lease dance and keep the single daemon's behaviour exactly).
    fn is_shared(&self) -> bool;

    /// The lease time (`store.lease_seconds`): the bound on a takeover after a daemon
    /// dies. A grant lasts [`lease_ttl`] of it, renewed every [`claim_interval`].
    fn lease_duration(&self) -> Duration;

    /// How often a held lease is renewed and a standby tries to claim ([`claim_interval`]).
    fn renew_interval(&self) -> Duration {
        claim_interval(self.lease_duration())
    }

    /// Claim those of `names` that are free, expired or already ours (`SKIP LOCKED`: a name
    /// another daemon is claiming right now is skipped, not waited for). A new grant gets a
    /// fence above every earlier one; renewing our own keeps it.
    async fn claim(&self, names: &[String]) -> Result<Vec<Lease>, ClusterError>;

    /// Claim one name; `None` while another daemon holds it.
    async fn acquire(&self, name: &str) -> Result<Option<Lease>, ClusterError> {
        Ok(self.claim(&[name.to_string()]).await?.pop())
    }

    /// Extend a lease we hold; `Ok(None)` when it is no longer ours (expired and taken).
    async fn renew(&self, lease: &Lease) -> Result<Option<Lease>, ClusterError>;

    /// Give a lease up now (it expires at once; its fence stays, so the next grant's is higher).
    async fn release(&self, lease: &Lease) -> Result<(), ClusterError>;

    /// Record that this daemon is alive (its row in `upsync_daemons`).
    async fn heartbeat(&self) -> Result<(), ClusterError>;

    /// Daemons whose heartbeat is within the lease time (at least 1: this one).
    async fn live_daemons(&self) -> Result<u32, ClusterError>;

    /// The leases this daemon holds now (operators: `/readyz`, metrics).
    async fn held(&self) -> Result<Vec<Lease>, ClusterError>;

    /// Delete lease rows expired long ago and rows of daemons long silent (see
    /// `postgres::PRUNE_AFTER`); returns how many. Nothing to do alone.
    async fn prune(&self) -> Result<u64, ClusterError> {
        Ok(0)
    }

    /// Leave the cluster (graceful stop): heartbeat row removed, leases released.
    async fn leave(&self) -> Result<(), ClusterError>;
}

/// The lease time of a configuration (`store.lease_seconds`).
pub fn lease_seconds(cfg: &crate::config::Config) -> u64 {
    cfg.store.lease_seconds.max(1)
}

/// The coordinator of `store`: [`Postgres`] on its database, [`Local`] on sled.
pub fn for_store(
    store: &crate::store::Store,
    lease_seconds: u64,
) -> std::sync::Arc<dyn Coordinator> {
    match store.postgres() {
        Some(pg) => std::sync::Arc::new(Postgres::new(
            pg.pool,
            Duration::from_secs(lease_seconds.max(1)),
        )),
        None => std::sync::Arc::new(Local::new()),
    }
}

/// This process's daemon id: `host:pid:random`, unique across restarts and hosts (one per
/// process: every coordinator the daemon builds speaks for the same daemon).
pub fn new_daemon_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(make_daemon_id).clone()
}

fn make_daemon_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "host".to_string());
    let r: u32 = rand::random();
    format!("{host}:{}:{r:08x}", std::process::id())
}

/// The share of a quota one of `daemons` live daemons may use: `per_second / daemons`,
/// rounded down, at least 1 (N daemons together stay under the quota).
pub fn quota_share(per_second: u32, daemons: u32) -> u32 {
    (per_second / daemons.max(1)).max(1)
}
