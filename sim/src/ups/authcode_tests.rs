//! The authorization-code flow as `OAuthAuthCode.yaml` describes it, through the router
//! (no sockets): consent redirect, code exchange with and without PKCE, the code's
//! single use and bindings, refresh, expiry and revocation.

use super::super::*;
use super::s256;
use base64::Engine;
use std::collections::HashMap;
use tower::ServiceExt;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn app() -> (Router, Arc<UpsState>) {
    let (_core, state) = build_state(UpsSimConfig::default()).unwrap();
    (router(state.clone()), state)
}

async fn call(
    app: &Router,
    req: axum::http::Request<axum::body::Body>,
) -> (StatusCode, HeaderMap, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Authorize and return the code the redirect carries.
async fn code(app: &Router, challenge: Option<&str>) -> String {
    let mut uri = format!(
        "/security/v1/oauth/authorize?client_id=demo-client&redirect_uri={}&response_type=code&state=xyz&scope=read",
        url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>()
    );
    if let Some(c) = challenge {
        uri.push_str(&format!("&code_challenge={c}&code_challenge_method=S256"));
    }
    let (status, h, _) = call(
        app,
        axum::http::Request::get(uri)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FOUND);
    let loc = url::Url::parse(h["location"].to_str().unwrap()).unwrap();
    assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
    let q: HashMap<String, String> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    q["code"].clone()
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("demo-client:demo-secret")
    )
}

fn post(
    path: &str,
    auth: Option<&str>,
    form: &[(&str, &str)],
) -> axum::http::Request<axum::body::Body> {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut b =
        axum::http::Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(axum::body::Body::from(body)).unwrap()
}

fn exchange(
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
    auth: bool,
) -> axum::http::Request<axum::body::Body> {
    let mut f = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
    ];
    if let Some(v) = verifier {
        f.push(("code_verifier", v));
        f.push(("client_id", "demo-client"));
    }
    let b = basic();
    post("/security/v1/oauth/token", auth.then_some(b.as_str()), &f)
}

fn refresh(token: &str) -> axum::http::Request<axum::body::Body> {
    post(
        "/security/v1/oauth/refresh",
        Some(&basic()),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
}

fn code_of(v: &Value) -> &str {
    v["response"]["errors"][0]["code"].as_str().unwrap_or("")
}

/// The plain flow (Basic) answers `generateTokenSuccessResponse` with every value a
/// string, and the access token works on the API.
#[tokio::test]
async fn plain_code_exchange_gives_tokens_in_the_documented_shape() {
    let (app, _st) = app();
    let c = code(&app, None).await;
    let (s, _, v) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let val = schema::response_validator(
        schema::spec::OAUTH_AUTH_CODE,
        "generateTokenSuccessResponse",
    );
    assert!(val.is_valid(&v), "{v}");
    for k in [
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_token_expires_in",
        "refresh_count",
        "issued_at",
        "refresh_token_issued_at",
    ] {
        assert!(v[k].is_string(), "{k}: {v}");
    }
    assert_eq!(v["refresh_token_expires_in"], "604799");
    assert_eq!(v["refresh_token_status"], "approved");
    assert_eq!(v["refresh_count"], "0");
    let (s, _, _) = call(
        &app,
        axum::http::Request::get("/api/track/v1/details/1Z12345E0205271688")
            .header(
                "authorization",
                format!("Bearer {}", v["access_token"].as_str().unwrap()),
            )
            .header("transId", "t")
            .header("transactionSrc", "t")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_ne!(s, StatusCode::UNAUTHORIZED);
}

/// A code is single-use: the second exchange is refused, and the refresh token the first
/// produced is revoked (RFC 6749 §4.1.2).
#[tokio::test]
async fn a_code_is_single_use_and_reuse_revokes_its_grant() {
    let (app, _st) = app();
    let c = code(&app, None).await;
    let (s, _, v) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert_eq!(s, StatusCode::OK);
    let rt = v["refresh_token"].as_str().unwrap().to_string();
    let (s, _, e) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::BAD_REQUEST, "10410"), "{e}");
    let (s, _, e) = call(&app, refresh(&rt)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::UNAUTHORIZED, "10415"), "{e}");
}

/// The code is bound to the redirect_uri of the authorization request.
#[tokio::test]
async fn a_different_redirect_uri_is_refused() {
    let (app, _st) = app();
    let c = code(&app, None).await;
    let (s, _, e) = call(&app, exchange(&c, "http://127.0.0.1:9/other", None, true)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::BAD_REQUEST, "10411"), "{e}");
}

/// PKCE: no Authorization header, client_id + code_verifier in the body; a wrong verifier
/// is refused, the right one accepted; without the verifier a challenged code is refused.
#[tokio::test]
async fn pkce_checks_the_verifier() {
    let (app, _st) = app();
    let verifier = "a-verifier-of-at-least-43-characters-0123456789";
    let c = code(&app, Some(&s256(verifier))).await;
    let (s, _, e) = call(
        &app,
        exchange(
            &c,
            REDIRECT,
            Some("wrong-verifier-wrong-verifier-wrong-verifier"),
            false,
        ),
    )
    .await;
    assert_eq!((s, code_of(&e)), (StatusCode::BAD_REQUEST, "10412"), "{e}");
    let (s, _, e) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert_eq!(
        (s, code_of(&e)),
        (StatusCode::BAD_REQUEST, "10412"),
        "Basic without the verifier: {e}"
    );
    let (s, _, v) = call(&app, exchange(&c, REDIRECT, Some(verifier), false)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Neither Basic nor PKCE fields: 10400.
    let c = code(&app, None).await;
    let (s, _, e) = call(&app, exchange(&c, REDIRECT, None, false)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::UNAUTHORIZED, "10400"), "{e}");
    // The RFC 7636 appendix B example.
    assert_eq!(
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

/// Codes expire on the sim clock; a missing required parameter and a denied consent are
/// answered as documented.
#[tokio::test]
async fn codes_expire_params_are_required_and_consent_can_be_denied() {
    let (app, st) = app();
    let c = code(&app, None).await;
    st.core
        .clock
        .advance(chrono::Duration::seconds(authcode::CODE_TTL_SECONDS + 1));
    let (s, _, e) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::BAD_REQUEST, "10410"), "{e}");
    let (s, _, e) = call(
        &app,
        axum::http::Request::get(
            "/security/v1/oauth/authorize?client_id=demo-client&response_type=code",
        )
        .body(axum::body::Body::empty())
        .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(e.to_string().contains("redirect_uri"), "{e}");
    st.authcode.set_deny(true);
    let (s, h, _) = call(&app, axum::http::Request::get(format!("/security/v1/oauth/authorize?client_id=demo-client&response_type=code&state=s1&redirect_uri={REDIRECT}")).body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(s, StatusCode::FOUND);
    let loc = h["location"].to_str().unwrap();
    assert!(
        loc.contains("error=access_denied") && loc.contains("state=s1") && !loc.contains("code="),
        "{loc}"
    );
}

/// Refresh: a new pair (rotating by default, the old refresh token dead), refresh_count
/// counts; without rotation the same refresh token keeps its original end; an expired
/// refresh token and a revoked grant are refused in UPS's error shape.
#[tokio::test]
async fn refresh_rotates_expires_and_is_revoked() {
    let (app, st) = app();
    let c = code(&app, None).await;
    let (_, _, v) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    let rt0 = v["refresh_token"].as_str().unwrap().to_string();
    st.core.clock.advance(chrono::Duration::hours(5));
    let (s, _, v) = call(&app, refresh(&rt0)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let val =
        schema::response_validator(schema::spec::OAUTH_AUTH_CODE, "refreshTokenSuccessResponse");
    assert!(val.is_valid(&v), "{v}");
    assert_eq!(v["refresh_count"], "1");
    assert_eq!(v["refresh_token_expires_in"], "604799");
    let rt1 = v["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt0, rt1);
    let (s, _, e) = call(&app, refresh(&rt0)).await;
    assert_eq!(
        (s, code_of(&e)),
        (StatusCode::UNAUTHORIZED, "10413"),
        "old one is dead: {e}"
    );

    st.authcode.set_rotate(false);
    st.core.clock.advance(chrono::Duration::hours(1));
    let (_, _, v) = call(&app, refresh(&rt1)).await;
    assert_eq!(v["refresh_token"], rt1.as_str());
    assert_eq!(v["refresh_token_expires_in"], (604_799 - 3600).to_string());
    assert_eq!(v["refresh_count"], "2");

    st.core.clock.advance(chrono::Duration::days(7));
    let (s, _, e) = call(&app, refresh(&rt1)).await;
    assert_eq!((s, code_of(&e)), (StatusCode::UNAUTHORIZED, "10414"), "{e}");

    // Revocation ends the grant and its access tokens.
    let c = code(&app, None).await;
    let (_, _, v) = call(&app, exchange(&c, REDIRECT, None, true)).await;
    assert!(st.revoke_grants() >= 1);
    let (s, _, e) = call(&app, refresh(v["refresh_token"].as_str().unwrap())).await;
    assert_eq!((s, code_of(&e)), (StatusCode::UNAUTHORIZED, "10415"), "{e}");
    assert!(st
        .authenticate(&{
            let mut h = HeaderMap::new();
            h.insert(
                "authorization",
                format!("Bearer {}", v["access_token"].as_str().unwrap())
                    .parse()
                    .unwrap(),
            );
            h
        })
        .is_err());
}
