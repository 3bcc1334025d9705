//! One UPS request as the client's retry loop sees it: the [`Req`], its JSON [`Body`] (a
//! `Value`, or bytes encoded once from a typed request), the [`Answer`] a 2xx comes back as,
//! and the URL join.

use reqwest::Method;
use serde_json::Value;

use crate::ups::error::Api;

/// One API request as the retry loop sees it.
pub(super) struct Req {
    pub(super) api: Api,
    pub(super) method: Method,
    pub(super) url: url::Url,
    pub(super) query: Vec<(String, String)>,
    pub(super) body: Body,
    /// Return 4xx answers (other than 401/429) to the caller instead of an error.
    pub(super) accept_4xx: bool,
}

/// A request's JSON body.
pub(super) enum Body {
    Empty,
    /// A `Value` tree, encoded at each attempt.
    Json(Value),
    /// Encoded once from a typed request (Ship, XAV); every attempt sends the same bytes.
    Encoded(hyper::body::Bytes),
}

impl Body {
    /// Encode a typed request once.
    pub(super) fn encode<T: serde::Serialize>(v: &T) -> Body {
        // Serialising plain structs of strings cannot fail.
        Body::Encoded(serde_json::to_vec(v).unwrap_or_default().into())
    }
}

/// A 2xx answer's body as received (each operation reads it into its own types), or an
/// accepted 4xx already read as JSON (for its error envelope).
pub(super) enum Answer {
    Bytes(Vec<u8>),
    Json(Value),
}

#[cfg(test)]
pub(super) fn join(base: &url::Url, segs: &[&str]) -> String {
    join_url(base, segs).to_string()
}

pub(super) fn join_url(base: &url::Url, segs: &[&str]) -> url::Url {
    let mut u = base.clone();
    if let Ok(mut p) = u.path_segments_mut() {
        p.pop_if_empty();
        p.extend(segs);
    }
    u
}
