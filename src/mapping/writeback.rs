//! Write-back plans: UPS results → ERP fields, as configured in the mapping's `write_back:`.
//!
//! Pure: produces [`WriteBack`] values; the source connector applies them. Field paths are
//! in the ERP's vocabulary (`custom.Document.UsrUpsReference`, `custbody_ups_status`).
//! Label bytes travel only inside `WriteBack.files`; they are never logged.

use serde_json::{json, Value as Json};

use super::expr::{Scope, Vars};
use super::Mapping;
use crate::model::{
    ErpRecord, LabelFormat, Milestone, ShipResult, TrackingSnapshot, WriteBack, WriteBackFile,
};

/// Longest error text written to the ERP (`code: message`).
pub const MAX_ERROR_CHARS: usize = 255;

impl Mapping {
    /// File name of a stored label (`write_back.label_file_name`, default
    /// `{number}-{tracking}.{ext}`).
    pub fn label_file_name(
        &self,
        record: &ErpRecord,
        tracking: &str,
        format: LabelFormat,
    ) -> String {
        let vars = Vars {
            tracking,
            ext: format.extension(),
            number: &record.number,
            record_id: &record.id,
        };
        let scope = Scope {
            root: &record.data,
            elem: None,
            vars: Some(vars),
        };
        let name = self
            .write_back
            .label_file_name
            .as_ref()
            .and_then(|e| e.eval(&scope, &[]).ok())
            .and_then(|v| v.text())
            .unwrap_or_else(|| format!("{}-{}.{}", record.number, tracking, format.extension()));
        // A file name never carries path separators.
        name.replace(['/', '\\'], "_")
    }

    /// After a successful Ship: 1Z per package line, shipment id, charges, status, label
    /// files; clears the error field.
    pub fn write_back_shipped(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack {
        let wb = &self.write_back;
        let mut out = WriteBack {
            record_id: record.id.clone(),
            confirm_shipment: wb.confirm_shipment,
            ..Default::default()
        };
        for p in &result.packages {
            out.package_lines.push((
                p.erp_line_id.clone(),
                vec![(wb.package_tracking.clone(), json!(p.tracking_number))],
            ));
        }
        if let Some(f) = &wb.shipment_id {
            out.fields.push((f.clone(), json!(result.shipment_id)));
        }
        if let Some(f) = &wb.charges {
            if let Some(m) = result.charges.effective() {
                out.fields.push((
                    f.clone(),
                    json!(format!("{} {}", m.amount.round_dp(2), m.currency)),
                ));
            }
        }
        out.fields
            .push((wb.status.clone(), json!(Milestone::LabelCreated.label())));
        out.fields.push((wb.error.clone(), json!("")));
        let mut names = Vec::new();
        for p in &result.packages {
            if let Some(label) = &p.label {
                let name = self.label_file_name(record, &p.tracking_number, label.format);
                if wb.attach_labels {
                    out.files.push(WriteBackFile {
                        name: name.clone(),
                        data: label.data.clone(),
                    });
                }
                names.push(name);
            }
        }
        if let Some(f) = &wb.label_file_field {
            if !names.is_empty() {
                out.fields.push((f.clone(), json!(names.join(","))));
            }
        }
        out
    }

    /// After a tracking update: milestone, last scan, delivery time, received by.
    pub fn write_back_tracking(&self, record_id: &str, snap: &TrackingSnapshot) -> WriteBack {
        let wb = &self.write_back;
        let mut out = WriteBack {
            record_id: record_id.to_string(),
            ..Default::default()
        };
        out.fields
            .push((wb.status.clone(), json!(snap.milestone.label())));
        if let (Some(f), Some(ev)) = (&wb.last_scan, &snap.latest) {
            let mut text = format!(
                "{} {}",
                ev.time.format("%Y-%m-%dT%H:%M:%SZ"),
                ev.description
            );
            if let Some(loc) = &ev.location {
                text.push_str(", ");
                text.push_str(loc);
            }
            out.fields
                .push((f.clone(), json!(truncate(&text, MAX_ERROR_CHARS))));
        }
        if let (Some(f), Some(at)) = (&wb.delivered_at, &snap.delivered_at) {
            out.fields.push((
                f.clone(),
                json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ));
        }
        if let (Some(f), Some(by)) = (&wb.received_by, &snap.received_by) {
            out.fields.push((f.clone(), json!(by)));
        }
        out
    }

    /// A business failure for the warehouse to see: `code: message` in the error field.
    pub fn write_back_failure(&self, record_id: &str, code: &str, message: &str) -> WriteBack {
        let text = format!("{code}: {message}");
        WriteBack {
            record_id: record_id.to_string(),
            fields: vec![(
                self.write_back.error.clone(),
                json!(truncate(&text, MAX_ERROR_CHARS)),
            )],
            ..Default::default()
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    super::expr::truncate_chars(s, n).to_string()
}

/// A readable JSON view of a write-back for fixtures and the CLI:
/// `{"fields": {path: value}, "package_lines": {line: {field: value}}, "files": [names],
/// "confirm_shipment": bool}` (file bytes are never shown).
pub fn write_back_view(wb: &WriteBack) -> Json {
    let mut fields = serde_json::Map::new();
    for (k, v) in &wb.fields {
        fields.insert(k.clone(), v.clone());
    }
    let mut lines = serde_json::Map::new();
    for (line, fs) in &wb.package_lines {
        let mut m = serde_json::Map::new();
        for (k, v) in fs {
            m.insert(k.clone(), v.clone());
        }
        lines.insert(line.clone(), Json::Object(m));
    }
    json!({
        "record_id": wb.record_id,
        "fields": fields,
        "package_lines": lines,
        "files": wb.files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
        "confirm_shipment": wb.confirm_shipment,
    })
}
