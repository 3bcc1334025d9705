//! Address validation, XAV (UPS-REFERENCE §7): request option 3 body and the response →
//! [`AddressCheck`].

use super::*;

// ---------------------------------------------------------------- request

/// The XAV request body `{"XAVRequest": {"AddressKeyFormat": {…}}}` (UPS-REFERENCE §7).
/// A ZIP+4 postal code is split into `PostcodePrimaryLow` / `PostcodeExtendedLow`.
pub fn xav_request(a: &Address) -> Value {
    let mut m = Map::new();
    let lines: Vec<Value> = a
        .lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .map(|l| s(l.clone()))
        .collect();
    m.insert("AddressLine".into(), Value::Array(lines));
    if !a.city.trim().is_empty() {
        m.insert("PoliticalDivision2".into(), s(a.city.clone()));
    }
    if !a.state.trim().is_empty() {
        m.insert("PoliticalDivision1".into(), s(a.state.clone()));
    }
    let pc = a.postal_code.trim();
    if !pc.is_empty() {
        let digits: String = pc.chars().filter(|c| c.is_ascii_digit()).collect();
        if digits.len() == 9 {
            m.insert("PostcodePrimaryLow".into(), s(&digits[..5]));
            m.insert("PostcodeExtendedLow".into(), s(&digits[5..]));
        } else {
            m.insert("PostcodePrimaryLow".into(), s(pc));
        }
    }
    m.insert("CountryCode".into(), s(a.country.to_ascii_uppercase()));
    json!({ "XAVRequest": { "AddressKeyFormat": Value::Object(m) } })
}

// ---------------------------------------------------------------- response

#[derive(Debug, Deserialize)]
pub(super) struct XavEnvelope {
    #[serde(rename = "XAVResponse")]
    response: XavResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct XavResponse {
    #[serde(rename = "ValidAddressIndicator")]
    valid: Option<Value>,
    #[serde(rename = "AmbiguousAddressIndicator")]
    ambiguous: Option<Value>,
    #[serde(rename = "NoCandidatesIndicator")]
    none: Option<Value>,
    #[serde(rename = "AddressClassification")]
    classification: Option<Code>,
    #[serde(rename = "Candidate", default, deserialize_with = "one_or_many")]
    candidates: Vec<XavCandidate>,
}

#[derive(Debug, Deserialize)]
pub(super) struct XavCandidate {
    #[serde(rename = "AddressClassification")]
    classification: Option<Code>,
    #[serde(rename = "AddressKeyFormat")]
    key: XavKey,
}

#[derive(Debug, Deserialize)]
pub(super) struct XavKey {
    #[serde(rename = "AddressLine", default, deserialize_with = "one_or_many")]
    lines: Vec<String>,
    #[serde(
        rename = "PoliticalDivision2",
        default,
        deserialize_with = "lenient_string"
    )]
    city: String,
    #[serde(
        rename = "PoliticalDivision1",
        default,
        deserialize_with = "lenient_string"
    )]
    state: String,
    #[serde(
        rename = "PostcodePrimaryLow",
        default,
        deserialize_with = "lenient_string"
    )]
    postal: String,
    #[serde(
        rename = "PostcodeExtendedLow",
        default,
        deserialize_with = "lenient_string"
    )]
    postal_ext: String,
    #[serde(rename = "CountryCode", default, deserialize_with = "lenient_string")]
    country: String,
}

pub(super) fn residential(c: Option<&Code>) -> Option<bool> {
    match c.map(|c| c.code.trim()) {
        Some("2") => Some(true),
        Some("1") => Some(false),
        _ => None,
    }
}

pub(super) fn candidate_address(c: &XavCandidate) -> Address {
    let k = &c.key;
    let postal_code = if k.postal_ext.trim().is_empty() {
        k.postal.clone()
    } else {
        format!("{}-{}", k.postal, k.postal_ext)
    };
    Address {
        lines: k.lines.clone(),
        city: k.city.clone(),
        state: k.state.clone(),
        postal_code,
        country: k.country.clone(),
        residential: residential(c.classification.as_ref()),
        po_box: false,
    }
}

/// Parse an XAV (request option 3) 200.
pub fn xav_response(v: &Value) -> Result<AddressCheck, ParseError> {
    let env: XavEnvelope = from_value(v, "XAVResponse")?;
    let r = env.response;
    let candidates: Vec<Address> = r.candidates.iter().map(candidate_address).collect();
    if r.valid.is_some() {
        let candidate = candidates.into_iter().next();
        let residential = residential(r.classification.as_ref())
            .or_else(|| candidate.as_ref().and_then(|c| c.residential));
        return Ok(AddressCheck::Valid {
            residential,
            candidate,
        });
    }
    if r.ambiguous.is_some() {
        return Ok(AddressCheck::Ambiguous { candidates });
    }
    if r.none.is_some() || candidates.is_empty() {
        return Ok(AddressCheck::NoCandidates);
    }
    Ok(AddressCheck::Ambiguous { candidates })
}
