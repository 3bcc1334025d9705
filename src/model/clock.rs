//! The one wall clock of upsync: every layer that needs "now" (token expiry, daily token
//! budgets, retry scheduling, Track Alert renewals, webhook receipt times) takes a
//! [`Clock`], so tests drive time by injection or with tokio's paused clock, never by
//! sleeping.
//!
//! Two other time abstractions remain, on purpose, because they are not wall clocks:
//! `ups::retry::TokioClock` is governor's monotonic `Instant` clock for the rate limiters,
//! and Acumatica's `Sleeper` waits (it does not tell the time). Both follow tokio's clock.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

/// Wall-clock time, injectable. Cloning shares the source of time, so components built
/// from clones agree on "now".
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system's wall clock (`Utc::now`).
    pub fn system() -> Clock {
        Clock(Arc::new(Utc::now))
    }

    /// Wall time that follows tokio's clock: `t + tokio elapsed since this call`. With
    /// `tokio::time::pause`/`advance`, "now" moves only when the test moves it.
    pub fn starting_at(t: DateTime<Utc>) -> Clock {
        let start = tokio::time::Instant::now();
        Clock(Arc::new(move || {
            t + chrono::Duration::from_std(start.elapsed()).unwrap_or(chrono::Duration::MAX)
        }))
    }

    /// [`Clock::starting_at`] the system's current time: wall time in production, tokio's
    /// paused clock in tests.
    pub fn following_tokio() -> Clock {
        Clock::starting_at(Utc::now())
    }

    /// Any source of time (tests: a shared, hand-moved instant; the demo: a simulator's).
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }

    /// Today in UTC.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

impl Default for Clock {
    /// The system's wall clock.
    fn default() -> Self {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now().to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn injected_time_is_shared_by_clones() {
        let t = Arc::new(Mutex::new(DateTime::<Utc>::UNIX_EPOCH));
        let t2 = t.clone();
        let c = Clock::from_fn(move || *t2.lock().unwrap());
        let c2 = c.clone();
        *t.lock().unwrap() += chrono::Duration::days(3);
        assert_eq!(c2.today().to_string(), "1970-01-04");
        assert_eq!(c.now(), c2.now());
    }

    #[tokio::test(start_paused = true)]
    async fn starting_at_follows_the_paused_tokio_clock() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let c = Clock::starting_at(t0);
        assert_eq!(c.now(), t0);
        tokio::time::advance(std::time::Duration::from_secs(90)).await;
        assert_eq!(c.now(), t0 + chrono::Duration::seconds(90));
    }
}
