//! Checkout rating (issue 19): `POST /v1/rates` on a listener of its own, and
//! `upsync rates quote` for one shipment. A web shop asks "what does this parcel cost,
//! and when does it arrive" while a customer waits; the answer must come fast whatever
//! UPS does, so this follows the guide's real-time rating pattern:
//!
//! ```text
//! body ─parse─▶ RateAsk ─key─▶ cache ── hit ─────────────────────────────▶ source: cache
//!  (400 naming                   │ in flight: join it ┐
//!   the field)                   │ miss + permit: lead ┴─▶ Quoter (UPS Shop) ─▶ source: ups
//!                                │ miss, no permit at once ─────────────────▶ source: estimate
//!                                └── no answer within timeout_ms, or an error ─▶ source: estimate
//! ```
//!
//! * [`request`]: the body, field-named rejections, the cache key (account, lane,
//!   residential, the package profile rounded as UPS bills, date).
//! * [`cache`]: TTL, bounded (LRU), single-flight: a burst for one lane costs one UPS call.
//! * [`fallback`]: the configured estimate table.
//! * [`http`]: the route, bearer-token check (constant time), the listener.
//! * [`Quoter`]: the plug point for UPS (Shop with time in transit); the assembly plugs
//!   the UPS client in (`app/adapters/ups_quoter.rs`), tests a fake.
//!
//! Timing: the UPS call runs in a task of its own; the request waits at most
//! `checkout.timeout_ms` for it, then answers with the estimate. The call goes on and fills
//! the cache for the next asker. Quota: checkout takes its own governor permits
//! (`checkout.rating_requests_per_second`, subtracted from the pipeline's Rating quota by
//! the assembly) and never waits for one: no permit at once → the estimate. So shipping can
//! never starve checkout, nor checkout shipping.
//!
//! Must never: log the API token, an address or a postal code (log counts and codes);
//! wait for UPS past the deadline; cache a failure.

pub mod cache;
pub mod fallback;
pub mod http;
pub mod request;

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use governor::{Quota, RateLimiter};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::{RateQuote, Shipment};
pub use cache::Cache;
pub use fallback::{FallbackService, FallbackTable};
pub use request::{BadRequest, Key, RateAsk, Warehouse};

/// Why UPS gave no quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct QuoteError {
    /// A stable code (`ups_unavailable`, `ups_rejected`, …) for logs and metrics.
    pub code: String,
    pub message: String,
}

/// The plug point for UPS: Shop every service, negotiated, with time in transit, for the
/// UPS account `account`. Today the assembly plugs in the one UPS client; with several
/// UPS accounts, a registry that picks the account's client.
#[async_trait]
pub trait Quoter: Send + Sync {
    async fn shop(&self, account: &str, shipment: &Shipment) -> Result<Vec<RateQuote>, QuoteError>;
}

/// Where a quote came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// UPS answered this request (it led or joined the call).
    Ups,
    /// A UPS answer for the same lane and profile, younger than the TTL.
    Cache,
    /// The fallback table.
    Estimate,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Ups => "ups",
            Source::Cache => "cache",
            Source::Estimate => "estimate",
        }
    }
}

/// One service of an answer. Money as decimal strings (`"13.58"`), never floats.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRate {
    pub service_code: String,
    pub service_name: String,
    /// Published charge.
    pub charge_list: Option<Decimal>,
    /// Negotiated (account) charge; null when the account has none.
    pub charge_account: Option<Decimal>,
    pub currency: String,
    pub transit_days: Option<u32>,
    pub source: Source,
}

/// The answer to one quote request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rates {
    pub source: Source,
    /// Why the estimate: `timeout`, `ups_error` or `quota` (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_reason: Option<&'static str>,
    pub services: Vec<ServiceRate>,
}

/// What [`Checkout`] runs on (from the `checkout` section; `app::wiring` builds it).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Longest wait for UPS.
    pub timeout: Duration,
    /// A UPS answer that arrives after `timeout` still fills the cache.
    pub cache_late_answers: bool,
    pub cache_ttl: Duration,
    pub cache_capacity: usize,
    /// Checkout's own Rating quota; `None` = unlimited.
    pub rating_per_second: Option<NonZeroU32>,
    /// Account of a ship-from given as an address (`ups.account_number`).
    pub default_account: String,
    pub warehouses: Vec<Warehouse>,
    pub fallback: FallbackTable,
}

/// Counters and the latency histogram (`upsync_checkout_*` on `/metrics`).
#[derive(Debug)]
pub struct Stats {
    pub quotes_ups: AtomicU64,
    pub quotes_cache: AtomicU64,
    pub quotes_estimate: AtomicU64,
    /// Estimates by reason.
    pub estimate_timeout: AtomicU64,
    pub estimate_error: AtomicU64,
    pub estimate_quota: AtomicU64,
    /// UPS Shop calls started.
    pub ups_calls: AtomicU64,
    /// UPS Shop calls that failed (after the client's own retries).
    pub ups_failures: AtomicU64,
    pub cache_hits: AtomicU64,
    /// Misses (a request that led a UPS call or found no permit).
    pub cache_misses: AtomicU64,
    /// Requests that joined a call in flight (single-flight).
    pub joined: AtomicU64,
    /// Rejected requests: 401 and 400.
    pub unauthorized: AtomicU64,
    pub bad_requests: AtomicU64,
    /// Seconds from the parsed request to its answer.
    pub latency: prometheus_client::metrics::histogram::Histogram,
    /// The longest of those, microseconds.
    pub latency_max_us: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            quotes_ups: AtomicU64::new(0),
            quotes_cache: AtomicU64::new(0),
            quotes_estimate: AtomicU64::new(0),
            estimate_timeout: AtomicU64::new(0),
            estimate_error: AtomicU64::new(0),
            estimate_quota: AtomicU64::new(0),
            ups_calls: AtomicU64::new(0),
            ups_failures: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            joined: AtomicU64::new(0),
            unauthorized: AtomicU64::new(0),
            bad_requests: AtomicU64::new(0),
            latency: prometheus_client::metrics::histogram::Histogram::new(
                prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 14),
            ),
            latency_max_us: AtomicU64::new(0),
        }
    }
}

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

/// The checkout rating service: cache, quota, deadline and fallback around a [`Quoter`].
pub struct Checkout {
    settings: Settings,
    quoter: Arc<dyn Quoter>,
    cache: Arc<Cache<Key, Vec<RateQuote>>>,
    limiter: Option<Limiter>,
    stats: Arc<Stats>,
}

impl Checkout {
    pub fn new(settings: Settings, quoter: Arc<dyn Quoter>) -> Checkout {
        let cache = Arc::new(
            Cache::new(settings.cache_ttl, settings.cache_capacity)
                .with_overdue_after(settings.timeout),
        );
        let limiter = settings
            .rating_per_second
            .map(|n| RateLimiter::direct(Quota::per_second(n)));
        Checkout {
            settings,
            quoter,
            cache,
            limiter,
            stats: Arc::new(Stats::default()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }

    pub fn cache(&self) -> &Cache<Key, Vec<RateQuote>> {
        &self.cache
    }

    /// Parse a body against this service's warehouses and default account.
    pub fn parse(&self, body: &serde_json::Value) -> Result<RateAsk, BadRequest> {
        RateAsk::parse(
            body,
            &self.settings.warehouses,
            &self.settings.default_account,
            chrono::Utc::now().date_naive(),
        )
    }

    /// Quote one request: cache, UPS within the deadline, or the estimate. Always answers,
    /// within `timeout` (plus the time to build the answer).
    pub async fn quote(&self, ask: &RateAsk) -> Rates {
        let started = tokio::time::Instant::now();
        let deadline = started + self.settings.timeout;
        let key = ask.key();
        let permit = || self.limiter.as_ref().is_none_or(|l| l.check().is_ok());
        let rates = match self.cache.lookup(&key, permit) {
            cache::Lookup::Hit(q) => {
                self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                self.answer_of(&q, Source::Cache)
            }
            cache::Lookup::Join(rx) => {
                self.stats.joined.fetch_add(1, Ordering::Relaxed);
                self.wait(rx, ask, deadline).await
            }
            cache::Lookup::Lead(tx, rx) => {
                self.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
                self.stats.ups_calls.fetch_add(1, Ordering::Relaxed);
                let quoter = self.quoter.clone();
                let cache = self.cache.clone();
                let stats = self.stats.clone();
                let shipment = ask.shipment();
                let account = ask.account.clone();
                let key = key.clone();
                let (timeout, keep_late) =
                    (self.settings.timeout, self.settings.cache_late_answers);
                tokio::spawn(async move {
                    let outcome = match quoter.shop(&account, &shipment).await {
                        Ok(q) => Ok(Arc::new(q)),
                        Err(e) => {
                            stats.ups_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(
                                event = "checkout_ups_failed",
                                code = %e.code,
                                "UPS gave no checkout quote; answering with the estimate"
                            );
                            Err(e.code)
                        }
                    };
                    if keep_late || started.elapsed() <= timeout {
                        cache.land(&key, tx, outcome);
                    } else {
                        cache.land_uncached(&key, tx, outcome);
                    }
                });
                self.wait(rx, ask, deadline).await
            }
            cache::Lookup::Denied => {
                self.stats.cache_misses.fetch_add(1, Ordering::Relaxed);
                self.estimate(ask, "quota")
            }
            // UPS is already slower than the deadline on this lane: no point waiting.
            cache::Lookup::Overdue => {
                self.stats.joined.fetch_add(1, Ordering::Relaxed);
                self.estimate(ask, "timeout")
            }
        };
        let counter = match rates.source {
            Source::Ups => &self.stats.quotes_ups,
            Source::Cache => &self.stats.quotes_cache,
            Source::Estimate => &self.stats.quotes_estimate,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let took = started.elapsed();
        self.stats.latency.observe(took.as_secs_f64());
        self.stats
            .latency_max_us
            .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
        rates
    }

    async fn wait(
        &self,
        mut rx: cache::Flight<Vec<RateQuote>>,
        ask: &RateAsk,
        deadline: tokio::time::Instant,
    ) -> Rates {
        let landed = tokio::time::timeout_at(deadline, rx.wait_for(|v| v.is_some())).await;
        match landed {
            Ok(Ok(v)) => match v.as_ref() {
                Some(Ok(q)) => {
                    let q = q.clone();
                    drop(v);
                    self.answer_of(&q, Source::Ups)
                }
                _ => {
                    drop(v);
                    self.estimate(ask, "ups_error")
                }
            },
            // The leader's task ended without publishing (it panicked).
            Ok(Err(_)) => self.estimate(ask, "ups_error"),
            Err(_) => self.estimate(ask, "timeout"),
        }
    }

    fn answer_of(&self, quotes: &[RateQuote], source: Source) -> Rates {
        let services = quotes
            .iter()
            .map(|q| {
                let currency = q
                    .charges
                    .total
                    .as_ref()
                    .or(q.charges.negotiated.as_ref())
                    .map(|m| m.currency.clone())
                    .unwrap_or_default();
                ServiceRate {
                    service_code: q.service_code.clone(),
                    service_name: self.settings.fallback.service_name(&q.service_code),
                    charge_list: q.charges.total.as_ref().map(|m| m.amount),
                    charge_account: q.charges.negotiated.as_ref().map(|m| m.amount),
                    currency,
                    transit_days: q.business_days,
                    source,
                }
            })
            .collect();
        Rates {
            source,
            estimate_reason: None,
            services,
        }
    }

    fn estimate(&self, ask: &RateAsk, reason: &'static str) -> Rates {
        let counter = match reason {
            "timeout" => &self.stats.estimate_timeout,
            "quota" => &self.stats.estimate_quota,
            _ => &self.stats.estimate_error,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let t = &self.settings.fallback;
        let services = t
            .estimate(&ask.billable_lbs())
            .into_iter()
            .map(|(s, charge)| ServiceRate {
                service_code: s.service_code.clone(),
                service_name: s.service_name.clone(),
                charge_list: Some(charge),
                charge_account: None,
                currency: t.currency.clone(),
                transit_days: s.transit_days,
                source: Source::Estimate,
            })
            .collect();
        Rates {
            source: Source::Estimate,
            estimate_reason: Some(reason),
            services,
        }
    }
}
