//! [`UpsClient`]: the UPS operations over HTTP, one client per UPS credential, cheap to
//! clone and share across connectors.
//!
//! Policy (UPS-REFERENCE §0.3–§0.4, issue 3):
//! * every call: `Authorization: Bearer`, `transId` (unique, 32 chars), `transactionSrc`;
//!   a per-API quota ([`super::retry::Limiters`]) is awaited before each request;
//! * 401 or an auth code (`250002`, `251004`, `UJ0001`) → the token is dropped, one fresh
//!   token, one retry; then [`UpsError::Auth`] naming the API product;
//! * 429 → backoff with full jitter and retry up to `retry.max_attempts` (except Ship);
//! * 5xx / connection errors → retried only for safe calls (token, XAV, Rate, Track,
//!   Void, Label Recovery, Track Alert);
//! * **Ship is never retried here.** A Ship that may have reached UPS (reset, timeout,
//!   5xx, unreadable 200) returns [`UpsError::OutcomeUnknown`]; a 429 or connect failure
//!   returns a transient error (UPS did not process it); a 4xx is a definite rejection.
//!
//! Logs carry API, status, transId and ids only: no bodies, tokens or labels.

use chrono::NaiveDate;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;

use super::address_cache::AddressCache;
use super::auth::{Clock, TokenService, TokenSettings, TokenStore};
use super::build::{self, RateMode, RateOptions, ShipOptions};
use super::error::{Api, UpsError};
use super::http::{send, Reply};
use super::parse::{
    self, RecoveredLabels, ReferenceMatch, SubscribeResult, TrackOutcome, VoidResult,
};
use super::retry::Limiters;
use super::stats::{Stats, StatsSnapshot};
use super::{UpsClientConfig, UpsCredentials};
use crate::model::{Address, AddressCheck, LabelSpec, RateQuote, ShipResult, Shipment};

mod paperless;
mod request;
#[cfg(test)]
use request::join;
use request::{join_url, Answer, Body, Req};
// The Pickup API calls; a child module, so they share the retry loop.
#[path = "client_pickup.rs"]
mod pickup;
pub use pickup::PICKUP_VERSION;

/// UPS auth failure codes seen on API calls (UPS-REFERENCE §1, §8, §10).
const AUTH_CODES: [&str; 3] = ["250002", "251004", "UJ0001"];

/// Track Alert accepts at most this many numbers per call.
pub const SUBSCRIBE_CHUNK: usize = 100;

/// The UPS client. Clone it freely: clones share the token, quotas and counters.
#[derive(Clone)]
pub struct UpsClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for UpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpsClient")
            .field("base_url", &self.inner.cfg.base_url)
            .field("credential", &self.inner.tokens.credential())
            .finish()
    }
}

struct Inner {
    cfg: UpsClientConfig,
    base: url::Url,
    http: reqwest::Client,
    tokens: TokenService,
    limiters: Arc<Limiters>,
    stats: Arc<Stats>,
    clock: Clock,
    /// Address Validation answers by request ([`super::address_cache`]); `None` when off.
    addresses: Option<AddressCache>,
}

/// Which of this client's limiters a request waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quota {
    /// The API's own quota, then the shared one (every call but checkout rating).
    PerApi,
    /// Only the shared all-APIs quota: the caller holds a permit of its own share.
    SharedOnly,
}

impl UpsClient {
    /// A client on the system clock.
    pub fn new(
        cfg: UpsClientConfig,
        creds: UpsCredentials,
        store: Arc<dyn TokenStore>,
    ) -> Result<Self, UpsError> {
        Self::with_clock(cfg, creds, store, Clock::following_tokio())
    }

    /// A client on a given clock (share one [`Clock`] between clients that must agree on
    /// time, e.g. a "restart" in tests).
    pub fn with_clock(
        cfg: UpsClientConfig,
        creds: UpsCredentials,
        store: Arc<dyn TokenStore>,
        clock: Clock,
    ) -> Result<Self, UpsError> {
        Self::build(cfg, creds, store, clock, None)
    }

    /// A client of an account on the authorization-code grant: its tokens come from
    /// `grant` (the vault entry the shipper authorized), refreshed there.
    pub fn authorization_code(
        cfg: UpsClientConfig,
        creds: UpsCredentials,
        store: Arc<dyn TokenStore>,
        clock: Clock,
        grant: super::authcode::AuthCodeGrant,
    ) -> Result<Self, UpsError> {
        Self::build(cfg, creds, store, clock, Some(grant))
    }

    fn build(
        cfg: UpsClientConfig,
        creds: UpsCredentials,
        store: Arc<dyn TokenStore>,
        clock: Clock,
        grant: Option<super::authcode::AuthCodeGrant>,
    ) -> Result<Self, UpsError> {
        let base = url::Url::parse(cfg.base_url.trim_end_matches('/')).map_err(|e| {
            UpsError::Config(format!(
                "base_url {:?} is not a URL ({e}); use e.g. https://onlinetools.ups.com",
                cfg.base_url
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(UpsError::Config(format!(
                "base_url {:?} must be an http(s) URL such as https://onlinetools.ups.com",
                cfg.base_url
            )));
        }
        if creds.client_id.is_empty() || creds.client_secret.is_empty() {
            return Err(UpsError::Config(
                "UPS client id and secret must not be empty".into(),
            ));
        }
        if cfg.token_budget_per_day == 0 {
            return Err(UpsError::Config(
                "token_budget_per_day must be at least 1".into(),
            ));
        }
        let mut http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if let Some(t) = cfg.connect_timeout {
            http = http.connect_timeout(t);
        }
        let http = http
            .build()
            .map_err(|e| UpsError::Config(format!("cannot build the HTTP client: {e}")))?;
        let stats = Arc::new(Stats::default());
        let limiters = Arc::new(Limiters::new(&cfg.quotas));
        let token_url = join_url(&base, &["security", "v1", "oauth", "token"]).to_string();
        let tokens = TokenService::new(
            http.clone(),
            TokenSettings {
                token_url,
                merchant_id: cfg.account_number.clone(),
                budget_per_day: cfg.token_budget_per_day,
                warn_ratio: cfg.token_budget_warn_ratio,
                retry: cfg.retry.clone(),
                timeout: cfg.request_timeout,
            },
            creds,
            store,
            clock.clone(),
            limiters.clone(),
            stats.clone(),
            grant,
        );
        let addresses = AddressCache::new(cfg.address_cache_entries, cfg.address_cache_max_age);
        Ok(UpsClient {
            inner: Arc::new(Inner {
                addresses,
                cfg,
                base,
                http,
                tokens,
                limiters,
                stats,
                clock,
            }),
        })
    }

    pub fn config(&self) -> &UpsClientConfig {
        &self.inner.cfg
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The credential (client id) this client authenticates as.
    pub fn credential(&self) -> &str {
        self.inner.tokens.credential()
    }

    /// Counters for metrics.
    /// Divide this client's UPS quotas among `daemons` live daemons (issue 22).
    pub fn set_quota_share(&self, daemons: u32) {
        self.inner.limiters.set_share(daemons);
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot(
            self.inner.tokens.requests_today(),
            self.inner.cfg.token_budget_per_day,
            self.inner.cfg.token_budget_warn_ratio,
        )
    }

    /// Authorization code: the tokens of the vault entry this client uses (none for client
    /// credentials). For `creds info` and credential health; never log them.
    pub fn grant_tokens(&self) -> Option<super::authcode::AuthCodeTokens> {
        self.inner.tokens.grant_tokens()
    }

    /// Authorization code: how long before its end the refresh token is renewed.
    pub fn grant_renew_before(&self) -> Option<chrono::Duration> {
        self.inner.tokens.grant_renew_before()
    }

    /// Authorization code: the vault entry holding this client's tokens.
    pub fn grant_name(&self) -> Option<&str> {
        self.inner.tokens.grant_name()
    }

    /// Make sure a token is at hand (fetching one if needed): `upsync ping` uses this.
    pub async fn ensure_token(&self) -> Result<(), UpsError> {
        self.inner.tokens.bearer().await.map(|_| ())
    }

    /// Ship options from this client's label defaults; `Request.SubVersion` is the Ship path
    /// version as YYMM (`v2409` → `"2409"`), so the answer's shapes are the current ones.
    pub fn default_ship_options(&self) -> ShipOptions {
        ShipOptions {
            request_option: self.inner.cfg.ship_request_option.clone(),
            sub_version: build::sub_version_of(&self.inner.cfg.versions.ship),
            default_stock_size: self.inner.cfg.label.stock_size,
            http_user_agent: self.inner.cfg.label.http_user_agent.clone(),
            ..ShipOptions::default()
        }
    }

    fn url(&self, segs: &[&str]) -> url::Url {
        join_url(&self.inner.base, segs)
    }

    // ------------------------------------------------------------ operations

    /// Address Validation, request option 3 (validation + classification). Countries UPS
    /// does not cover (anything but US and PR) → [`AddressCheck::NotCovered`] without a call.
    pub async fn validate_address(&self, address: &Address) -> Result<AddressCheck, UpsError> {
        let c = address.country.trim().to_ascii_uppercase();
        if c != "US" && c != "PR" {
            return Ok(AddressCheck::NotCovered);
        }
        let v = &self.inner.cfg.versions.xav;
        let request = Body::encode(&build::XavRequest::new(address));
        // A repeat address: UPS's answer to the same request body, while it is recent.
        let key = match (&self.inner.addresses, &request) {
            (Some(cache), Body::Encoded(b)) => {
                if let Some(check) = cache.get(b, self.inner.clock.now()) {
                    self.inner.stats.address_cache_hit();
                    return Ok(check);
                }
                Some(b.clone())
            }
            _ => None,
        };
        let (status, body) = self
            .execute_bytes(Req {
                api: Api::AddressValidation,
                method: Method::POST,
                url: self.url(&["api", "addressvalidation", v, "3"]),
                query: vec![],
                body: request,
                accept_4xx: false,
            })
            .await?;
        let check = parse::xav_response_bytes(&body)
            .map_err(|e| protocol(Api::AddressValidation, status, e))?;
        if let (Some(cache), Some(key)) = (&self.inner.addresses, key) {
            cache.put(&key, check.clone(), self.inner.clock.now());
        }
        Ok(check)
    }

    /// Rate one service (the shipment's fixed code), negotiated, with time in transit.
    pub async fn rate(&self, shipment: &Shipment) -> Result<Vec<RateQuote>, UpsError> {
        self.rate_with(shipment, RateOptions::rate()).await
    }

    /// Shop every service, negotiated, with time in transit (business days).
    pub async fn shop(&self, shipment: &Shipment) -> Result<Vec<RateQuote>, UpsError> {
        self.rate_with(shipment, RateOptions::shop()).await
    }

    /// Rate or Shop with explicit options. The pickup date defaults to today (UTC), so the
    /// request option is `Ratetimeintransit`/`Shoptimeintransit` and every service (Ground
    /// too) comes back with its business days ([`build::rate_request_option`]).
    /// `Request.SubVersion` defaults to the Rating path version as YYMM.
    pub async fn rate_with(
        &self,
        shipment: &Shipment,
        opts: RateOptions,
    ) -> Result<Vec<RateQuote>, UpsError> {
        self.rate_on(shipment, opts, Quota::PerApi).await
    }

    /// [`Self::rate_with`] for a caller that keeps its own share of the Rating quota (the
    /// checkout endpoint, `crate::checkout`): this client's Rating limiter (the pipeline's
    /// share) is skipped, the credential's shared all-APIs quota still applies. The caller
    /// must have taken a permit from its own limiter first. One attempt, never retried
    /// (a retry would spend a permit the caller did not take); a refused token is still
    /// refreshed once.
    pub async fn rate_on_own_quota(
        &self,
        shipment: &Shipment,
        opts: RateOptions,
    ) -> Result<Vec<RateQuote>, UpsError> {
        self.rate_on(shipment, opts, Quota::SharedOnly).await
    }

    async fn rate_on(
        &self,
        shipment: &Shipment,
        mut opts: RateOptions,
        quota: Quota,
    ) -> Result<Vec<RateQuote>, UpsError> {
        if opts.pickup_date.is_none() && shipment.ship_date.is_none() {
            opts.pickup_date = Some(self.inner.clock.today());
        }
        if opts.sub_version.is_none() {
            opts.sub_version = build::sub_version_of(&self.inner.cfg.versions.rate);
        }
        let body = build::rate_request(shipment, &opts);
        if opts.mode == RateMode::Rate
            && body
                .pointer("/RateRequest/Shipment/Service/Code")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
        {
            return Err(UpsError::Invalid {
                api: Api::Rating,
                problems: vec![build::BuildProblem {
                    field: "RateRequest.Shipment.Service.Code".into(),
                    message: "Rate needs a service code; use shop() to rate every service".into(),
                }],
            });
        }
        let v = &self.inner.cfg.versions.rate;
        let (status, body) = self
            .execute_on(
                Req {
                    api: Api::Rating,
                    method: Method::POST,
                    url: self.url(&[
                        "api",
                        "rating",
                        v,
                        build::rate_request_option(shipment, &opts),
                    ]),
                    query: vec![],
                    body: Body::Json(body),
                    accept_4xx: false,
                },
                quota,
            )
            .await?;
        parse::rate_response(&body).map_err(|e| protocol(Api::Rating, status, e))
    }

    /// Ship with this client's default options (the service must be fixed or have a fallback).
    pub async fn ship(&self, shipment: &Shipment) -> Result<ShipResult, UpsError> {
        self.ship_with(shipment, &self.default_ship_options()).await
    }

    /// Ship. Never retried: see the module docs. Local checks
    /// ([`build::check_shipment`]) run first and fail with [`UpsError::Invalid`] without a call.
    pub async fn ship_with(
        &self,
        shipment: &Shipment,
        opts: &ShipOptions,
    ) -> Result<ShipResult, UpsError> {
        let problems = build::check_shipment(shipment, opts);
        if !problems.is_empty() {
            return Err(UpsError::Invalid {
                api: Api::Ship,
                problems,
            });
        }
        let service = build::resolve_service(shipment, opts).unwrap_or_default();
        let v = &self.inner.cfg.versions.ship;
        let (status, body) = self
            .execute_bytes(Req {
                api: Api::Ship,
                method: Method::POST,
                url: self.url(&["api", "shipments", v, "ship"]),
                query: vec![],
                body: Body::encode(&build::ShipRequest::new(shipment, opts)),
                accept_4xx: false,
            })
            .await?;
        // Read from the answer's bytes; an unreadable 200 (not JSON either) is outcome unknown.
        match parse::ship_response_bytes(&body, shipment, &service) {
            Ok(r) => {
                tracing::info!(source = %shipment.source, record = %shipment.record_id, shipment_id = %r.shipment_id, packages = r.packages.len(), "UPS shipment created");
                Ok(r)
            }
            Err(e) => {
                self.inner.stats.outcome_unknown();
                tracing::error!(source = %shipment.source, record = %shipment.record_id, status, error = %e, "UPS Ship answered but the answer is unreadable: outcome unknown");
                Err(UpsError::OutcomeUnknown {
                    api: Api::Ship,
                    status: Some(status),
                    reason: format!(
                        "UPS answered HTTP {status} but the answer could not be read: {e}"
                    ),
                })
            }
        }
    }

    /// Void a whole shipment (`packages = None`) or some of its packages.
    pub async fn void(
        &self,
        shipment_id: &str,
        packages: Option<&[String]>,
    ) -> Result<VoidResult, UpsError> {
        let mut query = Vec::new();
        if let Some(p) = packages.filter(|p| !p.is_empty()) {
            let value = if p.len() == 1 {
                p[0].clone()
            } else {
                serde_json::to_string(p).unwrap_or_default()
            };
            query.push(("trackingnumber".to_string(), value));
        }
        let v = &self.inner.cfg.versions.void;
        let (status, body) = self
            .execute(Req {
                api: Api::Void,
                method: Method::DELETE,
                url: self.url(&["api", "shipments", v, "void", "cancel", shipment_id]),
                query,
                body: Body::Empty,
                accept_4xx: false,
            })
            .await?;
        parse::void_response(&body).map_err(|e| protocol(Api::Void, status, e))
    }

    /// Label Recovery by tracking number (in-doubt reconciliation, lost labels).
    ///
    /// Label Recovery serves GIF, PDF, ZPL, EPL and SPL for 1Z shipments, not PNG
    /// (Shipping.yaml `LabelRecovery_LabelSpecification_LabelImageFormat`): a PNG spec is
    /// recovered as GIF and converted ([`super::image::gif_to_png`]).
    pub async fn recover_label(
        &self,
        tracking_number: &str,
        spec: &LabelSpec,
    ) -> Result<RecoveredLabels, UpsError> {
        let asked = recovery_spec(spec);
        let body = build::label_recovery_request(tracking_number, &asked);
        let (status, answer) = self.label_recovery(body).await?;
        let rec = parse::label_recovery_response(&answer, asked.format)
            .map_err(|e| protocol(Api::LabelRecovery, status, e))?;
        as_requested(rec, spec.format).map_err(|e| protocol(Api::LabelRecovery, status, e))
    }

    /// Label Recovery by reference (`ReferenceValues{ReferenceNumber.Value, ShipperNumber}`,
    /// Shipping.yaml `LabelRecoveryRequest_ReferenceValues`): the first shipment of
    /// `shipper_number` carrying `reference`, plus `candidates` when several do. Nothing
    /// found (`190202`) → `Ok(None)`.
    pub async fn recover_label_by_reference(
        &self,
        reference: &str,
        shipper_number: &str,
        spec: &LabelSpec,
    ) -> Result<Option<RecoveredLabels>, UpsError> {
        let asked = recovery_spec(spec);
        let body = build::label_recovery_by_reference_request(reference, shipper_number, &asked);
        match self.label_recovery(body).await {
            Ok((status, answer)) => {
                let rec = parse::label_recovery_response(&answer, asked.format)
                    .map_err(|e| protocol(Api::LabelRecovery, status, e))?;
                as_requested(rec, spec.format)
                    .map(Some)
                    .map_err(|e| protocol(Api::LabelRecovery, status, e))
            }
            Err(e) if e.ups_code() == Some("190202") => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn label_recovery(
        &self,
        body: serde_json::Value,
    ) -> Result<(u16, serde_json::Value), UpsError> {
        let v = &self.inner.cfg.versions.label_recovery;
        self.execute(Req {
            api: Api::LabelRecovery,
            method: Method::POST,
            url: self.url(&["api", "labels", v, "recovery"]),
            query: vec![],
            body: Body::Json(body),
            accept_4xx: false,
        })
        .await
    }

    /// Track one number. `TW0001` (200) or 404 → [`TrackOutcome::NotYet`].
    pub async fn track(&self, number: &str) -> Result<TrackOutcome, UpsError> {
        let v = &self.inner.cfg.versions.track;
        let (status, body) = self
            .execute(Req {
                api: Api::Track,
                method: Method::GET,
                url: self.url(&["api", "track", v, "details", number]),
                query: vec![
                    ("locale".into(), "en_US".into()),
                    ("returnSignature".into(), "true".into()),
                    ("returnMilestones".into(), "false".into()),
                    ("returnPOD".into(), "false".into()),
                ],
                body: Body::Empty,
                accept_4xx: true,
            })
            .await?;
        match status {
            200..=299 => {
                parse::track_response(&body, number).map_err(|e| protocol(Api::Track, status, e))
            }
            404 => Ok(TrackOutcome::NotYet),
            _ => Err(rejected(Api::Track, status, &body)),
        }
    }

    /// Track by reference number within pickup dates `from..=to`: every shipment found,
    /// with its tracking numbers (in-doubt Ship reconciliation). Nothing found → empty.
    ///
    /// `shipper_number` narrows the search to one account (`shipperNum`): reference values
    /// are free text that other shippers use too, and without it such a reference answers
    /// `151085` "Multiple shipper numbers found". Note that a label created moments ago may
    /// not be found by reference yet (`TW0001`): empty is not proof of absence.
    pub async fn track_by_reference(
        &self,
        reference: &str,
        shipper_number: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<ReferenceMatch>, UpsError> {
        let v = &self.inner.cfg.versions.track;
        let mut query = vec![
            ("locale".into(), "en_US".into()),
            ("fromPickUpDate".into(), super::wire::ups_date(from)),
            ("toPickUpDate".into(), super::wire::ups_date(to)),
            ("refNumType".into(), "SmallPackage".into()),
        ];
        if let Some(s) = shipper_number.filter(|s| !s.is_empty()) {
            query.push(("shipperNum".into(), s.to_string()));
        }
        let (status, body) = self
            .execute(Req {
                api: Api::Track,
                method: Method::GET,
                url: self.url(&["api", "track", v, "reference", "details", reference]),
                query,
                body: Body::Empty,
                accept_4xx: true,
            })
            .await?;
        match status {
            200..=299 => {
                parse::track_reference_response(&body).map_err(|e| protocol(Api::Track, status, e))
            }
            404 => Ok(Vec::new()),
            _ => Err(rejected(Api::Track, status, &body)),
        }
    }

    /// Track Alert package subscription, ≤100 numbers per call (longer lists are split).
    /// `destination = Some((url, credential))` uses v1 (webhook URL and `credential` header
    /// in the body); `None` uses v2 (destination managed in the UPS portal).
    pub async fn subscribe(
        &self,
        numbers: &[String],
        destination: Option<(&str, &str)>,
    ) -> Result<SubscribeResult, UpsError> {
        let version = if destination.is_some() { "v1" } else { "v2" };
        let url = self.url(&[
            "api",
            "track",
            version,
            "subscription",
            "standard",
            "package",
        ]);
        let mut out = SubscribeResult::default();
        for chunk in numbers.chunks(SUBSCRIBE_CHUNK) {
            let (status, body) = self
                .execute(Req {
                    api: Api::TrackAlert,
                    method: Method::POST,
                    url: url.clone(),
                    query: vec![],
                    body: Body::Json(build::subscription_request(chunk, destination)),
                    accept_4xx: true,
                })
                .await?;
            match status {
                200..=299 => {
                    let r = parse::subscription_response(&body)
                        .map_err(|e| protocol(Api::TrackAlert, status, e))?;
                    out.valid.extend(r.valid);
                    out.invalid.extend(r.invalid);
                }
                400 if parse::faults(&body)
                    .iter()
                    .any(|f| matches!(f.code.as_str(), "VSS210" | "VSS215")) =>
                {
                    // None of this chunk is valid: a per-number outcome, not a call failure.
                    let r = parse::subscription_response(&body).unwrap_or_default();
                    if r.invalid.is_empty() {
                        out.invalid.extend(chunk.iter().cloned());
                    } else {
                        out.invalid.extend(r.invalid);
                    }
                }
                _ => return Err(rejected(Api::TrackAlert, status, &body)),
            }
        }
        Ok(out)
    }

    /// One Quantum View page (`POST /api/quantumview/{version}/events`, UPS-REFERENCE §9):
    /// the subscription files of `r`'s date range, from `r.bookmark` on. A 200 with
    /// `ResponseStatusCode` `0` and `Response.Error[]` is a rejection like a 400.
    pub async fn quantum_view(
        &self,
        r: &crate::model::QvRequest,
    ) -> Result<crate::model::QvPage, UpsError> {
        let (status, body) = self
            .execute(Req {
                api: Api::QuantumView,
                method: Method::POST,
                url: self.url(&["api", "quantumview", &r.version, "events"]),
                query: vec![],
                body: Body::Json(build::quantum_view_request(r)),
                accept_4xx: true,
            })
            .await?;
        match status {
            200..=299 => {
                let failed = body
                    .pointer("/QuantumViewResponse/Response/ResponseStatusCode")
                    .and_then(Value::as_str)
                    == Some("0");
                if failed {
                    let inner = body
                        .pointer("/QuantumViewResponse")
                        .cloned()
                        .unwrap_or_default();
                    return Err(rejected(Api::QuantumView, status, &inner));
                }
                parse::quantum_view_response(&body)
                    .map_err(|e| protocol(Api::QuantumView, status, e))
            }
            _ => Err(rejected(Api::QuantumView, status, &body)),
        }
    }

    /// Send any JSON body to a UPS path (`"api/shipments/v2409/ship"`) with this client's
    /// token, headers, quotas and retry policy (a Ship path is still never retried), and
    /// return UPS's 2xx JSON as is. For diagnostics and contract tests: UPS's rejection of a
    /// hand-made body comes back as [`UpsError::Rejected`] with code and field.
    pub async fn call_raw(
        &self,
        api: Api,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, UpsError> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (_, v) = self
            .execute(Req {
                api,
                method,
                url: self.url(&segs),
                query: vec![],
                body: body.map_or(Body::Empty, Body::Json),
                accept_4xx: false,
            })
            .await?;
        Ok(v)
    }

    // ------------------------------------------------------------ the retry loop

    async fn execute(&self, req: Req) -> Result<(u16, Value), UpsError> {
        self.execute_on(req, Quota::PerApi).await
    }

    async fn execute_on(&self, req: Req, quota: Quota) -> Result<(u16, Value), UpsError> {
        self.execute_with_headers(req, quota, &[]).await
    }

    /// [`Self::execute`] for an operation that reads its 2xx answer from the bytes into its
    /// own types (Ship, XAV); never with `accept_4xx`.
    async fn execute_bytes(&self, req: Req) -> Result<(u16, Vec<u8>), UpsError> {
        debug_assert!(!req.accept_4xx);
        match self.execute_answer(req, Quota::PerApi, &[]).await? {
            (status, Answer::Bytes(b)) => Ok((status, b)),
            (status, Answer::Json(v)) => Ok((status, serde_json::to_vec(&v).unwrap_or_default())),
        }
    }

    /// [`Self::execute_on`] with extra request headers (Pickup's `AccountNumber`, `Prn`).
    async fn execute_with_headers(
        &self,
        req: Req,
        quota: Quota,
        headers: &[(&str, String)],
    ) -> Result<(u16, Value), UpsError> {
        let api = req.api;
        match self.execute_answer(req, quota, headers).await? {
            (status, Answer::Json(v)) => Ok((status, v)),
            (status, Answer::Bytes(b)) => match serde_json::from_slice(&b) {
                Ok(v) => Ok((status, v)),
                Err(e) if api == Api::Ship => Err(self.outcome_unknown(
                    Some(status),
                    format!("HTTP {status} with a body that is not JSON ({e})"),
                )),
                Err(e) => Err(UpsError::Protocol {
                    api,
                    status,
                    detail: format!("body is not JSON: {e}"),
                }),
            },
        }
    }

    /// The retry loop: a 2xx answer comes back as its bytes, unread.
    async fn execute_answer(
        &self,
        req: Req,
        quota: Quota,
        headers: &[(&str, String)],
    ) -> Result<(u16, Answer), UpsError> {
        let i = &self.inner;
        let api = req.api;
        let policy = &i.cfg.retry;
        // A caller on its own quota (checkout) gets one attempt: a retry would spend a
        // permit it did not take, and it answers from its fallback table meanwhile.
        let max = if api.is_idempotent() && quota == Quota::PerApi {
            policy.max_attempts.max(1)
        } else {
            1
        };
        let mut attempt = 0u32;
        let mut refreshed = false;
        loop {
            attempt += 1;
            let token = i.tokens.bearer().await?;
            match quota {
                Quota::PerApi => i.limiters.acquire(api).await,
                Quota::SharedOnly => i.limiters.acquire_shared(api).await,
            }
            let trans_id = uuid::Uuid::new_v4().simple().to_string();
            let mut rb = i
                .http
                .request(req.method.clone(), req.url.clone())
                .bearer_auth(&token)
                .header("transId", &trans_id)
                .header("transactionSrc", &i.cfg.transaction_src)
                .header(reqwest::header::ACCEPT, "application/json");
            for (name, value) in headers {
                rb = rb.header(*name, value);
            }
            if !req.query.is_empty() {
                rb = rb.query(&req.query);
            }
            if let Some(n) = paperless::shipper_header(&req) {
                rb = rb.header("ShipperNumber", n);
            }
            match &req.body {
                Body::Empty => {}
                Body::Json(b) => rb = rb.json(b),
                Body::Encoded(b) => {
                    rb = rb
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone())
                }
            }
            if let Some(t) = i.cfg.timeout_for(api) {
                rb = rb.timeout(t);
            }
            let reply = send(rb, api, &i.stats).await;
            let mut server_wait = None;
            // Decide: return, retry (with the final error if out of attempts), or fail.
            let final_err = match reply {
                Reply::Http {
                    status,
                    body,
                    retry_after,
                } => {
                    server_wait = retry_after;
                    tracing::debug!(api = %api, status, trans_id = %trans_id, attempt, "UPS answered");
                    if (200..300).contains(&status) {
                        return Ok((status, Answer::Bytes(body)));
                    }
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let faults = parse::faults(&v);
                    let auth_fault = status == 401
                        || faults.iter().any(|f| AUTH_CODES.contains(&f.code.as_str()));
                    if auth_fault {
                        let first = faults.first();
                        if !refreshed {
                            refreshed = true;
                            tracing::warn!(api = %api, status, code = first.map(|f| f.code.as_str()).unwrap_or(""), "UPS refused the token: refreshing once");
                            i.tokens.invalidate(&token);
                            attempt -= 1;
                            continue;
                        }
                        return Err(UpsError::Auth {
                            api,
                            status: Some(status),
                            code: first.map(|f| f.code.clone()).unwrap_or_default(),
                            message: first.map(|f| f.message.clone()).unwrap_or_default(),
                        });
                    }
                    if status == 429 {
                        UpsError::RateLimited {
                            api,
                            attempts: attempt,
                        }
                    } else if status >= 500 {
                        if api == Api::Ship {
                            return Err(self.outcome_unknown(
                                Some(status),
                                format!("HTTP {status} from Ship"),
                            ));
                        }
                        UpsError::Unavailable {
                            api,
                            status: Some(status),
                            code: faults.first().map(|f| f.code.clone()),
                            detail: faults
                                .first()
                                .map(|f| format!("HTTP {status} {}: {}", f.code, f.message))
                                .unwrap_or_else(|| format!("HTTP {status}")),
                            attempts: attempt,
                        }
                    } else if req.accept_4xx {
                        return Ok((status, Answer::Json(v)));
                    } else {
                        return Err(rejected(api, status, &v));
                    }
                }
                Reply::Failed { sent, detail } => {
                    tracing::warn!(api = %api, trans_id = %trans_id, attempt, sent, detail = %detail, "UPS request failed without an answer");
                    if api == Api::Ship && sent {
                        return Err(self.outcome_unknown(None, detail));
                    }
                    UpsError::Unavailable {
                        api,
                        status: None,
                        code: None,
                        detail,
                        attempts: attempt,
                    }
                }
            };
            if attempt >= max {
                return Err(final_err);
            }
            let mut d = policy.delay(attempt, &mut rand::thread_rng());
            if let Some(w) = server_wait {
                // Honour a Retry-After if one is ever sent, within the policy's cap.
                d = d.max(w.min(policy.max_delay));
            }
            i.stats.retry(d);
            tracing::debug!(api = %api, attempt, delay_ms = d.as_millis() as u64, "retrying UPS call after backoff");
            tokio::time::sleep(d).await;
        }
    }

    fn outcome_unknown(&self, status: Option<u16>, reason: String) -> UpsError {
        self.inner.stats.outcome_unknown();
        tracing::error!(status, reason = %reason, "UPS Ship outcome unknown: reconcile before shipping again");
        UpsError::OutcomeUnknown {
            api: Api::Ship,
            status,
            reason,
        }
    }
}

fn protocol(api: Api, status: u16, e: parse::ParseError) -> UpsError {
    UpsError::Protocol {
        api,
        status,
        detail: e.0,
    }
}

fn rejected(api: Api, status: u16, v: &Value) -> UpsError {
    let faults = parse::faults(v);
    let first = faults.first();
    UpsError::Rejected {
        api,
        status,
        code: first.map(|f| f.code.clone()).unwrap_or_default(),
        message: first
            .map(|f| f.message.clone())
            .unwrap_or_else(|| format!("HTTP {status} without a UPS error body")),
        field: faults.iter().find_map(|f| f.field.clone()),
        faults,
    }
}

/// The label spec to ask Label Recovery for: PNG is not a Label Recovery format for 1Z
/// shipments, so it is asked as GIF (and converted by [`as_requested`]).
fn recovery_spec(spec: &LabelSpec) -> LabelSpec {
    match spec.format {
        crate::model::LabelFormat::Png => LabelSpec {
            format: crate::model::LabelFormat::Gif,
            stock_size: spec.stock_size,
        },
        _ => spec.clone(),
    }
}

/// Recovered labels in the format the caller asked for (GIF → PNG where PNG was asked).
fn as_requested(
    mut rec: RecoveredLabels,
    wanted: crate::model::LabelFormat,
) -> Result<RecoveredLabels, parse::ParseError> {
    if wanted != crate::model::LabelFormat::Png {
        return Ok(rec);
    }
    for p in &mut rec.packages {
        if let Some(l) = p.label.as_mut() {
            if l.format == crate::model::LabelFormat::Gif {
                l.data = super::image::gif_to_png(&l.data).map_err(parse::ParseError)?;
                l.format = crate::model::LabelFormat::Png;
            }
        }
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_joined_and_encoded() {
        let b = url::Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            join(
                &b,
                &["api", "track", "v1", "reference", "details", "PO 77/8"]
            ),
            "http://127.0.0.1:8080/api/track/v1/reference/details/PO%2077%2F8"
        );
        let b = url::Url::parse("https://proxy.example/ups/").unwrap();
        assert_eq!(
            join(&b, &["security", "v1", "oauth", "token"]),
            "https://proxy.example/ups/security/v1/oauth/token"
        );
    }
}
