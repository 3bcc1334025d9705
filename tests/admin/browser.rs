//! The console in a real browser (issue 21 Must show): headless Chromium logs in with the
//! admin token, finds a dead-lettered record, replays it after the record is fixed in the
//! simulator, and sees it shipped. Screenshots are kept under
//! `target/tmp/console-screenshots/` (the test prints the path).
//!
//! Chromium is driven over the DevTools protocol on `--remote-debugging-pipe` (JSON
//! messages separated by NUL on file descriptors 3 and 4), so no WebSocket client or
//! browser-automation crate is needed. Where no Chromium is installed the test says so and
//! passes without running; `.ci/run` installs Debian's `chromium` so CI always runs it
//! (`UPSYNC_REQUIRE_BROWSER=1` turns a missing browser into a failure).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;

use super::console::{fix_zero_weight, setup, TOKEN};
use crate::pipeline_support::*;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome", "chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

/// A DevTools-protocol connection to one page.
struct Browser {
    child: tokio::process::Child,
    to: pipe::Sender,
    from: pipe::Receiver,
    buf: Vec<u8>,
    next_id: u64,
    session: Option<String>,
    _profile: tempfile::TempDir,
}

fn pipe_pair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two fresh descriptors, each owned exactly once below.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

impl Browser {
    async fn launch(exe: &std::path::Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        // Chromium reads commands on fd 3 and writes answers on fd 4.
        let (cmd_read, cmd_write) = pipe_pair();
        let (out_read, out_write) = pipe_pair();
        let (cr, ow) = (cmd_read.as_raw_fd(), out_write.as_raw_fd());
        let mut c = std::process::Command::new(exe);
        c.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
            "--window-size=1280,900",
            "about:blank",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec. Both
        // ends are first copied above fd 10, so neither can be overwritten by the other's
        // dup2, and dup2 onto 3 and 4 is never a no-op that would keep FD_CLOEXEC set.
        unsafe {
            c.pre_exec(move || {
                let (a, b) = (
                    libc::fcntl(cr, libc::F_DUPFD, 10),
                    libc::fcntl(ow, libc::F_DUPFD, 10),
                );
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut c = tokio::process::Command::from(c);
        c.kill_on_drop(true);
        let child = c.spawn().expect("start chromium");
        drop((cmd_read, out_write));
        let mut b = Browser {
            child,
            to: pipe::Sender::from_owned_fd(cmd_write).unwrap(),
            from: pipe::Receiver::from_owned_fd(out_read).unwrap(),
            buf: Vec::new(),
            next_id: 0,
            session: None,
            _profile: profile,
        };
        let t = b
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target = t["targetId"].as_str().unwrap().to_string();
        let s = b
            .call(
                "Target.attachToTarget",
                json!({"targetId": target, "flatten": true}),
            )
            .await;
        b.session = Some(s["sessionId"].as_str().unwrap().to_string());
        b.call("Page.enable", json!({})).await;
        b
    }

    /// Send one command and wait for its answer (events in between are skipped).
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            while let Some(end) = self.buf.iter().position(|b| *b == 0) {
                let frame: Vec<u8> = self.buf.drain(..=end).collect();
                let v: Value = serde_json::from_slice(&frame[..end]).unwrap();
                if v["id"] == json!(id) {
                    if let Some(e) = v.get("error") {
                        return json!({"error": e});
                    }
                    return v["result"].clone();
                }
            }
            let mut chunk = vec![0u8; 65536];
            let n = tokio::time::timeout_at(deadline.into(), self.from.read(&mut chunk))
                .await
                .unwrap_or_else(|_| panic!("chromium did not answer {method}"))
                .unwrap();
            assert!(n > 0, "chromium closed the pipe during {method}");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    async fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for("document.readyState === 'complete'").await;
    }

    /// Evaluate a JavaScript expression in the page; its value (`null` while navigating).
    async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true}),
            )
            .await;
        r["result"]["value"].clone()
    }

    /// Wait until `expr` is true in the page (a navigation may be under way).
    async fn wait_for(&mut self, expr: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.eval(expr).await == json!(true) {
                return;
            }
            if Instant::now() > deadline {
                let html = self.eval("document.documentElement.outerHTML").await;
                panic!("waited 20 s for `{expr}`; the page:\n{html}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn screenshot(&mut self, path: &std::path::Path) {
        use base64::Engine;
        let r = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("a screenshot"))
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(path, png).unwrap();
    }

    async fn close(mut self) {
        self.session = None;
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            self.call("Browser.close", json!({})),
        )
        .await;
        let _ = self.child.kill().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_logs_in_finds_a_dead_letter_and_replays_it() {
    let Some(exe) = chromium() else {
        assert!(
            std::env::var_os("UPSYNC_REQUIRE_BROWSER").is_none(),
            "UPSYNC_REQUIRE_BROWSER is set but no chromium is on PATH"
        );
        eprintln!("SKIPPED: no chromium on PATH (apt-get install chromium; .ci/run does)");
        return;
    };
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Box::pin(setup(dir.path())).await;
    let (_, number, _, _) = s.zero.clone();
    let mut b = Browser::launch(&exe).await;

    // Not logged in: the console sends the browser to the login page.
    b.navigate(&format!("{}/console/dead-letters", s.base))
        .await;
    b.wait_for("location.pathname === '/console/login'").await;
    b.screenshot(&shots.join("1-login.png")).await;
    let typed = format!(
        "document.getElementById('token').value = {}; document.getElementById('login').click(); true",
        json!(TOKEN)
    );
    b.eval(&typed).await;
    // Back where it was going, logged in, with the dead letter listed.
    b.wait_for("location.pathname === '/console/dead-letters'")
        .await;
    b.wait_for(&format!(
        "document.querySelector('tr[data-number=\"{number}\"]') !== null"
    ))
    .await;
    b.screenshot(&shots.join("2-dead-letters.png")).await;

    // Fixed in the ERP; the admin presses Replay.
    fix_zero_weight(&s).await;
    let ships_before = stat(&s.w.ups.stats(), "ship");
    b.eval(&format!(
        "document.getElementById('replay-{number}').click(); true"
    ))
    .await;
    b.wait_for("document.getElementById('flash') !== null")
        .await;
    let flash = b.eval("document.getElementById('flash').textContent").await;
    assert!(
        flash
            .as_str()
            .is_some_and(|f| f.contains("is now tracking")),
        "{flash}"
    );
    b.wait_for(&format!(
        "document.querySelector('tr[data-number=\"{number}\"]') === null"
    ))
    .await;
    b.screenshot(&shots.join("3-replayed.png")).await;
    assert_eq!(stat(&s.w.ups.stats(), "ship"), ships_before + 1);
    assert_eq!(ups_shipments_for(&s.w, &number), (1, 0), "shipped once");

    // The overview, for the record.
    b.navigate(&format!("{}/console/", s.base)).await;
    b.wait_for("document.getElementById('connectors') !== null")
        .await;
    b.screenshot(&shots.join("4-overview.png")).await;
    eprintln!("screenshots: {}", shots.display());
    b.close().await;
    s.console.stop().await;
}
