//! The hardened accept loop behind [`super::serve`]: what a hostile or careless client can
//! hold of the daemon is bounded.
//!
//! * **Header-read timeout** (hyper's http1 `header_read_timeout`): a client must send a
//!   request's complete headers within [`Limits::header_read_timeout`] after connecting or
//!   after its previous answer, else the connection is closed. With hyper 1.x this timer
//!   also runs while a kept-alive connection waits for its next request, so it is the idle
//!   timeout as well: slow-header (slowloris) and idle connections cannot pile up.
//! * **Connection cap**: at most [`Limits::max_connections`] open client connections; one
//!   more is accepted and closed at once (so it does not sit in the kernel backlog) and
//!   counted. The cap is also kept below the process's file limit less
//!   [`FD_RESERVE`], so the daemon's own ERP, UPS and store files never starve
//!   (`accept error: Too many open files` starved them before).
//! * **Requests in flight** ([`Limits::max_requests_in_flight`]): past it, 503 with
//!   `Retry-After: 1`; **request timeout** ([`Limits::request_timeout`]): 408.
//! * Accept errors (EMFILE) back off briefly instead of spinning, logged at most once per
//!   [`crate::server::throttle::Throttle`] window.
//!
//! Every decision is counted in [`ListenerStats`] (exported on `/metrics` as
//! `upsync_http_*`), never logged per connection.
//!
//! Must never: log per connection or per request, block the accept loop on a client.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;

use super::throttle::Throttle;

/// File descriptors kept free for the daemon's own use (store, ERP/UPS connections, label
/// files) whatever the connection cap says.
pub const FD_RESERVE: u64 = 256;

/// What the listener allows (from the `http` section of the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub request_timeout: Duration,
    pub max_connections: usize,
    pub max_requests_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        use crate::config::defaults as d;
        Limits {
            header_read_timeout: Duration::from_secs(d::HTTP_HEADER_READ_TIMEOUT_SECONDS),
            request_timeout: Duration::from_secs(d::HTTP_REQUEST_TIMEOUT_SECONDS),
            max_connections: d::HTTP_MAX_CONNECTIONS as usize,
            max_requests_in_flight: d::HTTP_MAX_REQUESTS_IN_FLIGHT as usize,
        }
    }
}

impl Limits {
    /// The limits of an `http` configuration section.
    /// Every field is named (no `..`): a new `http` setting that nothing reads does not
    /// compile.
    pub fn from_config(h: &crate::config::HttpConfig) -> Limits {
        let crate::config::HttpConfig {
            // Read by the listener's bind (`upsync run`) and its public-listen warning.
            listen: _,
            allow_public_listen: _,
            // The webhook's body limit (tracking settings in the assembly).
            body_limit_bytes: _,
            header_read_timeout_seconds,
            request_timeout_seconds,
            max_connections,
            max_requests_in_flight,
        } = h;
        Limits {
            header_read_timeout: Duration::from_secs((*header_read_timeout_seconds).max(1)),
            request_timeout: Duration::from_secs((*request_timeout_seconds).max(1)),
            max_connections: (*max_connections).max(1) as usize,
            max_requests_in_flight: (*max_requests_in_flight).max(1) as usize,
        }
    }

    /// The connection cap kept below `nofile_soft - FD_RESERVE` (at least 16).
    pub fn fitted_to_fd_limit(mut self, nofile_soft: u64) -> Limits {
        let room = nofile_soft.saturating_sub(FD_RESERVE).max(16) as usize;
        if self.max_connections > room {
            tracing::warn!(
                configured = self.max_connections,
                allowed = room,
                nofile = nofile_soft,
                "http.max_connections is above the file limit less a reserve; capped (raise LimitNOFILE= in the unit)"
            );
            self.max_connections = room;
        }
        self
    }
}

/// Raise the soft open-files limit to the hard one (what `LimitNOFILE=` gives under
/// systemd) and return the soft limit in force.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return 1024;
        }
        if r.rlim_cur < r.rlim_max {
            let want = libc::rlimit {
                rlim_cur: r.rlim_max,
                rlim_max: r.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        r.rlim_cur
    }
}

/// Counters of the listener (exported as `upsync_http_*`).
#[derive(Debug, Default)]
pub struct ListenerStats {
    /// Connections accepted and served.
    pub connections_accepted: AtomicU64,
    /// Connections closed at once because the cap was reached.
    pub connections_refused: AtomicU64,
    /// Connections open now.
    pub connections_open: AtomicU64,
    /// accept() failures (e.g. EMFILE).
    pub accept_errors: AtomicU64,
    /// Requests answered 503 because too many were in flight.
    pub requests_shed: AtomicU64,
    /// Requests answered 408 (request timeout).
    pub requests_timed_out: AtomicU64,
}

impl ListenerStats {
    /// Metric samples of these counters.
    pub fn samples(&self, out: &mut Vec<super::metrics::Sample>) {
        use super::metrics::Sample;
        let v = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        out.push(Sample::counter(
            "upsync_http_connections_accepted",
            "HTTP client connections accepted",
            vec![],
            v(&self.connections_accepted),
        ));
        out.push(Sample::counter(
            "upsync_http_connections_refused",
            "HTTP client connections closed at once: http.max_connections reached",
            vec![],
            v(&self.connections_refused),
        ));
        out.push(Sample::gauge(
            "upsync_http_connections_open",
            "HTTP client connections open",
            vec![],
            v(&self.connections_open),
        ));
        out.push(Sample::counter(
            "upsync_http_accept_errors",
            "accept() failures of the HTTP listener (e.g. too many open files)",
            vec![],
            v(&self.accept_errors),
        ));
        out.push(Sample::counter(
            "upsync_http_requests_shed",
            "Requests answered 503: http.max_requests_in_flight reached",
            vec![],
            v(&self.requests_shed),
        ));
        out.push(Sample::counter(
            "upsync_http_requests_timed_out",
            "Requests answered 408: http.request_timeout_seconds elapsed",
            vec![],
            v(&self.requests_timed_out),
        ));
    }
}

/// The client's address, put into every request's extensions (`/readyz` shows details to
/// loopback clients only).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub SocketAddr);

struct Guard {
    in_flight: Semaphore,
    timeout: Duration,
    stats: Arc<ListenerStats>,
}

async fn guard(
    axum::extract::State(g): axum::extract::State<Arc<Guard>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;
    let Ok(_permit) = g.in_flight.try_acquire() else {
        g.stats.requests_shed.fetch_add(1, Ordering::Relaxed);
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "too many requests in flight; retry\n",
        )
            .into_response();
    };
    match tokio::time::timeout(g.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            g.stats.requests_timed_out.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::REQUEST_TIMEOUT,
                [(header::CONNECTION, "close")],
                "request took too long\n",
            )
                .into_response()
        }
    }
}

/// Serve `app` on `listener` within `limits` until `shutdown` resolves; then open
/// connections finish their current request (graceful) and the call returns once all
/// are closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    stats: Arc<ListenerStats>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::from_fn_with_state(
        Arc::new(Guard {
            in_flight: Semaphore::new(limits.max_requests_in_flight),
            timeout: limits.request_timeout,
            stats: stats.clone(),
        }),
        guard,
    ));
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let accept_log = Throttle::new(Duration::from_secs(60));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => r,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                stats.accept_errors.fetch_add(1, Ordering::Relaxed);
                if let Some(suppressed) = accept_log.allow() {
                    tracing::warn!(
                        error = %e,
                        suppressed,
                        "HTTP accept failed (counted in upsync_http_accept_errors); backing off"
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = connections.clone().try_acquire_owned() else {
            stats.connections_refused.fetch_add(1, Ordering::Relaxed);
            drop(stream);
            continue;
        };
        stats.connections_accepted.fetch_add(1, Ordering::Relaxed);
        stats.connections_open.fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stats = stats.clone();
        let mut stop = stop_rx.clone();
        let header_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    let mut app = app.clone();
                    async move { tower_service::Service::call(&mut app, req).await }
                },
            );
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .max_buf_size(64 * 1024);
            let conn = http.serve_connection(TokioIo::new(stream), svc);
            let mut conn = std::pin::pin!(conn);
            let stopping = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopping => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            stats.connections_open.fetch_sub(1, Ordering::Relaxed);
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection returns its permit when it closes.
    let _ = connections
        .acquire_many(limits.max_connections as u32)
        .await;
    Ok(())
}
