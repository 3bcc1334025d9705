//! [`UpsQuoter`]: the UPS client as checkout's [`crate::checkout::Quoter`]: Shop with time
//! in transit (the request built by `ups/ops/rate.rs`, never a copy of it), on checkout's
//! own share of the Rating quota ([`crate::ups::UpsClient::rate_on_own_quota`]).
//!
//! One client today. With several UPS accounts (`ups.accounts[]`), this is where a
//! registry picks the client of `account`; until then a quote for another account than the
//! client's is refused (`ups_account_unknown`) and answered with the estimate.

use async_trait::async_trait;

use crate::checkout::{QuoteError, Quoter};
use crate::model::{RateQuote, Shipment};
use crate::ups::{RateOptions, UpsClient};

/// See the module doc.
pub struct UpsQuoter {
    client: UpsClient,
}

impl UpsQuoter {
    pub fn new(client: UpsClient) -> Self {
        UpsQuoter { client }
    }
}

#[async_trait]
impl Quoter for UpsQuoter {
    async fn shop(&self, account: &str, shipment: &Shipment) -> Result<Vec<RateQuote>, QuoteError> {
        if !account.eq_ignore_ascii_case(&self.client.config().account_number) {
            return Err(QuoteError {
                code: "ups_account_unknown".into(),
                message: format!(
                    "no UPS client for account {account}; this daemon rates with {}",
                    self.client.config().account_number
                ),
            });
        }
        self.client
            .rate_on_own_quota(shipment, RateOptions::shop())
            .await
            .map_err(|e| QuoteError {
                code: e.code().to_string(),
                message: e.to_string(),
            })
    }
}
