//! `upsync creds authorize ups NAME`: the shipper's one-time UPS login for an account on the
//! authorization-code grant (`auth: authorization_code`, [`crate::ups::authcode`]).
//!
//! 1. Reads the OAuth client (`client_id`, `client_secret`) from the vault entry NAME and
//!    the base URL of the UPS account(s) using it; the store is closed again while the
//!    shipper logs in.
//! 2. Prints the UPS login URL, with a random `state` and a PKCE S256 challenge (unless
//!    `--no-pkce`).
//! 3. Takes the redirect on a one-shot listener bound to `127.0.0.1:PORT` (its URL is the
//!    `redirect_uri`; `--port 0` picks a free port), or with `--paste` reads the address
//!    the browser landed on (or the bare code) from stdin.
//! 4. Checks `state`, exchanges the code (counted against the client's daily token
//!    budget like any token request), and stores access and refresh tokens and their ends
//!    in the vault entry NAME, encrypted ([`crate::app::adapters::grant_store`]).
//!
//! The store is locked while the daemon runs: stop it first (the error says so).
//! Never prints or logs a code, verifier or token.

use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::config::Config;
use crate::store::creds::{open_configured, Credentials};
use crate::store::Store;
use crate::ups::authcode::{self, Pkce, Redirect};
use crate::ups::{TokenStore, UpsCredentials};

/// What `creds authorize` was asked to do.
#[derive(Debug, Clone)]
pub struct AuthorizeOptions {
    /// Read the redirect (or code) from stdin instead of listening.
    pub paste: bool,
    /// Loopback port of the listener (0: any free port).
    pub port: u16,
    /// The redirect URI registered with the UPS app (`--paste` only; the listener's own
    /// URL otherwise).
    pub redirect_uri: Option<String>,
    pub pkce: bool,
    pub scope: Option<String>,
    /// How long to wait for the login.
    pub timeout: Duration,
}

/// What was stored (dates only).
#[derive(Debug, Clone)]
pub struct Authorized {
    pub access_expires_at: chrono::DateTime<chrono::Utc>,
    pub refresh_expires_at: chrono::DateTime<chrono::Utc>,
    /// The bare code was pasted: no `state` to check.
    pub state_unchecked: bool,
}

fn open(config: &std::path::Path) -> anyhow::Result<Store> {
    open_configured(config).map_err(|e| anyhow!(crate::app::credentials::explain_open_error(&e)))
}

/// The base URL and daily token budget of the account(s) using entry `name`.
fn account_of(cfg: &Config, name: &str) -> anyhow::Result<(String, u32, bool)> {
    let accounts = cfg.ups.resolved_accounts();
    let a = accounts
        .iter()
        .find(|a| a.credentials == name)
        .ok_or_else(|| {
            anyhow!(
                "no UPS account uses credentials `{name}`: set `credentials: {name}` and `auth: authorization_code` on its entry in ups.accounts"
            )
        })?;
    Ok((
        a.base_url.clone(),
        a.token_budget_per_day,
        a.auth == crate::config::UpsAuth::AuthorizationCode,
    ))
}

/// Run the flow. `out` gets the login URL and progress lines; `input` is stdin (`--paste`).
pub async fn authorize(
    config_path: &std::path::Path,
    cfg: &Config,
    name: &str,
    opts: &AuthorizeOptions,
    input: &mut (dyn AsyncBufRead + Unpin + Send),
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<Authorized> {
    crate::store::creds::check_name(name)?;
    let (base_url, budget, configured) = account_of(cfg, name)?;
    if !configured {
        writeln!(
            out,
            "note: the account using `{name}` is not set to `auth: authorization_code` yet; the tokens are stored but not used until it is"
        )?;
    }
    let creds = {
        let store = open(config_path)?;
        let c = Credentials::load(&store, name)?.ok_or_else(|| {
            anyhow!("no credentials named `{name}`: store the UPS app's client first with `upsync creds set {name}` ({{\"client_id\": …, \"client_secret\": …}})")
        })?;
        match (c.get("client_id"), c.get("client_secret")) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {
                UpsCredentials::new(id, secret)
            }
            _ => bail!("credentials `{name}` lack `client_id` or `client_secret`: set them with `upsync creds set {name}`"),
        }
    };
    let state = authcode::random_state();
    let pkce = opts.pkce.then(Pkce::generate);
    let listener = if opts.paste {
        None
    } else {
        if opts.redirect_uri.is_some() {
            bail!("--redirect-uri goes with --paste; without it the redirect URI is the listener's (http://127.0.0.1:PORT/callback, choose PORT with --port)");
        }
        let l = tokio::net::TcpListener::bind(("127.0.0.1", opts.port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{}", opts.port))?;
        Some(l)
    };
    let redirect_uri = match (&listener, &opts.redirect_uri) {
        (Some(l), _) => format!("http://127.0.0.1:{}/callback", l.local_addr()?.port()),
        (None, Some(u)) => u.clone(),
        (None, None) if opts.port != 0 => format!("http://127.0.0.1:{}/callback", opts.port),
        (None, None) => "http://127.0.0.1/callback".to_string(),
    };
    let url = authcode::authorize_url(
        &base_url,
        &creds.client_id,
        &redirect_uri,
        &state,
        opts.scope.as_deref(),
        pkce.as_ref().map(|p| p.challenge.as_str()),
    )?;
    writeln!(
        out,
        "Open this address in a browser and log in with the shipper's UPS account:\n\n  {url}\n"
    )?;
    let redirect = match listener {
        Some(l) => {
            writeln!(out, "Waiting for UPS to redirect to {redirect_uri} …")?;
            out.flush()?;
            tokio::time::timeout(opts.timeout, receive(l))
                .await
                .map_err(|_| {
                    anyhow!(
                        "no redirect within {} s; run the command again",
                        opts.timeout.as_secs()
                    )
                })??
        }
        None => {
            writeln!(out, "Then paste the address the browser shows (it starts with {redirect_uri}), or the code, and press Enter:")?;
            out.flush()?;
            let mut line = String::new();
            tokio::time::timeout(opts.timeout, input.read_line(&mut line))
                .await
                .map_err(|_| anyhow!("nothing pasted within {} s", opts.timeout.as_secs()))??;
            let r = authcode::read_redirect(&line);
            zeroize::Zeroize::zeroize(&mut line);
            r.map_err(|e| anyhow!(e))?
        }
    };
    let state_unchecked = match &redirect.state {
        Some(s) if *s == state => false,
        Some(_) => bail!("the redirect carries another `state` than this login asked for (a stale or forged redirect); nothing was stored, run the command again"),
        None if opts.paste => true,
        None => bail!("the redirect carries no `state`; nothing was stored, run the command again"),
    };
    // The exchange is a token request: count it against the client's daily budget first.
    let store = std::sync::Arc::new(open(config_path)?);
    let counter = crate::app::adapters::VaultTokenStore::new(store.clone());
    let today = chrono::Utc::now().date_naive();
    if counter.token_requests(&creds.client_id, today) >= budget {
        bail!("the UPS client's token budget for today ({budget}) is spent; try again tomorrow (UTC) or raise token_budget_per_day");
    }
    counter.count_token_request(&creds.client_id, today);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let tokens = authcode::exchange_code(
        &http,
        &base_url,
        &creds,
        &redirect.code,
        &redirect_uri,
        pkce.as_ref().map(|p| p.verifier.as_str()),
        chrono::Utc::now(),
    )
    .await?;
    crate::app::adapters::grant_store::save_tokens(&store, name, &tokens)
        .map_err(|e| anyhow!(e))?;
    crate::app::credentials::record_use(&store, name, chrono::Utc::now());
    tracing::info!(credential = %name, refresh_expires_at = %tokens.refresh_expires_at.to_rfc3339(), "stored a UPS authorization");
    Ok(Authorized {
        access_expires_at: tokens.access_expires_at(),
        refresh_expires_at: tokens.refresh_expires_at,
        state_unchecked,
    })
}

/// Serve `GET /callback` once: the first request carrying a code or an error ends it.
async fn receive(listener: tokio::net::TcpListener) -> anyhow::Result<Redirect> {
    use axum::extract::{RawQuery, State};
    use axum::response::Html;
    type Slot = std::sync::Arc<
        tokio::sync::Mutex<Option<tokio::sync::oneshot::Sender<Result<Redirect, String>>>>,
    >;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let slot: Slot = std::sync::Arc::new(tokio::sync::Mutex::new(Some(tx)));
    async fn callback(
        State(slot): State<Slot>,
        RawQuery(q): RawQuery,
    ) -> (axum::http::StatusCode, Html<&'static str>) {
        let r = authcode::read_redirect(&format!("?{}", q.unwrap_or_default()));
        let ok = r.is_ok();
        if let Some(tx) = slot.lock().await.take() {
            let _ = tx.send(r);
        }
        if ok {
            (axum::http::StatusCode::OK, Html("<!doctype html><title>upsync</title><p>upsync received the UPS authorization. You can close this tab and return to the terminal.</p>"))
        } else {
            (axum::http::StatusCode::BAD_REQUEST, Html("<!doctype html><title>upsync</title><p>UPS did not grant access. See the terminal.</p>"))
        }
    }
    let app = axum::Router::new()
        .route("/callback", axum::routing::get(callback))
        .with_state(slot);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    let r = rx
        .await
        .map_err(|_| anyhow!("the listener stopped before a redirect came"));
    // Graceful: the browser gets its page before the listener goes.
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    r?.map_err(|e| anyhow!(e))
}
