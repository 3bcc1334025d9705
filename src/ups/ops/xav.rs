//! Address validation, XAV (UPS-REFERENCE §7): request option 3 body and the response →
//! [`AddressCheck`].

use super::*;

// ---------------------------------------------------------------- request

/// The XAV request body `{"XAVRequest": {"AddressKeyFormat": {…}}}` (UPS-REFERENCE §7).
/// A ZIP+4 postal code is split into `PostcodePrimaryLow` / `PostcodeExtendedLow`.
pub fn xav_request(a: &Address) -> Value {
    serde_json::to_value(XavRequest::new(a)).unwrap_or_default()
}

/// [`xav_request`] as a typed body borrowing from the address: what the client encodes
/// (same JSON, same key order, no `Value` tree).
#[derive(Debug, Serialize, PartialEq, Eq, Hash)]
pub struct XavRequest<'a> {
    #[serde(rename = "XAVRequest")]
    request: XavBody<'a>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Hash)]
struct XavBody<'a> {
    #[serde(rename = "AddressKeyFormat")]
    key: XavKeyOut<'a>,
}

#[derive(Debug, Serialize, PartialEq, Eq, Hash)]
struct XavKeyOut<'a> {
    #[serde(rename = "AddressLine")]
    lines: Vec<&'a str>,
    #[serde(rename = "PoliticalDivision2", skip_serializing_if = "Option::is_none")]
    city: Option<&'a str>,
    #[serde(rename = "PoliticalDivision1", skip_serializing_if = "Option::is_none")]
    state: Option<&'a str>,
    #[serde(rename = "PostcodePrimaryLow", skip_serializing_if = "Option::is_none")]
    postal: Option<Cow<'a, str>>,
    #[serde(
        rename = "PostcodeExtendedLow",
        skip_serializing_if = "Option::is_none"
    )]
    postal_ext: Option<String>,
    #[serde(rename = "CountryCode")]
    country: String,
}

impl<'a> XavRequest<'a> {
    pub fn new(a: &'a Address) -> XavRequest<'a> {
        let lines = a
            .lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .map(String::as_str)
            .collect();
        let non_empty = |v: &'a String| Some(v.as_str()).filter(|v| !v.trim().is_empty());
        let pc = a.postal_code.trim();
        let (postal, postal_ext) = if pc.is_empty() {
            (None, None)
        } else {
            let digits: String = pc.chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() == 9 {
                (
                    Some(Cow::Owned(digits[..5].to_string())),
                    Some(digits[5..].to_string()),
                )
            } else {
                (Some(Cow::Borrowed(pc)), None)
            }
        };
        XavRequest {
            request: XavBody {
                key: XavKeyOut {
                    lines,
                    city: non_empty(&a.city),
                    state: non_empty(&a.state),
                    postal,
                    postal_ext,
                    country: a.country.to_ascii_uppercase(),
                },
            },
        }
    }
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
    valid: Option<serde::de::IgnoredAny>,
    #[serde(rename = "AmbiguousAddressIndicator")]
    ambiguous: Option<serde::de::IgnoredAny>,
    #[serde(rename = "NoCandidatesIndicator")]
    none: Option<serde::de::IgnoredAny>,
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
    xav_check(from_value(v, "XAVResponse")?)
}

/// [`xav_response`] read straight from the answer's bytes (what the client does).
pub fn xav_response_bytes(body: &[u8]) -> Result<AddressCheck, ParseError> {
    xav_check(from_bytes(body, "XAVResponse")?)
}

fn xav_check(env: XavEnvelope) -> Result<AddressCheck, ParseError> {
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
