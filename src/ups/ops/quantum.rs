//! Quantum View (UPS-REFERENCE §9; `QuantumView.yaml`): the events request for a date range
//! ([`quantum_view_request`]) and its answer → [`QvPage`] ([`quantum_view_response`]).
//!
//! Records → canonical events ([`crate::model::TrackingEvent`], milestone through
//! [`Milestone::from_ups`]):
//! * `Manifest` → label created (`M`/`MP`), one per `Package[]` entry, at the package's
//!   first `Activity` date/time;
//! * `Origin` → picked up (`I`/`OR`, UPS's origin-scan status, §6);
//! * `Exception` → exception (`X`, its `StatusCode`, else `ReasonCode`); the description
//!   keeps UPS's reason and status text;
//! * `Delivery` → delivered (`D`/`FS`: Quantum View gives no status code; `FS` is Track's
//!   code for a delivery, §6, so the same delivery seen by Track is one event), with
//!   `DeliveryLocation.SignedForByName` as received-by; with `LastPickupDate` ("Last pickup
//!   by Date from the UPS Access Point Location") → at an Access Point (`D`/`KB`), with only
//!   `AccessPointLocationID` → collected there (`D`/`KM`);
//! * `Generic` `ActivityType` `VM` → voided (`MV`/`MV`); other generic records are skipped.
//!
//! Quantum View gives `Date`/`Time` without a zone (QuantumView.yaml does not say GMT or
//! local): they are read as UTC, and the tracker matches them to Track's events allowing
//! for a zone offset. Lists are read one-or-many (§0.1: `>= v3` promises arrays).
//!
//! Pure: no HTTP, no clock. Never log what is parsed here (names, references).

use super::*;
use crate::model::{QvEvent, QvFile, QvPage, QvRecord, QvRequest};

/// UPS's code for "The field, {0}, contains invalid data" (common error codes); with a
/// `DateTimeRange`/`BeginDateTime` message it means the range starts too far back.
pub const INVALID_FIELD: &str = "20008";

// ---------------------------------------------------------------- request

/// `YYYYMMDDHHmmss`.
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// The body of `POST /api/quantumview/{version}/events` for `r` (`version` goes in the path).
pub fn quantum_view_request(r: &QvRequest) -> Value {
    let range = json!({"BeginDateTime": stamp(r.begin), "EndDateTime": stamp(r.end)});
    let subs: Vec<Value> = if r.subscription_names.is_empty() {
        vec![json!({ "DateTimeRange": range })]
    } else {
        r.subscription_names
            .iter()
            .map(|n| json!({"Name": n, "DateTimeRange": range}))
            .collect()
    };
    let mut q = json!({
        "Request": {
            "TransactionReference": {"CustomerContext": "upsync"},
            "RequestAction": "QVEvents",
        },
        "SubscriptionRequest": subs,
    });
    if let Some(b) = r.bookmark.as_deref().filter(|b| !b.is_empty()) {
        q["Bookmark"] = s(b);
    }
    json!({ "QuantumViewRequest": q })
}

/// Whether a rejection (`code`, `message`) is UPS refusing a range that starts more than 7
/// days back.
pub fn range_too_old(code: &str, message: &str) -> bool {
    code == INVALID_FIELD
        && (message.contains("BeginDateTime") || message.contains("DateTimeRange"))
}

// ---------------------------------------------------------------- response

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(other) => vec![other],
    }
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn short(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// `YYYYMMDD` + `HHMMSS` (or `HHMM`), read as UTC.
fn date_time(date: &str, time: &str) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(date.trim(), "%Y%m%d").ok()?;
    let t = time.trim();
    let t = match t.len() {
        6 => NaiveTime::parse_from_str(t, "%H%M%S").ok()?,
        4 => NaiveTime::parse_from_str(t, "%H%M").ok()?,
        0 => NaiveTime::MIN,
        _ => return None,
    };
    Some(Utc.from_utc_datetime(&NaiveDateTime::new(d, t)))
}

fn place(loc: Option<&Value>) -> Option<String> {
    let a = loc?.get("AddressArtifactFormat")?;
    let parts: Vec<String> = ["PoliticalDivision2", "PoliticalDivision1", "CountryCode"]
        .iter()
        .map(|k| short(&text(a, k), 64))
        .filter(|p| !p.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn references(groups: &[Option<&Value>]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in groups {
        for r in list(*g) {
            let v = short(&text(r, "Value"), 35);
            if !v.is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn event(
    record: QvRecord,
    tn: &str,
    typ: &str,
    code: &str,
    description: String,
    time: DateTime<Utc>,
    location: Option<String>,
    shipper: &str,
    references: Vec<String>,
) -> QvEvent {
    QvEvent {
        record,
        event: TrackingEvent {
            tracking_number: tn.to_ascii_uppercase(),
            milestone: Milestone::from_ups_status(typ, code, "", &description),
            status_type: typ.into(),
            status_code: code.into(),
            status_number: String::new(),
            description: short(&description, 200),
            time,
            location,
        },
        shipper_number: shipper.to_string(),
        references,
        scheduled_delivery: None,
        delivered_at: None,
        received_by: None,
    }
}

/// The package-level records (`Origin`, `Exception`, `Delivery`) of one file.
fn package_record(kind: QvRecord, r: &Value) -> Option<QvEvent> {
    let tn = text(r, "TrackingNumber");
    let time = date_time(&text(r, "Date"), &text(r, "Time"))?;
    if tn.is_empty() {
        return None;
    }
    let shipper = text(r, "ShipperNumber");
    let refs = references(&[
        r.get("ShipmentReferenceNumber"),
        r.get("PackageReferenceNumber"),
    ]);
    let loc = place(r.get("ActivityLocation"));
    Some(match kind {
        QvRecord::Origin => {
            let mut e = event(
                kind,
                &tn,
                "I",
                "OR",
                "Origin Scan".into(),
                time,
                loc,
                &shipper,
                refs,
            );
            e.scheduled_delivery = parse_ups_date(&text(r, "ScheduledDeliveryDate"));
            e
        }
        QvRecord::Exception => {
            let code = [text(r, "StatusCode"), text(r, "ReasonCode")]
                .into_iter()
                .find(|c| !c.is_empty())
                .unwrap_or_else(|| "X".into());
            let mut words: Vec<String> = Vec::new();
            for k in ["ReasonDescription", "StatusDescription"] {
                let w = text(r, k);
                if !w.is_empty() && !words.contains(&w) {
                    words.push(w);
                }
            }
            let mut e = event(
                kind,
                &tn,
                "X",
                &code,
                words.join(": "),
                time,
                loc,
                &shipper,
                refs,
            );
            e.scheduled_delivery = parse_ups_date(&text(r, "RescheduledDeliveryDate"));
            e
        }
        QvRecord::Delivery => {
            let dl = r.get("DeliveryLocation");
            let loc = loc.or_else(|| place(dl));
            // An Access Point: `LastPickupDate` = waiting there (`KB`); its id alone =
            // collected there (`KM`); else delivered (`FS`).
            let (code, words) = if !text(r, "LastPickupDate").is_empty() {
                (
                    "KB",
                    "Delivered to UPS Access Point. Awaiting customer pickup.",
                )
            } else if !text(r, "AccessPointLocationID").is_empty() {
                ("KM", "Picked up by the customer at the UPS Access Point")
            } else {
                ("FS", "DELIVERED")
            };
            let mut e = event(
                kind,
                &tn,
                "D",
                code,
                words.into(),
                time,
                loc,
                &shipper,
                refs,
            );
            e.delivered_at = (code != "KB").then_some(time);
            e.received_by = dl
                .map(|d| short(&text(d, "SignedForByName"), 64))
                .filter(|n| !n.is_empty());
            e
        }
        QvRecord::Manifest | QvRecord::Void => return None,
    })
}

/// `Manifest`: one label-created event per package.
fn manifest_events(m: &Value) -> Vec<QvEvent> {
    let shipper = m
        .get("Shipper")
        .map(|s| text(s, "ShipperNumber"))
        .unwrap_or_default();
    let ship_refs = m.get("ReferenceNumber");
    let pickup = text(m, "PickupDate");
    let scheduled = parse_ups_date(&text(m, "ScheduledDeliveryDate"));
    let mut out = Vec::new();
    for p in list(m.get("Package")) {
        let tn = text(p, "TrackingNumber");
        if tn.is_empty() {
            continue;
        }
        let time = list(p.get("Activity"))
            .first()
            .and_then(|a| date_time(&text(a, "Date"), &text(a, "Time")))
            .or_else(|| date_time(&pickup, ""));
        let Some(time) = time else { continue };
        let refs = references(&[ship_refs, p.get("ReferenceNumber")]);
        let mut e = event(
            QvRecord::Manifest,
            &tn,
            "M",
            "MP",
            "Shipper created a label".into(),
            time,
            None,
            &shipper,
            refs,
        );
        e.scheduled_delivery = scheduled;
        out.push(e);
    }
    out
}

/// `Generic` `VM` (void for manifest) → voided; other activity types are skipped.
fn generic_event(g: &Value) -> Option<QvEvent> {
    if text(g, "ActivityType") != "VM" {
        return None;
    }
    let tn = text(g, "TrackingNumber");
    let a = list(g.get("Activity"));
    let time = a
        .first()
        .and_then(|a| date_time(&text(a, "Date"), &text(a, "Time")))?;
    let refs = references(&[
        g.get("ShipmentReferenceNumber"),
        g.get("PackageReferenceNumber"),
    ]);
    Some(event(
        QvRecord::Void,
        &tn,
        "MV",
        "MV",
        "Voided Information Received".into(),
        time,
        None,
        &text(g, "ShipperNumber"),
        refs,
    ))
}

/// Parse a Quantum View 200. A `ResponseStatusCode` `0` with `Response.Error[]` is an error
/// for the caller to classify (see [`crate::ups::parse::faults`]), not a page.
pub fn quantum_view_response(v: &Value) -> Result<QvPage, ParseError> {
    let r = v
        .get("QuantumViewResponse")
        .ok_or_else(|| perr("Quantum View answer: no QuantumViewResponse"))?;
    if text(
        r.get("Response").unwrap_or(&Value::Null),
        "ResponseStatusCode",
    ) == "0"
    {
        return Err(perr("Quantum View answer: ResponseStatusCode 0 (failure)"));
    }
    let ev = r
        .get("QuantumViewEvents")
        .ok_or_else(|| perr("Quantum View answer: no QuantumViewEvents"))?;
    let mut page = QvPage {
        subscriber_id: text(ev, "SubscriberID"),
        bookmark: Some(text(r, "Bookmark")).filter(|b| !b.is_empty()),
        ..QvPage::default()
    };
    for se in list(ev.get("SubscriptionEvents")) {
        let name = text(se, "Name");
        let status = se
            .get("SubscriptionStatus")
            .map(|s| text(s, "Code"))
            .unwrap_or_default();
        if !status.is_empty() && status != "A" {
            page.inactive_subscriptions.push((name.clone(), status));
        }
        for f in list(se.get("SubscriptionFile")) {
            let mut events = Vec::new();
            for m in list(f.get("Manifest")) {
                events.extend(manifest_events(m));
            }
            for (key, kind) in [
                ("Origin", QvRecord::Origin),
                ("Exception", QvRecord::Exception),
                ("Delivery", QvRecord::Delivery),
            ] {
                events.extend(
                    list(f.get(key))
                        .into_iter()
                        .filter_map(|x| package_record(kind, x)),
                );
            }
            events.extend(list(f.get("Generic")).into_iter().filter_map(generic_event));
            page.files.push(QvFile {
                subscription: name.clone(),
                name: text(f, "FileName"),
                read: f.get("StatusType").is_some_and(|s| text(s, "Code") == "R"),
                events,
            });
        }
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request example of QuantumView.yaml: one `SubscriptionRequest` object,
    /// `FileName` a string, `Bookmark` inside it. Our builder sends arrays and a top-level
    /// `Bookmark`, as the schema declares.
    #[test]
    fn request_has_the_schema_shape() {
        let r = QvRequest {
            version: "v3".into(),
            subscription_names: vec!["OutboundXML".into(), "Returns".into()],
            begin: Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 12, 1, 8, 30, 5).unwrap(),
            bookmark: Some("WE9MVFFBMQ==".into()),
        };
        let v = quantum_view_request(&r);
        let q = &v["QuantumViewRequest"];
        assert_eq!(q["Request"]["RequestAction"], "QVEvents");
        assert_eq!(q["Bookmark"], "WE9MVFFBMQ==");
        assert_eq!(q["SubscriptionRequest"][1]["Name"], "Returns");
        assert_eq!(
            q["SubscriptionRequest"][0]["DateTimeRange"],
            json!({"BeginDateTime": "20261130080000", "EndDateTime": "20261201083005"})
        );
        let all = quantum_view_request(&QvRequest {
            subscription_names: vec![],
            bookmark: None,
            ..r
        });
        assert!(all["QuantumViewRequest"].get("Bookmark").is_none());
        assert!(all["QuantumViewRequest"]["SubscriptionRequest"][0]
            .get("Name")
            .is_none());
    }

    /// Shapes of QuantumView.yaml's response schema (`SubscriptionFile` with `Manifest`,
    /// `Origin`, `Exception`, `Delivery`, `Generic`), single items as bare objects (v1/v2).
    fn example() -> Value {
        json!({"QuantumViewResponse": {
            "Response": {"TransactionReference": {"XpciVersion": "1.0007"}, "ResponseStatusCode": "1", "ResponseStatusDescription": "Success"},
            "QuantumViewEvents": {"SubscriberID": "acme", "SubscriptionEvents": [
                {"Name": "OutboundXML", "Number": "1", "SubscriptionStatus": {"Code": "A", "Description": "Active"},
                 "SubscriptionFile": [{
                    "FileName": "261201_090000001", "StatusType": {"Code": "U", "Description": "Unread"},
                    "Manifest": {"Shipper": {"Name": "ACME", "ShipperNumber": "123X56"}, "ShipTo": {},
                        "ReferenceNumber": {"Code": "PO", "Value": "SO-1001"},
                        "PickupDate": "20261201", "ConsigneeBillIndicator": "", "CollectBillIndicator": "",
                        "Package": [{"TrackingNumber": "1Z123X560300000018", "Activity": {"Date": "20261201", "Time": "081500"},
                                     "ReferenceNumber": [{"Code": "PO", "Value": "SO-1001"}, {"Code": "IK", "Value": "BOX-1"}]}]},
                    "Origin": [{"ShipperNumber": "123X56", "TrackingNumber": "1Z123X560300000018", "Date": "20261201", "Time": "121500",
                                "ActivityLocation": {"AddressArtifactFormat": {"PoliticalDivision2": "ATLANTA", "PoliticalDivision1": "GA", "CountryCode": "US"}},
                                "ScheduledDeliveryDate": "20261203",
                                "PackageReferenceNumber": [{"Code": "PO", "Value": "SO-1001"}]}],
                    "Exception": [{"ShipperNumber": "123X56", "TrackingNumber": "1Z123X560300000018", "Date": "20261203", "Time": "130000",
                                   "StatusCode": "UD", "StatusDescription": "The receiver was not available", "ReasonCode": "UD",
                                   "ReasonDescription": "Delivery Attempted", "RescheduledDeliveryDate": "20261204"}],
                    "Delivery": {"ShipperNumber": "123X56", "TrackingNumber": "1Z123X560300000018", "Date": "20261204", "Time": "103000",
                                 "DeliveryLocation": {"AddressArtifactFormat": {"PoliticalDivision2": "BOSTON", "CountryCode": "US"}, "SignedForByName": "JOHN"},
                                 "ShipmentReferenceNumber": {"Value": "SO-1001"}},
                    "Generic": [{"ActivityType": "VM", "TrackingNumber": "1Z123X560300000027", "Activity": [{"Date": "20261201", "Time": "100000"}]},
                                {"ActivityType": "UD", "TrackingNumber": "1Z123X560300000027"}]
                 }]},
                {"Name": "Gone", "SubscriptionStatus": {"Code": "S", "Description": "Suspended"}}
            ]},
            "Bookmark": "YWNtZXxPdXRib3VuZFhNTHwyNjEyMDFfMDkwMDAwMDAx"
        }})
    }

    #[test]
    fn parses_every_record_kind_into_canonical_events() {
        let page = quantum_view_response(&example()).unwrap();
        assert_eq!(page.subscriber_id, "acme");
        assert_eq!(
            page.bookmark.as_deref(),
            Some("YWNtZXxPdXRib3VuZFhNTHwyNjEyMDFfMDkwMDAwMDAx")
        );
        assert_eq!(
            page.inactive_subscriptions,
            vec![("Gone".to_string(), "S".to_string())]
        );
        assert_eq!(page.files.len(), 1);
        let f = &page.files[0];
        assert_eq!(
            (f.name.as_str(), f.read, f.subscription.as_str()),
            ("261201_090000001", false, "OutboundXML")
        );
        let kinds: Vec<(QvRecord, Milestone, &str)> = f
            .events
            .iter()
            .map(|e| (e.record, e.event.milestone, e.event.status_code.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (QvRecord::Manifest, Milestone::LabelCreated, "MP"),
                (QvRecord::Origin, Milestone::PickedUp, "OR"),
                (QvRecord::Exception, Milestone::DeliveryAttempted, "UD"),
                (QvRecord::Delivery, Milestone::Delivered, "FS"),
                (QvRecord::Void, Milestone::Voided, "MV"),
            ]
        );
        let m = &f.events[0];
        assert_eq!(
            m.references,
            vec!["SO-1001".to_string(), "BOX-1".to_string()]
        );
        assert_eq!(
            m.event.time,
            Utc.with_ymd_and_hms(2026, 12, 1, 8, 15, 0).unwrap()
        );
        let o = &f.events[1];
        assert_eq!(o.event.location.as_deref(), Some("ATLANTA, GA, US"));
        assert_eq!(o.scheduled_delivery, NaiveDate::from_ymd_opt(2026, 12, 3));
        let x = &f.events[2];
        assert_eq!(
            x.event.description,
            "Delivery Attempted: The receiver was not available"
        );
        assert_eq!(x.scheduled_delivery, NaiveDate::from_ymd_opt(2026, 12, 4));
        let d = &f.events[3];
        assert_eq!(d.received_by.as_deref(), Some("JOHN"));
        assert_eq!(
            d.delivered_at,
            Some(Utc.with_ymd_and_hms(2026, 12, 4, 10, 30, 0).unwrap())
        );
        assert_eq!(d.references, vec!["SO-1001".to_string()]);
        assert_eq!(d.event.location.as_deref(), Some("BOSTON, US"));
    }

    #[test]
    fn no_files_no_bookmark_and_failures_are_errors() {
        let v = json!({"QuantumViewResponse": {"Response": {"ResponseStatusCode": "1"},
            "QuantumViewEvents": {"SubscriberID": "acme", "SubscriptionEvents": [{"Name": "OutboundXML", "SubscriptionStatus": {"Code": "A"}}]}}});
        let p = quantum_view_response(&v).unwrap();
        assert!(p.files.is_empty() && p.bookmark.is_none() && p.inactive_subscriptions.is_empty());
        let bad = json!({"QuantumViewResponse": {"Response": {"ResponseStatusCode": "0",
            "Error": [{"ErrorSeverity": "Hard", "ErrorCode": "20008", "ErrorDescription": "bad"}]}, "QuantumViewEvents": {}}});
        assert!(quantum_view_response(&bad).is_err());
        assert!(quantum_view_response(&json!({"foo": 1})).is_err());
        assert!(range_too_old(
            "20008",
            "The field, DateTimeRange.BeginDateTime, contains invalid data"
        ));
        assert!(!range_too_old(
            "20008",
            "The field, Bookmark, contains invalid data"
        ));
    }
}
