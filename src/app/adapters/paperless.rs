//! Paperless customs documents around a Ship (issue 20; Paperless.yaml, UPS-REFERENCE §9,
//! Shipping.yaml `InternationalForms`), for the [`super::UpsCarrier`]:
//!
//! 1. read the user-created documents the mapping named (`international.paperless.documents`,
//!    resolved to file paths by the mapping) and check UPS's limits before any call;
//! 2. `upload_before`: upload the ones this account has not uploaded yet and reference their
//!    DocumentIDs from the Ship (form type `07`); `push_after`: Ship first, then upload and
//!    push them to the new shipment (`…/image` with the 1Z numbers);
//! 3. ask for UPS's paperless invoice when the mapping says `invoice: electronic`; an
//!    account UPS does not enable is refused (400: shipped again without the indicator) or
//!    warned (Alert); a lane that needs paper is warned. Each fallback to paper is written
//!    on the job ([`PaperlessOutcome::fallbacks`]) and logged — never silent. The invoice PDF
//!    is kept either way (`OverridePaperlessIndicator`), so it can be printed.
//!
//! **Idempotent by content hash.** A document is known by the SHA-256 of its bytes, its type
//! and format; the DocumentID UPS gave it is stored per account ([`DocumentIds`], in the
//! store's `meta` tree under `paperless/<account>/<hash>`, flushed) before the Ship that
//! uses it. The same bytes are never uploaded twice for one account; uploads are serialised
//! so two jobs with the same document upload it once. A crash after UPS answered the upload
//! and before the id is stored uploads it once more on the next run: harmless, the first
//! copy stays unused in the account's Forms History.
//!
//! Never log document bytes or file contents; names, sizes, hashes and ids only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::model::{Paperless, PaperlessMode, PaperlessOutcome, ShipResult, Shipment};
use crate::pipeline::ports::CarrierError;
use crate::store::{Store, Tree};
use crate::ups::ops::paperless::{check_upload, UploadDocument};
use crate::ups::{UpsClient, UpsError};

/// UPS codes that refuse the paperless invoice indicator for an account not enabled
/// (modelled by the simulator; real UPS wording also matched on "paperless").
const INVOICE_REFUSED: &[&str] = &["9121000"];
/// Alerts on a 200 that mean the invoice must go on paper (account or lane).
const PAPER_ALERTS: &[&str] = &["9121000", "9121001"];
/// Codes of the fallbacks written on the job (`code: message`, [`PaperlessOutcome::fallbacks`]).
const NOT_ENABLED: &str = "paperless_not_enabled";
const INVOICE_REFUSED_FALLBACK: &str = "paperless_invoice_refused";
const INVOICE_PRINTED: &str = "paperless_invoice_printed";
const PUSH_FAILED: &str = "paperless_push_failed";
/// Upload refused: the account is not enabled for "Upload Forms Created Offline".
const UPLOAD_NOT_ENABLED: &[&str] = &["9590002"];

/// Plug point: where the content hash → DocumentID map lives.
#[async_trait]
pub trait DocumentIds: Send + Sync {
    /// The DocumentID of a document (by key) already uploaded for `account`.
    fn get(&self, account: &str, key: &str) -> Result<Option<String>, String>;
    /// Remember a DocumentID, durably (flushed) before it is used.
    async fn put(&self, account: &str, key: &str, id: &str) -> Result<(), String>;
}

/// In memory (tests, and a carrier built without a store).
#[derive(Debug, Default)]
pub struct MemoryDocumentIds(Mutex<HashMap<String, String>>);

#[async_trait]
impl DocumentIds for MemoryDocumentIds {
    fn get(&self, account: &str, key: &str) -> Result<Option<String>, String> {
        Ok(self
            .0
            .lock()
            .expect("ids lock")
            .get(&format!("{account}/{key}"))
            .cloned())
    }
    async fn put(&self, account: &str, key: &str, id: &str) -> Result<(), String> {
        self.0
            .lock()
            .expect("ids lock")
            .insert(format!("{account}/{key}"), id.to_string());
        Ok(())
    }
}

/// In the store's `meta` tree: `paperless/<account>/<key>` → DocumentID.
pub struct StoreDocumentIds(pub Arc<Store>);

#[async_trait]
impl DocumentIds for StoreDocumentIds {
    fn get(&self, account: &str, key: &str) -> Result<Option<String>, String> {
        self.0
            .get_json(Tree::Meta, &format!("paperless/{account}/{key}"))
            .map_err(|e| e.to_string())
    }
    async fn put(&self, account: &str, key: &str, id: &str) -> Result<(), String> {
        self.0
            .put_json(Tree::Meta, &format!("paperless/{account}/{key}"), &id)
            .map_err(|e| e.to_string())?;
        self.0.flush_async().await.map_err(|e| e.to_string())
    }
}

/// The paperless side of one carrier: the id map and the upload lock.
pub struct PaperlessDocs {
    ids: Arc<dyn DocumentIds>,
    lock: tokio::sync::Mutex<()>,
}

impl Default for PaperlessDocs {
    fn default() -> Self {
        PaperlessDocs::new(Arc::new(MemoryDocumentIds::default()))
    }
}

impl PaperlessDocs {
    pub fn new(ids: Arc<dyn DocumentIds>) -> PaperlessDocs {
        PaperlessDocs {
            ids,
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// DocumentIDs for `docs` on `account`, uploading only the ones not known yet.
    pub async fn ensure_uploaded(
        &self,
        client: &UpsClient,
        account: &str,
        docs: &[UploadDocument],
    ) -> Result<Vec<String>, CarrierError> {
        let _one_at_a_time = self.lock.lock().await;
        let keys: Vec<String> = docs.iter().map(content_key).collect();
        let mut ids: Vec<Option<String>> = Vec::new();
        for k in &keys {
            ids.push(self.ids.get(account, k).map_err(store_error)?);
        }
        let missing: Vec<usize> = (0..docs.len()).filter(|i| ids[*i].is_none()).collect();
        if !missing.is_empty() {
            let batch: Vec<UploadDocument> = missing.iter().map(|i| docs[*i].clone()).collect();
            let fresh = client
                .paperless_upload(account, &batch)
                .await
                .map_err(|e| classify_upload(e, account, batch.len()))?;
            for (i, id) in missing.iter().zip(fresh) {
                self.ids
                    .put(account, &keys[*i], &id)
                    .await
                    .map_err(store_error)?;
                tracing::info!(event = "paperless_uploaded", account, key = %keys[*i], document_id = %id, bytes = docs[*i].data.len(), "paperless document uploaded");
                ids[*i] = Some(id);
            }
        }
        Ok(ids.into_iter().flatten().collect())
    }
}

fn store_error(e: String) -> CarrierError {
    CarrierError::transient(
        "store_unavailable",
        format!("cannot read or write the paperless document ids in the store: {e}"),
    )
}

/// `sha256(bytes)` + type + format: the same bytes sent as another document type are
/// another document.
pub fn content_key(d: &UploadDocument) -> String {
    let h = ring::digest::digest(&ring::digest::SHA256, &d.data);
    format!("{}-{}-{}", hex::encode(h.as_ref()), d.doc_type, d.format)
}

/// Read the documents a shipment's mapping named; a missing or unreadable file, or one UPS
/// would refuse, is `paperless_document_invalid` naming the record, the file and the fix.
pub async fn read_documents(
    sh: &Shipment,
    p: &Paperless,
) -> Result<Vec<UploadDocument>, CarrierError> {
    let mut out = Vec::new();
    for d in &p.documents {
        let data = tokio::fs::read(&d.path).await.map_err(|e| {
            invalid(
                sh,
                format!("cannot read document {} ({e})", d.path),
                "put the file there, or correct `international.paperless.documents[].file` in the mapping",
            )
        })?;
        let file_name = std::path::Path::new(&d.path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| d.path.clone());
        out.push(UploadDocument {
            file_name,
            format: d.format.clone(),
            doc_type: d.doc_type.clone(),
            data,
        });
    }
    if !out.is_empty() {
        let problems = check_upload(&out);
        if !problems.is_empty() {
            let text: Vec<String> = problems.into_iter().map(|(_, m)| m).collect();
            return Err(invalid(
                sh,
                text.join("; "),
                "fix the documents (≤ 13, ≤ 10 MB each, a format and type UPS accepts)",
            ));
        }
    }
    Ok(out)
}

fn invalid(sh: &Shipment, what: String, fix: &str) -> CarrierError {
    CarrierError::business(
        "paperless_document_invalid",
        format!(
            "record {} ({}/{}): international.paperless: {what}; {fix}",
            sh.number, sh.source, sh.record_id
        ),
    )
}

fn code_in(e: &UpsError, codes: &[&str]) -> bool {
    e.ups_code().is_some_and(|c| codes.contains(&c))
}

/// Ship with the paperless side the mapping asks for (module docs).
pub async fn ship(
    client: &UpsClient,
    docs: &PaperlessDocs,
    sh: &Shipment,
) -> Result<ShipResult, CarrierError> {
    let Some(p) = sh.international.as_ref().and_then(|i| i.paperless.as_ref()) else {
        return Ok(client.ship(sh).await?);
    };
    let account = sh.account_number.as_str();
    let files = read_documents(sh, p).await?;
    let mut outcome = PaperlessOutcome::default();
    let mut opts = client.default_ship_options();
    if p.mode == PaperlessMode::UploadBefore && !files.is_empty() {
        match docs.ensure_uploaded(client, account, &files).await {
            Ok(ids) => {
                opts.document_ids = ids.clone();
                outcome.document_ids = ids;
            }
            Err(e) if e.code == NOT_ENABLED => outcome.fallbacks.push(e.message),
            Err(e) => return Err(e),
        }
    }
    let first = client.ship_with(sh, &opts).await;
    let mut result = match first {
        Err(e)
            if p.electronic_invoice
                && (code_in(&e, INVOICE_REFUSED)
                    || (e.ups_code().is_some()
                        && e.to_string().to_lowercase().contains("paperless"))) =>
        {
            // A 400: nothing was created; ship again with the printed invoice.
            tracing::warn!(event = "paperless_invoice_refused", source = %sh.source, record = %sh.record_id, account, code = e.ups_code().unwrap_or(""), "UPS refused the paperless invoice; shipping with the printed invoice");
            outcome.fallbacks.push(format!(
                "{INVOICE_REFUSED_FALLBACK}: {e}; shipped with the printed invoice"
            ));
            opts.paperless_invoice = false;
            client.ship_with(sh, &opts).await?
        }
        r => r?,
    };
    if p.electronic_invoice && opts.paperless_invoice {
        match result
            .alerts
            .iter()
            .find(|a| PAPER_ALERTS.contains(&a.code.as_str()))
        {
            Some(a) => {
                tracing::warn!(event = "paperless_invoice_printed", source = %sh.source, record = %sh.record_id, account, code = %a.code, "the invoice must be printed");
                outcome.fallbacks.push(format!(
                    "{INVOICE_PRINTED}: UPS {}: {}; print the invoice",
                    a.code, a.description
                ));
            }
            None => outcome.invoice_electronic = true,
        }
    }
    if p.mode == PaperlessMode::PushAfter && !files.is_empty() {
        match push_after(client, docs, sh, &result, &files).await {
            Ok((ids, group)) => {
                outcome.document_ids = ids;
                outcome.forms_group_id = group;
            }
            Err(e) => {
                tracing::warn!(event = "paperless_push_failed", source = %sh.source, record = %sh.record_id, account, code = %e.code, "paperless documents not pushed; the shipment exists");
                outcome.fallbacks.push(if e.code == NOT_ENABLED {
                    e.message
                } else {
                    format!("{PUSH_FAILED}: {}; print the documents", e.message)
                });
            }
        }
    }
    result.paperless = Some(outcome);
    Ok(result)
}

/// `push_after`: upload (by hash) and push to the new shipment with its 1Z numbers.
async fn push_after(
    client: &UpsClient,
    docs: &PaperlessDocs,
    sh: &Shipment,
    result: &ShipResult,
    files: &[UploadDocument],
) -> Result<(Vec<String>, Option<String>), CarrierError> {
    let account = sh.account_number.as_str();
    let ids = docs.ensure_uploaded(client, account, files).await?;
    let numbers: Vec<String> = result
        .packages
        .iter()
        .map(|p| p.tracking_number.clone())
        .collect();
    let group = client
        .paperless_push(
            account,
            &result.shipment_id,
            &numbers,
            &ids,
            client.clock().now(),
        )
        .await?;
    Ok((ids, group))
}

/// Map an upload refusal for a non-enabled account to `paperless_not_enabled`.
pub(crate) fn classify_upload(e: UpsError, account: &str, n: usize) -> CarrierError {
    if code_in(&e, UPLOAD_NOT_ENABLED) {
        return CarrierError::business(
            NOT_ENABLED,
            format!("{NOT_ENABLED}: UPS refused to upload {n} document(s) for account {account} ({e}); print them and send them with the parcel"),
        );
    }
    e.into()
}
