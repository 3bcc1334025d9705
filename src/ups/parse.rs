//! Pure response parsers: UPS JSON in, canonical model out. No HTTP, no clock.
//!
//! Implements the response shapes of UPS-REFERENCE §2.4 (Ship), §3 (Void), §4 (Label
//! Recovery), §5 (Rating), §6 (Track), §7 (XAV), §8 (Track Alert) and the error envelope
//! of §0.2. Every list is read one-or-many ([`one_or_many`]) because UPS sends a bare
//! object for single items in legacy versions and sometimes in current ones; money is a
//! [`Decimal`] parsed from the string (never a float); `TotalCharge` is singular under
//! `NegotiatedRateCharges`; `TW0001` on a 200 is "not trackable yet", never an error.
//!
//! Never log what is parsed here: label and signature bytes, addresses.
//!
//! The parsers live beside their request builders in `ops/` (one file per operation); this
//! module keeps [`ParseError`], the error envelope, the token answer and the public paths
//! (`upsync::ups::parse::…`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::error::{field_in_message, UpsFault};

/// A response this client cannot read (shape, base64, count mismatch).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

pub use super::ops::quantum::{quantum_view_response, range_too_old};
pub use super::ops::rate::rate_response;
pub use super::ops::recover::{label_recovery_response, RecoveredLabels, RecoveredPackage};
pub use super::ops::ship::{ship_response, ship_response_bytes};
pub use super::ops::subscribe::{subscription_response, SubscribeResult};
pub use super::ops::track::{
    track_reference_response, track_response, track_time, ReferenceMatch, TrackOutcome,
};
pub use super::ops::void::{void_response, VoidResult};
pub use super::ops::xav::{xav_response, xav_response_bytes};
use super::ops::{from_value, perr, RawFault};
use super::wire::lenient_string;

// ---------------------------------------------------------------- errors

/// Read UPS's error envelope: `{"response":{"errors":[…]}}`, the bare `{"errors":[…]}`
/// (TimeInTransit) and QuantumView's `Response.Error[]`. Empty when there is none.
pub fn faults(v: &Value) -> Vec<UpsFault> {
    let list = v
        .pointer("/response/errors")
        .or_else(|| v.get("errors"))
        .or_else(|| v.pointer("/Response/Error"));
    let Some(list) = list else {
        return Vec::new();
    };
    let raw: Vec<Value> = match list {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    raw.iter()
        .map(|f| {
            let rf: RawFault = serde_json::from_value(f.clone()).unwrap_or(RawFault {
                code: f
                    .get("ErrorCode")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
                message: f
                    .get("ErrorDescription")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .into(),
            });
            let (code, message) = if rf.code.is_empty() && rf.message.is_empty() {
                (
                    f.get("ErrorCode")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    f.get("ErrorDescription")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            } else {
                (rf.code, rf.message)
            };
            let field = f
                .get("field")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| field_in_message(&message));
            UpsFault {
                code,
                message,
                field,
            }
        })
        .collect()
}

// ---------------------------------------------------------------- token

/// A parsed OAuth token answer (all strings on the wire).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenAnswer {
    pub access_token: String,
    pub expires_in_seconds: u64,
}

impl std::fmt::Debug for TokenAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenAnswer(<redacted>, {} s)", self.expires_in_seconds)
    }
}

#[derive(Deserialize)]
struct RawToken {
    #[serde(default, deserialize_with = "lenient_string")]
    access_token: String,
    #[serde(default, deserialize_with = "lenient_string")]
    expires_in: String,
}

/// Parse the OAuth 200. `expires_in` is required (a lifetime is never assumed).
pub fn token_response(v: &Value) -> Result<TokenAnswer, ParseError> {
    let t: RawToken = from_value(v, "token response")?;
    if t.access_token.is_empty() {
        return Err(perr("token response has no access_token"));
    }
    let expires_in_seconds = t
        .expires_in
        .trim()
        .parse::<u64>()
        .map_err(|_| perr("token response has no numeric expires_in"))?;
    if expires_in_seconds == 0 {
        return Err(perr("token response has expires_in 0"));
    }
    Ok(TokenAnswer {
        access_token: t.access_token,
        expires_in_seconds,
    })
}

/// Today's date helper for callers that only need a `NaiveDate` from a UTC time.
pub fn utc_day(t: DateTime<Utc>) -> NaiveDate {
    t.date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_time_prefers_gmt_and_handles_offsets() {
        let t = track_time("20240423", "135004", "20240423", "095004", "-04:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-04-23T13:50:04+00:00");
        let t = track_time("", "", "20240423", "095004", "-04.00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-04-23T13:50:04+00:00");
    }

    #[test]
    fn faults_read_the_envelopes() {
        let v: Value = serde_json::json!({"response":{"errors":[{"code":"120100","message":"Missing or invalid shipper number: Shipment.Shipper.ShipperNumber"}]}});
        let f = faults(&v);
        assert_eq!(f[0].code, "120100");
        assert_eq!(
            f[0].field.as_deref(),
            Some("Shipment.Shipper.ShipperNumber")
        );
        let v: Value = serde_json::json!({"response":{"errors":{"code":"10429","message":"Too Many Requests"}}});
        assert_eq!(faults(&v)[0].code, "10429");
        let v: Value = serde_json::json!({"errors":[{"code":"E1","message":"m"}]});
        assert_eq!(faults(&v)[0].code, "E1");
        assert!(faults(&serde_json::json!({"ok":1})).is_empty());
    }

    #[test]
    fn token_needs_expires_in() {
        let v = serde_json::json!({"access_token":"abc","expires_in":"14399"});
        assert_eq!(token_response(&v).unwrap().expires_in_seconds, 14399);
        let v = serde_json::json!({"access_token":"abc","expires_in":3600});
        assert_eq!(token_response(&v).unwrap().expires_in_seconds, 3600);
        assert!(token_response(&serde_json::json!({"access_token":"abc"})).is_err());
        let dbg = format!(
            "{:?}",
            token_response(&serde_json::json!({"access_token":"s3cr3t","expires_in":"5"})).unwrap()
        );
        assert!(!dbg.contains("s3cr3t"));
    }
}
