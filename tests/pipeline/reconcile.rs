//! Issue 15 item 1, end to end through `upsync bench --scenario reconcile`: Ship answers
//! lost after commit, UPS's reference index lagging 10 UPS-minutes, and another shipper
//! using the same ERP numbers. Nothing may be billed twice and nothing lost, whether
//! reconciliation waits out the index (default window) or gives up first and has to void
//! the late-indexed first label.

use crate::common;

use serde_json::Value;

fn bench(store_url: Option<String>, extra: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(common::bin());
    cmd.args([
        "bench",
        "--scenario",
        "reconcile",
        "--shipments",
        "60",
        "--drop-rate",
        "0.3",
        "--dir",
    ])
    .arg(dir.path())
    .args(extra)
    .env("UPSYNC_LOG", "error")
    .env_remove("UPSYNC_BENCH_STORE_URL");
    if let Some(url) = store_url {
        cmd.arg("--store-url").arg(url);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().last().expect("one JSON line");
    serde_json::from_str(line).unwrap()
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_the_default_window_lost_answers_are_found_not_reshipped(store_url) {
        let v = bench(store_url, &[]);
        assert!(v["drops"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v["reships"], 0, "{v}");
        assert_eq!(v["in_doubt_found"], v["drops"], "{v}");
        assert_eq!(v["duplicates_billed"], 0, "{v}");
        assert_eq!(v["lost"], 0, "{v}");
        assert_eq!(v["foreign_shipments_voided"], 0, "{v}");
    }
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_a_window_shorter_than_the_index_late_first_labels_are_voided(store_url) {
        let v = bench(store_url, &["--absent-after-minutes", "4"]);
        let reships = v["reships"].as_u64().unwrap();
        assert!(reships > 0, "{v}");
        assert!(v["late_duplicates_voided"].as_u64().unwrap() > 0, "{v}");
        assert_eq!(v["duplicates_billed"], 0, "{v}");
        assert_eq!(v["lost"], 0, "{v}");
        assert_eq!(v["inconsistent"], 0, "{v}");
        assert_eq!(v["foreign_shipments_voided"], 0, "{v}");
    }
}
