//! Endpoint discovery and sign-in: `GET /entity`, the versioned `swagger.json`, cookie
//! login/logout and the OAuth token route (ERP-NOTES.md §A1, §A2).

use super::*;

// ---------------------------------------------------------------------------------------
// Endpoint list, swagger

/// ERP-NOTES §A1 (ACU-DOC Get_List_of_Endpoints): "No auth is needed; sending auth adds the
/// tenant's custom endpoints."
pub(super) async fn list_endpoints(
    State(st): State<Arc<AcuState>>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = faults(&st, "entity").await {
        return r;
    }
    let tenant = tenant_of(&st, &headers);
    if tenant.is_some() {
        st.core.stats.incr("entity.signed_in");
    }
    let custom = st.cfg.custom_endpoints.iter().filter(|(t, _, _)| {
        tenant
            .as_deref()
            .is_some_and(|mine| t.eq_ignore_ascii_case(mine))
    });
    let endpoints: Vec<Value> = st
        .cfg
        .endpoints
        .iter()
        .map(|(n, v)| (n, v))
        .chain(custom.map(|(_, n, v)| (n, v)))
        .map(|(n, v)| json!({"name": n, "version": v, "href": format!("/entity/{n}/{v}/")}))
        .collect();
    Json(json!({
        "version": {"acumaticaBuildVersion": "24.211.0021", "databaseVersion": "24.211.0021"},
        "endpoints": endpoints
    }))
    .into_response()
}

pub(super) const SPEC_23: &str = include_str!("spec/Shipment_Default_23.200.001.swagger.json");
pub(super) const SPEC_24: &str = include_str!("spec/Shipment_Default_24.200.001.openapi.json");

pub(super) async fn swagger(
    State(st): State<Arc<AcuState>>,
    Path((ep, ver)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_endpoint(&st, &ep, &ver) {
        return r;
    }
    st.core.stats.incr("swagger");
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    // 24.x and later are OpenAPI 3 documents; earlier versions are Swagger 2.0.
    let use_v3 = ver.as_str() >= "24";
    let mut doc: Value = serde_json::from_str(if use_v3 { SPEC_24 } else { SPEC_23 })
        .expect("vendored spec is JSON");
    let base = format!("/entity/{ep}/{ver}");
    if use_v3 {
        doc["servers"] = json!([{"url": format!("http://{host}{base}")}]);
    } else {
        doc["host"] = json!(host);
        doc["basePath"] = json!(base);
        doc["schemes"] = json!(["http"]);
    }
    doc["info"]["title"] = json!(format!("{ep}/{ver}"));
    doc["info"]["version"] = json!(ver);
    Json(doc).into_response()
}

// ---------------------------------------------------------------------------------------
// Sign-in

pub(super) async fn login(
    State(st): State<Arc<AcuState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = faults(&st, "login").await {
        return r;
    }
    let form: Map<String, Value> = if headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
    {
        url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    } else {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => m,
            _ => {
                return bad_request(
                    "The request body must be a JSON object with name and password.",
                )
            }
        }
    };
    let s = |k: &str| {
        form.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (name, password) = (s("name"), s("password"));
    let tenant = if form.contains_key("tenant") {
        s("tenant")
    } else {
        s("company")
    };
    let user = st.cfg.users.iter().find(|u| {
        u.name.eq_ignore_ascii_case(&name)
            && u.password == password
            && (tenant.is_empty() || u.tenant.eq_ignore_ascii_case(&tenant))
    });
    let Some(user) = user.cloned() else {
        st.core.stats.incr("login.invalid");
        return error_500(
            "Error: Invalid credentials. Please try again.",
            "PX.Data.PXException",
        );
    };
    let now = st.now();
    let sid = {
        let mut g = st.lock();
        expire_idle(&mut g, now);
        if g.sessions.len() >= st.cfg.max_sessions {
            drop(g);
            st.core.stats.incr("login.login_limit");
            return login_limit();
        }
        let sid = uuid::Uuid::new_v4().simple().to_string();
        g.sessions.insert(
            sid.clone(),
            Session {
                user: user.name.clone(),
                tenant: user.tenant.clone(),
                last_used: now,
            },
        );
        g.max_seen = g.max_seen.max(g.sessions.len());
        sid
    };
    st.publish_sessions();
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    let branch = s("branch");
    for c in [
        format!(".ASPXAUTH={sid}; path=/; HttpOnly"),
        format!("ASP.NET_SessionId={}; path=/; HttpOnly", &sid[..16]),
        format!(
            "UserBranch={}; path=/",
            if branch.is_empty() { "1" } else { &branch }
        ),
        format!(
            "Locale=Culture={}; path=/",
            if s("locale").is_empty() {
                "en-US".to_string()
            } else {
                s("locale")
            }
        ),
        format!("CompanyID={}; path=/", user.tenant),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            h.append("set-cookie", v);
        }
    }
    resp
}

pub(super) async fn logout(State(st): State<Arc<AcuState>>, headers: HeaderMap) -> Response {
    if let Err(r) = faults(&st, "logout").await {
        return r;
    }
    if let Some(sid) = cookie(&headers, ".ASPXAUTH") {
        st.lock().sessions.remove(&sid);
        st.publish_sessions();
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().append(
        "set-cookie",
        HeaderValue::from_static(".ASPXAUTH=; expires=Thu, 01-Jan-1970 00:00:00 GMT; path=/"),
    );
    resp
}

pub(super) fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

pub(super) async fn token(State(st): State<Arc<AcuState>>, body: Bytes) -> Response {
    if let Err(r) = faults(&st, "token").await {
        return r;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    let client_id = get("client_id");
    if !st
        .cfg
        .oauth_clients
        .iter()
        .any(|(i, s)| *i == client_id && *s == get("client_secret"))
    {
        st.core.stats.incr("token.invalid_client");
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let tenant = client_id.rsplit_once('@').map(|(_, t)| t.to_string());
    let scope = get("scope");
    let (user, scope) = match get("grant_type").as_str() {
        "password" => {
            let ok = st.cfg.users.iter().find(|u| {
                u.name.eq_ignore_ascii_case(&get("username"))
                    && u.password == get("password")
                    && tenant
                        .as_ref()
                        .is_none_or(|t| t.eq_ignore_ascii_case(&u.tenant))
            });
            match ok {
                Some(u) => (u.name.clone(), scope),
                None => {
                    st.core.stats.incr("token.invalid_grant");
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
            }
        }
        "refresh_token" => {
            let rt = get("refresh_token");
            let found = st.lock().refresh.remove(&rt);
            match found {
                Some((user, sc)) => (user, sc),
                None => {
                    st.core.stats.incr("token.invalid_grant");
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                }
            }
        }
        _ => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    if !scope.split(' ').any(|s| s == "api") {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let access = uuid::Uuid::new_v4().simple().to_string();
    let expires = st.now() + chrono::Duration::seconds(st.cfg.token_lifetime_seconds);
    let mut out = json!({
        "access_token": access, "expires_in": st.cfg.token_lifetime_seconds,
        "token_type": "Bearer", "scope": scope,
    });
    let mut g = st.lock();
    g.tokens.insert(
        access,
        Token {
            user: user.clone(),
            expires,
        },
    );
    if scope.split(' ').any(|s| s == "offline_access") {
        let rt = uuid::Uuid::new_v4().simple().to_string();
        g.refresh.insert(rt.clone(), (user, scope));
        out["refresh_token"] = json!(rt);
    }
    Json(out).into_response()
}
