//! A broken mapping reports ALL its problems at once, each with file, line and fix.

use std::path::PathBuf;

use upsync::mapping::{run_fixture_files, Mapping};

const BROKEN: &str = r#"version: 1
record: {id: id, number: ShipmentNbr}
lookups:
  ship_via: {UPSGROUND: "03"}
ship_from:
  key: WarehouseID
  entries:
    MAIN:
      account: {literal: "123X56"}
      name: Example
      address: {lines: [1 A St], city: Timonium, state: MD, postal_code: "21093", country: US}
ship_to:
  name: ShippingSettings.ShipToContact.BusinesName   # M:typo-path
  nmae: oops                                          # M:unknown-key
  address_lines: [ShippingSettings.ShipToAddress.AddressLine1]
  city: {lookup: cities, key: ShippingSettings.ShipToAddress.City}   # M:bad-lookup
  country: ShippingSettings.ShipToAddress.Country
packages:
  for_each: Packages
  line_id: id
  weight: {value: Weight, unit: {literal: LB}}
  packaging: "02"                                     # M:literal-as-path
service:
  ship_via: {lookup: ship_via, key: ShipVia, missing: maybe}   # M:bad-missing
  table:
    UPSGROUND: "99"                                   # M:bad-service
references:
  shipment_number: {code: XX}                         # M:bad-ref-code
label: {format: ZPL}                                  # M:no-stock
write_back:                                           # M:write-back
  status: custom.Document.UsrUpsStatus
"#;

fn line(marker: &str) -> usize {
    BROKEN
        .lines()
        .position(|l| l.contains(&format!("# M:{marker}")))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("marker {marker}"))
}

#[test]
fn broken_mapping_reports_every_problem_with_file_and_line() {
    let errs = Mapping::from_str(BROKEN, "broken.yaml")
        .expect_err("must not load")
        .0;
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let has = |marker: &str, needle: &str| {
        let l = line(marker);
        assert!(
            errs.iter()
                .any(|e| e.file == "broken.yaml" && e.line == l && e.message.contains(needle)),
            "no error at line {l} containing {needle:?}:\n{}",
            text.join("\n")
        );
    };
    has("unknown-key", "unknown field `nmae`");
    has("bad-lookup", "lookup table `cities` is not defined");
    has("literal-as-path", "not a field path");
    has("bad-missing", "unknown `missing:` policy");
    has("bad-service", "`99` is not a UPS service code");
    has("bad-ref-code", "`XX` is not a UPS reference code");
    has("no-stock", "need a stock size");
    // Missing required write-back targets: named, with the line of `write_back:`.
    let wb = line("write-back");
    for target in ["package_tracking", "error"] {
        assert!(
            errs.iter().any(|e| e.line == wb
                && e.message
                    .contains(&format!("required write-back target `{target}`"))),
            "missing target {target} not reported:\n{}",
            text.join("\n")
        );
    }
    // Every error says what to do.
    assert!(errs.iter().all(|e| !e.fix.is_empty()));
    // Rendered form: file:line: `key`: message. Fix: …
    assert!(
        text.iter().any(|t| t.starts_with(&format!(
            "broken.yaml:{}: `ship_to.nmae`",
            line("unknown-key")
        ))),
        "{text:?}"
    );
    assert!(errs.len() >= 9, "{}", text.join("\n"));
}

#[test]
fn yaml_syntax_error_has_a_line() {
    let errs = Mapping::from_str("ship_to:\n  name: [unclosed\n", "bad.yaml")
        .unwrap_err()
        .0;
    assert_eq!(errs.len(), 1);
    assert!(errs[0].line >= 2, "{:?}", errs[0]);
}

#[test]
fn missing_sections_are_all_listed() {
    let errs = Mapping::from_str("version: 1\nbogus: 1\n", "empty.yaml")
        .unwrap_err()
        .0;
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    for s in [
        "bogus",
        "ship_from",
        "ship_to",
        "packages",
        "service",
        "references",
        "label",
        "write_back",
    ] {
        assert!(keys.contains(&s), "{keys:?}");
    }
    assert_eq!(errs.iter().find(|e| e.key == "bogus").unwrap().line, 2);
}

/// A field path that exists in no fixture record is an error with the mapping's file:line.
#[test]
fn unknown_field_path_is_caught_by_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string("mappings/acumatica-shipment.yaml").unwrap();
    let typo = good.replacen(
        "ship_to:\n  name:\n    first_non_empty: [ShippingSettings.ShipToContact.BusinessName,",
        "ship_to:\n  name:\n    first_non_empty: [ShippingSettings.ShipToContact.BusinesName,",
        1,
    );
    assert_ne!(typo, good, "the replacement must apply");
    let typo_line = typo
        .lines()
        .position(|l| l.contains("BusinesName"))
        .unwrap()
        + 1;
    std::fs::write(dir.path().join("acumatica-shipment.yaml"), &typo).unwrap();
    std::fs::copy(
        "mappings/acumatica-shipment.test.yaml",
        dir.path().join("acumatica-shipment.test.yaml"),
    )
    .unwrap();
    let files: Vec<PathBuf> = vec![dir.path().join("acumatica-shipment.test.yaml")];
    let report = run_fixture_files(&files, None);
    assert!(!report.ok());
    let needle = format!("acumatica-shipment.yaml:{typo_line}:");
    assert!(
        report.errors.iter().any(|e| e.contains(&needle)
            && e.contains("BusinesName")
            && e.contains("resolves in no fixture record")),
        "{}",
        report.render()
    );
}

/// `check_directory` (used by `upsync check`) passes on the bundled mappings and lists every
/// problem of a broken directory.
#[test]
fn check_directory_reports_broken_mappings_and_fixtures() {
    assert!(upsync::mapping::check_directory(std::path::Path::new("mappings"), None).is_empty());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.yaml"), BROKEN).unwrap();
    std::fs::write(
        dir.path().join("broken.test.yaml"),
        "mapping: broken.yaml\ncases: []\n",
    )
    .unwrap();
    let problems = upsync::mapping::check_directory(dir.path(), None);
    assert!(problems.len() >= 9, "{problems:#?}");
    assert!(
        problems.iter().all(|p| p.contains("broken.yaml:")),
        "{problems:#?}"
    );
}

#[test]
fn mapping_is_shareable_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Mapping>();
}

/// Shipper entries are checked when the mapping loads, not on every record.
#[test]
fn bad_shipper_entry_is_a_load_error() {
    let text = std::fs::read_to_string("mappings/acumatica-shipment.yaml")
        .unwrap()
        .replacen("postal_code: \"21093\"", "postal_code: \"2109\"", 1)
        .replacen("phone: \"5105550100\"", "phone: \"555\"", 1);
    let errs = Mapping::from_str(&text, "acu.yaml").unwrap_err().0;
    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "ship_from.entries.MAIN.address.postal_code",
            "ship_from.entries.WEST.phone"
        ],
        "{errs:?}"
    );
    assert!(errs[0].message.contains("shipper_postal_code_invalid"));
    let src = std::fs::read_to_string("mappings/acumatica-shipment.yaml").unwrap();
    let line_of = |needle: &str, nth: usize| {
        src.lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .nth(nth)
            .unwrap()
            .0
            + 1
    };
    assert_eq!(errs[0].line, line_of("postal_code: \"21093\"", 0));
    assert_eq!(errs[1].line, line_of("phone: \"5105550100\"", 0));
}

/// `write_back.status_values`: a status without the ERP's word, an unknown status and an
/// empty word are each reported with the key, and the fix names the missing statuses.
#[test]
fn status_values_must_cover_every_status() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings/acumatica-shipment.yaml");
    let good = std::fs::read_to_string(&path).unwrap();
    assert!(Mapping::from_str(&good, "acumatica-shipment.yaml").is_ok());
    // Drop two statuses, misspell one, blank one.
    let broken = good
        .replace("    not_found: Not Found at UPS\n", "")
        .replace(
            "    expired: No Recent Scans\n",
            "    expird: No Recent Scans\n",
        )
        .replace("    voided: Voided\n", "    voided: \"\"\n");
    assert_ne!(broken, good, "the fixture lines moved");
    let errs = Mapping::from_str(&broken, "acumatica-shipment.yaml")
        .expect_err("must not load")
        .0;
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = text.join("\n");
    assert!(
        errs.iter().any(|e| e
            .message
            .contains("no ERP value for status(es): not_found, voided, expired")
            && e.fix.contains("not_found: \"Not Found\"")),
        "{all}"
    );
    assert!(all.contains("`expird` is not a tracking status"), "{all}");
    assert!(all.contains("status `voided` has an empty value"), "{all}");
    assert!(all.contains("write_back.status_values"), "{all}");
}
