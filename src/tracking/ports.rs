//! The tracking port: what tracking needs from the carrier (UPS Track, Track Alert and
//! Quantum View), as a
//! trait, so the tracker never calls `crate::ups` directly.
//!
//! An adapter over the UPS client implements [`TrackingCarrier`]; tests implement it with
//! fakes whose packages progress on a simulated clock. Errors are the one
//! classified failure type ([`crate::model::ClassifiedError`], here [`CarrierError`]).
//!
//! [`StatusSink`] is the other way out: the tracker hands every change of a package's
//! milestone to it (the outbound events of `crate::events` implement it), without
//! knowing who listens.
//!
//! Must never: put a subscription credential in a `Debug` line or an error message.

use async_trait::async_trait;
use zeroize::Zeroizing;

pub use crate::model::ClassifiedError as CarrierError;

pub use crate::model::TrackOutcome;

pub use crate::model::{QvEvent, QvFile, QvPage, QvRecord, QvRequest};

/// Answer of a Track Alert subscription call (partial success is still a success).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscribeOutcome {
    /// Subscribed for 14 days from now.
    pub valid: Vec<String>,
    /// Refused by UPS (bad format, unknown): tracked by polling instead.
    pub invalid: Vec<String>,
}

/// Track Alert v1 webhook destination (`destination{url, credentialType, credential}`).
/// v2 has none: URL and credentials are managed in the UPS developer portal.
#[derive(Clone, PartialEq, Eq)]
pub struct Destination {
    /// The public https URL of `POST /webhooks/ups/track-alert`.
    pub url: String,
    /// Free text for UPS (e.g. `Bearer`); upsync checks the `credential` header only.
    pub credential_type: String,
    /// The shared secret UPS sends back in the `credential` header (from the vault).
    pub credential: Zeroizing<String>,
}

impl std::fmt::Debug for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Destination")
            .field("url", &self.url)
            .field("credential_type", &self.credential_type)
            .field("credential", &"[redacted]")
            .finish()
    }
}

/// What tracking needs from UPS.
#[async_trait]
pub trait TrackingCarrier: Send + Sync {
    /// One Track call for one package (counts against the Track quota).
    async fn track(&self, tracking_number: &str) -> Result<TrackOutcome, CarrierError>;

    /// Subscribe (or renew: same call) up to 100 numbers to Track Alert. `destination` is
    /// `Some` for v1 and `None` for v2 (portal-managed).
    async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<&Destination>,
    ) -> Result<SubscribeOutcome, CarrierError>;

    /// One Quantum View page (UPS-REFERENCE §9). A refused range (more than 7 days back)
    /// comes back with code `ups_qv_range_too_old`. Carriers without Quantum View keep this
    /// default (a config error).
    async fn quantum_view(&self, request: QvRequest) -> Result<QvPage, CarrierError> {
        let _ = request;
        Err(CarrierError {
            class: crate::model::ErrorClass::Config,
            code: "ups_quantum_view_unsupported".into(),
            message: "this carrier adapter has no Quantum View call".into(),
            outcome_unknown: false,
        })
    }
}

/// A package's milestone changed: what the tracker hands to a [`StatusSink`]. Built from
/// the package's state after the change ([`StatusChange::of`]); never carries signature
/// bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub tracking_number: String,
    /// Ledger job (`source/record/version`).
    pub job_id: String,
    /// Connector (source) name and ERP record id.
    pub connector: String,
    pub record_id: String,
    /// The new milestone and the one the tracker had before.
    pub status: crate::model::Milestone,
    pub previous: crate::model::Milestone,
    /// The event the milestone comes from (the one the ERP shows as latest scan), if any
    /// (a milestone imposed from outside, e.g. a voided job, may have none).
    pub event: Option<crate::model::TrackingEvent>,
    pub estimated_delivery: Option<chrono::NaiveDate>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub received_by: Option<String>,
}

impl StatusChange {
    /// The change of `p` (its state now) from `before`.
    pub fn of(
        p: &super::state::PackageTrack,
        before: &crate::model::TrackingSnapshot,
    ) -> StatusChange {
        let now = p.snapshot();
        StatusChange {
            tracking_number: p.tracking_number.clone(),
            job_id: p.job_id.clone(),
            connector: p.connector.clone(),
            record_id: p.record_id.clone(),
            status: now.milestone,
            previous: before.milestone,
            event: now.latest,
            estimated_delivery: now.estimated_delivery,
            delivered_at: now.delivered_at,
            received_by: now.received_by,
        }
    }
}

/// Where status changes go. [`StatusSink::record`] is called **before** the package's new
/// state is saved and must be durable when it returns (a crash right after loses
/// nothing); after a crash the same change may be recorded again, so it must be
/// idempotent. An error fails the tracker's step, which is retried.
pub trait StatusSink: Send + Sync {
    fn record(&self, change: &StatusChange) -> Result<(), crate::store::StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_debug_hides_credential() {
        let d = Destination {
            url: "https://example.test/webhooks/ups/track-alert".into(),
            credential_type: "Bearer".into(),
            credential: Zeroizing::new("s3cr3t-value".into()),
        };
        let s = format!("{d:?}");
        assert!(!s.contains("s3cr3t"), "{s}");
        assert!(s.contains("redacted"));
    }
}
