//! `check` pass 4 for the `http` section (listener limits), and the URL rule shared by
//! every section that names a URL.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_http(r: &mut CheckReport, file: &Path, h: &HttpConfig) {
    if h.listen.parse::<std::net::SocketAddr>().is_err() {
        r.problem(
            file,
            "http.listen",
            format!("`{}` is not an address:port to listen on", h.listen),
            "use an IP address and port, e.g. 127.0.0.1:8080 or 0.0.0.0:8080 or [::]:8080",
        );
    }
    if h.body_limit_bytes < 1024 {
        r.problem(
            file,
            "http.body_limit_bytes",
            format!(
                "{} bytes is too small for a Track Alert event",
                h.body_limit_bytes
            ),
            "use at least 1024 (default 1048576)",
        );
    }
}

/// The console: an address to bind, loopback unless deliberately otherwise, and a vault
/// entry name for the admin token.
pub(super) fn check_console(r: &mut CheckReport, file: &Path, c: &ConsoleConfig) {
    if !c.enabled {
        return;
    }
    match c.listen.parse::<std::net::SocketAddr>() {
        Err(_) => r.problem(
            file,
            "console.listen",
            format!("`{}` is not an address:port to listen on", c.listen),
            "use an IP address and port, e.g. 127.0.0.1:8081",
        ),
        Ok(a) if !a.ip().is_loopback() => r.warning(
            file,
            "console.listen",
            format!(
                "the admin console listens on {a}, reachable from other machines, and serves plain HTTP"
            ),
            "keep it on 127.0.0.1 and reach it through an SSH tunnel, or put a TLS proxy in front and set console.secure_cookie: true",
        ),
        Ok(_) => {}
    }
    if c.admin_token.trim().is_empty() {
        r.problem(
            file,
            "console.admin_token",
            "empty vault entry name",
            "name the vault entry holding {\"token\": \"…\"}, e.g. `console-admin`",
        );
    }
}

pub(super) fn check_http_url(url: &str, require_https: bool) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if !require_https => {}
        "http" => return Err(format!("`{url}` is not https (UPS only calls https URLs)")),
        other => {
            return Err(format!(
                "`{url}` has scheme `{other}`; expected http or https"
            ))
        }
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{url}` has no host"));
    }
    Ok(())
}
