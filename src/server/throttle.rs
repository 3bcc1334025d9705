//! Log throttling: at most one line per window for a repetitive event (rejected webhook
//! calls, accept errors), the rest counted and reported as `suppressed` on the next line
//! that is let through. The counters that matter are metrics; the log only says that it
//! happens, so a flood of bad requests cannot trip journald's rate limit and hide real
//! errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One line per `window`; see the module docs.
#[derive(Debug)]
pub struct Throttle {
    window: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl Throttle {
    pub fn new(window: Duration) -> Throttle {
        Throttle {
            window,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line may be logged now (`n` = lines suppressed since the previous
    /// one), `None` when this one is to be suppressed (and is counted).
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    /// [`Throttle::allow`] at a given instant (tests).
    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(t) if now.saturating_duration_since(t) < self.window => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards issue 16 item 1: 2,505 rejected calls made 2,505 WARN lines; now one per
    /// window, with the count of the suppressed ones.
    #[test]
    fn one_line_per_window_and_the_rest_counted() {
        let t = Throttle::new(Duration::from_secs(60));
        let t0 = Instant::now();
        assert_eq!(t.allow_at(t0), Some(0));
        let let_through = (1..2505)
            .filter(|i| t.allow_at(t0 + Duration::from_millis(*i)).is_some())
            .count();
        assert_eq!(let_through, 0);
        assert_eq!(t.allow_at(t0 + Duration::from_secs(61)), Some(2504));
    }
}
