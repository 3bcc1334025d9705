//! `upsync creds set NAME [--expires-at DATE] | list | info [NAME] | rm NAME |
//! authorize ups NAME [--paste]`: manage encrypted credentials in the vault
//! ([`crate::store::creds::Credentials`]); `authorize` is the shipper's UPS login for an
//! authorization-code account ([`crate::app::authorize`]).
//!
//! Must never: print, log or put in an error message a credential value, or echo what was
//! read on stdin (JSON parse errors report line and column only).

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use chrono::SecondsFormat;

use crate::cli::Globals;
use crate::store::creds::{check_name, open_configured, Credentials, CredsError, MAX_INPUT_BYTES};
use crate::store::{Store, Tree};

#[derive(Debug, clap::Subcommand)]
pub enum CredsCommand {
    /// Store credentials NAME: reads one JSON object on stdin.
    Set {
        name: String,
        /// When these credentials expire (YYYY-MM-DD = end of that day UTC, or RFC 3339):
        /// reminders start `credentials.expiry_warning_days` before, and the connectors
        /// using them pause once it has passed.
        #[arg(long, value_name = "DATE")]
        expires_at: Option<String>,
    },
    /// Credential health: per entry its kind, what uses it, fields (never values), update
    /// time, expiry, and for UPS OAuth clients the token held and today's token requests.
    Info { name: Option<String> },
    /// List credential names, field names and update times (never values).
    List,
    /// Authorize upsync to ship for a UPS account with the shipper's UPS login (OAuth
    /// authorization code): prints the UPS login URL, takes the redirect on a loopback
    /// port (or the pasted address with --paste), and stores the access and refresh tokens
    /// encrypted in NAME (which must already hold the UPS app's client_id and
    /// client_secret). Stop the daemon first (it holds the store).
    Authorize {
        /// The provider: `ups`.
        provider: AuthProvider,
        /// Vault entry of the account (`credentials:` of an account with
        /// `auth: authorization_code`).
        name: String,
        /// Read the address the browser lands on (or the code) from stdin instead of
        /// listening on a loopback port.
        #[arg(long)]
        paste: bool,
        /// Loopback port of the one-shot listener; the redirect URI is
        /// http://127.0.0.1:PORT/callback (0 = a free port; register the URI with the UPS app).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// With --paste: the redirect URI registered with the UPS app.
        #[arg(long, value_name = "URI")]
        redirect_uri: Option<String>,
        /// Do not use PKCE (the plain flow with the client secret only).
        #[arg(long)]
        no_pkce: bool,
        /// OAuth scope to request (UPS: optional).
        #[arg(long)]
        scope: Option<String>,
        /// How long to wait for the login, in seconds.
        #[arg(long, default_value_t = 600)]
        timeout_seconds: u64,
    },
    /// Remove credentials NAME.
    Rm { name: String },
}

/// Who to authorize with.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum AuthProvider {
    Ups,
}

/// Open the store named by the configuration (or `UPSYNC_STATE_DIR`) with the master key.
fn open_store(g: &Globals) -> Result<Store, CredsError> {
    open_configured(&g.config)
}

/// `upsync creds …`.
pub async fn run(g: &Globals, cmd: CredsCommand) -> anyhow::Result<ExitCode> {
    if let CredsCommand::Authorize {
        provider: AuthProvider::Ups,
        name,
        paste,
        port,
        redirect_uri,
        no_pkce,
        scope,
        timeout_seconds,
    } = cmd
    {
        let opts = crate::app::authorize::AuthorizeOptions {
            paste,
            port,
            redirect_uri,
            pkce: !no_pkce,
            scope,
            timeout: std::time::Duration::from_secs(timeout_seconds),
        };
        return authorize(g, &name, &opts).await;
    }
    let g = g.clone();
    let result = tokio::task::spawn_blocking(move || match cmd {
        CredsCommand::Set { name, expires_at } => set(&g, &name, expires_at.as_deref()),
        CredsCommand::Info { name } => info(&g, name.as_deref()),
        CredsCommand::List => list(&g),
        CredsCommand::Rm { name } => rm(&g, &name),
        CredsCommand::Authorize { .. } => unreachable!("handled above"),
    })
    .await?;
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!(
                "upsync creds: {}",
                crate::app::credentials::explain_open_error(&e)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn authorize(
    g: &Globals,
    name: &str,
    opts: &crate::app::authorize::AuthorizeOptions,
) -> anyhow::Result<ExitCode> {
    let cfg = match crate::config::load(&g.config) {
        Ok(c) => c,
        Err(r) => {
            eprintln!(
                "upsync creds: the configuration {} does not load (see `upsync check`):\n{r}",
                g.config.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut out = std::io::stdout();
    match crate::app::authorize::authorize(&g.config, &cfg, name, opts, &mut stdin, &mut out).await
    {
        Ok(a) => {
            let t = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
            println!(
                "authorized `{name}`: access token until {}, refresh token until {} (stored encrypted in the vault; upsync refreshes them){}",
                t(a.access_expires_at),
                t(a.refresh_expires_at),
                if a.state_unchecked {
                    "; a bare code was pasted, so `state` could not be checked"
                } else {
                    ""
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("upsync creds authorize: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn set(g: &Globals, name: &str, expires_at: Option<&str>) -> Result<(), CredsError> {
    check_name(name)?;
    let expires_at = expires_at
        .map(crate::app::credentials::parse_expiry)
        .transpose()
        .map_err(CredsError::Invalid)?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Paste one JSON object of string fields for `{name}`, then press Ctrl-D:");
    }
    let mut input = String::new();
    stdin
        .lock()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut input)
        .map_err(CredsError::Stdin)?;
    if input.len() as u64 > MAX_INPUT_BYTES {
        zeroize::Zeroize::zeroize(&mut input);
        return Err(CredsError::TooLarge);
    }
    let parsed = Credentials::parse(&input);
    zeroize::Zeroize::zeroize(&mut input);
    let creds = parsed?;
    // A certificate carried in the entry (NetSuite M2M `certificate_pem`) gives the date.
    let from_cert = creds
        .get("certificate_pem")
        .and_then(crate::app::cert::not_after);
    let expires_at = expires_at.or(from_cert);
    let store = open_store(g)?;
    creds.save(&store, name)?;
    crate::store::creds::CredentialMeta { expires_at }.save(&store, name)?;
    store.flush()?;
    let fields: Vec<&str> = creds.fields.keys().map(String::as_str).collect();
    println!(
        "stored credentials `{name}` (fields: {})",
        fields.join(", ")
    );
    if let Some(at) = from_cert.filter(|c| expires_at == Some(*c)) {
        println!(
            "the certificate is valid until {}: reminders start before then",
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    Ok(())
}

fn list(g: &Globals) -> Result<(), CredsError> {
    let store = open_store(g)?;
    let names = store.vault()?.keys(Tree::Credentials)?;
    if names.is_empty() {
        println!("no credentials stored; add some with `upsync creds set NAME < secret.json`");
        return Ok(());
    }
    let width = names.iter().map(String::len).max().unwrap_or(4).max(4);
    println!("{:<width$}  {:<20}  FIELDS", "NAME", "UPDATED (UTC)");
    for name in names {
        match Credentials::load(&store, &name) {
            Ok(Some(c)) => {
                let fields: Vec<&str> = c.fields.keys().map(String::as_str).collect();
                println!(
                    "{name:<width$}  {:<20}  {}",
                    c.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    fields.join(", ")
                );
            }
            Ok(None) => {}
            Err(e) => println!("{name:<width$}  {:<20}  unreadable: {e}", "-"),
        }
    }
    Ok(())
}

fn info(g: &Globals, only: Option<&str>) -> Result<(), CredsError> {
    use crate::app::credentials::{inventory, ExpiryState};
    let cfg = crate::config::load(&g.config).map_err(|r| {
        CredsError::Invalid(format!(
            "the configuration {} does not load (see `upsync check`):\n{r}",
            g.config.display()
        ))
    })?;
    let store = open_store(g)?;
    let now = chrono::Utc::now();
    let all = inventory(&cfg, &store, now);
    let shown: Vec<_> = all
        .iter()
        .filter(|c| only.is_none_or(|n| n == c.name))
        .collect();
    if shown.is_empty() {
        return Err(CredsError::NotFound(only.unwrap_or("any").to_string()));
    }
    let t = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
    for c in shown {
        println!("{}", c.name);
        println!("  kind       {}", c.kind);
        println!(
            "  used by    {}",
            if c.used_by.is_empty() {
                "nothing in this configuration".to_string()
            } else {
                c.used_by.join(", ")
            }
        );
        if !c.fields.is_empty() {
            println!("  fields     {}", c.fields.join(", "));
        }
        if let Some(u) = c.updated_at {
            println!("  updated    {}", t(u));
        }
        println!(
            "  last used  {}",
            c.last_used
                .map(|u| format!("{} (last successful use)", t(u)))
                .unwrap_or_else(|| "never recorded".into())
        );
        if let Some(r) = &c.refresh {
            println!(
                "  refresh    token until {}, refreshed {} times; {}",
                t(r.expires_at),
                r.refresh_count,
                match r.renewable {
                    Some(true) => "UPS extends it on refresh: upsync renews it before it ends",
                    Some(false) => "UPS does not extend it: authorize again before it ends",
                    None => "not refreshed yet",
                }
            );
        }
        let expiry = match (c.state, c.expires_at) {
            (ExpiryState::Missing, _) => {
                format!("MISSING from the vault: `upsync creds set {}`", c.name)
            }
            (s, Some(at)) => {
                let days = (at - now).num_days();
                let fix = if c.refresh.is_some() {
                    format!(": run `upsync creds authorize ups {}` again", c.name)
                } else {
                    String::new()
                };
                match s {
                    ExpiryState::Expired => {
                        format!("EXPIRED {} ({} days ago){fix}", t(at), -days)
                    }
                    ExpiryState::Expiring if c.refresh.is_some() => {
                        format!("expiring {} (in {days} days){fix}", t(at))
                    }
                    ExpiryState::Expiring => {
                        format!("expiring {} (in {days} days): renew it", t(at))
                    }
                    _ => format!("{} (in {days} days)", t(at)),
                }
            }
            (s, None) => format!(
                "{} (set one with `upsync creds set {} --expires-at DATE`)",
                s.as_str(),
                c.name
            ),
        };
        println!("  expires    {expiry}");
        if let Some(tok) = &c.token {
            let left = (tok.expires_at - now).num_minutes();
            println!(
                "  token      issued {}, expires {} ({}), {} of {} token requests today",
                t(tok.issued_at),
                t(tok.expires_at),
                if left > 0 {
                    format!("{left} min left")
                } else {
                    "expired; the next call gets a new one".into()
                },
                tok.requests_today,
                tok.budget_per_day
            );
            println!(
                "  lifetime   {} min as UPS set it: at least {} token requests a day{}",
                (tok.expires_at - tok.issued_at).num_minutes(),
                tok.needed_per_day,
                if tok.needed_per_day > tok.budget_per_day {
                    " (MORE than the budget: raise the token budget)"
                } else {
                    ", within the budget"
                }
            );
        }
    }
    Ok(())
}

fn rm(g: &Globals, name: &str) -> Result<(), CredsError> {
    check_name(name)?;
    let store = open_store(g)?;
    if !store.vault()?.remove(Tree::Credentials, name)? {
        return Err(CredsError::NotFound(name.to_string()));
    }
    store.flush()?;
    println!("removed credentials `{name}`");
    Ok(())
}
