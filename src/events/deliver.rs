//! The delivery worker: sends pending events to their webhooks, signed, with retries.
//!
//! Order: for one webhook, a parcel's events go strictly one after the other. Only the
//! first pending entry of a parcel's queue (its lowest sequence number) is ever in flight,
//! and the next one waits until it is delivered (2xx) or dead-lettered. Different parcels
//! go in parallel, at most `deliveries_in_flight` at a time per webhook.
//!
//! Retries: any answer but 2xx, a timeout or a connection error is a failed attempt; the
//! next one waits a random delay under an exponentially growing ceiling (the UPS client's
//! [`crate::ups::RetryPolicy`], full jitter). After `max_attempts` the delivery is
//! dead-lettered with its last error, and the parcel's later events go on: a later
//! status supersedes an earlier one, and holding a parcel's news back behind a receiver
//! that refuses one event would only make things worse. Receivers see the gap in
//! `sequence` (and `previous_status`); `upsync events retry` sends the dead one again.
//!
//! Delivery is at least once: an attempt whose answer is lost (timeout after the receiver
//! took it, or a crash before the outcome was saved) is sent again with the same event id,
//! which receivers use to deduplicate. A delivered (or dead) outcome is flushed before the
//! parcel's next event is sent, so such a repeat is always of the parcel's latest event:
//! a receiver never gets an older event of a parcel after a newer one.
//!
//! Must never: log an event body or a secret, or have two events of one parcel in flight to
//! the same webhook.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use zeroize::Zeroizing;

use super::outbox::{Attempt, DeliveryState, Head, Outbox};
use super::sign;
use crate::model::Milestone;
use crate::store::StoreError;
use crate::ups::RetryPolicy;

/// Longest sleep of an idle worker (it also wakes when something is recorded).
const IDLE: Duration = Duration::from_secs(30);
/// The shortest retry delay: a failing receiver is never retried at once, whatever the
/// jitter drew.
const MIN_RETRY: Duration = Duration::from_secs(1);
/// How often delivered events older than the retention are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// One webhook as the worker uses it (the configuration with its secret from the vault).
pub struct Webhook {
    pub name: String,
    pub url: String,
    pub secret: Zeroizing<Vec<u8>>,
    /// Empty = all.
    pub statuses: Vec<Milestone>,
    pub max_attempts: u32,
    pub timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("statuses", &self.statuses)
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the `events` section turns into at run time.
#[derive(Debug)]
pub struct Settings {
    pub webhooks: Vec<Webhook>,
    /// Parcels in flight at once per webhook.
    pub deliveries_in_flight: usize,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Delivered events are kept this long (`pipeline.retention_days`).
    pub retention: chrono::Duration,
}

impl Settings {
    fn policy(&self, w: &Webhook) -> RetryPolicy {
        RetryPolicy {
            max_attempts: w.max_attempts.max(1),
            base_delay: self.initial_backoff,
            max_delay: self.max_backoff.max(self.initial_backoff),
        }
    }
}

/// One HTTP request to send.
#[derive(Debug)]
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'a [u8],
    pub timeout: Duration,
}

/// The transport: POST a request, give the HTTP status or why there was none.
#[async_trait]
pub trait Poster: Send + Sync {
    async fn post(&self, request: Outgoing<'_>) -> Result<u16, String>;
}

/// [`Poster`] over reqwest (rustls, no redirects: a receiver that moved must be
/// reconfigured, not followed).
pub struct HttpPoster {
    client: reqwest::Client,
}

impl HttpPoster {
    pub fn new() -> Result<HttpPoster, reqwest::Error> {
        Ok(HttpPoster {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("upsync/", env!("CARGO_PKG_VERSION")))
                .build()?,
        })
    }
}

#[async_trait]
impl Poster for HttpPoster {
    async fn post(&self, r: Outgoing<'_>) -> Result<u16, String> {
        let mut req = self
            .client
            .post(r.url)
            .timeout(r.timeout)
            .body(r.body.to_vec());
        for (k, v) in &r.headers {
            req = req.header(*k, v);
        }
        match req.send().await {
            Ok(resp) => Ok(resp.status().as_u16()),
            Err(e) if e.is_timeout() => Err(format!("timed out after {} s", r.timeout.as_secs())),
            Err(e) if e.is_connect() => Err("connection failed".into()),
            Err(e) => Err(format!("request failed: {}", e.without_url())),
        }
    }
}

/// The worker. Build with [`Deliverer::new`]; [`Deliverer::run`] in the daemon,
/// [`Deliverer::deliver_due`] for one round (tests).
pub struct Deliverer {
    outbox: Arc<Outbox>,
    settings: Settings,
    poster: Arc<dyn Poster>,
}

/// (webhook index, tracking number): one parcel at one webhook.
type Lane = (usize, String);

impl Deliverer {
    pub fn new(outbox: Arc<Outbox>, settings: Settings, poster: Arc<dyn Poster>) -> Deliverer {
        Deliverer {
            outbox,
            settings,
            poster,
        }
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Start the first pending delivery of every idle parcel that is due, within the
    /// in-flight bound. Returns the earliest due time among those not yet due.
    fn launch(
        self: &Arc<Self>,
        tasks: &mut JoinSet<Lane>,
        busy: &mut HashSet<Lane>,
        lanes: &mut HashMap<tokio::task::Id, Lane>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let now = self.outbox.clock().now();
        let mut next: Option<DateTime<Utc>> = None;
        let limit = self.settings.deliveries_in_flight.max(1);
        for (i, w) in self.settings.webhooks.iter().enumerate() {
            let mut in_flight = busy.iter().filter(|(b, _)| *b == i).count();
            for head in self.outbox.heads(&w.name)? {
                if in_flight >= limit {
                    break;
                }
                let lane = (i, head.tracking_number.clone());
                if busy.contains(&lane) {
                    continue;
                }
                if head.due > now {
                    next = Some(next.map_or(head.due, |n| n.min(head.due)));
                    continue;
                }
                busy.insert(lane.clone());
                in_flight += 1;
                let me = self.clone();
                let task = lane.clone();
                let handle = tasks.spawn(async move {
                    if let Err(e) = me.attempt(i, &head).await {
                        tracing::error!(event = "outbound_event_not_saved", webhook = %me.settings.webhooks[i].name, event_id = %head.event_id, error = %e, "could not save a delivery's outcome; it will be sent again");
                    }
                    task
                });
                lanes.insert(handle.id(), lane);
            }
        }
        Ok(next)
    }

    /// One attempt of the head `head` of a parcel at webhook `i`, and its outcome saved.
    async fn attempt(&self, i: usize, head: &Head) -> Result<(), StoreError> {
        let w = &self.settings.webhooks[i];
        let Some(mut d) = self.outbox.delivery(&w.name, &head.event_id)? else {
            tracing::warn!(webhook = %w.name, event_id = %head.event_id, "queue entry without a delivery record; dropped");
            return self.outbox.drop_queue_entry(&w.name, head);
        };
        if d.state != DeliveryState::Pending {
            // Indexes out of step with the record (an interrupted write): re-sync them.
            return self.outbox.save_delivery(&d);
        }
        let started = Instant::now();
        let at = self.outbox.clock().now();
        let outcome = match self.outbox.event(&d.event_id)? {
            None => Err("the event record is missing from the outbox".to_string()),
            Some(ev) => {
                let ts = at.timestamp();
                let body = ev.body.as_bytes();
                let headers = vec![
                    ("content-type", "application/json".to_string()),
                    (sign::EVENT_ID_HEADER, ev.id.clone()),
                    (sign::TIMESTAMP_HEADER, ts.to_string()),
                    (sign::SIGNATURE_HEADER, sign::sign(&w.secret, ts, body)),
                    (sign::ATTEMPT_HEADER, (d.attempts + 1).to_string()),
                ];
                self.poster
                    .post(Outgoing {
                        url: &w.url,
                        headers,
                        body,
                        timeout: w.timeout,
                    })
                    .await
            }
        };
        let now = self.outbox.clock().now();
        d.attempts += 1;
        d.updated_at = now;
        let counters = self.outbox.stats();
        let counters = counters.webhook(&w.name);
        let text = match &outcome {
            Ok(status) => format!("HTTP {status}"),
            Err(e) => e.clone(),
        };
        d.push_attempt(Attempt {
            at,
            outcome: text.clone(),
            duration_ms: started.elapsed().as_millis() as u64,
        });
        match outcome {
            Ok(status) if (200..300).contains(&status) => {
                d.state = DeliveryState::Delivered;
                d.delivered_at = Some(now);
                d.last_error = None;
                if let Some(c) = counters {
                    c.delivered
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                tracing::debug!(event = "outbound_event_delivered", webhook = %w.name, event_id = %d.event_id, tracking_number = %d.tracking_number, sequence = d.sequence, attempts = d.attempts, "event delivered");
            }
            _ => {
                if let Some(c) = counters {
                    c.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                d.last_error = Some(text.clone());
                let policy = self.settings.policy(w);
                if d.attempts >= policy.max_attempts {
                    d.state = DeliveryState::Dead;
                    if let Some(c) = counters {
                        c.dead_lettered
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    tracing::warn!(event = "outbound_event_dead_lettered", webhook = %w.name, event_id = %d.event_id, tracking_number = %d.tracking_number, sequence = d.sequence, attempts = d.attempts, error = %text, "event dead-lettered after its last attempt; the parcel's later events go on (`upsync events retry` sends it again)");
                } else {
                    let delay = policy
                        .delay(d.attempts, &mut rand::thread_rng())
                        .max(MIN_RETRY);
                    d.next_attempt_at =
                        now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
                    tracing::info!(event = "outbound_event_retrying", webhook = %w.name, event_id = %d.event_id, attempts = d.attempts, error = %text, retry_in_ms = delay.as_millis() as u64, "event delivery failed; will retry");
                }
            }
        }
        self.outbox.save_delivery(&d)?;
        if d.state != DeliveryState::Pending {
            // Durable before the parcel's next event can leave: after a crash the receiver
            // never gets this event again once it has seen a later one (group commit:
            // concurrent deliveries share one fsync).
            self.outbox.flush().await?;
        }
        Ok(())
    }

    /// Deliver everything due at the clock's "now", parcels in parallel, each in order,
    /// round after round until nothing is due. Returns the attempts made.
    pub async fn deliver_due(self: &Arc<Self>) -> Result<usize, StoreError> {
        let mut n = 0;
        loop {
            let mut tasks = JoinSet::new();
            self.launch(&mut tasks, &mut HashSet::new(), &mut HashMap::new())?;
            if tasks.is_empty() {
                return Ok(n);
            }
            while tasks.join_next().await.is_some() {
                n += 1;
            }
        }
    }

    /// Say once which undelivered events belong to webhooks no longer configured.
    fn warn_orphans(&self) {
        let Ok(backlog) = self.outbox.backlog() else {
            return;
        };
        for (name, b) in backlog {
            if !self.settings.webhooks.iter().any(|w| w.name == name) {
                tracing::warn!(webhook = %name, pending = b.pending, dead = b.dead, "the outbox holds events of a webhook that is no longer configured; they are not delivered (see `upsync events list --webhook {name}`)");
            }
        }
    }

    /// Run until `stop` turns true (or its sender is dropped): deliver what is due, sleep
    /// until the next retry is due or something is recorded; prune hourly. In-flight
    /// attempts finish (each within its webhook's timeout) before it returns.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        self.warn_orphans();
        let wake = self.outbox.wake();
        let mut tasks: JoinSet<Lane> = JoinSet::new();
        let mut lanes: HashMap<tokio::task::Id, Lane> = HashMap::new();
        let mut busy: HashSet<Lane> = HashSet::new();
        let mut last_prune: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                let before = self.outbox.clock().now() - self.settings.retention;
                match self.outbox.prune(before) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(removed = n, "pruned delivered outbound events"),
                    Err(e) => {
                        tracing::warn!(error = %e, "pruning outbound events failed; will retry")
                    }
                }
            }
            let next = match self.launch(&mut tasks, &mut busy, &mut lanes) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "reading the outbox failed; retrying in 5 s");
                    Some(self.outbox.clock().now() + chrono::Duration::seconds(5))
                }
            };
            let wait = next
                .map(|t| {
                    (t - self.outbox.clock().now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                })
                .unwrap_or(IDLE)
                .min(IDLE);
            tokio::select! {
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let id = match &done { Ok((id, _)) => *id, Err(e) => e.id() };
                    if let Some(lane) = lanes.remove(&id) {
                        busy.remove(&lane);
                    }
                    if let Err(e) = done {
                        tracing::error!(error = %e, "an event delivery task failed");
                    }
                }
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                r = stop.changed() => if r.is_err() { break },
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::outbox::tests::{all, change, t0};
    use crate::events::outbox::{EventBody, Filter, Outbox};
    use crate::model::Clock;
    use crate::store::Store;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    type Script = Box<dyn Fn(&EventBody, u32) -> Result<u16, String> + Send + Sync>;

    /// A receiver in memory: verifies every signature, answers by `script(event body,
    /// attempt header)`, and records what arrived and how many were in flight.
    struct Fake {
        received: Mutex<Vec<(String, EventBody, u32)>>,
        script: Script,
        in_flight: AtomicUsize,
        max_in_flight: AtomicUsize,
        parcels_in_flight: Mutex<HashSet<String>>,
        now: Arc<Mutex<DateTime<Utc>>>,
    }

    #[async_trait]
    impl Poster for Fake {
        async fn post(&self, r: Outgoing<'_>) -> Result<u16, String> {
            let h = |k: &str| {
                r.headers
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap()
            };
            let now = *self.now.lock().unwrap();
            sign::verify(
                b"s3cret",
                &h(sign::TIMESTAMP_HEADER),
                &h(sign::SIGNATURE_HEADER),
                r.body,
                sign::DEFAULT_TOLERANCE,
                now,
            )
            .expect("every request verifies");
            let body: EventBody = serde_json::from_slice(r.body).unwrap();
            assert_eq!(h(sign::EVENT_ID_HEADER), body.id);
            let attempt: u32 = h(sign::ATTEMPT_HEADER).parse().unwrap();
            assert!(
                self.parcels_in_flight
                    .lock()
                    .unwrap()
                    .insert(body.tracking_number.clone()),
                "two events of one parcel in flight"
            );
            let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(n, Ordering::SeqCst);
            self.received
                .lock()
                .unwrap()
                .push((r.url.to_string(), body.clone(), attempt));
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            self.parcels_in_flight
                .lock()
                .unwrap()
                .remove(&body.tracking_number);
            (self.script)(&body, attempt)
        }
    }

    struct Rig {
        _dir: tempfile::TempDir,
        now: Arc<Mutex<DateTime<Utc>>>,
        fake: Arc<Fake>,
        d: Arc<Deliverer>,
    }

    fn rig(
        max_attempts: u32,
        in_flight: usize,
        script: impl Fn(&EventBody, u32) -> Result<u16, String> + Send + Sync + 'static,
    ) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let now = Arc::new(Mutex::new(t0()));
        let n = now.clone();
        let outbox = Arc::new(Outbox::new(
            store,
            Clock::from_fn(move || *n.lock().unwrap()),
            vec![all("wms")],
        ));
        let fake = Arc::new(Fake {
            received: Mutex::new(Vec::new()),
            script: Box::new(script),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            parcels_in_flight: Mutex::new(HashSet::new()),
            now: now.clone(),
        });
        let settings = Settings {
            webhooks: vec![Webhook {
                name: "wms".into(),
                url: "https://wms.test/hook".into(),
                secret: Zeroizing::new(b"s3cret".to_vec()),
                statuses: vec![],
                max_attempts,
                timeout: Duration::from_secs(10),
            }],
            deliveries_in_flight: in_flight,
            initial_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(600),
            retention: chrono::Duration::days(120),
        };
        let d = Arc::new(Deliverer::new(outbox, settings, fake.clone()));
        Rig {
            _dir: dir,
            now,
            fake,
            d,
        }
    }

    const CHAIN: [Milestone; 5] = [
        Milestone::LabelCreated,
        Milestone::PickedUp,
        Milestone::InTransit,
        Milestone::OutForDelivery,
        Milestone::Delivered,
    ];

    fn record_chain(r: &Rig, tn: &str) {
        for (i, w) in CHAIN.windows(2).enumerate() {
            r.d.outbox()
                .record_change(&change(tn, w[0], w[1], i as u32 + 1))
                .unwrap()
                .unwrap();
        }
    }

    /// Per parcel strictly in sequence under failures (5xx, timeouts) and retries; parcels
    /// in parallel within the bound; every signature verifies (the fake checks).
    #[tokio::test]
    async fn each_parcel_in_order_under_failures_parcels_in_parallel_within_the_bound() {
        // Parcel …01 fails its 2nd event three times; every first attempt of …02 times out;
        // every third attempt overall of …03 answers 503.
        let calls = AtomicUsize::new(0);
        let r = rig(12, 2, move |b, attempt| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            match b.tracking_number.as_str() {
                "1Z01" if b.sequence == 2 && attempt <= 3 => Ok(500),
                "1Z02" if attempt == 1 => Err("timed out after 10 s".into()),
                "1Z03" if n.is_multiple_of(3) => Ok(503),
                _ => Ok(204),
            }
        });
        for tn in ["1Z01", "1Z02", "1Z03", "1Z04", "1Z05"] {
            record_chain(&r, tn);
        }
        let mut rounds = 0;
        while r.d.outbox().backlog().unwrap()["wms"].pending > 0 {
            r.d.deliver_due().await.unwrap();
            // Nothing is retried before its backoff: a second call at the same instant
            // sends nothing.
            assert_eq!(r.d.deliver_due().await.unwrap(), 0);
            *r.now.lock().unwrap() += chrono::Duration::minutes(11);
            rounds += 1;
            assert!(rounds < 50, "does not converge");
        }
        let got = r.fake.received.lock().unwrap().clone();
        for tn in ["1Z01", "1Z02", "1Z03", "1Z04", "1Z05"] {
            let arrivals: Vec<u64> = got
                .iter()
                .filter(|(_, b, _)| b.tracking_number == tn)
                .map(|(_, b, _)| b.sequence)
                .collect();
            let mut sorted = arrivals.clone();
            sorted.sort();
            assert_eq!(arrivals, sorted, "{tn}: arrivals out of order");
            sorted.dedup();
            assert_eq!(sorted, vec![1, 2, 3, 4], "{tn}");
            let statuses: Vec<Milestone> = got
                .iter()
                .filter(|(_, b, _)| b.tracking_number == tn)
                .map(|(_, b, _)| b.status)
                .collect();
            assert_eq!(*statuses.last().unwrap(), Milestone::Delivered);
        }
        let retried_01 = got
            .iter()
            .filter(|(_, b, _)| b.tracking_number == "1Z01" && b.sequence == 2)
            .count();
        assert_eq!(retried_01, 4);
        let max = r.fake.max_in_flight.load(Ordering::SeqCst);
        assert_eq!(max, 2, "parcels go in parallel, never above the bound");
        let delivered =
            r.d.outbox()
                .deliveries(&Filter {
                    state: Some(DeliveryState::Delivered),
                    ..Filter::default()
                })
                .unwrap();
        assert_eq!(delivered.len(), 20);
        let d01 = delivered
            .iter()
            .find(|d| d.tracking_number == "1Z01" && d.sequence == 2)
            .unwrap();
        assert_eq!(d01.attempts, 4);
        assert_eq!(d01.history.len(), 4);
        assert_eq!(d01.history[0].outcome, "HTTP 500");
        let s = r.d.outbox().stats().snapshot();
        assert_eq!(s.webhooks["wms"].0, 20);
    }

    /// After `max_attempts` failures the event is dead-lettered with its last error, with
    /// backoff between attempts; the parcel's later events then go on.
    #[tokio::test]
    async fn dead_letter_after_max_attempts_then_the_parcel_goes_on() {
        let r = rig(3, 8, |b, _| if b.sequence == 1 { Ok(500) } else { Ok(200) });
        record_chain(&r, "1Z01");
        assert_eq!(r.d.deliver_due().await.unwrap(), 1);
        let d = r.d.outbox().deliveries(&Filter::default()).unwrap();
        let first = d.iter().find(|d| d.sequence == 1).unwrap().clone();
        assert_eq!(first.attempts, 1);
        let wait = first.next_attempt_at - t0();
        assert!(
            wait >= chrono::Duration::seconds(1) && wait <= chrono::Duration::seconds(30),
            "first backoff within its 30 s ceiling: {wait}"
        );
        for _ in 0..2 {
            *r.now.lock().unwrap() += chrono::Duration::minutes(11);
            r.d.deliver_due().await.unwrap();
        }
        let dead =
            r.d.outbox()
                .delivery("wms", &first.event_id)
                .unwrap()
                .unwrap();
        assert_eq!(dead.state, DeliveryState::Dead);
        assert_eq!(dead.attempts, 3);
        assert_eq!(dead.last_error.as_deref(), Some("HTTP 500"));
        // The later events went on in the same round, in order.
        let got: Vec<u64> = r
            .fake
            .received
            .lock()
            .unwrap()
            .iter()
            .map(|(_, b, _)| b.sequence)
            .collect();
        assert_eq!(got, vec![1, 1, 1, 2, 3, 4]);
        assert_eq!(
            r.d.outbox().backlog().unwrap()["wms"],
            crate::events::Backlog {
                pending: 0,
                dead: 1
            }
        );
        assert_eq!(r.d.outbox().stats().snapshot().webhooks["wms"], (3, 3, 1));
        // Retried by hand, it is sent again with a fresh budget.
        r.d.outbox()
            .retry_dead(Some(&first.event_id), None)
            .unwrap();
        assert_eq!(r.d.deliver_due().await.unwrap(), 1);
        let d =
            r.d.outbox()
                .delivery("wms", &first.event_id)
                .unwrap()
                .unwrap();
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1));
    }

    #[test]
    fn webhook_debug_hides_the_secret() {
        let w = Webhook {
            name: "wms".into(),
            url: "https://wms.test/".into(),
            secret: Zeroizing::new(b"s3cr3t-value".to_vec()),
            statuses: vec![],
            max_attempts: 1,
            timeout: Duration::from_secs(1),
        };
        let s = format!("{w:?}");
        assert!(!s.contains("s3cr3t") && !s.contains("115, 51"), "{s}");
    }
}
