//! `/_sim/acumatica/…` admin routes: dump and seed shipments, list sessions, scripted field
//! rejections. Never mounted outside the simulator.

use super::*;

// ---------------------------------------------------------------------------------------
// Admin

pub(super) async fn admin_dump(State(st): State<Arc<AcuState>>) -> Json<Value> {
    Json(Value::Array(st.shipments()))
}

/// POST a shipment in wire form. With an `id` or `ShipmentNbr` that exists, the given fields
/// are merged (address change, hold, status, new packages…); otherwise a new shipment is
/// created from a seeded template (a "new release"). `{"touch": true}` only bumps
/// LastModifiedDateTime. Either way LastModifiedDateTime moves to "now" (never backwards),
/// unless `{"backdate_seconds": N}` stamps it N seconds earlier (a late commit).
pub(super) async fn admin_upsert(
    State(st): State<Arc<AcuState>>,
    Json(body): Json<Value>,
) -> Response {
    let now = st.now();
    let mut g = st.lock();
    let key = body["id"].as_str().and_then(|id| find(&g, id)).or_else(|| {
        body["ShipmentNbr"]["value"]
            .as_str()
            .and_then(|n| find(&g, n))
    });
    let mut rec = match key.and_then(|k| g.shipments.get(&k).cloned()) {
        Some(r) => r,
        None => {
            g.next_nbr += 1;
            let n = g.next_nbr;
            let mut r = seed::generate(1, st.cfg.seed_value ^ n as u64, 0).remove(0);
            r["id"] = json!(body["id"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()));
            r["ShipmentNbr"] = w(json!(format!("{n:06}")));
            r["Orders"][0]["ShipmentNbr"] = w(json!(format!("{n:06}")));
            r
        }
    };
    let mut errors = Vec::new();
    let mut b = body.clone();
    let mut backdate = None;
    if let Some(m) = b.as_object_mut() {
        m.remove("touch");
        backdate = m.remove("backdate_seconds").and_then(|v| v.as_i64());
    }
    merge(&mut rec, &b, &[], &mut errors);
    let mut ts = touch(&mut g, now);
    if let Some(secs) = backdate {
        // A late commit: the transaction stamped LastModifiedDateTime when it started and
        // became visible only now, behind readers that already passed that time (what
        // `overlap_seconds` and the periodic full scan exist for).
        let t = DateTime::parse_from_rfc3339(&ts)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        ts = format_ts(t - chrono::Duration::seconds(secs));
    }
    rec["LastModifiedDateTime"] = w(json!(ts));
    insert(&mut g, rec.clone());
    drop(g);
    st.core.stats.incr("admin.upsert");
    Json(rec).into_response()
}

pub(super) async fn admin_sessions(State(st): State<Arc<AcuState>>) -> Json<Value> {
    let g = st.lock();
    let users: Vec<Value> = g
        .sessions
        .values()
        .map(|s| json!({"user": s.user, "tenant": s.tenant, "last_used": s.last_used.to_rfc3339()}))
        .collect();
    Json(
        json!({"open": g.sessions.len(), "max_seen": g.max_seen, "max_sessions": st.cfg.max_sessions, "sessions": users}),
    )
}

pub(super) async fn admin_reject(
    State(st): State<Arc<AcuState>>,
    Json(body): Json<Value>,
) -> Response {
    let (Some(field), Some(msg)) = (body["field"].as_str(), body["message"].as_str()) else {
        return bad_request("body must be {\"field\": …, \"message\": …}");
    };
    st.lock().rejects.push((field.to_string(), msg.to_string()));
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn admin_unreject(State(st): State<Arc<AcuState>>) -> Response {
    st.lock().rejects.clear();
    StatusCode::NO_CONTENT.into_response()
}
