//! [`VaultGrantStore`]: the tokens of a UPS authorization-code account, kept in the vault
//! entry the shipper authorized (`upsync creds authorize ups NAME`), next to the OAuth
//! client's `client_id` and `client_secret`. Every value is a string field of the entry
//! (encrypted like any credential): `access_token`, `access_token_obtained_at`,
//! `access_token_expires_in`, `refresh_token`, `refresh_token_expires_at`,
//! `refresh_count`, `refresh_token_renewable` (`yes`/`no`, absent before the first
//! refresh). Each save rewrites the whole entry in one put and flushes, so the new refresh
//! token is durable before the old one is forgotten.
//!
//! The refresh token's end is also copied to the entry's metadata
//! ([`crate::store::creds::CredentialMeta`], in clear: a date is not a secret), where
//! credential health (`creds info`, reminders, the metric, the pause) reads it.
//!
//! Never log a field value.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::store::creds::{CredentialMeta, Credentials};
use crate::store::Store;
use crate::ups::authcode::{AuthCodeTokens, GrantStore};

/// One authorization's tokens in the vault entry `name`.
pub struct VaultGrantStore {
    store: Arc<Store>,
    name: String,
}

impl VaultGrantStore {
    pub fn new(store: Arc<Store>, name: impl Into<String>) -> VaultGrantStore {
        VaultGrantStore {
            store,
            name: name.into(),
        }
    }
}

/// The tokens an entry holds, if it holds a complete set.
pub fn tokens_of(c: &Credentials) -> Option<AuthCodeTokens> {
    let time = |k: &str| {
        c.get(k)
            .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Some(AuthCodeTokens {
        access_token: c.get("access_token")?.to_string(),
        access_obtained_at: time("access_token_obtained_at")?,
        access_expires_in_seconds: c.get("access_token_expires_in")?.parse().ok()?,
        refresh_token: c.get("refresh_token")?.to_string(),
        refresh_expires_at: time("refresh_token_expires_at")?,
        refresh_count: c
            .get("refresh_count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        renewable: match c.get("refresh_token_renewable") {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        },
    })
}

/// Write `t` into the entry `name` (keeping its other fields) and its expiry into the
/// entry's metadata; flushed.
pub fn save_tokens(store: &Store, name: &str, t: &AuthCodeTokens) -> Result<(), String> {
    let mut c = Credentials::load(store, name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no credentials named `{name}` in the vault"))?;
    let f = &mut c.fields;
    f.insert("access_token".into(), t.access_token.clone());
    f.insert(
        "access_token_obtained_at".into(),
        t.access_obtained_at.to_rfc3339(),
    );
    f.insert(
        "access_token_expires_in".into(),
        t.access_expires_in_seconds.to_string(),
    );
    f.insert("refresh_token".into(), t.refresh_token.clone());
    f.insert(
        "refresh_token_expires_at".into(),
        t.refresh_expires_at.to_rfc3339(),
    );
    f.insert("refresh_count".into(), t.refresh_count.to_string());
    match t.renewable {
        Some(r) => {
            f.insert(
                "refresh_token_renewable".into(),
                if r { "yes" } else { "no" }.into(),
            );
        }
        None => {
            f.remove("refresh_token_renewable");
        }
    }
    c.updated_at = Utc::now();
    c.save(store, name).map_err(|e| e.to_string())?;
    CredentialMeta {
        expires_at: Some(t.refresh_expires_at),
    }
    .save(store, name)
    .map_err(|e| e.to_string())?;
    store.flush().map_err(|e| e.to_string())?;
    Ok(())
}

impl GrantStore for VaultGrantStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn load(&self) -> Option<AuthCodeTokens> {
        match Credentials::load(&self.store, &self.name) {
            Ok(Some(c)) => tokens_of(&c),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(credential = %self.name, error = %e, "UPS authorization unreadable");
                None
            }
        }
    }

    fn save(&self, tokens: &AuthCodeTokens) -> Result<(), String> {
        save_tokens(&self.store, &self.name, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MasterKey;

    #[test]
    fn tokens_roundtrip_encrypted_with_the_expiry_in_meta() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(Store::open(dir.path(), Some(MasterKey::from_bytes([5; 32]))).unwrap());
        Credentials::parse(r#"{"client_id":"c","client_secret":"s"}"#)
            .unwrap()
            .save(&store, "shipper")
            .unwrap();
        let g = VaultGrantStore::new(store.clone(), "shipper");
        assert!(g.load().is_none(), "no tokens before authorize");
        let now = Utc::now();
        let t = AuthCodeTokens {
            access_token: "acc-SECRET-1".into(),
            access_obtained_at: now,
            access_expires_in_seconds: 14399,
            refresh_token: "ref-SECRET-1".into(),
            refresh_expires_at: now + chrono::Duration::days(7),
            refresh_count: 3,
            renewable: Some(false),
        };
        g.save(&t).unwrap();
        let back = g.load().unwrap();
        assert_eq!(back.refresh_token, "ref-SECRET-1");
        assert_eq!(back.refresh_count, 3);
        assert_eq!(back.renewable, Some(false));
        assert_eq!(
            back.refresh_expires_at.timestamp(),
            t.refresh_expires_at.timestamp()
        );
        let c = Credentials::load(&store, "shipper").unwrap().unwrap();
        assert_eq!(c.get("client_secret"), Some("s"), "the client stays");
        assert_eq!(
            CredentialMeta::load(&store, "shipper")
                .unwrap()
                .expires_at
                .map(|t| t.timestamp()),
            Some(t.refresh_expires_at.timestamp())
        );
        drop(store);
        // Encrypted at rest: no token bytes in the database files.
        for e in walk(dir.path()) {
            let bytes = std::fs::read(&e).unwrap();
            assert!(
                !bytes.windows(12).any(|w| w == b"ref-SECRET-1"),
                "{}",
                e.display()
            );
        }
    }

    fn walk(p: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(p).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }
}
