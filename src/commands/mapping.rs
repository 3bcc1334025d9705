//! `upsync mapping …` commands.
//!
//! * `upsync mapping test` — run every `mappings/*.test.yaml` (exit 0 all pass, 1 any fail).
//! * `upsync mapping test A.test.yaml B.test.yaml` — run these fixture files.
//! * `upsync mapping test MAPPING.yaml RECORD.json` — print the canonical shipment and the
//!   UPS Ship request it becomes, or every error (exit 1; 78 for a broken mapping). The
//!   record may be the decoded shape or exactly what the ERP API returns (Acumatica
//!   `{"value": …}` wrappers, a NetSuite record-API itemFulfillment): it is decoded with the
//!   connector's own codec first.
//!
//! The command is the only place that puts the mapping engine, the ERP codecs and the UPS
//! request builder side by side ([`crate::app::adapters::mapping::ups_request_builder`]);
//! `mapping/` itself knows neither UPS nor the connectors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value as Json;

use crate::app::adapters::mapping::ups_request_builder as request_builder;
use crate::cli::Globals;
use crate::mapping::fixtures::run_fixture_files;
use crate::mapping::Mapping;
use crate::model::{ErpRecord, Shipment};

#[derive(Debug, clap::Subcommand)]
pub enum MappingCommand {
    /// Run mapping fixtures (`mappings/*.test.yaml`), or with MAPPING RECORD.json print the
    /// canonical shipment and the UPS Ship request it becomes.
    Test {
        /// Fixture files, or a mapping file followed by a record JSON file.
        files: Vec<PathBuf>,
    },
}

/// `upsync mapping test …`.
pub async fn run(_g: &Globals, cmd: MappingCommand) -> anyhow::Result<ExitCode> {
    let MappingCommand::Test { files } = cmd;
    if files.len() == 2 && is_record_file(&files[1]) && !is_fixture_file(&files[0]) {
        return Ok(print_one(&files[0], &files[1]));
    }
    let files = if files.is_empty() {
        default_fixture_files(Path::new("mappings"))?
    } else {
        files
    };
    if files.is_empty() {
        eprintln!("no fixture files found (looked for mappings/*.test.yaml)");
        return Ok(ExitCode::from(1));
    }
    let report = run_fixture_files(&files, request_builder());
    print!("{}", report.render());
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn is_fixture_file(p: &Path) -> bool {
    p.to_string_lossy().ends_with(".test.yaml") || p.to_string_lossy().ends_with(".test.yml")
}

fn is_record_file(p: &Path) -> bool {
    p.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// `DIR/*.test.yaml`, sorted.
pub fn default_fixture_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(anyhow::anyhow!("cannot list {}: {e}", dir.display())),
    };
    for entry in rd {
        let p = entry?.path();
        if is_fixture_file(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

/// Read a record file: a full `ErpRecord` (with `data`), a bare decoded record, or the
/// record exactly as the ERP API returns it — decoded with the connector's own decoder
/// (see [`decode_api_form`]).
pub fn read_record(mapping: &Mapping, path: &Path) -> anyhow::Result<ErpRecord> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let json: Json = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", path.display()))?;
    if !json.is_object() {
        anyhow::bail!(
            "{} holds {}, not a record: give one JSON object (a decoded record, or the record as the ERP API returns it)",
            path.display(),
            match json {
                Json::Array(_) => "an array (a list answer? take one element)",
                _ => "a single value",
            }
        );
    }
    if json.get("data").is_some() && json.get("id").is_some() {
        if let Ok(r) = serde_json::from_value::<ErpRecord>(json.clone()) {
            return Ok(r);
        }
    }
    let (data, form) = decode_api_form(json);
    if let Some(form) = form {
        eprintln!("# {}: read as {form}", path.display());
    }
    Ok(mapping.record_from_data("cli", data))
}

/// The ERP API forms `mapping test` accepts besides the decoded record, decoded with the
/// connector's own codec: an Acumatica contract-API record (`{"value": …}` wrappers, `{}`
/// for empty, `custom` fields with their `type`) and a NetSuite record-API itemFulfillment
/// (`tranId`, `shipStatus`, sublists under `items`). Returns the decoded data and which form
/// was recognised (`None`: already decoded).
pub fn decode_api_form(json: Json) -> (Json, Option<&'static str>) {
    let wrapped = json.as_object().is_some_and(|o| {
        o.values().any(|v| {
            v.as_object().is_some_and(|w| {
                w.contains_key("value") && crate::sources::acumatica::codec::is_wrapper(v)
            })
        })
    });
    if wrapped {
        return (
            crate::sources::acumatica::codec::decode(&json),
            Some("an Acumatica API record ({\"value\": …} wrappers decoded)"),
        );
    }
    if crate::sources::netsuite::codec::is_record_api(&json) {
        return (
            crate::sources::netsuite::codec::from_record_api(&json),
            Some("a NetSuite record-API itemFulfillment (decoded to the SuiteQL shape)"),
        );
    }
    (json, None)
}

fn print_one(mapping_path: &Path, record_path: &Path) -> ExitCode {
    let mapping = match Mapping::load(mapping_path) {
        Ok(m) => m,
        Err(errs) => {
            eprint!("{errs}");
            return ExitCode::from(78);
        }
    };
    let record = match read_record(&mapping, record_path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::from(1);
        }
    };
    match mapping.to_shipment(&record) {
        Ok(s) => {
            println!("# canonical shipment");
            println!("{}", pretty(&s));
            match request_builder() {
                Some(b) => {
                    println!("# UPS Ship request");
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&b(&s)).unwrap_or_default()
                    );
                }
                None => println!(
                    "# UPS Ship request: not available in this build (the request builder arrives with the UPS client)"
                ),
            }
            ExitCode::SUCCESS
        }
        Err(errs) => {
            eprintln!("{} error(s) for record {}:", errs.0.len(), record.id);
            for e in &errs.0 {
                eprintln!("  {e}");
            }
            ExitCode::from(1)
        }
    }
}

fn pretty(s: &Shipment) -> String {
    serde_json::to_string_pretty(s).unwrap_or_default()
}
