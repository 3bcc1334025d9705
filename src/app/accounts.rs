//! [`Accounts`]: the UPS accounts of a configuration and their UPS clients — **one
//! [`UpsClient`] (token cache, daily token budget, quotas) per OAuth client**, never shared
//! across clients (issue 19).
//!
//! * Accounts come from `ups.accounts[]` (or the single-account keys, one implicit account
//!   named `default`), resolved by [`crate::config::UpsConfig::resolved_accounts`].
//! * Accounts whose vault entries hold the same `client_id` and that talk to the same base
//!   URL share one client: UPS counts tokens (250 a day) and requests per client. The
//!   client's settings are the first such account's (`check` warns when they differ).
//! * An account with `auth: authorization_code` gets a client of its own (each shipper
//!   authorizes separately; keyed by client id and vault entry), holding its tokens in its
//!   vault entry ([`crate::app::adapters::VaultGrantStore`]) and running on the assembly's
//!   clock; its token requests still count against the OAuth client's daily budget.
//! * Tokens and daily token counts are persisted per client id by
//!   [`crate::app::adapters::VaultTokenStore`] as before; a client id used against a
//!   second base URL (sandbox and production) gets its own key (`client_id@base_url`), so
//!   the two environments never read each other's token.
//! * The **first** account is the designated one: tracking (polls of numbers whose shipper
//!   is not configured), Track Alert subscriptions, Quantum View, address validation and
//!   `upsync ping` use its client.
//!
//! Other parts of upsync ask this registry for "the client of account X":
//! [`Accounts::client_for`] (by shipper number), [`Accounts::by_name`] (by account name),
//! [`Accounts::primary`]. In the single-account form every shipper number maps to the one
//! client (as before: UPS decides which shipper numbers the client may use); with
//! `ups.accounts` an unknown shipper number has no client (`ups_account_unknown`).
//!
//! Never: log a client secret or token (only account names and numbers).

use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, UpsAccount, UpsConfig};
use crate::store::Store;
use crate::ups::{StoredToken, TokenStore, UpsClient, UpsClientConfig, UpsCredentials};

/// One configured account and the client it uses.
#[derive(Debug, Clone)]
pub struct Account {
    pub config: UpsAccount,
    /// Index into [`Accounts::clients`].
    pub client: usize,
}

/// One UPS client and the accounts that share it.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    /// The metrics label (`client="…"`): the name of the first account using this client.
    pub label: String,
    pub client: UpsClient,
    /// Names of the accounts using this client, in configuration order.
    pub accounts: Vec<String>,
}

/// The accounts of a configuration and their clients. Cheap to share (`Arc<Accounts>`).
#[derive(Debug, Clone)]
pub struct Accounts {
    accounts: Vec<Account>,
    clients: Vec<ClientEntry>,
    /// `ups.accounts` is used: a shipper number must be one of the accounts.
    strict: bool,
}

impl Accounts {
    /// Build every client of `cfg`, reading each account's OAuth client from the vault.
    pub fn build(cfg: &Config, store: &Arc<Store>) -> anyhow::Result<Accounts> {
        Self::build_with_clock(cfg, store, crate::ups::Clock::following_tokio())
    }

    /// [`Accounts::build`]; authorization-code clients run on `clock` (the refresh token's
    /// end is judged on the daemon's clock, the simulators' in tests).
    pub fn build_with_clock(
        cfg: &Config,
        store: &Arc<Store>,
        clock: crate::ups::Clock,
    ) -> anyhow::Result<Accounts> {
        #[derive(serde::Deserialize)]
        struct Creds {
            client_id: String,
            client_secret: String,
        }
        // Several daemons on one database: one fetches a client's token, all share it.
        let tokens: Arc<dyn TokenStore> = Arc::new(
            crate::app::adapters::VaultTokenStore::new(store.clone()).with_coordinator(
                crate::cluster::for_store(store, crate::cluster::lease_seconds(cfg)),
            ),
        );
        let mut specs = Vec::new();
        // Checkout keeps its own share of each client's Rating quota
        // (`checkout.rating_requests_per_second`); the pipeline gets the rest.
        let checkout_share = if cfg.checkout.bind.is_some() {
            cfg.checkout.rating_requests_per_second
        } else {
            0
        };
        for mut a in cfg.ups.resolved_accounts() {
            let rating = &mut a.quotas.rating_requests_per_second;
            if *rating > 0 {
                *rating = rating.saturating_sub(checkout_share).max(1);
            }
            let creds: Creds = super::wiring::credentials_as(
                store,
                &a.credentials,
                "UPS credentials {client_id, client_secret}",
            )
            .with_context(|| format!("UPS account `{}` ({})", a.name, a.key_path))?;
            let grant = (a.auth == crate::config::UpsAuth::AuthorizationCode).then(|| {
                crate::ups::authcode::AuthCodeGrant {
                    store: Arc::new(crate::app::adapters::VaultGrantStore::new(
                        store.clone(),
                        a.credentials.clone(),
                    )),
                    renew_before: chrono::Duration::hours(i64::from(
                        cfg.ups.refresh_token_renew_before_hours,
                    )),
                }
            });
            specs.push((
                a,
                UpsCredentials::new(creds.client_id, creds.client_secret),
                grant,
            ));
        }
        Self::from_specs_with(specs, tokens, !cfg.ups.accounts.is_empty(), clock)
    }

    /// Group accounts by (client id, base URL) and build one client per group.
    pub fn from_specs(
        specs: Vec<(UpsAccount, UpsCredentials)>,
        tokens: Arc<dyn TokenStore>,
        strict: bool,
    ) -> anyhow::Result<Accounts> {
        Self::from_specs_with(
            specs.into_iter().map(|(a, c)| (a, c, None)).collect(),
            tokens,
            strict,
            crate::ups::Clock::following_tokio(),
        )
    }

    /// [`Accounts::from_specs`] with authorization-code grants. An authorized account has
    /// a client of its own (its own tokens: each shipper authorizes separately), keyed by
    /// client id and vault entry; its token requests count against the OAuth client's
    /// daily budget with the others (the token store counts per client id).
    pub fn from_specs_with(
        specs: Vec<(
            UpsAccount,
            UpsCredentials,
            Option<crate::ups::authcode::AuthCodeGrant>,
        )>,
        tokens: Arc<dyn TokenStore>,
        strict: bool,
        clock: crate::ups::Clock,
    ) -> anyhow::Result<Accounts> {
        let mut accounts = Vec::new();
        let mut clients: Vec<ClientEntry> = Vec::new();
        // (client id, base url) of each client, and the first base URL of each client id.
        let mut keys: Vec<(String, String)> = Vec::new();
        for (a, creds, grant) in specs {
            let id = match &grant {
                Some(g) => format!("{}#{}", creds.client_id, g.store.name()),
                None => creds.client_id.clone(),
            };
            let key = (id, a.base_url.clone());
            let i = match keys.iter().position(|k| *k == key) {
                Some(i) => {
                    clients[i].accounts.push(a.name.clone());
                    i
                }
                None => {
                    let other_host = keys.iter().any(|(id, _)| *id == key.0);
                    let store: Arc<dyn TokenStore> = if other_host {
                        Arc::new(ScopedTokenStore {
                            inner: tokens.clone(),
                            scope: a.base_url.clone(),
                        })
                    } else {
                        tokens.clone()
                    };
                    let client = match grant {
                        None => UpsClient::new(account_client_config(&a), creds, store),
                        Some(g) => UpsClient::authorization_code(
                            account_client_config(&a),
                            creds,
                            store,
                            clock.clone(),
                            g,
                        ),
                    }
                    .with_context(|| {
                        format!(
                            "UPS account `{}` ({}): cannot build its client",
                            a.name, a.key_path
                        )
                    })?;
                    clients.push(ClientEntry {
                        label: a.name.clone(),
                        client,
                        accounts: vec![a.name.clone()],
                    });
                    keys.push(key);
                    clients.len() - 1
                }
            };
            accounts.push(Account {
                config: a,
                client: i,
            });
        }
        anyhow::ensure!(!accounts.is_empty(), "no UPS account is configured");
        Ok(Accounts {
            accounts,
            clients,
            strict,
        })
    }

    /// The client of the account whose shipper number is `shipper_number`. In the
    /// single-account form, the one client for any number; with `ups.accounts`, `None` for
    /// a number that is not configured (the caller reports `ups_account_unknown`).
    ///
    /// This is the way to get "the client of account X" (e.g. to rate at checkout with the
    /// ship-from's account): clones share the token, budget, quotas and counters.
    pub fn client_for(&self, shipper_number: &str) -> Option<&UpsClient> {
        match self.account_for(shipper_number) {
            Some(a) => Some(&self.clients[a.client].client),
            None if !self.strict => Some(self.primary()),
            None => None,
        }
    }

    /// The configured account of a shipper number (case-insensitive), if any.
    pub fn account_for(&self, shipper_number: &str) -> Option<&Account> {
        let n = shipper_number.trim().to_ascii_uppercase();
        self.accounts.iter().find(|a| a.config.account_number == n)
    }

    /// The client of the account named `name` (`ups.accounts[].name`; `default` in the
    /// single-account form).
    pub fn by_name(&self, name: &str) -> Option<&UpsClient> {
        self.accounts
            .iter()
            .find(|a| a.config.name == name)
            .map(|a| &self.clients[a.client].client)
    }

    /// The account name to report for a shipper number: the configured account's name, or
    /// the number itself when none is configured for it.
    pub fn name_of(&self, shipper_number: &str) -> String {
        self.account_for(shipper_number)
            .map(|a| a.config.name.clone())
            .unwrap_or_else(|| shipper_number.to_string())
    }

    /// The designated account's client (the first account): tracking, Track Alert,
    /// Quantum View, address validation, `ping`.
    pub fn primary(&self) -> &UpsClient {
        &self.clients[self.accounts[0].client].client
    }

    /// The designated (first) account.
    pub fn primary_account(&self) -> &UpsAccount {
        &self.accounts[0].config
    }

    /// Every distinct client, once, in configuration order (metrics, benchmarks).
    pub fn clients(&self) -> &[ClientEntry] {
        &self.clients
    }

    /// Every account, in configuration order.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Whether `ups.accounts` is used (unknown shipper numbers are refused).
    pub fn is_strict(&self) -> bool {
        self.strict
    }
}

/// A token store that keeps a client id's token and counts under `client_id@scope`, for a
/// client id used against a second base URL.
struct ScopedTokenStore {
    inner: Arc<dyn TokenStore>,
    scope: String,
}

impl ScopedTokenStore {
    fn key(&self, credential: &str) -> String {
        format!("{credential}@{}", self.scope)
    }
}

impl TokenStore for ScopedTokenStore {
    fn load(&self, credential: &str) -> Option<StoredToken> {
        self.inner.load(&self.key(credential))
    }
    fn save(&self, credential: &str, token: &StoredToken) {
        self.inner.save(&self.key(credential), token)
    }
    fn count_token_request(&self, credential: &str, utc_day: chrono::NaiveDate) -> u32 {
        self.inner
            .count_token_request(&self.key(credential), utc_day)
    }
    fn token_requests(&self, credential: &str, utc_day: chrono::NaiveDate) -> u32 {
        self.inner.token_requests(&self.key(credential), utc_day)
    }
    fn begin_fetch<'a>(&'a self, credential: &'a str) -> futures::future::BoxFuture<'a, bool> {
        Box::pin(async move { self.inner.begin_fetch(&self.key(credential)).await })
    }
    fn end_fetch<'a>(&'a self, credential: &'a str) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async move { self.inner.end_fetch(&self.key(credential)).await })
    }
}

/// The UPS client settings of the designated account of a `ups` section.
pub fn ups_client_config(u: &UpsConfig) -> UpsClientConfig {
    let accounts = u.resolved_accounts();
    account_client_config(&accounts[0])
}

/// The UPS client settings of one account. Every field is named (no `..`), so a new
/// setting that nothing reads does not compile.
pub fn account_client_config(a: &UpsAccount) -> UpsClientConfig {
    use crate::ups::ApiQuotas;
    use std::num::NonZeroU32;
    use std::time::Duration;
    let UpsAccount {
        // For messages and the registry only.
        name: _,
        key_path: _,
        // The vault entry and the grant: read by `Accounts::build`.
        credentials: _,
        auth: _,
        account_number,
        base_url,
        label,
        api_versions,
        quotas,
        token_budget_per_day,
        retry,
        timeouts,
        address_cache,
    } = a;
    let mut c = UpsClientConfig::new(base_url.clone(), account_number.clone());
    let crate::config::UpsApiVersions {
        ship,
        rating,
        void,
        address_validation,
        label_recovery,
        track,
    } = api_versions;
    c.versions.ship = ship.clone();
    c.versions.rate = rating.clone();
    c.versions.void = void.clone();
    c.versions.xav = address_validation.clone();
    c.versions.label_recovery = label_recovery.clone();
    c.versions.track = track.clone();
    let crate::config::UpsQuotas {
        oauth_requests_per_second,
        address_validation_requests_per_second,
        rating_requests_per_second,
        shipping_requests_per_second,
        void_requests_per_second,
        label_recovery_requests_per_second,
        tracking_requests_per_second,
        track_alert_requests_per_second,
        all_apis_requests_per_second,
    } = quotas;
    c.quotas = ApiQuotas {
        token: NonZeroU32::new(*oauth_requests_per_second),
        address_validation: NonZeroU32::new(*address_validation_requests_per_second),
        rating: NonZeroU32::new(*rating_requests_per_second),
        ship: NonZeroU32::new(*shipping_requests_per_second),
        void: NonZeroU32::new(*void_requests_per_second),
        label_recovery: NonZeroU32::new(*label_recovery_requests_per_second),
        track: NonZeroU32::new(*tracking_requests_per_second),
        track_alert: NonZeroU32::new(*track_alert_requests_per_second),
        total: all_apis_requests_per_second.and_then(NonZeroU32::new),
    };
    let crate::config::UpsRetryPolicy {
        max_attempts,
        initial_backoff_ms,
        max_backoff_ms,
    } = retry;
    c.retry.max_attempts = (*max_attempts).max(1);
    c.retry.base_delay = Duration::from_millis(*initial_backoff_ms);
    c.retry.max_delay = Duration::from_millis(*max_backoff_ms);
    let crate::config::UpsTimeouts {
        connect_timeout_seconds,
        request_timeout_seconds,
        ship_timeout_seconds,
    } = timeouts;
    c.connect_timeout = Some(Duration::from_secs((*connect_timeout_seconds).max(1)));
    c.request_timeout = Some(Duration::from_secs((*request_timeout_seconds).max(1)));
    c.ship_timeout = Some(Duration::from_secs((*ship_timeout_seconds).max(1)));
    c.token_budget_per_day = *token_budget_per_day;
    let crate::config::UpsLabelConfig {
        // Deprecated, no effect: the mapping names the format; `check` warns.
        format: _,
        stock_height_inches,
        stock_width_inches,
    } = label;
    // The stock sent with labels whose mapping names none (GIF/PNG; thermal mappings must
    // name their stock).
    c.label.stock_size = (
        (*stock_height_inches).min(255) as u8,
        (*stock_width_inches).min(255) as u8,
    );
    let crate::config::UpsAddressCacheConfig {
        entries,
        max_age_hours,
    } = address_cache;
    c.address_cache_entries = *entries;
    c.address_cache_max_age = Duration::from_secs(u64::from(*max_age_hours) * 3600);
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ups::MemoryTokenStore;

    fn account(name: &str, number: &str, base_url: &str) -> UpsAccount {
        let mut a = UpsConfig {
            account_number: Some(number.into()),
            ..serde_norway::from_str("account_number: \"000000\"").unwrap()
        }
        .resolved_accounts()
        .remove(0);
        a.name = name.into();
        a.base_url = base_url.into();
        a
    }

    /// One client per (OAuth client, host): accounts of one client share it (one token,
    /// one budget), different clients never do; a client id on a second host keeps its
    /// token under its own key. Unknown numbers have no client with `ups.accounts`, and the
    /// one client in the single-account form.
    #[test]
    fn one_client_per_oauth_client_and_host() {
        let store = Arc::new(MemoryTokenStore::new());
        let creds = |id: &str| UpsCredentials::new(id, "secret");
        let specs = vec![
            (account("east", "123X56", "http://a"), creds("one")),
            (account("east2", "111111", "http://a"), creds("one")),
            (account("west", "456Y78", "http://a"), creds("two")),
            (account("lab", "222222", "http://b"), creds("one")),
        ];
        let a = Accounts::from_specs(specs, store.clone(), true).unwrap();
        assert_eq!(a.clients().len(), 3);
        assert_eq!(a.clients()[0].accounts, ["east", "east2"]);
        assert_eq!(a.client_for("111111").unwrap().credential(), "one");
        assert_eq!(a.client_for("456y78").unwrap().credential(), "two");
        assert_eq!(a.by_name("lab").unwrap().config().base_url, "http://b");
        assert!(a.client_for("999999").is_none());
        assert_eq!(a.name_of("999999"), "999999");
        assert_eq!(a.primary().credential(), "one");
        let scoped = ScopedTokenStore {
            inner: store.clone(),
            scope: "http://b".into(),
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        scoped.count_token_request("one", day);
        assert_eq!(store.token_requests("one", day), 0);
        assert_eq!(store.token_requests("one@http://b", day), 1);

        let single = vec![(account("default", "123X56", "http://a"), creds("one"))];
        let a = Accounts::from_specs(single, store, false).unwrap();
        assert_eq!(a.client_for("456Y78").unwrap().credential(), "one");
    }
}
