//! Acumatica record codec: wire JSON (contract-based REST) ⇄ the decoded record shape of
//! `docs/conventions.md` ("Decoded record shapes / Acumatica").
//!
//! Spec: ERP-NOTES.md §A3 (value wrapping, custom fields, 422 bodies). Decoding replaces
//! every `{"value": x}` by `x` (`{}` by `null`), turns `custom.<View>.<Field>` =
//! `{"type": …, "value": x}` into `x`, and drops `rowNumber`/`_links`. Encoding builds
//! write bodies from values (`{"value": …}` wrappers, typed custom fields) — never by
//! string-poking. No I/O here.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use crate::model::ErpRecord;
use crate::sources::FieldError;

/// Is this object a value wrapper (`{"value": …}`, `{"value": …, "error": …}`, `{}`)?
pub fn is_wrapper(v: &Value) -> bool {
    matches!(v, Value::Object(m) if is_wrapper_map(m))
}

fn is_wrapper_map(m: &Map<String, Value>) -> bool {
    m.keys().all(|k| k == "value" || k == "error")
}

/// What decoding does with one field of a wire object (ERP-NOTES §A3): the one place both
/// decoders take their rules from.
enum Field {
    /// `rowNumber`, `_links`: dropped.
    Dropped,
    /// `custom`: `{View: {Field: {"type", "value"}}}` → `{View: {Field: value}}`.
    Custom,
    /// Anything else: decoded in turn.
    Decoded,
}

fn field_kind(key: &str) -> Field {
    match key {
        "rowNumber" | "_links" => Field::Dropped,
        "custom" => Field::Custom,
        _ => Field::Decoded,
    }
}

/// Wire → decoded, from a borrowed record: builds the decoded shape directly (no copy of
/// the wire record first, no wrappers built only to be dropped); the same result as
/// [`into_decoded`] of a copy.
pub fn decode(v: &Value) -> Value {
    match v {
        Value::Object(m) if is_wrapper_map(m) => m.get("value").cloned().unwrap_or(Value::Null),
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, child) in m {
                let decoded = match field_kind(k) {
                    Field::Dropped => continue,
                    Field::Custom => decode_custom(child),
                    Field::Decoded => decode(child),
                };
                out.insert(k.clone(), decoded);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(decode).collect()),
        other => other.clone(),
    }
}

/// Wire → decoded, taking the wire value: strings and arrays move instead of being copied
/// (a list row is decoded once, right after it is read).
pub fn into_decoded(v: Value) -> Value {
    match v {
        Value::Object(mut m) if is_wrapper_map(&m) => m.remove("value").unwrap_or(Value::Null),
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, child) in m {
                let decoded = match field_kind(&k) {
                    Field::Dropped => continue,
                    Field::Custom => decode_custom(&child),
                    Field::Decoded => into_decoded(child),
                };
                out.insert(k, decoded);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(into_decoded).collect()),
        other => other,
    }
}

fn decode_custom(v: &Value) -> Value {
    let mut out = Map::new();
    for (view, fields) in v.as_object().into_iter().flatten() {
        let mut f = Map::new();
        for (name, val) in fields.as_object().into_iter().flatten() {
            f.insert(
                name.clone(),
                val.get("value").cloned().unwrap_or(Value::Null),
            );
        }
        out.insert(view.clone(), Value::Object(f));
    }
    Value::Object(out)
}

/// Parse an Acumatica date-time (`2026-11-21T10:15:03.12+00:00`; an offset-less value is
/// taken as UTC).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// `datetimeoffset'…'` literal text (UTC, milliseconds), not yet URL-encoded.
pub fn filter_time(t: DateTime<Utc>) -> String {
    format!(
        "datetimeoffset'{}'",
        t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00")
    )
}

/// A quoted OData string literal.
pub fn filter_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What a list row says about itself without being decoded: enough to tell a row already
/// seen (the overlap re-reads seconds of rows every scan) and to split a full window, so
/// only new rows are built into records.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub id: String,
    pub version: String,
    pub modified: DateTime<Utc>,
    /// The first key field's decoded value as text (`""` when absent or null).
    pub key: String,
}

impl Head {
    /// The head of a decoded record (what [`head`] reads from the wire).
    pub fn of(rec: &ErpRecord, key_field: &str) -> Head {
        Head {
            id: rec.id.clone(),
            version: rec.version.clone(),
            modified: rec.modified,
            key: key_text(rec.data.get(key_field).unwrap_or(&Value::Null)),
        }
    }
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// A wire row's [`Head`], reading only its `id`, `LastModifiedDateTime` and key field (the
/// rest is skipped, never built); `None` when they are not plainly there (the caller decodes
/// the row and reports why).
pub fn head(row: &serde_json::value::RawValue, key_field: &str) -> Option<Head> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_str(row.get());
    let [id, version, key] = HeadFields(key_field).deserialize(&mut de).ok()?;
    let Some(Value::String(id)) = id.map(into_decoded) else {
        return None;
    };
    let Some(Value::String(version)) = version.map(into_decoded) else {
        return None;
    };
    let modified = parse_time(&version)?;
    Some(Head {
        id,
        version,
        modified,
        key: key_text(&key.map(into_decoded).unwrap_or(Value::Null)),
    })
}

/// Visits a row's fields: `[id, LastModifiedDateTime, key field]` as they are on the wire.
struct HeadFields<'k>(&'k str);

impl<'de> serde::de::DeserializeSeed<'de> for HeadFields<'_> {
    type Value = [Option<Value>; 3];
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for HeadFields<'_> {
    type Value = [Option<Value>; 3];
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a record object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
        let mut out: [Option<Value>; 3] = [None, None, None];
        while let Some(k) = m.next_key::<&str>()? {
            let slot = if k == self.0 {
                2
            } else if k == "id" {
                0
            } else if k == "LastModifiedDateTime" {
                1
            } else {
                m.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            let v: Value = m.next_value()?;
            if k == self.0 && k == "id" {
                out[0] = Some(v.clone());
            }
            out[slot] = Some(v);
        }
        Ok(out)
    }
}

/// Wire record → [`ErpRecord`] (`id`, `ShipmentNbr`, `LastModifiedDateTime`).
pub fn to_record(source: &str, wire: &Value) -> Result<ErpRecord, String> {
    record_of(source, decode(wire))
}

/// A decoded record → [`ErpRecord`].
pub fn record_of(source: &str, data: Value) -> Result<ErpRecord, String> {
    let id = data["id"].as_str().ok_or("record has no id")?.to_string();
    let number = data["ShipmentNbr"].as_str().unwrap_or_default().to_string();
    let version = data["LastModifiedDateTime"]
        .as_str()
        .ok_or_else(|| format!("record {id} has no LastModifiedDateTime"))?
        .to_string();
    let modified = parse_time(&version).ok_or_else(|| {
        format!("record {id}: LastModifiedDateTime '{version}' is not a date-time")
    })?;
    Ok(ErpRecord {
        source: source.to_string(),
        id,
        number,
        version,
        modified,
        data,
    })
}

/// `{"value": v}`.
pub fn wrap(v: Value) -> Value {
    json!({ "value": v })
}

/// The custom-field type for a value when the record does not tell.
pub fn custom_type_for(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "CustomBooleanField",
        Value::Number(n) if n.is_i64() || n.is_u64() => "CustomIntField",
        Value::Number(_) => "CustomDecimalField",
        _ => "CustomStringField",
    }
}

/// Coerce a value to what a custom-field type carries (a decimal sent as text becomes a
/// number, and so on); unknown types pass through.
pub fn coerce(kind: &str, v: &Value) -> Value {
    match (kind, v) {
        ("CustomDecimalField" | "CustomDoubleField", Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| v.clone()),
        ("CustomIntField" | "CustomShortField" | "CustomLongField", Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(|n| json!(n))
            .unwrap_or_else(|_| v.clone()),
        ("CustomBooleanField", Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" => json!(true),
            "false" => json!(false),
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

/// A typed custom field in wire form.
pub fn custom_field(kind: &str, v: &Value) -> Value {
    json!({ "type": kind, "value": coerce(kind, v) })
}

/// Do a stored (decoded) value and a wanted value mean the same thing? Numbers compare by
/// value (also when one is text), date-times by instant, and `null` equals `""`.
pub fn same_value(current: &Value, wanted: &Value) -> bool {
    if current == wanted {
        return true;
    }
    let as_num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match (current, wanted) {
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        (Value::String(a), Value::String(b)) => match (parse_time(a), parse_time(b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
        (Value::Number(_), _) | (_, Value::Number(_)) => match (as_num(current), as_num(wanted)) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            _ => false,
        },
        (Value::Bool(b), Value::String(s)) | (Value::String(s), Value::Bool(b)) => {
            s.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        _ => false,
    }
}

/// Split a write-back path (`custom.Document.UsrX`, `ShippingSettings/ShipToAddress/City`,
/// `Description`) into segments.
pub fn path_segments(path: &str) -> Vec<&str> {
    path.split(['.', '/']).filter(|s| !s.is_empty()).collect()
}

/// Field errors of a 422 body: every `error` string below the root, with a readable path
/// (`Packages[<line id>].TrackingNbr`, `custom.Document.UsrUpsReference`), plus the
/// entity-level `error` when no field carries one.
pub fn field_errors(body: &Value) -> Vec<FieldError> {
    let mut out = Vec::new();
    walk_errors(body, String::new(), &mut out);
    if out.is_empty() {
        if let Some(e) = body.get("error").and_then(|e| e.as_str()) {
            out.push(FieldError {
                field: "(record)".into(),
                message: e.to_string(),
            });
        }
    }
    out
}

fn walk_errors(v: &Value, path: String, out: &mut Vec<FieldError>) {
    match v {
        Value::Object(m) => {
            if !path.is_empty() {
                if let Some(e) = m.get("error").and_then(|e| e.as_str()) {
                    if !e.is_empty() {
                        out.push(FieldError {
                            field: path.clone(),
                            message: e.to_string(),
                        });
                    }
                }
            }
            for (k, child) in m {
                if k == "error" {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk_errors(child, p, out);
            }
        }
        Value::Array(a) => {
            for (i, item) in a.iter().enumerate() {
                let key = item
                    .get("id")
                    .and_then(|id| id.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| i.to_string());
                walk_errors(item, format!("{path}[{key}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire() -> Value {
        json!({"id":"g1","rowNumber":1,"ShipmentNbr":{"value":"000123"},"Hold":{"value":false},
               "LastModifiedDateTime":{"value":"2026-11-21T10:15:03.12+00:00"},"PackageWeight":{"value":7.5},
               "ShippingSettings":{"ShipToAddress":{"id":"a1","rowNumber":1,"AddressLine2":{},"State":{"value":"GA"},"custom":{}}},
               "Packages":[{"id":"p1","rowNumber":1,"TrackingNbr":{},"Weight":{"value":5.0},"custom":{}}],
               "Details":[{"id":"d1","custom":{"Transactions":{"UsrHSCode":{"type":"CustomStringField","value":"847130"},
                                                               "UsrUnitPrice":{"type":"CustomDecimalField","value":49.5}}}}],
               "custom":{"Document":{"UsrCustomerPO":{"type":"CustomStringField","value":"PO-778"},
                                     "UsrUpsReference":{"type":"CustomStringField"}}},
               "_links":{"self":"/x"}})
    }

    #[test]
    fn decoding_a_borrowed_record_equals_decoding_a_copy() {
        let mut wrapped_errors = wire();
        wrapped_errors["Hold"] = json!({"value": true, "error": "cannot edit"});
        wrapped_errors["Orders"] = json!([[{"value": 1}], {"OrderNbr": {"value": "SO1"}}]);
        for w in [wire(), wrapped_errors] {
            assert_eq!(decode(&w), into_decoded(w.clone()));
        }
    }

    #[test]
    fn decodes_to_the_conventions_shape() {
        let d = decode(&wire());
        assert_eq!(
            d,
            json!({"id":"g1","ShipmentNbr":"000123","Hold":false,"LastModifiedDateTime":"2026-11-21T10:15:03.12+00:00",
                   "PackageWeight":7.5,"ShippingSettings":{"ShipToAddress":{"id":"a1","AddressLine2":null,"State":"GA","custom":{}}},
                   "Packages":[{"id":"p1","TrackingNbr":null,"Weight":5.0,"custom":{}}],
                   "Details":[{"id":"d1","custom":{"Transactions":{"UsrHSCode":"847130","UsrUnitPrice":49.5}}}],
                   "custom":{"Document":{"UsrCustomerPO":"PO-778","UsrUpsReference":null}}})
        );
        let r = to_record("acu", &wire()).unwrap();
        assert_eq!((r.id.as_str(), r.number.as_str()), ("g1", "000123"));
        assert_eq!(r.version, "2026-11-21T10:15:03.12+00:00");
        assert_eq!(r.modified.timestamp_subsec_millis(), 120);
    }

    #[test]
    fn encodes_values_and_typed_custom_fields() {
        assert_eq!(wrap(json!("1Z")), json!({"value":"1Z"}));
        assert_eq!(
            custom_field("CustomDecimalField", &json!("12.34")),
            json!({"type":"CustomDecimalField","value":12.34})
        );
        assert_eq!(custom_type_for(&json!("x")), "CustomStringField");
        assert_eq!(
            filter_time(parse_time("2026-11-21T10:15:03.12+00:00").unwrap()),
            "datetimeoffset'2026-11-21T10:15:03.120+00:00'"
        );
        assert_eq!(filter_string("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn value_equality_is_semantic() {
        assert!(same_value(&json!(12.34), &json!("12.34")));
        assert!(same_value(&json!(null), &json!("")));
        assert!(same_value(
            &json!("2026-11-21T10:00:00+00:00"),
            &json!("2026-11-21T10:00:00Z")
        ));
        assert!(!same_value(&json!("1Z1"), &json!("1Z2")));
        assert!(!same_value(&json!(null), &json!("1Z")));
    }

    #[test]
    fn field_errors_name_each_field() {
        let body = json!({"id":"g1","error":"TrackingNbr: too long",
            "Packages":[{"id":"p1","TrackingNbr":{"value":"1Z…","error":"'Tracking Number' cannot be longer than 30 characters."}}],
            "custom":{"Document":{"UsrUpsReference":{"type":"CustomStringField","value":"x","error":"Reference is locked."}}}});
        let e = field_errors(&body);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].field, "Packages[p1].TrackingNbr");
        assert!(e[0].message.contains("30 characters"));
        assert_eq!(e[1].field, "custom.Document.UsrUpsReference");
        assert_eq!(field_errors(&json!({"error":"boom"}))[0].message, "boom");
    }

    #[test]
    fn a_rows_head_is_what_its_decoded_record_says() {
        let raw = |v: &Value| serde_json::value::RawValue::from_string(v.to_string()).unwrap();
        let row = json!({"id":"g1","rowNumber":1,"ShipmentNbr":{"value":"SH1"},
            "LastModifiedDateTime":{"value":"2026-11-21T10:15:03.12+00:00"},
            "Packages":[{"id":"p1","Weight":{"value":2.5}}],"custom":{}});
        let rec = to_record("acu", &row).unwrap();
        let h = head(&raw(&row), "ShipmentNbr").unwrap();
        assert_eq!(h, Head::of(&rec, "ShipmentNbr"));
        assert_eq!((h.id.as_str(), h.key.as_str()), ("g1", "SH1"));
        // A numeric key reads as its text; an absent one as "".
        let num = json!({"id":"g2","Nbr":{"value":42},"LastModifiedDateTime":{"value":"2026-11-21T10:15:03Z"}});
        assert_eq!(head(&raw(&num), "Nbr").unwrap().key, "42");
        assert_eq!(head(&raw(&num), "ShipmentNbr").unwrap().key, "");
        // Without a readable LastModifiedDateTime there is no head: the caller decodes the
        // row and reports what is wrong with it.
        let bad = json!({"id":"g3","LastModifiedDateTime":{"value":"yesterday"}});
        assert_eq!(head(&raw(&bad), "ShipmentNbr"), None);
        assert!(to_record("acu", &bad)
            .unwrap_err()
            .contains("not a date-time"));
        assert_eq!(head(&raw(&json!({"id":"g4"})), "ShipmentNbr"), None);
    }
}
