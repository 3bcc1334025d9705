//! `check` pass 4 for the `checkout` section: the bind address, the deadline, the cache,
//! checkout's share of the Rating quota, the warehouses and the fallback table.

#[allow(unused_imports)]
use super::*;
use crate::config::CheckoutConfig;

pub(super) fn check_checkout(
    r: &mut CheckReport,
    file: &Path,
    c: &CheckoutConfig,
    ups: Option<&UpsConfig>,
) {
    let Some(bind) = &c.bind else {
        return;
    };
    match bind.parse::<std::net::SocketAddr>() {
        Err(_) => r.problem(
            file,
            "checkout.bind",
            format!("`{bind}` is not an address:port to listen on"),
            "use an IP address and port other than http.listen's, e.g. 127.0.0.1:8090",
        ),
        Ok(a) if !a.ip().is_loopback() => r.warning(
            file,
            "checkout.bind",
            format!("{bind} is reachable from other hosts, in plain HTTP with a bearer token"),
            "bind to loopback and let the shop's backend or a TLS proxy call it",
        ),
        Ok(_) => {}
    }
    if c.api_token.trim().is_empty() {
        r.problem(
            file,
            "checkout.api_token",
            "names no vault entry: the endpoint would have no token",
            "name a vault entry holding {\"token\": \"…\"} (default checkout-api)",
        );
    }
    if c.timeout_ms == 0 {
        r.problem(
            file,
            "checkout.timeout_ms",
            "0 ms would answer every quote from the fallback table",
            "use the longest wait a checkout page tolerates (default 1500)",
        );
    }
    if c.cache_capacity == 0 {
        r.problem(
            file,
            "checkout.cache_capacity",
            "a cache of 0 entries cannot hold a UPS answer, not even for a burst",
            "use at least 1 (default 10000)",
        );
    }
    if let Some(ups) = ups {
        let total = ups.quotas.rating_requests_per_second;
        if total > 0 && c.rating_requests_per_second >= total {
            r.problem(
                file,
                "checkout.rating_requests_per_second",
                format!(
                    "{} leaves nothing of ups.quotas.rating_requests_per_second ({total}) for the pipeline's Rate/Shop calls",
                    c.rating_requests_per_second
                ),
                "give checkout less than the whole Rating quota (the pipeline keeps the rest)",
            );
        }
    }
    let mut keys = std::collections::BTreeSet::new();
    for (i, w) in c.ship_from.iter().enumerate() {
        if !keys.insert(w.key.as_str()) {
            r.problem(
                file,
                format!("checkout.ship_from[{i}].key"),
                format!("warehouse `{}` is named twice", w.key),
                "give each warehouse its own key",
            );
        }
        if w.city.trim().is_empty() {
            r.problem(
                file,
                format!("checkout.ship_from[{i}].city"),
                format!("warehouse `{}` has no city; UPS Rating requires one", w.key),
                "add `city: …`",
            );
        }
        if w.lines.iter().all(|l| l.trim().is_empty()) {
            r.problem(
                file,
                format!("checkout.ship_from[{i}].lines"),
                format!(
                    "warehouse `{}` has no street line; UPS Rating requires one",
                    w.key
                ),
                "add `lines: [\"100 Main St\"]`",
            );
        }
        if w.country.len() != 2 {
            r.problem(
                file,
                format!("checkout.ship_from[{i}].country"),
                format!("`{}` is not an ISO 3166-1 alpha-2 code", w.country),
                "use two letters, e.g. US",
            );
        }
    }
    if c.fallback.services.is_empty() {
        r.problem(
            file,
            "checkout.fallback.services",
            "an empty fallback table answers a UPS outage with no services at all",
            "list at least one service with base and per_lb",
        );
    }
}
