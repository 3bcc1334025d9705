//! Connector profiles (`connectors/*.yaml`): what both connectors report about a profile,
//! and the one loader they share: read the file, parse the YAML, run the connector's own
//! checks, and report every problem at once (with its key path and how to fix it).
//!
//! A connector plugs in by implementing [`Profile`] for its profile type.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// One problem in a profile: where and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileProblem {
    /// YAML key path (`page_size`, `detail.packages_query`), `(file)` or a line/column.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Every problem found in one profile file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct ProfileError {
    /// Whose profile (`Acumatica`, `NetSuite`).
    pub connector: &'static str,
    pub file: PathBuf,
    pub problems: Vec<ProfileProblem>,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} problem(s) in the {} profile",
            self.file.display(),
            self.problems.len(),
            self.connector
        )?;
        for p in &self.problems {
            write!(f, "\n  - {}: {}", p.path, p.message)?;
        }
        Ok(())
    }
}

/// A connector's profile type: its YAML form and its own semantic checks.
pub trait Profile: DeserializeOwned {
    /// The connector's name in messages.
    const CONNECTOR: &'static str;
    /// The documented example every field is explained in.
    const EXAMPLE: &'static str;
    /// Every semantic problem of a parsed profile (empty = valid).
    fn problems(&self) -> Vec<ProfileProblem>;
}

/// Read, parse and check a profile file; all problems are reported together.
pub fn load<P: Profile>(path: &Path) -> Result<P, ProfileError> {
    let err = |problems| ProfileError {
        connector: P::CONNECTOR,
        file: path.to_path_buf(),
        problems,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        err(vec![ProfileProblem {
            path: "(file)".into(),
            message: format!("cannot read the file: {e}"),
        }])
    })?;
    from_yaml(&text).map_err(err)
}

/// Parse and check YAML text.
pub fn from_yaml<P: Profile>(text: &str) -> Result<P, Vec<ProfileProblem>> {
    let p: P = serde_norway::from_str(text).map_err(|e| {
        vec![ProfileProblem {
            path: e
                .location()
                .map(|l| format!("line {} column {}", l.line(), l.column()))
                .unwrap_or_else(|| "(document)".into()),
            message: format!("{e} (see {} for every field)", P::EXAMPLE),
        }]
    })?;
    let problems = p.problems();
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(problems)
    }
}
