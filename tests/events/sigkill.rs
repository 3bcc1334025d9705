//! Issue 18's must-show: the outbound webhook survives SIGKILL of the daemon with nothing
//! lost or reordered per parcel, and the receiver can verify every signature.
//!
//! The real binary (`upsync run`) tracks the parcels of both ERPs in Track Alert v2 mode:
//! the UPS simulator pushes each scan to the daemon's webhook as the test moves the
//! simulator's clock. Every status change goes to a slow, flaky receiver (5xx, answers
//! after the timeout, 100–400 ms per answer) that verifies every signature. The daemon is
//! SIGKILLed several times while deliveries are in flight and started again. At the end
//! (daemon stopped with SIGTERM):
//! * per parcel, the receiver's events deduplicated by id are 1, 2, …, N with no gap, never
//!   an older event after a newer one, `previous_status` chaining;
//! * the last one is the parcel's final milestone in the tracker's state, and N is the
//!   last sequence number the outbox recorded for it (nothing recorded was lost);
//! * nothing is pending or dead in the outbox, and every signature verified.
//!
//! Loopback only; about a minute.

use std::process::{Child, Stdio};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::events_support::{check_order, one_in, Answer, Receiver};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use upsync::app::world::{World, WorldOptions};
use upsync::events::Outbox;
use upsync::model::Milestone;
use upsync::store::Tree;
use upsync::tracking::PackageTrack;

const PUSH_CLIENT: &str = "ups-push-client";
const PUSH_SECRET: &str = "ups-push-secret";
const HOOK_SECRET: &str = "receiver-signing-secret";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get_ok(http: &reqwest::Client, url: &str) -> bool {
    matches!(http.get(url).send().await, Ok(r) if r.status().is_success())
}

fn tail(path: &std::path::Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    log[log.len().saturating_sub(3000)..].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_daemon_loses_and_reorders_nothing_and_every_signature_verifies() {
    let mut rng = StdRng::seed_from_u64(18);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 5;
    o.netsuite_fulfillments = 5;
    o.ups_tick_ms = 0;
    o.tracking_mode = "track_alert".into();
    o.http_listen = format!("127.0.0.1:{port}");
    let w = World::start(o).await.unwrap();
    // A UPS simulator whose (portal-managed, v2) Track Alert destination is the daemon.
    let daemon = format!("http://127.0.0.1:{port}");
    let ups = upsync::sim::ups::spawn(upsync::sim::ups::UpsSimConfig {
        webhook: Some(upsync::sim::ups::WebhookConfig {
            url: format!("{daemon}/webhooks/ups/track-alert"),
            token_url: Some(format!("{daemon}/webhooks/ups/oauth/token")),
            client_id: Some(PUSH_CLIENT.into()),
            client_secret: Some(PUSH_SECRET.into()),
        }),
        // The world's two OAuth clients (accounts east and west).
        clients: upsync::app::world::ups_sim_clients(),
        ..Default::default()
    })
    .await
    .unwrap();

    let rx = Receiver::start(
        HOOK_SECRET,
        Arc::new(chrono::Utc::now),
        Arc::new(|_, ev, attempt| {
            if attempt <= 2 && one_in(5, &ev.id, attempt, 7) {
                Answer::Status(503)
            } else if attempt == 1 && one_in(9, &ev.id, attempt, 8) {
                Answer::After(Duration::from_millis(1500))
            } else {
                let ms = 100 + (ev.sequence * 37 + attempt as u64 * 53) % 300;
                Answer::Slow(Duration::from_millis(ms))
            }
        }),
    )
    .await;

    let mut config = std::fs::read_to_string(&w.config_path)
        .unwrap()
        .replace(&w.ups.base_url, &ups.base_url);
    if !config.contains("    version: v2\n") {
        config = config.replace(
            "tracking:\n  mode: track_alert\n",
            "tracking:\n  mode: track_alert\n  track_alert:\n    version: v2\n    credentials: ups-webhook\n",
        );
    }
    assert!(config.contains("version: v2"));
    std::fs::write(
        &w.config_path,
        format!(
            "{config}events:\n  webhooks:\n    - name: wms\n      url: \"{}/wms\"\n      secret: hook\n      max_attempts: 50\n      timeout_seconds: 1\n  deliveries_in_flight: 4\n  initial_backoff_seconds: 1\n  max_backoff_seconds: 2\n",
            rx.url
        ),
    )
    .unwrap();
    {
        let store = w.open_store().unwrap();
        for (name, json) in [
            (
                "ups-webhook",
                format!(r#"{{"client_id": "{PUSH_CLIENT}", "client_secret": "{PUSH_SECRET}"}}"#),
            ),
            ("hook", format!(r#"{{"secret": "{HOOK_SECRET}"}}"#)),
        ] {
            upsync::store::creds::Credentials::parse(&json)
                .unwrap()
                .save(&store, name)
                .unwrap();
        }
        store.flush().unwrap();
    }

    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_upsync"));
    // Ship everything first (one cycle per connector), so tracking starts with the daemon.
    let once = w.command(bin).arg("once").output().unwrap();
    assert!(
        once.status.success(),
        "{}",
        String::from_utf8_lossy(&once.stderr)
    );

    let log_path = dir.path().join("daemon.log");
    let http = reqwest::Client::new();
    let start = |rounds: u32| -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .unwrap();
        let _ = rounds;
        w.command(bin)
            .arg("run")
            .env("UPSYNC_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("upsync run starts")
    };
    let began = Instant::now();
    let parcels = {
        // Known once the daemon subscribed them; the ledger says how many now.
        let store = w.open_store().unwrap();
        let n = upsync::pipeline::Ledger::new(store)
            .jobs(None, Some(upsync::pipeline::JobState::Tracking))
            .filter_map(Result::ok)
            .map(|j| j.result.map_or(0, |r| r.packages.len()))
            .sum::<usize>();
        assert!(n >= 8, "{n} parcels shipped");
        n
    };

    // Twelve simulated days in 3-hour steps, spread over the daemon's lives.
    let mut steps_left = 12 * 8;
    let mut kills = 0;
    let mut kills_mid_delivery = 0;
    let mut round = 0;
    let mut child = loop {
        round += 1;
        let mut child = start(round);
        let up = Instant::now();
        while !get_ok(&http, &format!("{daemon}/healthz")).await {
            assert!(
                up.elapsed() < Duration::from_secs(30),
                "daemon did not come up; log:\n{}",
                tail(&log_path)
            );
            if let Ok(Some(s)) = child.try_wait() {
                panic!("daemon exited ({s}); log:\n{}", tail(&log_path));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        while ups
            .state
            .dump_subscriptions()
            .as_array()
            .map_or(0, Vec::len)
            < parcels
        {
            assert!(
                up.elapsed() < Duration::from_secs(60),
                "parcels not subscribed; log:\n{}",
                tail(&log_path)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if round > 5 || steps_left == 0 {
            break child;
        }
        let steps = if round == 5 {
            steps_left
        } else {
            rng.gen_range(8..24).min(steps_left)
        };
        for _ in 0..steps {
            ups.advance(chrono::Duration::hours(3)).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(50..250))).await;
        }
        steps_left -= steps;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..600))).await;
        // Until a kill has hit a delivery in flight, aim for one: wait (a little) for a
        // delivery to be under way instead of trusting the clock, which a loaded machine
        // stretches until every kill lands between deliveries.
        if kills_mid_delivery == 0 {
            let aim = Instant::now();
            while rx.in_flight.load(Ordering::SeqCst) == 0 && aim.elapsed() < Duration::from_secs(5)
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        if let Ok(Some(s)) = child.try_wait() {
            panic!("daemon exited by itself ({s}); log:\n{}", tail(&log_path));
        }
        if rx.in_flight.load(Ordering::SeqCst) > 0 {
            kills_mid_delivery += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // A killed daemon never logs out of Acumatica: let its sessions time out (20 min
        // idle on the simulator's clock) so the next life's ERP calls are not refused.
        w.acumatica
            .as_ref()
            .unwrap()
            .core
            .clock
            .advance(chrono::Duration::minutes(21));
    };

    // The last life: everything delivered, then a clean stop.
    let calm = Instant::now();
    loop {
        let done = {
            let per = check_order(&rx.arrivals("wms"));
            per.len() == parcels
                && per
                    .values()
                    .all(|v| v.last().is_some_and(|e| e.status.is_terminal()))
        };
        let metrics = http
            .get(format!("{daemon}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let pending_zero =
            metrics.contains("upsync_events_backlog{webhook=\"wms\",state=\"pending\"} 0.0");
        if done && pending_zero {
            break;
        }
        assert!(
            calm.elapsed() < Duration::from_secs(60),
            "not everything was delivered: {} parcels heard of; log:\n{}",
            check_order(&rx.arrivals("wms")).len(),
            tail(&log_path)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let stopped = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            stopped.elapsed() < Duration::from_secs(90),
            "no clean stop; log:\n{}",
            tail(&log_path)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let stop_secs = stopped.elapsed().as_secs_f64();
    if stop_secs > 10.0 {
        eprintln!("slow stop; log:\n{}", tail(&log_path));
    }
    let arrivals = rx.arrivals("wms");
    let invalid = rx.invalid.lock().unwrap().clone();
    assert!(
        invalid.is_empty(),
        "signatures that did not verify: {invalid:?}"
    );
    let per = check_order(&arrivals);
    let store = w.open_store().unwrap();
    let outbox = Outbox::reader(store.clone());
    let backlog = outbox.backlog().unwrap();
    assert!(
        backlog.values().all(|b| *b == Default::default()),
        "{backlog:?}"
    );
    let mut events = 0;
    for kv in store.tree(Tree::Tracking).scan_prefix(b"p/") {
        let (_, v) = kv.unwrap();
        let p: PackageTrack = serde_json::from_slice(&v).unwrap();
        let got = per
            .get(&p.tracking_number)
            .unwrap_or_else(|| panic!("no event for {}", p.tracking_number));
        let head = outbox.head(&p.tracking_number).unwrap().unwrap();
        assert_eq!(
            head.sequence,
            got.len() as u64,
            "{}: recorded {} events, received {}",
            p.tracking_number,
            head.sequence,
            got.len()
        );
        assert_eq!(
            got.last().unwrap().status,
            p.milestone,
            "{}",
            p.tracking_number
        );
        assert_eq!(head.status, p.milestone);
        assert!(p.milestone == Milestone::Delivered || p.milestone.is_terminal());
        events += got.len();
    }
    assert_eq!(per.len(), parcels);
    let (served_5xx, served_late) = *rx.failures_served.lock().unwrap();
    let duplicates = arrivals.len() - events;
    eprintln!(
        "events_sigkill: {parcels} parcels, {events} events, {} requests ({duplicates} repeats), \
         {served_5xx} answered 5xx, {served_late} answered after the timeout, {kills} SIGKILLs \
         ({kills_mid_delivery} with a delivery in flight), {:.1} s, clean stop {:.1} s",
        arrivals.len(),
        began.elapsed().as_secs_f64(),
        stop_secs
    );
    assert!(kills >= 4, "{kills} kills");
    assert!(kills_mid_delivery >= 1, "no kill hit a delivery in flight");
    assert!(served_5xx > 0 && served_late > 0);
}
