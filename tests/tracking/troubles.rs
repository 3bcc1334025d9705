//! Issue 18, must-show 1: weeks of tracking on the paused simulator clock (it moves only
//! when the harness advances it), with parcels that are delivered, fail an attempt and then
//! deliver, wait at a UPS Access Point, have an exception and then deliver, go back to the
//! sender, are never scanned, are unknown to UPS, or stall in transit. Each shows the right
//! status sequence on the ERP record in the mapping's words, with estimated delivery,
//! delivered-at, received-by and the signature where they apply.
//!
//! The harness is the demo's (`upsync demo --troubles`): the real simulators of UPS,
//! Acumatica and NetSuite, the daemon's own assembly and store, tracking by polling.

use std::collections::BTreeMap;
use std::time::Duration;

use upsync::app::demo::{execute, DemoOptions, ShipmentRow};
use upsync::mapping::Mapping;
use upsync::model::Milestone;

/// `needles` occur in `hay` in this order (other statuses may come between: a poll can
/// miss a short-lived one, never reorder them).
fn in_order(hay: &[String], needles: &[&str]) -> bool {
    let mut it = hay.iter();
    needles.iter().all(|n| it.any(|h| h == n))
}

fn mapping(file: &str) -> Mapping {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("mappings")
        .join(file);
    Mapping::load(&path).unwrap_or_else(|e| panic!("{file}: {e:?}"))
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn weeks_of_troubled_parcels_reach_the_erp_in_its_own_words(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = Vec::new();
        let o = execute(
            DemoOptions {
                shipments: 6,
                dir: dir.path().join("demo"),
                record_dir: None,
                deadline: Duration::from_secs(400),
                troubles: true,
                tracking: Default::default(),
                console: false,
                store_url,
            },
            &mut sink,
        )
        .await
        .unwrap();
        let log = String::from_utf8_lossy(&sink).to_string();
        assert!(
            o.simulated_days >= 10.0,
            "expired needs 10 quiet days\n{log}"
        );
        let words: BTreeMap<&str, Mapping> = [
            ("acumatica", mapping("acumatica-shipment.yaml")),
            ("netsuite", mapping("netsuite-itemfulfillment.yaml")),
            // Issue 20: the demo's return connectors speak their return mappings' words.
            ("acumatica-returns", mapping("acumatica-return.yaml")),
            (
                "netsuite-returns",
                mapping("netsuite-returnauthorization.yaml"),
            ),
        ]
        .into_iter()
        .collect();
        let by_scenario =
            |s: &str| -> Vec<&ShipmentRow> { o.rows.iter().filter(|r| r.scenario == s).collect() };
        for s in [
            "attempt_then_delivered",
            "access_point",
            "exception_then_delivered",
            "returned_to_sender",
            "never_scanned",
            "unknown",
            "stalled",
            "normal",
        ] {
            assert!(!by_scenario(s).is_empty(), "no {s} parcel\n{log}");
        }

        for r in &o.rows {
            let ctx = format!("{} {} ({}): {:?}", r.source, r.erp_number, r.scenario, r);
            // Final status, and the ERP record shows it in the mapping's word.
            assert_eq!(r.status, r.expected_status, "{ctx}");
            let m = Milestone::parse(&r.status).unwrap();
            assert_eq!(
                r.erp_status.as_deref(),
                Some(words[r.source.as_str()].status_value(m)),
                "{ctx}"
            );
            assert_eq!(
                r.status_history.first().map(String::as_str),
                Some("label_created"),
                "{ctx}"
            );
            assert_eq!(r.status_history.last(), Some(&r.status), "{ctx}");
            // Never the same status twice in a row (a repeat is not a change).
            assert!(r.status_history.windows(2).all(|w| w[0] != w[1]), "{ctx}");
            let h = &r.status_history;
            let delivered = r.status == "delivered";
            match r.scenario.as_str() {
                "attempt_then_delivered" => assert!(
                    in_order(
                        h,
                        &[
                            "out_for_delivery",
                            "delivery_attempted",
                            "out_for_delivery",
                            "delivered"
                        ]
                    ),
                    "{ctx}"
                ),
                "access_point" => {
                    assert!(in_order(h, &["available_for_pickup", "delivered"]), "{ctx}")
                }
                "exception_then_delivered" => {
                    assert!(in_order(h, &["exception", "delivered"]), "{ctx}")
                }
                "returned_to_sender" => assert!(
                    in_order(
                        h,
                        &[
                            "delivery_attempted",
                            "delivery_attempted",
                            "returned_to_sender"
                        ]
                    ),
                    "{ctx}"
                ),
                "never_scanned" => assert_eq!(h, &["label_created", "expired"], "{ctx}"),
                "unknown" => assert_eq!(h, &["label_created", "not_found", "expired"], "{ctx}"),
                "stalled" => assert!(in_order(h, &["in_transit", "expired"]), "{ctx}"),
                _ => assert!(in_order(h, &["in_transit", "delivered"]), "{ctx}"),
            }
            // Delivery details only where a delivery happened; the signature is kept and
            // reaches the ERP (an attached file on Acumatica, a field on NetSuite).
            assert_eq!(r.delivered_at.is_some(), delivered, "{ctx}");
            assert_eq!(r.received_by.is_some(), delivered, "{ctx}");
            assert_eq!(r.signature_file.is_some(), delivered, "{ctx}");
            assert_eq!(r.erp_signature.is_some(), delivered, "{ctx}");
            if let Some(f) = &r.signature_file {
                let bytes = std::fs::read(f).unwrap();
                assert!(bytes.starts_with(b"GIF8"), "{ctx}");
            }
            // UPS gave an estimate to every parcel it ever scanned or manifested.
            assert_eq!(
                r.estimated_delivery.is_some(),
                r.scenario != "unknown",
                "{ctx}"
            );
        }
        // An Access Point collection is signed by whoever picked it up.
        for r in by_scenario("access_point") {
            assert!(r.received_by.as_deref().is_some_and(|w| !w.is_empty()));
        }
        // The exception counters and live gauges saw the trouble.
        let m = &o.metrics;
        for status in [
            "delivery_attempted",
            "exception",
            "available_for_pickup",
            "expired",
            "not_found",
            "returned_to_sender",
        ] {
            let line = format!("upsync_tracking_status_entered_total{{status=\"{status}\"}}");
            let n: f64 = m
                .lines()
                .find(|l| l.starts_with(&line))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap_or(0.0);
            assert!(n >= 1.0, "{status}: {n}\n{m}");
        }
        assert!(
            m.lines().any(
                |l| l.starts_with("upsync_tracking_packages{status=\"expired\"} ")
                    && !l.ends_with(" 0")
            ),
            "{m}"
        );
    }
}
