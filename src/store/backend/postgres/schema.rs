//! The database schema and its migrations: versioned, applied at start-up in one
//! transaction under an advisory lock (several daemons may start at once), recorded in
//! `upsync_migrations`, idempotent (a version already recorded is skipped).
//!
//! Migrations are append-only: never edit one that shipped, add the next version.

use deadpool_postgres::Pool;

use super::{describe, PgError};

/// `pg_advisory_xact_lock` key of the migrations ("upsync" in ASCII).
const MIGRATION_LOCK: i64 = 0x7570_7379_6e63;

/// `(version, SQL)`, in order.
///
/// 2: one sequence hands out every lease fence (`cluster::Postgres`), so a new grant's
/// fence is above every fence ever granted, for any name: expired lease rows can then be
/// pruned (a name granted again after its row was deleted still gets a higher fence).
pub const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE upsync_kv (
        tree text NOT NULL,
        key bytea NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (tree, key)
    );
    CREATE TABLE upsync_leases (
        name text PRIMARY KEY,
        owner text NOT NULL,
        fence bigint NOT NULL,
        expires_at timestamptz NOT NULL
    );
    CREATE TABLE upsync_daemons (
        id text PRIMARY KEY,
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL
    );",
    ),
    (
        2,
        "CREATE SEQUENCE upsync_lease_fences;
    SELECT setval('upsync_lease_fences', greatest(1, (SELECT max(fence) FROM upsync_leases)));",
    ),
];

/// The newest version this build knows.
pub fn latest() -> i32 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

/// Apply every migration not yet recorded; returns the versions applied now. A database
/// with a newer version than this build knows is refused (`Err((found, latest))`).
pub async fn migrate(pool: Pool, target: String) -> Result<Result<Vec<i32>, i32>, PgError> {
    let err = |e: &dyn std::fmt::Display| PgError {
        target: target.clone(),
        reason: format!("applying the schema migrations failed: {e}"),
        fix:
            "check that the role may create tables in this database (GRANT CREATE ON SCHEMA public)",
    };
    let mut client = pool
        .get()
        .await
        .map_err(|e| super::pool_error(&target, e))?;
    let tx = client.transaction().await.map_err(|e| err(&describe(&e)))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| err(&describe(&e)))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS upsync_migrations (
            version int PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(|e| err(&describe(&e)))?;
    let done: Vec<i32> = tx
        .query(
            "SELECT version FROM upsync_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(|e| err(&describe(&e)))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if let Some(newest) = done.iter().copied().max().filter(|v| *v > latest()) {
        return Ok(Err(newest));
    }
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| err(&describe(&e)))?;
        tx.execute(
            "INSERT INTO upsync_migrations (version, applied_at) VALUES ($1, now())",
            &[version],
        )
        .await
        .map_err(|e| err(&describe(&e)))?;
        applied.push(*version);
    }
    tx.commit().await.map_err(|e| err(&describe(&e)))?;
    Ok(Ok(applied))
}
