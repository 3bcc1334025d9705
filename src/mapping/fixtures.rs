//! Mapping fixtures (`mappings/*.test.yaml`): admins' own tests of their mappings, run by
//! `upsync mapping test` and by `upsync check`.
//!
//! ```yaml
//! mapping: acumatica-shipment.yaml     # relative to this file
//! cases:
//!   - name: residential US
//!     record: {…decoded ERP record…}   # ErpRecord.data; id/number come from `record:` in the mapping
//!     expect_shipment: {…}             # JSON subset of the canonical Shipment
//!     expect_errors: [code, …]         # instead of expect_shipment: the exact set of codes
//!     ship_result: {…}                 # optional ShipResult; else a synthetic one (1Z per package)
//!     expect_write_back: {fields: {…}, package_lines: {…}, files: […], confirm_shipment: …}
//!     tracking: {…}                    # optional TrackingSnapshot
//!     expect_tracking_write_back: {…}
//!     expect_failure_write_back: {…}   # error cases: write-back of the first error code
//!     expect_cancelled: false
//!     expect_ups_request: {…}          # subset of the UPS ShipmentRequest (needs the builder)
//! ```
//!
//! Subset match: every key written in the expectation must be present and equal; arrays
//! must have the same length; numbers and numeric strings compare by value (`"5"` = `5.0`).
//! A failing case prints each difference as `at $.json.path: expected …, got …`.
//!
//! After all cases, every field path of each mapping must exist in at least one fixture
//! record of that mapping; a path that resolves nowhere is reported with its file:line.
//!
//! Only file reads; no network. The UPS request builder is passed in by the caller.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value as Json;

use super::writeback::write_back_view;
use super::Mapping;
use crate::model::{Charges, Label, Money, PackageResult, ShipResult, Shipment, TrackingSnapshot};

/// Builds the UPS Ship request body for a shipment (the assembly passes `crate::app::adapters::mapping::ups_request_builder`).
pub type RequestBuilder<'a> = &'a dyn Fn(&Shipment) -> Json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    mapping: String,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    record: Json,
    #[serde(default)]
    expect_shipment: Option<Json>,
    #[serde(default)]
    expect_errors: Option<Vec<String>>,
    #[serde(default)]
    ship_result: Option<Json>,
    #[serde(default)]
    expect_write_back: Option<Json>,
    #[serde(default)]
    tracking: Option<Json>,
    #[serde(default)]
    expect_tracking_write_back: Option<Json>,
    #[serde(default)]
    expect_failure_write_back: Option<Json>,
    #[serde(default)]
    expect_cancelled: Option<bool>,
    #[serde(default)]
    expect_ups_request: Option<Json>,
}

/// The ERP records of a fixture file (for field-path checks).
pub fn fixture_records(path: &Path) -> Result<Vec<Json>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let fx: FixtureFile =
        serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(fx.cases.into_iter().map(|c| c.record).collect())
}

/// Outcome of one fixture case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub file: String,
    pub name: String,
    pub passed: bool,
    /// Readable differences (`at $.ship_to.name: expected "A", got "B"`).
    pub failures: Vec<String>,
    /// Things not checked and why.
    pub notes: Vec<String>,
}

/// Outcome of a fixture run.
#[derive(Debug, Clone, Default)]
pub struct FixtureReport {
    pub cases: Vec<CaseResult>,
    /// File-level problems: unreadable fixture, broken mapping, unknown field paths.
    pub errors: Vec<String>,
}

impl FixtureReport {
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }
    /// Every case passed and no file-level problem.
    pub fn ok(&self) -> bool {
        self.errors.is_empty() && self.cases.iter().all(|c| c.passed)
    }
    /// One line per case, differences indented under failing ones, then file problems.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for c in &self.cases {
            s.push_str(&format!(
                "{} {} :: {}\n",
                if c.passed { "ok  " } else { "FAIL" },
                c.file,
                c.name
            ));
            for f in &c.failures {
                s.push_str(&format!("       {f}\n"));
            }
            for n in &c.notes {
                s.push_str(&format!("       note: {n}\n"));
            }
        }
        for e in &self.errors {
            s.push_str(&format!("ERROR {e}\n"));
        }
        s.push_str(&format!(
            "{} passed, {} failed, {} file problem(s)\n",
            self.passed(),
            self.failed(),
            self.errors.len()
        ));
        s
    }
}

/// Run fixture files. `builder` turns a shipment into the UPS request for
/// `expect_ups_request`; without it those expectations are noted as not checked.
pub fn run_fixture_files(paths: &[PathBuf], builder: Option<RequestBuilder<'_>>) -> FixtureReport {
    let mut report = FixtureReport::default();
    // Mapping path → (mapping, records seen) for the field-path check.
    let mut seen: BTreeMap<PathBuf, (std::sync::Arc<Mapping>, Vec<Json>)> = BTreeMap::new();
    for path in paths {
        let file = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                report.errors.push(format!("{file}: cannot read: {e}"));
                continue;
            }
        };
        let fx: FixtureFile = match serde_norway::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                let line = e.location().map(|l| l.line()).unwrap_or(0);
                report
                    .errors
                    .push(format!("{file}:{line}: not a valid fixture file: {e}"));
                continue;
            }
        };
        let mpath = path.parent().unwrap_or(Path::new(".")).join(&fx.mapping);
        let mapping = match seen.get(&mpath) {
            Some((m, _)) => m.clone(),
            None => match Mapping::load(&mpath) {
                Ok(m) => {
                    let m = std::sync::Arc::new(m);
                    seen.insert(mpath.clone(), (m.clone(), Vec::new()));
                    m
                }
                Err(errs) => {
                    for e in errs.0 {
                        report.errors.push(e.to_string());
                    }
                    continue;
                }
            },
        };
        for case in fx.cases {
            if let Some((_, recs)) = seen.get_mut(&mpath) {
                recs.push(case.record.clone());
            }
            report.cases.push(run_case(&mapping, &file, case, builder));
        }
    }
    for (m, recs) in seen.values() {
        let refs: Vec<&Json> = recs.iter().collect();
        for e in super::validate_paths_against(m, &refs) {
            report.errors.push(e.to_string());
        }
    }
    report
}

/// Everything `upsync check` needs about a mappings directory: every `*.yaml` mapping
/// loaded (all problems, with file:line) and every `*.test.yaml` fixture run. Returns one
/// line per problem; empty means all good (the caller exits 78 otherwise).
pub fn check_directory(dir: &Path, builder: Option<RequestBuilder<'_>>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            return vec![format!(
                "{}: cannot list the mappings directory: {e}",
                dir.display()
            )]
        }
    };
    entries.sort();
    let is_fixture = |p: &Path| p.to_string_lossy().ends_with(".test.yaml");
    for p in entries.iter().filter(|p| !is_fixture(p)) {
        if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            if let Err(errs) = Mapping::load(p) {
                problems.extend(errs.0.iter().map(|e| e.to_string()));
            }
        }
    }
    let fixtures: Vec<PathBuf> = entries.into_iter().filter(|p| is_fixture(p)).collect();
    if !fixtures.is_empty() {
        let report = run_fixture_files(&fixtures, builder);
        for c in report.cases.iter().filter(|c| !c.passed) {
            problems.push(format!(
                "{} :: {}: {}",
                c.file,
                c.name,
                c.failures.join("; ")
            ));
        }
        // Mapping load errors were already listed above; keep only fixture-level ones.
        for e in report.errors {
            if !problems.contains(&e) {
                problems.push(e);
            }
        }
    }
    problems
}

fn run_case(
    m: &Mapping,
    file: &str,
    case: Case,
    builder: Option<RequestBuilder<'_>>,
) -> CaseResult {
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let record = m.record_from_data("fixture", case.record);
    if let Some(want) = case.expect_cancelled {
        let got = m.is_cancelled(&record);
        if got != want {
            failures.push(format!("at cancelled: expected {want}, got {got}"));
        }
    }
    match m.to_shipment(&record) {
        Ok(shipment) => {
            if let Some(codes) = &case.expect_errors {
                failures.push(format!(
                    "at errors: expected {}, got none (the record mapped cleanly)",
                    codes.join(", ")
                ));
            }
            if let Some(exp) = &case.expect_shipment {
                let actual = serde_json::to_value(&shipment).unwrap_or(Json::Null);
                subset(exp, &actual, "$shipment", &mut failures);
            }
            if let Some(exp) = &case.expect_ups_request {
                match builder {
                    Some(b) => subset(exp, &b(&shipment), "$request", &mut failures),
                    None => notes.push(
                        "expect_ups_request not checked: the UPS request builder is not wired in this build".into(),
                    ),
                }
            }
            if let Some(exp) = &case.expect_write_back {
                let result = match &case.ship_result {
                    Some(j) => match serde_json::from_value::<ShipResult>(j.clone()) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            failures.push(format!("at ship_result: not a ShipResult: {e}"));
                            None
                        }
                    },
                    None => Some(synthetic_ship_result(&shipment)),
                };
                if let Some(r) = result {
                    let wb = m.write_back_shipped(&record, &r);
                    subset(exp, &write_back_view(&wb), "$write_back", &mut failures);
                }
            }
        }
        Err(errs) => match &case.expect_errors {
            Some(codes) => {
                let mut want: Vec<&str> = codes.iter().map(|s| s.as_str()).collect();
                let mut got = errs.codes();
                want.sort_unstable();
                want.dedup();
                got.sort_unstable();
                got.dedup();
                if want != got {
                    failures.push(format!("at errors: expected {want:?}, got {got:?}"));
                    for e in &errs.0 {
                        failures.push(format!("  {e}"));
                    }
                }
                if let Some(exp) = &case.expect_failure_write_back {
                    let first = &errs.0[0];
                    let wb = m.write_back_failure(&record.id, &first.code, &first.message);
                    subset(
                        exp,
                        &write_back_view(&wb),
                        "$failure_write_back",
                        &mut failures,
                    );
                }
            }
            None => {
                failures.push("the record did not map:".to_string());
                for e in &errs.0 {
                    failures.push(format!("  {e}"));
                }
            }
        },
    }
    if let Some(t) = &case.tracking {
        match serde_json::from_value::<TrackingSnapshot>(t.clone()) {
            Ok(snap) => {
                if let Some(exp) = &case.expect_tracking_write_back {
                    let wb = m.write_back_tracking(&record, &snap);
                    subset(
                        exp,
                        &write_back_view(&wb),
                        "$tracking_write_back",
                        &mut failures,
                    );
                }
            }
            Err(e) => failures.push(format!("at tracking: not a TrackingSnapshot: {e}")),
        }
    }
    CaseResult {
        file: file.to_string(),
        name: case.name,
        passed: failures.is_empty(),
        failures,
        notes,
    }
}

/// A deterministic ShipResult for a shipment: valid 1Z per package (shipper account,
/// service, sequence), 12.34 USD, a tiny label in the requested format.
pub fn synthetic_ship_result(s: &Shipment) -> ShipResult {
    let service = match &s.service {
        crate::model::ServiceSelection::Fixed { code } => code.clone(),
        crate::model::ServiceSelection::CheapestWithin {
            fallback, allowed, ..
        } => fallback
            .clone()
            .or_else(|| allowed.first().cloned())
            .unwrap_or_else(|| "03".into()),
    };
    let packages: Vec<PackageResult> = s
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| PackageResult {
            tracking_number: tracking_number(&s.account_number, &service, i as u32 + 1),
            erp_line_id: p.erp_line_id.clone(),
            label: Some(Label {
                format: s.label.format,
                data: b"LABEL".to_vec(),
            }),
        })
        .collect();
    ShipResult {
        shipment_id: packages
            .first()
            .map(|p| p.tracking_number.clone())
            .unwrap_or_default(),
        service_code: service,
        packages,
        charges: Charges {
            total: Some(Money {
                amount: Decimal::new(1234, 2),
                currency: "USD".into(),
            }),
            ..Default::default()
        },
        alerts: vec![],
        documents: vec![],
        paperless: None,
    }
}

/// `1Z` + shipper (6) + service (2) + 7-digit sequence + check digit (UPS-REFERENCE §11).
pub fn tracking_number(shipper: &str, service: &str, seq: u32) -> String {
    let body = format!("{:<6}{:0>2}{:07}", shipper, service, seq).to_ascii_uppercase();
    let mut sum = 0u32;
    for (i, c) in body.chars().enumerate() {
        let d = if c.is_ascii_digit() {
            c as u32 - '0' as u32
        } else {
            (c as u32).wrapping_sub(63) % 10
        };
        sum += if i % 2 == 1 { 2 * d } else { d };
    }
    let check = (10 - sum % 10) % 10;
    format!("1Z{body}{check}")
}

fn as_number(v: &Json) -> Option<Decimal> {
    use std::str::FromStr;
    match v {
        Json::Number(n) => Decimal::from_str(&n.to_string()).ok(),
        Json::String(s) => Decimal::from_str(s.trim()).ok(),
        _ => None,
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", super::expr::truncate_chars(&s, 120))
    } else {
        s
    }
}

/// JSON subset match; each difference appended as `at PATH: expected X, got Y`.
pub fn subset(expected: &Json, actual: &Json, path: &str, out: &mut Vec<String>) {
    match (expected, actual) {
        (Json::Object(e), Json::Object(a)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => subset(ev, av, &p, out),
                    None => out.push(format!(
                        "at {p}: expected {}, got nothing (key absent)",
                        short(ev)
                    )),
                }
            }
        }
        (Json::Array(e), Json::Array(a)) => {
            if e.len() != a.len() {
                out.push(format!(
                    "at {path}: expected {} element(s), got {}: {}",
                    e.len(),
                    a.len(),
                    short(actual)
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a.iter()).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"), out);
            }
        }
        (e, a) => {
            if e == a {
                return;
            }
            if let (Some(x), Some(y)) = (as_number(e), as_number(a)) {
                if x == y {
                    return;
                }
            }
            out.push(format!(
                "at {path}: expected {}, got {}",
                short(e),
                short(a)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tracking_numbers_have_valid_check_digits() {
        // Known-good example from UPS-REFERENCE §11.
        assert_eq!(tracking_number("123X56", "03", 1), "1Z123X560300000018");
    }

    #[test]
    fn subset_reports_paths() {
        let mut out = vec![];
        subset(
            &json!({"a": {"b": "5", "c": [1, 2]}, "d": "x"}),
            &json!({"a": {"b": 5.0, "c": [1, 3]}, "e": 1}),
            "$",
            &mut out,
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out[0].contains("at $.a.c[1]: expected 2, got 3"));
        assert!(out[1].contains("at $.d: expected \"x\", got nothing"));
    }
}
