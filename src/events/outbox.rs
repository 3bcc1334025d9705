//! The outbox: status changes recorded durably (the `outbox` tree) before the tracker
//! saves the package they come from, one delivery record per event and webhook, and the
//! per-webhook, per-parcel queues the delivery worker reads.
//!
//! Keys of the `outbox` tree:
//!
//! ```text
//! h/<1Z>                              ParcelHead: last sequence number and status recorded
//! e/<event id>                        EventRecord: the event and its exact JSON body
//! d/<webhook>/<event id>              Delivery: state, attempts, next attempt, last error
//! q/<webhook>/<1Z>/<sequence, 20 d.>  QueueEntry: a pending delivery (event id, due time)
//! x/<webhook>/<event id>              a dead-lettered delivery (index for counts and retry)
//! ```
//!
//! Recording ([`Outbox::record_change`]) writes the head, the event and its deliveries in
//! one atomic sled batch and flushes before returning, so a SIGKILL right after loses
//! nothing. It is idempotent: a change whose status equals the parcel's last recorded
//! status is not a change (after a crash before the package was saved, the tracker
//! re-derives the same change and it is ignored), and `previous_status` is the last
//! *recorded* status, so the chain a receiver sees has no holes.
//!
//! Order: the queue of one parcel at one webhook is keyed by sequence number; the worker
//! only ever sends its first entry (see `deliver.rs`).
//!
//! Must never: log an event body (it carries who signed for a parcel), or hold the
//! recording lock across the flush.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::config::WebhookConfig;
use super::stats::EventsStats;
use crate::model::{Clock, Milestone};
use crate::store::{Store, StoreError, Tree};
use crate::tracking::{StatusChange, StatusSink};

const HEAD: &str = "h/";
const EVENT: &str = "e/";
const DELIVERY: &str = "d/";
const QUEUE: &str = "q/";
const DEAD: &str = "x/";

/// The `type` of every event body.
pub const EVENT_TYPE: &str = "parcel.status_changed";
/// Attempts kept in a delivery's history (the oldest are dropped beyond).
const HISTORY: usize = 50;

/// The ERP record a parcel belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErpRef {
    /// The connector's name in the configuration.
    pub connector: String,
    pub record_id: String,
}

/// The JSON body receivers get (docs/outbound-events.md documents every field).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventBody {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// When upsync recorded the change.
    pub created_at: DateTime<Utc>,
    /// 1, 2, 3, … per parcel (over all statuses, before any webhook's filter).
    pub sequence: u64,
    pub tracking_number: String,
    pub job_id: String,
    pub erp: ErpRef,
    pub status: Milestone,
    pub previous_status: Milestone,
    /// Activity time of the scan the status comes from (UTC), when there is one.
    pub status_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    /// "City, ST, CC" (never a street address).
    pub location: Option<String>,
    pub estimated_delivery: Option<NaiveDate>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub received_by: Option<String>,
}

/// The last status recorded for a parcel (`h/<1Z>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParcelHead {
    pub sequence: u64,
    pub status: Milestone,
    pub event_id: String,
    pub at: DateTime<Utc>,
}

/// An event in the outbox (`e/<id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub id: String,
    pub tracking_number: String,
    pub sequence: u64,
    pub status: Milestone,
    pub recorded_at: DateTime<Utc>,
    /// Identity of the tracking event behind the status (`1Z|time|code`), if any.
    pub source_event: Option<String>,
    /// The exact body sent (the signature covers these bytes).
    pub body: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    /// Dead-lettered after `max_attempts` (retry with `upsync events retry`).
    Dead,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl std::fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// `HTTP 204`, `HTTP 503`, `timed out after 10 s`, `connection failed`, …
    pub outcome: String,
    pub duration_ms: u64,
}

/// One event's delivery to one webhook (`d/<webhook>/<event id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub webhook: String,
    pub event_id: String,
    pub tracking_number: String,
    pub sequence: u64,
    pub status: Milestone,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Not sent before this (backoff).
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Last state change.
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub history: Vec<Attempt>,
}

impl Delivery {
    /// Record an attempt in the history (bounded).
    pub fn push_attempt(&mut self, a: Attempt) {
        self.history.push(a);
        if self.history.len() > HISTORY {
            self.history.remove(0);
        }
    }
}

/// A pending delivery in its parcel's queue (`q/<webhook>/<1Z>/<sequence>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub event_id: String,
    pub due: DateTime<Utc>,
}

/// The first pending delivery of one parcel at one webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    pub tracking_number: String,
    pub sequence: u64,
    pub event_id: String,
    pub due: DateTime<Utc>,
}

/// Which webhooks want which statuses (from the configuration).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub webhook: String,
    /// Empty = all.
    pub statuses: Vec<Milestone>,
}

impl Route {
    pub fn of(w: &WebhookConfig) -> Route {
        Route {
            webhook: w.name.clone(),
            statuses: w.statuses.clone(),
        }
    }

    fn wants(&self, s: Milestone) -> bool {
        self.statuses.is_empty() || self.statuses.contains(&s)
    }
}

/// Filter of [`Outbox::deliveries`].
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<DeliveryState>,
    pub webhook: Option<String>,
    pub tracking_number: Option<String>,
}

/// Counts per webhook.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending: u64,
    pub dead: u64,
}

/// The outbox over the store's `outbox` tree.
pub struct Outbox {
    store: Arc<Store>,
    clock: Clock,
    routes: Vec<Route>,
    stats: Arc<EventsStats>,
    /// Serialises recording (head read → batch write); never held across the flush.
    recording: Mutex<()>,
    /// Wakes the delivery worker when something was recorded.
    wake: Arc<Notify>,
}

fn seq_key(webhook: &str, tn: &str, seq: u64) -> String {
    format!("{QUEUE}{webhook}/{tn}/{seq:020}")
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree: "outbox",
        reason: format!("{key}: {e}"),
    }
}

fn json<T: Serialize>(key: &str, v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| corrupt(key, e))
}

impl Outbox {
    /// An outbox on `store` routing events to `routes`, timestamps from `clock`.
    pub fn new(store: Arc<Store>, clock: Clock, routes: Vec<Route>) -> Outbox {
        let stats = Arc::new(EventsStats::new(routes.iter().map(|r| r.webhook.clone())));
        Outbox {
            store,
            clock,
            routes,
            stats,
            recording: Mutex::new(()),
            wake: Arc::new(Notify::new()),
        }
    }

    /// An outbox for reading and acting on what is stored (the `events` commands): no
    /// routes, so it records nothing.
    pub fn reader(store: Arc<Store>) -> Outbox {
        Outbox::new(store, Clock::system(), Vec::new())
    }

    pub fn stats(&self) -> Arc<EventsStats> {
        self.stats.clone()
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    pub(super) fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Flush the store (group commit).
    pub(super) async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush_async().await
    }

    pub(super) fn clock(&self) -> &Clock {
        &self.clock
    }

    fn tree(&self) -> &crate::store::TreeHandle {
        self.store.tree(Tree::Outbox)
    }

    fn db(&self, source: crate::store::DbError) -> StoreError {
        let e = StoreError::Db {
            dir: self.store.dir().to_path_buf(),
            source,
        };
        self.store.health().record(&e);
        e
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.store.get_json(Tree::Outbox, key)
    }

    /// Record a status change: a new event with the parcel's next sequence number and a
    /// pending delivery for every webhook that wants its status, durable when this returns.
    /// Returns the event id, or `None` when the parcel's last recorded status already is
    /// this one (a change re-derived after a crash).
    pub fn record_change(&self, c: &StatusChange) -> Result<Option<String>, StoreError> {
        let id = {
            let _one = self.recording.lock().unwrap_or_else(|e| e.into_inner());
            let head_key = format!("{HEAD}{}", c.tracking_number);
            let head: Option<ParcelHead> = self.get(&head_key)?;
            if head.as_ref().is_some_and(|h| h.status == c.status) {
                self.stats.inc_duplicates();
                return Ok(None);
            }
            let now = self.clock.now();
            let sequence = head.as_ref().map_or(1, |h| h.sequence + 1);
            let id = format!("evt_{}", uuid::Uuid::new_v4().simple());
            let body = EventBody {
                id: id.clone(),
                kind: EVENT_TYPE.into(),
                created_at: now,
                sequence,
                tracking_number: c.tracking_number.clone(),
                job_id: c.job_id.clone(),
                erp: ErpRef {
                    connector: c.connector.clone(),
                    record_id: c.record_id.clone(),
                },
                status: c.status,
                previous_status: head.as_ref().map_or(c.previous, |h| h.status),
                status_at: c.event.as_ref().map(|e| e.time),
                description: c
                    .event
                    .as_ref()
                    .map(|e| e.description.clone())
                    .filter(|d| !d.is_empty()),
                location: c.event.as_ref().and_then(|e| e.location.clone()),
                estimated_delivery: c.estimated_delivery,
                delivered_at: c.delivered_at,
                received_by: c.received_by.clone(),
            };
            let record = EventRecord {
                id: id.clone(),
                tracking_number: c.tracking_number.clone(),
                sequence,
                status: c.status,
                recorded_at: now,
                source_event: c.event.as_ref().map(|e| e.identity()),
                body: serde_json::to_string(&body).map_err(|e| corrupt(&id, e))?,
            };
            let mut batch = crate::store::Batch::default();
            batch.insert(
                head_key.as_bytes(),
                json(
                    &head_key,
                    &ParcelHead {
                        sequence,
                        status: c.status,
                        event_id: id.clone(),
                        at: now,
                    },
                )?,
            );
            batch.insert(format!("{EVENT}{id}").as_bytes(), json(&id, &record)?);
            for r in self.routes.iter().filter(|r| r.wants(c.status)) {
                let d = Delivery {
                    webhook: r.webhook.clone(),
                    event_id: id.clone(),
                    tracking_number: c.tracking_number.clone(),
                    sequence,
                    status: c.status,
                    state: DeliveryState::Pending,
                    attempts: 0,
                    next_attempt_at: now,
                    last_error: None,
                    created_at: now,
                    delivered_at: None,
                    updated_at: now,
                    history: Vec::new(),
                };
                self.put_delivery(&mut batch, &d)?;
            }
            self.tree().apply_batch(batch).map_err(|e| self.db(e))?;
            id
        };
        // Durable before the tracker saves the package (the contract of StatusSink).
        self.store.flush()?;
        self.stats.inc_recorded();
        self.wake.notify_one();
        Ok(Some(id))
    }

    /// Write `d` and keep the queue and dead indexes in step (into `batch`).
    fn put_delivery(
        &self,
        batch: &mut crate::store::Batch,
        d: &Delivery,
    ) -> Result<(), StoreError> {
        let key = format!("{DELIVERY}{}/{}", d.webhook, d.event_id);
        batch.insert(key.as_bytes(), json(&key, d)?);
        let q = seq_key(&d.webhook, &d.tracking_number, d.sequence);
        let x = format!("{DEAD}{}/{}", d.webhook, d.event_id);
        match d.state {
            DeliveryState::Pending => {
                let entry = QueueEntry {
                    event_id: d.event_id.clone(),
                    due: d.next_attempt_at,
                };
                batch.insert(q.as_bytes(), json(&q, &entry)?);
                batch.remove(x.as_bytes());
            }
            DeliveryState::Delivered => {
                batch.remove(q.as_bytes());
                batch.remove(x.as_bytes());
            }
            DeliveryState::Dead => {
                batch.remove(q.as_bytes());
                batch.insert(x.as_bytes(), b"{}".to_vec());
            }
        }
        Ok(())
    }

    /// Save a delivery after an attempt (not flushed: losing it in a crash means the event
    /// is sent again, which receivers deduplicate by its id).
    pub fn save_delivery(&self, d: &Delivery) -> Result<(), StoreError> {
        let mut batch = crate::store::Batch::default();
        self.put_delivery(&mut batch, d)?;
        self.tree().apply_batch(batch).map_err(|e| self.db(e))
    }

    /// Remove a queue entry whose delivery record is gone.
    pub(super) fn drop_queue_entry(&self, webhook: &str, head: &Head) -> Result<(), StoreError> {
        self.tree()
            .remove(seq_key(webhook, &head.tracking_number, head.sequence))
            .map(|_| ())
            .map_err(|e| self.db(e))
    }

    pub fn event(&self, id: &str) -> Result<Option<EventRecord>, StoreError> {
        self.get(&format!("{EVENT}{id}"))
    }

    pub fn delivery(&self, webhook: &str, event_id: &str) -> Result<Option<Delivery>, StoreError> {
        self.get(&format!("{DELIVERY}{webhook}/{event_id}"))
    }

    /// The last status recorded for a parcel.
    pub fn head(&self, tracking_number: &str) -> Result<Option<ParcelHead>, StoreError> {
        self.get(&format!("{HEAD}{tracking_number}"))
    }

    /// The first pending delivery of every parcel at `webhook`, in tracking-number order.
    pub fn heads(&self, webhook: &str) -> Result<Vec<Head>, StoreError> {
        let prefix = format!("{QUEUE}{webhook}/");
        let mut out: Vec<Head> = Vec::new();
        for kv in self.tree().scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.db(e))?;
            let key = String::from_utf8_lossy(&k);
            let rest = &key[prefix.len()..];
            let Some((tn, seq)) = rest.rsplit_once('/') else {
                continue;
            };
            if out.last().is_some_and(|h| h.tracking_number == tn) {
                continue; // not the first of its parcel
            }
            let entry: QueueEntry = serde_json::from_slice(&v).map_err(|e| corrupt(&key, e))?;
            out.push(Head {
                tracking_number: tn.to_string(),
                sequence: seq.parse().unwrap_or(0),
                event_id: entry.event_id,
                due: entry.due,
            });
        }
        Ok(out)
    }

    /// Deliveries matching `f`, oldest first (by parcel sequence within a parcel).
    pub fn deliveries(&self, f: &Filter) -> Result<Vec<Delivery>, StoreError> {
        let prefix = match &f.webhook {
            Some(w) => format!("{DELIVERY}{w}/"),
            None => DELIVERY.to_string(),
        };
        let mut out = Vec::new();
        for kv in self.tree().scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.db(e))?;
            let d: Delivery =
                serde_json::from_slice(&v).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))?;
            if f.state.is_some_and(|s| s != d.state)
                || f.tracking_number
                    .as_ref()
                    .is_some_and(|t| *t != d.tracking_number)
            {
                continue;
            }
            out.push(d);
        }
        out.sort_by(|a, b| {
            (a.created_at, &a.tracking_number, a.sequence, &a.webhook).cmp(&(
                b.created_at,
                &b.tracking_number,
                b.sequence,
                &b.webhook,
            ))
        });
        Ok(out)
    }

    /// Pending and dead deliveries per webhook (from the queue and dead indexes).
    pub fn backlog(&self) -> Result<BTreeMap<String, Backlog>, StoreError> {
        let mut out: BTreeMap<String, Backlog> = self
            .routes
            .iter()
            .map(|r| (r.webhook.clone(), Backlog::default()))
            .collect();
        for (prefix, dead) in [(QUEUE, false), (DEAD, true)] {
            for k in self.tree().scan_prefix(prefix.as_bytes()).keys() {
                let k = k.map_err(|e| self.db(e))?;
                let key = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                let webhook = key.split('/').next().unwrap_or_default().to_string();
                let b = out.entry(webhook).or_default();
                if dead {
                    b.dead += 1;
                } else {
                    b.pending += 1;
                }
            }
        }
        Ok(out)
    }

    /// Put dead-lettered deliveries back in their queues with a fresh attempt budget:
    /// those of event `event_id` (or every dead one when `None`), at `webhook` (or all).
    /// Returns the deliveries retried. A retried event may reach its receiver after later
    /// events of the same parcel (see docs/outbound-events.md, "Order").
    pub fn retry_dead(
        &self,
        event_id: Option<&str>,
        webhook: Option<&str>,
    ) -> Result<Vec<Delivery>, StoreError> {
        let now = self.clock.now();
        let mut keys = Vec::new();
        let prefix = match webhook {
            Some(w) => format!("{DEAD}{w}/"),
            None => DEAD.to_string(),
        };
        for k in self.tree().scan_prefix(prefix.as_bytes()).keys() {
            let k = k.map_err(|e| self.db(e))?;
            let key = String::from_utf8_lossy(&k[DEAD.len()..]).into_owned();
            if let Some((w, id)) = key.split_once('/') {
                if event_id.is_none_or(|e| e == id) {
                    keys.push((w.to_string(), id.to_string()));
                }
            }
        }
        let mut out = Vec::new();
        let mut batch = crate::store::Batch::default();
        for (w, id) in keys {
            let Some(mut d) = self.delivery(&w, &id)? else {
                continue;
            };
            if d.state != DeliveryState::Dead {
                continue;
            }
            d.state = DeliveryState::Pending;
            d.attempts = 0;
            d.next_attempt_at = now;
            d.updated_at = now;
            self.put_delivery(&mut batch, &d)?;
            out.push(d);
        }
        self.tree().apply_batch(batch).map_err(|e| self.db(e))?;
        self.store.flush()?;
        Ok(out)
    }

    /// Remove what finished before `before`: delivered deliveries, events without any
    /// delivery left, heads of parcels whose last status is terminal (nothing more will
    /// come for them). Dead deliveries stay until retried. Returns the records removed.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut live_events = std::collections::HashSet::new();
        let mut victims = Vec::new();
        for kv in self.tree().scan_prefix(DELIVERY.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.db(e))?;
            let d: Delivery =
                serde_json::from_slice(&v).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))?;
            if d.state == DeliveryState::Delivered && d.updated_at < before {
                victims.push(k);
            } else {
                live_events.insert(d.event_id);
            }
        }
        for k in victims {
            self.tree().remove(k).map_err(|e| self.db(e))?;
            removed += 1;
        }
        let mut old_events = Vec::new();
        for kv in self.tree().scan_prefix(EVENT.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.db(e))?;
            let e: EventRecord =
                serde_json::from_slice(&v).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))?;
            if e.recorded_at < before && !live_events.contains(&e.id) {
                old_events.push(k);
            }
        }
        for k in old_events {
            self.tree().remove(k).map_err(|e| self.db(e))?;
            removed += 1;
        }
        let _one = self.recording.lock().unwrap_or_else(|e| e.into_inner());
        let mut old_heads = Vec::new();
        for kv in self.tree().scan_prefix(HEAD.as_bytes()) {
            let (k, v) = kv.map_err(|e| self.db(e))?;
            let h: ParcelHead =
                serde_json::from_slice(&v).map_err(|e| corrupt(&String::from_utf8_lossy(&k), e))?;
            if h.status.is_terminal() && h.at < before && !live_events.contains(&h.event_id) {
                old_heads.push(k);
            }
        }
        for k in old_heads {
            self.tree().remove(k).map_err(|e| self.db(e))?;
            removed += 1;
        }
        Ok(removed)
    }
}

impl StatusSink for Outbox {
    fn record(&self, change: &StatusChange) -> Result<(), StoreError> {
        self.record_change(change).map(|_| ())
    }
}

/// Typed decoding of `outbox` records for `Store::verify_with` (`upsync store verify`,
/// `check`, the daemon's start): every key decodes as what its prefix says.
pub fn decode(key: &str, bytes: &[u8]) -> Result<(), String> {
    let r = |e: serde_json::Error, what: &str| format!("not {what}: {e}");
    match key.get(..2) {
        Some(HEAD) => serde_json::from_slice::<ParcelHead>(bytes)
            .map(|_| ())
            .map_err(|e| r(e, "a parcel head")),
        Some(EVENT) => serde_json::from_slice::<EventRecord>(bytes)
            .map(|_| ())
            .map_err(|e| r(e, "an outbound event")),
        Some(DELIVERY) => serde_json::from_slice::<Delivery>(bytes)
            .map(|_| ())
            .map_err(|e| r(e, "a delivery")),
        Some(QUEUE) => serde_json::from_slice::<QueueEntry>(bytes)
            .map(|_| ())
            .map_err(|e| r(e, "a queue entry")),
        Some(DEAD) => serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map(|_| ())
            .map_err(|e| r(e, "a dead-letter index entry")),
        _ => Err("unknown key in the outbox".into()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::TrackingEvent;
    use chrono::TimeZone;

    pub(crate) fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 8, 0, 0).unwrap()
    }

    pub(crate) fn change(
        tn: &str,
        previous: Milestone,
        status: Milestone,
        hour: u32,
    ) -> StatusChange {
        StatusChange {
            tracking_number: tn.into(),
            job_id: "acu/000001/v1".into(),
            connector: "acu".into(),
            record_id: "000001".into(),
            status,
            previous,
            event: Some(TrackingEvent {
                tracking_number: tn.into(),
                milestone: status,
                status_type: "I".into(),
                status_code: format!("S{hour}"),
                status_number: String::new(),
                description: format!("{status:?}"),
                time: t0() + chrono::Duration::hours(hour as i64),
                location: Some("Atlanta, GA, US".into()),
            }),
            estimated_delivery: None,
            delivered_at: None,
            received_by: (status == Milestone::Delivered).then(|| "J SMITH".to_string()),
        }
    }

    pub(crate) fn outbox(dir: &std::path::Path, routes: Vec<Route>) -> (Arc<Store>, Outbox) {
        let store = Arc::new(Store::open(dir, None).unwrap());
        let o = Outbox::new(store.clone(), Clock::from_fn(t0), routes);
        (store, o)
    }

    pub(crate) fn all(name: &str) -> Route {
        Route {
            webhook: name.into(),
            statuses: vec![],
        }
    }

    #[test]
    fn a_change_becomes_one_event_with_a_delivery_per_interested_webhook() {
        let dir = tempfile::tempdir().unwrap();
        let only_delivered = Route {
            webhook: "erp".into(),
            statuses: vec![Milestone::Delivered],
        };
        let (_s, o) = outbox(dir.path(), vec![all("wms"), only_delivered]);
        let tn = "1Z123X560300000018";
        let id = o
            .record_change(&change(
                tn,
                Milestone::LabelCreated,
                Milestone::InTransit,
                1,
            ))
            .unwrap()
            .unwrap();
        let e = o.event(&id).unwrap().unwrap();
        let body: EventBody = serde_json::from_str(&e.body).unwrap();
        assert_eq!((body.sequence, body.status), (1, Milestone::InTransit));
        assert_eq!(body.previous_status, Milestone::LabelCreated);
        assert_eq!(body.status_at, Some(t0() + chrono::Duration::hours(1)));
        assert_eq!(body.location.as_deref(), Some("Atlanta, GA, US"));
        let v: serde_json::Value = serde_json::from_str(&e.body).unwrap();
        assert_eq!(v["status"], "in_transit");
        assert_eq!(v["type"], "parcel.status_changed");
        assert_eq!(v["erp"]["connector"], "acu");
        assert!(v.get("signature").is_none());
        assert_eq!(o.heads("wms").unwrap().len(), 1);
        assert!(o.heads("erp").unwrap().is_empty(), "filtered out");
        let d = o
            .record_change(&change(tn, Milestone::InTransit, Milestone::Delivered, 9))
            .unwrap()
            .unwrap();
        assert_eq!(o.heads("erp").unwrap()[0].event_id, d);
        // wms: its parcel's head is still the first event.
        assert_eq!(o.heads("wms").unwrap()[0].event_id, id);
        let b = o.backlog().unwrap();
        assert_eq!(b["wms"].pending, 2);
        assert_eq!(b["erp"].pending, 1);
    }

    /// Crash after `record` but before the tracker saved the package: the tracker
    /// re-derives the same change (or even a later one from the same old state), and the
    /// outbox neither records it twice nor breaks the previous-status chain.
    #[test]
    fn recording_is_idempotent_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let tn = "1Z123X560300000018";
        let first;
        {
            let (_s, o) = outbox(dir.path(), vec![all("wms")]);
            first = o
                .record_change(&change(
                    tn,
                    Milestone::LabelCreated,
                    Milestone::InTransit,
                    1,
                ))
                .unwrap()
                .unwrap();
            // no explicit flush: record_change flushed
        }
        let (_s, o) = outbox(dir.path(), vec![all("wms")]);
        assert_eq!(o.head(tn).unwrap().unwrap().event_id, first);
        // The same change again (package state was lost): nothing new.
        assert_eq!(
            o.record_change(&change(
                tn,
                Milestone::LabelCreated,
                Milestone::InTransit,
                1
            ))
            .unwrap(),
            None
        );
        // A later status derived from the lost old state: previous is the recorded one.
        let id = o
            .record_change(&change(
                tn,
                Milestone::LabelCreated,
                Milestone::OutForDelivery,
                5,
            ))
            .unwrap()
            .unwrap();
        let body: EventBody = serde_json::from_str(&o.event(&id).unwrap().unwrap().body).unwrap();
        assert_eq!(body.sequence, 2);
        assert_eq!(body.previous_status, Milestone::InTransit);
        // Back to a status seen before (exception, then in transit again) is a change.
        o.record_change(&change(
            tn,
            Milestone::OutForDelivery,
            Milestone::Exception,
            6,
        ))
        .unwrap()
        .unwrap();
        let again = o
            .record_change(&change(
                tn,
                Milestone::Exception,
                Milestone::OutForDelivery,
                7,
            ))
            .unwrap();
        assert!(again.is_some());
        let heads = o.heads("wms").unwrap();
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].sequence, 1);
        let all = o.deliveries(&Filter::default()).unwrap();
        let seqs: Vec<u64> = all.iter().map(|d| d.sequence).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
        assert_eq!(o.stats().snapshot().duplicates, 1);
    }

    #[test]
    fn retry_puts_dead_deliveries_back_and_prune_keeps_what_is_live() {
        let dir = tempfile::tempdir().unwrap();
        let (_s, o) = outbox(dir.path(), vec![all("wms")]);
        let tn = "1Z123X560300000018";
        let id = o
            .record_change(&change(
                tn,
                Milestone::LabelCreated,
                Milestone::Delivered,
                1,
            ))
            .unwrap()
            .unwrap();
        let mut d = o.delivery("wms", &id).unwrap().unwrap();
        d.state = DeliveryState::Dead;
        d.attempts = 12;
        d.last_error = Some("HTTP 500".into());
        o.save_delivery(&d).unwrap();
        assert!(o.heads("wms").unwrap().is_empty());
        assert_eq!(
            o.backlog().unwrap()["wms"],
            Backlog {
                pending: 0,
                dead: 1
            }
        );
        // Dead deliveries are not pruned.
        let later = t0() + chrono::Duration::days(400);
        assert_eq!(o.prune(later).unwrap(), 0);
        let r = o.retry_dead(None, Some("wms")).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            o.backlog().unwrap()["wms"],
            Backlog {
                pending: 1,
                dead: 0
            }
        );
        let mut d = o.delivery("wms", &id).unwrap().unwrap();
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 0));
        d.state = DeliveryState::Delivered;
        o.save_delivery(&d).unwrap();
        // Not yet old enough.
        assert_eq!(o.prune(t0()).unwrap(), 0);
        assert_eq!(o.prune(later).unwrap(), 3, "delivery, event, terminal head");
        assert!(o.head(tn).unwrap().is_none());
        assert!(o.tree().is_empty());
    }

    #[test]
    fn every_record_decodes_and_garbage_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (s, o) = outbox(dir.path(), vec![all("wms")]);
        o.record_change(&change(
            "1Z1",
            Milestone::LabelCreated,
            Milestone::InTransit,
            1,
        ))
        .unwrap();
        let mut n = 0;
        for kv in s.tree(Tree::Outbox).iter() {
            let (k, v) = kv.unwrap();
            decode(&String::from_utf8_lossy(&k), &v).unwrap();
            n += 1;
        }
        assert_eq!(n, 4, "head, event, delivery, queue entry");
        assert!(decode("d/wms/evt_1", b"{}").is_err());
        assert!(decode("zz", b"{}").is_err());
    }
}
