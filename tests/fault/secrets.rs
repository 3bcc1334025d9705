//! Fault suite: secrets scan. A full run of the real binary (`upsync once`, twice: first with
//! fresh sign-ins, then reusing the stored UPS token) with JSON logs at debug level
//! (`UPSYNC_LOG=debug --log-format json`, stderr captured) against the three simulators
//! recording every request (`--record-dir`). Then:
//!
//! * **Secrets, tokens, cookies** — the UPS client secret, the NetSuite private key, the
//!   Acumatica password, every UPS access token the simulator issued, any bearer/basic
//!   credential, Acumatica session cookie, JWT (NetSuite client assertion / access token):
//!   none in the logs, none in the store files (the vault encrypts credentials and tokens),
//!   none in the record dir (the recorder redacts them).
//! * **Full addresses** — every ship-to street line (Acumatica `AddressLine1/2`, NetSuite
//!   `addr1/2`) and e-mail address of the seeded records: none in the logs. The scope is the
//!   logs on purpose: the ledger (store) keeps the ERP record it ships (replay and
//!   write-back need it; it sits in the 0700 state directory like the ERP's own data), and
//!   the record dir holds the request bodies the simulators received, which are the
//!   shipments themselves. Those two are checked for secrets, tokens and cookies only.

use std::path::Path;
use std::process::Output;

use upsync::app::world::{World, WorldOptions};

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Every occurrence of any needle in `hay`, as (needle, context).
fn find_all(hay: &[u8], needles: &[(String, String)]) -> Vec<String> {
    let text = String::from_utf8_lossy(hay);
    let mut hits = Vec::new();
    for (what, needle) in needles {
        if needle.len() < 6 {
            continue;
        }
        if let Some(i) = text.find(needle.as_str()) {
            let mut lo = i.saturating_sub(60);
            while !text.is_char_boundary(lo) {
                lo -= 1;
            }
            let mut hi = (i + needle.len() + 60).min(text.len());
            while !text.is_char_boundary(hi) {
                hi += 1;
            }
            hits.push(format!("{what}: …{}…", &text[lo..hi]));
        }
    }
    hits
}

async fn run_once(w: &World) -> Output {
    let mut c = w.command(Path::new(env!("CARGO_BIN_EXE_upsync")));
    c.args(["--log-format", "json", "once"])
        .env("UPSYNC_LOG", "debug");
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// Files holding the store's bytes: on sled, the state dir; on PostgreSQL, the state dir plus
/// `dump`, into which every tree, key and value of `upsync_kv` is written raw (bytea as is),
/// so the same byte scan reads the ledger on either backend.
async fn store_files(w: &World, store_url: Option<&str>, dump: &Path) -> Vec<std::path::PathBuf> {
    let mut out = files(&w.state_dir);
    let Some(url) = store_url else { return out };
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let mut bytes = Vec::new();
    for row in client
        .query("SELECT tree, key, value FROM upsync_kv", &[])
        .await
        .unwrap()
    {
        let tree: String = row.get(0);
        let key: Vec<u8> = row.get(1);
        let value: Vec<u8> = row.get(2);
        for part in [tree.as_bytes(), &key, &value] {
            bytes.extend_from_slice(part);
            bytes.push(b'\n');
        }
    }
    drop(client);
    let _ = conn.await;
    assert!(!bytes.is_empty(), "the PostgreSQL store is empty");
    std::fs::write(dump, bytes).unwrap();
    out.push(dump.to_path_buf());
    out
}

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_secret_token_cookie_or_address_leaks_into_logs_store_or_records(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        let mut o = WorldOptions::new(&dir.path().join("world"));
        o.acumatica_shipments = 6;
        o.netsuite_fulfillments = 6;
        o.record_dir = Some(records.clone());
        o.store_url = store_url.clone();
        let w = World::start(o).await.unwrap();
        let p = w.dir.join("connectors/acumatica.yaml");
        let t = std::fs::read_to_string(&p).unwrap();
        std::fs::write(
            &p,
            t.replace(
                "action_poll_interval_ms: 1000",
                "action_poll_interval_ms: 20",
            ),
        )
        .unwrap();

        let mut logs = Vec::new();
        for _ in 0..2 {
            let out = run_once(&w).await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            logs.extend_from_slice(&out.stderr);
            logs.extend_from_slice(&out.stdout);
        }
        let log_text = String::from_utf8_lossy(&logs).to_string();
        // The run did real work and logged at debug level, as JSON.
        assert!(w.ups.stats().get("ship.created").copied().unwrap_or(0) >= 8);
        let first = log_text
            .lines()
            .find(|l| l.starts_with('{'))
            .expect("JSON log lines");
        serde_json::from_str::<serde_json::Value>(first).expect("a JSON log line");
        assert!(log_text.contains("\"DEBUG\"") || log_text.contains("\"level\":\"DEBUG\""));

        // Secrets, tokens, cookies.
        let mut secrets: Vec<(String, String)> = vec![
            ("UPS client secret".into(), "demo-secret".into()),
            (
                "UPS client secret (second account)".into(),
                upsync::app::world::WEST_CLIENT.1.into(),
            ),
            ("Acumatica password".into(), "\"password\":\"demo\"".into()),
            ("Acumatica password".into(), "password=demo".into()),
            ("bearer credential".into(), "Bearer ey".into()),
            ("basic credential".into(), "Basic ZGVtby".into()),
            ("Acumatica cookie".into(), ".ASPXAUTH=".into()),
            ("session cookie".into(), "ASP.NET_SessionId=".into()),
            ("JWT".into(), "eyJhbGciOi".into()),
            ("private key".into(), "PRIVATE KEY-----".into()),
        ];
        for line in upsync::sim::netsuite::DEMO_M2M_PRIVATE_KEY_PEM.lines() {
            if line.len() >= 40 && !line.starts_with("-----") {
                secrets.push(("NetSuite private key".into(), line.to_string()));
            }
        }
        let ups_tokens: Vec<String> = w.ups.state.tokens.lock().unwrap().keys().cloned().collect();
        assert!(!ups_tokens.is_empty());
        for t in ups_tokens {
            secrets.push(("UPS access token".into(), t));
        }

        let mut leaks = find_all(&logs, &secrets)
            .into_iter()
            .map(|h| format!("logs: {h}"))
            .collect::<Vec<_>>();
        let store = store_files(&w, store_url.as_deref(), &dir.path().join("pg-store.bin")).await;
        for f in store.iter().cloned().chain(files(&records)) {
            let bytes = std::fs::read(&f).unwrap();
            for h in find_all(&bytes, &secrets) {
                leaks.push(format!("{}: {h}", f.display()));
            }
        }
        let recorded = files(&records).len();
        assert!(
            recorded > 20,
            "the record dir holds the requests ({recorded})"
        );

        // Full addresses and e-mail addresses: not in the logs.
        let mut addresses: Vec<(String, String)> = Vec::new();
        for s in w.acumatica.as_ref().unwrap().state.shipments() {
            let a = &s["ShippingSettings"]["ShipToAddress"];
            for k in ["AddressLine1", "AddressLine2"] {
                if let Some(v) = a[k]["value"].as_str() {
                    addresses.push(("Acumatica street line".into(), v.to_string()));
                }
            }
            if let Some(v) = s["ShippingSettings"]["ShipToContact"]["Email"]["value"].as_str() {
                addresses.push(("Acumatica e-mail".into(), v.to_string()));
            }
        }
        let ns = &w.netsuite.as_ref().unwrap().sim;
        for id in 5000..5020 {
            if let Some(f) = ns.fulfillment(id) {
                for v in [&f.shipaddress.addr1, &f.shipaddress.addr2, &f.email]
                    .into_iter()
                    .flatten()
                {
                    addresses.push(("NetSuite address/e-mail".into(), v.clone()));
                }
            }
        }
        assert!(addresses.len() >= 12);
        for h in find_all(&logs, &addresses) {
            leaks.push(format!("logs: {h}"));
        }
        // Positive controls: the same search finds the addresses the ledger keeps on purpose,
        // and the recorder's redaction markers, so an empty result above means something.
        let store_hits: usize = store
            .iter()
            .map(|f| find_all(&std::fs::read(f).unwrap(), &addresses).len())
            .sum();
        assert!(store_hits > 0, "the scan cannot see into the store files");
        let redacted = files(&records)
            .iter()
            .any(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).contains("[redacted]"));
        assert!(redacted, "the recorder redacted nothing?");
        assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
    }
}
