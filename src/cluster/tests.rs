//! Lease semantics on a real PostgreSQL server (skipped with a message where none can be
//! had; `UPSYNC_REQUIRE_POSTGRES=1` makes that a failure). Expiry is simulated by moving a
//! row's `expires_at` into the past: no test waits on the clock.

use std::time::Duration;

use super::*;

/// A fresh database with the lease tables, and `n` coordinators (daemons) on it.
async fn daemons(n: usize) -> Option<(deadpool_postgres::Pool, Vec<Postgres>)> {
    let server = crate::store::pgserver::shared()?;
    let url = server.create_database().unwrap();
    let pool = pool(&url, 8).unwrap();
    ensure_tables(&pool).await;
    let ds = (0..n)
        .map(|i| Postgres::with_id(pool.clone(), Duration::from_secs(30), format!("d{i}")))
        .collect();
    Some((pool, ds))
}

/// The tables of the store's migration 1 that the cluster uses (idempotent), for tests that
/// run before or without the store.
async fn ensure_tables(pool: &deadpool_postgres::Pool) {
    let c = pool.get().await.unwrap();
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS upsync_leases(name text primary key, owner text not null, \
           fence bigint not null, expires_at timestamptz not null);
         CREATE TABLE IF NOT EXISTS upsync_daemons(id text primary key, \
           started_at timestamptz not null, heartbeat_at timestamptz not null);
         CREATE SEQUENCE IF NOT EXISTS upsync_lease_fences;",
    )
    .await
    .unwrap();
}

/// Make a lease run out now (what the passing of its time does).
async fn expire(pool: &deadpool_postgres::Pool, name: &str) {
    let c = pool.get().await.unwrap();
    c.execute(
        "UPDATE upsync_leases SET expires_at = now() - interval '1 second' WHERE name = $1",
        &[&name],
    )
    .await
    .unwrap();
}

/// Two daemons claiming the same jobs at the same moment never both get one, and between
/// them every job is taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claimants_never_both_get_one_job() {
    let Some((_pool, ds)) = daemons(2).await else {
        return;
    };
    for round in 0..5 {
        let names: Vec<String> = (0..40)
            .map(|i| Lease::job(&format!("r{round}/{i}")))
            .collect();
        let (a, b) = tokio::join!(ds[0].claim(&names), ds[1].claim(&names));
        let (a, b) = (a.unwrap(), b.unwrap());
        for l in &a {
            assert!(
                !b.iter().any(|m| m.name == l.name),
                "{} granted to both daemons",
                l.name
            );
            assert_eq!(l.owner, "d0");
        }
        assert_eq!(
            a.len() + b.len(),
            names.len(),
            "every free job is taken by one"
        );
        // Claimed again by the other: none of the first's, they are held.
        for l in ds[1].claim(&names).await.unwrap() {
            assert!(
                !a.iter().any(|m| m.name == l.name),
                "{} taken while held",
                l.name
            );
        }
    }
}

/// An expired lease passes to another daemon with a higher fence; the old holder can no
/// longer renew or release it.
#[tokio::test]
async fn expiry_hands_the_lease_over_with_a_higher_fence() {
    let Some((pool, ds)) = daemons(2).await else {
        return;
    };
    let name = Lease::job("acu/1/v1");
    let first = ds[0].acquire(&name).await.unwrap().expect("free lease");
    assert_eq!(first.fence, 1);
    assert!(ds[1].acquire(&name).await.unwrap().is_none(), "held by d0");
    expire(&pool, &name).await;
    let second = ds[1]
        .acquire(&name)
        .await
        .unwrap()
        .expect("expired: d1 takes it");
    assert!(second.fence > first.fence);
    assert_eq!(second.owner, "d1");
    assert!(
        ds[0].renew(&first).await.unwrap().is_none(),
        "stale holder cannot renew"
    );
    ds[0].release(&first).await.unwrap();
    assert!(
        ds[0].acquire(&name).await.unwrap().is_none(),
        "a stale release does not free d1's lease"
    );
    assert_eq!(ds[1].held().await.unwrap().len(), 1);
}

/// Renewing keeps the fence and the lease; re-claiming our own lease keeps it too; a
/// release frees it at once and the next grant's fence is higher.
#[tokio::test]
async fn renew_keeps_the_fence_and_release_frees_it() {
    let Some((_pool, ds)) = daemons(2).await else {
        return;
    };
    let name = Lease::connector("acumatica");
    let l = ds[0].acquire(&name).await.unwrap().unwrap();
    let r = ds[0].renew(&l).await.unwrap().expect("ours: renewed");
    assert_eq!(r.fence, l.fence);
    let again = ds[0].acquire(&name).await.unwrap().expect("our own lease");
    assert_eq!(
        again.fence, l.fence,
        "re-claiming our own lease is a renewal"
    );
    ds[0].release(&l).await.unwrap();
    let taken = ds[1].acquire(&name).await.unwrap().expect("released: free");
    assert!(taken.fence > l.fence);
    assert!(ds[0].held().await.unwrap().is_empty());
}

/// Heartbeats count live daemons; a daemon that leaves (or stops beating) no longer
/// counts, and its leases are freed when it leaves.
#[tokio::test]
async fn live_daemons_follow_heartbeats() {
    let Some((pool, ds)) = daemons(3).await else {
        return;
    };
    for d in &ds {
        d.heartbeat().await.unwrap();
    }
    assert_eq!(ds[0].live_daemons().await.unwrap(), 3);
    let l = ds[2].acquire("job:x").await.unwrap().unwrap();
    ds[2].leave().await.unwrap();
    assert_eq!(ds[0].live_daemons().await.unwrap(), 2);
    let c = pool.get().await.unwrap();
    c.execute(
        "UPDATE upsync_daemons SET heartbeat_at = now() - interval '1 hour' WHERE id = 'd1'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(
        ds[0].live_daemons().await.unwrap(),
        1,
        "a silent daemon is dead"
    );
    let taken = ds[0]
        .acquire("job:x")
        .await
        .unwrap()
        .expect("freed by leave");
    assert!(taken.fence > l.fence);
}

#[test]
fn the_quota_is_divided_among_live_daemons() {
    assert_eq!(quota_share(10, 1), 10);
    assert_eq!(quota_share(10, 3), 3);
    assert_eq!(quota_share(2, 3), 1, "never zero");
    assert_eq!(quota_share(10, 0), 10);
}

#[tokio::test]
async fn local_grants_everything_with_fence_zero() {
    let l = Local::new();
    assert!(!l.is_shared());
    let got = l.claim(&["job:a".into(), "job:b".into()]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|g| g.fence == 0));
    assert_eq!(l.live_daemons().await.unwrap(), 1);
}

/// Divided among 5 daemons, a quota of 10 requests/s lets one daemon send 2 a second:
/// 10 requests take at least 4 s (tokio's paused clock), where one daemon alone sends
/// them at once (the burst).
#[tokio::test(start_paused = true)]
async fn a_divided_quota_slows_each_daemon_to_its_share() {
    use crate::ups::retry::Limiters;
    use crate::ups::{Api, ApiQuotas};
    let q = ApiQuotas {
        ship: std::num::NonZeroU32::new(10),
        ..Default::default()
    };
    let alone = Limiters::new(&q);
    let t0 = tokio::time::Instant::now();
    for _ in 0..10 {
        alone.acquire(Api::Ship).await;
    }
    assert!(t0.elapsed() < std::time::Duration::from_millis(100));
    let shared = Limiters::new(&q);
    shared.set_share(5);
    let t0 = tokio::time::Instant::now();
    for _ in 0..10 {
        shared.acquire(Api::Ship).await;
    }
    assert!(
        t0.elapsed() >= std::time::Duration::from_millis(3900),
        "{:?}",
        t0.elapsed()
    );
}

/// The takeover bound by design: a grant or renewal keeps the row three fifths of the lease
/// time (the database's clock), and holders renew / standbys claim every fifth, so a dead
/// daemon's lease is free within 3L/5 and taken within 4L/5 (+ the claim itself) ≤ L.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_lasts_three_fifths_of_the_lease_time() {
    let Some((pool, ds)) = daemons(1).await else {
        return;
    };
    let name = Lease::connector("c");
    let l = ds[0].acquire(&name).await.unwrap().unwrap();
    let c = pool.get().await.unwrap();
    let remaining: f64 = c
        .query_one(
            "SELECT extract(epoch from expires_at - now())::float8 FROM upsync_leases WHERE name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        remaining > 17.0 && remaining <= 18.0,
        "30 s lease: row lasts {remaining} s"
    );
    let renewed = ds[0].renew(&l).await.unwrap().unwrap();
    assert!(renewed.expires_at <= chrono::Utc::now() + chrono::Duration::seconds(18));
    assert_eq!(ds[0].renew_interval(), Duration::from_secs(6));
    assert_eq!(
        lease_ttl(Duration::from_secs(5)) + claim_interval(Duration::from_secs(5)),
        Duration::from_secs(4)
    );
}

/// Old rows are pruned (a finished job's lease, a daemon killed long ago), and a name
/// granted again after its row went still gets a higher fence (one sequence for all).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_leases_are_granted_again_with_a_higher_fence() {
    let Some((pool, ds)) = daemons(2).await else {
        return;
    };
    let name = Lease::job("acme/1");
    let first = ds[0].acquire(&name).await.unwrap().unwrap();
    let other = ds[1].acquire(&Lease::job("acme/2")).await.unwrap().unwrap();
    assert!(
        other.fence > first.fence,
        "one sequence: {first:?} {other:?}"
    );
    ds[0].heartbeat().await.unwrap();
    let c = pool.get().await.unwrap();
    // Ran out two hours ago (what a finished job's released lease becomes).
    c.execute(
        "UPDATE upsync_leases SET expires_at = now() - interval '2 hours' WHERE name = $1",
        &[&name],
    )
    .await
    .unwrap();
    c.execute(
        "UPDATE upsync_daemons SET heartbeat_at = now() - interval '2 hours' WHERE id = 'd0'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(ds[1].prune().await.unwrap(), 2);
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM upsync_leases WHERE name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // The unexpired lease stays.
    assert!(ds[1].renew(&other).await.unwrap().is_some());
    let again = ds[1].acquire(&name).await.unwrap().unwrap();
    assert!(
        again.fence > other.fence && again.fence > first.fence,
        "{first:?} {other:?} {again:?}"
    );
    // The old holder's fenced write would be refused: its fence is not the row's.
    assert!(ds[0].renew(&first).await.unwrap().is_none());
}
