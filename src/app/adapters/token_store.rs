//! [`VaultTokenStore`]: UPS tokens and daily token counts in the store (token encrypted in
//! the vault's `tokens` tree, counts in `meta`), so a restart reuses a valid token and the
//! daily budget survives restarts.
//!
//! Several daemons on one database (issue 22): the token is shared through the `tokens`
//! tree; with a shared coordinator ([`VaultTokenStore::with_coordinator`]) one daemon at a
//! time fetches a client's token, under the `token:<client>` lease, and the day's count is
//! one atomic update in the database, so the budget is per client, not per daemon.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::cluster::{Coordinator, Lease};
use crate::store::{Store, Tree};
use crate::ups::{StoredToken, TokenStore};

/// UPS tokens (encrypted) and daily token-request counts in the store.
pub struct VaultTokenStore {
    store: Arc<Store>,
    coordinator: Option<Arc<dyn Coordinator>>,
    /// `token:<client>` leases held while fetching.
    fetching: std::sync::Mutex<std::collections::HashMap<String, Lease>>,
}

impl VaultTokenStore {
    pub fn new(store: Arc<Store>) -> VaultTokenStore {
        VaultTokenStore {
            store,
            coordinator: None,
            fetching: Default::default(),
        }
    }

    /// Share token fetches with the other daemons of `c` (no effect for a daemon alone).
    pub fn with_coordinator(mut self, c: Arc<dyn Coordinator>) -> VaultTokenStore {
        self.coordinator = Some(c).filter(|c| c.is_shared());
        self
    }

    fn count_key(credential: &str, day: NaiveDate) -> String {
        format!("ups_token_requests/{credential}/{day}")
    }
}

/// The UPS token stored for `credential` (a client id), if any and readable.
pub fn stored_token(store: &Store, credential: &str) -> Option<StoredToken> {
    VaultTokenStore::read(store, credential)
}

/// Token requests counted for `credential` on `utc_day`.
pub fn token_requests_on(store: &Store, credential: &str, utc_day: NaiveDate) -> u32 {
    store
        .tree(Tree::Meta)
        .get(VaultTokenStore::count_key(credential, utc_day))
        .ok()
        .flatten()
        .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
        .map(u32::from_be_bytes)
        .unwrap_or(0)
}

impl VaultTokenStore {
    fn read(store: &Store, credential: &str) -> Option<StoredToken> {
        let vault = store.vault().ok()?;
        match vault.get(Tree::Tokens, &format!("ups/{credential}")) {
            Ok(Some(secret)) => serde_json::from_slice(secret.expose()).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "stored UPS token unreadable; a new one will be requested");
                None
            }
        }
    }
}

impl TokenStore for VaultTokenStore {
    fn load(&self, credential: &str) -> Option<StoredToken> {
        Self::read(&self.store, credential)
    }

    fn save(&self, credential: &str, token: &StoredToken) {
        let Ok(vault) = self.store.vault() else {
            return;
        };
        let bytes = serde_json::to_vec(token).unwrap_or_default();
        if let Err(e) = vault.put(Tree::Tokens, &format!("ups/{credential}"), &bytes) {
            tracing::warn!(error = %e, "could not persist the UPS token; a restart will request a new one");
        }
        let _ = self.store.flush();
    }

    fn count_token_request(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        let key = Self::count_key(credential, utc_day);
        let tree = self.store.tree(Tree::Meta);
        let new = tree
            .update_and_fetch(key.as_bytes(), |old| {
                let n = old
                    .and_then(|b| <[u8; 4]>::try_from(b).ok())
                    .map(u32::from_be_bytes)
                    .unwrap_or(0);
                Some((n + 1).to_be_bytes().to_vec())
            })
            .ok()
            .flatten()
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map(u32::from_be_bytes)
            .unwrap_or(1);
        // Counted durably before the request goes out: a crash loop cannot overspend the budget.
        let _ = self.store.flush();
        new
    }

    fn token_requests(&self, credential: &str, utc_day: NaiveDate) -> u32 {
        token_requests_on(&self.store, credential, utc_day)
    }

    fn begin_fetch<'a>(&'a self, credential: &'a str) -> futures::future::BoxFuture<'a, bool> {
        Box::pin(async move {
            let Some(c) = &self.coordinator else {
                return true;
            };
            match c.acquire(&Lease::token(credential)).await {
                Ok(Some(l)) => {
                    self.fetching
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(credential.to_string(), l);
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    // The database is away: fetching alone beats not shipping.
                    tracing::warn!(error = %e, "cannot claim the token lease; fetching anyway");
                    true
                }
            }
        })
    }

    fn end_fetch<'a>(&'a self, credential: &'a str) -> futures::future::BoxFuture<'a, ()> {
        Box::pin(async move {
            let held = self
                .fetching
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(credential);
            if let (Some(c), Some(l)) = (&self.coordinator, held) {
                let _ = c.release(&l).await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MasterKey;

    #[test]
    fn tokens_and_counts_persist_encrypted() {
        let dir = tempfile::tempdir().unwrap();
        let day = NaiveDate::from_ymd_opt(2026, 11, 21).unwrap();
        let token = StoredToken {
            access_token: "tok-very-secret-123".into(),
            obtained_at: chrono::Utc::now(),
            expires_in_seconds: 14399,
        };
        {
            let store =
                Arc::new(Store::open(dir.path(), Some(MasterKey::from_bytes([3; 32]))).unwrap());
            let ts = VaultTokenStore::new(store.clone());
            assert!(ts.load("client").is_none());
            ts.save("client", &token);
            assert_eq!(ts.count_token_request("client", day), 1);
            assert_eq!(ts.count_token_request("client", day), 2);
            store.flush().unwrap();
        }
        let store =
            Arc::new(Store::open(dir.path(), Some(MasterKey::from_bytes([3; 32]))).unwrap());
        let ts = VaultTokenStore::new(store);
        assert_eq!(ts.load("client"), Some(token));
        assert_eq!(ts.token_requests("client", day), 2);
        assert_eq!(ts.token_requests("other", day), 0);
        drop(ts);
        // The token is not in clear anywhere on disk.
        let mut stack = vec![dir.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let bytes = std::fs::read(&p).unwrap();
                    assert!(!bytes.windows(19).any(|w| w == b"tok-very-secret-123"));
                }
            }
        }
    }
}
