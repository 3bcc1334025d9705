//! NetSuite record codec: SuiteQL rows (lowercase keys, string values, NULL columns
//! omitted) and record-API JSON → the decoded record shape of `docs/conventions.md`
//! ("NetSuite (codec output)"), and a [`WriteBack`] plan → the itemFulfillment PATCH body.
//!
//! Pure functions, no I/O.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::model::WriteBack;

/// Header keys every decoded record has (missing columns become `""`).
pub const HEADER_KEYS: &[&str] = &[
    "id",
    "tranid",
    "status",
    "shipmethod",
    "location",
    "createdfrom",
    "otherrefnum",
    "entity",
    "email",
    "currency",
    "lastmodifieddate",
];
/// `shipaddress` keys (from `shipaddress_<key>` columns).
pub const ADDRESS_KEYS: &[&str] = &[
    "addressee",
    "attention",
    "addr1",
    "addr2",
    "addr3",
    "city",
    "state",
    "zip",
    "country",
    "addrphone",
];
/// Package keys.
pub const PACKAGE_KEYS: &[&str] = &[
    "line",
    "packageweight",
    "packagedescr",
    "packagelength",
    "packagewidth",
    "packageheight",
    "declaredvalue",
    "packagetrackingnumber",
];
/// Item keys.
pub const ITEM_KEYS: &[&str] = &[
    "line",
    "item",
    "description",
    "quantity",
    "rate",
    "custcol_hs_code",
    "custcol_origin_country",
];
/// Custom body fields every decoded record has.
pub const CUSTBODY_KEYS: &[&str] = &[
    "custbody_ups_reference",
    "custbody_ups_charges",
    "custbody_ups_status",
    "custbody_ups_error",
    "custbody_ups_label_file",
    "custbody_ups_last_scan",
    "custbody_ups_delivered",
    "custbody_ups_received_by",
    "custbody_ups_status_time",
    "custbody_ups_scan_location",
    "custbody_ups_est_delivery",
    "custbody_ups_exception",
    "custbody_ups_signature",
    "custbody_ups_scan_history",
];

fn text(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::String(String::new()),
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(Value::Number(n)) => Value::String(num_text(n)),
        Some(Value::Bool(b)) => Value::String(if *b { "T" } else { "F" }.into()),
        Some(other) => other.clone(),
    }
}

/// Numbers as SuiteQL renders them: `5`, `2.5`.
pub fn num_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => format!("{f}"),
        None => n.to_string(),
    }
}

/// One detail row (package or item) in the conventions shape: known keys first, then any
/// extra columns the admin added; `transaction` and `links` dropped.
pub fn detail_row(row: &Map<String, Value>, keys: &[&str]) -> Value {
    let mut o = Map::new();
    for k in keys {
        o.insert((*k).to_string(), text(row.get(*k)));
    }
    for (k, v) in row {
        if k != "links" && k != "transaction" && !o.contains_key(k) {
            o.insert(k.clone(), text(Some(v)));
        }
    }
    Value::Object(o)
}

fn line_no(v: &Value) -> u64 {
    v.get("line")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX)
}

/// Assemble one record from its header row and its detail rows.
pub fn assemble(
    header: &Map<String, Value>,
    mut packages: Vec<Value>,
    mut items: Vec<Value>,
) -> Value {
    let mut o = Map::new();
    for k in HEADER_KEYS {
        o.insert((*k).to_string(), text(header.get(*k)));
    }
    let mut addr = Map::new();
    for k in ADDRESS_KEYS {
        addr.insert(
            (*k).to_string(),
            text(header.get(&format!("shipaddress_{k}"))),
        );
    }
    o.insert("shipaddress".into(), Value::Object(addr));
    packages.sort_by_key(line_no);
    items.sort_by_key(line_no);
    o.insert("packages".into(), Value::Array(packages));
    o.insert("items".into(), Value::Array(items));
    for k in CUSTBODY_KEYS {
        o.insert((*k).to_string(), text(header.get(*k)));
    }
    for (k, v) in header {
        if k == "links" || k.starts_with("shipaddress_") || o.contains_key(k) {
            continue;
        }
        o.insert(k.clone(), text(Some(v)));
    }
    Value::Object(o)
}

/// Group detail rows by their `transaction` column.
pub fn group_by_transaction(
    rows: Vec<Map<String, Value>>,
    keys: &[&str],
) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in rows {
        let Some(t) = r
            .get("transaction")
            .and_then(Value::as_str)
            .map(String::from)
        else {
            continue;
        };
        out.entry(t).or_default().push(detail_row(&r, keys));
    }
    out
}

/// The package sublists an itemFulfillment can carry, with the suffix of their field names
/// (ERP-NOTES.md §N4: `package` has packageWeight, packageDescr, packageTrackingNumber and
/// `packageDetails{…}`; `packageUps` has packageWeightUps, packageTrackingNumberUps,
/// packageDescrUps, reference1Ups, …; likewise `packageFedex`, `packageUsps`). Which one a
/// record shows depends on its ship method [UNVERIFIED detail], so every reader and writer
/// here takes the one the record carries.
pub const PACKAGE_SUBLISTS: &[(&str, &str)] = &[
    ("package", ""),
    ("packageUps", "Ups"),
    ("packageFedex", "Fedex"),
    ("packageUsps", "Usps"),
];

/// The package sublist a record-API itemFulfillment carries: `(name, field suffix, lines)`.
/// A sublist with lines wins over an empty one; `None` when the record shows none.
pub fn carried_packages(rec: &Value) -> Option<(&'static str, &'static str, Vec<Value>)> {
    let mut empty = None;
    for (name, sfx) in PACKAGE_SUBLISTS {
        let Some(sub) = rec.get(*name) else { continue };
        let lines = sub
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !lines.is_empty() {
            return Some((name, sfx, lines));
        }
        empty.get_or_insert((*name, *sfx, lines));
    }
    empty
}

/// Packages and items of a record-API itemFulfillment (`expandSubResources=true`). Package
/// lines come from the sublist the record carries ([`carried_packages`]); `line` is the
/// 1-based position in it, which is what write-back matches on.
pub fn details_from_record(rec: &Value) -> (Vec<Value>, Vec<Value>) {
    let lines = |name: &str| -> Vec<Map<String, Value>> {
        rec.get(name)
            .and_then(|s| s.get("items"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
            .unwrap_or_default()
    };
    let (name, sfx, package_lines) = match carried_packages(rec) {
        Some((name, sfx, l)) => (
            name,
            sfx,
            l.iter().filter_map(|v| v.as_object().cloned()).collect(),
        ),
        None => ("package", "", Vec::new()),
    };
    let packages = package_lines
        .iter()
        .enumerate()
        .map(|(i, p): (usize, &Map<String, Value>)| {
            let d = p.get("packageDetails");
            let f = |base: &str| p.get(&format!("{base}{sfx}"));
            let nested = |k: &str| d.and_then(|d| d.get(k));
            let mut row = Map::new();
            row.insert("line".into(), Value::String((i + 1).to_string()));
            for (k, src) in [
                ("packageweight", f("packageWeight")),
                ("packagedescr", f("packageDescr")),
                (
                    "packagelength",
                    nested("packageLength").or(f("packageLength")),
                ),
                ("packagewidth", nested("packageWidth").or(f("packageWidth"))),
                (
                    "packageheight",
                    nested("packageHeight").or(f("packageHeight")),
                ),
                (
                    "declaredvalue",
                    nested("declaredValue").or(f("insuredValue")),
                ),
                ("packagetrackingnumber", f("packageTrackingNumber")),
            ] {
                row.insert(k.into(), text(src));
            }
            // As the bundled packages query returns them (NULL columns omitted): the
            // sublist, and the fields write-back must carry over when it replaces the lines
            // ([`lines_from_copy`]).
            row.insert("sublist".into(), Value::String(name.to_string()));
            let extra = if sfx.is_empty() {
                ("packagecartonnumber", p.get("packageCartonNumber"))
            } else {
                ("reference1", f("reference1"))
            };
            if let Some(v) = extra.1.filter(|v| !v.is_null()) {
                row.insert(extra.0.into(), text(Some(v)));
            }
            Value::Object(row)
        })
        .collect();
    let items = lines("item")
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let mut row = Map::new();
            row.insert(
                "line".into(),
                text(Some(
                    it.get("line")
                        .unwrap_or(&Value::String((i + 1).to_string())),
                )),
            );
            let item = it
                .get("item")
                .and_then(|x| x.get("refName").or(Some(x)))
                .cloned();
            row.insert("item".into(), text(item.as_ref()));
            for (k, src) in [
                ("description", "description"),
                ("quantity", "quantity"),
                ("rate", "rate"),
                ("custcol_hs_code", "custcol_hs_code"),
                ("custcol_origin_country", "custcol_origin_country"),
            ] {
                row.insert(k.into(), text(it.get(src)));
            }
            Value::Object(row)
        })
        .collect();
    (packages, items)
}

/// Is this JSON a record-API itemFulfillment (camelCase `tranId` / `shipStatus`) rather than
/// the decoded shape?
pub fn is_record_api(v: &Value) -> bool {
    v.get("tranId").is_some() || v.get("shipStatus").is_some()
}

/// A record-API itemFulfillment (`GET …/itemFulfillment/{id}?expandSubResources=true`) →
/// the decoded record shape the SuiteQL path produces (`upsync mapping test MAPPING
/// RECORD.json` with a record copied from the API). Reference fields (`{id, refName}`)
/// give their display text as `BUILTIN.DF` does; `createdFrom`'s "Sales Order #" prefix is
/// dropped; `location` comes from the first item line (the body has none, §N4);
/// `lastModifiedDate` becomes `YYYY-MM-DD HH:MM:SS`.
pub fn from_record_api(rec: &Value) -> Value {
    let display = |v: Option<&Value>| -> Value {
        match v {
            Some(Value::Object(o)) => o
                .get("refName")
                .or_else(|| o.get("id"))
                .cloned()
                .unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        }
    };
    let id_of = |v: Option<&Value>| -> Value {
        match v {
            Some(Value::Object(o)) => o.get("id").cloned().unwrap_or(Value::Null),
            Some(other) => other.clone(),
            None => Value::Null,
        }
    };
    let mut h = Map::new();
    h.insert("id".into(), text(rec.get("id")));
    h.insert("tranid".into(), text(rec.get("tranId")));
    let status = id_of(rec.get("shipStatus").or_else(|| rec.get("status")));
    if let Some(s) = status.as_str().filter(|s| !s.is_empty()) {
        h.insert("status".into(), Value::String(format!("ItemShip:{s}")));
    }
    h.insert(
        "shipmethod".into(),
        text(Some(&display(rec.get("shipMethod")))),
    );
    let location = rec
        .get("location")
        .or_else(|| {
            rec.get("item")
                .and_then(|i| i.get("items"))
                .and_then(|a| a.get(0))
                .and_then(|l| l.get("location"))
        })
        .cloned();
    h.insert("location".into(), text(Some(&id_of(location.as_ref()))));
    let created = display(rec.get("createdFrom"));
    let created = created.as_str().unwrap_or("");
    h.insert(
        "createdfrom".into(),
        Value::String(
            created
                .strip_prefix("Sales Order #")
                .unwrap_or(created)
                .to_string(),
        ),
    );
    h.insert("otherrefnum".into(), text(rec.get("otherRefNum")));
    h.insert("entity".into(), text(Some(&display(rec.get("entity")))));
    h.insert("email".into(), text(rec.get("email")));
    h.insert("currency".into(), text(Some(&display(rec.get("currency")))));
    let modified = rec
        .get("lastModifiedDate")
        .and_then(Value::as_str)
        .unwrap_or("");
    let modified = chrono::DateTime::parse_from_rfc3339(modified)
        .map(|d| d.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| modified.to_string());
    h.insert("lastmodifieddate".into(), Value::String(modified));
    if let Some(a) = rec.get("shippingAddress") {
        for k in ADDRESS_KEYS {
            let src = if *k == "addrphone" { "addrPhone" } else { k };
            let v = match a.get(src) {
                Some(Value::Object(o)) => o.get("id").cloned(),
                other => other.cloned(),
            };
            h.insert(format!("shipaddress_{k}"), text(v.as_ref()));
        }
    }
    if let Some(o) = rec.as_object() {
        for (k, v) in o {
            if k.starts_with("custbody_") {
                h.insert(k.clone(), text(Some(v)));
            }
        }
    }
    let (packages, items) = details_from_record(rec);
    assemble(&h, packages, items)
}

/// Record-API package lines rebuilt from the decoded copy's `packages` rows (the inverse of
/// [`details_from_record`]): `(sublist, field suffix, lines)`, for write-back to send in
/// full with `?replace=<sublist>` without reading the record again. Every row must name
/// its `sublist` (the bundled packages query returns it; [`details_from_record`] sets it),
/// all rows the same one, numbered `1..n` in order, and hold only columns a line field is
/// known for: `packageweight`, `packagedescr`, `packagetrackingnumber`, the dimensions and
/// `declaredvalue` (`packageDetails{…}` on `package`, flat and suffixed — `insuredValue` —
/// on the carrier sublists), `packagecartonnumber` (`package`) and `reference1` (carrier
/// sublists). Anything else gives `None`, and write-back reads the record instead: a field
/// this copy does not hold would be lost when the sublist is replaced. Empty values are
/// left out, as the record API leaves out empty fields.
pub fn lines_from_copy(packages: &[Value]) -> Option<(&'static str, &'static str, Vec<Value>)> {
    let mut kind: Option<(&'static str, &'static str)> = None;
    let mut out = Vec::with_capacity(packages.len());
    for (i, row) in packages.iter().enumerate() {
        let row = row.as_object()?;
        let line = row.get("line")?.as_str()?;
        if line.parse::<usize>().ok()? != i + 1 {
            return None;
        }
        let named = row.get("sublist")?.as_str()?;
        let (name, sfx) = *PACKAGE_SUBLISTS.iter().find(|(n, _)| *n == named)?;
        match kind {
            None => kind = Some((name, sfx)),
            Some((k, _)) if k != name => return None,
            Some(_) => {}
        }
        let generic = sfx.is_empty();
        let mut o = Map::new();
        let mut details = Map::new();
        for (k, v) in row {
            let t = v.as_str()?;
            if t.is_empty() || k == "line" || k == "sublist" {
                continue;
            }
            let num = || t.parse::<serde_json::Number>().ok().map(Value::Number);
            let text = || Value::String(t.to_string());
            match (k.as_str(), generic) {
                ("packageweight", _) => o.insert(format!("packageWeight{sfx}"), num()?),
                ("packagedescr", _) => o.insert(format!("packageDescr{sfx}"), text()),
                ("packagetrackingnumber", _) => {
                    o.insert(format!("packageTrackingNumber{sfx}"), text())
                }
                ("packagecartonnumber", true) => o.insert("packageCartonNumber".into(), text()),
                ("reference1", false) => o.insert(format!("reference1{sfx}"), text()),
                ("packagelength", true) => details.insert("packageLength".into(), num()?),
                ("packagewidth", true) => details.insert("packageWidth".into(), num()?),
                ("packageheight", true) => details.insert("packageHeight".into(), num()?),
                ("declaredvalue", true) => details.insert("declaredValue".into(), num()?),
                ("packagelength", false) => o.insert(format!("packageLength{sfx}"), num()?),
                ("packagewidth", false) => o.insert(format!("packageWidth{sfx}"), num()?),
                ("packageheight", false) => o.insert(format!("packageHeight{sfx}"), num()?),
                ("declaredvalue", false) => o.insert(format!("insuredValue{sfx}"), num()?),
                _ => return None,
            };
        }
        if !details.is_empty() {
            o.insert("packageDetails".into(), Value::Object(details));
        }
        out.push(Value::Object(o));
    }
    kind.map(|(name, sfx)| (name, sfx, out))
}

/// A write-back plan that cannot be expressed for this record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanProblem {
    /// The plan names a package line the record does not have.
    UnknownLine(String),
    /// A header field the profile does not allow.
    FieldNotWritable(String),
    /// A package field the connector does not know.
    UnknownPackageField(String),
}

/// Map a package field name (record API or SuiteQL spelling) to the record API name in a
/// sublist whose fields carry `suffix` (`""` for `package`, `"Ups"` for `packageUps`, …).
fn package_field(name: &str, suffix: &str) -> Option<String> {
    let base = match name.to_ascii_lowercase().as_str() {
        "packagetrackingnumber" | "trackingnumber" => "packageTrackingNumber",
        "packagedescr" => "packageDescr",
        "packageweight" => "packageWeight",
        "packagecartonnumber" if suffix.is_empty() => return Some("packageCartonNumber".into()),
        "reference1" if !suffix.is_empty() => "reference1",
        _ => {
            // Already spelt for this sublist (packageTrackingNumberUps): strip and re-map.
            let lower = name.to_ascii_lowercase();
            let sfx = suffix.to_ascii_lowercase();
            return match lower.strip_suffix(&sfx) {
                Some(stem) if !sfx.is_empty() => package_field(stem, suffix),
                _ => None,
            };
        }
    };
    Some(format!("{base}{suffix}"))
}

/// The PATCH body for `plan`, given the record's current package lines (record API JSON,
/// the `items` of the sublist the record carries, named in `sublist` with its field suffix).
/// Package lines are sent in full (for `?replace=<sublist>`), with the plan's fields
/// applied to the line whose 1-based position equals the plan's line id — the position the
/// lines were read at (SuiteQL `line` and [`details_from_record`] both number them so).
pub fn patch_body(
    plan: &WriteBack,
    current_packages: &[Value],
    sublist: (&str, &str),
    writable: &[String],
    confirm_status: &str,
) -> Result<Value, PlanProblem> {
    let (sublist_name, suffix) = sublist;
    let mut body = Map::new();
    for (field, value) in &plan.fields {
        if !writable.iter().any(|w| w == field) {
            return Err(PlanProblem::FieldNotWritable(field.clone()));
        }
        body.insert(field.clone(), value.clone());
    }
    if !plan.package_lines.is_empty() {
        let mut lines: Vec<Map<String, Value>> = current_packages
            .iter()
            .map(|p| {
                let mut o = p.as_object().cloned().unwrap_or_default();
                o.remove("links");
                o
            })
            .collect();
        for (line_id, fields) in &plan.package_lines {
            let idx = line_id
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1 && *n <= lines.len())
                .ok_or_else(|| PlanProblem::UnknownLine(line_id.clone()))?;
            for (k, v) in fields {
                let name = package_field(k, suffix)
                    .ok_or_else(|| PlanProblem::UnknownPackageField(k.clone()))?;
                lines[idx - 1].insert(name, v.clone());
            }
        }
        body.insert(
            sublist_name.into(),
            serde_json::json!({ "items": lines.into_iter().map(Value::Object).collect::<Vec<_>>() }),
        );
    }
    if plan.confirm_shipment && !confirm_status.is_empty() {
        body.insert(
            "shipStatus".into(),
            serde_json::json!({ "id": confirm_status }),
        );
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn assembles_the_conventions_shape() {
        let header = obj(
            json!({"links": [], "id": "5123", "tranid": "IF1001", "status": "ItemShip:B",
            "shipmethod": "UPS Ground", "location": "1", "lastmodifieddate": "2026-11-21 10:15:03",
            "shipaddress_city": "Alpharetta", "shipaddress_zip": "30005", "custbody_extra": "x"}),
        );
        let pk = group_by_transaction(
            vec![
                obj(json!({"links": [], "transaction": "5123", "line": "2", "packageweight": "3"})),
                obj(
                    json!({"links": [], "transaction": "5123", "line": "1", "packageweight": "5", "packagedescr": "Box 1"}),
                ),
            ],
            PACKAGE_KEYS,
        );
        let rec = assemble(&header, pk["5123"].clone(), vec![]);
        assert_eq!(rec["id"], "5123");
        assert_eq!(
            rec["email"], "",
            "omitted NULL columns become empty strings"
        );
        assert_eq!(rec["shipaddress"]["city"], "Alpharetta");
        assert_eq!(rec["shipaddress"]["addr3"], "");
        assert_eq!(rec["packages"][0]["line"], "1");
        assert_eq!(rec["packages"][0]["packagetrackingnumber"], "");
        assert!(rec["packages"][0].get("transaction").is_none());
        assert_eq!(rec["custbody_ups_reference"], "");
        assert_eq!(rec["custbody_extra"], "x");
        let keys: Vec<&String> = rec.as_object().unwrap().keys().collect();
        assert_eq!(keys[0], "id");
        assert_eq!(keys[11], "shipaddress");
    }

    #[test]
    fn record_api_details_match_suiteql_spelling() {
        let rec = json!({"package": {"items": [{"links": [], "packageWeight": 5.0, "packageDescr": "Box 1",
            "packageDetails": {"packageLength": 12.0, "declaredValue": 100.0}}]},
            "item": {"items": [{"line": 1, "item": {"id": "300", "refName": "WIDGET-A"}, "quantity": 2.0, "rate": 49.5}]}});
        let (p, i) = details_from_record(&rec);
        assert_eq!(
            p[0],
            json!({"line":"1","packageweight":"5","packagedescr":"Box 1","packagelength":"12","packagewidth":"","packageheight":"","declaredvalue":"100","packagetrackingnumber":"","sublist":"package"})
        );
        assert_eq!(i[0]["item"], "WIDGET-A");
        assert_eq!(i[0]["line"], "1");
        assert_eq!(i[0]["rate"], "49.5");
    }

    /// Issue 15 item 12 — guards: a `packageUps` record is read from and written to its
    /// own sublist with the UPS spelling (the old codec read only `package`: no packages).
    #[test]
    fn ups_sublist_is_read_and_written_in_its_own_spelling() {
        let rec = json!({"packageUps": {"items": [
            {"links": [], "packageWeightUps": 4.0, "packageDescrUps": "Box 1", "packageLengthUps": 10.0, "insuredValueUps": 50.0},
            {"links": [], "packageWeightUps": 2.0}]}});
        let (p, _) = details_from_record(&rec);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0]["packageweight"], "4");
        assert_eq!(p[0]["packagelength"], "10");
        assert_eq!(p[0]["declaredvalue"], "50");
        assert_eq!(p[1]["line"], "2");
        let (name, sfx, lines) = carried_packages(&rec).unwrap();
        assert_eq!((name, sfx), ("packageUps", "Ups"));
        let plan = WriteBack {
            record_id: "5124".into(),
            fields: vec![],
            package_lines: vec![(
                "2".into(),
                vec![("packageTrackingNumber".into(), json!("1Z2"))],
            )],
            files: vec![],
            confirm_shipment: false,
            record_type: None,
        };
        let b = patch_body(&plan, &lines, (name, sfx), &[], "C").unwrap();
        assert!(b.get("package").is_none());
        assert_eq!(
            b["packageUps"]["items"][1]["packageTrackingNumberUps"],
            "1Z2"
        );
        assert_eq!(b["packageUps"]["items"][0]["packageWeightUps"], 4.0);
        let mut carton = plan.clone();
        carton.package_lines[0].1[0].0 = "packageCartonNumber".into();
        assert_eq!(
            patch_body(&carton, &lines, (name, sfx), &[], "C"),
            Err(PlanProblem::UnknownPackageField(
                "packageCartonNumber".into()
            ))
        );
    }

    /// The copy read at ingest rebuilds the record's own lines (what a GET would give,
    /// numbers compared as numbers), in both spellings; anything it cannot place means a GET.
    #[test]
    fn lines_from_the_read_copy_are_the_records_lines() {
        let num = |v: &Value| -> Value {
            let mut v = num_of(v);
            if let Some(o) = v.as_object_mut() {
                o.remove("links");
            }
            v
        };
        fn num_of(v: &Value) -> Value {
            match v {
                Value::Number(n) => json!(n.as_f64()),
                Value::Object(o) => {
                    Value::Object(o.iter().map(|(k, v)| (k.clone(), num_of(v))).collect())
                }
                other => other.clone(),
            }
        }
        for rec in [
            json!({"packageUps": {"items": [
                {"links": [], "packageWeightUps": 4.5, "packageDescrUps": "Box 1", "packageLengthUps": 10.0,
                 "packageWidthUps": 8.0, "packageHeightUps": 6.0, "insuredValueUps": 50.0, "reference1Ups": "PO-1"},
                {"links": [], "packageWeightUps": 2.0, "packageTrackingNumberUps": "1Z9"}]}}),
            json!({"package": {"items": [
                {"links": [], "packageWeight": 5.0, "packageDescr": "Box 1", "packageCartonNumber": "C1",
                 "packageDetails": {"packageLength": 12.0, "packageWidth": 10.0, "packageHeight": 8.0, "declaredValue": 100.0}},
                {"links": [], "packageWeight": 0.25}]}}),
        ] {
            let (rows, _) = details_from_record(&rec);
            let (name, sfx, want) = carried_packages(&rec).unwrap();
            let (n, s, got) = lines_from_copy(&rows).expect("rebuilt");
            assert_eq!((n, s), (name, sfx));
            let want: Vec<Value> = want.iter().map(num).collect();
            let got: Vec<Value> = got.iter().map(num).collect();
            assert_eq!(got, want, "{name}");
        }
        let (rows, _) =
            details_from_record(&json!({"package": {"items": [{"packageWeight": 1.0}]}}));
        let mut unknown = rows.clone();
        unknown[0]["custrecord_pallet"] = json!("P7");
        assert!(
            lines_from_copy(&unknown).is_none(),
            "a column it cannot place"
        );
        let mut unnamed = rows.clone();
        unnamed[0].as_object_mut().unwrap().remove("sublist");
        assert!(lines_from_copy(&unnamed).is_none(), "no sublist named");
        let mut renumbered = rows;
        renumbered[0]["line"] = json!("2");
        assert!(lines_from_copy(&renumbered).is_none(), "lines not 1..n");
    }

    #[test]
    fn patch_body_sends_the_full_package_list() {
        let current = vec![
            json!({"links": [], "packageWeight": 5.0, "packageDescr": "Box 1"}),
            json!({"links": [], "packageWeight": 3.0, "packageDescr": "Box 2"}),
        ];
        let plan = WriteBack {
            record_id: "5123".into(),
            fields: vec![("custbody_ups_reference".into(), json!("1Z1"))],
            package_lines: vec![(
                "2".into(),
                vec![("packageTrackingNumber".into(), json!("1Z2"))],
            )],
            files: vec![],
            confirm_shipment: true,
            record_type: None,
        };
        let writable = vec!["custbody_ups_reference".to_string()];
        let b = patch_body(&plan, &current, ("package", ""), &writable, "C").unwrap();
        assert_eq!(b["package"]["items"].as_array().unwrap().len(), 2);
        assert_eq!(b["package"]["items"][1]["packageTrackingNumber"], "1Z2");
        assert!(b["package"]["items"][0].get("links").is_none());
        assert_eq!(b["shipStatus"]["id"], "C");
        let mut bad = plan.clone();
        bad.package_lines[0].0 = "3".into();
        assert_eq!(
            patch_body(&bad, &current, ("package", ""), &writable, "C"),
            Err(PlanProblem::UnknownLine("3".into()))
        );
        let mut bad = plan.clone();
        bad.fields[0].0 = "memo".into();
        assert_eq!(
            patch_body(&bad, &current, ("package", ""), &writable, "C"),
            Err(PlanProblem::FieldNotWritable("memo".into()))
        );
        let b = patch_body(&plan, &current, ("package", ""), &writable, "").unwrap();
        assert!(b.get("shipStatus").is_none());
    }
}
