//! The UPS client as the tracker's [`crate::tracking::TrackingCarrier`] port (Track and
//! Track Alert subscribe), on the same [`UpsCarrier`] the pipeline uses.

use async_trait::async_trait;

use super::UpsCarrier;
use crate::pipeline::CarrierError;

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
}
