//! A store with jobs, vault entries, cursors and tracking goes sled → PostgreSQL → sled
//! and comes back the same (counts, checksums, values; the vault opens with the same key).

use super::*;
use crate::store::{MasterKey, PgTarget};

fn key() -> MasterKey {
    MasterKey::from_bytes([4; 32])
}

#[test]
fn a_store_migrates_to_postgres_and_back_unchanged() {
    let Some(server) = crate::store::pgserver::shared() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    {
        let s = Store::open(&origin, Some(key())).unwrap();
        for i in 0..1200 {
            s.put_json(
                Tree::Jobs,
                &format!("j/acu/{i:05}"),
                &serde_json::json!({"n": i, "state": "tracking"}),
            )
            .unwrap();
            s.tree(Tree::Jobs)
                .insert(format!("s/acu/{i:05}"), b"tracking".as_slice())
                .unwrap();
        }
        s.put_json(
            Tree::Cursors,
            "acu",
            &serde_json::json!({"since": "2026-12-01T00:00:00Z"}),
        )
        .unwrap();
        s.put_json(
            Tree::Tracking,
            "p/1Z999",
            &serde_json::json!({"milestone": "in_transit"}),
        )
        .unwrap();
        s.vault()
            .unwrap()
            .put(Tree::Credentials, "ups", b"{\"client_secret\":\"s3cr3t\"}")
            .unwrap();
        s.vault()
            .unwrap()
            .put(Tree::Tokens, "ups/id", b"{\"token\":\"t\"}")
            .unwrap();
        s.flush().unwrap();
    }
    let sled_from = Location::Sled(origin.clone());
    let pg = Location::Postgres(PgTarget::new(server.create_database().unwrap()));
    let there = migrate(&sled_from, &pg, false).unwrap();
    assert_eq!(
        there
            .trees
            .iter()
            .find(|t| t.tree == "jobs")
            .unwrap()
            .records,
        2400
    );
    // A second migration into the now full database is refused unless told.
    let again = migrate(&sled_from, &pg, false).unwrap_err();
    assert!(again.to_string().contains("--overwrite"), "{again}");
    migrate(&sled_from, &pg, true).unwrap();
    // The database opens with the same key and holds the ciphertexts, not the secret.
    {
        let s = pg.open(Some(key())).unwrap();
        let raw = s.tree(Tree::Credentials).get("ups").unwrap().unwrap();
        assert!(!raw.windows(6).any(|w| w == b"s3cr3t"));
        assert!(s
            .vault()
            .unwrap()
            .get(Tree::Credentials, "ups")
            .unwrap()
            .is_some());
        assert!(Store::open_postgres(
            match &pg {
                Location::Postgres(t) => t,
                _ => unreachable!(),
            },
            Some(MasterKey::from_bytes([5; 32]))
        )
        .is_err());
    }
    // And back into a new state directory.
    let back = Location::Sled(tmp.path().join("back"));
    let home = migrate(&pg, &back, false).unwrap();
    assert_eq!(there.trees, home.trees);
    let s = back.open(Some(key())).unwrap();
    s.verify(std::time::Duration::from_secs(30)).unwrap();
    let job: serde_json::Value = s.get_json(Tree::Jobs, "j/acu/01199").unwrap().unwrap();
    assert_eq!(job["n"], 1199);
    assert_eq!(
        s.vault()
            .unwrap()
            .get(Tree::Tokens, "ups/id")
            .unwrap()
            .unwrap()
            .expose(),
        b"{\"token\":\"t\"}"
    );
    let origin_sums = sums(&Store::open(&origin, None).unwrap()).unwrap();
    assert_eq!(sums(&s).unwrap(), origin_sums);
}
