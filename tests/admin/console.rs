//! The admin console over HTTP, against the daemon's own assembly on the simulators: a
//! world with good records and dead-lettered ones (a zero-weight package), the console
//! started as `upsync run` starts it, and a plain HTTP client as the browser.
//!
//! What it guards (issue 21 Must show): without the admin token every `/console/` path
//! answers a redirect to the login page (GET) or 401 (anything else); a wrong token is
//! refused and throttled; actions without the session's CSRF token are refused and change
//! nothing; the dead-letter page shows reason, code and fix; replay after the record is
//! fixed ships it exactly once; the session ends at logout.

use std::sync::{Arc, RwLock};

use crate::pipeline_support::*;
use serde_json::json;
use upsync::app::console::RunningConsole;
use upsync::app::wiring::{Assembly, Current};
use upsync::app::world::World;
use upsync::pipeline::{JobState, Ledger};

/// The admin token stored in the test vault.
pub const TOKEN: &str = "console-test-token-0123456789";

/// A world with 2 good and 2 bad Acumatica records, one cycle run, the console serving.
pub struct Setup {
    pub w: World,
    pub current: Current,
    pub console: RunningConsole,
    /// The zero-weight record: (job id, shipment number, Acumatica id, package id).
    pub zero: (String, String, String, serde_json::Value),
    pub base: String,
}

pub async fn setup(dir: &std::path::Path) -> Setup {
    let mut o = options(dir, 2, 0);
    o.bad_records = 2;
    let w = Box::pin(start(o)).await;
    let store = w.open_store().unwrap();
    upsync::store::creds::Credentials {
        fields: [("token".to_string(), TOKEN.to_string())].into(),
        updated_at: chrono::Utc::now(),
    }
    .save(&store, "console-admin")
    .unwrap();
    let a: Assembly = Box::pin(w.assemble(store.clone())).await.unwrap();
    let current: Current = Arc::new(RwLock::new(Arc::new(a)));
    let a = current.read().unwrap().clone();
    for c in a.pipeline.connectors() {
        a.pipeline.run_cycle(c).await.unwrap();
    }
    let acu = &w.acumatica.as_ref().unwrap().state;
    let zero = acu
        .shipments()
        .into_iter()
        .find(|s| {
            s["Packages"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| v(&p["Weight"]).as_f64() == Some(0.0)))
        })
        .expect("an Acumatica seed with a zero-weight package");
    let number = v(&zero["ShipmentNbr"]).as_str().unwrap().to_string();
    let pkg = zero["Packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| v(&p["Weight"]).as_f64() == Some(0.0))
        .unwrap()["id"]
        .clone();
    let dead = a.pipeline.ledger().dead_letters().unwrap();
    let job = dead
        .iter()
        .find(|d| d.number == number)
        .unwrap_or_else(|| panic!("{number} dead-lettered: {dead:?}"))
        .job_id
        .clone();
    let console = upsync::app::console::start(&current, Some("127.0.0.1:0"))
        .await
        .unwrap();
    let base = format!("http://{}", console.addr);
    Setup {
        zero: (job, number, zero["id"].as_str().unwrap().to_string(), pkg),
        w,
        current,
        console,
        base,
    }
}

/// Give the zero-weight package a weight in the simulator (the admin's fix in the ERP).
pub async fn fix_zero_weight(s: &Setup) {
    let url = s.w.acumatica.as_ref().unwrap().base_url.clone();
    sim_post(
        &url,
        "/_sim/acumatica/shipments",
        &json!({"id": s.zero.2, "Packages": [{"id": s.zero.3, "Weight": {"value": 4.5}}]}),
    )
    .await;
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + 64].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_without_a_login_no_action_without_csrf_and_replay_ships_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Box::pin(setup(dir.path())).await;
    let http = client();
    let (job, number, _, _) = s.zero.clone();

    // Without a session: every GET goes to the login page, anything else is 401; a forged
    // cookie is no session.
    let job_q = format!("/console/job?id={}", urlencode(&job));
    for cookie in [None, Some("upsync_console=0000forged")] {
        for path in [
            "/console/",
            "/console/jobs",
            "/console/jobs?state=failed",
            job_q.as_str(),
            "/console/dead-letters",
            "/console/tracking",
            "/console/pickups",
            "/console/no-such-page",
            "/console/actions/replay",
        ] {
            let mut r = http.get(format!("{}{path}", s.base));
            if let Some(c) = cookie {
                r = r.header("cookie", c);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 303, "GET {path} with {cookie:?}");
            let to = r.headers()["location"].to_str().unwrap();
            assert!(to.starts_with("/console/login?next="), "{path} → {to}");
            let body = r.text().await.unwrap();
            assert!(!body.contains(&number), "{path} leaked data: {body}");
        }
        for path in [
            "/console/actions/replay",
            "/console/actions/void",
            "/console/actions/cancel-pickup",
            "/console/logout",
            "/console/jobs",
        ] {
            let mut r = http
                .post(format!("{}{path}", s.base))
                .form(&[("id", job.as_str()), ("csrf", "x")]);
            if let Some(c) = cookie {
                r = r.header("cookie", c);
            }
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 401, "POST {path} with {cookie:?}");
        }
    }
    // The login page itself is public and says what the token is.
    let r = http
        .get(format!("{}/console/login", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert!(r.text().await.unwrap().contains("console.admin_token"));

    // A wrong token: 401, no cookie.
    let r = http
        .post(format!("{}/console/login", s.base))
        .form(&[("token", "not-the-token-at-all"), ("next", "/console/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());

    // The right token: a session cookie (HttpOnly, SameSite=Strict), back to `next`, never
    // to another site.
    let r = http
        .post(format!("{}/console/login", s.base))
        .form(&[("token", TOKEN), ("next", "https://evil.example/")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/console/");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Path=/console"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    let get = |path: String| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let r = http
                .get(&path)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        }
    };

    // The pages render with what the admin needs.
    let (st, overview) = get(format!("{}/console/", s.base)).await;
    assert_eq!(st, 200, "{overview}");
    assert!(
        overview.contains("acumatica") && overview.contains("Next run"),
        "{overview}"
    );
    assert!(
        overview.contains("id=\"dead-letter-count\">2<"),
        "{overview}"
    );
    let (st, dead) = get(format!("{}/console/dead-letters", s.base)).await;
    assert_eq!(st, 200);
    assert!(dead.contains(&number), "{dead}");
    let code = s
        .current
        .read()
        .unwrap()
        .pipeline
        .ledger()
        .get(&job)
        .unwrap()
        .unwrap();
    let code = code.last_error.unwrap().code;
    assert!(code.starts_with("package_weight_"), "{code}");
    assert!(dead.contains(&code), "{dead}");
    let fix = upsync::model::codes::lookup(&code).unwrap().fix;
    assert!(
        dead.contains(&html_escape(fix)),
        "the fix for {code} is shown:\n{dead}"
    );
    let (st, page) = get(format!("{}/console/jobs?state=failed", s.base)).await;
    assert_eq!(st, 200);
    assert!(page.contains(&number), "{page}");
    let (st, page) = get(format!("{}/console/jobs?q={number}", s.base)).await;
    assert_eq!(st, 200);
    assert!(
        page.contains(&number) && page.matches("/console/job?id=").count() == 1,
        "{page}"
    );
    let (st, page) = get(format!("{}{job_q}", s.base)).await;
    assert_eq!(st, 200);
    assert!(
        page.contains("id=\"replay\"") && page.contains("Timeline"),
        "{page}"
    );
    let (st, _) = get(format!("{}/console/tracking", s.base)).await;
    assert_eq!(st, 200);
    let (st, _) = get(format!("{}/console/job?id=nope", s.base)).await;
    assert_eq!(st, 404);
    let (st, pickups) = get(format!("{}/console/pickups", s.base)).await;
    assert_eq!(st, 200, "{pickups}");
    assert!(
        pickups.contains("id=\"pickups\"") && pickups.contains("href=\"/console/pickups\""),
        "{pickups}"
    );
    let csrf = csrf_of(&dead);

    // Actions without the CSRF token, or with another one, are refused and change nothing.
    let ships_before = stat(&s.w.ups.stats(), "ship");
    for form in [
        vec![("id", job.as_str())],
        vec![("id", job.as_str()), ("csrf", "0".repeat(64).leak())],
    ] {
        for action in ["replay", "void", "cancel-pickup"] {
            let r = http
                .post(format!("{}/console/actions/{action}", s.base))
                .header("cookie", &cookie)
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{action} {form:?}");
        }
    }
    let ledger = || -> Ledger { s.current.read().unwrap().pipeline.ledger().clone() };
    assert_eq!(ledger().get(&job).unwrap().unwrap().state, JobState::Failed);
    assert_eq!(stat(&s.w.ups.stats(), "ship"), ships_before);

    // Fixed in the ERP, replayed with the button: shipped once, the queue is empty.
    fix_zero_weight(&s).await;
    let r = http
        .post(format!("{}/console/actions/replay", s.base))
        .header("cookie", &cookie)
        .form(&[("id", job.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, after) = get(format!("{}/console/dead-letters", s.base)).await;
    assert!(
        after.contains("is now tracking"),
        "the outcome is shown:\n{after}"
    );
    assert!(
        !after.contains(&format!("data-number=\"{number}\"")),
        "{after}"
    );
    assert_eq!(stat(&s.w.ups.stats(), "ship"), ships_before + 1);
    assert_eq!(ups_shipments_for(&s.w, &number), (1, 0));
    assert!(ledger()
        .dead_letters()
        .unwrap()
        .iter()
        .all(|d| d.number != number));

    // Logout ends the session: the same cookie is no longer let in.
    let r = http
        .post(format!("{}/console/logout", s.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (st, _) = get(format!("{}/console/", s.base)).await;
    assert_eq!(st, 303);
    s.console.stop().await;
}

/// Guessing is throttled: after 5 wrong tokens in a minute even the right one waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_are_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let s = Box::pin(setup(dir.path())).await;
    let http = client();
    let login = |token: &'static str| {
        let (http, base) = (http.clone(), s.base.clone());
        async move {
            http.post(format!("{base}/console/login"))
                .form(&[("token", token)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for _ in 0..5 {
        assert_eq!(login("wrong-wrong-wrong-wrong").await, 401);
    }
    assert_eq!(login(TOKEN).await, 429);
    s.console.stop().await;
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn html_escape(s: &str) -> String {
    // minijinja's escaping (utils.rs: & < > " ' /).
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}
