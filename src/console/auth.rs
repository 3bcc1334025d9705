//! Console login, sessions and CSRF tokens.
//!
//! The admin token (a vault entry) is the one password. A good login creates a session:
//! 32 random bytes as the cookie value (HttpOnly, SameSite=Strict, `Path=/console`,
//! `Secure` when configured), kept in memory only, so a restart logs everyone out. Each
//! session has its own CSRF token, a hidden field of every form that acts; the action
//! handlers refuse a POST whose field does not match. Sessions end after
//! `console.session_idle_minutes` without a request, or at logout.
//!
//! Guessing is slowed down: after [`FAILURES_PER_MINUTE`] wrong tokens in a minute, logins
//! are refused (429) for the rest of that minute. Tokens are compared through their SHA-256
//! digests in constant time, so neither content nor length leaks through timing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;

/// The admin token's minimum length.
pub const MIN_TOKEN_CHARS: usize = 16;
/// The session cookie's name.
pub const COOKIE: &str = "upsync_console";
/// Wrong tokens accepted per minute before logins are refused for the rest of it.
pub const FAILURES_PER_MINUTE: u32 = 5;
/// Sessions kept at most (the oldest is dropped beyond).
const MAX_SESSIONS: usize = 64;

/// One logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub csrf: String,
    last_seen: Instant,
    /// A message for the next page (the outcome of an action).
    pub flash: Option<String>,
}

/// The live sessions and the login throttle.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
    failures: Mutex<(Instant, u32)>,
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
            failures: Mutex::new((Instant::now(), 0)),
        }
    }

    /// A new session (its id goes into the cookie).
    pub fn create(&self) -> Session {
        let s = Session {
            id: random_hex(32),
            csrf: random_hex(32),
            last_seen: Instant::now(),
            flash: None,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let idle = self.idle;
        map.retain(|_, v| v.last_seen.elapsed() < idle);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .values()
                .min_by_key(|v| v.last_seen)
                .map(|v| v.id.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(s.id.clone(), s.clone());
        s
    }

    /// The live session of `id` (its idle clock restarts), or `None`. Takes its flash.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        let live = map
            .get(id)
            .is_some_and(|s| s.last_seen.elapsed() < self.idle);
        if !live {
            map.remove(id);
            return None;
        }
        let s = map.get_mut(id)?;
        s.last_seen = Instant::now();
        let out = s.clone();
        s.flash = None;
        Some(out)
    }

    /// Leave a message for the session's next page.
    pub fn flash(&self, id: &str, message: String) {
        if let Some(s) = self
            .map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            s.flash = Some(message);
        }
    }

    pub fn remove(&self, id: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Whether a login may be tried now (see [`FAILURES_PER_MINUTE`]).
    pub fn login_allowed(&self) -> bool {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.0.elapsed() >= Duration::from_secs(60) {
            *f = (Instant::now(), 0);
        }
        f.1 < FAILURES_PER_MINUTE
    }

    pub fn note_failure(&self) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.0.elapsed() >= Duration::from_secs(60) {
            *f = (Instant::now(), 0);
        }
        f.1 += 1;
    }
}

/// `given` equals `expected`, compared in constant time (through SHA-256 digests).
pub fn token_matches(given: &str, expected: &str) -> bool {
    let a = ring::digest::digest(&ring::digest::SHA256, given.as_bytes());
    let b = ring::digest::digest(&ring::digest::SHA256, expected.as_bytes());
    bool::from(a.as_ref().ct_eq(b.as_ref()))
}

/// The session id of the request's cookie, if any.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(id: &str, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends one.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// A CSRF field equals the session's token (constant time).
pub fn csrf_ok(session: &Session, field: Option<&str>) -> bool {
    field.is_some_and(|f| token_matches(f, &session.csrf))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    ring::rand::SystemRandom::new()
        .fill(&mut buf)
        .expect("the system random source works");
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches("abcdefghijklmnop", "abcdefghijklmnop"));
        assert!(!token_matches("abcdefghijklmnoq", "abcdefghijklmnop"));
        assert!(!token_matches("abcdefghijklmno", "abcdefghijklmnop"));
        assert!(!token_matches("", "abcdefghijklmnop"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "a=1; upsync_console=abc123 ; b=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc123"));
        let mut h = HeaderMap::new();
        h.append(
            axum::http::header::COOKIE,
            "upsync_consoleX=1".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h), None);
    }

    #[test]
    fn sessions_expire_when_idle_and_logins_are_throttled() {
        let s = Sessions::new(Duration::from_millis(0));
        let x = s.create();
        assert!(s.touch(&x.id).is_none(), "idle 0: expired at once");
        let s = Sessions::new(Duration::from_secs(60));
        let x = s.create();
        let got = s.touch(&x.id).unwrap();
        assert_eq!(got.csrf, x.csrf);
        assert!(csrf_ok(&got, Some(&x.csrf)));
        assert!(!csrf_ok(&got, Some("nope")));
        assert!(!csrf_ok(&got, None));
        s.flash(&x.id, "done".into());
        assert_eq!(s.touch(&x.id).unwrap().flash.as_deref(), Some("done"));
        assert_eq!(s.touch(&x.id).unwrap().flash, None, "a flash shows once");
        s.remove(&x.id);
        assert!(s.touch(&x.id).is_none());
        for _ in 0..FAILURES_PER_MINUTE {
            assert!(s.login_allowed());
            s.note_failure();
        }
        assert!(!s.login_allowed());
    }
}
