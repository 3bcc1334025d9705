//! Paperless Document API (Paperless.yaml, UPS-REFERENCE §9): upload user-created forms to
//! the account's Forms History (`POST /api/paperlessdocuments/{v}/upload` →
//! `FormsHistoryDocumentID.DocumentID[]`), push them to a shipment after Ship
//! (`POST …/image` → `FormsGroupID`), and the paperless pieces of a Ship request
//! (`InternationalForms.UserCreatedForm.DocumentID`, form type `07`; the paperless invoice
//! indicator).
//!
//! The limits are checked before any call ([`check_upload`]): ≤ 13 documents, each ≤ 10 MB
//! (`UserCreatedFormFile`: "restricted to 10 MB", 1 MB in CIE), an allowed file format, a
//! document type `001`–`013`.
//!
//! Pure. Never log document bytes.

use super::*;

/// Paperless Document API version (Paperless.yaml: `v2`, arrays always).
pub const PAPERLESS_VERSION: &str = "v2";
/// Largest file UPS takes (production; CIE allows 1 MB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Documents per upload and per shipment.
pub const MAX_DOCUMENTS: usize = 13;
/// `UserCreatedFormFileFormat` values.
pub const FILE_FORMATS: &[&str] = &[
    "bmp", "doc", "docx", "gif", "jpg", "pdf", "png", "rtf", "tif", "txt", "xls", "xlsx",
];

/// One user-created document to upload.
#[derive(Clone, PartialEq, Eq)]
pub struct UploadDocument {
    /// `UserCreatedFormFileName` (≤ 300).
    pub file_name: String,
    /// `UserCreatedFormFileFormat`.
    pub format: String,
    /// `UserCreatedFormDocumentType` (`001`–`013`).
    pub doc_type: String,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for UploadDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UploadDocument({}, {}, {}, {} bytes)",
            self.file_name,
            self.format,
            self.doc_type,
            self.data.len()
        )
    }
}

/// Every limit an upload would break, as (document index or `None`, what is wrong).
pub fn check_upload(docs: &[UploadDocument]) -> Vec<(Option<usize>, String)> {
    let mut out = Vec::new();
    if docs.is_empty() || docs.len() > MAX_DOCUMENTS {
        out.push((
            None,
            format!(
                "{} documents; UPS takes 1 to {MAX_DOCUMENTS} per shipment",
                docs.len()
            ),
        ));
    }
    for (i, d) in docs.iter().enumerate() {
        if d.data.is_empty() {
            out.push((Some(i), format!("{} is empty", d.file_name)));
        }
        if d.data.len() > MAX_FILE_BYTES {
            out.push((
                Some(i),
                format!(
                    "{} is {} bytes; UPS takes at most 10 MB per file",
                    d.file_name,
                    d.data.len()
                ),
            ));
        }
        if !FILE_FORMATS.contains(&d.format.as_str()) {
            out.push((
                Some(i),
                format!(
                    "{}: format `{}` is not one UPS accepts ({})",
                    d.file_name,
                    d.format,
                    FILE_FORMATS.join(", ")
                ),
            ));
        }
        let t = d.doc_type.as_str();
        if !(t.len() == 3 && (1..=13).contains(&t.parse::<u32>().unwrap_or(0))) {
            out.push((
                Some(i),
                format!("{}: document type `{t}` is not 001–013", d.file_name),
            ));
        }
        if d.file_name.is_empty() || d.file_name.chars().count() > 300 {
            out.push((Some(i), "file name must be 1 to 300 characters".into()));
        }
    }
    out
}

/// `UploadRequest` body.
pub fn upload_request(shipper_number: &str, docs: &[UploadDocument]) -> Value {
    use base64::Engine;
    let forms: Vec<Value> = docs
        .iter()
        .map(|d| {
            json!({
                "UserCreatedFormFileName": d.file_name,
                "UserCreatedFormFileFormat": d.format,
                "UserCreatedFormDocumentType": d.doc_type,
                "UserCreatedFormFile": base64::engine::general_purpose::STANDARD.encode(&d.data),
            })
        })
        .collect();
    json!({"UploadRequest": {
        "Request": {"TransactionReference": {"CustomerContext": "upsync paperless upload"}},
        "ShipperNumber": shipper_number,
        "UserCreatedForm": forms,
    }})
}

#[derive(Deserialize)]
struct UploadEnvelope {
    #[serde(rename = "UploadResponse")]
    response: UploadResponse,
}

#[derive(Deserialize)]
struct UploadResponse {
    #[serde(rename = "FormsHistoryDocumentID")]
    ids: Option<DocumentIds>,
}

#[derive(Deserialize)]
struct DocumentIds {
    #[serde(rename = "DocumentID", default, deserialize_with = "one_or_many")]
    ids: Vec<String>,
}

/// The DocumentIDs of an upload, one per document in request order.
pub fn upload_response(v: &Value, sent: usize) -> Result<Vec<String>, ParseError> {
    let env: UploadEnvelope = from_value(v, "UploadResponse")?;
    let ids = env.response.ids.map(|d| d.ids).unwrap_or_default();
    if ids.len() != sent {
        return Err(perr(format!(
            "UPS returned {} DocumentIDs for {sent} documents",
            ids.len()
        )));
    }
    if ids.iter().any(|i| i.trim().is_empty()) {
        return Err(perr("an empty DocumentID"));
    }
    Ok(ids)
}

/// `PushToImageRepositoryRequest` body: the documents to the shipment (small package).
pub fn push_request(
    shipper_number: &str,
    shipment_id: &str,
    tracking_numbers: &[String],
    document_ids: &[String],
    shipped_at: DateTime<Utc>,
) -> Value {
    json!({"PushToImageRepositoryRequest": {
        "Request": {"TransactionReference": {"CustomerContext": shipment_id}},
        "ShipperNumber": shipper_number,
        "FormsHistoryDocumentID": {"DocumentID": document_ids},
        "ShipmentIdentifier": shipment_id,
        "ShipmentDateAndTime": shipped_at.format("%Y-%m-%d-%H.%M.%S").to_string(),
        "ShipmentType": "1",
        "TrackingNumber": tracking_numbers,
    }})
}

#[derive(Deserialize)]
struct PushEnvelope {
    #[serde(rename = "PushToImageRepositoryResponse")]
    response: PushResponse,
}

#[derive(Deserialize)]
struct PushResponse {
    #[serde(rename = "FormsGroupID", default, deserialize_with = "lenient_string")]
    group: String,
}

/// The `FormsGroupID` of a push (`None` when UPS sent none).
pub fn push_response(v: &Value) -> Result<Option<String>, ParseError> {
    let env: PushEnvelope = from_value(v, "PushToImageRepositoryResponse")?;
    Ok(Some(env.response.group).filter(|g| !g.is_empty()))
}

/// Add the paperless pieces to a Ship's `InternationalForms`: the uploaded documents (form
/// type `07` + `UserCreatedForm.DocumentID`, Shipping.yaml "Required if Form Type is 07"),
/// and, when the mapping asks for the paperless invoice and `indicator` is on, the
/// paperless indicator `AdditionalDocumentIndicator` (Shipping.yaml: set "when the shipper
/// intends to utilize UPS paperless invoice functionality"; evaluated only for a
/// paperless-enabled account and lane) with `OverridePaperlessIndicator`, so a printable
/// copy still comes back for lanes that need paper.
pub(super) fn paperless_forms(
    forms: &mut Map<String, Value>,
    sh: &Shipment,
    document_ids: &[String],
    indicator: bool,
) {
    if !document_ids.is_empty() {
        if let Some(Value::Array(types)) = forms.get_mut("FormType") {
            if !types.iter().any(|t| t == "07") {
                types.push(s("07"));
            }
        }
        forms.insert(
            "UserCreatedForm".into(),
            json!({ "DocumentID": document_ids }),
        );
    }
    let wants = sh
        .international
        .as_ref()
        .and_then(|i| i.paperless.as_ref())
        .is_some_and(|p| p.electronic_invoice);
    if wants && indicator {
        forms.insert("AdditionalDocumentIndicator".into(), s(""));
        forms.insert("OverridePaperlessIndicator".into(), s(""));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(n: usize) -> UploadDocument {
        UploadDocument {
            file_name: "coo.pdf".into(),
            format: "pdf".into(),
            doc_type: "003".into(),
            data: vec![b'x'; n],
        }
    }

    #[test]
    fn limits_are_checked_before_the_call() {
        assert!(check_upload(&[doc(10)]).is_empty());
        assert_eq!(check_upload(&[doc(MAX_FILE_BYTES + 1)]).len(), 1);
        let mut d = doc(5);
        d.format = "exe".into();
        d.doc_type = "014".into();
        assert_eq!(check_upload(&[d]).len(), 2);
        assert_eq!(check_upload(&vec![doc(1); 14]).len(), 1);
        assert_eq!(check_upload(&[]).len(), 1);
    }

    #[test]
    fn upload_answer_needs_one_id_per_document() {
        let v = json!({"UploadResponse": {"Response": {"ResponseStatus": {"Code": "1"}},
            "FormsHistoryDocumentID": {"DocumentID": "2013-12-04-00.15.33.207814"}}});
        assert_eq!(upload_response(&v, 1).unwrap().len(), 1);
        assert!(upload_response(&v, 2).is_err());
    }

    #[test]
    fn push_body_uses_ups_date_format() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 5, 3).unwrap();
        let b = push_request("123X56", "1Z1", &["1Z1".into()], &["D".into()], at);
        assert_eq!(
            b["PushToImageRepositoryRequest"]["ShipmentDateAndTime"],
            "2026-11-21-10.05.03"
        );
        assert_eq!(b["PushToImageRepositoryRequest"]["ShipmentType"], "1");
    }
}
