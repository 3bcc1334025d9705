//! YAML field-mapping engine: ERP record → canonical [`Shipment`], UPS results → ERP
//! [`WriteBack`]. Integration admins change upsync by editing `mappings/*.yaml`.
//!
//! You are between `sources/` (which hand over decoded [`ErpRecord`]s) and `ups/` (which
//! consumes [`Shipment`]s). This module is **pure**: no I/O except reading files in
//! [`Mapping::load`] and in the CLI/fixture runner. Never log record contents here.
//!
//! Files: `spec.rs` (YAML structures, line index), `expr.rs` (expressions), `rules.rs`
//! (rule checks, UPS-REFERENCE.md §2), `writeback.rs`, `fixtures.rs` (`*.test.yaml`),
//! `upsync mapping test` is `crate::commands::mapping`.
//!
//! # Mapping file format
//!
//! Every value that comes from the record is an *expression* (see [`expr`]): plain text
//! is a field path (`ShippingSettings.ShipToAddress.City`), text with `{{…}}` a template,
//! `{literal: "02"}` fixed text, plus `default`, `lookup`, `first_non_empty`, `when`, and the
//! modifiers `truncate: N`, `upper`, `digits_only`, `trim`.
//!
//! ```yaml
//! version: 1
//! source_type: acumatica-shipment        # informational
//! record: {id: id, number: ShipmentNbr}  # identity of a bare record (fixtures, CLI)
//! lookups:                               # named tables used by `lookup:`
//!   country: {USA: US, Canada: CA}
//! ship_from:                             # shipper per warehouse/location
//!   key: WarehouseID
//!   default: MAIN                        # optional; else `ship_from_unknown`
//!   entries:
//!     MAIN:
//!       account: {literal: "123X56"}     # or an expression picking one of several accounts
//!       name: Example Co
//!       attention: Shipping Dept           # required when the destination is international
//!       phone: "4105550100"
//!       address: {lines: [2311 York Rd], city: Timonium, state: MD, postal_code: "21093", country: US}
//!       pickup: {…}                      # optional UPS ShipFrom when pickup ≠ shipper
//! ship_to: {name, attention, phone, email, tax_id, address_lines: [..], city, state,
//!           postal_code, country, residential, po_box}
//! packages:
//!   for_each: Packages                   # one UPS package per element; paths inside are relative
//!   line_id: id                          # write-back key of the line
//!   weight: {value: Weight, unit: UOM, convert_to: LB}
//!   dimensions: {length: Length, width: Width, height: Height, unit: {literal: IN}}
//!   packaging: {literal: "02"}
//!   declared_value: {amount: DeclaredValue, currency: {literal: USD}}
//!   description: {path: Description, truncate: 35}
//! service:
//!   ship_via: ShipVia
//!   table: {UPSGROUND: "03", UPSBEST: {cheapest_within_days: 3, allowed: ["03","02"], fallback: "03"}}
//!   default: "03"                        # optional; else `service_unmapped`
//! references:
//!   shipment_number: {code: TN, barcode: true}   # always first: the ERP document number
//!   others: [{code: PO, value: custom.Document.UsrCustomerPO}, {code: ON, value: "Orders[0].OrderNbr", optional: true}]
//! ship_date: ShipmentDate
//! label: {format: ZPL, stock: {height: 6, width: 4}}
//! notifications: [{email: ShippingSettings.ShipToContact.Email, codes: ["6", "8"]}]
//! international:                         # used only when the shipment crosses a border
//!   description: Description
//!   form_types: ["01"]
//!   currency: {literal: USD}
//!   reason_for_export: {literal: SALE}
//!   over_limit: refuse                   # or merge_by_hs_code
//!   lines: {for_each: Details, description, hs_code, origin_country, quantity, unit, unit_value, part_number}
//! negotiated_rates: true
//! cancelled: {field: Status, in: [Canceled]}   # optional: a status a custom workflow sets
//! void_on_cancel: true                 # void when cancelled: record deleted, or `cancelled:`
//! write_back: {package_tracking, shipment_id, charges, status, last_scan, delivered_at,
//!              received_by, error, label_file_name, label_file_field, attach_labels, confirm_shipment}
//! ```
//!
//! References: the engine keeps them in priority order in `Shipment.references`; the UPS
//! request builder places them per lane ([`Shipment::reference_level`]). On shipment-level
//! lanes (everything but US→US/PR→PR) UPS takes 2: references marked `optional: true` are
//! dropped from the end to fit, anything else over the limit is `reference_not_allowed`.
//!
//! Customs lines over UPS's limit (100 for an invoice): `over_limit: refuse` (default) gives
//! business error `customs_lines_over_limit`; `merge_by_hs_code` first merges lines with the
//! same HS code, origin and unit value. Shipments are never sent to fail.

pub mod expr;
pub mod fixtures;
pub mod rules;
pub mod spec;
pub mod writeback;

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use crate::model::{
    Address, DimensionUnit, Dimensions, ErpRecord, ErrorClass, International, LabelFormat,
    LabelSpec, Money, Notification, Package, Party, Product, Reference, ServiceSelection, Shipment,
    Weight, WeightUnit,
};
use expr::{Compiler, Cond, EvalError, Expr, FieldPath, PathUse, Scope, Table, Val};
use spec::LineIndex;

pub use fixtures::{check_directory, fixture_records, run_fixture_files, FixtureReport};

/// A problem in a mapping file: file, line, key path and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingError {
    pub file: String,
    pub line: usize,
    /// Key path in the file (`ship_to.address_lines[1]`).
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}. Fix: {}",
            self.file, self.line, self.key, self.message, self.fix
        )
    }
}

/// Every problem found in a mapping file (never just the first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct MappingErrors(pub Vec<MappingError>);

impl std::fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} problem(s) in the mapping:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl MappingErrors {
    /// A broken mapping is a configuration error.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Config
    }
}

/// A rule violation for one ERP record, with everything an admin needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// Stable code (`ship_to_postal_code_invalid`, `package_weight_missing`, …).
    pub code: String,
    pub record_id: String,
    /// ERP field path (`Packages[1].Weight`), when one field is to blame.
    pub field: Option<String>,
    pub mapping_file: String,
    pub line: usize,
    /// Mapping key (`packages.weight.value`).
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: record {}", self.code, self.record_id)?;
        if let Some(field) = &self.field {
            write!(f, " field {field}")?;
        }
        write!(
            f,
            " ({}:{} `{}`): {}. Fix: {}",
            self.mapping_file, self.line, self.key, self.message, self.fix
        )
    }
}

/// Every rule violation of one record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RecordErrors(pub Vec<RecordError>);

impl std::fmt::Display for RecordErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl RecordErrors {
    /// The stable codes, in order.
    pub fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.code.as_str()).collect()
    }
    /// A record that cannot be mapped is a business error (dead-letter with the code).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Business
    }
}

struct CParty {
    name: Expr,
    attention: Option<Expr>,
    phone: Option<Expr>,
    email: Option<Expr>,
    tax_id: Option<Expr>,
    lines: Vec<Expr>,
    city: Expr,
    state: Option<Expr>,
    postal: Option<Expr>,
    country: Expr,
    residential: Option<Expr>,
    po_box: Option<Expr>,
}

struct CEntry {
    account: Expr,
    shipper: Party,
    pickup: Option<Party>,
}

struct CShipFrom {
    key: Expr,
    entries: HashMap<String, CEntry>,
    default: Option<String>,
}

struct CDims {
    length: Expr,
    width: Expr,
    height: Expr,
    unit: Expr,
    to: Option<DimensionUnit>,
}

struct CPackages {
    for_each: FieldPath,
    line_id: Expr,
    weight: Expr,
    weight_unit: Expr,
    weight_to: Option<WeightUnit>,
    dims: Option<CDims>,
    packaging: Expr,
    declared: Option<(Expr, Expr)>,
    description: Option<Expr>,
}

struct CService {
    ship_via: Expr,
    table: HashMap<String, ServiceSelection>,
    default: Option<ServiceSelection>,
}

struct CRef {
    code: String,
    value: Expr,
    barcode: bool,
    optional: bool,
}

struct CRefs {
    number_code: String,
    number_barcode: bool,
    others: Vec<CRef>,
}

struct CNotif {
    email: Expr,
    codes: Vec<String>,
}

struct CLines {
    for_each: FieldPath,
    description: Expr,
    hs_code: Option<Expr>,
    origin: Expr,
    quantity: Expr,
    unit: Option<Expr>,
    unit_value: Expr,
    part_number: Option<Expr>,
}

struct CIntl {
    description: Expr,
    form_types: Vec<String>,
    invoice_number: Option<Expr>,
    invoice_date: Option<Expr>,
    currency: Expr,
    reason: Expr,
    terms: Option<Expr>,
    over_limit: spec::OverLimit,
    lines: CLines,
}

/// Where each UPS result lands in the ERP record (compiled `write_back:`).
pub(crate) struct CWriteBack {
    pub(crate) package_tracking: String,
    pub(crate) shipment_id: Option<String>,
    pub(crate) charges: Option<String>,
    pub(crate) status: String,
    pub(crate) last_scan: Option<String>,
    pub(crate) delivered_at: Option<String>,
    pub(crate) received_by: Option<String>,
    pub(crate) error: String,
    pub(crate) label_file_name: Option<Expr>,
    pub(crate) label_file_field: Option<String>,
    pub(crate) attach_labels: bool,
    pub(crate) confirm_shipment: bool,
}

/// A compiled mapping file. Cheap to share (`Send + Sync`); evaluation allocates only the
/// strings of the resulting shipment.
pub struct Mapping {
    file: String,
    lines: LineIndex,
    record_id: Option<Expr>,
    record_number: Option<Expr>,
    tables: Vec<Table>,
    ship_from: CShipFrom,
    ship_to: CParty,
    packages: CPackages,
    service: CService,
    references: CRefs,
    ship_date: Option<Expr>,
    label: LabelSpec,
    notifications: Vec<CNotif>,
    international: Option<CIntl>,
    negotiated_rates: bool,
    cancelled: Option<Cond>,
    void_on_cancel: bool,
    pub(crate) write_back: CWriteBack,
    paths: Vec<PathUse>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// Deserialize one section with serde (deny_unknown_fields), reporting the exact key.
fn section<T: serde::de::DeserializeOwned>(c: &mut Compiler<'_>, v: &Yaml, key: &str) -> Option<T> {
    use serde_path_to_error::Segment;
    // An unknown key is reported, removed, and the section tried again, so a typo does not
    // hide the other problems of the same section.
    let mut v = v.clone();
    for _ in 0..32 {
        let e = match serde_path_to_error::deserialize::<_, T>(v.clone()) {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        let msg = e.inner().to_string();
        let unknown = msg
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        // The path ends with the unknown key itself; the container is everything before.
        let mut segs: Vec<&Segment> = e.path().iter().collect();
        if let (Some(f), Some(Segment::Map { key: last })) = (&unknown, segs.last()) {
            if last == f {
                segs.pop();
            }
        }
        let mut k = key.to_string();
        for seg in &segs {
            match seg {
                Segment::Seq { index } => k.push_str(&format!("[{index}]")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    k.push('.');
                    k.push_str(key);
                }
                Segment::Unknown => {}
            }
        }
        match unknown {
            Some(field) => {
                c.err(
                    &format!("{k}.{field}"),
                    msg,
                    "check the spelling against the keys documented in the file header",
                );
                // Navigate to the containing mapping and drop the key.
                let mut cur = &mut v;
                for seg in &segs {
                    let next = match seg {
                        Segment::Seq { index } => cur.get_mut(*index),
                        Segment::Map { key } => cur.get_mut(key.as_str()),
                        _ => None,
                    };
                    match next {
                        Some(n) => cur = n,
                        None => return None,
                    }
                }
                let removed = cur
                    .as_mapping_mut()
                    .and_then(|m| m.remove(field.as_str()))
                    .is_some();
                if !removed {
                    return None;
                }
            }
            None => {
                c.err(
                    &k,
                    msg,
                    "see the keys and value types documented in the file header",
                );
                return None;
            }
        }
    }
    None
}

fn opt_expr(c: &mut Compiler<'_>, v: &Option<Yaml>, key: &str) -> Option<Option<Expr>> {
    match v {
        None => Some(None),
        Some(y) => c.expr(y, key).map(Some),
    }
}

fn parse_weight_unit(s: &str) -> Option<WeightUnit> {
    match s.trim().to_ascii_uppercase().as_str() {
        "LB" | "LBS" | "POUND" | "POUNDS" => Some(WeightUnit::Lbs),
        "KG" | "KGS" | "KILOGRAM" | "KILOGRAMS" => Some(WeightUnit::Kgs),
        "OZ" | "OZS" | "OUNCE" | "OUNCES" => Some(WeightUnit::Ozs),
        _ => None,
    }
}

fn parse_dim_unit(s: &str) -> Option<DimensionUnit> {
    match s.trim().to_ascii_uppercase().as_str() {
        "IN" | "INCH" | "INCHES" => Some(DimensionUnit::In),
        "CM" | "CENTIMETER" | "CENTIMETERS" => Some(DimensionUnit::Cm),
        _ => None,
    }
}

/// Convert a weight between units.
pub fn convert_weight(v: Decimal, from: WeightUnit, to: WeightUnit) -> Decimal {
    let grams_per = |u: WeightUnit| match u {
        WeightUnit::Lbs => Decimal::new(45359237, 5),
        WeightUnit::Kgs => Decimal::from(1000),
        WeightUnit::Ozs => Decimal::new(28349523125, 9),
    };
    if from == to {
        v
    } else {
        v * grams_per(from) / grams_per(to)
    }
}

/// Convert a length between units.
pub fn convert_length(v: Decimal, from: DimensionUnit, to: DimensionUnit) -> Decimal {
    match (from, to) {
        (DimensionUnit::In, DimensionUnit::Cm) => v * Decimal::new(254, 2),
        (DimensionUnit::Cm, DimensionUnit::In) => v / Decimal::new(254, 2),
        _ => v,
    }
}

/// Round up to one decimal (UPS weight ≤5 characters) and drop trailing zeros.
fn round_up_1(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(1, RoundingStrategy::AwayFromZero)
        .normalize()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let head = t.get(..10).unwrap_or(t);
    NaiveDate::parse_from_str(head, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t.get(..8).unwrap_or(t), "%Y%m%d"))
        .or_else(|_| NaiveDate::parse_from_str(head, "%m/%d/%Y"))
        .ok()
}

/// Rule codes that depend on the lane (origin → destination).
const LANE_CODES: &[&str] = &[
    "account_invalid",
    "service_invalid_for_lane",
    "international_data_missing",
    "phone_missing",
    "attention_missing",
    "reference_not_allowed",
    "description_too_long",
    "customs_lines_over_limit",
    "customs_description_too_long",
    "customs_quantity_invalid",
    "hs_code_invalid",
];

const FORM_TYPES: &[&str] = &["01", "03", "04", "05", "06", "07", "08", "09", "10", "11"];

impl Mapping {
    /// Read and compile a mapping file; every problem at once, each with file and line.
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, MappingErrors> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            MappingErrors(vec![MappingError {
                file: name.clone(),
                line: 0,
                key: String::new(),
                message: format!("cannot read the mapping file: {e}"),
                fix: "check the path in the connector's `mapping:` setting".into(),
            }])
        })?;
        Mapping::from_str(&text, &name)
    }

    /// Compile a mapping from text; `file_name` is used in every error.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, file_name: &str) -> Result<Mapping, MappingErrors> {
        Self::compile(text, file_name, &mut Vec::new())
    }

    /// Every problem of a mapping, including field paths that resolve in none of `samples`
    /// (fixture records), even when the mapping does not load for other reasons — so
    /// `upsync check` reports an unknown field path together with a bad lookup or a missing
    /// write-back target.
    pub fn problems_with_samples(
        text: &str,
        file_name: &str,
        samples: &[&Json],
    ) -> Vec<MappingError> {
        let mut paths = Vec::new();
        let mut out = match Self::compile(text, file_name, &mut paths) {
            Ok(_) => Vec::new(),
            Err(e) => e.0,
        };
        out.extend(unresolved_paths(file_name, &paths, samples));
        out.sort_by_key(|e| e.line);
        out
    }

    fn compile(
        text: &str,
        file_name: &str,
        paths_out: &mut Vec<PathUse>,
    ) -> Result<Mapping, MappingErrors> {
        let lines = LineIndex::build(text);
        let doc: Yaml = serde_norway::from_str(text).map_err(|e| {
            MappingErrors(vec![MappingError {
                file: file_name.to_string(),
                line: e.location().map(|l| l.line()).unwrap_or(0),
                key: String::new(),
                message: format!("not valid YAML: {e}"),
                fix: "fix the YAML syntax (indentation, quotes, tabs)".into(),
            }])
        })?;
        let mut c = Compiler::new(file_name, &lines);
        let Some(top) = doc.as_mapping() else {
            c.err(
                "",
                "the mapping file must be a YAML mapping of sections",
                "start with `ship_from:`, `ship_to:`, …",
            );
            return Err(MappingErrors(c.errors));
        };
        for (k, _) in top {
            let k = k.as_str().unwrap_or("?");
            if !spec::SECTIONS.contains(&k) {
                c.err(
                    k,
                    format!("unknown section `{k}`"),
                    format!("sections are: {}", spec::SECTIONS.join(", ")),
                );
            }
        }
        for s in spec::REQUIRED_SECTIONS {
            if top.get(Yaml::String(s.to_string())).is_none() {
                c.errors.push(MappingError {
                    file: file_name.to_string(),
                    line: 1,
                    key: s.to_string(),
                    message: format!("required section `{s}` is missing"),
                    fix: format!("add a `{s}:` section (see the bundled mappings)"),
                });
            }
        }
        let get = |k: &str| top.get(Yaml::String(k.to_string()));
        if let Some(v) = get("version") {
            if v.as_u64() != Some(1) {
                c.err(
                    "version",
                    "unsupported mapping version",
                    "write `version: 1`",
                );
            }
        }

        // Lookup tables first: expressions refer to them.
        let mut tables = Vec::new();
        if let Some(l) = get("lookups") {
            match l.as_mapping() {
                Some(m) => {
                    for (name, t) in m {
                        let name = name.as_str().unwrap_or("?").to_string();
                        let key = format!("lookups.{name}");
                        let Some(tm) = t.as_mapping() else {
                            c.err(
                                &key,
                                "a lookup table must be a mapping of ERP value → value",
                                "write `UPSGROUND: \"03\"` lines",
                            );
                            continue;
                        };
                        let mut map = HashMap::new();
                        for (k, v) in tm {
                            let ks = match k {
                                Yaml::String(s) => s.clone(),
                                other => expr::yaml_to_json(other).to_string(),
                            };
                            if v.is_mapping() || v.is_sequence() {
                                c.err(
                                    &format!("{key}.{ks}"),
                                    "lookup values must be plain values",
                                    "write `KEY: value`",
                                );
                            }
                            map.insert(ks, expr::yaml_to_json(v));
                        }
                        c.table_names.insert(name.clone(), tables.len());
                        tables.push(Table { name, map });
                    }
                }
                None => c.err(
                    "lookups",
                    "`lookups:` must be a mapping of table name → table",
                    "see the file header",
                ),
            }
        }

        let record = get("record").and_then(|v| section::<spec::RecordSpec>(&mut c, v, "record"));
        let (record_id, record_number) = match record {
            Some(r) => (
                c.expr(&r.id, "record.id"),
                c.expr(&r.number, "record.number"),
            ),
            None => (None, None),
        };

        let ship_from = get("ship_from")
            .and_then(|v| section::<spec::ShipFromSpec>(&mut c, v, "ship_from"))
            .and_then(|s| compile_ship_from(&mut c, s));
        let ship_to = get("ship_to")
            .and_then(|v| section::<spec::ShipToSpec>(&mut c, v, "ship_to"))
            .and_then(|s| compile_ship_to(&mut c, s));
        let packages = get("packages")
            .and_then(|v| section::<spec::PackagesSpec>(&mut c, v, "packages"))
            .and_then(|s| compile_packages(&mut c, s));
        let service = get("service")
            .and_then(|v| section::<spec::ServiceSpec>(&mut c, v, "service"))
            .and_then(|s| compile_service(&mut c, s));
        let references = get("references")
            .and_then(|v| section::<spec::ReferencesSpec>(&mut c, v, "references"))
            .and_then(|s| compile_refs(&mut c, s));
        let ship_date = match get("ship_date") {
            Some(v) => c.expr(v, "ship_date"),
            None => None,
        };
        let label = get("label")
            .and_then(|v| section::<spec::LabelSpecYaml>(&mut c, v, "label"))
            .and_then(|s| compile_label(&mut c, s));
        let mut notifications = Vec::new();
        if let Some(v) = get("notifications") {
            if let Some(list) = section::<Vec<spec::NotificationSpec>>(&mut c, v, "notifications") {
                for (i, n) in list.into_iter().enumerate() {
                    let key = format!("notifications[{i}]");
                    for code in &n.codes {
                        if !["2", "5", "6", "7", "8"].contains(&code.as_str()) {
                            c.err(&format!("{key}.codes"), format!("unknown UPS notification code `{code}`"), "use 6 (ship), 7 (exception), 8 (delivery), 5 (in transit), 2 (return)");
                        }
                    }
                    if let Some(email) = c.expr(&n.email, &format!("{key}.email")) {
                        notifications.push(CNotif {
                            email,
                            codes: n.codes,
                        });
                    }
                }
            }
        }
        let international = get("international")
            .and_then(|v| section::<spec::InternationalSpec>(&mut c, v, "international"))
            .and_then(|s| compile_intl(&mut c, s));
        let negotiated_rates = match get("negotiated_rates") {
            None => true,
            Some(Yaml::Bool(b)) => *b,
            Some(_) => {
                c.err(
                    "negotiated_rates",
                    "must be true or false",
                    "write `negotiated_rates: true`",
                );
                true
            }
        };
        let void_on_cancel = match get("void_on_cancel") {
            None => false,
            Some(Yaml::Bool(b)) => *b,
            Some(_) => {
                c.err(
                    "void_on_cancel",
                    "must be true or false",
                    "write `void_on_cancel: true`",
                );
                false
            }
        };
        // `void_on_cancel` alone is valid: both ERPs cancel a fulfilment/shipment by
        // deleting it (the pipeline notices the deletion); `cancelled:` adds a status that a
        // customised workflow may set.
        let cancelled = get("cancelled").and_then(|v| c.cond(v, "cancelled"));
        let write_back = get("write_back")
            .and_then(|v| section::<spec::WriteBackSpec>(&mut c, v, "write_back"))
            .and_then(|s| compile_write_back(&mut c, s));

        let errors = std::mem::take(&mut c.errors);
        let paths = std::mem::take(&mut c.paths);
        paths_out.clone_from(&paths);
        match (
            ship_from, ship_to, packages, service, references, label, write_back,
        ) {
            (
                Some(ship_from),
                Some(ship_to),
                Some(packages),
                Some(service),
                Some(references),
                Some(label),
                Some(write_back),
            ) if errors.is_empty() => Ok(Mapping {
                file: file_name.to_string(),
                lines,
                record_id,
                record_number,
                tables,
                ship_from,
                ship_to,
                packages,
                service,
                references,
                ship_date,
                label,
                notifications,
                international,
                negotiated_rates,
                cancelled,
                void_on_cancel,
                write_back,
                paths,
            }),
            _ => {
                let mut errors = errors;
                if errors.is_empty() {
                    errors.push(MappingError {
                        file: file_name.to_string(),
                        line: 1,
                        key: String::new(),
                        message: "the mapping is incomplete".into(),
                        fix: "see the other messages".into(),
                    });
                }
                errors.sort_by_key(|e| e.line);
                Err(MappingErrors(errors))
            }
        }
    }

    /// File name given at load.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Line of a mapping key (for messages).
    pub fn line_of(&self, key: &str) -> usize {
        self.lines.line_of(key)
    }

    /// Every field path the mapping reads or writes, with its line (for fixture checks).
    pub fn paths(&self) -> &[PathUse] {
        &self.paths
    }

    /// Build an [`ErpRecord`] from a bare decoded record using `record: {id, number}`.
    pub fn record_from_data(&self, source: &str, data: Json) -> ErpRecord {
        let (id, number) = {
            let scope = Scope::root(&data);
            let f = |e: &Option<Expr>| {
                e.as_ref()
                    .and_then(|e| e.eval(&scope, &self.tables).ok())
                    .and_then(|v| v.text())
                    .unwrap_or_default()
            };
            (f(&self.record_id), f(&self.record_number))
        };
        ErpRecord {
            source: source.to_string(),
            id,
            number,
            version: "fixture".into(),
            modified: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            data,
        }
    }

    /// Whether the record says it was cancelled (`cancelled:` condition).
    pub fn is_cancelled(&self, record: &ErpRecord) -> bool {
        self.cancelled
            .as_ref()
            .is_some_and(|c| c.eval(&Scope::root(&record.data)))
    }

    /// Void the UPS shipment when the ERP record is cancelled after shipping: deleted from
    /// the ERP (how NetSuite and Acumatica cancel), or matching `cancelled:`.
    pub fn void_on_cancel(&self) -> bool {
        self.void_on_cancel
    }

    /// Map one record; every rule violation at once.
    pub fn to_shipment(&self, record: &ErpRecord) -> Result<Shipment, RecordErrors> {
        let mut run = Run {
            m: self,
            rec: record,
            errors: Vec::new(),
            pkg_src: Vec::new(),
        };
        let root = Scope::root(&record.data);

        // Ship-from entry and account.
        let key = run
            .text(&self.ship_from.key, &root, None)
            .unwrap_or_default();
        let entry = self.ship_from.entries.get(&key).or_else(|| {
            self.ship_from
                .default
                .as_ref()
                .and_then(|d| self.ship_from.entries.get(d))
        });
        let (account, shipper, pickup) = match entry {
            Some(e) => (
                run.text(&e.account, &root, None).unwrap_or_default(),
                e.shipper.clone(),
                e.pickup.clone(),
            ),
            None => {
                run.fail_expr(
                    "ship_from_unknown",
                    &self.ship_from.key,
                    None,
                    "the warehouse/location has no entry in `ship_from.entries`".into(),
                    "add an entry for it (with its UPS account), or set `ship_from.default`",
                );
                (String::new(), Party::default(), None)
            }
        };

        let ship_to = self.party(&mut run, &root);

        // Packages.
        let mut packages = Vec::new();
        let p = &self.packages;
        match p.for_each.resolve(&root).and_then(Json::as_array) {
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let scope = root.elem(item);
                    let at = Some((&p.for_each, i));
                    if let Some(pkg) = self.package(&mut run, &scope, at, i) {
                        packages.push(pkg);
                        run.pkg_src.push(i);
                    }
                }
            }
            None => {
                // reported by the rules as packages_missing
            }
        }

        // Service.
        let via = run
            .text(&self.service.ship_via, &root, None)
            .unwrap_or_default();
        let service = match self
            .service
            .table
            .get(&via)
            .or(self.service.default.as_ref())
        {
            Some(s) => s.clone(),
            None => {
                run.fail_expr("service_unmapped", &self.service.ship_via, None, format!("ship-via `{via}` has no UPS service in `service.table` and there is no `service.default`"), "add the ship-via to `service.table`, or filter it out in the connector profile");
                ServiceSelection::Fixed {
                    code: String::new(),
                }
            }
        };

        let origin = pickup
            .as_ref()
            .map(|p| p.address.country.to_ascii_uppercase())
            .unwrap_or_else(|| shipper.address.country.to_ascii_uppercase());
        let dest = ship_to.address.country.trim().to_ascii_uppercase();
        let level = crate::model::reference_level(&origin, &dest);

        // References: number first, then the others; optional ones dropped to fit the lane.
        let mut references = vec![Reference {
            code: self.references.number_code.clone(),
            value: record.number.clone(),
            barcode: self.references.number_barcode,
        }];
        let mut optional_flags = vec![false];
        for r in &self.references.others {
            if let Some(v) = run.text(&r.value, &root, None) {
                references.push(Reference {
                    code: r.code.clone(),
                    value: v,
                    barcode: r.barcode,
                });
                optional_flags.push(r.optional);
            }
        }
        let limit = rules::reference_limit(level);
        while references.len() > limit {
            match optional_flags.iter().rposition(|o| *o) {
                Some(i) => {
                    references.remove(i);
                    optional_flags.remove(i);
                }
                None => break,
            }
        }

        let ship_date = self
            .ship_date
            .as_ref()
            .and_then(|e| run.text(e, &root, None))
            .and_then(|s| parse_date(&s));

        let mut notifications = Vec::new();
        for n in &self.notifications {
            if let Some(email) = run.text(&n.email, &root, None) {
                for code in &n.codes {
                    notifications.push(Notification {
                        email: email.clone(),
                        code: code.clone(),
                    });
                }
            }
        }

        let domestic = rules::is_domestic_lane(&origin, &dest);
        let (description, international) = match (&self.international, domestic) {
            (Some(intl), false) => {
                let (d, i) = self.international(&mut run, intl, &root);
                (d, Some(i))
            }
            // US↔PR: domestic services and no customs forms, but UPS still wants the
            // shipment description whenever the country codes differ.
            (Some(intl), true) if !origin.eq_ignore_ascii_case(&dest) => {
                (run.text(&intl.description, &root, None), None)
            }
            _ => (None, None),
        };

        let mut shipment = Shipment {
            source: record.source.clone(),
            record_id: record.id.clone(),
            number: record.number.clone(),
            account_number: account,
            shipper,
            ship_from: pickup,
            ship_to,
            service,
            packages,
            references,
            description,
            label: self.label.clone(),
            notifications,
            international,
            ship_date,
            negotiated_rates: self.negotiated_rates,
        };
        let origin_unknown = run.errors.iter().any(|e| e.code == "ship_from_unknown");
        for v in rules::check(&mut shipment) {
            // Without a shipper, shipper and lane rules would only add noise.
            if origin_unknown && (v.code.starts_with("shipper_") || LANE_CODES.contains(&v.code)) {
                continue;
            }
            // A missing weight is already reported; don't add "weight must be > 0".
            if v.code == "service_invalid_for_lane"
                && run.errors.iter().any(|e| e.code == "service_unmapped")
            {
                continue;
            }
            if v.code == "packages_missing"
                && run.errors.iter().any(|e| e.code.starts_with("package_"))
            {
                continue;
            }
            run.violation(v);
        }
        if run.errors.is_empty() {
            Ok(shipment)
        } else {
            Err(RecordErrors(run.errors))
        }
    }

    fn party(&self, run: &mut Run<'_>, root: &Scope<'_>) -> Party {
        let t = &self.ship_to;
        let mut lines = Vec::new();
        for l in &t.lines {
            if let Some(s) = run.text(l, root, None) {
                lines.push(s);
            }
        }
        let opt =
            |run: &mut Run<'_>, e: &Option<Expr>| e.as_ref().and_then(|e| run.text(e, root, None));
        let flag = |run: &mut Run<'_>, e: &Option<Expr>| {
            e.as_ref()
                .and_then(|e| run.val(e, root, None))
                .and_then(|v| v.flag())
        };
        Party {
            name: run.text(&t.name, root, None).unwrap_or_default(),
            attention: opt(run, &t.attention),
            phone: opt(run, &t.phone),
            email: opt(run, &t.email),
            tax_id: opt(run, &t.tax_id),
            address: Address {
                lines,
                city: run.text(&t.city, root, None).unwrap_or_default(),
                state: opt(run, &t.state).unwrap_or_default(),
                postal_code: opt(run, &t.postal).unwrap_or_default(),
                country: run.text(&t.country, root, None).unwrap_or_default(),
                residential: flag(run, &t.residential),
                po_box: flag(run, &t.po_box).unwrap_or(false),
            },
        }
    }

    fn package(
        &self,
        run: &mut Run<'_>,
        scope: &Scope<'_>,
        at: Option<(&FieldPath, usize)>,
        i: usize,
    ) -> Option<Package> {
        let p = &self.packages;
        let line_id = run.text(&p.line_id, scope, at);
        if line_id.is_none() {
            run.fail_expr(
                "package_line_id_missing",
                &p.line_id,
                at,
                format!(
                    "package {} has no line id, so its tracking number could not be written back",
                    i + 1
                ),
                "map `packages.line_id` to the package line's key",
            );
        }
        let unit_text = run.text(&p.weight_unit, scope, at).unwrap_or_default();
        let unit = parse_weight_unit(&unit_text);
        if unit.is_none() {
            run.fail_expr(
                "package_weight_unit_invalid",
                &p.weight_unit,
                at,
                format!("package {} weight unit is not LB, KG or OZ", i + 1),
                "map the unit field or use `{literal: LB}`",
            );
        }
        let weight = match run.val(&p.weight, scope, at).and_then(|v| v.decimal()) {
            None => {
                run.fail_expr(
                    "package_weight_missing",
                    &p.weight,
                    at,
                    format!("package {} has no weight", i + 1),
                    "enter the package weight in the ERP",
                );
                None
            }
            Some(Err(())) => {
                run.fail_expr(
                    "package_weight_invalid",
                    &p.weight,
                    at,
                    format!("package {} weight is not a number", i + 1),
                    "enter the package weight as a number",
                );
                None
            }
            Some(Ok(w)) => Some(w),
        };
        let dims = match &p.dims {
            None => None,
            Some(d) => {
                let vals: Vec<Option<Result<Decimal, ()>>> = [&d.length, &d.width, &d.height]
                    .iter()
                    .map(|e| run.val(e, scope, at).and_then(|v| v.decimal()))
                    .collect();
                let all_zero = vals.iter().all(|v| match v {
                    None => true,
                    Some(Ok(x)) => x.is_zero(),
                    Some(Err(())) => false,
                });
                if all_zero {
                    None
                } else if vals.iter().any(|v| !matches!(v, Some(Ok(_)))) {
                    run.fail_expr(
                        "package_dimensions_invalid",
                        &d.length,
                        at,
                        format!(
                            "package {} has some but not all dimensions as numbers",
                            i + 1
                        ),
                        "enter length, width and height, or none",
                    );
                    None
                } else {
                    let u = run
                        .text(&d.unit, scope, at)
                        .and_then(|s| parse_dim_unit(&s));
                    match u {
                        None => {
                            run.fail_expr(
                                "package_dimensions_invalid",
                                &d.unit,
                                at,
                                format!("package {} dimension unit is not IN or CM", i + 1),
                                "map the unit or use `{literal: IN}`",
                            );
                            None
                        }
                        Some(u) => {
                            let to = d.to.unwrap_or(u);
                            // UPS takes whole numbers (≤3 characters) with Length the
                            // longest side: round up, then sort.
                            let n = |k: usize| match &vals[k] {
                                Some(Ok(x)) => convert_length(*x, u, to).ceil().normalize(),
                                _ => Decimal::ZERO,
                            };
                            let mut sides = [n(0), n(1), n(2)];
                            sides.sort_unstable_by(|a, b| b.cmp(a));
                            Some(Dimensions {
                                length: sides[0],
                                width: sides[1],
                                height: sides[2],
                                unit: to,
                            })
                        }
                    }
                }
            }
        };
        let packaging = run
            .text(&p.packaging, scope, at)
            .unwrap_or_else(|| "02".into());
        let declared_value = match &p.declared {
            None => None,
            Some((amount, currency)) => {
                match run.val(amount, scope, at).and_then(|v| v.decimal()) {
                    Some(Ok(a)) if a > Decimal::ZERO => Some(Money {
                        amount: a.round_dp(2),
                        currency: run
                            .text(currency, scope, at)
                            .unwrap_or_else(|| "USD".into())
                            .to_ascii_uppercase(),
                    }),
                    Some(Err(())) => {
                        run.fail_expr(
                            "declared_value_invalid",
                            amount,
                            at,
                            format!("package {} declared value is not a number", i + 1),
                            "enter the declared value as a number",
                        );
                        None
                    }
                    _ => None,
                }
            }
        };
        let description = p.description.as_ref().and_then(|e| run.text(e, scope, at));
        let (weight, unit) = (weight?, unit?);
        let to = p.weight_to.unwrap_or(unit);
        Some(Package {
            erp_line_id: line_id.unwrap_or_default(),
            weight: Weight {
                value: round_up_1(convert_weight(weight, unit, to)),
                unit: to,
            },
            dimensions: dims,
            packaging,
            description,
            declared_value,
        })
    }

    fn international(
        &self,
        run: &mut Run<'_>,
        intl: &CIntl,
        root: &Scope<'_>,
    ) -> (Option<String>, International) {
        let description = run.text(&intl.description, root, None);
        let mut products = Vec::new();
        let l = &intl.lines;
        if let Some(items) = l.for_each.resolve(root).and_then(Json::as_array) {
            for (i, item) in items.iter().enumerate() {
                let scope = root.elem(item);
                let at = Some((&l.for_each, i));
                let dec = |run: &mut Run<'_>, e: &Expr, what: &str| match run
                    .val(e, &scope, at)
                    .and_then(|v| v.decimal())
                {
                    Some(Ok(d)) => d,
                    Some(Err(())) => {
                        run.fail_expr(
                            "international_data_missing",
                            e,
                            at,
                            format!("customs line {} {what} is not a number", i + 1),
                            "enter a number in the ERP",
                        );
                        Decimal::ZERO
                    }
                    None => Decimal::ZERO,
                };
                let quantity = dec(run, &l.quantity, "quantity");
                let unit_value = dec(run, &l.unit_value, "unit value");
                products.push(Product {
                    description: run.text(&l.description, &scope, at).unwrap_or_default(),
                    hs_code: l
                        .hs_code
                        .as_ref()
                        .and_then(|e| run.text(e, &scope, at))
                        .map(|s| s.replace(['.', ' '], "")),
                    origin_country: run
                        .text(&l.origin, &scope, at)
                        .unwrap_or_default()
                        .to_ascii_uppercase(),
                    quantity: quantity.normalize(),
                    unit_of_measure: l
                        .unit
                        .as_ref()
                        .and_then(|e| run.text(e, &scope, at))
                        .map(|u| {
                            if u.eq_ignore_ascii_case("EA") {
                                "PCS".to_string()
                            } else {
                                u.to_ascii_uppercase()
                            }
                        })
                        .unwrap_or_else(|| "PCS".into()),
                    // UPS: ≤6 decimals.
                    unit_value: unit_value.round_dp(6).normalize(),
                    part_number: l.part_number.as_ref().and_then(|e| run.text(e, &scope, at)),
                });
            }
        }
        let max = rules::customs_line_limit(&intl.form_types);
        if products.len() > max && intl.over_limit == spec::OverLimit::MergeByHsCode {
            products = merge_by_hs_code(products);
        }
        let o =
            |run: &mut Run<'_>, e: &Option<Expr>| e.as_ref().and_then(|e| run.text(e, root, None));
        let international = International {
            form_types: intl.form_types.clone(),
            invoice_number: o(run, &intl.invoice_number),
            invoice_date: o(run, &intl.invoice_date).and_then(|s| parse_date(&s)),
            currency: run
                .text(&intl.currency, root, None)
                .unwrap_or_default()
                .to_ascii_uppercase(),
            reason_for_export: run
                .text(&intl.reason, root, None)
                .unwrap_or_else(|| "SALE".into())
                .to_ascii_uppercase(),
            terms_of_shipment: o(run, &intl.terms),
            products,
        };
        (description, international)
    }
}

/// Merge customs lines with the same HS code, origin, unit of measure and unit value.
fn merge_by_hs_code(products: Vec<Product>) -> Vec<Product> {
    let mut out: Vec<Product> = Vec::new();
    for p in products {
        match out.iter_mut().find(|q| {
            q.hs_code.is_some()
                && q.hs_code == p.hs_code
                && q.origin_country == p.origin_country
                && q.unit_value == p.unit_value
                && q.unit_of_measure == p.unit_of_measure
        }) {
            Some(q) => {
                q.quantity += p.quantity;
                q.part_number = None;
            }
            None => out.push(p),
        }
    }
    out
}

/// State of one `to_shipment` call: collects errors with their provenance.
struct Run<'a> {
    m: &'a Mapping,
    rec: &'a ErpRecord,
    errors: Vec<RecordError>,
    /// Shipment package index → element index in the record (failed packages are skipped).
    pkg_src: Vec<usize>,
}

impl<'a> Run<'a> {
    fn field_for(e: &Expr, at: Option<(&FieldPath, usize)>) -> Option<String> {
        let prim = e.primary()?;
        if prim.is_empty() || e.is_literal() {
            return None;
        }
        Some(match at {
            Some((arr, i)) => format!("{}[{i}].{prim}", arr.text),
            None => prim.to_string(),
        })
    }

    fn lookup_failed(&mut self, e: EvalError, at: Option<(&FieldPath, usize)>) {
        let field = e.field.map(|f| match at {
            Some((arr, i)) => format!("{}[{i}].{f}", arr.text),
            None => f,
        });
        self.errors.push(RecordError {
            code: "lookup_missing".into(),
            record_id: self.rec.id.clone(),
            field,
            mapping_file: self.m.file.clone(),
            line: e.line,
            key: e.mapping_key,
            message: format!(
                "value `{}` is not in lookup table `{}`",
                e.key_value, e.table
            ),
            fix: format!(
                "add `{}` to `lookups.{}`, or set `missing: empty` with a `default:`",
                e.key_value, e.table
            ),
        });
    }

    fn val<'s>(
        &mut self,
        e: &'s Expr,
        scope: &Scope<'s>,
        at: Option<(&FieldPath, usize)>,
    ) -> Option<Val<'s>>
    where
        'a: 's,
    {
        match e.eval(scope, &self.m.tables) {
            Ok(v) if v.is_empty() => None,
            Ok(v) => Some(v),
            Err(err) => {
                self.lookup_failed(err, at);
                None
            }
        }
    }

    fn text(
        &mut self,
        e: &Expr,
        scope: &Scope<'_>,
        at: Option<(&FieldPath, usize)>,
    ) -> Option<String> {
        match e.eval(scope, &self.m.tables) {
            Ok(v) => v.text(),
            Err(err) => {
                self.lookup_failed(err, at);
                None
            }
        }
    }

    fn fail_expr(
        &mut self,
        code: &str,
        e: &Expr,
        at: Option<(&FieldPath, usize)>,
        message: String,
        fix: &str,
    ) {
        self.errors.push(RecordError {
            code: code.to_string(),
            record_id: self.rec.id.clone(),
            field: Self::field_for(e, at),
            mapping_file: self.m.file.clone(),
            line: e.line,
            key: e.key.clone(),
            message,
            fix: fix.to_string(),
        });
    }

    /// Turn a rule violation into a record error with ERP field and mapping line.
    fn violation(&mut self, v: rules::Violation) {
        let m = self.m;
        let (field, line) = match m.expr_at(&v.key) {
            Some((e, arr)) => {
                let index = match v.index {
                    Some(i) if v.key.starts_with("packages.") => self.pkg_src.get(i).copied(),
                    other => other,
                };
                let at = match (arr, index) {
                    (Some(a), Some(i)) => Some((a, i)),
                    _ => None,
                };
                (Self::field_for(e, at), e.line)
            }
            None => (None, m.lines.line_of(&v.key)),
        };
        self.errors.push(RecordError {
            code: v.code.to_string(),
            record_id: self.rec.id.clone(),
            field,
            mapping_file: m.file.clone(),
            line,
            key: v.key,
            message: v.message,
            fix: v.fix,
        });
    }
}

impl Mapping {
    /// The expression compiled for mapping key `key` (and its `for_each` array).
    fn expr_at(&self, key: &str) -> Option<(&Expr, Option<&FieldPath>)> {
        let t = &self.ship_to;
        let p = &self.packages;
        match key {
            "ship_to.name" => Some((&t.name, None)),
            "ship_to.attention" => t.attention.as_ref().map(|e| (e, None)),
            "ship_to.phone" => t.phone.as_ref().map(|e| (e, None)),
            "ship_to.city" => Some((&t.city, None)),
            "ship_to.state" => t.state.as_ref().map(|e| (e, None)),
            "ship_to.postal_code" => t.postal.as_ref().map(|e| (e, None)),
            "ship_to.country" => Some((&t.country, None)),
            "ship_to.address_lines" => t.lines.first().map(|e| (e, None)),
            "service" => Some((&self.service.ship_via, None)),
            "packages.weight.value" => Some((&p.weight, Some(&p.for_each))),
            "packages.description" => p.description.as_ref().map(|e| (e, Some(&p.for_each))),
            "packages.dimensions" | "packages.dimensions.length" => {
                p.dims.as_ref().map(|d| (&d.length, Some(&p.for_each)))
            }
            k if k.starts_with("ship_to.address_lines[") => {
                let i: usize = k["ship_to.address_lines[".len()..k.len() - 1]
                    .parse()
                    .ok()?;
                t.lines.get(i).map(|e| (e, None))
            }
            k if k.starts_with("references.others[") => {
                let rest = &k["references.others[".len()..];
                let i: usize = rest[..rest.find(']')?].parse().ok()?;
                self.references.others.get(i).map(|r| (&r.value, None))
            }
            k => {
                let intl = self.international.as_ref()?;
                let l = &intl.lines;
                match k {
                    "international.description" => Some((&intl.description, None)),
                    "international.currency" => Some((&intl.currency, None)),
                    "international.lines.description" => Some((&l.description, Some(&l.for_each))),
                    "international.lines.origin_country" => Some((&l.origin, Some(&l.for_each))),
                    "international.lines.unit_value" => Some((&l.unit_value, Some(&l.for_each))),
                    "international.lines.quantity" => Some((&l.quantity, Some(&l.for_each))),
                    "international.lines.hs_code" => {
                        l.hs_code.as_ref().map(|e| (e, Some(&l.for_each)))
                    }
                    _ => None,
                }
            }
        }
    }
}

fn compile_ship_from(c: &mut Compiler<'_>, s: spec::ShipFromSpec) -> Option<CShipFrom> {
    let key = c.expr(&s.key, "ship_from.key");
    if s.entries.is_empty() {
        c.err(
            "ship_from.entries",
            "no ship-from entries",
            "add one entry per warehouse/location",
        );
    }
    let mut entries = HashMap::new();
    for (name, e) in s.entries {
        let k = format!("ship_from.entries.{name}");
        let account = c.expr(&e.account, &format!("{k}.account"));
        if let Some(a) = &account {
            if a.is_literal() {
                let txt = match &e.account {
                    Yaml::String(s) => s.clone(),
                    Yaml::Mapping(m) => m
                        .get("literal")
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string(),
                    _ => String::new(),
                };
                if txt.len() != 6 || !txt.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    c.err(
                        &format!("{k}.account"),
                        "a UPS shipper number is 6 letters/digits",
                        "write it as `{literal: \"123X56\"}`",
                    );
                }
            }
        }
        let addr = |c: &mut Compiler<'_>, a: spec::AddressLit, key: &str| {
            if a.lines.is_empty() || a.lines.len() > 3 {
                c.err(
                    &format!("{key}.lines"),
                    "an address needs 1 to 3 lines",
                    "list the street lines",
                );
            }
            if a.country.len() != 2 {
                c.err(
                    &format!("{key}.country"),
                    "country must be an ISO two-letter code",
                    "write e.g. `country: US`",
                );
            }
            Address {
                lines: a.lines,
                city: a.city,
                state: a.state,
                postal_code: a.postal_code,
                country: a.country.to_ascii_uppercase(),
                residential: Some(false),
                po_box: false,
            }
        };
        let shipper = Party {
            name: e.name,
            attention: e.attention,
            phone: e.phone,
            email: e.email,
            tax_id: e.tax_id,
            address: addr(c, e.address, &format!("{k}.address")),
        };
        for v in rules::check_shipper(&shipper, &k) {
            c.err(
                &v.key,
                format!("{} ({})", v.message, v.code),
                "correct this ship_from entry",
            );
        }
        let pickup = e.pickup.map(|p| Party {
            name: p.name,
            attention: p.attention,
            phone: p.phone,
            email: None,
            tax_id: None,
            address: addr(c, p.address, &format!("{k}.pickup.address")),
        });
        if let Some(account) = account {
            entries.insert(
                name,
                CEntry {
                    account,
                    shipper,
                    pickup,
                },
            );
        }
    }
    if let Some(d) = &s.default {
        if !entries.contains_key(d) {
            c.err(
                "ship_from.default",
                format!("default entry `{d}` is not in `ship_from.entries`"),
                "name one of the entries",
            );
        }
    }
    Some(CShipFrom {
        key: key?,
        entries,
        default: s.default,
    })
}

fn compile_ship_to(c: &mut Compiler<'_>, s: spec::ShipToSpec) -> Option<CParty> {
    let name = c.expr(&s.name, "ship_to.name");
    let attention = opt_expr(c, &s.attention, "ship_to.attention");
    let phone = opt_expr(c, &s.phone, "ship_to.phone");
    let email = opt_expr(c, &s.email, "ship_to.email");
    let tax_id = opt_expr(c, &s.tax_id, "ship_to.tax_id");
    if s.address_lines.is_empty() || s.address_lines.len() > 3 {
        c.err(
            "ship_to.address_lines",
            "map 1 to 3 address lines",
            "list the address line fields",
        );
    }
    let mut lines = Vec::new();
    let mut ok = true;
    for (i, l) in s.address_lines.iter().enumerate() {
        match c.expr(l, &format!("ship_to.address_lines[{i}]")) {
            Some(e) => lines.push(e),
            None => ok = false,
        }
    }
    let city = c.expr(&s.city, "ship_to.city");
    let state = opt_expr(c, &s.state, "ship_to.state");
    let postal = opt_expr(c, &s.postal_code, "ship_to.postal_code");
    let country = c.expr(&s.country, "ship_to.country");
    let residential = opt_expr(c, &s.residential, "ship_to.residential");
    let po_box = opt_expr(c, &s.po_box, "ship_to.po_box");
    if !ok {
        return None;
    }
    Some(CParty {
        name: name?,
        attention: attention?,
        phone: phone?,
        email: email?,
        tax_id: tax_id?,
        lines,
        city: city?,
        state: state?,
        postal: postal?,
        country: country?,
        residential: residential?,
        po_box: po_box?,
    })
}

fn compile_packages(c: &mut Compiler<'_>, s: spec::PackagesSpec) -> Option<CPackages> {
    let for_each = c.path(&s.for_each, "packages.for_each");
    c.scope = for_each.clone();
    let line_id = c.expr(&s.line_id, "packages.line_id");
    let weight = c.expr(&s.weight.value, "packages.weight.value");
    let weight_unit = c.expr(&s.weight.unit, "packages.weight.unit");
    let weight_to = match &s.weight.convert_to {
        None => Some(None),
        Some(u) => match parse_weight_unit(u) {
            Some(u) => Some(Some(u)),
            None => {
                c.err(
                    "packages.weight.convert_to",
                    format!("unknown weight unit `{u}`"),
                    "use LB, KG or OZ",
                );
                None
            }
        },
    };
    let dims = match s.dimensions {
        None => Some(None),
        Some(d) => {
            let to = match &d.convert_to {
                None => Some(None),
                Some(u) => match parse_dim_unit(u) {
                    Some(u) => Some(Some(u)),
                    None => {
                        c.err(
                            "packages.dimensions.convert_to",
                            format!("unknown length unit `{u}`"),
                            "use IN or CM",
                        );
                        None
                    }
                },
            };
            let length = c.expr(&d.length, "packages.dimensions.length");
            let width = c.expr(&d.width, "packages.dimensions.width");
            let height = c.expr(&d.height, "packages.dimensions.height");
            let unit = c.expr(&d.unit, "packages.dimensions.unit");
            match (length, width, height, unit, to) {
                (Some(length), Some(width), Some(height), Some(unit), Some(to)) => {
                    Some(Some(CDims {
                        length,
                        width,
                        height,
                        unit,
                        to,
                    }))
                }
                _ => None,
            }
        }
    };
    let packaging = c.expr(&s.packaging, "packages.packaging");
    let declared = match s.declared_value {
        None => Some(None),
        Some(m) => {
            let a = c.expr(&m.amount, "packages.declared_value.amount");
            let cur = c.expr(&m.currency, "packages.declared_value.currency");
            a.zip(cur).map(Some)
        }
    };
    let description = opt_expr(c, &s.description, "packages.description");
    c.scope = None;
    Some(CPackages {
        for_each: for_each?,
        line_id: line_id?,
        weight: weight?,
        weight_unit: weight_unit?,
        weight_to: weight_to?,
        dims: dims?,
        packaging: packaging?,
        declared: declared?,
        description: description?,
    })
}

fn compile_choice(
    c: &mut Compiler<'_>,
    ch: spec::ServiceChoice,
    key: &str,
) -> Option<ServiceSelection> {
    let check = |c: &mut Compiler<'_>, code: &str, k: &str| {
        if rules::known_service(code) {
            true
        } else {
            c.err(k, format!("`{code}` is not a UPS service code this engine ships"), "use a code from UPS-REFERENCE §2.3, e.g. \"03\" Ground, \"11\" Standard, \"07\" Worldwide Express (quote it)");
            false
        }
    };
    match ch {
        spec::ServiceChoice::Code(code) => {
            check(c, &code, key).then_some(ServiceSelection::Fixed { code })
        }
        spec::ServiceChoice::Cheapest(ch) => {
            let mut ok = true;
            for code in &ch.allowed {
                ok &= check(c, code, &format!("{key}.allowed"));
            }
            if let Some(f) = &ch.fallback {
                ok &= check(c, f, &format!("{key}.fallback"));
            }
            if ch.cheapest_within_days == 0 {
                ok = false;
                c.err(
                    &format!("{key}.cheapest_within_days"),
                    "must be at least 1",
                    "write e.g. `cheapest_within_days: 3`",
                );
            }
            ok.then_some(ServiceSelection::CheapestWithin {
                max_business_days: ch.cheapest_within_days,
                allowed: ch.allowed,
                fallback: ch.fallback,
            })
        }
    }
}

fn compile_service(c: &mut Compiler<'_>, s: spec::ServiceSpec) -> Option<CService> {
    let ship_via = c.expr(&s.ship_via, "service.ship_via");
    let mut table = HashMap::new();
    let mut ok = true;
    for (k, ch) in s.table {
        match compile_choice(c, ch, &format!("service.table.{k}")) {
            Some(sel) => {
                table.insert(k, sel);
            }
            None => ok = false,
        }
    }
    let default = match s.default {
        None => Some(None),
        Some(ch) => compile_choice(c, ch, "service.default").map(Some),
    };
    if !ok {
        return None;
    }
    Some(CService {
        ship_via: ship_via?,
        table,
        default: default?,
    })
}

fn compile_refs(c: &mut Compiler<'_>, s: spec::ReferencesSpec) -> Option<CRefs> {
    let mut ok = true;
    let mut check_code = |c: &mut Compiler<'_>, code: &str, key: &str| {
        if !rules::REFERENCE_CODES.contains(&code) {
            ok = false;
            c.err(
                key,
                format!("`{code}` is not a UPS reference code"),
                format!("use one of {}", rules::REFERENCE_CODES.join(", ")),
            );
        }
    };
    check_code(
        c,
        &s.shipment_number.code,
        "references.shipment_number.code",
    );
    let mut others = Vec::new();
    let mut barcodes = s.shipment_number.barcode as usize;
    for (i, r) in s.others.into_iter().enumerate() {
        let key = format!("references.others[{i}]");
        check_code(c, &r.code, &format!("{key}.code"));
        barcodes += r.barcode as usize;
        if let Some(value) = c.expr(&r.value, &format!("{key}.value")) {
            others.push(CRef {
                code: r.code,
                value,
                barcode: r.barcode,
                optional: r.optional,
            });
        }
    }
    if barcodes > 1 {
        c.err(
            "references",
            "more than one reference has `barcode: true`; UPS barcodes one per shipment",
            "keep `barcode: true` on one reference",
        );
    }
    ok.then_some(CRefs {
        number_code: s.shipment_number.code,
        number_barcode: s.shipment_number.barcode,
        others,
    })
}

fn compile_label(c: &mut Compiler<'_>, s: spec::LabelSpecYaml) -> Option<LabelSpec> {
    let Some(format) = LabelFormat::parse(&s.format) else {
        c.err(
            "label.format",
            format!("unknown label format `{}`", s.format),
            "use GIF, PNG, ZPL, EPL or SPL",
        );
        return None;
    };
    let stock = s.stock.map(|st| (st.height, st.width));
    if let Some((h, w)) = stock {
        if !(h == 6 || h == 8) || w != 4 {
            c.err(
                "label.stock",
                "UPS label stock is 6x4 or 8x4 (height x width)",
                "write `stock: {height: 6, width: 4}`",
            );
        }
    }
    if format.is_thermal() && stock.is_none() {
        c.err(
            "label",
            format!("{} labels need a stock size", format.ups_code()),
            "add `stock: {height: 6, width: 4}`",
        );
    }
    Some(LabelSpec {
        format,
        stock_size: stock,
    })
}

fn compile_intl(c: &mut Compiler<'_>, s: spec::InternationalSpec) -> Option<CIntl> {
    let description = c.expr(&s.description, "international.description");
    for f in &s.form_types {
        if !FORM_TYPES.contains(&f.as_str()) {
            c.err(
                "international.form_types",
                format!("unknown form type `{f}`"),
                "use \"01\" (invoice), \"03\", \"04\", \"05\", \"06\", …",
            );
        }
    }
    if s.form_types.is_empty() {
        c.err(
            "international.form_types",
            "no form types",
            "write `form_types: [\"01\"]` for a commercial invoice",
        );
    }
    if s.form_types.iter().any(|f| f == "01") && s.form_types.iter().any(|f| f == "05") {
        c.err(
            "international.form_types",
            "invoice (01) and partial invoice (05) exclude each other",
            "keep one of them",
        );
    }
    let invoice_number = opt_expr(c, &s.invoice_number, "international.invoice_number");
    let invoice_date = opt_expr(c, &s.invoice_date, "international.invoice_date");
    let currency = c.expr(&s.currency, "international.currency");
    let reason = c.expr(&s.reason_for_export, "international.reason_for_export");
    let terms = opt_expr(c, &s.terms_of_shipment, "international.terms_of_shipment");
    let l = s.lines;
    let for_each = c.path(&l.for_each, "international.lines.for_each");
    c.scope = for_each.clone();
    let ldesc = c.expr(&l.description, "international.lines.description");
    let hs = opt_expr(c, &l.hs_code, "international.lines.hs_code");
    let origin = c.expr(&l.origin_country, "international.lines.origin_country");
    let qty = c.expr(&l.quantity, "international.lines.quantity");
    let unit = opt_expr(c, &l.unit, "international.lines.unit");
    let uv = c.expr(&l.unit_value, "international.lines.unit_value");
    let part = opt_expr(c, &l.part_number, "international.lines.part_number");
    c.scope = None;
    Some(CIntl {
        description: description?,
        form_types: s.form_types,
        invoice_number: invoice_number?,
        invoice_date: invoice_date?,
        currency: currency?,
        reason: reason?,
        terms: terms?,
        over_limit: s.over_limit,
        lines: CLines {
            for_each: for_each?,
            description: ldesc?,
            hs_code: hs?,
            origin: origin?,
            quantity: qty?,
            unit: unit?,
            unit_value: uv?,
            part_number: part?,
        },
    })
}

fn compile_write_back(c: &mut Compiler<'_>, s: spec::WriteBackSpec) -> Option<CWriteBack> {
    let required =
        |c: &mut Compiler<'_>, v: &Option<String>, name: &str, what: &str| -> Option<String> {
            match v {
                Some(t) if !t.trim().is_empty() => Some(t.clone()),
                _ => {
                    c.err(
                        &format!("write_back.{name}"),
                        format!("required write-back target `{name}` is missing ({what})"),
                        format!("add `{name}: <ERP field path>` under `write_back:`"),
                    );
                    None
                }
            }
        };
    let package_tracking = required(
        c,
        &s.package_tracking,
        "package_tracking",
        "where each package's 1Z is written",
    );
    let status = required(c, &s.status, "status", "where the milestone is written");
    let error = required(
        c,
        &s.error,
        "error",
        "where a business error code is written",
    );
    // Targets are written in the ERP's write vocabulary (NetSuite's record API spells
    // `packageTrackingNumber` where SuiteQL reads `packagetrackingnumber`), so only their
    // syntax is checked here, not their presence in fixture records.
    let targets: [(&str, &Option<String>); 9] = [
        ("package_tracking", &s.package_tracking),
        ("shipment_id", &s.shipment_id),
        ("charges", &s.charges),
        ("status", &s.status),
        ("last_scan", &s.last_scan),
        ("delivered_at", &s.delivered_at),
        ("received_by", &s.received_by),
        ("error", &s.error),
        ("label_file_field", &s.label_file_field),
    ];
    for (name, v) in targets {
        if let Some(t) = v {
            if let Err(e) = FieldPath::parse(t.trim()) {
                c.err(
                    &format!("write_back.{name}"),
                    e,
                    "write the ERP field path, e.g. `custom.Document.UsrUpsStatus`",
                );
            }
        }
    }
    let label_file_name = match &s.label_file_name {
        None => Some(None),
        Some(t) => {
            c.allow_vars = true;
            let e = c.expr(&Yaml::String(t.clone()), "write_back.label_file_name");
            c.allow_vars = false;
            e.map(Some)
        }
    };
    Some(CWriteBack {
        package_tracking: package_tracking?,
        shipment_id: s.shipment_id,
        charges: s.charges,
        status: status?,
        last_scan: s.last_scan,
        delivered_at: s.delivered_at,
        received_by: s.received_by,
        error: error?,
        label_file_name: label_file_name?,
        label_file_field: s.label_file_field,
        attach_labels: s.attach_labels,
        confirm_shipment: s.confirm_shipment,
    })
}

/// Map `records` `iterations` times and return records per second (for `upsync bench`).
pub fn bench_throughput(mapping: &Mapping, records: &[ErpRecord], iterations: usize) -> f64 {
    if records.is_empty() || iterations == 0 {
        return 0.0;
    }
    let start = std::time::Instant::now();
    let mut ok = 0usize;
    for _ in 0..iterations {
        for r in records {
            if std::hint::black_box(mapping.to_shipment(r)).is_ok() {
                ok += 1;
            }
        }
    }
    std::hint::black_box(ok);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    (records.len() * iterations) as f64 / secs
}

/// Check that every field path of the mapping exists in at least one of `samples`
/// (decoded records). Returns one error per path found nowhere.
pub fn validate_paths_against(mapping: &Mapping, samples: &[&Json]) -> Vec<MappingError> {
    unresolved_paths(&mapping.file, mapping.paths(), samples)
}

fn unresolved_paths(file: &str, paths: &[PathUse], samples: &[&Json]) -> Vec<MappingError> {
    let mut out = Vec::new();
    if samples.is_empty() {
        return out;
    }
    for u in paths {
        let found = samples.iter().any(|rec| match &u.scope {
            None => u.path.exists_in(rec),
            Some(arr) => match arr.get(rec).and_then(Json::as_array) {
                Some(items) if !items.is_empty() => items.iter().any(|it| u.path.exists_in(it)),
                // No element to look into in this record: cannot disprove.
                _ => false,
            },
        });
        if !found {
            out.push(MappingError {
                file: file.to_string(),
                line: u.line,
                key: u.key.clone(),
                message: format!(
                    "field path `{}` resolves in no fixture record{}",
                    u.path.text,
                    u.scope.as_ref().map(|s| format!(" (inside `{}` elements)", s.text)).unwrap_or_default()
                ),
                fix: "check the spelling against a decoded record (`upsync mapping test MAPPING RECORD.json`), or add a fixture whose record has the field".into(),
            });
        }
    }
    out
}
