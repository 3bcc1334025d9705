//! Private files: everything upsync writes under the state directory (ledger, tracking,
//! labels: names and addresses) is 0600, its directories 0700, whatever the umask the
//! process was started with. The unit's `UMask=0077` does the same under systemd; these
//! make it hold outside systemd too (a shell, cron, a container).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Set the process umask to 077, so files created by libraries (sled's segments and
/// snapshots) are private too. Returns the previous umask.
pub fn set_private_umask() -> u32 {
    // SAFETY: umask(2) only swaps the process's file mode creation mask.
    unsafe { libc::umask(0o077) as u32 }
}

/// `create_dir_all`, then mode 0700 on `dir` itself.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Create (or truncate) a file with mode 0600, whatever the umask.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` only applies to new files: an existing one is tightened too.
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Tighten an existing tree: directories 0700, files 0600 (errors ignored: best effort on
/// files created by an earlier build or under another umask).
pub fn private_tree(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let _ = std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o600));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards issue 16 item 6: under umask 022 the store's files came out 0644.
    #[test]
    fn store_files_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        // SAFETY: umask(2); restored below.
        let old = unsafe { libc::umask(0o022) };
        let s = crate::store::Store::open(&state, None).unwrap();
        s.put_json(crate::store::Tree::Jobs, "j/x", &1).unwrap();
        s.flush().unwrap();
        drop(s);
        unsafe { libc::umask(old) };
        let mut stack = vec![state.clone()];
        let mut files = 0;
        while let Some(d) = stack.pop() {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files += 1;
                    let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                    assert_eq!(mode, 0o600, "{}", p.display());
                }
            }
        }
        assert!(files >= 2, "manifest and database files checked");
    }
}
