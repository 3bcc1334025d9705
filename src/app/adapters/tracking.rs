//! The UPS client as the tracker's [`crate::tracking::TrackingCarrier`] port (Track, Track
//! Alert subscribe and Quantum View), on the same [`UpsCarrier`] the pipeline uses.

use async_trait::async_trait;

use super::UpsCarrier;
use crate::pipeline::CarrierError;
use crate::ups::UpsError;

#[async_trait]
impl crate::tracking::TrackingCarrier for UpsCarrier {
    async fn track(
        &self,
        tracking_number: &str,
    ) -> Result<crate::tracking::TrackOutcome, CarrierError> {
        Ok(self.client().track(tracking_number).await?)
    }

    async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<&crate::tracking::Destination>,
    ) -> Result<crate::tracking::SubscribeOutcome, CarrierError> {
        let dest = destination.map(|d| (d.url.as_str(), d.credential.as_str()));
        let r = self.client().subscribe(numbers, dest).await?;
        Ok(crate::tracking::SubscribeOutcome {
            valid: r.valid,
            invalid: r.invalid,
        })
    }

    async fn quantum_view(
        &self,
        request: crate::model::QvRequest,
    ) -> Result<crate::model::QvPage, CarrierError> {
        match self.client().quantum_view(&request).await {
            Ok(p) => Ok(p),
            Err(UpsError::Rejected { code, message, .. })
                if crate::ups::parse::range_too_old(&code, &message) =>
            {
                Err(CarrierError::business(
                    "ups_qv_range_too_old",
                    format!("UPS Quantum View refused the date range ({code}): {message}"),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}
