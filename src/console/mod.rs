//! The admin console (issue 21): server-rendered pages under `/console/`, on an address of
//! their own (`console.listen`, loopback by default), for the integration admin who would
//! otherwise read logs and run CLI commands.
//!
//! * Pages ([`pages`]): overview (connectors with last cycle, next run, backlog and errors;
//!   the UPS token budget), jobs (filter by state, tracking status and connector; search by
//!   ERP number or 1Z), one job's timeline and audit trail, dead letters with reason, code
//!   and fix and the **replay** and **void** buttons, tracking exceptions.
//! * Login ([`auth`]): the admin token from the vault (`console.admin_token` names the
//!   entry) is the one password; a session cookie (HttpOnly, SameSite=Strict, `Secure` when
//!   configured) and a per-session CSRF token on every form that acts.
//! * What the pages read and do goes through [`ConsoleBackend`]; `app::console` implements
//!   it over the running daemon, so the buttons are the very operations of `upsync jobs
//!   replay|void`.
//! * Templates live in `templates/` (minijinja, embedded at build time, HTML auto-escaped).
//!   No JavaScript and no front-end build step.
//!
//! Must never: answer anything but the login page (or a redirect to it) without a session;
//! act on a POST without the session's CSRF token; show a secret, an address or a label.

pub mod auth;
pub mod pages;

use std::sync::Arc;

use axum::Router;
use serde::Serialize;

/// One connector on the overview.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectorRow {
    pub name: String,
    pub kind: String,
    /// When its last cycle ended (RFC 3339), if one ran since start.
    pub last_cycle: Option<String>,
    /// What that cycle did, or its error.
    pub last_outcome: Option<String>,
    /// The next scheduled run (RFC 3339).
    pub next_run: Option<String>,
    /// Jobs still being worked on (not finished, not dead-lettered).
    pub backlog: i64,
    /// Jobs in the dead-letter queue.
    pub failed: i64,
    /// Why it is paused, if it is.
    pub paused: Option<String>,
}

/// One UPS OAuth client's token budget.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TokenBudgetRow {
    pub client: String,
    pub used_today: u32,
    pub budget_per_day: u32,
    pub warning: bool,
}

/// A credential the configuration uses, with its expiry.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CredentialRow {
    pub name: String,
    pub kind: String,
    /// `valid`, `expiring`, `EXPIRED`, `MISSING` or `no expiry set`.
    pub state: String,
    pub expires_at: Option<String>,
    /// Days left (negative once expired).
    pub days_left: Option<i64>,
}

/// The overview page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overview {
    pub connectors: Vec<ConnectorRow>,
    pub token_budgets: Vec<TokenBudgetRow>,
    pub credentials: Vec<CredentialRow>,
    pub dead_letters: usize,
    pub tracking_exceptions: usize,
}

/// Which jobs the jobs page lists.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct JobQuery {
    /// A ledger state (`failed`, `tracking`, …).
    #[serde(default)]
    pub state: Option<String>,
    /// A tracking status (`delivered`, `exception`, … or `trouble`).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub connector: Option<String>,
    /// An ERP document number or a 1Z (exact, case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
}

impl JobQuery {
    /// Empty strings (an unselected `<select>`) mean "any".
    pub fn normalised(mut self) -> JobQuery {
        for f in [
            &mut self.state,
            &mut self.status,
            &mut self.connector,
            &mut self.q,
        ] {
            if f.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *f = None;
            }
        }
        self
    }
}

/// One job in a list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobRow {
    pub id: String,
    pub connector: String,
    pub number: String,
    pub state: String,
    /// Its tracking status, once tracking registered it.
    pub status: Option<String>,
    pub tracking_numbers: Vec<String>,
    /// The failure, conflict or shipment id, as `jobs list` shows it.
    pub detail: String,
    pub updated_at: String,
}

/// One step of a job's timeline.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TimelineRow {
    pub at: String,
    pub from: String,
    pub to: String,
    pub note: String,
}

/// A failure with what to do about it (the error-code registry's fix).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FailureView {
    pub code: String,
    pub message: String,
    pub fix: String,
    pub at: String,
}

/// One job's page.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobDetail {
    pub row: JobRow,
    pub failure: Option<FailureView>,
    pub timeline: Vec<TimelineRow>,
    /// The external calls recorded for it (JSON, one per line).
    pub audit: Vec<String>,
    /// The statuses written to the ERP, in order.
    pub status_history: Vec<String>,
    pub can_replay: bool,
    pub can_void: bool,
}

/// One dead letter.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeadLetterRow {
    pub job_id: String,
    pub connector: String,
    pub number: String,
    pub failure: FailureView,
    /// It has a label at UPS (void is offered).
    pub shipped: bool,
}

/// One on-call pickup (the pickups page).
#[derive(Debug, Clone, Default, Serialize)]
pub struct PickupRow {
    pub site: String,
    pub date: String,
    pub prn: Option<String>,
    /// `open`, `requesting` (in doubt), `booked`, `cancelled`, `failed`.
    pub state: String,
    /// ERP document numbers it covers (voided ones marked).
    pub shipments: Vec<String>,
    pub packages: u32,
    pub weight_lbs: String,
    /// The latest history entry.
    pub last_note: String,
    /// Booked with a PRN: the cancel button is offered.
    pub can_cancel: bool,
}

/// What the console reads and does. Errors are messages for the admin (they are shown
/// on the page).
#[async_trait::async_trait]
pub trait ConsoleBackend: Send + Sync {
    fn overview(&self) -> Result<Overview, String>;
    fn connectors(&self) -> Vec<String>;
    fn jobs(&self, q: &JobQuery, limit: usize) -> Result<Vec<JobRow>, String>;
    fn job(&self, id: &str) -> Result<Option<JobDetail>, String>;
    fn dead_letters(&self) -> Result<Vec<DeadLetterRow>, String>;
    /// Jobs whose tracking status needs a person (exception, attempted, not found, …).
    fn tracking_exceptions(&self) -> Result<Vec<JobRow>, String>;
    /// `upsync jobs replay ID`; the job's state afterwards.
    async fn replay(&self, id: &str) -> Result<String, String>;
    /// `upsync jobs void ID`; the job's state afterwards.
    async fn void(&self, id: &str) -> Result<String, String>;
    /// On-call pickups, newest day first (`upsync pickups list`).
    fn pickups(&self) -> Result<Vec<PickupRow>, String> {
        Ok(Vec::new())
    }
    /// `upsync pickups cancel PRN`; the pickup's state afterwards.
    async fn cancel_pickup(&self, prn: &str) -> Result<String, String> {
        Err(format!("pickup {prn}: no dispatch configured"))
    }
}

/// How the console's cookie and sessions behave (`Debug` never shows the token).
#[derive(Clone)]
pub struct ConsoleSettings {
    /// The admin token (from the vault).
    pub admin_token: zeroize::Zeroizing<String>,
    pub session_idle: std::time::Duration,
    pub secure_cookie: bool,
}

impl std::fmt::Debug for ConsoleSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSettings")
            .field("admin_token", &"<redacted>")
            .field("session_idle", &self.session_idle)
            .field("secure_cookie", &self.secure_cookie)
            .finish()
    }
}

/// The console's routes (everything under `/console/`), over `backend`.
pub fn router(backend: Arc<dyn ConsoleBackend>, settings: ConsoleSettings) -> Router {
    let state = pages::ConsoleState::new(backend, settings);
    pages::routes(state)
}

/// Where the admin token must come from: a readable reason when it is unusable.
pub fn admin_token_from_fields(
    entry: &str,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<zeroize::Zeroizing<String>, String> {
    let fix = format!(
        "set it with `echo '{{\"token\": \"<at least 16 random characters>\"}}' | upsync creds set {entry}`"
    );
    match fields.get("token").and_then(|v| v.as_str()) {
        Some(t) if t.chars().count() >= auth::MIN_TOKEN_CHARS => {
            Ok(zeroize::Zeroizing::new(t.to_string()))
        }
        Some(_) => Err(format!(
            "console admin token '{entry}' is shorter than {} characters; {fix}",
            auth::MIN_TOKEN_CHARS
        )),
        None => Err(format!(
            "credentials '{entry}' have no `token` field for the console; {fix}"
        )),
    }
}
