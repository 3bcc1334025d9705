//! Track Alert (UPS-REFERENCE §8): package subscriptions and webhook pushes.
//!
//! * v1 `POST /api/track/v1/subscription/{standard|enhanced}/package` with
//!   `destination{url, credentialType, credential}`: events are POSTed to `url` with the
//!   header `credential: <credential>`.
//! * v2 `POST /api/track/v2/subscription/{standard|enhanced}/package` without destination:
//!   events go to the simulator's configured webhook (`--webhook-url`), with a bearer from
//!   `--webhook-token-url` (OAuth client credentials, `client_secret_basic`) and
//!   `x-api-key: <client id>`.
//! * Both send `User-Agent: UPSPubSubTrackingService` and the §8 payload (`gmtOffset` with a dot).
//!
//! A subscription lasts 14 sim-days; subscribing again renews it to 14 days from now. No
//! history: events that happened before subscribing are not pushed. What is pushed is the
//! package's [`feed`]: its Track activities plus a type `U` "updated delivery date" event
//! after each activity that moved the expected date. Each clock tick
//! ([`UpsState::tick`], run after `/_sim/clock/advance`, by `/_sim/ups/tick` and every
//! second in the background) pushes one event per transition that happened while live,
//! in order. A receiver that fails keeps its events queued (retried next tick; an event
//! that failed 5 times is dropped and counted).
//!
//! Never log credentials or bearer tokens.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use serde_json::{json, Value};

use super::rate::items;
use super::track::{self, Plan};
use super::{check_schema, header, label, parse_json, schema, Caller, UpsState};

/// How long a subscription lives.
pub const LIFETIME_DAYS: i64 = 14;
const USER_AGENT: &str = "UPSPubSubTrackingService";

/// v1 destination as sent by the subscriber.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: String,
    pub credential_type: String,
    pub credential: String,
}

/// One package subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub tracking_number: String,
    pub client_id: String,
    /// 1 or 2.
    pub version: u8,
    pub enhanced: bool,
    /// `D I M X`; empty = all.
    pub preferences: Vec<String>,
    /// v1 only.
    pub destination: Option<Destination>,
    pub subscribed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Feed items ([`feed`]) already handled (pushed, filtered out, or before subscribing).
    pub pushed: usize,
    failures: u32,
}

fn vss(status: StatusCode, code: &str, message: &str, invalid: &[String]) -> Response {
    let mut body = json!({"response": {"errors": [{"code": code, "message": message}]}});
    if !invalid.is_empty() || code == "VSS210" {
        body["invalidTrackingNumbers"] = json!(invalid);
    }
    (status, Json(body)).into_response()
}

fn bad(code: &str, message: &str) -> Response {
    vss(StatusCode::BAD_REQUEST, code, message, &[])
}

/// `^1Z[0-9A-Z]{16}$|^1R[0-9A-Z]{14}$|^1R[0-9A-Z]{26}$`
pub fn valid_number(n: &str) -> bool {
    let alnum = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    };
    (n.len() == 18 && n.starts_with("1Z") && alnum(&n[2..]))
        || ((n.len() == 16 || n.len() == 28) && n.starts_with("1R") && alnum(&n[2..]))
}

/// `POST /api/track/{v1|v2}/subscription/{standard|enhanced}/package`.
pub async fn subscribe(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path((version, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version: u8 = match version.as_str() {
        "v1" => 1,
        "v2" => 2,
        _ => {
            return vss(
                StatusCode::NOT_FOUND,
                "404",
                "The requested resource was not found.",
                &[],
            )
        }
    };
    let enhanced = match kind.as_str() {
        "standard" => false,
        "enhanced" => true,
        _ => {
            return bad(
                "VSS930",
                "Invalid subscription type: use standard or enhanced",
            )
        }
    };
    match header(&headers, "transId") {
        None => return bad("VSS002", "transId is required. The Subscription request has been rejected."),
        Some(t) if t.len() > 32 => {
            return bad("VSS003", "transId is invalid (at most 32 characters). The Subscription request has been rejected.")
        }
        _ => {}
    }
    match header(&headers, "transactionSrc") {
        None => {
            return bad(
                "VSS004",
                "transactionSrc is required. The Subscription request has been rejected.",
            )
        }
        Some(t) if t.len() > 512 => {
            return bad(
                "VSS005",
                "transactionSrc is invalid. The Subscription request has been rejected.",
            )
        }
        _ => {}
    }
    let body = match parse_json(&body) {
        Ok(b) => b,
        Err(_) => return bad("VSS000", "Invalid request: the body is not JSON."),
    };
    if body.get("locale").is_none() {
        return bad(
            "VSS300",
            "Locale is required. The Subscription request has been rejected.",
        );
    }
    if body.get("trackingNumberList").is_none() {
        return bad(
            "VSS200",
            "trackingNumberList is required. The Subscription request has been rejected.",
        );
    }
    // malformed numbers are answered in invalidTrackingNumbers (partial success), so the
    // item pattern is checked on the well-formed ones only
    let mut checked = body.clone();
    if let Some(Value::Array(list)) = checked.get_mut("trackingNumberList") {
        list.retain(|v| v.as_str().is_some_and(valid_number));
    }
    if let Err(r) = check_schema(&st, schema::BodySchema::TrackAlertPackage, &mut checked) {
        let _ = r;
        let n = items(body.get("trackingNumberList")).len();
        if n > 100 {
            return bad(
                "VSS220",
                "More than 100 tracking numbers. The Subscription request has been rejected.",
            );
        }
        return bad(
            "VSS000",
            "Invalid request: the body does not match the subscription schema.",
        );
    }
    if body["locale"] != "en_US" {
        return bad(
            "VSS310",
            "Locale is invalid (en_US only). The Subscription request has been rejected.",
        );
    }
    let list: Vec<String> = items(body.get("trackingNumberList"))
        .into_iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    if list.is_empty() {
        return bad(
            "VSS110",
            "trackingNumberList is empty. The Subscription request has been rejected.",
        );
    }
    if list.len() > 100 {
        return bad(
            "VSS220",
            "More than 100 tracking numbers. The Subscription request has been rejected.",
        );
    }
    let preferences: Vec<String> = if enhanced {
        items(body.get("eventPreferences"))
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    } else {
        Vec::new()
    };
    if preferences
        .iter()
        .any(|p| !["D", "I", "M", "X"].contains(&p.as_str()))
        || preferences.len() > 4
    {
        return bad("VSS000", "eventPreferences takes 1 to 4 of D, I, M, X.");
    }
    let destination = if version == 1 {
        let Some(d) = body.get("destination") else {
            return bad(
                "VSS500",
                "Destination is required. The Subscription request has been rejected",
            );
        };
        let url = d["url"].as_str().unwrap_or("").trim().to_string();
        if url.is_empty() {
            return bad(
                "VSS600",
                "Destination url is required. The Subscription request has been rejected.",
            );
        }
        if url::Url::parse(&url)
            .map(|u| u.scheme() != "https" && u.scheme() != "http")
            .unwrap_or(true)
        {
            return bad(
                "VSS610",
                "Destination url is invalid. The Subscription request has been rejected.",
            );
        }
        let credential = d["credential"].as_str().unwrap_or("").to_string();
        if credential.is_empty() {
            return bad(
                "VSS700",
                "Credential is empty or not present. The Subscription request has been rejected.",
            );
        }
        let credential_type = d["credentialType"].as_str().unwrap_or("").to_string();
        if credential_type.is_empty() {
            return bad("VSS800", "CredentialType is empty or not present. The Subscription request has been rejected.");
        }
        Some(Destination {
            url,
            credential_type,
            credential,
        })
    } else {
        if st.cfg.webhook.is_none() {
            return bad("VSS500", "Destination is required: no webhook is registered for this client (start the simulator with --webhook-url). The Subscription request has been rejected");
        }
        None
    };
    let (valid, invalid): (Vec<String>, Vec<String>) =
        list.into_iter().partition(|n| valid_number(n));
    if valid.is_empty() {
        return vss(
            StatusCode::BAD_REQUEST,
            "VSS210",
            "No valid tracking numbers. The Subscription request has been rejected.",
            &invalid,
        );
    }
    let now = st.now();
    // events that already happened are not pushed (no history)
    let happened: Vec<usize> = {
        let ships = st.read_shipments();
        valid
            .iter()
            .map(|n| match ships.by_tracking(n) {
                Some((sh, pi)) => {
                    let pl = track::plan(sh, &sh.packages[pi]);
                    feed(&pl).iter().take_while(|(at, _)| *at <= now).count()
                }
                None => 0,
            })
            .collect()
    };
    {
        let mut subs = st.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        for (n, done) in valid.iter().zip(happened) {
            let expires_at = now + Duration::days(LIFETIME_DAYS);
            match subs.get_mut(n) {
                Some(s) if s.expires_at > now => {
                    s.expires_at = expires_at;
                    s.version = version;
                    s.enhanced = enhanced;
                    s.preferences = preferences.clone();
                    s.destination = destination.clone();
                    s.client_id = caller.client_id.clone();
                }
                _ => {
                    subs.insert(
                        n.clone(),
                        Subscription {
                            tracking_number: n.clone(),
                            client_id: caller.client_id.clone(),
                            version,
                            enhanced,
                            preferences: preferences.clone(),
                            destination: destination.clone(),
                            subscribed_at: now,
                            expires_at,
                            pushed: done,
                            failures: 0,
                        },
                    );
                }
            }
        }
    }
    st.core
        .stats
        .add("trackalert.subscribed", valid.len() as u64);
    let mut out = json!({"validTrackingNumbers": valid});
    if !invalid.is_empty() {
        out["invalidTrackingNumbers"] = json!(invalid);
    }
    (StatusCode::OK, Json(out)).into_response()
}

/// One pushable item of a package's Track Alert feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedItem {
    /// `Plan::events[i]`, as Track shows it.
    Activity(usize),
    /// `Plan::date_changes[j]`: a type `U` "Updated Delivery Date or Time" event
    /// (UPSTrackAlert.yaml `activityStatus.type`), pushed right after the activity that moved
    /// the date. Track has no such activity: it shows the new date as `RDD`.
    DateUpdate(usize),
}

/// What Track Alert pushes for a plan, in order, with the instant of each item.
pub fn feed(pl: &Plan) -> Vec<(DateTime<Utc>, FeedItem)> {
    let mut out = Vec::with_capacity(pl.events.len() + pl.date_changes.len());
    for (i, e) in pl.events.iter().enumerate() {
        out.push((e.at, FeedItem::Activity(i)));
        for (j, c) in pl.date_changes.iter().enumerate() {
            if c.after == i {
                out.push((e.at, FeedItem::DateUpdate(j)));
            }
        }
    }
    out
}

/// The status type a feed item is pushed with.
fn feed_type(pl: &Plan, item: FeedItem) -> &'static str {
    match item {
        FeedItem::Activity(i) => pl.events[i].status.typ,
        FeedItem::DateUpdate(_) => "U",
    }
}

/// Whether `eventPreferences` (§8: 1–4 of `D I M X`; empty = all) let an event type through.
/// `MV` goes with `M`. [ext, not in the spec: `U` cannot be asked for and goes only to
/// "all" subscriptions; the return to the shipper (`RS`, pushed as `D`) goes with `D`.]
fn wanted(preferences: &[String], typ: &str) -> bool {
    preferences.is_empty()
        || preferences
            .iter()
            .any(|x| x == typ || (x == "M" && typ == "MV") || (x == "D" && typ == "RS"))
}

/// The §8 payload of a feed item.
pub fn feed_payload(
    sh: &super::state::Shipment,
    p: &super::state::Package,
    pl: &Plan,
    item: FeedItem,
    enhanced: bool,
) -> Value {
    match item {
        FeedItem::Activity(i) => payload(sh, p, pl, i, enhanced),
        FeedItem::DateUpdate(j) => update_payload(sh, p, pl, j),
    }
}

/// The `U` event of date change `j`: at the instant and place of the activity that moved
/// the date, `scheduledDeliveryDate` = the new date. [ext, not in the spec: UPS documents
/// no code for `U`; the simulator repeats the code and `descriptionCode` of the activity
/// that moved the date.]
pub fn update_payload(
    sh: &super::state::Shipment,
    p: &super::state::Package,
    pl: &Plan,
    j: usize,
) -> Value {
    let c = pl.date_changes[j];
    let mut v = payload(sh, p, pl, c.after, false);
    let e = &pl.events[c.after];
    v["activityStatus"] = json!({
        "type": "U",
        "code": e.status.code,
        "description": "Updated delivery date",
        "descriptionCode": e.status.status_code,
    });
    v["scheduledDeliveryDate"] = json!(c.date.format("%Y%m%d").to_string());
    v["actualDeliveryDate"] = json!("");
    v["actualDeliveryTime"] = json!("");
    v["deliveryTimeDescription"] = json!("end of day");
    v
}

/// The §8 event payload for event `i` of a package's plan. `descriptionCode` is the
/// Track `statusCode` of the activity (`ex:trackalert-webhook-event-delivered.json`);
/// `scheduledDeliveryDate` is the date expected once the event happened (moved by an
/// earlier or this event, see [`Plan::date_changes`]).
pub fn payload(
    sh: &super::state::Shipment,
    p: &super::state::Package,
    pl: &Plan,
    i: usize,
    enhanced: bool,
) -> Value {
    let e = &pl.events[i];
    let (d, t, gd, gt) = track::stamp(e.at);
    let delivered = e.status.typ == "D";
    let (scheduled, _) = pl.expected_after(i);
    let mut v = json!({
        "trackingNumber": p.tracking_number,
        "localActivityDate": d,
        "localActivityTime": t,
        "activityLocation": {
            "city": e.place.city.to_ascii_uppercase(),
            "stateProvince": e.place.state.to_ascii_uppercase(),
            "postalCode": if delivered { e.place.postal.clone() } else { String::new() },
            "country": e.place.country,
        },
        "activityStatus": {
            // UPSTrackAlert.yaml's `activityStatus.type` enumerates only D I M MV U X: the
            // return to the shipper (Track's type `RS`, UPS-REFERENCE §6) is pushed as a
            // delivery (`D`, to the shipper) keeping code `RS` and descriptionCode `034`.
            "type": if e.status.typ == "RS" { "D" } else { e.status.typ },
            "code": e.status.code,
            "description": e.status.description,
            "descriptionCode": e.status.status_code,
        },
        "scheduledDeliveryDate": scheduled.format("%Y%m%d").to_string(),
        "actualDeliveryDate": if delivered { d.clone() } else { String::new() },
        "actualDeliveryTime": if delivered { t.clone() } else { String::new() },
        "gmtActivityDate": gd,
        "gmtActivityTime": gt,
        "gmtOffset": track::gmt_offset('.'),
        "deliveryStartTime": "",
        "deliveryEndTime": "",
        "deliveryTimeDescription": if delivered { "" } else { "end of day" },
    });
    // Enhanced events carry who took the package (§8), on the consignee's delivery (`FS`)
    // or pickup at the Access Point (`KM`), not on the Access Point arrival (`KB`).
    if enhanced && delivered && e.status.code != "KB" {
        let who = if e.status.code == "KM" {
            track::picked_up_by(sh, p)
        } else {
            track::received_by(p).to_string()
        };
        v["deliveryPhoto"] =
            json!(base64::engine::general_purpose::STANDARD.encode(label::signature_gif(&who)));
        v["receivedBy"] = json!(who);
    }
    v
}

struct Job {
    tracking_number: String,
    version: u8,
    destination: Option<Destination>,
    /// (feed index, payload or None when filtered out by preferences)
    events: Vec<(usize, Option<Value>)>,
    failures: u32,
}

impl UpsState {
    /// Push every due Track Alert event; returns how many were delivered.
    pub async fn tick(self: &Arc<Self>) -> usize {
        let _guard = self.tick_lock.lock().await;
        let now = self.now();
        let jobs: Vec<Job> = {
            let subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
            if subs.is_empty() {
                return 0;
            }
            let ships = self.read_shipments();
            let mut jobs = Vec::new();
            for (n, sub) in subs.iter() {
                let Some((sh, pi)) = ships.by_tracking(n) else {
                    continue;
                };
                let p = &sh.packages[pi];
                let pl = track::plan(sh, p);
                let limit = now.min(sub.expires_at);
                let items = feed(&pl);
                let due = items.iter().take_while(|(at, _)| *at <= limit).count();
                if due <= sub.pushed {
                    continue;
                }
                let events = (sub.pushed..due)
                    .map(|i| {
                        let item = items[i].1;
                        let send = wanted(&sub.preferences, feed_type(&pl, item));
                        (
                            i,
                            send.then(|| feed_payload(sh, p, &pl, item, sub.enhanced)),
                        )
                    })
                    .collect();
                jobs.push(Job {
                    tracking_number: n.clone(),
                    version: sub.version,
                    destination: sub.destination.clone(),
                    events,
                    failures: sub.failures,
                });
            }
            jobs
        };
        if jobs.is_empty() {
            return 0;
        }
        let results: Vec<(String, usize, u32, usize)> = futures::stream::iter(jobs)
            .map(|job| {
                let st = self.clone();
                async move { st.deliver(job).await }
            })
            .buffer_unordered(16)
            .collect()
            .await;
        let mut delivered_total = 0;
        let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        for (n, handled_upto, failures, delivered) in results {
            delivered_total += delivered;
            if let Some(s) = subs.get_mut(&n) {
                s.pushed = s.pushed.max(handled_upto);
                s.failures = failures;
            }
        }
        delivered_total
    }

    /// Deliver a job's events in order; returns (number, handled up to, failures, delivered).
    async fn deliver(self: Arc<Self>, job: Job) -> (String, usize, u32, usize) {
        let mut handled = job.events.first().map(|e| e.0).unwrap_or(0);
        let mut failures = job.failures;
        let mut delivered = 0;
        for (i, payload) in job.events {
            let Some(payload) = payload else {
                handled = i + 1;
                continue;
            };
            if self
                .push(job.version, job.destination.as_ref(), &payload)
                .await
            {
                self.core.stats.incr("trackalert.pushed");
                delivered += 1;
                failures = 0;
                handled = i + 1;
            } else {
                self.core.stats.incr("trackalert.push_failed");
                failures += 1;
                if failures >= 5 {
                    self.core.stats.incr("trackalert.dropped");
                    failures = 0;
                    handled = i + 1;
                    continue;
                }
                break;
            }
        }
        (job.tracking_number, handled, failures, delivered)
    }

    async fn push(&self, version: u8, dest: Option<&Destination>, payload: &Value) -> bool {
        match self.push_once(version, dest, payload).await {
            Some(401) if version == 2 && self.webhook_bearer.lock().await.take().is_some() => {
                // The receiver no longer takes our cached bearer (its clock may run ahead of
                // the cache's): an OAuth client fetches a new token and tries once more.
                self.push_once(version, dest, payload)
                    .await
                    .is_some_and(|s| s < 300)
            }
            s => s.is_some_and(|s| s < 300),
        }
    }

    /// One push: the receiver's HTTP status, `None` when it could not be sent.
    async fn push_once(
        &self,
        version: u8,
        dest: Option<&Destination>,
        payload: &Value,
    ) -> Option<u16> {
        let req = if version == 1 {
            let d = dest?;
            self.http
                .post(&d.url)
                .header("credential", &d.credential)
                .header("User-Agent", USER_AGENT)
                .json(payload)
        } else {
            let w = self.cfg.webhook.as_ref()?;
            let mut r = self
                .http
                .post(&w.url)
                .header("User-Agent", USER_AGENT)
                .json(payload);
            if let Some(id) = &w.client_id {
                r = r.header("x-api-key", id);
            }
            if w.token_url.is_some() {
                r = r.bearer_auth(self.webhook_bearer().await?);
            }
            r
        };
        match req.send().await {
            Ok(resp) => Some(resp.status().as_u16()),
            Err(e) => {
                tracing::debug!(error = %e.without_url(), "Track Alert push failed");
                None
            }
        }
    }

    /// A bearer for the v2 webhook from the customer token URL (cached until near expiry).
    async fn webhook_bearer(&self) -> Option<String> {
        let w = self.cfg.webhook.as_ref()?;
        let token_url = w.token_url.as_ref()?;
        let mut cached = self.webhook_bearer.lock().await;
        if let Some((tok, until)) = cached.as_ref() {
            if std::time::Instant::now() < *until {
                return Some(tok.clone());
            }
        }
        let resp = self
            .http
            .post(token_url)
            .basic_auth(
                w.client_id.clone().unwrap_or_default(),
                w.client_secret.clone(),
            )
            .header("User-Agent", USER_AGENT)
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .ok()?;
        if !resp.status().is_success() {
            self.core.stats.incr("trackalert.webhook_token_failed");
            return None;
        }
        let v: Value = resp.json().await.ok()?;
        let tok = v["access_token"].as_str()?.to_string();
        let secs = match &v["expires_in"] {
            Value::Number(n) => n.as_u64().unwrap_or(300),
            Value::String(s) => s.parse().unwrap_or(300),
            _ => 300,
        };
        let until = std::time::Instant::now()
            + std::time::Duration::from_secs(secs.saturating_sub(30).max(1));
        *cached = Some((tok.clone(), until));
        self.core.stats.incr("trackalert.webhook_token");
        Some(tok)
    }

    /// `/_sim/ups/subscriptions` (no credentials).
    pub fn dump_subscriptions(&self) -> Value {
        let now = self.now();
        let subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<&Subscription> = subs.values().collect();
        list.sort_by(|a, b| a.tracking_number.cmp(&b.tracking_number));
        Value::Array(
            list.into_iter()
                .map(|s| {
                    json!({
                        "tracking_number": s.tracking_number,
                        "client_id": s.client_id,
                        "version": format!("v{}", s.version),
                        "type": if s.enhanced { "enhanced" } else { "standard" },
                        "event_preferences": s.preferences,
                        "url": s.destination.as_ref().map(|d| d.url.clone())
                            .or_else(|| self.cfg.webhook.as_ref().map(|w| w.url.clone())),
                        "credential_type": s.destination.as_ref().map(|d| d.credential_type.clone()),
                        "subscribed_at": s.subscribed_at.to_rfc3339(),
                        "expires_at": s.expires_at.to_rfc3339(),
                        "live": s.expires_at > now,
                        "events_handled": s.pushed,
                    })
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_patterns() {
        assert!(valid_number("1ZCIETST0111111114"));
        assert!(valid_number("1R12345678912345"));
        assert!(!valid_number("1Z1234567$8"));
        assert!(!valid_number("1z999aa10123456784"));
    }
}
