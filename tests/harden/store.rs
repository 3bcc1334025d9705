//! Issue 16 item 2: a corrupt store is never called healthy. Each test damages a closed
//! store the way the issue reproduced it (a flipped byte in sled's log, a truncated `db`
//! file, `db/` deleted with the manifest kept) and asserts that opening or verifying it
//! fails with an error that names corruption and the fix. On the old main every one of
//! these opened "valid": sled drops the records after a bad checksum silently (measured:
//! 2,002 records became 234 with a byte flipped at 10 % of the file, and `verify` had
//! nothing to compare against), and a deleted `db/` was recreated empty.

use std::path::Path;
use std::time::Duration;

use upsync::store::{Store, StoreError, Tree};

fn fill(dir: &Path) {
    let s = Store::open(dir, None).unwrap();
    for i in 0..2000 {
        s.put_json(
            Tree::Jobs,
            &format!("j/{i:05}"),
            &serde_json::json!({"id": i, "pad": "x".repeat(200)}),
        )
        .unwrap();
    }
    s.flush().unwrap();
}

fn open_and_verify(dir: &Path) -> Result<u64, StoreError> {
    let s = Store::open(dir, None)?;
    Ok(s.verify(Duration::from_secs(30))?.records)
}

fn assert_names_corruption(e: &StoreError) {
    let text = e.to_string();
    assert!(e.is_corruption(), "{} ({})", text, e.code());
    assert!(text.contains("restore"), "{text}");
    assert!(!text.contains("check disk space"), "{text}");
}

/// Guards: a flipped byte anywhere in the log (10 % … 90 % of the file) is reported as
/// corruption, never verified "ok" with fewer records.
#[test]
fn a_flipped_byte_in_the_log_is_reported_as_corruption() {
    for frac in [0.1f64, 0.3, 0.5, 0.7, 0.9] {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("state");
        fill(&st);
        let db = st.join("db").join("db");
        let mut bytes = std::fs::read(&db).unwrap();
        let off = (bytes.len() as f64 * frac) as usize;
        bytes[off] ^= 0xff;
        std::fs::write(&db, &bytes).unwrap();
        match open_and_verify(&st) {
            Ok(n) => panic!(
                "byte {off} of {} flipped: verified ok with {n} records",
                bytes.len()
            ),
            Err(e) => assert_names_corruption(&e),
        }
    }
}

/// Guards: a truncated `db` file (half, or empty) is an error, not an empty store.
#[test]
fn a_truncated_db_file_is_an_error() {
    for keep in [0.5f64, 0.0] {
        let dir = tempfile::tempdir().unwrap();
        let st = dir.path().join("state");
        fill(&st);
        let db = st.join("db").join("db");
        let len = std::fs::metadata(&db).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.set_len((len as f64 * keep) as u64).unwrap();
        drop(f);
        let e = open_and_verify(&st).expect_err("truncated db verified ok");
        assert_names_corruption(&e);
    }
}

/// Guards: `db/` deleted with the manifest kept is an error, and nothing is recreated.
#[test]
fn a_deleted_database_next_to_its_manifest_is_an_error_and_is_not_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state");
    fill(&st);
    std::fs::remove_dir_all(st.join("db")).unwrap();
    let e = open_and_verify(&st).expect_err("deleted db opened");
    assert_names_corruption(&e);
    assert_eq!(e.code(), "store_database_lost");
    assert!(!st.join("db").exists(), "an empty database was created");
}

/// Guards: a cursor that is not JSON (written behind the ledger's back) fails verify, and
/// the failure counts in the store's health (what `/readyz` reports).
#[test]
fn an_undecodable_record_fails_verify_and_marks_the_store_unhealthy() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state");
    fill(&st);
    let s = Store::open(&st, None).unwrap();
    s.tree(Tree::Cursors)
        .insert("acumatica", &b"{not json"[..])
        .unwrap();
    assert!(s.health().status().is_ok());
    let e = s.verify(Duration::from_secs(30)).unwrap_err();
    assert_names_corruption(&e);
    assert!(e.to_string().contains("acumatica"), "{e}");
    assert!(s.health().status().is_err());
    assert_eq!(s.health().errors(), 1);
}

/// A sound store verifies with every record, and reopens (the seal moves on each open).
#[test]
fn a_sound_store_verifies_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let st = dir.path().join("state");
    fill(&st);
    for _ in 0..3 {
        assert!(open_and_verify(&st).unwrap() >= 2000);
    }
}
