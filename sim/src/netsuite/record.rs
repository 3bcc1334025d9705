//! The REST record API for item fulfillments: GET (with `expandSubResources`), DELETE and
//! PATCH of fields and package sublists, in NetSuite's wire form (ERP-NOTES.md §N4).

use super::*;

// ---------------------------------------------------------------------------------------
// Record API
// ---------------------------------------------------------------------------------------

pub(super) fn record_url(sim: &NetSuiteSim, id: u64) -> String {
    format!(
        "{}/services/rest/record/v1/itemFulfillment/{id}",
        sim.base_url()
    )
}

pub(super) fn nonexistent(id: &str) -> Response {
    ns_error(
        StatusCode::NOT_FOUND,
        "NONEXISTENT_ID",
        &format!("The record instance does not exist. Provide a valid record instance ID. (itemFulfillment {id})"),
        &[],
    )
}

pub(super) fn opt(v: &Option<String>) -> Value {
    v.as_ref().map(|s| json!(s)).unwrap_or(Value::Null)
}

pub(super) fn record_json(sim: &NetSuiteSim, f: &Fulfillment, expand: bool) -> Value {
    let url = record_url(sim, f.id);
    let sub = |name: &str, items: Vec<Value>| {
        let links = json!([{"rel": "self", "href": format!("{url}/{name}")}]);
        if expand {
            json!({"links": links, "items": items, "totalResults": items.len(), "count": items.len(), "hasMore": false, "offset": 0})
        } else {
            json!({"links": links})
        }
    };
    // §N4: the record shows the one package sublist its ship method uses; the carrier
    // sublists spell their fields with a suffix (packageTrackingNumberUps, …) and keep the
    // dimensions flat, the generic `package` nests them in `packageDetails`.
    let kind = f.package_sublist;
    let sfx = kind.suffix();
    let packages = f
        .packages
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("links".into(), json!([]));
            o.insert(format!("packageWeight{sfx}"), json!(p.weight));
            if let Some(d) = &p.descr {
                o.insert(format!("packageDescr{sfx}"), json!(d));
            }
            if let Some(t) = &p.tracking {
                o.insert(format!("packageTrackingNumber{sfx}"), json!(t));
            }
            match (&p.reference1, &p.carton) {
                (Some(r), _) if kind != PackageSublist::Package => {
                    o.insert(format!("reference1{sfx}"), json!(r));
                }
                (_, Some(c)) if kind == PackageSublist::Package => {
                    o.insert("packageCartonNumber".into(), json!(c));
                }
                _ => {}
            }
            if kind == PackageSublist::Package {
                let mut d = serde_json::Map::new();
                for (k, v) in [
                    ("packageLength", p.length),
                    ("packageWidth", p.width),
                    ("packageHeight", p.height),
                    ("declaredValue", p.declared_value),
                ] {
                    if let Some(v) = v {
                        d.insert(k.into(), json!(v));
                    }
                }
                if !d.is_empty() {
                    o.insert("packageDetails".into(), Value::Object(d));
                }
            } else {
                for (k, v) in [
                    ("packageLength", p.length),
                    ("packageWidth", p.width),
                    ("packageHeight", p.height),
                    ("insuredValue", p.declared_value),
                ] {
                    if let Some(v) = v {
                        o.insert(format!("{k}{sfx}"), json!(v));
                    }
                }
            }
            Value::Object(o)
        })
        .collect();
    let items = f
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            json!({"links": [], "line": i + 1, "item": {"id": it.item_id.to_string(), "refName": it.item},
                   "location": {"id": f.location, "refName": if f.location == "1" { "MAIN" } else { "WEST" }},
                   "description": opt(&it.description), "quantity": it.quantity, "rate": it.rate,
                   "custcol_hs_code": opt(&it.hs_code), "custcol_origin_country": opt(&it.origin_country)})
        })
        .collect();
    let a = &f.shipaddress;
    let address = if expand {
        json!({"links": [], "addressee": opt(&a.addressee), "attention": opt(&a.attention), "addr1": opt(&a.addr1),
               "addr2": opt(&a.addr2), "addr3": opt(&a.addr3), "city": opt(&a.city), "state": opt(&a.state),
               "zip": opt(&a.zip), "country": {"id": opt(&a.country)}, "addrPhone": opt(&a.addrphone)})
    } else {
        json!({"links": [{"rel": "self", "href": format!("{url}/shippingAddress")}]})
    };
    let mut o = serde_json::Map::new();
    o.insert("links".into(), json!([{"rel": "self", "href": url}]));
    o.insert("id".into(), json!(f.id.to_string()));
    o.insert("tranId".into(), json!(f.tranid));
    o.insert(
        "tranDate".into(),
        json!(f.trandate.format("%Y-%m-%d").to_string()),
    );
    o.insert(
        "lastModifiedDate".into(),
        json!(f.lastmodified.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    let status = json!({"id": f.status.to_string(), "refName": f.status_df()});
    o.insert("shipStatus".into(), status.clone());
    o.insert("status".into(), status);
    o.insert(
        "shipMethod".into(),
        json!({"id": f.shipmethod.to_string(), "refName": store::ship_method_name(f.shipmethod)}),
    );
    o.insert(
        "entity".into(),
        json!({"id": f.entity_id.to_string(), "refName": f.entity}),
    );
    o.insert(
        "createdFrom".into(),
        json!({"id": f.createdfrom_id.to_string(), "refName": format!("Sales Order #{}", f.createdfrom)}),
    );
    o.insert(
        "currency".into(),
        json!({"id": if f.currency == "CAD" { "3" } else { "1" }, "refName": f.currency}),
    );
    if let Some(e) = &f.email {
        o.insert("email".into(), json!(e));
    }
    if let Some(p) = &f.otherrefnum {
        o.insert("otherRefNum".into(), json!(p));
    }
    o.insert("shippingAddress".into(), address);
    o.insert(kind.name().into(), sub(kind.name(), packages));
    o.insert("item".into(), sub("item", items));
    if let Some(c) = f
        .shipping_cost
        .as_deref()
        .and_then(|c| c.parse::<serde_json::Number>().ok())
    {
        o.insert("shippingCost".into(), Value::Number(c));
    }
    if let Some(m) = &f.memo {
        o.insert("memo".into(), json!(m));
    }
    for (k, v) in &f.custom {
        if let Some(v) = v {
            o.insert(k.clone(), json!(v));
        }
    }
    Value::Object(o)
}

pub(super) async fn record_get(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    sim.core.stats.incr("record_get");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_get").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => {
                    let expand = uri.query().is_some_and(|q| {
                        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| {
                            k == "expandSubResources" && v.eq_ignore_ascii_case("true")
                        })
                    });
                    match id.parse::<u64>().ok().and_then(|n| sim.fulfillment(n)) {
                        Some(f) => Json(record_json(&sim, &f, expand)).into_response(),
                        None => nonexistent(&id),
                    }
                }
            },
        },
    };
    counted(&sim, "record_get", r)
}

/// `DELETE /record/v1/itemFulfillment/{id}` → 204 (NS-BROWSER records/itemFulfillment.md:
/// the instance operations are GET/PATCH/PUT/DELETE, ERP-NOTES.md §N4). An item fulfillment
/// has no cancelled status (shipStatus is A/B/C only, §N3/§N4): cancelling one is deleting
/// it, after which GET answers 404 NONEXISTENT_ID and SuiteQL no longer returns it.
pub(super) async fn record_delete(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    sim.core.stats.incr("record_delete");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_delete").await {
            Err(r) => r,
            Ok(_) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => match id.parse::<u64>().ok().filter(|n| sim.delete(*n)) {
                    Some(_) => StatusCode::NO_CONTENT.into_response(),
                    None => nonexistent(&id),
                },
            },
        },
    };
    counted(&sim, "record_delete", r)
}

pub(super) fn bad_content(code: &str, path: &str, detail: &str) -> Response {
    ns_error(
        StatusCode::BAD_REQUEST,
        code,
        &format!("Error while accessing a resource. {detail}"),
        &[("o:errorPath", path)],
    )
}

pub(super) fn num_field(v: &Value, path: &str) -> Result<Option<f64>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s.trim().parse().map(Some).map_err(|_| {
            bad_content(
                "INVALID_CONTENT",
                path,
                &format!(
                    "You have entered an Invalid Field Value {s} for the following field: {path}"
                ),
            )
        }),
        _ => Err(bad_content(
            "INVALID_CONTENT",
            path,
            &format!("The field {path} must be a number."),
        )),
    }
}

pub(super) fn str_field(v: &Value, path: &str) -> Result<Option<String>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err(bad_content(
            "INVALID_CONTENT",
            path,
            &format!("The field {path} must be a string."),
        )),
    }
}

pub(super) fn parse_package_line(
    v: &Value,
    i: usize,
    kind: PackageSublist,
) -> Result<PackageLine, Response> {
    let name = kind.name();
    let sfx = kind.suffix();
    let carrier = kind != PackageSublist::Package;
    let base = format!("{name}.items[{i}]");
    let Some(obj) = v.as_object() else {
        return Err(bad_content(
            "INVALID_CONTENT",
            &base,
            "A sublist line must be an object.",
        ));
    };
    let mut p = PackageLine::default();
    let mut weight = None;
    for (k, val) in obj {
        let path = format!("{base}.{k}");
        // Field names per sublist (§N4): `package` has packageWeight, packageDescr,
        // packageTrackingNumber, packageCartonNumber, packageDetails{…}; `packageUps` etc.
        // suffix them (packageWeightUps, …, reference1Ups) with flat dimensions.
        let plain = k
            .strip_suffix(sfx)
            .filter(|_| carrier)
            .unwrap_or(k.as_str());
        let field = if carrier && !k.ends_with(sfx) {
            ""
        } else {
            plain
        };
        match (field, carrier) {
            _ if k == "links" => {}
            ("packageWeight", _) => weight = num_field(val, &path)?,
            ("packageDescr", _) => p.descr = str_field(val, &path)?,
            ("packageTrackingNumber", _) => p.tracking = str_field(val, &path)?,
            ("reference1", true) => p.reference1 = str_field(val, &path)?,
            ("packageLength", true) => p.length = num_field(val, &path)?,
            ("packageWidth", true) => p.width = num_field(val, &path)?,
            ("packageHeight", true) => p.height = num_field(val, &path)?,
            ("insuredValue", true) => p.declared_value = num_field(val, &path)?,
            ("packageCartonNumber", false) => p.carton = str_field(val, &path)?,
            ("packageDetails", false) => {
                let Some(d) = val.as_object() else {
                    return Err(bad_content(
                        "INVALID_CONTENT",
                        &path,
                        "packageDetails must be an object.",
                    ));
                };
                for (dk, dv) in d {
                    let dpath = format!("{path}.{dk}");
                    let n = num_field(dv, &dpath)?;
                    match dk.as_str() {
                        "packageLength" => p.length = n,
                        "packageWidth" => p.width = n,
                        "packageHeight" => p.height = n,
                        "declaredValue" => p.declared_value = n,
                        _ => {
                            return Err(bad_content(
                                "NONEXISTENT_FIELD",
                                &dpath,
                                &format!("The field {dk} does not exist on this sublist."),
                            ))
                        }
                    }
                }
            }
            _ => {
                return Err(bad_content(
                    "NONEXISTENT_FIELD",
                    &path,
                    &format!("The field {k} does not exist on the {name} sublist."),
                ))
            }
        }
    }
    match weight {
        Some(w) if w >= 0.0 => p.weight = w,
        Some(_) => {
            return Err(bad_content(
                "INVALID_CONTENT",
                &format!("{base}.packageWeight{sfx}"),
                "The package weight must not be negative.",
            ))
        }
        None => {
            return Err(bad_content(
                "USER_ERROR",
                &format!("{base}.packageWeight{sfx}"),
                "Please enter value(s) for: Package Weight",
            ))
        }
    }
    Ok(p)
}

pub(super) struct Patch {
    ship_status: Option<char>,
    custom: Vec<(String, Option<String>)>,
    shipping_cost: Option<String>,
    memo: Option<Option<String>>,
    packages: Option<Vec<PackageLine>>,
}

pub(super) fn parse_patch(body: &[u8], kind: PackageSublist) -> Result<Patch, Response> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            &format!("The request body is not valid JSON: {e}"),
            &[],
        )
    })?;
    let Some(obj) = v.as_object() else {
        return Err(ns_error(
            StatusCode::BAD_REQUEST,
            "INVALID_CONTENT",
            "The request body must be a JSON object.",
            &[],
        ));
    };
    let mut patch = Patch {
        ship_status: None,
        custom: Vec::new(),
        shipping_cost: None,
        memo: None,
        packages: None,
    };
    for (k, val) in obj {
        match k.as_str() {
            "shipStatus" => {
                let id = val.get("id").and_then(Value::as_str).unwrap_or("");
                match id {
                    "A" | "B" | "C" => patch.ship_status = id.chars().next(),
                    _ => {
                        return Err(bad_content(
                            "INVALID_CONTENT",
                            "shipStatus.id",
                            &format!("You have entered an Invalid Field Value {id} for the following field: shipStatus"),
                        ))
                    }
                }
            }
            k if k == kind.name() => {
                let Some(items) = val.get("items").and_then(Value::as_array) else {
                    return Err(bad_content("INVALID_CONTENT", &format!("{k}.items"), "A sublist must be sent as {\"items\": [...]}."));
                };
                let mut lines = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    lines.push(parse_package_line(it, i, kind)?);
                }
                patch.packages = Some(lines);
            }
            // §N4: a record shows one package sublist; writing another one is refused here
            // (whether NetSuite refuses or silently keeps invisible lines is unverified; a
            // refusal is the variant that cannot hide a lost 1Z number).
            k if PackageSublist::from_name(k).is_some() => {
                return Err(bad_content(
                    "USER_ERROR",
                    k,
                    &format!("The sublist {k} is not available on this record; its ship method uses the {} sublist.", kind.name()),
                ))
            }
            // §N4 body fields. `shippingCost` is a currency amount: a JSON number (a string
            // or other value is refused, so a client writing "13.58 USD" is caught).
            "shippingCost" => match val {
                Value::Number(n) if n.as_f64().is_some_and(|f| f >= 0.0) => {
                    patch.shipping_cost = Some(n.to_string())
                }
                _ => {
                    return Err(bad_content(
                        "INVALID_CONTENT",
                        "shippingCost",
                        "You have entered an Invalid Field Value for the following field: shippingCost (a non-negative number).",
                    ))
                }
            },
            "memo" => patch.memo = Some(str_field(val, "memo")?),
            c if store::CUSTBODY_FIELDS.contains(&c) => {
                patch.custom.push((c.to_string(), str_field(val, c)?));
            }
            other => {
                return Err(bad_content(
                    "NONEXISTENT_FIELD",
                    other,
                    &format!("The field {other} does not exist on record type itemFulfillment or cannot be set by this simulator."),
                ))
            }
        }
    }
    Ok(patch)
}

pub(super) async fn record_patch(
    State(sim): State<Arc<NetSuiteSim>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.core.stats.incr("record_patch");
    let r = match acquire(&sim) {
        Err(r) => r,
        Ok(_slot) => match apply_faults(&sim, "record_patch").await {
            Err(r) => r,
            Ok(outcome) => match authenticate(&sim, &method, &uri, &headers) {
                Err(r) => r,
                Ok(()) => {
                    let r = patch_inner(&sim, &id, &uri, &body);
                    match outcome {
                        FaultOutcome::DropAfterCommit if r.status().is_success() => {
                            broken_response()
                        }
                        _ => r,
                    }
                }
            },
        },
    };
    counted(&sim, "record_patch", r)
}

pub(super) fn patch_inner(sim: &NetSuiteSim, id: &str, uri: &Uri, body: &[u8]) -> Response {
    let Some(n) = id
        .parse::<u64>()
        .ok()
        .filter(|n| sim.read_store().get(*n).is_some())
    else {
        return nonexistent(id);
    };
    let replace: Vec<String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "replace")
                .flat_map(|(_, v)| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .collect::<Vec<_>>()
                })
                .collect()
        })
        .unwrap_or_default();
    let kind = match sim.read_store().get(n) {
        Some(f) => f.package_sublist,
        None => return nonexistent(id),
    };
    for r in &replace {
        if r != "item" && PackageSublist::from_name(r).is_none() {
            return invalid_param(
                "replace",
                &format!("Invalid value for the 'replace' parameter: '{r}' is not a sublist of itemFulfillment."),
            );
        }
    }
    let patch = match parse_patch(body, kind) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let replace_packages = replace.iter().any(|r| r == kind.name());
    let now = sim.now_naive();
    sim.write_store().modify(n, now, |f| {
        if let Some(s) = patch.ship_status {
            f.status = s;
        }
        for (k, v) in patch.custom {
            f.custom.insert(k, v);
        }
        if let Some(c) = patch.shipping_cost {
            f.shipping_cost = Some(c);
        }
        if let Some(m) = patch.memo {
            f.memo = m;
        }
        if let Some(lines) = patch.packages {
            if replace_packages {
                f.packages = lines;
            } else {
                // Non-keyed sublist without `replace`: lines are APPENDED (NetSuite's trap).
                f.packages.extend(lines);
            }
        }
    });
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&record_url(sim, n)) {
        r.headers_mut().insert("location", v);
    }
    r
}
