//! [`UpsQuoter`]: the UPS client as checkout's [`crate::checkout::Quoter`]: Shop with time
//! in transit (the request built by `ups/ops/rate.rs`, never a copy of it), on checkout's
//! own share of the Rating quota ([`crate::ups::UpsClient::rate_on_own_quota`]).
//!
//! With the daemon's accounts ([`UpsQuoter::routed`]) a quote goes to the client of its
//! account (`ups.accounts[]`); with one client ([`UpsQuoter::new`], benches and tests) a
//! quote for another account than the client's is refused (`checkout_account_unknown`), and
//! checkout answers it with the estimate.

use async_trait::async_trait;

use crate::checkout::{QuoteError, Quoter};
use crate::model::{RateQuote, Shipment};
use crate::ups::{RateOptions, UpsClient};

/// See the module doc.
pub struct UpsQuoter {
    route: Route,
}

enum Route {
    One(UpsClient),
    Accounts(std::sync::Arc<crate::app::accounts::Accounts>),
}

impl UpsQuoter {
    /// Every quote on this one client.
    pub fn new(client: UpsClient) -> Self {
        UpsQuoter {
            route: Route::One(client),
        }
    }

    /// Each quote on the client of its account.
    pub fn routed(accounts: std::sync::Arc<crate::app::accounts::Accounts>) -> Self {
        UpsQuoter {
            route: Route::Accounts(accounts),
        }
    }

    fn client_for(&self, account: &str) -> Result<&UpsClient, QuoteError> {
        let unknown = |have: String| QuoteError {
            code: "checkout_account_unknown".into(),
            message: format!("no UPS client for account {account}; {have}"),
        };
        match &self.route {
            Route::One(c) if account.eq_ignore_ascii_case(&c.config().account_number) => Ok(c),
            Route::One(c) => Err(unknown(format!(
                "this daemon rates with {}",
                c.config().account_number
            ))),
            Route::Accounts(a) => a
                .client_for(account)
                .ok_or_else(|| unknown("add it to ups.accounts".into())),
        }
    }
}

#[async_trait]
impl Quoter for UpsQuoter {
    async fn shop(&self, account: &str, shipment: &Shipment) -> Result<Vec<RateQuote>, QuoteError> {
        self.client_for(account)?
            .rate_on_own_quota(shipment, RateOptions::shop())
            .await
            .map_err(|e| QuoteError {
                code: e.code().to_string(),
                message: e.to_string(),
            })
    }
}
