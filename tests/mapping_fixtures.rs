//! The bundled mapping fixtures pass, and a changed expectation fails with a readable diff.

use std::path::{Path, PathBuf};

use upsync::mapping::cli::default_fixture_files;
use upsync::mapping::run_fixture_files;

fn bundled() -> Vec<PathBuf> {
    default_fixture_files(Path::new("mappings")).expect("list mappings/")
}

#[test]
fn bundled_fixtures_pass() {
    let files = bundled();
    assert!(files.len() >= 2, "expected fixture files for both mappings: {files:?}");
    let report = run_fixture_files(&files, None);
    println!("{}", report.render());
    assert!(report.ok(), "{}", report.render());
    for mapping in ["acumatica-shipment", "netsuite-itemfulfillment"] {
        let n = report.cases.iter().filter(|c| c.file.contains(mapping)).count();
        assert!(n >= 5, "{mapping}: only {n} cases");
    }
}
