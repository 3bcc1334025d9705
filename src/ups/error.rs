//! Typed UPS errors: what went wrong, UPS's own code/message/HTTP status, the field UPS
//! named, the four-way [`ErrorClass`] and a stable `code()` written back to the ERP.
//!
//! UPS-REFERENCE §0.2 (error envelope), §0.3 (statuses), §10 (codes seen in practice).
//!
//! UPS uses one code for several fields (`120802`: ShipTo/Shipper postal or state code,
//! cross-border phone, description, attention …), so those rejections are classified by
//! the field the message names ([`named_field`]): `ups_shipto_address_invalid` (the
//! record's data: business) vs `ups_shipper_address_invalid` (the mapping's `ship_from`
//! entry: config), `ups_phone_required`, `ups_attention_required`,
//! `ups_description_required`, `ups_international_forms_invalid`, each with a fix.
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
    QuantumView,
    /// Paperless Document upload and push (issue 20).
    Paperless,
    /// Pickup: creation, pending status, cancel (Pickup.yaml).
    Pickup,
}

impl Api {
    pub const ALL: [Api; 11] = [
        Api::Token,
        Api::AddressValidation,
        Api::Rating,
        Api::Ship,
        Api::Void,
        Api::LabelRecovery,
        Api::Track,
        Api::TrackAlert,
        Api::QuantumView,
        Api::Paperless,
        Api::Pickup,
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
            Api::QuantumView => "quantum_view",
            Api::Paperless => "paperless",
            Api::Pickup => "pickup",
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
            Api::QuantumView => "Quantum View",
            Api::Paperless => "Paperless Document",
            Api::Pickup => "Pickup",
        }
    }

    /// Safe to repeat after a 5xx/connection error: everything except Ship and Pickup
    /// (a creation may have booked; dispatch reconciles with the pending list instead).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Api::Ship | Api::Pickup)
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
    #[error("UPS {api} rejected the request (HTTP {status}, code {code}): {message}{}", rejection_suffix(*.status, .code, .message, .field))]
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

/// ` [field F]` (UPS's path, else the field its words name) and `; fix: …` when known.
fn rejection_suffix(status: u16, code: &str, message: &str, field: &Option<String>) -> String {
    let named = rejection(status, code, message, field.as_deref()).1;
    let mut out = String::new();
    if let Some(f) = field.as_deref().or(named.map(|n| n.field)) {
        out.push_str(&format!(" [field {f}]"));
    }
    if let Some(n) = named {
        out.push_str(&format!("; fix: {}", n.fix));
    }
    out
}

fn problems_text(p: &[BuildProblem]) -> String {
    p.iter()
        .map(|p| format!("{}: {}", p.field, p.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl UpsError {
    /// What the pipeline should do with this failure. A rejection naming the Shipper (or
    /// ShipFrom) address, phone or attention is the admin's configuration (the mapping's
    /// `ship_from` entry), one naming the ShipTo is the record's data ([`named_field`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            UpsError::Rejected {
                status,
                code,
                message,
                field,
                ..
            } => match *status {
                403..=405 => ErrorClass::Config,
                _ if code == SUB_VERSION_INVALID => ErrorClass::Config,
                s => rejection(s, code, message, field.as_deref())
                    .1
                    .map(|n| n.class)
                    .unwrap_or(ErrorClass::Business),
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
            } => rejection(*status, code, message, field.as_deref()).0,
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

    /// The request field UPS named: the dotted path in its message when there is one, else
    /// the field its words name ("ship to StateProvinceCode" → `Shipment.ShipTo.Address`).
    pub fn field(&self) -> Option<&str> {
        match self {
            UpsError::Rejected {
                field,
                code,
                message,
                status,
                ..
            } => field
                .as_deref()
                .or_else(|| rejection(*status, code, message, None).1.map(|n| n.field)),
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

    /// What to do about a rejection whose field is known (written with the code).
    pub fn fix(&self) -> Option<&'static str> {
        match self {
            UpsError::Rejected {
                status,
                code,
                message,
                field,
                ..
            } => rejection(*status, code, message, field.as_deref())
                .1
                .map(|n| n.fix),
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

/// The code a strict UPS simulator answers for a malformed `Request.SubVersion` (modelled;
/// see `sim::ups::schema::SUB_VERSION_INVALID`). The client never sends one.
const SUB_VERSION_INVALID: &str = "9120200";

/// Which party a UPS message is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Shipper,
    ShipTo,
    ShipFrom,
}

/// What a party/address rejection is about, read from the field UPS names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedField {
    /// Stable code (`ups_shipto_address_invalid`, `ups_attention_required`, …).
    pub code: &'static str,
    /// Business for the record's data (ShipTo, description), Config for the account's
    /// (Shipper/ShipFrom from the mapping's `ship_from` entry).
    pub class: ErrorClass,
    /// The request field, dotted (`Shipment.ShipTo.Address`).
    pub field: &'static str,
    /// What to do.
    pub fix: &'static str,
    pub party: Option<Party>,
}

/// Codes UPS shares between several fields: `120801`/`120802` (Shipper/ShipTo address
/// error, UPS-REFERENCE §10) and their neighbours `1202xx` (missing or invalid party
/// fields) and `1208xx`. For these the code alone does not say which field is wrong.
fn shared_party_code(code: &str) -> bool {
    code.len() == 6 && (code.starts_with("1208") || code.starts_with("1202"))
}

/// Position of the first of `words` in `m`.
fn first_of(m: &str, words: &[&str]) -> Option<usize> {
    words.iter().filter_map(|w| m.find(w)).min()
}

/// Read which party and field a UPS rejection names, for the codes UPS shares between
/// fields (120802 covers ShipTo/Shipper postal and state codes, the cross-border phone,
/// the description, the attention name …) and for unknown codes whose message names a
/// party field. UPS's messages name the party in words ("Missing or invalid ship to
/// StateProvinceCode", "Invalid or missing Shipper AttentionName"), sometimes as a dotted
/// path; both are read. `None` when the message names no such field.
pub fn named_field(message: &str, field: Option<&str>) -> Option<NamedField> {
    let text = format!("{} {}", message, field.unwrap_or("")).to_ascii_lowercase();
    // "shipper number" is the account, not the Shipper's address (own code, 120100).
    if text.contains("shipper number") || text.contains("shippernumber") {
        return None;
    }
    let candidates = [
        (
            first_of(&text, &["ship to", "shipto", "ship-to"]),
            Party::ShipTo,
        ),
        (
            first_of(&text, &["ship from", "shipfrom", "ship-from"]),
            Party::ShipFrom,
        ),
        (first_of(&text, &["shipper"]), Party::Shipper),
    ];
    let party = candidates
        .iter()
        .filter_map(|(pos, p)| pos.map(|x| (x, *p)))
        .min_by_key(|(x, _)| *x)
        .map(|(_, p)| p);
    let admin = matches!(party, Some(Party::Shipper | Party::ShipFrom));
    let class = if admin {
        ErrorClass::Config
    } else {
        ErrorClass::Business
    };
    let pick = |shipper: &'static str, ship_from: &'static str, ship_to: &'static str| match party {
        Some(Party::Shipper) => shipper,
        Some(Party::ShipFrom) => ship_from,
        _ => ship_to,
    };
    let named = if text.contains("attention") {
        NamedField {
            code: "ups_attention_required",
            class,
            field: pick(
                "Shipment.Shipper.AttentionName",
                "Shipment.ShipFrom.AttentionName",
                "Shipment.ShipTo.AttentionName",
            ),
            fix: if admin {
                "add `attention:` (a contact name) to the ship_from entry of the mapping; UPS requires the Shipper's attention name for international shipments"
            } else {
                "fill in the ship-to attention/contact name in the ERP record, or map one (e.g. `first_non_empty: [Attention, BusinessName]`)"
            },
            party,
        }
    } else if text.contains("phone") {
        NamedField {
            code: "ups_phone_required",
            class,
            field: pick(
                "Shipment.Shipper.Phone.Number",
                "Shipment.ShipFrom.Phone.Number",
                "Shipment.ShipTo.Phone.Number",
            ),
            fix: if admin {
                "add `phone:` (10–15 digits) to the ship_from entry of the mapping"
            } else {
                "fill in the ship-to phone number (10–15 digits) in the ERP record; UPS requires it for international shipments"
            },
            party,
        }
    } else if text.contains("internationalforms") || text.contains("invoice") {
        NamedField {
            code: "ups_international_forms_invalid",
            class: ErrorClass::Business,
            field: "Shipment.ShipmentServiceOptions.InternationalForms",
            fix: "complete the customs lines (description, quantity, value) of the ERP record, or correct the form types in the mapping",
            party,
        }
    } else if text.contains("description") && party.is_none() {
        NamedField {
            code: "ups_description_required",
            class: ErrorClass::Business,
            field: "Shipment.Description",
            fix: "fill in a description of the goods (≤50 characters) in the ERP record, or map one; UPS requires it for international shipments",
            party,
        }
    } else if first_of(
        &text,
        &[
            "stateprovince",
            "state",
            "province",
            "postal",
            "postcode",
            "zip",
            "city",
            "country",
            "address",
        ],
    )
    .is_some()
    {
        match party {
            Some(Party::ShipTo) => NamedField {
                code: "ups_shipto_address_invalid",
                class,
                field: "Shipment.ShipTo.Address",
                fix: "correct the ship-to address (state/province and postal code must fit the country) in the ERP record",
                party,
            },
            Some(Party::Shipper) => NamedField {
                code: "ups_shipper_address_invalid",
                class,
                field: "Shipment.Shipper.Address",
                fix: "correct the address of the ship_from entry in the mapping (state/province and postal code must fit the country)",
                party,
            },
            Some(Party::ShipFrom) => NamedField {
                code: "ups_shipfrom_address_invalid",
                class,
                field: "Shipment.ShipFrom.Address",
                fix: "correct the ship-from address in the mapping (state/province and postal code must fit the country)",
                party,
            },
            // UPS did not say whose address: the generic code, no field.
            None => return None,
        }
    } else {
        return None;
    };
    Some(named)
}

/// Codes with one meaning whatever the message says.
fn rejection_table(code: &str) -> Option<&'static str> {
    Some(match code {
        "121100" | "111100" | "120051" | "111210" => "ups_service_invalid",
        "120100" => "ups_shipper_number_invalid",
        "120541" => "ups_reference_not_allowed",
        "120105" => "ups_field_too_long",
        "120519" => "ups_package_count_invalid",
        "120612" => "ups_package_weight_invalid",
        "120413" => "ups_label_spec_invalid",
        "190100" | "TV1002" => "ups_tracking_number_invalid",
        "190102" => "ups_void_not_allowed",
        "190202" => "ups_label_not_found",
        "264002" => "ups_address_not_covered",
        SUB_VERSION_INVALID => "ups_subversion_invalid",
        "9264028" | "10001" => "ups_request_invalid",
        _ => return None,
    })
}

/// The stable code of a rejection and, when UPS named a party field, what it named.
///
/// Codes UPS shares between fields (120802 …) are classified by the field the message
/// names; codes with one meaning by the table; unknown codes by the words of the message.
fn rejection(
    status: u16,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> (&'static str, Option<NamedField>) {
    if shared_party_code(code) {
        return match named_field(message, field) {
            Some(n) => (n.code, Some(n)),
            None => ("ups_address_invalid", None),
        };
    }
    if let Some(c) = rejection_table(code) {
        return (c, None);
    }
    if status == 403 {
        return ("ups_blocked_merchant", None);
    }
    if status == 404 || status == 405 {
        return ("ups_endpoint_not_found", None);
    }
    let m = message.to_ascii_lowercase();
    let f = field.unwrap_or("");
    let c = if f.contains("ReferenceNumber") || m.contains("reference number") {
        "ups_reference_not_allowed"
    } else if f.contains("ShipperNumber") || m.contains("shipper number") {
        "ups_shipper_number_invalid"
    } else if f.contains("Service") || m.contains("service") {
        "ups_service_invalid"
    } else if let Some(n) = named_field(message, field).filter(|n| n.party.is_some()) {
        return (n.code, Some(n));
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
    };
    (c, None)
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

    fn rejected(code: &str, message: &str) -> UpsError {
        UpsError::Rejected {
            api: Api::Ship,
            status: 400,
            code: code.into(),
            message: message.into(),
            field: field_in_message(message),
            faults: vec![],
        }
    }

    /// Guards issue 15 item 6: UPS uses 120802 (and its neighbours) for several fields, so
    /// the code and class come from the field the message names. Before, every one of
    /// these was `ups_address_invalid` / Business, whatever field UPS named.
    #[test]
    fn shared_codes_are_classified_by_the_field_ups_names() {
        use ErrorClass::{Business, Config};
        let cases = [
            ("120802", "Missing or invalid ship to StateProvinceCode for country US", "ups_shipto_address_invalid", Business, "Shipment.ShipTo.Address"),
            ("120802", "Missing or invalid shipper PostalCode (5 or 9 digits) for country US", "ups_shipper_address_invalid", Config, "Shipment.Shipper.Address"),
            ("120801", "Address Validation Error on Shipper address", "ups_shipper_address_invalid", Config, "Shipment.Shipper.Address"),
            ("120802", "Missing or invalid ship from PostalCode", "ups_shipfrom_address_invalid", Config, "Shipment.ShipFrom.Address"),
            ("120802", "Missing or invalid ship to phone number: required for international shipments", "ups_phone_required", Business, "Shipment.ShipTo.Phone.Number"),
            ("120802", "Missing or invalid shipment Description of goods: required for international shipments", "ups_description_required", Business, "Shipment.Description"),
            ("120802", "Invalid or missing Shipper AttentionName: required if destination is international", "ups_attention_required", Config, "Shipment.Shipper.AttentionName"),
            ("120802", "Missing or invalid ship to AttentionName", "ups_attention_required", Business, "Shipment.ShipTo.AttentionName"),
            ("120206", "Missing or invalid ship to StateProvinceCode", "ups_shipto_address_invalid", Business, "Shipment.ShipTo.Address"),
            ("120802", "ShipmentRequest.Shipment.ShipmentServiceOptions.InternationalForms.FormType: Invoice (01) and Partial Invoice (05) are mutually exclusive", "ups_international_forms_invalid", Business, "ShipmentRequest.Shipment.ShipmentServiceOptions.InternationalForms.FormType"),
            // A dotted path in the message names the party too.
            ("120802", "Invalid value: ShipmentRequest.Shipment.ShipTo.Address.PostalCode", "ups_shipto_address_invalid", Business, "ShipmentRequest.Shipment.ShipTo.Address.PostalCode"),
            // The shared code with nothing recognisable keeps the generic code.
            ("120802", "Address error", "ups_address_invalid", Business, ""),
            // "Shipper's shipper number" is the account, not the Shipper address.
            ("120100", "Shipper's shipper number cannot be used for the shipment", "ups_shipper_number_invalid", Business, ""),
        ];
        for (code, msg, want, class, field) in cases {
            let e = rejected(code, msg);
            assert_eq!(e.code(), want, "{msg}");
            assert_eq!(e.class(), class, "{msg}");
            assert_eq!(e.field().unwrap_or(""), field, "{msg}");
            if want != "ups_address_invalid" && want != "ups_shipper_number_invalid" {
                assert!(e.fix().is_some(), "{msg}");
                assert!(e.to_string().contains("; fix: "), "{e}");
            }
        }
        // Unknown code: the message's words still name the party field.
        let e = rejected("129999", "Missing or invalid ship to phone number");
        assert_eq!(e.code(), "ups_phone_required");
        // A malformed SubVersion is our configuration.
        let e = rejected(
            "9120200",
            "Invalid SubVersion: ShipmentRequest.Request.SubVersion must be a release as YYMM",
        );
        assert_eq!((e.code(), e.class()), ("ups_subversion_invalid", Config));
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
        assert_eq!(e.code(), "ups_shipto_address_invalid");
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
