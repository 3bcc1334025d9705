//! The PostgreSQL backend against a real server ([`crate::store::pgserver`]; skipped with
//! its message where none can be had).

use super::*;
use crate::store::{MasterKey, PgTarget, Store, StoreError};

fn backend() -> Option<(PgBackend, String)> {
    let server = crate::store::pgserver::shared()?;
    let url = server.create_database().expect("createdb");
    let b = PgBackend::open(&url, 4)
        .expect("connects")
        .expect("migrates");
    Some((b, url))
}

fn keys(it: Iter) -> Vec<Bytes> {
    it.keys().collect::<Result<_, _>>().unwrap()
}

#[test]
fn scans_are_in_key_byte_order_across_pages() {
    let Some((b, _)) = backend() else { return };
    // Bytes above 0x7f sort after ASCII (unsigned), a shorter key before its extensions.
    let mut want: Vec<Bytes> = vec![
        b"p/".to_vec(),
        b"p/a".to_vec(),
        b"p/a\x00".to_vec(),
        b"p/\xff".to_vec(),
    ];
    for i in 0..1100u32 {
        want.push(format!("p/n{i:05}").into_bytes());
    }
    for k in want.iter().rev() {
        b.insert(Tree::Jobs, k, b"v".to_vec()).unwrap();
    }
    b.insert(Tree::Jobs, b"q/other", b"v".to_vec()).unwrap();
    b.insert(Tree::Audit, b"p/other-tree", b"v".to_vec())
        .unwrap();
    want.sort();
    assert_eq!(keys(b.scan_prefix(Tree::Jobs, b"p/")), want);
    assert_eq!(b.len(Tree::Jobs).unwrap(), want.len() + 1);
    let from = format!("p/n{:05}", 1000).into_bytes();
    let to = format!("p/n{:05}", 1010).into_bytes();
    let got = keys(b.range(
        Tree::Jobs,
        Bound::Included(from.clone()),
        Bound::Excluded(to),
    ));
    assert_eq!(got.len(), 10);
    assert_eq!(got[0], from);
}

#[test]
fn a_batch_is_all_or_nothing_and_later_operations_win() {
    let Some((b, _)) = backend() else { return };
    b.insert(Tree::Jobs, b"gone", b"1".to_vec()).unwrap();
    let mut batch = Batch::default();
    batch.insert("a", b"1".as_slice());
    batch.insert("a", b"2".as_slice());
    batch.remove("gone");
    batch.insert("b", b"3".as_slice());
    batch.remove("b");
    b.apply_batch(Tree::Jobs, batch, None).unwrap();
    assert_eq!(b.get(Tree::Jobs, b"a").unwrap(), Some(b"2".to_vec()));
    assert_eq!(b.get(Tree::Jobs, b"gone").unwrap(), None);
    assert_eq!(b.get(Tree::Jobs, b"b").unwrap(), None);
    // A refused (fenced) batch writes none of its records.
    let mut batch = Batch::default();
    batch.insert("x", b"1".as_slice());
    batch.remove("a");
    let fence = Fence {
        lease: "job:x".into(),
        owner: "nobody".into(),
        token: 1,
    };
    assert!(matches!(
        b.apply_batch(Tree::Jobs, batch, Some(&fence)),
        Err(DbError::Fenced(_))
    ));
    assert_eq!(b.get(Tree::Jobs, b"x").unwrap(), None);
    assert_eq!(b.get(Tree::Jobs, b"a").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn compare_and_swap_writes_only_over_the_expected_value() {
    let Some((b, _)) = backend() else { return };
    let t = Tree::Tracking;
    assert_eq!(
        b.compare_and_swap(t, b"k", None, Some(b"1".to_vec()))
            .unwrap(),
        Ok(())
    );
    let refused = b
        .compare_and_swap(t, b"k", None, Some(b"9".to_vec()))
        .unwrap();
    assert_eq!(refused.unwrap_err().current, Some(b"1".to_vec()));
    let refused = b
        .compare_and_swap(t, b"k", Some(b"0"), Some(b"9".to_vec()))
        .unwrap();
    assert_eq!(refused.unwrap_err().current, Some(b"1".to_vec()));
    assert_eq!(
        b.compare_and_swap(t, b"k", Some(b"1"), Some(b"2".to_vec()))
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        b.compare_and_swap(t, b"k", Some(b"2"), None).unwrap(),
        Ok(())
    );
    assert_eq!(b.get(t, b"k").unwrap(), None);
    assert_eq!(b.compare_and_swap(t, b"k", None, None).unwrap(), Ok(()));
}

#[test]
fn concurrent_update_and_fetch_loses_no_increment() {
    let Some((_, url)) = backend() else { return };
    let s = std::sync::Arc::new(Store::open_postgres(&PgTarget::new(&url), None).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    s.tree(Tree::Meta)
                        .update_and_fetch("n", |old| {
                            let n = old.map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()));
                            Some((n + 1).to_be_bytes().to_vec())
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let n = s.tree(Tree::Meta).get("n").unwrap().unwrap();
    assert_eq!(u32::from_be_bytes(n.try_into().unwrap()), 100);
}

#[test]
fn a_fenced_write_is_refused_once_the_lease_moved() {
    let Some((_, url)) = backend() else { return };
    let s = Store::open_postgres(&PgTarget::new(&url), None).unwrap();
    let pg = s.postgres().expect("a postgres store has a handle");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lease = |owner: &'static str, fence: i64| {
        let pool = pg.pool.clone();
        rt.block_on(async move {
            let c = pool.get().await.unwrap();
            c.execute(
                "INSERT INTO upsync_leases (name, owner, fence, expires_at)
                 VALUES ('job:1', $1, $2, now() + interval '30 seconds')
                 ON CONFLICT (name) DO UPDATE SET owner = $1, fence = $2, expires_at = EXCLUDED.expires_at",
                &[&owner, &fence],
            )
            .await
            .unwrap();
        })
    };
    lease("a", 1);
    let mine = Fence {
        lease: "job:1".into(),
        owner: "a".into(),
        token: 1,
    };
    let mut batch = Batch::default();
    batch.insert("j/1", b"shipping".as_slice());
    s.tree(Tree::Jobs)
        .apply_batch_fenced(batch.clone(), Some(&mine))
        .unwrap();
    // The lease expired and daemon b took it: a's next write is refused, typed.
    lease("b", 2);
    let mut late = Batch::default();
    late.insert("j/1", b"shipped-by-a".as_slice());
    let e = s
        .tree(Tree::Jobs)
        .apply_batch_fenced(late, Some(&mine))
        .unwrap_err();
    assert!(
        matches!(&e, StoreError::Fenced { lease, .. } if lease == "job:1"),
        "{e}"
    );
    assert_eq!(e.code(), "store_fenced");
    assert_eq!(
        s.tree(Tree::Jobs).get("j/1").unwrap(),
        Some(b"shipping".to_vec())
    );
}

#[test]
fn the_manifest_in_the_database_checks_key_and_store_id_like_sled() {
    let Some((_, url)) = backend() else { return };
    let t = PgTarget::new(&url);
    let key = || MasterKey::from_bytes([9; 32]);
    {
        let s = Store::open_postgres(&t, Some(key())).unwrap();
        s.vault()
            .unwrap()
            .put(Tree::Credentials, "ups", b"secret!")
            .unwrap();
        s.put_json(Tree::Cursors, "c", &1).unwrap();
    }
    // The database holds the ciphertext, never the secret.
    let s = Store::open_postgres(&t, Some(key())).unwrap();
    let raw = s.tree(Tree::Credentials).get("ups").unwrap().unwrap();
    assert!(!raw.windows(7).any(|w| w == b"secret!"));
    assert_eq!(
        s.vault()
            .unwrap()
            .get(Tree::Credentials, "ups")
            .unwrap()
            .unwrap()
            .expose(),
        b"secret!"
    );
    drop(s);
    let wrong = Store::open_postgres(&t, Some(MasterKey::from_bytes([1; 32]))).unwrap_err();
    assert_eq!(wrong.code(), "store_wrong_master_key");
    // Records without their manifest are not adopted as a new store.
    {
        let s = Store::open_postgres(&t, None).unwrap();
        s.tree(Tree::Meta).remove(open_manifest_key()).unwrap();
    }
    let lost = Store::open_postgres(&t, None).unwrap_err();
    assert_eq!(lost.code(), "store_database_lost", "{lost}");
    // Schema migrations are idempotent: opening again applied nothing twice.
    let b = PgBackend::open(&url, 1).unwrap().unwrap();
    let n = b
        .with("count", |c| async move {
            c.query_one("SELECT count(*) FROM upsync_migrations", &[])
                .await
        })
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(n, schema::MIGRATIONS.len() as i64);
}

fn open_manifest_key() -> &'static str {
    "manifest"
}

#[test]
fn an_unreachable_server_is_named_without_its_password() {
    let e = probe("postgres://u:hunter2@127.0.0.1:1/db").unwrap_err();
    let text = e.to_string();
    assert!(text.contains("127.0.0.1:1/db"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}
