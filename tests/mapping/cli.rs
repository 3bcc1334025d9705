//! `upsync mapping test`: fixture mode and MAPPING RECORD.json mode, through the binary.

use std::process::Command;

fn upsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_upsync"))
        .args(args)
        .output()
        .expect("run upsync");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn fixture_mode_prints_a_line_per_case_and_exits_zero() {
    let (code, out, err) = upsync(&[
        "mapping",
        "test",
        "mappings/acumatica-shipment.test.yaml",
        "mappings/netsuite-itemfulfillment.test.yaml",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.lines().filter(|l| l.starts_with("ok ")).count() >= 10,
        "{out}"
    );
    assert!(out.contains("0 failed"), "{out}");
}

#[test]
fn record_mode_prints_the_shipment_or_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"id":"5123","tranid":"IF1001","status":"ItemShip:B","shipmethod":"UPS Ground","location":"1",
            "createdfrom":"SO1001","otherrefnum":"PO-778","entity":"Acme Corp","email":"","currency":"USD",
            "lastmodifieddate":"2026-11-21 10:15:03",
            "shipaddress":{"addressee":"Acme Corp","attention":"","addr1":"123 Main St","addr2":"","addr3":"","city":"Alpharetta","state":"GA","zip":"30005","country":"US","addrphone":""},
            "packages":[{"line":"1","packageweight":"5","packagedescr":"Box 1","packagelength":"12","packagewidth":"10","packageheight":"8","declaredvalue":"","packagetrackingnumber":""}],
            "items":[]}"#,
    )
    .unwrap();
    let (code, out, err) = upsync(&[
        "mapping",
        "test",
        "mappings/netsuite-itemfulfillment.yaml",
        good.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("# canonical shipment"), "{out}");
    assert!(out.contains("\"account_number\": \"123X56\""), "{out}");
    assert!(out.contains("UPS Ship request"), "{out}");

    let bad = dir.path().join("bad.json");
    let text = std::fs::read_to_string(&good)
        .unwrap()
        .replace("\"packageweight\":\"5\"", "\"packageweight\":\"0\"")
        .replace("\"zip\":\"30005\"", "\"zip\":\"3\"");
    std::fs::write(&bad, text).unwrap();
    let (code, _out, err) = upsync(&[
        "mapping",
        "test",
        "mappings/netsuite-itemfulfillment.yaml",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("package_weight_invalid") && err.contains("ship_to_postal_code_invalid"),
        "{err}"
    );
    assert!(err.contains("netsuite-itemfulfillment.yaml:"), "{err}");
}

#[test]
fn broken_mapping_exits_78_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.yaml");
    std::fs::write(&m, "version: 1\nship_to:\n  nmae: X\n").unwrap();
    let r = dir.path().join("r.json");
    std::fs::write(&r, "{}").unwrap();
    let (code, _out, err) = upsync(&["mapping", "test", m.to_str().unwrap(), r.to_str().unwrap()]);
    assert_eq!(code, 78, "{err}");
    assert!(err.contains("m.yaml:3: `ship_to.nmae`"), "{err}");
    assert!(
        err.contains("required section `write_back` is missing"),
        "{err}"
    );
}
