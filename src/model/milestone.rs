//! Package milestones: UPS status types and codes normalised to what an ERP user reads.
//!
//! UPS reports `status.type` (`M` manifest, `P` pickup, `I` in transit, `O`/`I`+`OT` out for
//! delivery, `D` delivered, `X` exception, `RS` returned, `MV` manifest voided) and a 2-char
//! `status.code`. See `UPS-REFERENCE.md` §6 and §8.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    LabelCreated,
    PickedUp,
    InTransit,
    OutForDelivery,
    Exception,
    Delivered,
    Returned,
    Voided,
}

impl Milestone {
    /// Normalise a UPS status (`type`, 2-char `code`).
    pub fn from_ups(status_type: &str, status_code: &str) -> Milestone {
        match (
            status_type.trim().to_ascii_uppercase().as_str(),
            status_code.trim().to_ascii_uppercase().as_str(),
        ) {
            ("D", _) | (_, "FS") | (_, "KB") | (_, "KM") => Milestone::Delivered,
            ("MV", _) => Milestone::Voided,
            ("RS", _) => Milestone::Returned,
            ("X", _) => Milestone::Exception,
            ("O", _) | (_, "OT") | (_, "OF") => Milestone::OutForDelivery,
            ("M", _) | (_, "MP") => Milestone::LabelCreated,
            ("P", _) | (_, "OR") | (_, "YP") => Milestone::PickedUp,
            _ => Milestone::InTransit,
        }
    }

    /// Final: no further tracking needed.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Milestone::Delivered | Milestone::Returned | Milestone::Voided
        )
    }

    /// Human label, as written to the ERP.
    pub fn label(self) -> &'static str {
        match self {
            Milestone::LabelCreated => "Label Created",
            Milestone::PickedUp => "Picked Up",
            Milestone::InTransit => "In Transit",
            Milestone::OutForDelivery => "Out for Delivery",
            Milestone::Exception => "Exception",
            Milestone::Delivered => "Delivered",
            Milestone::Returned => "Returned",
            Milestone::Voided => "Voided",
        }
    }
}

impl std::fmt::Display for Milestone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_ups_statuses() {
        assert_eq!(Milestone::from_ups("M", "MP"), Milestone::LabelCreated);
        assert_eq!(Milestone::from_ups("P", "OR"), Milestone::PickedUp);
        assert_eq!(Milestone::from_ups("I", "DP"), Milestone::InTransit);
        assert_eq!(Milestone::from_ups("I", "OT"), Milestone::OutForDelivery);
        assert_eq!(Milestone::from_ups("D", "FS"), Milestone::Delivered);
        assert_eq!(Milestone::from_ups("X", "X1"), Milestone::Exception);
        assert_eq!(Milestone::from_ups("RS", "RS"), Milestone::Returned);
        assert_eq!(Milestone::from_ups("MV", "MV"), Milestone::Voided);
        assert!(Milestone::Delivered.is_terminal());
        assert!(!Milestone::OutForDelivery.is_terminal());
    }
}
