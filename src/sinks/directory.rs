//! The `type: directory` label sink: one file per package, `<ERP number>-<1Z>.<ext>`, and
//! one per shipment document UPS returned (`<ERP number>-<1Z>-invoice.pdf`, issue 20),
//! written atomically (temporary file, then rename).
//!
//! Must never: log label bytes.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{LabelSink, SinkError};
use crate::model::ShipResult;

/// File name of a package label: `<number>-<1Z>.<ext>`, path-safe.
pub fn label_file_name(number: &str, tracking: &str, ext: &str) -> String {
    let safe: String = number
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-{tracking}.{ext}")
}

/// Writes labels into a directory.
#[derive(Debug, Clone)]
pub struct DirectorySink {
    dir: PathBuf,
}

impl DirectorySink {
    pub fn new(dir: &Path) -> DirectorySink {
        DirectorySink {
            dir: dir.to_path_buf(),
        }
    }
}

#[async_trait]
impl LabelSink for DirectorySink {
    async fn deliver(&self, number: &str, result: &ShipResult) -> Result<Vec<String>, SinkError> {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for p in &result.packages {
            let Some(label) = &p.label else { continue };
            let name = label_file_name(number, &p.tracking_number, label.format.extension());
            files.push((name, label.data.clone()));
        }
        for d in result.documents.iter().filter(|d| !d.data.is_empty()) {
            files.push((d.file_name.clone(), d.data.clone()));
        }
        // Every file of the shipment in one blocking task: one hand-off to tokio's blocking
        // pool per shipment instead of three per file (`tokio::fs` makes one per call).
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_files(&dir, files))
            .await
            .map_err(|e| SinkError::Directory {
                path: self.dir.clone(),
                message: format!("label writer stopped: {e}"),
            })?
    }
}

/// Write each file atomically (temporary file, then rename); the names written.
/// The directory is made only when a write finds it missing (the first delivery, or an
/// operator moved it away): no `stat` + `mkdir` per shipment.
fn write_files(dir: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Vec<String>, SinkError> {
    let io = |path: &Path, e: std::io::Error| SinkError::Directory {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut written = Vec::with_capacity(files.len());
    for (name, data) in files {
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        match std::fs::write(&tmp, &data) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
                std::fs::write(&tmp, &data).map_err(|e| io(&path, e))?;
            }
            other => other.map_err(|e| io(&path, e))?,
        }
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        written.push(name);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelFormat;
    use crate::sinks::tests::result;

    #[tokio::test]
    async fn directory_sink_writes_one_file_per_package() {
        let dir = tempfile::tempdir().unwrap();
        let names = DirectorySink::new(dir.path())
            .deliver("SO/000123", &result(LabelFormat::Zpl))
            .await
            .unwrap();
        assert_eq!(
            names,
            vec![
                "SO_000123-1Z999AA10123456784.zpl",
                "SO_000123-1Z999AA10123456793.zpl"
            ]
        );
        let body = std::fs::read(dir.path().join(&names[1])).unwrap();
        assert!(body.starts_with(b"^XA"));
    }

    /// The commercial invoice UPS returned is written beside the labels (issue 20).
    #[tokio::test]
    async fn directory_sink_writes_the_invoice_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = result(LabelFormat::Zpl);
        r.documents.push(crate::model::ShipDocument {
            kind: "invoice".into(),
            file_name: "SO_000123-1Z999AA10123456784-invoice.pdf".into(),
            format: "pdf".into(),
            data: b"%PDF-1.4 invoice".to_vec(),
            form_group_id: None,
        });
        let names = DirectorySink::new(dir.path())
            .deliver("SO/000123", &r)
            .await
            .unwrap();
        assert_eq!(names.len(), 3);
        let body =
            std::fs::read(dir.path().join("SO_000123-1Z999AA10123456784-invoice.pdf")).unwrap();
        assert!(body.starts_with(b"%PDF"));
    }

    /// The directory is made once, and made again when it is removed while the daemon
    /// runs (the second delivery would fail with "No such file or directory" otherwise).
    #[tokio::test]
    async fn a_directory_removed_while_running_is_made_again() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("labels");
        let sink = DirectorySink::new(&dir);
        sink.deliver("SO/1", &result(LabelFormat::Zpl))
            .await
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let names = sink
            .deliver("SO/2", &result(LabelFormat::Zpl))
            .await
            .unwrap();
        assert!(dir.join(&names[0]).is_file());
    }
}
