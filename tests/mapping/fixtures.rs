//! The bundled mapping fixtures pass, and a changed expectation fails with a readable diff.

use std::path::{Path, PathBuf};

use upsync::commands::mapping::default_fixture_files;
use upsync::mapping::run_fixture_files;

fn bundled() -> Vec<PathBuf> {
    default_fixture_files(Path::new("mappings")).expect("list mappings/")
}

#[test]
fn bundled_fixtures_pass() {
    let files = bundled();
    assert!(
        files.len() >= 2,
        "expected fixture files for both mappings: {files:?}"
    );
    let report = run_fixture_files(
        &files,
        upsync::app::adapters::mapping::ups_request_builder(),
    );
    println!("{}", report.render());
    assert!(report.ok(), "{}", report.render());
    for mapping in ["acumatica-shipment", "netsuite-itemfulfillment"] {
        let n = report
            .cases
            .iter()
            .filter(|c| c.file.contains(mapping))
            .count();
        assert!(n >= 5, "{mapping}: only {n} cases");
    }
}

/// Changing one expectation makes exactly that case fail, with the JSON path and both values.
#[test]
fn changed_expectation_fails_with_a_readable_diff() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "mappings/acumatica-shipment.yaml",
        dir.path().join("acumatica-shipment.yaml"),
    )
    .unwrap();
    let fixture = std::fs::read_to_string("mappings/acumatica-shipment.test.yaml").unwrap();
    let changed = fixture.replacen(
        "postal_code: \"300051234\"",
        "postal_code: \"300051235\"",
        1,
    );
    assert_ne!(changed, fixture);
    let path = dir.path().join("acumatica-shipment.test.yaml");
    std::fs::write(&path, changed).unwrap();
    let report = run_fixture_files(&[path], None);
    assert!(!report.ok());
    assert_eq!(report.failed(), 1, "{}", report.render());
    let failed = report.cases.iter().find(|c| !c.passed).unwrap();
    assert!(failed.name.starts_with("residential US"));
    assert_eq!(
        failed.failures,
        vec![
            "at $shipment.ship_to.address.postal_code: expected \"300051235\", got \"300051234\""
                .to_string()
        ]
    );
    let rendered = report.render();
    assert!(rendered.contains("FAIL"), "{rendered}");
    assert!(rendered.contains("1 failed"), "{rendered}");
}

/// An expected error code that does not occur is reported with the actual errors.
#[test]
fn changed_error_expectation_lists_actual_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "mappings/netsuite-itemfulfillment.yaml",
        dir.path().join("netsuite-itemfulfillment.yaml"),
    )
    .unwrap();
    let fixture = std::fs::read_to_string("mappings/netsuite-itemfulfillment.test.yaml").unwrap();
    let changed = fixture.replacen(
        "expect_errors: [service_unmapped]",
        "expect_errors: [ship_from_unknown]",
        1,
    );
    assert_ne!(changed, fixture);
    let path = dir.path().join("netsuite-itemfulfillment.test.yaml");
    std::fs::write(&path, changed).unwrap();
    let report = run_fixture_files(&[path], None);
    let failed: Vec<_> = report.cases.iter().filter(|c| !c.passed).collect();
    assert_eq!(failed.len(), 1, "{}", report.render());
    assert!(
        failed[0].failures[0]
            .contains("expected [\"ship_from_unknown\"], got [\"service_unmapped\"]"),
        "{:?}",
        failed[0].failures
    );
    assert!(
        failed[0]
            .failures
            .iter()
            .any(|f| f.contains("netsuite-itemfulfillment.yaml:") && f.contains("shipmethod")),
        "{:?}",
        failed[0].failures
    );
}
