//! `check` pass 5: every vault entry the configuration names exists (entry names and
//! field names only; values are never read into the report).

#[allow(unused_imports)]
use super::*;

// ------------------------------------------------------------------ pass 5: credentials

/// Every credentials name the configuration uses must exist in the vault (names and field
/// names only; values are never read into the report).
pub(super) fn check_credentials(config: &Config, report: &mut CheckReport) {
    let file = report.file.clone();
    use crate::store::creds::VaultUnavailable;
    // The configured store: the sled state directory, or the PostgreSQL database.
    let present = match crate::app::wiring::store_location(config)
        .map_err(|e| VaultUnavailable::NotHere(e.to_string()))
        .and_then(|l| crate::store::creds::present_credentials_at(&l))
    {
        Ok(p) => p,
        Err(VaultUnavailable::NotHere(why)) => {
            // A pre-flight that passes here would start a service that then fails.
            report.problem(
                &file,
                "",
                format!("credentials could not be checked: {why}"),
                "run `upsync check` where the master key and the state directory are available (as the upsync user), or pass --no-credentials to skip this pass",
            );
            return;
        }
        Err(VaultUnavailable::Broken(why)) => {
            report.problem(
                &file,
                "",
                format!("the vault cannot be opened, so upsync could not start: {why}"),
                "fix the master key (the one the state was created with, mode 600) as the message says",
            );
            return;
        }
    };
    let mut checked = 0;
    for (key_path, name) in config.credential_names() {
        checked += 1;
        match present.entries.get(&name) {
            None => report.problem(
                &file,
                key_path,
                format!("credentials `{name}` are not in the vault (store {})", present.dir.display()),
                format!("store them with `upsync creds set {name} < {name}.json` (one JSON object of string fields)"),
            ),
            Some(Err(why)) => report.problem(&file, key_path, format!("credentials `{name}` cannot be read: {why}"), format!("set them again with `upsync creds set {name}`")),
            Some(Ok(fields))
                if key_path == "ups.credentials"
                    || (key_path.starts_with("ups.accounts[")) =>
            {
                for need in ["client_id", "client_secret"] {
                    if !fields.iter().any(|f| f == need) {
                        report.problem(&file, key_path.clone(), format!("credentials `{name}` have no `{need}` field (UPS OAuth needs client_id and client_secret)"), format!("set them again with `upsync creds set {name}` including `{need}`"));
                    }
                }
                if authorization_code(config, &key_path)
                    && !["refresh_token", "refresh_token_expires_at"]
                        .iter()
                        .all(|need| fields.iter().any(|f| f == need))
                {
                    report.problem(&file, key_path.clone(), format!("credentials `{name}` hold no UPS authorization yet (no refresh token): the account uses `auth: authorization_code`"), format!("log in with the shipper's UPS account: `upsync creds authorize ups {name}`"));
                }
            }
            Some(Ok(fields))
                if (key_path.starts_with("events.webhooks[") || key_path.ends_with(".push.secret"))
                    && !fields.iter().any(|f| f == "secret") =>
            {
                report.problem(&file, key_path.clone(), format!("credentials `{name}` have no `secret` field (the webhook's signing secret, or the push's shared secret)"), format!("set them again with `upsync creds set {name}` as {{\"secret\": \"…\"}}"));
            }
            Some(Ok(fields))
                if key_path == "console.admin_token" && !fields.iter().any(|f| f == "token") =>
            {
                report.problem(&file, key_path.clone(), format!("credentials `{name}` have no `token` field (the console's admin token)"), format!("set them with `upsync creds set {name}` as {{\"token\": \"<at least 16 random characters>\"}}"));
            }
            Some(Ok(fields))
                if key_path == "checkout.api_token" && !fields.iter().any(|f| f == "token") =>
            {
                report.problem(&file, key_path.clone(), format!("credentials `{name}` have no `token` field (the checkout API token)"), format!("set them again with `upsync creds set {name}` as {{\"token\": \"…\"}}"));
            }
            Some(Ok(_)) => {}
        }
    }
    report
        .notes
        .push(format!("{checked} credentials references checked"));
}

/// Whether the UPS account at `key_path` (`ups.credentials`, `ups.accounts[i].credentials`)
/// uses the authorization-code grant.
fn authorization_code(config: &Config, key_path: &str) -> bool {
    use crate::config::UpsAuth::AuthorizationCode;
    if key_path == "ups.credentials" {
        return config.ups.accounts.is_empty() && config.ups.auth == AuthorizationCode;
    }
    key_path
        .strip_prefix("ups.accounts[")
        .and_then(|r| r.split(']').next())
        .and_then(|i| i.parse::<usize>().ok())
        .and_then(|i| config.ups.resolved_accounts().into_iter().nth(i))
        .is_some_and(|a| a.auth == AuthorizationCode)
}
