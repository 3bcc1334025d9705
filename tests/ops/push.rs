//! `upsync run` with `connectors[].push` (issue 23): the daemon's own listener takes the
//! Acumatica simulator's push notifications and the hourly-scheduled connector ships at
//! once; a wrong secret is 401 and an unknown connector 404, both counted on `/metrics`
//! without the secret; after a SIGHUP reload the pushes reach the new assembly.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use upsync::app::world::{World, WorldOptions};

const BIN: &str = env!("CARGO_BIN_EXE_upsync");

fn ships(w: &World) -> u64 {
    w.ups.stats().get("ship.created").copied().unwrap_or(0)
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < end, "{what}: not within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Release one UPS shipment; returns its ShipmentNbr.
async fn release(w: &World) -> String {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/_sim/acumatica/shipments",
            w.acumatica.as_ref().unwrap().base_url
        ))
        .json(&json!({"ShipVia": {"value": "UPSGROUND"}, "Status": {"value": "Open"}, "Hold": {"value": false}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["ShipmentNbr"]["value"].as_str().unwrap().to_string()
}

fn written_back(w: &World, nbr: &str) -> bool {
    let s = w.acumatica.as_ref().unwrap().state.shipment(nbr).unwrap();
    s["Packages"].as_array().is_some_and(|p| {
        !p.is_empty()
            && p.iter().all(|p| {
                p["TrackingNbr"]["value"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("1Z"))
            })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_takes_pushes_on_its_listener_and_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut o = WorldOptions::new(&dir.path().join("world"));
    o.acumatica_shipments = 1;
    o.netsuite_fulfillments = 0;
    o.schedule = "0 * * * *".into(); // hourly
    o.http_listen = format!("127.0.0.1:{port}");
    let w = World::start(o).await.unwrap();
    upsync::bench::push::enable(&w, 1).unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let acu = w.acumatica.as_ref().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    http.put(format!("{}/_sim/acumatica/push", acu.base_url))
        .json(&json!({
            "url": format!("{base}/push/acumatica/acumatica"),
            "header": "Authorization",
            "secret": upsync::bench::push::ACUMATICA_SECRET,
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let log_path = dir.path().join("run.log");
    let mut child = w
        .command(Path::new(BIN))
        .arg("run")
        .env("UPSYNC_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let end = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("{base}/healthz")).send().await, Ok(r) if r.status() == 200) {
        assert!(Instant::now() < end, "no /healthz within 30 s: {}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let before = ships(&w);
    let nbr = release(&w).await;
    until("a pushed release written back", || written_back(&w, &nbr)).await;
    assert!(ships(&w) > before);

    let post = |path: &str, secret: &str| {
        http.post(format!("{base}{path}"))
            .header("Authorization", secret)
            .json(&json!({"Inserted": [{"ShipmentNbr": "000001"}], "Deleted": []}))
            .send()
    };
    assert_eq!(
        post("/push/acumatica/acumatica", "Bearer wrong")
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post("/push/acumatica/nobody", "x").await.unwrap().status(),
        404
    );
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "upsync_push_requests_total{connector=\"acumatica\",outcome=\"unauthorized\"} 1",
        "upsync_push_requests_total{connector=\"\",outcome=\"unknown_connector\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    assert!(!metrics.contains(upsync::bench::push::ACUMATICA_SECRET));
    assert!(
        !log().contains("push-acumatica-secret"),
        "the secret is never logged"
    );

    // A reload swaps the assembly: pushes reach the new one.
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGHUP) },
        0
    );
    until("the reload in the log", || {
        log().contains("configuration reloaded")
    })
    .await;
    let nbr = release(&w).await;
    until("a release pushed after the reload written back", || {
        written_back(&w, &nbr)
    })
    .await;

    // SAFETY: as above.
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    let end = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}: {}", log());
}
