//! Write-back plans: UPS results → ERP fields, as configured in the mapping's `write_back:`
//! (compiled here too, at the end of the file: the section's targets, templates and
//! `status_values`).
//!
//! Pure: produces [`WriteBack`] values; the source connector applies them. Field paths are
//! in the ERP's vocabulary (`custom.Document.UsrUpsReference`, `custbody_ups_status`).
//! Label bytes travel only inside `WriteBack.files`; they are never logged.

use serde_json::{json, Value as Json};

use serde_norway::Value as Yaml;

use super::expr::{Compiler, FieldPath, Scope, Vars};
use super::{spec, CWriteBack, Mapping};
use crate::model::{
    ErpRecord, LabelFormat, Milestone, ShipResult, TrackingSnapshot, WriteBack, WriteBackFile,
};

/// Longest error text written to the ERP (`code: message`).
pub const MAX_ERROR_CHARS: usize = 255;
/// Largest signature image written into a field as a `data:` URI (bytes before base64).
pub const MAX_SIGNATURE_BYTES: usize = 48 * 1024;
/// Longest scan history written to `write_back.history_field` (characters).
pub const MAX_HISTORY_CHARS: usize = 3900;

/// File extension of a signature image from its magic bytes (UPS sends GIF or PNG).
fn signature_ext(data: &[u8]) -> &'static str {
    if data.starts_with(b"\x89PNG") {
        "png"
    } else if data.starts_with(b"GIF8") {
        "gif"
    } else if data.starts_with(&[0xFF, 0xD8]) {
        "jpg"
    } else {
        "bin"
    }
}

impl Mapping {
    /// File name of a stored label (`write_back.label_file_name`, default
    /// `{number}-{tracking}.{ext}`).
    pub fn label_file_name(
        &self,
        record: &ErpRecord,
        tracking: &str,
        format: LabelFormat,
    ) -> String {
        let ext = format.extension();
        self.write_back
            .label_file_name
            .as_ref()
            .and_then(|t| self.template_name(t, record, tracking, ext))
            .unwrap_or_else(|| {
                format!("{}-{}.{}", record.number, tracking, ext).replace(['/', '\\'], "_")
            })
    }

    /// After a successful Ship: 1Z per package line, shipment id, charges, status, label
    /// files, freight; clears the error field. See [`Mapping::write_back_shipped_with`].
    pub fn write_back_shipped(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack {
        self.write_back_shipped_with(record, result, None).0
    }

    /// [`Mapping::write_back_shipped`] plus the service used, the quoted business days in
    /// transit (`transit_days`, when a quote was made) and the freight figure per the
    /// mapping's `freight:` rule, with its outcome for the job. A refused freight (currency
    /// mismatch, no charges) leaves the freight fields alone and puts `code: message` in
    /// the error field instead of clearing it: the label is real, the figure is not.
    pub fn write_back_shipped_with(
        &self,
        record: &ErpRecord,
        result: &ShipResult,
        transit_days: Option<u32>,
    ) -> (WriteBack, Option<crate::model::FreightOutcome>) {
        let freight = self.freight_plan(record, result, transit_days);
        let mut out = self.write_back_shipped_plain(record, result);
        let wb = &self.write_back;
        if let Some(f) = &wb.service_used {
            out.fields.push((f.clone(), json!(result.service_code)));
        }
        if let (Some(f), Some(d)) = (&wb.transit_days, transit_days) {
            out.fields.push((f.clone(), json!(d)));
        }
        if let Some(e) = &freight.error {
            for (k, v) in out.fields.iter_mut() {
                if *k == wb.error {
                    *v = json!(truncate(e, MAX_ERROR_CHARS));
                }
            }
        }
        for (k, v) in freight.fields {
            match out.fields.iter_mut().find(|(f, _)| *f == k) {
                Some(slot) => slot.1 = v,
                None => out.fields.push((k, v)),
            }
        }
        (out, freight.outcome)
    }

    fn write_back_shipped_plain(&self, record: &ErpRecord, result: &ShipResult) -> WriteBack {
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
        out.fields.push((
            wb.status.clone(),
            json!(self.status_value(Milestone::LabelCreated)),
        ));
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
        // Shipment documents (the invoice PDF, issue 20) travel like labels: attached where
        // labels are, named in the label-file field.
        for d in result.documents.iter().filter(|d| !d.data.is_empty()) {
            if wb.attach_labels {
                out.files.push(WriteBackFile {
                    name: d.file_name.clone(),
                    data: d.data.clone(),
                });
            }
            names.push(d.file_name.clone());
        }
        if let Some(f) = &wb.label_file_field {
            if !names.is_empty() {
                out.fields.push((f.clone(), json!(names.join(","))));
            }
        }
        out
    }

    /// The ERP's word for `status` (`write_back.status_values`, else the English label).
    pub fn status_value(&self, status: Milestone) -> &str {
        self.write_back
            .status_values
            .get(&status)
            .map(String::as_str)
            .unwrap_or(status.label())
    }

    /// After a tracking update: the status in the ERP's words and its time, the latest
    /// scan and its place, the estimated delivery date, the exception reason, delivery
    /// time, receiver, signature and scan history — each where the mapping names a field.
    pub fn write_back_tracking(&self, record: &ErpRecord, snap: &TrackingSnapshot) -> WriteBack {
        let wb = &self.write_back;
        let mut out = WriteBack {
            record_id: record.id.clone(),
            ..Default::default()
        };
        let iso = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        // A return record's parcel delivered back to the warehouse is "returned" in the
        // mapping's words (docs/returns.md).
        let status = if self.is_return() {
            self.return_status_value(snap.milestone)
        } else {
            self.status_value(snap.milestone)
        };
        out.fields.push((wb.status.clone(), json!(status)));
        if let Some(f) = &wb.status_time {
            let at = snap.status_at.or(snap.latest.as_ref().map(|e| e.time));
            if let Some(at) = at {
                out.fields.push((f.clone(), json!(iso(&at))));
            }
        }
        if let (Some(f), Some(ev)) = (&wb.last_scan, &snap.latest) {
            let mut text = format!("{} {}", iso(&ev.time), ev.description);
            if let Some(loc) = &ev.location {
                text.push_str(", ");
                text.push_str(loc);
            }
            out.fields
                .push((f.clone(), json!(truncate(&text, MAX_ERROR_CHARS))));
        }
        if let (Some(f), Some(ev)) = (&wb.last_scan_location, &snap.latest) {
            if let Some(loc) = &ev.location {
                out.fields.push((f.clone(), json!(loc)));
            }
        }
        if let (Some(f), Some(d)) = (&wb.estimated_delivery, &snap.estimated_delivery) {
            out.fields
                .push((f.clone(), json!(d.format("%Y-%m-%d").to_string())));
        }
        if let Some(f) = &wb.exception_reason {
            // Cleared once the parcel moves on, so a rep never reads an old reason.
            let reason = match (snap.milestone, &snap.latest) {
                (Milestone::Exception | Milestone::DeliveryAttempted, Some(ev)) => {
                    truncate(&ev.description, MAX_ERROR_CHARS)
                }
                _ => String::new(),
            };
            out.fields.push((f.clone(), json!(reason)));
        }
        if let (Some(f), Some(at)) = (&wb.delivered_at, &snap.delivered_at) {
            out.fields.push((f.clone(), json!(iso(at))));
        }
        if let (Some(f), Some(by)) = (&wb.received_by, &snap.received_by) {
            out.fields.push((f.clone(), json!(by)));
        }
        if let Some(sig) = snap.signature.as_deref().filter(|s| !s.is_empty()) {
            let ext = signature_ext(sig);
            if let Some(t) = &wb.signature_file_name {
                let name = self
                    .template_name(t, record, &snap.tracking_number, ext)
                    .unwrap_or_else(|| {
                        format!("{}-{}-signature.{ext}", record.number, snap.tracking_number)
                    });
                out.files.push(WriteBackFile {
                    name,
                    data: sig.to_vec(),
                });
            }
            if let Some(f) = &wb.signature_field {
                if sig.len() <= MAX_SIGNATURE_BYTES {
                    use base64::Engine;
                    let b64 = base64::engine::general_purpose::STANDARD.encode(sig);
                    out.fields
                        .push((f.clone(), json!(format!("data:image/{ext};base64,{b64}"))));
                }
            }
        }
        if let Some(f) = &wb.history_field {
            let mut text = String::new();
            for e in snap.history.iter().rev() {
                let mut line = format!(
                    "{} {} {}",
                    iso(&e.time),
                    e.milestone.as_str(),
                    e.description
                );
                if let Some(loc) = &e.location {
                    line.push_str(" @ ");
                    line.push_str(loc);
                }
                if text.len() + line.len() + 1 > MAX_HISTORY_CHARS {
                    break;
                }
                text.push_str(&line);
                text.push('\n');
            }
            out.fields.push((f.clone(), json!(text.trim_end())));
        }
        out
    }

    /// Evaluate a file-name template (`{{$tracking}}`, `{{$ext}}`, record paths); a file
    /// name never carries path separators.
    fn template_name(
        &self,
        t: &super::expr::Expr,
        record: &ErpRecord,
        tracking: &str,
        ext: &str,
    ) -> Option<String> {
        let vars = Vars {
            tracking,
            ext,
            number: &record.number,
            record_id: &record.id,
        };
        let scope = Scope {
            root: &record.data,
            elem: None,
            vars: Some(vars),
        };
        t.eval(&scope, &[])
            .ok()
            .and_then(|v| v.text())
            .map(|n| n.replace(['/', '\\'], "_"))
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

// ---------- compiling the `write_back:` section ----------

pub(super) fn compile_write_back(
    c: &mut Compiler<'_>,
    s: spec::WriteBackSpec,
) -> Option<CWriteBack> {
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
    let targets: [(&str, &Option<String>); 19] = [
        ("package_tracking", &s.package_tracking),
        ("shipment_id", &s.shipment_id),
        ("charges", &s.charges),
        ("service_used", &s.service_used),
        ("transit_days", &s.transit_days),
        ("status", &s.status),
        ("status_time", &s.status_time),
        ("last_scan", &s.last_scan),
        ("last_scan_location", &s.last_scan_location),
        ("estimated_delivery", &s.estimated_delivery),
        ("exception_reason", &s.exception_reason),
        ("delivered_at", &s.delivered_at),
        ("received_by", &s.received_by),
        ("signature_field", &s.signature_field),
        ("history_field", &s.history_field),
        ("error", &s.error),
        ("label_file_field", &s.label_file_field),
        ("ship_date", &s.ship_date),
        ("pickup_prn", &s.pickup_prn),
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
    let template = |c: &mut Compiler<'_>, t: &Option<String>, key: &str| match t {
        None => Some(None),
        Some(t) => {
            c.allow_vars = true;
            let e = c.expr(&Yaml::String(t.clone()), key);
            c.allow_vars = false;
            e.map(Some)
        }
    };
    let label_file_name = template(c, &s.label_file_name, "write_back.label_file_name");
    let signature_file_name = template(c, &s.signature_file_name, "write_back.signature_file_name");
    let status_values = compile_status_values(c, s.status_values);
    Some(CWriteBack {
        package_tracking: package_tracking?,
        shipment_id: s.shipment_id,
        charges: s.charges,
        service_used: s.service_used,
        transit_days: s.transit_days,
        status: status?,
        status_values: status_values?,
        status_time: s.status_time,
        last_scan: s.last_scan,
        last_scan_location: s.last_scan_location,
        estimated_delivery: s.estimated_delivery,
        exception_reason: s.exception_reason,
        delivered_at: s.delivered_at,
        received_by: s.received_by,
        signature_file_name: signature_file_name?,
        signature_field: s.signature_field,
        history_field: s.history_field,
        error: error?,
        label_file_name: label_file_name?,
        label_file_field: s.label_file_field,
        attach_labels: s.attach_labels,
        confirm_shipment: s.confirm_shipment,
        ship_date: s.ship_date,
        pickup_prn: s.pickup_prn,
    })
}

/// `write_back.status_values`: every key a known status, every status a non-empty value.
/// Absent: upsync's English labels ([`Milestone::label`]).
fn compile_status_values(
    c: &mut Compiler<'_>,
    given: Option<std::collections::BTreeMap<String, String>>,
) -> Option<std::collections::BTreeMap<Milestone, String>> {
    let Some(given) = given else {
        return Some(
            Milestone::ALL
                .iter()
                .map(|m| (*m, m.label().to_string()))
                .collect(),
        );
    };
    let mut out = std::collections::BTreeMap::new();
    let mut ok = true;
    for (k, v) in given {
        let key = format!("write_back.status_values.{k}");
        match Milestone::parse(&k) {
            None => {
                ok = false;
                c.err(
                    &key,
                    format!("`{k}` is not a tracking status"),
                    format!(
                        "use one of: {}",
                        Milestone::ALL.map(|m| m.as_str()).join(", ")
                    ),
                );
            }
            Some(_) if v.trim().is_empty() => {
                ok = false;
                c.err(
                    &key,
                    format!("status `{k}` has an empty value"),
                    "write the text the ERP shows for this status, e.g. `Delivered`",
                );
            }
            Some(m) => {
                out.insert(m, v);
            }
        }
    }
    let missing: Vec<&str> = Milestone::ALL
        .iter()
        .filter(|m| !out.contains_key(m))
        .map(|m| m.as_str())
        .collect();
    if !missing.is_empty() {
        c.err(
            "write_back.status_values",
            format!("no ERP value for status(es): {}", missing.join(", ")),
            format!(
                "add them under `write_back.status_values:`, e.g. `{}: \"{}\"`",
                missing[0],
                Milestone::parse(missing[0])
                    .map(|m| m.label())
                    .unwrap_or_default()
            ),
        );
        return None;
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};
    use serde_json::json;

    use super::super::Mapping;
    use crate::model::{ErpRecord, Milestone, TrackingEvent, TrackingSnapshot};

    const MAPPING: &str = include_str!("../../mappings/netsuite-itemfulfillment.yaml");

    fn snap(m: Milestone, desc: &str) -> TrackingSnapshot {
        let at = Utc.with_ymd_and_hms(2026, 12, 8, 18, 0, 0).unwrap();
        let ev = TrackingEvent {
            tracking_number: "1Z123X560300000018".into(),
            milestone: m,
            status_type: "X".into(),
            status_code: "UD".into(),
            status_number: "048".into(),
            description: desc.into(),
            time: at,
            location: Some("LONDON, GB".into()),
        };
        TrackingSnapshot {
            tracking_number: ev.tracking_number.clone(),
            milestone: m,
            latest: Some(ev.clone()),
            estimated_delivery: NaiveDate::from_ymd_opt(2026, 12, 9),
            delivered_at: None,
            received_by: None,
            signature: None,
            status_at: Some(at),
            history: vec![ev],
        }
    }

    fn field<'a>(wb: &'a crate::model::WriteBack, k: &str) -> Option<&'a serde_json::Value> {
        wb.fields.iter().find(|(f, _)| f == k).map(|(_, v)| v)
    }

    #[test]
    fn tracking_write_back_speaks_the_erps_words_and_clears_old_reasons() {
        let m = Mapping::from_str(MAPPING, "netsuite-itemfulfillment.yaml").unwrap();
        let record = ErpRecord {
            source: "netsuite".into(),
            id: "5000".into(),
            number: "IF1000".into(),
            version: "1".into(),
            modified: Utc::now(),
            data: json!({"tranid": "IF1000"}),
        };
        let s = snap(
            Milestone::DeliveryAttempted,
            "The receiver was not available",
        );
        let wb = m.write_back_tracking(&record, &s);
        assert_eq!(
            field(&wb, "custbody_ups_status"),
            Some(&json!("Delivery Attempted"))
        );
        assert_eq!(
            field(&wb, "custbody_ups_exception"),
            Some(&json!("The receiver was not available"))
        );
        assert_eq!(
            field(&wb, "custbody_ups_est_delivery"),
            Some(&json!("2026-12-09"))
        );
        assert_eq!(
            field(&wb, "custbody_ups_scan_location"),
            Some(&json!("LONDON, GB"))
        );
        assert_eq!(
            field(&wb, "custbody_ups_status_time"),
            Some(&json!("2026-12-08T18:00:00Z"))
        );
        let history = field(&wb, "custbody_ups_scan_history")
            .unwrap()
            .as_str()
            .unwrap();
        assert!(history.contains("delivery_attempted The receiver was not available @ LONDON, GB"));
        // Moving on clears the reason; the word follows the mapping.
        let mut d = snap(Milestone::Delivered, "DELIVERED");
        d.received_by = Some("LEE".into());
        d.signature = Some(b"GIF89a-sig".to_vec());
        let wb = m.write_back_tracking(&record, &d);
        assert_eq!(field(&wb, "custbody_ups_exception"), Some(&json!("")));
        assert_eq!(field(&wb, "custbody_ups_received_by"), Some(&json!("LEE")));
        let sig = field(&wb, "custbody_ups_signature")
            .unwrap()
            .as_str()
            .unwrap();
        assert!(sig.starts_with("data:image/gif;base64,"), "{sig}");
        assert!(
            wb.files.is_empty(),
            "NetSuite takes the signature in a field"
        );
        let e = snap(Milestone::Expired, "Departed");
        assert_eq!(
            field(&m.write_back_tracking(&record, &e), "custbody_ups_status"),
            Some(&json!("No Recent Scans"))
        );
    }
}
