//! Issue 6, Must-show 3: a broken mapping (unknown field path, bad lookup, missing required
//! write-back target) gives errors with file and line, all of them at once, via
//! `upsync check` (exit 78).

use crate::common::*;

#[test]
fn check_reports_every_mapping_problem_with_file_and_line_and_exits_78() {
    let sb = Sandbox::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |f: &str| std::fs::read_to_string(format!("{root}/{f}")).unwrap();
    let good = read("mappings/acumatica-shipment.yaml");

    // Three independent mistakes in one mapping.
    let broken = good
        .replacen(
            "city: {path: ShippingSettings.ShipToAddress.City,",
            "city: {path: ShippingSettings.ShipToAddress.Cty,",
            1,
        )
        .replacen(
            "{lookup: box_packaging, key: BoxID,",
            "{lookup: box_packagings, key: BoxID,",
            1,
        );
    let broken: String = broken
        .lines()
        .filter(|l| !l.trim_start().starts_with("package_tracking:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(broken.contains(".Cty,") && broken.contains("box_packagings"));
    assert!(!broken.contains("package_tracking:"));
    let line_of = |needle: &str| broken.lines().position(|l| l.contains(needle)).unwrap() + 1;

    sb.write(
        "connectors/acumatica.yaml",
        &read("connectors/acumatica.yaml"),
    );
    sb.write("mappings/acumatica-shipment.yaml", &broken);
    sb.write(
        "mappings/acumatica-shipment.test.yaml",
        &read("mappings/acumatica-shipment.test.yaml"),
    );
    sb.write(
        "config/upsync.yaml",
        r#"ups: {account_number: "123X56"}
connectors:
  - name: acumatica
    type: acumatica
    profile: ../connectors/acumatica.yaml
    mapping: ../mappings/acumatica-shipment.yaml
    schedule: "*/5 * * * *"
    credentials: acumatica
"#,
    );
    let out = sb.run(&["check"], "");
    let err = stderr(&out) + &stdout(&out);
    assert_eq!(out.status.code(), Some(78), "{err}");
    let file = "acumatica-shipment.yaml";
    for (what, line) in [
        ("ShippingSettings.ShipToAddress.Cty", line_of(".Cty,")),
        ("box_packagings", line_of("box_packagings")),
        ("package_tracking", 0),
    ] {
        let hit = err
            .lines()
            .find(|l| l.contains(what) && l.contains(file))
            .unwrap_or_else(|| panic!("no problem naming {what}:\n{err}"));
        if line > 0 {
            assert!(
                hit.contains(&format!("{file}:{line}:")),
                "{what} should point at line {line}: {hit}"
            );
        } else {
            assert!(
                hit.contains(&format!("{file}:")),
                "{what} should name file:line: {hit}"
            );
        }
    }
}
