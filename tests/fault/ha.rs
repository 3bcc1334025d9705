//! Issue 22: several daemons on one PostgreSQL database, one of them SIGKILLed at random
//! moments (the `ha` bench's HA run, small). Three real `upsync run` processes share a
//! fresh database; every round one of them is killed while records keep arriving and is
//! started again. Afterwards every record is shipped and written back exactly once (no
//! extra UPS shipment for any reference, not even a voided one), and each killed daemon's
//! connector lease was taken over by another daemon within the lease time plus a cycle
//! (the others poll every second).
//!
//! Skipped with a message where no PostgreSQL server can be had
//! (`UPSYNC_REQUIRE_POSTGRES=1` makes that a failure). `UPSYNC_HA_SEED` replays the kills.

use std::path::Path;

use upsync::bench::ha::{kill_run, Ha};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_daemons_with_kills_ship_everything_exactly_once() {
    let Some(server) = upsync::store::pgserver::shared() else {
        return;
    };
    let url = server.create_database().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let h = Ha {
        exe: Path::new(env!("CARGO_BIN_EXE_upsync")).to_path_buf(),
        daemons: 3,
        kills: 4,
        lease_seconds: 5,
        shipments: 24,
        concurrency: 8,
        mix: upsync::bench::Mix::Netsuite,
    };
    let r = kill_run(&h, dir.path(), &url).await.unwrap();
    println!("ha round: {r:?}");
    assert_eq!(r.kills, 4);
    assert!(r.expected > 0, "{r:?}");
    assert_eq!(r.lost, 0, "records never shipped or written back: {r:?}");
    assert_eq!(r.duplicates, 0, "a reference shipped twice: {r:?}");
    assert_eq!(r.inconsistent, 0, "{r:?}");
    // A killed poller's connector passes to another daemon once its lease runs out (at
    // most the lease time after the kill), at that daemon's next cycle (1 s schedule; 2 s
    // of slack for a loaded machine).
    if let Some(s) = r.takeover_by_kind.get("connector") {
        assert!(
            *s <= h.lease_seconds as f64 + 2.0,
            "connector takeover slower than the lease time + a cycle: {r:?}"
        );
    }
}
