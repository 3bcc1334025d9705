//! Credential health (issue 21 Must show): on the simulators' paused clock, a credential
//! expiring in 8 days is `valid`, then inside the 7-day window `expiring` (metric and
//! console), and once its date passes the connector that uses it pauses with a reason that
//! names it (and `/readyz` says so) instead of failing every call. `creds info` shows kind,
//! users, fields and expiry, never a value.

use std::sync::{Arc, RwLock};

use chrono::Duration;
use upsync::app::credentials::{inventory, ExpiryState};
use upsync::app::wiring::{self, Current};
use upsync::store::creds::CredentialMeta;

use crate::pipeline_support::*;

fn state(
    c: &upsync::config::Config,
    s: &upsync::store::Store,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> ExpiryState {
    inventory(c, s, now)
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("{name} in the inventory"))
        .state
}

async fn metric(current: &Current, name: &str) -> Option<f64> {
    let text = wiring::server_state(current).metrics.encode().unwrap();
    text.lines()
        .find(|l| {
            l.starts_with(&format!(
                "upsync_credential_expiry_seconds{{name=\"{name}\"}}"
            ))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_before_expiry_it_warns_and_once_expired_the_connector_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 2, 0))).await;
    let store = w.open_store().unwrap();
    let cfg = w.config().unwrap();
    let acu = cfg.connectors[0].credentials.clone();
    let clock = &w.ups.core.clock;
    let now = clock.now();
    CredentialMeta {
        expires_at: Some(now + Duration::days(8)),
    }
    .save(&store, &acu)
    .unwrap();
    let a = Box::pin(w.assemble_on_sim_clock(store.clone()))
        .await
        .unwrap();
    let current: Current = Arc::new(RwLock::new(Arc::new(a)));
    let a = current.read().unwrap().clone();
    let conn = a.pipeline.connectors()[0].clone();

    // 8 days out: valid; the metric counts the seconds left on the daemon's clock.
    assert_eq!(
        state(&cfg, &store, &acu, a.pipeline.now()),
        ExpiryState::Valid
    );
    let left = metric(&current, &acu).await.expect("the expiry metric");
    assert!((left - 8.0 * 86_400.0).abs() < 120.0, "{left}");
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none(), "{r:?}");
    assert!(r.jobs_created >= 1, "it works normally: {r:?}");

    // 2 days later: inside the 7-day window.
    clock.advance(Duration::days(2));
    assert_eq!(
        state(&cfg, &store, &acu, a.pipeline.now()),
        ExpiryState::Expiring
    );
    assert_eq!(
        upsync::app::credentials::warn_expiring(&cfg, &store, a.pipeline.now()),
        1,
        "one warning: the unused entries stay silent"
    );
    let left = metric(&current, &acu).await.unwrap();
    assert!(left < 7.0 * 86_400.0 && left > 0.0, "{left}");
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none(), "expiring is not expired: {r:?}");

    // Past the date: the connector pauses, with the reason, and readiness says so.
    clock.advance(Duration::days(7));
    assert_eq!(
        state(&cfg, &store, &acu, a.pipeline.now()),
        ExpiryState::Expired
    );
    let ships = stat(&w.ups.stats(), "ship");
    add_acumatica_shipment(&w).await;
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    let reason = r.paused.expect("paused");
    assert!(
        reason.contains(&acu) && reason.contains("expired"),
        "{reason}"
    );
    assert_eq!(r.records_read, 0, "no call with an expired credential");
    assert_eq!(stat(&w.ups.stats(), "ship"), ships);
    assert!(metric(&current, &acu).await.unwrap() < 0.0);
    let ready = wiring::server_state(&current).readiness.check();
    let (_, why) = ready
        .iter()
        .find(|(n, _)| *n == conn.name)
        .expect("the connector in readiness");
    assert!(why.as_ref().is_err_and(|e| e.contains(&acu)), "{ready:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creds_info_shows_kind_users_and_expiry_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 1, 1))).await;
    // One good cycle, so the UPS client holds a token.
    upsync_ok(&w, &["once"]).await;
    let mut set = command(
        &w,
        &["creds", "set", "erp-spare", "--expires-at", "2020-01-01"],
    );
    set.stdin(std::process::Stdio::piped());
    let mut child = set.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(br#"{"password": "spare-secret-value"}"#)
        .await
        .unwrap();
    drop(stdin);
    assert!(child.wait_with_output().await.unwrap().status.success());
    let info = upsync_ok(&w, &["creds", "info"]).await;
    assert!(info.contains("UPS OAuth client"), "{info}");
    assert!(
        info.contains("used by    ups.accounts[0].credentials"),
        "{info}"
    );
    assert!(info.contains("token      issued"), "{info}");
    assert!(
        info.contains("token requests a day, within the budget"),
        "{info}"
    );
    assert!(info.contains("acumatica login"), "{info}");
    assert!(info.contains("netsuite login"), "{info}");
    assert!(info.contains("nothing in this configuration"), "{info}");
    assert!(info.contains("EXPIRED 2020-01-01T23:59:59Z"), "{info}");
    assert!(
        !info.contains("spare-secret-value") && !info.contains("demo-secret"),
        "{info}"
    );
    let one = upsync_ok(&w, &["creds", "info", "erp-spare"]).await;
    assert!(
        one.starts_with("erp-spare\n") && !one.contains("ups.accounts"),
        "{one}"
    );
    let bad = upsync(&w, &["creds", "set", "x", "--expires-at", "soon"]).await;
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));
}

/// `creds info` reads a certificate's validity from the entry that carries it (NetSuite
/// M2M `certificate_pem`), shows the last successful use of a connector's login, and says
/// plainly what to do when the running daemon holds the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creds_info_reads_the_certificate_and_names_the_fix_when_the_store_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 1, 0))).await;
    upsync_ok(&w, &["once"]).await;
    let pem = include_str!("../../src/app/cert_test.pem");
    let mut set = command(&w, &["creds", "set", "ns-m2m"]);
    set.stdin(std::process::Stdio::piped());
    let mut child = set.spawn().unwrap();
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().unwrap();
    let body = serde_json::json!({"type": "m2m", "client_id": "c", "certificate_id": "k",
        "private_key_pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        "certificate_pem": pem});
    stdin.write_all(body.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("valid until 2028-01-10T22:40:55Z"),
        "{out:?}"
    );
    let info = upsync_ok(&w, &["creds", "info", "ns-m2m"]).await;
    assert!(info.contains("expires    2028-01-10T22:40:55Z"), "{info}");
    let cfg = w.config().unwrap();
    let acu = &cfg.connectors[0].credentials;
    let info = upsync_ok(&w, &["creds", "info", acu]).await;
    assert!(
        info.contains("last used") && info.contains("(last successful use)"),
        "the cycle's sign-in is recorded: {info}"
    );

    // The daemon (here: this process) holds the store.
    let store = w.open_store().unwrap();
    let out = upsync(&w, &["creds", "info"]).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by the running daemon") && err.contains("stop the daemon"),
        "{err}"
    );
    drop(store);
}
