//! Typed JSON records in the plain trees: get, put, remove (read errors counted in
//! [`StoreHealth`]).

use super::*;

impl Store {
    /// Read and decode a JSON value.
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let raw = self
            .tree(tree)
            .get(key)
            .map_err(|source| self.db_error(source))?;
        raw.map(|v| {
            serde_json::from_slice(&v).map_err(|e| {
                let e = StoreError::Corrupt {
                    tree: tree.name(),
                    reason: format!("{key}: {e}"),
                };
                self.health.record(&e);
                e
            })
        })
        .transpose()
    }

    /// Encode and write a JSON value (not flushed; call [`Store::flush_async`] before the
    /// side effect it guards).
    pub fn put_json<T: Serialize>(
        &self,
        tree: Tree,
        key: &str,
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
            tree: tree.name(),
            reason: format!("{key}: {e}"),
        })?;
        self.tree(tree)
            .insert(key, bytes)
            .map(|_| ())
            .map_err(|source| self.db_error(source))
    }

    /// Decode every value whose key starts with `prefix`, in key order.
    pub fn scan_json<T: serde::de::DeserializeOwned>(
        &self,
        tree: Tree,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for kv in self.tree(tree).scan_prefix(prefix) {
            let (k, v) = kv.map_err(|source| self.db_error(source))?;
            out.push(serde_json::from_slice(&v).map_err(|e| {
                let e = StoreError::Corrupt {
                    tree: tree.name(),
                    reason: format!("{}: {e}", String::from_utf8_lossy(&k)),
                };
                self.health.record(&e);
                e
            })?);
        }
        Ok(out)
    }

    /// Remove a key.
    pub fn remove(&self, tree: Tree, key: &str) -> Result<(), StoreError> {
        self.tree(tree)
            .remove(key)
            .map(|_| ())
            .map_err(|source| self.db_error(source))
    }
}
