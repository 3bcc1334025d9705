//! Long-running actions: `ConfirmShipment` answers 202 + `Location`, polling answers 202 then
//! 204; the Shipments form is busy meanwhile (ERP-NOTES.md §A4, §G6). The documents give no
//! running time: the action runs for `action_polls` status answers and/or `action_ms` of
//! the simulator's clock.

use super::*;

// ---------------------------------------------------------------------------------------
// Actions

pub(super) async fn action(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, name)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = enter(&st, "action", &ep, &ver, &headers).await {
        return r;
    }
    if !matches!(
        name.as_str(),
        "ConfirmShipment" | "CorrectShipment" | "UpdateIN" | "PrepareInvoice"
    ) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "An action with this name does not exist."})),
        )
            .into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let entity = &body["entity"];
    let mut g = st.lock();
    let key = entity["id"]
        .as_str()
        .and_then(|id| find(&g, id))
        .or_else(|| {
            entity["ShipmentNbr"]["value"]
                .as_str()
                .and_then(|n| find(&g, n))
        });
    let Some(id) = key else {
        drop(g);
        return no_entity();
    };
    if name == "ConfirmShipment" {
        let rec = &g.shipments[&id];
        if rec["Hold"]["value"] == json!(true) {
            drop(g);
            return error_500(
                "The shipment is on hold and cannot be confirmed.",
                "PX.Data.PXException",
            );
        }
    }
    let op = uuid::Uuid::new_v4().to_string();
    let now = st.now();
    g.running.push(op.clone());
    g.actions.insert(
        op.clone(),
        ActionOp {
            shipment_id: id,
            polls_left: st.cfg.action_polls,
            done: false,
            session: session_key(&headers).unwrap_or_default(),
            started: now,
        },
    );
    drop(g);
    st.core.stats.incr(&format!("action.{name}"));
    let mut resp = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/entity/{ep}/{ver}/Shipment/{name}/status/{op}"))
    {
        resp.headers_mut().insert("location", v);
    }
    resp
}

pub(super) async fn action_status(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver, name, op)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    // The status request is the one request the running action lets through (§A4).
    if let Err(r) = enter(&st, "action.status", &ep, &ver, &headers).await {
        return r;
    }
    let now = st.now();
    let mut g = st.lock();
    let Some(a) = g.actions.get_mut(&op) else {
        drop(g);
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "The operation does not exist."})),
        )
            .into_response();
    };
    if a.done {
        return StatusCode::NO_CONTENT.into_response();
    }
    // Still running: by answers still owed (`action_polls`), or by time (`action_ms`).
    let ran = now - a.started;
    if a.polls_left > 0 || ran < chrono::Duration::milliseconds(st.cfg.action_ms as i64) {
        a.polls_left = a.polls_left.saturating_sub(1);
        return StatusCode::ACCEPTED.into_response();
    }
    a.done = true;
    // How long the action held its session, start to the 204 that ends it for the client:
    // what bounds confirmations per session (the bench's `action_held_ms_per_confirmation`).
    let held_us = ran.num_microseconds().unwrap_or(0).max(0) as u64;
    let sid = a.shipment_id.clone();
    g.running.retain(|r| *r != op);
    st.core.stats.add("action.held_us", held_us);
    let new_status = match name.as_str() {
        "ConfirmShipment" => Some("Confirmed"),
        "CorrectShipment" => Some("Open"),
        "PrepareInvoice" => Some("Invoiced"),
        _ => None,
    };
    if let Some(s) = new_status {
        let ts = touch(&mut g, now);
        // Copies for the push notification only when pushing is on (two whole shipments).
        let push_on = g.push_on;
        let before = g.shipments.get(&sid).filter(|_| push_on).cloned();
        if let Some(r) = g.shipments.get_mut(&sid) {
            r["Status"] = w(json!(s));
            r["LastModifiedDateTime"] = w(json!(ts));
            if s == "Confirmed" {
                for p in r["Packages"].as_array_mut().into_iter().flatten() {
                    p["Confirmed"] = w(json!(true));
                }
            }
        }
        let after = g.shipments.get(&sid).filter(|_| push_on).cloned();
        if before.is_some() {
            super::push::record(&mut g, before, after);
        }
    }
    StatusCode::NO_CONTENT.into_response()
}
