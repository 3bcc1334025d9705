//! Source connectors: where ERP shipments come in and where UPS results go back.
//!
//! One trait, [`Source`], and one implementation per ERP (`acumatica/`, `netsuite/`), chosen
//! in config by `type:`. A source knows its ERP's HTTP API and record codec and nothing of
//! UPS: it hands out [`ErpRecord`]s and applies [`WriteBack`] plans that the mapping engine
//! produced. The pipeline owns the ledger and stores the [`Cursor`] only after a page's
//! records are safely in the ledger, so a source never persists anything itself. Each
//! connector's profile (`connectors/*.yaml`) loads through the shared [`profile`] loader.
//!
//! Each ERP folder owns its configuration (`acumatica/config.rs`, `netsuite/config.rs`):
//! typed `options`, `problems()` for `upsync check`, `build()` for the daemon.
//! [`ConnectorKind`], the `type:` of a connector entry, is the registry: adding an ERP is
//! its folder plus one variant and its arms in [`ConnectorKind`]'s dispatch below.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::model::{ErpRecord, ErrorClass, WriteBack};

pub mod acumatica;
pub mod netsuite;
pub mod profile;

// --------------------------------------------------------------------- plug-point config

/// Which ERP a connector talks to: the `type:` of a connector entry. The registry of
/// source connectors: each variant dispatches to its folder's `config.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectorKind {
    Acumatica,
    Netsuite,
}

impl ConnectorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Acumatica => "acumatica",
            ConnectorKind::Netsuite => "netsuite",
        }
    }

    /// Every problem of a connector entry's ERP-specific part (options, profile).
    pub fn problems(self, spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
        match self {
            ConnectorKind::Acumatica => acumatica::config::problems(spec),
            ConnectorKind::Netsuite => netsuite::config::problems(spec),
        }
    }

    /// The problems of a connector entry's `options` alone (no file is read: `check`
    /// reads the profile only after its bounded file checks, through [`Self::problems`]).
    pub fn options_problems(self, spec: &ConnectorSpec<'_>) -> Vec<SetupProblem> {
        match self {
            ConnectorKind::Acumatica => acumatica::config::options_problems(spec),
            ConnectorKind::Netsuite => netsuite::config::options_problems(spec),
        }
    }

    /// The running source of a connector entry (`credentials`: the vault entry's fields).
    pub fn build(
        self,
        spec: &ConnectorSpec<'_>,
        credentials: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Arc<dyn Source>, ConnectorSetupError> {
        match self {
            ConnectorKind::Acumatica => acumatica::config::build(spec, credentials),
            ConnectorKind::Netsuite => netsuite::config::build(spec, credentials),
        }
    }
}

/// A connector entry of the configuration as its ERP's `config.rs` sees it.
#[derive(Debug, Clone, Copy)]
pub struct ConnectorSpec<'a> {
    /// The connector's name (part of every job id).
    pub name: &'a str,
    /// The profile file (resolved).
    pub profile: &'a Path,
    /// `options:`, decoded by the ERP into its own typed options.
    pub options: &'a BTreeMap<String, serde_json::Value>,
    /// `concurrency:`: ERP requests in flight, over the profile's own limit when set.
    pub concurrency: Option<u32>,
    /// The vault entry of the ERP credentials (for messages).
    pub credentials: &'a str,
}

impl ConnectorSpec<'_> {
    /// `options` as the ERP's typed options (`known`: the keys it accepts, for the fix).
    pub fn typed_options<T: serde::de::DeserializeOwned>(
        &self,
        known: &str,
    ) -> Result<T, ConnectorSetupError> {
        let map: serde_json::Map<String, serde_json::Value> = self
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| {
            ConnectorSetupError::Options {
                message: e.to_string(),
                known: known.to_string(),
            }
        })
    }

    /// The vault entry's fields as the ERP's credential type (`what`: the expected shape).
    pub fn typed_credentials<T: serde::de::DeserializeOwned>(
        &self,
        fields: serde_json::Map<String, serde_json::Value>,
        what: &str,
    ) -> Result<T, ConnectorSetupError> {
        let present: Vec<String> = fields.keys().cloned().collect();
        serde_json::from_value(serde_json::Value::Object(fields)).map_err(|e| {
            ConnectorSetupError::Credentials {
                name: self.credentials.to_string(),
                what: what.to_string(),
                present: present.join(", "),
                message: e.to_string(),
            }
        })
    }
}

/// Why a configured connector cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorSetupError {
    /// `options:` do not fit the ERP's typed options.
    #[error("options: {message}; the options of this connector type are: {known}")]
    Options { message: String, known: String },
    /// The profile file is missing or wrong.
    #[error(transparent)]
    Profile(#[from] profile::ProfileError),
    /// The vault entry does not fit the ERP's credential type.
    #[error("credentials '{name}' do not fit {what} (fields present: {present}): {message}; set them again with `upsync creds set {name}`")]
    Credentials {
        name: String,
        what: String,
        present: String,
        message: String,
    },
    /// The source refused its settings.
    #[error(transparent)]
    Source(#[from] SourceError),
}

impl ConnectorSetupError {
    /// The problems of a setup step's outcome: none when it succeeded (each connector
    /// folder's `options_problems`/`problems` use it).
    pub fn problems_of<T>(r: Result<T, ConnectorSetupError>, example: &str) -> Vec<SetupProblem> {
        r.err().map(|e| e.problems(example)).unwrap_or_default()
    }

    /// As `check` problems (`example`: the documented profile to compare with).
    pub fn problems(&self, example: &str) -> Vec<SetupProblem> {
        match self {
            ConnectorSetupError::Options { message, known } => vec![SetupProblem {
                file: None,
                path: "options".into(),
                message: message.clone(),
                fix: format!("use only the options of this connector type: {known}"),
            }],
            ConnectorSetupError::Profile(e) => e
                .problems
                .iter()
                .map(|p| SetupProblem {
                    file: Some(e.file.clone()),
                    path: p.path.clone(),
                    message: p.message.clone(),
                    fix: format!("correct the profile (see the comments in {example})"),
                })
                .collect(),
            other => vec![SetupProblem {
                file: None,
                path: String::new(),
                message: other.to_string(),
                fix: "see the message".into(),
            }],
        }
    }
}

/// One problem of a connector entry's ERP-specific part, for `upsync check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupProblem {
    /// The file it is in: a profile, or `None` for the configuration file itself.
    pub file: Option<PathBuf>,
    /// Key path inside that file (`options`, `page_size`); relative to the connector entry
    /// when `file` is `None`.
    pub path: String,
    pub message: String,
    pub fix: String,
}

/// Opaque incremental-read position, owned by the source that produced it (serialised
/// JSON). The pipeline stores it in the `cursors` tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cursor(pub serde_json::Value);

/// One page of an incremental read.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub records: Vec<ErpRecord>,
    /// Cursor to store once `records` are in the ledger; pass it to the next `poll`.
    pub cursor: Cursor,
    /// More pages are available right now.
    pub more: bool,
}

/// A field-level error reported by the ERP (Acumatica 422 per-field `error`, NetSuite
/// `o:errorPath`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Errors of a source connector, each with its [`ErrorClass`].
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Retry later (429, licence queue, 5xx, connection problems, concurrency limit).
    #[error("{system} is temporarily unavailable: {message}; will retry")]
    Transient { system: String, message: String },
    /// Credentials rejected after one re-login.
    #[error("{system} rejected the credentials '{credentials}': {message}; fix them with `upsync creds set {credentials}`")]
    Auth {
        system: String,
        credentials: String,
        message: String,
    },
    /// Configuration cannot work (wrong endpoint version, unknown field in profile).
    #[error("{system} configuration problem: {message}")]
    Config { system: String, message: String },
    /// The ERP refused the record's data (e.g. 422 on write-back).
    #[error("{system} rejected record {record}: {}", fields_text(.fields, .message))]
    Rejected {
        system: String,
        record: String,
        message: String,
        fields: Vec<FieldError>,
    },
    /// The record no longer exists in the ERP.
    #[error("{system} has no record {record}")]
    NotFound { system: String, record: String },
}

fn fields_text(fields: &[FieldError], message: &str) -> String {
    if fields.is_empty() {
        return message.to_string();
    }
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl SourceError {
    pub fn class(&self) -> ErrorClass {
        match self {
            SourceError::Transient { .. } => ErrorClass::Transient,
            SourceError::Auth { .. } => ErrorClass::Auth,
            SourceError::Config { .. } => ErrorClass::Config,
            SourceError::Rejected { .. } | SourceError::NotFound { .. } => ErrorClass::Business,
        }
    }

    /// Stable code for dead-letter entries and ERP write-back of failures.
    pub fn code(&self) -> &'static str {
        match self {
            SourceError::Transient { .. } => "erp_unavailable",
            SourceError::Auth { .. } => "erp_auth_failed",
            SourceError::Config { .. } => "erp_config_invalid",
            SourceError::Rejected { .. } => "erp_rejected_write",
            SourceError::NotFound { .. } => "erp_record_missing",
        }
    }
}

/// A record the pipeline knows: its ERP id and document number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRef {
    pub id: String,
    /// ERP document number (Acumatica `ShipmentNbr`, NetSuite `tranid`).
    pub number: String,
}

/// How many records the ERP holds in the profile's ready state, and how many of those pass
/// the profile's own filters (ship via / ship method names). `upsync ping` and `upsync
/// check --online` print both and warn when none pass: a misspelt carrier name must not
/// look like a quiet day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadyCounts {
    /// In the ready state (status, hold) whatever the carrier; `None` when the profile
    /// cannot separate its filter (then only `passing` is known).
    pub ready: Option<u64>,
    /// Ready and passing the filter: what the next poll would read.
    pub passing: u64,
    /// The filter, as the admin wrote it (`ship via in [UPSGROUND, …]`).
    pub filter: String,
    /// Carrier values seen on ready records that do not pass (a sample, for the warning).
    pub others: Vec<String>,
}

impl ReadyCounts {
    /// One line: `12 ready, 10 pass ship via in [...]`.
    pub fn summary(&self) -> String {
        match self.ready {
            Some(r) => format!("{r} ready, {} pass {}", self.passing, self.filter),
            None => format!("{} ready and passing {}", self.passing, self.filter),
        }
    }

    /// The warning when no ready record passes the filter (`None` when some do).
    pub fn warning(&self) -> Option<String> {
        if self.passing > 0 {
            return None;
        }
        Some(match self.ready {
            Some(0) => "no record is in the ready state at all: a quiet day, or the profile's status filter does not match how records become ready".to_string(),
            Some(r) => {
                let seen = if self.others.is_empty() {
                    String::new()
                } else {
                    format!("; the ready records use {}", self.others.iter().map(|o| format!("'{o}'")).collect::<Vec<_>>().join(", "))
                };
                format!("none of the {r} ready records pass {}{seen}: is a carrier name misspelt in the profile?", self.filter)
            }
            None => format!("no ready record passes {}; the profile does not say which part of its query is the carrier filter, so a misspelt name cannot be told from a quiet day", self.filter),
        })
    }
}

/// HTTP requests a connector sent, by API (a short stable name: `login`, `get`, `put`,
/// `suiteql`, `token`, …) and HTTP status (`0` = no answer), for `/metrics`.
#[derive(Debug, Default)]
pub struct RequestStats(std::sync::Mutex<std::collections::BTreeMap<(&'static str, u16), u64>>);

impl RequestStats {
    pub fn record(&self, api: &'static str, status: u16) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((api, status)).or_default() += 1;
    }

    /// `(api, status, count)` rows.
    pub fn snapshot(&self) -> Vec<(&'static str, u16, u64)> {
        let m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.iter().map(|(&(a, s), &n)| (a, s, n)).collect()
    }
}

/// A source connector (one configured ERP tenant/account).
#[async_trait]
pub trait Source: Send + Sync {
    /// Connector name from config.
    fn name(&self) -> &str;

    /// Authenticate and make one cheap read-only call (`upsync ping`, `check`, readiness).
    async fn ping(&self) -> Result<(), SourceError>;

    /// Read the next page of records that are ready to ship, modified since `cursor`.
    /// Overlapping the cursor boundary is allowed: the pipeline de-duplicates by record
    /// id and version.
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError>;

    /// Read one record by its ERP id (replay, conflict checks, cancellation checks).
    async fn fetch(&self, record_id: &str) -> Result<Option<ErpRecord>, SourceError>;

    /// Ready records overall versus passing the profile's filters (see [`ReadyCounts`]);
    /// `None` for a connector that cannot count.
    async fn ready_counts(&self) -> Result<Option<ReadyCounts>, SourceError> {
        Ok(None)
    }

    /// Which of `records` no longer exist in the ERP (their ids). Both ERPs cancel a
    /// fulfilment or shipment by deleting it (ERP-NOTES.md §A4, §N4; no "cancelled" status
    /// exists), so the pipeline asks this about the records it has shipped. The default
    /// costs one [`Source::fetch`] per record; connectors override it with batches
    /// (NetSuite: one SuiteQL query per 1,000 ids; Acumatica: one GET per 25 numbers).
    async fn missing(&self, records: &[RecordRef]) -> Result<Vec<String>, SourceError> {
        let mut gone = Vec::new();
        for r in records {
            match self.fetch(&r.id).await {
                Ok(Some(_)) => {}
                Ok(None) | Err(SourceError::NotFound { .. }) => gone.push(r.id.clone()),
                Err(e) => return Err(e),
            }
        }
        Ok(gone)
    }

    /// Apply a write-back plan. Must be idempotent: applying the same plan twice leaves the
    /// record as after the first time.
    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError>;

    /// [`Source::write_back`] of a job's plan, given the record as the job read it (id,
    /// version, decoded data). A connector that can use that copy instead of reading the
    /// record again overrides this (NetSuite: the package lines, when the record's version
    /// has not moved since); the default ignores it.
    async fn write_back_from(&self, plan: &WriteBack, read: &ErpRecord) -> Result<(), SourceError> {
        let _ = read;
        self.write_back(plan).await
    }

    /// The end of a pipeline cycle: release what should not be held until the next one.
    /// By default [`Source::close`]; Acumatica keeps its sessions for the next cycle and
    /// logs them out once idle (`keep_session_seconds`, issue 24: no sign-in per cycle).
    async fn cycle_done(&self) {
        self.close().await
    }

    /// Release sessions now (Acumatica logout). Called on shutdown, after one-off
    /// commands, and (through [`Source::cycle_done`]) after each cycle.
    async fn close(&self) {}

    /// HTTP requests sent so far, `(api, status, count)` (see [`RequestStats`]); empty for
    /// a connector that does not count.
    fn request_stats(&self) -> Vec<(&'static str, u16, u64)> {
        Vec::new()
    }
}
