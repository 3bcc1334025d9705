//! Shipment reads: list with `$filter`/`$expand`/`$select`/`$top`/`$skip` in no promised
//! order, get one, delete (ERP-NOTES.md §A3).

use super::*;

// ---------------------------------------------------------------------------------------
// Shipment reads

pub(super) async fn list(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "list", &ep, &ver, &headers).await {
        return r;
    }
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    // `list.select` faults: an instance that refuses a list's `$select`. ERP-NOTES §A3 shows
    // Acumatica refusing a list's shape ("Optimization cannot be performed", a BQL
    // delegate) and nowhere promises a `$select` is always served: the simulator does both.
    if !q.select.is_empty() {
        if let Err(r) = faults(&st, "list.select").await {
            return r;
        }
    }
    let g = st.lock();
    let mut matching: Vec<&Value> = g
        .order
        .values()
        .filter_map(|id| g.shipments.get(id))
        .filter(|r| q.filter.as_ref().is_none_or(|f| query::matches(f, r)))
        .collect();
    if st.cfg.list_order == ListOrder::Varying {
        // No `$orderby` in the contract: each answer may come in another order (see ListOrder).
        use rand::{seq::SliceRandom, SeedableRng};
        let n = st.lists.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut rng = rand::rngs::StdRng::seed_from_u64(
            st.cfg.seed_value ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        matching.shuffle(&mut rng);
    }
    let rows: Vec<Value> = matching
        .into_iter()
        .skip(q.skip)
        .take(q.top.unwrap_or(usize::MAX))
        .enumerate()
        .map(|(i, r)| {
            let mut v = query::shape(r, &q, false);
            version_fields(&mut v, &ver, &q);
            v["rowNumber"] = json!(i + 1);
            v
        })
        .collect();
    drop(g);
    st.core.stats.add("list.rows", rows.len() as u64);
    Json(Value::Array(rows)).into_response()
}

/// Fields that differ between contract versions: 24.200.001 adds `Shipment.UnlimitedPackages`.
pub(super) fn version_fields(v: &mut Value, ver: &str, q: &QueryOpts) {
    if ver >= "24" && q.select.is_empty() {
        if let Some(m) = v.as_object_mut() {
            m.entry("UnlimitedPackages")
                .or_insert_with(|| w(json!(false)));
        }
    }
}

pub(super) fn no_entity() -> Response {
    error_500(
        "No entity satisfies the condition.",
        "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
    )
}

pub(super) async fn get_one(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, key)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "get", &ep, &ver, &headers).await {
        return r;
    }
    if key == "$adHocSchema" {
        return Json(ad_hoc_schema()).into_response();
    }
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    let g = st.lock();
    match find(&g, &key).and_then(|id| g.shipments.get(&id)) {
        Some(r) => {
            // `files` (on every Entity, ACU-SPEC) comes back only with `$expand=files`, like
            // every other detail collection in contract v4 (ERP-NOTES §A3).
            let mut v = query::shape(r, &q, false);
            version_fields(&mut v, &ver, &q);
            Json(v).into_response()
        }
        None => no_entity(),
    }
}

pub(super) fn ad_hoc_schema() -> Value {
    let recs = seed::generate(1, 1, 0);
    let mut r = recs.into_iter().next().unwrap_or_default();
    for (_, view) in r["custom"].as_object_mut().into_iter().flatten() {
        for (_, f) in view.as_object_mut().into_iter().flatten() {
            f.as_object_mut().map(|m| m.remove("value"));
        }
    }
    json!({"custom": r["custom"].clone()})
}

pub(super) async fn delete_one(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, key)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = enter(&st, "delete", &ep, &ver, &headers).await {
        return r;
    }
    let mut g = st.lock();
    match find(&g, &key) {
        Some(id) => {
            // ERP-NOTES.md §A4 / ACU-UG SO_30_20_00: a shipment is deleted (there is no
            // Cancelled status) while it is On Hold or Open; a Confirmed one is first
            // reopened with CorrectShipment. Later statuses cannot be deleted.
            let status = g.shipments[&id]["Status"]["value"]
                .as_str()
                .unwrap_or("")
                .to_string();
            if !matches!(status.as_str(), "" | "On Hold" | "Open") {
                return error_500(
                    &format!("The shipment cannot be deleted because its status is {status}. Correct the shipment first."),
                    "PX.Data.PXException",
                );
            }
            if let Some(r) = g.shipments.remove(&id) {
                if let Some(n) = r["ShipmentNbr"]["value"].as_str() {
                    g.order.remove(n);
                }
                super::push::record(&mut g, Some(r), None);
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => no_entity(),
    }
}
