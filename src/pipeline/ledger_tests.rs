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

/// What a shipment's saves write on sled (the figure behind the bench's
/// `store_writes_per_shipment`): a first save writes the active entry, the record index,
/// the record data, the job and its mark, and touches no dead letter; a later save of a
/// job that was active checks its active entry instead of writing it; the shipment is
/// written until it is sent; a job that leaves the active index has its entry removed.
#[test]
fn a_shipments_saves_write_only_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store.clone());
    let writes = |t: Tree| {
        store
            .writes()
            .into_iter()
            .find(|(w, _, _)| *w == t)
            .map(|(_, ops, _)| ops)
            .unwrap()
    };
    let mut last = (writes(Tree::Jobs), writes(Tree::DeadLetters));
    let mut step = || {
        let now = (writes(Tree::Jobs), writes(Tree::DeadLetters));
        let d = (now.0 - last.0, now.1 - last.1);
        last = now;
        d
    };
    let now = Utc::now();
    let mut j = Job::new(record("v1"), now);
    l.save(&j).unwrap();
    assert_eq!(step(), (5, 0), "a/ r/ d/ j/ s/");
    j.shipment = Some(a_shipment("Troy"));
    j.transition(JobState::Shipping, "attempt 1", now);
    l.save(&j).unwrap();
    assert_eq!(step(), (3, 0), "m/ j/ s/");
    j.result = Some(sample_result(64));
    j.transition(JobState::Shipped, "1Z", now);
    l.save(&j).unwrap();
    assert_eq!(step(), (3, 0), "l/ j/ s/");
    j.transition(JobState::Tracking, "", now);
    l.save(&j).unwrap();
    assert_eq!(step(), (3, 0), "j/ s/, a/ removed");
    assert!(l.active_ids("acu").unwrap().is_empty());
    // A copy that believes the job active while its entry is gone (stale) puts it back.
    let mut stale = l.get_lean(&j.id).unwrap().unwrap();
    stale.state = JobState::Shipped;
    stale.stored.set(Some(JobState::Shipped));
    l.save(&stale).unwrap();
    assert_eq!(l.active_ids("acu").unwrap(), vec![j.id.clone()]);
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

/// The ERP record's data is written once under `d/<job id>`, not with every save of the
/// job record; loads put it back; a replay (back to `seen`) writes it again; an old job
/// record with the data inline loads and moves it; compaction removes it; a job record
/// with its data in neither place reads as corrupt, naming the key.
#[test]
fn record_data_lives_under_its_own_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store.clone());
    let t = store.tree(Tree::Jobs);
    let now = Utc::now();
    let data = serde_json::json!({"ShipTo": {"AddressLine1": "1 Main St"}, "Packages": [1, 2]});
    let mut j = Job::new(
        ErpRecord {
            data: data.clone(),
            ..record("v1")
        },
        now,
    );
    l.save(&j).unwrap();
    let key = crate::pipeline::stored_record::data_key(&j.id);
    let body = |id: &str| -> serde_json::Value {
        serde_json::from_slice(&t.get(format!("j/{id}")).unwrap().unwrap()).unwrap()
    };
    assert_eq!(body(&j.id)["record"]["data"], serde_json::Value::Null);
    assert_eq!(
        body(&j.id)["record"]["version"],
        "v1",
        "identity stays in the job"
    );
    let stored: serde_json::Value = serde_json::from_slice(&t.get(&key).unwrap().unwrap()).unwrap();
    assert_eq!(stored, data);
    let mut lean = l.get_lean(&j.id).unwrap().unwrap();
    assert_eq!(lean.record, j.record, "loads put the data back");
    assert_eq!(
        l.jobs(Some("acu"), None)
            .next()
            .unwrap()
            .unwrap()
            .record
            .data,
        data
    );
    // A later save of a loaded copy leaves the key alone.
    t.insert(&key, b"{\"marker\":1}".to_vec()).unwrap();
    let mut lean2 = l.get_lean(&j.id).unwrap().unwrap();
    lean2.transition(JobState::Shipping, "", now);
    l.save(&lean2).unwrap();
    assert_eq!(
        &*t.get(&key).unwrap().unwrap(),
        b"{\"marker\":1}".as_slice()
    );
    // A replay that read the record again (same version, new data) writes it.
    lean.record.data = serde_json::json!({"fresh": true});
    lean.transition(JobState::Seen, "replay", now);
    l.save(&lean).unwrap();
    assert_eq!(
        l.get_lean(&j.id).unwrap().unwrap().record.data,
        serde_json::json!({"fresh": true})
    );
    // The old layout: data inline, no key. It loads, and the next save moves it.
    let mut old = serde_json::to_value(&j).unwrap();
    old["record"]["data"] = data.clone();
    l.store()
        .put_json(Tree::Jobs, &format!("j/{}", j.id), &old)
        .unwrap();
    t.remove(&key).unwrap();
    let o = l.get_lean(&j.id).unwrap().unwrap();
    assert_eq!(o.record.data, data, "inline data loads");
    l.save(&o).unwrap();
    assert_eq!(body(&j.id)["record"]["data"], serde_json::Value::Null);
    assert_eq!(l.get(&j.id).unwrap().unwrap().record.data, data, "not lost");
    // Compaction drops the data and the key.
    j.transition(JobState::Delivered, "", now);
    l.save(&j).unwrap();
    assert!(!t.contains_key(&key).unwrap());
    assert!(l.get(&j.id).unwrap().unwrap().compacted);
    // Neither inline nor under its key: corrupt, naming the key.
    let mut k = Job::new(
        ErpRecord {
            id: "guid-9".into(),
            data: data.clone(),
            ..record("v1")
        },
        now,
    );
    k.transition(JobState::Mapped, "", now);
    l.save(&k).unwrap();
    t.remove(crate::pipeline::stored_record::data_key(&k.id))
        .unwrap();
    let err = l.get_lean(&k.id).unwrap_err().to_string();
    assert!(err.contains(&format!("d/{}", k.id)), "{err}");
}

fn a_shipment(city: &str) -> crate::model::Shipment {
    serde_json::from_value(serde_json::json!({
        "source": "acu", "record_id": "guid-1", "number": "000123",
        "account_number": "A1B2C3",
        "shipper": {"name": "Shipper", "address": {"lines": ["1 Main St"], "city": "Atlanta", "state": "GA", "postal_code": "30301", "country": "US"}},
        "ship_to": {"name": "Buyer", "address": {"lines": ["9 Elm St"], "city": city, "state": "NY", "postal_code": "10001", "country": "US"}},
        "service": {"mode": "fixed", "code": "03"},
        "packages": [], "references": [],
        "label": {"format": "GIF"}
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The shipment lives under its own key: written by the saves that may change it (up to
/// `shipping`), kept by the later ones (the `shipped` save and on), removed by a replay
/// that clears it; loads put it back; an old record with the shipment inline loads, and
/// its next save moves it.
#[test]
fn the_shipment_lives_under_its_own_key_and_is_written_until_it_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store.clone());
    let t = store.tree(Tree::Jobs);
    let now = Utc::now();
    let key = |id: &str| crate::pipeline::stored_shipment::shipment_key(id);
    let body = |id: &str| -> serde_json::Value {
        serde_json::from_slice(&t.get(format!("j/{id}")).unwrap().unwrap()).unwrap()
    };
    let city = |id: &str| {
        l.get_lean(id)
            .unwrap()
            .unwrap()
            .shipment
            .map(|s| s.ship_to.address.city)
    };
    let mut j = Job::new(record("v1"), now);
    l.save(&j).unwrap();
    assert!(!t.contains_key(key(&j.id)).unwrap(), "no shipment, no key");
    j.shipment = Some(a_shipment("New York"));
    j.transition(JobState::Mapped, "", now);
    l.save(&j).unwrap();
    assert_eq!(
        body(&j.id)["shipment"],
        serde_json::Value::Null,
        "not in the job record"
    );
    assert!(
        !String::from_utf8_lossy(&t.get(format!("j/{}", j.id)).unwrap().unwrap())
            .contains("New York")
    );
    assert_eq!(
        city(&j.id).as_deref(),
        Some("New York"),
        "loads put it back"
    );
    assert_eq!(
        l.jobs(Some("acu"), None).next().unwrap().unwrap().shipment,
        j.shipment,
        "listings too"
    );
    // Changed before it is sent (address checks, ship date): written again.
    let mut c = l.get_lean(&j.id).unwrap().unwrap();
    c.shipment = Some(a_shipment("Brooklyn"));
    c.transition(JobState::Shipping, "attempt 1", now);
    l.save(&c).unwrap();
    assert_eq!(city(&j.id).as_deref(), Some("Brooklyn"));
    // Sent: the saves from `shipped` on keep the stored shipment (a change in memory,
    // which no step makes, does not reach the store).
    let mut c = l.get_lean(&j.id).unwrap().unwrap();
    c.shipment = Some(a_shipment("Queens"));
    c.transition(JobState::Shipped, "1Z", now);
    l.save(&c).unwrap();
    assert_eq!(
        city(&j.id).as_deref(),
        Some("Brooklyn"),
        "kept, not written"
    );
    // A copy not read from the key (a new job, a clone) writes it even when sent.
    let fresh = c.clone();
    l.save(&fresh).unwrap();
    assert_eq!(city(&j.id).as_deref(), Some("Queens"));
    // A replay clears it: the key goes, the job loads without one.
    let mut r = l.get_lean(&j.id).unwrap().unwrap();
    r.transition(JobState::Failed, "write-back refused", now);
    l.save(&r).unwrap();
    r.shipment = None;
    r.transition(JobState::Seen, "replay", now);
    l.save(&r).unwrap();
    assert!(!t.contains_key(key(&j.id)).unwrap());
    assert_eq!(city(&j.id), None);
    // The old layout: the shipment inline, no key. It loads, and the next save moves it.
    let mut old = body(&j.id);
    old["shipment"] = serde_json::to_value(a_shipment("Albany")).unwrap();
    old["state"] = serde_json::json!("tracking");
    l.store()
        .put_json(Tree::Jobs, &format!("j/{}", j.id), &old)
        .unwrap();
    let o = l.get_lean(&j.id).unwrap().unwrap();
    assert_eq!(
        o.shipment.as_ref().map(|s| s.ship_to.address.city.as_str()),
        Some("Albany")
    );
    l.save(&o).unwrap();
    assert_eq!(body(&j.id)["shipment"], serde_json::Value::Null);
    assert_eq!(city(&j.id).as_deref(), Some("Albany"), "moved, not lost");
    // `store verify` knows the entry.
    let raw = t.get(key(&j.id)).unwrap().unwrap();
    assert_eq!(
        crate::pipeline::verify::ledger_decoder(Tree::Jobs, &key(&j.id), &raw),
        Ok(())
    );
    assert!(
        crate::pipeline::verify::ledger_decoder(Tree::Jobs, &key(&j.id), b"{}")
            .unwrap_err()
            .contains("not a shipment entry")
    );
    // Delivered and compacted: the shipment stays; pruned: it goes.
    let mut d = l.get_lean(&j.id).unwrap().unwrap();
    d.transition(JobState::Delivered, "", now);
    l.save(&d).unwrap();
    assert_eq!(city(&j.id).as_deref(), Some("Albany"));
    assert_eq!(l.prune(now + chrono::Duration::days(1)).unwrap(), 1);
    assert!(!t.contains_key(key(&j.id)).unwrap());
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

/// On sled a save of a job the ledger holds is a sequence of single writes
/// (`save_in_order`). A crash can cut it after any write; reopening the store puts the
/// cut job's state mark, dead-letter entry, label bytes and active-index entry in step
/// with the job stored. Each case below is the store as a cut leaves it.
#[test]
fn a_save_cut_by_a_crash_is_put_in_step_when_the_store_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let jobs_key = |id: &str| format!("j/{id}");
    let (shipped, failing, replayed, delivered, unborn);
    {
        let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
        let l = Ledger::new(store.clone());
        let t = store.tree(Tree::Jobs);
        // shipped → written_back: the job was written, its mark and the index were not.
        let mut j = shipped_job(&l);
        l.save(&j).unwrap();
        j.transition(JobState::WrittenBack, "", now);
        t.insert(jobs_key(&j.id), serde_json::to_vec(&j).unwrap())
            .unwrap();
        shipped = j.id.clone();
        // shipping → failed: job and mark written, no dead-letter entry yet.
        let mut f = Job::new(
            ErpRecord {
                id: "guid-2".into(),
                ..record("v1")
            },
            now,
        );
        f.transition(JobState::Shipping, "", now);
        l.save(&f).unwrap();
        f.last_error = Some(Failure {
            class: ErrorClass::Business,
            code: "address_invalid".into(),
            message: "no candidates".into(),
            at: now,
        });
        f.transition(JobState::Failed, "address_invalid", now);
        t.insert(jobs_key(&f.id), serde_json::to_vec(&f).unwrap())
            .unwrap();
        t.insert(format!("s/{}", f.id), b"failed".to_vec()).unwrap();
        failing = f.id.clone();
        // failed → seen (a replay): in flux and written; the mark and the dead-letter
        // entry still say failed.
        let mut r = Job::new(
            ErpRecord {
                id: "guid-3".into(),
                ..record("v1")
            },
            now,
        );
        r.last_error = f.last_error.clone();
        r.shipment = Some(a_shipment("Ithaca"));
        r.transition(JobState::Failed, "address_invalid", now);
        l.save(&r).unwrap();
        assert_eq!(l.dead_letters().unwrap().len(), 1);
        // The replay clears the shipment; cut before its key is removed.
        r.shipment = None;
        r.transition(JobState::Seen, "replay", now);
        t.insert(format!("a/{}", r.id), b"null".to_vec()).unwrap();
        t.insert(jobs_key(&r.id), serde_json::to_vec(&r).unwrap())
            .unwrap();
        replayed = r.id.clone();
        // tracking → delivered: in flux, the compacted job and its mark written, its label
        // bytes not yet removed.
        let mut d = Job::new(
            ErpRecord {
                id: "guid-4".into(),
                ..record("v1")
            },
            now,
        );
        d.result = Some(sample_result(1024));
        d.transition(JobState::Tracking, "", now);
        l.save(&d).unwrap();
        d.transition(JobState::Delivered, "", now);
        d.compact();
        t.insert(format!("a/{}", d.id), b"null".to_vec()).unwrap();
        t.insert(jobs_key(&d.id), serde_json::to_vec(&d).unwrap())
            .unwrap();
        t.insert(format!("s/{}", d.id), b"delivered".to_vec())
            .unwrap();
        delivered = d.id.clone();
        // A new job: in flux and its record index written, the job itself not.
        let n = Job::new(
            ErpRecord {
                id: "guid-5".into(),
                ..record("v1")
            },
            now,
        );
        t.insert(format!("a/{}", n.id), b"null".to_vec()).unwrap();
        t.insert("r/acu/guid-5", serde_json::to_vec(&n.id).unwrap())
            .unwrap();
        t.insert(
            crate::pipeline::stored_record::data_key(&n.id),
            b"{}".to_vec(),
        )
        .unwrap();
        t.insert(
            crate::pipeline::stored_shipment::shipment_key(&n.id),
            serde_json::to_vec(&a_shipment("Utica")).unwrap(),
        )
        .unwrap();
        unborn = n.id.clone();
        store.flush().unwrap();
    }
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store.clone());
    let t = store.tree(Tree::Jobs);
    let mark = |id: &str| String::from_utf8(t.get(format!("s/{id}")).unwrap().unwrap()).unwrap();
    let active = |id: &str| t.contains_key(format!("a/{id}")).unwrap();
    assert_eq!(mark(&shipped), "written_back");
    assert!(
        !active(&shipped),
        "a written-back job leaves the active index"
    );
    assert_eq!(mark(&failing), "failed");
    assert!(!active(&failing));
    let dead: Vec<String> = l
        .dead_letters()
        .unwrap()
        .into_iter()
        .map(|d| d.job_id)
        .collect();
    assert_eq!(dead, vec![failing.clone()], "filed for the failed job only");
    assert_eq!(mark(&replayed), "seen");
    assert!(
        active(&replayed),
        "a replayed job stays in the active index"
    );
    assert_eq!(
        l.get_lean(&replayed).unwrap().unwrap().shipment,
        None,
        "a replayed job's old shipment is gone"
    );
    assert_eq!(mark(&delivered), "delivered");
    assert!(!active(&delivered));
    assert!(
        !t.contains_key(crate::pipeline::stored_labels::labels_key(&delivered))
            .unwrap(),
        "a compacted job's label bytes are gone"
    );
    assert!(
        !t.contains_key(crate::pipeline::stored_record::data_key(&delivered))
            .unwrap(),
        "a compacted job's record data is gone"
    );
    assert!(!active(&unborn), "no job, no index entry");
    assert!(
        !t.contains_key(crate::pipeline::stored_record::data_key(&unborn))
            .unwrap(),
        "no job, no record data"
    );
    assert!(
        !t.contains_key(crate::pipeline::stored_shipment::shipment_key(&unborn))
            .unwrap(),
        "no job, no shipment"
    );
    assert!(t.get(format!("s/{unborn}")).unwrap().is_none());
    assert!(
        l.current_for("acu", "guid-5").unwrap().is_none(),
        "a record index naming a job never written reads as no job (the next poll makes it)"
    );
    // The counts are taken after the mending.
    let counts = l.state_counts();
    let n = |s| counts.get(&("acu".to_string(), s)).copied().unwrap_or(0);
    assert_eq!(
        (
            n(JobState::WrittenBack),
            n(JobState::Shipped),
            n(JobState::Seen)
        ),
        (1, 0, 1)
    );
    // Once per opening: a second ledger on the same store mends nothing more, and a
    // store saved without a crash has nothing to mend.
    assert_eq!(l.check_in_flux().unwrap(), 0);
}

/// The order of `save_in_order` leaves nothing to mend after an uncut save, and a job
/// that goes from one inactive state to another passes through the active index and
/// leaves it.
#[test]
fn uncut_saves_leave_nothing_to_mend() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path(), None).unwrap());
    let l = Ledger::new(store.clone());
    let now = Utc::now();
    let mut j = shipped_job(&l);
    for s in [
        JobState::Shipped,
        JobState::WrittenBack,
        JobState::Tracking,
        JobState::Delivered,
    ] {
        j.transition(s, "", now);
        l.save(&j).unwrap();
        assert_eq!(l.check_in_flux().unwrap(), 0, "after {s}");
    }
    assert!(l.active_ids("acu").unwrap().is_empty());
    assert!(!store
        .tree(Tree::Jobs)
        .contains_key(crate::pipeline::stored_labels::labels_key(&j.id))
        .unwrap());
}
