//! The master key: 32 random bytes, stored base64 in a file only its owner can read.
//!
//! Where it comes from, in order: `UPSYNC_MASTER_KEY_FILE`, else
//! `$CREDENTIALS_DIRECTORY/master.key` (systemd `LoadCredential=master.key:…`).
//! `upsync keygen` prints a new one.
//!
//! Must never: accept a key file that group or others can read, or print the key.

use std::path::{Path, PathBuf};

use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};

/// The 256-bit master key. `Debug` never shows it.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("no master key configured: set UPSYNC_MASTER_KEY_FILE to a key file (create one with `upsync keygen > key && chmod 600 key`), or run under systemd with LoadCredential=master.key:…")]
    NotConfigured,
    #[error("cannot read the master key file {path}: {source}")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the master key file {path} is readable by group or others (mode {mode:o}); refusing to use it: run `chmod 600 {path}`", path = .path.display())]
    TooOpen { path: PathBuf, mode: u32 },
    #[error("the master key file {path} does not hold a master key (expected 32 bytes, base64, as printed by `upsync keygen`)", path = .path.display())]
    Malformed { path: PathBuf },
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(bytes)
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// A new random key, as the text `upsync keygen` prints (base64 + newline).
    pub fn generate_text() -> String {
        let mut k = [0u8; 32];
        SystemRandom::new()
            .fill(&mut k)
            .expect("the system random source works");
        let text = base64::engine::general_purpose::STANDARD.encode(k);
        zeroize::Zeroize::zeroize(&mut k);
        format!("{text}\n")
    }

    /// Where the key file is configured, if anywhere.
    pub fn configured_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("UPSYNC_MASTER_KEY_FILE").filter(|v| !v.is_empty()) {
            return Some(PathBuf::from(p));
        }
        std::env::var_os("CREDENTIALS_DIRECTORY")
            .filter(|v| !v.is_empty())
            .map(|d| PathBuf::from(d).join("master.key"))
    }

    /// Load from the configured location.
    pub fn from_env() -> Result<MasterKey, MasterKeyError> {
        let path = Self::configured_path().ok_or(MasterKeyError::NotConfigured)?;
        Self::load(&path)
    }

    /// Load a key file, refusing group/other-readable files.
    pub fn load(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let unreadable = |source| MasterKeyError::Unreadable {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(MasterKeyError::TooOpen {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        // Bounded (a key is 44 bytes of base64): `/dev/zero` or a large file is refused,
        // not read.
        if !meta.is_file() || meta.len() > 4096 {
            return Err(MasterKeyError::Malformed {
                path: path.to_path_buf(),
            });
        }
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::fs::File::open(path).map_err(unreadable)?, 4097),
            &mut text,
        )
        .map_err(unreadable)?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text.trim().as_bytes())
            .map_err(|_| MasterKeyError::Malformed {
                path: path.to_path_buf(),
            })?;
        let bytes: [u8; 32] =
            decoded
                .as_slice()
                .try_into()
                .map_err(|_| MasterKeyError::Malformed {
                    path: path.to_path_buf(),
                })?;
        Ok(MasterKey(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn write_key(dir: &Path, mode: u32) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join("master.key");
        std::fs::write(&p, MasterKey::generate_text()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[cfg(unix)]
    #[test]
    fn loads_private_key_and_refuses_group_readable() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_key(dir.path(), 0o600);
        MasterKey::load(&p).unwrap();
        let p = write_key(dir.path(), 0o640);
        let e = MasterKey::load(&p).unwrap_err();
        assert!(matches!(e, MasterKeyError::TooOpen { .. }));
        assert!(e.to_string().contains("chmod 600"));
    }

    #[test]
    fn malformed_key_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "not a key").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        assert!(matches!(
            MasterKey::load(&p),
            Err(MasterKeyError::Malformed { .. })
        ));
    }

    #[test]
    fn generated_keys_differ_and_debug_is_redacted() {
        assert_ne!(MasterKey::generate_text(), MasterKey::generate_text());
        let k = MasterKey::from_bytes([9; 32]);
        assert_eq!(format!("{k:?}"), "MasterKey([redacted])");
    }
}
