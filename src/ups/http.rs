//! The one place a UPS HTTP request is sent: counts it, and tells "no answer, never sent"
//! (connect failure) from "no answer, may have been processed" (reset, timeout, body error).
//! Error details never include the URL's query or any header.

use super::error::Api;
use super::stats::{Stats, NO_RESPONSE};

pub(crate) enum Reply {
    /// UPS answered with a status and a body.
    Http {
        status: u16,
        body: Vec<u8>,
        /// `Retry-After` in seconds, when the server sent one (UPS does not; simulators may).
        retry_after: Option<std::time::Duration>,
    },
    /// No usable answer. `sent` is false only when the request certainly never left
    /// (connection refused / connect timeout).
    Failed { sent: bool, detail: String },
}

pub(crate) async fn send(rb: reqwest::RequestBuilder, api: Api, stats: &Stats) -> Reply {
    match rb.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            stats.request(api, status);
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(std::time::Duration::from_secs);
            match resp.bytes().await {
                Ok(body) => Reply::Http {
                    status,
                    body: body.to_vec(),
                    retry_after,
                },
                Err(e) => Reply::Failed {
                    sent: true,
                    detail: format!(
                        "HTTP {status} but the body could not be read: {}",
                        describe(e)
                    ),
                },
            }
        }
        Err(e) => {
            stats.request(api, NO_RESPONSE);
            Reply::Failed {
                sent: !e.is_connect(),
                detail: describe(e),
            }
        }
    }
}

fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_body() || e.is_decode() {
        "body error"
    } else {
        "transport error"
    };
    let e = e.without_url();
    let mut msg = format!("{kind}: {e}");
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}
