//! `/readyz` over a real loopback listener, served from the daemon's own assembly: ready
//! when every connector is authenticated and not paused; 503 naming the connector and the
//! reason when a simulator rejects its credentials (here: a wrong Acumatica password in the
//! vault).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use upsync::app::wiring::{self, Current};
use upsync::app::world::{World, WorldOptions};

async fn serve(current: &Current) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = upsync::server::router(wiring::server_state(current), None);
    tokio::spawn(upsync::server::serve(listener, app, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let r = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_unready_when_acumatica_rejects_the_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 3;
    o.netsuite_fulfillments = 3;
    let w = World::start(o).await.unwrap();
    let store = w.open_store().unwrap();
    upsync::store::creds::Credentials::parse(
        r#"{"username":"admin","password":"not-the-password"}"#,
    )
    .unwrap()
    .save(&store, "acumatica")
    .unwrap();

    let a = Arc::new(w.assemble(store.clone()).await.unwrap());
    let current: Current = Arc::new(RwLock::new(a.clone()));
    let (base, stop) = serve(&current).await;

    assert_eq!(get(&base, "/healthz").await.0, 200);
    // Before the first cycle nobody has logged in yet: not ready.
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 503, "{body}");

    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], false);
    let not_ready = v["not_ready"].as_array().unwrap();
    assert_eq!(not_ready.len(), 1, "only Acumatica is down: {body}");
    assert_eq!(not_ready[0]["component"], "acumatica");
    let reason = not_ready[0]["reason"].as_str().unwrap().to_lowercase();
    assert!(reason.contains("paused"), "{reason}");
    assert!(
        reason.contains("credential") || reason.contains("auth") || reason.contains("login"),
        "the reason says what is wrong: {reason}"
    );
    assert!(!body.contains("not-the-password"), "no secret in /readyz");

    let (_, metrics) = get(&base, "/metrics").await;
    assert!(
        metrics.contains("upsync_connector_up{connector=\"acumatica\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("upsync_connector_paused{connector=\"acumatica\"} 1"));
    assert!(metrics.contains("upsync_connector_up{connector=\"netsuite\"} 1"));
    // Nothing was shipped for the connector that cannot log in; NetSuite went ahead.
    let jobs: Vec<_> = a.pipeline.ledger().jobs(Some("acumatica"), None).collect();
    assert!(jobs.is_empty());
    assert!(a.pipeline.ledger().jobs(Some("netsuite"), None).count() > 0);
    let _ = stop.send(());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_ready_when_every_connector_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 2;
    o.netsuite_fulfillments = 2;
    let w = World::start(o).await.unwrap();
    let store = w.open_store().unwrap();
    let a = Arc::new(w.assemble(store).await.unwrap());
    let current: Current = Arc::new(RwLock::new(a.clone()));
    let (base, stop) = serve(&current).await;
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["ready"], true);
    // Two connectors, the store and tracking.
    assert_eq!(v["components"], 4);
    // The ledger the cycles wrote verifies clean with the typed decoder the daemon and
    // `check` use at start (jobs, their indexes, cursors).
    let r = a
        .store
        .verify_with(Duration::from_secs(60), &wiring::ledger_decoder)
        .unwrap();
    assert!(r.records > 0);
    let _ = stop.send(());
}

/// Must show (issue 16 item 2): `/readyz` of a daemon whose store fails a read answers
/// 503 naming the store, and `/metrics` counts it. Here a cursor record that does not
/// decode (a damaged value) is read by the connector's next cycle. On the old main the
/// cycle failed, the daemon logged and `/readyz` stayed 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_once_the_store_fails_a_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 2;
    o.netsuite_fulfillments = 0;
    let w = World::start(o).await.unwrap();
    let store = w.open_store().unwrap();
    let a = Arc::new(w.assemble(store.clone()).await.unwrap());
    let current: Current = Arc::new(RwLock::new(a.clone()));
    let (base, stop) = serve(&current).await;
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    assert_eq!(get(&base, "/readyz").await.0, 200);

    store
        .tree(upsync::store::Tree::Cursors)
        .insert("acumatica", &b"\x00garbage{"[..])
        .unwrap();
    for c in a.pipeline.connectors() {
        let _ = a.pipeline.run_cycle(c).await;
    }
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 503, "{body}");
    assert!(body.contains("\"component\":\"store\""), "{body}");
    assert!(body.contains("corrupt"), "{body}");
    let (_, metrics) = get(&base, "/metrics").await;
    let errors: f64 = metrics
        .lines()
        .find(|l| l.starts_with("upsync_store_errors_total"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(errors >= 1.0, "{metrics}");
    let _ = stop.send(());
}

/// Guards issue 16 item 4: after a good reload `/readyz` answered 503 "not authenticated
/// yet" until each connector's next cycle. Now an unchanged connector keeps its state and
/// a new assembly's connectors are checked at once (here: the reload's assembly replaces
/// the running one, as `upsync run` does on SIGHUP, with no cycle in between).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_stays_ready_across_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 2;
    o.netsuite_fulfillments = 2;
    let w = World::start(o).await.unwrap();
    let store = w.open_store().unwrap();
    let a = Arc::new(w.assemble(store.clone()).await.unwrap());
    let current: Current = Arc::new(RwLock::new(a.clone()));
    let (base, stop) = serve(&current).await;
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    assert_eq!(get(&base, "/readyz").await.0, 200);

    // Reload with the same configuration: readiness carried over.
    let b = Arc::new(w.assemble(store.clone()).await.unwrap());
    wiring::carry_readiness(&a, &b).await;
    *current.write().unwrap() = b.clone();
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 200, "after reload: {body}");

    // A connector whose configuration changed is checked at once (its login works).
    let mut cfg = w.config().unwrap();
    cfg.connectors[0].concurrency = Some(cfg.connectors[0].concurrency.unwrap_or(2) + 1);
    let c = Arc::new(wiring::assemble(cfg, store.clone()).await.unwrap());
    wiring::carry_readiness(&b, &c).await;
    *current.write().unwrap() = c;
    let (st, body) = get(&base, "/readyz").await;
    assert_eq!(st, 200, "after a changed reload: {body}");
    let _ = stop.send(());
}
