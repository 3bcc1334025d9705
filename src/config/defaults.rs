//! Every configuration default, in one place. The structs in [`super::model`] refer to these
//! constants and nothing else, so "what happens if I leave this out" has exactly one answer.
//! `config/upsync.yaml` documents the same values; keep them in step.

/// Default configuration file (relative to the working directory).
pub const CONFIG_FILE: &str = "config/upsync.yaml";
/// Prefix of environment overrides: `UPSYNC__SECTION__KEY`.
pub const ENV_PREFIX: &str = "UPSYNC";
/// Separator between prefix, section and key in environment overrides.
pub const ENV_SEPARATOR: &str = "__";

// ---- ups ----
/// Vault entry holding the UPS OAuth client (`client_id`, `client_secret`).
pub const UPS_CREDENTIALS: &str = "ups";
pub const UPS_SANDBOX_URL: &str = "https://wwwcie.ups.com";
pub const UPS_PRODUCTION_URL: &str = "https://onlinetools.ups.com";
/// UPS caps token requests per client per day; the client warns at 80 % and refuses beyond.
pub const UPS_TOKEN_BUDGET_PER_DAY: u32 = 250;
/// `ups.address_cache.entries`.
pub const UPS_ADDRESS_CACHE_ENTRIES: usize = 10_000;
/// `ups.address_cache.max_age_hours`.
pub const UPS_ADDRESS_CACHE_MAX_AGE_HOURS: u32 = 24;
/// `ups.refresh_token_renew_before_hours`: renew an authorization-code refresh token a
/// day before it ends.
pub const UPS_REFRESH_TOKEN_RENEW_BEFORE_HOURS: u32 = 24;
pub const UPS_LABEL_STOCK_HEIGHT_INCHES: u32 = 6;
pub const UPS_LABEL_STOCK_WIDTH_INCHES: u32 = 4;
// API versions (path segment), current per UPS-REFERENCE (docs/specs.md).
pub const UPS_VERSION_SHIP: &str = "v2409";
pub const UPS_VERSION_RATING: &str = "v2409";
pub const UPS_VERSION_VOID: &str = "v2409";
pub const UPS_VERSION_ADDRESS_VALIDATION: &str = "v2";
pub const UPS_VERSION_LABEL_RECOVERY: &str = "v1";
pub const UPS_VERSION_TRACK: &str = "v1";
// Request quotas per API, requests per second (UPS publishes none; these are polite).
pub const UPS_QUOTA_OAUTH_PER_SECOND: u32 = 1;
pub const UPS_QUOTA_ADDRESS_VALIDATION_PER_SECOND: u32 = 10;
pub const UPS_QUOTA_RATING_PER_SECOND: u32 = 10;
pub const UPS_QUOTA_SHIPPING_PER_SECOND: u32 = 5;
pub const UPS_QUOTA_VOID_PER_SECOND: u32 = 5;
pub const UPS_QUOTA_LABEL_RECOVERY_PER_SECOND: u32 = 5;
pub const UPS_QUOTA_TRACKING_PER_SECOND: u32 = 10;
pub const UPS_QUOTA_TRACK_ALERT_PER_SECOND: u32 = 5;
// Retries of calls that are safe to repeat (Ship is never retried by the client).
pub const UPS_RETRY_MAX_ATTEMPTS: u32 = 5;
pub const UPS_RETRY_INITIAL_BACKOFF_MS: u64 = 500;
pub const UPS_RETRY_MAX_BACKOFF_MS: u64 = 30_000;
pub const UPS_CONNECT_TIMEOUT_SECONDS: u64 = 10;
pub const UPS_REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const UPS_SHIP_TIMEOUT_SECONDS: u64 = 60;

// ---- tracking ----
pub const POLL_LABEL_CREATED_MINUTES: u64 = 360;
pub const POLL_PICKED_UP_MINUTES: u64 = 180;
pub const POLL_IN_TRANSIT_MINUTES: u64 = 120;
pub const POLL_OUT_FOR_DELIVERY_MINUTES: u64 = 30;
pub const POLL_EXCEPTION_MINUTES: u64 = 120;
pub const TRACK_ALERT_CREDENTIALS: &str = "ups-webhook";
pub const TRACK_ALERT_QUIET_PERIOD_HOURS: u64 = 24;
pub const TRACKING_STALE_AFTER_DAYS: u64 = 10;
pub const TRACKING_GIVE_UP_AFTER_DAYS: u64 = 30;
pub const TRACKING_NOT_FOUND_AFTER_HOURS: u64 = 24;
/// Subscriptions last 14 days; renew on day 12.
pub const TRACK_ALERT_RENEW_AFTER_DAYS: u64 = 12;
pub const QUANTUM_VIEW_INTERVAL_SECONDS: u64 = 900;
pub const QUANTUM_VIEW_VERSION: &str = "v3";

// ---- http ----
pub const HTTP_LISTEN: &str = "127.0.0.1:8080";
pub const CONSOLE_LISTEN: &str = "127.0.0.1:8081";
pub const CONSOLE_ADMIN_TOKEN: &str = "console-admin";
pub const CONSOLE_SESSION_IDLE_MINUTES: u64 = 30;
pub const CREDENTIAL_EXPIRY_WARNING_DAYS: u32 = 7;
pub const HTTP_BODY_LIMIT_BYTES: u64 = 1024 * 1024;
pub const HTTP_HEADER_READ_TIMEOUT_SECONDS: u64 = 10;
pub const HTTP_REQUEST_TIMEOUT_SECONDS: u64 = 30;
pub const HTTP_MAX_CONNECTIONS: u32 = 4096;
pub const HTTP_MAX_REQUESTS_IN_FLIGHT: u32 = 256;

// ---- pipeline ----
pub const PIPELINE_JOBS_IN_FLIGHT: u32 = 8;
pub const PIPELINE_RETRY_MAX_ATTEMPTS: u32 = 20;
pub const PIPELINE_RETRY_INITIAL_BACKOFF_SECONDS: u64 = 30;
pub const PIPELINE_RETRY_MAX_BACKOFF_SECONDS: u64 = 3600;
pub const PIPELINE_DEAD_LETTER_WRITE_BACK: bool = true;
pub const PIPELINE_RETENTION_DAYS: u64 = 120;
pub const PIPELINE_RECONCILE_ABSENT_AFTER_SECONDS: u64 = 1800;
pub const PIPELINE_RECONCILE_MIN_LOOKUPS: u32 = 3;
pub const PIPELINE_RECONCILE_WATCH_HOURS: u64 = 48;

// ---- checkout (rating endpoint) ----
/// Vault entry holding the checkout API token (`{"token": "…"}`).
pub const CHECKOUT_API_TOKEN: &str = "checkout-api";
/// The guide's "strict timeout": a UPS answer slower than this gives the estimate.
pub const CHECKOUT_TIMEOUT_MS: u64 = 1500;
/// 10 minutes: the middle of the guide's 5–15 minute cache.
pub const CHECKOUT_CACHE_TTL_SECONDS: u64 = 600;
pub const CHECKOUT_CACHE_CAPACITY: u32 = 10_000;
/// Checkout's share of the Rating quota (taken from `ups.quotas.rating_requests_per_second`).
pub const CHECKOUT_RATING_REQUESTS_PER_SECOND: u32 = 3;
pub const CHECKOUT_FALLBACK_CURRENCY: &str = "USD";

// ---- events (outbound webhooks) ----
/// Deliveries in flight per webhook (each to a different parcel).
pub const EVENTS_DELIVERIES_IN_FLIGHT: u32 = 8;
/// First backoff ceiling after a failed delivery, seconds (doubles per attempt, full jitter).
pub const EVENTS_INITIAL_BACKOFF_SECONDS: u64 = 30;
pub const EVENTS_MAX_BACKOFF_SECONDS: u64 = 3600;
/// Attempts per event and webhook before it is dead-lettered (about 2.5 h on average with
/// the backoff above, 5 h at most).
pub const EVENTS_WEBHOOK_MAX_ATTEMPTS: u32 = 12;
pub const EVENTS_WEBHOOK_TIMEOUT_SECONDS: u64 = 10;

// ---- push (ERP change notifications, `connectors[].push`) ----
/// Minimum time between two push-woken cycles of one connector, seconds.
pub const PUSH_MIN_GAP_SECONDS: u64 = 1;
/// Largest push body accepted, bytes (an Acumatica message lists every changed row).
pub const PUSH_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Header carrying the shared secret: Acumatica's Webhook destination ("Header Name" on
/// SM302000; MYOB's example is `Authorization`).
pub const PUSH_HEADER_ACUMATICA: &str = "Authorization";
/// Header carrying the shared secret from a NetSuite User Event script (the script author
/// chooses; this is what upsync's documentation tells them to send).
pub const PUSH_HEADER_NETSUITE: &str = "X-Upsync-Secret";

// ---- store ----
/// `store.pool_size`: connections to the PostgreSQL store.
pub const STORE_POOL_SIZE: u32 = 8;
/// `store.lease_seconds`: a dead daemon's work is taken over after this long.
pub const STORE_LEASE_SECONDS: u64 = 30;
