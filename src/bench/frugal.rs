//! Scenario `frugal`: the real binary (`upsync run`) as a child process; its steady-state
//! RSS, its CPU while idle between schedules, token requests vs the minimum.

use super::*;

/// CPU seconds (user + system) and RSS/HWM (MiB) of another process.
pub(super) fn proc_figures(pid: u32) -> Option<(f64, f64, f64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // fields after ")": state(0) ... utime(11) stime(12)
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |field: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    Some((ticks / hz.max(1.0), kib("VmRSS:"), kib("VmHWM:")))
}

pub(super) async fn frugal(args: &BenchArgs, dir: &Path) -> anyhow::Result<Map<String, Value>> {
    let busy = args.seconds.unwrap_or(40);
    let idle = 20u64;
    let ttl = args.token_ttl.unwrap_or(10);
    let poll = 5u64;
    let mut o = world_options(args, dir, 50);
    o.acumatica_shipments = 50;
    o.netsuite_fulfillments = 0;
    o.ups_token_ttl_seconds = ttl;
    o.schedule = format!("*/{poll} * * * * *");
    let w = World::start(o).await?;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::from(w.command(&exe))
        .arg("run")
        .env("UPSYNC_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start `upsync run`")?;
    let pid = child.id().context("child has no pid")?;
    let acu = w.acumatica.as_ref().context("no Acumatica simulator")?;
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut rss_samples = Vec::new();
    // Busy phase: a release every 2 s keeps UPS work going for `busy` seconds.
    while t0.elapsed() < Duration::from_secs(busy) {
        release_acumatica(&http, &acu.base_url).await?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        if t0.elapsed() > Duration::from_secs(10) {
            if let Some((_, rss, _)) = proc_figures(pid) {
                rss_samples.push(rss);
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(poll + 2)).await;
    let busy_wall = t0.elapsed();
    let (cpu_busy_end, _, _) = proc_figures(pid).context("daemon exited early")?;
    // Idle phase: nothing to do; the daemon only polls on its schedule.
    tokio::time::sleep(Duration::from_secs(idle)).await;
    let (cpu_idle_end, rss, hwm) = proc_figures(pid).context("daemon exited early")?;
    rss_samples.push(rss);
    // SAFETY: signalling our own child by pid.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), child.wait()).await;
    let ups = w.ups.stats();
    let tokens = ups.get("token.issued").copied().unwrap_or(0);
    let min_tokens = busy_wall.as_secs_f64() / ttl as f64;
    let mut rss_sorted = rss_samples.clone();
    let audit = audit(&w);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("frugal"));
    m.insert("shipments".into(), json!(audit.written_back));
    m.insert("lost".into(), json!(audit.lost));
    m.insert("duplicates".into(), json!(audit.duplicates));
    m.insert("daemon_cpu_seconds".into(), json!(round(cpu_idle_end, 3)));
    m.insert(
        "cpu_ms_per_shipment".into(),
        json!(round(
            cpu_busy_end * 1000.0 / audit.written_back.max(1) as f64,
            3
        )),
    );
    m.insert(
        "idle_cpu_ms_per_second".into(),
        json!(round(
            (cpu_idle_end - cpu_busy_end) * 1000.0 / idle as f64,
            3
        )),
    );
    m.insert(
        "steady_rss_mb_median".into(),
        json!(round(
            measure::percentile(&mut rss_sorted, 50.0).unwrap_or(0.0),
            1
        )),
    );
    m.insert("steady_rss_mb_end".into(), json!(round(rss, 1)));
    m.insert("peak_rss_mb".into(), json!(round(hwm, 1)));
    m.insert("target_rss_mb".into(), json!(50));
    m.insert("token_ttl_seconds".into(), json!(ttl));
    m.insert(
        "busy_seconds".into(),
        json!(round(busy_wall.as_secs_f64(), 1)),
    );
    m.insert("token_requests".into(), json!(tokens));
    m.insert("token_requests_minimum".into(), json!(min_tokens.ceil()));
    m.insert("ups_requests".into(), Value::Object(sim_ops(&ups)));
    m.insert("erp_requests".into(), json!(erp_requests(&w)));
    m.insert("measures".into(), json!("the daemon process only"));
    Ok(m)
}
