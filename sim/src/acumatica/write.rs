//! Shipment writes: `PUT` upsert with `If-Match: *`, field merge and the 422 per-field error
//! body (ERP-NOTES.md §A, §G).

use super::*;

// ---------------------------------------------------------------------------------------
// PUT upsert

pub(super) const TRACKING_MAX: usize = 30;

/// Merge a wire-form body into a stored record. Returns whether anything changed, and the
/// per-field errors (the 422 body marks them on a copy of the request).
pub(super) fn merge(
    stored: &mut Value,
    body: &Value,
    rejects: &[(String, String)],
    errors: &mut Vec<(Vec<String>, String)>,
) -> bool {
    let mut changed = false;
    let Value::Object(b) = body else { return false };
    for (k, v) in b {
        match k.as_str() {
            "id" | "rowNumber" | "files" | "_links" | "error" | "delete" => continue,
            "custom" => {
                for (view, fields) in v.as_object().into_iter().flatten() {
                    for (field, fv) in fields.as_object().into_iter().flatten() {
                        if let Some((_, msg)) = rejects
                            .iter()
                            .find(|(f, _)| f == field || *f == format!("custom.{view}.{field}"))
                        {
                            errors.push((
                                vec!["custom".into(), view.clone(), field.clone()],
                                msg.clone(),
                            ));
                            continue;
                        }
                        let slot = &mut stored["custom"][view][field];
                        let newv = fv.get("value").cloned().unwrap_or(Value::Null);
                        if slot.get("value").cloned().unwrap_or(Value::Null) != newv {
                            let kind = fv
                                .get("type")
                                .or_else(|| slot.get("type"))
                                .cloned()
                                .unwrap_or(json!("CustomStringField"));
                            *slot = if newv.is_null() {
                                json!({"type": kind})
                            } else {
                                json!({"type": kind, "value": newv})
                            };
                            changed = true;
                        }
                    }
                }
            }
            _ if v.is_array() => {
                let lines = stored[k.as_str()].as_array().cloned().unwrap_or_default();
                let mut lines = lines;
                for (i, item) in v.as_array().into_iter().flatten().enumerate() {
                    let pos = item
                        .get("id")
                        .and_then(|id| id.as_str())
                        .and_then(|id| lines.iter().position(|l| l["id"] == id))
                        .or_else(|| {
                            item.get("LineNbr")
                                .and_then(|n| n.get("value"))
                                .and_then(|n| {
                                    lines.iter().position(|l| l["LineNbr"]["value"] == *n)
                                })
                        });
                    if item.get("delete").and_then(|d| d.as_bool()) == Some(true) {
                        if let Some(p) = pos {
                            lines.remove(p);
                            changed = true;
                        }
                        continue;
                    }
                    let mut line_errors = Vec::new();
                    let line = match pos {
                        Some(p) => &mut lines[p],
                        None => {
                            lines.push(json!({"id": uuid::Uuid::new_v4().to_string(), "rowNumber": lines.len() + 1, "custom": {}}));
                            changed = true;
                            lines.last_mut().expect("just pushed")
                        }
                    };
                    if k == "Packages" {
                        if let Some(t) = item
                            .get("TrackingNbr")
                            .and_then(|t| t.get("value"))
                            .and_then(|t| t.as_str())
                        {
                            if t.chars().count() > TRACKING_MAX {
                                line_errors.push((
                                    vec!["TrackingNbr".to_string()],
                                    format!("'Tracking Number' cannot be longer than {TRACKING_MAX} characters."),
                                ));
                            }
                        }
                    }
                    if line_errors.is_empty() {
                        changed |= merge(line, item, rejects, &mut line_errors);
                    }
                    for (mut p, m) in line_errors {
                        p.insert(0, i.to_string());
                        p.insert(0, k.clone());
                        errors.push((p, m));
                    }
                }
                stored[k.as_str()] = Value::Array(lines);
            }
            _ if v.is_object() && !query::is_wrapper(v) => {
                let mut sub = Vec::new();
                changed |= merge(&mut stored[k.as_str()], v, rejects, &mut sub);
                for (mut p, m) in sub {
                    p.insert(0, k.clone());
                    errors.push((p, m));
                }
            }
            _ => {
                if let Some((_, msg)) = rejects.iter().find(|(f, _)| f == k) {
                    errors.push((vec![k.clone()], msg.clone()));
                    continue;
                }
                if matches!(
                    k.as_str(),
                    "ShipmentNbr" | "LastModifiedDateTime" | "CreatedDateTime"
                ) {
                    continue;
                }
                let newv = v.get("value").cloned().unwrap_or(Value::Null);
                if stored[k.as_str()]
                    .get("value")
                    .cloned()
                    .unwrap_or(Value::Null)
                    != newv
                {
                    stored[k.as_str()] = w(newv);
                    changed = true;
                }
            }
        }
    }
    changed
}

pub(super) fn set_error(v: &mut Value, path: &[String], msg: &str) {
    let Some((seg, rest)) = path.split_first() else {
        if v.is_object() {
            v["error"] = json!(msg);
        } else {
            *v = json!({"error": msg});
        }
        return;
    };
    match v {
        Value::Array(a) => {
            if let Some(item) = seg.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                set_error(item, rest, msg);
            }
        }
        Value::Object(m) => set_error(m.entry(seg.clone()).or_insert(json!({})), rest, msg),
        _ => {}
    }
}

/// The 422 body: the request entity with `error` set on each failing field.
pub(super) fn mark_errors(body: &Value, errors: &[(Vec<String>, String)]) -> Value {
    let mut out = body.clone();
    for (path, msg) in errors {
        set_error(&mut out, path, msg);
    }
    out["error"] = json!(errors
        .iter()
        .map(|(p, m)| format!("{}: {m}", p.join(".")))
        .collect::<Vec<_>>()
        .join("; "));
    out
}

pub(super) async fn upsert(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let drop_after = match enter(&st, "put", &ep, &ver, &headers).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let q = match QueryOpts::parse(raw.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(&e),
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("The request body must be a JSON object."),
    };
    // Unwrapped values are a client bug (ERP-NOTES §G2): reject them like the instance does.
    for (k, v) in body.as_object().into_iter().flatten() {
        if !matches!(
            k.as_str(),
            "id" | "rowNumber" | "custom" | "note" | "files" | "delete"
        ) && !v.is_object()
            && !v.is_array()
        {
            st.core.stats.incr("put.400");
            return bad_request(&format!(
                "The value of '{k}' must be an object with a 'value' property."
            ));
        }
    }
    let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()) == Some("*");
    let now = st.now();
    let mut g = st.lock();
    let key = body["id"]
        .as_str()
        .and_then(|id| find(&g, id))
        .or_else(|| {
            body["ShipmentNbr"]["value"]
                .as_str()
                .and_then(|n| find(&g, n))
        })
        .or_else(|| {
            q.filter.as_ref().and_then(|f| {
                g.order
                    .values()
                    .find(|id| g.shipments.get(*id).is_some_and(|r| query::matches(f, r)))
                    .cloned()
            })
        });
    let (mut rec, is_new) = match key.as_ref().and_then(|id| g.shipments.get(id)) {
        Some(r) => (r.clone(), false),
        None if if_match => {
            drop(g);
            st.core.stats.incr("put.412");
            return http_error(
                StatusCode::PRECONDITION_FAILED,
                "The record does not exist.",
                "No entity satisfies the condition.",
                "PX.Api.ContractBased.NoEntitySatisfiesTheConditionException",
            );
        }
        None => {
            g.next_nbr += 1;
            let nbr = format!("{:06}", g.next_nbr);
            let mut r = seed::generate(1, g.next_nbr as u64, 0).remove(0);
            r["id"] = json!(uuid::Uuid::new_v4().to_string());
            r["ShipmentNbr"] = w(json!(nbr));
            (r, true)
        }
    };
    let rejects = g.rejects.clone();
    let mut errors = Vec::new();
    let changed = merge(&mut rec, &body, &rejects, &mut errors);
    if !errors.is_empty() {
        drop(g);
        st.core.stats.incr("put.422");
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(mark_errors(&body, &errors)),
        )
            .into_response();
    }
    let answer = if changed || is_new {
        let ts = touch(&mut g, now);
        rec["LastModifiedDateTime"] = w(json!(ts));
        if is_new {
            rec["CreatedDateTime"] = w(json!(ts));
        }
        // The answer is shaped first so that the record moves into the store uncopied.
        let answer = query::shape(&rec, &q, false);
        insert(&mut g, rec);
        st.core.stats.incr("put.changed");
        answer
    } else {
        st.core.stats.incr("put.unchanged");
        query::shape(&rec, &q, false)
    };
    drop(g);
    if drop_after {
        return common::faults::broken_response();
    }
    Json(answer).into_response()
}
