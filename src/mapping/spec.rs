//! The mapping file as written by an integration admin: serde structures (every struct
//! `deny_unknown_fields`, so a typo is an error) and a line index that turns a key path
//! (`ship_to.address_lines[1]`) into the line of the YAML file where it is written.
//!
//! Expressions are kept as raw [`serde_norway::Value`] here and compiled by `expr.rs`, so
//! that each one can be reported at its own line. Structural errors are collected per
//! top-level section (one broken section does not hide problems in the others).
//!
//! Never does I/O: the text is handed in by `Mapping::load`/`Mapping::from_str`.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_norway::Value;

/// Top-level sections a mapping file may contain (anything else is an error).
pub const SECTIONS: &[&str] = &[
    "version",
    "source_type",
    "record",
    "lookups",
    "ship_from",
    "ship_to",
    "packages",
    "service",
    "references",
    "ship_date",
    "label",
    "notifications",
    "international",
    "negotiated_rates",
    "cancelled",
    "void_on_cancel",
    "write_back",
    "freight",
    "billing",
    "return_service",
    "auto_return",
];

/// Sections that must be present.
pub const REQUIRED_SECTIONS: &[&str] = &[
    "ship_from",
    "ship_to",
    "packages",
    "service",
    "references",
    "label",
    "write_back",
];

/// `record:` how the record's identity is read when a bare decoded record is given
/// (fixtures, `upsync mapping test MAPPING RECORD.json`). Connectors set it themselves.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    pub id: Value,
    pub number: Value,
}

/// `ship_from:` the shipper per warehouse/location.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipFromSpec {
    /// Expression giving the warehouse/location key (e.g. `WarehouseID`).
    pub key: Value,
    /// Key → shipper entry.
    pub entries: IndexMap<String, ShipFromEntry>,
    /// Entry used when the key is empty or not listed (else `ship_from_unknown`).
    #[serde(default)]
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipFromEntry {
    /// UPS shipper number (6 alphanumeric) as text, or an expression choosing one of the
    /// business unit's accounts (e.g. a `when:` on the ship-via).
    pub account: Value,
    pub name: String,
    #[serde(default)]
    pub attention: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub tax_id: Option<String>,
    pub address: AddressLit,
    /// Pickup address when it differs from the shipper's (UPS `ShipFrom`).
    #[serde(default)]
    pub pickup: Option<PickupLit>,
    /// Freight rule for shipments from this entry: keys given here override the mapping's
    /// top-level `freight:` section (e.g. another markup for one warehouse).
    #[serde(default)]
    pub freight: Option<FreightSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickupLit {
    pub name: String,
    #[serde(default)]
    pub attention: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    pub address: AddressLit,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressLit {
    pub lines: Vec<String>,
    pub city: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub postal_code: String,
    pub country: String,
}

/// `ship_to:` every value is an expression.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipToSpec {
    pub name: Value,
    #[serde(default)]
    pub attention: Option<Value>,
    #[serde(default)]
    pub phone: Option<Value>,
    #[serde(default)]
    pub email: Option<Value>,
    #[serde(default)]
    pub tax_id: Option<Value>,
    pub address_lines: Vec<Value>,
    pub city: Value,
    #[serde(default)]
    pub state: Option<Value>,
    #[serde(default)]
    pub postal_code: Option<Value>,
    pub country: Value,
    /// Expression; `true`/`1`/`yes`/`Y` = residential, `false`/`0`/`no`/`N` = commercial,
    /// empty = unknown (address validation decides).
    #[serde(default)]
    pub residential: Option<Value>,
    #[serde(default)]
    pub po_box: Option<Value>,
}

/// `packages:` one UPS package per element of the `for_each` array.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagesSpec {
    /// Path of the array in the record (e.g. `Packages`).
    pub for_each: String,
    /// ERP identity of the line (write-back target); paths are relative to the element.
    pub line_id: Value,
    pub weight: WeightSpec,
    #[serde(default)]
    pub dimensions: Option<DimsSpec>,
    pub packaging: Value,
    #[serde(default)]
    pub declared_value: Option<MoneySpec>,
    #[serde(default)]
    pub description: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightSpec {
    pub value: Value,
    /// Expression giving `LB`/`LBS`, `KG`/`KGS` or `OZ`/`OZS`.
    pub unit: Value,
    /// Convert to this unit before sending (`LB`, `KG`, `OZ`).
    #[serde(default)]
    pub convert_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimsSpec {
    pub length: Value,
    pub width: Value,
    pub height: Value,
    /// Expression giving `IN` or `CM`.
    pub unit: Value,
    #[serde(default)]
    pub convert_to: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneySpec {
    pub amount: Value,
    pub currency: Value,
}

/// `service:` ERP ship-via → UPS service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub ship_via: Value,
    pub table: IndexMap<String, ServiceChoice>,
    #[serde(default)]
    pub default: Option<ServiceChoice>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ServiceChoice {
    Code(String),
    Cheapest(CheapestSpec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheapestSpec {
    pub cheapest_within_days: u32,
    #[serde(default)]
    pub allowed: Vec<String>,
    #[serde(default)]
    pub fallback: Option<String>,
}

/// `references:` the ERP number always first, then the others in priority order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferencesSpec {
    pub shipment_number: NumberRefSpec,
    #[serde(default)]
    pub others: Vec<RefSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberRefSpec {
    pub code: String,
    #[serde(default)]
    pub barcode: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefSpec {
    pub code: String,
    pub value: Value,
    #[serde(default)]
    pub barcode: bool,
    /// Dropped (not an error) when the lane allows fewer references than configured.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpecYaml {
    /// `GIF`, `PNG`, `ZPL`, `EPL` or `SPL`.
    pub format: String,
    /// Thermal stock size in inches; required for ZPL/EPL/SPL.
    #[serde(default)]
    pub stock: Option<StockSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockSpec {
    pub height: u8,
    pub width: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// Expression; skipped when empty.
    pub email: Value,
    /// UPS notification codes: `6` ship, `7` exception, `8` delivery.
    pub codes: Vec<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OverLimit {
    /// Business error `customs_lines_over_limit`: a human splits the shipment.
    #[default]
    Refuse,
    /// Lines with the same HS code, origin and unit value are merged (quantities added);
    /// refused if still over the limit.
    MergeByHsCode,
    /// Several UPS shipments for the one ERP record, each with its packages and at most
    /// `max_lines` lines (see `crate::model::split`); all 1Z numbers written back to it.
    Split,
}

/// `international:` used only when the shipment crosses a border.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InternationalSpec {
    /// Shipment description (UPS `Description`, ≤50), required cross-border.
    pub description: Value,
    pub form_types: Vec<String>,
    #[serde(default)]
    pub invoice_number: Option<Value>,
    #[serde(default)]
    pub invoice_date: Option<Value>,
    pub currency: Value,
    pub reason_for_export: Value,
    #[serde(default)]
    pub terms_of_shipment: Option<Value>,
    #[serde(default)]
    pub over_limit: OverLimit,
    /// Customs lines per UPS shipment (default 50, the cardinality of
    /// `InternationalForms.Product` in Shipping.yaml; more is refused at compile).
    #[serde(default)]
    pub max_lines: Option<u32>,
    pub lines: LinesSpec,
    /// Paperless invoice and user-created documents (`super::paperless`).
    #[serde(default)]
    pub paperless: Option<super::paperless::PaperlessSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinesSpec {
    pub for_each: String,
    pub description: Value,
    #[serde(default)]
    pub hs_code: Option<Value>,
    pub origin_country: Value,
    pub quantity: Value,
    #[serde(default)]
    pub unit: Option<Value>,
    pub unit_value: Value,
    #[serde(default)]
    pub part_number: Option<Value>,
}

/// A condition on one field: `{field: Status, equals: Canceled}`, `{field: X, in: [a, b]}`,
/// `{field: X, empty: true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CondSpec {
    pub field: String,
    #[serde(default)]
    pub equals: Option<Value>,
    #[serde(default, rename = "in")]
    pub in_: Option<Vec<Value>>,
    #[serde(default)]
    pub empty: Option<bool>,
}

/// One ERP field path or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `freight:` the freight figure written back as the business bills it. Every key is
/// optional so that a ship-from entry can override a few; after merging, `field` is
/// required. Numbers may be written as YAML numbers or strings (`markup_amount: "1.00"`).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FreightSpec {
    /// ERP field(s) that receive the figure, as a number (Acumatica `FreightPrice`,
    /// NetSuite `shippingCost`, or a custom field).
    #[serde(default)]
    pub field: Option<OneOrMany>,
    /// `list` (published) or `account` (negotiated; default).
    #[serde(default)]
    pub rate: Option<String>,
    #[serde(default)]
    pub markup_percent: Option<Value>,
    #[serde(default)]
    pub markup_amount: Option<Value>,
    /// `standard` (half away from zero; default), `up` (ceiling) or `down` (floor).
    #[serde(default)]
    pub rounding: Option<String>,
    /// Decimal places, 0–6 (default 2).
    #[serde(default)]
    pub decimals: Option<u32>,
    /// Base on UPS's totals with taxes (`TotalChargesWithTaxes`; asks UPS for them).
    #[serde(default)]
    pub include_taxes: Option<bool>,
    /// Expression giving the ERP document's currency (ISO 4217, e.g. `BaseCurrencyID`,
    /// `currency`); a UPS charge in another currency is refused (`freight_currency_mismatch`).
    #[serde(default)]
    pub currency: Option<Value>,
    /// Header field for a short note when the basis falls back to list or the freight is
    /// refused (Acumatica `note`, NetSuite `memo`).
    #[serde(default)]
    pub note_field: Option<String>,
    /// Header field for the base figure before markup (what the shipper pays UPS: the
    /// account figure, or list on a fallback), e.g. Acumatica `FreightCost`.
    #[serde(default)]
    pub cost_field: Option<String>,
    /// Header fields for the list and account figures themselves, as UPS gave them.
    #[serde(default)]
    pub list_field: Option<String>,
    #[serde(default)]
    pub account_field: Option<String>,
}

/// `billing:` who pays transportation and, across a border, duties and taxes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingSpec {
    #[serde(default)]
    pub transportation: Option<PayerSpec>,
    #[serde(default)]
    pub duties: Option<PayerSpec>,
}

/// A payer: `payer` (expression giving `shipper`, `receiver` or `third_party`; empty =
/// shipper for transportation, UPS's default for duties), the payer's UPS account, and the
/// postal code and country of that account's pickup address. For duties, `incoterm`
/// (expression) decides instead: `DDP` → shipper, `DAP`/`DDU`/… → receiver (UPS's default).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayerSpec {
    #[serde(default)]
    pub payer: Option<Value>,
    #[serde(default)]
    pub account: Option<Value>,
    #[serde(default)]
    pub postal_code: Option<Value>,
    #[serde(default)]
    pub country: Option<Value>,
    #[serde(default)]
    pub incoterm: Option<Value>,
}

/// `write_back:` where UPS results land in the ERP record (field paths in ERP vocabulary).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriteBackSpec {
    /// Field on each package line that receives its 1Z (required).
    #[serde(default)]
    pub package_tracking: Option<String>,
    /// Header field for the shipment identification number (first 1Z).
    #[serde(default)]
    pub shipment_id: Option<String>,
    /// Header field for the effective charges, written as `"13.58 USD"`.
    #[serde(default)]
    pub charges: Option<String>,
    /// Header field for the UPS service code actually shipped (after `cheapest_within_days`).
    #[serde(default)]
    pub service_used: Option<String>,
    /// Header field for the business days in transit UPS quoted for that service (a number;
    /// written only when a quote was made, i.e. for `cheapest_within_days`).
    #[serde(default)]
    pub transit_days: Option<String>,
    /// Header field for the milestone (`Label Created`, `Delivered`, …) (required).
    #[serde(default)]
    pub status: Option<String>,
    /// The ERP's own word for each tracking status (`delivered: "Delivered"`); when given,
    /// every status needs a value. Absent: upsync's English labels.
    #[serde(default)]
    pub status_values: Option<std::collections::BTreeMap<String, String>>,
    /// Header field for the time of the latest status (ISO 8601, UTC).
    #[serde(default)]
    pub status_time: Option<String>,
    #[serde(default)]
    pub last_scan: Option<String>,
    /// Header field for where the latest scan happened ("City, ST, CC").
    #[serde(default)]
    pub last_scan_location: Option<String>,
    /// Header field for UPS's estimated (or rescheduled) delivery date (`YYYY-MM-DD`).
    #[serde(default)]
    pub estimated_delivery: Option<String>,
    /// Header field for the reason of an exception or failed delivery attempt (cleared
    /// when the parcel moves on).
    #[serde(default)]
    pub exception_reason: Option<String>,
    #[serde(default)]
    pub delivered_at: Option<String>,
    #[serde(default)]
    pub received_by: Option<String>,
    /// Template of the attached signature image's file name (`{{$tracking}}`, `{{$ext}}`,
    /// record paths); for ERPs that take files (Acumatica).
    #[serde(default)]
    pub signature_file_name: Option<String>,
    /// Header field that receives the signature image as a `data:` URI (ERPs without
    /// file uploads, e.g. a NetSuite long-text field).
    #[serde(default)]
    pub signature_field: Option<String>,
    /// Header field (long text) for the scan history, newest first.
    #[serde(default)]
    pub history_field: Option<String>,
    /// Header field for `code: message` of a business failure; cleared on success (required).
    #[serde(default)]
    pub error: Option<String>,
    /// Template of attached label file names; `{{$tracking}}`, `{{$ext}}`, `{{$number}}`
    /// and record paths are available.
    #[serde(default)]
    pub label_file_name: Option<String>,
    /// Header field that receives the label file name(s), comma separated.
    #[serde(default)]
    pub label_file_field: Option<String>,
    /// Attach label files to the record (default true).
    #[serde(default = "yes")]
    pub attach_labels: bool,
    /// Ask the connector to confirm/mark the ERP document shipped after writing.
    #[serde(default)]
    pub confirm_shipment: bool,
    /// Header field for the ship date UPS was given (`YYYY-MM-DD`, the site's dispatch
    /// calendar; docs/pickups.md).
    #[serde(default)]
    pub ship_date: Option<String>,
    /// Header field for the PRN of the on-call pickup that collects the shipment.
    #[serde(default)]
    pub pickup_prn: Option<String>,
}

fn yes() -> bool {
    true
}

/// Key path → 1-based line of the YAML text, built by a light scan of block-style YAML.
/// Flow collections (`{…}`, `[…]`) are attributed to the line of the key that opens them.
#[derive(Debug, Default, Clone)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
}

#[derive(Debug)]
struct Frame {
    col: usize,
    item: bool,
    path: String,
    next_index: usize,
}

impl LineIndex {
    pub fn build(text: &str) -> LineIndex {
        let mut lines = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut block_scalar_col: Option<usize> = None;
        for (n, raw) in text.lines().enumerate() {
            let lineno = n + 1;
            let indent = raw.len() - raw.trim_start_matches(' ').len();
            let trimmed = raw.trim();
            if let Some(col) = block_scalar_col {
                if trimmed.is_empty() || indent > col {
                    continue;
                }
                block_scalar_col = None;
            }
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
                continue;
            }
            let mut col = indent;
            let mut rest = trimmed;
            loop {
                if rest == "-" || rest.starts_with("- ") {
                    while let Some(top) = stack.last() {
                        if top.col > col || (top.col == col && top.item) {
                            stack.pop();
                        } else {
                            break;
                        }
                    }
                    let (parent, idx) = match stack.last_mut() {
                        Some(top) => {
                            let i = top.next_index;
                            top.next_index += 1;
                            (top.path.clone(), i)
                        }
                        None => (String::new(), 0),
                    };
                    let path = format!("{parent}[{idx}]");
                    lines.entry(path.clone()).or_insert(lineno);
                    stack.push(Frame {
                        col,
                        item: true,
                        path,
                        next_index: 0,
                    });
                    let after = rest[1..].trim_start();
                    col += rest.len() - after.len();
                    rest = after;
                    if rest.is_empty() {
                        break;
                    }
                    continue;
                }
                if let Some((key, value)) = split_key(rest) {
                    while let Some(top) = stack.last() {
                        if top.col >= col {
                            stack.pop();
                        } else {
                            break;
                        }
                    }
                    let parent = stack.last().map(|f| f.path.as_str()).unwrap_or("");
                    let path = if parent.is_empty() {
                        key.to_string()
                    } else {
                        format!("{parent}.{key}")
                    };
                    lines.entry(path.clone()).or_insert(lineno);
                    let v = value.trim();
                    if v.starts_with('|') || v.starts_with('>') {
                        block_scalar_col = Some(col);
                    }
                    stack.push(Frame {
                        col,
                        item: false,
                        path,
                        next_index: 0,
                    });
                }
                break;
            }
        }
        LineIndex { lines }
    }

    /// Line of `path`, or of its nearest written ancestor; 1 when nothing matches.
    pub fn line_of(&self, path: &str) -> usize {
        let mut p = path;
        loop {
            if let Some(l) = self.lines.get(p) {
                return *l;
            }
            match p.rfind(['.', '[']) {
                Some(i) => p = &p[..i],
                None => return 1,
            }
        }
    }

    /// Exact line of `path`, if written in block style.
    pub fn exact(&self, path: &str) -> Option<usize> {
        self.lines.get(path).copied()
    }
}

/// `key: value` → (key, value) for a block mapping line; `None` for anything else.
fn split_key(s: &str) -> Option<(&str, &str)> {
    if s.starts_with('{') || s.starts_with('[') || s.starts_with('#') {
        return None;
    }
    let (key, rest) = if let Some(q) = s.strip_prefix('"') {
        let end = q.find('"')?;
        (&q[..end], &q[end + 1..])
    } else if let Some(q) = s.strip_prefix('\'') {
        let end = q.find('\'')?;
        (&q[..end], &q[end + 1..])
    } else {
        let i = s.find(':')?;
        let after = &s[i + 1..];
        if !(after.is_empty() || after.starts_with(' ')) {
            return None;
        }
        (s[..i].trim_end(), &s[i..])
    };
    let rest = rest.trim_start();
    let value = rest.strip_prefix(':')?;
    if !(value.is_empty() || value.starts_with(' ')) {
        return None;
    }
    Some((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_follows_block_yaml() {
        let text = "\
# header
ship_to:
  name: {path: A, truncate: 35}
  address_lines:
    - Line1
    - Line2
references:
  others:
  - code: PO
    value: X
  - code: ON
    value: |
      multi
      line
    optional: true
write_back:
  status: S
";
        let ix = LineIndex::build(text);
        assert_eq!(ix.exact("ship_to"), Some(2));
        assert_eq!(ix.exact("ship_to.name"), Some(3));
        assert_eq!(ix.line_of("ship_to.name.truncate"), 3);
        assert_eq!(ix.exact("ship_to.address_lines[1]"), Some(6));
        assert_eq!(ix.exact("references.others[0].code"), Some(9));
        assert_eq!(ix.exact("references.others[1].value"), Some(12));
        assert_eq!(ix.exact("references.others[1].optional"), Some(15));
        assert_eq!(ix.exact("write_back.status"), Some(17));
        assert_eq!(ix.line_of("nothing.here"), 1);
    }
}
