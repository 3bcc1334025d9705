//! A webhook receiver for the outbound-events tests: a real axum server on loopback that
//! verifies every request's signature with `upsync::events::verify` (a bad one is counted
//! and answered 401), records what arrived in arrival order, and misbehaves on purpose:
//! some answers are 5xx, some come after the sender's timeout, some are slow.
//!
//! [`check_order`] is the property both tests assert: per parcel, the events (deduplicated
//! by event id) are gap-free and in order, repeats only ever repeat the latest one, and
//! `previous_status` chains.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use upsync::events::EventBody;

/// One request that verified.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub webhook: String,
    pub body: EventBody,
    pub attempt: u32,
}

/// How the receiver answers a request (by webhook, event and attempt).
pub type Behaviour = Arc<dyn Fn(&str, &EventBody, u32) -> Answer + Send + Sync>;

#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Ok,
    /// 204 after this long (a slow receiver, within the sender's timeout).
    Slow(Duration),
    Status(u16),
    /// Answer 200 after this long (longer than the sender's timeout: it sees a timeout).
    After(Duration),
}

pub struct Receiver {
    pub url: String,
    pub arrivals: Arc<Mutex<Vec<Arrival>>>,
    /// Requests whose signature did not verify.
    pub invalid: Arc<Mutex<Vec<String>>>,
    /// Answers other than 2xx given, and answers given late on purpose.
    pub failures_served: Arc<Mutex<(u32, u32)>>,
    /// Requests being answered right now.
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

#[derive(Clone)]
struct St {
    secret: Vec<u8>,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    behaviour: Behaviour,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    invalid: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<(u32, u32)>>,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts a request in flight while alive.
struct InFlight(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

async fn hook(
    State(st): State<St>,
    Path(webhook): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    st.in_flight
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _guard = InFlight(st.in_flight.clone());
    let h = |k: &str| {
        headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    if let Err(e) = upsync::events::verify(
        &st.secret,
        &h("x-upsync-timestamp"),
        &h("x-upsync-signature"),
        &body,
        upsync::events::sign::DEFAULT_TOLERANCE,
        (st.now)(),
    ) {
        st.invalid.lock().unwrap().push(e.to_string());
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(ev) = serde_json::from_slice::<EventBody>(&body) else {
        st.invalid
            .lock()
            .unwrap()
            .push("body is not an event".into());
        return StatusCode::BAD_REQUEST;
    };
    if h("x-upsync-event-id") != ev.id || h("content-type") != "application/json" {
        st.invalid
            .lock()
            .unwrap()
            .push("headers disagree with the body".into());
        return StatusCode::BAD_REQUEST;
    }
    let attempt: u32 = h("x-upsync-attempt").parse().unwrap_or(0);
    let answer = (st.behaviour)(&webhook, &ev, attempt);
    st.arrivals.lock().unwrap().push(Arrival {
        webhook,
        body: ev,
        attempt,
    });
    match answer {
        Answer::Ok => StatusCode::NO_CONTENT,
        Answer::Slow(d) => {
            tokio::time::sleep(d).await;
            StatusCode::NO_CONTENT
        }
        Answer::Status(s) => {
            st.failures.lock().unwrap().0 += 1;
            StatusCode::from_u16(s).unwrap()
        }
        Answer::After(d) => {
            st.failures.lock().unwrap().1 += 1;
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Start on 127.0.0.1:0; webhooks are `{url}/{name}`. `now` is the receiver's clock
    /// (the replay window is checked against it).
    pub async fn start(
        secret: &str,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        behaviour: Behaviour,
    ) -> Receiver {
        let st = St {
            secret: secret.as_bytes().to_vec(),
            now,
            behaviour,
            arrivals: Arc::default(),
            invalid: Arc::default(),
            failures: Arc::default(),
            in_flight: Arc::default(),
        };
        let r = Receiver {
            url: String::new(),
            arrivals: st.arrivals.clone(),
            invalid: st.invalid.clone(),
            failures_served: st.failures.clone(),
            in_flight: st.in_flight.clone(),
        };
        let app = axum::Router::new()
            .route("/hooks/{name}", axum::routing::post(hook))
            .with_state(st);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url: format!("http://{addr}/hooks"),
            ..r
        }
    }

    pub fn arrivals(&self, webhook: &str) -> Vec<Arrival> {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.webhook == webhook)
            .cloned()
            .collect()
    }
}

/// A deterministic coin from an event id and attempt: true about once in `n`.
pub fn one_in(n: u64, id: &str, attempt: u32, salt: u64) -> bool {
    let mut h: u64 = 1469598103934665603 ^ salt;
    for b in id.bytes().chain(attempt.to_le_bytes()) {
        h = (h ^ b as u64).wrapping_mul(1099511628211);
    }
    h.is_multiple_of(n)
}

/// Per parcel: the distinct events (first arrival of each id) in arrival order. Panics with
/// the parcel's arrivals when the order property fails:
/// * deduplicated, the sequences are 1, 2, …, N with no gap and no reordering;
/// * a repeat (same id) only ever repeats the parcel's latest event so far;
/// * each event's `previous_status` is the status of the one before it;
/// * an event id always carries the same sequence.
pub fn check_order(arrivals: &[Arrival]) -> BTreeMap<String, Vec<EventBody>> {
    let mut per: BTreeMap<String, Vec<&Arrival>> = BTreeMap::new();
    for a in arrivals {
        per.entry(a.body.tracking_number.clone())
            .or_default()
            .push(a);
    }
    let mut out = BTreeMap::new();
    for (tn, list) in per {
        let mut distinct: Vec<EventBody> = Vec::new();
        let trace = || {
            list.iter()
                .map(|a| {
                    format!(
                        "{}#{}({:?},a{})",
                        a.body.sequence,
                        &a.body.id[..10],
                        a.body.status,
                        a.attempt
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        for a in &list {
            match distinct.iter().find(|d| d.id == a.body.id) {
                Some(d) => {
                    assert_eq!(d.sequence, a.body.sequence, "{tn}: one id, two sequences");
                    assert_eq!(
                        distinct.last().unwrap().id,
                        a.body.id,
                        "{tn}: an older event arrived again after a newer one: {}",
                        trace()
                    );
                }
                None => {
                    let want = distinct.len() as u64 + 1;
                    assert_eq!(
                        a.body.sequence,
                        want,
                        "{tn}: expected sequence {want} next: {}",
                        trace()
                    );
                    if let Some(prev) = distinct.last() {
                        assert_eq!(
                            a.body.previous_status,
                            prev.status,
                            "{tn}: previous_status does not chain: {}",
                            trace()
                        );
                    }
                    distinct.push(a.body.clone());
                }
            }
        }
        out.insert(tn, distinct);
    }
    out
}
