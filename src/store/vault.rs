//! The vault: secrets encrypted with AES-256-GCM (ring), a fresh random 96-bit nonce per
//! write, and the tree name and key bound in as associated data, so a ciphertext copied to
//! another entry does not decrypt.
//!
//! Stored value layout: `[version=1][nonce: 12 bytes][ciphertext || tag]`.
//! Associated data: `upsync:v1:<tree>:<key>`.
//!
//! Must never: reuse a nonce, return plaintext through `Debug`/`Display`, or log values.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use super::{DbError, MasterKey, StoreError, Tree, TreeHandle};

const FORMAT_VERSION: u8 = 1;
const KEY_CHECK_PLAINTEXT: &[u8] = b"upsync master key check v1";

/// Plaintext secret bytes: zeroed on drop, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret([redacted; {} bytes])", self.0.len())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// Encrypts into the `credentials` and `tokens` trees.
pub struct Vault {
    key: LessSafeKey,
    rng: SystemRandom,
    credentials: TreeHandle,
    tokens: TreeHandle,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault([redacted])")
    }
}

fn aad(tree: Tree, key: &str) -> Vec<u8> {
    format!("upsync:v1:{}:{}", tree.name(), key).into_bytes()
}

fn less_safe_key(k: &MasterKey) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, k.bytes()).expect("32-byte key"))
}

fn seal(key: &LessSafeKey, rng: &SystemRandom, aad_bytes: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce_bytes = [0u8; NONCE_LEN];
    rng.fill(&mut nonce_bytes)
        .expect("the system random source works");
    let mut buf = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce_bytes),
        Aad::from(aad_bytes),
        &mut buf,
    )
    .expect("AES-GCM sealing does not fail for in-range sizes");
    let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&buf);
    out
}

fn open(key: &LessSafeKey, aad_bytes: &[u8], stored: &[u8]) -> Option<Vec<u8>> {
    if stored.len() < 1 + NONCE_LEN || stored[0] != FORMAT_VERSION {
        return None;
    }
    let nonce = Nonce::try_assume_unique_for_key(&stored[1..1 + NONCE_LEN]).ok()?;
    let mut buf = stored[1 + NONCE_LEN..].to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(aad_bytes), &mut buf)
        .ok()?;
    Some(plain.to_vec())
}

/// Key check value for the manifest (base64 of a sealed fixed plaintext).
pub(super) fn make_key_check(k: &MasterKey) -> String {
    use base64::Engine;
    let sealed = seal(
        &less_safe_key(k),
        &SystemRandom::new(),
        b"upsync:v1:manifest:key_check",
        KEY_CHECK_PLAINTEXT,
    );
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

pub(super) fn verify_key_check(k: &MasterKey, kcv: &str) -> bool {
    use base64::Engine;
    let Ok(stored) = base64::engine::general_purpose::STANDARD.decode(kcv) else {
        return false;
    };
    open(&less_safe_key(k), b"upsync:v1:manifest:key_check", &stored).as_deref()
        == Some(KEY_CHECK_PLAINTEXT)
}

impl Vault {
    pub(super) fn new(k: MasterKey, credentials: TreeHandle, tokens: TreeHandle) -> Vault {
        Vault {
            key: less_safe_key(&k),
            rng: SystemRandom::new(),
            credentials,
            tokens,
        }
    }

    fn tree(&self, tree: Tree) -> &TreeHandle {
        match tree {
            Tree::Credentials => &self.credentials,
            Tree::Tokens => &self.tokens,
            other => panic!(
                "the vault holds only the credentials and tokens trees, not {}",
                other.name()
            ),
        }
    }

    fn db_err(e: DbError) -> StoreError {
        StoreError::Db {
            dir: std::path::PathBuf::from("<vault>"),
            source: e,
        }
    }

    /// Encrypt and store `plaintext` under `tree`/`key` (`Tree::Credentials` or `Tree::Tokens`).
    /// Not flushed: call `Store::flush` to make it durable.
    pub fn put(&self, tree: Tree, key: &str, plaintext: &[u8]) -> Result<(), StoreError> {
        let sealed = seal(&self.key, &self.rng, &aad(tree, key), plaintext);
        self.tree(tree)
            .insert(key, sealed)
            .map(|_| ())
            .map_err(Self::db_err)
    }

    /// Read and decrypt.
    pub fn get(&self, tree: Tree, key: &str) -> Result<Option<Secret>, StoreError> {
        let Some(stored) = self.tree(tree).get(key).map_err(Self::db_err)? else {
            return Ok(None);
        };
        open(&self.key, &aad(tree, key), &stored)
            .map(|p| Some(Secret(p)))
            .ok_or_else(|| StoreError::Undecryptable {
                tree: tree.name(),
                key: key.to_string(),
            })
    }

    /// Remove; returns whether the entry existed.
    pub fn remove(&self, tree: Tree, key: &str) -> Result<bool, StoreError> {
        self.tree(tree)
            .remove(key)
            .map(|old| old.is_some())
            .map_err(Self::db_err)
    }

    /// Entry names in a vault tree (names are not secret).
    pub fn keys(&self, tree: Tree) -> Result<Vec<String>, StoreError> {
        self.tree(tree)
            .iter()
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k).into_owned())
                    .map_err(Self::db_err)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn roundtrip_and_fresh_nonce_per_write() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), Some(MasterKey::from_bytes([7; 32]))).unwrap();
        let v = s.vault().unwrap();
        v.put(Tree::Credentials, "ups", b"top-secret").unwrap();
        let first = s.tree(Tree::Credentials).get("ups").unwrap().unwrap();
        v.put(Tree::Credentials, "ups", b"top-secret").unwrap();
        let second = s.tree(Tree::Credentials).get("ups").unwrap().unwrap();
        assert_ne!(
            first, second,
            "same plaintext must not give the same ciphertext"
        );
        assert_eq!(
            v.get(Tree::Credentials, "ups").unwrap().unwrap().expose(),
            b"top-secret"
        );
        assert!(!first.windows(10).any(|w| w == b"top-secret"));
    }

    #[test]
    fn ciphertext_moved_to_another_key_does_not_decrypt() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), Some(MasterKey::from_bytes([7; 32]))).unwrap();
        let v = s.vault().unwrap();
        v.put(Tree::Credentials, "a", b"secret-a").unwrap();
        let raw = s.tree(Tree::Credentials).get("a").unwrap().unwrap();
        s.tree(Tree::Credentials).insert("b", raw.clone()).unwrap();
        s.tree(Tree::Tokens).insert("a", raw).unwrap();
        assert!(matches!(
            v.get(Tree::Credentials, "b"),
            Err(StoreError::Undecryptable { .. })
        ));
        assert!(matches!(
            v.get(Tree::Tokens, "a"),
            Err(StoreError::Undecryptable { .. })
        ));
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret(b"hunter2".to_vec());
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn key_check_detects_wrong_key() {
        let k1 = MasterKey::from_bytes([1; 32]);
        let k2 = MasterKey::from_bytes([2; 32]);
        let kcv = make_key_check(&k1);
        assert!(verify_key_check(&k1, &kcv));
        assert!(!verify_key_check(&k2, &kcv));
        assert!(!verify_key_check(&k1, "not base64!"));
    }
}
