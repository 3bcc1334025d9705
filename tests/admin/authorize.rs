//! UPS authorization-code OAuth (issue 21 Must show: "`creds authorize` against the
//! simulator end to end, including a refresh-token expiry").
//!
//! * [`creds_authorize_takes_the_redirect_or_the_paste_and_ships`]: the command prints the
//!   login URL, its loopback listener receives the simulator's redirect (PKCE), `--paste`
//!   takes the address instead (plain flow); the tokens land encrypted in the vault entry,
//!   nothing secret in the output; the exchange counts in the token budget; `once` ships
//!   through the authorized account without a client-credentials token.
//! * [`access_refresh_then_refresh_token_expiry_pauses_and_reauthorize_resumes`]: on the
//!   simulator's clock, the access token is refreshed as it expires; a refresh token UPS
//!   does not extend warns in the 7-day window, then the connector pauses with "run `upsync
//!   creds authorize ups NAME` again", and a new authorization resumes it; a revoked grant
//!   pauses it with the same fix.

use std::sync::Arc;

use chrono::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use upsync::app::credentials::{inventory, ExpiryState};
use upsync::store::creds::{CredentialMeta, Credentials};
use upsync::ups::authcode;

use crate::pipeline_support::*;

/// Put the `east` account (vault entry `ups`, the demo client) on the authorization code.
fn use_authorization_code(w: &upsync::app::world::World) {
    let text = std::fs::read_to_string(&w.config_path).unwrap();
    let from = "credentials: ups}";
    assert!(text.contains(from), "world config changed: adapt the test");
    std::fs::write(
        &w.config_path,
        text.replace(from, "credentials: ups, auth: authorization_code}"),
    )
    .unwrap();
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Open the login URL as a browser would: the simulator logs in and consents, and answers
/// with the redirect to the `redirect_uri`.
async fn login(url: &str) -> String {
    let r = no_redirects().get(url).send().await.unwrap();
    assert_eq!(r.status(), 302, "{url}");
    r.headers()["location"].to_str().unwrap().to_string()
}

/// A running `creds authorize`: the child, the login URL it printed, its stdout so far and
/// a task reading the rest.
struct Running {
    child: tokio::process::Child,
    url: String,
    head: Vec<String>,
    tail: tokio::task::JoinHandle<Vec<String>>,
}

/// Start `creds authorize ups ups ARGS…` and wait for the login URL.
async fn start_authorize(w: &upsync::app::world::World, extra: &[&str]) -> Running {
    let mut args = vec!["creds", "authorize", "ups", "ups"];
    args.extend_from_slice(extra);
    let mut cmd = command(w, &args);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut head = Vec::new();
    let url = tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while let Some(l) = lines.next_line().await.unwrap() {
            head.push(l.clone());
            if let Some(u) = l.trim().strip_prefix("http") {
                return format!("http{u}");
            }
        }
        panic!("no login URL printed: {head:?}");
    })
    .await
    .expect("the login URL within 60 s");
    let tail = tokio::spawn(async move {
        let mut out = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            out.push(l);
        }
        out
    });
    Running {
        child,
        url,
        head,
        tail,
    }
}

/// Wait for the command to succeed; returns everything it printed (stdout + stderr).
async fn finish(mut r: Running) -> String {
    use tokio::io::AsyncReadExt;
    let mut err = String::new();
    if let Some(mut e) = r.child.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), r.child.wait())
        .await
        .expect("creds authorize finishes")
        .unwrap();
    r.head.extend(r.tail.await.unwrap());
    let all = format!("{}\n{err}", r.head.join("\n"));
    assert!(status.success(), "creds authorize failed:\n{all}");
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creds_authorize_takes_the_redirect_or_the_paste_and_ships() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 3, 0))).await;
    use_authorization_code(&w);

    // Before the login, `check` says what to run.
    let out = upsync(&w, &["check"]).await;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("upsync creds authorize ups ups"), "{text}");

    // 1. The loopback listener receives the redirect (PKCE by default).
    let run = start_authorize(&w, &[]).await;
    let url = run.url.clone();
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("state="),
        "{url}"
    );
    let location = login(&url).await;
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    let code = authcode::read_redirect(&location).unwrap().code;
    let page = reqwest::get(&location).await.unwrap();
    assert_eq!(page.status(), 200, "the listener answers the browser");
    let all = finish(run).await;
    assert!(all.contains("authorized `ups`"), "{all}");
    assert!(!all.contains(&code), "the code is never printed: {all}");
    let stats = w.ups.stats();
    assert_eq!(stat(&stats, "authcode.exchanged"), 1);

    // 2. --paste (plain flow, Basic): the address the browser landed on, pasted.
    let mut run = start_authorize(&w, &["--paste", "--no-pkce"]).await;
    assert!(!run.url.contains("code_challenge"), "{}", run.url);
    let location = login(&run.url).await;
    let code = authcode::read_redirect(&location).unwrap().code;
    let mut stdin = run.child.stdin.take().unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let all = finish(run).await;
    assert!(
        all.contains("authorized `ups`") && !all.contains(&code),
        "{all}"
    );
    assert_eq!(stat(&w.ups.stats(), "authcode.exchanged"), 2);

    // The tokens are in the vault entry (encrypted with the rest), the end in the meta.
    {
        let store = w.open_store().unwrap();
        let c = Credentials::load(&store, "ups").unwrap().unwrap();
        for f in [
            "client_id",
            "client_secret",
            "access_token",
            "refresh_token",
            "refresh_token_expires_at",
        ] {
            assert!(c.get(f).is_some_and(|v| !v.is_empty()), "{f}: {c:?}");
        }
        let end = CredentialMeta::load(&store, "ups")
            .unwrap()
            .expires_at
            .unwrap();
        let left = end - chrono::Utc::now();
        assert!(
            left > Duration::days(6) && left <= Duration::seconds(604_799),
            "{left}"
        );
        let today = chrono::Utc::now().date_naive();
        assert_eq!(
            upsync::app::adapters::token_store::token_requests_on(&store, "demo-client", today),
            2,
            "each exchange counts in the client's token budget"
        );
        let refresh = c.get("refresh_token").unwrap().to_string();
        drop(c);
        drop(store);
        // Nothing in `creds info` or `creds list` shows it.
        let info = upsync_ok(&w, &["creds", "info", "ups"]).await;
        assert!(
            info.contains("authorization code") && info.contains("refresh    token until"),
            "{info}"
        );
        assert!(info.contains("last used"), "{info}");
        assert!(!info.contains(&refresh), "{info}");
    }

    // 3. A cycle ships through the authorized account with the stored access token: the
    // demo client never asks for a client-credentials token.
    upsync_ok(&w, &["once"]).await;
    let shipped = w.ups.shipments();
    assert!(
        shipped
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["shipper_number"] == "123X56"),
        "{shipped}"
    );
    let stats = w.ups.stats();
    assert_eq!(
        stat(&stats, "token.issued.demo-client"),
        2,
        "only the two exchanges: {stats:?}"
    );
}

/// Authorize `ups` without the command (the daemon's store is open in this process):
/// PKCE login against the simulator, exchange, store.
async fn authorize_in_process(w: &upsync::app::world::World, store: &upsync::store::Store) {
    let redirect = "http://127.0.0.1:9/callback";
    let pkce = authcode::Pkce::generate();
    let url = authcode::authorize_url(
        &w.ups.base_url,
        "demo-client",
        redirect,
        "st",
        None,
        Some(&pkce.challenge),
    )
    .unwrap();
    let r = authcode::read_redirect(&login(&url).await).unwrap();
    assert_eq!(r.state.as_deref(), Some("st"));
    let t = authcode::exchange_code(
        &no_redirects(),
        &w.ups.base_url,
        &upsync::ups::UpsCredentials::new("demo-client", "demo-secret"),
        &r.code,
        redirect,
        Some(&pkce.verifier),
        w.ups.core.clock.now(),
    )
    .await
    .unwrap();
    upsync::app::adapters::grant_store::save_tokens(store, "ups", &t).unwrap();
}

fn state(
    w: &upsync::app::world::World,
    store: &upsync::store::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> ExpiryState {
    inventory(&w.config().unwrap(), store, now)
        .into_iter()
        .find(|i| i.name == "ups")
        .unwrap()
        .state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_refresh_then_refresh_token_expiry_pauses_and_reauthorize_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 2, 0))).await;
    use_authorization_code(&w);
    // UPS keeps the refresh token's end on refresh here (the other documented-open case
    // rotates; the simulator's unit tests cover both): a 10-day authorization.
    w.ups.state.authcode.set_rotate(false);
    w.ups.state.authcode.set_refresh_ttl(10 * 86_400);
    let store = w.open_store().unwrap();
    authorize_in_process(&w, &store).await;
    let a = Box::pin(w.assemble_on_sim_clock(store.clone()))
        .await
        .unwrap();
    let conn = a.pipeline.connectors()[0].clone();
    let clock = &w.ups.core.clock;

    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none() && r.jobs_created >= 1, "{r:?}");
    assert_eq!(
        stat(&w.ups.stats(), "refresh.issued"),
        0,
        "the stored access token is used"
    );
    assert_eq!(state(&w, &store, a.pipeline.now()), ExpiryState::Valid);

    // The access token expires (4 h): the next call refreshes it.
    clock.advance(Duration::hours(5));
    add_acumatica_shipment(&w).await;
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none(), "{r:?}");
    assert_eq!(stat(&w.ups.stats(), "refresh.issued"), 1);
    let c = Credentials::load(&store, "ups").unwrap().unwrap();
    assert_eq!(
        c.get("refresh_token_renewable"),
        Some("no"),
        "UPS did not extend it"
    );
    assert_eq!(c.get("refresh_count"), Some("1"));
    drop(c);

    // Inside the 7-day window: a warning (UPS will not extend it), not yet a pause.
    clock.advance(Duration::days(4));
    assert_eq!(state(&w, &store, a.pipeline.now()), ExpiryState::Expiring);
    assert!(
        upsync::app::credentials::warn_expiring(&w.config().unwrap(), &store, a.pipeline.now())
            >= 1
    );
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none(), "expiring is not expired: {r:?}");

    // Past its end: the connector pauses with the fix, without calling anyone.
    clock.advance(Duration::days(6));
    assert_eq!(state(&w, &store, a.pipeline.now()), ExpiryState::Expired);
    let ships = stat(&w.ups.stats(), "ship");
    add_acumatica_shipment(&w).await;
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    let reason = r.paused.expect("paused");
    assert!(
        reason.contains("run `upsync creds authorize ups ups` again"),
        "{reason}"
    );
    assert_eq!(r.records_read, 0);
    assert_eq!(stat(&w.ups.stats(), "ship"), ships);

    // A new authorization resumes it (read at the next cycle; no restart).
    authorize_in_process(&w, &store).await;
    clock.advance(Duration::minutes(10));
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    assert!(r.paused.is_none(), "{r:?}");
    assert!(r.records_read >= 1, "{r:?}");
    assert!(stat(&w.ups.stats(), "ship") > ships, "shipping again");
    assert_eq!(
        state(&w, &store, a.pipeline.now()),
        ExpiryState::Valid,
        "a fresh 10-day authorization"
    );

    // Revoked by the shipper: the refresh fails, the connector pauses with the same fix.
    w.ups.state.revoke_grants();
    clock.advance(Duration::hours(5));
    add_acumatica_shipment(&w).await;
    let r = a.pipeline.run_cycle(&conn).await.unwrap();
    let reason = r
        .paused
        .or_else(|| conn.health.paused_reason())
        .expect("paused after the revocation");
    assert!(
        reason.contains("revoked") && reason.contains("creds authorize ups ups"),
        "{reason}"
    );
    let _ = Arc::clone(&store);
}
