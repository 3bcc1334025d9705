//! The SuiteQL route (`POST /services/rest/query/v1/suiteql`): paging parameters, the
//! `Prefer: transient` header and result limits (ERP-NOTES.md §N3); the language itself is in `suiteql.rs`
//! and `query/`.

use super::*;

// ---------------------------------------------------------------------------------------
// SuiteQL
// ---------------------------------------------------------------------------------------

pub(super) async fn suiteql_route(
    State(sim): State<Arc<NetSuiteSim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.core.stats.incr("suiteql");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "suiteql").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => suiteql_inner(&sim, &uri, &headers, &body),
            },
        },
    };
    counted(&sim, "suiteql", r)
}

pub(super) fn invalid_param(param: &str, detail: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
        detail,
        &[("o:errorQueryParam", param)],
    )
}

pub(super) fn suiteql_inner(
    sim: &NetSuiteSim,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let transient = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|p| p.trim().eq_ignore_ascii_case("transient"))
        });
    if !transient {
        return ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_HEADER",
            "Invalid value for the 'Prefer' header. SuiteQL requests must send 'Prefer: transient'.",
            &[("o:errorHeader", "Prefer")],
        );
    }
    let params: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let limit = match params.get("limit").map(|s| s.parse::<usize>()) {
        None => 1000,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        _ => return invalid_param(
            "limit",
            "Invalid value for the 'limit' parameter. The value must be an integer from 1 to 1000.",
        ),
    };
    let offset = match params.get("offset").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return invalid_param(
            "offset",
            "Invalid value for the 'offset' parameter. The value must be a non-negative integer.",
        ),
    };
    if offset >= SUITEQL_MAX_RESULTS {
        return invalid_param(
            "offset",
            "Invalid search query. Detailed unprocessed description follows. Search error occurred: \
             the query would return results past row 100000, the maximum number of results SuiteQL returns \
             through REST web services. Use a narrower condition (keyset paging) or SuiteAnalytics Connect.",
        );
    }
    let q = match serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("q").and_then(Value::as_str).map(String::from))
    {
        Some(q) => q,
        None => {
            return ns_error(
                StatusCode::BAD_REQUEST,
                "INVALID_CONTENT",
                "The request body must be a JSON object with the query text in \"q\".",
                &[],
            )
        }
    };
    let prefix =
        "Invalid search query. Detailed unprocessed description follows. Search error occurred: ";
    let parsed = match suiteql::parse(&q) {
        Ok(p) => p,
        Err(e) => return invalid_param("q", &format!("{prefix}{e}")),
    };
    let store = sim.read_store();
    let page = match query::execute(&store, &sim.cache, &parsed, offset, limit) {
        Ok(p) => p,
        Err(e) => return invalid_param("q", &format!("{prefix}{e}")),
    };
    drop(store);
    let count = page.items.len();
    let total = page.total;
    let has_more = offset + count < total;
    let link = |rel: &str, off: usize| json!({"rel": rel, "href": format!("{}/services/rest/query/v1/suiteql?limit={limit}&offset={off}", sim.base_url())});
    let mut links = Vec::new();
    if offset > 0 {
        links.push(link("first", 0));
        links.push(link("prev", offset.saturating_sub(limit)));
    }
    if has_more {
        links.push(link("next", offset + limit));
    }
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    links.push(link("last", last));
    links.push(link("self", offset));
    Json(json!({
        "links": links,
        "count": count,
        "hasMore": has_more,
        "offset": offset,
        "totalResults": total,
        "items": page.items,
    }))
    .into_response()
}
