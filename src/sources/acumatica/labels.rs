//! One label file per shipment instead of one per package (profile `label_files:
//! per_shipment`, issue 24): each attached file costs one `PUT …/files/{name}`
//! (ERP-NOTES §A4), so a five-package shipment costs five requests per_package and one here.
//!
//! Which formats merge: the printer languages, where a file is a sequence of label
//! programs and a printer prints one label per program — **ZPL** (`^XA … ^XZ` each),
//! **EPL** (each label ends with its `P` print command) and **SPL** (likewise a command
//! stream). Their files are concatenated in package order. **GIF, PNG and PDF** labels
//! are images or whole documents: they cannot be concatenated into one valid file (a PDF
//! merge would need a PDF writer, which upsync does not carry), so they stay one file per
//! package. Other files of a plan (invoice PDFs, signature images) are never merged.
//!
//! The merged name is the first label's name with `-labels` after its tracking number
//! (`000123-1Z…1.zpl` → `000123-1Z…1-labels.zpl`), or `{key}-labels.{ext}`: stable, so a
//! repeated write-back finds it attached and sends nothing, and new for a new label set —
//! a re-ship after a void has new tracking numbers, so its labels are attached beside the
//! voided ones instead of being taken for them (a write-back knows attached files by name
//! only).
//!
//! Must never: reorder labels, merge across formats, or log label bytes.

use serde::{Deserialize, Serialize};

use crate::model::WriteBackFile;

/// How labels are attached to the shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelFiles {
    /// One file per package label (as the mapping names them).
    #[default]
    PerPackage,
    /// The labels of one printer format concatenated into one file per shipment.
    PerShipment,
}

/// Extensions whose files concatenate into one valid printer job.
pub const MERGEABLE: &[&str] = &["zpl", "epl", "spl"];

fn ext(name: &str) -> Option<String> {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())
}

/// `files` with the mergeable labels of each format joined into one file (see the module
/// docs); `key` names the shipment (its key values) when no label name can be reused.
/// `packages` are the tracking numbers of the plan, to tell labels from other files.
pub fn merge(files: &[WriteBackFile], tracking: &[String], key: &str) -> Vec<WriteBackFile> {
    let is_label = |f: &WriteBackFile| {
        ext(&f.name).is_some_and(|e| MERGEABLE.contains(&e.as_str()))
            && tracking
                .iter()
                .any(|t| !t.is_empty() && f.name.contains(t.as_str()))
    };
    let mut out: Vec<WriteBackFile> = Vec::new();
    let mut merged: Vec<(String, usize)> = Vec::new(); // (ext, index in out)
    for f in files {
        if !is_label(f) {
            out.push(f.clone());
            continue;
        }
        let e = ext(&f.name).expect("label has an extension");
        match merged.iter().find(|(x, _)| *x == e) {
            Some((_, i)) => {
                let data = &mut out[*i].data;
                if !data.ends_with(b"\n") {
                    data.push(b'\n');
                }
                data.extend_from_slice(&f.data);
            }
            None => {
                let name = tracking
                    .iter()
                    .find(|t| !t.is_empty() && f.name.contains(t.as_str()))
                    .map(|t| f.name.replacen(t.as_str(), &format!("{t}-labels"), 1))
                    .unwrap_or_else(|| format!("{key}-labels.{e}"));
                merged.push((e, out.len()));
                out.push(WriteBackFile {
                    name,
                    data: f.data.clone(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, data: &str) -> WriteBackFile {
        WriteBackFile {
            name: name.into(),
            data: data.as_bytes().to_vec(),
        }
    }

    #[test]
    fn zpl_labels_become_one_file_in_package_order_and_others_stay() {
        let t = vec!["1ZA".to_string(), "1ZB".to_string(), "1ZC".to_string()];
        let files = vec![
            f("000123-1ZA.zpl", "^XA^FDA^XZ"),
            f("000123-1ZB.zpl", "^XA^FDB^XZ\n"),
            f("000123-invoice.pdf", "%PDF-1.4"),
            f("000123-1ZC.zpl", "^XA^FDC^XZ"),
        ];
        let out = merge(&files, &t, "000123");
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(out[0].name, "000123-1ZA-labels.zpl");
        assert_eq!(
            String::from_utf8(out[0].data.clone()).unwrap(),
            "^XA^FDA^XZ\n^XA^FDB^XZ\n^XA^FDC^XZ"
        );
        assert_eq!(out[1].name, "000123-invoice.pdf");
    }

    #[test]
    fn a_new_label_set_gets_a_new_name_and_the_same_set_the_same() {
        // A re-ship after a void: new tracking numbers, so the merged file must not be
        // taken for the one already attached (attached files are known by name only).
        let voided = merge(&[f("000123-1ZA.zpl", "A")], &["1ZA".to_string()], "000123");
        let again = merge(&[f("000123-1ZA.zpl", "A")], &["1ZA".to_string()], "000123");
        let reship = merge(&[f("000123-1ZN.zpl", "N")], &["1ZN".to_string()], "000123");
        assert_eq!(voided, again);
        assert_ne!(voided[0].name, reship[0].name);
    }

    #[test]
    fn images_and_pdf_labels_are_not_merged() {
        let t = vec!["1ZA".to_string(), "1ZB".to_string()];
        let files = vec![f("000123-1ZA.gif", "GIF8"), f("000123-1ZB.gif", "GIF8")];
        assert_eq!(merge(&files, &t, "000123"), files);
        let files = vec![f("000123-1ZA.pdf", "%PDF"), f("000123-1ZB.pdf", "%PDF")];
        assert_eq!(merge(&files, &t, "000123"), files);
    }
}
