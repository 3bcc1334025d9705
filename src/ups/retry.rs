//! Rate limiting and backoff: one governor quota per UPS API, one shared by every API of the
//! credential (UPS limits a client across its APIs), and exponential backoff with full
//! jitter (UPS-REFERENCE §0.4: no `Retry-After` is sent on 429).
//!
//! The shared quota allows a burst of only 90 % of its rate: requests leave paced at the
//! full rate, and the slack absorbs the jitter between leaving here and arriving at UPS, so
//! upsync never earns a 429 of its own while still using its whole quota.
//!
//! Governor's own `until_ready` sleeps on real time (futures-timer) and would ignore
//! `tokio::time::pause`; here the limiter reads tokio's clock ([`TokioClock`]) and the
//! wait is a `tokio::time::sleep`, so tests can run hours of quota instantly.
//!
//! Which calls are retried is decided in `client.rs`: never a Ship.

use governor::clock::Clock as GovClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use rand::Rng;
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use super::error::Api;

/// Bounded exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per call, first one included (1 = never retry).
    pub max_attempts: u32,
    /// Cap of the first retry's delay; doubles with each attempt.
    pub base_delay: Duration,
    /// Upper bound of any single delay.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The ceiling of the delay after failed attempt `attempt` (1-based):
    /// `min(max_delay, base_delay · 2^(attempt−1))`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let shift = attempt.saturating_sub(1).min(30);
        let d = self.base_delay.saturating_mul(1u32 << shift);
        d.min(self.max_delay)
    }

    /// Full jitter: a uniformly random delay in `[0, ceiling(attempt)]`.
    pub fn delay<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let cap = self.ceiling(attempt).as_millis() as u64;
        if cap == 0 {
            return Duration::ZERO;
        }
        Duration::from_millis(rng.gen_range(0..=cap))
    }
}

/// Governor clock on tokio's time, so `tokio::time::pause`/`advance` drive the quotas.
/// Not the wall clock ([`crate::model::Clock`]): governor's limiters need a monotonic
/// `Instant` clock implementing its own trait.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl GovClock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        tokio::time::Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// Requests per second per API; `None` = unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiQuotas {
    pub token: Option<NonZeroU32>,
    pub address_validation: Option<NonZeroU32>,
    pub rating: Option<NonZeroU32>,
    pub ship: Option<NonZeroU32>,
    pub void: Option<NonZeroU32>,
    pub label_recovery: Option<NonZeroU32>,
    pub track: Option<NonZeroU32>,
    pub track_alert: Option<NonZeroU32>,
    /// All APIs but OAuth together (the per-credential limit UPS applies across APIs).
    pub total: Option<NonZeroU32>,
}

impl ApiQuotas {
    pub fn get(&self, api: Api) -> Option<NonZeroU32> {
        match api {
            Api::Token => self.token,
            Api::AddressValidation => self.address_validation,
            Api::Rating => self.rating,
            Api::Ship => self.ship,
            Api::Void => self.void,
            Api::LabelRecovery => self.label_recovery,
            Api::Track => self.track,
            Api::TrackAlert => self.track_alert,
            // No quota of its own: a few calls per interval; the shared `total` applies.
            Api::QuantumView | Api::Pickup => None,
            // A few calls per international shipment: the shared `total` applies.
            Api::Paperless => None,
        }
    }
}

/// One limiter per API that has a quota, and the shared one.
#[derive(Debug)]
pub struct Limiters {
    by_api: HashMap<Api, Limiter>,
    total: Option<Limiter>,
    /// Live daemons sharing the quotas (issue 22): each request takes this many cells, so
    /// N daemons together stay under the configured rate. 1 for a daemon alone.
    share: std::sync::atomic::AtomicU32,
}

/// The shared quota: `n` per second, burst 90 % of `n` (at least 1).
fn shared_quota(n: NonZeroU32) -> Quota {
    let burst = NonZeroU32::new((n.get() * 9 / 10).max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(n).allow_burst(burst)
}

impl Limiters {
    pub fn new(q: &ApiQuotas) -> Self {
        let mut by_api = HashMap::new();
        for api in Api::ALL {
            if let Some(n) = q.get(api) {
                by_api.insert(
                    api,
                    RateLimiter::direct_with_clock(Quota::per_second(n), TokioClock),
                );
            }
        }
        let total = q
            .total
            .map(|n| RateLimiter::direct_with_clock(shared_quota(n), TokioClock));
        Limiters {
            by_api,
            total,
            share: std::sync::atomic::AtomicU32::new(1),
        }
    }

    /// Wait (on tokio time) until `api`'s quota, then the shared one (every API but OAuth),
    /// lets one request through.
    pub async fn acquire(&self, api: Api) {
        if let Some(l) = self.by_api.get(&api) {
            self.wait(l).await;
        }
        if api != Api::Token {
            if let Some(l) = &self.total {
                self.wait(l).await;
            }
        }
    }

    /// Divide every quota among `daemons` live daemons (re-divided as they join or die;
    /// `crate::cluster`). A quota below the share keeps one request per its period.
    pub fn set_share(&self, daemons: u32) {
        self.share
            .store(daemons.max(1), std::sync::atomic::Ordering::Relaxed);
    }

    /// Wait only for the shared quota (a caller with its own share of `api`'s quota, e.g.
    /// checkout rating, already took a permit of it).
    pub async fn acquire_shared(&self, api: Api) {
        if api != Api::Token {
            if let Some(l) = &self.total {
                self.wait(l).await;
            }
        }
    }

    async fn wait(&self, l: &Limiter) {
        let share = self.share.load(std::sync::atomic::Ordering::Relaxed);
        let cells = NonZeroU32::new(share).unwrap_or(NonZeroU32::MIN);
        loop {
            // More cells than the burst holds: one cell (the quota cannot be divided finer).
            match l.check_n(cells).unwrap_or_else(|_| l.check()) {
                Ok(()) => return,
                Err(not_until) => {
                    let wait = not_until.wait_time_from(TokioClock.now());
                    tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ceilings_double_and_cap() {
        let p = RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_secs(1));
        assert_eq!(p.ceiling(40), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_stays_in_range_and_varies() {
        let p = RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..6 {
            let ds: Vec<Duration> = (0..200).map(|_| p.delay(attempt, &mut rng)).collect();
            assert!(ds.iter().all(|d| *d <= p.ceiling(attempt)));
            let distinct: std::collections::HashSet<_> = ds.iter().collect();
            assert!(distinct.len() > 20, "jitter must vary");
        }
        // Means grow with the attempt number.
        let mean = |a: u32, rng: &mut rand::rngs::StdRng| {
            (0..500).map(|_| p.delay(a, rng).as_millis()).sum::<u128>() / 500
        };
        let m1 = mean(1, &mut rng);
        let m4 = mean(4, &mut rng);
        assert!(m4 > 4 * m1, "m1={m1} m4={m4}");
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_paces_on_tokio_time() {
        let l = Limiters::new(&ApiQuotas {
            track: NonZeroU32::new(10),
            ..Default::default()
        });
        let start = tokio::time::Instant::now();
        for _ in 0..30 {
            l.acquire(Api::Track).await;
        }
        // 10 burst + 20 paced at 10/s ≈ 2 s of (paused, instant) tokio time.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(1900), "{took:?}");
        assert!(took <= Duration::from_millis(2500), "{took:?}");
        // Unlimited APIs never wait.
        let t = tokio::time::Instant::now();
        for _ in 0..1000 {
            l.acquire(Api::Ship).await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO);
    }

    /// Checkout rating keeps its own share of the Rating quota: `acquire_shared` skips the
    /// per-API (pipeline) Rating limiter but still honours the shared all-APIs one.
    #[tokio::test(start_paused = true)]
    async fn acquire_shared_skips_the_api_quota_not_the_shared_one() {
        let l = Limiters::new(&ApiQuotas {
            rating: NonZeroU32::new(1),
            ..Default::default()
        });
        let t = tokio::time::Instant::now();
        for _ in 0..50 {
            l.acquire_shared(Api::Rating).await;
        }
        assert_eq!(
            t.elapsed(),
            Duration::ZERO,
            "the pipeline's Rating quota is not checkout's"
        );
        let l = Limiters::new(&ApiQuotas {
            rating: NonZeroU32::new(1),
            total: NonZeroU32::new(10),
            ..Default::default()
        });
        let t = tokio::time::Instant::now();
        for _ in 0..29 {
            l.acquire_shared(Api::Rating).await;
        }
        // Burst 9, then 20 paced at 10/s.
        assert!(
            t.elapsed() >= Duration::from_millis(1900),
            "{:?}",
            t.elapsed()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shared_quota_paces_all_apis_together_but_not_oauth() {
        let l = Limiters::new(&ApiQuotas {
            total: NonZeroU32::new(10),
            ..Default::default()
        });
        let start = tokio::time::Instant::now();
        for i in 0..30 {
            let api = if i % 2 == 0 {
                Api::AddressValidation
            } else {
                Api::Ship
            };
            l.acquire(api).await;
        }
        // Burst 9, then 21 paced at 10/s ≈ 2.1 s.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(2000), "{took:?}");
        assert!(took <= Duration::from_millis(2300), "{took:?}");
        let t = tokio::time::Instant::now();
        for _ in 0..50 {
            l.acquire(Api::Token).await;
        }
        assert_eq!(t.elapsed(), Duration::ZERO, "OAuth has its own quota only");
    }

    /// What leaves upsync at the shared quota still fits UPS's bucket (burst n, refill n/s)
    /// when each request is delayed by up to 80 ms of network jitter on its way.
    #[tokio::test(start_paused = true)]
    async fn shared_quota_output_survives_arrival_jitter() {
        let n = 40u32;
        let l = Limiters::new(&ApiQuotas {
            total: NonZeroU32::new(n),
            ..Default::default()
        });
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let start = tokio::time::Instant::now();
        let mut arrivals = Vec::new();
        for _ in 0..2000 {
            l.acquire(Api::Ship).await;
            let sent = start.elapsed().as_secs_f64();
            arrivals.push(sent + rng.gen_range(0.0..0.080));
        }
        let sent_for = start.elapsed().as_secs_f64();
        assert!(
            2000.0 / sent_for >= 0.95 * f64::from(n),
            "paced below 0.95·n: {:.1}/s",
            2000.0 / sent_for
        );
        arrivals.sort_by(f64::total_cmp);
        let (mut tokens, mut last) = (f64::from(n), 0.0);
        for (i, at) in arrivals.iter().enumerate() {
            tokens = (tokens + (at - last) * f64::from(n)).min(f64::from(n));
            last = *at;
            assert!(tokens >= 1.0, "request {i} at {at:.3}s would get a 429");
            tokens -= 1.0;
        }
    }
}
