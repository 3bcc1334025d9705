//! `upsync demo --shipments 5` as a user runs it: the real binary, no set-up, exit 0, every
//! shipment delivered and written back (checked in the `--report` JSON), labels on disk,
//! one request folder per simulator under `--record-dir`.

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_upsync");

#[test]
fn demo_with_five_shipments_delivers_everything_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let rec = dir.path().join("requests");
    let report = dir.path().join("report.json");
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["demo", "--shipments", "5", "--dir"])
        .arg(&work)
        .arg("--record-dir")
        .arg(&rec)
        .arg("--report")
        .arg(&report)
        .env_remove("UPSYNC_LOG")
        .env_remove("UPSYNC_CONFIG")
        .env_remove("UPSYNC_STATE_DIR")
        .env_remove("UPSYNC_MASTER_KEY_FILE")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the demo must finish well within two minutes even in a debug build.
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("demo did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(status.success(), "{status:?}\n{stdout}\n{stderr}");
    // Quiet: progress lines on stdout, no info-level log spam on stderr.
    assert!(
        !stderr.contains(" INFO "),
        "demo logs at info by default: {stderr}"
    );
    assert!(stdout.contains("totals:"), "{stdout}");
    assert!(stdout.contains("delivered"), "{stdout}");

    let all: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    // Issue 20: return records of both ERPs (their own connectors), delivered back to the
    // warehouse and written back; an outbound row carries its automatic return's 1Z.
    let (returns, rows): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r["kind"] == "return");
    let return_sources: std::collections::BTreeSet<&str> = returns
        .iter()
        .map(|r| r["source"].as_str().unwrap())
        .collect();
    assert_eq!(
        return_sources.into_iter().collect::<Vec<_>>(),
        ["acumatica-returns", "netsuite-returns"]
    );
    for r in &returns {
        assert_eq!(r["milestone"], "delivered", "{r}");
        assert_eq!(r["written_back"], true, "{r}");
        assert!(
            r["tracking_numbers"][0].as_str().unwrap().starts_with("1Z"),
            "{r}"
        );
    }
    assert!(
        rows.iter().any(|r| r["kind"] == "outbound"
            && r["return_tracking_numbers"].as_array().is_some_and(
                |a| !a.is_empty() && a.iter().all(|t| t.as_str().unwrap().starts_with("1Z"))
            )),
        "one outbound row with an automatic return: {rows:?}"
    );
    // 5 per ERP, minus the odd non-UPS ship-via, plus the 120-line order (issue 20).
    assert!(rows.len() >= 8 && rows.len() <= 11, "{} rows", rows.len());
    // The 120-line order: one row whose 1Z numbers come from ≥ 3 UPS shipments of ≤ 50
    // customs lines each (the recorded Ship requests carrying its part references).
    let split: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["tracking_numbers"].as_array().unwrap().len() >= 3)
        .filter(|r| r["source"] == "acumatica")
        .collect();
    // Products per part reference: a part refused and sent again (the west account is not
    // paperless-enabled, so UPS refuses the electronic invoice and upsync ships it on
    // paper) is recorded twice with the same reference and the same lines.
    let mut by_ref = std::collections::BTreeMap::<String, usize>::new();
    for f in std::fs::read_dir(rec.join("ups")).unwrap() {
        let path = f.unwrap().path();
        if !path.to_string_lossy().contains("_ship") {
            continue;
        }
        let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let sh = &r["body"]["ShipmentRequest"]["Shipment"];
        let Some(part_ref) = sh["ReferenceNumber"].as_array().and_then(|refs| {
            refs.iter()
                .filter_map(|x| x["Value"].as_str())
                .find(|v| v.ends_with("of3"))
        }) else {
            continue;
        };
        let products = sh["ShipmentServiceOptions"]["InternationalForms"]["Product"]
            .as_array()
            .unwrap()
            .len();
        assert!(products <= 50, "{products} products in {}", path.display());
        if let Some(before) = by_ref.insert(part_ref.to_string(), products) {
            assert_eq!(before, products, "{part_ref} sent again with other lines");
        }
    }
    let parts: Vec<usize> = by_ref.values().copied().collect();
    assert_eq!(parts.iter().sum::<usize>(), 120, "{by_ref:?}");
    assert!(parts.len() >= 3, "{parts:?}");
    assert!(
        split
            .iter()
            .any(|r| r["tracking_numbers"].as_array().unwrap().len() >= parts.len()),
        "one row holds every part's 1Z: {split:?}"
    );
    let sources: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert_eq!(
        sources.into_iter().collect::<Vec<_>>(),
        ["acumatica", "netsuite"]
    );
    for r in &rows {
        assert_eq!(r["milestone"], "delivered", "{r}");
        assert_eq!(r["written_back"], true, "{r}");
        assert!(!r["erp_record_id"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["reference"].as_str().unwrap().is_empty(), "{r}");
        let tns = r["tracking_numbers"].as_array().unwrap();
        assert!(!tns.is_empty(), "{r}");
        for t in tns {
            assert!(t.as_str().unwrap().starts_with("1Z"), "{r}");
        }
        assert!(r["charge"].as_str().is_some_and(|c| !c.is_empty()), "{r}");
        // The account it went out on (issue 19): its name, matching the 1Z's shipper.
        let shipper = match r["ups_account"].as_str() {
            Some("east") => "123X56",
            Some("west") => "456Y78",
            _ => panic!("ups_account: {r}"),
        };
        assert_eq!(&tns[0].as_str().unwrap()[2..8], shipper, "{r}");
        assert!(!r["service"].as_str().unwrap().is_empty(), "{r}");
        let files = r["label_files"].as_array().unwrap();
        assert_eq!(files.len(), tns.len(), "one label per package: {r}");
        for f in files {
            let p = work.join("labels").join(f.as_str().unwrap());
            assert!(std::fs::metadata(&p).unwrap().len() > 0, "{}", p.display());
        }
    }
    // The demo's two accounts (two OAuth clients) both ship.
    let accounts: std::collections::BTreeSet<&str> = rows
        .iter()
        .map(|r| r["ups_account"].as_str().unwrap())
        .collect();
    assert_eq!(accounts.into_iter().collect::<Vec<_>>(), ["east", "west"]);
    // Issue 20's warehouse columns, from the demo's own world: a release after a site's
    // cutoff (two ship dates), on-call pickups, invoice PDFs, paperless document ids.
    let dates: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r["ship_date"].as_str())
        .collect();
    assert!(
        dates.len() >= 2,
        "a release after the cutoff rolls to the next business day: {dates:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["pickup_prn"].as_str().is_some_and(|p| !p.is_empty())),
        "an on-call pickup's PRN on a row"
    );
    let documents: Vec<&str> = rows
        .iter()
        .flat_map(|r| r["documents"].as_array().unwrap().iter())
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        !documents.is_empty() && documents.iter().all(|d| d.ends_with(".pdf")),
        "invoice PDFs of the international rows: {documents:?}"
    );
    for d in &documents {
        assert!(
            work.join("labels").join(d).exists(),
            "{d} in the label folder"
        );
    }
    assert!(
        rows.iter()
            .any(|r| !r["paperless_document_ids"].as_array().unwrap().is_empty()),
        "a paperless account's row references its uploaded document"
    );
    // Every Ship, Pickup and Paperless request the UPS simulator recorded is valid against
    // the official spec (strict: no tolerance applied).
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    for f in std::fs::read_dir(rec.join("ups")).unwrap() {
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap();
        let path = r["path"].as_str().unwrap_or_default().to_string();
        let which = if path.ends_with("/ship") {
            ("ship", upsync::sim::ups::schema::BodySchema::Ship)
        } else if path.contains("/pickupcreation/") {
            (
                "pickup",
                upsync::sim::ups::schema::BodySchema::PickupCreation,
            )
        } else if path.contains("/paperlessdocuments/") && path.ends_with("/upload") {
            (
                "paperless upload",
                upsync::sim::ups::schema::BodySchema::PaperlessUpload,
            )
        } else if path.contains("/paperlessdocuments/") && path.ends_with("/image") {
            (
                "paperless push",
                upsync::sim::ups::schema::BodySchema::PaperlessPush,
            )
        } else {
            continue;
        };
        let mut body = r["body"].clone();
        assert_eq!(
            upsync::sim::ups::schema::validate(which.1, &mut body, false).map(|_| ()),
            Ok(()),
            "{path}: {body}"
        );
        *seen.entry(which.0).or_default() += 1;
    }
    for kind in ["ship", "pickup", "paperless upload"] {
        assert!(
            seen.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} request recorded: {seen:?}"
        );
    }
    for sim in ["ups", "acumatica", "netsuite"] {
        let d = rec.join(sim);
        assert!(
            std::fs::read_dir(&d).map(|r| r.count()).unwrap_or(0) > 0,
            "no recorded requests in {}",
            d.display()
        );
    }
    assert!(stdout.contains(&work.join("labels").display().to_string()));
}
