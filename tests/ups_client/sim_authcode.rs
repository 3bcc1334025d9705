//! `UpsClient` on the authorization-code grant against the UPS simulator: the refresh
//! token is renewed `renew_before` its end even while the access token is still fresh,
//! the rotated refresh token is stored before the new access token is handed out, and a
//! refresh token UPS does not extend is never "renewed" again (no wasted token requests).

use std::sync::{Arc, Mutex};

use upsync::sim::ups::{spawn, UpsSimConfig};
use upsync::ups::authcode::{self, AuthCodeGrant, AuthCodeTokens, GrantStore};
use upsync::ups::*;

/// An in-memory grant store that counts its writes.
#[derive(Default)]
struct MemGrant {
    tokens: Mutex<Option<AuthCodeTokens>>,
    saves: Mutex<u32>,
}

impl GrantStore for MemGrant {
    fn name(&self) -> &str {
        "shipper"
    }
    fn load(&self) -> Option<AuthCodeTokens> {
        self.tokens.lock().unwrap().clone()
    }
    fn save(&self, t: &AuthCodeTokens) -> Result<(), String> {
        *self.tokens.lock().unwrap() = Some(t.clone());
        *self.saves.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_token_is_renewed_before_its_end_and_only_while_ups_extends_it() {
    // Access tokens of 3 days, refresh tokens of 2: only the renewal can trigger a refresh.
    let sim = spawn(UpsSimConfig {
        tick_interval_ms: 0,
        token_ttl_seconds: 3 * 86_400,
        ..UpsSimConfig::default()
    })
    .await
    .unwrap();
    sim.state.authcode.set_refresh_ttl(2 * 86_400);
    let creds = UpsCredentials::new("demo-client", "demo-secret");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:9/cb";
    let url =
        authcode::authorize_url(&sim.base_url, "demo-client", redirect, "s", None, None).unwrap();
    let loc = http.get(url).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = authcode::read_redirect(&loc).unwrap().code;
    let core = sim.core.clone();
    let clock = Clock::from_fn(move || core.clock.now());
    let t = authcode::exchange_code(
        &http,
        &sim.base_url,
        &creds,
        &code,
        redirect,
        None,
        clock.now(),
    )
    .await
    .unwrap();
    let grant = Arc::new(MemGrant::default());
    grant.save(&t).unwrap();
    let client = UpsClient::authorization_code(
        UpsClientConfig::new(&sim.base_url, "123X56"),
        creds,
        Arc::new(MemoryTokenStore::new()),
        clock.clone(),
        AuthCodeGrant {
            store: grant.clone(),
            renew_before: chrono::Duration::hours(24),
        },
    )
    .unwrap();
    let refreshes = || sim.stats().get("refresh.issued").copied().unwrap_or(0);

    client.ensure_token().await.unwrap();
    assert_eq!(refreshes(), 0, "the stored access token serves");
    sim.core.clock.advance(chrono::Duration::hours(12));
    client.ensure_token().await.unwrap();
    assert_eq!(refreshes(), 0, "not yet inside the renewal margin");

    // At 25 h the end (48 h after the login) is 23 h away: inside the 24 h margin.
    sim.core.clock.advance(chrono::Duration::hours(13));
    client.ensure_token().await.unwrap();
    assert_eq!(
        refreshes(),
        1,
        "renewed while the access token was still fresh"
    );
    let now = clock.now();
    let g = grant.load().unwrap();
    assert_ne!(g.refresh_token, t.refresh_token, "rotated, and stored");
    assert_eq!(g.renewable, Some(true));
    assert!(
        g.refresh_expires_at > now + chrono::Duration::hours(47),
        "{g:?}"
    );
    client.ensure_token().await.unwrap();
    assert_eq!(refreshes(), 1, "once");

    // UPS stops extending it: one refresh learns that, then no more renewals.
    sim.state.authcode.set_rotate(false);
    sim.core.clock.advance(chrono::Duration::hours(25));
    client.ensure_token().await.unwrap();
    assert_eq!(refreshes(), 2);
    assert_eq!(grant.load().unwrap().renewable, Some(false));
    sim.core.clock.advance(chrono::Duration::hours(1));
    client.ensure_token().await.unwrap();
    assert_eq!(refreshes(), 2, "no renewal UPS would not honour");

    // Past its end: an error naming the fix, without a request.
    sim.core.clock.advance(chrono::Duration::days(3));
    let e = client.ensure_token().await.unwrap_err();
    assert!(
        e.to_string().contains("upsync creds authorize ups shipper"),
        "{e}"
    );
    assert_eq!(refreshes(), 2);
    assert_eq!(
        sim.stats().get("refresh"),
        Some(&2),
        "no request for an expired refresh token"
    );
}
