//! Paperless Document API (Paperless.yaml, UPS-REFERENCE §9) and the paperless side of Ship
//! (Shipping.yaml `InternationalForms`).
//!
//! * `POST /api/paperlessdocuments/{version}/upload`: user-created forms into the account's
//!   Forms History → `FormsHistoryDocumentID.DocumentID[]` (26 characters each).
//! * `POST /api/paperlessdocuments/{version}/image`: push uploaded documents to a shipment
//!   (`ShipmentIdentifier`, `ShipmentType "1"`, `TrackingNumber[]`) → `FormsGroupID`.
//! * `DELETE /api/paperlessdocuments/{version}/DocumentId/ShipperNumber`: literal path, the
//!   values in the same-named headers.
//!
//! Bodies are validated against the vendored schemas first (`PAPERLESSDOCUMENTUploadRequestWrapper`,
//! `PAPERLESSDOCUMENTRequestWrapper`), then the rules the schema cannot say:
//!
//! | HTTP | code | when (modelled codes: Paperless.yaml declares 400 with `ErrorResponse` only) |
//! |------|------|------|
//! | 400 | `9590001` | `ShipperNumber` header missing, or not the body's `ShipperNumber`, or not an account of the client |
//! | 400 | `9590002` | account not enabled for paperless: Paperless.yaml `ShipperNumber`: "must have 'Upload Forms Created Offline' enabled to use this webservice" (`UpsSimConfig::paperless_accounts`, default `123X56`) |
//! | 400 | `9590003` | more than 13 documents ("Total number of allowed files per shipment is 13") |
//! | 400 | `9590004` | `UserCreatedFormFileFormat` not one of bmp, doc, docx, gif, jpg, pdf, png, rtf, tif, txt, xls, xlsx |
//! | 400 | `9590005` | `UserCreatedFormDocumentType` not `001`–`013` |
//! | 400 | `9590006` | `UserCreatedFormFile` not base64, empty, or over 10 MB ("The maximum allowable size of each file is restricted to 10 MB") |
//! | 400 | `9590007` | image push: a `DocumentID` unknown to this shipper's Forms History |
//! | 400 | `9590008` | image push: `ShipmentIdentifier` is not a shipment of this shipper, or a `TrackingNumber` is not one of its packages |
//!
//! Ship (called from `ship.rs`, [`ship_check`]):
//! * The paperless indicator is `InternationalForms.AdditionalDocumentIndicator`, the one
//!   field Shipping.yaml ties to "UPS paperless invoice functionality" ("It is evaluated
//!   only when: 1. Account is paperless enabled … 3. Destination country or territory
//!   accepts paperless invoice"). The documents leave open what a non-enabled account
//!   gets; strict mode refuses with 400 `9121000` (no shipment created), lenient mode
//!   ships with the printed invoice and Alert `9121000`. A client must be right under both.
//! * Enabled account, destination in [`PAPER_ONLY_DESTINATIONS`]: printed invoice and
//!   Alert `9121001` (the lane needs paper).
//! * Enabled account, paperless lane: the invoice goes electronically; the PDF copy comes
//!   back only with `OverridePaperlessIndicator` ("provide a copy of the invoice … regardless
//!   of whether the user has enabled Paperless account").
//! * Form type `07` with `UserCreatedForm.DocumentID[]`: every id must be in the shipper's
//!   Forms History (else 400 `9590007`).
//!
//! Never log document bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use serde_json::{json, Value};

use super::{
    check_schema, header, parse_json, schema, tolerance_alerts, ups_error, Caller, UpsState,
};

/// Paperless API versions (Paperless.yaml: `v2`; the deprecated path takes `v1`).
const VERSIONS: &[&str] = &["v1", "v2"];
/// Largest file (Paperless.yaml `UserCreatedFormFile`: 10 MB; 1 MB in CIE).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Largest upload body the simulator reads (the request recorder's ceiling): one 10 MB
/// file with room to spare; several large files in one request are beyond it.
pub const MAX_UPLOAD_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Documents per request / shipment.
pub const MAX_DOCUMENTS: usize = 13;
/// Allowed `UserCreatedFormFileFormat` values.
pub const FORMATS: &[&str] = &[
    "bmp", "doc", "docx", "gif", "jpg", "pdf", "png", "rtf", "tif", "txt", "xls", "xlsx",
];
/// Destinations whose customs want a paper invoice (Shipping.yaml: the paperless invoice
/// is evaluated only when the "Destination country or territory accepts paperless
/// invoice"; the list is UPS's and not published in the specs: the simulator models a few).
pub const PAPER_ONLY_DESTINATIONS: &[&str] = &["BR", "AR", "IN"];

/// One document in a shipper's Forms History.
#[derive(Debug, Clone)]
pub struct StoredDocument {
    pub shipper_number: String,
    pub file_name: String,
    pub format: String,
    pub doc_type: String,
    pub bytes: usize,
}

/// Forms History of every shipper, and what was pushed to which shipment.
#[derive(Debug, Default)]
pub struct PaperlessState {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    documents: HashMap<String, StoredDocument>,
    /// Shipment id → (FormsGroupID, document ids) pushed or referenced.
    shipments: HashMap<String, (String, Vec<String>)>,
    serial: u64,
}

impl PaperlessState {
    /// How many documents were uploaded (all shippers).
    pub fn uploaded(&self) -> usize {
        self.inner.lock().expect("paperless lock").documents.len()
    }

    /// The document ids pushed to or referenced by a shipment.
    pub fn documents_of(&self, shipment_id: &str) -> Vec<String> {
        self.inner
            .lock()
            .expect("paperless lock")
            .shipments
            .get(shipment_id)
            .map(|(_, d)| d.clone())
            .unwrap_or_default()
    }

    fn known(&self, shipper: &str, id: &str) -> bool {
        self.inner
            .lock()
            .expect("paperless lock")
            .documents
            .get(id)
            .is_some_and(|d| d.shipper_number.eq_ignore_ascii_case(shipper))
    }

    /// Link documents to a shipment; the same shipment keeps its FormsGroupID.
    pub fn link(&self, shipment_id: &str, ids: &[String]) -> String {
        let mut g = self.inner.lock().expect("paperless lock");
        g.serial += 1;
        let fresh = format!(
            "{:026}",
            super::track::fnv(shipment_id) % 10u64.pow(19) + g.serial
        );
        let e = g
            .shipments
            .entry(shipment_id.to_string())
            .or_insert((fresh, Vec::new()));
        for id in ids {
            if !e.1.contains(id) {
                e.1.push(id.clone());
            }
        }
        e.0.clone()
    }

    fn store(&self, d: StoredDocument) -> String {
        let mut g = self.inner.lock().expect("paperless lock");
        g.serial += 1;
        // 26 characters (Paperless.yaml `DocumentID` minLength/maxLength 26).
        let id = format!("{}{:020}", &d.shipper_number, g.serial);
        g.documents.insert(id.clone(), d);
        id
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn list(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Null) | None => vec![],
        Some(o) => vec![o.clone()],
    }
}

fn bad(code: &str, m: impl AsRef<str>) -> Response {
    ups_error(StatusCode::BAD_REQUEST, code, m.as_ref())
}

/// Common checks: version, header ShipperNumber = body ShipperNumber, the client's account,
/// paperless-enabled.
fn shipper(
    st: &UpsState,
    caller: &Caller,
    headers: &HeaderMap,
    version: &str,
    body_shipper: &str,
) -> Result<String, Response> {
    if !VERSIONS.contains(&version) {
        return Err(bad(
            "10002",
            format!("Unsupported Paperless Document version '{version}'; use v2"),
        ));
    }
    let h = header(headers, "ShipperNumber").unwrap_or("");
    if h.is_empty() {
        return Err(bad("9590001", "Missing ShipperNumber header"));
    }
    if !body_shipper.is_empty() && !body_shipper.eq_ignore_ascii_case(h) {
        return Err(bad(
            "9590001",
            "The ShipperNumber header does not match ShipperNumber in the request",
        ));
    }
    let number = h.to_ascii_uppercase();
    if !caller
        .accounts
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&number))
    {
        return Err(bad("9590001", "Invalid ShipperNumber"));
    }
    if !st.paperless_enabled(&number) {
        return Err(bad(
            "9590002",
            "The Shipper Number is not enabled for Upload Forms Created Offline (paperless)",
        ));
    }
    Ok(number)
}

fn response_block(body: &Value, root: &str, alerts: Vec<Value>) -> Value {
    let mut r = json!({"ResponseStatus": {"Code": "1", "Description": "Success"}});
    if !alerts.is_empty() {
        r["Alert"] = Value::Array(alerts);
    }
    if let Some(ctx) = body.pointer(&format!(
        "/{root}/Request/TransactionReference/CustomerContext"
    )) {
        r["TransactionReference"] = json!({"CustomerContext": ctx});
    }
    r
}

/// `POST /api/paperlessdocuments/{version}/upload`.
pub async fn upload(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tolerances = match check_schema(&st, schema::BodySchema::PaperlessUpload, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let number = match shipper(
        &st,
        &caller,
        &headers,
        &version,
        s(&body, "/UploadRequest/ShipperNumber"),
    ) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let forms = list(body.pointer("/UploadRequest/UserCreatedForm"));
    if forms.is_empty() || forms.len() > MAX_DOCUMENTS {
        return bad(
            "9590003",
            format!(
                "{} documents; between 1 and {MAX_DOCUMENTS} are allowed",
                forms.len()
            ),
        );
    }
    let mut docs = Vec::new();
    for (i, f) in forms.iter().enumerate() {
        let format = s(f, "/UserCreatedFormFileFormat").to_ascii_lowercase();
        if !FORMATS.contains(&format.as_str()) {
            return bad(
                "9590004",
                format!(
                    "UserCreatedForm[{i}].UserCreatedFormFileFormat is not an allowed file format"
                ),
            );
        }
        let t = s(f, "/UserCreatedFormDocumentType");
        if !(t.len() == 3 && (1..=13).contains(&t.parse::<u32>().unwrap_or(0))) {
            return bad(
                "9590005",
                format!("UserCreatedForm[{i}].UserCreatedFormDocumentType must be 001 to 013"),
            );
        }
        let bytes = match base64::engine::general_purpose::STANDARD
            .decode(s(f, "/UserCreatedFormFile").trim())
        {
            Ok(b) if !b.is_empty() => b,
            _ => {
                return bad(
                    "9590006",
                    format!("UserCreatedForm[{i}].UserCreatedFormFile is empty or not base64"),
                )
            }
        };
        if bytes.len() > MAX_FILE_BYTES {
            return bad(
                "9590006",
                format!(
                    "UserCreatedForm[{i}].UserCreatedFormFile exceeds the maximum size of 10 MB"
                ),
            );
        }
        docs.push(StoredDocument {
            shipper_number: number.clone(),
            file_name: s(f, "/UserCreatedFormFileName").to_string(),
            format,
            doc_type: t.to_string(),
            bytes: bytes.len(),
        });
    }
    let ids: Vec<Value> = docs
        .into_iter()
        .map(|d| json!(st.paperless.store(d)))
        .collect();
    st.core.stats.add("paperless.uploaded", ids.len() as u64);
    (
        StatusCode::OK,
        Json(json!({"UploadResponse": {
            "Response": response_block(&body, "UploadRequest", tolerance_alerts(&tolerances)),
            "FormsHistoryDocumentID": {"DocumentID": ids},
        }})),
    )
        .into_response()
}

/// `POST /api/paperlessdocuments/{version}/image`.
pub async fn image(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tolerances = match check_schema(&st, schema::BodySchema::PaperlessPush, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let root = "/PushToImageRepositoryRequest";
    let number = match shipper(
        &st,
        &caller,
        &headers,
        &version,
        s(&body, &format!("{root}/ShipperNumber")),
    ) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let ids: Vec<String> = list(body.pointer(&format!("{root}/FormsHistoryDocumentID/DocumentID")))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if ids.is_empty() || ids.len() > MAX_DOCUMENTS {
        return bad(
            "9590003",
            format!(
                "{} DocumentIDs; between 1 and {MAX_DOCUMENTS} are allowed",
                ids.len()
            ),
        );
    }
    if let Some(i) = ids.iter().position(|id| !st.paperless.known(&number, id)) {
        return bad(
            "9590007",
            format!("FormsHistoryDocumentID.DocumentID[{i}] is not a document of this shipper"),
        );
    }
    let shipment_id = s(&body, &format!("{root}/ShipmentIdentifier")).to_string();
    let tracking: Vec<String> = list(body.pointer(&format!("{root}/TrackingNumber")))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    {
        let shipments = st.read_shipments();
        let ok = shipments.by_id(&shipment_id).is_some_and(|sh| {
            sh.shipper_number.eq_ignore_ascii_case(&number)
                && tracking
                    .iter()
                    .all(|t| sh.packages.iter().any(|p| &p.tracking_number == t))
        });
        if !ok {
            return bad(
                "9590008",
                "ShipmentIdentifier or TrackingNumber is not a shipment of this shipper",
            );
        }
    }
    let group = st.paperless.link(&shipment_id, &ids);
    st.core.stats.incr("paperless.pushed");
    (
        StatusCode::OK,
        Json(json!({"PushToImageRepositoryResponse": {
            "Response": response_block(&body, "PushToImageRepositoryRequest", tolerance_alerts(&tolerances)),
            "FormsGroupID": group,
        }})),
    )
        .into_response()
}

/// What Ship does with the invoice of an international shipment.
#[derive(Debug)]
pub struct ShipPaperless {
    /// Return the forms PDF in `ShipmentResults.Form`.
    pub print_form: bool,
    /// Alerts to add to the answer.
    pub alerts: Vec<Value>,
    /// User-created documents named by the request (form type `07`).
    pub document_ids: Vec<String>,
}

/// The paperless rules of Ship (module docs). `Err` is the 400 to answer.
pub fn ship_check(
    st: &UpsState,
    body: &Value,
    shipper_number: &str,
    destination: &str,
) -> Result<ShipPaperless, Response> {
    let forms = body
        .pointer("/ShipmentRequest/Shipment/ShipmentServiceOptions/InternationalForms")
        .cloned()
        .unwrap_or(Value::Null);
    let mut out = ShipPaperless {
        print_form: true,
        alerts: vec![],
        document_ids: vec![],
    };
    if forms.is_null() {
        return Ok(out);
    }
    let enabled = st.paperless_enabled(shipper_number);
    out.document_ids = list(forms.pointer("/UserCreatedForm/DocumentID"))
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    if let Some(i) = out
        .document_ids
        .iter()
        .position(|id| !st.paperless.known(shipper_number, id))
    {
        return Err(bad(
            "9590007",
            format!("ShipmentRequest.Shipment.ShipmentServiceOptions.InternationalForms.UserCreatedForm.DocumentID[{i}] is not a document of this shipper"),
        ));
    }
    if forms.get("AdditionalDocumentIndicator").is_none() {
        return Ok(out);
    }
    const NOT_ENABLED: &str =
        "The Shipper Number is not enabled for paperless invoice; the invoice must be printed";
    if !enabled {
        if !st.cfg.lenient {
            return Err(bad("9121000", NOT_ENABLED));
        }
        out.alerts.push(
            json!({"Code": "9121000", "Description": &NOT_ENABLED[..NOT_ENABLED.len().min(150)]}),
        );
        return Ok(out);
    }
    if PAPER_ONLY_DESTINATIONS.contains(&destination) {
        out.alerts.push(json!({"Code": "9121001", "Description": "The destination does not accept paperless invoice; print the invoice"}));
        return Ok(out);
    }
    out.print_form = forms.get("OverridePaperlessIndicator").is_some();
    Ok(out)
}

/// `DELETE /api/paperlessdocuments/{version}/DocumentId/ShipperNumber` (values in headers).
pub async fn delete(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    headers: HeaderMap,
) -> Response {
    let number = match shipper(&st, &caller, &headers, &version, "") {
        Ok(n) => n,
        Err(r) => return r,
    };
    let id = header(&headers, "DocumentId").unwrap_or("").to_string();
    let removed = {
        let mut g = st.paperless.inner.lock().expect("paperless lock");
        match g.documents.get(&id) {
            Some(d) if d.shipper_number.eq_ignore_ascii_case(&number) => {
                g.documents.remove(&id);
                true
            }
            _ => false,
        }
    };
    if !removed {
        return bad("9590007", "DocumentId is not a document of this shipper");
    }
    (
        StatusCode::OK,
        Json(json!({"DeleteResponse": {"Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}}}})),
    )
        .into_response()
}
