//! Outbound change notifications of the ERP simulators (the sending half; what a change
//! turns into is each ERP's `push.rs`): a queue of JSON messages POSTed one after the other
//! to a configured destination with one shared-secret header, as Acumatica's Webhook
//! destination does (ERP-NOTES §A5 and "Push notifications": one static "Header Name" +
//! "Header Value", no body signature; "a non-success reply makes Acumatica resend, at most
//! 5 attempts") and as a NetSuite User Event script posting with `N/https` would
//! (ERP-NOTES §N6: whatever header the script author chose, nothing signed).
//!
//! Misbehaviour on demand, through the simulator's fault rules (`--faults`,
//! `PUT /_sim/faults`) on the operation `push`:
//!
//! * `push:drop` — the message is never sent (a lost notification);
//! * `push:duplicate` — it is sent twice (delivery is at least once);
//! * `push:reorder` — it is held back and sent after the next one (or after
//!   [`REORDER_HOLD`] when no next one comes), so a later change arrives first;
//! * `push:latency=MS` — it waits that long before going out (a delayed notification).
//!
//! Counters (`/_sim/stats`): `push.queued`, `push.sent` (delivery attempts),
//! `push.delivered`, `push.failed` (non-2xx or no answer), `push.gave_up` (after
//! [`MAX_ATTEMPTS`]), `push.dropped`, `push.duplicated`, `push.reordered`. They all carry a
//! `.`, so they are not requests *to* the ERP.
//!
//! Never: log the secret; block the request that made the change (sending is a task).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::{FaultKind, SimCore};

/// Delivery attempts per message ("at most 5 attempts", ERP-NOTES §A5).
pub const MAX_ATTEMPTS: u32 = 5;
/// How long a reordered message waits for a later one to overtake it.
pub const REORDER_HOLD: Duration = Duration::from_millis(500);

/// Where notifications go, and the one header that authenticates them.
#[derive(Clone, serde::Deserialize)]
pub struct PushTarget {
    /// Destination URL ("Address" of the Webhook destination).
    pub url: String,
    /// Header name ("Header Name"), e.g. `Authorization` or `X-Upsync-Secret`.
    pub header: String,
    /// Header value ("Header Value"): the shared secret, sent as is.
    pub secret: String,
}

impl std::fmt::Debug for PushTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushTarget")
            .field("url", &self.url)
            .field("header", &self.header)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The outbound queue of one simulator.
#[derive(Debug, Default)]
pub struct Pusher {
    target: Mutex<Option<PushTarget>>,
    queue: Mutex<VecDeque<Value>>,
    notify: tokio::sync::Notify,
}

impl Pusher {
    /// Set (or with `None` clear) the destination.
    pub fn configure(&self, t: Option<PushTarget>) {
        *self.target.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }

    /// Whether a destination is configured (changes are only turned into messages then).
    pub fn is_on(&self) -> bool {
        self.target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    fn target(&self) -> Option<PushTarget> {
        self.target
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Queue one message (sent by [`Pusher::run`]); never blocks.
    pub fn enqueue(&self, core: &SimCore, body: Value) {
        if !self.is_on() {
            return;
        }
        core.stats.incr("push.queued");
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(body);
        self.notify.notify_one();
    }

    fn pop(&self) -> Option<Value> {
        self.queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// The sending task: one message after the other, faults applied, until the runtime
    /// stops.
    pub async fn run(self: Arc<Self>, core: Arc<SimCore>) {
        let http = match reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "push sender: cannot build an HTTP client");
                return;
            }
        };
        let mut held: Option<Value> = None;
        loop {
            if held.is_some() {
                if tokio::time::timeout(REORDER_HOLD, self.notify.notified())
                    .await
                    .is_err()
                {
                    if let Some(h) = held.take() {
                        self.deliver(&http, &core, &h).await;
                    }
                    continue;
                }
            } else {
                self.notify.notified().await;
            }
            while let Some(msg) = self.pop() {
                let mut copies = 1;
                let mut hold = false;
                for f in core.faults.decide("push") {
                    match f.kind {
                        FaultKind::Latency(d) => tokio::time::sleep(d).await,
                        FaultKind::Other(k) if k == "drop" => copies = 0,
                        FaultKind::Other(k) if k == "duplicate" => copies = 2,
                        FaultKind::Other(k) if k == "reorder" => hold = true,
                        _ => {}
                    }
                }
                if copies == 0 {
                    core.stats.incr("push.dropped");
                    continue;
                }
                if hold && held.is_none() {
                    core.stats.incr("push.reordered");
                    held = Some(msg);
                    continue;
                }
                for i in 0..copies {
                    if i > 0 {
                        core.stats.incr("push.duplicated");
                    }
                    self.deliver(&http, &core, &msg).await;
                }
                if let Some(h) = held.take() {
                    self.deliver(&http, &core, &h).await;
                }
            }
        }
    }

    /// POST one message, resending on failure up to [`MAX_ATTEMPTS`] times.
    async fn deliver(&self, http: &reqwest::Client, core: &SimCore, msg: &Value) {
        let Some(t) = self.target() else { return };
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
            }
            core.stats.incr("push.sent");
            let r = http
                .post(&t.url)
                .header(t.header.as_str(), t.secret.as_str())
                .json(msg)
                .send()
                .await;
            match r {
                Ok(r) if r.status().is_success() => {
                    core.stats.incr("push.delivered");
                    return;
                }
                Ok(r) => {
                    core.stats.incr("push.failed");
                    core.stats
                        .incr(&format!("push.failed.{}", r.status().as_u16()));
                }
                Err(_) => core.stats.incr("push.failed"),
            }
        }
        core.stats.incr("push.gave_up");
    }
}

/// The body of a simulator's `PUT /_sim/<erp>/push`: `{"url", "header", "secret"}`.
pub fn parse_target(body: &[u8]) -> Result<PushTarget, &'static str> {
    const FORM: &str = "body must be {\"url\": …, \"header\": …, \"secret\": …}";
    let t: PushTarget = serde_json::from_slice(body).map_err(|_| FORM)?;
    if t.url.is_empty() || axum::http::HeaderName::from_bytes(t.header.as_bytes()).is_err() {
        return Err(FORM);
    }
    Ok(t)
}

/// What `GET /_sim/<erp>/push` shows (the secret redacted).
pub fn show(p: &Pusher) -> Value {
    match p.target() {
        Some(t) => json!({"url": t.url, "header": t.header, "secret": "<redacted>"}),
        None => json!(null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::{Json, Router};

    /// A receiver counting what arrives, failing the first `fail` requests.
    async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
        let got = Arc::new(Mutex::new(Vec::new()));
        let failing = Arc::new(std::sync::atomic::AtomicUsize::new(fail));
        let g = got.clone();
        let app = Router::new().route(
            "/in",
            axum::routing::post(move |h: axum::http::HeaderMap, Json(v): Json<Value>| {
                let g = g.clone();
                let failing = failing.clone();
                async move {
                    let left = failing.load(std::sync::atomic::Ordering::SeqCst);
                    if left > 0 {
                        failing.store(left - 1, std::sync::atomic::Ordering::SeqCst);
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let s = h
                        .get("x-secret")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    g.lock().unwrap().push((s, v));
                    StatusCode::OK
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/in", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        (url, got)
    }

    async fn until(mut f: impl FnMut() -> bool) {
        for _ in 0..200 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("condition not reached");
    }

    fn setup(url: &str, faults: &str) -> (Arc<Pusher>, Arc<SimCore>) {
        let core = SimCore::new("t", super::super::Faults::parse(faults).unwrap(), None);
        let p = Arc::new(Pusher::default());
        p.configure(Some(PushTarget {
            url: url.into(),
            header: "X-Secret".into(),
            secret: "s3".into(),
        }));
        tokio::spawn(p.clone().run(core.clone()));
        (p, core)
    }

    /// Sent with the header; a failing receiver gets the message again (resend).
    #[tokio::test]
    async fn sends_with_the_header_and_resends_after_a_failure() {
        let (url, got) = receiver(2).await;
        let (p, core) = setup(&url, "");
        p.enqueue(&core, json!({"n": 1}));
        until(|| got.lock().unwrap().len() == 1).await;
        assert_eq!(got.lock().unwrap()[0], ("s3".to_string(), json!({"n": 1})));
        assert_eq!(core.stats.get("push.sent"), 3);
        assert_eq!(core.stats.get("push.failed"), 2);
    }

    /// drop, duplicate and reorder do what they say.
    #[tokio::test]
    async fn drop_duplicate_and_reorder() {
        let (url, got) = receiver(0).await;
        let (p, core) = setup(&url, "push:drop#1,push:duplicate#1");
        p.enqueue(&core, json!(1));
        p.enqueue(&core, json!(2));
        until(|| got.lock().unwrap().len() == 2).await;
        let seen: Vec<Value> = got.lock().unwrap().iter().map(|x| x.1.clone()).collect();
        assert_eq!(seen, vec![json!(2), json!(2)]);
        core.faults.replace("push:reorder#1").unwrap();
        p.enqueue(&core, json!(3));
        p.enqueue(&core, json!(4));
        until(|| got.lock().unwrap().len() == 4).await;
        let seen: Vec<Value> = got.lock().unwrap().iter().map(|x| x.1.clone()).collect();
        assert_eq!(seen[2..], [json!(4), json!(3)]);
        // A held message with nothing after it still goes out.
        core.faults.replace("push:reorder#1").unwrap();
        p.enqueue(&core, json!(5));
        until(|| got.lock().unwrap().len() == 5).await;
    }
}
