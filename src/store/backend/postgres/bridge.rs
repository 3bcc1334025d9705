//! The sync bridge: the store's API is synchronous and called from async code (also on
//! current-thread test runtimes), the driver is async. The bridge owns a small runtime of
//! its own on which the driver and the connection pool live; a sync call spawns its work
//! there and waits for the reply on a plain channel. Never `Runtime::block_on` inside a
//! runtime (that panics), never a connection whose task runs on the caller's runtime
//! (a current-thread runtime blocked in a call could never drive it).

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use super::PgError;

/// How long a connection may take to open; also the bound of `upsync check`'s probe.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a free pooled connection.
const WAIT_TIMEOUT: Duration = Duration::from_secs(30);

/// `host:port/database` of a URL, never its password (for messages and logs).
pub fn redact(url: &str) -> String {
    match tokio_postgres::Config::from_str(url) {
        Ok(c) => target_of(&c),
        Err(_) => "(an unparsable PostgreSQL URL)".to_string(),
    }
}

fn target_of(c: &tokio_postgres::Config) -> String {
    let host = c
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c.get_dbname().or(c.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// A pool of connections for `url` (nothing is connected yet). Connections are opened
/// on the runtime that first asks for them.
pub fn pool(url: &str, size: usize) -> Result<(Pool, String), PgError> {
    let mut config = tokio_postgres::Config::from_str(url).map_err(|e| PgError {
        target: "(store.url)".into(),
        reason: format!("the URL does not parse: {e}"),
        fix:
            "write it as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE (or set UPSYNC_STORE_URL)",
    })?;
    config.connect_timeout(CONNECT_TIMEOUT);
    config.application_name("upsync");
    let target = target_of(&config);
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(size.max(1))
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(CONNECT_TIMEOUT))
        .build()
        .map_err(|e| PgError {
            target: target.clone(),
            reason: format!("the connection pool could not be built: {e}"),
            fix: "check store.pool_size",
        })?;
    Ok((pool, target))
}

/// The bridge: a runtime and the pool living on it.
pub struct Bridge {
    rt: Option<tokio::runtime::Runtime>,
    pool: Pool,
    target: String,
}

impl Bridge {
    pub fn new(url: &str, pool_size: usize) -> Result<Bridge, PgError> {
        let (pool, target) = pool(url, pool_size)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("upsync-pg")
            .enable_all()
            .build()
            .map_err(|e| PgError {
                target: target.clone(),
                reason: format!("could not start the database runtime: {e}"),
                fix: "check the process limits (threads)",
            })?;
        Ok(Bridge {
            rt: Some(rt),
            pool,
            target,
        })
    }

    /// `host:port/database`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Run `work` on the bridge's runtime with a pooled connection's pool, and wait.
    pub fn run<T, F>(&self, work: impl FnOnce(Pool) -> F + Send + 'static) -> Result<T, PgError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, PgError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let pool = self.pool.clone();
        let rt = self
            .rt
            .as_ref()
            .expect("the runtime lives as long as the bridge");
        rt.spawn(async move {
            let _ = tx.send(work(pool).await);
        });
        rx.recv().unwrap_or_else(|_| {
            Err(PgError {
                target: self.target.clone(),
                reason: "the database runtime stopped".into(),
                fix: "restart upsync",
            })
        })
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        // Allowed anywhere, also inside another runtime (dropping a runtime is not).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
