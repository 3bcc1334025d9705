//! What every route goes through: NetSuite's error shapes (`o:errorDetails`, ERP-NOTES.md §N3–N5),
//! the concurrency limit (§N5), fault injection and authentication of bearer and TBA requests (§N2).

use super::*;

// ---------------------------------------------------------------------------------------
// Error shapes
// ---------------------------------------------------------------------------------------

pub(super) fn ns_error(
    status: StatusCode,
    code: &str,
    detail: &str,
    extra: &[(&str, &str)],
) -> Response {
    let mut d = serde_json::Map::new();
    d.insert("detail".into(), json!(detail));
    d.insert("o:errorCode".into(), json!(code));
    for (k, v) in extra {
        d.insert((*k).to_string(), json!(v));
    }
    let section = match status.as_u16() {
        400 => "section-15.5.1",
        401 => "section-15.5.2",
        403 => "section-15.5.4",
        404 => "section-15.5.5",
        429 => "section-15.5",
        _ => "section-15.6.1",
    };
    let body = json!({
        "type": format!("https://www.rfc-editor.org/rfc/rfc9110.html#{section}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "o:errorDetails": [Value::Object(d)],
    });
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/vnd.oracle.resource+json; type=error"),
    );
    r
}

pub(super) const INVALID_LOGIN: &str = "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.";

pub(super) fn unauthorized(sim: &NetSuiteSim, bearer_error: bool) -> Response {
    let mut r = ns_error(
        StatusCode::UNAUTHORIZED,
        "INVALID_LOGIN",
        INVALID_LOGIN,
        &[],
    );
    if bearer_error {
        let realm = sim.account_id.clone();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"Invalid login attempt.\""
        )) {
            r.headers_mut().insert("www-authenticate", v);
        }
    }
    r
}

pub(super) async fn not_found(uri: Uri) -> Response {
    ns_error(
        StatusCode::NOT_FOUND,
        "INVALID_URL",
        &format!(
            "Invalid URL: {} is not a resource of this simulator.",
            uri.path()
        ),
        &[],
    )
}

pub(super) fn counted(sim: &NetSuiteSim, op: &str, r: Response) -> Response {
    if !r.status().is_success() {
        sim.core
            .stats
            .incr(&format!("{op}.{}", r.status().as_u16()));
    }
    r
}

// ---------------------------------------------------------------------------------------
// Concurrency, faults, authentication
// ---------------------------------------------------------------------------------------

pub(super) struct Slot<'a>(&'a NetSuiteSim);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn acquire(sim: &NetSuiteSim) -> Result<Slot<'_>, Response> {
    let n = sim.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    let slot = Slot(sim);
    if n > sim.concurrency_limit.load(Ordering::SeqCst) {
        sim.core.stats.incr("concurrency.rejected");
        return Err(ns_error(
            StatusCode::TOO_MANY_REQUESTS,
            "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
            &[],
        ));
    }
    let mut max = sim.max_seen.lock().unwrap_or_else(|e| e.into_inner());
    if n > *max {
        sim.core
            .stats
            .add("concurrency.max_seen", (n - *max) as u64);
        *max = n;
    }
    Ok(slot)
}

pub(super) enum FaultOutcome {
    Proceed,
    DropAfterCommit,
}

pub(super) async fn apply_faults(sim: &NetSuiteSim, op: &str) -> Result<FaultOutcome, Response> {
    let mut out = FaultOutcome::Proceed;
    for f in sim.core.faults.decide(op) {
        match f.kind {
            FaultKind::Latency(d) => tokio::time::sleep(d).await,
            FaultKind::Reset => return Err(broken_response()),
            FaultKind::DropAfterCommit => out = FaultOutcome::DropAfterCommit,
            FaultKind::Status(429) => {
                return Err(ns_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "CONCURRENCY_LIMIT_EXCEEDED",
                    "Concurrent request limit exceeded. Request blocked.",
                    &[],
                ))
            }
            FaultKind::Status(s) => {
                let st = StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(ns_error(
                    st,
                    "UNEXPECTED_ERROR",
                    "An unexpected error occurred (simulated).",
                    &[],
                ));
            }
            FaultKind::Other(k) if k == "concurrency-401" => return Err(unauthorized(sim, false)),
            FaultKind::Other(k) if k == "token-expired" => return Err(unauthorized(sim, true)),
            FaultKind::Other(_) => {}
        }
    }
    Ok(out)
}

pub(super) fn authenticate(
    sim: &NetSuiteSim,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Response> {
    let Some(h) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        sim.core.stats.incr("auth.rejected");
        return Err(unauthorized(sim, true));
    };
    if let Some(tok) = h.strip_prefix("Bearer ") {
        let tokens = sim.tokens.lock().unwrap_or_else(|e| e.into_inner());
        return match tokens.get(tok.trim()) {
            Some(t) if t.expires > sim.core.clock.now() => Ok(()),
            _ => {
                sim.core.stats.incr("auth.rejected");
                Err(unauthorized(sim, true))
            }
        };
    }
    if h.starts_with("OAuth ") {
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        let base = format!("http://{host}{}", uri.path());
        let now = sim.core.clock.now().timestamp();
        let mut nonces = sim.nonces.lock().unwrap_or_else(|e| e.into_inner());
        return match auth::verify_tba(
            h,
            method.as_str(),
            &base,
            uri.query(),
            &sim.tba,
            &sim.account_id,
            now,
            &mut nonces,
        ) {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::debug!(reason = %e, "simulated NetSuite refused a TBA request");
                sim.core.stats.incr("auth.rejected");
                Err(unauthorized(sim, false))
            }
        };
    }
    sim.core.stats.incr("auth.rejected");
    Err(unauthorized(sim, true))
}
