//! Label bytes out of the job record (issue 24): a job's labels and document bytes (the
//! base64 bulk of a shipped job) live under their own key, `l/<job id>` in the `jobs`
//! tree, written once — in the same atomic batch as the `shipped` save that first holds
//! them, so they are flushed before write-back like the rest of that state — and read only
//! where they are needed (write-back, `upsync labels reprint`, `jobs` listings). The job
//! record (`j/<job id>`) keeps every other field of the result (1Z numbers, charges,
//! document names) and is encoded at every save and decoded at every load without them.
//!
//! Old records (labels inline in `j/`) still load: their bytes come back in memory, and
//! the next save moves them to `l/` ([`crate::pipeline::ledger::Ledger::save`]).
//! Compaction (delivered) removes the key with the bytes.
//!
//! Must never: drop bytes the job still needs — a save writes the key whenever the copy it
//! saves holds bytes the ledger may not hold yet (a new result, an old inline record).

use serde::{Deserialize, Serialize, Serializer};

use crate::model::{Label, PackageResult, ShipDocument, ShipResult};

/// The key of a job's label bytes in the `jobs` tree.
pub(crate) fn labels_key(job_id: &str) -> String {
    format!("l/{job_id}")
}

/// One document's bytes (base64 in JSON, as in the job record before).
#[derive(Serialize, Deserialize)]
struct Bytes(#[serde(with = "crate::model::b64")] Vec<u8>);

/// What `l/<job id>` holds: the bytes of the job's result, by position.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredLabels {
    /// One entry per package of the result, in order (`None`: UPS sent no label).
    packages: Vec<Option<Label>>,
    /// One entry per document of the result, in order.
    #[serde(default)]
    documents: Vec<Bytes>,
}

/// [`StoredLabels`] borrowed from a result, for encoding without copies.
#[derive(Serialize)]
struct StoredLabelsRef<'a> {
    packages: Vec<Option<&'a Label>>,
    documents: Vec<BytesRef<'a>>,
}

#[derive(Serialize)]
struct BytesRef<'a>(#[serde(with = "crate::model::b64")] &'a Vec<u8>);

/// Whether a result holds any label or document bytes.
pub(crate) fn has_bytes(r: &ShipResult) -> bool {
    r.packages.iter().any(|p| p.label.is_some()) || r.documents.iter().any(|d| !d.data.is_empty())
}

/// The JSON of `l/<job id>` for a result.
pub(crate) fn encode(r: &ShipResult) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&StoredLabelsRef {
        packages: r.packages.iter().map(|p| p.label.as_ref()).collect(),
        documents: r.documents.iter().map(|d| BytesRef(&d.data)).collect(),
    })
}

/// Put stored bytes back into a result. An entry that does not match the result's shape
/// (package or document count) is an error naming what differs.
pub(crate) fn attach(r: &mut ShipResult, bytes: &[u8]) -> Result<(), String> {
    let s: StoredLabels = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if s.packages.len() != r.packages.len() || s.documents.len() != r.documents.len() {
        return Err(format!(
            "label entry holds {} labels and {} documents; the result has {} packages and {} documents",
            s.packages.len(),
            s.documents.len(),
            r.packages.len(),
            r.documents.len()
        ));
    }
    for (p, l) in r.packages.iter_mut().zip(s.packages) {
        p.label = l;
    }
    for (d, b) in r.documents.iter_mut().zip(s.documents) {
        d.data = b.0;
    }
    Ok(())
}

/// Decode check for `store verify` of a `jobs` tree key the ledger decoder does not know
/// otherwise: a label entry must decode; other keys pass.
pub fn verify_entry(key: &str, bytes: &[u8]) -> Result<(), String> {
    if !key.starts_with("l/") {
        return Ok(());
    }
    serde_json::from_slice::<StoredLabels>(bytes)
        .map(|_| ())
        .map_err(|e| format!("not a label entry: {e}"))
}

/// `Job::result` as the job record stores it: everything but the bytes (label `null`,
/// document data left out — both read back as empty). A struct literal per type, so a new
/// field of `ShipResult` cannot be forgotten here.
pub(crate) fn result_without_bytes<S: Serializer>(
    r: &Option<ShipResult>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let Some(r) = r else {
        return s.serialize_none();
    };
    if !has_bytes(r) {
        return s.serialize_some(r);
    }
    let ShipResult {
        shipment_id,
        service_code,
        packages,
        charges,
        alerts,
        documents,
        paperless,
    } = r;
    let lean = ShipResult {
        shipment_id: shipment_id.clone(),
        service_code: service_code.clone(),
        packages: packages
            .iter()
            .map(|p| PackageResult {
                tracking_number: p.tracking_number.clone(),
                erp_line_id: p.erp_line_id.clone(),
                label: None,
            })
            .collect(),
        charges: charges.clone(),
        alerts: alerts.clone(),
        documents: documents
            .iter()
            .map(|d| ShipDocument {
                kind: d.kind.clone(),
                file_name: d.file_name.clone(),
                format: d.format.clone(),
                data: Vec::new(),
                form_group_id: d.form_group_id.clone(),
            })
            .collect(),
        paperless: paperless.clone(),
    };
    s.serialize_some(&lean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelFormat;

    /// `store verify` decodes label entries (a damaged one is named) and lets other keys pass.
    #[test]
    fn verify_decodes_label_entries_only() {
        let r = ShipResult {
            shipment_id: "1Z1".into(),
            service_code: "03".into(),
            packages: vec![PackageResult {
                tracking_number: "1Z1".into(),
                erp_line_id: "1".into(),
                label: Some(Label {
                    format: LabelFormat::Gif,
                    data: vec![1, 2, 3],
                }),
            }],
            charges: Default::default(),
            alerts: vec![],
            documents: vec![],
            paperless: None,
        };
        let bytes = encode(&r).unwrap();
        assert_eq!(verify_entry("l/acu/1/v1", &bytes), Ok(()));
        assert!(verify_entry("l/acu/1/v1", b"{\"packages\": 7}")
            .unwrap_err()
            .contains("not a label entry"));
        assert_eq!(verify_entry("x/other", b"not json"), Ok(()));
        let mut lean = r.clone();
        lean.packages[0].label = None;
        attach(&mut lean, &bytes).unwrap();
        assert_eq!(lean, r, "attach puts the bytes back");
    }
}
