//! `upsync run` under a fake systemd: the test owns the `NOTIFY_SOCKET` (a unix datagram
//! socket) and sets `WATCHDOG_USEC`, runs the real binary against an in-process world
//! (simulators on loopback), and checks READY=1, WATCHDOG=1, then after SIGTERM in the
//! middle of shipping: STOPPING=1, exit 0, and no job lost (the interrupted ones finish on
//! the next start, every UPS record gets exactly one shipment).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use upsync::app::world::{World, WorldOptions};
use upsync::pipeline::{JobState, Ledger};

const BIN: &str = env!("CARGO_BIN_EXE_upsync");

/// Messages received on the fake notify socket, with their arrival time.
#[derive(Clone, Default)]
struct Inbox(Arc<Mutex<Vec<(Instant, String)>>>);

impl Inbox {
    fn listen(path: &Path) -> Inbox {
        let sock = UnixDatagram::bind(path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let inbox = Inbox::default();
        let i = inbox.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends with the test process; bounded by the test's own timeouts.
            loop {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                    i.0.lock().unwrap().push((Instant::now(), msg));
                }
            }
        });
        inbox
    }

    fn count(&self, line: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.lines().any(|l| l == line))
            .count()
    }

    async fn wait_for(&self, line: &str, n: usize, within: Duration) {
        let end = Instant::now() + within;
        while self.count(line) < n {
            assert!(
                Instant::now() < end,
                "no {line} (x{n}) within {within:?}; got {:?}",
                self.0.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn wait_exit(child: &mut Child, within: Duration) -> ExitStatus {
    let end = Instant::now() + within;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            panic!("upsync did not exit within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    // SAFETY: plain kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill failed");
}

fn ups_records(w: &World) -> usize {
    w.acumatica
        .as_ref()
        .unwrap()
        .state
        .shipments()
        .iter()
        .filter(|s| {
            s["ShipVia"]["value"]
                .as_str()
                .is_some_and(|v| v.starts_with("UPS"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_watchdog_stopping_and_no_job_lost_across_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(&dir.path().join("world"));
    o.acumatica_shipments = 12;
    o.netsuite_fulfillments = 0;
    o.schedule = "*/1 * * * * *".into();
    // Slow UPS and two jobs at a time, so SIGTERM lands while labels are being created.
    o.ups_latency_ms = 250;
    o.jobs_in_flight = 2;
    let w = World::start(o).await.unwrap();
    let expected = ups_records(&w);
    assert!(expected >= 8, "seeds changed: {expected} UPS records");

    let sock = dir.path().join("notify.sock");
    let inbox = Inbox::listen(&sock);
    let log = std::fs::File::create(dir.path().join("run.log")).unwrap();
    let started = Instant::now();
    let mut child = w
        .command(Path::new(BIN))
        .arg("run")
        .env("NOTIFY_SOCKET", &sock)
        .env("WATCHDOG_USEC", "2000000")
        .env_remove("WATCHDOG_PID")
        .env("UPSYNC_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    inbox.wait_for("READY=1", 1, Duration::from_secs(30)).await;
    // Half of WatchdogSec = 1 s: the first ping arrives well within 3 s of READY.
    inbox
        .wait_for("WATCHDOG=1", 1, Duration::from_secs(3))
        .await;

    // SIGTERM once the first label exists but before all are done.
    let end = Instant::now() + Duration::from_secs(30);
    while w.ups.stats().get("ship.created").copied().unwrap_or(0) == 0 {
        assert!(Instant::now() < end, "no label created within 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&child);
    let status = wait_exit(&mut child, Duration::from_secs(40)).await;
    assert_eq!(inbox.count("STOPPING=1"), 1);
    assert!(status.success(), "exit status {status:?}");
    let ships_at_stop = w.ups.stats().get("ship.created").copied().unwrap_or(0) as usize;
    assert!(
        ships_at_stop < expected,
        "SIGTERM came too late to interrupt anything ({ships_at_stop}/{expected} shipped)"
    );
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    assert!(log.contains("stopped"), "{log}");
    let watchdogs = inbox.count("WATCHDOG=1");
    assert!(
        watchdogs >= 1 && watchdogs as f64 <= started.elapsed().as_secs_f64() + 2.0,
        "{watchdogs} pings in {:?}",
        started.elapsed()
    );

    // Nothing the daemon took on is in a bad state: every job is either finished or in a
    // state the next start resumes from (the ledger is flushed).
    {
        let ledger = Ledger::new(w.open_store().unwrap());
        for j in ledger.jobs(None, None) {
            let j = j.unwrap();
            assert!(
                j.state != JobState::Failed,
                "job {} failed: {:?}",
                j.id,
                j.last_error
            );
        }
    }

    // Next start: `upsync once` resumes the interrupted jobs and picks up the rest.
    for _ in 0..10 {
        let out = w.command(Path::new(BIN)).arg("once").output().unwrap();
        assert!(out.status.success(), "{out:?}");
        let ledger = Ledger::new(w.open_store().unwrap());
        let done = ledger
            .jobs(None, Some(JobState::Tracking))
            .filter(|j| j.is_ok())
            .count();
        if done == expected {
            break;
        }
    }
    let jobs: Vec<_> = {
        let ledger = Ledger::new(w.open_store().unwrap());
        let jobs = ledger.jobs(None, None).map(|j| j.unwrap()).collect();
        jobs
    };
    assert_eq!(jobs.len(), expected, "one job per UPS record");
    for j in &jobs {
        assert_eq!(j.state, JobState::Tracking, "job {} is {}", j.id, j.state);
    }
    // Exactly one shipment per record at UPS: nothing lost, nothing doubled.
    let st = w.ups.stats();
    assert_eq!(
        st.get("ship.created").copied().unwrap_or(0) as usize,
        expected,
        "{st:?}"
    );
    // And the 1Z numbers reached the ERP.
    let acu = &w.acumatica.as_ref().unwrap().state;
    for j in &jobs {
        let rec = acu.shipment(&j.record_id).unwrap();
        let tn = rec["Packages"][0]["TrackingNbr"]["value"].as_str();
        assert!(
            tn.is_some_and(|t| t.starts_with("1Z")),
            "record {} has no 1Z: {}",
            j.number,
            rec["Packages"]
        );
    }
    // The `jobs list` command agrees.
    let out = w
        .command(Path::new(BIN))
        .args(["jobs", "list", "--state", "tracking"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().filter(|l| l.contains("tracking")).count() >= expected,
        "{text}"
    );
}
