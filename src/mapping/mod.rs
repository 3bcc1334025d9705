//! YAML field-mapping engine: ERP record → canonical [`Shipment`], UPS results → ERP
//! [`WriteBack`]. Integration admins change upsync by editing `mappings/*.yaml`.
//!
//! You are between `sources/` (which hand over decoded [`ErpRecord`]s) and `ups/` (which
//! consumes [`Shipment`]s). This module is **pure**: no I/O except reading files in
//! [`Mapping::load`] and in the CLI/fixture runner. Never log record contents here.
//!
//! Files: `compile.rs` (YAML → [`Mapping`]), `run.rs` (record → [`Shipment`]), `units.rs`
//! (weights, lengths, dates), `error.rs` ([`MappingError`], [`RecordError`]), `spec.rs`
//! (YAML structures, line index), `expr.rs` (expressions), `rules.rs` (rule checks,
//! UPS-REFERENCE.md §2), `writeback.rs`, `fixtures.rs` (`*.test.yaml`).
//! `freight.rs` (the `freight:` and `billing:` sections; reference in `docs/freight.md`).
//! `returns.rs` (`return_service:` and `auto_return:`; reference in `docs/returns.md`).
//! `site.rs` (the ship-from site key a record uses, and the dispatch write-back: ship date
//! and pickup PRN; docs/pickups.md).
//! `upsync mapping test` is `crate::commands::mapping`. The mapping throughput bench is `bench/mapping.rs`.
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
//!       freight: {markup_percent: 0}     # optional: overrides keys of the top-level `freight:`
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
//!   over_limit: refuse                   # or merge_by_hs_code, or split
//!   max_lines: 50                        # customs lines per UPS shipment (1..=50, default 50)
//!   lines: {for_each: Details, description, hs_code, origin_country, quantity, unit, unit_value, part_number}
//!   paperless: {invoice: electronic, mode: upload_before, documents: [{file, type, format}]}  # see `paperless.rs`
//! negotiated_rates: true
//! cancelled: {field: Status, in: [Canceled]}   # optional: a status a custom workflow sets
//! void_on_cancel: true                 # void when cancelled: record deleted, or `cancelled:`
//! write_back: {package_tracking, shipment_id, charges, service_used, transit_days, status,
//!              last_scan, delivered_at, received_by, error, label_file_name, label_file_field,
//!              attach_labels, confirm_shipment, ship_date, pickup_prn}
//! freight: {field, rate: list|account, markup_percent, markup_amount,   # see `freight.rs`
//!           rounding: standard|up|down, decimals, include_taxes, currency, note_field}
//! billing: {transportation: {payer, account, postal_code, country},    # see `freight.rs`
//!           duties: {incoterm} | {payer, account, postal_code, country}}
//! return_service: {code: 9, label_email, linked: {record, tracking, record_type}}
//!                                      # a RETURN mapping (docs/returns.md, `returns.rs`)
//! auto_return: {when, service, return_service: 9, label_email, package_description,
//!               tracking_field, status_field}   # outbound: a return label alongside
//! ```
//!
//! References: the engine keeps them in priority order in `Shipment.references`; the UPS
//! request builder places them per lane ([`Shipment::reference_level`]). On shipment-level
//! lanes (everything but US→US/PR→PR) UPS takes 2: references marked `optional: true` are
//! dropped from the end to fit, anything else over the limit is `reference_not_allowed`.
//!
//! Customs lines over the limit (`max_lines`, default and at most 50: the cardinality of
//! `InternationalForms.Product` in Shipping.yaml): `over_limit: refuse` (default) gives
//! business error `customs_lines_over_limit`; `merge_by_hs_code` first merges lines with the
//! same HS code, origin and unit value; `split` sends the record as several UPS shipments of
//! at most `max_lines` lines each ([`crate::model::split`]; fewer packages than shipments is
//! `customs_split_needs_packages`). Shipments are never sent to fail.

mod compile;
mod error;
pub mod expr;
pub mod fixtures;
pub mod freight;
pub mod paperless;
pub mod returns;
pub mod rules;
mod run;
mod site;
pub mod spec;
mod units;
pub mod writeback;

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;
use serde_json::Value as Json;
use serde_norway::Value as Yaml;

use crate::model::{
    Address, DimensionUnit, Dimensions, ErpRecord, International, LabelFormat, LabelSpec, Money,
    Notification, Package, Party, Product, Reference, ServiceSelection, ShipResult, Shipment,
    Weight, WeightUnit,
};
use expr::{Compiler, Cond, EvalError, Expr, FieldPath, PathUse, Scope, Table, Val};
use spec::LineIndex;

pub use compile::validate_paths_against;
pub use error::{MappingError, MappingErrors, RecordError, RecordErrors};
pub use fixtures::{check_directory, fixture_records, run_fixture_files, FixtureReport};
pub use units::{convert_length, convert_weight};
use units::{parse_date, parse_dim_unit, parse_weight_unit, round_up_1};

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
    /// This entry's freight rule (its keys over the mapping's `freight:`).
    freight: Option<freight::CFreight>,
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
    /// Customs lines per UPS shipment (`international.max_lines`, 1..=50).
    max_lines: usize,
    paperless: Option<paperless::CPaperless>,
    lines: CLines,
}

/// Where each UPS result lands in the ERP record (compiled `write_back:`).
pub(crate) struct CWriteBack {
    pub(crate) package_tracking: String,
    pub(crate) shipment_id: Option<String>,
    pub(crate) charges: Option<String>,
    pub(crate) service_used: Option<String>,
    pub(crate) transit_days: Option<String>,
    pub(crate) status: String,
    /// The ERP's word per status (every status present).
    pub(crate) status_values: std::collections::BTreeMap<crate::model::Milestone, String>,
    pub(crate) status_time: Option<String>,
    pub(crate) last_scan: Option<String>,
    pub(crate) last_scan_location: Option<String>,
    pub(crate) estimated_delivery: Option<String>,
    pub(crate) exception_reason: Option<String>,
    pub(crate) delivered_at: Option<String>,
    pub(crate) received_by: Option<String>,
    pub(crate) signature_file_name: Option<Expr>,
    pub(crate) signature_field: Option<String>,
    pub(crate) history_field: Option<String>,
    pub(crate) error: String,
    pub(crate) label_file_name: Option<Expr>,
    pub(crate) label_file_field: Option<String>,
    pub(crate) attach_labels: bool,
    pub(crate) confirm_shipment: bool,
    /// `write_back.ship_date` / `write_back.pickup_prn` (dispatch, `site.rs`).
    pub(crate) ship_date: Option<String>,
    pub(crate) pickup_prn: Option<String>,
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
    freight: Option<freight::CFreight>,
    billing: Option<freight::CBilling>,
    /// `return_service:` (a return mapping).
    returns: Option<returns::CReturn>,
    /// `auto_return:` (an outbound mapping that also makes a return label).
    auto_return: Option<returns::CAutoReturn>,
    paths: Vec<PathUse>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}
