//! Counters for metrics: requests by (API, HTTP status), retries, 429s, token requests,
//! outcome-unknown Ships. Cheap atomics and one small mutex; read with
//! [`UpsClient::stats`](super::UpsClient::stats).

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::error::Api;

/// HTTP status recorded for a request that got no HTTP answer (connect error, reset, timeout).
pub const NO_RESPONSE: u16 = 0;

#[derive(Debug, Default)]
pub struct Stats {
    requests: Mutex<BTreeMap<(Api, u16), u64>>,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    token_requests_total: AtomicU64,
    outcome_unknown: AtomicU64,
    auth_refreshes: AtomicU64,
    backoff_millis: AtomicU64,
    address_cache_hits: AtomicU64,
}

/// One row of [`StatsSnapshot::requests`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    pub api: Api,
    /// HTTP status; `0` when no answer arrived.
    pub status: u16,
    pub count: u64,
}

/// A point-in-time copy of the client's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Every HTTP request sent (token requests included), by API and status.
    pub requests: Vec<RequestCount>,
    /// Re-sends after 429/5xx/connection errors (not counting the 401 refresh retry).
    pub retries: u64,
    /// 429 answers seen.
    pub rate_limited: u64,
    /// Token requests today (UTC) for this credential, from the token store.
    pub token_requests_today: u32,
    /// The configured daily budget.
    pub token_budget_per_day: u32,
    /// Today's token requests reached the warning share (80 % by default) of the budget.
    pub token_budget_warning: bool,
    /// Token requests sent by this client since it started.
    pub token_requests_total: u64,
    /// Ships that ended in `OutcomeUnknown`.
    pub outcome_unknown: u64,
    /// Token invalidations after a 401/250002/251004.
    pub auth_refreshes: u64,
    /// Total time spent in backoff sleeps, in milliseconds.
    pub backoff_millis: u64,
    /// Address validations answered from the cache of recent answers (no request sent).
    pub address_cache_hits: u64,
}

impl StatsSnapshot {
    /// Requests sent to one API, any status.
    pub fn requests_to(&self, api: Api) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.api == api)
            .map(|r| r.count)
            .sum()
    }
    /// Requests to one API that got `status`.
    pub fn count(&self, api: Api, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.api == api && r.status == status)
            .map(|r| r.count)
            .sum()
    }
}

impl Stats {
    pub(crate) fn request(&self, api: Api, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        *m.entry((api, status)).or_default() += 1;
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }
    pub(crate) fn retry(&self, slept: Duration) {
        self.retries.fetch_add(1, Ordering::Relaxed);
        self.backoff_millis
            .fetch_add(slept.as_millis() as u64, Ordering::Relaxed);
    }
    pub(crate) fn token_request(&self) {
        self.token_requests_total.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn outcome_unknown(&self) {
        self.outcome_unknown.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn address_cache_hit(&self) {
        self.address_cache_hits.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn auth_refresh(&self) {
        self.auth_refreshes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(
        &self,
        token_requests_today: u32,
        token_budget_per_day: u32,
        warn_ratio: f64,
    ) -> StatsSnapshot {
        let m = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        StatsSnapshot {
            requests: m
                .iter()
                .map(|(&(api, status), &count)| RequestCount { api, status, count })
                .collect(),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            token_requests_today,
            token_budget_per_day,
            token_budget_warning: token_requests_today as f64
                >= (token_budget_per_day as f64 * warn_ratio).ceil(),
            token_requests_total: self.token_requests_total.load(Ordering::Relaxed),
            outcome_unknown: self.outcome_unknown.load(Ordering::Relaxed),
            auth_refreshes: self.auth_refreshes.load(Ordering::Relaxed),
            backoff_millis: self.backoff_millis.load(Ordering::Relaxed),
            address_cache_hits: self.address_cache_hits.load(Ordering::Relaxed),
        }
    }
}
