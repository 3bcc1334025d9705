//! [`ClassifiedError`]: the one classified failure type (class + stable code + message +
//! whether the request may have taken effect) that ports hand back to the pipeline and
//! the tracker.

use super::ErrorClass;

/// A failure classified at the edge (DESIGN.md, "Errors"): its [`ErrorClass`] decides what
/// happens, its stable code is what an admin searches for and what is written back to the
/// ERP. The ports of the pipeline and the tracker use it (`CarrierError`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ClassifiedError {
    pub class: ErrorClass,
    /// Stable code (`ups_address_invalid`, `ups_rate_limited`, …).
    pub code: String,
    pub message: String,
    /// The request may have taken effect (Ship timed out after sending, connection reset):
    /// the job is in doubt and must be reconciled before any new Ship.
    pub outcome_unknown: bool,
}

impl ClassifiedError {
    pub fn transient(code: &str, message: impl Into<String>) -> ClassifiedError {
        ClassifiedError {
            class: ErrorClass::Transient,
            code: code.to_string(),
            message: message.into(),
            outcome_unknown: false,
        }
    }

    pub fn outcome_unknown(message: impl Into<String>) -> ClassifiedError {
        ClassifiedError {
            class: ErrorClass::Transient,
            code: "ups_outcome_unknown".to_string(),
            message: message.into(),
            outcome_unknown: true,
        }
    }

    pub fn business(code: &str, message: impl Into<String>) -> ClassifiedError {
        ClassifiedError {
            class: ErrorClass::Business,
            code: code.to_string(),
            message: message.into(),
            outcome_unknown: false,
        }
    }
}
