//! Quantum View (UPS-REFERENCE §9): what one `POST /api/quantumview/{version}/events` asks
//! for ([`QvRequest`]) and what one page of its answer holds ([`QvPage`]), shared by the UPS
//! client (which builds and parses them) and the tracker (which consumes them).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::TrackingEvent;

/// One Quantum View call: the files of a time range (every subscription, or the named
/// ones), continuing at `bookmark` when the previous answer had one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QvRequest {
    /// Path version (`v3`).
    pub version: String,
    /// Subscription names; empty = every subscription of the account.
    pub subscription_names: Vec<String>,
    /// `DateTimeRange` (UPS allows at most 7 days back).
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The `Bookmark` of the previous page of the same request.
    pub bookmark: Option<String>,
}

/// Which Quantum View record an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QvRecord {
    /// `Manifest` (label created).
    Manifest,
    /// `Origin` (picked up).
    Origin,
    /// `Exception`.
    Exception,
    /// `Delivery`.
    Delivery,
    /// `Generic` with `ActivityType` `VM` (void for manifest).
    Void,
}

/// One package event of a subscription file, canonical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QvEvent {
    pub record: QvRecord,
    /// `time` is the record's `Date`+`Time` read as UTC: UPS does not say in which zone they
    /// are (they may be the activity's local time), so consumers must not rely on the hour.
    pub event: TrackingEvent,
    #[serde(default)]
    pub shipper_number: String,
    /// Shipment- and package-level reference values, in that order, without duplicates.
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub scheduled_delivery: Option<NaiveDate>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub received_by: Option<String>,
}

/// One subscription file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QvFile {
    pub subscription: String,
    /// `YYMMDD_HHmmssnnn`.
    pub name: String,
    /// `StatusType.Code` `R` (already read) or `U`.
    pub read: bool,
    pub events: Vec<QvEvent>,
}

/// One page of a Quantum View answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QvPage {
    pub subscriber_id: String,
    pub files: Vec<QvFile>,
    /// Subscriptions UPS answered with a status other than active (name, status code).
    pub inactive_subscriptions: Vec<(String, String)>,
    /// More data: resend the same request with this bookmark.
    pub bookmark: Option<String>,
}
