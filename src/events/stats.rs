//! Counters of outbound events, for `/metrics` (`upsync_events_*`, exported by the
//! assembly) and tests: events recorded, changes ignored as already recorded, and per
//! webhook attempts by outcome and dead-letters. Backlogs (pending, dead) are read from
//! the outbox's indexes at scrape time, not counted here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Per-webhook counters.
#[derive(Debug, Default)]
pub struct WebhookCounters {
    /// Attempts answered 2xx.
    pub delivered: AtomicU64,
    /// Attempts that failed (non-2xx answer, timeout, connection error).
    pub failed: AtomicU64,
    /// Deliveries dead-lettered after their last attempt.
    pub dead_lettered: AtomicU64,
}

/// Live counters (monotonic since start).
#[derive(Debug, Default)]
pub struct EventsStats {
    recorded: AtomicU64,
    duplicates: AtomicU64,
    webhooks: BTreeMap<String, WebhookCounters>,
}

/// A copy of [`EventsStats`] at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsStatsSnapshot {
    pub recorded: u64,
    pub duplicates: u64,
    /// webhook → (delivered, failed, dead-lettered).
    pub webhooks: BTreeMap<String, (u64, u64, u64)>,
}

impl EventsStats {
    pub fn new(webhooks: impl IntoIterator<Item = String>) -> EventsStats {
        EventsStats {
            webhooks: webhooks
                .into_iter()
                .map(|w| (w, WebhookCounters::default()))
                .collect(),
            ..EventsStats::default()
        }
    }

    pub(super) fn inc_recorded(&self) {
        self.recorded.fetch_add(1, Relaxed);
    }

    pub(super) fn inc_duplicates(&self) {
        self.duplicates.fetch_add(1, Relaxed);
    }

    /// The counters of `webhook` (`None` for a name not configured).
    pub fn webhook(&self, webhook: &str) -> Option<&WebhookCounters> {
        self.webhooks.get(webhook)
    }

    pub fn snapshot(&self) -> EventsStatsSnapshot {
        EventsStatsSnapshot {
            recorded: self.recorded.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            webhooks: self
                .webhooks
                .iter()
                .map(|(k, c)| {
                    (
                        k.clone(),
                        (
                            c.delivered.load(Relaxed),
                            c.failed.load(Relaxed),
                            c.dead_lettered.load(Relaxed),
                        ),
                    )
                })
                .collect(),
        }
    }
}
