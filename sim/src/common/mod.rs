//! Plumbing shared by the three simulators, and nothing else: fault injection
//! ([`faults`]), request recording ([`record`]), outbound change notifications ([`push`]), a controllable clock ([`SimClock`]),
//! per-operation counters ([`Stats`]) and the `/_sim/…` admin routes every simulator mounts.
//!
//! Nothing here knows UPS, Acumatica or NetSuite; nothing here is used by the daemon.

pub mod faults;
pub mod push;
pub mod record;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

pub use faults::{Fault, FaultKind, Faults};
pub use record::Recorder;

/// A clock that runs with real time plus an offset that `/_sim/clock/advance` moves forward.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }

    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }

    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// Counters per operation/outcome (e.g. `ship`, `ship.429`, `token`).
#[derive(Debug, Default)]
pub struct Stats {
    counters: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    pub fn incr(&self, key: &str) {
        self.add(key, 1);
    }

    pub fn add(&self, key: &str, n: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry(key.to_string()).or_insert(0) += n;
    }

    /// Set a gauge-like counter (e.g. `sessions.open`) to an absolute value.
    pub fn set(&self, key: &str, n: u64) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.insert(key.to_string(), n);
    }

    pub fn get(&self, key: &str) -> u64 {
        let c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        c.get(key).copied().unwrap_or(0)
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What every simulator carries: faults, recorder, clock, counters.
#[derive(Debug)]
pub struct SimCore {
    pub name: &'static str,
    pub faults: Faults,
    pub recorder: Option<Recorder>,
    pub clock: SimClock,
    pub stats: Stats,
}

impl SimCore {
    pub fn new(name: &'static str, faults: Faults, recorder: Option<Recorder>) -> Arc<SimCore> {
        Arc::new(SimCore {
            name,
            faults,
            recorder,
            clock: SimClock::default(),
            stats: Stats::default(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct AdvanceQuery {
    #[serde(default)]
    seconds: Option<i64>,
    #[serde(default)]
    minutes: Option<i64>,
    #[serde(default)]
    hours: Option<i64>,
    #[serde(default)]
    days: Option<i64>,
}

impl AdvanceQuery {
    fn duration(&self) -> Duration {
        Duration::seconds(self.seconds.unwrap_or(0))
            + Duration::minutes(self.minutes.unwrap_or(0))
            + Duration::hours(self.hours.unwrap_or(0))
            + Duration::days(self.days.unwrap_or(0))
    }
}

/// `/_sim/stats` (GET), `/_sim/clock` (GET), `/_sim/clock/advance?seconds=|minutes=|hours=|days=`
/// (POST), `/_sim/faults` (GET; PUT with a fault spec as the text body).
///
/// A simulator merges this router and may add its own `/_sim/…` routes. The `on_advance`
/// hook lets it react to clock moves (progress tracking, expire subscriptions).
pub fn admin_router(core: Arc<SimCore>) -> Router {
    Router::new()
        .route("/_sim/stats", get(stats))
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance))
        .route("/_sim/faults", get(get_faults).put(put_faults))
        .with_state(core)
}

async fn stats(State(core): State<Arc<SimCore>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "simulator": core.name, "counters": core.stats.snapshot() }))
}

async fn clock(State(core): State<Arc<SimCore>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "now": core.clock.now().to_rfc3339(),
        "offset_seconds": core.clock.offset().num_seconds(),
    }))
}

async fn advance(
    State(core): State<Arc<SimCore>>,
    Query(q): Query<AdvanceQuery>,
) -> Json<serde_json::Value> {
    core.clock.advance(q.duration());
    Json(serde_json::json!({ "now": core.clock.now().to_rfc3339() }))
}

async fn get_faults(State(core): State<Arc<SimCore>>) -> String {
    core.faults.spec()
}

async fn put_faults(
    State(core): State<Arc<SimCore>>,
    body: String,
) -> Result<String, (axum::http::StatusCode, String)> {
    core.faults
        .replace(body.trim())
        .map_err(|e| (axum::http::StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(core.faults.spec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_advances() {
        let c = SimClock::default();
        let before = c.now();
        c.advance(Duration::days(14));
        assert!(c.now() - before >= Duration::days(14));
        assert_eq!(c.offset(), Duration::days(14));
    }

    #[test]
    fn stats_count() {
        let s = Stats::default();
        s.incr("ship");
        s.add("ship", 2);
        assert_eq!(s.get("ship"), 3);
        assert_eq!(s.get("void"), 0);
    }
}
