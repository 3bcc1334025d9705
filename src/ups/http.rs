//! The one place a UPS HTTP request is sent: counts it, and tells "no answer, never sent"
//! (connect failure) from "no answer, may have been processed" (reset, timeout, body error).
//! Error details never include the URL's query or any header.

use super::error::Api;
use super::stats::{Stats, NO_RESPONSE};

pub(crate) enum Reply {
    /// UPS answered with a status and a body.
    Http { status: u16, body: Vec<u8> },
    /// No usable answer. `sent` is false only when the request certainly never left
    /// (connection refused / connect timeout).
    Failed { sent: bool, detail: String },
}

pub(crate) async fn send(rb: reqwest::RequestBuilder, api: Api, stats: &Stats) -> Reply {
    match rb.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            stats.request(api, status);
            match resp.bytes().await {
                Ok(body) => Reply::Http {
                    status,
                    body: body.to_vec(),
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
