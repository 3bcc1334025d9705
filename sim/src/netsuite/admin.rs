//! `/_sim/netsuite/…` admin routes: expire tokens, dump and seed fulfillments. Never
//! mounted outside the simulator.

use super::*;

// ---------------------------------------------------------------------------------------
// /_sim/netsuite/fulfillments
// ---------------------------------------------------------------------------------------

pub(super) async fn admin_expire_tokens(State(sim): State<Arc<NetSuiteSim>>) -> Json<Value> {
    Json(json!({ "expired": sim.expire_tokens() }))
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct DumpQuery {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    offset: Option<usize>,
    #[serde(default)]
    limit: Option<usize>,
}

pub(super) async fn admin_dump(
    State(sim): State<Arc<NetSuiteSim>>,
    AxQuery(q): AxQuery<DumpQuery>,
) -> Response {
    let store = sim.read_store();
    if let Some(id) = q.id {
        return match store.get(id) {
            Some(f) => Json(json!(f)).into_response(),
            None => (StatusCode::NOT_FOUND, "no such fulfillment").into_response(),
        };
    }
    let items: Vec<&Fulfillment> = store
        .by_id
        .values()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.unwrap_or(1000))
        .collect();
    Json(json!({"total": store.len(), "items": items})).into_response()
}

/// POST a JSON object: with the `id` of an existing record, its keys are merged into that
/// record (modify); otherwise they are merged into a fresh seeded record (add). Either way
/// `lastmodified` becomes now.
pub(super) async fn admin_upsert(
    State(sim): State<Arc<NetSuiteSim>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(obj) = body.as_object() else {
        return (StatusCode::BAD_REQUEST, "body must be a JSON object").into_response();
    };
    let now = sim.now_naive();
    let mut store = sim.write_store();
    let existing = obj
        .get("id")
        .and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .and_then(|id| store.get(id).cloned());
    let mut base = match existing {
        Some(f) => f,
        None => {
            let mut tmp = Store::default();
            store::seed(
                &mut tmp,
                SeedSpec {
                    count: 1,
                    bad: 0,
                    seed: store.next_id(),
                    ups_sublist: UpsSublist::Mixed,
                },
            );
            let mut f = tmp.by_id.into_values().next().expect("one seeded record");
            f.id = obj
                .get("id")
                .and_then(Value::as_u64)
                .unwrap_or_else(|| store.next_id());
            f.tranid = format!("IF{}", f.id - 4000);
            f
        }
    };
    let mut merged = json!(base);
    if let Some(m) = merged.as_object_mut() {
        for (k, v) in obj {
            if k != "id" {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    match serde_json::from_value::<Fulfillment>(merged) {
        Ok(f) => base = f,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("invalid fulfillment: {e}")).into_response()
        }
    }
    base.lastmodified = now;
    store.upsert(base.clone());
    Json(json!(base)).into_response()
}
