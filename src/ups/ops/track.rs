//! Track (UPS-REFERENCE §6): by tracking number (`TW0001` on a 200 is "not trackable
//! yet", never an error) and by reference; responses → [`TrackOutcome`] /
//! [`ReferenceMatch`] (the request is a GET built in `client.rs`).

use super::*;

/// Track by number: not trackable yet (`TW0001`), or the package's state and history —
/// the one [`crate::model::TrackOutcome`].
pub use crate::model::TrackOutcome;

/// One shipment found by Track by reference.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceMatch {
    /// The inquiry number UPS reported (the reference itself, or a 1Z, depending on UPS).
    pub inquiry_number: String,
    /// Every package tracking number listed for the shipment.
    pub tracking_numbers: Vec<String>,
    /// Reference numbers UPS echoed for those packages.
    pub references: Vec<String>,
    /// Latest milestone of the first package, when UPS gave a status.
    pub milestone: Option<Milestone>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackEnvelope {
    #[serde(rename = "trackResponse")]
    response: TrackResponse,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackResponse {
    #[serde(default, deserialize_with = "one_or_many")]
    shipment: Vec<TrackShipment>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrackShipment {
    #[serde(default, deserialize_with = "lenient_string")]
    inquiry_number: String,
    #[serde(default, deserialize_with = "one_or_many")]
    package: Vec<TrackPackage>,
    #[serde(default, deserialize_with = "one_or_many")]
    warnings: Vec<RawFault>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrackPackage {
    #[serde(default, deserialize_with = "lenient_string")]
    tracking_number: String,
    #[serde(default, deserialize_with = "one_or_many")]
    delivery_date: Vec<TrackDeliveryDate>,
    #[serde(default, deserialize_with = "one_or_many")]
    activity: Vec<TrackActivity>,
    current_status: Option<TrackStatus>,
    delivery_information: Option<DeliveryInformation>,
    #[serde(default, deserialize_with = "one_or_many")]
    reference_number: Vec<TrackReference>,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackDeliveryDate {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: String,
    #[serde(default, deserialize_with = "lenient_string")]
    date: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrackActivity {
    location: Option<TrackLocation>,
    status: Option<TrackStatus>,
    #[serde(default, deserialize_with = "lenient_string")]
    date: String,
    #[serde(default, deserialize_with = "lenient_string")]
    time: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_date: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_time: String,
    #[serde(default, deserialize_with = "lenient_string")]
    gmt_offset: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackLocation {
    address: Option<TrackAddress>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct TrackAddress {
    #[serde(default, deserialize_with = "lenient_string")]
    city: String,
    #[serde(default, deserialize_with = "lenient_string")]
    state_province: String,
    #[serde(default, deserialize_with = "lenient_string")]
    country: String,
    #[serde(default, deserialize_with = "lenient_string")]
    country_code: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct TrackStatus {
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    kind: String,
    #[serde(default, deserialize_with = "lenient_string")]
    code: String,
    #[serde(default, deserialize_with = "lenient_string")]
    description: String,
    /// 3-digit `statusCode` (`011`, `040`, …).
    #[serde(rename = "statusCode", default, deserialize_with = "lenient_string")]
    status_code: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeliveryInformation {
    #[serde(default, deserialize_with = "lenient_string")]
    received_by: String,
    signature: Option<Signature>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Signature {
    #[serde(default, deserialize_with = "lenient_string")]
    image: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct TrackReference {
    #[serde(default, deserialize_with = "lenient_string")]
    number: String,
}

/// UPS `YYYYMMDD` + `HHMMSS` as UTC; with a local date/time, subtract `±HH:MM` (or `±HH.MM`).
pub fn track_time(
    gmt_date: &str,
    gmt_time: &str,
    date: &str,
    time: &str,
    offset: &str,
) -> Option<DateTime<Utc>> {
    let parse_t = |t: &str| {
        let t = t.trim();
        let t = if t.len() == 4 {
            format!("{t}00")
        } else {
            t.to_string()
        };
        NaiveTime::parse_from_str(&t, "%H%M%S").ok()
    };
    if let (Some(d), Some(t)) = (parse_ups_date(gmt_date), parse_t(gmt_time)) {
        return Some(Utc.from_utc_datetime(&NaiveDateTime::new(d, t)));
    }
    let (d, t) = (parse_ups_date(date)?, parse_t(time).unwrap_or_default());
    let local = NaiveDateTime::new(d, t);
    let off = offset.trim().replace('.', ":");
    let secs = if off.len() >= 6 {
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let h: i64 = off[1..3].parse().ok()?;
        let m: i64 = off[4..6].parse().ok()?;
        sign * (h * 3600 + m * 60)
    } else {
        0
    };
    Some(Utc.from_utc_datetime(&(local - chrono::Duration::seconds(secs))))
}

pub(super) fn location(l: &Option<TrackLocation>) -> Option<String> {
    let a = l.as_ref()?.address.as_ref()?;
    let country = if a.country_code.is_empty() {
        &a.country
    } else {
        &a.country_code
    };
    let parts: Vec<&str> = [a.city.as_str(), a.state_province.as_str(), country.as_str()]
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

pub(super) fn package_events(number: &str, p: &TrackPackage) -> Vec<TrackingEvent> {
    let mut events: Vec<TrackingEvent> = p
        .activity
        .iter()
        .filter_map(|a| {
            let st = a.status.as_ref()?;
            let time = track_time(&a.gmt_date, &a.gmt_time, &a.date, &a.time, &a.gmt_offset)?;
            Some(TrackingEvent {
                tracking_number: number.to_string(),
                milestone: Milestone::from_ups_status(
                    &st.kind,
                    &st.code,
                    &st.status_code,
                    &st.description,
                ),
                status_type: st.kind.clone(),
                status_code: st.code.clone(),
                status_number: st.status_code.clone(),
                description: st.description.clone(),
                time,
                location: location(&a.location),
            })
        })
        .collect();
    events.sort_by_key(|e| e.time);
    events
}

pub(super) fn snapshot(
    number: &str,
    p: &TrackPackage,
    events: &[TrackingEvent],
) -> TrackingSnapshot {
    let latest = events.last().cloned();
    let delivered_by_date = p.delivery_date.iter().any(|d| d.kind == "DEL");
    let milestone = match (&p.current_status, &latest) {
        (Some(s), _) if !s.kind.is_empty() || !s.code.is_empty() => {
            Milestone::from_ups_status(&s.kind, &s.code, &s.status_code, &s.description)
        }
        (_, Some(e)) => e.milestone,
        _ if delivered_by_date => Milestone::Delivered,
        _ => Milestone::LabelCreated,
    };
    // A `DEL` date also comes with a drop at a UPS Access Point (type `D`, code `KB`): the
    // receiver has not collected it yet, so that stays "available for pickup" [ext].
    let milestone = if delivered_by_date
        && !milestone.is_terminal()
        && milestone != Milestone::AvailableForPickup
    {
        Milestone::Delivered
    } else {
        milestone
    };
    let estimated_delivery = p
        .delivery_date
        .iter()
        .find(|d| d.kind == "RDD")
        .or_else(|| p.delivery_date.iter().find(|d| d.kind == "SDD"))
        .and_then(|d| parse_ups_date(&d.date));
    let delivered_at = if milestone == Milestone::Delivered {
        events
            .iter()
            .rev()
            .find(|e| e.milestone == Milestone::Delivered)
            .map(|e| e.time)
    } else {
        None
    };
    let info = p.delivery_information.as_ref();
    let received_by = info
        .map(|i| i.received_by.trim().to_string())
        .filter(|s| !s.is_empty());
    let signature = info
        .and_then(|i| i.signature.as_ref())
        .map(|s| s.image.as_str())
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| decode_b64(s).ok());
    TrackingSnapshot {
        tracking_number: number.to_string(),
        milestone,
        latest,
        estimated_delivery,
        delivered_at,
        received_by,
        signature,
        status_at: None,
        history: Vec::new(),
    }
}

pub(super) fn not_found(s: &TrackShipment) -> bool {
    s.package.is_empty() || s.warnings.iter().any(|w| w.code == "TW0001")
}

/// Parse a Track-by-number 200. `TW0001` (or no package) → [`TrackOutcome::NotYet`].
pub fn track_response(v: &Value, number: &str) -> Result<TrackOutcome, ParseError> {
    let env: TrackEnvelope = from_value(v, "trackResponse")?;
    let Some(sh) = env.response.shipment.first() else {
        return Ok(TrackOutcome::NotYet);
    };
    if not_found(sh) {
        return Ok(TrackOutcome::NotYet);
    }
    let p = sh
        .package
        .iter()
        .find(|p| p.tracking_number.eq_ignore_ascii_case(number))
        .unwrap_or(&sh.package[0]);
    let tn = if p.tracking_number.is_empty() {
        number.to_string()
    } else {
        p.tracking_number.clone()
    };
    let events = package_events(&tn, p);
    let snapshot = snapshot(&tn, p, &events);
    Ok(TrackOutcome::Found { snapshot, events })
}

/// Parse a Track-by-reference 200: every shipment found, with its tracking numbers.
/// `TW0001` → empty.
pub fn track_reference_response(v: &Value) -> Result<Vec<ReferenceMatch>, ParseError> {
    let env: TrackEnvelope = from_value(v, "trackResponse")?;
    Ok(env
        .response
        .shipment
        .iter()
        .filter(|s| !not_found(s))
        .map(|s| {
            let tracking_numbers: Vec<String> = s
                .package
                .iter()
                .map(|p| p.tracking_number.clone())
                .filter(|t| !t.is_empty())
                .collect();
            let mut references: Vec<String> = Vec::new();
            for p in &s.package {
                for r in &p.reference_number {
                    if !r.number.is_empty() && !references.contains(&r.number) {
                        references.push(r.number.clone());
                    }
                }
            }
            let milestone = s.package.first().map(|p| {
                let tn = p.tracking_number.clone();
                snapshot(&tn, p, &package_events(&tn, p)).milestone
            });
            ReferenceMatch {
                inquiry_number: if s.inquiry_number.is_empty() {
                    tracking_numbers.first().cloned().unwrap_or_default()
                } else {
                    s.inquiry_number.clone()
                },
                tracking_numbers,
                references,
                milestone,
            }
        })
        .collect())
}
