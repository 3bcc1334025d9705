//! A throwaway PostgreSQL server for the tests, the bench and the demo (issue 22): `initdb`
//! into a temporary directory, `pg_ctl start` on a free loopback port, one fresh database
//! per caller ([`PgServer::create_database`]), `pg_ctl stop` when dropped.
//!
//! Where the server binaries come from, in order: `UPSYNC_PG_BIN` (a directory holding
//! `initdb` and `pg_ctl`), `PATH`, then Debian's `/usr/lib/postgresql/<version>/bin`
//! (`apt-get install postgresql`; `.ci/run` installs it). PostgreSQL refuses to run as
//! root, so under root the server runs as the `postgres` user (or `nobody`) through
//! `setpriv`, its directory handed to that user.
//!
//! Tests call [`shared`]: one server per test process, `None` (with a clear message on
//! stderr) where no server binary can be had, unless `UPSYNC_REQUIRE_POSTGRES=1` (CI),
//! which makes a missing server a failure instead of a skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a server could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PgServerError {
    #[error("no PostgreSQL server binaries found (initdb, pg_ctl): install Debian's `postgresql` package (`apt-get install -y postgresql`) or set UPSYNC_PG_BIN to the directory that holds them")]
    NotInstalled,
    #[error("PostgreSQL `{step}` failed: {detail}")]
    Failed { step: &'static str, detail: String },
}

/// How the server is tuned.
#[derive(Debug, Clone, Copy)]
pub struct PgOptions {
    /// `fsync` and `full_page_writes` on (figures for the bench); off is fine for tests,
    /// which kill daemons, never the database server.
    pub durable: bool,
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    run_as: Option<u32>,
    next_db: AtomicU64,
}

/// The user the server runs as when we are root: `postgres` if it exists, else `nobody`.
fn unprivileged_uid_gid() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for name in ["postgres", "nobody"] {
        for l in passwd.lines() {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() > 3 && f[0] == name {
                if let (Ok(u), Ok(g)) = (f[2].parse(), f[3].parse()) {
                    return (u, g);
                }
            }
        }
    }
    (65534, 65534)
}

/// The directory holding `initdb` and `pg_ctl` (and `createdb`), if any. A directory of
/// symlinks (`/usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb`) resolves to the
/// real one, where the other tools are.
pub fn find_bin() -> Option<PathBuf> {
    let d = find_bin_dir()?;
    d.join("initdb")
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .or(Some(d))
}

fn find_bin_dir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("pg_ctl").is_file();
    if let Some(d) = std::env::var_os("UPSYNC_PG_BIN").filter(|v| !v.is_empty()) {
        let d = PathBuf::from(d);
        return has(&d).then_some(d);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if has(&d) {
                return Some(d);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let d = e.path().join("bin");
            has(&d).then_some((v, d))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

fn free_port() -> Result<u16, PgServerError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| PgServerError::Failed {
            step: "pick a port",
            detail: e.to_string(),
        })
}

impl PgServer {
    /// Start a fresh server (a new cluster in a temporary directory).
    pub fn start(opts: PgOptions) -> Result<PgServer, PgServerError> {
        let bin = find_bin().ok_or(PgServerError::NotInstalled)?;
        let dir = tempfile::Builder::new()
            .prefix("upsync-pg-")
            .tempdir()
            .map_err(|e| PgServerError::Failed {
                step: "make a directory",
                detail: e.to_string(),
            })?;
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let run_as = if root {
            let (uid, gid) = unprivileged_uid_gid();
            // SAFETY: the path is a valid C string; chown has no other preconditions.
            let c = std::ffi::CString::new(dir.path().as_os_str().as_encoded_bytes())
                .expect("temporary paths hold no NUL");
            unsafe { libc::chown(c.as_ptr(), uid, gid) };
            Some(uid)
        } else {
            None
        };
        let mut server = PgServer {
            bin,
            dir,
            port: 0,
            run_as,
            next_db: AtomicU64::new(0),
        };
        let data = server.data_dir();
        server.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "upsync",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
        )?;
        let fsync = if opts.durable { "on" } else { "off" };
        let mut last = None;
        for _ in 0..5 {
            let port = free_port()?;
            let o = format!(
                "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{}' -c max_connections=300 -c fsync={fsync} -c full_page_writes={fsync} -c synchronous_commit={fsync}",
                server.dir.path().display()
            );
            let log = server.dir.path().join("server.log");
            match server.run(
                "pg_ctl",
                &[
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    &data,
                    "-l",
                    &log.to_string_lossy(),
                    "-o",
                    &o,
                ],
            ) {
                Ok(()) => {
                    server.port = port;
                    return Ok(server);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least once"))
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    fn run(&self, tool: &'static str, args: &[&str]) -> Result<(), PgServerError> {
        let exe = self.bin.join(tool);
        let mut cmd = match self.run_as {
            Some(uid) => {
                let (_, gid) = unprivileged_uid_gid();
                let mut c = Command::new("setpriv");
                c.arg(format!("--reuid={uid}"))
                    .arg(format!("--regid={gid}"))
                    .arg("--clear-groups")
                    .arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| PgServerError::Failed {
                step: tool,
                detail: e.to_string(),
            })?;
        if out.status.success() {
            return Ok(());
        }
        let log = std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        Err(PgServerError::Failed {
            step: tool,
            detail: format!(
                "{}{}{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout),
                log.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
            ),
        })
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for database `db` (no password: trust authentication on loopback).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://upsync@127.0.0.1:{}/{db}", self.port)
    }

    /// Create a new, empty database and return its URL.
    pub fn create_database(&self) -> Result<String, PgServerError> {
        let n = self.next_db.fetch_add(1, Ordering::SeqCst);
        let name = format!("upsync_{}_{n}", std::process::id());
        let port = self.port.to_string();
        let out = Command::new(self.bin.join("createdb"))
            .args(["-h", "127.0.0.1", "-p", &port, "-U", "upsync", &name])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| PgServerError::Failed {
                step: "createdb",
                detail: e.to_string(),
            })?;
        if !out.status.success() {
            return Err(PgServerError::Failed {
                step: "createdb",
                detail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(self.url(&name))
    }

    /// Stop the server now (also done on drop).
    pub fn stop(&self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["stop", "-m", "immediate", "-w", "-D", &data]);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One server per process for the tests (`None` where PostgreSQL cannot be had; then the
/// caller skips with the message printed here). `UPSYNC_REQUIRE_POSTGRES=1` turns a
/// missing server into a panic, so CI never silently skips.
///
/// A server in a `static` is never dropped, so it would outlive the test process: it is
/// stopped by an `atexit` hook.
pub fn shared() -> Option<&'static PgServer> {
    static SERVER: std::sync::OnceLock<Option<PgServer>> = std::sync::OnceLock::new();
    SERVER
        .get_or_init(|| match PgServer::start(PgOptions { durable: false }) {
            Ok(s) => {
                extern "C" fn stop_at_exit() {
                    if let Some(Some(s)) = SERVER.get() {
                        s.stop();
                        // The TempDir is never dropped from a static: remove it here.
                        let _ = std::fs::remove_dir_all(s.dir.path());
                    }
                }
                // SAFETY: registering a plain extern "C" fn with atexit is always sound.
                unsafe { libc::atexit(stop_at_exit) };
                Some(s)
            }
            Err(e) => {
                if std::env::var("UPSYNC_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("UPSYNC_REQUIRE_POSTGRES=1 but {e}");
                }
                eprintln!("SKIPPED the PostgreSQL backend: {e}");
                None
            }
        })
        .as_ref()
}

/// A fresh database on the [`shared`] server for one test (`None`, with the skip message
/// already printed, where no server can be had).
pub fn test_database() -> Option<String> {
    Some(
        shared()?
            .create_database()
            .expect("createdb on the test server"),
    )
}

/// One test suite, two backends (issue 22): `both_stores! { #[tokio::test] async fn
/// name(store_url) { … } }` defines `name::sled` (`store_url` = `None`) and
/// `name::postgres` (`Some(url)` of a fresh database; skipped with [`shared`]'s message
/// where no server can be had). The body passes `store_url` to
/// `WorldOptions::store_url`.
#[macro_export]
macro_rules! both_stores {
    ($(#[$attr:meta])* async fn $name:ident($url:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($url: Option<String>) $body
            $(#[$attr])*
            async fn sled() {
                body(None).await
            }
            $(#[$attr])*
            async fn postgres() {
                let Some(url) = $crate::store::pgserver::test_database() else {
                    return;
                };
                body(Some(url)).await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_starts_and_hands_out_databases() {
        let Some(s) = shared() else { return };
        let a = s.create_database().unwrap();
        let b = s.create_database().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("postgres://upsync@127.0.0.1:{}/", s.port())));
        // The server really listens.
        assert!(std::net::TcpStream::connect(("127.0.0.1", s.port())).is_ok());
    }
}
