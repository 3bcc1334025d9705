//! [`UpsPickups`]: the UPS client's Pickup calls as dispatch's [`PickupApi`] port, each
//! account's pickups through the OAuth client that holds it (`ups.accounts`).

use std::sync::Arc;

use async_trait::async_trait;

use crate::app::accounts::Accounts;
use crate::dispatch::PickupApi;
use crate::model::{ClassifiedError, PendingPickup, PickupRequest};
use crate::ups::UpsClient;

pub struct UpsPickups {
    accounts: Arc<Accounts>,
}

impl UpsPickups {
    pub fn new(accounts: Arc<Accounts>) -> UpsPickups {
        UpsPickups { accounts }
    }

    fn client(&self, account_number: &str) -> &UpsClient {
        match self.accounts.account_for(account_number) {
            Some(a) => &self.accounts.clients()[a.client].client,
            None => self.accounts.primary(),
        }
    }
}

#[async_trait]
impl PickupApi for UpsPickups {
    async fn create(&self, request: &PickupRequest) -> Result<String, ClassifiedError> {
        Ok(self
            .client(&request.account_number)
            .create_pickup(request)
            .await?)
    }

    async fn pending(&self, account_number: &str) -> Result<Vec<PendingPickup>, ClassifiedError> {
        Ok(self
            .client(account_number)
            .pending_pickups(account_number)
            .await?)
    }

    async fn cancel(&self, account_number: &str, prn: &str) -> Result<(), ClassifiedError> {
        Ok(self.client(account_number).cancel_pickup(prn).await?)
    }
}
