//! `upsync ping`: one line per configured system with status and latency; exit 1 when any
//! system fails (here: a wrong Acumatica password in the vault).

use upsync::app::world::{World, WorldOptions};

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
        upsync::store::creds::Credentials::parse(
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

/// Issue 15 item 14 — guards: `ping` and `check --online` report, per connector, how many
/// records are in the profile's ready state overall and how many pass its ship via / ship
/// method filter, and warn when none pass (a misspelt carrier name must not look like a
/// quiet day). The old commands printed no counts and no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_and_check_online_count_ready_records_and_warn_when_none_pass() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 10;
    o.netsuite_fulfillments = 20;
    let w = World::start(o).await.unwrap();
    let bin = env!("CARGO_BIN_EXE_upsync");
    let run = |w: &World, args: &[&str]| {
        let out = w
            .command(std::path::Path::new(bin))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };

    // What the simulators hold: NetSuite seeds are all picked/packed, some not UPS;
    // Acumatica seeds are Open, not on hold, some not UPS.
    let ns = &w.netsuite.as_ref().unwrap().sim;
    let ns_all: Vec<_> = (5000..5100u64)
        .filter_map(|id| ns.fulfillment(id))
        .collect();
    let ns_ups = ns_all
        .iter()
        .filter(|f| upsync::sim::netsuite::store::ship_method_name(f.shipmethod).starts_with("UPS"))
        .count();
    let acu = w.acumatica.as_ref().unwrap().state.shipments();
    let val = |s: &serde_json::Value, k: &str| s[k]["value"].clone();
    let acu_ready: Vec<_> = acu
        .iter()
        .filter(|s| val(s, "Status") == "Open" && val(s, "Hold") == false)
        .collect();
    let acu_ups = acu_ready
        .iter()
        .filter(|s| val(s, "ShipVia").as_str().unwrap_or("").starts_with("UPS"))
        .count();
    assert!(
        ns_ups > 0 && ns_ups < ns_all.len(),
        "seeds: {ns_ups}/{}",
        ns_all.len()
    );

    let (code, text) = tokio::task::block_in_place(|| run(&w, &["ping"]));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "{} ready, {ns_ups} pass ship method in [UPS Ground",
            ns_all.len()
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} ready, {acu_ups} pass ship via in [UPSGROUND",
            acu_ready.len()
        )),
        "{text}"
    );
    assert!(!text.contains("warning"), "{text}");

    // Misspelt carrier names in both profiles: nothing passes, and both commands say so.
    let p = dir.path().join("connectors/netsuite.yaml");
    let t = std::fs::read_to_string(&p)
        .unwrap()
        .replace("'UPS ", "'UPS-");
    std::fs::write(&p, t).unwrap();
    let p = dir.path().join("connectors/acumatica.yaml");
    let t = std::fs::read_to_string(&p)
        .unwrap()
        .replace("ship_via: [UPSGROUND,", "ship_via: [UPS-GROUND,")
        .replace(
            ", UPS2DAY, UPSNDA, UPS3DAY, UPSSTD, UPSWWEXP, UPSSAVER, UPSBEST]",
            "]",
        );
    std::fs::write(&p, t).unwrap();
    let (code, text) = tokio::task::block_in_place(|| run(&w, &["ping"]));
    assert_eq!(code, Some(0), "a warning, not a failure:\n{text}");
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("warning:"))
        .collect();
    assert_eq!(warnings.len(), 2, "{text}");
    for w in &warnings {
        assert!(w.contains("misspelt"), "{w}");
    }
    assert!(
        warnings.iter().any(|w| w.contains(&format!(
            "none of the {} ready records pass ship method in [UPS-Ground",
            ns_all.len()
        )) && w.contains("'UPS Ground'")),
        "{text}"
    );
    assert!(
        warnings.iter().any(|w| w.contains(&format!(
            "none of the {} ready records pass ship via in [UPS-GROUND]",
            acu_ready.len()
        ))),
        "{text}"
    );

    let (code, text) = tokio::task::block_in_place(|| run(&w, &["check", "--online"]));
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("warning:") && l.contains("misspelt"))
            .count(),
        2,
        "{text}"
    );
    let (_, plain) = tokio::task::block_in_place(|| run(&w, &["check"]));
    assert!(
        !plain.contains("misspelt"),
        "plain `check` stays offline:\n{plain}"
    );
}
