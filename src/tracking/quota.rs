//! Budgets on the injected clock: the Track API quota (rolling hour and day windows) and the
//! ERP write rate (token bucket), plus the arithmetic of a naive fixed-interval poller for
//! comparison.
//!
//! Both budgets run on the tracker's clock, not on wall time, so a simulated week is
//! bounded exactly as a real one would be, and tests never sleep.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

use super::settings::TrackQuota;

/// Track API calls allowed in any rolling hour and any rolling 24 hours.
#[derive(Debug)]
pub struct TrackBudget {
    quota: TrackQuota,
    hour: VecDeque<DateTime<Utc>>,
    day: VecDeque<DateTime<Utc>>,
}

impl TrackBudget {
    pub fn new(quota: TrackQuota) -> TrackBudget {
        TrackBudget {
            quota,
            hour: VecDeque::new(),
            day: VecDeque::new(),
        }
    }

    fn prune(&mut self, now: DateTime<Utc>) {
        while self
            .hour
            .front()
            .is_some_and(|t| *t <= now - Duration::hours(1))
        {
            self.hour.pop_front();
        }
        while self
            .day
            .front()
            .is_some_and(|t| *t <= now - Duration::days(1))
        {
            self.day.pop_front();
        }
    }

    /// Take one call from the budget if there is room.
    pub fn try_take(&mut self, now: DateTime<Utc>) -> bool {
        self.prune(now);
        if let Some(h) = self.quota.calls_per_hour {
            if self.hour.len() >= h as usize {
                return false;
            }
        }
        if let Some(d) = self.quota.calls_per_day {
            if self.day.len() >= d as usize {
                return false;
            }
        }
        if self.quota.calls_per_hour.is_some() {
            self.hour.push_back(now);
        }
        if self.quota.calls_per_day.is_some() {
            self.day.push_back(now);
        }
        true
    }

    /// Calls left right now (the smaller of the two windows); `None` = unbounded.
    pub fn remaining(&mut self, now: DateTime<Utc>) -> Option<u32> {
        self.prune(now);
        let h = self
            .quota
            .calls_per_hour
            .map(|h| h.saturating_sub(self.hour.len() as u32));
        let d = self
            .quota
            .calls_per_day
            .map(|d| d.saturating_sub(self.day.len() as u32));
        match (h, d) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A token bucket on the injected clock (ERP write rate).
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    capacity: f64,
    tokens: f64,
    last: Option<DateTime<Utc>>,
}

impl TokenBucket {
    pub fn per_minute(per_minute: u32, burst: u32) -> TokenBucket {
        let capacity = f64::from(burst.max(1));
        TokenBucket {
            per_second: f64::from(per_minute.max(1)) / 60.0,
            capacity,
            tokens: capacity,
            last: None,
        }
    }

    pub fn try_take(&mut self, now: DateTime<Utc>) -> bool {
        if let Some(last) = self.last {
            let elapsed = (now - last).num_milliseconds().max(0) as f64 / 1000.0;
            self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        }
        if self.last.is_none_or(|l| now > l) {
            self.last = Some(now);
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Track calls a naive poller would make: every package polled every `interval` from
/// `start` until the first poll at or after its terminal time (when it would see the
/// delivery and stop), or until `horizon`.
pub fn fixed_interval_calls(
    packages: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    interval: Duration,
    horizon: DateTime<Utc>,
) -> u64 {
    let step = interval.num_seconds().max(1);
    packages
        .iter()
        .map(|(start, terminal)| {
            let end = match terminal {
                Some(t) if *t < horizon => *t,
                _ => horizon,
            };
            if end < *start {
                return 0;
            }
            let span = (end - *start).num_seconds();
            // Polls at start, start+step, …; the last one is the first at or after `end`
            // (for a terminal package) or the last before the horizon.
            let n = span / step + 1;
            let extra = terminal.is_some_and(|t| t < horizon)
                && span % step != 0
                && *start + Duration::seconds(n * step) <= horizon;
            (n + i64::from(extra)) as u64
        })
        .sum()
}

/// A stable per-package factor in `[0.9, 1.1)` that spreads polls of packages registered
/// together, so they do not hit the quota in one burst.
pub fn jitter_factor(tracking_number: &str) -> f64 {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in tracking_number.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    0.9 + 0.2 * ((h % 10_000) as f64 / 10_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn budget_enforces_rolling_hour_and_day() {
        let mut b = TrackBudget::new(TrackQuota {
            calls_per_hour: Some(3),
            calls_per_day: Some(5),
        });
        let t = t0();
        assert!(b.try_take(t));
        assert!(b.try_take(t));
        assert!(b.try_take(t + Duration::minutes(30)));
        assert!(!b.try_take(t + Duration::minutes(59)));
        assert_eq!(b.remaining(t + Duration::minutes(59)), Some(0));
        // The first two leave the rolling hour at t+60min.
        assert!(b.try_take(t + Duration::minutes(60)));
        assert!(b.try_take(t + Duration::minutes(61)));
        // Day budget (5) is used up until t+24h.
        assert!(!b.try_take(t + Duration::hours(5)));
        assert!(b.try_take(t + Duration::hours(24) + Duration::seconds(1)));
    }

    #[test]
    fn unbounded_budget_always_allows() {
        let mut b = TrackBudget::new(TrackQuota::default());
        for i in 0..10_000 {
            assert!(b.try_take(t0() + Duration::seconds(i)));
        }
        assert_eq!(b.remaining(t0()), None);
    }

    #[test]
    fn bucket_refills_on_the_injected_clock() {
        let mut b = TokenBucket::per_minute(60, 2);
        let t = t0();
        assert!(b.try_take(t));
        assert!(b.try_take(t));
        assert!(!b.try_take(t));
        assert!(b.try_take(t + Duration::seconds(1)));
        assert!(!b.try_take(t + Duration::seconds(1)));
    }

    #[test]
    fn fixed_interval_counts() {
        let t = t0();
        let h = Duration::hours(1);
        // Delivered after 2.5 h: polls at 0,1,2 and the one at 3 h that sees it.
        assert_eq!(
            fixed_interval_calls(
                &[(t, Some(t + Duration::minutes(150)))],
                h,
                t + Duration::days(1)
            ),
            4
        );
        // Exactly on a poll: 0,1,2.
        assert_eq!(
            fixed_interval_calls(
                &[(t, Some(t + Duration::hours(2)))],
                h,
                t + Duration::days(1)
            ),
            3
        );
        // Never delivered within 10 h: 0..=10.
        assert_eq!(
            fixed_interval_calls(&[(t, None)], h, t + Duration::hours(10)),
            11
        );
    }

    #[test]
    fn jitter_is_stable_and_bounded() {
        let a = jitter_factor("1Z123X560300000018");
        assert_eq!(a, jitter_factor("1Z123X560300000018"));
        assert!((0.9..1.1).contains(&a));
    }
}
