//! `/_sim/ups/…` admin routes: dump shipments, add shipments made by another account
//! (for recovery tests), dump Track Alert subscriptions, advance tracking one tick. Never
//! mounted outside the simulator.

use super::*;

#[derive(Debug, serde::Deserialize)]
pub(super) struct DumpQuery {
    #[serde(default)]
    pub(super) reference: Option<String>,
}

pub(super) async fn dump_shipments(
    State(st): State<Arc<UpsState>>,
    axum::extract::Query(q): axum::extract::Query<DumpQuery>,
) -> Json<Value> {
    let all = st.dump_shipments();
    match q.reference {
        None => Json(all),
        Some(r) => Json(Value::Array(
            all.as_array()
                .into_iter()
                .flatten()
                .filter(|s| {
                    s["references"]
                        .as_array()
                        .is_some_and(|v| v.iter().any(|x| *x == r))
                })
                .cloned()
                .collect(),
        )),
    }
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ForeignShipments {
    pub(super) shipper_number: String,
    /// One shipment per value, carrying that value as its reference.
    pub(super) references: Vec<String>,
}

/// `POST /_sim/ups/foreign-shipments` `{"shipper_number": "999Z99", "references": ["IF1001", …]}`:
/// another shipper's shipments that carry the same reference values (one each) →
/// `{"tracking_numbers": [...]}`.
pub(super) async fn add_foreign_shipments(
    State(st): State<Arc<UpsState>>,
    Json(body): Json<ForeignShipments>,
) -> Json<Value> {
    let numbers: Vec<String> = body
        .references
        .iter()
        .map(|r| st.add_foreign_shipment(&body.shipper_number, std::slice::from_ref(r)))
        .collect();
    Json(json!({ "tracking_numbers": numbers }))
}

pub(super) async fn dump_subscriptions(State(st): State<Arc<UpsState>>) -> Json<Value> {
    Json(st.dump_subscriptions())
}

pub(super) async fn tick(State(st): State<Arc<UpsState>>) -> Json<Value> {
    let pushed = st.tick().await;
    Json(json!({ "pushed": pushed }))
}
