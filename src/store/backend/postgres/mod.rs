//! The PostgreSQL backend (issue 22): every tree in one table `upsync_kv(tree, key,
//! value)`, keys ordered by their bytes, each write committed when it returns.
//!
//! Placeholder of the API skeleton: [`PgHandle`] and [`PgError`]; the backend follows.

/// A failed PostgreSQL operation: where (host, port, database; never the password), what
/// failed, and what to do.
#[derive(Debug, thiserror::Error)]
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
