//! The UPS accounts of a configuration, resolved: `ups.accounts[]` with the `ups:` section's
//! settings filled in, or — in the single-account form (`ups.account_number`,
//! `ups.credentials`) — one implicit account named [`IMPLICIT_ACCOUNT`].
//!
//! Pure: no vault, no I/O. The assembly (`app/accounts.rs`) builds one UPS client per OAuth
//! client from these; `check` validates them (`check/accounts.rs`).

use super::defaults as d;
use super::model::{
    UpsAccountConfig, UpsAddressCacheConfig, UpsApiVersions, UpsAuth, UpsConfig, UpsEnvironment,
    UpsLabelConfig, UpsQuotas, UpsRetryPolicy, UpsTimeouts,
};

/// The name of the one account the single-account form defines.
pub const IMPLICIT_ACCOUNT: &str = "default";

/// One UPS account with every setting decided.
#[derive(Debug, Clone, PartialEq)]
pub struct UpsAccount {
    /// `ups.accounts[].name`, or [`IMPLICIT_ACCOUNT`].
    pub name: String,
    /// Shipper number, upper case.
    pub account_number: String,
    /// Vault entry of the OAuth client (and, for the authorization code, its tokens).
    pub credentials: String,
    /// How the client gets its tokens.
    pub auth: UpsAuth,
    /// Host root the client talks to.
    pub base_url: String,
    pub api_versions: UpsApiVersions,
    pub quotas: UpsQuotas,
    pub token_budget_per_day: u32,
    pub retry: UpsRetryPolicy,
    pub timeouts: UpsTimeouts,
    /// Shared by every account (`ups.label`).
    pub label: UpsLabelConfig,
    /// Shared by every account (`ups.address_cache`).
    pub address_cache: UpsAddressCacheConfig,
    /// Key path of the entry, for messages (`ups.accounts[1]`, or `ups` for the implicit one).
    pub key_path: String,
}

fn host_of(env: UpsEnvironment) -> String {
    match env {
        UpsEnvironment::Sandbox => d::UPS_SANDBOX_URL.to_string(),
        UpsEnvironment::Production => d::UPS_PRODUCTION_URL.to_string(),
    }
}

impl UpsConfig {
    /// Whether the single-account keys are in use (`ups.account_number` set).
    pub fn uses_single_account_form(&self) -> bool {
        self.account_number.is_some()
    }

    /// The accounts this configuration defines, in order (the first is the designated one
    /// for tracking and address validation). With both forms at once (a `check` error),
    /// `accounts` wins.
    pub fn resolved_accounts(&self) -> Vec<UpsAccount> {
        if self.accounts.is_empty() {
            return vec![UpsAccount {
                name: IMPLICIT_ACCOUNT.to_string(),
                account_number: self
                    .account_number
                    .clone()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_uppercase(),
                credentials: self.credentials.clone(),
                auth: self.auth,
                base_url: self.effective_base_url(),
                api_versions: self.api_versions.clone(),
                quotas: self.quotas.clone(),
                token_budget_per_day: self.token_budget_per_day,
                retry: self.retry.clone(),
                timeouts: self.timeouts.clone(),
                label: self.label.clone(),
                address_cache: self.address_cache.clone(),
                key_path: "ups".to_string(),
            }];
        }
        self.accounts
            .iter()
            .enumerate()
            .map(|(i, a)| self.resolve(i, a))
            .collect()
    }

    fn resolve(&self, i: usize, a: &UpsAccountConfig) -> UpsAccount {
        let UpsAccountConfig {
            name,
            account_number,
            credentials,
            auth,
            environment,
            base_url,
            token_budget_per_day,
            quotas,
            api_versions,
            timeouts,
            retry,
        } = a;
        let base_url = match (base_url, environment) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Some(env)) => host_of(*env),
            (None, None) => self.effective_base_url(),
        };
        UpsAccount {
            name: name.clone(),
            account_number: account_number.trim().to_ascii_uppercase(),
            credentials: credentials.clone(),
            auth: auth.unwrap_or(self.auth),
            base_url,
            api_versions: api_versions
                .clone()
                .unwrap_or_else(|| self.api_versions.clone()),
            quotas: quotas.clone().unwrap_or_else(|| self.quotas.clone()),
            token_budget_per_day: token_budget_per_day.unwrap_or(self.token_budget_per_day),
            retry: retry.clone().unwrap_or_else(|| self.retry.clone()),
            timeouts: timeouts.clone().unwrap_or_else(|| self.timeouts.clone()),
            label: self.label.clone(),
            address_cache: self.address_cache.clone(),
            key_path: format!("ups.accounts[{i}]"),
        }
    }

    /// The account whose shipper number is `shipper_number` (case-insensitive).
    pub fn account_by_number(&self, shipper_number: &str) -> Option<UpsAccount> {
        let n = shipper_number.trim().to_ascii_uppercase();
        self.resolved_accounts()
            .into_iter()
            .find(|a| a.account_number == n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ups(yaml: &str) -> UpsConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    /// The single-account keys define one implicit account with the section's settings.
    #[test]
    fn single_account_form_is_one_implicit_account() {
        let u = ups("account_number: \"123x56\"\ncredentials: ups\ntoken_budget_per_day: 9\n");
        let a = u.resolved_accounts();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].name, IMPLICIT_ACCOUNT);
        assert_eq!(a[0].account_number, "123X56");
        assert_eq!(a[0].token_budget_per_day, 9);
        assert_eq!(a[0].base_url, d::UPS_SANDBOX_URL);
    }

    /// Accounts inherit the section's settings and override what they set.
    #[test]
    fn accounts_inherit_and_override() {
        let u = ups(r#"
environment: production
token_budget_per_day: 100
quotas: {shipping_requests_per_second: 4}
accounts:
  - {name: east, account_number: 123X56, credentials: ups-east}
  - {name: west, account_number: 456Y78, credentials: ups-west, environment: sandbox, token_budget_per_day: 7, quotas: {shipping_requests_per_second: 2}}
  - {name: lab, account_number: 789Z12, credentials: ups-lab, base_url: "http://127.0.0.1:9/"}
"#);
        let a = u.resolved_accounts();
        assert_eq!(a[0].base_url, d::UPS_PRODUCTION_URL);
        assert_eq!(a[0].token_budget_per_day, 100);
        assert_eq!(a[0].quotas.shipping_requests_per_second, 4);
        assert_eq!(a[1].base_url, d::UPS_SANDBOX_URL);
        assert_eq!(a[1].token_budget_per_day, 7);
        assert_eq!(a[1].quotas.shipping_requests_per_second, 2);
        assert_eq!(a[2].base_url, "http://127.0.0.1:9");
        assert_eq!(a[1].key_path, "ups.accounts[1]");
        assert_eq!(u.account_by_number("456y78").unwrap().name, "west");
        assert!(u.account_by_number("999999").is_none());
    }
}
