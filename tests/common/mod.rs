//! Shared helpers for integration tests that run the real `upsync` binary.
//!
//! [`Sandbox`] is a temp directory with its own state directory, a master key file (mode
//! 600) and a place for a config file; [`Sandbox::cmd`] runs the built binary with only
//! that environment (no inherited `UPSYNC_*` or `CREDENTIALS_DIRECTORY`), so tests never
//! touch a real installation. Also: file snapshots with SHA-256 checksums, and a bounded
//! wait for a child process.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_upsync")
}

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub state_dir: PathBuf,
    pub key_file: PathBuf,
    pub config: PathBuf,
}

impl Sandbox {
    /// A sandbox with a fresh master key (mode 600); the state directory does not exist yet.
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let state_dir = dir.path().join("state");
        let key_file = dir.path().join("master.key");
        write_key(&key_file, 0o600);
        let config = dir.path().join("config/upsync.yaml");
        Sandbox {
            dir,
            state_dir,
            key_file,
            config,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `upsync --config <sandbox config> ARGS…` with the sandbox environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--config").arg(&self.config).args(args);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().to_string();
            if k.starts_with("UPSYNC") || k == "CREDENTIALS_DIRECTORY" || k == "JOURNAL_STREAM" {
                c.env_remove(&k);
            }
        }
        c.env("UPSYNC_STATE_DIR", &self.state_dir)
            .env("UPSYNC_MASTER_KEY_FILE", &self.key_file)
            .current_dir(self.path());
        c
    }

    /// Run to completion with `stdin` fed in (bounded by `timeout`).
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self.spawn(args, stdin);
        wait_bounded(&mut child, Duration::from_secs(60));
        child.wait_with_output().expect("collect output")
    }

    /// Spawn with `stdin` written and closed; stdout/stderr piped.
    pub fn spawn(&self, args: &[&str], stdin: &str) -> Child {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn upsync");
        let mut pipe = child.stdin.take().expect("stdin");
        // A child killed early closes its end; ignore the broken pipe.
        let _ = pipe.write_all(stdin.as_bytes());
        drop(pipe);
        child
    }

    /// Write a file relative to the sandbox root (parents created).
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

/// Wait for `child` at most `limit`; kill it (and fail) beyond.
pub fn wait_bounded(child: &mut Child, limit: Duration) {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("upsync did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A new key file with the given mode, content from `upsync keygen`'s format.
pub fn write_key(path: &Path, mode: u32) {
    std::fs::write(path, upsync::store::MasterKey::generate_text()).unwrap();
    set_mode(path, mode);
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every regular file under `dir` with its bytes.
pub fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// SHA-256 (hex) of every file under `dir`, plus its mode: a before/after fingerprint.
pub fn checksums(dir: &Path) -> BTreeMap<PathBuf, (String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    files_under(dir)
        .into_iter()
        .map(|(p, bytes)| {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
            (p, (hex::encode(digest.as_ref()), mode))
        })
        .collect()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
