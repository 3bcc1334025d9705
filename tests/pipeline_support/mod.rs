//! Helpers shared by the pipeline integration tests (`tests/pipeline/`): run the real
//! `upsync` binary against an in-process [`World`] (UPS, Acumatica and NetSuite simulators on
//! loopback), read the job ledger between runs, and read the simulators' own records.
//!
//! The binary holds the state directory's lock while it runs: read the ledger only between
//! runs ([`jobs`] opens and closes the store).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use upsync::app::world::{World, WorldOptions};
use upsync::pipeline::{Job, JobState, Ledger};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_upsync"))
}

/// World options for tests: no background UPS tick, a fast schedule (unused by `once`).
pub fn options(dir: &std::path::Path, acumatica: usize, netsuite: usize) -> WorldOptions {
    let mut o = WorldOptions::new(dir);
    o.acumatica_shipments = acumatica;
    o.netsuite_fulfillments = netsuite;
    o.ups_tick_ms = 0;
    o.schedule = "*/1 * * * * *".into();
    // The UPS simulator finds new labels by reference at once here (no index delay), so a
    // short absent window is honest and keeps a killed-before-send Ship from waiting 30 min.
    o.reconcile_absent_after_seconds = 2;
    o.reconcile_min_lookups = 2;
    o
}

/// `upsync ARGS…` against the world, as a tokio child (stdout/stderr piped, no inherited
/// `UPSYNC_*` environment).
pub fn command(w: &World, args: &[&str]) -> tokio::process::Command {
    let mut c = w.command(&bin());
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("UPSYNC") && k != "UPSYNC_MASTER_KEY_FILE" {
            c.env_remove(&k);
        }
    }
    c.env(
        "UPSYNC_LOG",
        std::env::var("PIPELINE_TEST_LOG").unwrap_or_else(|_| "warn".into()),
    )
    .args(args)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut c = tokio::process::Command::from(c);
    c.kill_on_drop(true);
    c
}

/// Run `upsync ARGS…` to completion (bounded: 60 s, then the test fails with its output).
pub async fn upsync(w: &World, args: &[&str]) -> Output {
    use tokio::io::AsyncReadExt;
    let mut child = command(w, args).spawn().expect("spawn upsync");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let out = tokio::spawn(async move {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b).await;
        b
    });
    let err = tokio::spawn(async move {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b).await;
        b
    });
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await;
    if status.is_err() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let stdout = out.await.unwrap_or_default();
    let stderr = err.await.unwrap_or_default();
    match status {
        Ok(s) => Output {
            status: s.expect("wait for upsync"),
            stdout,
            stderr,
        },
        Err(_) => panic!(
            "`upsync {}` did not finish within 60 s\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// Run `upsync ARGS…` and require success; returns stdout.
pub async fn upsync_ok(w: &World, args: &[&str]) -> String {
    let out = upsync(w, args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "`upsync {}` failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every job in the ledger (opens the store, reads, closes it again).
pub fn jobs(w: &World) -> Vec<Job> {
    let store = w.open_store().expect("open the state directory");
    let ledger = Ledger::new(store);
    let v: Vec<Job> = ledger
        .jobs(None, None)
        .collect::<Result<_, _>>()
        .expect("read jobs");
    v
}

/// Current jobs (not superseded/voided) of every record, by (source, record id).
pub fn current_jobs(all: &[Job]) -> Vec<&Job> {
    all.iter()
        .filter(|j| !matches!(j.state, JobState::Superseded | JobState::Voided))
        .collect()
}

/// One line per job: id, state, last error, conflict (diagnostics).
pub fn describe(all: &[Job]) -> String {
    all.iter()
        .map(|j| {
            format!(
                "  {} {} {} err={:?} conflict={:?} retries={} next={:?}",
                j.id,
                j.number,
                j.state,
                j.last_error
                    .as_ref()
                    .map(|f| format!("[{}] {}", f.code, f.message)),
                j.conflict.as_ref().map(|c| c.what.clone()),
                j.retries,
                j.next_attempt_at
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `{"value": x}` → x (Acumatica wire form).
pub fn v(x: &Value) -> &Value {
    x.get("value").unwrap_or(&Value::Null)
}

/// Acumatica records the connector profile takes (not on hold, UPS ship-via; seeds are
/// all `Open`): (ShipmentNbr, entity id).
pub fn acumatica_ready(w: &World) -> Vec<(String, String)> {
    let st = &w.acumatica.as_ref().expect("acumatica").state;
    st.shipments()
        .iter()
        .filter(|s| {
            v(&s["Hold"]) == false
                && v(&s["ShipVia"])
                    .as_str()
                    .is_some_and(|x| x.starts_with("UPS"))
        })
        .map(|s| {
            (
                v(&s["ShipmentNbr"]).as_str().unwrap().to_string(),
                s["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// NetSuite fulfillments the profile takes (UPS ship method; seeds are all picked or
/// packed): (tranid, id).
pub fn netsuite_ready(w: &World) -> Vec<(String, u64)> {
    let sim = &w.netsuite.as_ref().expect("netsuite").sim;
    let mut out = Vec::new();
    for id in 0..20_000u64 {
        if let Some(f) = sim.fulfillment(id) {
            let method = upsync::sim::netsuite::store::ship_method_name(f.shipmethod);
            if method.starts_with("UPS") {
                out.push((f.tranid.clone(), f.id));
            }
        }
    }
    out
}

/// Package lines per NetSuite fulfillment id (to check write-back updates, never appends).
pub fn netsuite_lines(w: &World) -> std::collections::BTreeMap<u64, usize> {
    netsuite_ready(w)
        .into_iter()
        .map(|(_, id)| {
            let f = w.netsuite.as_ref().unwrap().sim.fulfillment(id).unwrap();
            (id, f.packages.len())
        })
        .collect()
}

/// POST a JSON body to a simulator admin route; returns the answer.
pub async fn sim_post(base_url: &str, path: &str, body: &Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{base_url}{path}"))
        .json(body)
        .send()
        .await
        .expect("simulator admin route");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.expect("JSON answer")
}

/// A new seeded shipment in the Acumatica simulator (a record becoming ready while the
/// daemon runs).
pub async fn add_acumatica_shipment(w: &World) {
    let a = w.acumatica.as_ref().expect("acumatica");
    sim_post(
        &a.base_url,
        "/_sim/acumatica/shipments",
        &serde_json::json!({}),
    )
    .await;
}

/// A new seeded fulfillment in the NetSuite simulator; returns its id and package lines.
pub async fn add_netsuite_fulfillment(w: &World) -> (u64, usize) {
    let n = w.netsuite.as_ref().expect("netsuite");
    let f = sim_post(
        &n.base_url,
        "/_sim/netsuite/fulfillments",
        &serde_json::json!({}),
    )
    .await;
    (
        f["id"].as_u64().expect("id"),
        f["packages"].as_array().map_or(0, |p| p.len()),
    )
}

/// A 1Z number: 18 characters, `1Z` prefix.
pub fn is_1z(s: &str) -> bool {
    s.len() == 18 && s.starts_with("1Z")
}

/// Assert an Acumatica shipment has a 1Z on every package line and one label file per
/// package (`{ShipmentNbr}-{1Z}.{ext}`); returns its 1Z numbers.
pub fn assert_acumatica_written_back(w: &World, nbr: &str, id: &str) -> Vec<String> {
    let st = &w.acumatica.as_ref().expect("acumatica").state;
    let s = st.shipment(id).expect("shipment exists");
    let pkgs = s["Packages"].as_array().cloned().unwrap_or_default();
    assert!(!pkgs.is_empty(), "{nbr}: no packages");
    let mut numbers = Vec::new();
    for p in &pkgs {
        let tn = v(&p["TrackingNbr"])
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            is_1z(&tn),
            "{nbr}: package line without a 1Z number: {tn:?}"
        );
        numbers.push(tn);
    }
    let files = st.files_of(id);
    for tn in &numbers {
        // One file per label (`label_files: per_package`), or the shipment's labels in one
        // file that holds this one (`per_shipment`, the bundled profile).
        let own = files
            .iter()
            .any(|(name, size)| name.contains(&format!("{nbr}-{tn}.")) && *size > 0);
        let merged = files.iter().any(|(name, _)| {
            name.contains(&format!("{nbr}-"))
                && name.contains("-labels.")
                && st
                    .file_data(id, name.rsplit('\\').next().unwrap_or(name))
                    .is_some_and(|d| d.windows(tn.len()).any(|w| w == tn.as_bytes()))
        });
        assert!(
            own || merged,
            "{nbr}: no label file for {tn} among {files:?}"
        );
    }
    numbers
}

/// Assert a NetSuite fulfillment has a 1Z on every package line (no line added); returns them.
pub fn assert_netsuite_written_back(
    w: &World,
    tranid: &str,
    id: u64,
    lines_before: usize,
) -> Vec<String> {
    let sim = &w.netsuite.as_ref().expect("netsuite").sim;
    let f = sim.fulfillment(id).expect("fulfillment exists");
    assert_eq!(
        f.packages.len(),
        lines_before,
        "{tranid}: package lines were added instead of updated"
    );
    let mut numbers = Vec::new();
    for p in &f.packages {
        let tn = p.tracking.clone().unwrap_or_default();
        assert!(
            is_1z(&tn),
            "{tranid}: package line without a 1Z number: {tn:?}"
        );
        numbers.push(tn);
    }
    numbers
}

/// Shipments in the UPS simulator carrying `reference`: (live, voided).
pub fn ups_shipments_for(w: &World, reference: &str) -> (usize, usize) {
    let all = w.ups.shipments();
    let mut live = 0;
    let mut voided = 0;
    for s in all.as_array().into_iter().flatten() {
        let refs = s["references"].as_array().cloned().unwrap_or_default();
        let pkg_refs = s["packages"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["references"].as_array().cloned().unwrap_or_default());
        let carries = refs
            .iter()
            .chain(pkg_refs.collect::<Vec<_>>().iter())
            .any(|r| r == reference || r.get("value").is_some_and(|x| x == reference));
        if carries {
            if s["voided"] == true {
                voided += 1;
            } else {
                live += 1;
            }
        }
    }
    (live, voided)
}

/// A stat counter of a simulator (0 when absent).
pub fn stat(stats: &std::collections::BTreeMap<String, u64>, key: &str) -> u64 {
    stats.get(key).copied().unwrap_or(0)
}

/// Start a world whose Acumatica profile polls long-running actions (ConfirmShipment) every
/// 50 ms instead of every second: the simulator answers at once, and the tests stay short.
pub async fn start(o: WorldOptions) -> World {
    let w = World::start(o).await.expect("start the simulators");
    let p = w.dir.join("connectors/acumatica.yaml");
    let text = std::fs::read_to_string(&p).expect("acumatica profile");
    assert!(
        text.contains("action_poll_interval_ms: 1000"),
        "profile changed: adapt the test"
    );
    std::fs::write(
        &p,
        text.replace(
            "action_poll_interval_ms: 1000",
            "action_poll_interval_ms: 50",
        ),
    )
    .unwrap();
    w
}

/// Let 21 minutes pass on the Acumatica simulator's clock: idle licence sessions (left open
/// by a daemon killed before it could sign out) expire after 20.
pub fn expire_acumatica_sessions(w: &World) {
    if let Some(a) = &w.acumatica {
        a.core.clock.advance(chrono::Duration::minutes(21));
    }
}

/// What the time after a SIGKILL does, between crash-test rounds: the killed daemon's
/// Acumatica licence session idles out (20 min on the ERP's clock) and its store leases
/// (PostgreSQL) run out, as `store.lease_seconds` would make them; otherwise the next runs
/// would stand by.
pub async fn let_killed_daemon_time_pass(w: &World) {
    expire_acumatica_sessions(w);
    w.expire_leases()
        .await
        .expect("expire the killed daemon's store leases");
}
