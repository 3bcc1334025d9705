//! `store:`: where upsync keeps its state (issue 22). `sled` (the default) is the embedded
//! database under `state_dir`; `postgres` keeps it in a PostgreSQL database, which several
//! daemons can share (docs/postgres.md).

use serde::{Deserialize, Serialize};

use super::defaults as d;

/// Which store backend upsync runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackendName {
    /// The embedded sled database under `state_dir` (one daemon per directory).
    #[default]
    Sled,
    /// A PostgreSQL database at `store.url` (or `UPSYNC_STORE_URL`).
    Postgres,
}

/// The `store` section.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `sled` (default) or `postgres`.
    #[serde(default)]
    pub backend: StoreBackendName,
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (backend `postgres`).
    /// `UPSYNC_STORE_URL` overrides it; keep a password there rather than in this file.
    /// Never logged; shown as `postgres://HOST:PORT/DATABASE`.
    #[serde(default)]
    pub url: Option<String>,
    /// Connections the daemon keeps to the database (backend `postgres`).
    #[serde(default = "pool_size")]
    pub pool_size: u32,
    /// How long a daemon's lease on a job or a connector cycle lasts without renewal: after
    /// a daemon dies, others take its work over within this time (backend `postgres`).
    #[serde(default = "lease_seconds")]
    pub lease_seconds: u64,
}

fn pool_size() -> u32 {
    d::STORE_POOL_SIZE
}

fn lease_seconds() -> u64 {
    d::STORE_LEASE_SECONDS
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackendName::default(),
            url: None,
            pool_size: pool_size(),
            lease_seconds: lease_seconds(),
        }
    }
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("backend", &self.backend)
            .field(
                "url",
                &self
                    .url
                    .as_deref()
                    .map(crate::store::backend::postgres::bridge::redact),
            )
            .field("pool_size", &self.pool_size)
            .field("lease_seconds", &self.lease_seconds)
            .finish()
    }
}

impl StoreConfig {
    /// The database URL: `UPSYNC_STORE_URL` wins over `store.url`.
    pub fn effective_url(&self) -> Option<String> {
        std::env::var("UPSYNC_STORE_URL")
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| self.url.clone())
    }
}
