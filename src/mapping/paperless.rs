//! The mapping's `international.paperless:` section (issue 20): whether UPS's generated
//! invoice should travel electronically, and which user-created documents to upload to the
//! account's Forms History (Paperless.yaml `UploadRequest`, UPS-REFERENCE §9) and when.
//!
//! ```yaml
//! international:
//!   paperless:
//!     invoice: electronic          # or print (default): UPS's paperless invoice where the account allows
//!     mode: upload_before          # or push_after (Ship first, then `…/image` with the 1Z)
//!     documents:                   # ≤ 13 (Paperless.yaml `UserCreatedForm`, "maximum: 13")
//!       - file: "/srv/docs/{{ShipmentNbr}}-coo.pdf"   # expression → a file path; skipped when empty
//!         type: "003"              # UserCreatedFormDocumentType 001–013
//!         format: pdf              # UserCreatedFormFileFormat
//! ```
//!
//! Pure: compiles the section and evaluates the file expressions to paths; reading the
//! files, their limits (size) and the uploads are the UPS adapter's
//! (`crate::app::adapters::paperless`).

use serde::Deserialize;
use serde_norway::Value as Yaml;

use super::expr::{Compiler, Expr, Scope};
use super::run::Run;
use crate::model::{Paperless, PaperlessDocument, PaperlessMode};

/// `UserCreatedFormFileFormat` values Paperless.yaml allows ("bmp, doc, gif, jpg, pdf, png,
/// rtf, tif, txt and xls … docx and xlsx").
pub const FILE_FORMATS: &[&str] = &[
    "bmp", "doc", "docx", "gif", "jpg", "pdf", "png", "rtf", "tif", "txt", "xls", "xlsx",
];
/// Documents per shipment (Paperless.yaml: "Total number of allowed files per shipment is 13").
pub const MAX_DOCUMENTS: usize = 13;

/// How UPS's own invoice should travel.
#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceDelivery {
    /// Printed and sent with the parcel (the PDF UPS returns).
    #[default]
    Print,
    /// UPS's paperless invoice where the account is enabled and the lane accepts it; the
    /// PDF is still kept and printed where the lane needs paper.
    Electronic,
}

/// `international.paperless:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperlessSpec {
    #[serde(default)]
    pub invoice: InvoiceDelivery,
    #[serde(default)]
    pub mode: PaperlessMode,
    #[serde(default)]
    pub documents: Vec<DocumentSpec>,
}

/// One user-created document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    /// Expression giving the file's path (skipped for a record where it is empty).
    pub file: Yaml,
    /// `UserCreatedFormDocumentType`, `001`–`013`.
    #[serde(rename = "type")]
    pub doc_type: String,
    /// `UserCreatedFormFileFormat` (default `pdf`).
    #[serde(default = "pdf")]
    pub format: String,
}

fn pdf() -> String {
    "pdf".into()
}

pub(super) struct CPaperless {
    electronic_invoice: bool,
    mode: PaperlessMode,
    documents: Vec<(Expr, String, String)>,
}

pub(super) fn compile(c: &mut Compiler<'_>, s: PaperlessSpec) -> Option<CPaperless> {
    let key = "international.paperless.documents";
    if s.documents.len() > MAX_DOCUMENTS {
        c.err(
            key,
            format!(
                "{} documents; UPS accepts at most {MAX_DOCUMENTS} per shipment",
                s.documents.len()
            ),
            "combine documents into one file, or name fewer",
        );
    }
    let mut documents = Vec::new();
    let mut ok = true;
    for (i, d) in s.documents.into_iter().enumerate() {
        let t = d.doc_type.trim();
        let valid_type = t.len() == 3
            && t.bytes().all(|b| b.is_ascii_digit())
            && (1..=13).contains(&t.parse::<u32>().unwrap_or(0));
        if !valid_type {
            ok = false;
            c.err(
                &format!("{key}[{i}].type"),
                format!("document type `{}` is not one of UPS's 001–013", d.doc_type),
                "use three digits: \"002\" commercial invoice, \"003\" certificate of origin, \"008\" other document, …",
            );
        }
        let format = d.format.trim().to_ascii_lowercase();
        if !FILE_FORMATS.contains(&format.as_str()) {
            ok = false;
            c.err(
                &format!("{key}[{i}].format"),
                format!("file format `{}` is not accepted by UPS", d.format),
                format!("use one of {}", FILE_FORMATS.join(", ")),
            );
        }
        match c.expr(&d.file, &format!("{key}[{i}].file")) {
            Some(e) => documents.push((e, t.to_string(), format)),
            None => ok = false,
        }
    }
    ok.then_some(CPaperless {
        electronic_invoice: s.invoice == InvoiceDelivery::Electronic,
        mode: s.mode,
        documents,
    })
}

/// Evaluate the section for one record: the document paths (empty ones skipped).
pub(super) fn run(run: &mut Run<'_>, p: &CPaperless, root: &Scope<'_>) -> Paperless {
    let documents = p
        .documents
        .iter()
        .filter_map(|(e, t, f)| {
            let path = run.text(e, root, None)?.trim().to_string();
            (!path.is_empty()).then(|| PaperlessDocument {
                path,
                doc_type: t.clone(),
                format: f.clone(),
            })
        })
        .collect();
    Paperless {
        electronic_invoice: p.electronic_invoice,
        mode: p.mode,
        documents,
    }
}

#[cfg(test)]
mod tests {
    use super::super::Mapping;
    use crate::model::PaperlessMode;

    const ACU: &str = include_str!("../../mappings/acumatica-shipment.yaml");
    const SAMPLE: &str = include_str!("../../mappings/samples/acumatica-shipment.json");

    fn with(section: &str) -> String {
        ACU.replacen(
            "\ninternational:\n",
            &format!("\ninternational:\n{section}"),
            1,
        )
    }

    /// Guards: `upsync check` names each bad document entry (type, format, count).
    #[test]
    fn bad_documents_are_refused_at_compile_time() {
        let text = with(
            "  paperless:\n    documents:\n      - {file: {literal: a.pdf}, type: \"014\", format: pdf}\n      - {file: {literal: b.exe}, type: \"003\", format: exe}\n",
        );
        let errs = Mapping::from_str(&text, "m.yaml").unwrap_err().to_string();
        assert!(errs.contains("`014`") && errs.contains("`exe`"), "{errs}");
        let many = format!(
            "  paperless:\n    documents:\n{}",
            "      - {file: {literal: a.pdf}, type: \"003\"}\n".repeat(14)
        );
        let errs = Mapping::from_str(&with(&many), "m.yaml")
            .unwrap_err()
            .to_string();
        assert!(errs.contains("at most 13"), "{errs}");
    }

    /// Guards: an international record gets the section with its file path evaluated
    /// (templates on record fields); an empty path is skipped.
    #[test]
    fn the_section_reaches_the_shipment_with_paths_evaluated() {
        let text = with(
            "  paperless:\n    invoice: electronic\n    mode: push_after\n    documents:\n      - {file: \"/docs/{{ShipmentNbr}}-coo.pdf\", type: \"003\"}\n      - {file: NoSuchField, type: \"008\"}\n",
        );
        let m = Mapping::from_str(&text, "m.yaml").unwrap();
        let mut data: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        data["ShippingSettings"]["ShipToAddress"]["Country"] = "CA".into();
        data["ShippingSettings"]["ShipToAddress"]["State"] = "ON".into();
        data["ShippingSettings"]["ShipToAddress"]["PostalCode"] = "M5X1A9".into();
        data["ShippingSettings"]["ShipToAddress"]["City"] = "Toronto".into();
        data["ShipVia"] = "UPSSTD".into();
        let rec = m.record_from_data("acu", data);
        let sh = m.to_shipment(&rec).expect("maps");
        let p = sh.international.unwrap().paperless.unwrap();
        assert!(p.electronic_invoice);
        assert_eq!(p.mode, PaperlessMode::PushAfter);
        assert_eq!(p.documents.len(), 1);
        assert_eq!(p.documents[0].path, "/docs/000123-coo.pdf");
        assert_eq!(p.documents[0].format, "pdf");
    }
}
