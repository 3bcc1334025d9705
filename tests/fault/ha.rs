//! Issue 22: several daemons on one PostgreSQL database, one of them SIGKILLed at random
//! moments (the `ha` bench's HA run, small). Three real `upsync run` processes share a
//! fresh database; every round one of them is killed while records keep arriving and is
//! started again. Afterwards every record is shipped and written back exactly once (no
//! extra UPS shipment for any reference, not even a voided one), and each killed daemon's
//! lease (connector, jobs, tracking) was taken over by another daemon within the lease time.
//!
//! Skipped with a message where no PostgreSQL server can be had
//! (`UPSYNC_REQUIRE_POSTGRES=1` makes that a failure). `UPSYNC_HA_SEED` replays the kills.

use std::path::Path;

use upsync::bench::ha::{kill_run, signal, spawn_daemon, world, Ha};

/// An `ha` run of the real binary over NetSuite records: `daemons`, `kills` rounds,
/// `lease_seconds`, `shipments` seeded, `concurrency` jobs in flight.
fn netsuite_ha(
    daemons: usize,
    kills: usize,
    lease_seconds: u64,
    shipments: usize,
    concurrency: u32,
) -> Ha {
    Ha {
        exe: Path::new(env!("CARGO_BIN_EXE_upsync")).to_path_buf(),
        daemons,
        kills,
        lease_seconds,
        shipments,
        concurrency,
        mix: upsync::bench::Mix::Netsuite,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_with_kills_ship_everything_exactly_once() {
    let Some(server) = upsync::store::pgserver::shared() else {
        return;
    };
    let url = server.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let h = netsuite_ha(3, 4, 5, 24, 8);
    let r = kill_run(&h, dir.path(), &url).await.unwrap();
    println!("ha round: {r:?}");
    assert_eq!(r.kills, 4);
    assert!(r.expected > 0, "{r:?}");
    assert_eq!(r.lost, 0, "records never shipped or written back: {r:?}");
    assert_eq!(r.duplicates, 0, "a reference shipped twice: {r:?}");
    assert_eq!(r.inconsistent, 0, "{r:?}");
    // The takeover bound by design (docs/cluster.md): a dead daemon's lease is free at most
    // 3/5 of the lease time after its last renewal and claimed at the next cycle (every
    // second here), so every lease it held is taken over within the lease time.
    assert!(
        r.max_takeover <= h.lease_seconds as f64,
        "takeover slower than the lease time: {r:?}"
    );
}

/// A graceful stop (SIGTERM) releases the daemon's leases (connector, tracking, jobs) and
/// removes its heartbeat row, so another daemon (or the restarted one) takes over at once
/// instead of after the lease time (30 s here: without the release, they would still run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_stop_releases_its_leases_and_its_daemon_row() {
    let Some(server) = upsync::store::pgserver::shared() else {
        return;
    };
    let url = server.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let h = netsuite_ha(1, 0, 30, 6, 4);
    let w = world(&h, dir.path(), Some(&url)).await.unwrap();
    let pool = upsync::cluster::pool(&url, 2).unwrap();
    let log = dir.path().join("daemon.log");
    let mut d = spawn_daemon(&w, &h, &log).unwrap();
    let held = |names: Vec<String>| {
        names.iter().any(|n| n.starts_with("connector:")) && names.iter().any(|n| n == "tracking")
    };
    let mut names = Vec::new();
    for _ in 0..600 {
        let c = pool.get().await.unwrap();
        names = c
            .query(
                "SELECT name FROM upsync_leases WHERE expires_at > now()",
                &[],
            )
            .await
            .map(|rows| rows.iter().map(|r| r.get::<_, String>(0)).collect())
            .unwrap_or_default();
        let rows: i64 = c
            .query_one("SELECT count(*) FROM upsync_daemons", &[])
            .await
            .map(|r| r.get(0))
            .unwrap_or(0);
        if held(names.clone()) && rows == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        held(names.clone()),
        "the daemon never held its connector and tracking leases: {names:?}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    signal(&d, libc::SIGTERM);
    let status = tokio::time::timeout(std::time::Duration::from_secs(90), d.wait())
        .await
        .expect("the daemon did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
    let c = pool.get().await.unwrap();
    let live: Vec<String> = c
        .query(
            "SELECT name FROM upsync_leases WHERE expires_at > now()",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        live.is_empty(),
        "leases still held after a graceful stop: {live:?}"
    );
    let rows: i64 = c
        .query_one("SELECT count(*) FROM upsync_daemons", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0, "the daemon's heartbeat row stayed");
    drop(c);
    // Another daemon gets them at once, with a higher fence.
    let other = upsync::cluster::Postgres::with_id(
        pool.clone(),
        std::time::Duration::from_secs(30),
        "other".into(),
    );
    use upsync::cluster::Coordinator;
    for name in names
        .iter()
        .filter(|n| n.starts_with("connector:") || *n == "tracking")
    {
        assert!(
            other.acquire(name).await.unwrap().is_some(),
            "{name} not free after the stop"
        );
    }
}
