//! Typed UPS errors: what went wrong, UPS's own code/message/HTTP status, the field UPS
//! named, the four-way [`ErrorClass`] and a stable `code()` written back to the ERP.
//!
//! UPS-REFERENCE §0.2 (error envelope), §0.3 (statuses), §10 (codes seen in practice).
//! Never put a secret, token, full address or label bytes in an error: messages carry
//! UPS's code and text, ids and field paths only.

use chrono::NaiveDate;
use serde::Serialize;
use std::fmt;

use super::build::BuildProblem;
use crate::model::ErrorClass;

/// One UPS API (one quota, one product in the UPS developer portal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    Token,
    AddressValidation,
    Rating,
    Ship,
    Void,
    LabelRecovery,
    Track,
    TrackAlert,
}

impl Api {
    pub const ALL: [Api; 8] = [
        Api::Token,
        Api::AddressValidation,
        Api::Rating,
        Api::Ship,
        Api::Void,
        Api::LabelRecovery,
        Api::Track,
        Api::TrackAlert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Api::Token => "token",
            Api::AddressValidation => "address_validation",
            Api::Rating => "rating",
            Api::Ship => "ship",
            Api::Void => "void",
            Api::LabelRecovery => "label_recovery",
            Api::Track => "track",
            Api::TrackAlert => "track_alert",
        }
    }

    /// The API product name as the UPS developer portal lists it (what to add to the app).
    pub fn product(self) -> &'static str {
        match self {
            Api::Token => "OAuth Client Credentials",
            Api::AddressValidation => "Address Validation",
            Api::Rating => "Rating",
            Api::Ship | Api::Void | Api::LabelRecovery => "Shipping",
            Api::Track => "Tracking",
            Api::TrackAlert => "Track Alert",
        }
    }

    /// Safe to repeat after a 5xx/connection error: everything except Ship.
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Api::Ship)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of UPS's `{"response":{"errors":[{code, message}]}}` envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UpsFault {
    pub code: String,
    pub message: String,
    /// The request field the message names (`Shipment.Shipper.ShipperNumber`), if any.
    pub field: Option<String>,
}

/// Everything that can go wrong talking to UPS.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpsError {
    /// UPS answered 4xx with its error envelope: the request as sent is not acceptable.
    #[error("UPS {api} rejected the request (HTTP {status}, code {code}): {message}{}", field_suffix(.field))]
    Rejected {
        api: Api,
        status: u16,
        code: String,
        message: String,
        field: Option<String>,
        /// Every fault UPS listed (the first is in `code`/`message`).
        faults: Vec<UpsFault>,
    },
    /// Credentials or token rejected even after one fresh token.
    #[error("UPS {api}: authentication failed (HTTP {status}, code {code}: {message}); a fresh token did not help. Check the client id/secret, and that the UPS app has the \"{product}\" API product enabled", status = .status.map(|s| s.to_string()).unwrap_or_else(|| "-".into()), product = .api.product())]
    Auth {
        api: Api,
        status: Option<u16>,
        code: String,
        message: String,
    },
    /// 429 after the configured attempts (or at once for Ship, which is never retried here).
    /// The request was not processed by UPS.
    #[error("UPS {api} rate limit (HTTP 429) after {attempts} attempt(s); lower the quota or retry later")]
    RateLimited { api: Api, attempts: u32 },
    /// 5xx or connection failure of a call that is safe to repeat, after the configured attempts.
    #[error("UPS {api} unavailable after {attempts} attempt(s): {detail}; retry later")]
    Unavailable {
        api: Api,
        status: Option<u16>,
        code: Option<String>,
        detail: String,
        attempts: u32,
    },
    /// A Ship that may have reached UPS got no usable answer (timeout after send, connection
    /// reset, 5xx, unreadable 200). Do NOT ship again: reconcile (Track by reference, Label
    /// Recovery) first.
    #[error("UPS {api}: outcome unknown ({reason}); the shipment may exist at UPS: reconcile by reference before shipping again")]
    OutcomeUnknown {
        api: Api,
        status: Option<u16>,
        reason: String,
    },
    /// The daily token budget for this credential would be exceeded.
    #[error("UPS token budget exhausted for client {credential} on {day}: {used} of {budget} token requests used today (UTC); raise token_budget_per_day or wait until tomorrow")]
    TokenBudgetExhausted {
        credential: String,
        day: NaiveDate,
        used: u32,
        budget: u32,
    },
    /// The request failed local checks; nothing was sent.
    #[error("UPS {api} request not sent: {}", problems_text(.problems))]
    Invalid {
        api: Api,
        problems: Vec<BuildProblem>,
    },
    /// UPS answered something this client cannot read.
    #[error("UPS {api}: unexpected response (HTTP {status}): {detail}")]
    Protocol {
        api: Api,
        status: u16,
        detail: String,
    },
    /// The client is configured wrongly (bad base URL, unknown API version).
    #[error("UPS client configuration: {0}")]
    Config(String),
}

fn field_suffix(f: &Option<String>) -> String {
    f.as_ref()
        .map(|f| format!(" [field {f}]"))
        .unwrap_or_default()
}

fn problems_text(p: &[BuildProblem]) -> String {
    p.iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl UpsError {
    /// What the pipeline should do with this failure.
    pub fn class(&self) -> ErrorClass {
        match self {
            UpsError::Rejected { status, .. } => match *status {
                403..=405 => ErrorClass::Config,
                _ => ErrorClass::Business,
            },
            UpsError::Auth { .. } => ErrorClass::Auth,
            UpsError::RateLimited { .. }
            | UpsError::Unavailable { .. }
            | UpsError::OutcomeUnknown { .. }
            | UpsError::Protocol { .. } => ErrorClass::Transient,
            UpsError::TokenBudgetExhausted { .. } | UpsError::Config(_) => ErrorClass::Config,
            UpsError::Invalid { .. } => ErrorClass::Business,
        }
    }

    /// A stable code for dashboards and ERP write-back (`ups_address_invalid`, …).
    pub fn code(&self) -> &'static str {
        match self {
            UpsError::Rejected {
                status,
                code,
                message,
                field,
                ..
            } => rejection_code(*status, code, message, field.as_deref()),
            UpsError::Auth { .. } => "ups_auth",
            UpsError::RateLimited { .. } => "ups_rate_limited",
            UpsError::Unavailable { .. } => "ups_unavailable",
            UpsError::OutcomeUnknown { .. } => "ups_outcome_unknown",
            UpsError::TokenBudgetExhausted { .. } => "ups_token_budget_exhausted",
            UpsError::Invalid { problems, .. } => {
                let f = problems.first().map(|p| p.field.as_str()).unwrap_or("");
                local_code(f)
            }
            UpsError::Protocol { .. } => "ups_bad_response",
            UpsError::Config(_) => "ups_config",
        }
    }

    /// UPS's own error code, when UPS sent one.
    pub fn ups_code(&self) -> Option<&str> {
        match self {
            UpsError::Rejected { code, .. } | UpsError::Auth { code, .. } => Some(code),
            UpsError::Unavailable { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The request field UPS named, when it did.
    pub fn field(&self) -> Option<&str> {
        match self {
            UpsError::Rejected { field, .. } => field.as_deref(),
            UpsError::Invalid { problems, .. } => problems.first().map(|p| p.field.as_str()),
            _ => None,
        }
    }

    /// HTTP status UPS answered with, when there was an answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            UpsError::Rejected { status, .. } | UpsError::Protocol { status, .. } => Some(*status),
            UpsError::Auth { status, .. }
            | UpsError::Unavailable { status, .. }
            | UpsError::OutcomeUnknown { status, .. } => *status,
            UpsError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// True for [`UpsError::OutcomeUnknown`]: the ledger must reconcile before any new Ship.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, UpsError::OutcomeUnknown { .. })
    }
}

fn local_code(field: &str) -> &'static str {
    if field.contains("ReferenceNumber") {
        "ups_reference_not_allowed"
    } else if field.contains("Service") {
        "ups_service_invalid"
    } else if field.contains("Weight") {
        "ups_package_weight_invalid"
    } else if field.contains("Address") {
        "ups_address_invalid"
    } else {
        "ups_request_invalid"
    }
}

fn rejection_code(status: u16, code: &str, message: &str, field: Option<&str>) -> &'static str {
    let m = message.to_ascii_lowercase();
    let f = field.unwrap_or("");
    match code {
        "120801" | "120802" | "120202" | "120206" | "120208" => return "ups_address_invalid",
        "121100" | "111100" | "120051" | "111210" => return "ups_service_invalid",
        "120100" => return "ups_shipper_number_invalid",
        "120541" => return "ups_reference_not_allowed",
        "120105" => return "ups_field_too_long",
        "120519" => return "ups_package_count_invalid",
        "120612" => return "ups_package_weight_invalid",
        "120413" => return "ups_label_spec_invalid",
        "190100" | "TV1002" => return "ups_tracking_number_invalid",
        "190102" => return "ups_void_not_allowed",
        "190202" => return "ups_label_not_found",
        "264002" => return "ups_address_not_covered",
        "9264028" | "10001" => return "ups_request_invalid",
        _ => {}
    }
    if status == 403 {
        return "ups_blocked_merchant";
    }
    if status == 404 || status == 405 {
        return "ups_endpoint_not_found";
    }
    if f.contains("ReferenceNumber") || m.contains("reference number") {
        "ups_reference_not_allowed"
    } else if f.contains("ShipperNumber") || m.contains("shipper number") {
        "ups_shipper_number_invalid"
    } else if f.contains("Service") || m.contains("service") {
        "ups_service_invalid"
    } else if f.contains("Address") || m.contains("address") {
        "ups_address_invalid"
    } else if f.contains("Weight") || m.contains("weight") {
        "ups_package_weight_invalid"
    } else if m.contains("void") {
        "ups_void_rejected"
    } else if code == "10002" || m.contains("schema") {
        "ups_request_invalid"
    } else {
        "ups_rejected"
    }
}

/// Find a request field path in a UPS message: a dotted PascalCase path
/// (`Shipment.Shipper.ShipperNumber`, `ShipmentRequest.Shipment.Package[0].ReferenceNumber`)
/// or a JSON pointer (`/ShipmentRequest/Shipment/Shipper`). Returns it dotted.
pub fn field_in_message(message: &str) -> Option<String> {
    let is_seg = |seg: &str| {
        let base = seg.split('[').next().unwrap_or("");
        let mut cs = base.chars();
        matches!(cs.next(), Some(c) if c.is_ascii_uppercase())
            && base.chars().all(|c| c.is_ascii_alphanumeric())
    };
    for raw in message.split(|c: char| c.is_whitespace() || "'\"(),;`".contains(c)) {
        let tok = raw.trim_end_matches([':', '.']);
        if tok.starts_with('/') {
            let segs: Vec<&str> = tok.trim_start_matches('/').split('/').collect();
            if segs.len() >= 2 && segs.iter().all(|s| is_seg(s) || s.parse::<usize>().is_ok()) {
                let mut out = String::new();
                for s in segs {
                    if let Ok(n) = s.parse::<usize>() {
                        out.push_str(&format!("[{n}]"));
                    } else {
                        if !out.is_empty() {
                            out.push('.');
                        }
                        out.push_str(s);
                    }
                }
                return Some(out);
            }
            continue;
        }
        let segs: Vec<&str> = tok.split('.').collect();
        if segs.len() >= 2 && segs.iter().all(|s| is_seg(s)) {
            return Some(tok.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_field_paths_in_messages() {
        assert_eq!(
            field_in_message("Missing or invalid shipper number: Shipment.Shipper.ShipperNumber"),
            Some("Shipment.Shipper.ShipperNumber".into())
        );
        assert_eq!(
            field_in_message(
                "'/ShipmentRequest/Shipment/Package/0/ReferenceNumber' is not allowed"
            ),
            Some("ShipmentRequest.Shipment.Package[0].ReferenceNumber".into())
        );
        assert_eq!(
            field_in_message("Reference number not allowed at ShipmentRequest.Shipment.Package[1].ReferenceNumber."),
            Some("ShipmentRequest.Shipment.Package[1].ReferenceNumber".into())
        );
        assert_eq!(
            field_in_message("Invalid Authentication Information."),
            None
        );
        assert_eq!(field_in_message("e.g. something"), None);
    }

    #[test]
    fn classes_and_codes_are_stable() {
        let e = UpsError::Rejected {
            api: Api::Ship,
            status: 400,
            code: "120802".into(),
            message: "Address Validation Error on ShipTo address".into(),
            field: None,
            faults: vec![],
        };
        assert_eq!(e.class(), ErrorClass::Business);
        assert_eq!(e.code(), "ups_address_invalid");
        let e = UpsError::Rejected {
            api: Api::Ship,
            status: 400,
            code: "120541".into(),
            message: "Reference number not allowed for this lane".into(),
            field: Some("Shipment.Package[0].ReferenceNumber".into()),
            faults: vec![],
        };
        assert_eq!(e.code(), "ups_reference_not_allowed");
        assert!(e
            .to_string()
            .contains("Shipment.Package[0].ReferenceNumber"));
        let e = UpsError::Auth {
            api: Api::Track,
            status: Some(401),
            code: "250002".into(),
            message: "Invalid Authentication Information.".into(),
        };
        assert_eq!(e.class(), ErrorClass::Auth);
        assert!(e.to_string().contains("\"Tracking\" API product"));
        let e = UpsError::OutcomeUnknown {
            api: Api::Ship,
            status: None,
            reason: "connection reset".into(),
        };
        assert_eq!(e.class(), ErrorClass::Transient);
        assert_eq!(e.code(), "ups_outcome_unknown");
        assert!(e.is_outcome_unknown());
    }
}
