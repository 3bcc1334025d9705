//! Tests of the job ledger (`ledger.rs`).

use super::*;

fn record(v: &str) -> ErpRecord {
    ErpRecord {
        source: "acu".into(),
        id: "guid-1".into(),
        number: "000123".into(),
        version: v.into(),
        modified: Utc::now(),
        data: serde_json::json!({}),
    }
}

#[test]
fn save_indexes_current_job_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store);
    let now = Utc::now();
    let mut j = Job::new(record("v1"), now);
    l.save(&j).unwrap();
    assert_eq!(l.current_for("acu", "guid-1").unwrap().unwrap().id, j.id);
    j.last_error = Some(Failure {
        class: ErrorClass::Business,
        code: "address_invalid".into(),
        message: "no candidates".into(),
        at: now,
    });
    j.transition(JobState::Failed, "address_invalid", now);
    l.save(&j).unwrap();
    assert_eq!(l.dead_letters().unwrap().len(), 1);
    j.transition(JobState::Seen, "replay", now);
    l.save(&j).unwrap();
    assert!(l.dead_letters().unwrap().is_empty());
    assert_eq!(l.jobs(Some("acu"), Some(JobState::Seen)).count(), 1);
    assert_eq!(l.jobs(Some("other"), None).count(), 0);
    assert_eq!(l.active_ids("acu").unwrap(), vec![j.id.clone()]);
    let counts = l.state_counts();
    assert_eq!(counts.get(&("acu".to_string(), JobState::Seen)), Some(&1));
    assert_eq!(counts.get(&("acu".to_string(), JobState::Failed)), Some(&0));
    // Counts survive a reopen (rebuilt from the index).
    let l2 = Ledger::new(l.store.clone());
    assert_eq!(
        l2.state_counts().get(&("acu".to_string(), JobState::Seen)),
        Some(&1)
    );
    assert_eq!(j.timeline.len(), 3);
}

#[test]
fn delivered_jobs_are_stored_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store);
    let now = Utc::now();
    let mut j = Job::new(
        ErpRecord {
            data: serde_json::json!({"ShipTo": {"AddressLine1": "1 Main St"}}),
            ..record("v1")
        },
        now,
    );
    j.result = Some(sample_result(2048));
    j.transition(JobState::Tracking, "", now);
    l.save(&j).unwrap();
    let tracking = l.get(&j.id).unwrap().unwrap();
    assert!(
        !tracking.compacted,
        "a job still in transit keeps everything"
    );
    assert!(tracking.result.as_ref().unwrap().packages[0]
        .label
        .is_some());
    // What the ledger stores for the job: its record plus its label entry.
    let size = |job: &Job| {
        let raw = |k: String| {
            l.store()
                .tree(Tree::Jobs)
                .get(k)
                .unwrap()
                .map_or(0, |v| v.len())
        };
        raw(format!("j/{}", job.id)) + raw(crate::pipeline::stored_labels::labels_key(&job.id))
    };
    let before = size(&tracking);
    j.transition(JobState::Delivered, "tracking: 1 delivered", now);
    l.save(&j).unwrap();
    let done = l.get(&j.id).unwrap().unwrap();
    assert!(done.compacted);
    assert_eq!(done.record.data, serde_json::Value::Null, "no ERP copy");
    let p = &done.result.as_ref().unwrap().packages[0];
    assert_eq!(p.tracking_number, "1Z999AA10123456784", "tracking kept");
    assert!(p.label.is_none(), "label bytes dropped");
    let d = &done.result.as_ref().unwrap().documents[0];
    assert!(
        d.data.is_empty() && d.file_name.ends_with("-invoice.pdf"),
        "invoice bytes dropped, name kept"
    );
    assert_eq!(done.timeline.len(), 3, "audit trail kept");
    assert!(size(&done) < before / 2, "{} vs {before}", size(&done));
    assert!(
        l.store()
            .tree(Tree::Jobs)
            .get(crate::pipeline::stored_labels::labels_key(&j.id))
            .unwrap()
            .is_none(),
        "the label entry goes with compaction"
    );
}

/// A shipped result: one package with a GIF label of `label_len` bytes and a 2 KiB invoice.
fn sample_result(label_len: usize) -> crate::model::ShipResult {
    use crate::model::{Label, LabelFormat, PackageResult, ShipResult};
    ShipResult {
        shipment_id: "1Z999AA10123456784".into(),
        service_code: "03".into(),
        packages: vec![PackageResult {
            tracking_number: "1Z999AA10123456784".into(),
            erp_line_id: "1".into(),
            label: Some(Label {
                format: LabelFormat::Gif,
                data: vec![7; label_len],
            }),
        }],
        charges: Default::default(),
        alerts: vec![],
        documents: vec![crate::model::ShipDocument {
            kind: "invoice".into(),
            file_name: "SO-1-1Z999AA10123456784-invoice.pdf".into(),
            format: "pdf".into(),
            data: vec![9; 2048],
            form_group_id: None,
        }],
        paperless: None,
    }
}

fn shipped_job(l: &Ledger) -> Job {
    let now = Utc::now();
    let mut j = Job::new(record("v1"), now);
    j.transition(JobState::Shipping, "", now);
    l.save(&j).unwrap();
    j.result = Some(sample_result(4096));
    j.transition(JobState::Shipped, "1Z999AA10123456784", now);
    j
}

/// Label bytes live under their own key, written with the save that first holds them;
/// the job record holds none; `get` brings them back, `get_lean` leaves them out, and a
/// lean copy saved again keeps them.
#[test]
fn label_bytes_live_under_their_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store);
    let mut j = shipped_job(&l);
    l.save(&j).unwrap();
    let raw = l
        .store()
        .tree(Tree::Jobs)
        .get(format!("j/{}", j.id))
        .unwrap()
        .unwrap();
    assert!(
        raw.len() < 2000,
        "no bytes in the job record: {} bytes",
        raw.len()
    );
    let full = l.get(&j.id).unwrap().unwrap();
    assert_eq!(full.result, j.result, "labels and documents come back");
    let mut lean = l.get_lean(&j.id).unwrap().unwrap();
    let r = lean.result.as_ref().unwrap();
    assert!(r.packages[0].label.is_none() && r.documents[0].data.is_empty());
    assert_eq!(
        r.documents[0].file_name,
        "SO-1-1Z999AA10123456784-invoice.pdf"
    );
    lean.transition(JobState::Tracking, "", Utc::now());
    l.save(&lean).unwrap();
    assert_eq!(l.get(&j.id).unwrap().unwrap().result, j.result, "kept");
    // A new result (a re-ship after a void) replaces the stored bytes.
    let mut again = l.get(&j.id).unwrap().unwrap();
    let mut r = j.result.clone().unwrap();
    r.packages[0].label.as_mut().unwrap().data = vec![8; 100];
    again.result = Some(r);
    again.stored.set_labels_stored(false);
    l.save(&again).unwrap();
    assert_eq!(l.get(&j.id).unwrap().unwrap().result, again.result);
    j.result = again.result;
    let listed: Vec<Job> = l.jobs(None, None).map(Result::unwrap).collect();
    assert_eq!(listed[0].result, j.result, "listings carry the bytes");
}

/// A job record written before labels had their own key (bytes inline) still loads with
/// its bytes, and its next save moves them to the label key without losing them.
#[test]
fn inline_labels_of_old_records_load_and_move() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store);
    let j = shipped_job(&l);
    // The old layout: the whole result, bytes included, in the job record.
    let mut old = serde_json::to_value(&j).unwrap();
    old["result"] = serde_json::to_value(j.result.as_ref().unwrap()).unwrap();
    l.store()
        .put_json(Tree::Jobs, &format!("j/{}", j.id), &old)
        .unwrap();
    let lean = l.get_lean(&j.id).unwrap().unwrap();
    assert_eq!(lean.result, j.result, "inline bytes load");
    l.save(&lean).unwrap();
    let raw = l
        .store()
        .tree(Tree::Jobs)
        .get(format!("j/{}", j.id))
        .unwrap()
        .unwrap();
    assert!(
        raw.len() < 2000,
        "moved out of the record: {} bytes",
        raw.len()
    );
    assert_eq!(l.get(&j.id).unwrap().unwrap().result, j.result, "not lost");
}

#[test]
fn prune_removes_only_old_finished_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store);
    let old = Utc::now() - chrono::Duration::days(200);
    let mut a = Job::new(record("v1"), old);
    a.transition(JobState::Delivered, "", old);
    l.save(&a).unwrap();
    let mut b = Job::new(
        ErpRecord {
            id: "guid-2".into(),
            ..record("v1")
        },
        old,
    );
    b.transition(JobState::Tracking, "", old);
    l.save(&b).unwrap();
    let mut c = Job::new(
        ErpRecord {
            id: "guid-3".into(),
            ..record("v1")
        },
        Utc::now(),
    );
    c.transition(JobState::Delivered, "", Utc::now());
    l.save(&c).unwrap();
    let removed = l.prune(Utc::now() - chrono::Duration::days(120)).unwrap();
    assert_eq!(removed, 1);
    assert!(l.get(&a.id).unwrap().is_none());
    assert!(l.current_for("acu", "guid-1").unwrap().is_none());
    assert!(l.get(&b.id).unwrap().is_some(), "tracking jobs are kept");
    assert!(l.get(&c.id).unwrap().is_some(), "recent jobs are kept");
    assert_eq!(
        l.state_counts()
            .get(&("acu".to_string(), JobState::Delivered)),
        Some(&1)
    );
}

#[test]
fn state_names_roundtrip() {
    for s in JobState::ALL {
        assert_eq!(JobState::parse(s.as_str()), Some(s));
    }
}
