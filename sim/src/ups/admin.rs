//! `/_sim/ups/…` admin routes: dump shipments, add shipments made by another account
//! (for recovery tests), dump Track Alert subscriptions, advance tracking one tick, choose
//! tracking scenarios per package or reference. Never mounted outside the simulator.

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

/// `POST /_sim/ups/track-scenarios` `{"reference": "PO-1", "scenario": "access_point"}` or
/// `{"tracking_number": "1Z…", "scenario": …}`: register a tracking scenario (see
/// [`super::track::TrackScenario`]; before or after the shipment exists) →
/// `{…the key, "scenario", "tracking_numbers": [packages it applies to now]}`. 400 (plain
/// text, like the other admin routes) for an unknown scenario or not exactly one key.
/// Choose before Track Alert pushed past the common start (label, origin scan, departure):
/// a subscription counts the events it handled, not which ones.
pub(super) async fn set_track_scenario(
    State(st): State<Arc<UpsState>>,
    Json(body): Json<Value>,
) -> Response {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m).into_response();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
    let scenario = match text("scenario") {
        None => return bad("\"scenario\" (a string) is required".into()),
        Some(s) => match s.parse::<track::TrackScenario>() {
            Ok(sc) => sc,
            Err(e) => return bad(e.to_string()),
        },
    };
    let key = match (text("reference"), text("tracking_number")) {
        (Some(r), None) if !r.is_empty() => state::ScenarioKey::Reference(r.to_string()),
        (None, Some(n)) if !n.is_empty() => {
            state::ScenarioKey::TrackingNumber(n.to_ascii_uppercase())
        }
        _ => {
            return bad(
                "give exactly one non-empty \"reference\" or \"tracking_number\" (strings)".into(),
            )
        }
    };
    st.set_track_scenario(key.clone(), scenario);
    let ships = st.read_shipments();
    let (mut out, numbers): (Value, Vec<String>) = match &key {
        state::ScenarioKey::Reference(r) => (
            json!({"reference": r}),
            ships
                .by_reference(r)
                .into_iter()
                .flat_map(|s| s.packages.iter().map(|p| p.tracking_number.clone()))
                .collect(),
        ),
        state::ScenarioKey::TrackingNumber(n) => (
            json!({"tracking_number": n}),
            ships
                .by_tracking(n)
                .map(|_| n.clone())
                .into_iter()
                .collect(),
        ),
    };
    out["scenario"] = json!(scenario.as_str());
    out["tracking_numbers"] = json!(numbers);
    Json(out).into_response()
}

/// `GET /_sim/ups/track-scenarios`: the registered scenarios, in registration order.
pub(super) async fn dump_track_scenarios(State(st): State<Arc<UpsState>>) -> Json<Value> {
    Json(st.dump_track_scenarios())
}
