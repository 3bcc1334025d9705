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
