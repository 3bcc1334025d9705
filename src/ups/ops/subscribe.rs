//! Track Alert subscription (UPS-REFERENCE §8): v1/v2 bodies and the response →
//! [`SubscribeResult`].

use super::*;

// ---------------------------------------------------------------- request

/// The Track Alert package subscription body (UPS-REFERENCE §8). `destination`
/// `(url, credential)` selects v1 (with `destination`); `None` the v2 body.
pub fn subscription_request(numbers: &[String], destination: Option<(&str, &str)>) -> Value {
    let mut m = Map::new();
    m.insert("locale".into(), s("en_US"));
    m.insert("countryCode".into(), s("US"));
    m.insert(
        "trackingNumberList".into(),
        Value::Array(numbers.iter().map(|n| s(n.clone())).collect()),
    );
    if let Some((url, credential)) = destination {
        m.insert(
            "destination".into(),
            json!({ "url": url, "credentialType": "Bearer", "credential": credential }),
        );
    }
    Value::Object(m)
}

// ---------------------------------------------------------------- response

/// Track Alert subscription answer: numbers UPS accepted and refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeResult {
    pub valid: Vec<String>,
    pub invalid: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SubscriptionBody {
    #[serde(default, deserialize_with = "one_or_many")]
    valid_tracking_numbers: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    invalid_tracking_numbers: Vec<String>,
}

/// Parse a subscription 200 (or the `invalidTrackingNumbers` of a 400).
pub fn subscription_response(v: &Value) -> Result<SubscribeResult, ParseError> {
    let b: SubscriptionBody = from_value(v, "subscription response")?;
    Ok(SubscribeResult {
        valid: b.valid_tracking_numbers,
        invalid: b.invalid_tracking_numbers,
    })
}
