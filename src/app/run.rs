//! `upsync run`: the daemon.
//!
//! Start-up order: configuration (the `check` rules; exit 78 when invalid) → store and
//! master key → assembly (credentials, clients, mappings) → HTTP listener → schedules →
//! READY=1. Then it waits for signals:
//!
//! * SIGTERM/SIGINT: STOPPING=1, stop taking new jobs, let in-flight steps finish within
//!   `SHUTDOWN_BOUND`, flush the store, exit 0. Jobs interrupted anyway resume on the next
//!   start (the ledger says where each one is).
//! * SIGHUP: reload configuration, profiles and mappings. An invalid new configuration is
//!   rejected with the `check` report in the log and the running one keeps going, for
//!   every kind of failure: the file is read and parsed on a thread of its own with a large
//!   stack (after [`crate::config::guard`] bounded its size, depth and aliases), and a
//!   panic anywhere in loading or assembly is caught and reported as a failed reload.
//!   Readiness survives a good reload: connectors whose configuration did not change keep
//!   their state, new or changed ones are checked at once
//!   ([`wiring::carry_readiness`]), not at their next cycle.
//!
//! Tracking and the outbound events worker run together ([`wiring::run_tracking`]) and
//! are restarted together after a reload or a crash of either.
//!
//! The admin console (`console.enabled`) is served on its own address
//! ([`crate::app::console::start`]) with the same limits.
//!
//! The HTTP listener runs with the limits of the `http` section
//! ([`crate::server::listener`]), and so does the checkout rating listener when
//! `checkout.bind` is set ([`crate::checkout`]; built once at start, not reloaded); the
//! open-files soft limit is raised to the hard one at start (`LimitNOFILE=` in the unit
//! sets the hard one).

use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use tokio::signal::unix::{signal, SignalKind};

use crate::app::notify;
use crate::app::wiring::{self, Assembly, Current};
use crate::pipeline::schedule;

/// How long in-flight steps may take to finish on shutdown or reload.
pub const SHUTDOWN_BOUND: Duration = Duration::from_secs(30);

/// `upsync run`: the daemon, on the configuration file `config`.
pub async fn run(config: &std::path::Path) -> anyhow::Result<ExitCode> {
    let cfg = match wiring::load_config(config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let nofile = crate::server::listener::raise_nofile_limit();
    let store = wiring::open_store(&cfg)?;
    // A store that does not decode is not served as healthy (issue 16).
    if let Err(e) = wiring::verify_store_at_start(&store).await {
        eprintln!("upsync: {e}");
        return Ok(ExitCode::FAILURE);
    }
    let assembly = Arc::new(wiring::assemble(cfg, store.clone()).await?);
    let listen = assembly.config.http.listen.clone();
    wiring::warn_public_listen(&assembly.config.http);
    let current: Current = Arc::new(RwLock::new(assembly.clone()));

    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut state = wiring::server_state(&current);
    // The checkout rating endpoint (off unless `checkout.bind`): its own listener.
    let (stop_checkout, checkout_stopped) = tokio::sync::oneshot::channel::<()>();
    let checkout_server =
        match wiring::build_checkout(&assembly.config, &store, &assembly.accounts)? {
            Some((checkout, token)) => {
                wiring::checkout_metrics(&mut state, &checkout);
                Some(
                    wiring::serve_checkout(&assembly.config, checkout, token, nofile, async {
                        let _ = checkout_stopped.await;
                    })
                    .await?,
                )
            }
            None => None,
        };
    let limits =
        crate::server::Limits::from_config(&assembly.config.http).fitted_to_fd_limit(nofile);
    let stats = state.listener.clone();
    let extra = assembly
        .webhook
        .clone()
        .merge(wiring::push_router(&current));
    let app = crate::server::router(state, Some(extra));
    let server = tokio::spawn(crate::server::serve_with(
        listener,
        app,
        limits,
        stats,
        async {
            let _ = http_stopped.await;
        },
    ));

    // The admin console, on its own address (`console.*`); it follows reloads through
    // `current`, its address and token are read once.
    let console = if assembly.config.console.enabled {
        let c = crate::app::console::start(&current, None).await?;
        tracing::info!(console = %format!("http://{}/console/", c.addr), "admin console listening");
        Some(c)
    } else {
        None
    };

    let watchdog = notify::watchdog_interval().map(|d| (d, notify::watchdog as fn()));
    let mut sched =
        schedule::start(assembly.pipeline.clone(), &assembly.schedules, watchdog).await?;
    tracing::info!(
        connectors = assembly.schedules.len(),
        listen = %listen,
        "upsync is running"
    );
    notify::ready(&format!("running {} connectors", assembly.schedules.len()));

    // Several daemons on one database: heartbeat, live daemons, UPS quotas divided.
    let (stop_cluster, cluster_stop) = tokio::sync::watch::channel(false);
    let cluster = assembly.pipeline.cluster().cloned().map(|m| {
        let current = current.clone();
        tokio::spawn(m.run(
            move |n| {
                let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                for c in a.accounts.clients() {
                    c.client.set_quota_share(n);
                }
            },
            cluster_stop,
        ))
    });
    let retention = tokio::spawn(retention_loop(current.clone()));
    let reminders = tokio::spawn(reminder_loop(current.clone()));
    let sealing = tokio::spawn(seal_loop(store.clone()));
    let (stop_tracking, tracking_stop) = tokio::sync::watch::channel(false);
    let mut tracking = tokio::spawn(wiring::run_tracking(
        assembly.clone(),
        tracking_stop.clone(),
    ));

    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            r = &mut tracking => {
                // The tracker only returns when told to stop: anything else is a crash
                // (a panic), which must not leave tracking silently stopped.
                tracing::error!(
                    panicked = r.is_err(),
                    "the tracker stopped unexpectedly; restarting it in 5 s"
                );
                let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                let stop = stop_tracking.subscribe();
                tracking = tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    wiring::run_tracking(a, stop).await
                });
            }
            _ = hup.recv() => {
                notify::reloading();
                use futures::FutureExt;
                let attempt = std::panic::AssertUnwindSafe(reload(config, &current, &store, &mut sched, watchdog))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("reload panicked (a bug: please report it); the running configuration stays in force")));
                match attempt {
                    Ok(()) => {
                        // The new tracker takes over (the webhook keeps feeding the same inbox).
                        let _ = stop_tracking.send(true);
                        let _ = tokio::time::timeout(SHUTDOWN_BOUND, &mut tracking).await;
                        let _ = stop_tracking.send(false);
                        let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
                        tracking = tokio::spawn(wiring::run_tracking(a, stop_tracking.subscribe()));
                        tracing::info!("configuration reloaded")
                    }
                    Err(e) => tracing::error!(error = %e, "reload failed; the running configuration stays in force"),
                }
                let n = current.read().unwrap_or_else(|e| e.into_inner()).schedules.len();
                notify::reloaded(&format!("running {n} connectors"));
            }
        }
    }

    retention.abort();
    reminders.abort();
    sealing.abort();
    let _ = stop_tracking.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_BOUND, tracking).await;
    tracing::info!("shutting down: no new jobs; in-flight steps finish");
    notify::stopping();
    let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
    a.pipeline.stop();
    let _ = sched.shutdown().await;
    if !a.pipeline.drain(SHUTDOWN_BOUND).await {
        tracing::warn!("in-flight steps did not finish in time; they resume on the next start");
    }
    // Sessions kept between cycles go back to the ERP's licence now.
    for c in a.pipeline.connectors() {
        c.source.close().await;
    }
    store.flush_async().await?;
    // Leave the cluster last: the leases of the steps that just finished are released.
    let _ = stop_cluster.send(true);
    if let Some(c) = cluster {
        let _ = tokio::time::timeout(Duration::from_secs(5), c).await;
    }
    let _ = stop_http.send(());
    if let Some(c) = console {
        c.stop().await;
    }
    let _ = stop_checkout.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    if let Some(s) = checkout_server {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// How often the store is sealed while the daemon runs ([`crate::store::Store::seal`]):
/// damage in what sled wrote before the last seal is detected at the next start; damage
/// in the last `SEAL_EVERY` is indistinguishable from a crash during those writes.
const SEAL_EVERY: Duration = Duration::from_secs(10);

async fn seal_loop(store: Arc<crate::store::Store>) {
    let mut tick = tokio::time::interval(SEAL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.seal()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, code = e.code(), "sealing the store failed"),
            Err(_) => {}
        }
    }
}

/// Hourly: prune finished jobs older than `pipeline.retention_days` (default 120, UPS's
/// tracking retention), so the store does not grow forever.
/// Credential expiry reminders ([`crate::app::credentials::warn_expiring`]): at start and
/// every 6 hours, for the entries the configuration in force uses.
async fn reminder_loop(current: Current) {
    let mut every = tokio::time::interval(Duration::from_secs(6 * 3600));
    loop {
        every.tick().await;
        let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        crate::app::credentials::warn_expiring(&a.config, &a.store, a.pipeline.now());
    }
}

async fn retention_loop(current: Current) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let a = current.read().unwrap_or_else(|e| e.into_inner()).clone();
        let days = a.config.pipeline.retention_days as i64;
        let before = chrono::Utc::now() - chrono::Duration::days(days);
        match a.pipeline.ledger().prune(before) {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, retention_days = days, "pruned finished jobs"),
            Err(e) => tracing::warn!(error = %e, "retention pruning failed; will retry"),
        }
    }
}

async fn reload(
    config: &std::path::Path,
    current: &Current,
    store: &Arc<crate::store::Store>,
    sched: &mut tokio_cron_scheduler::JobScheduler,
    watchdog: Option<(Duration, fn())>,
) -> anyhow::Result<()> {
    let cfg = match load_on_big_stack(config).await? {
        Ok(c) => c,
        Err(report) => {
            for p in &report.problems {
                tracing::error!(problem = %p, "reload rejected");
            }
            anyhow::bail!("{}", report.summary());
        }
    };
    let old = current.read().unwrap_or_else(|e| e.into_inner()).clone();
    if cfg.console != old.config.console {
        tracing::warn!("console settings changed; they take effect after a restart");
    }
    if cfg.http.listen != old.config.http.listen {
        tracing::warn!("http.listen changed; the new address takes effect after a restart");
    }
    let new: Arc<Assembly> = Arc::new(wiring::assemble(cfg, store.clone()).await?);
    wiring::carry_readiness(&old, &new).await;
    // Switch: stop the old schedules, let their in-flight steps finish, start the new ones.
    old.pipeline.stop();
    let _ = sched.shutdown().await;
    old.pipeline.drain(SHUTDOWN_BOUND).await;
    for c in old.pipeline.connectors() {
        c.source.close().await;
    }
    *sched = schedule::start(new.pipeline.clone(), &new.schedules, watchdog).await?;
    *current.write().unwrap_or_else(|e| e.into_inner()) = new;
    Ok(())
}

/// Stack of the thread that loads a configuration on reload: even a parser that recursed
/// past [`crate::config::guard`]'s bounds would not overflow it.
const LOAD_STACK_BYTES: usize = 64 * 1024 * 1024;

/// [`crate::config::load`] on a thread of its own with a large stack, panics caught: a
/// reload can fail, never abort the daemon.
async fn load_on_big_stack(
    path: &std::path::Path,
) -> anyhow::Result<Result<crate::config::Config, crate::config::CheckReport>> {
    let path = path.to_path_buf();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("upsync-reload".into())
        .stack_size(LOAD_STACK_BYTES)
        .spawn(move || {
            let r = std::panic::catch_unwind(|| crate::config::load(&path));
            let _ = tx.send(r);
        })
        .context("cannot start the configuration loader thread")?;
    match rx.await {
        Ok(Ok(r)) => Ok(r),
        _ => anyhow::bail!(
            "loading the new configuration panicked (a bug: please report it); the running configuration stays in force"
        ),
    }
}
