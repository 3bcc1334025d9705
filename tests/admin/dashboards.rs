//! The shipped dashboard and alert rules (issue 21 Must show): every metric
//! `ops/grafana/upsync.json` and `ops/prometheus/alerts.yaml` use is exported by a running
//! daemon's `/metrics`, and the rule file is valid (`promtool check rules` where promtool is
//! installed; `.ci/run` installs it and sets `UPSYNC_REQUIRE_PROMTOOL`).
//!
//! The daemon here is the real assembly over the simulators with every optional part on
//! (ERP push, an outbound webhook, a credential with an expiry date), after one cycle, so
//! families that exist only when configured are there too.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use upsync::app::wiring::{self, Current};

use crate::pipeline_support::*;

fn repo(rel: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// `upsync_…` names in a PromQL expression, without the exposition suffixes.
fn metric_names(expr: &str, out: &mut BTreeSet<String>) {
    let re_chars = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = expr;
    while let Some(i) = rest.find("upsync_") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !re_chars(c)).unwrap_or(tail.len());
        let mut name = &tail[..end];
        for suffix in ["_total", "_bucket", "_sum", "_count"] {
            if let Some(n) = name.strip_suffix(suffix) {
                name = n;
                break;
            }
        }
        out.insert(name.to_string());
        rest = &tail[end..];
    }
}

fn exprs_in(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => exprs_in(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| exprs_in(v, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_dashboard_and_the_alerts_is_exported() {
    let dir = tempfile::tempdir().unwrap();
    let w = Box::pin(start(options(dir.path(), 2, 2))).await;
    upsync::bench::push::enable(&w, 1).unwrap();
    let mut text = std::fs::read_to_string(&w.config_path).unwrap();
    text.push_str(
        "events:\n  webhooks:\n    - {name: wms, url: \"http://127.0.0.1:9/hook\", secret: wms-hook}\n",
    );
    std::fs::write(&w.config_path, text).unwrap();
    let store = w.open_store().unwrap();
    upsync::store::creds::Credentials::parse(r#"{"secret": "wms-signing-secret"}"#)
        .unwrap()
        .save(&store, "wms-hook")
        .unwrap();
    upsync::store::creds::CredentialMeta {
        expires_at: Some(chrono::Utc::now() + chrono::Duration::days(30)),
    }
    .save(&store, "ups")
    .unwrap();
    let a = Box::pin(w.assemble(store.clone())).await.unwrap();
    let current: Current = Arc::new(RwLock::new(Arc::new(a)));
    let a = current.read().unwrap().clone();
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    let exported: BTreeSet<String> = wiring::server_state(&current)
        .metrics
        .encode()
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_string)
        .collect();
    assert!(
        exported.contains("upsync_credential_expiry_seconds"),
        "{exported:?}"
    );

    // The alert rules: well formed, each with a summary, and their metrics exported.
    let rules: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo("ops/prometheus/alerts.yaml")).unwrap(),
    )
    .unwrap();
    let mut used = BTreeSet::new();
    let mut alerts = Vec::new();
    for g in rules["groups"].as_array().expect("groups") {
        for r in g["rules"].as_array().expect("rules") {
            let name = r["alert"].as_str().expect("alert name").to_string();
            let expr = r["expr"].as_str().expect("expr");
            assert!(
                r["annotations"]["summary"].is_string(),
                "{name}: no summary"
            );
            assert!(r["labels"]["severity"].is_string(), "{name}: no severity");
            let mut mine = BTreeSet::new();
            metric_names(expr, &mut mine);
            assert!(!mine.is_empty(), "{name} uses no upsync metric");
            used.extend(mine);
            alerts.push(name);
        }
    }
    for wanted in [
        "UpsyncLabelFailuresHigh",
        "UpsyncDeadLettersGrowing",
        "UpsyncTokenBudgetLow",
        "UpsyncCredentialExpiringSoon",
        "UpsyncTrackingStale",
        "UpsyncConnectorPaused",
        "UpsyncWebhookRejects",
    ] {
        assert!(
            alerts.iter().any(|a| a == wanted),
            "no {wanted} in {alerts:?}"
        );
    }

    // The dashboard: every panel has a title and queries; their metrics exported.
    let dash: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo("ops/grafana/upsync.json")).unwrap())
            .unwrap();
    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{} panels", panels.len());
    for p in panels {
        assert!(p["title"].is_string() && p["type"].is_string(), "{p}");
        assert!(!p["targets"].as_array().unwrap().is_empty(), "{p}");
    }
    let mut exprs = Vec::new();
    exprs_in(&dash, &mut exprs);
    for e in &exprs {
        metric_names(e, &mut used);
    }
    let missing: Vec<&String> = used.iter().filter(|m| !exported.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "used by the dashboard or the alerts but not exported: {missing:?}\nexported: {exported:?}"
    );

    // promtool, where installed.
    match std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(repo("ops/prometheus/alerts.yaml"))
        .output()
    {
        Ok(o) => assert!(
            o.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(_) => {
            assert!(
                std::env::var_os("UPSYNC_REQUIRE_PROMTOOL").is_none(),
                "UPSYNC_REQUIRE_PROMTOOL is set but promtool is not on PATH"
            );
            eprintln!("SKIPPED promtool check: not installed (apt-get install prometheus)");
        }
    }
}

/// The name extraction the check above relies on.
#[test]
fn metric_names_are_read_from_promql() {
    let mut s = BTreeSet::new();
    metric_names(
        "sum(rate(upsync_labels_total{outcome=\"failed\"}[5m])) / histogram_quantile(0.9, upsync_ship_latency_seconds_bucket) + upsync_jobs",
        &mut s,
    );
    assert_eq!(
        s.into_iter().collect::<Vec<_>>(),
        [
            "upsync_jobs",
            "upsync_labels",
            "upsync_ship_latency_seconds"
        ]
    );
}
