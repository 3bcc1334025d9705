//! Issue 22, job leases in the engine: two daemons (two assembled pipelines in this
//! process, each with its own lease owner on one PostgreSQL database) run their cycles at
//! the same moments over one ledger. Every job is worked by one of them only: each record
//! is shipped once (no extra UPS shipment, not even a voided one) and written back, and
//! the Ship calls of the two daemons add up to the number of shipments.
//!
//! The ledger here is one sled store shared in-process (the fence check is the PostgreSQL
//! backend's, tested with the store); what this guards is the engine's claim of a job's
//! lease before working it. Skipped with a message where no PostgreSQL server can be had.
//! Not on a PostgreSQL ledger: assembling on a PostgreSQL store sets the process's own
//! coordinator (one daemon id per process), so two in-process "daemons" would be one; the
//! fenced writes of real daemon processes on one database are `tests/fault/ha.rs`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::pipeline_support::*;
use upsync::cluster::{Member, Postgres};

async fn lease_tables(url: &str) -> deadpool_postgres::Pool {
    let pool = upsync::cluster::pool(url, 4).unwrap();
    pool.get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS upsync_leases(name text primary key, owner text not null, \
               fence bigint not null, expires_at timestamptz not null);
             CREATE TABLE IF NOT EXISTS upsync_daemons(id text primary key, \
               started_at timestamptz not null, heartbeat_at timestamptz not null);
             CREATE SEQUENCE IF NOT EXISTS upsync_lease_fences;",
        )
        .await
        .unwrap();
    pool
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_cycling_together_never_work_one_job_twice() {
    let Some(server) = upsync::store::pgserver::shared() else {
        return;
    };
    let pool = lease_tables(&server.create_database().unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let w = start(options(dir.path(), 0, 16)).await;
    let store = w.open_store().unwrap();
    let a = w.assemble(store.clone()).await.unwrap();
    let b = w.assemble(store.clone()).await.unwrap();
    for (asm, id) in [(&a, "daemon-a"), (&b, "daemon-b")] {
        asm.pipeline
            .set_cluster(Arc::new(Member::new(Arc::new(Postgres::with_id(
                pool.clone(),
                Duration::from_secs(30),
                id.into(),
            )))));
    }
    for _ in 0..6 {
        for (ca, cb) in a.pipeline.connectors().iter().zip(b.pipeline.connectors()) {
            let (ra, rb) = tokio::join!(a.pipeline.run_cycle(ca), b.pipeline.run_cycle(cb));
            ra.unwrap();
            rb.unwrap();
        }
    }
    let audit = upsync::bench::audit(&w);
    assert!(audit.expected > 0, "{audit:?}");
    assert_eq!(audit.lost, 0, "{audit:?}");
    assert_eq!(audit.duplicates, 0, "{audit:?}");
    assert_eq!(audit.ups_voided, 0, "a reference shipped twice: {audit:?}");
    let shipped = a.pipeline.stats.shipped.load(Ordering::SeqCst)
        + b.pipeline.stats.shipped.load(Ordering::SeqCst);
    assert_eq!(shipped as usize, audit.ups_live, "{audit:?}");
}
