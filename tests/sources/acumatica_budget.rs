//! Issue 24: the Acumatica requests a shipment costs, counted by the simulator. A
//! write-back after the listing sends no read first (the listing's copy of the record,
//! `snapshot.rs`), tracking numbers and status go in one PUT, labels in one file per label
//! or one per shipment (`label_files`), the confirm only when configured, and a session is
//! reused across cycles (the simulator's login counter).

use std::collections::HashMap;

use serde_json::{json, Value};
use upsync::model::{WriteBack, WriteBackFile};
use upsync::sim::acumatica::{self as sim, AcumaticaSimConfig, SimHandle};
use upsync::sources::acumatica::{AcumaticaProfile, AcumaticaSource, LabelFiles};
use upsync::sources::{Cursor, Source};

use super::acumatica_fidelity::source;

fn profile(h: &SimHandle) -> AcumaticaProfile {
    let mut p = AcumaticaProfile::new(&h.base_url, "23.200.001", "Company");
    p.action_poll_interval_ms = 10;
    p.backoff_initial_ms = 10;
    p.backoff_max_ms = 100;
    p
}

/// Every record of every page, by id (wire form from the simulator's store).
async fn list_all(src: &AcumaticaSource, h: &SimHandle) -> Vec<Value> {
    let mut cursor = Cursor::default();
    let mut ids = Vec::new();
    for _ in 0..100 {
        let page = src.poll(&cursor).await.unwrap();
        ids.extend(page.records.iter().map(|r| r.id.clone()));
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    ids.iter().map(|id| h.state.shipment(id).unwrap()).collect()
}

/// The plan the bundled mapping makes after a Ship: a 1Z per package line, reference,
/// status and error fields, one ZPL label per package.
fn shipped_plan(rec: &Value, confirm: bool) -> WriteBack {
    let nbr = rec["ShipmentNbr"]["value"].as_str().unwrap();
    let mut lines = Vec::new();
    let mut files = Vec::new();
    for (i, p) in rec["Packages"].as_array().unwrap().iter().enumerate() {
        let tn = format!("1Z123X56{}{:04}", nbr, i);
        lines.push((
            p["id"].as_str().unwrap().to_string(),
            vec![("TrackingNbr".to_string(), json!(tn))],
        ));
        files.push(WriteBackFile {
            name: format!("{nbr}-{tn}.zpl"),
            data: format!("^XA^FD{tn}^XZ").into_bytes(),
        });
    }
    WriteBack {
        record_id: rec["id"].as_str().unwrap().to_string(),
        fields: vec![
            ("custom.Document.UsrUpsReference".into(), json!("1ZREF")),
            (
                "custom.Document.UsrUpsStatus".into(),
                json!("Label Created"),
            ),
            ("custom.Document.UsrUpsError".into(), json!("")),
        ],
        package_lines: lines,
        files,
        confirm_shipment: confirm,
        record_type: None,
    }
}

fn counts(h: &SimHandle) -> HashMap<&'static str, u64> {
    ["login", "logout", "list", "get", "put", "files", "action"]
        .into_iter()
        .map(|k| (k, h.core.stats.get(k)))
        .collect()
}

/// Guards the request budget of the default write-back: after the listing, each shipment
/// costs exactly one PUT and one file PUT per label, and **no GET of the record** (the
/// pre-read this issue removed: it fails if it comes back). A second write-back of the
/// same record, having no listing copy left, reads first and then sends nothing.
#[tokio::test]
async fn a_listed_shipment_is_written_back_without_reading_it_again() {
    let h = sim::spawn(AcumaticaSimConfig {
        seed: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(profile(&h));
    let recs = list_all(&src, &h).await;
    assert!(recs.len() >= 20, "{}", recs.len());
    let before = counts(&h);
    let mut labels = 0;
    for rec in &recs {
        let plan = shipped_plan(rec, false);
        labels += plan.files.len() as u64;
        let out = src.write_back_report(&plan).await.unwrap();
        assert_eq!(out.files_written, plan.files.len());
        assert!(!out.confirmed, "not configured to confirm");
    }
    let after = counts(&h);
    let n = recs.len() as u64;
    assert_eq!(after["get"] - before["get"], 0, "no read before a write");
    assert_eq!(after["put"] - before["put"], n, "one PUT per shipment");
    assert_eq!(
        after["files"] - before["files"],
        labels,
        "one file PUT per label"
    );
    assert_eq!(after["action"], 0, "no confirm unless configured");
    assert_eq!(src.write_back_reads(), (n, 0));
    for rec in &recs {
        let now = h.state.shipment(rec["id"].as_str().unwrap()).unwrap();
        for p in now["Packages"].as_array().unwrap() {
            assert!(p["TrackingNbr"]["value"]
                .as_str()
                .unwrap()
                .starts_with("1Z"));
        }
        assert_eq!(
            now["custom"]["Document"]["UsrUpsStatus"]["value"],
            "Label Created"
        );
    }

    // Again: no listing copy now, so one read, and nothing else to send.
    let plan = shipped_plan(&recs[0], false);
    let out = src.write_back_report(&plan).await.unwrap();
    assert!(out.nothing_to_do(), "{out:?}");
    let again = counts(&h);
    assert_eq!(again["get"] - after["get"], 1);
    assert_eq!(again["put"], after["put"]);
    assert_eq!(again["files"], after["files"]);
    src.close().await;
}

/// Guards `label_files: per_shipment`: a multi-package shipment's ZPL labels go in one
/// file PUT, concatenated in package order, named `{ShipmentNbr}-{first 1Z}-labels.zpl`.
#[tokio::test]
async fn per_shipment_label_files_attach_one_file_for_all_packages() {
    let h = sim::spawn(AcumaticaSimConfig {
        seed: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p = profile(&h);
    p.label_files = LabelFiles::PerShipment;
    let src = source(p);
    let recs = list_all(&src, &h).await;
    let rec = recs
        .iter()
        .find(|r| r["Packages"].as_array().unwrap().len() >= 3)
        .expect("a multi-package shipment");
    let plan = shipped_plan(rec, false);
    let files_before = h.core.stats.get("files");
    let out = src.write_back_report(&plan).await.unwrap();
    assert_eq!(out.files_written, 1);
    assert_eq!(h.core.stats.get("files") - files_before, 1);
    let nbr = rec["ShipmentNbr"]["value"].as_str().unwrap();
    let files = h.state.files_of(rec["id"].as_str().unwrap());
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(
        files[0].0.contains(&format!("{nbr}-1Z")) && files[0].0.ends_with("-labels.zpl"),
        "{files:?}"
    );
    let want: usize = plan.files.iter().map(|f| f.data.len()).sum::<usize>() + plan.files.len() - 1;
    assert_eq!(files[0].1, want, "every label, newline-separated");
    // Idempotent: the same plan again attaches nothing new.
    let out = src.write_back_report(&plan).await.unwrap();
    assert_eq!(out.files_written, 0, "{out:?}");
    src.close().await;
}

/// Guards "confirm only when configured": no `ConfirmShipment` without the plan or the
/// profile asking; with either, one per shipment, and none for a shipment the listing saw
/// already confirmed.
#[tokio::test]
async fn confirm_runs_only_when_configured() {
    let h = sim::spawn(AcumaticaSimConfig {
        seed: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(profile(&h));
    let recs = list_all(&src, &h).await;
    src.write_back_report(&shipped_plan(&recs[0], false))
        .await
        .unwrap();
    assert_eq!(h.core.stats.get("action"), 0);
    let out = src
        .write_back_report(&shipped_plan(&recs[1], true))
        .await
        .unwrap();
    assert!(out.confirmed);
    assert_eq!(h.core.stats.get("action"), 1);
    assert_eq!(
        h.state.shipment(recs[1]["id"].as_str().unwrap()).unwrap()["Status"]["value"],
        "Confirmed"
    );
    src.close().await;

    let mut p = profile(&h);
    p.confirm_shipment = true;
    let src = source(p);
    let recs = list_all(&src, &h).await;
    let out = src
        .write_back_report(&shipped_plan(&recs[0], false))
        .await
        .unwrap();
    assert!(out.confirmed, "the profile asks");
    assert_eq!(h.core.stats.get("action"), 2);
    src.close().await;
}

/// Guards session reuse: consecutive cycles share one sign-in (the simulator's login
/// counter stays at 1) while `keep_session_seconds` > 0; with 0 every cycle signs in and
/// out; `close()` always logs out.
#[tokio::test]
async fn cycles_reuse_one_session() {
    let h = sim::spawn(AcumaticaSimConfig {
        seed: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(profile(&h));
    for _ in 0..3 {
        src.poll(&Cursor::default()).await.unwrap();
        src.cycle_done().await;
    }
    assert_eq!(h.core.stats.get("login"), 1, "one sign-in for three cycles");
    assert_eq!(h.state.open_sessions(), 1, "kept for the next cycle");
    src.close().await;
    assert_eq!(h.state.open_sessions(), 0);

    let mut p = profile(&h);
    p.keep_session_seconds = 0;
    let src = source(p);
    for _ in 0..3 {
        src.poll(&Cursor::default()).await.unwrap();
        src.cycle_done().await;
    }
    assert_eq!(h.core.stats.get("login"), 4, "one sign-in per cycle");
    assert_eq!(h.state.open_sessions(), 0);
}

/// Guards the second session (`sessions: 2`): confirms run in a session of their own, so
/// reads and writes never meet the busy form ("previous operation has not been
/// completed", ERP-NOTES §A4) and the licence's two sessions are not exceeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirms_run_in_their_own_session_beside_reads_and_writes() {
    let h = sim::spawn(AcumaticaSimConfig {
        seed: 60,
        ..Default::default()
    })
    .await
    .unwrap();
    let mut p = profile(&h);
    p.sessions = 2;
    p.concurrency = 4;
    let src = std::sync::Arc::new(source(p));
    let recs = list_all(&src, &h).await;
    let mut tasks = tokio::task::JoinSet::new();
    for rec in recs.iter().take(12) {
        let src = src.clone();
        let plan = shipped_plan(rec, true);
        tasks.spawn(async move { src.write_back_report(&plan).await.unwrap() });
    }
    let lister = src.clone();
    tasks.spawn(async move {
        for _ in 0..5 {
            lister.poll(&Cursor::default()).await.unwrap();
        }
        Default::default()
    });
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert_eq!(h.core.stats.get("action"), 12);
    assert_eq!(h.core.stats.get("busy"), 0, "no request met a busy form");
    assert_eq!(h.state.max_sessions_seen(), 2);
    for rec in recs.iter().take(12) {
        assert_eq!(
            h.state.shipment(rec["id"].as_str().unwrap()).unwrap()["Status"]["value"],
            "Confirmed"
        );
    }
    src.close().await;
    assert_eq!(h.state.open_sessions(), 0);
}
