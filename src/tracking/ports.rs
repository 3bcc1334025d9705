//! The tracking port: what tracking needs from the carrier (UPS Track, Track Alert and
//! Quantum View), as a
//! trait, so the tracker never calls `crate::ups` directly.
//!
//! An adapter over the UPS client implements [`TrackingCarrier`]; tests implement it with
//! fakes whose packages progress on a simulated clock. Errors are the one
//! classified failure type ([`crate::model::ClassifiedError`], here [`CarrierError`]).
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
