//! Per-job backoff for transient failures: exponential with full jitter, capped.
//!
//! `delay(n) = random(0, min(max, base · 2^n))` (AWS "full jitter"): retries of many jobs
//! spread out instead of hammering UPS or the ERP in lock-step.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// First retry delay ceiling.
    pub base_seconds: f64,
    /// Ceiling of any delay.
    pub max_seconds: f64,
    /// Transient failures in one state before the job is dead-lettered (`retries_exhausted`).
    pub max_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_seconds: 2.0,
            max_seconds: 900.0,
            max_retries: 60,
        }
    }
}

impl RetryPolicy {
    /// Delay before retry number `retries` (1-based).
    pub fn delay(&self, retries: u32) -> Duration {
        let ceiling = (self.base_seconds * 2f64.powi(retries.saturating_sub(1).min(30) as i32))
            .min(self.max_seconds)
            .max(0.0);
        let secs = if ceiling > 0.0 {
            rand::thread_rng().gen_range(0.0..=ceiling)
        } else {
            0.0
        };
        Duration::from_secs_f64(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_within_a_growing_cap() {
        let p = RetryPolicy {
            base_seconds: 1.0,
            max_seconds: 30.0,
            max_retries: 10,
        };
        for n in 1..10u32 {
            let cap = (2f64.powi(n as i32 - 1)).min(30.0);
            let ds: Vec<f64> = (0..200).map(|_| p.delay(n).as_secs_f64()).collect();
            assert!(
                ds.iter().all(|d| *d <= cap + 1e-9),
                "retry {n} exceeded {cap}"
            );
            let distinct = ds
                .iter()
                .map(|d| (d * 1e6) as u64)
                .collect::<std::collections::HashSet<_>>();
            assert!(distinct.len() > 100, "retry {n}: no jitter");
        }
        let mean_late: f64 = (0..500).map(|_| p.delay(8).as_secs_f64()).sum::<f64>() / 500.0;
        let mean_early: f64 = (0..500).map(|_| p.delay(1).as_secs_f64()).sum::<f64>() / 500.0;
        assert!(mean_late > 5.0 * mean_early);
    }
}
