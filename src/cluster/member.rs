//! [`Member`]: this daemon as a member of the cluster. Its loop ([`Member::run`]) beats
//! the heartbeat every third of the lease time, counts the live daemons (heartbeats within
//! the lease time) and hands the count to whoever divides the UPS quota, prunes old lease
//! and daemon rows every 30th beat, and keeps what an operator sees (`/readyz`,
//! `/metrics`): live daemons, leases held, the last error.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::Coordinator;

/// This daemon in the cluster: its coordinator and what the operator sees.
pub struct Member {
    coordinator: Arc<dyn Coordinator>,
    live: AtomicU32,
    held: Mutex<Vec<String>>,
    last_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Member")
            .field("daemon", &self.coordinator.daemon_id())
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl Member {
    pub fn new(coordinator: Arc<dyn Coordinator>) -> Member {
        Member {
            coordinator,
            live: AtomicU32::new(1),
            held: Mutex::new(Vec::new()),
            last_error: Mutex::new(None),
        }
    }

    pub fn coordinator(&self) -> &Arc<dyn Coordinator> {
        &self.coordinator
    }

    /// Live daemons at the last heartbeat (1 alone).
    pub fn live_daemons(&self) -> u32 {
        self.live.load(Ordering::Relaxed)
    }

    /// Names of the leases held at the last heartbeat.
    pub fn leases_held(&self) -> Vec<String> {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `/readyz`: the lease database answered the last heartbeat.
    pub fn readiness(&self) -> Result<(), String> {
        match &*self.last_error.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// One heartbeat: beat, count the live daemons, list the leases held. Returns the live
    /// count.
    pub async fn beat(&self) -> u32 {
        let c = &self.coordinator;
        let r = async {
            c.heartbeat().await?;
            let n = c.live_daemons().await?;
            let held = c.held().await?;
            Ok::<_, super::ClusterError>((n, held))
        }
        .await;
        match r {
            Ok((n, held)) => {
                self.live.store(n, Ordering::Relaxed);
                *self.held.lock().unwrap_or_else(|e| e.into_inner()) =
                    held.into_iter().map(|l| l.name).collect();
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster heartbeat failed");
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
            }
        }
        self.live_daemons()
    }

    /// Beat until `stop`, calling `on_share(live daemons)` after every beat (the count
    /// changes when a daemon dies or joins); on stop, leave the cluster (leases released).
    pub async fn run(
        self: Arc<Self>,
        on_share: impl Fn(u32) + Send,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        if !self.coordinator.is_shared() {
            return;
        }
        let every = self.coordinator.lease_duration() / 3;
        let mut last = 0;
        let mut beats: u64 = 0;
        loop {
            let n = self.beat().await;
            if n != last {
                tracing::info!(
                    daemon = %self.coordinator.daemon_id(),
                    live_daemons = n,
                    "UPS quotas divided among the live daemons"
                );
                last = n;
            }
            // Every beat: clients rebuilt by a reload start undivided.
            on_share(n);
            // Old rows (leases of finished jobs, daemons killed long ago) go, now and then.
            beats += 1;
            if beats % 30 == 1 {
                if let Err(e) = self.coordinator.prune().await {
                    tracing::debug!(error = %e, "could not prune old lease rows; trying later");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        if let Err(e) = self.coordinator.leave().await {
            tracing::warn!(error = %e, "could not leave the cluster; its leases expire by themselves");
        }
    }
}
