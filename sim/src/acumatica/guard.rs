//! Request guards shared by every route: the real error shapes (ERP-NOTES.md §A, §G),
//! fault injection, session and tenant lookup, the licence throttle and the busy-screen rule.

use super::*;

// ---------------------------------------------------------------------------------------
// Shared answers

pub(super) fn http_error(
    status: StatusCode,
    message: &str,
    exception: &str,
    exception_type: &str,
) -> Response {
    (
        status,
        Json(json!({
            "message": message,
            "exceptionMessage": exception,
            "exceptionType": exception_type,
            "stackTrace": "   at PX.Api.ContractBased (simulated)",
        })),
    )
        .into_response()
}

pub(super) fn error_500(exception: &str, exception_type: &str) -> Response {
    http_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "An error has occurred.",
        exception,
        exception_type,
    )
}

pub(super) fn not_logged_in() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "You are not logged in."})),
    )
        .into_response()
}

pub(super) fn licence_429() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "The request has been declined.",
        "The number of requests has exceeded the limit imposed by the license.",
        "PX.Api.ContractBased.RequestLimitExceededException",
    )
}

pub(super) fn login_limit() -> Response {
    http_error(
        StatusCode::TOO_MANY_REQUESTS,
        "An error has occurred.",
        "API Login Limit",
        "PX.Data.PXException",
    )
}

pub(super) fn iis_404() -> Response {
    (
        StatusCode::NOT_FOUND,
        [("content-type", "text/html")],
        "<html><body><h2>404 - File or directory not found.</h2></body></html>",
    )
        .into_response()
}

pub(super) async fn not_found() -> Response {
    iis_404()
}

pub(super) fn bad_request(msg: &str) -> Response {
    http_error(
        StatusCode::BAD_REQUEST,
        msg,
        msg,
        "System.ArgumentException",
    )
}

/// Apply injected faults for `op`: `Ok(drop_after_commit)` to continue, `Err` to answer now.
pub(super) async fn faults(st: &AcuState, op: &str) -> Result<bool, Response> {
    st.core.stats.incr(op);
    let mut drop_after = false;
    for f in st.core.faults.decide(op) {
        match f.kind {
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::Status(429) => {
                st.core.stats.incr(&format!("{op}.429"));
                return Err(licence_429());
            }
            FaultKind::Status(code) => {
                st.core.stats.incr(&format!("{op}.{code}"));
                let s = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(http_error(
                    s,
                    "An error has occurred.",
                    "Simulated failure.",
                    "System.Exception",
                ));
            }
            FaultKind::Reset => return Err(common::faults::broken_response()),
            FaultKind::DropAfterCommit => drop_after = true,
            FaultKind::Other(k) if k == "session-limit" => {
                st.core.stats.incr(&format!("{op}.login_limit"));
                return Err(login_limit());
            }
            FaultKind::Other(_) => {}
        }
    }
    Ok(drop_after)
}

pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Who is calling: a cookie session or a bearer token.
pub(super) fn principal(st: &AcuState, headers: &HeaderMap) -> Result<String, Response> {
    let now = st.now();
    let mut g = st.lock();
    if let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        if let Some(tok) = auth.strip_prefix("Bearer ") {
            return match g.tokens.get(tok) {
                Some(t) if t.expires > now => Ok(t.user.clone()),
                _ => Err(not_logged_in()),
            };
        }
    }
    if let Some(sid) = cookie(headers, ".ASPXAUTH") {
        expire_idle(&mut g, now);
        if let Some(s) = g.sessions.get_mut(&sid) {
            s.last_used = now;
            return Ok(s.user.clone());
        }
    }
    Err(not_logged_in())
}

/// The session a request belongs to: its `.ASPXAUTH` cookie or its bearer token.
pub(super) fn session_key(headers: &HeaderMap) -> Option<String> {
    if let Some(tok) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        return Some(format!("bearer:{tok}"));
    }
    cookie(headers, ".ASPXAUTH").map(|c| format!("cookie:{c}"))
}

/// The tenant of a signed-in caller, without touching the session (for `GET /entity`).
pub(super) fn tenant_of(st: &AcuState, headers: &HeaderMap) -> Option<String> {
    let now = st.now();
    let g = st.lock();
    let user = match session_key(headers)? {
        k if k.starts_with("bearer:") => {
            let t = g.tokens.get(&k["bearer:".len()..])?;
            if t.expires <= now {
                return None;
            }
            t.user.clone()
        }
        k => {
            let s = g.sessions.get(&k["cookie:".len()..])?;
            if now - s.last_used >= chrono::Duration::minutes(20) {
                return None;
            }
            return Some(s.tenant.clone());
        }
    };
    st.cfg
        .users
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(&user))
        .map(|u| u.tenant.clone())
}

/// ERP-NOTES §A4 (ACU-DOC Action_Execution): "While the operation runs, other requests in
/// that session to the same form fail, so only the status request succeeds" (§G6). How they
/// fail is not documented: the answer is an `HttpError` with the platform's
/// "previous operation" text, status `busy_status` (default 500, like other PXExceptions).
pub(super) fn busy(st: &AcuState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(key) = session_key(headers) else {
        return Ok(());
    };
    let now = st.now();
    let run = chrono::Duration::seconds(st.cfg.action_run_seconds);
    let timed = chrono::Duration::milliseconds(st.cfg.action_ms as i64);
    let running = {
        let mut g = st.lock();
        let g = &mut *g;
        // Forget the actions that finished by time without a poll (they no longer block):
        // past `action_run_seconds`, or past a running time `action_ms` with no answers owed.
        let actions = &g.actions;
        g.running.retain(|op| {
            actions.get(op).is_some_and(|a| {
                let ran = now - a.started;
                let timed_out = st.cfg.action_ms > 0 && a.polls_left == 0 && ran >= timed;
                !a.done && ran < run && !timed_out
            })
        });
        g.running
            .iter()
            .filter_map(|op| actions.get(op))
            .any(|a| a.session == key)
    };
    if !running {
        return Ok(());
    }
    st.core.stats.incr("busy");
    Err(http_error(
        StatusCode::from_u16(st.cfg.busy_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "An error has occurred.",
        "The previous operation has not been completed yet.",
        "PX.Data.PXException",
    ))
}

pub(super) fn expire_idle(g: &mut Inner, now: DateTime<Utc>) {
    g.sessions
        .retain(|_, s| now - s.last_used < chrono::Duration::minutes(20));
}

/// The licence's requests-per-minute rule (ACU-DOC License_Restrictions).
pub(super) async fn throttle(st: &AcuState) -> Result<(), Response> {
    let rpm = st.cfg.rpm as usize;
    if rpm == 0 {
        return Ok(());
    }
    {
        let mut q = st.queued.lock().unwrap_or_else(|e| e.into_inner());
        if *q > 20 {
            st.core.stats.incr("throttle.429");
            return Err(licence_429());
        }
        *q += 1;
    }
    let minute = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    loop {
        let mut t = st.throttle.lock().await;
        let now = tokio::time::Instant::now();
        while t
            .window
            .front()
            .is_some_and(|f| now.duration_since(*f) >= minute)
        {
            t.window.pop_front();
        }
        let used = t.window.len();
        if used >= rpm {
            let wait = minute - now.duration_since(*t.window.front().expect("non-empty at limit"));
            drop(t);
            if started.elapsed() > Duration::from_secs(600) {
                *st.queued.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
                st.core.stats.incr("throttle.429");
                return Err(licence_429());
            }
            st.core.stats.incr("throttle.queued");
            tokio::time::sleep(wait).await;
            continue;
        }
        let delay = if used * 2 >= rpm {
            let left_in_window = t
                .window
                .front()
                .map_or(minute, |f| minute - now.duration_since(*f));
            left_in_window / (rpm - used) as u32
        } else {
            Duration::ZERO
        };
        t.window.push_back(now + delay);
        drop(t);
        if delay > Duration::ZERO {
            st.core.stats.incr("throttle.delayed");
            tokio::time::sleep(delay).await;
        }
        *st.queued.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        return Ok(());
    }
}

pub(super) fn check_endpoint(st: &AcuState, ep: &str, ver: &str) -> Result<(), Response> {
    if st.cfg.endpoints.iter().any(|(e, v)| e == ep && v == ver)
        || st
            .cfg
            .custom_endpoints
            .iter()
            .any(|(_, e, v)| e == ep && v == ver)
    {
        Ok(())
    } else {
        st.core.stats.incr("endpoint.404");
        Err(iis_404())
    }
}

/// The common prologue of an entity request: endpoint, faults, sign-in, the session's
/// running action (§A4), throttle.
pub(super) async fn enter(
    st: &AcuState,
    op: &str,
    ep: &str,
    ver: &str,
    headers: &HeaderMap,
) -> Result<bool, Response> {
    check_endpoint(st, ep, ver)?;
    let drop_after = faults(st, op).await?;
    principal(st, headers).inspect_err(|_| st.core.stats.incr(&format!("{op}.401")))?;
    if op != "action.status" {
        busy(st, headers)?;
    }
    throttle(st).await?;
    Ok(drop_after)
}
