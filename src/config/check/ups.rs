//! `check` pass 4 for the `ups` section: accounts (`accounts.rs`), URLs, label stock, API versions,
//! quotas, token budget, retries, timeouts.

#[allow(unused_imports)]
use super::*;

// ------------------------------------------------------------------------- pass 4: meaning

pub(super) fn check_ups(r: &mut CheckReport, file: &Path, ups: &UpsConfig) {
    super::accounts::check_accounts(r, file, ups);
    if let Some(url) = &ups.base_url {
        if let Err(m) = check_http_url(url, false) {
            r.problem(file, "ups.base_url", m, "use a full URL such as https://onlinetools.ups.com or http://127.0.0.1:9001 for the simulator, or remove it to use `environment`");
        }
    }
    if ups.accounts.is_empty() && ups.credentials.trim().is_empty() {
        r.problem(
            file,
            "ups.credentials",
            "empty vault entry name",
            "name the vault entry holding client_id/client_secret, e.g. `ups`",
        );
    }
    let label = &ups.label;
    if let Some(f) = label.format {
        r.warning(
            file,
            "ups.label.format",
            format!("`{}` has no effect: every mapping names its own label format (its required `label:` section)", f.to_model().ups_code()),
            "remove ups.label.format and set the format in the mapping's `label.format`",
        );
    }
    // The stock is sent as `LabelStockSize` with every label whose mapping names none.
    {
        if !matches!(label.stock_height_inches, 6 | 8) {
            r.problem(
                file,
                "ups.label.stock_height_inches",
                format!(
                    "{} is not a UPS label stock height",
                    label.stock_height_inches
                ),
                "use 6 or 8",
            );
        }
        if label.stock_width_inches != 4 {
            r.problem(
                file,
                "ups.label.stock_width_inches",
                format!(
                    "{} is not a UPS label stock width",
                    label.stock_width_inches
                ),
                "use 4",
            );
        }
    }
    let v = &ups.api_versions;
    for (key, value) in [
        ("ship", &v.ship),
        ("rating", &v.rating),
        ("void", &v.void),
        ("address_validation", &v.address_validation),
        ("label_recovery", &v.label_recovery),
        ("track", &v.track),
    ] {
        if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric()) {
            r.problem(
                file,
                format!("ups.api_versions.{key}"),
                format!("`{value}` is not an API version path segment"),
                "use a version such as v2409, v2 or v1 (see the UPS API documentation)",
            );
        }
    }
    let all = ups
        .quotas
        .all_apis_requests_per_second
        .map(|v| ("all_apis_requests_per_second", v));
    for (key, value) in ups.quotas.entries().into_iter().chain(all) {
        if value == 0 {
            r.problem(
                file,
                format!("ups.quotas.{key}"),
                "a quota of 0 requests per second would block every call",
                "use at least 1",
            );
        }
    }
    if ups.token_budget_per_day == 0 {
        r.problem(
            file,
            "ups.token_budget_per_day",
            "a budget of 0 tokens per day allows no UPS call",
            "use UPS's limit (250) or less, but at least 1",
        );
    }
    check_retry(
        r,
        file,
        "ups.retry",
        ups.retry.max_attempts,
        ups.retry.initial_backoff_ms,
        ups.retry.max_backoff_ms,
    );
    let t = &ups.timeouts;
    for (key, value) in [
        ("connect_timeout_seconds", t.connect_timeout_seconds),
        ("request_timeout_seconds", t.request_timeout_seconds),
        ("ship_timeout_seconds", t.ship_timeout_seconds),
    ] {
        if value == 0 {
            r.problem(
                file,
                format!("ups.timeouts.{key}"),
                "a timeout of 0 seconds fails every call",
                "use a positive number of seconds",
            );
        }
    }
}

pub(super) fn check_retry(
    r: &mut CheckReport,
    file: &Path,
    at: &str,
    attempts: u32,
    initial: u64,
    max: u64,
) {
    if attempts == 0 {
        r.problem(
            file,
            format!("{at}.max_attempts"),
            "0 attempts means the call is never made",
            "use at least 1 (1 = no retry)",
        );
    }
    if initial > max {
        r.problem(
            file,
            at,
            format!("the initial backoff ({initial}) is larger than the maximum ({max})"),
            "make the initial backoff at most the maximum",
        );
    }
}
