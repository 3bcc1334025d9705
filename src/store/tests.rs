//! Store tests: open, manifest and key checks, verify, flush, JSON records.

use super::*;
use std::sync::Arc;

fn key(b: u8) -> MasterKey {
    MasterKey::from_bytes([b; 32])
}

#[test]
fn opens_creates_trees_and_roundtrips_json() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), Some(key(1))).unwrap();
    s.put_json(Tree::Cursors, "acu", &serde_json::json!({"ts": "x"}))
        .unwrap();
    s.flush().unwrap();
    drop(s);
    let s = Store::open(dir.path(), Some(key(1))).unwrap();
    let v: serde_json::Value = s.get_json(Tree::Cursors, "acu").unwrap().unwrap();
    assert_eq!(v["ts"], "x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_flushes_share_one_fsync_and_sequential_ones_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Store::open(dir.path(), None).unwrap());
    for i in 0..3 {
        s.put_json(Tree::Cursors, &format!("seq{i}"), &i).unwrap();
        s.flush_async().await.unwrap();
    }
    assert_eq!(
        s.flushes_run(),
        3,
        "a write after a flush needs a flush of its own"
    );
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.put_json(Tree::Cursors, &format!("c{i}"), &i).unwrap();
                s.flush_async().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let grouped = s.flushes_run() - 3;
    assert!(
        (1..64).contains(&grouped),
        "64 concurrent callers ran {grouped} flushes"
    );
    drop(s);
    let s = Store::open(dir.path(), None).unwrap();
    for i in 0..64 {
        let v: Option<i32> = s.get_json(Tree::Cursors, &format!("c{i}")).unwrap();
        assert_eq!(v, Some(i));
    }
}

/// A store closed right after an async flush reopens at once: dropping the store stops
/// the flush thread that holds the database open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_flushes_then_the_store_reopens_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let s = Store::open(dir.path(), None).unwrap();
        s.put_json(Tree::Cursors, &format!("r{round}"), &round)
            .unwrap();
        s.flush_async().await.unwrap();
        assert_eq!(s.flushes_run(), 1, "one write, one flush");
        // Nothing written since: the next caller still gets a flush that covers it.
        s.flush_async().await.unwrap();
        assert_eq!(s.flushes_run(), 2);
        drop(s);
    }
    let s = Store::open(dir.path(), None).unwrap();
    for round in 0..3 {
        let v: Option<i32> = s.get_json(Tree::Cursors, &format!("r{round}")).unwrap();
        assert_eq!(v, Some(round));
    }
}

#[test]
fn wrong_key_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Store::open(dir.path(), Some(key(1))).unwrap();
        s.vault()
            .unwrap()
            .put(Tree::Credentials, "ups", b"{}")
            .unwrap();
        s.flush().unwrap();
    }
    let before = snapshot(dir.path());
    let err = Store::open(dir.path(), Some(key(2))).unwrap_err();
    assert!(matches!(err, StoreError::WrongMasterKey { .. }));
    assert!(err.to_string().contains("master key"));
    assert_eq!(before, snapshot(dir.path()));
}

#[test]
fn other_schema_version_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path(), None).unwrap());
    std::fs::write(
        dir.path().join(MANIFEST),
        br#"{"schema_version": 99, "key_check": null}"#,
    )
    .unwrap();
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(err.to_string().contains("newer upsync"), "{err}");
}

#[test]
fn a_store_in_use_is_reported_and_a_just_closed_one_reopens() {
    let dir = tempfile::tempdir().unwrap();
    // Closed and reopened at once: sled frees its lock a moment late; open waits.
    for _ in 0..5 {
        let s = Store::open(dir.path(), None).unwrap();
        s.put_json(Tree::Meta, "k", &1).unwrap();
        drop(s);
    }
    // Held by someone else for longer than the wait: a clear error.
    let held = Store::open(dir.path(), None).unwrap();
    let err = Store::open(dir.path(), None).unwrap_err();
    assert!(
        err.to_string().contains("in use by another upsync process"),
        "{err}"
    );
    drop(held);
}

#[test]
fn vault_needs_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), None).unwrap();
    assert!(matches!(s.vault(), Err(StoreError::NoMasterKey)));
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The bench's `store_writes_per_shipment`: every write asked of a tree is counted with its
/// key and value bytes (inserts, removals, each operation of a batch, a swap that wrote),
/// per tree; reads and a swap that found another value are not.
#[test]
fn writes_are_counted_per_tree_with_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(dir.path(), None).unwrap();
    let of = |t: Tree| {
        s.writes()
            .into_iter()
            .find(|(w, _, _)| *w == t)
            .map(|(_, ops, bytes)| (ops, bytes))
            .unwrap()
    };
    let base = of(Tree::Jobs);
    let jobs = s.tree(Tree::Jobs);
    jobs.insert("j/1", b"12345".as_slice()).unwrap(); // 3 + 5
    jobs.get("j/1").unwrap();
    jobs.remove("j/1").unwrap(); // 3
    let mut batch = crate::store::Batch::default();
    batch.insert("a/1", b"null".as_slice()); // 3 + 4
    batch.remove("a/2"); // 3
    jobs.apply_batch(batch).unwrap();
    assert!(jobs
        .compare_and_swap("c", Some(b"x".as_slice()), Some(b"y".to_vec()))
        .unwrap()
        .is_err());
    jobs.compare_and_swap("c", None::<&[u8]>, Some(b"yy".to_vec()))
        .unwrap()
        .unwrap(); // 1 + 2
    let (ops, bytes) = of(Tree::Jobs);
    assert_eq!((ops - base.0, bytes - base.1), (5, 8 + 3 + 7 + 3 + 3));
    let audit = of(Tree::Audit);
    s.tree(Tree::Audit).insert("k", b"v".as_slice()).unwrap();
    assert_eq!(of(Tree::Audit), (audit.0 + 1, audit.1 + 2));
    assert_eq!(
        of(Tree::Jobs),
        (ops, bytes),
        "another tree's write is its own"
    );
}
