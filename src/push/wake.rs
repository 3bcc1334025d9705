//! The wake loops: one task per connector that takes pushes, turning wake-ups into cycles.
//!
//! A push sets the connector's `pending` flag and notifies its loop. The loop waits until
//! `min_gap` has passed since its last cycle started, takes the flag (so every push that
//! arrived meanwhile is served by this one cycle) and runs
//! [`Pipeline::run_cycle_queued`]: after a cycle already running (scheduled or not), never
//! beside it. A push arriving while that cycle runs sets the flag again, which gives
//! exactly one follow-up cycle. A cycle that failed to read the ERP keeps its hints; they
//! wake the connector again at the next start, and the schedule retries meanwhile.
//!
//! Must never: run cycles back to back faster than `min_gap`; keep going after `stop`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::time::Instant;

use super::{Entry, Push};

impl Push {
    /// Run every connector's wake loop until `stop` turns true (or its sender is gone).
    /// Connectors with hints left from before (a crash) are woken at once.
    pub async fn run(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) {
        let mut loops = tokio::task::JoinSet::new();
        for name in self.entries.keys() {
            if self.pending_hints(name) > 0 {
                self.wake(name);
            }
            let (me, name, stop) = (self.clone(), name.clone(), stop.clone());
            loops.spawn(async move { me.wake_loop(&name, stop).await });
        }
        while loops.join_next().await.is_some() {}
    }

    async fn wake_loop(&self, name: &str, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(e) = self.entries.get(name) else {
            return;
        };
        let mut last_start: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = e.wake.notify.notified() => {}
                _ = stopped(&mut stop) => return,
            }
            if let Some(t) = last_start {
                tokio::select! {
                    _ = tokio::time::sleep_until(t + e.settings.min_gap) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
            if !e.wake.pending.swap(false, Ordering::SeqCst) {
                continue;
            }
            if self.pipeline.is_stopping() || *stop.borrow() {
                return;
            }
            last_start = Some(Instant::now());
            self.cycle(name, e).await;
        }
    }

    /// One push-woken cycle of `name`; its hints are settled when it read the ERP.
    async fn cycle(&self, name: &str, e: &Entry) {
        let Ok(conn) = self.pipeline.connector(name).cloned() else {
            return;
        };
        let started = self.clock.now();
        e.stats.cycles.fetch_add(1, Ordering::Relaxed);
        match self.pipeline.run_cycle_queued(&conn).await {
            Ok(r) => {
                tracing::info!(
                    connector = %name,
                    read = r.records_read,
                    new_jobs = r.jobs_created,
                    processed = r.jobs_processed,
                    paused = r.paused.is_some(),
                    "push-woken cycle done"
                );
                if r.paused.is_none() && r.source_error.is_none() {
                    self.settle_hints(name, started);
                }
            }
            Err(err) => {
                tracing::error!(connector = %name, error = %err, "push-woken cycle failed")
            }
        }
    }
}

/// Resolves when `stop` is true or its sender is gone.
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}
