//! `/metrics` after a demo-sized run exposes every family of issue 9: jobs by connector and
//! state, labels created/failed, Ship and end-to-end latency histograms, UPS and ERP
//! requests by API and status, 429s, token requests and daily budget remaining, dead-letter
//! backlog, tracking freshness, connector up/paused. A second run against a rate-limited
//! UPS simulator shows 429s counted, and freshness measured while parcels are in transit.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use upsync::app::demo::{execute, DemoOptions};
use upsync::app::wiring::{self, Current};
use upsync::app::world::{World, WorldOptions};

/// The value of the first sample line that starts with `prefix` (name plus labels).
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_after_a_demo_sized_run_expose_every_family() {
    let dir = tempfile::tempdir().unwrap();
    let mut sink = Vec::new();
    let o = execute(
        DemoOptions {
            shipments: 8,
            dir: dir.path().join("demo"),
            record_dir: None,
            deadline: Duration::from_secs(120),
            tracking: Default::default(),
            console: false,
            troubles: false,
            store_url: None,
        },
        &mut sink,
    )
    .await
    .unwrap();
    assert!(o.all_delivered(), "{}", String::from_utf8_lossy(&sink));
    let m = &o.metrics;
    // Every row is a shipment, and so is an automatic return (issue 20) shown in its
    // outbound row.
    let shipments = o
        .rows
        .iter()
        .map(|r| 1 + r.return_tracking_numbers.len().min(1))
        .sum::<usize>() as f64;
    // Ship calls: one per shipment, except the demo's 120-line order (issue 20), one row
    // sent as 3 UPS shipments: 2 calls more.
    let ship_calls = shipments + 2.0;

    // Every family, with its TYPE line.
    for (family, kind) in [
        ("upsync_jobs", "gauge"),
        ("upsync_labels", "counter"),
        ("upsync_ship_latency_seconds", "histogram"),
        ("upsync_end_to_end_seconds", "histogram"),
        ("upsync_ups_requests", "counter"),
        ("upsync_ups_rate_limited", "counter"),
        ("upsync_ups_token_requests", "counter"),
        ("upsync_ups_token_budget_remaining", "gauge"),
        ("upsync_erp_requests", "counter"),
        ("upsync_erp_rate_limited", "counter"),
        ("upsync_dead_letter_backlog", "gauge"),
        ("upsync_tracking_freshness_seconds", "gauge"),
        ("upsync_tracking_packages_in_transit", "gauge"),
        ("upsync_tracking_events", "counter"),
        ("upsync_connector_up", "gauge"),
        ("upsync_connector_paused", "gauge"),
    ] {
        assert!(
            m.contains(&format!("# TYPE {family} {kind}")),
            "no {kind} family {family} in\n{m}"
        );
    }

    // And the values agree with what happened.
    for c in ["acumatica", "netsuite"] {
        // An automatic return (issue 20) is a job of its outbound's connector, shown in
        // the outbound row's `return_tracking_numbers`.
        let n = o
            .rows
            .iter()
            .filter(|r| r.source == c)
            .map(|r| 1 + usize::from(!r.return_tracking_numbers.is_empty()))
            .sum::<usize>() as f64;
        assert_eq!(
            value(
                m,
                &format!("upsync_jobs{{connector=\"{c}\",state=\"delivered\"}}")
            ),
            Some(n),
            "{m}"
        );
        assert_eq!(
            value(m, &format!("upsync_connector_up{{connector=\"{c}\"}}")),
            Some(1.0)
        );
        assert_eq!(
            value(m, &format!("upsync_connector_paused{{connector=\"{c}\"}}")),
            Some(0.0)
        );
        assert!(
            sum(m, &format!("upsync_erp_requests_total{{connector=\"{c}\"")) > 0.0,
            "{c}: no ERP requests counted\n{m}"
        );
    }
    // Issue 19: freight billed at list because the account got no negotiated rate is
    // counted per connector, as are the figures written by basis (demo: WEST/location 2
    // ship with 456Y78, which UPS does not give contract rates).
    for c in ["acumatica", "netsuite"] {
        let rows = |basis: &str| {
            o.rows
                .iter()
                .filter(|r| r.source == c && r.freight_basis.as_deref() == Some(basis))
                .count() as f64
        };
        assert_eq!(
            value(
                m,
                &format!("upsync_freight_basis_fallback_total{{connector=\"{c}\"}}")
            )
            .unwrap_or(0.0),
            rows("list"),
            "{c}\n{m}"
        );
        for basis in ["account", "list"] {
            assert_eq!(
                value(
                    m,
                    &format!("upsync_freight_written_total{{connector=\"{c}\",basis=\"{basis}\"}}")
                )
                .unwrap_or(0.0),
                rows(basis),
                "{c} {basis}\n{m}"
            );
        }
    }
    assert!(
        o.rows
            .iter()
            .any(|r| r.freight_basis.as_deref() == Some("list"))
            && o.rows
                .iter()
                .any(|r| r.freight_basis.as_deref() == Some("account")),
        "the demo shows both bases"
    );
    assert!(
        sum(
            m,
            "upsync_erp_requests_total{connector=\"acumatica\",api=\"login\",status=\"20"
        ) >= 1.0,
        "{m}"
    );
    assert!(
        value(
            m,
            "upsync_erp_requests_total{connector=\"netsuite\",api=\"suiteql\",status=\"200\"}"
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    assert_eq!(
        value(m, "upsync_labels_total{outcome=\"created\"}"),
        Some(shipments)
    );
    assert_eq!(
        value(m, "upsync_labels_total{outcome=\"failed\"}"),
        Some(0.0)
    );
    assert_eq!(
        value(m, "upsync_ship_latency_seconds_count"),
        Some(ship_calls)
    );
    assert_eq!(value(m, "upsync_end_to_end_seconds_count"), Some(shipments));
    assert_eq!(
        sum(m, "upsync_ups_requests_total{api=\"ship\",status=\"200\","),
        ship_calls,
        "Ship calls of every UPS client (one `client` label per OAuth client)"
    );
    assert!(sum(m, "upsync_ups_requests_total{api=\"track\",status=\"200\",") > 0.0);
    // One token per OAuth client (the world has two: east and west).
    assert!(
        sum(m, "upsync_ups_token_requests_total{client=\"east\"}") >= 1.0,
        "{m}"
    );
    assert!(
        sum(m, "upsync_ups_token_requests_total{client=\"west\"}") >= 1.0,
        "{m}"
    );
    let budget = value(m, "upsync_ups_token_budget_remaining").unwrap();
    assert!(budget > 0.0 && budget < 250.0, "{budget}");
    assert_eq!(sum(m, "upsync_ups_rate_limited_total"), 0.0);
    assert_eq!(value(m, "upsync_dead_letter_backlog"), Some(0.0));
    assert_eq!(value(m, "upsync_tracking_packages_in_transit"), Some(0.0));
    assert!(value(m, "upsync_tracking_events_total{kind=\"polls\"}").unwrap_or(0.0) > 0.0);
    // No secrets or addresses in the exposition.
    assert!(!m.contains("demo-secret") && !m.contains("Timonium"));
}

async fn world(o: WorldOptions) -> (World, Arc<wiring::Assembly>, upsync::server::ServerState) {
    let w = World::start(o).await.unwrap();
    let store = w.open_store().unwrap();
    let a = Arc::new(w.assemble_on_sim_clock(store).await.unwrap());
    let current: Current = Arc::new(RwLock::new(a.clone()));
    let state = wiring::server_state(&current);
    (w, a, state)
}

async fn ship_everything(a: &wiring::Assembly) {
    for _ in 0..40 {
        for c in a.pipeline.connectors() {
            a.pipeline.run_cycle(c).await.unwrap();
        }
        let active: i64 = a
            .pipeline
            .ledger()
            .state_counts()
            .iter()
            .filter(|((_, s), _)| s.is_active())
            .map(|(_, n)| *n)
            .sum();
        if active == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("jobs still active after 40 cycles");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limited_ups_shows_429s_by_api_and_retries() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 4;
    o.netsuite_fulfillments = 0;
    o.ups_rate_limit = Some(3);
    let (_w, a, state) = world(o).await;
    ship_everything(&a).await;
    let m = state.metrics.encode().unwrap();
    let limited = sum(&m, "upsync_ups_rate_limited_total");
    assert!(
        limited > 0.0,
        "a 3 req/s simulator must answer 429 sometimes\n{m}"
    );
    let four29: f64 = m
        .lines()
        .filter(|l| l.starts_with("upsync_ups_requests_total{") && l.contains("status=\"429\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        four29, limited,
        "429s by API add up to the 429 counter\n{m}"
    );
    assert!(
        sum(&m, "upsync_ups_retries_total") > 0.0,
        "429s are retried\n{m}"
    );
    assert_eq!(value(&m, "upsync_dead_letter_backlog"), Some(0.0), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracking_freshness_is_measured_while_parcels_are_in_transit() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 4;
    o.netsuite_fulfillments = 0;
    o.ups_token_ttl_seconds = 60 * 86_400;
    let (w, a, state) = world(o).await;
    ship_everything(&a).await;
    a.tracker.scan_jobs().unwrap();
    // Two simulated days: picked up and in transit, nothing delivered yet.
    for _ in 0..24 {
        w.ups.advance(chrono::Duration::hours(2)).await;
        a.tracker.tick().await.unwrap();
    }
    // Forty minutes without a tick: every in-transit package is at least that stale.
    w.ups.advance(chrono::Duration::minutes(40)).await;
    let m = state.metrics.encode().unwrap();
    let in_transit = value(&m, "upsync_tracking_packages_in_transit").unwrap();
    assert!(in_transit > 0.0, "{m}");
    let max = value(&m, "upsync_tracking_freshness_seconds{quantile=\"max\"}").unwrap();
    let p50 = value(&m, "upsync_tracking_freshness_seconds{quantile=\"p50\"}").unwrap();
    assert!(p50 >= 40.0 * 60.0, "{p50}");
    assert!(max <= 2.0 * 86_400.0, "{max}");
    assert!(p50 <= max);
    assert!(value(&m, "upsync_tracking_events_total{kind=\"polls\"}").unwrap_or(0.0) > 0.0);
}
