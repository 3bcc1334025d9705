//! International documents (issue 20): the forms UPS returns with a shipment
//! (`ShipmentResults.Form`, UPS-REFERENCE §2.2/§2.4: the commercial invoice as a PDF), and
//! the paperless side (Paperless.yaml, UPS-REFERENCE §9): user-created documents uploaded
//! to the account's Forms History and referenced from the Ship request
//! (`InternationalForms.UserCreatedForm.DocumentID`, form type `07`) or pushed to the
//! shipment afterwards (`…/image`), and whether UPS's own invoice went electronically.
//!
//! Data only: no I/O. Document bytes never reach a log line (Debug shows sizes).

use serde::{Deserialize, Serialize};

use super::b64;

/// A document UPS returned with a shipment, kept on the job like its labels (written to the
/// label sink, attached to the ERP record, reprinted by `upsync labels reprint`, dropped
/// from the ledger once the parcel is delivered).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipDocument {
    /// `invoice` for UPS form code `01` ("All Requested International Forms": the
    /// commercial invoice and the other forms asked for), else `form_<code>`.
    pub kind: String,
    /// File name in the label sink and on the ERP record: `<number>-<1Z>-<kind>.<ext>`.
    pub file_name: String,
    /// Lower-case format (`pdf`, as UPS sends the forms image).
    pub format: String,
    /// The bytes (empty once the job is compacted).
    #[serde(with = "b64", default)]
    pub data: Vec<u8>,
    /// UPS `FormGroupId`: retrieves the saved forms later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_group_id: Option<String>,
}

impl std::fmt::Debug for ShipDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ShipDocument({}, {}, {} bytes)",
            self.kind,
            self.file_name,
            self.data.len()
        )
    }
}

/// The kind of a UPS `Form.Code`.
pub fn form_kind(code: &str) -> String {
    match code.trim() {
        "01" | "" => "invoice".to_string(),
        c => format!("form_{c}"),
    }
}

/// File name of a shipment document: `<number>-<1Z>-<kind>.<ext>`, path-safe.
pub fn document_file_name(number: &str, shipment_id: &str, kind: &str, ext: &str) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{}-{}-{}.{}",
        safe(number),
        safe(shipment_id),
        safe(kind),
        ext
    )
}

/// When user-created documents reach UPS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaperlessMode {
    /// Upload before Ship; the Ship request names them (form type `07`,
    /// `UserCreatedForm.DocumentID`).
    #[default]
    UploadBefore,
    /// Ship first, then upload and push them to the shipment (`POST …/image`).
    PushAfter,
}

/// One user-created document a mapping names (resolved from the record: a file path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperlessDocument {
    /// File to upload (absolute, or relative to upsync's working directory).
    pub path: String,
    /// UPS `UserCreatedFormDocumentType`, three digits (`002` commercial invoice, `003`
    /// certificate of origin, …, `013` declaration).
    pub doc_type: String,
    /// UPS `UserCreatedFormFileFormat` (`pdf`, `doc`, `docx`, `xls`, `xlsx`, `png`, `gif`,
    /// `jpg`, `tif`, `bmp`, `rtf`, `txt`).
    pub format: String,
}

/// The mapping's `international.paperless:` for one shipment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paperless {
    /// Ask for UPS's paperless invoice (the generated invoice travels electronically where
    /// the account is paperless-enabled and the lane accepts it; printed otherwise).
    #[serde(default)]
    pub electronic_invoice: bool,
    #[serde(default)]
    pub mode: PaperlessMode,
    #[serde(default)]
    pub documents: Vec<PaperlessDocument>,
}

/// What happened to the paperless side of one shipment: kept on the job (inside its
/// [`super::ShipResult`]), so a fallback to paper is never silent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaperlessOutcome {
    /// UPS's invoice went electronically (paperless account, lane accepts it).
    #[serde(default)]
    pub invoice_electronic: bool,
    /// Forms History document ids of the user-created documents referenced by (or pushed
    /// to) this shipment.
    #[serde(default)]
    pub document_ids: Vec<String>,
    /// `FormsGroupID` UPS answered to the push (`push_after`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forms_group_id: Option<String>,
    /// Why something went to paper instead (`code: message` each): print the invoice /
    /// documents and send them with the parcel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_path_safe() {
        assert_eq!(
            document_file_name("SO/0001", "1Z123X560700000018", "invoice", "pdf"),
            "SO_0001-1Z123X560700000018-invoice.pdf"
        );
        assert_eq!(form_kind("01"), "invoice");
        assert_eq!(form_kind("09"), "form_09");
    }

    /// Guards: ledger records written before issue 20 (no `documents`, no `paperless`) load.
    #[test]
    fn old_ship_results_load() {
        let old = serde_json::json!({"shipment_id": "1Z", "service_code": "03", "packages": [],
            "charges": {"total": null, "negotiated": null}});
        let r: crate::model::ShipResult = serde_json::from_value(old).unwrap();
        assert!(r.documents.is_empty() && r.paperless.is_none());
    }

    #[test]
    fn debug_never_shows_bytes() {
        let d = ShipDocument {
            kind: "invoice".into(),
            file_name: "a.pdf".into(),
            format: "pdf".into(),
            data: b"%PDF-secret".to_vec(),
            form_group_id: None,
        };
        assert!(!format!("{d:?}").contains("secret"));
    }
}
