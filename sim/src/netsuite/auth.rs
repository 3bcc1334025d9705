//! NetSuite simulator authentication: OAuth 2.0 M2M client assertions (JWT, verified
//! against registered public keys) and OAuth 1.0a TBA (HMAC-SHA256), per
//! ERP-NOTES.md §N2 (in the specs, see `docs/specs.md`).
//!
//! Written independently of the connector (no shared code): it parses DER, JWTs and OAuth
//! headers itself so that a connector mistake shows up as a rejection here.
//! Never log a token, assertion, secret or signature from this module.

use std::collections::{HashMap, VecDeque};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, RSA_PSS_2048_8192_SHA256};

/// A public key registered for a certificate id (Setup > Integration > OAuth 2.0 Client
/// Credentials (M2M) Setup).
#[derive(Clone)]
pub enum PublicKey {
    /// PKCS#1 `RSAPublicKey` DER (what ring wants), unwrapped from the SPKI.
    Rsa(Vec<u8>),
    /// Uncompressed P-256 point (65 bytes).
    EcP256(Vec<u8>),
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicKey::Rsa(k) => write!(f, "Rsa({} bytes)", k.len()),
            PublicKey::EcP256(_) => f.write_str("EcP256"),
        }
    }
}

/// `--m2m CLIENT_ID:CERT_ID:PUBLIC_KEY_PEM_FILE`.
#[derive(Debug, Clone)]
pub struct M2mRegistration {
    pub client_id: String,
    pub certificate_id: String,
    pub key: PublicKey,
}

/// `--tba CONSUMER_KEY:CONSUMER_SECRET:TOKEN_ID:TOKEN_SECRET`.
#[derive(Clone)]
pub struct TbaRegistration {
    pub consumer_key: String,
    pub consumer_secret: String,
    pub token_id: String,
    pub token_secret: String,
}

impl std::fmt::Debug for TbaRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TbaRegistration")
            .field("consumer_key", &self.consumer_key)
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("not a PEM file with a PUBLIC KEY or CERTIFICATE block")]
    NotPem,
    #[error("malformed DER: {0}")]
    Der(&'static str),
    #[error("unsupported key type: only RSA and EC P-256 public keys are supported")]
    Unsupported,
}

// ---- minimal DER reading ---------------------------------------------------------------

/// (tag, content, whole element, rest)
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn tlv(input: &[u8]) -> Result<Tlv<'_>, KeyError> {
    let tag = *input.first().ok_or(KeyError::Der("truncated"))?;
    let first = *input.get(1).ok_or(KeyError::Der("truncated length"))?;
    let (len, hdr) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 {
            return Err(KeyError::Der("unsupported length form"));
        }
        let bytes = input
            .get(2..2 + n)
            .ok_or(KeyError::Der("truncated length"))?;
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            2 + n,
        )
    };
    let end = hdr
        .checked_add(len)
        .ok_or(KeyError::Der("length overflow"))?;
    let content = input
        .get(hdr..end)
        .ok_or(KeyError::Der("truncated content"))?;
    Ok((tag, content, &input[..end], &input[end..]))
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// SubjectPublicKeyInfo DER → key ring can verify with.
pub fn key_from_spki(spki: &[u8]) -> Result<PublicKey, KeyError> {
    let (tag, body, _, _) = tlv(spki)?;
    if tag != 0x30 {
        return Err(KeyError::Der("SPKI is not a SEQUENCE"));
    }
    let (tag, alg, _, rest) = tlv(body)?;
    if tag != 0x30 {
        return Err(KeyError::Der("algorithm is not a SEQUENCE"));
    }
    let (tag, oid, _, params) = tlv(alg)?;
    if tag != 0x06 {
        return Err(KeyError::Der("algorithm OID missing"));
    }
    let (tag, bits, _, _) = tlv(rest)?;
    if tag != 0x03 || bits.first() != Some(&0) {
        return Err(KeyError::Der("public key is not a BIT STRING"));
    }
    let key = bits[1..].to_vec();
    if oid == OID_RSA {
        Ok(PublicKey::Rsa(key))
    } else if oid == OID_EC {
        let (tag, curve, _, _) = tlv(params)?;
        if tag != 0x06 || curve != OID_P256 || key.len() != 65 {
            return Err(KeyError::Unsupported);
        }
        Ok(PublicKey::EcP256(key))
    } else {
        Err(KeyError::Unsupported)
    }
}

/// X.509 certificate DER → its SubjectPublicKeyInfo DER.
fn spki_from_certificate(cert: &[u8]) -> Result<&[u8], KeyError> {
    let (_, body, _, _) = tlv(cert)?;
    let (_, mut tbs, _, _) = tlv(body)?;
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.3;
    }
    // serial, signature, issuer, validity, subject
    for _ in 0..5 {
        tbs = tlv(tbs)?.3;
    }
    Ok(tlv(tbs)?.2)
}

fn pem_blocks(pem: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut b64 = String::new();
    for line in pem.lines().map(str::trim) {
        if let Some(l) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            label = Some(l.to_string());
            b64.clear();
        } else if line.starts_with("-----END ") {
            if let Some(l) = label.take() {
                if let Ok(der) = STANDARD.decode(b64.as_bytes()) {
                    out.push((l, der));
                }
            }
        } else if label.is_some() {
            b64.push_str(line);
        }
    }
    out
}

/// Read a `PUBLIC KEY` (SPKI) or `CERTIFICATE` PEM.
pub fn key_from_pem(pem: &str) -> Result<PublicKey, KeyError> {
    for (label, der) in pem_blocks(pem) {
        match label.as_str() {
            "PUBLIC KEY" => return key_from_spki(&der),
            "CERTIFICATE" => return key_from_spki(spki_from_certificate(&der)?),
            _ => {}
        }
    }
    Err(KeyError::NotPem)
}

// ---- M2M client assertion ----------------------------------------------------------------

/// Why a client assertion was refused (the `error_description` sent back).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AssertionError {
    #[error("client_assertion is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("signing algorithm {0} is not accepted; use PS256/PS384/PS512 or ES256/ES384/ES512")]
    AlgorithmNotAccepted(String),
    #[error("signing algorithm {0} is not supported by this simulator (PS256 and ES256 are)")]
    AlgorithmNotSimulated(String),
    #[error("no certificate is registered for kid '{0}'")]
    UnknownKid(String),
    #[error("the algorithm does not match the key registered for this certificate")]
    KeyMismatch,
    #[error("signature verification failed")]
    BadSignature,
    #[error("iss does not match the client id of the certificate mapping")]
    WrongIssuer,
    #[error("aud must be the token endpoint URL {0}")]
    WrongAudience(String),
    #[error("scope must be a string containing rest_webservices")]
    BadScope,
    #[error("the assertion has expired")]
    Expired,
    #[error("iat is in the future")]
    NotYetValid,
    #[error("exp - iat must be less than 3600 seconds")]
    TooLong,
}

fn b64url_json(part: &str) -> Result<serde_json::Value, AssertionError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.as_bytes())
        .map_err(|_| AssertionError::Malformed("segment is not base64url".into()))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| AssertionError::Malformed("segment is not JSON".into()))
}

/// Allowed clock skew for `iat`.
const SKEW_SECONDS: i64 = 300;

/// Verify a client assertion; returns the registration it matched.
pub fn verify_assertion<'r>(
    jwt: &str,
    registrations: &'r [M2mRegistration],
    token_url: &str,
    now: i64,
) -> Result<&'r M2mRegistration, AssertionError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(AssertionError::Malformed("expected three segments".into()));
    };
    let header = b64url_json(h)?;
    let claims = b64url_json(p)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| AssertionError::Malformed("signature is not base64url".into()))?;
    let alg = header["alg"].as_str().unwrap_or("").to_string();
    match alg.as_str() {
        "PS256" | "ES256" => {}
        "PS384" | "PS512" | "ES384" | "ES512" => {
            return Err(AssertionError::AlgorithmNotSimulated(alg))
        }
        other => return Err(AssertionError::AlgorithmNotAccepted(other.to_string())),
    }
    let kid = header["kid"].as_str().unwrap_or("");
    let reg = registrations
        .iter()
        .find(|r| r.certificate_id == kid)
        .ok_or_else(|| AssertionError::UnknownKid(kid.to_string()))?;
    let signed = &jwt[..h.len() + 1 + p.len()];
    let ok = match (&reg.key, alg.as_str()) {
        (PublicKey::Rsa(k), "PS256") => UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, k)
            .verify(signed.as_bytes(), &sig)
            .is_ok(),
        (PublicKey::EcP256(k), "ES256") => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, k)
            .verify(signed.as_bytes(), &sig)
            .is_ok(),
        _ => return Err(AssertionError::KeyMismatch),
    };
    if !ok {
        return Err(AssertionError::BadSignature);
    }
    if claims["iss"].as_str() != Some(reg.client_id.as_str()) {
        return Err(AssertionError::WrongIssuer);
    }
    if claims["aud"].as_str() != Some(token_url) {
        return Err(AssertionError::WrongAudience(token_url.to_string()));
    }
    match claims["scope"].as_str() {
        Some(sc) if sc.split(',').any(|x| x.trim() == "rest_webservices") => {}
        _ => return Err(AssertionError::BadScope),
    }
    let (Some(iat), Some(exp)) = (claims["iat"].as_i64(), claims["exp"].as_i64()) else {
        return Err(AssertionError::Malformed(
            "iat and exp must be numbers".into(),
        ));
    };
    if exp <= now {
        return Err(AssertionError::Expired);
    }
    if iat > now + SKEW_SECONDS {
        return Err(AssertionError::NotYetValid);
    }
    if exp - iat >= 3600 {
        return Err(AssertionError::TooLong);
    }
    Ok(reg)
}

// ---- OAuth 1.0a TBA -------------------------------------------------------------------------

/// RFC 3986 percent-encoding (unreserved characters kept), as OAuth 1.0a requires.
pub fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unpct(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TbaError {
    #[error("malformed OAuth header: {0}")]
    Malformed(&'static str),
    #[error("realm must be the account id")]
    WrongRealm,
    #[error("unsupported oauth_signature_method (HMAC-SHA256 expected)")]
    Method,
    #[error("unknown consumer key or token")]
    UnknownToken,
    #[error("timestamp outside the allowed window")]
    Timestamp,
    #[error("nonce already used")]
    NonceReplay,
    #[error("signature mismatch")]
    BadSignature,
}

/// Nonces seen within the timestamp window.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: HashMap<(String, String), i64>,
    order: VecDeque<(i64, (String, String))>,
}

/// Timestamp window either side of now, in seconds.
pub const TBA_WINDOW_SECONDS: i64 = 300;

impl NonceCache {
    fn check_and_insert(&mut self, key: (String, String), ts: i64, now: i64) -> bool {
        while let Some((t, _)) = self.order.front() {
            if *t < now - 2 * TBA_WINDOW_SECONDS {
                if let Some((_, k)) = self.order.pop_front() {
                    self.seen.remove(&k);
                }
            } else {
                break;
            }
        }
        if self.seen.contains_key(&key) {
            return false;
        }
        self.seen.insert(key.clone(), ts);
        self.order.push_back((now, key));
        true
    }
}

/// Verify an `Authorization: OAuth …` header for `method base_url?query`.
#[allow(clippy::too_many_arguments)]
pub fn verify_tba<'r>(
    header: &str,
    method: &str,
    base_url: &str,
    query: Option<&str>,
    registrations: &'r [TbaRegistration],
    account_id: &str,
    now: i64,
    nonces: &mut NonceCache,
) -> Result<&'r TbaRegistration, TbaError> {
    let rest = header
        .trim()
        .strip_prefix("OAuth ")
        .ok_or(TbaError::Malformed("expected the OAuth scheme"))?;
    let mut params: HashMap<String, String> = HashMap::new();
    for item in rest.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item
            .split_once('=')
            .ok_or(TbaError::Malformed("parameter without '='"))?;
        let v = v
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(TbaError::Malformed("parameter value not quoted"))?;
        params.insert(k.trim().to_string(), unpct(v));
    }
    let get = |k: &str| params.get(k).map(String::as_str);
    if get("realm") != Some(account_id) {
        return Err(TbaError::WrongRealm);
    }
    if get("oauth_signature_method") != Some("HMAC-SHA256") {
        return Err(TbaError::Method);
    }
    if get("oauth_version").is_some_and(|v| v != "1.0") {
        return Err(TbaError::Malformed("oauth_version must be 1.0"));
    }
    let reg = registrations
        .iter()
        .find(|r| {
            Some(r.consumer_key.as_str()) == get("oauth_consumer_key")
                && Some(r.token_id.as_str()) == get("oauth_token")
        })
        .ok_or(TbaError::UnknownToken)?;
    let ts: i64 = get("oauth_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or(TbaError::Malformed("oauth_timestamp missing"))?;
    if (ts - now).abs() > TBA_WINDOW_SECONDS {
        return Err(TbaError::Timestamp);
    }
    let nonce = get("oauth_nonce")
        .filter(|n| !n.is_empty())
        .ok_or(TbaError::Malformed("oauth_nonce missing"))?
        .to_string();
    let sig = get("oauth_signature").ok_or(TbaError::Malformed("oauth_signature missing"))?;
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "realm" && k.as_str() != "oauth_signature")
        .map(|(k, v)| (pct(k), pct(v)))
        .collect();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            pairs.push((pct(&k), pct(&v)));
        }
    }
    pairs.sort();
    let norm = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        pct(base_url),
        pct(&norm)
    );
    let key = format!("{}&{}", pct(&reg.consumer_secret), pct(&reg.token_secret));
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let expected = STANDARD
        .decode(sig.as_bytes())
        .map_err(|_| TbaError::BadSignature)?;
    ring::hmac::verify(&k, base.as_bytes(), &expected).map_err(|_| TbaError::BadSignature)?;
    // Only a correctly signed request consumes its nonce.
    if !nonces.check_and_insert((reg.token_id.clone(), nonce), ts, now) {
        return Err(TbaError::NonceReplay);
    }
    Ok(reg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    const URL: &str = "http://127.0.0.1:1/services/rest/auth/oauth2/v1/token";

    fn va(jwt: &str, regs: &[M2mRegistration], url: &str, now: i64) -> Result<(), AssertionError> {
        verify_assertion(jwt, regs, url, now).map(|_| ())
    }

    #[allow(clippy::too_many_arguments)]
    fn vt(
        h: &str,
        m: &str,
        u: &str,
        q: Option<&str>,
        r: &[TbaRegistration],
        a: &str,
        now: i64,
        n: &mut NonceCache,
    ) -> Result<(), TbaError> {
        verify_tba(h, m, u, q, r, a, now, n).map(|_| ())
    }

    fn ec() -> (EcdsaKeyPair, M2mRegistration) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let reg = M2mRegistration {
            client_id: "cid".into(),
            certificate_id: "kid1".into(),
            key: PublicKey::EcP256(kp.public_key().as_ref().to_vec()),
        };
        (kp, reg)
    }

    fn sign(kp: &EcdsaKeyPair, header: serde_json::Value, claims: serde_json::Value) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let p = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{p}");
        let sig = kp.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    fn claims(iat: i64, exp: i64) -> serde_json::Value {
        serde_json::json!({"iss":"cid","scope":"rest_webservices","aud":URL,"iat":iat,"exp":exp})
    }

    #[test]
    fn es256_assertion_rules() {
        let (kp, reg) = ec();
        let regs = [reg];
        let hdr = serde_json::json!({"typ":"JWT","alg":"ES256","kid":"kid1"});
        let now = 1_800_000_000;
        let good = sign(&kp, hdr.clone(), claims(now, now + 3000));
        assert!(verify_assertion(&good, &regs, URL, now).is_ok());
        // tampered payload
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(claims(now, now + 3500).to_string());
        assert_eq!(
            va(&parts.join("."), &regs, URL, now),
            Err(AssertionError::BadSignature)
        );
        let long = sign(&kp, hdr.clone(), claims(now, now + 3600));
        assert_eq!(va(&long, &regs, URL, now), Err(AssertionError::TooLong));
        let old = sign(&kp, hdr.clone(), claims(now - 4000, now - 1000));
        assert_eq!(va(&old, &regs, URL, now), Err(AssertionError::Expired));
        let aud = sign(
            &kp,
            hdr.clone(),
            serde_json::json!({"iss":"cid","scope":"rest_webservices","aud":"http://x/","iat":now,"exp":now+60}),
        );
        assert!(matches!(
            verify_assertion(&aud, &regs, URL, now),
            Err(AssertionError::WrongAudience(_))
        ));
        let arr = sign(
            &kp,
            hdr.clone(),
            serde_json::json!({"iss":"cid","scope":["rest_webservices"],"aud":URL,"iat":now,"exp":now+60}),
        );
        assert_eq!(va(&arr, &regs, URL, now), Err(AssertionError::BadScope));
        let kid = sign(
            &kp,
            serde_json::json!({"typ":"JWT","alg":"ES256","kid":"other"}),
            claims(now, now + 60),
        );
        assert!(matches!(
            verify_assertion(&kid, &regs, URL, now),
            Err(AssertionError::UnknownKid(_))
        ));
        let rs = sign(
            &kp,
            serde_json::json!({"typ":"JWT","alg":"RS256","kid":"kid1"}),
            claims(now, now + 60),
        );
        assert!(
            matches!(verify_assertion(&rs, &regs, URL, now), Err(AssertionError::AlgorithmNotAccepted(a)) if a == "RS256")
        );
        let ps = sign(
            &kp,
            serde_json::json!({"typ":"JWT","alg":"PS256","kid":"kid1"}),
            claims(now, now + 60),
        );
        assert_eq!(va(&ps, &regs, URL, now), Err(AssertionError::KeyMismatch));
        assert!(matches!(
            verify_assertion("a.b", &regs, URL, now),
            Err(AssertionError::Malformed(_))
        ));
    }

    #[test]
    fn reads_spki_pem_of_both_key_types() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/netsuite/");
        let rsa = std::fs::read_to_string(format!("{dir}test-only-rsa3072-public.pem")).unwrap();
        assert!(matches!(key_from_pem(&rsa), Ok(PublicKey::Rsa(k)) if k.len() > 384));
        let ec = std::fs::read_to_string(format!("{dir}test-only-ec-p256-public.pem")).unwrap();
        assert!(matches!(key_from_pem(&ec), Ok(PublicKey::EcP256(k)) if k.len() == 65));
        assert!(matches!(key_from_pem("nothing"), Err(KeyError::NotPem)));
        // The x.509 certificate an admin uploads gives the same key as the bare SPKI.
        for (cert, public) in [
            ("test-only-rsa3072-cert.pem", "test-only-rsa3072-public.pem"),
            ("test-only-ec-p256-cert.pem", "test-only-ec-p256-public.pem"),
        ] {
            let a =
                key_from_pem(&std::fs::read_to_string(format!("{dir}{cert}")).unwrap()).unwrap();
            let b =
                key_from_pem(&std::fs::read_to_string(format!("{dir}{public}")).unwrap()).unwrap();
            let bytes = |k: &PublicKey| match k {
                PublicKey::Rsa(x) | PublicKey::EcP256(x) => x.clone(),
            };
            assert_eq!(bytes(&a), bytes(&b), "{cert}");
        }
        assert!(key_from_spki(&[0x30, 0x82]).is_err());
    }

    fn tba_header(
        reg: &TbaRegistration,
        realm: &str,
        method: &str,
        url: &str,
        query: &str,
        ts: i64,
        nonce: &str,
    ) -> String {
        let mut params = vec![
            ("oauth_consumer_key".to_string(), reg.consumer_key.clone()),
            ("oauth_token".to_string(), reg.token_id.clone()),
            (
                "oauth_signature_method".to_string(),
                "HMAC-SHA256".to_string(),
            ),
            ("oauth_timestamp".to_string(), ts.to_string()),
            ("oauth_nonce".to_string(), nonce.to_string()),
            ("oauth_version".to_string(), "1.0".to_string()),
        ];
        let mut all: Vec<(String, String)> = params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            all.push((pct(&k), pct(&v)));
        }
        all.sort();
        let norm = all
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let base = format!("{method}&{}&{}", pct(url), pct(&norm));
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            format!("{}&{}", pct(&reg.consumer_secret), pct(&reg.token_secret)).as_bytes(),
        );
        let sig = STANDARD.encode(ring::hmac::sign(&key, base.as_bytes()).as_ref());
        params.push(("oauth_signature".into(), sig));
        let mut h = format!("OAuth realm=\"{realm}\"");
        for (k, v) in params {
            h.push_str(&format!(", {k}=\"{}\"", pct(&v)));
        }
        h
    }

    #[test]
    fn tba_signature_nonce_and_window() {
        let reg = TbaRegistration {
            consumer_key: "ck".into(),
            consumer_secret: "cs".into(),
            token_id: "tk".into(),
            token_secret: "ts".into(),
        };
        let regs = [reg.clone()];
        let url = "http://127.0.0.1:9/services/rest/query/v1/suiteql";
        let now = 1_800_000_000;
        let mut n = NonceCache::default();
        let h = tba_header(
            &reg,
            "1234567_SB1",
            "POST",
            url,
            "limit=10&offset=0",
            now,
            "n1",
        );
        assert!(verify_tba(
            &h,
            "POST",
            url,
            Some("limit=10&offset=0"),
            &regs,
            "1234567_SB1",
            now,
            &mut n
        )
        .is_ok());
        assert_eq!(
            vt(
                &h,
                "POST",
                url,
                Some("limit=10&offset=0"),
                &regs,
                "1234567_SB1",
                now,
                &mut n
            ),
            Err(TbaError::NonceReplay)
        );
        let h2 = tba_header(
            &reg,
            "1234567_SB1",
            "POST",
            url,
            "limit=10&offset=0",
            now,
            "n2",
        );
        assert_eq!(
            vt(
                &h2,
                "POST",
                url,
                Some("limit=10&offset=1000"),
                &regs,
                "1234567_SB1",
                now,
                &mut n
            ),
            Err(TbaError::BadSignature)
        );
        let h3 = tba_header(&reg, "1234567-sb1", "POST", url, "", now, "n3");
        assert_eq!(
            vt(&h3, "POST", url, None, &regs, "1234567_SB1", now, &mut n),
            Err(TbaError::WrongRealm)
        );
        let h4 = tba_header(&reg, "1234567_SB1", "POST", url, "", now - 1000, "n4");
        assert_eq!(
            vt(&h4, "POST", url, None, &regs, "1234567_SB1", now, &mut n),
            Err(TbaError::Timestamp)
        );
    }
}
