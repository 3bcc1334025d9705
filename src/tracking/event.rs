//! Track Alert event payloads (UPS-REFERENCE.md §8): parsing the webhook body into a
//! canonical [`TrackingEvent`] plus the delivery extras an event may carry.
//!
//! Pure: no I/O. Lenient where UPS is loose (fields absent or `""`, optional fields of a
//! wrong type are ignored), strict where identity needs it: `trackingNumber` and
//! `activityStatus` are required, and an activity time must be derivable (GMT date/time,
//! else local date/time + `gmtOffset`). `gmtOffset` comes with a dot (`"-04.00"`); a colon
//! is accepted too. Strings are bounded so a hostile body cannot blow up the store.
//!
//! Must never: panic on any input, or echo payload content in an error message.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Milestone, TrackingEvent};

/// Longest description kept (characters).
const MAX_DESCRIPTION: usize = 200;
/// Longest location part / received-by kept (characters).
const MAX_SHORT: usize = 64;

/// One received Track Alert event, as stored in the `events` inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub event: TrackingEvent,
    /// `scheduledDeliveryDate`.
    #[serde(default)]
    pub scheduled_delivery: Option<NaiveDate>,
    /// `actualDeliveryDate` + `actualDeliveryTime` (local, with `gmtOffset`), in UTC.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// `receivedBy` (enhanced subscriptions).
    #[serde(default)]
    pub received_by: Option<String>,
    /// When upsync stored it.
    pub received_at: DateTime<Utc>,
}

/// Why a body was refused (400). The text names the field, never its content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("body is not valid JSON: {0}")]
    Malformed(String),
    #[error("body is not a JSON object")]
    NotAnObject,
    #[error("required field {0} is missing or empty")]
    Missing(&'static str),
    #[error("field {0} has the wrong type or format")]
    Invalid(&'static str),
    #[error("no activity time: need gmtActivityDate+gmtActivityTime, or localActivityDate+localActivityTime+gmtOffset")]
    NoActivityTime,
}

impl EventError {
    /// Stable code for logs and the 400 answer.
    pub fn code(&self) -> &'static str {
        match self {
            EventError::Malformed(_) => "malformed_json",
            EventError::NotAnObject => "not_an_object",
            EventError::Missing(_) => "missing_field",
            EventError::Invalid(_) => "invalid_field",
            EventError::NoActivityTime => "no_activity_time",
        }
    }
}

/// Parse a webhook body.
pub fn parse_alert_event(
    body: &[u8],
    received_at: DateTime<Utc>,
) -> Result<AlertEvent, EventError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        // serde_json's message carries line/column and a category, not the content.
        EventError::Malformed(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let obj = v.as_object().ok_or(EventError::NotAnObject)?;

    let tn = match obj.get("trackingNumber") {
        None | Some(Value::Null) => return Err(EventError::Missing("trackingNumber")),
        Some(Value::String(s)) => s.trim().to_ascii_uppercase(),
        Some(_) => return Err(EventError::Invalid("trackingNumber")),
    };
    if tn.is_empty() {
        return Err(EventError::Missing("trackingNumber"));
    }
    if tn.len() < 7 || tn.len() > 34 || !tn.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(EventError::Invalid("trackingNumber"));
    }

    let status = match obj.get("activityStatus") {
        None | Some(Value::Null) => return Err(EventError::Missing("activityStatus")),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(EventError::Invalid("activityStatus")),
    };
    let status_type = short_code(status.get("type"), "activityStatus.type")?;
    let status_code = short_code(status.get("code"), "activityStatus.code")?;
    if status_type.is_empty() && status_code.is_empty() {
        return Err(EventError::Missing("activityStatus.type"));
    }
    let description = opt_str(status.get("description"), MAX_DESCRIPTION).unwrap_or_default();
    // `descriptionCode`: the 3-digit status code ("011"), in UPS's examples only (§8).
    let status_number = opt_str(status.get("descriptionCode"), 4)
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .unwrap_or_default();

    let offset = opt_str(obj.get("gmtOffset"), 16).and_then(|s| parse_gmt_offset(&s));
    let gmt = match (
        opt_str(obj.get("gmtActivityDate"), 16),
        opt_str(obj.get("gmtActivityTime"), 16),
    ) {
        (Some(d), Some(t)) => Some(
            ups_date_time(&d, &t)
                .map(|n| Utc.from_utc_datetime(&n))
                .ok_or(EventError::Invalid("gmtActivityDate/gmtActivityTime"))?,
        ),
        _ => None,
    };
    let time = match gmt {
        Some(t) => t,
        None => {
            let local = match (
                opt_str(obj.get("localActivityDate"), 16),
                opt_str(obj.get("localActivityTime"), 16),
            ) {
                (Some(d), Some(t)) => ups_date_time(&d, &t),
                _ => None,
            };
            match (local, offset) {
                (Some(l), Some(off)) => local_to_utc(l, off).ok_or(EventError::NoActivityTime)?,
                _ => return Err(EventError::NoActivityTime),
            }
        }
    };

    let location = obj
        .get("activityLocation")
        .and_then(|l| l.as_object())
        .and_then(|l| {
            let parts: Vec<String> = ["city", "stateProvince", "country"]
                .iter()
                .filter_map(|k| opt_str(l.get(*k), MAX_SHORT))
                .collect();
            (!parts.is_empty()).then(|| parts.join(", "))
        });

    let scheduled_delivery =
        opt_str(obj.get("scheduledDeliveryDate"), 16).and_then(|d| ups_date(&d));
    let delivered_at = match (
        opt_str(obj.get("actualDeliveryDate"), 16).and_then(|d| ups_date(&d)),
        opt_str(obj.get("actualDeliveryTime"), 16).and_then(|t| ups_time(&t)),
    ) {
        (Some(d), Some(t)) => {
            let local = d.and_time(t);
            match offset {
                Some(off) => local_to_utc(local, off),
                None => Some(Utc.from_utc_datetime(&local)),
            }
        }
        _ => None,
    };
    let received_by = opt_str(obj.get("receivedBy"), MAX_SHORT);

    let milestone =
        Milestone::from_ups_status(&status_type, &status_code, &status_number, &description);
    let delivered_at = delivered_at.or((milestone == Milestone::Delivered).then_some(time));
    Ok(AlertEvent {
        event: TrackingEvent {
            tracking_number: tn,
            milestone,
            status_type,
            status_code,
            status_number,
            description,
            time,
            location,
        },
        scheduled_delivery,
        delivered_at,
        received_by,
        received_at,
    })
}

/// A short status code: absent/null/`""` → empty; a string ≤ 4 chars; anything else is invalid.
fn short_code(v: Option<&Value>, field: &'static str) -> Result<String, EventError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > 4 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
                Err(EventError::Invalid(field))
            } else {
                Ok(s.to_ascii_uppercase())
            }
        }
        Some(_) => Err(EventError::Invalid(field)),
    }
}

/// An optional string field: trimmed, non-empty, at most `max` characters (cut, not refused).
fn opt_str(v: Option<&Value>, max: usize) -> Option<String> {
    let s = v?.as_str()?.trim();
    if s.is_empty() {
        return None;
    }
    Some(s.chars().filter(|c| !c.is_control()).take(max).collect())
}

/// `YYYYMMDD`.
pub fn ups_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// `HHMMSS` (also accepts `HHMM`).
pub fn ups_time(s: &str) -> Option<NaiveTime> {
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match s.len() {
        6 => NaiveTime::parse_from_str(s, "%H%M%S").ok(),
        4 => NaiveTime::parse_from_str(s, "%H%M").ok(),
        _ => None,
    }
}

/// `YYYYMMDD` + `HHMMSS`.
pub fn ups_date_time(d: &str, t: &str) -> Option<NaiveDateTime> {
    Some(ups_date(d)?.and_time(ups_time(t)?))
}

/// `"-04.00"` (Track Alert, dot) or `"-04:00"` (Track, colon) → offset from GMT.
pub fn parse_gmt_offset(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'-' => (-1, &s[1..]),
        b'+' => (1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = match rest.find(['.', ':']) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, "0"),
    };
    let h: i64 = h.parse().ok()?;
    let m: i64 = m.parse().ok()?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(Duration::minutes(sign * (h * 60 + m)))
}

/// Local wall time at `offset` from GMT → UTC.
fn local_to_utc(local: NaiveDateTime, offset: Duration) -> Option<DateTime<Utc>> {
    let utc = local.checked_sub_signed(offset)?;
    Some(Utc.from_utc_datetime(&utc))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `ups-examples/trackalert-webhook-event-delivered.json`, verbatim.
    pub(crate) const EXAMPLE: &str = r#"{
  "trackingNumber": "1Z204W4R0308071865",
  "localActivityDate": "20240423",
  "localActivityTime": "095004",
  "activityLocation": {
    "city": "CHARLOTTE",
    "stateProvince": "NC",
    "postalCode": "28209",
    "country": "US"
  },
  "activityStatus": {
    "type": "D",
    "code": "FS",
    "description": "Delivered",
    "descriptionCode": "011"
  },
  "scheduledDeliveryDate": "20240423",
  "actualDeliveryDate": "20240423",
  "actualDeliveryTime": "095004",
  "gmtActivityDate": "20240423",
  "gmtActivityTime": "135004",
  "gmtOffset": "-04.00",
  "deliveryStartTime": "",
  "deliveryEndTime": "",
  "deliveryTimeDescription": "",
  "receivedBy": "JOHN"
}"#;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 4, 23, 14, 0, 0).unwrap()
    }

    #[test]
    fn parses_the_example_event() {
        let e = parse_alert_event(EXAMPLE.as_bytes(), now()).unwrap();
        assert_eq!(e.event.tracking_number, "1Z204W4R0308071865");
        assert_eq!(e.event.milestone, Milestone::Delivered);
        assert_eq!(e.event.status_code, "FS");
        assert_eq!(
            e.event.time,
            Utc.with_ymd_and_hms(2024, 4, 23, 13, 50, 4).unwrap()
        );
        assert_eq!(e.event.location.as_deref(), Some("CHARLOTTE, NC, US"));
        assert_eq!(e.scheduled_delivery, NaiveDate::from_ymd_opt(2024, 4, 23));
        // 09:50:04 local at -04.00 = 13:50:04 UTC.
        assert_eq!(
            e.delivered_at,
            Some(Utc.with_ymd_and_hms(2024, 4, 23, 13, 50, 4).unwrap())
        );
        assert_eq!(e.received_by.as_deref(), Some("JOHN"));
        assert_eq!(e.event.identity(), "1Z204W4R0308071865|20240423T135004Z|FS");
    }

    #[test]
    fn gmt_offset_with_dot_or_colon() {
        assert_eq!(parse_gmt_offset("-04.00"), Some(Duration::hours(-4)));
        assert_eq!(parse_gmt_offset("-04:00"), Some(Duration::hours(-4)));
        assert_eq!(parse_gmt_offset("+05.30"), Some(Duration::minutes(330)));
        assert_eq!(parse_gmt_offset("x"), None);
        assert_eq!(parse_gmt_offset("-99.00"), None);
        assert_eq!(parse_gmt_offset(""), None);
        assert_eq!(parse_gmt_offset("-"), None);
    }

    #[test]
    fn local_time_with_offset_when_gmt_is_missing() {
        let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
        v.as_object_mut().unwrap().remove("gmtActivityDate");
        let e = parse_alert_event(v.to_string().as_bytes(), now()).unwrap();
        assert_eq!(
            e.event.time,
            Utc.with_ymd_and_hms(2024, 4, 23, 13, 50, 4).unwrap()
        );
        v.as_object_mut().unwrap().remove("gmtOffset");
        assert_eq!(
            parse_alert_event(v.to_string().as_bytes(), now()).unwrap_err(),
            EventError::NoActivityTime
        );
    }

    #[test]
    fn required_fields_and_types() {
        let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
        v["trackingNumber"] = Value::from(12);
        assert_eq!(
            parse_alert_event(v.to_string().as_bytes(), now()).unwrap_err(),
            EventError::Invalid("trackingNumber")
        );
        v.as_object_mut().unwrap().remove("trackingNumber");
        assert_eq!(
            parse_alert_event(v.to_string().as_bytes(), now()).unwrap_err(),
            EventError::Missing("trackingNumber")
        );
        let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
        v["activityStatus"] = Value::from("D");
        assert!(parse_alert_event(v.to_string().as_bytes(), now()).is_err());
        assert!(matches!(
            parse_alert_event(b"{\"trackingNumber\": ", now()),
            Err(EventError::Malformed(_))
        ));
        assert_eq!(
            parse_alert_event(b"[1]", now()).unwrap_err(),
            EventError::NotAnObject
        );
        assert!(parse_alert_event(&[0xff, 0xfe, b'{'], now()).is_err());
    }

    #[test]
    fn long_strings_are_cut_not_stored_whole() {
        let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
        v["activityStatus"]["description"] = Value::from("x".repeat(100_000));
        v["receivedBy"] = Value::from("y".repeat(5000));
        let e = parse_alert_event(v.to_string().as_bytes(), now()).unwrap();
        assert_eq!(e.event.description.len(), MAX_DESCRIPTION);
        assert_eq!(e.received_by.unwrap().len(), MAX_SHORT);
    }
}
