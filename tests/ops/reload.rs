//! SIGHUP on the real `upsync run` binary: a broken new configuration (an unknown key) is
//! rejected with the `check` report in the log while the old configuration keeps running
//! (`/healthz` answers, cycles still ship new records); a valid change (the schedule) is
//! applied.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use upsync::app::world::{World, WorldOptions};

const BIN: &str = env!("CARGO_BIN_EXE_upsync");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

async fn until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < end, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ships(w: &World) -> u64 {
    w.ups.stats().get("ship.created").copied().unwrap_or(0)
}

async fn add_record(w: &World) {
    let url = format!(
        "{}/_sim/acumatica/shipments",
        w.acumatica.as_ref().unwrap().base_url
    );
    let r = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({"ShipVia": {"value": "UPSGROUND"}, "Status": {"value": "Open"}, "Hold": {"value": false}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_rejects_a_broken_config_and_applies_a_valid_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut o = WorldOptions::new(&dir.path().join("world"));
    o.acumatica_shipments = 4;
    o.netsuite_fulfillments = 0;
    o.schedule = "*/1 * * * * *".into();
    o.http_listen = format!("127.0.0.1:{port}");
    let w = World::start(o).await.unwrap();
    let expected = w
        .acumatica
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
        .count() as u64;
    let log_path = dir.path().join("run.log");
    let mut child = w
        .command(Path::new(BIN))
        .arg("run")
        .env("UPSYNC_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let healthz = format!("http://127.0.0.1:{port}/healthz");
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(&healthz).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < end, "no /healthz within 30 s: {}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until("seeded records shipped", Duration::from_secs(30), || {
        ships(&w) == expected
    })
    .await;

    // 1. A broken config: rejected, the report is logged, the old config keeps running.
    let original = std::fs::read_to_string(&w.config_path).unwrap();
    std::fs::write(&w.config_path, format!("{original}\nbogus_key: 1\n")).unwrap();
    signal(&child, libc::SIGHUP);
    until("the rejection in the log", Duration::from_secs(20), || {
        log().contains("reload rejected")
    })
    .await;
    let text = log();
    assert!(
        text.contains("bogus_key"),
        "the check report names the key: {text}"
    );
    assert!(
        text.contains("running configuration stays in force"),
        "{text}"
    );
    assert_eq!(http.get(&healthz).send().await.unwrap().status(), 200);
    add_record(&w).await;
    until(
        "a new record shipped under the old config",
        Duration::from_secs(20),
        || ships(&w) == expected + 1,
    )
    .await;
    assert!(child.try_wait().unwrap().is_none(), "still running");

    // 2. A valid change: the schedule becomes yearly; the reload is applied.
    let yearly = original.replace("*/1 * * * * *", "0 0 0 1 1 *");
    assert_ne!(yearly, original);
    std::fs::write(&w.config_path, yearly).unwrap();
    signal(&child, libc::SIGHUP);
    until("the reload in the log", Duration::from_secs(40), || {
        log().contains("configuration reloaded")
    })
    .await;
    add_record(&w).await;
    // Under the old every-second schedule this record would ship within ~2 s.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        ships(&w),
        expected + 1,
        "the new (yearly) schedule is in force"
    );
    assert_eq!(http.get(&healthz).send().await.unwrap().status(), 200);

    signal(&child, libc::SIGTERM);
    let end = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}: {}", log());
}

/// Guards issue 16 item 3 (and 4): the 3,000-level nested config delivered by SIGHUP
/// aborted the running daemon (stack overflow, exit 134); an alias bomb or a profile
/// pointed at the master key are refused the same way. For every kind of failure the
/// daemon keeps running on the old configuration, without echoing the key, and `/readyz`
/// stays 200 across a good reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_hostile_configs_never_kills_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut o = WorldOptions::new(&dir.path().join("world"));
    o.acumatica_shipments = 2;
    o.netsuite_fulfillments = 0;
    o.schedule = "*/1 * * * * *".into();
    o.http_listen = format!("127.0.0.1:{port}");
    let w = World::start(o).await.unwrap();
    let log_path = dir.path().join("run.log");
    let mut child = w
        .command(Path::new(BIN))
        .arg("run")
        .env("UPSYNC_LOG", "info")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let status = |path: &'static str| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            http.get(url)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    };
    let end = Instant::now() + Duration::from_secs(30);
    while status("/readyz").await != 200 {
        assert!(Instant::now() < end, "not ready within 30 s: {}", log());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let original = std::fs::read_to_string(&w.config_path).unwrap();
    let key = std::fs::read_to_string(&w.key_path).unwrap();
    let mut bomb = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for win in names.windows(2) {
        let (p, n) = (win[0], win[1]);
        bomb.push_str(&format!(
            "{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    let key_as_profile = original.replace(
        "profile: ",
        &format!("profile: {}\n    # was: ", w.key_path.display()),
    );
    let hostile = [
        ("- ".repeat(3000) + "x\n", "nests deeper"),
        (bomb, "aliases"),
        (key_as_profile, "single text value"),
    ];
    for (n, (text, says)) in hostile.iter().enumerate() {
        std::fs::write(&w.config_path, text).unwrap();
        signal(&child, libc::SIGHUP);
        until(
            &format!("rejection {n} in the log"),
            Duration::from_secs(20),
            || {
                log()
                    .matches("running configuration stays in force")
                    .count()
                    > n
            },
        )
        .await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "the daemon died: {}",
            log()
        );
        assert!(log().contains(says), "{says}: {}", log());
        assert_eq!(status("/healthz").await, 200);
    }
    assert!(!log().contains(key.trim()), "the master key was logged");

    // A good reload: /readyz answers 200 right after it, before any new cycle could run
    // under a schedule of once a year.
    std::fs::write(
        &w.config_path,
        original.replace("*/1 * * * * *", "0 0 0 1 1 *"),
    )
    .unwrap();
    signal(&child, libc::SIGHUP);
    until("the reload in the log", Duration::from_secs(40), || {
        log().contains("configuration reloaded")
    })
    .await;
    assert_eq!(status("/readyz").await, 200, "{}", log());

    signal(&child, libc::SIGTERM);
    let end = Instant::now() + Duration::from_secs(40);
    let st = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(st.success(), "{st:?}: {}", log());
}
