//! The configuration structs: what `config/upsync.yaml` may contain, field by field.
//!
//! Rules: snake_case keys, units in the names, `deny_unknown_fields` everywhere (a typo is
//! an error), defaults only from [`super::defaults`]. Every field's doc is what an admin
//! reads in `config/upsync.yaml`; keep both in step. Paths are relative to the directory
//! of the configuration file and are resolved by [`super::load`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::defaults as d;

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Directory of the sled store (jobs, cursors, vault). `UPSYNC_STATE_DIR` overrides;
    /// when neither is set the store's default applies (see `store::state_dir`).
    #[serde(default)]
    pub state_dir: Option<PathBuf>,
    /// The UPS account and API client settings.
    pub ups: UpsConfig,
    /// ERP connectors; each reads shipments on its own schedule.
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    /// Tracking after the label: polling or Track Alert.
    #[serde(default)]
    pub tracking: TrackingConfig,
    /// The HTTP listener (webhook, metrics, health).
    #[serde(default)]
    pub http: HttpConfig,
    /// The job pipeline: concurrency, retries, dead letters, retention.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// Outbound status events: webhooks that receive every parcel status change.
    #[serde(default)]
    pub events: EventsConfig,
    /// The admin web console (`/console/` on its own address, behind the admin token).
    #[serde(default)]
    pub console: ConsoleConfig,
    /// Reminders about credentials that expire (`creds set NAME --expires-at DATE`).
    #[serde(default)]
    pub credentials: CredentialsConfig,
    /// The checkout rating endpoint (`POST /v1/rates`); off unless `checkout.bind` is set.
    #[serde(default)]
    pub checkout: super::checkout::CheckoutConfig,
    /// Dispatch calendars (cutoff, working days, holidays) and pickups per ship-from site
    /// (`config/dispatch.rs`, docs/pickups.md).
    #[serde(default)]
    pub dispatch: super::dispatch::DispatchConfig,
    /// The store backend: `sled` under `state_dir` (default) or a PostgreSQL database
    /// (`config/store.rs`, docs/postgres.md).
    #[serde(default)]
    pub store: super::store::StoreConfig,
}

// ------------------------------------------------------------------------------------ ups

/// UPS environment: which host the client talks to (unless `base_url` is set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsEnvironment {
    /// Customer Integration Environment, `https://wwwcie.ups.com`.
    #[default]
    Sandbox,
    /// `https://onlinetools.ups.com`.
    Production,
}

/// How a UPS account's client gets its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpsAuth {
    /// OAuth client credentials: the vault entry holds `client_id` and `client_secret`.
    #[default]
    ClientCredentials,
    /// OAuth authorization code (a platform shipping on the shipper's behalf): the vault
    /// entry holds `client_id`, `client_secret` and the tokens `upsync creds authorize ups
    /// NAME` obtained with the shipper's UPS login; upsync refreshes them.
    AuthorizationCode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsConfig {
    /// `sandbox` or `production`.
    #[serde(default)]
    pub environment: UpsEnvironment,
    /// Explicit base URL (e.g. the UPS simulator `http://127.0.0.1:9001`); overrides `environment`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Single-account form: the UPS shipper account number (6 characters), sent as
    /// `x-merchant-id` and `ShipperNumber`. Leave it out when `accounts` lists the accounts
    /// (both at once is an error; `check` says how to migrate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    /// Single-account form: vault entry with the OAuth client (`upsync creds set ups` with
    /// `client_id`, `client_secret`). With `accounts`, each account names its own.
    #[serde(default = "ups_credentials")]
    pub credentials: String,
    /// `client_credentials` (default) or `authorization_code`: how the clients get tokens
    /// (each account may set its own).
    #[serde(default)]
    pub auth: UpsAuth,
    /// Authorization code: renew the refresh token this many hours before it ends (when
    /// UPS extends it on refresh).
    #[serde(default = "default_refresh_renew_hours")]
    pub refresh_token_renew_before_hours: u32,
    /// Several UPS accounts (business units, warehouses with their own UPS profile), each
    /// with its shipper number and OAuth client; see [`UpsAccountConfig`]. The settings of
    /// this `ups:` section (environment, base_url, quotas, budget, versions, retry,
    /// timeouts) are the defaults of every account. The first account is the one tracking,
    /// Track Alert, Quantum View and address validation use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<UpsAccountConfig>,
    /// Label stock sent with labels whose mapping names no stock.
    #[serde(default)]
    pub label: UpsLabelConfig,
    /// API version path segment per UPS API.
    #[serde(default)]
    pub api_versions: UpsApiVersions,
    /// Request quotas per UPS API, requests per second (shared by all connectors).
    #[serde(default)]
    pub quotas: UpsQuotas,
    /// OAuth token requests allowed per UTC day (warning at 80 %, refusal beyond).
    #[serde(default = "ups_token_budget")]
    pub token_budget_per_day: u32,
    /// Retries of calls that are safe to repeat (never Ship).
    #[serde(default)]
    pub retry: UpsRetryPolicy,
    /// Timeouts of UPS calls.
    #[serde(default)]
    pub timeouts: UpsTimeouts,
    /// Recent Address Validation answers kept for repeat addresses (every account's client).
    #[serde(default)]
    pub address_cache: UpsAddressCacheConfig,
}

/// One entry of `ups.accounts`. Unset optional keys take the `ups:` section's value.
///
/// Accounts whose `credentials` hold the same OAuth client (`client_id`) on the same base
/// URL share one UPS client: one token, one daily token budget, one set of quotas (UPS
/// counts tokens and requests per client). The first such account's settings apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpsAccountConfig {
    /// Unique name (logs, metrics' `client` label, the demo report's `ups_account`).
    pub name: String,
    /// The UPS shipper number (6 letters/digits); a mapping's `ship_from` entry names it
    /// in its `account`, and shipments of that number go through this account's client.
    pub account_number: String,
    /// Vault entry with this account's OAuth client (`client_id`, `client_secret`).
    pub credentials: String,
    /// `client_credentials` or `authorization_code`; unset = `ups.auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<UpsAuth>,
    /// `sandbox` or `production`; unset = `ups.environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<UpsEnvironment>,
    /// Explicit base URL (overrides `environment`); unset = `ups.base_url` when this
    /// account sets no `environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// OAuth token requests per UTC day for this account's client; unset = `ups.token_budget_per_day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_budget_per_day: Option<u32>,
    /// Requests per second per API for this account's client; unset = `ups.quotas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotas: Option<UpsQuotas>,
    /// API versions for this account's client; unset = `ups.api_versions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_versions: Option<UpsApiVersions>,
    /// Timeouts for this account's client; unset = `ups.timeouts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<UpsTimeouts>,
    /// Retries for this account's client; unset = `ups.retry`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<UpsRetryPolicy>,
}

impl UpsAccountConfig {
    /// An entry with every optional key set (the config shape lists its keys).
    pub fn example() -> UpsAccountConfig {
        UpsAccountConfig {
            name: "main".into(),
            account_number: "123X56".into(),
            credentials: "ups".into(),
            auth: Some(UpsAuth::ClientCredentials),
            environment: Some(UpsEnvironment::Sandbox),
            base_url: Some(d::UPS_SANDBOX_URL.into()),
            token_budget_per_day: Some(d::UPS_TOKEN_BUDGET_PER_DAY),
            quotas: Some(UpsQuotas {
                all_apis_requests_per_second: Some(1),
                ..UpsQuotas::default()
            }),
            api_versions: Some(UpsApiVersions::default()),
            timeouts: Some(UpsTimeouts::default()),
            retry: Some(UpsRetryPolicy::default()),
        }
    }
}

fn ups_credentials() -> String {
    d::UPS_CREDENTIALS.to_string()
}
fn default_refresh_renew_hours() -> u32 {
    d::UPS_REFRESH_TOKEN_RENEW_BEFORE_HOURS
}
fn ups_token_budget() -> u32 {
    d::UPS_TOKEN_BUDGET_PER_DAY
}

impl ConnectorConfig {
    /// The entry as its connector type's `config.rs` sees it.
    pub fn spec(&self) -> crate::sources::ConnectorSpec<'_> {
        crate::sources::ConnectorSpec {
            name: &self.name,
            profile: &self.profile,
            options: &self.options,
            concurrency: self.concurrency,
            credentials: &self.credentials,
        }
    }
}

impl UpsConfig {
    /// The base URL the client uses: `base_url` when set, else the environment's host.
    pub fn effective_base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => match self.environment {
                UpsEnvironment::Sandbox => d::UPS_SANDBOX_URL.to_string(),
                UpsEnvironment::Production => d::UPS_PRODUCTION_URL.to_string(),
            },
        }
    }
}

/// Label image format as written in the config (`gif png zpl epl spl`, any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelFormatName {
    #[serde(alias = "GIF")]
    Gif,
    #[default]
    #[serde(alias = "PNG")]
    Png,
    #[serde(alias = "ZPL")]
    Zpl,
    #[serde(alias = "EPL")]
    Epl,
    #[serde(alias = "SPL")]
    Spl,
}

impl LabelFormatName {
    pub fn to_model(self) -> crate::model::LabelFormat {
        use crate::model::LabelFormat as F;
        match self {
            LabelFormatName::Gif => F::Gif,
            LabelFormatName::Png => F::Png,
            LabelFormatName::Zpl => F::Zpl,
            LabelFormatName::Epl => F::Epl,
            LabelFormatName::Spl => F::Spl,
        }
    }
}

/// The label stock of the `ups.label` section.
///
/// There is no default label *format*: every mapping must name its `label.format` (a
/// required mapping section), so a format here could never apply. `format` is still
/// accepted so that older files load, and `check` warns that it has no effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsLabelConfig {
    /// Deprecated, no effect (the mapping's `label.format` decides); `check` warns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<LabelFormatName>,
    /// `LabelStockSize.Height` in inches (6 or 8) sent when the mapping names no stock.
    pub stock_height_inches: u32,
    /// `LabelStockSize.Width` in inches (4) sent when the mapping names no stock.
    pub stock_width_inches: u32,
}

impl Default for UpsLabelConfig {
    fn default() -> Self {
        UpsLabelConfig {
            format: None,
            stock_height_inches: d::UPS_LABEL_STOCK_HEIGHT_INCHES,
            stock_width_inches: d::UPS_LABEL_STOCK_WIDTH_INCHES,
        }
    }
}

/// `ups.address_cache`: Address Validation answers kept by request, so a repeat customer's
/// address is not sent to UPS for every shipment (`ups/address_cache.rs`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsAddressCacheConfig {
    /// Addresses kept (the oldest answer makes room); 0 = none, every address is sent to UPS.
    pub entries: usize,
    /// How long UPS's answer for an address is used before it is asked again, in hours;
    /// 0 = none kept.
    pub max_age_hours: u32,
}

impl Default for UpsAddressCacheConfig {
    fn default() -> Self {
        UpsAddressCacheConfig {
            entries: d::UPS_ADDRESS_CACHE_ENTRIES,
            max_age_hours: d::UPS_ADDRESS_CACHE_MAX_AGE_HOURS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsApiVersions {
    /// `POST /api/shipments/{ship}/ship`.
    pub ship: String,
    /// `POST /api/rating/{rating}/{Rate|Shop}`.
    pub rating: String,
    /// `DELETE /api/shipments/{void}/void/cancel/…`.
    pub void: String,
    /// `POST /api/addressvalidation/{address_validation}/3`.
    pub address_validation: String,
    /// `POST /api/labels/{label_recovery}/recovery`.
    pub label_recovery: String,
    /// `GET /api/track/{track}/details/…`.
    pub track: String,
}

impl Default for UpsApiVersions {
    fn default() -> Self {
        UpsApiVersions {
            ship: d::UPS_VERSION_SHIP.into(),
            rating: d::UPS_VERSION_RATING.into(),
            void: d::UPS_VERSION_VOID.into(),
            address_validation: d::UPS_VERSION_ADDRESS_VALIDATION.into(),
            label_recovery: d::UPS_VERSION_LABEL_RECOVERY.into(),
            track: d::UPS_VERSION_TRACK.into(),
        }
    }
}

/// Requests per second per UPS API (a governor quota each; must be at least 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsQuotas {
    pub oauth_requests_per_second: u32,
    pub address_validation_requests_per_second: u32,
    pub rating_requests_per_second: u32,
    pub shipping_requests_per_second: u32,
    pub void_requests_per_second: u32,
    pub label_recovery_requests_per_second: u32,
    pub tracking_requests_per_second: u32,
    pub track_alert_requests_per_second: u32,
    /// All APIs but OAuth together, for the credential (UPS limits a client across its
    /// APIs). Unset = no shared limit beyond the per-API ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_apis_requests_per_second: Option<u32>,
}

impl Default for UpsQuotas {
    fn default() -> Self {
        UpsQuotas {
            oauth_requests_per_second: d::UPS_QUOTA_OAUTH_PER_SECOND,
            address_validation_requests_per_second: d::UPS_QUOTA_ADDRESS_VALIDATION_PER_SECOND,
            rating_requests_per_second: d::UPS_QUOTA_RATING_PER_SECOND,
            shipping_requests_per_second: d::UPS_QUOTA_SHIPPING_PER_SECOND,
            void_requests_per_second: d::UPS_QUOTA_VOID_PER_SECOND,
            label_recovery_requests_per_second: d::UPS_QUOTA_LABEL_RECOVERY_PER_SECOND,
            tracking_requests_per_second: d::UPS_QUOTA_TRACKING_PER_SECOND,
            track_alert_requests_per_second: d::UPS_QUOTA_TRACK_ALERT_PER_SECOND,
            all_apis_requests_per_second: None,
        }
    }
}

impl UpsQuotas {
    /// `(key, value)` pairs, for validation and metrics.
    pub fn entries(&self) -> [(&'static str, u32); 8] {
        [
            ("oauth_requests_per_second", self.oauth_requests_per_second),
            (
                "address_validation_requests_per_second",
                self.address_validation_requests_per_second,
            ),
            (
                "rating_requests_per_second",
                self.rating_requests_per_second,
            ),
            (
                "shipping_requests_per_second",
                self.shipping_requests_per_second,
            ),
            ("void_requests_per_second", self.void_requests_per_second),
            (
                "label_recovery_requests_per_second",
                self.label_recovery_requests_per_second,
            ),
            (
                "tracking_requests_per_second",
                self.tracking_requests_per_second,
            ),
            (
                "track_alert_requests_per_second",
                self.track_alert_requests_per_second,
            ),
        ]
    }
}

/// Exponential backoff with full jitter for safe UPS calls (429, 5xx, connection errors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsRetryPolicy {
    /// Attempts per call including the first (1 = no retry).
    pub max_attempts: u32,
    /// Backoff cap before the first retry, milliseconds (doubles per attempt, full jitter).
    pub initial_backoff_ms: u64,
    /// Upper bound of any single backoff, milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for UpsRetryPolicy {
    fn default() -> Self {
        UpsRetryPolicy {
            max_attempts: d::UPS_RETRY_MAX_ATTEMPTS,
            initial_backoff_ms: d::UPS_RETRY_INITIAL_BACKOFF_MS,
            max_backoff_ms: d::UPS_RETRY_MAX_BACKOFF_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpsTimeouts {
    /// TCP + TLS connect timeout, seconds.
    pub connect_timeout_seconds: u64,
    /// Whole-request timeout for every call except Ship, seconds.
    pub request_timeout_seconds: u64,
    /// Whole-request timeout for Ship, seconds (a timeout after send = outcome unknown).
    pub ship_timeout_seconds: u64,
}

impl Default for UpsTimeouts {
    fn default() -> Self {
        UpsTimeouts {
            connect_timeout_seconds: d::UPS_CONNECT_TIMEOUT_SECONDS,
            request_timeout_seconds: d::UPS_REQUEST_TIMEOUT_SECONDS,
            ship_timeout_seconds: d::UPS_SHIP_TIMEOUT_SECONDS,
        }
    }
}

// ------------------------------------------------------------------------------ connectors

/// Which ERP a connector talks to; the registry lives with the sources, each ERP's folder
/// owning its options, `problems()` and `build()`.
pub use crate::sources::ConnectorKind;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Unique name; part of every job id (`name/record id/version`). Do not rename once jobs exist.
    pub name: String,
    /// `acumatica` or `netsuite`.
    #[serde(rename = "type")]
    pub kind: ConnectorKind,
    /// Connector profile (YAML): endpoint version, entity, filters or SuiteQL.
    pub profile: PathBuf,
    /// Field mapping (YAML): ERP record → UPS shipment, and the write-back.
    pub mapping: PathBuf,
    /// Cron schedule: 5 fields (`*/5 * * * *`, minute first) or 6 fields (seconds first).
    /// After [`super::load`] this holds the 6-field form.
    pub schedule: String,
    /// Vault entry with the ERP credentials (`upsync creds set NAME`).
    pub credentials: String,
    /// ERP requests in flight at once for this connector (NetSuite accounts and Acumatica
    /// licences limit them). Overrides the profile's `concurrency` (Acumatica) or
    /// `concurrency_limit` (NetSuite); unset = the profile's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// Connector-specific settings, decoded by the connector type into its typed options
    /// (`sources/acumatica/config.rs`: `instance_url`/`base_url`, `tenant`;
    /// `sources/netsuite/config.rs`: `account_id`, `base_url`). Unknown keys are errors.
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
    /// Where labels go besides the ERP: a directory, a network printer, or nowhere.
    #[serde(default)]
    pub label_sink: LabelSinkConfig,
    /// ERP push notifications wake this connector's cycle (`push/config.rs`); unset =
    /// polling only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<crate::push::PushConfig>,
}

/// The `events:` section; the events folder owns it (`events/config.rs`: `problems()`).
pub use crate::events::{EventsConfig, WebhookConfig};

/// A connector's `label_sink:`; the sinks own it (`sinks/mod.rs`: `build()`, `problems()`).
pub use crate::sinks::LabelSinkConfig;

// -------------------------------------------------------------------------------- tracking

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackingMode {
    /// Track API on a schedule, interval per milestone.
    #[default]
    Poll,
    /// UPS pushes events to the webhook; polling only as a fallback for quiet packages.
    TrackAlert,
    /// Quantum View subscription files read on an interval; polling only as a fallback.
    QuantumView,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackAlertVersion {
    /// Subscriptions carry `destination` (URL + `credential` header checked by upsync).
    #[default]
    V1,
    /// URL and credentials managed in the UPS developer portal; UPS fetches a token from upsync.
    V2,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// `poll`, `track_alert` or `quantum_view`.
    pub mode: TrackingMode,
    /// Poll intervals per milestone (also the fallback in `track_alert` mode).
    pub poll: PollIntervals,
    /// Track Alert subscriptions and the webhook.
    pub track_alert: TrackAlertConfig,
    /// Quantum View subscription files (`quantum_view` mode).
    pub quantum_view: QuantumViewConfig,
    /// No new scan for this many days: the parcel is `expired` on the ERP record.
    pub stale_after_days: u64,
    /// No new scan for this many days: tracking stops (the parcel stays `expired`).
    pub give_up_after_days: u64,
    /// UPS still has no data for the number this many hours after the label: `not_found`.
    pub not_found_after_hours: u64,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            mode: TrackingMode::default(),
            poll: PollIntervals::default(),
            track_alert: TrackAlertConfig::default(),
            quantum_view: QuantumViewConfig::default(),
            stale_after_days: d::TRACKING_STALE_AFTER_DAYS,
            give_up_after_days: d::TRACKING_GIVE_UP_AFTER_DAYS,
            not_found_after_hours: d::TRACKING_NOT_FOUND_AFTER_HOURS,
        }
    }
}

/// Quantum View (`tracking.mode: quantum_view`): the account's subscription files, read
/// every `interval_seconds` (UPS-REFERENCE §9).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuantumViewConfig {
    /// Seconds between two reads of the subscription files.
    pub interval_seconds: u64,
    /// Subscriptions to read (names set up at ups.com, ≤21 characters); empty = all of them.
    pub subscription_names: Vec<String>,
    /// Events for parcels upsync did not ship (e.g. labels printed in WorldShip): register
    /// them on the ERP record whose number equals one of their reference numbers, when the
    /// ledger knows that record; otherwise they are counted and ignored.
    pub match_by_reference: bool,
    /// API version in the path (`v3`).
    pub version: String,
}

impl Default for QuantumViewConfig {
    fn default() -> Self {
        QuantumViewConfig {
            interval_seconds: d::QUANTUM_VIEW_INTERVAL_SECONDS,
            subscription_names: Vec::new(),
            match_by_reference: false,
            version: d::QUANTUM_VIEW_VERSION.into(),
        }
    }
}

/// Minutes between Track calls for a package, by its current milestone.
/// Delivered, returned and voided packages are not polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PollIntervals {
    pub label_created_minutes: u64,
    pub picked_up_minutes: u64,
    pub in_transit_minutes: u64,
    pub out_for_delivery_minutes: u64,
    pub exception_minutes: u64,
}

impl Default for PollIntervals {
    fn default() -> Self {
        PollIntervals {
            label_created_minutes: d::POLL_LABEL_CREATED_MINUTES,
            picked_up_minutes: d::POLL_PICKED_UP_MINUTES,
            in_transit_minutes: d::POLL_IN_TRANSIT_MINUTES,
            out_for_delivery_minutes: d::POLL_OUT_FOR_DELIVERY_MINUTES,
            exception_minutes: d::POLL_EXCEPTION_MINUTES,
        }
    }
}

impl PollIntervals {
    pub fn entries(&self) -> [(&'static str, u64); 5] {
        [
            ("label_created_minutes", self.label_created_minutes),
            ("picked_up_minutes", self.picked_up_minutes),
            ("in_transit_minutes", self.in_transit_minutes),
            ("out_for_delivery_minutes", self.out_for_delivery_minutes),
            ("exception_minutes", self.exception_minutes),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackAlertConfig {
    /// `v1` or `v2`.
    pub version: TrackAlertVersion,
    /// The public https URL UPS posts events to (ends in `/webhooks/ups/track-alert`);
    /// required in `track_alert` mode with `v1`.
    pub webhook_public_url: Option<String>,
    /// Vault entry with the webhook secret (v1: `credential`; v2: `client_id`, `client_secret`).
    pub credentials: String,
    /// Hours without any event before a subscribed package is polled instead.
    pub quiet_period_hours: u64,
    /// Renew a subscription this many days after it was made (UPS expires them after 14).
    pub renew_after_days: u64,
}

impl Default for TrackAlertConfig {
    fn default() -> Self {
        TrackAlertConfig {
            version: TrackAlertVersion::default(),
            webhook_public_url: None,
            credentials: d::TRACK_ALERT_CREDENTIALS.into(),
            quiet_period_hours: d::TRACK_ALERT_QUIET_PERIOD_HOURS,
            renew_after_days: d::TRACK_ALERT_RENEW_AFTER_DAYS,
        }
    }
}

// ------------------------------------------------------------------------------------ http

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// `address:port` to listen on (webhook, `/metrics`, `/healthz`, `/readyz`).
    pub listen: String,
    /// Largest accepted request body, bytes (webhook).
    pub body_limit_bytes: u64,
    /// A client must send a request's complete headers within this time after connecting,
    /// or after its previous response on a kept-alive connection; otherwise the connection
    /// is closed. It is also the idle (keep-alive) timeout: an idle connection is closed
    /// when it elapses. Slow-header (slowloris) and idle clients cannot hold sockets.
    pub header_read_timeout_seconds: u64,
    /// Time a request may take from its headers to the end of its answer (body read and
    /// handler); past it the client gets 408 and the connection is closed.
    pub request_timeout_seconds: u64,
    /// Open client connections at most; past it new connections are closed at once (and
    /// counted in `upsync_http_connections_refused`). Also bounded by the process's file
    /// limit less a reserve for upsync's own ERP/UPS/store connections.
    pub max_connections: u32,
    /// Requests handled at once at most; past it the answer is 503 with `Retry-After`.
    pub max_requests_in_flight: u32,
    /// Allow the admin/rates routes and detailed `/readyz` on a non-loopback address
    /// without a warning (set it only behind an authenticating proxy).
    pub allow_public_listen: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: d::HTTP_LISTEN.into(),
            body_limit_bytes: d::HTTP_BODY_LIMIT_BYTES,
            header_read_timeout_seconds: d::HTTP_HEADER_READ_TIMEOUT_SECONDS,
            request_timeout_seconds: d::HTTP_REQUEST_TIMEOUT_SECONDS,
            max_connections: d::HTTP_MAX_CONNECTIONS,
            max_requests_in_flight: d::HTTP_MAX_REQUESTS_IN_FLIGHT,
            allow_public_listen: false,
        }
    }
}

// -------------------------------------------------------------------------------- pipeline

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Jobs processed at once per connector.
    pub jobs_in_flight: u32,
    /// Background retries of jobs that failed transiently.
    pub retry: JobRetryPolicy,
    /// Write the reason of a dead-lettered job to the ERP record (field named by the mapping).
    pub dead_letter_write_back: bool,
    /// Days finished jobs, events and audit entries are kept.
    pub retention_days: u64,
    /// When an in-doubt Ship counts as never having reached UPS.
    pub reconcile: ReconcilePolicy,
}

/// In-doubt Ship reconciliation (see `pipeline::engine::ReconcileSettings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcilePolicy {
    /// Seconds over which lookups by reference must keep finding nothing before the Ship
    /// counts as lost and is sent again (UPS indexes a new label's reference late).
    pub absent_after_seconds: u64,
    /// Lookups that must find nothing (spread over `absent_after_seconds`).
    pub min_lookups: u32,
    /// Hours a re-shipped job's reference is watched; a late-found first shipment is voided.
    pub watch_hours: u64,
}

impl Default for ReconcilePolicy {
    fn default() -> Self {
        ReconcilePolicy {
            absent_after_seconds: d::PIPELINE_RECONCILE_ABSENT_AFTER_SECONDS,
            min_lookups: d::PIPELINE_RECONCILE_MIN_LOOKUPS,
            watch_hours: d::PIPELINE_RECONCILE_WATCH_HOURS,
        }
    }
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            jobs_in_flight: d::PIPELINE_JOBS_IN_FLIGHT,
            retry: JobRetryPolicy::default(),
            dead_letter_write_back: d::PIPELINE_DEAD_LETTER_WRITE_BACK,
            retention_days: d::PIPELINE_RETENTION_DAYS,
            reconcile: ReconcilePolicy::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobRetryPolicy {
    /// Attempts of a job step before it is dead-lettered as transient-exhausted.
    pub max_attempts: u32,
    /// First backoff, seconds (doubles per attempt, with jitter).
    pub initial_backoff_seconds: u64,
    /// Upper bound of any backoff, seconds.
    pub max_backoff_seconds: u64,
}

impl Default for JobRetryPolicy {
    fn default() -> Self {
        JobRetryPolicy {
            max_attempts: d::PIPELINE_RETRY_MAX_ATTEMPTS,
            initial_backoff_seconds: d::PIPELINE_RETRY_INITIAL_BACKOFF_SECONDS,
            max_backoff_seconds: d::PIPELINE_RETRY_MAX_BACKOFF_SECONDS,
        }
    }
}

// -------------------------------------------------------------------------------- console

/// The admin web console (`crate::console`): off unless `enabled`; its own bind address,
/// loopback by default, so the ops listener (`http.listen`) can face a load balancer while
/// the console does not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Serve the console.
    pub enabled: bool,
    /// `address:port` of the console (a non-loopback address draws a `check` warning).
    pub listen: String,
    /// Vault entry holding the admin token (`{"token": "…"}`, at least 16 characters):
    /// the one password of the login page.
    pub admin_token: String,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u64,
    /// Mark the session cookie `Secure` (set it when a TLS proxy fronts the console).
    pub secure_cookie: bool,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: false,
            listen: d::CONSOLE_LISTEN.into(),
            admin_token: d::CONSOLE_ADMIN_TOKEN.into(),
            session_idle_minutes: d::CONSOLE_SESSION_IDLE_MINUTES,
            secure_cookie: false,
        }
    }
}

// ---------------------------------------------------------------------------- credentials

/// Expiry reminders for the vault entries the configuration uses (`app::credentials`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CredentialsConfig {
    /// Warn (log, metric, console) this many days before a credential expires; once
    /// expired, the connectors that use it pause.
    pub expiry_warning_days: u32,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        CredentialsConfig {
            expiry_warning_days: d::CREDENTIAL_EXPIRY_WARNING_DAYS,
        }
    }
}
