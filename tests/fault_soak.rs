//! Fault suite: the soak. The real binary (`upsync run`) against the three loopback
//! simulators with random faults in all of them — 429, 5xx, latency spikes, connection
//! resets, drop-after-commit, token expiry (UPS and NetSuite), Acumatica session limits —
//! new records released while it runs, and the daemon SIGKILLed at random moments and
//! started again. Then the faults stop, the daemon finishes its work, and the audit
//! ([`upsync::bench::audit`]) must find: nothing lost, nothing shipped twice, every ERP
//! record's 1Z numbers belonging to exactly one live UPS shipment, nothing dead-lettered.
//!
//! Short by default (about 30 s of chaos, ≤ 90 s in all); `UPSYNC_SOAK_SECONDS=N` runs
//! the chaos phase for N seconds. Seeded (`UPSYNC_SOAK_SEED`), loopback only. Runs on both
//! stores (`soak_…::sled`, `soak_…::postgres`), one after the other.
//!
//! A test binary of its own, not a module of `tests/fault/`: its kills land at random
//! moments and its calm phase has a deadline, so it wants the machine to itself (cargo runs
//! test binaries one at a time; tests inside one binary run two at a time).

use std::process::Stdio;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use upsync::app::world::{World, WorldOptions};
use upsync::pipeline::JobState;

const UPS_FAULTS: &str = "ship:429@0.04,xav:503@0.04,ship:500@0.03,ship:drop-after-commit@0.08,\
xav:reset@0.02,ship:reset@0.03,*:latency=400@0.02,track:503@0.1,ship:token-expired@0.02,\
token:503@0.1,rate:429@0.05";
const ACUMATICA_FAULTS: &str = "list:503@0.05,list:429@0.03,put:500@0.03,put:reset@0.02,\
put:drop-after-commit@0.04,login:session-limit@0.05,action:503@0.05,files:429@0.03,\
*:latency=300@0.02";
const NETSUITE_FAULTS: &str = "suiteql:429@0.05,suiteql:503@0.03,record_patch:503@0.04,\
record_patch:drop-after-commit@0.04,record_patch:reset@0.02,token:503@0.05,\
suiteql:token-expired@0.02,*:latency=300@0.02";

/// One soak at a time (the sled and the PostgreSQL run of this binary).
static SOAK_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug, Default)]
struct Counts {
    runs: u32,
    kills: u32,
    released: u32,
    token_expiries: u32,
}

async fn release(http: &reqwest::Client, w: &World, rng: &mut StdRng) -> bool {
    let (url, body) = if rng.gen_bool(0.5) {
        let a = w.acumatica.as_ref().unwrap();
        (
            format!("{}/_sim/acumatica/shipments", a.base_url),
            json!({"Hold": {"value": false}, "Status": {"value": "Open"}}),
        )
    } else {
        let n = w.netsuite.as_ref().unwrap();
        (
            format!("{}/_sim/netsuite/fulfillments", n.base_url),
            json!({}),
        )
    };
    matches!(http.post(url).json(&body).send().await, Ok(r) if r.status().is_success())
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn soak_random_faults_and_kills_lose_nothing_and_ship_nothing_twice(store_url) {
        // The soak wants the machine to itself: its two stores take turns.
        let _turn = SOAK_TURN.lock().await;
        let chaos = Duration::from_secs(env_u64("UPSYNC_SOAK_SECONDS", 30));
        let mut rng = StdRng::seed_from_u64(env_u64("UPSYNC_SOAK_SEED", 10));
        let dir = tempfile::tempdir().unwrap();
        let mut o = WorldOptions::new(dir.path());
        o.store_url = store_url;
        o.acumatica_shipments = 25;
        o.netsuite_fulfillments = 25;
        o.schedule = "*/1 * * * * *".into();
        o.ups_token_ttl_seconds = 20;
        o.ups_faults = UPS_FAULTS.into();
        // No reference index delay in this simulator: a short absent window is honest here.
        o.reconcile_absent_after_seconds = 2;
        o.reconcile_min_lookups = 2;
        o.acumatica_faults = ACUMATICA_FAULTS.into();
        o.netsuite_faults = NETSUITE_FAULTS.into();
        let w = World::start(o).await.unwrap();
        // The simulator's confirm action is polled every 50 ms (bundled: 1 s) to keep cycles short.
        let profile = w.dir.join("connectors/acumatica.yaml");
        let text = std::fs::read_to_string(&profile).unwrap();
        std::fs::write(
            &profile,
            text.replace(
                "action_poll_interval_ms: 1000",
                "action_poll_interval_ms: 50",
            ),
        )
        .unwrap();

        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_upsync"));
        let log_path = dir.path().join("daemon.log");
        let http = reqwest::Client::new();
        let mut c = Counts::default();
        let start = Instant::now();
        while start.elapsed() < chaos {
            let log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .unwrap();
            let mut child = w
                .command(bin)
                .arg("run")
                .env("UPSYNC_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::from(log))
                .spawn()
                .expect("upsync run starts");
            c.runs += 1;
            let life = Duration::from_millis(rng.gen_range(1500..6000));
            let born = Instant::now();
            while born.elapsed() < life {
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
                if rng.gen_bool(0.6) && release(&http, &w, &mut rng).await {
                    c.released += 1;
                }
                if rng.gen_bool(0.05) {
                    w.netsuite.as_ref().unwrap().sim.expire_tokens();
                    c.token_expiries += 1;
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!(
                    "daemon exited by itself ({status}); log tail:\n{}",
                    &log[log.len().saturating_sub(3000)..]
                );
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            c.kills += 1;
            // A killed daemon never logs out: its Acumatica sessions hold licence slots until
            // they time out (20 minutes idle). Let that time pass on the simulator's clock.
            w.acumatica
                .as_ref()
                .unwrap()
                .core
                .clock
                .advance(chrono::Duration::minutes(21));
            // Its store leases (PostgreSQL) likewise stay held until `store.lease_seconds` pass:
            // let that time pass too, or the next life would stand by.
            w.expire_leases()
                .await
                .expect("expire the killed daemon's leases");
        }

        // Calm: no more faults; the daemon finishes in-process, bounded.
        w.ups.core.faults.replace("").unwrap();
        w.acumatica
            .as_ref()
            .unwrap()
            .core
            .faults
            .replace("")
            .unwrap();
        w.netsuite
            .as_ref()
            .unwrap()
            .core
            .faults
            .replace("")
            .unwrap();
        let store = w.open_store().unwrap();
        let a = w.assemble(store).await.unwrap();
        let calm = Instant::now();
        let mut audit = upsync::bench::audit(&w);
        while calm.elapsed() < Duration::from_secs(45) {
            for conn in a.pipeline.connectors() {
                a.pipeline.run_cycle(conn).await.unwrap();
            }
            let active: i64 = a
                .pipeline
                .ledger()
                .state_counts()
                .iter()
                .filter(|((_, s), _)| s.is_active())
                .map(|(_, n)| *n)
                .sum();
            audit = upsync::bench::audit(&w);
            if active == 0 && audit.lost == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let counts = a.pipeline.ledger().state_counts();
        let failed: Vec<String> = a
            .pipeline
            .ledger()
            .jobs(None, Some(JobState::Failed))
            .filter_map(Result::ok)
            .map(|j| {
                format!(
                    "{} {}",
                    j.number,
                    j.last_error.map(|e| e.code).unwrap_or_default()
                )
            })
            .collect();
        let ups = w.ups.stats();
        eprintln!(
            "soak: {:.0}s chaos, {c:?}, audit {audit:?}, jobs {counts:?}, ups ship {} drop-after-commit {} 429 {} reset {}",
            chaos.as_secs_f64(),
            ups.get("ship").copied().unwrap_or(0),
            ups.get("ship.drop_after_commit").copied().unwrap_or(0),
            ups.get("ship.429").copied().unwrap_or(0),
            ups.get("ship.reset").copied().unwrap_or(0),
        );
        assert!(c.kills >= 3, "too few kills: {c:?}");
        assert!(audit.expected >= 40, "{audit:?}");
        assert_eq!(audit.lost, 0, "records without tracking: {audit:?}");
        assert_eq!(audit.duplicates, 0, "shipped twice: {audit:?}");
        assert_eq!(audit.inconsistent, 0, "ERP and UPS disagree: {audit:?}");
        assert!(failed.is_empty(), "dead-lettered: {failed:?}");
    }
}
