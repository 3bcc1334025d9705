//! Tracking settings: mode, Track Alert renewal window, quiet period, per-milestone poll
//! intervals, Track quota, ERP write rate. Defaults live here and nowhere else.
//!
//! Every duration is in seconds and says so in its name. The v1 webhook credential is not a
//! setting: the caller loads it from the vault and puts it in [`TrackingSettings::destination`].

use serde::{Deserialize, Serialize};

use super::ports::Destination;
use crate::model::Milestone;

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// How packages are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingMode {
    /// Track Alert push (webhook) with renewal, backfill and quiet-period fallback polls.
    TrackAlert,
    /// Track API on a per-milestone schedule.
    Polling,
    /// Quantum View subscription files on an interval, with a backfill Track call at
    /// registration and quiet-period Track fallback polls.
    QuantumView,
}

/// Quantum View mode (`tracking.quantum_view`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantumViewSettings {
    /// Seconds between two reads of the subscription files (each read follows the
    /// bookmarks to the last page).
    pub interval_seconds: u64,
    /// Subscriptions to read; empty = every subscription of the account.
    pub subscription_names: Vec<String>,
    /// Register parcels upsync did not ship on the ledger job whose ERP record number equals
    /// one of their reference numbers; otherwise count (`qv_foreign_ignored`) and ignore them.
    pub match_by_reference: bool,
    /// Path version (`v3`).
    pub version: String,
}

impl Default for QuantumViewSettings {
    fn default() -> Self {
        QuantumViewSettings {
            interval_seconds: 15 * 60,
            subscription_names: Vec::new(),
            match_by_reference: false,
            version: "v3".into(),
        }
    }
}

/// Which Track Alert API subscribes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertVersion {
    /// `POST /api/track/v1/subscription/standard/package` with `destination{url,credentialType,credential}`.
    V1,
    /// `POST /api/track/v2/subscription/standard/package`, destination managed in the UPS portal
    /// (UPS fetches a token from upsync's `POST /webhooks/ups/oauth/token`).
    V2,
}

/// Poll interval per milestone, in seconds (`None`-like terminal milestones never poll).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollIntervals {
    /// Label created, not yet scanned by UPS (and Track's `TW0001` "not yet").
    pub label_created_seconds: u64,
    pub picked_up_seconds: u64,
    /// In transit (and picked up) with the estimated delivery day still two or more days away.
    pub in_transit_far_seconds: u64,
    /// In transit, delivery expected today or tomorrow (or no estimate).
    pub in_transit_seconds: u64,
    pub out_for_delivery_seconds: u64,
    pub exception_seconds: u64,
}

impl Default for PollIntervals {
    fn default() -> Self {
        PollIntervals {
            label_created_seconds: 6 * HOUR,
            picked_up_seconds: HOUR,
            in_transit_far_seconds: 4 * HOUR,
            in_transit_seconds: HOUR,
            out_for_delivery_seconds: 15 * 60,
            exception_seconds: HOUR,
        }
    }
}

impl PollIntervals {
    /// Seconds until the next poll of a package at `m`; `None` for terminal milestones.
    pub fn for_milestone(&self, m: Milestone) -> Option<u64> {
        match m {
            // Not found and expired parcels are asked about as rarely as fresh labels.
            Milestone::LabelCreated | Milestone::NotFound | Milestone::Expired => {
                Some(self.label_created_seconds)
            }
            Milestone::PickedUp => Some(self.picked_up_seconds),
            // Waiting at an Access Point can last days: the in-transit pace.
            Milestone::InTransit | Milestone::AvailableForPickup => Some(self.in_transit_seconds),
            Milestone::OutForDelivery => Some(self.out_for_delivery_seconds),
            Milestone::Exception | Milestone::DeliveryAttempted => Some(self.exception_seconds),
            Milestone::Delivered | Milestone::ReturnedToSender | Milestone::Voided => None,
        }
    }
}

/// Track API budget. `None` = unbounded. Windows are rolling (any hour, any 24 hours).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackQuota {
    pub calls_per_hour: Option<u32>,
    pub calls_per_day: Option<u32>,
}

/// Everything the tracker can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingSettings {
    pub mode: TrackingMode,
    pub alert_version: AlertVersion,
    /// v1 only: where UPS pushes events and the credential it sends (from the vault).
    #[serde(skip)]
    pub destination: Option<Destination>,
    /// Numbers per subscription call (UPS allows at most 100).
    pub subscribe_batch_size: usize,
    /// How long UPS keeps a subscription (14 days).
    pub subscription_lifetime_seconds: u64,
    /// Renew this long after (re)subscribing; must be inside the lifetime (day 12–13).
    pub renew_after_seconds: u64,
    /// Track Alert mode: no event for this long → one Track call for that package.
    pub quiet_period_seconds: u64,
    /// Wait before retrying a failed subscribe call.
    pub subscribe_retry_seconds: u64,
    /// Polling mode (and fallback) schedule.
    pub poll_intervals: PollIntervals,
    /// Polling mode: first poll this long after the job entered tracking.
    pub first_poll_after_seconds: u64,
    /// Wait before retrying a failed Track call.
    pub poll_retry_seconds: u64,
    pub track_quota: TrackQuota,
    /// Track calls in flight at once.
    pub track_concurrency: usize,
    /// Stop following a package that has had no new scan this long (it stays `expired`;
    /// UPS keeps tracking data 120 days).
    pub give_up_after_seconds: u64,
    /// No new scan this long: the package is `expired` (tracking goes on, slowly).
    pub stale_after_seconds: u64,
    /// UPS still has no data at all (`TW0001`) this long after registration: `not_found`.
    pub not_found_after_seconds: u64,
    /// ERP write-back rate: sustained writes per minute and burst.
    pub erp_writes_per_minute: u32,
    pub erp_write_burst: u32,
    /// ERP writes in flight at once.
    pub erp_writes_in_flight: usize,
    /// How often the run loop ticks (real seconds).
    pub tick_seconds: u64,
    /// How often the run loop scans the ledger for jobs in `tracking` not yet registered.
    pub scan_jobs_seconds: u64,
    /// Webhook body limit (bytes); larger bodies get 413.
    pub webhook_max_body_bytes: usize,
    /// Lifetime of bearer tokens upsync issues to UPS (v2).
    pub webhook_token_ttl_seconds: u64,
    /// Quantum View mode.
    pub quantum_view: QuantumViewSettings,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        TrackingSettings {
            mode: TrackingMode::TrackAlert,
            alert_version: AlertVersion::V2,
            destination: None,
            subscribe_batch_size: 100,
            subscription_lifetime_seconds: 14 * DAY,
            renew_after_seconds: 12 * DAY + 12 * HOUR,
            quiet_period_seconds: 12 * HOUR,
            subscribe_retry_seconds: 300,
            poll_intervals: PollIntervals::default(),
            first_poll_after_seconds: HOUR,
            poll_retry_seconds: 600,
            track_quota: TrackQuota::default(),
            track_concurrency: 8,
            give_up_after_seconds: 30 * DAY,
            stale_after_seconds: 10 * DAY,
            not_found_after_seconds: 24 * HOUR,
            erp_writes_per_minute: 120,
            erp_write_burst: 20,
            erp_writes_in_flight: 4,
            tick_seconds: 30,
            scan_jobs_seconds: 60,
            webhook_max_body_bytes: 64 * 1024,
            webhook_token_ttl_seconds: 3600,
            quantum_view: QuantumViewSettings::default(),
        }
    }
}

impl TrackingSettings {
    /// The limits of the statuses derived from time passing.
    pub fn age_limits(&self) -> crate::tracking::state::AgeLimits {
        let d =
            |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1_000_000));
        crate::tracking::state::AgeLimits {
            not_found_after: d(self.not_found_after_seconds),
            stale_after: d(self.stale_after_seconds),
        }
    }

    /// Every problem at once, each saying what to change.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.stale_after_seconds >= self.give_up_after_seconds {
            p.push(format!(
                "tracking.stale_after_days ({} days) must be shorter than tracking.give_up_after_days ({} days): a parcel is declared expired before tracking stops",
                self.stale_after_seconds / DAY,
                self.give_up_after_seconds / DAY
            ));
        }
        if self.not_found_after_seconds == 0 {
            p.push("tracking.not_found_after_hours is 0: use at least 1 (UPS often needs hours to index a new label)".to_string());
        }
        if self.subscribe_batch_size == 0 || self.subscribe_batch_size > 100 {
            p.push(format!(
                "tracking.subscribe_batch_size is {}: UPS accepts 1 to 100 numbers per subscription call",
                self.subscribe_batch_size
            ));
        }
        if self.renew_after_seconds >= self.subscription_lifetime_seconds {
            p.push(format!(
                "tracking.renew_after_seconds ({}) must be shorter than subscription_lifetime_seconds ({}), or subscriptions lapse; UPS subscriptions last 14 days, renew on day 12–13",
                self.renew_after_seconds, self.subscription_lifetime_seconds
            ));
        }
        if self.mode == TrackingMode::TrackAlert
            && self.alert_version == AlertVersion::V1
            && self.destination.is_none()
        {
            p.push("tracking.alert_version is v1 but no destination (webhook URL + credential) is set: set the webhook URL and store the credential with `upsync creds set`, or use v2".into());
        }
        if let Some(d) = &self.destination {
            if !d.url.starts_with("https://") {
                p.push(format!(
                    "tracking destination url {} must be https (UPS rejects other schemes with VSS600)",
                    d.url
                ));
            }
        }
        for (name, v) in [
            (
                "label_created_seconds",
                self.poll_intervals.label_created_seconds,
            ),
            ("picked_up_seconds", self.poll_intervals.picked_up_seconds),
            (
                "in_transit_far_seconds",
                self.poll_intervals.in_transit_far_seconds,
            ),
            ("in_transit_seconds", self.poll_intervals.in_transit_seconds),
            (
                "out_for_delivery_seconds",
                self.poll_intervals.out_for_delivery_seconds,
            ),
            ("exception_seconds", self.poll_intervals.exception_seconds),
        ] {
            if v < 60 {
                p.push(format!(
                    "tracking.poll_intervals.{name} is {v}: use at least 60 seconds"
                ));
            }
        }
        if self.track_concurrency == 0 {
            p.push("tracking.track_concurrency must be at least 1".into());
        }
        if self.erp_writes_per_minute == 0 || self.erp_write_burst == 0 {
            p.push("tracking.erp_writes_per_minute and erp_write_burst must be at least 1".into());
        }
        if self.erp_writes_in_flight == 0 {
            p.push("tracking.erp_writes_in_flight must be at least 1".into());
        }
        if self.quiet_period_seconds == 0 {
            p.push("tracking.quiet_period_seconds must be positive".into());
        }
        let qv = &self.quantum_view;
        if qv.interval_seconds == 0 {
            p.push("tracking.quantum_view.interval_seconds must be positive".into());
        }
        if let Some(n) = qv
            .subscription_names
            .iter()
            .find(|n| n.trim().is_empty() || n.chars().count() > 21)
        {
            p.push(format!(
                "tracking.quantum_view.subscription_names: {n:?} is not a subscription name (1 to 21 characters)"
            ));
        }
        if qv.version.trim().is_empty() {
            p.push("tracking.quantum_view.version must be set (v3)".into());
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_renew_inside_lifetime() {
        let s = TrackingSettings::default();
        assert!(s.validate().is_empty(), "{:?}", s.validate());
        assert!(s.renew_after_seconds >= 12 * DAY && s.renew_after_seconds <= 13 * DAY);
    }

    #[test]
    fn validation_collects_every_problem() {
        let s = TrackingSettings {
            subscribe_batch_size: 101,
            renew_after_seconds: 15 * DAY,
            alert_version: AlertVersion::V1,
            ..TrackingSettings::default()
        };
        let p = s.validate();
        assert_eq!(p.len(), 3, "{p:?}");
    }

    #[test]
    fn reads_from_yaml_with_defaults_and_refuses_typos() {
        let s: TrackingSettings = serde_norway::from_str(
            "mode: polling\npoll_intervals:\n  out_for_delivery_seconds: 600\ntrack_quota:\n  calls_per_hour: 500\n",
        )
        .unwrap();
        assert_eq!(s.mode, TrackingMode::Polling);
        assert_eq!(s.poll_intervals.out_for_delivery_seconds, 600);
        assert_eq!(s.poll_intervals.in_transit_seconds, 3600);
        assert_eq!(s.track_quota.calls_per_hour, Some(500));
        assert!(serde_norway::from_str::<TrackingSettings>("quiet_period: 5\n").is_err());
    }

    #[test]
    fn terminal_milestones_never_poll() {
        let i = PollIntervals::default();
        assert_eq!(i.for_milestone(Milestone::Delivered), None);
        assert_eq!(i.for_milestone(Milestone::OutForDelivery), Some(900));
    }
}
