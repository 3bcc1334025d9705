//! Errors of the mapping engine: [`MappingError`] (a problem in a mapping file, with
//! file, line and fix) and [`RecordError`] (a record that cannot be mapped, with its stable
//! code, written back to the ERP).

use serde::Serialize;

use crate::model::ErrorClass;

/// A problem in a mapping file: file, line, key path and what to do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MappingError {
    pub file: String,
    pub line: usize,
    /// Key path in the file (`ship_to.address_lines[1]`).
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for MappingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}`: {}. Fix: {}",
            self.file, self.line, self.key, self.message, self.fix
        )
    }
}

/// Every problem found in a mapping file (never just the first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct MappingErrors(pub Vec<MappingError>);

impl std::fmt::Display for MappingErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} problem(s) in the mapping:", self.0.len())?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl MappingErrors {
    /// A broken mapping is a configuration error.
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Config
    }
}

/// A rule violation for one ERP record, with everything an admin needs to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordError {
    /// Stable code (`ship_to_postal_code_invalid`, `package_weight_missing`, …).
    pub code: String,
    pub record_id: String,
    /// ERP field path (`Packages[1].Weight`), when one field is to blame.
    pub field: Option<String>,
    pub mapping_file: String,
    pub line: usize,
    /// Mapping key (`packages.weight.value`).
    pub key: String,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: record {}", self.code, self.record_id)?;
        if let Some(field) = &self.field {
            write!(f, " field {field}")?;
        }
        write!(
            f,
            " ({}:{} `{}`): {}. Fix: {}",
            self.mapping_file, self.line, self.key, self.message, self.fix
        )
    }
}

/// Every rule violation of one record.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RecordErrors(pub Vec<RecordError>);

impl std::fmt::Display for RecordErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl RecordErrors {
    /// The stable codes, in order.
    pub fn codes(&self) -> Vec<&str> {
        self.0.iter().map(|e| e.code.as_str()).collect()
    }
    /// The first code (what gets written back to the ERP as the headline).
    pub fn primary_code(&self) -> &str {
        self.0
            .first()
            .map(|e| e.code.as_str())
            .unwrap_or("mapping_failed")
    }
    /// A record that cannot be mapped is a business error (dead-letter with the code).
    pub fn class(&self) -> ErrorClass {
        ErrorClass::Business
    }
}
