//! Quantum View (`POST /api/quantumview/{version}/events`, version `v3`): subscription files
//! of the caller's accounts, built from the same timelines Track shows (UPS-REFERENCE §9;
//! `spec/QuantumView.yaml` is the authority, cited as `QV.yaml` below).
//!
//! Model:
//! * **Subscriptions** are named and shared by every client: `OutboundDefault` exists from the
//!   simulator's start, more come from `POST /_sim/ups/qv-subscriptions {"name": …}`
//!   (a subscription sees the files whose window ends after its creation). Each covers the shipments whose
//!   shipper number is one of the caller's accounts — those this simulator created and
//!   "foreign" ones (`POST /_sim/ups/foreign-shipments` with one of the caller's accounts: a
//!   label printed in WorldShip), with their reference numbers.
//! * **Files**: one per subscription and closed time window (`file_minutes`, default 60) that
//!   holds at least one event; a file appears once its window has ended (so a file never
//!   changes after it was served) and is kept 7 days (QV.yaml `DateTimeRange`: "valid up to
//!   but not exceeding 7 days into the past"). `FileName` is the window's end,
//!   `YYMMDD_HHmmss001` (QV.yaml `SubscriptionFile.FileName`: "Format: YYMMDD_HHmmssnnn").
//! * **Records** from [`track::plan`]/[`track::occurred`] (read-only): label created (`M`) →
//!   `Manifest` (shipment level, with its `Package[]`), origin scan (`OR`, or type `P`) →
//!   `Origin`, exception (`X`) → `Exception` (status and reason text), delivered (`D`) →
//!   `Delivery` (signed-for name, location; at an Access Point (`KB`, either type) with
//!   `AccessPointLocationID` and `LastPickupDate`, collected there (`KM`) with
//!   `AccessPointLocationID` only), voided (`MV`) → `Generic` `ActivityType` `VM`
//!   (QV.yaml `SubscriptionFile_Generic.ActivityType`: "VM = Void for Manifest"). Other
//!   in-transit scans and returns (`RS`) are not Quantum View records. Every record carries the shipment- and
//!   package-level reference numbers (QV.yaml `ShipmentReferenceNumber`, `PackageReferenceNumber`).
//!
//! Criteria (QV.yaml `QuantumViewRequest`, UPS-REFERENCE §9):
//! * none → the **unread** files (of the named subscriptions, else of all); served files
//!   become read (`StatusType` `U` → `R`). QV.yaml says "Container holds all of the unread
//!   files"; when a file turns read is not documented: here, when it is served.
//! * `DateTimeRange{BeginDateTime, EndDateTime}` (`YYYYMMDDHHmmss`) → every file whose time is
//!   in the range, read or not (read status unchanged: the docs do not say a range read marks
//!   files). Begin more than 7 days back → 400 (see [`RANGE_TOO_OLD`]); an empty End is
//!   Begin + 7 days (QV.yaml `EndDateTime`: "When a null or empty EndDateTime is passed in the
//!   request, it is defaulted to 7 days from the given begin date"). The docs do not say in
//!   which zone the range and the records' `Date`/`Time` are: GMT by default, the Track local
//!   time (UTC−05:00) with `local_times` (`POST /_sim/ups/qv-settings`); clients must cope
//!   with both.
//! * `FileName[]` → those files, read or not.
//! * Pagination: at most `page_size` records per answer (whole files; at least one file).
//!   When more remain the answer carries `Bookmark` (base64) and the client resends the same
//!   request with it (QV.yaml `Bookmark`: "SubscriberID + SubscriptionName + File Name if the
//!   request is for all data … SubscriberID if the request is for unread data"). QV.yaml
//!   declares `Bookmark` at the top of `QuantumViewRequest`, its own example puts it inside
//!   `SubscriptionRequest`: both are accepted.
//! * Unknown subscription name → its `SubscriptionEvents` with `SubscriptionStatus.Code` `UN`
//!   (QV.yaml `SubscriptionStatus.Code`: "UN – Unknown").
//!
//! Errors (`{"response":{"errors":[{code, message}]}}`, QV.yaml `ErrorResponse`), codes from
//! UPS's "Common Error Codes" table that applies to all APIs (developer.ups.com, e.g. its
//! Landed Cost errors page; the Quantum View errors page QV.yaml links is not among the
//! documents we hold, so QV-specific codes are not modelled):
//! * 400 `10001` not JSON, `10002` schema violation, unsupported version;
//! * 400 `20006` `RequestAction` other than `QVEvents` ("Invalid request action");
//! * 400 `20007` `DateTimeRange` without `BeginDateTime` ("Missing Required field");
//! * 400 `20008` a malformed date time, End before Begin, Begin more than 7 days back, an
//!   unreadable or foreign `Bookmark` ("The field, {0}, contains invalid data, {1}").
//!
//! Never: use upsync code; log reference values or names.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

use super::rate::items;
use super::state::{Package, Place, Reference, Shipment};
use super::track::{self, Event};
use super::{check_schema, parse_json, schema, ups_error, Caller, UpsState};

/// The subscription every account has from the start.
pub const DEFAULT_SUBSCRIPTION: &str = "OutboundDefault";
/// How far back files are kept and ranges may start (QV.yaml `DateTimeRange`).
pub const MAX_DAYS_BACK: i64 = 7;
/// 400 code for a `DateTimeRange` starting more than 7 days back (common code `20008`, "The
/// field, {0}, contains invalid data"; the QV-specific code is not in our documents).
pub const RANGE_TOO_OLD: &str = "20008";

/// One named subscription.
#[derive(Debug, Clone)]
pub struct QvSubscription {
    pub name: String,
    /// `SubscriptionEvents.Number` (≤16 characters).
    pub number: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
struct Inner {
    subscriptions: Vec<QvSubscription>,
    /// (client id, subscription, file name) served by an unread request.
    read: HashSet<(String, String, String)>,
}

/// Quantum View state of the simulator (subscriptions, read marks, knobs).
#[derive(Debug)]
pub struct QvState {
    inner: Mutex<Inner>,
    page_size: AtomicUsize,
    file_minutes: AtomicUsize,
    local_times: AtomicBool,
}

impl QvState {
    /// `OutboundDefault`, created at `now`.
    pub fn new(now: DateTime<Utc>) -> QvState {
        QvState {
            inner: Mutex::new(Inner {
                subscriptions: vec![QvSubscription {
                    name: DEFAULT_SUBSCRIPTION.into(),
                    number: "1".into(),
                    created_at: now,
                }],
                read: HashSet::new(),
            }),
            page_size: AtomicUsize::new(250),
            file_minutes: AtomicUsize::new(60),
            local_times: AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Add a named subscription (idempotent); it sees activity from `now` on.
    pub fn add_subscription(&self, name: &str, now: DateTime<Utc>) -> bool {
        let mut g = self.lock();
        if g.subscriptions.iter().any(|s| s.name == name) {
            return false;
        }
        let number = (g.subscriptions.len() + 1).to_string();
        g.subscriptions.push(QvSubscription {
            name: name.into(),
            number,
            created_at: now,
        });
        true
    }

    pub fn subscriptions(&self) -> Vec<QvSubscription> {
        self.lock().subscriptions.clone()
    }

    /// Records per answer at most (whole files; at least one file per answer).
    pub fn set_page_size(&self, n: usize) {
        self.page_size.store(n.max(1), Ordering::Relaxed);
    }

    /// Length of a file's window in minutes.
    pub fn set_file_minutes(&self, n: usize) {
        self.file_minutes
            .store(n.clamp(1, 24 * 60), Ordering::Relaxed);
    }

    /// Record `Date`/`Time` and `DateTimeRange` in Track's local time (UTC−05:00) instead of GMT.
    pub fn set_local_times(&self, on: bool) {
        self.local_times.store(on, Ordering::Relaxed);
    }

    fn local(&self) -> bool {
        self.local_times.load(Ordering::Relaxed)
    }

    fn offset(&self) -> Duration {
        if self.local() {
            Duration::hours(track::LOCAL_OFFSET_HOURS)
        } else {
            Duration::zero()
        }
    }
}

/// A record with its activity time and kind (`M`, `O`, `X`, `D`, `G`).
type Stamped = (DateTime<Utc>, char, Value);

/// One file, built on demand.
#[derive(Debug, Clone)]
struct File {
    subscription: String,
    number: String,
    name: String,
    /// End of the window (GMT).
    at: DateTime<Utc>,
    records: Records,
}

#[derive(Debug, Clone, Default)]
struct Records {
    manifest: Vec<Value>,
    origin: Vec<Value>,
    exception: Vec<Value>,
    delivery: Vec<Value>,
    generic: Vec<Value>,
}

impl Records {
    fn len(&self) -> usize {
        self.manifest.len()
            + self.origin.len()
            + self.exception.len()
            + self.delivery.len()
            + self.generic.len()
    }
}

fn bad(code: &str, message: &str) -> Response {
    ups_error(StatusCode::BAD_REQUEST, code, message)
}

fn invalid(field: &str, why: &str) -> Response {
    bad(
        "20008",
        &format!("The field, {field}, contains invalid data: {why}"),
    )
}

/// `YYYYMMDDHHmmss`.
fn parse_stamp(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S").ok()
}

fn refs(list: &[Reference], code_len: usize) -> Vec<Value> {
    list.iter()
        .map(|r| {
            let code: String = format!("{:0>width$}", r.code, width = code_len)
                .chars()
                .take(code_len.max(2))
                .collect();
            json!({"Code": code, "Value": r.value})
        })
        .collect()
}

fn location(p: &Place) -> Value {
    let mut a = Map::new();
    if !p.city.is_empty() {
        a.insert(
            "PoliticalDivision2".into(),
            json!(p.city.to_ascii_uppercase()),
        );
    }
    if !p.state.is_empty() {
        a.insert("PoliticalDivision1".into(), json!(p.state));
    }
    a.insert("CountryCode".into(), json!(p.country));
    json!({ "AddressArtifactFormat": a })
}

impl QvState {
    fn date_time(&self, at: DateTime<Utc>) -> (String, String) {
        let t = at + self.offset();
        (
            t.format("%Y%m%d").to_string(),
            t.format("%H%M%S").to_string(),
        )
    }

    fn record(
        &self,
        sh: &Shipment,
        p: &Package,
        e: &Event,
        plan: &track::Plan,
    ) -> Option<(char, Value)> {
        let (date, time) = self.date_time(e.at);
        let mut m = Map::new();
        m.insert("ShipperNumber".into(), json!(sh.shipper_number));
        m.insert("TrackingNumber".into(), json!(p.tracking_number));
        m.insert("Date".into(), json!(date));
        m.insert("Time".into(), json!(time));
        let bill = json!({"Option": "01", "Number": sh.shipper_number});
        let kind = match (e.status.typ, e.status.code) {
            ("M", _) => return None, // shipment level: see `manifest`
            ("MV", _) => {
                let mut g = Map::new();
                g.insert("ActivityType".into(), json!("VM"));
                g.insert("TrackingNumber".into(), json!(p.tracking_number));
                g.insert("ShipperNumber".into(), json!(sh.shipper_number));
                g.insert(
                    "ShipmentReferenceNumber".into(),
                    json!(refs(&sh.references, 2)),
                );
                g.insert(
                    "PackageReferenceNumber".into(),
                    json!(refs(&p.references, 2)),
                );
                g.insert("Activity".into(), json!([{"Date": date, "Time": time}]));
                return Some(('G', Value::Object(g)));
            }
            ("D", _) | (_, "KB") => {
                m.insert(
                    "ShipmentReferenceNumber".into(),
                    json!(refs(&sh.references, 2)),
                );
                m.insert(
                    "PackageReferenceNumber".into(),
                    json!(refs(&p.references, 2)),
                );
                m.insert("ActivityLocation".into(), location(&e.place));
                let mut dl = location(&sh.destination);
                if !sh.destination.postal.is_empty() {
                    dl["AddressArtifactFormat"]["PostcodePrimaryLow"] =
                        json!(sh.destination.postal);
                }
                match e.status.code {
                    // At an Access Point, awaiting pickup: QV.yaml `Delivery.AccessPointLocationID`
                    // and `LastPickupDate` ("Last pickup by Date from the UPS Access Point
                    // Location"; its format is not given: YYYYMMDD here).
                    "KB" => {
                        m.insert("AccessPointLocationID".into(), json!("U00001234"));
                        let last = (e.at + self.offset() + Duration::days(7))
                            .format("%Y%m%d")
                            .to_string();
                        m.insert("LastPickupDate".into(), json!(last));
                    }
                    // Collected at the Access Point.
                    "KM" => {
                        m.insert("AccessPointLocationID".into(), json!("U00001234"));
                        dl["SignedForByName"] = json!(track::received_by(p));
                    }
                    _ => {
                        dl["Code"] = json!("M");
                        dl["Description"] = json!(track::delivery_location(sh));
                        dl["SignedForByName"] = json!(track::received_by(p));
                    }
                }
                m.insert("DeliveryLocation".into(), dl);
                m.insert("BillToAccount".into(), bill);
                'D'
            }
            ("X", _) => {
                m.insert(
                    "ShipmentReferenceNumber".into(),
                    json!(refs(&sh.references, 2)),
                );
                m.insert(
                    "PackageReferenceNumber".into(),
                    json!(refs(&p.references, 2)),
                );
                m.insert("StatusCode".into(), json!(e.status.code));
                let sd: String = e.status.description.chars().take(120).collect();
                m.insert("StatusDescription".into(), json!(sd));
                m.insert("ReasonCode".into(), json!(e.status.code));
                let rd: String = e.status.simplified.chars().take(40).collect();
                m.insert("ReasonDescription".into(), json!(rd));
                if let Some(r) = plan.rescheduled {
                    m.insert(
                        "RescheduledDeliveryDate".into(),
                        json!(r.format("%Y%m%d").to_string()),
                    );
                }
                m.insert("ActivityLocation".into(), location(&e.place));
                m.insert("BillToAccount".into(), bill);
                'X'
            }
            (t, c) if c == "OR" || t == "P" => {
                m.insert(
                    "ShipmentReferenceNumber".into(),
                    json!(refs(&sh.references, 3)),
                );
                m.insert(
                    "PackageReferenceNumber".into(),
                    json!(refs(&p.references, 3)),
                );
                m.insert("ActivityLocation".into(), location(&e.place));
                m.insert("BillToAccount".into(), bill);
                m.insert(
                    "ScheduledDeliveryDate".into(),
                    json!(plan.scheduled.format("%Y%m%d").to_string()),
                );
                'O'
            }
            _ => return None,
        };
        Some((kind, Value::Object(m)))
    }

    /// The shipment-level `Manifest` record (label created).
    fn manifest(&self, sh: &Shipment) -> Value {
        let (date, time) = self.date_time(sh.created_at);
        let pickup = (sh.created_at + self.offset()).format("%Y%m%d").to_string();
        let packages: Vec<Value> = sh
            .packages
            .iter()
            .map(|p| {
                json!({
                    "TrackingNumber": p.tracking_number,
                    "Activity": [{"Date": date, "Time": time}],
                    "ReferenceNumber": refs(&p.references, 2),
                    "PackageWeight": {"Weight": p.weight_lbs},
                })
            })
            .collect();
        json!({
            "Shipper": {"Name": sh.shipper_name, "ShipperNumber": sh.shipper_number},
            "ShipTo": {"CompanyName": sh.ship_to_name, "Address": {
                "City": sh.destination.city, "StateProvinceCode": sh.destination.state,
                "PostalCode": sh.destination.postal, "CountryCode": sh.destination.country}},
            "ReferenceNumber": refs(&sh.references, 2),
            "Service": {"Code": format!("{:0>3}", sh.service), "Description": super::rate::service_name(&sh.service)},
            "PickupDate": pickup,
            "Package": packages,
            "ConsigneeBillIndicator": "",
            "CollectBillIndicator": "",
        })
    }

    /// Every file of `accounts` visible at `now`, ordered by (file name, subscription).
    fn files(&self, st: &UpsState, accounts: &[String], now: DateTime<Utc>) -> Vec<File> {
        let win = Duration::minutes(self.file_minutes.load(Ordering::Relaxed) as i64);
        let window_of = |at: DateTime<Utc>| -> DateTime<Utc> {
            let w = win.num_seconds().max(60);
            let s = at.timestamp().div_euclid(w) * w;
            Utc.timestamp_opt(s + w, 0).single().unwrap_or(at)
        };
        let oldest = now - Duration::days(MAX_DAYS_BACK);
        // (window end) → records, for the account's shipments
        let mut by_window: BTreeMap<DateTime<Utc>, Vec<Stamped>> = BTreeMap::new();
        {
            let ships = st.read_shipments();
            for sh in &ships.list {
                if !accounts
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(&sh.shipper_number))
                {
                    continue;
                }
                let end = window_of(sh.created_at);
                if end <= now && end >= oldest {
                    by_window
                        .entry(end)
                        .or_default()
                        .push((sh.created_at, 'M', self.manifest(sh)));
                }
                for p in &sh.packages {
                    let plan = track::plan(sh, p);
                    for e in track::occurred(&plan, now) {
                        let end = window_of(e.at);
                        if end > now || end < oldest {
                            continue;
                        }
                        if let Some((k, v)) = self.record(sh, p, e, &plan) {
                            by_window.entry(end).or_default().push((e.at, k, v));
                        }
                    }
                }
            }
        }
        let subs = self.subscriptions();
        let mut out = Vec::new();
        for (end, mut recs) in by_window {
            recs.sort_by_key(|(at, _, _)| *at);
            let mut r = Records::default();
            for (_, k, v) in recs {
                match k {
                    'M' => r.manifest.push(v),
                    'O' => r.origin.push(v),
                    'X' => r.exception.push(v),
                    'D' => r.delivery.push(v),
                    _ => r.generic.push(v),
                }
            }
            let name = format!("{}001", (end + self.offset()).format("%y%m%d_%H%M%S"));
            for s in &subs {
                // A subscription sees the windows that end after it was made.
                if end <= s.created_at {
                    continue;
                }
                out.push(File {
                    subscription: s.name.clone(),
                    number: s.number.clone(),
                    name: name.clone(),
                    at: end,
                    records: r.clone(),
                });
            }
        }
        out.sort_by(|a, b| (&a.name, &a.subscription).cmp(&(&b.name, &b.subscription)));
        out
    }
}

/// What the request asks for.
#[derive(Debug, Default)]
struct Criteria {
    names: Vec<String>,
    range: Option<(DateTime<Utc>, DateTime<Utc>)>,
    files: Vec<String>,
    bookmark: Option<String>,
}

impl Criteria {
    fn unread(&self) -> bool {
        self.range.is_none() && self.files.is_empty()
    }
}

fn criteria(qv: &QvState, req: &Value, now: DateTime<Utc>) -> Result<Criteria, Response> {
    let mut c = Criteria {
        bookmark: req
            .get("Bookmark")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        ..Criteria::default()
    };
    let to_utc = |n: NaiveDateTime| n.and_utc() - qv.offset();
    for sr in items(req.get("SubscriptionRequest")) {
        if let Some(n) = sr
            .get("Name")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            c.names.push(n.to_string());
        }
        // QV.yaml's own example sends the Bookmark inside SubscriptionRequest.
        if c.bookmark.is_none() {
            c.bookmark = sr
                .get("Bookmark")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        for f in items(sr.get("FileName")) {
            if let Some(f) = f.as_str() {
                if f.len() != 16 {
                    return Err(invalid("FileName", "format YYMMDD_HHmmssnnn"));
                }
                c.files.push(f.to_string());
            }
        }
        if let Some(r) = sr.get("DateTimeRange") {
            let begin = match r.get("BeginDateTime").and_then(Value::as_str) {
                None | Some("") => {
                    return Err(bad(
                        "20007",
                        "Missing Required field, DateTimeRange.BeginDateTime.",
                    ))
                }
                Some(b) => to_utc(parse_stamp(b).ok_or_else(|| {
                    invalid("DateTimeRange.BeginDateTime", "format YYYYMMDDHHmmss")
                })?),
            };
            let end = match r.get("EndDateTime").and_then(Value::as_str) {
                None | Some("") => begin + Duration::days(MAX_DAYS_BACK),
                Some(e) => to_utc(parse_stamp(e).ok_or_else(|| {
                    invalid("DateTimeRange.EndDateTime", "format YYYYMMDDHHmmss")
                })?),
            };
            if begin < now - Duration::days(MAX_DAYS_BACK) {
                return Err(bad(
                    RANGE_TOO_OLD,
                    "The field, DateTimeRange.BeginDateTime, contains invalid data: more than 7 days in the past",
                ));
            }
            if end < begin {
                return Err(invalid("DateTimeRange.EndDateTime", "before BeginDateTime"));
            }
            c.range = Some(match c.range {
                Some((b, e)) => (b.min(begin), e.max(end)),
                None => (begin, end),
            });
        }
    }
    Ok(c)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

/// `POST /api/quantumview/{version}/events`.
pub async fn events(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    // QV.yaml: `version` "Valid values: v3" (v1 is the deprecated path, not modelled).
    if version != "v3" {
        return bad(
            "10002",
            &format!("Unsupported Quantum View version '{version}'; use v3"),
        );
    }
    let mut body = match parse_json(&body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let tolerances = match check_schema(&st, schema::BodySchema::QuantumView, &mut body) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let req = &body["QuantumViewRequest"];
    if req["Request"]["RequestAction"].as_str() != Some("QVEvents") {
        return bad(
            "20006",
            "Invalid request action: RequestAction must be QVEvents.",
        );
    }
    let qv = &st.quantum;
    let now = st.now();
    let c = match criteria(qv, req, now) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let subscriber: String = caller.client_id.chars().take(16).collect();
    let all = qv.files(&st, &caller.accounts, now);
    let known: Vec<QvSubscription> = qv.subscriptions();
    let wanted = |f: &File| c.names.is_empty() || c.names.contains(&f.subscription);
    let mut selected: Vec<File> = {
        let g = qv.lock();
        all.into_iter()
            .filter(|f| wanted(f))
            .filter(|f| {
                if c.unread() {
                    !g.read.contains(&(
                        caller.client_id.clone(),
                        f.subscription.clone(),
                        f.name.clone(),
                    ))
                } else {
                    (c.files.is_empty() || c.files.contains(&f.name))
                        && c.range.is_none_or(|(b, e)| f.at >= b && f.at <= e)
                }
            })
            .collect()
    };
    // Resume after the bookmark.
    if let Some(bm) = &c.bookmark {
        let decoded = b64()
            .decode(bm)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let mut parts = decoded.splitn(3, '|');
        if parts.next() != Some(subscriber.as_str()) {
            return invalid("Bookmark", "not a bookmark of this subscriber");
        }
        if !c.unread() {
            let (Some(sub), Some(file)) = (parts.next(), parts.next()) else {
                return invalid("Bookmark", "not a bookmark of this request");
            };
            selected.retain(|f| (f.name.as_str(), f.subscription.as_str()) > (file, sub));
        }
    }
    let page_size = qv.page_size.load(Ordering::Relaxed);
    let mut page = Vec::new();
    let mut n = 0;
    let mut rest = selected.into_iter();
    for f in rest.by_ref() {
        n += f.records.len();
        page.push(f);
        if n >= page_size {
            break;
        }
    }
    let more = rest.next().is_some();
    let bookmark = more.then(|| {
        let raw = if c.unread() {
            subscriber.clone()
        } else {
            let last = page.last().expect("a page holds at least one file");
            format!("{subscriber}|{}|{}", last.subscription, last.name)
        };
        b64().encode(raw)
    });
    // Status as it was before this answer; unread requests then mark the files read.
    let mut sub_events: Vec<Value> = Vec::new();
    {
        let mut g = qv.lock();
        let names: Vec<String> = if c.names.is_empty() {
            known.iter().map(|s| s.name.clone()).collect()
        } else {
            c.names.clone()
        };
        for name in names {
            let Some(s) = known.iter().find(|s| s.name == name) else {
                sub_events.push(json!({"Name": name, "SubscriptionStatus": {"Code": "UN", "Description": "Unknown"}}));
                continue;
            };
            let files: Vec<Value> = page
                .iter()
                .filter(|f| f.subscription == s.name)
                .map(|f| {
                    let key = (
                        caller.client_id.clone(),
                        f.subscription.clone(),
                        f.name.clone(),
                    );
                    let was_read = g.read.contains(&key);
                    if c.unread() {
                        g.read.insert(key);
                    }
                    let mut m = Map::new();
                    m.insert("FileName".into(), json!(f.name));
                    m.insert(
                        "StatusType".into(),
                        if was_read {
                            json!({"Code": "R", "Description": "Read"})
                        } else {
                            json!({"Code": "U", "Description": "Unread"})
                        },
                    );
                    let r = &f.records;
                    for (k, v) in [
                        ("Manifest", &r.manifest),
                        ("Origin", &r.origin),
                        ("Exception", &r.exception),
                        ("Delivery", &r.delivery),
                        ("Generic", &r.generic),
                    ] {
                        if !v.is_empty() {
                            m.insert(k.into(), Value::Array(v.clone()));
                        }
                    }
                    let _ = &f.number;
                    Value::Object(m)
                })
                .collect();
            let mut e = json!({
                "Name": s.name,
                "Number": s.number,
                "SubscriptionStatus": {"Code": "A", "Description": "Active"},
            });
            if !files.is_empty() {
                e["SubscriptionFile"] = Value::Array(files);
            }
            sub_events.push(e);
        }
    }
    let records: usize = page.iter().map(|f| f.records.len()).sum();
    st.core.stats.add("quantumview.files", page.len() as u64);
    st.core.stats.add("quantumview.records", records as u64);
    let context = req["Request"]["TransactionReference"]["CustomerContext"]
        .as_str()
        .unwrap_or("");
    let mut response = json!({
        "TransactionReference": {"CustomerContext": context, "XpciVersion": "1.0007"},
        "ResponseStatusCode": "1",
        "ResponseStatusDescription": "Success",
    });
    if !tolerances.is_empty() {
        response["Alert"] = Value::Array(super::tolerance_alerts(&tolerances));
    }
    let mut out = json!({"QuantumViewResponse": {
        "Response": response,
        "QuantumViewEvents": {"SubscriberID": subscriber, "SubscriptionEvents": sub_events},
    }});
    if let Some(b) = bookmark {
        out["QuantumViewResponse"]["Bookmark"] = json!(b);
    }
    (StatusCode::OK, Json(out)).into_response()
}

/// `POST /_sim/ups/qv-subscriptions {"name": "…"}` → `{"created": bool, "subscriptions": [..]}`.
pub async fn add_subscription(
    State(st): State<Arc<UpsState>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(name) = body["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty() && n.len() <= 21)
    else {
        return bad(
            "20007",
            "name: 1 to 21 characters (QV.yaml SubscriptionRequest.Name)",
        );
    };
    let created = st.quantum.add_subscription(name, st.now());
    let subs: Vec<Value> = st
        .quantum
        .subscriptions()
        .iter()
        .map(|s| json!({"name": s.name, "number": s.number, "created_at": s.created_at.to_rfc3339()}))
        .collect();
    Json(json!({"created": created, "subscriptions": subs})).into_response()
}

/// `POST /_sim/ups/qv-settings {"page_size"?, "file_minutes"?, "local_times"?}`.
pub async fn settings(State(st): State<Arc<UpsState>>, Json(body): Json<Value>) -> Response {
    let qv = &st.quantum;
    if let Some(n) = body["page_size"].as_u64() {
        qv.set_page_size(n as usize);
    }
    if let Some(n) = body["file_minutes"].as_u64() {
        qv.set_file_minutes(n as usize);
    }
    if let Some(b) = body["local_times"].as_bool() {
        qv.set_local_times(b);
    }
    Json(json!({
        "page_size": qv.page_size.load(Ordering::Relaxed),
        "file_minutes": qv.file_minutes.load(Ordering::Relaxed),
        "local_times": qv.local(),
    }))
    .into_response()
}

#[cfg(test)]
mod tests;
