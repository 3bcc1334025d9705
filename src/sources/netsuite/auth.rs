//! NetSuite authentication for the connector (ERP-NOTES §N2, `docs/specs.md`):
//! * OAuth 2.0 M2M: a JWT client assertion signed with ring (PS256 with RSA 3072/4096, or
//!   ES256 with P-256), `kid` = certificate id, `iss` = client id, `scope` =
//!   `"rest_webservices"` (a string), `aud` = token URL, `exp − iat` < 3600; the access token
//!   is cached for its `expires_in` and refreshed single-flight.
//! * OAuth 1.0a TBA: HMAC-SHA256, realm = account id (with `_SB1`), query parameters in the
//!   signature base string, a fresh nonce and timestamp per request.
//!
//! Never log or put in an error a key, assertion, token, secret or signature.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PSS_SHA256};
use serde::{Deserialize, Serialize};
use tokio::time::{Duration, Instant};

use crate::sources::SourceError;

/// NetSuite secrets, passed in by the caller (the vault). `Debug` never shows secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum NetSuiteCredentials {
    /// OAuth 2.0 client credentials (M2M).
    M2m {
        /// Client id of the integration record (`iss`).
        client_id: String,
        /// Certificate id from the M2M setup page (`kid`).
        certificate_id: String,
        /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`): RSA 3072/4096 (PS256) or EC P-256
        /// (ES256). PKCS#1 RSA PEM is accepted too.
        private_key_pem: String,
    },
    /// OAuth 1.0a token-based authentication.
    Tba {
        consumer_key: String,
        consumer_secret: String,
        token_id: String,
        token_secret: String,
    },
}

impl std::fmt::Debug for NetSuiteCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetSuiteCredentials::M2m {
                client_id,
                certificate_id,
                ..
            } => f
                .debug_struct("M2m")
                .field("client_id", client_id)
                .field("certificate_id", certificate_id)
                .field("private_key_pem", &"[redacted]")
                .finish(),
            NetSuiteCredentials::Tba {
                consumer_key,
                token_id,
                ..
            } => f
                .debug_struct("Tba")
                .field("consumer_key", consumer_key)
                .field("consumer_secret", &"[redacted]")
                .field("token_id", token_id)
                .field("token_secret", &"[redacted]")
                .finish(),
        }
    }
}

fn config_err(message: impl Into<String>) -> SourceError {
    SourceError::Config {
        system: "NetSuite".into(),
        message: message.into(),
    }
}

enum KeyKind {
    Ps256(RsaKeyPair),
    Es256(EcdsaKeyPair),
}

/// Signs JWT client assertions for one M2M certificate.
pub struct AssertionSigner {
    client_id: String,
    certificate_id: String,
    token_url: String,
    key: KeyKind,
    rng: SystemRandom,
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("client_id", &self.client_id)
            .field("certificate_id", &self.certificate_id)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

fn pem_der(pem: &str) -> Option<(String, Vec<u8>)> {
    let mut label = None;
    let mut b64 = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(l) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            label = Some(l.to_string());
        } else if line.starts_with("-----END ") {
            break;
        } else if label.is_some() {
            b64.push_str(line);
        }
    }
    Some((label?, STANDARD.decode(b64.as_bytes()).ok()?))
}

/// Lifetime of an assertion (must stay under NetSuite's 3600 s).
pub const ASSERTION_LIFETIME_SECONDS: i64 = 300;

impl AssertionSigner {
    /// Parse the private key. RSA keys under 3072 bits are refused (NetSuite requires
    /// 3072 or 4096).
    pub fn new(
        client_id: &str,
        certificate_id: &str,
        private_key_pem: &str,
        token_url: &str,
    ) -> Result<AssertionSigner, SourceError> {
        let (label, der) = pem_der(private_key_pem).ok_or_else(|| {
            config_err("the M2M private key is not PEM; store the PKCS#8 PEM (-----BEGIN PRIVATE KEY-----)")
        })?;
        let rng = SystemRandom::new();
        let key = match label.as_str() {
            "PRIVATE KEY" => {
                if let Ok(k) = RsaKeyPair::from_pkcs8(&der) {
                    KeyKind::Ps256(k)
                } else if let Ok(k) =
                    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                {
                    KeyKind::Es256(k)
                } else {
                    return Err(config_err("the M2M private key is neither RSA nor EC P-256 PKCS#8 (P-384/P-521 are not supported)"));
                }
            }
            "RSA PRIVATE KEY" => {
                KeyKind::Ps256(RsaKeyPair::from_der(&der).map_err(|_| {
                    config_err("the M2M RSA private key (PKCS#1) could not be read")
                })?)
            }
            "EC PRIVATE KEY" => return Err(config_err(
                "EC keys must be PKCS#8: convert with `openssl pkcs8 -topk8 -nocrypt -in key.pem`",
            )),
            other => {
                return Err(config_err(format!(
                    "unexpected PEM block '{other}' for the M2M private key"
                )))
            }
        };
        if let KeyKind::Ps256(k) = &key {
            let bits = k.public().modulus_len() * 8;
            if bits < 3072 {
                return Err(config_err(format!(
                    "the M2M RSA key has {bits} bits; NetSuite requires 3072 or 4096"
                )));
            }
        }
        Ok(AssertionSigner {
            client_id: client_id.to_string(),
            certificate_id: certificate_id.to_string(),
            token_url: token_url.to_string(),
            key,
            rng,
        })
    }

    /// `PS256` or `ES256`.
    pub fn alg(&self) -> &'static str {
        match self.key {
            KeyKind::Ps256(_) => "PS256",
            KeyKind::Es256(_) => "ES256",
        }
    }

    /// A signed client assertion issued at `now_unix`.
    pub fn assertion(&self, now_unix: i64) -> Result<String, SourceError> {
        let header =
            serde_json::json!({"typ": "JWT", "alg": self.alg(), "kid": self.certificate_id});
        let claims = serde_json::json!({
            "iss": self.client_id,
            "scope": "rest_webservices",
            "aud": self.token_url,
            "iat": now_unix,
            "exp": now_unix + ASSERTION_LIFETIME_SECONDS,
        });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = match &self.key {
            KeyKind::Ps256(k) => {
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(&RSA_PSS_SHA256, &self.rng, input.as_bytes(), &mut sig)
                    .map_err(|_| config_err("signing the client assertion failed"))?;
                sig
            }
            KeyKind::Es256(k) => k
                .sign(&self.rng, input.as_bytes())
                .map_err(|_| config_err("signing the client assertion failed"))?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

#[derive(Clone)]
struct CachedToken {
    token: Arc<str>,
    valid_until: Instant,
}

/// Renew this long before `expires_in` runs out.
const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// M2M token cache with single-flight refresh (one token request at a time; waiters reuse it).
pub struct TokenCache {
    signer: AssertionSigner,
    cache: tokio::sync::Mutex<Option<CachedToken>>,
    pub(crate) requests: AtomicU64,
    /// Token requests by HTTP status (`/metrics`).
    pub(crate) statuses: crate::sources::RequestStats,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// A number (`3600`) or a string (`"3600"`): ERP-NOTES.md §N2 leaves the JSON type open.
    #[serde(default, deserialize_with = "seconds_number_or_text")]
    expires_in: Option<u64>,
}

/// `expires_in` as a JSON number or a decimal string; anything else (`null`, `"soon"`) is
/// taken as absent (the documented 1 hour then applies).
fn seconds_number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
        _ => None,
    })
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

impl TokenCache {
    pub fn new(signer: AssertionSigner) -> TokenCache {
        TokenCache {
            signer,
            cache: tokio::sync::Mutex::new(None),
            requests: AtomicU64::new(0),
            statuses: Default::default(),
        }
    }

    /// A valid access token, fetching one if needed.
    pub async fn bearer(
        &self,
        http: &reqwest::Client,
        connector: &str,
    ) -> Result<Arc<str>, SourceError> {
        let mut guard = self.cache.lock().await;
        if let Some(c) = guard.as_ref() {
            if Instant::now() + RENEW_MARGIN < c.valid_until {
                return Ok(c.token.clone());
            }
        }
        let fresh = self.fetch(http, connector).await?;
        let token = fresh.token.clone();
        *guard = Some(fresh);
        Ok(token)
    }

    /// Forget `token` if it is still the cached one (after a 401).
    pub async fn invalidate(&self, token: &str) {
        let mut guard = self.cache.lock().await;
        if guard.as_ref().is_some_and(|c| &*c.token == token) {
            *guard = None;
        }
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        connector: &str,
    ) -> Result<CachedToken, SourceError> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let assertion = self.signer.assertion(chrono::Utc::now().timestamp())?;
        let started = Instant::now();
        let transient = |message: String| SourceError::Transient {
            system: "NetSuite".into(),
            message,
        };
        let resp = http
            .post(&self.signer.token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| {
                self.statuses.record("token", 0);
                transient(format!("token request failed: {}", without_url(&e)))
            })?;
        let status = resp.status();
        self.statuses.record("token", status.as_u16());
        let body = resp
            .bytes()
            .await
            .map_err(|e| transient(format!("token response lost: {}", without_url(&e))))?;
        if status.is_success() {
            let t: TokenResponse = serde_json::from_slice(&body)
                .map_err(|_| transient("token response is not the expected JSON".into()))?;
            let ttl = Duration::from_secs(t.expires_in.unwrap_or(3600));
            tracing::debug!(connector, client_id = %self.signer.client_id, expires_in = ttl.as_secs(), "NetSuite access token obtained");
            return Ok(CachedToken {
                token: Arc::from(t.access_token),
                valid_until: started + ttl,
            });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(transient(format!("token endpoint answered {status}")));
        }
        let e: OAuthError = serde_json::from_slice(&body).unwrap_or(OAuthError {
            error: String::new(),
            error_description: String::new(),
        });
        Err(SourceError::Auth {
            system: "NetSuite".into(),
            credentials: connector.to_string(),
            message: format!(
                "token endpoint refused the client assertion ({status} {}: {}); check the client id, certificate id and key of the M2M mapping (mappings are cleared on sandbox refresh)",
                e.error, e.error_description
            ),
        })
    }
}

/// A reqwest error without its URL (no query strings in logs).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "could not connect".to_string()
    } else if e.is_body() || e.is_decode() {
        "response body broken".to_string()
    } else if e.is_request() {
        "request failed".to_string()
    } else {
        "HTTP error".to_string()
    };
    if let Some(src) = std::error::Error::source(e) {
        s.push_str(": ");
        s.push_str(&src.to_string());
    }
    s
}

// ---- TBA ----------------------------------------------------------------------------------

/// RFC 3986 percent-encoding for OAuth 1.0a.
pub fn oauth_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Build the `Authorization: OAuth …` header for one request.
///
/// `url` is scheme://host[:port]/path without the query; `query` holds the decoded query
/// parameters, which go into the signature base string.
#[allow(clippy::too_many_arguments)]
pub fn tba_authorization(
    realm: &str,
    consumer_key: &str,
    consumer_secret: &str,
    token_id: &str,
    token_secret: &str,
    method: &str,
    url: &str,
    query: &[(String, String)],
    timestamp: i64,
    nonce: &str,
) -> String {
    let oauth = [
        ("oauth_consumer_key", consumer_key.to_string()),
        ("oauth_nonce", nonce.to_string()),
        ("oauth_signature_method", "HMAC-SHA256".to_string()),
        ("oauth_timestamp", timestamp.to_string()),
        ("oauth_token", token_id.to_string()),
        ("oauth_version", "1.0".to_string()),
    ];
    let mut params: Vec<(String, String)> = oauth
        .iter()
        .map(|(k, v)| (oauth_encode(k), oauth_encode(v)))
        .chain(
            query
                .iter()
                .map(|(k, v)| (oauth_encode(k), oauth_encode(v))),
        )
        .collect();
    params.sort();
    let normalized = params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        oauth_encode(url),
        oauth_encode(&normalized)
    );
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        format!(
            "{}&{}",
            oauth_encode(consumer_secret),
            oauth_encode(token_secret)
        )
        .as_bytes(),
    );
    let signature = STANDARD.encode(ring::hmac::sign(&key, base.as_bytes()).as_ref());
    let mut h = format!("OAuth realm=\"{}\"", oauth_encode(realm));
    for (k, v) in oauth.iter() {
        h.push_str(&format!(", {k}=\"{}\"", oauth_encode(v)));
    }
    h.push_str(&format!(
        ", oauth_signature=\"{}\"",
        oauth_encode(&signature)
    ));
    h
}

/// A fresh random nonce (hex).
pub fn nonce() -> String {
    let mut b = [0u8; 16];
    let _ = SystemRandom::new().fill(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!(
            "{}/tests/fixtures/netsuite/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn assertion_has_the_netsuite_claims() {
        for (file, alg) in [
            ("test-only-rsa3072-private.pem", "PS256"),
            ("test-only-ec-p256-private.pem", "ES256"),
        ] {
            let s = AssertionSigner::new(
                "cid",
                "kid-1",
                &fixture(file),
                "https://x/services/rest/auth/oauth2/v1/token",
            )
            .unwrap();
            let jwt = s.assertion(1_800_000_000).unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let h = decode(parts[0]);
            assert_eq!(h, serde_json::json!({"typ":"JWT","alg":alg,"kid":"kid-1"}));
            let c = decode(parts[1]);
            assert_eq!(c["iss"], "cid");
            assert_eq!(c["scope"], "rest_webservices");
            assert_eq!(c["aud"], "https://x/services/rest/auth/oauth2/v1/token");
            assert!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap() < 3600);
        }
    }

    #[test]
    fn bad_keys_are_config_errors_without_key_material() {
        let e = AssertionSigner::new("c", "k", "not a key", "u").unwrap_err();
        assert!(matches!(e, SourceError::Config { .. }));
        let e = AssertionSigner::new(
            "c",
            "k",
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
            "u",
        )
        .unwrap_err();
        assert!(e.to_string().contains("pkcs8"));
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = NetSuiteCredentials::Tba {
            consumer_key: "ck".into(),
            consumer_secret: "hunter2".into(),
            token_id: "tid".into(),
            token_secret: "s3cret".into(),
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2") && !d.contains("s3cret"));
        let m = NetSuiteCredentials::M2m {
            client_id: "cid".into(),
            certificate_id: "cert".into(),
            private_key_pem: fixture("test-only-ec-p256-private.pem"),
        };
        assert!(!format!("{m:?}").contains("BEGIN"));
        let json: NetSuiteCredentials = serde_json::from_str(r#"{"type":"tba","consumer_key":"a","consumer_secret":"b","token_id":"c","token_secret":"d"}"#).unwrap();
        assert!(matches!(json, NetSuiteCredentials::Tba { .. }));
    }

    #[test]
    fn tba_header_shape() {
        let h = tba_authorization(
            "1234567_SB1",
            "ck",
            "cs",
            "tk",
            "ts",
            "POST",
            "https://h/services/rest/query/v1/suiteql",
            &[("limit".into(), "10".into())],
            1_800_000_000,
            "abc",
        );
        assert!(h.starts_with("OAuth realm=\"1234567_SB1\", oauth_consumer_key=\"ck\""));
        assert!(h.contains("oauth_signature_method=\"HMAC-SHA256\""));
        assert!(h.contains("oauth_signature=\""));
        assert_ne!(nonce(), nonce());
    }
}
