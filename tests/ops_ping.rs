//! `upsync ping`: one line per configured system with status and latency; exit 1 when any
//! system fails (here: a wrong Acumatica password in the vault).

use upsync::ops::world::{World, WorldOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_reports_each_system_and_fails_when_one_rejects_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 2;
    o.netsuite_fulfillments = 2;
    let w = World::start(o).await.unwrap();
    let bin = env!("CARGO_BIN_EXE_upsync");

    let run = |w: &World| {
        let out = w
            .command(std::path::Path::new(bin))
            .arg("ping")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = tokio::task::block_in_place(|| run(&w));
    assert_eq!(code, Some(0), "{text}");
    for system in ["ups", "acumatica", "netsuite"] {
        let line = text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(system))
            .unwrap_or_else(|| panic!("no line for {system}:\n{text}"));
        assert!(line.starts_with("ok"), "{line}");
        assert!(line.trim_end().ends_with("ms"), "{line}");
    }

    // A wrong password: that line fails, the others stay ok, exit 1, no secret printed.
    {
        let store = w.open_store().unwrap();
        upsync::store::cli::Credentials::parse(
            r#"{"username":"admin","password":"not-the-password"}"#,
        )
        .unwrap()
        .save(&store, "acumatica")
        .unwrap();
        store.flush().unwrap();
    }
    let (code, text) = tokio::task::block_in_place(|| run(&w));
    assert_eq!(code, Some(1), "{text}");
    let bad = text.lines().find(|l| l.contains("acumatica")).unwrap();
    assert!(bad.starts_with("FAIL"), "{bad}");
    assert!(!text.contains("not-the-password"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok") && l.contains("netsuite")),
        "{text}"
    );
}
