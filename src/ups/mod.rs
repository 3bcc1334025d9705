//! UPS client: token service, address validation, rating, ship, void, label recovery,
//! tracking and Track Alert. Knows nothing of ERPs, sled or config files: it takes plain
//! structs ([`UpsClientConfig`], [`UpsCredentials`]) and a [`TokenStore`] trait object.
//!
//! Spec: UPS-REFERENCE (the digest of UPS's official OpenAPI files; `docs/specs.md`).
//! Layout, one concern per file:
//!
//! * [`ops`]: one file per operation (ship, rate, xav, track, void, recover, subscribe),
//!   each pure request builder beside its response parser.
//! * [`build`]: the builders' public paths (the mapping engine prints Ship bodies with them).
//! * [`parse`]: [`parse::ParseError`], the error envelope, the token answer, and the parsers'
//!   public paths (one-or-many everywhere, decimals, base64 labels).
//! * [`wire`]: `OneOrMany`, string scalars, money, dates, 1Z check digits.
//! * [`auth`]: OAuth token service, [`TokenStore`], [`Clock`].
//! * [`authcode`]: the authorization-code grant: login URL, PKCE, code exchange, the
//!   [`authcode::GrantStore`] its tokens live in (refresh is the token service's).
//! * [`retry`]: per-API governor quotas on tokio time, backoff with full jitter.
//! * [`client`]: [`UpsClient`], the HTTP operations and the retry/refresh policy.
//! * `address_cache`: recent Address Validation answers by request body (repeat customers).
//! * [`error`]: [`UpsError`] with UPS's code, message, status and field; [`Api`].
//! * [`stats`]: counters for metrics.
//!
//! Never: retry a Ship inside the client (a Ship that may have reached UPS returns
//! [`UpsError::OutcomeUnknown`]); log a secret, token, full address or label bytes.

mod address_cache;
pub mod auth;
pub mod authcode;
pub mod build;
pub mod client;
pub mod error;
mod http;
pub mod image;
pub mod ops;
pub mod parse;
pub mod retry;
pub mod stats;
pub mod wire;

use std::time::Duration;

pub use auth::{Clock, MemoryTokenStore, StoredToken, TokenStore};
pub use build::{RateMode, RateOptions, ShipOptions};
pub use client::UpsClient;
pub use error::{Api, UpsError, UpsFault};
pub use parse::{
    RecoveredLabels, RecoveredPackage, ReferenceMatch, SubscribeResult, TrackOutcome, VoidResult,
};
pub use retry::{ApiQuotas, RetryPolicy};
pub use stats::{RequestCount, StatsSnapshot};

/// OAuth client credentials of one UPS app. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct UpsCredentials {
    pub client_id: String,
    pub client_secret: String,
}

impl UpsCredentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        UpsCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
        }
    }
}

impl std::fmt::Debug for UpsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpsCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// API versions in the URL paths (UPS-REFERENCE §2–§8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersions {
    /// `/api/shipments/{ship}/ship` (default `v2409`).
    pub ship: String,
    /// `/api/rating/{rate}/{Rate|Shop}` (default `v2409`).
    pub rate: String,
    /// `/api/addressvalidation/{xav}/3` (default `v2`).
    pub xav: String,
    /// `/api/track/{track}/details/…` (default `v1`).
    pub track: String,
    /// `/api/labels/{label_recovery}/recovery` (default `v1`).
    pub label_recovery: String,
    /// `/api/shipments/{void}/void/cancel/…` (default `v2409`).
    pub void: String,
}

impl Default for ApiVersions {
    fn default() -> Self {
        ApiVersions {
            ship: "v2409".into(),
            rate: "v2409".into(),
            xav: "v2".into(),
            track: "v1".into(),
            label_recovery: "v1".into(),
            void: "v2409".into(),
        }
    }
}

/// Label defaults applied when a shipment's [`crate::model::LabelSpec`] leaves them open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelDefaults {
    /// `LabelStockSize` `(height, width)` in inches; default `(6, 4)`.
    pub stock_size: (u8, u8),
    /// `HTTPUserAgent` for GIF/PNG labels; default `Mozilla/4.5`.
    pub http_user_agent: String,
}

impl Default for LabelDefaults {
    fn default() -> Self {
        LabelDefaults {
            stock_size: (6, 4),
            http_user_agent: build::DEFAULT_HTTP_USER_AGENT.into(),
        }
    }
}

/// Everything a [`UpsClient`] needs besides credentials and a token store.
#[derive(Debug, Clone)]
pub struct UpsClientConfig {
    /// Host root without `/api`: `https://onlinetools.ups.com`, `https://wwwcie.ups.com`,
    /// or a simulator's `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// UPS account number sent as `x-merchant-id` on token requests.
    pub account_number: String,
    pub versions: ApiVersions,
    /// `transactionSrc` header (≤512): the app's name.
    pub transaction_src: String,
    /// Requests per second per API (`None` = unlimited).
    pub quotas: ApiQuotas,
    /// Backoff for 429 (every call) and 5xx/connection errors (safe calls only).
    pub retry: RetryPolicy,
    /// Per-request timeout of every call but Ship (`None` = none).
    pub request_timeout: Option<Duration>,
    /// Whole-request timeout of Ship (`None` = `request_timeout`). A timeout after sending
    /// is "outcome unknown" and is reconciled by reference, so it is usually longer.
    pub ship_timeout: Option<Duration>,
    /// TCP + TLS connect timeout of the HTTP client (`None` = reqwest's, none).
    pub connect_timeout: Option<Duration>,
    /// Token requests allowed per credential per UTC day (default 250).
    pub token_budget_per_day: u32,
    /// Warn when today's token requests reach this share of the budget (default 0.8).
    pub token_budget_warn_ratio: f64,
    pub label: LabelDefaults,
    /// Ship `Request.RequestOption` (`nonvalidate` default, or `validate`).
    pub ship_request_option: String,
    /// Address Validation answers kept for repeat addresses (default 10,000; 0 = none kept,
    /// every address is sent to UPS).
    pub address_cache_entries: usize,
    /// How long a kept Address Validation answer is used (default 24 hours).
    pub address_cache_max_age: Duration,
}

impl UpsClientConfig {
    /// Defaults for everything but the host and the account.
    pub fn new(base_url: impl Into<String>, account_number: impl Into<String>) -> Self {
        UpsClientConfig {
            base_url: base_url.into(),
            account_number: account_number.into(),
            versions: ApiVersions::default(),
            transaction_src: "upsync".into(),
            quotas: ApiQuotas::default(),
            retry: RetryPolicy::default(),
            request_timeout: Some(Duration::from_secs(30)),
            ship_timeout: Some(Duration::from_secs(60)),
            connect_timeout: Some(Duration::from_secs(10)),
            token_budget_per_day: 250,
            token_budget_warn_ratio: 0.8,
            label: LabelDefaults::default(),
            ship_request_option: "nonvalidate".into(),
            address_cache_entries: 10_000,
            address_cache_max_age: Duration::from_secs(24 * 3600),
        }
    }

    /// The whole-request timeout of a call to `api`: Ship has its own
    /// (`ups.timeouts.ship_timeout_seconds`), every other call `request_timeout`.
    pub fn timeout_for(&self, api: Api) -> Option<Duration> {
        match api {
            Api::Ship => self.ship_timeout.or(self.request_timeout),
            _ => self.request_timeout,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards `ups.timeouts.ship_timeout_seconds`: Ship used `request_timeout` like every
    /// other call before it had its own.
    #[test]
    fn ship_has_its_own_timeout() {
        let mut c = UpsClientConfig::new("http://x", "123X56");
        c.request_timeout = Some(Duration::from_secs(30));
        c.ship_timeout = Some(Duration::from_secs(75));
        assert_eq!(c.timeout_for(Api::Ship), Some(Duration::from_secs(75)));
        assert_eq!(c.timeout_for(Api::Rating), Some(Duration::from_secs(30)));
        c.ship_timeout = None;
        assert_eq!(c.timeout_for(Api::Ship), Some(Duration::from_secs(30)));
    }

    #[test]
    fn credentials_debug_redacts_secret() {
        let c = UpsCredentials::new("demo-client", "demo-secret");
        let s = format!("{c:?}");
        assert!(s.contains("demo-client"));
        assert!(!s.contains("demo-secret"));
    }
}
