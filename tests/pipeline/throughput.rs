//! Issue 24, through `upsync bench --scenario throughput` (the default mix, both ERPs): the
//! simulators run in a child process, so the line carries the daemon's peak RSS apart from
//! the simulators', ERP requests per shipment for each connector as well as overall, and
//! the usual audit (nothing lost, nothing shipped twice). No timing is asserted. On both
//! stores (`--store-url`: the ledger in a fresh PostgreSQL database).

use crate::common;

use serde_json::Value;

/// `upsync bench --scenario throughput ARGS` in a fresh directory: its JSON line.
fn throughput_line(args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["bench", "--scenario", "throughput"])
        .args(args)
        .arg("--dir")
        .arg(dir.path())
        .env("UPSYNC_LOG", "error")
        .env_remove("UPSYNC_BENCH_STORE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("one JSON line")).unwrap()
}

upsync::both_stores! {
    #[tokio::test]
    async fn the_line_tells_the_daemon_from_its_simulators_and_counts_erp_requests_per_connector(store_url) {
        let mut args = vec!["--shipments", "24"];
        if let Some(url) = &store_url {
            args.extend(["--store-url", url.as_str()]);
        }
        let line = throughput_line(&args);
        assert_eq!(line["simulators_in_child_process"], true, "{line}");
        assert_eq!(line["includes_simulators"], false, "{line}");
        assert!(line["upsync_peak_rss_mb"].as_f64().unwrap() > 0.0, "{line}");
        assert!(line["sim_peak_rss_mb"].as_f64().unwrap() > 0.0, "{line}");
        // The daemon's threads sleep between answers: at least once a shipment.
        assert!(
            line["upsync_wakeups_per_shipment"].as_f64().unwrap() >= 1.0,
            "{line}"
        );
        assert!(
            line.get("peak_rss_mb").is_none(),
            "no figure mixing both: {line}"
        );
        assert_eq!(line["duplicates"], 0, "{line}");
        assert_eq!(line["lost"], 0, "{line}");
        assert_eq!(line["inconsistent"], 0, "{line}");

        // Both connectors ran, each with its own figures, and they add up.
        let shipped = line["shipments"].as_i64().unwrap();
        assert!(shipped > 0, "{line}");
        let mut sum_shipments = 0;
        let mut sum_requests = 0;
        for c in ["acumatica", "netsuite"] {
            let l = &line["connectors"][c];
            let n = l["shipments"].as_i64().unwrap_or(0);
            let r = l["erp_requests"].as_i64().unwrap_or(0);
            assert!(n > 0, "{c}: {line}");
            // Every shipment costs at least its write-back; reads are shared (a list page,
            // a SuiteQL check for many write-backs) but there are some.
            assert!(
                l["erp_requests_per_shipment"].as_f64().unwrap() > 1.0,
                "{c}: {line}"
            );
            assert!(
                l["erp_requests_by_operation"].as_object().unwrap().len() > 1,
                "{c}: {line}"
            );
            assert!(l["seconds"].as_f64().is_some(), "{c}: {line}");
            // The phase split: the first cycle read the backlog and worked on it, and no
            // cycle's reading took longer than the cycle.
            let log = l["cycle_log"].as_array().unwrap_or_else(|| panic!("{c}: {line}"));
            let first = log[0].as_array().unwrap();
            assert!(first[2].as_f64().unwrap() > 0.0, "{c} read: {line}");
            assert!(first[3].as_f64().unwrap() > 0.0, "{c} processed: {line}");
            for cycle in log {
                let cycle = cycle.as_array().unwrap();
                assert!(cycle[0].as_f64().unwrap() <= cycle[1].as_f64().unwrap(), "{c}: {line}");
            }
            let reading = l["reading_seconds"].as_f64().unwrap();
            assert!(reading > 0.0 && reading <= l["seconds"].as_f64().unwrap(), "{c}: {line}");
            sum_shipments += n;
            sum_requests += r;
        }
        assert_eq!(sum_shipments, shipped, "{line}");
        assert_eq!(
            line["erp_requests"].as_i64().unwrap(),
            sum_requests,
            "{line}"
        );
        let overall = line["erp_requests_per_shipment"].as_f64().unwrap();
        assert!(
            (overall - sum_requests as f64 / shipped as f64).abs() < 0.01,
            "{line}"
        );
        // Acumatica's line also tells the confirm's status polls and the file PUTs apart
        // (docs/acumatica.md, "Requests per shipment").
        let a = &line["connectors"]["acumatica"];
        let f = |k: &str| a[k].as_f64().unwrap_or_else(|| panic!("{k}: {line}"));
        assert!(f("files_per_shipment") >= 1.0, "labels attached: {line}");
        assert!(
            f("action_status_polls_per_shipment") >= 1.0,
            "confirm polled: {line}"
        );
        // Each confirmation holds its session at least the simulator's running time (the
        // bench's 3 ms), and the ceiling per session follows from it.
        let held = f("action_held_ms_per_confirmation");
        assert!(held >= 3.0, "{line}");
        assert!(
            (f("confirmations_per_second_per_session") - 1000.0 / held).abs() < 1.0,
            "{line}"
        );
        let near = |x: f64, y: f64| (x - y).abs() < 0.02;
        assert!(
            near(
                f("erp_requests_per_shipment_with_polls"),
                f("erp_requests_per_shipment") + f("action_status_polls_per_shipment")
            ),
            "{line}"
        );
        assert!(
            near(
                f("erp_requests_per_shipment_one_file"),
                f("erp_requests_per_shipment") - f("files_per_shipment") + 1.0
            ),
            "{line}"
        );
        // The store's writes per shipment (deterministic, unlike CPU time): the ledger's
        // saves and the audit trail at least, each tree apart, adding up.
        let writes = line["store_writes_per_shipment"].as_f64().unwrap();
        assert!(writes > 5.0, "{line}");
        assert!(line["store_bytes_written_per_shipment"].as_f64().unwrap() > 1000.0, "{line}");
        let by_tree = line["store_writes_per_shipment_by_tree"].as_object().unwrap();
        assert!(by_tree["jobs"]["writes"].as_f64().unwrap() > 3.0, "{line}");
        assert!(by_tree["audit"]["writes"].as_f64().unwrap() >= 1.0, "{line}");
        let sum: f64 = by_tree.values().map(|t| t["writes"].as_f64().unwrap()).sum();
        assert!((sum - writes).abs() < 0.1, "{line}");
        // Memory is sampled while the jobs run.
        assert!(
            line["upsync_rss_mb_before"].as_f64().unwrap() > 0.0,
            "{line}"
        );
        assert!(
            !line["upsync_rss_mb_profile"].as_array().unwrap().is_empty(),
            "{line}"
        );
    }
}

/// `--acumatica-licence-sessions` raises the simulator's licence, so `sessions=3` signs in
/// three sessions (confirmations in two at once); the bundled trial licence of 2 would
/// refuse the third sign-in (`login.login_limit`).
#[tokio::test]
async fn a_larger_licence_lets_confirmations_run_in_more_sessions() {
    let line = throughput_line(&[
        "--mix",
        "acumatica",
        "--shipments",
        "40",
        "--acumatica-licence-sessions",
        "3",
        "--acumatica-set",
        "sessions=3",
        "--acumatica-concurrency",
        "4",
    ]);
    assert_eq!(line["acumatica_licence_sessions"], 3, "{line}");
    let ops = &line["acumatica_ops"];
    assert_eq!(ops["sessions.max_seen"], 3, "{line}");
    assert!(ops.get("login.login_limit").is_none(), "{line}");
    assert_eq!(line["duplicates"], 0, "{line}");
    assert_eq!(line["lost"], 0, "{line}");
}
