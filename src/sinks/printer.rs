//! The `type: printer` label sink: raw thermal labels (ZPL/EPL/SPL) to a network label
//! printer's raw port (TCP 9100 on most). Shipment documents (the invoice PDF) are not
//! for a label printer: they stay on the job and go to the ERP record.
//!
//! Must never: log label bytes.

use std::time::Duration;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{LabelSink, SinkError};
use crate::model::ShipResult;

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
    async fn deliver(&self, number: &str, result: &ShipResult) -> Result<Vec<String>, SinkError> {
        let mut sent = Vec::new();
        for p in &result.packages {
            let Some(label) = &p.label else { continue };
            if !label.format.is_thermal() {
                return Err(SinkError::NotThermal {
                    tracking_number: p.tracking_number.clone(),
                    number: number.to_string(),
                    format: format!("{:?}", label.format),
                });
            }
            let send = async {
                let mut s = tokio::net::TcpStream::connect(&self.address).await?;
                s.write_all(&label.data).await?;
                s.flush().await?;
                s.shutdown().await
            };
            tokio::time::timeout(self.timeout, send)
                .await
                .map_err(|_| SinkError::PrinterTimeout {
                    address: self.address.clone(),
                    timeout: self.timeout,
                })?
                .map_err(|e| SinkError::Printer {
                    address: self.address.clone(),
                    message: e.to_string(),
                })?;
            sent.push(format!("{} → {}", p.tracking_number, self.address));
        }
        Ok(sent)
    }
}

/// `host:port` of a printer, as `check` accepts it.
pub fn check_address(address: &str) -> Result<(), String> {
    if address.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| format!("`{address}` has no port"))?;
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("`{address}`: `{port}` is not a port number"))?;
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(format!(
            "`{address}`: `{host}` is not a host name or IP address"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelFormat;
    use crate::sinks::tests::result;
    use tokio::io::AsyncReadExt;

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
        assert!(err.to_string().contains("needs ZPL"));
    }
}
