//! Assembly of the checkout rating endpoint (`checkout` section → [`crate::checkout`]):
//! settings, the API token from the vault, the UPS quoter, the quota split with the
//! pipeline, metrics, and the listener of its own.
//!
//! The endpoint is built once when the daemon starts (`upsync run`); a SIGHUP reload
//! leaves it as it is (its cache and counters too): changes to `checkout` take effect at
//! the next start.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::checkout::http::ApiToken;
use crate::checkout::{Checkout, FallbackService, FallbackTable, Settings, Warehouse};
use crate::config::Config;
use crate::model::Address;
use crate::server::ServerState;
use crate::store::Store;

/// The checkout settings of a configuration; `None` when `checkout.bind` is not set.
pub fn checkout_settings(cfg: &Config) -> Option<Settings> {
    cfg.checkout.bind.as_ref()?;
    Some(settings_of(cfg))
}

/// The settings whether or not the endpoint is on (`upsync rates quote` uses them too).
fn settings_of(cfg: &Config) -> Settings {
    // Warehouses without an account quote on the designated (first) UPS account.
    let default_account = cfg
        .ups
        .resolved_accounts()
        .first()
        .map(|a| a.account_number.clone())
        .unwrap_or_default();
    settings_from(&cfg.checkout, &default_account)
}

/// The settings of a `checkout` section, with `default_account` (`ups.account_number`)
/// for a ship-from given as an address. Every field is named (no `..`): a new setting
/// that nothing reads does not compile.
pub fn settings_from(c: &crate::config::CheckoutConfig, default_account: &str) -> Settings {
    let crate::config::CheckoutConfig {
        bind,
        // Read by `checkout_token`.
        api_token: _,
        timeout_ms,
        cache_late_answers,
        cache_ttl_seconds,
        cache_capacity,
        rating_requests_per_second,
        ship_from,
        fallback,
    } = c;
    // Read by `checkout_settings` (on or off) and `serve_checkout`.
    let _ = bind;
    let default_account = default_account.to_string();
    let warehouses = ship_from
        .iter()
        .map(|w| Warehouse {
            key: w.key.clone(),
            account: w.account.clone().unwrap_or_else(|| default_account.clone()),
            address: Address {
                lines: w.lines.clone(),
                city: w.city.clone(),
                state: w.state.clone(),
                postal_code: w.postal_code.clone(),
                country: w.country.to_ascii_uppercase(),
                residential: None,
                po_box: false,
            },
        })
        .collect();
    Settings {
        timeout: Duration::from_millis((*timeout_ms).max(1)),
        cache_late_answers: *cache_late_answers,
        cache_ttl: Duration::from_secs(*cache_ttl_seconds),
        cache_capacity: (*cache_capacity).max(1) as usize,
        rating_per_second: NonZeroU32::new(*rating_requests_per_second),
        default_account,
        warehouses,
        fallback: FallbackTable {
            currency: fallback.currency.clone(),
            services: fallback
                .services
                .iter()
                .map(|s| FallbackService {
                    service_code: s.service_code.clone(),
                    service_name: s.service_name.clone(),
                    base: s.base,
                    per_lb: s.per_lb,
                    transit_days: s.transit_days,
                })
                .collect(),
        },
    }
}

/// The API token of the checkout endpoint: the `token` field of the vault entry
/// `checkout.api_token`.
pub fn checkout_token(cfg: &Config, store: &Store) -> anyhow::Result<ApiToken> {
    let name = &cfg.checkout.api_token;
    let fields = super::read_credentials(store, name)?;
    let token = fields
        .get("token")
        .and_then(|v| v.as_str())
        .with_context(|| {
            format!("credentials '{name}' (checkout.api_token) have no `token` field; set them with `upsync creds set {name}` as {{\"token\": \"…\"}}")
        })?;
    ApiToken::new(token).with_context(|| {
        format!(
            "credentials '{name}' (checkout.api_token): the token is empty; set a long random one"
        )
    })
}

/// The pipeline's share of the UPS Rating quota: `ups.quotas.rating_requests_per_second`
/// less checkout's share when the endpoint is on (at least 1; `check` refuses a checkout
/// share that leaves nothing). 0 (unlimited) stays 0.
pub fn pipeline_rating_quota(cfg: &Config) -> Option<NonZeroU32> {
    let total = cfg.ups.quotas.rating_requests_per_second;
    let checkout = if cfg.checkout.bind.is_some() {
        cfg.checkout.rating_requests_per_second
    } else {
        0
    };
    NonZeroU32::new(total)
        .map(|t| NonZeroU32::new(t.get().saturating_sub(checkout)).unwrap_or(NonZeroU32::MIN))
}

/// The checkout service on this UPS client, with its token; `None` when it is off.
pub fn build_checkout(
    cfg: &Config,
    store: &Store,
    accounts: &Arc<crate::app::accounts::Accounts>,
) -> anyhow::Result<Option<(Arc<Checkout>, ApiToken)>> {
    let Some(settings) = checkout_settings(cfg) else {
        return Ok(None);
    };
    let token = checkout_token(cfg, store)?;
    let quoter = Arc::new(crate::app::adapters::UpsQuoter::routed(accounts.clone()));
    Ok(Some((Arc::new(Checkout::new(settings, quoter)), token)))
}

/// Add checkout's counters and latency histogram to the daemon's `/metrics` (call before
/// the state is shared).
pub fn checkout_metrics(state: &mut ServerState, checkout: &Arc<Checkout>) {
    let Some(metrics) = Arc::get_mut(&mut state.metrics) else {
        tracing::warn!("checkout metrics not registered: the metrics are already shared");
        return;
    };
    let stats = checkout.stats().clone();
    metrics.add_sampler(Box::new(move |out| stats.samples(out)));
    metrics.register_histogram(
        "upsync_checkout_latency_seconds",
        "Checkout quote latency, request parsed to answer",
        checkout.stats().latency.clone(),
    );
}

/// Bind `checkout.bind` and serve `POST /v1/rates` there until `shutdown`, with the
/// listener limits of the `http` section.
pub async fn serve_checkout(
    cfg: &Config,
    checkout: Arc<Checkout>,
    token: ApiToken,
    nofile: u64,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let bind = cfg
        .checkout
        .bind
        .clone()
        .context("checkout.bind is not set")?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("cannot listen on {bind} (checkout.bind)"))?;
    let limits = crate::server::Limits::from_config(&cfg.http).fitted_to_fd_limit(nofile);
    let app = crate::checkout::http::router(checkout, token);
    tracing::info!(listen = %bind, "checkout rating endpoint is listening");
    Ok(tokio::spawn(crate::checkout::http::serve(
        listener, app, limits, shutdown,
    )))
}

/// `upsync rates quote`: one quote through the same path as `POST /v1/rates` (cache,
/// checkout's quota, deadline, fallback), with the configuration's UPS client. The body is
/// the endpoint's; a bad one comes back as `Ok(Err(…))` naming the field.
pub async fn quote_once(
    config: &std::path::Path,
    body: &serde_json::Value,
) -> anyhow::Result<Result<crate::checkout::Rates, crate::checkout::BadRequest>> {
    let cfg = crate::config::load(config).map_err(|r| anyhow::anyhow!("{r}"))?;
    let store = super::open_store(&cfg)?;
    let accounts = Arc::new(crate::app::accounts::Accounts::build(&cfg, &store)?);
    let quoter = Arc::new(crate::app::adapters::UpsQuoter::routed(accounts));
    let checkout = Checkout::new(settings_of(&cfg), quoter);
    let ask = match checkout.parse(body) {
        Ok(a) => a,
        Err(e) => return Ok(Err(e)),
    };
    Ok(Ok(checkout.quote(&ask).await))
}
