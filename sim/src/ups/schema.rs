//! JSON Schema validation of request bodies against UPS's vendored OpenAPI documents
//! (`spec/*.yaml`, embedded with `include_str!`).
//!
//! Each operation's request schema (`SHIPRequestWrapper`, `RATERequestWrapper`, …) is
//! compiled ONCE (process-wide [`OnceLock`]) from the file's `components/schemas`, after the
//! load-time corrections listed in [`PATCHES`] and the OpenAPI `nullable` rewrite. A valid
//! body costs one `is_valid` walk; only invalid bodies pay for error collection.
//!
//! Strict mode rejects every violation. Lenient mode tolerates what production UPS is
//! known to accept from widely used clients (a single object or string where an array is
//! declared: the body is rewritten to the array form; an over-long numeric or date string)
//! and returns each tolerance so the handler can report it as an `Alert` warning.
//!
//! [`sub_version`] reads `Request.SubVersion` of Ship and Rate before the schema check:
//! it decides the response shapes (UPS-REFERENCE §0.1, §2.1), and a malformed one is refused
//! (strict) or tolerated as the newest release (lenient).
//!
//! Never put instance values in messages: they can hold names and addresses.

use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{JsonType, Validator};
use serde_json::{json, Value};

/// The vendored YAML documents (tabs replaced, LF line endings: see `spec/README.md`).
pub mod spec {
    pub const OAUTH: &str = include_str!("spec/OAuthClientCredentials.yaml");
    pub const OAUTH_AUTH_CODE: &str = include_str!("spec/OAuthAuthCode.yaml");
    pub const SHIPPING: &str = include_str!("spec/Shipping.yaml");
    pub const RATING: &str = include_str!("spec/Rating.yaml");
    pub const ADDRESS_VALIDATION: &str = include_str!("spec/AddressValidation.yaml");
    pub const TRACKING: &str = include_str!("spec/Tracking.yaml");
    pub const TRACK_ALERT: &str = include_str!("spec/UPSTrackAlert.yaml");
    pub const QUANTUM_VIEW: &str = include_str!("spec/QuantumView.yaml");
    pub const PAPERLESS: &str = include_str!("spec/Paperless.yaml");
    pub const PICKUP: &str = include_str!("spec/Pickup.yaml");
    pub const LICENSE: &str = include_str!("spec/LICENSE");
}

/// Load-time corrections of known spec bugs: (file, schema, field removed from `required`).
pub const PATCHES: &[(&str, &str, &str)] = &[
    // The spec's GIF example omits it; required only for ZPL/EPL/SPL (business rule).
    (
        "Shipping.yaml",
        "ShipmentRequest_LabelSpecification",
        "LabelStockSize",
    ),
    // Roadie-only keys marked required; the standard example sends only TrackingNumber.
    ("Shipping.yaml", "LabelRecoveryRequest", "TrackingNumbers"),
    ("Shipping.yaml", "LabelRecoveryRequest", "ReferenceValues"),
    // Not a property (it is the {requestoption} path segment); examples never send it.
    ("Rating.yaml", "RateRequest_Request", "RequestOption"),
];

/// Load-time corrections of wrong lengths: (file, schema, property, keyword, new value).
pub const LENGTH_PATCHES: &[(&str, &str, &str, &str, u64)] = &[
    // `Service.Code` is declared with length 3, but the service codes are 2 characters.
    ("Rating.yaml", "Shipment_Service", "Code", "minLength", 2),
    // Label Recovery image format declared with length 4; the codes are GIF/PNG/ZPL/EPL/SPL/PDF.
    (
        "Shipping.yaml",
        "LabelRecovery_LabelSpecification_LabelImageFormat",
        "Code",
        "minLength",
        3,
    ),
    // `PickupDate` is `yyyyMMdd` but declared with length 4 (UPS-REFERENCE §9).
    (
        "Pickup.yaml",
        "PickupCreationRequest_PickupDateInfo",
        "PickupDate",
        "minLength",
        8,
    ),
    (
        "Pickup.yaml",
        "PickupCreationRequest_PickupDateInfo",
        "PickupDate",
        "maxLength",
        8,
    ),
    // `TotalWeight.Weight` is declared with exactly 6 characters while the spec's own
    // example sends "5.5": both are accepted (upsync sends a zero-padded "0005.5").
    (
        "Pickup.yaml",
        "PickupCreationRequest_TotalWeight",
        "Weight",
        "minLength",
        1,
    ),
    // `RequestAction` is declared with length 11, but its only valid value `QVEvents` has 8.
    (
        "QuantumView.yaml",
        "QuantumViewRequest_Request",
        "RequestAction",
        "minLength",
        8,
    ),
];

/// An operation whose request body has a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySchema {
    Token,
    /// `POST /security/v1/oauth/token` of the authorization-code flow (OAuthAuthCode.yaml).
    AuthCodeToken,
    /// `POST /security/v1/oauth/refresh` (OAuthAuthCode.yaml).
    Refresh,
    Ship,
    LabelRecovery,
    Rate,
    Xav,
    TrackAlertPackage,
    QuantumView,
    /// Paperless Document upload (`PAPERLESSDOCUMENTUploadRequestWrapper`).
    PaperlessUpload,
    /// Paperless Document push to image repository (`PAPERLESSDOCUMENTRequestWrapper`).
    PaperlessPush,
    /// Pickup creation (`PICKUPCreationRequestWrapper`).
    PickupCreation,
}

impl BodySchema {
    fn source(self) -> (&'static str, &'static str, Root) {
        match self {
            BodySchema::Token => (
                "OAuthClientCredentials.yaml",
                spec::OAUTH,
                Root::FormBody("/paths/~1security~1v1~1oauth~1token/post"),
            ),
            BodySchema::AuthCodeToken => (
                "OAuthAuthCode.yaml",
                spec::OAUTH_AUTH_CODE,
                Root::FormBody("/paths/~1v1~1oauth~1token/post"),
            ),
            BodySchema::Refresh => (
                "OAuthAuthCode.yaml",
                spec::OAUTH_AUTH_CODE,
                Root::FormBody("/paths/~1v1~1oauth~1refresh/post"),
            ),
            BodySchema::Ship => (
                "Shipping.yaml",
                spec::SHIPPING,
                Root::Component("SHIPRequestWrapper"),
            ),
            BodySchema::LabelRecovery => (
                "Shipping.yaml",
                spec::SHIPPING,
                Root::Component("LABELRECOVERYRequestWrapper"),
            ),
            BodySchema::Rate => (
                "Rating.yaml",
                spec::RATING,
                Root::Component("RATERequestWrapper"),
            ),
            BodySchema::Xav => (
                "AddressValidation.yaml",
                spec::ADDRESS_VALIDATION,
                Root::Component("XAVRequestWrapper"),
            ),
            BodySchema::TrackAlertPackage => (
                "UPSTrackAlert.yaml",
                spec::TRACK_ALERT,
                Root::Component("PackageSubscriptionRequest"),
            ),
            BodySchema::QuantumView => (
                "QuantumView.yaml",
                spec::QUANTUM_VIEW,
                Root::Component("QUANTUMVIEWRequestWrapper"),
            ),
            BodySchema::PaperlessUpload => (
                "Paperless.yaml",
                spec::PAPERLESS,
                Root::Component("PAPERLESSDOCUMENTUploadRequestWrapper"),
            ),
            BodySchema::PaperlessPush => (
                "Paperless.yaml",
                spec::PAPERLESS,
                Root::Component("PAPERLESSDOCUMENTRequestWrapper"),
            ),
            BodySchema::PickupCreation => (
                "Pickup.yaml",
                spec::PICKUP,
                Root::Component("PICKUPCreationRequestWrapper"),
            ),
        }
    }

    const ALL: [BodySchema; 12] = [
        BodySchema::Token,
        BodySchema::AuthCodeToken,
        BodySchema::Refresh,
        BodySchema::Ship,
        BodySchema::LabelRecovery,
        BodySchema::Rate,
        BodySchema::Xav,
        BodySchema::TrackAlertPackage,
        BodySchema::QuantumView,
        BodySchema::PaperlessUpload,
        BodySchema::PaperlessPush,
        BodySchema::PickupCreation,
    ];

    fn index(self) -> usize {
        BodySchema::ALL
            .iter()
            .position(|s| *s == self)
            .expect("every schema is in ALL")
    }
}

enum Root {
    Component(&'static str),
    /// OAuth form bodies: the schema is inline in the operation's requestBody (the
    /// JSON pointer of the operation).
    FormBody(&'static str),
}

/// One schema violation, with the field path in UPS's dotted form
/// (`ShipmentRequest.Shipment.Package[0].Packaging.Code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

/// One thing lenient mode accepted that strict mode would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tolerance {
    pub path: String,
    pub message: String,
}

static VALIDATORS: OnceLock<Vec<Validator>> = OnceLock::new();

/// Compile every validator now (spawn calls this so the first request is not slow).
pub fn warm() {
    validators();
}

fn validators() -> &'static [Validator] {
    VALIDATORS.get_or_init(|| BodySchema::ALL.iter().map(|s| compile(*s)).collect())
}

fn compile(which: BodySchema) -> Validator {
    let (file, text, root) = which.source();
    let doc: Value = serde_norway::from_str(text)
        .unwrap_or_else(|e| panic!("vendored {file} does not parse as YAML: {e}"));
    let mut schemas = doc
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or_else(|| json!({}));
    for (f, schema, field) in PATCHES {
        if *f != file {
            continue;
        }
        if let Some(Value::Array(req)) = schemas.pointer_mut(&format!("/{schema}/required")) {
            req.retain(|v| v.as_str() != Some(field));
        }
    }
    for (f, schema, prop, keyword, value) in LENGTH_PATCHES {
        if *f != file {
            continue;
        }
        if let Some(Value::Object(p)) = schemas.pointer_mut(&format!("/{schema}/properties/{prop}"))
        {
            p.insert((*keyword).to_string(), json!(value));
        }
    }
    relax_fixed_money(&mut schemas);
    rewrite_nullable(&mut schemas);
    let root_schema = match root {
        Root::Component(name) => {
            json!({ "allOf": [ { "$ref": format!("#/components/schemas/{name}") } ] })
        }
        Root::FormBody(op) => {
            let mut s = doc
                .pointer(&format!(
                    "{op}/requestBody/content/application~1x-www-form-urlencoded/schema"
                ))
                .cloned()
                .unwrap_or_else(|| panic!("vendored {file} lost the {op} request schema"));
            rewrite_nullable(&mut s);
            s
        }
    };
    let full = json!({
        "allOf": [root_schema],
        "components": { "schemas": schemas },
    });
    jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(&full)
        .unwrap_or_else(|e| panic!("vendored {file} schema does not compile: {e}"))
}

/// `MonetaryValue` properties declared with `minLength == maxLength` (e.g. 8..8 for a
/// declared value) would reject ordinary amounts like `"100.00"`: keep only the maximum.
fn relax_fixed_money(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(m)) = map.get_mut("MonetaryValue") {
                if m.get("minLength").is_some() && m.get("minLength") == m.get("maxLength") {
                    m.remove("minLength");
                }
            }
            for (_, child) in map.iter_mut() {
                relax_fixed_money(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relax_fixed_money),
        _ => {}
    }
}

/// A validator for a RESPONSE component, holding answers to shape, types, required fields
/// and enums but not to lengths, patterns or bounds (the response schemas carry constraint
/// bugs, UPS-REFERENCE §0). Tests use it to check the simulator's answers.
#[cfg(test)]
pub(crate) fn response_validator(text: &str, name: &str) -> Validator {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                for k in [
                    "minLength",
                    "maxLength",
                    "pattern",
                    "maximum",
                    "minimum",
                    "format",
                    "maxItems",
                    "minItems",
                ] {
                    if map.get(k).is_some_and(|x| !x.is_object()) {
                        map.remove(k);
                    }
                }
                for (_, child) in map.iter_mut() {
                    strip(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let doc: Value = serde_norway::from_str(text).expect("vendored YAML parses");
    let mut schemas = doc
        .pointer("/components/schemas")
        .cloned()
        .expect("components");
    strip(&mut schemas);
    rewrite_nullable(&mut schemas);
    let full = json!({
        "allOf": [{ "$ref": format!("#/components/schemas/{name}") }],
        "components": { "schemas": schemas },
    });
    jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(&full)
        .expect("response schema compiles")
}

/// OpenAPI 3.0 `nullable: true` → JSON Schema `type: [T, "null"]`.
fn rewrite_nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                if let Some(Value::String(t)) = map.get("type").cloned() {
                    map.insert("type".into(), json!([t, "null"]));
                }
            }
            for (_, child) in map.iter_mut() {
                rewrite_nullable(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

/// Validate `body` (and, in lenient mode, rewrite tolerated single items into arrays).
pub fn validate(
    which: BodySchema,
    body: &mut Value,
    lenient: bool,
) -> Result<Vec<Tolerance>, Vec<Violation>> {
    let v = &validators()[which.index()];
    if v.is_valid(body) {
        return Ok(Vec::new());
    }
    if !lenient {
        return Err(collect(v, body));
    }
    let mut tolerances = Vec::new();
    // Wrap single items where arrays are declared, until none is left (bounded).
    for _ in 0..16 {
        let wraps: Vec<String> = v
            .iter_errors(body)
            .filter(|e| {
                matches!(
                    e.kind(),
                    ValidationErrorKind::Type {
                        kind: TypeKind::Single(JsonType::Array)
                    }
                ) && (e.instance().is_object() || e.instance().is_string())
            })
            .map(|e| e.instance_path().as_str().to_string())
            .collect();
        if wraps.is_empty() {
            break;
        }
        for ptr in wraps {
            if let Some(slot) = body.pointer_mut(&ptr) {
                let item = slot.take();
                *slot = Value::Array(vec![item]);
                tolerances.push(Tolerance {
                    path: dotted(&ptr),
                    message: format!(
                        "{} is declared as an array; a single item was accepted",
                        dotted(&ptr)
                    ),
                });
            }
        }
    }
    let mut violations = Vec::new();
    for e in v.iter_errors(body) {
        let ptr = e.instance_path().as_str().to_string();
        match e.kind() {
            ValidationErrorKind::MaxLength { limit }
                if e.instance().as_str().is_some_and(numeric_or_date) =>
            {
                tolerances.push(Tolerance {
                    path: dotted(&ptr),
                    message: format!(
                        "{} is longer than {limit} characters; accepted",
                        dotted(&ptr)
                    ),
                })
            }
            _ => violations.push(violation(&e)),
        }
    }
    if violations.is_empty() {
        Ok(tolerances)
    } else {
        Err(violations)
    }
}

/// The newest `Request.SubVersion` the simulator models (Rating.yaml `RateRequest_Request.SubVersion`:
/// "Supported values: 1601, … 2407, 2409"; UPS-REFERENCE §5).
pub const NEWEST_SUB_VERSION: u32 = 2409;

/// The error a strict simulator answers for a malformed `Request.SubVersion`.
///
/// Modelled guess: no UPS document lists the code for a malformed SubVersion; the
/// schema only says "Format: YYMM" with `minLength`/`maxLength` 4 (Shipping.yaml
/// `ShipmentRequest_Request.SubVersion`, Rating.yaml `RateRequest_Request.SubVersion`).
/// The code follows the shape of UPS's 7-digit hard errors (`9264028`, UPS-REFERENCE §10).
pub const SUB_VERSION_INVALID: &str = "9120200";

/// How the simulator reads `Request.SubVersion` of a Ship or Rate body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubVersion {
    /// The YYMM release whose response shapes apply; `None` when none was sent (the path
    /// version decides, as it did before SubVersion gating).
    pub effective: Option<u32>,
    /// Set in lenient mode when a malformed value was tolerated (then `effective` is
    /// [`NEWEST_SUB_VERSION`]).
    pub tolerance: Option<Tolerance>,
}

/// Read and check `Request.SubVersion` at `request_ptr` (e.g. `/ShipmentRequest/Request`).
///
/// UPS gates response shapes by the body's SubVersion (UPS-REFERENCE §2.1 "SubVersion (YYMM)
/// gates extras", §0.1 arrays `>= v2403`; Shipping.yaml: "Itemized Charges are returned only
/// when the Subversion element is present and greater than or equal to 1601").
/// Well-formed = four digits `YYMM` with month 01–12; values between the listed ones are
/// accepted (UPS-REFERENCE §2.1 already names 2407 for Ship although Shipping.yaml lists
/// only up to 2205).
///
/// Malformed (e.g. `"v2409"`, which karrio-ups sends in Ship:
/// `karrio/providers/ups/shipment/create.py`, `SubVersion="v2409"`): strict mode refuses it
/// (`Err`, see [`SUB_VERSION_INVALID`]); lenient mode removes it from the body (so the schema
/// check passes), answers with the newest behaviour and reports a tolerance.
pub fn sub_version(
    body: &mut Value,
    request_ptr: &str,
    lenient: bool,
) -> Result<SubVersion, Violation> {
    let path = format!("{}.SubVersion", dotted(request_ptr));
    let Some(raw) = body.pointer(&format!("{request_ptr}/SubVersion")) else {
        return Ok(SubVersion {
            effective: None,
            tolerance: None,
        });
    };
    let parsed = raw.as_str().and_then(|s| {
        let ok = s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
        let n: u32 = if ok { s.parse().ok()? } else { return None };
        (1..=12).contains(&(n % 100)).then_some(n)
    });
    if let Some(n) = parsed {
        return Ok(SubVersion {
            effective: Some(n),
            tolerance: None,
        });
    }
    if !lenient {
        return Err(Violation {
            path: path.clone(),
            message: format!(
                "Invalid SubVersion: {path} must be a release as YYMM, e.g. \"{NEWEST_SUB_VERSION}\""
            ),
        });
    }
    if let Some(Value::Object(req)) = body.pointer_mut(request_ptr) {
        req.remove("SubVersion");
    }
    Ok(SubVersion {
        effective: Some(NEWEST_SUB_VERSION),
        tolerance: Some(Tolerance {
            path: path.clone(),
            message: format!(
                "{path} is not YYMM; the newest release ({NEWEST_SUB_VERSION}) applies"
            ),
        }),
    })
}

fn numeric_or_date(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == ':' || c == 'T')
}

fn collect(v: &Validator, body: &Value) -> Vec<Violation> {
    let mut out: Vec<Violation> = v.iter_errors(body).map(|e| violation(&e)).collect();
    out.dedup();
    out
}

fn violation(e: &jsonschema::ValidationError<'_>) -> Violation {
    let ptr = e.instance_path().as_str();
    let path = dotted(ptr);
    let (path, message) = match e.kind() {
        ValidationErrorKind::Required { property } => {
            let prop = property.as_str().unwrap_or("?");
            let full = if path.is_empty() {
                prop.to_string()
            } else {
                format!("{path}.{prop}")
            };
            let m = format!("Missing required field {full}");
            (full, m)
        }
        ValidationErrorKind::Type { kind } => {
            let want = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(ts) => ts
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            let got = type_name(e.instance());
            let m = format!("{path} must be {want}, not {got}");
            (path, m)
        }
        ValidationErrorKind::MaxLength { limit } => {
            let m = format!("{path} is longer than {limit} characters");
            (path, m)
        }
        ValidationErrorKind::MinLength { limit } => {
            let m = format!("{path} is shorter than {limit} characters");
            (path, m)
        }
        ValidationErrorKind::MaxItems { limit } => {
            let m = format!("{path} has more than {limit} items");
            (path, m)
        }
        ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. } => {
            let m = format!("{path} has a value that is not allowed");
            (path, m)
        }
        ValidationErrorKind::Pattern { .. } => {
            let m = format!("{path} does not match the required format");
            (path, m)
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            let m = format!("{path} has unexpected fields: {}", unexpected.join(", "));
            (path, m)
        }
        other => {
            let m = format!("{path} is invalid ({})", other.keyword());
            (path, m)
        }
    };
    Violation {
        path,
        message: format!("The request is not valid: {message}"),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `/ShipmentRequest/Shipment/Package/0/Packaging` → `ShipmentRequest.Shipment.Package[0].Packaging`.
pub fn dotted(ptr: &str) -> String {
    let mut out = String::new();
    for seg in ptr.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
            out.push('[');
            out.push_str(&seg);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_ship() -> Value {
        serde_json::from_str(include_str!("testdata/ship-request-minimal.json")).unwrap()
    }

    #[test]
    fn every_schema_compiles() {
        warm();
        assert_eq!(validators().len(), BodySchema::ALL.len());
    }

    #[test]
    fn minimal_ship_is_valid_in_strict_mode() {
        let mut b = minimal_ship();
        assert_eq!(validate(BodySchema::Ship, &mut b, false), Ok(vec![]));
    }

    #[test]
    fn missing_shipper_is_named() {
        let mut b = minimal_ship();
        b["ShipmentRequest"]["Shipment"]
            .as_object_mut()
            .unwrap()
            .remove("Shipper");
        let errs = validate(BodySchema::Ship, &mut b, false).unwrap_err();
        assert!(
            errs.iter()
                .any(|e| e.path == "ShipmentRequest.Shipment.Shipper"),
            "{errs:?}"
        );
    }

    #[test]
    fn single_package_object_is_strictly_rejected_and_leniently_wrapped() {
        let mut b = minimal_ship();
        let pkg = b["ShipmentRequest"]["Shipment"]["Package"][0].clone();
        b["ShipmentRequest"]["Shipment"]["Package"] = pkg;
        let mut strict = b.clone();
        let errs = validate(BodySchema::Ship, &mut strict, false).unwrap_err();
        assert!(
            errs.iter().any(
                |e| e.path == "ShipmentRequest.Shipment.Package" && e.message.contains("array")
            ),
            "{errs:?}"
        );
        let tol = validate(BodySchema::Ship, &mut b, true).unwrap();
        assert!(tol
            .iter()
            .any(|t| t.path == "ShipmentRequest.Shipment.Package"));
        assert!(b["ShipmentRequest"]["Shipment"]["Package"].is_array());
    }

    #[test]
    fn overlong_weight_is_lenient_only() {
        let mut b = minimal_ship();
        b["ShipmentRequest"]["Shipment"]["Package"][0]["PackageWeight"]["Weight"] =
            json!("5.000000");
        assert!(validate(BodySchema::Ship, &mut b.clone(), false).is_err());
        let tol = validate(BodySchema::Ship, &mut b, true).unwrap();
        assert_eq!(tol.len(), 1, "{tol:?}");
    }

    #[test]
    fn label_stock_size_patch_applies() {
        let mut b = minimal_ship();
        b["ShipmentRequest"]["LabelSpecification"]
            .as_object_mut()
            .unwrap()
            .remove("LabelStockSize");
        assert_eq!(validate(BodySchema::Ship, &mut b, false), Ok(vec![]));
    }

    #[test]
    fn nullable_rewrite() {
        let mut v = json!({"a": {"type": "string", "nullable": true}});
        rewrite_nullable(&mut v);
        assert_eq!(v, json!({"a": {"type": ["string", "null"]}}));
    }

    /// Guards issue 15 item 5: a malformed `Request.SubVersion` (karrio's `"v2409"`) is refused
    /// in strict mode with its own code and tolerated in lenient mode as the newest release;
    /// before, it was only a generic schema length error in both modes.
    #[test]
    fn sub_version_is_read_strictly_or_leniently() {
        let mut b = minimal_ship();
        assert_eq!(
            sub_version(&mut b, "/ShipmentRequest/Request", false).unwrap(),
            SubVersion {
                effective: None,
                tolerance: None
            }
        );
        b["ShipmentRequest"]["Request"]["SubVersion"] = json!("1801");
        assert_eq!(
            sub_version(&mut b, "/ShipmentRequest/Request", false)
                .unwrap()
                .effective,
            Some(1801)
        );
        b["ShipmentRequest"]["Request"]["SubVersion"] = json!("v2409");
        let e = sub_version(&mut b.clone(), "/ShipmentRequest/Request", false).unwrap_err();
        assert_eq!(e.path, "ShipmentRequest.Request.SubVersion");
        let sv = sub_version(&mut b, "/ShipmentRequest/Request", true).unwrap();
        assert_eq!(sv.effective, Some(NEWEST_SUB_VERSION));
        assert!(sv.tolerance.is_some());
        assert!(b["ShipmentRequest"]["Request"].get("SubVersion").is_none());
        assert_eq!(validate(BodySchema::Ship, &mut b, false), Ok(vec![]));
        for bad in ["24091", "2413", "24a9", ""] {
            let mut b = minimal_ship();
            b["ShipmentRequest"]["Request"]["SubVersion"] = json!(bad);
            assert!(
                sub_version(&mut b, "/ShipmentRequest/Request", false).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn dotted_paths() {
        assert_eq!(dotted("/A/B/0/C"), "A.B[0].C");
        assert_eq!(dotted(""), "");
    }
}
