//! NetSuite write-back against the simulator: the fewest requests (issue 24) without
//! losing an edit or duplicating a package.
//!
//! What these guard: a record unchanged since it was read is written with one PATCH and
//! no GET (its package lines, carton numbers and references come from the copy read at
//! ingest, and one SuiteQL version check answers many write-backs); a record whose package
//! lines were edited after it was read is read again (GET) and keeps the edit; a retried
//! write-back never duplicates a package line (`?replace=<sublist>` with the full list).

use serde_json::{json, Value};

use upsync::model::{ErpRecord, WriteBack};
use upsync::sim::netsuite::{self as nssim, NetSuiteSimConfig, SimHandle};
use upsync::sources::netsuite::profile::RetryPolicy;
use upsync::sources::netsuite::{AuthMode, NetSuiteCredentials, NetSuiteProfile, NetSuiteSource};
use upsync::sources::{Cursor, Source};

fn source(h: &SimHandle) -> NetSuiteSource {
    let mut p = NetSuiteProfile::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/connectors/netsuite.yaml"
    )))
    .unwrap();
    p.base_url = Some(h.base_url.clone());
    p.auth = AuthMode::M2m;
    p.retry = RetryPolicy {
        max_attempts: 6,
        initial_backoff_ms: 5,
        max_backoff_ms: 50,
    };
    let creds = NetSuiteCredentials::M2m {
        client_id: nssim::DEMO_CLIENT_ID.into(),
        certificate_id: nssim::DEMO_CERTIFICATE_ID.into(),
        private_key_pem: nssim::DEMO_M2M_PRIVATE_KEY_PEM.into(),
    };
    NetSuiteSource::new("ns", p, creds).unwrap()
}

/// The shipped plan of `rec`: a 1Z per package line, a reference, confirm.
fn plan(rec: &ErpRecord) -> WriteBack {
    let lines = rec.data["packages"].as_array().unwrap();
    WriteBack {
        record_id: rec.id.clone(),
        fields: vec![(
            "custbody_ups_reference".into(),
            json!(format!("1Z{}", rec.id)),
        )],
        package_lines: lines
            .iter()
            .map(|p| {
                let line = p["line"].as_str().unwrap().to_string();
                let t = format!("1Z{}L{line}", rec.id);
                (line, vec![("packageTrackingNumber".into(), json!(t))])
            })
            .collect(),
        files: vec![],
        confirm_shipment: true,
        record_type: None,
    }
}

/// Edit a record through the simulator's control API (as a user saving it in NetSuite:
/// its `lastmodifieddate` becomes now).
async fn edit(h: &SimHandle, id: u64, change: impl FnOnce(&mut Vec<Value>)) {
    let f = h.sim.fulfillment(id).unwrap();
    let mut packages: Vec<Value> = f
        .packages
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect();
    change(&mut packages);
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/netsuite/fulfillments", h.base_url))
        .json(&json!({"id": id, "packages": packages}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

/// Multi-package UPS records read by one poll, with at least one of each package sublist
/// the simulator gives UPS ship methods (`package` and `packageUps`).
async fn read_multi_package(h: &SimHandle, src: &NetSuiteSource) -> Vec<ErpRecord> {
    let recs: Vec<ErpRecord> = src
        .poll(&Cursor::default())
        .await
        .unwrap()
        .records
        .into_iter()
        .filter(|r| r.data["packages"].as_array().unwrap().len() >= 2)
        .collect();
    let kinds: std::collections::BTreeSet<&str> = recs
        .iter()
        .map(|r| r.data["packages"][0]["sublist"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains("package") && kinds.contains("packageUps"),
        "{kinds:?}"
    );
    let _ = h;
    recs
}

#[tokio::test]
async fn an_unchanged_record_takes_one_patch_and_no_get_and_keeps_every_line_field() {
    let h = nssim::spawn(NetSuiteSimConfig {
        seed: 80,
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(&h);
    // Carton numbers and references set before the read travel with the copy.
    let first = {
        let probe = read_multi_package(&h, &src).await;
        let generic = probe
            .iter()
            .find(|r| r.data["packages"][0]["sublist"] == "package")
            .unwrap()
            .id
            .parse::<u64>()
            .unwrap();
        let ups = probe
            .iter()
            .find(|r| r.data["packages"][0]["sublist"] == "packageUps")
            .unwrap()
            .id
            .parse::<u64>()
            .unwrap();
        edit(&h, generic, |p| p[0]["carton"] = json!("CTN-1")).await;
        edit(&h, ups, |p| p[1]["reference1"] = json!("REF-2")).await;
        (generic, ups)
    };
    let recs = read_multi_package(&h, &src).await;
    let before: Vec<_> = recs
        .iter()
        .map(|r| h.sim.fulfillment(r.id.parse().unwrap()).unwrap())
        .collect();
    let (gets, patches, queries) = (
        h.core.stats.get("record_get"),
        h.core.stats.get("record_patch"),
        h.core.stats.get("suiteql"),
    );
    let plans: Vec<WriteBack> = recs.iter().map(plan).collect();
    let results = futures::future::join_all(
        recs.iter()
            .zip(&plans)
            .map(|(r, p)| src.write_back_from(p, r)),
    )
    .await;
    for r in results {
        r.unwrap();
    }
    assert_eq!(h.core.stats.get("record_get") - gets, 0, "no GET");
    assert_eq!(
        h.core.stats.get("record_patch") - patches,
        recs.len() as u64,
        "one PATCH per fulfilment"
    );
    assert_eq!(
        h.core.stats.get("suiteql") - queries,
        1,
        "one version check for all {} write-backs",
        recs.len()
    );
    let s = src.stats();
    assert_eq!(
        (s.lines_from_copy, s.lines_from_get),
        (recs.len() as u64, 0)
    );
    for (rec, was) in recs.iter().zip(&before) {
        let now = h.sim.fulfillment(was.id).unwrap();
        assert_eq!(now.packages.len(), was.packages.len(), "{}", rec.id);
        for (i, (a, b)) in now.packages.iter().zip(&was.packages).enumerate() {
            let want = format!("1Z{}L{}", rec.id, i + 1);
            assert_eq!(a.tracking.as_deref(), Some(want.as_str()));
            let mut a = a.clone();
            a.tracking = b.tracking.clone();
            assert_eq!(
                &a,
                b,
                "record {} line {}: only the 1Z changed",
                rec.id,
                i + 1
            );
        }
        assert_eq!(now.status, 'C');
    }
    let generic = h.sim.fulfillment(first.0).unwrap();
    assert_eq!(generic.packages[0].carton.as_deref(), Some("CTN-1"));
    let ups = h.sim.fulfillment(first.1).unwrap();
    assert_eq!(ups.packages[1].reference1.as_deref(), Some("REF-2"));
}

#[tokio::test]
async fn a_record_edited_after_it_was_read_is_read_again_and_keeps_the_edit() {
    let h = nssim::spawn(NetSuiteSimConfig {
        seed: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(&h);
    let recs = read_multi_package(&h, &src).await;
    // One record of each sublist kind: its warehouse re-weighs package 2 and renames it.
    let mut edited = Vec::new();
    for kind in ["package", "packageUps"] {
        let r = recs
            .iter()
            .find(|r| r.data["packages"][0]["sublist"] == kind)
            .unwrap();
        let id: u64 = r.id.parse().unwrap();
        edit(&h, id, |p| {
            p[1]["weight"] = json!(77.5);
            p[1]["descr"] = json!("re-packed");
        })
        .await;
        edited.push(r.clone());
    }
    let untouched = recs
        .iter()
        .find(|r| !edited.iter().any(|e| e.id == r.id))
        .unwrap();
    let gets = h.core.stats.get("record_get");
    for r in edited.iter().chain([untouched]) {
        src.write_back_from(&plan(r), r).await.unwrap();
    }
    assert_eq!(
        h.core.stats.get("record_get") - gets,
        2,
        "a GET for each edited record, none for the untouched one"
    );
    for r in &edited {
        let now = h.sim.fulfillment(r.id.parse().unwrap()).unwrap();
        assert_eq!(now.packages[1].weight, 77.5, "{}: the edit is kept", r.id);
        assert_eq!(now.packages[1].descr.as_deref(), Some("re-packed"));
        assert_eq!(
            now.packages.len(),
            r.data["packages"].as_array().unwrap().len()
        );
        for (i, p) in now.packages.iter().enumerate() {
            assert_eq!(
                p.tracking.as_deref(),
                Some(format!("1Z{}L{}", r.id, i + 1).as_str())
            );
        }
    }
}

#[tokio::test]
async fn a_retried_write_back_never_duplicates_a_package() {
    // The first PATCH commits and loses its answer: the connector sends it again, and the
    // pipeline's later retry of the whole write-back (same copy) must not append lines.
    let h = nssim::spawn(NetSuiteSimConfig {
        seed: 40,
        faults: "record_patch:drop-after-commit#1".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let src = source(&h);
    let recs = read_multi_package(&h, &src).await;
    for kind in ["package", "packageUps"] {
        let r = recs
            .iter()
            .find(|r| r.data["packages"][0]["sublist"] == kind)
            .unwrap();
        let n = r.data["packages"].as_array().unwrap().len();
        let gets = h.core.stats.get("record_get");
        for _ in 0..3 {
            src.write_back_from(&plan(r), r).await.unwrap();
        }
        assert_eq!(
            h.core.stats.get("record_get") - gets,
            2,
            "the first write-back from the copy; the retries see our own write and read"
        );
        let now = h.sim.fulfillment(r.id.parse().unwrap()).unwrap();
        assert_eq!(now.packages.len(), n, "{kind}: one line per package");
        for (i, p) in now.packages.iter().enumerate() {
            assert_eq!(
                p.tracking.as_deref(),
                Some(format!("1Z{}L{}", r.id, i + 1).as_str())
            );
        }
    }
    assert_eq!(
        h.core.stats.get("record_patch"),
        7,
        "6 write-backs + 1 resend"
    );
}
