//! Fault suite: the state directory cannot be written.
//!
//! * Read-only state directory: `upsync once` refuses with an error that names the
//!   directory, sends nothing to UPS, changes no byte of the store; once the directory is
//!   writable again the same command ships everything exactly once.
//! * Disk full: `upsync once` runs with a file-size limit (`RLIMIT_FSIZE`, SIGXFSZ ignored,
//!   so writes past the limit fail with EFBIG like a full disk) set just above the store's
//!   current size. It must stop with an error (no panic), and when space "returns" (no
//!   limit) the next runs finish the work: nothing lost, nothing shipped twice.
//!
//! The tests run the real binary. As root, permission bits do not stop writes, so the
//! read-only child drops to uid/gid 65534 (nobody) after the world directory is handed to it.
//!
//! Sled only (issue 22, one suite on two backends): these tests are about sled's files in the
//! state directory (read-only directory, file-size limit on the store's files); a PostgreSQL
//! store keeps no files there.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use upsync::app::world::{World, WorldOptions};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_upsync"))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect()
}

fn set_tree_mode(dir: &Path, dirs: u32, plain: u32) {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(dirs)).unwrap();
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(plain)).unwrap();
            }
        }
    }
}

fn chown_tree(dir: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).unwrap();
    for p in files(dir) {
        std::os::unix::fs::chown(&p, Some(uid), Some(gid)).unwrap();
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                std::os::unix::fs::chown(e.path(), Some(uid), Some(gid)).unwrap();
                stack.push(e.path());
            }
        }
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

const NOBODY: u32 = 65534;

/// `upsync once` against the world, as `nobody` when we are root.
async fn once(w: &World, as_nobody: bool, fsize_limit: Option<u64>) -> Output {
    let mut c = w.command(bin());
    c.arg("once").env("UPSYNC_LOG", "warn");
    if as_nobody {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(NOBODY) != 0
                    || libc::setuid(NOBODY) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    if let Some(limit) = fsize_limit {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            c.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

async fn world(dir: &Path) -> World {
    let mut o = WorldOptions::new(dir);
    o.acumatica_shipments = 8;
    o.netsuite_fulfillments = 8;
    // A run stopped by the full disk can leave a job in `shipping` with nothing sent; the
    // simulator finds new labels by reference at once, so a short absent window is honest.
    o.reconcile_absent_after_seconds = 2;
    o.reconcile_min_lookups = 2;
    let w = World::start(o).await.unwrap();
    let p = w.dir.join("connectors/acumatica.yaml");
    let t = std::fs::read_to_string(&p).unwrap();
    std::fs::write(
        &p,
        t.replace(
            "action_poll_interval_ms: 1000",
            "action_poll_interval_ms: 20",
        ),
    )
    .unwrap();
    w
}

/// Run `once` until the audit is clean (bounded); returns the last audit.
async fn finish(w: &World, as_nobody: bool) -> upsync::bench::Audit {
    let mut audit = upsync::bench::audit(w);
    for _ in 0..6 {
        let o = once(w, as_nobody, None).await;
        assert!(
            !String::from_utf8_lossy(&o.stderr).contains("panicked"),
            "{}",
            text(&o)
        );
        audit = upsync::bench::audit(w);
        if audit.lost == 0 && audit.expected > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    }
    audit
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_state_dir_is_refused_clearly_and_untouched_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let as_nobody = is_root();
    if as_nobody {
        chown_tree(&w.dir, NOBODY, NOBODY);
    }
    let before = snapshot(&w.state_dir);
    set_tree_mode(&w.state_dir, 0o555, 0o444);

    let o = once(&w, as_nobody, None).await;
    let all = text(&o);
    assert!(!o.status.success(), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    let state = w.state_dir.display().to_string();
    assert!(
        all.contains(&state) || all.contains("state"),
        "the error names the state directory: {all}"
    );
    assert!(
        all.to_lowercase().contains("permission denied")
            || all.to_lowercase().contains("read-only"),
        "the error says why: {all}"
    );
    assert_eq!(
        w.ups.stats().get("ship").copied().unwrap_or(0),
        0,
        "nothing may ship without a ledger"
    );
    set_tree_mode(&w.state_dir, 0o755, 0o644);
    assert_eq!(snapshot(&w.state_dir), before, "the store changed");

    let audit = finish(&w, as_nobody).await;
    assert_eq!(audit.lost, 0, "{audit:?}");
    assert_eq!(audit.duplicates, 0, "{audit:?}");
    assert_eq!(audit.inconsistent, 0, "{audit:?}");
    assert!(audit.expected >= 12, "{audit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_stops_with_an_error_and_recovers_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    // Growing headroom over the store's current size: the first runs fail at open, later
    // ones get part of the way (labels created at UPS, the ledger cannot record more) and
    // fail mid-cycle; each leaves the store for the next to continue from.
    let mut failures = 0;
    let mut mid_cycle = 0;
    for headroom_kib in [8u64, 256, 400, 512, 520, 600, 700, 800, 900, 1024, 4096] {
        let biggest = files(&w.state_dir)
            .iter()
            .map(|p| std::fs::metadata(p).unwrap().len())
            .max()
            .unwrap();
        let shipped_before = w.ups.stats().get("ship.created").copied().unwrap_or(0);
        let o = once(&w, false, Some(biggest + headroom_kib * 1024)).await;
        let all = text(&o);
        assert!(!all.contains("panicked"), "{all}");
        if !o.status.success() {
            failures += 1;
            assert!(
                all.contains("File too large") || all.to_lowercase().contains("no space"),
                "the error must say the disk is the problem: {all}"
            );
            if w.ups.stats().get("ship.created").copied().unwrap_or(0) > shipped_before {
                mid_cycle += 1;
            }
        }
        eprintln!(
            "headroom {headroom_kib} KiB: exit {:?}, {}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    assert!(failures > 0, "the file-size limit never bit");
    let shipped_while_full = w.ups.stats().get("ship.created").copied().unwrap_or(0);
    eprintln!("{failures} failed runs, {mid_cycle} after shipping something");

    // Space returns: the store opens (not corrupt) and the work completes exactly once.
    let audit = finish(&w, false).await;
    eprintln!("after recovery: {audit:?}, shipped while full: {shipped_while_full}");
    assert_eq!(audit.lost, 0, "{audit:?}");
    assert_eq!(audit.duplicates, 0, "{audit:?}");
    assert_eq!(audit.inconsistent, 0, "{audit:?}");
    assert!(audit.expected >= 12, "{audit:?}");
    let jobs = w.command(bin()).args(["jobs", "list"]).output().unwrap();
    assert!(jobs.status.success(), "{}", text(&jobs));
}
