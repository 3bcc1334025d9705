//! The demo's final table: one [`ShipmentRow`] per ERP record, built from the ledger and
//! the tracker's view of each job, read back from the simulated ERPs, and printed.
//!
//! Each concern that adds a column (returns, pickups, documents, …) fills it from the job
//! in one place here; [`super`] runs the demo and calls [`rows`] at the end.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::{milestone_of, service_name, DemoOutcome, Expected};
use crate::app::wiring::Assembly;
use crate::app::world::World;
use crate::model::LabelFormat;
use crate::pipeline::JobState;

/// One row of the final table (and one object of `--report`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ShipmentRow {
    /// Connector name (`acumatica`, `netsuite`).
    pub source: String,
    /// The ERP's internal record id (Acumatica GUID, NetSuite internal id).
    pub erp_record_id: String,
    /// The document number people see (ShipmentNbr, tranid).
    pub erp_number: String,
    /// The reference sent to UPS (the one in-doubt reconciliation searches by).
    pub reference: String,
    pub job_id: String,
    pub tracking_numbers: Vec<String>,
    /// UPS service code and name.
    pub service: String,
    pub service_name: String,
    /// What the shipper pays (negotiated when the account has it), e.g. `12.34 USD`.
    pub charge: Option<String>,
    /// Files in the label folder.
    pub label_files: Vec<String>,
    /// Final milestone (`delivered` when all went well).
    pub milestone: String,
    /// Final normalised tracking status (`delivered`, `returned_to_sender`, `expired`, …).
    pub status: String,
    /// Normalised statuses in the order they were written to the ERP record.
    pub status_history: Vec<String>,
    /// The UPS simulator's scenario for this parcel (`normal` unless `--troubles` chose one).
    pub scenario: String,
    /// The status this parcel must end in for the demo to pass.
    pub expected_status: String,
    /// UPS's latest estimated (or rescheduled) delivery date, `YYYY-MM-DD`.
    pub estimated_delivery: Option<String>,
    /// When it was delivered (UTC, ISO 8601).
    pub delivered_at: Option<String>,
    pub received_by: Option<String>,
    /// The proof-of-delivery signature image, saved under `<dir>/signatures/`.
    pub signature_file: Option<String>,
    /// What the ERP record's status field says at the end (the mapping's word), read back
    /// from the simulated ERP.
    pub erp_status: Option<String>,
    /// Where the ERP record holds the signature: the attached file's name (Acumatica) or
    /// the field that holds it as a `data:` URI (NetSuite).
    pub erp_signature: Option<String>,
    /// Ledger state of the job.
    pub state: String,
    /// The 1Z numbers and labels reached the ERP record.
    pub written_back: bool,
    /// The UPS account the shipment went out on: its name in `ups.accounts` (`east`,
    /// `west` in the demo), or the shipper number when no account has it.
    #[serde(default)]
    pub ups_account: Option<String>,
    /// The freight figure written to the ERP record (a JSON number), per the mapping's
    /// `freight:` rule; `null` when none was written (no rule, or refused).
    #[serde(default, with = "crate::model::freight::number_opt")]
    pub freight_written: Option<rust_decimal::Decimal>,
    /// `account` (negotiated) or `list` (published, also when the account got no
    /// negotiated rate); `null` when no figure was written (no rule, or refused).
    #[serde(default)]
    pub freight_basis: Option<String>,
    /// UPS's published and negotiated totals (`charge_account` `null` when UPS gave none).
    #[serde(default, with = "crate::model::freight::number_opt")]
    pub charge_list: Option<rust_decimal::Decimal>,
    #[serde(default, with = "crate::model::freight::number_opt")]
    pub charge_account: Option<rust_decimal::Decimal>,
    /// Currency of UPS's charges.
    #[serde(default)]
    pub currency: Option<String>,
    /// Why freight was not written (a stable code such as `freight_currency_mismatch`).
    #[serde(default)]
    pub freight_refused: Option<String>,
    /// `outbound` (a shipment to the customer) or `return` (a return label for an RMA /
    /// return authorization record).
    #[serde(default)]
    pub kind: String,
    /// The 1Z numbers of return labels created alongside this outbound shipment (the
    /// mapping's auto return), empty otherwise.
    #[serde(default)]
    pub return_tracking_numbers: Vec<String>,
    /// The ship date UPS was given (`YYYY-MM-DD`, the site's dispatch calendar), `null`
    /// when none was set.
    #[serde(default)]
    pub ship_date: Option<String>,
    /// The pickup request number (PRN) of the on-call pickup that collects this shipment.
    #[serde(default)]
    pub pickup_prn: Option<String>,
    /// File names of the documents UPS returned (commercial invoice PDFs, …) kept with
    /// the job.
    #[serde(default)]
    pub documents: Vec<String>,
    /// Paperless document ids (uploaded user-created forms) referenced by the shipment.
    #[serde(default)]
    pub paperless_document_ids: Vec<String>,
}

/// The final table, from the ledger (and the tracker's view of each job).
pub(super) fn rows(
    a: &Assembly,
    label_dir: &Path,
    dir: &Path,
    expected: &Expected,
) -> anyhow::Result<Vec<ShipmentRow>> {
    let store = a.pipeline.ledger().store();
    let mut out = Vec::new();
    for j in a.pipeline.ledger().jobs(None, None) {
        let j = j?;
        if j.state == JobState::Superseded || !crate::app::returns::own_row(&j) {
            continue;
        }
        let (kind, return_tracking_numbers) =
            crate::app::returns::row_columns(a.pipeline.ledger(), &j)?;
        let result = j.result.as_ref();
        let tracking_numbers: Vec<String> = result
            .map(|r| {
                r.packages
                    .iter()
                    .map(|p| p.tracking_number.clone())
                    .collect()
            })
            .unwrap_or_default();
        // A delivered job no longer holds its label bytes (the ledger compacts it), so the
        // files are looked up by name, whatever their format.
        let label_files: Vec<String> = result
            .map(|r| {
                r.packages
                    .iter()
                    .filter_map(|p| {
                        let formats = [
                            LabelFormat::Gif,
                            LabelFormat::Png,
                            LabelFormat::Zpl,
                            LabelFormat::Epl,
                            LabelFormat::Spl,
                        ];
                        formats.into_iter().find_map(|f| {
                            let name = crate::app::labels::label_file_name(
                                &j.number,
                                &p.tracking_number,
                                f.extension(),
                            );
                            label_dir.join(&name).exists().then_some(name)
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let service = result.map(|r| r.service_code.clone()).unwrap_or_default();
        let reference = j
            .shipment
            .as_ref()
            .and_then(|s| s.references.first().map(|r| r.value.clone()))
            .unwrap_or_else(|| j.number.clone());
        let written_back = j.timeline.iter().any(|t| t.to == JobState::WrittenBack);
        let view = crate::tracking::view::job_view(store, &j.id)?;
        let snap = view.as_ref().and_then(|v| v.snapshot.clone());
        let milestone = milestone_of(a, &j);
        let status = snap
            .as_ref()
            .map(|s| s.milestone.as_str().to_string())
            .unwrap_or_else(|| milestone.clone());
        let (scenario, expected_status) = match expected.get(&j.id) {
            Some((s, m)) => (s.as_str().to_string(), m.as_str().to_string()),
            None => ("normal".to_string(), "delivered".to_string()),
        };
        let (ship_date, pickup_prn) = crate::dispatch::report::columns(
            store,
            &j.id,
            j.shipment.as_ref().and_then(|s| s.ship_date),
        )?;
        let signature_file = match snap.as_ref().and_then(|s| s.signature.as_ref()) {
            Some(sig) => Some(save_signature(dir, &j.number, &tracking_numbers, sig)?),
            None => None,
        };
        let (documents, paperless_document_ids) = crate::app::documents::row_columns(result);
        out.push(ShipmentRow {
            status,
            status_history: view
                .as_ref()
                .map(|v| {
                    v.job
                        .status_history
                        .iter()
                        .map(|m| m.status.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            scenario,
            expected_status,
            estimated_delivery: snap
                .as_ref()
                .and_then(|s| s.estimated_delivery)
                .map(|d| d.format("%Y-%m-%d").to_string()),
            delivered_at: snap
                .as_ref()
                .and_then(|s| s.delivered_at)
                .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            received_by: snap.as_ref().and_then(|s| s.received_by.clone()),
            signature_file,
            erp_status: None,
            erp_signature: None,
            source: j.source.clone(),
            erp_record_id: j.record_id.clone(),
            erp_number: j.number.clone(),
            reference,
            job_id: j.id.clone(),
            tracking_numbers,
            service_name: service_name(&service).into(),
            service,
            charge: result
                .and_then(|r| r.charges.effective())
                .map(|m| format!("{} {}", m.amount, m.currency)),
            label_files,
            milestone,
            state: j.state.as_str().into(),
            written_back,
            ups_account: j
                .shipment
                .as_ref()
                .map(|s| a.accounts.name_of(&s.account_number)),
            freight_written: j.freight.as_ref().and_then(|f| f.written),
            freight_basis: j
                .freight
                .as_ref()
                .filter(|f| f.written.is_some())
                .map(|f| f.basis.as_str().to_string()),
            charge_list: result.and_then(|r| r.charges.total.as_ref().map(|m| m.amount)),
            charge_account: result.and_then(|r| r.charges.negotiated.as_ref().map(|m| m.amount)),
            currency: result
                .and_then(|r| r.charges.effective())
                .map(|m| m.currency.clone()),
            freight_refused: j
                .freight
                .as_ref()
                .and_then(|f| f.refused.as_ref().map(|(c, _)| c.clone())),
            kind,
            return_tracking_numbers,
            ship_date,
            pickup_prn,
            documents,
            paperless_document_ids,
        });
    }
    out.sort_by(|a, b| (&a.source, &a.erp_number).cmp(&(&b.source, &b.erp_number)));
    Ok(out)
}

/// The status and signature as the simulated ERP record holds them, in the field names of
/// the shipped mappings (`mappings/acumatica-shipment.yaml`, `netsuite-itemfulfillment.yaml`, and the
/// return mappings `acumatica-return.yaml`, `netsuite-returnauthorization.yaml`).
pub(super) fn erp_view(w: &World, r: &ShipmentRow) -> (Option<String>, Option<String>) {
    use crate::app::returns::{ACUMATICA_RETURNS, NETSUITE_RETURNS};
    match r.source.as_str() {
        "acumatica" | ACUMATICA_RETURNS => {
            let Some(h) = w.acumatica.as_ref() else {
                return (None, None);
            };
            let status = h.state.shipment(&r.erp_record_id).and_then(|s| {
                s.pointer("/custom/Document/UsrUpsStatus/value")
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            });
            let signature = h
                .state
                .files_of(&r.erp_record_id)
                .into_iter()
                .map(|(name, _)| name)
                .find(|n| n.contains("-signature."));
            (status, signature)
        }
        "netsuite" | NETSUITE_RETURNS => {
            let rec = w
                .netsuite
                .as_ref()
                .and_then(|h| h.sim.fulfillment(r.erp_record_id.parse().ok()?));
            let Some(rec) = rec else {
                return (None, None);
            };
            let field = |k: &str| rec.custom.get(k).cloned().flatten();
            let signature = field("custbody_ups_signature")
                .filter(|v| v.starts_with("data:image/"))
                .map(|_| "custbody_ups_signature".to_string());
            (field("custbody_ups_status"), signature)
        }
        _ => (None, None),
    }
}

/// Save a delivery signature as `<dir>/signatures/<number>-<1Z>.<ext>`; returns the path.
fn save_signature(
    dir: &Path,
    number: &str,
    tracking_numbers: &[String],
    sig: &[u8],
) -> anyhow::Result<String> {
    let folder = dir.join("signatures");
    std::fs::create_dir_all(&folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let ext = if sig.starts_with(b"\x89PNG") {
        "png"
    } else {
        "gif"
    };
    let tn = tracking_numbers.first().map(String::as_str).unwrap_or("-");
    let path = folder.join(format!("{}-{tn}.{ext}", number.replace(['/', '\\'], "_")));
    std::fs::write(&path, sig).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.display().to_string())
}

/// The table and totals.
pub fn print_table(o: &DemoOutcome, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{:<10} {:<10} {:<19} {:<20} {:>12} {:>14}  {:<30} status",
        "ERP", "record", "1Z", "service", "charge", "freight", "label file"
    )?;
    for r in &o.rows {
        let n = r.tracking_numbers.len().max(1);
        for i in 0..n {
            let first = i == 0;
            writeln!(
                out,
                "{:<10} {:<10} {:<19} {:<20} {:>12} {:>14}  {:<30} {}",
                if first { r.source.as_str() } else { "" },
                if first { r.erp_number.as_str() } else { "" },
                r.tracking_numbers.get(i).map(String::as_str).unwrap_or("-"),
                if first {
                    format!("{} {}", r.service, r.service_name)
                } else {
                    String::new()
                },
                if first {
                    r.charge.clone().unwrap_or_else(|| "-".into())
                } else {
                    String::new()
                },
                match (first, r.freight_written, &r.freight_basis) {
                    (false, _, _) => String::new(),
                    (true, Some(w), Some(b)) => format!("{w} {b}"),
                    (true, None, _) => r
                        .freight_refused
                        .clone()
                        .map_or("-".into(), |_| "refused".into()),
                    (true, Some(w), None) => w.to_string(),
                },
                r.label_files.get(i).map(String::as_str).unwrap_or("-"),
                if first { r.status.as_str() } else { "" },
            )?;
        }
    }
    let packages: usize = o.rows.iter().map(|r| r.tracking_numbers.len()).sum();
    let delivered = o.rows.iter().filter(|r| r.status == "delivered").count();
    let as_expected = o
        .rows
        .iter()
        .filter(|r| r.status == r.expected_status)
        .count();
    let written = o.rows.iter().filter(|r| r.written_back).count();
    let labels: usize = o.rows.iter().map(|r| r.label_files.len()).sum();
    let mut totals: std::collections::BTreeMap<String, rust_decimal::Decimal> = Default::default();
    for r in &o.rows {
        if let Some((amount, cur)) = r.charge.as_deref().and_then(|c| c.split_once(' ')) {
            if let Ok(a) = amount.parse::<rust_decimal::Decimal>() {
                *totals.entry(cur.to_string()).or_default() += a;
            }
        }
    }
    let charges: Vec<String> = totals.iter().map(|(c, a)| format!("{a} {c}")).collect();
    writeln!(out)?;
    writeln!(
        out,
        "totals: {} shipments ({} packages) from {} seeded records (the rest are not UPS); {} written back; {} delivered; {} of {} at their expected status; charges {}",
        o.rows.len(),
        packages,
        o.seeded,
        written,
        delivered,
        as_expected,
        o.rows.len(),
        if charges.is_empty() { "-".into() } else { charges.join(" + ") }
    )?;
    let basis = |b: &str| {
        o.rows
            .iter()
            .filter(|r| r.freight_basis.as_deref() == Some(b) && r.freight_written.is_some())
            .count()
    };
    let refused = o
        .rows
        .iter()
        .filter(|r| r.freight_refused.is_some())
        .count();
    writeln!(
        out,
        "freight written back: {} at the account rate, {} at list (account not eligible; noted on the record), {} refused (currency differs from the document)",
        basis("account"),
        basis("list"),
        refused
    )?;
    writeln!(out, "{}", super::dispatch::summary(&o.rows))?;
    writeln!(
        out,
        "wall time {:.1} s for {:.1} simulated days; /readyz answered {}",
        o.elapsed.as_secs_f64(),
        o.simulated_days,
        o.readyz_status
    )?;
    writeln!(out, "labels ({labels} files): {}", o.label_dir.display())?;
    writeln!(
        out,
        "config, state and mappings: {} (try `upsync --config {} jobs list`)",
        o.dir.display(),
        o.dir.join("upsync.yaml").display()
    )?;
    Ok(())
}
