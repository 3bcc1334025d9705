//! `--record-dir DIR`: every request a simulator receives, written as one JSON file
//! (`{seq}-{method}-{path}.json` with method, path, query, headers, body), secrets redacted.
//!
//! Redacted: credential-bearing headers (`authorization`, `cookie`, `credential`, …) and
//! secret-named fields in JSON and form bodies (`password`, `client_secret`,
//! `client_assertion`, `access_token`, `refresh_token`, …).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

const REDACTED: &str = "[redacted]";
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "set-cookie",
    "credential",
    "x-api-key",
    "proxy-authorization",
];
const SECRET_FIELDS: &[&str] = &[
    "password",
    "client_secret",
    "client_assertion",
    "access_token",
    "refresh_token",
    "credential",
    "token",
    "oauth_signature",
];

/// Writes requests to a directory.
#[derive(Debug)]
pub struct Recorder {
    dir: PathBuf,
    seq: AtomicU64,
}

impl Recorder {
    /// Create the directory if needed.
    pub fn new(dir: &Path) -> std::io::Result<Recorder> {
        std::fs::create_dir_all(dir)?;
        Ok(Recorder {
            dir: dir.to_path_buf(),
            seq: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Record one request. Errors are logged, never fatal to the simulator.
    pub fn record(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) {
        let n = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let slug: String = path
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .take(80)
            .collect();
        let file = self.dir.join(format!(
            "{n:07}-{}-{}.json",
            method.to_ascii_lowercase(),
            slug
        ));
        let mut hdrs = serde_json::Map::new();
        for (k, v) in headers {
            let name = k.as_str().to_ascii_lowercase();
            let value = if SECRET_HEADERS.contains(&name.as_str()) {
                REDACTED.to_string()
            } else {
                v.to_str().unwrap_or("[binary]").to_string()
            };
            hdrs.insert(name, serde_json::Value::String(value));
        }
        let entry = serde_json::json!({
            "seq": n,
            "method": method,
            "path": path,
            "query": query.map(redact_form),
            "headers": hdrs,
            "body": redact_body(headers, body),
        });
        let text = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        if let Err(e) = std::fs::write(&file, text) {
            tracing::warn!(file = %file.display(), error = %e, "simulator could not record a request");
        }
    }
}

fn redact_body(headers: &axum::http::HeaderMap, body: &[u8]) -> serde_json::Value {
    if body.is_empty() {
        return serde_json::Value::Null;
    }
    if let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) {
        redact_json(&mut v);
        return v;
    }
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    match std::str::from_utf8(body) {
        Ok(s) if is_form => serde_json::Value::String(redact_form(s)),
        Ok(s) => serde_json::Value::String(s.to_string()),
        Err(_) => serde_json::Value::String(format!("[{} bytes binary]", body.len())),
    }
}

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()) {
                    *val = serde_json::Value::String(REDACTED.to_string());
                } else {
                    redact_json(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        _ => {}
    }
}

fn redact_form(s: &str) -> String {
    s.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_FIELDS.contains(&k.to_ascii_lowercase().as_str()) => {
                format!("{k}={REDACTED}")
            }
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// axum middleware: `.layer(axum::middleware::from_fn_with_state(recorder, record_requests))`.
/// Buffers the body (up to 32 MiB), records it, and passes the request on unchanged.
pub async fn record_requests(
    State(recorder): State<Arc<Recorder>>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, 32 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return Response::builder()
                .status(413)
                .body(Body::from("request body too large"))
                .expect("static response parts are valid")
        }
    };
    if !parts.uri.path().starts_with("/_sim/") {
        recorder.record(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
            &bytes,
        );
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_headers_and_secret_fields() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(dir.path()).unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.insert("authorization", "Basic c2VjcmV0".parse().unwrap());
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        r.record(
            "POST",
            "/security/v1/oauth/token",
            Some("a=1"),
            &h,
            b"grant_type=client_credentials&client_secret=hunter2",
        );
        let mut h2 = axum::http::HeaderMap::new();
        h2.insert("cookie", ".ASPXAUTH=abc".parse().unwrap());
        r.record(
            "POST",
            "/entity/auth/login",
            None,
            &h2,
            br#"{"name":"admin","password":"hunter2"}"#,
        );
        let mut all = String::new();
        for e in std::fs::read_dir(dir.path()).unwrap() {
            all.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
        }
        assert!(!all.contains("hunter2"));
        assert!(!all.contains("c2VjcmV0"));
        assert!(!all.contains("ASPXAUTH=abc"));
        assert!(all.contains("grant_type=client_credentials"));
        assert!(all.contains("\"admin\""));
    }
}
