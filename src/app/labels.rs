//! Label sinks (`upsync labels reprint JOB` is `crate::commands::labels`).
//!
//! * [`DirectorySink`]: one file per package, `<ERP number>-<1Z>.<ext>`, written atomically.
//! * [`PrinterSink`]: raw ZPL/EPL to a network printer on TCP 9100 (pack stations).
//!
//! Reprint re-sends the labels stored with the job; it never creates a shipment.
//! Must never: log label bytes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use crate::model::ShipResult;
use crate::pipeline::ports::LabelSink;

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
    async fn deliver(&self, number: &str, result: &ShipResult) -> Result<Vec<String>, String> {
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create label directory {}: {e}", self.dir.display()))?;
        let mut written = Vec::new();
        for p in &result.packages {
            let Some(label) = &p.label else { continue };
            let name = label_file_name(number, &p.tracking_number, label.format.extension());
            let path = self.dir.join(&name);
            let tmp = self.dir.join(format!(".{name}.tmp"));
            tokio::fs::write(&tmp, &label.data)
                .await
                .map_err(|e| format!("cannot write label {}: {e}", path.display()))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .map_err(|e| format!("cannot write label {}: {e}", path.display()))?;
            written.push(name);
        }
        Ok(written)
    }
}

/// Sends raw thermal labels (ZPL/EPL/SPL) to a printer's raw port.
#[derive(Debug, Clone)]
pub struct PrinterSink {
    address: String,
    timeout: Duration,
}

impl PrinterSink {
    pub fn new(address: &str, timeout: Duration) -> PrinterSink {
        PrinterSink {
            address: address.to_string(),
            timeout,
        }
    }
}

#[async_trait]
impl LabelSink for PrinterSink {
    async fn deliver(&self, number: &str, result: &ShipResult) -> Result<Vec<String>, String> {
        let mut sent = Vec::new();
        for p in &result.packages {
            let Some(label) = &p.label else { continue };
            if !label.format.is_thermal() {
                return Err(format!(
                    "label of {} for {number} is {:?}; a raw printer needs ZPL, EPL or SPL (set the mapping's label format)",
                    p.tracking_number, label.format
                ));
            }
            let send = async {
                let mut s = tokio::net::TcpStream::connect(&self.address).await?;
                s.write_all(&label.data).await?;
                s.flush().await?;
                s.shutdown().await
            };
            tokio::time::timeout(self.timeout, send)
                .await
                .map_err(|_| {
                    format!(
                        "printer {} did not answer within {:?}",
                        self.address, self.timeout
                    )
                })?
                .map_err(|e| format!("printer {}: {e}", self.address))?;
            sent.push(format!("{} → {}", p.tracking_number, self.address));
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Charges, Label, LabelFormat, PackageResult};
    use tokio::io::AsyncReadExt;

    fn result(format: LabelFormat) -> ShipResult {
        ShipResult {
            shipment_id: "1Z999AA10123456784".into(),
            service_code: "03".into(),
            packages: vec![
                PackageResult {
                    tracking_number: "1Z999AA10123456784".into(),
                    erp_line_id: "a".into(),
                    label: Some(Label {
                        format,
                        data: b"^XA^FD1Z999AA10123456784^FS^XZ".to_vec(),
                    }),
                },
                PackageResult {
                    tracking_number: "1Z999AA10123456793".into(),
                    erp_line_id: "b".into(),
                    label: Some(Label {
                        format,
                        data: b"^XA^FD1Z999AA10123456793^FS^XZ".to_vec(),
                    }),
                },
            ],
            charges: Charges::default(),
            alerts: vec![],
        }
    }

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

    #[tokio::test]
    async fn printer_sink_sends_raw_zpl_and_refuses_images() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = Vec::new();
                s.read_to_end(&mut buf).await.unwrap();
                got.push(buf);
            }
            got
        });
        let sink = PrinterSink::new(&addr, Duration::from_secs(5));
        sink.deliver("000123", &result(LabelFormat::Zpl))
            .await
            .unwrap();
        let got = server.await.unwrap();
        assert_eq!(got.len(), 2);
        assert!(String::from_utf8_lossy(&got[0]).contains("1Z999AA10123456784"));
        let err = sink
            .deliver("000123", &result(LabelFormat::Gif))
            .await
            .unwrap_err();
        assert!(err.contains("needs ZPL"));
    }
}
