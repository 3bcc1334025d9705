//! Label bytes out of the job record (issue 24): a job's labels and document bytes (the
//! bulk of a shipped job) live under their own key, `l/<job id>` in the `jobs`
//! tree, written once — in the same atomic batch as the `shipped` save that first holds
//! them, so they are flushed before write-back like the rest of that state — and read only
//! where they are needed (write-back, `upsync labels reprint`, `jobs` listings). The job
//! record (`j/<job id>`) keeps every other field of the result (1Z numbers, charges,
//! document names) and is encoded at every save and decoded at every load without them.
//!
//! The entry is the bytes as they are, in a small length-prefixed frame ([`encode`]): as
//! base64 in JSON (the first form, still read) a third more bytes to write, a base64 pass
//! and a JSON escape scan over every label at the `shipped` save, and the reverse at each
//! write-back that attaches labels (docs/performance.md, "Session 15").
//!
//! Old records (labels inline in `j/`) still load: their bytes come back in memory, and
//! the next save moves them to `l/` ([`crate::pipeline::ledger::Ledger::save`]).
//! Compaction (delivered) removes the key with the bytes.
//!
//! Must never: drop bytes the job still needs — a save writes the key whenever the copy it
//! saves holds bytes the ledger may not hold yet (a new result, an old inline record).

use serde::{Deserialize, Serializer};

use crate::model::{Label, PackageResult, ShipDocument, ShipResult};

/// The key of a job's label bytes in the `jobs` tree.
pub(crate) fn labels_key(job_id: &str) -> String {
    format!("l/{job_id}")
}

/// One document's bytes (base64 in JSON, as in the job record before).
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct Bytes(#[serde(with = "crate::model::b64")] Vec<u8>);

/// What `l/<job id>` holds: the bytes of the job's result, by position (decoded from
/// either form).
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct StoredLabels {
    /// One entry per package of the result, in order (`None`: UPS sent no label).
    packages: Vec<Option<Label>>,
    /// One entry per document of the result, in order.
    #[serde(default)]
    documents: Vec<Bytes>,
}

/// Whether a result holds any label or document bytes.
pub(crate) fn has_bytes(r: &ShipResult) -> bool {
    r.packages.iter().any(|p| p.label.is_some()) || r.documents.iter().any(|d| !d.data.is_empty())
}

/// The first bytes of a framed entry (a JSON entry starts with `{`).
const MAGIC: &[u8; 4] = b"\0LB1";

/// `l/<job id>` for a result: [`MAGIC`], then the package count (u32, little-endian) and
/// per package `0` (no label) or `1`, the format's length (u8) and name (`GIF`, `ZPL`…), the
/// byte count (u32) and the bytes; then the document count and per document its byte
/// count and bytes.
pub(crate) fn encode(r: &ShipResult) -> Result<Vec<u8>, String> {
    let len = |n: usize| u32::try_from(n).map_err(|_| format!("{n} bytes: too many for an entry"));
    let size: usize = r
        .packages
        .iter()
        .map(|p| p.label.as_ref().map_or(1, |l| 10 + l.data.len()))
        .chain(r.documents.iter().map(|d| 4 + d.data.len()))
        .sum();
    let mut out = Vec::with_capacity(MAGIC.len() + 8 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len(r.packages.len())?.to_le_bytes());
    for p in &r.packages {
        match &p.label {
            None => out.push(0),
            Some(l) => {
                let name = l.format.ups_code().as_bytes();
                out.push(1);
                out.push(name.len() as u8);
                out.extend_from_slice(name);
                out.extend_from_slice(&len(l.data.len())?.to_le_bytes());
                out.extend_from_slice(&l.data);
            }
        }
    }
    out.extend_from_slice(&len(r.documents.len())?.to_le_bytes());
    for d in &r.documents {
        out.extend_from_slice(&len(d.data.len())?.to_le_bytes());
        out.extend_from_slice(&d.data);
    }
    Ok(out)
}

/// Reads a framed entry, every read bounds-checked: a damaged entry is an error, never a
/// panic.
struct Frame<'a>(&'a [u8]);

impl<'a> Frame<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!("entry cut short in {what}"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }
    fn bytes(&mut self, what: &str) -> Result<Vec<u8>, String> {
        let n = self.count(what)?;
        Ok(self.take(n, what)?.to_vec())
    }
    /// A count of `items`, checked against what is left (each takes a byte at least)
    /// before anything is reserved for them.
    fn items(&mut self, items: &str) -> Result<usize, String> {
        let n = self.count(&format!("the {items} count"))?;
        if n > self.0.len() {
            return Err(format!(
                "entry names {n} {items}s but holds {} bytes",
                self.0.len()
            ));
        }
        Ok(n)
    }
}

/// An entry as stored: framed, or the JSON of the first form.
fn decode(bytes: &[u8]) -> Result<StoredLabels, String> {
    let Some(mut rest) = bytes.strip_prefix(MAGIC.as_slice()).map(Frame) else {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    };
    let n = rest.items("package")?;
    let mut packages = Vec::with_capacity(n);
    for i in 1..=n {
        let what = format!("package {i}");
        match rest.take(1, &what)?[0] {
            0 => packages.push(None),
            1 => {
                let k = rest.take(1, &what)?[0] as usize;
                let name = rest.take(k, &what)?;
                let format = serde_json::from_value(serde_json::Value::String(
                    String::from_utf8_lossy(name).into_owned(),
                ))
                .map_err(|_| format!("{what}: unknown label format"))?;
                packages.push(Some(Label {
                    format,
                    data: rest.bytes(&what)?,
                }));
            }
            t => return Err(format!("{what}: unknown tag {t}")),
        }
    }
    let n = rest.items("document")?;
    let mut documents = Vec::with_capacity(n);
    for i in 1..=n {
        documents.push(Bytes(rest.bytes(&format!("document {i}"))?));
    }
    if !rest.0.is_empty() {
        return Err(format!("{} bytes past the last document", rest.0.len()));
    }
    Ok(StoredLabels {
        packages,
        documents,
    })
}

/// Put stored bytes back into a result. An entry that does not match the result's shape
/// (package or document count) is an error naming what differs.
pub(crate) fn attach(r: &mut ShipResult, bytes: &[u8]) -> Result<(), String> {
    let s = decode(bytes)?;
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
    decode(bytes)
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

    fn two_packages_and_a_document() -> ShipResult {
        ShipResult {
            shipment_id: "1Z1".into(),
            service_code: "03".into(),
            packages: vec![
                PackageResult {
                    tracking_number: "1Z1".into(),
                    erp_line_id: "1".into(),
                    label: Some(Label {
                        format: LabelFormat::Zpl,
                        data: b"^XA^FDhi^FS^XZ".to_vec(),
                    }),
                },
                PackageResult {
                    tracking_number: "1Z2".into(),
                    erp_line_id: "2".into(),
                    label: None,
                },
            ],
            charges: Default::default(),
            alerts: vec![],
            documents: vec![ShipDocument {
                kind: "invoice".into(),
                file_name: "inv.pdf".into(),
                format: "PDF".into(),
                data: vec![0, 255, 7],
                form_group_id: None,
            }],
            paperless: None,
        }
    }

    fn without_bytes(r: &ShipResult) -> ShipResult {
        let mut lean = r.clone();
        for p in &mut lean.packages {
            p.label = None;
        }
        for d in &mut lean.documents {
            d.data.clear();
        }
        lean
    }

    /// The framed entry holds the bytes as they are (no base64), and a package without a
    /// label and a document come back in their places.
    #[test]
    fn framed_entries_hold_the_bytes_as_they_are() {
        let r = two_packages_and_a_document();
        let bytes = encode(&r).unwrap();
        assert!(bytes.starts_with(MAGIC));
        assert!(bytes.windows(14).any(|w| w == b"^XA^FDhi^FS^XZ"));
        let mut lean = without_bytes(&r);
        attach(&mut lean, &bytes).unwrap();
        assert_eq!(lean, r);
    }

    /// An entry written in the first form (JSON, base64) still attaches and verifies.
    #[test]
    fn json_entries_of_the_first_form_still_attach() {
        let r = two_packages_and_a_document();
        let old = serde_json::to_vec(&StoredLabels {
            packages: r.packages.iter().map(|p| p.label.clone()).collect(),
            documents: r.documents.iter().map(|d| Bytes(d.data.clone())).collect(),
        })
        .unwrap();
        assert!(old.starts_with(b"{"));
        assert_eq!(verify_entry("l/x", &old), Ok(()));
        let mut lean = without_bytes(&r);
        attach(&mut lean, &old).unwrap();
        assert_eq!(lean, r);
    }

    /// A damaged frame is an error naming where it broke, whatever the cut: cut at every
    /// length, a byte past the end, counts larger than the entry, an unknown tag or format.
    #[test]
    fn damaged_frames_are_errors_not_panics() {
        let bytes = encode(&two_packages_and_a_document()).unwrap();
        for cut in MAGIC.len()..bytes.len() {
            let e = verify_entry("l/x", &bytes[..cut]).unwrap_err();
            assert!(e.starts_with("not a label entry"), "{cut}: {e}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(verify_entry("l/x", &longer)
            .unwrap_err()
            .contains("past the last"));
        let mut many = MAGIC.to_vec();
        many.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(verify_entry("l/x", &many).unwrap_err().contains("packages"));
        let mut tag = bytes.clone();
        tag[MAGIC.len() + 4] = 9;
        assert!(verify_entry("l/x", &tag)
            .unwrap_err()
            .contains("unknown tag"));
        let mut format = bytes;
        format[MAGIC.len() + 6] = b'Q';
        assert!(verify_entry("l/x", &format)
            .unwrap_err()
            .contains("label format"));
    }
}
