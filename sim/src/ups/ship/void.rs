//! Void (`DELETE /api/shipments/{version}/void/cancel/{id}[?trackingnumber=…]`), whole
//! shipment or per package, within the void window (UPS-REFERENCE.md §3).

use super::*;

/// `trackingnumber` as sent: `["1Z…","1Z…"]` (URL-encoded), `1Z…,1Z…` or one number.
pub(super) fn tracking_numbers_param(raw: Option<&str>) -> Vec<String> {
    let Some(q) = raw else { return Vec::new() };
    let mut out = Vec::new();
    for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
        if !k.eq_ignore_ascii_case("trackingnumber") {
            continue;
        }
        for part in v
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
        {
            let n = part.trim().trim_matches('"').trim().to_ascii_uppercase();
            if !n.is_empty() {
                out.push(n);
            }
        }
    }
    out
}

/// `DELETE /api/shipments/{version}/void/cancel/{shipmentidentificationnumber}`.
pub async fn void(
    State(st): State<Arc<UpsState>>,
    Extension(caller): Extension<Caller>,
    Path((version, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    let Some(vn) = version_number(&version) else {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "10002",
            "Unsupported Void version; use v2409",
        );
    };
    let arrays = vn >= 2403;
    if !trackno::check_digit_valid(&id) {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "190100",
            "Invalid shipment identification number: it must be an 18-character 1Z number with a valid check digit",
        );
    }
    let wanted = tracking_numbers_param(q.as_deref());
    if wanted.len() > 20 {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "190100",
            "At most 20 tracking numbers may be voided per request",
        );
    }
    let now = st.now();
    let window = chrono::Duration::hours(st.cfg.void_window_hours);
    let mut shipments = st.write_shipments();
    let not_found = || {
        ups_error(
            StatusCode::BAD_REQUEST,
            "190102",
            "No shipment found within the allowed void period",
        )
    };
    let Some(sh) = shipments.by_id_mut(&id) else {
        return not_found();
    };
    if !caller.accounts.contains(&sh.shipper_number) {
        return not_found();
    }
    if now - sh.created_at > window {
        return ups_error(
            StatusCode::BAD_REQUEST,
            "190102",
            "No shipment found within the allowed void period: the void period for this shipment has expired",
        );
    }
    let was_voided = sh.voided();
    let mut results = Vec::new();
    if wanted.is_empty() {
        for p in sh.packages.iter_mut() {
            if p.voided_at.is_none() {
                p.voided_at = Some(now);
                st.core.stats.incr("void.packages");
            }
        }
    } else {
        if let Some(bad) = wanted
            .iter()
            .find(|n| !sh.packages.iter().any(|p| &p.tracking_number == *n))
        {
            let _ = bad;
            return ups_error(
                StatusCode::BAD_REQUEST,
                "190102",
                "A tracking number in trackingnumber does not belong to this shipment",
            );
        }
        for n in &wanted {
            if let Some(p) = sh.packages.iter_mut().find(|p| &p.tracking_number == n) {
                if p.voided_at.is_none() {
                    p.voided_at = Some(now);
                    st.core.stats.incr("void.packages");
                }
                results.push(
                    json!({"TrackingNumber": n, "Status": {"Code": "1", "Description": "Voided"}}),
                );
            }
        }
    }
    if !was_voided && sh.voided() {
        st.core.stats.incr("ship.voided");
    }
    drop(shipments);
    let mut out = json!({
        "VoidShipmentResponse": {
            "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}, "TransactionReference": {"CustomerContext": ""}},
            "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}},
        }
    });
    if !results.is_empty() {
        out["VoidShipmentResponse"]["PackageLevelResults"] = one_or_many(results, arrays);
    }
    (StatusCode::OK, Json(out)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn void_query_forms() {
        assert_eq!(
            tracking_numbers_param(Some("trackingnumber=%5B%221Z1%22%2C%221Z2%22%5D")),
            vec!["1Z1", "1Z2"]
        );
        assert_eq!(
            tracking_numbers_param(Some("trackingnumber=1z1")),
            vec!["1Z1"]
        );
        assert!(tracking_numbers_param(None).is_empty());
    }
}
