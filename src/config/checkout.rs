//! The `checkout` section: the checkout rating endpoint (`POST /v1/rates`, see
//! [`crate::checkout`]). Off unless `bind` is set. Defaults in [`super::defaults`].

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::defaults as d;

/// The checkout rating endpoint: its own listener, token, cache, timeout, fallback table
/// and share of the UPS Rating quota.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckoutConfig {
    /// `address:port` of the checkout listener (`POST /v1/rates`), separate from
    /// `http.listen`; absent = the endpoint is off.
    pub bind: Option<String>,
    /// Vault entry holding the API token shops send as `Authorization: Bearer …`
    /// (`upsync creds set checkout-api` with `{"token": "…"}`).
    pub api_token: String,
    /// Longest wait for UPS, milliseconds; slower or failed → the fallback table
    /// (`source: estimate`). While a call is overdue, new quotes for its lane get the
    /// estimate at once.
    pub timeout_ms: u64,
    /// Keep a UPS answer that arrived after `timeout_ms` in the cache for the next asker
    /// (`source: cache`). Off: during a UPS slowdown every quote of a slow lane is an
    /// estimate until UPS answers in time again.
    pub cache_late_answers: bool,
    /// How long a UPS answer is reused for the same lane and package profile, seconds.
    pub cache_ttl_seconds: u64,
    /// Lanes × profiles kept in memory at most; the least recently used goes first.
    pub cache_capacity: u32,
    /// Checkout's own share of `ups.quotas.rating_requests_per_second`; the pipeline keeps
    /// the rest. A quote that finds no permit at once gets the estimate (never waits).
    pub rating_requests_per_second: u32,
    /// Warehouses a request may name instead of an address (`"ship_from": "main"`).
    pub ship_from: Vec<CheckoutShipFrom>,
    /// The table used when UPS is slow, failing or out of checkout's quota.
    pub fallback: CheckoutFallback,
}

impl Default for CheckoutConfig {
    fn default() -> Self {
        CheckoutConfig {
            bind: None,
            api_token: d::CHECKOUT_API_TOKEN.into(),
            timeout_ms: d::CHECKOUT_TIMEOUT_MS,
            cache_late_answers: false,
            cache_ttl_seconds: d::CHECKOUT_CACHE_TTL_SECONDS,
            cache_capacity: d::CHECKOUT_CACHE_CAPACITY,
            rating_requests_per_second: d::CHECKOUT_RATING_REQUESTS_PER_SECOND,
            ship_from: Vec::new(),
            fallback: CheckoutFallback::default(),
        }
    }
}

/// A warehouse of the checkout endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutShipFrom {
    /// The name requests use (`"ship_from": "main"`).
    pub key: String,
    /// UPS account (shipper number) rated for this warehouse; default `ups.account_number`.
    #[serde(default)]
    pub account: Option<String>,
    /// Address lines (1 to 3).
    #[serde(default)]
    pub lines: Vec<String>,
    #[serde(default)]
    pub city: String,
    /// State/province code where the country has them.
    #[serde(default)]
    pub state: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
}

impl CheckoutShipFrom {
    /// The documented example (also what makes its keys known to `check`).
    pub fn example() -> CheckoutShipFrom {
        CheckoutShipFrom {
            key: "main".into(),
            account: Some("123X56".into()),
            lines: vec!["100 Main St".into()],
            city: "Atlanta".into(),
            state: "GA".into(),
            postal_code: "30301".into(),
            country: "US".into(),
        }
    }
}

/// The fallback (estimate) table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckoutFallback {
    /// ISO 4217 currency of the table's amounts.
    pub currency: String,
    /// One entry per service offered when UPS cannot answer in time.
    pub services: Vec<CheckoutFallbackService>,
}

impl Default for CheckoutFallback {
    fn default() -> Self {
        let s =
            |code: &str, name: &str, base: &str, per_lb: &str, days: u32| CheckoutFallbackService {
                service_code: code.into(),
                service_name: name.into(),
                base: base.parse().unwrap_or_default(),
                per_lb: per_lb.parse().unwrap_or_default(),
                transit_days: Some(days),
            };
        CheckoutFallback {
            currency: d::CHECKOUT_FALLBACK_CURRENCY.into(),
            services: vec![
                s("03", "UPS Ground", "12.00", "0.95", 5),
                s("12", "UPS 3 Day Select", "20.00", "1.60", 3),
                s("02", "UPS 2nd Day Air", "27.00", "2.20", 2),
                s("01", "UPS Next Day Air", "46.00", "3.70", 1),
            ],
        }
    }
}

/// One service of the fallback table: `base + per_lb × billable pounds` per package
/// (zone-independent; billable pounds rounded up, as UPS bills).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutFallbackService {
    /// UPS service code (`03` Ground, …).
    pub service_code: String,
    pub service_name: String,
    /// Per package, in the table's currency.
    #[serde(deserialize_with = "decimal_or_number")]
    pub base: Decimal,
    /// Per billable pound, in the table's currency.
    #[serde(deserialize_with = "decimal_or_number")]
    pub per_lb: Decimal,
    /// Business days quoted with the estimate.
    #[serde(default)]
    pub transit_days: Option<u32>,
}

/// A decimal written as a string (`"9.75"`, preferred: exact) or a YAML number.
fn decimal_or_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Decimal, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        I(i64),
        F(f64),
    }
    let text = match Raw::deserialize(de)? {
        Raw::S(s) => s,
        Raw::I(i) => i.to_string(),
        Raw::F(f) => f.to_string(),
    };
    text.trim().parse::<Decimal>().map_err(|e| {
        serde::de::Error::custom(format!(
            "'{text}' is not a decimal amount ({e}); write e.g. \"9.75\""
        ))
    })
}
