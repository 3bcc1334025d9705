//! `upsync bench --scenario hostile` (issue 16): the HTTP listener of the daemon, with its
//! default limits, under hostile clients on loopback for `--seconds` (default 30):
//!
//! * `IDLE` (2,000) connections that never send a byte, re-opened whenever the server
//!   closes them (header-read/idle timeout), so about 2,000 are held the whole time;
//! * `SLOW` (50) slow-header (slowloris) connections sending one header line a second;
//! * a flood of bad webhook calls from `FLOODERS` tasks (no credential, a wrong one, a body
//!   that is not an event, one too large);
//! * meanwhile a well-formed Track Alert sender (v1 credential) posts an event every
//!   100 ms and a prober asks `/healthz` every 100 ms.
//!
//! Prints one JSON line: `healthz_ok`, `healthz_failed` (must be 0), `events_sent`,
//! `events_accepted` (must equal sent), `bad_requests` by answer, `idle_held_max`,
//! `slow_held_max`, `max_open_fds` (of this process, which holds **both ends** of every
//! connection), `log_lines` (lines the process logged during the run: must stay ≤ 100),
//! the listener's counters, and `store_verify_*` (a full verification of the store the
//! webhook wrote, with extra records to make it sizeable: `--shipments`, default 20,000).
//!
//! Loopback only (127.0.0.1), bounded in time and count; it stops by itself.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::server::{Limits, ListenerStats, Readiness, ServerState};
use crate::store::{Store, Tree};
use crate::tracking::{
    CarrierError, Destination, SubscribeOutcome, TrackOutcome, Tracker, TrackingCarrier,
    TrackingSettings, WebhookAuth, TRACK_ALERT_PATH,
};

const IDLE: usize = 2_000;
const SLOW: usize = 50;
const FLOODERS: usize = 8;
/// Upper bound on bad requests, whatever the duration.
const MAX_BAD_REQUESTS: u64 = 2_000_000;
const SECRET: &str = "hostile-bench-v1-credential";

/// Tracking is not exercised here: the carrier is never called.
struct NoCarrier;

#[async_trait::async_trait]
impl TrackingCarrier for NoCarrier {
    async fn track(&self, _tn: &str) -> Result<TrackOutcome, CarrierError> {
        Ok(TrackOutcome::NotYet)
    }
    async fn subscribe(
        &self,
        numbers: &[String],
        _d: Option<&Destination>,
    ) -> Result<SubscribeOutcome, CarrierError> {
        Ok(SubscribeOutcome {
            valid: numbers.to_vec(),
            invalid: Vec::new(),
        })
    }
}

struct Ready;
impl Readiness for Ready {
    fn check(&self) -> Vec<(String, Result<(), String>)> {
        vec![("bench".into(), Ok(()))]
    }
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(0)
}

fn event(n: u64) -> String {
    json!({
        "trackingNumber": format!("1Z204W4R{:010}", n),
        "localActivityDate": "20240423",
        "localActivityTime": "095004",
        "activityLocation": {"city": "CHARLOTTE", "stateProvince": "NC", "postalCode": "28209", "country": "US"},
        "activityStatus": {"type": "I", "code": "DP", "description": "Departed from Facility", "descriptionCode": "005"},
        "scheduledDeliveryDate": "20240424",
        "actualDeliveryDate": "",
        "actualDeliveryTime": "",
        "gmtActivityDate": "20240423",
        "gmtActivityTime": "135004",
        "gmtOffset": "-04.00",
        "deliveryStartTime": "",
        "deliveryEndTime": "",
        "deliveryTimeDescription": "",
        "receivedBy": ""
    })
    .to_string()
}

/// Keep one idle connection open until `end`, re-opening it when the server closes it.
async fn hold_idle(
    addr: std::net::SocketAddr,
    end: Instant,
    held: Arc<AtomicU64>,
    max: Arc<AtomicU64>,
) {
    while Instant::now() < end {
        let Ok(Ok(mut s)) = tokio::time::timeout_at(end, TcpStream::connect(addr)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let now = held.fetch_add(1, Relaxed) + 1;
        max.fetch_max(now, Relaxed);
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout_at(end, s.read(&mut buf)).await;
        held.fetch_sub(1, Relaxed);
    }
}

/// A slow-header client: one header line a second, re-opened when closed.
async fn hold_slow(
    addr: std::net::SocketAddr,
    end: Instant,
    held: Arc<AtomicU64>,
    max: Arc<AtomicU64>,
) {
    while Instant::now() < end {
        let Ok(Ok(mut s)) = tokio::time::timeout_at(end, TcpStream::connect(addr)).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let now = held.fetch_add(1, Relaxed) + 1;
        max.fetch_max(now, Relaxed);
        let mut line =
            format!("POST {TRACK_ALERT_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
        let mut buf = [0u8; 256];
        while Instant::now() < end {
            if s.write_all(&line).await.is_err() {
                break;
            }
            line = b"X-Slow: 1\r\n".to_vec();
            // Closed by the server (EOF or an answer then EOF) ends this connection.
            match tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(_)) => break,
                Err(_) => {}
            }
        }
        held.fetch_sub(1, Relaxed);
    }
}

pub async fn run(args: &super::BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let seconds = args.seconds.unwrap_or(30);
    let nofile = crate::server::listener::raise_nofile_limit();
    let store = Arc::new(Store::open(&dir.join("state"), None)?);
    let tracker = Tracker::new(
        store.clone(),
        Arc::new(NoCarrier),
        TrackingSettings::default(),
        crate::pipeline::engine::system_clock(),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let webhook = crate::tracking::router(tracker.webhook_state(WebhookAuth {
        v1_credential: Some(zeroize::Zeroizing::new(SECRET.into())),
        v2_client: None,
    }));
    let stats = Arc::new(ListenerStats::default());
    let app = crate::server::router(
        ServerState {
            metrics: Arc::new(crate::server::metrics::Metrics::new(vec![])),
            readiness: Arc::new(Ready),
            listener: stats.clone(),
            backup: None,
        },
        Some(webhook),
    );
    let limits = Limits::default().fitted_to_fd_limit(nofile);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_with(
        listener,
        app,
        limits,
        stats.clone(),
        async {
            let _ = stopped.await;
        },
    ));

    let logged_before = crate::app::logging::lines_logged();
    let fds_before = open_fds();
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();

    let idle_held = Arc::new(AtomicU64::new(0));
    let idle_max = Arc::new(AtomicU64::new(0));
    for _ in 0..IDLE {
        tasks.spawn(hold_idle(addr, end, idle_held.clone(), idle_max.clone()));
    }
    let slow_held = Arc::new(AtomicU64::new(0));
    let slow_max = Arc::new(AtomicU64::new(0));
    for _ in 0..SLOW {
        tasks.spawn(hold_slow(addr, end, slow_held.clone(), slow_max.clone()));
    }

    // The flood of bad webhook calls.
    let bad: Arc<[AtomicU64; 5]> = Arc::new(Default::default()); // 401, 400, 413, 503, other
    let bad_total = Arc::new(AtomicU64::new(0));
    for f in 0..FLOODERS {
        let bad = bad.clone();
        let total = bad_total.clone();
        tasks.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            let url = format!("http://{addr}{TRACK_ALERT_PATH}");
            let big = "x".repeat(2 * 1024 * 1024);
            let mut i = f as u64;
            while Instant::now() < end && total.fetch_add(1, Relaxed) < MAX_BAD_REQUESTS {
                let req = match i % 4 {
                    0 => http.post(&url).body("{}"),
                    1 => http.post(&url).header("credential", "wrong").body("{}"),
                    2 => http
                        .post(&url)
                        .header("credential", SECRET)
                        .body("{not an event"),
                    _ => http
                        .post(&url)
                        .header("credential", SECRET)
                        .body(big.clone()),
                };
                i += 1;
                let slot = match req.send().await.map(|r| r.status().as_u16()) {
                    Ok(401) => 0,
                    Ok(400) => 1,
                    Ok(413) => 2,
                    Ok(503) => 3,
                    _ => 4,
                };
                bad[slot].fetch_add(1, Relaxed);
            }
        });
    }

    // The well-formed Track Alert sender and the /healthz prober.
    let sent = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    {
        let (sent, accepted) = (sent.clone(), accepted.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client");
            let url = format!("http://{addr}{TRACK_ALERT_PATH}");
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut n = 0u64;
            while Instant::now() < end {
                tick.tick().await;
                n += 1;
                sent.fetch_add(1, Relaxed);
                let r = http
                    .post(&url)
                    .header("credential", SECRET)
                    .header("content-type", "application/json")
                    .body(event(n))
                    .send()
                    .await;
                if r.is_ok_and(|r| r.status().as_u16() == 200) {
                    accepted.fetch_add(1, Relaxed);
                }
            }
        });
    }
    let healthz_ok = Arc::new(AtomicU64::new(0));
    let healthz_failed = Arc::new(AtomicU64::new(0));
    {
        let (ok, failed) = (healthz_ok.clone(), healthz_failed.clone());
        tasks.spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            let url = format!("http://{addr}/healthz");
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < end {
                tick.tick().await;
                match http.get(&url).send().await {
                    Ok(r) if r.status().as_u16() == 200 => ok.fetch_add(1, Relaxed),
                    _ => failed.fetch_add(1, Relaxed),
                };
            }
        });
    }
    let max_fds = Arc::new(AtomicU64::new(0));
    {
        let max_fds = max_fds.clone();
        tasks.spawn(async move {
            while Instant::now() < end {
                max_fds.fetch_max(open_fds(), Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    // Every task ends by `end`; a bound on top in case one is stuck in a connect.
    let _ = tokio::time::timeout(Duration::from_secs(seconds + 30), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    let elapsed = started.elapsed().as_secs_f64();
    let log_lines = crate::app::logging::lines_logged() - logged_before;
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;

    // The store verification figure: the events stored plus filler records.
    let filler = args.shipments.unwrap_or(20_000);
    for i in 0..filler {
        store.put_json(
            Tree::Cursors,
            &format!("bench/{i:08}"),
            &json!({"cursor": i, "pad": "p".repeat(100)}),
        )?;
    }
    store.flush()?;
    let report = store.verify_with(
        crate::store::VERIFY_BOUND,
        &crate::app::wiring::ledger_decoder,
    )?;

    let v = |a: &AtomicU64| a.load(Relaxed);
    let mut line = Map::new();
    line.insert("scenario".into(), json!("hostile"));
    line.insert("seconds".into(), json!(super::round(elapsed, 1)));
    line.insert("healthz_ok".into(), json!(v(&healthz_ok)));
    line.insert("healthz_failed".into(), json!(v(&healthz_failed)));
    line.insert("events_sent".into(), json!(v(&sent)));
    line.insert("events_accepted".into(), json!(v(&accepted)));
    line.insert(
        "bad_requests".into(),
        json!({
            "401": v(&bad[0]), "400": v(&bad[1]), "413": v(&bad[2]), "503": v(&bad[3]), "other": v(&bad[4]),
        }),
    );
    line.insert("idle_connections".into(), json!(IDLE));
    line.insert("idle_held_max".into(), json!(v(&idle_max)));
    line.insert("slow_header_connections".into(), json!(SLOW));
    line.insert("slow_held_max".into(), json!(v(&slow_max)));
    line.insert("max_open_fds".into(), json!(v(&max_fds)));
    line.insert("fds_at_start".into(), json!(fds_before));
    line.insert("nofile_limit".into(), json!(nofile));
    line.insert("max_connections".into(), json!(limits.max_connections));
    line.insert("log_lines".into(), json!(log_lines));
    line.insert(
        "listener".into(),
        json!({
            "connections_accepted": v(&stats.connections_accepted),
            "connections_refused": v(&stats.connections_refused),
            "accept_errors": v(&stats.accept_errors),
            "requests_shed": v(&stats.requests_shed),
            "requests_timed_out": v(&stats.requests_timed_out),
        }),
    );
    line.insert("store_verify_records".into(), json!(report.records));
    line.insert(
        "store_verify_ms".into(),
        json!(report.elapsed.as_millis() as u64),
    );
    line.insert(
        "ok".into(),
        json!(
            v(&healthz_failed) == 0
                && v(&sent) == v(&accepted)
                && log_lines <= 100
                && v(&healthz_ok) > 0
        ),
    );
    Ok(line)
}
