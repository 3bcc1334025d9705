//! Tracking counters and freshness figures, for the metrics endpoint and the demo summary.
//!
//! [`TrackingStats`] is a bag of atomic counters shared by the tracker and the webhook;
//! [`TrackingStats::snapshot`] copies them into a plain serialisable struct.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::model::Milestone;

macro_rules! counters {
    ($( $(#[$doc:meta])* $name:ident ),* $(,)?) => {
        /// Live counters (monotonic since start).
        #[derive(Debug, Default)]
        pub struct TrackingStats {
            $( $(#[$doc])* pub $name: AtomicU64, )*
            /// Packages that entered each status.
            pub statuses: StatusCounters,
        }

        /// A copy of [`TrackingStats`] at one instant.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct TrackingStatsSnapshot {
            $( $(#[$doc])* pub $name: u64, )*
        }

        impl TrackingStats {
            pub fn snapshot(&self) -> TrackingStatsSnapshot {
                TrackingStatsSnapshot {
                    $( $name: self.$name.load(Ordering::Relaxed), )*
                }
            }

            /// `(name, value)` pairs, for a metrics exporter.
            pub fn pairs(&self) -> Vec<(&'static str, u64)> {
                vec![ $( (stringify!($name), self.$name.load(Ordering::Relaxed)), )* ]
            }
        }


    };
}

counters! {
    /// Packages registered for tracking.
    packages_registered,
    /// Jobs registered for tracking.
    jobs_registered,
    /// New Track Alert subscriptions (first subscription, or again after a lapse).
    subscriptions_created,
    /// Renewals of live subscriptions before their expiry.
    subscriptions_renewed,
    /// Subscriptions found expired while their package was not terminal.
    subscriptions_lapsed,
    /// Numbers UPS refused to subscribe (followed by polling instead).
    subscriptions_rejected,
    /// Subscription calls made (each ≤ 100 numbers).
    subscribe_calls,
    /// Subscription calls that failed (retried later).
    subscribe_errors,
    /// Track calls made (all reasons).
    polls,
    /// Track calls made in polling mode on the schedule.
    polls_scheduled,
    /// Track calls made to backfill a new subscription.
    polls_backfill,
    /// Track calls made because no event arrived for the quiet period.
    polls_quiet_fallback,
    /// Track answers `TW0001` (not yet known to UPS).
    polls_not_yet,
    /// Track calls that failed.
    poll_errors,
    /// Due Track calls postponed because the Track quota was used up.
    polls_deferred_by_quota,
    /// Webhook events stored in the inbox (answered 200).
    events_received,
    /// Events already known (same identity).
    events_duplicate,
    /// Events older than the package's latest event (applied to history only).
    events_out_of_order,
    /// Events for numbers not (yet) registered: parked until registration.
    events_unknown,
    /// Webhook bodies refused with 400/413.
    events_rejected,
    /// Webhook calls refused with 401.
    events_unauthorized,
    /// Bearer tokens issued to UPS (v2).
    tokens_issued,
    /// Token requests refused.
    tokens_refused,
    /// ERP write-backs applied.
    write_backs,
    /// Write-backs skipped because the plan was unchanged.
    write_backs_unchanged,
    /// Write-backs that failed (retried later unless the ERP rejected the data).
    write_back_errors,
    /// Write-backs postponed by the ERP write rate.
    write_backs_deferred,
    /// Packages that reached a terminal milestone.
    packages_terminal,
    /// Packages given up (not terminal after `give_up_after_seconds`).
    packages_abandoned,
    /// Jobs moved to `delivered` (or `voided`) in the ledger.
    jobs_finished,
    /// Quantum View calls made (one per page).
    qv_calls,
    /// Quantum View calls that failed (retried next interval).
    qv_errors,
    /// Quantum View subscription files processed (each once).
    qv_files,
    /// Quantum View events applied to a tracked package (new or duplicate).
    qv_events,
    /// Quantum View events that another source (Track, Track Alert) had already brought.
    qv_duplicate,
    /// Packages upsync did not ship registered from a Quantum View reference match.
    qv_foreign_matched,
    /// Quantum View events for numbers upsync does not track and could not match: ignored.
    qv_foreign_ignored,
    /// Ranges UPS refused (more than 7 days back) and restarted inside the 7 days.
    qv_range_restarts,
}

/// Packages that entered each status since start (index = position in [`Milestone::ALL`]).
#[derive(Debug, Default)]
pub struct StatusCounters([AtomicU64; 12]);

impl StatusCounters {
    pub fn note(&self, m: Milestone) {
        if let Some(i) = Milestone::ALL.iter().position(|x| *x == m) {
            self.0[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `(status, count)` for every status, zeros included.
    pub fn pairs(&self) -> Vec<(Milestone, u64)> {
        Milestone::ALL
            .iter()
            .zip(self.0.iter())
            .map(|(m, c)| (*m, c.load(Ordering::Relaxed)))
            .collect()
    }
}

/// Live packages at one instant: how many per status, how long since the tracker last
/// heard about them, and how old their newest scan is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveSummary {
    /// Live (not terminal, not given up) packages per status, every status present.
    pub by_status: Vec<(Milestone, u64)>,
    /// Seconds since the tracker last heard about each live package past pickup.
    pub freshness: FreshnessSummary,
    /// Age in seconds of the newest scan of each live package past pickup.
    pub newest_scan_age: FreshnessSummary,
}

/// Summary of per-package freshness (seconds since the tracker last heard about a package).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FreshnessSummary {
    /// In-transit packages measured.
    pub packages: usize,
    pub max_seconds: i64,
    pub mean_seconds: f64,
    pub p50_seconds: i64,
    pub p95_seconds: i64,
}

impl FreshnessSummary {
    pub fn from_ages(ages: &[i64]) -> FreshnessSummary {
        if ages.is_empty() {
            return FreshnessSummary::default();
        }
        let mut v = ages.to_vec();
        v.sort_unstable();
        let pct = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
        FreshnessSummary {
            packages: v.len(),
            max_seconds: *v.last().unwrap_or(&0),
            mean_seconds: v.iter().sum::<i64>() as f64 / v.len() as f64,
            p50_seconds: pct(0.5),
            p95_seconds: pct(0.95),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_copies_counters() {
        let s = TrackingStats::default();
        s.polls.fetch_add(3, Ordering::Relaxed);
        assert_eq!(s.snapshot().polls, 3);
        assert!(s.pairs().contains(&("polls", 3)));
    }

    #[test]
    fn freshness_percentiles() {
        let ages: Vec<i64> = (1..=100).collect();
        let f = FreshnessSummary::from_ages(&ages);
        assert_eq!(f.packages, 100);
        assert_eq!(f.max_seconds, 100);
        assert_eq!(f.p95_seconds, 95);
        assert_eq!(FreshnessSummary::from_ages(&[]).packages, 0);
    }
}
