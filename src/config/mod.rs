//! Configuration: `config/upsync.yaml` (or `--config FILE`) plus `UPSYNC__SECTION__KEY`
//! environment overrides, read with the `config` crate into the serde structs of
//! [`model`], and `upsync check`.
//!
//! * [`model`]: what may be configured (every field documented, units in names,
//!   `deny_unknown_fields`); [`defaults`]: every default in one place.
//! * [`load`]: for the daemon: the validated [`Config`] or the full [`CheckReport`].
//! * [`check_config`]: for `upsync check`: every problem at once, including whether the
//!   named credentials exist in the vault.
//! * [`cron`]: 5- or 6-field cron → the 6-field form tokio-cron-scheduler wants.
//!
//! Environment overrides: `UPSYNC__UPS__ACCOUNT_NUMBER=123X56` sets `ups.account_number`;
//! `__` separates levels, names are case-insensitive. List entries (`connectors`) cannot be
//! overridden from the environment. `UPSYNC_STATE_DIR` (single underscore) is read by the
//! store, not here.
//!
//! Paths in the file (`state_dir`, connector `profile`/`mapping`, label directories) are
//! relative to the directory of the configuration file; [`load`] resolves them.
//!
//! Never put a secret in this file: secrets live in the vault (`upsync creds set NAME`) and
//! the configuration only names them.

pub mod accounts;
pub mod check;
pub mod checkout;
pub mod cron;
pub mod defaults;
pub mod dispatch;
pub mod guard;
pub mod model;
mod shape;
pub mod store;

use std::path::{Path, PathBuf};

pub use accounts::{UpsAccount, IMPLICIT_ACCOUNT};
pub use check::{check_config, CheckReport, Problem};
pub use checkout::{CheckoutConfig, CheckoutFallback, CheckoutFallbackService, CheckoutShipFrom};
pub use dispatch::{DispatchConfig, PickupMode, PickupsConfig, SiteConfig};
pub use model::*;

/// Load and validate the configuration for the daemon (every check of `upsync check`
/// except credentials presence, which the daemon verifies itself when it opens the vault).
/// Paths are resolved against the file's directory and connector schedules normalised to
/// the 6-field form.
pub fn load(path: &Path) -> Result<Config, CheckReport> {
    let (config, report) = check::analyse(path, None);
    match config {
        Some(config) if report.problems.is_empty() => Ok(config),
        _ => Err(report),
    }
}

/// The configured `state_dir` (resolved against the config file's directory), read
/// leniently: commands such as `creds` must work before the rest of the configuration is
/// valid, or without a configuration file at all (`Ok(None)`). `UPSYNC__STATE_DIR`
/// overrides the file; `store::state_dir` then applies `UPSYNC_STATE_DIR` and the default.
/// A file that exists but is not YAML, or whose `state_dir` is not a string, is an error
/// (guessing would put secrets into the wrong store).
pub fn configured_state_dir(config_file: &Path) -> Result<Option<PathBuf>, String> {
    let base = base_dir(config_file);
    let from_env = std::env::var_os(format!(
        "{}{}STATE_DIR",
        defaults::ENV_PREFIX,
        defaults::ENV_SEPARATOR
    ))
    .filter(|v| !v.is_empty())
    .map(PathBuf::from);
    if let Some(p) = from_env {
        return Ok(Some(resolve(&base, &p)));
    }
    if !config_file.exists() {
        return Ok(None);
    }
    let v = guard::load_yaml_file(config_file)
        .map(|(_, v)| v)
        .map_err(|e| {
            format!(
                "{} {e}; fix it (`upsync check` shows every problem) or set UPSYNC_STATE_DIR",
                config_file.display()
            )
        })?;
    match v.get("state_dir") {
        None | Some(serde_norway::Value::Null) => Ok(None),
        Some(serde_norway::Value::String(s)) => Ok(Some(resolve(&base, Path::new(s)))),
        Some(_) => Err(format!(
            "{}: state_dir must be a path (a string)",
            config_file.display()
        )),
    }
}

/// The directory relative paths in `config_file` are resolved against.
pub fn base_dir(config_file: &Path) -> PathBuf {
    match config_file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `path` as written in the config, resolved against the config file's directory.
pub fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

impl Config {
    /// Resolve relative paths and normalise schedules (done by [`load`]; schedules that do
    /// not parse are left as written, `check` reports them).
    pub(crate) fn finish(&mut self, base: &Path) {
        if let Some(dir) = &self.state_dir {
            self.state_dir = Some(resolve(base, dir));
        }
        for c in &mut self.connectors {
            c.profile = resolve(base, &c.profile);
            c.mapping = resolve(base, &c.mapping);
            if let Ok(s) = cron::normalise(&c.schedule) {
                c.schedule = s.six_field;
            }
            if let LabelSinkConfig::Directory { path } = &mut c.label_sink {
                *path = resolve(base, path);
            }
        }
    }

    /// The connector named `name`.
    pub fn connector(&self, name: &str) -> Option<&ConnectorConfig> {
        self.connectors.iter().find(|c| c.name == name)
    }

    /// Every vault entry this configuration names, with the key path naming it.
    pub fn credential_names(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = if self.ups.accounts.is_empty() {
            vec![("ups.credentials".to_string(), self.ups.credentials.clone())]
        } else {
            self.ups
                .accounts
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    (
                        format!("ups.accounts[{i}].credentials"),
                        a.credentials.clone(),
                    )
                })
                .collect()
        };
        for (i, c) in self.connectors.iter().enumerate() {
            out.push((
                format!("connectors[{i}].credentials"),
                c.credentials.clone(),
            ));
            if let Some(p) = &c.push {
                out.push((format!("connectors[{i}].push.secret"), p.secret.clone()));
            }
        }
        if self.tracking.mode == TrackingMode::TrackAlert {
            out.push((
                "tracking.track_alert.credentials".to_string(),
                self.tracking.track_alert.credentials.clone(),
            ));
        }
        out.extend(self.events.credential_names());
        if self.console.enabled {
            out.push((
                "console.admin_token".to_string(),
                self.console.admin_token.clone(),
            ));
        }
        if self.checkout.bind.is_some() {
            out.push((
                "checkout.api_token".to_string(),
                self.checkout.api_token.clone(),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    fn minimal(dir: &Path) -> PathBuf {
        write(
            dir,
            "profiles/acu.yaml",
            crate::app::world::ACUMATICA_PROFILE,
        );
        write(dir, "maps/acu.yaml", crate::app::world::ACUMATICA_MAPPING);
        write(
            dir,
            "conf/upsync.yaml",
            "ups:\n  account_number: \"123X56\"\nconnectors:\n  - name: acu\n    type: acumatica\n    profile: ../profiles/acu.yaml\n    mapping: ../maps/acu.yaml\n    schedule: \"*/5 * * * *\"\n    credentials: acu\n",
        )
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_fill_what_the_file_leaves_out_and_paths_resolve_against_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = minimal(tmp.path());
        let (cfg, report) = check::analyse(&path, Some(env(&[])));
        assert!(report.problems.is_empty(), "{report}");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.ups.token_budget_per_day, 250);
        assert_eq!(cfg.pipeline.retention_days, 120);
        assert_eq!(cfg.http.listen, "127.0.0.1:8080");
        assert_eq!(cfg.ups.credentials, "ups");
        let c = &cfg.connectors[0];
        assert_eq!(c.schedule, "0 */5 * * * *");
        assert_eq!(c.profile, tmp.path().join("conf/../profiles/acu.yaml"));
        assert_eq!(c.label_sink, LabelSinkConfig::None);
    }

    #[test]
    fn environment_overrides_file_values_and_fills_missing_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let path = minimal(tmp.path());
        let (cfg, report) = check::analyse(
            &path,
            Some(env(&[
                ("UPSYNC__UPS__ACCOUNT_NUMBER", "456Y78"),
                ("UPSYNC__UPS__QUOTAS__SHIPPING_REQUESTS_PER_SECOND", "2"),
                ("upsync__pipeline__retention_days", "30"),
                ("UPSYNC__TRACKING__MODE", "track_alert"),
                (
                    "UPSYNC__TRACKING__TRACK_ALERT__WEBHOOK_PUBLIC_URL",
                    "https://upsync.example.com/webhooks/ups/track-alert",
                ),
                ("UPSYNC__HTTP__LISTEN", "0.0.0.0:9090"),
                // Not ours (single underscore): ignored by the config loader.
                ("UPSYNC_STATE_DIR", "/nowhere"),
            ])),
        );
        assert!(report.problems.is_empty(), "{report}");
        let cfg = cfg.unwrap();
        assert_eq!(cfg.ups.account_number.as_deref(), Some("456Y78"));
        assert_eq!(cfg.ups.quotas.shipping_requests_per_second, 2);
        assert_eq!(cfg.ups.quotas.rating_requests_per_second, 10);
        assert_eq!(cfg.pipeline.retention_days, 30);
        assert_eq!(cfg.tracking.mode, TrackingMode::TrackAlert);
        assert_eq!(cfg.http.listen, "0.0.0.0:9090");
        assert_eq!(cfg.state_dir, None);
    }

    #[test]
    fn a_typo_in_an_environment_override_is_reported_with_the_variable_name() {
        let tmp = tempfile::tempdir().unwrap();
        let path = minimal(tmp.path());
        let (_cfg, report) = check::analyse(
            &path,
            Some(env(&[
                ("UPSYNC__UPS__ACOUNT_NUMBER", "456Y78"),
                ("UPSYNC__PIPELINE__RETENTION_DAYS", "forever"),
            ])),
        );
        let text = report.to_string();
        assert!(text.contains("ups.acount_number"), "{text}");
        assert!(text.contains("UPSYNC__UPS__ACOUNT_NUMBER"), "{text}");
        assert!(text.contains("pipeline.retention_days"), "{text}");
        assert_eq!(report.problems.len(), 2, "{text}");
    }

    #[test]
    fn effective_base_url_prefers_the_explicit_url() {
        let tmp = tempfile::tempdir().unwrap();
        let path = minimal(tmp.path());
        let (cfg, _) = check::analyse(&path, Some(env(&[])));
        let mut cfg = cfg.unwrap();
        assert_eq!(cfg.ups.effective_base_url(), "https://wwwcie.ups.com");
        cfg.ups.environment = UpsEnvironment::Production;
        assert_eq!(cfg.ups.effective_base_url(), "https://onlinetools.ups.com");
        cfg.ups.base_url = Some("http://127.0.0.1:9001/".into());
        assert_eq!(cfg.ups.effective_base_url(), "http://127.0.0.1:9001");
    }
}
