//! Outbound events end to end, in process (issue 18): the real assembly (`wiring::assemble`)
//! on the UPS simulator's clock tracks the parcels of both ERPs to delivery, and every
//! status change reaches a real HTTP receiver that verifies every signature and
//! misbehaves (5xx, answers after the timeout). What must hold:
//! * per parcel, the receiver sees every status (deduplicated by event id) gap-free and in
//!   order, ending in the package's final milestone as the tracker has it;
//! * a webhook's `statuses` filter gives it only those (here: one `delivered` per parcel,
//!   the same event the other webhook got);
//! * a receiver that always fails gets each event `max_attempts` times, then the event is
//!   dead-lettered, counted on `/metrics`, listed by `upsync events list --state dead` and
//!   put back by `upsync events retry --all-dead`;
//! * nothing is left pending.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::events_support::{check_order, one_in, Answer, Receiver};
use upsync::app::world::{World, WorldOptions};
use upsync::events::{DeliveryState, Filter, Outbox};
use upsync::model::Milestone;

fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_upsync"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_status_reaches_each_webhook_in_order_signed_despite_failures() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 4;
    o.netsuite_fulfillments = 4;
    o.ups_tick_ms = 0;
    let w = World::start(o).await.unwrap();
    let core = w.ups.core.clone();
    let rx = Receiver::start(
        "hook-signing-secret",
        Arc::new(move || core.clock.now()),
        Arc::new(|webhook, ev, attempt| match webhook {
            "wms" if attempt <= 2 && one_in(4, &ev.id, attempt, 1) => Answer::Status(503),
            "wms" if attempt == 1 && one_in(8, &ev.id, attempt, 2) => {
                Answer::After(Duration::from_millis(1500))
            }
            "erp" if attempt == 1 => Answer::Status(500),
            "down" => Answer::Status(502),
            _ => Answer::Ok,
        }),
    )
    .await;
    let mut config = std::fs::read_to_string(&w.config_path).unwrap();
    config.push_str(&format!(
        r#"events:
  webhooks:
    - name: wms
      url: "{url}/wms"
      secret: hook
      timeout_seconds: 1
    - name: erp
      url: "{url}/erp"
      secret: hook
      statuses: [delivered]
    - name: down
      url: "{url}/down"
      secret: hook
      max_attempts: 2
  deliveries_in_flight: 4
  initial_backoff_seconds: 60
  max_backoff_seconds: 600
"#,
        url = rx.url
    ));
    std::fs::write(&w.config_path, config).unwrap();
    let store = w.open_store().unwrap();
    upsync::store::creds::Credentials::parse(r#"{"secret": "hook-signing-secret"}"#)
        .unwrap()
        .save(&store, "hook")
        .unwrap();

    let a = w.assemble_on_sim_clock(store.clone()).await.unwrap();
    let events = a.events.clone().expect("webhooks configured");
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    assert!(a.tracker.scan_jobs().unwrap() > 0);
    // Twelve simulated days, an hour per step; then a day for the last retries.
    for _ in 0..(13 * 24) {
        w.ups.advance(chrono::Duration::hours(1)).await;
        a.tracker.tick().await.unwrap();
        events.deliver_due().await.unwrap();
    }

    let invalid = rx.invalid.lock().unwrap().clone();
    assert!(
        invalid.is_empty(),
        "signatures that did not verify: {invalid:?}"
    );
    let (served_5xx, served_late) = *rx.failures_served.lock().unwrap();
    assert!(
        served_5xx > 10 && served_late > 0,
        "{served_5xx} {served_late}"
    );

    let packages = a.tracker.packages().unwrap();
    assert!(packages.len() >= 8, "{}", packages.len());
    let wms = check_order(&rx.arrivals("wms"));
    for p in &packages {
        assert_eq!(p.milestone, Milestone::Delivered, "{}", p.tracking_number);
        let got = wms
            .get(&p.tracking_number)
            .unwrap_or_else(|| panic!("no event for {}", p.tracking_number));
        let last = got.last().unwrap();
        assert_eq!(last.status, p.milestone, "{}", p.tracking_number);
        assert!(got.len() >= 2, "{}: {got:?}", p.tracking_number);
        assert!(last.delivered_at.is_some());
        assert_eq!(last.job_id, p.job_id);
        assert_eq!(last.erp.connector, p.connector);
        assert_eq!(last.erp.record_id, p.record_id);
        assert_eq!(
            events
                .outbox()
                .head(&p.tracking_number)
                .unwrap()
                .unwrap()
                .sequence,
            last.sequence,
            "the receiver has the parcel's last recorded event"
        );
    }
    assert_eq!(wms.len(), packages.len());
    // The filtered webhook: only `delivered`, the very same event, after a failed attempt.
    let erp_arrivals = rx.arrivals("erp");
    let erp = check_order_filtered(&erp_arrivals);
    assert_eq!(erp.len(), packages.len());
    for (tn, ev) in &erp {
        assert_eq!(ev.status, Milestone::Delivered);
        assert_eq!(ev.id, wms[tn].last().unwrap().id);
    }
    assert_eq!(erp_arrivals.len(), 2 * packages.len());

    // The receiver that always fails: each event twice, then dead.
    let recorded: usize = wms.values().map(Vec::len).sum();
    assert_eq!(rx.arrivals("down").len(), 2 * recorded);
    let backlog = events.outbox().backlog().unwrap();
    assert_eq!(backlog["wms"], Default::default());
    assert_eq!(backlog["erp"], Default::default());
    assert_eq!(backlog["down"].dead as usize, recorded);
    assert_eq!(backlog["down"].pending, 0);

    let current = Arc::new(RwLock::new(Arc::new(a)));
    let metrics = upsync::app::wiring::server_state(&current)
        .metrics
        .encode()
        .unwrap();
    for line in [
        format!("upsync_events_backlog{{webhook=\"down\",state=\"dead\"}} {recorded}.0"),
        "upsync_events_backlog{webhook=\"wms\",state=\"pending\"} 0.0".to_string(),
        format!("upsync_events_recorded_total{{}} {recorded}.0"),
        format!("upsync_events_dead_lettered_total{{webhook=\"down\"}} {recorded}.0"),
        format!(
            "upsync_events_attempts_total{{webhook=\"erp\",outcome=\"failed\"}} {}.0",
            packages.len()
        ),
    ] {
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    drop(current);
    drop(events);
    drop(store);

    // The command line, on the stopped daemon's state.
    let run = |args: &[&str]| {
        let out = w.command(&bin()).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["events", "list", "--state", "dead", "--webhook", "down"]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), recorded + 1, "{out}");
    assert!(out.contains("[HTTP 502]"), "{out}");
    let id = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let (ok, out, err) = run(&["events", "show", &id]);
    assert!(ok, "{err}");
    assert!(
        out.contains("\"sequence\"") && out.contains("down: dead after 2 attempt(s)"),
        "{out}"
    );
    assert!(!out.contains("hook-signing-secret"));
    let (ok, out, _) = run(&["events", "list", "--state", "delivered", "--webhook", "erp"]);
    assert!(ok);
    assert_eq!(out.lines().count(), packages.len() + 1, "{out}");
    let (ok, out, err) = run(&["events", "retry", "--all-dead", "--webhook", "down"]);
    assert!(ok, "{err}");
    assert_eq!(out.matches("pending again").count(), recorded, "{out}");
    let (ok, out, _) = run(&["events", "list", "--state", "dead"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, _, err) = run(&["events", "retry", &id]);
    assert!(!ok && err.contains("no dead-lettered delivery"), "{err}");
    let (ok, _, err) = run(&["events", "list", "--state", "lost"]);
    assert!(!ok && err.contains("pending, delivered, dead"), "{err}");
    let store = w.open_store().unwrap();
    let o = Outbox::reader(store);
    assert_eq!(
        o.deliveries(&Filter {
            state: Some(DeliveryState::Pending),
            webhook: Some("down".into()),
            ..Filter::default()
        })
        .unwrap()
        .len(),
        recorded
    );
}

/// A filtered webhook sees gaps in `sequence` (by design): per parcel, its distinct events
/// in arrival order must still only go forward. Returns the one event per parcel here.
fn check_order_filtered(
    arrivals: &[crate::events_support::Arrival],
) -> std::collections::BTreeMap<String, upsync::events::EventBody> {
    let mut out: std::collections::BTreeMap<String, upsync::events::EventBody> = Default::default();
    for a in arrivals {
        if let Some(prev) = out.get(&a.body.tracking_number) {
            assert!(a.body.sequence >= prev.sequence, "went back: {a:?}");
        }
        out.insert(a.body.tracking_number.clone(), a.body.clone());
    }
    out
}
