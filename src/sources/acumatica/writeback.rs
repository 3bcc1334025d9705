//! Acumatica write-back: apply a [`WriteBack`] plan to one Shipment, idempotently.
//!
//! Spec: ERP-NOTES.md §A3 (PUT upsert, `If-Match: *`, 422 per-field errors), §A4 (package
//! lines matched by `id`, files, `ConfirmShipment` with 202/`Location` polling).
//!
//! Steps: take the record as the listing read it (`snapshot.rs`: its package line ids,
//! key values, status and custom-field types; no request), or, when this process did not
//! list it lately (a restart, a second write-back of the record, a retry), read it
//! (`$expand=Packages,files`: contract v4 lists attached files only when `files` is
//! expanded, so without it every label looks missing); compute the difference, then
//! (1) one `PUT …/Shipment` with only the fields that differ — tracking numbers, status
//! and every other field in that one request,
//! (2) `PUT …/Shipment/{key values}/files/{name}` for files not yet attached — the swagger's
//! `ids` are the record's key field values (`ShipmentNbr`), never its `id` GUID, which the
//! instance answers with "No entity satisfies the condition"; with `label_files:
//! per_shipment` the labels go as one file (`labels.rs`), (3) the confirm action when
//! asked and the shipment is not already confirmed, in a session of its own when the
//! profile allows several (`client.rs`), its status polled when the confirmations
//! before it suggest it is done (`action.rs`).
//!
//! Requests per shipment (issue 24; `docs/acumatica.md` has the table): 1 PUT + one file
//! PUT per label (1 per shipment with `per_shipment`) + the listing's share (about
//! 1/page_size); a confirm adds its POST and its status polls. A second identical plan
//! finds nothing to do and sends nothing but the read. Never: write a value that is
//! already there, build JSON by string concatenation, or log label bytes.

use reqwest::Method;
use serde_json::{json, Map, Value};
use std::time::Duration;

use super::client::{enc, enc_segment, Body, Http};
use super::codec;
use super::labels::{self, LabelFiles};
use super::snapshot::Wanted;
use crate::model::WriteBack;
use crate::sources::{FieldError, SourceError};

/// What a write-back did (for logs and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBackOutcome {
    pub fields_written: usize,
    pub lines_written: usize,
    pub files_written: usize,
    pub confirmed: bool,
}

impl WriteBackOutcome {
    pub fn nothing_to_do(&self) -> bool {
        *self == WriteBackOutcome::default()
    }
}

/// Custom views a plan touches: `(View, Field)` pairs for `$custom`.
fn custom_pairs(plan: &WriteBack) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut add = |path: &str| {
        let seg = codec::path_segments(path);
        if seg.len() == 3 && seg[0] == "custom" {
            out.push((seg[1].to_string(), seg[2].to_string()));
        }
    };
    for (p, _) in &plan.fields {
        add(p);
    }
    for (_, fields) in &plan.package_lines {
        for (p, _) in fields {
            add(p);
        }
    }
    out.sort();
    out.dedup();
    out
}

fn get_path<'a>(v: &'a Value, segs: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for s in segs {
        cur = cur.get(*s)?;
    }
    Some(cur)
}

/// Put `leaf` at `segs` inside `target`, creating objects on the way.
fn put_path(target: &mut Map<String, Value>, segs: &[&str], leaf: Value) {
    match segs {
        [] => {}
        [last] => {
            target.insert((*last).to_string(), leaf);
        }
        [first, rest @ ..] => {
            let child = target
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !child.is_object() {
                *child = Value::Object(Map::new());
            }
            put_path(child.as_object_mut().expect("object"), rest, leaf);
        }
    }
}

/// Add the fields of `wanted` that differ from `current_decoded` to `body` (wire form).
/// `current_wire` supplies custom-field types. Returns how many fields were added.
fn diff_into(
    body: &mut Map<String, Value>,
    wanted: &[(String, Value)],
    current_decoded: &Value,
    current_wire: &Value,
) -> usize {
    let mut n = 0;
    for (path, value) in wanted {
        let segs = codec::path_segments(path);
        if segs.is_empty() {
            continue;
        }
        let current = get_path(current_decoded, &segs).unwrap_or(&Value::Null);
        if codec::same_value(current, value) {
            continue;
        }
        let leaf = if segs[0] == "custom" && segs.len() == 3 {
            let kind = get_path(current_wire, &segs)
                .and_then(|f| f.get("type"))
                .and_then(|t| t.as_str())
                .unwrap_or_else(|| codec::custom_type_for(value))
                .to_string();
            codec::custom_field(&kind, value)
        } else {
            codec::wrap(value.clone())
        };
        put_path(body, &segs, leaf);
        n += 1;
    }
    n
}

fn files_of(current: &Value) -> Vec<String> {
    current["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["filename"].as_str())
        .map(str::to_string)
        .collect()
}

fn attached(existing: &[String], name: &str) -> bool {
    existing
        .iter()
        .any(|f| f == name || f.ends_with(&format!("\\{name}")) || f.ends_with(&format!("/{name}")))
}

impl Http {
    fn record_url(&self, id: &str, custom: &[(String, String)]) -> String {
        let mut url = format!(
            "{}/{}/{}?$expand=Packages,files",
            self.entity_base,
            enc_segment(&self.profile.entity),
            enc_segment(id)
        );
        if !custom.is_empty() {
            let list: Vec<String> = custom.iter().map(|(v, f)| format!("{v}.{f}")).collect();
            url.push_str(&format!("&$custom={}", enc(&list.join(","))));
        }
        url
    }

    /// The record as Acumatica has it now, with what a write-back compares (files,
    /// packages, the plan's custom fields).
    async fn read_for_write(&self, plan: &WriteBack) -> Result<Value, SourceError> {
        let id = plan.record_id.as_str();
        let custom = custom_pairs(plan);
        let ans = self
            .send(Method::GET, &self.record_url(id, &custom), None, false)
            .await?;
        if ans.status != 200 {
            return Err(match self.classify(ans.status, &ans.body, id) {
                SourceError::NotFound { system, .. } => SourceError::NotFound {
                    system,
                    record: id.to_string(),
                },
                e => e,
            });
        }
        Ok(ans.body)
    }

    /// Apply a plan; see the module docs.
    pub(crate) async fn write_back(
        &self,
        plan: &WriteBack,
        confirm_by_profile: bool,
    ) -> Result<WriteBackOutcome, SourceError> {
        let id = plan.record_id.as_str();
        let max_age = Duration::from_secs(self.profile.reuse_listing_seconds);
        let wanted = Wanted::for_plan(plan, &self.profile.key_fields);
        let listed = self.snapshots.take(id, max_age, &wanted);
        let from_listing = listed.is_some();
        let wire = match listed {
            Some(w) => w,
            None => self.read_for_write(plan).await?,
        };
        let current = codec::decode(&wire);
        let mut out = WriteBackOutcome::default();

        // (1) fields and package lines that differ.
        let mut body = Map::new();
        out.fields_written = diff_into(&mut body, &plan.fields, &current, &wire);
        let mut lines = Vec::new();
        let mut missing = Vec::new();
        for (line_id, fields) in &plan.package_lines {
            let idx = current["Packages"]
                .as_array()
                .and_then(|p| p.iter().position(|l| l["id"] == line_id.as_str()));
            let Some(idx) = idx else {
                missing.push(FieldError {
                    field: format!("Packages[{line_id}]"),
                    message: "no package line with this id on the shipment (packages changed since the label was made?)".into(),
                });
                continue;
            };
            let mut line = Map::new();
            let n = diff_into(
                &mut line,
                fields,
                &current["Packages"][idx],
                &wire["Packages"][idx],
            );
            if n > 0 {
                line.insert("id".into(), json!(line_id));
                lines.push(Value::Object(line));
            }
        }
        if !missing.is_empty() {
            return Err(SourceError::Rejected {
                system: self.system(),
                record: id.to_string(),
                message: "package lines not found".into(),
                fields: missing,
            });
        }
        out.lines_written = lines.len();
        if !body.is_empty() || !lines.is_empty() {
            body.insert("id".into(), json!(id));
            if !lines.is_empty() {
                body.insert("Packages".into(), Value::Array(lines));
            }
            let url = format!(
                "{}/{}?$expand=Packages&$select=ShipmentNbr",
                self.entity_base,
                enc_segment(&self.profile.entity)
            );
            let ans = self
                .send(
                    Method::PUT,
                    &url,
                    Some(Body::Json(Value::Object(body))),
                    true,
                )
                .await?;
            if !(200..300).contains(&ans.status) {
                return Err(self.rename(self.classify(ans.status, &ans.body, "write-back"), id));
            }
        }

        // (2) files not attached yet (labels merged first when the profile asks).
        let existing = files_of(&current);
        let merged;
        let files = match self.profile.label_files {
            LabelFiles::PerPackage => &plan.files,
            LabelFiles::PerShipment => {
                let tracking: Vec<String> = plan
                    .package_lines
                    .iter()
                    .flat_map(|(_, f)| f.iter())
                    .filter_map(|(_, v)| v.as_str().map(str::to_string))
                    .collect();
                let key = current[self.profile.key_fields[0].as_str()]
                    .as_str()
                    .unwrap_or(id)
                    .replace(['/', '\\'], "_");
                merged = labels::merge(&plan.files, &tracking, &key);
                &merged
            }
        };
        let pending: Vec<_> = files
            .iter()
            .filter(|f| !attached(&existing, &f.name))
            .collect();
        let keys = if pending.is_empty() {
            String::new()
        } else {
            self.key_values(id, &current)?
        };
        for f in pending {
            let url = format!(
                "{}/{}/{}/files/{}",
                self.entity_base,
                enc_segment(&self.profile.entity),
                keys,
                enc_segment(&f.name)
            );
            let ans = self
                .send(Method::PUT, &url, Some(Body::Bytes(f.data.clone())), false)
                .await?;
            if !(200..300).contains(&ans.status) {
                return Err(
                    self.rename(self.classify(ans.status, &ans.body, "write-back file"), id)
                );
            }
            tracing::debug!(connector = %self.name, record = id, bytes = f.data.len(), "label attached");
            out.files_written += 1;
        }

        // (3) confirm.
        let wants_confirm =
            plan.confirm_shipment || (confirm_by_profile && !plan.package_lines.is_empty());
        let done = |rec: &Value| {
            matches!(
                rec["Status"].as_str().unwrap_or_default(),
                "Confirmed" | "Invoiced" | "Completed"
            )
        };
        if wants_confirm && !done(&current) {
            match self.confirm(id).await {
                Ok(()) => out.confirmed = true,
                // The listing may predate a confirm of ours (a second write-back within
                // `reuse_listing_seconds`): read the record before calling it refused.
                Err(e @ SourceError::Rejected { .. }) if from_listing => {
                    if !done(&codec::decode(&self.read_for_write(plan).await?)) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The `{ids}` path segment of a record: its key field values (profile `key_fields`,
    /// `ShipmentNbr` for a Shipment), each encoded, slash-delimited (ACU-SPEC parameter
    /// `ids`: "The values of the key fields of the record. The values are slash-delimited.").
    pub(crate) fn key_values(&self, id: &str, current: &Value) -> Result<String, SourceError> {
        let mut parts = Vec::new();
        for k in &self.profile.key_fields {
            let v = match &current[k.as_str()] {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(SourceError::Rejected {
                        system: self.system(),
                        record: id.to_string(),
                        message: format!(
                            "cannot attach files: the record has no value in key field {k}; \
                             check key_fields in the connector profile"
                        ),
                        fields: vec![FieldError {
                            field: k.clone(),
                            message: "key field empty or not returned".into(),
                        }],
                    })
                }
            };
            parts.push(enc_segment(&v));
        }
        Ok(parts.join("/"))
    }

    pub(super) fn rename(&self, e: SourceError, id: &str) -> SourceError {
        match e {
            SourceError::Rejected {
                system,
                message,
                fields,
                ..
            } => SourceError::Rejected {
                system,
                record: id.to_string(),
                message,
                fields,
            },
            SourceError::NotFound { system, .. } => SourceError::NotFound {
                system,
                record: id.to_string(),
            },
            e => e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_skips_equal_values_and_types_custom_fields() {
        let wire = json!({"id":"g","Description":{"value":"x"},
            "custom":{"Document":{"UsrUpsCharges":{"type":"CustomDecimalField","value":12.5},
                                  "UsrUpsReference":{"type":"CustomStringField"}}}});
        let dec = codec::decode(&wire);
        let mut body = Map::new();
        let n = diff_into(
            &mut body,
            &[
                ("Description".into(), json!("x")),
                ("custom.Document.UsrUpsCharges".into(), json!("12.50")),
                ("custom.Document.UsrUpsReference".into(), json!("1Z123")),
                ("custom.Document.UsrUpsStatus".into(), json!("Shipped")),
            ],
            &dec,
            &wire,
        );
        assert_eq!(n, 2);
        assert_eq!(
            Value::Object(body),
            json!({"custom":{"Document":{
                "UsrUpsReference":{"type":"CustomStringField","value":"1Z123"},
                "UsrUpsStatus":{"type":"CustomStringField","value":"Shipped"}}}})
        );
    }

    #[test]
    fn files_match_by_name_inside_acumatica_paths() {
        let existing = vec!["Shipments (000123)\\000123-1Z1.zpl".to_string()];
        assert!(attached(&existing, "000123-1Z1.zpl"));
        assert!(!attached(&existing, "000123-1Z2.zpl"));
    }
}
