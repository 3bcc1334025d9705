//! The console's routes and handlers: the guard in front of everything (session or login
//! page), the pages, and the two actions (replay, void).
//!
//! Routes (all under `/console/`; job ids contain `/`, so they travel as `?id=`):
//!
//! | route | what |
//! |---|---|
//! | `GET /console/login`, `POST /console/login` | the login form; `token` field |
//! | `POST /console/logout` | ends the session |
//! | `GET /console/` | overview |
//! | `GET /console/jobs?state=&status=&connector=&q=` | jobs (≤ 500 shown) |
//! | `GET /console/job?id=` | a job: failure and fix, timeline, audit trail, actions |
//! | `GET /console/dead-letters` | the dead-letter queue with replay / void |
//! | `GET /console/tracking` | tracking exceptions |
//! | `POST /console/actions/replay`, `POST /console/actions/void` | `id`, `csrf` fields |
//! | `GET /console/pickups` | on-call pickups (site, date, PRN, state, shipments) |
//! | `POST /console/actions/cancel-pickup` | `id` (the PRN), `csrf` fields |
//!
//! Without a session a `GET` is redirected (303) to the login page and anything else is
//! 401. Every answer carries `Cache-Control: no-store` and a strict CSP (no scripts).

use std::sync::{Arc, OnceLock};

use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Environment};
use serde::Deserialize;

use super::auth::{self, Session, Sessions};
use super::{ConsoleBackend, ConsoleSettings, JobQuery};

// The pickups page and its cancel button; a child module, so it shares the helpers.
#[path = "pickups.rs"]
mod pickups;

/// Jobs shown on one page at most.
const JOBS_SHOWN: usize = 500;

/// Shared by the handlers.
#[derive(Clone)]
pub struct ConsoleState {
    backend: Arc<dyn ConsoleBackend>,
    settings: Arc<ConsoleSettings>,
    sessions: Arc<Sessions>,
}

impl ConsoleState {
    pub fn new(backend: Arc<dyn ConsoleBackend>, settings: ConsoleSettings) -> ConsoleState {
        ConsoleState {
            sessions: Arc::new(Sessions::new(settings.session_idle)),
            settings: Arc::new(settings),
            backend,
        }
    }
}

/// The router of the console.
pub fn routes(state: ConsoleState) -> Router {
    let guarded = Router::new()
        .route("/console/", get(overview))
        .route("/console/jobs", get(jobs))
        .route("/console/job", get(job))
        .route("/console/dead-letters", get(dead_letters))
        .route("/console/tracking", get(tracking))
        .route("/console/actions/replay", post(replay))
        .route("/console/actions/void", post(void))
        .route("/console/pickups", get(pickups::page_pickups))
        .route(
            "/console/actions/cancel-pickup",
            post(pickups::cancel_pickup),
        )
        .route("/console/logout", post(logout))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard));
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/login", get(login_page).post(login))
        .merge(guarded)
        .layer(axum::middleware::from_fn(harden_headers))
        .with_state(state)
}

/// The templates, compiled once.
fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, text) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("overview.html", include_str!("templates/overview.html")),
            ("jobs.html", include_str!("templates/jobs.html")),
            ("job.html", include_str!("templates/job.html")),
            (
                "dead_letters.html",
                include_str!("templates/dead_letters.html"),
            ),
            ("tracking.html", include_str!("templates/tracking.html")),
            ("pickups.html", include_str!("templates/pickups.html")),
            ("not_found.html", include_str!("templates/not_found.html")),
        ] {
            env.add_template(name, text)
                .expect("the console's templates are valid (a unit test renders each)");
        }
        env
    })
}

fn render(name: &str, ctx: minijinja::Value) -> Response {
    match templates().get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "console template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "console page failed; see the log",
            )
                .into_response()
        }
    }
}

/// Security headers on every answer.
async fn harden_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    res
}

/// No session: `GET` → the login page (with where to go back), anything else → 401.
async fn guard(State(st): State<ConsoleState>, mut req: Request, next: Next) -> Response {
    let session = auth::session_cookie(req.headers()).and_then(|id| st.sessions.touch(&id));
    match session {
        Some(s) => {
            req.extensions_mut().insert(s);
            next.run(req).await
        }
        None if req.method() == Method::GET => {
            let next_path = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_default();
            let target = format!(
                "/console/login?next={}",
                url::form_urlencoded::byte_serialize(next_path.as_bytes()).collect::<String>()
            );
            Redirect::to(&target).into_response()
        }
        None => (StatusCode::UNAUTHORIZED, "log in first: /console/login").into_response(),
    }
}

#[derive(Deserialize, Default)]
struct LoginQuery {
    #[serde(default)]
    next: Option<String>,
}

async fn login_page(Query(q): Query<LoginQuery>) -> Response {
    render(
        "login.html",
        context! { next => safe_next(q.next.as_deref()), error => None::<String> },
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login(State(st): State<ConsoleState>, Form(f): Form<LoginForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    if !st.sessions.login_allowed() {
        let mut r = render(
            "login.html",
            context! { next => next, error => "Too many wrong tokens: wait a minute." },
        );
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return r;
    }
    if !auth::token_matches(&f.token, &st.settings.admin_token) {
        st.sessions.note_failure();
        tracing::warn!("console: a login with a wrong admin token");
        let mut r = render(
            "login.html",
            context! { next => next, error => "That is not the admin token." },
        );
        *r.status_mut() = StatusCode::UNAUTHORIZED;
        return r;
    }
    let s = st.sessions.create();
    tracing::info!("console: admin logged in");
    let mut r = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::set_cookie(&s.id, st.settings.secure_cookie)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Where to go after login: a console path only (never another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") && !n.contains('\\') => {
            n.to_string()
        }
        _ => "/console/".to_string(),
    }
}

#[derive(Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    id: String,
}

async fn logout(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<ActionForm>,
) -> Response {
    if !auth::csrf_ok(&s, f.csrf.as_deref()) {
        return csrf_refused();
    }
    st.sessions.remove(&s.id);
    let mut r = Redirect::to("/console/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::clear_cookie(st.settings.secure_cookie)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn csrf_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "refused: the form's CSRF token is missing or stale; reload the page and try again",
    )
        .into_response()
}

/// The common part of every page's context.
fn page(s: &Session, active: &str) -> minijinja::Value {
    context! { csrf => s.csrf.clone(), flash => s.flash.clone(), active => active }
}

async fn overview(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    match st.backend.overview() {
        Ok(o) => render("overview.html", context! { o => o, ..page(&s, "overview") }),
        Err(e) => failed(&s, &e),
    }
}

async fn jobs(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Query(q): Query<JobQuery>,
) -> Response {
    let q = q.normalised();
    match st.backend.jobs(&q, JOBS_SHOWN + 1) {
        Ok(mut rows) => {
            let more = rows.len() > JOBS_SHOWN;
            rows.truncate(JOBS_SHOWN);
            render(
                "jobs.html",
                context! { rows => rows, more => more, shown => JOBS_SHOWN,
                connectors => st.backend.connectors(),
                states => crate::pipeline::JobState::ALL.map(|x| x.as_str()),
                statuses => crate::model::Milestone::ALL.map(|x| x.as_str()),
                state => q.state, status => q.status, connector => q.connector, q => q.q, ..page(&s, "jobs") },
            )
        }
        Err(e) => failed(&s, &e),
    }
}

#[derive(Deserialize)]
struct IdQuery {
    #[serde(default)]
    id: String,
}

async fn job(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Query(q): Query<IdQuery>,
) -> Response {
    match st.backend.job(&q.id) {
        Ok(Some(j)) => render("job.html", context! { j => j, ..page(&s, "jobs") }),
        Ok(None) => {
            let mut r = render(
                "not_found.html",
                context! { what => format!("no job {}", q.id), ..page(&s, "") },
            );
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
        Err(e) => failed(&s, &e),
    }
}

async fn dead_letters(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    match st.backend.dead_letters() {
        Ok(rows) => render(
            "dead_letters.html",
            context! { rows => rows, ..page(&s, "dead-letters") },
        ),
        Err(e) => failed(&s, &e),
    }
}

async fn tracking(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
) -> Response {
    match st.backend.tracking_exceptions() {
        Ok(rows) => render(
            "tracking.html",
            context! { rows => rows, ..page(&s, "tracking") },
        ),
        Err(e) => failed(&s, &e),
    }
}

/// The two buttons: the same operations as `upsync jobs replay|void`.
#[derive(Clone, Copy)]
enum Action {
    Replay,
    Void,
}

async fn replay(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<ActionForm>,
) -> Response {
    act(st, s, f, Action::Replay).await
}

async fn void(
    State(st): State<ConsoleState>,
    axum::Extension(s): axum::Extension<Session>,
    Form(f): Form<ActionForm>,
) -> Response {
    act(st, s, f, Action::Void).await
}

/// Check the CSRF token, run the action, leave its outcome for the next page: the
/// dead-letter queue after a replay, the job after a void.
async fn act(st: ConsoleState, s: Session, f: ActionForm, action: Action) -> Response {
    if !auth::csrf_ok(&s, f.csrf.as_deref()) {
        return csrf_refused();
    }
    let (done, verb, result) = match action {
        Action::Replay => ("Replayed", "Replay", st.backend.replay(&f.id).await),
        Action::Void => ("Voided", "Void", st.backend.void(&f.id).await),
    };
    let msg = match result {
        Ok(state) => format!("{done} {}: it is now {state}.", f.id),
        Err(e) => format!("{verb} of {} failed: {e}", f.id),
    };
    tracing::info!(job = %f.id, outcome = %msg, action = verb, "console action");
    st.sessions.flash(&s.id, msg);
    match action {
        Action::Replay => Redirect::to("/console/dead-letters").into_response(),
        Action::Void => Redirect::to(&format!(
            "/console/job?id={}",
            url::form_urlencoded::byte_serialize(f.id.as_bytes()).collect::<String>()
        ))
        .into_response(),
    }
}

async fn not_found(axum::Extension(s): axum::Extension<Session>) -> Response {
    let mut r = render(
        "not_found.html",
        context! { what => "no such console page", ..page(&s, "") },
    );
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

fn failed(s: &Session, e: &str) -> Response {
    let mut r = render(
        "not_found.html",
        context! { what => format!("could not read the store: {e}"), ..page(s, "") },
    );
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_never_leaves_the_console() {
        assert_eq!(
            safe_next(Some("/console/jobs?state=failed")),
            "/console/jobs?state=failed"
        );
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/");
        assert_eq!(safe_next(Some("//evil.example/console/")), "/console/");
        assert_eq!(safe_next(Some("/console//evil.example")), "/console/");
        assert_eq!(safe_next(None), "/console/");
    }

    #[test]
    fn every_template_compiles() {
        for name in templates()
            .templates()
            .map(|(n, _)| n.to_string())
            .collect::<Vec<_>>()
        {
            assert!(templates().get_template(&name).is_ok(), "{name}");
        }
        assert_eq!(templates().templates().count(), 9);
    }
}
