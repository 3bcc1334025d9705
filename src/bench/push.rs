//! Push notifications in the loopback world (issue 23), shared by `bench --scenario
//! latency --push` and the integration tests: the `push:` sections and their vault
//! entries, the receiver on a loopback listener, and the simulators pointed at it.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use serde_json::json;

use crate::app::wiring::Assembly;
use crate::app::world::World;

/// The shared secrets the world's simulators send (Acumatica: the destination's Header
/// Value under `Authorization`; NetSuite: the script's `X-Upsync-Secret`).
pub const ACUMATICA_SECRET: &str = "Bearer push-acumatica-secret";
pub const NETSUITE_SECRET: &str = "push-netsuite-secret";

/// Give every connector of the world's configuration a `push:` section (secret entries
/// `acumatica-push` / `netsuite-push` in the vault, `min_gap_seconds` as given). Call it
/// before anything holds the world's store.
pub fn enable(w: &World, min_gap_seconds: u64) -> anyhow::Result<()> {
    let mut cfg = std::fs::read_to_string(&w.config_path)?;
    for erp in ["acumatica", "netsuite"] {
        cfg = cfg.replace(
            &format!("    credentials: {erp}\n"),
            &format!(
                "    credentials: {erp}\n    push:\n      secret: {erp}-push\n      min_gap_seconds: {min_gap_seconds}\n"
            ),
        );
    }
    std::fs::write(&w.config_path, cfg)?;
    let store = w.open_store()?;
    for (name, secret) in [
        ("acumatica-push", ACUMATICA_SECRET),
        ("netsuite-push", NETSUITE_SECRET),
    ] {
        crate::store::creds::Credentials::parse(&json!({ "secret": secret }).to_string())?
            .save(&store, name)?;
    }
    store.flush()?;
    Ok(())
}

/// Serve the assembly's push routes on a loopback port and point the simulators at them.
/// Returns the listener's base URL; the server runs until the runtime stops.
pub async fn serve_and_point(w: &World, a: &Arc<Assembly>) -> anyhow::Result<String> {
    let current = Arc::new(RwLock::new(a.clone()));
    let app = crate::app::wiring::push_router(&current);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    if let Some(acu) = &w.acumatica {
        http.put(format!("{}/_sim/acumatica/push", acu.base_url))
            .json(&json!({
                "url": format!("{base}/push/acumatica/acumatica"),
                "header": "Authorization",
                "secret": ACUMATICA_SECRET,
            }))
            .send()
            .await?
            .error_for_status()
            .context("pointing the Acumatica simulator's pushes at upsync")?;
    }
    if let Some(ns) = &w.netsuite {
        http.put(format!("{}/_sim/netsuite/push", ns.base_url))
            .json(&json!({
                "url": format!("{base}/push/netsuite/netsuite"),
                "header": "X-Upsync-Secret",
                "secret": NETSUITE_SECRET,
            }))
            .send()
            .await?
            .error_for_status()
            .context("pointing the NetSuite simulator's pushes at upsync")?;
    }
    Ok(base)
}
