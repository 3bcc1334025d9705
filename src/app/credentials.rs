//! Credential health (issue 21): what each vault entry is, what uses it, when it expires,
//! and for UPS OAuth clients the token they hold and today's token requests. Never a
//! secret: only names, field names, dates and counts.
//!
//! * [`inventory`]: every entry of the vault and every entry the configuration names
//!   (`upsync creds info`, the console's overview, the metric).
//! * Reminders: `credentials.expiry_warning_days` (default 7) before an entry's
//!   `expires_at` (set with `upsync creds set NAME --expires-at DATE`) it is `expiring`: a
//!   warning in the log ([`warn_expiring`], at start and every 6 hours), the gauge
//!   `upsync_credential_expiry_seconds{name}` (seconds left, negative once expired) and the
//!   console. Entries the configuration does not use stay silent.
//! * Once expired, the connectors that use it (its own login, or the UPS client every
//!   connector ships with) pause with the reason instead of failing every call
//!   ([`arm`] hands the dates to the pipeline; the pause shows in `/readyz` and the console).
//! * A UPS **authorization** (`auth: authorization_code`): its `expires_at` is read from the
//!   credential — the refresh token's end, which the client renews while it can (the
//!   reminder starts only once it can no longer: UPS did not extend it on refresh, or the
//!   renewal point passed); once over the connectors pause with "run `upsync creds
//!   authorize ups NAME` again", read afresh each cycle so a new authorization resumes them.
//! * Last successful use: a connector's login when a cycle read its source, a UPS client's
//!   last token (obtained at), an authorization when it was stored.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::app::adapters::token_store::{stored_token, token_requests_on};
use crate::config::Config;
use crate::store::creds::{CredentialMeta, CredentialUse, Credentials, CredsError};
use crate::store::{Store, Tree};

/// Where an entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryState {
    /// No expiry date is known.
    NoDate,
    Valid,
    /// Within the warning window.
    Expiring,
    Expired,
    /// Named by the configuration but not in the vault.
    Missing,
}

impl ExpiryState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpiryState::NoDate => "no expiry set",
            ExpiryState::Valid => "valid",
            ExpiryState::Expiring => "expiring",
            ExpiryState::Expired => "EXPIRED",
            ExpiryState::Missing => "MISSING",
        }
    }
}

/// The UPS token an OAuth client entry holds.
#[derive(Debug, Clone, Serialize)]
pub struct TokenInfo {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Token requests today (UTC): each one is a refresh.
    pub requests_today: u32,
    pub budget_per_day: u32,
    /// The fewest token requests a day at this token's lifetime (UPS sets it: 4 h → 6,
    /// 1 h → 24).
    pub needed_per_day: u32,
}

/// One vault entry, as `creds info` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CredentialInfo {
    pub name: String,
    /// What it is, from what uses it.
    pub kind: String,
    /// Configuration keys naming it (empty: unused).
    pub used_by: Vec<String>,
    /// Field names (never values); empty when the vault could not be read.
    pub fields: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub state: ExpiryState,
    pub token: Option<TokenInfo>,
    /// The last successful use known (see the module docs).
    pub last_used: Option<DateTime<Utc>>,
    /// A UPS authorization's refresh token.
    pub refresh: Option<RefreshInfo>,
}

/// The refresh token of a UPS authorization (dates and counts only).
#[derive(Debug, Clone, Serialize)]
pub struct RefreshInfo {
    pub expires_at: DateTime<Utc>,
    pub refresh_count: u32,
    /// Whether UPS extends it on refresh (`None`: not refreshed yet).
    pub renewable: Option<bool>,
}

/// A `creds …` store error in words an admin can act on: the running daemon holds the
/// store's lock, so say so and what to do instead.
pub fn explain_open_error(e: &CredsError) -> String {
    let text = e.to_string();
    if text.contains("in use by another upsync process") {
        return "the state directory is in use by the running daemon (its database allows one process at a time): \
                stop the daemon (`systemctl stop upsync`) and run this again, or run it against a copy of the state \
                (a backup restored elsewhere, with UPSYNC_STATE_DIR pointing at it); the daemon's console \
                (`/console/`, overview) shows credential expiry while it runs"
            .into();
    }
    text
}

/// Record that entry `name` was used successfully at `at`.
pub fn record_use(store: &Store, name: &str, at: DateTime<Utc>) {
    CredentialUse::record(store, name, at);
}

/// Whether the UPS account behind key path `path` uses the authorization-code grant.
fn is_authorization(path: &str, cfg: &Config) -> bool {
    use crate::config::UpsAuth::AuthorizationCode;
    if path == "ups.credentials" {
        return cfg.ups.auth == AuthorizationCode && cfg.ups.accounts.is_empty();
    }
    path.strip_prefix("ups.accounts[")
        .and_then(|r| r.split(']').next())
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| cfg.ups.resolved_accounts().into_iter().nth(i))
        .is_some_and(|a| a.auth == AuthorizationCode)
}

fn kind_of(path: &str, cfg: &Config) -> String {
    if path == "ups.credentials"
        || (path.starts_with("ups.accounts[") && path.ends_with(".credentials"))
    {
        if is_authorization(path, cfg) {
            return "UPS OAuth authorization (authorization code)".into();
        }
        return "UPS OAuth client (client credentials)".into();
    }
    if let Some(rest) = path.strip_prefix("connectors[") {
        let i: usize = rest
            .split(']')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if let Some(c) = cfg.connectors.get(i) {
            if path.ends_with(".push.secret") {
                return format!("push notification secret (connector {})", c.name);
            }
            return format!("{} login (connector {})", c.kind.as_str(), c.name);
        }
    }
    if path.starts_with("tracking.track_alert") {
        return "UPS Track Alert webhook credential".into();
    }
    if path.starts_with("events.webhooks") {
        return "outbound webhook signing secret".into();
    }
    if path.starts_with("console.") {
        return "console admin token".into();
    }
    "other".into()
}

/// The state of an expiry date at `now`.
pub fn state_of(
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    warn_days: u32,
) -> ExpiryState {
    match expires_at {
        None => ExpiryState::NoDate,
        Some(t) if t <= now => ExpiryState::Expired,
        Some(t) if t - now <= Duration::days(i64::from(warn_days)) => ExpiryState::Expiring,
        Some(_) => ExpiryState::Valid,
    }
}

/// Every vault entry and every entry the configuration names, by name. Reads the vault
/// when the store has the master key (field names, update time, tokens); dates and counts
/// need no key.
pub fn inventory(cfg: &Config, store: &Store, now: DateTime<Utc>) -> Vec<CredentialInfo> {
    let uses = cfg.credential_names();
    let mut names: std::collections::BTreeSet<String> =
        uses.iter().map(|(_, n)| n.clone()).collect();
    let vault = store.vault().ok();
    if let Some(v) = &vault {
        names.extend(v.keys(Tree::Credentials).unwrap_or_default());
    }
    let warn = cfg.credentials.expiry_warning_days;
    names
        .into_iter()
        .filter(|n| !n.is_empty())
        .map(|name| {
            let used_by: Vec<String> = uses
                .iter()
                .filter(|(_, n)| *n == name)
                .map(|(p, _)| p.clone())
                .collect();
            let creds = vault
                .as_ref()
                .and_then(|_| Credentials::load(store, &name).ok().flatten());
            let meta = CredentialMeta::load(store, &name).unwrap_or_default();
            let present = creds.is_some()
                || vault
                    .as_ref()
                    .is_none_or(|v| v.get(Tree::Credentials, &name).ok().flatten().is_some());
            let ups_paths: Vec<&String> = used_by
                .iter()
                .filter(|p| kind_of(p, cfg).starts_with("UPS OAuth"))
                .collect();
            let authorization = ups_paths.iter().any(|p| is_authorization(p, cfg));
            let granted = creds
                .as_ref()
                .filter(|_| authorization)
                .and_then(crate::app::adapters::grant_store::tokens_of);
            let state = match (&granted, present) {
                (_, false) => ExpiryState::Missing,
                // The client renews a renewable refresh token itself: no reminder before
                // its renewal point.
                (Some(g), true)
                    if g.renew_at(renew_before(cfg)).is_some_and(|at| now < at)
                        && g.refresh_expires_at > now =>
                {
                    ExpiryState::Valid
                }
                (_, true) => state_of(meta.expires_at, now, warn),
            };
            let client_id = (!ups_paths.is_empty())
                .then(|| creds.as_ref().and_then(|c| c.get("client_id")))
                .flatten();
            let held = match &granted {
                Some(g) => Some(crate::ups::StoredToken {
                    access_token: String::new(),
                    obtained_at: g.access_obtained_at,
                    expires_in_seconds: g.access_expires_in_seconds,
                }),
                None => client_id.and_then(|id| stored_token(store, id)),
            };
            let last_used = [
                CredentialUse::last(store, &name),
                held.as_ref().map(|t| t.obtained_at),
            ]
            .into_iter()
            .flatten()
            .max();
            let token = match (vault, client_id) {
                (Some(_), Some(id)) => held.map(|t| TokenInfo {
                    issued_at: t.obtained_at,
                    expires_at: t.obtained_at + Duration::seconds(t.expires_in_seconds as i64),
                    requests_today: token_requests_on(store, id, Utc::now().date_naive()),
                    budget_per_day: budget_of(cfg, &ups_paths),
                    needed_per_day: crate::ups::auth::tokens_per_day(t.expires_in_seconds),
                }),
                _ => None,
            };
            CredentialInfo {
                kind: used_by
                    .first()
                    .map(|p| kind_of(p, cfg))
                    .unwrap_or_else(|| "unused by this configuration".into()),
                fields: creds
                    .as_ref()
                    .map(|c| c.fields.keys().cloned().collect())
                    .unwrap_or_default(),
                updated_at: creds.as_ref().map(|c| c.updated_at),
                expires_at: meta.expires_at,
                state,
                token,
                last_used,
                refresh: granted.map(|g| RefreshInfo {
                    expires_at: g.refresh_expires_at,
                    refresh_count: g.refresh_count,
                    renewable: g.renewable,
                }),
                used_by,
                name,
            }
        })
        .collect()
}

fn renew_before(cfg: &Config) -> Duration {
    Duration::hours(i64::from(cfg.ups.refresh_token_renew_before_hours))
}

/// The daily token budget of the UPS client behind these key paths (an account's own, or
/// the `ups` section's).
fn budget_of(cfg: &Config, paths: &[&String]) -> u32 {
    paths
        .iter()
        .filter_map(|p| {
            let i: usize = p
                .strip_prefix("ups.accounts[")?
                .split(']')
                .next()?
                .parse()
                .ok()?;
            cfg.ups.accounts.get(i)?.token_budget_per_day
        })
        .next()
        .unwrap_or(cfg.ups.token_budget_per_day)
}

/// The expiry dates of the entries the configuration uses (no vault read: for `/metrics`).
pub fn used_expiry_dates(cfg: &Config, store: &Store) -> Vec<(String, DateTime<Utc>)> {
    let mut names: Vec<String> = cfg.credential_names().into_iter().map(|(_, n)| n).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|n| {
            let at = CredentialMeta::load(store, &n).ok()?.expires_at?;
            Some((n, at))
        })
        .collect()
}

/// Log a warning for every used entry that is expiring or expired (unused ones stay
/// silent). Returns how many were warned about.
pub fn warn_expiring(cfg: &Config, store: &Store, now: DateTime<Utc>) -> usize {
    let mut n = 0;
    for c in inventory(cfg, store, now) {
        if c.used_by.is_empty() {
            continue;
        }
        match (c.state, c.expires_at) {
            (ExpiryState::Expiring, Some(at)) => {
                n += 1;
                if c.refresh.is_some() {
                    tracing::warn!(
                        credential = %c.name,
                        expires_at = %at.to_rfc3339(),
                        days_left = (at - now).num_days(),
                        used_by = %c.used_by.join(", "),
                        "the UPS authorization ends soon and cannot be renewed by refresh; run `upsync creds authorize ups {}` again before then",
                        c.name
                    );
                    continue;
                }
                tracing::warn!(
                    credential = %c.name,
                    expires_at = %at.to_rfc3339(),
                    days_left = (at - now).num_days(),
                    used_by = %c.used_by.join(", "),
                    "credentials expire soon; renew them and store them with `upsync creds set NAME --expires-at DATE`"
                );
            }
            (ExpiryState::Expired, Some(at)) => {
                n += 1;
                tracing::error!(
                    credential = %c.name,
                    expired_at = %at.to_rfc3339(),
                    used_by = %c.used_by.join(", "),
                    "credentials have expired; the connectors using them are paused until they are renewed"
                );
            }
            _ => {}
        }
    }
    n
}

/// Hand each connector the expiry dates of the entries it depends on (its own login and
/// the UPS client), so its cycle pauses once one has passed.
pub fn arm(cfg: &Config, store: &std::sync::Arc<Store>, pipeline: &crate::pipeline::Pipeline) {
    let date = |name: &str| {
        CredentialMeta::load(store, name)
            .ok()
            .and_then(|m| m.expires_at)
    };
    // The UPS clients every connector may ship through (an expired one stops the
    // shipments routed to it; pausing the connector is the honest whole answer).
    let names = cfg.credential_names();
    let ups: Vec<(String, DateTime<Utc>)> = names
        .iter()
        .filter(|(p, _)| kind_of(p, cfg).starts_with("UPS OAuth") && !is_authorization(p, cfg))
        .filter_map(|(_, n)| date(n).map(|t| (n.clone(), t)))
        .collect();
    // Authorizations: the end moves (renewed on refresh, replaced by a new authorization),
    // so it is read from the entry's metadata at every cycle.
    let mut granted: Vec<String> = names
        .iter()
        .filter(|(p, _)| is_authorization(p, cfg))
        .map(|(_, n)| n.clone())
        .collect();
    granted.sort();
    granted.dedup();
    let deadlines: Vec<crate::pipeline::engine::CredentialDeadline> = granted
        .into_iter()
        .map(|name| {
            let store = store.clone();
            let n = name.clone();
            crate::pipeline::engine::CredentialDeadline {
                fix: crate::ups::authcode::fix(&name),
                name,
                expires_at: std::sync::Arc::new(move || {
                    CredentialMeta::load(&store, &n)
                        .ok()
                        .and_then(|m| m.expires_at)
                }),
            }
        })
        .collect();
    for conn in pipeline.connectors() {
        let mut dates: Vec<(String, DateTime<Utc>)> = ups.clone();
        if let Some(c) = cfg.connector(&conn.name) {
            if let Some(t) = date(&c.credentials) {
                dates.push((c.credentials.clone(), t));
            }
            conn.health.set_own_credential(Some(c.credentials.clone()));
        }
        conn.health.set_credential_expiry(dates);
        conn.health.set_credential_deadlines(deadlines.clone());
    }
}

/// Parse `--expires-at`: a date (`2027-03-31`, end of that day UTC) or an RFC 3339 time.
pub fn parse_expiry(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            format!(
                "`{s}` is not a date: use YYYY-MM-DD (end of that day, UTC) or an RFC 3339 time"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_follow_the_warning_window() {
        let now = parse_expiry("2026-12-06T12:00:00Z").unwrap();
        let at = |d: i64| Some(now + Duration::days(d));
        assert_eq!(state_of(None, now, 7), ExpiryState::NoDate);
        assert_eq!(state_of(at(8), now, 7), ExpiryState::Valid);
        assert_eq!(state_of(at(7), now, 7), ExpiryState::Expiring);
        assert_eq!(state_of(at(1), now, 7), ExpiryState::Expiring);
        assert_eq!(state_of(at(0), now, 7), ExpiryState::Expired);
        assert_eq!(state_of(at(-3), now, 7), ExpiryState::Expired);
        assert_eq!(
            parse_expiry("2027-03-31").unwrap().to_rfc3339(),
            "2027-03-31T23:59:59+00:00"
        );
        assert!(parse_expiry("31/03/2027").is_err());
    }
}
