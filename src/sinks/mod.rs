//! Label sinks: where labels go besides the ERP record (a directory, a pack-station
//! printer). One trait, [`LabelSink`], a typed [`SinkError`], and the `label_sink:` config
//! of a connector, [`LabelSinkConfig`], selected by `type:`, which builds its sink and
//! reports its problems. Adding a sink is its file here plus one variant and its arms in
//! [`LabelSinkConfig`].
//!
//! Must never: log label bytes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::ShipResult;

pub mod directory;
pub mod printer;

pub use directory::{label_file_name, DirectorySink};
pub use printer::PrinterSink;

/// How long a printer may take to accept one label.
pub const PRINTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Where labels go once a shipment exists (a directory, a pack-station printer).
#[async_trait]
pub trait LabelSink: Send + Sync {
    /// Deliver every package label of `result` for ERP document `number`; returns what was
    /// delivered (file names or printer address), for the job timeline.
    async fn deliver(&self, number: &str, result: &ShipResult) -> Result<Vec<String>, SinkError>;
}

/// Why a label could not be delivered (the label stays with the job: `upsync labels
/// reprint JOB` sends it again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// The label directory or file cannot be written.
    #[error("cannot write labels to {}: {message}; check that the directory is writable by upsync (under systemd only /var/lib/upsync is, unless ReadWritePaths= names it)", path.display())]
    Directory { path: PathBuf, message: String },
    /// A raw printer gets only thermal formats.
    #[error("label of {tracking_number} for {number} is {format}; a raw printer needs ZPL, EPL or SPL (set the mapping's label format)")]
    NotThermal {
        tracking_number: String,
        number: String,
        format: String,
    },
    /// The printer did not accept the label in time.
    #[error(
        "printer {address} did not answer within {timeout:?}; check that it is on and reachable"
    )]
    PrinterTimeout { address: String, timeout: Duration },
    /// The connection to the printer failed.
    #[error("printer {address}: {message}")]
    Printer { address: String, message: String },
}

impl SinkError {
    /// Stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            SinkError::Directory { .. } => "label_sink_directory",
            SinkError::NotThermal { .. } => "label_sink_not_thermal",
            SinkError::PrinterTimeout { .. } => "label_sink_printer_timeout",
            SinkError::Printer { .. } => "label_sink_printer",
        }
    }
}

/// A connector's `label_sink:` (`type:` selects it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LabelSinkConfig {
    /// One file per package, named by ERP record and 1Z.
    Directory {
        /// Target directory (relative to the config file); created when missing.
        path: PathBuf,
    },
    /// Raw ZPL/EPL over TCP (port 9100 on most label printers).
    Printer {
        /// `host:port`, e.g. `10.0.4.21:9100`.
        address: String,
    },
    /// Labels only go to the ERP.
    #[default]
    None,
}

impl LabelSinkConfig {
    /// One value of every variant (the configuration's key shape is derived from them).
    pub fn examples() -> Vec<LabelSinkConfig> {
        vec![
            LabelSinkConfig::Directory {
                path: PathBuf::new(),
            },
            LabelSinkConfig::Printer {
                address: String::new(),
            },
            LabelSinkConfig::None,
        ]
    }

    /// The sink (`None` for `type: none`).
    pub fn build(&self) -> Option<Arc<dyn LabelSink>> {
        match self {
            LabelSinkConfig::Directory { path } => Some(Arc::new(DirectorySink::new(path))),
            LabelSinkConfig::Printer { address } => {
                Some(Arc::new(PrinterSink::new(address, PRINTER_TIMEOUT)))
            }
            LabelSinkConfig::None => None,
        }
    }

    /// Every problem, as (key under `label_sink`, what is wrong, fix). `base`: the config
    /// file's directory (relative paths start there).
    pub fn problems(&self, base: &Path) -> Vec<(&'static str, String, &'static str)> {
        match self {
            LabelSinkConfig::Directory { path } => {
                let dir = if path.is_absolute() {
                    path.clone()
                } else {
                    base.join(path)
                };
                if dir.exists() && !dir.is_dir() {
                    vec![(
                        "path",
                        format!("{} exists and is not a directory", dir.display()),
                        "point it at a directory (created when missing)",
                    )]
                } else {
                    vec![]
                }
            }
            LabelSinkConfig::Printer { address } => match printer::check_address(address) {
                Ok(()) => vec![],
                Err(m) => vec![(
                    "address",
                    m,
                    "use host:port of the label printer, e.g. 10.0.4.21:9100",
                )],
            },
            LabelSinkConfig::None => vec![],
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::model::{Charges, Label, LabelFormat, PackageResult, ShipResult};

    pub(crate) fn result(format: LabelFormat) -> ShipResult {
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
            documents: vec![],
            paperless: None,
        }
    }
}
