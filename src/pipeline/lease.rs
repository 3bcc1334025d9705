//! Several daemons on one database (issue 22, docs/cluster.md): the engine's side of the
//! [`Coordinator`].
//!
//! - A job is worked only under its lease (`job:<id>`): claimed when the job is due (a
//!   job another daemon holds is skipped this cycle), renewed while its steps run, released
//!   at the end. Every ledger write of the job carries the lease's fence (the task-local
//!   set by [`crate::cluster::with_fence`], read by `Ledger::save`), so a daemon whose
//!   lease was taken is refused at its next write (`store_fenced`), logs it and stops:
//!   nothing it would do after that write (a Ship, an ERP write-back) happens.
//! - A connector's polling (reading the ERP, the vanished check) runs on one daemon at a
//!   time (`connector:<name>`); the others stand by and still work due jobs.
//! - A job a dead daemon left in doubt (`shipping`) is claimed once its lease expires and
//!   goes through `steps/reconcile.rs`, exactly as after a crash.
//!
//! With no coordinator set, or the [`crate::cluster::Local`] one (sled), none of this
//! runs: the single daemon's behaviour is unchanged.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::{Connector, PipelineCore, PipelineError};
use crate::cluster::{Coordinator, Lease, Member};
use crate::store::StoreError;

/// What [`PipelineCore::process_job_leased`] came to.
#[derive(Debug)]
pub(super) enum Claimed {
    /// Worked under its lease, or not due (`process_job`'s answer: whether it moved).
    Worked(bool),
    /// Another daemon holds the job's lease: not worked now, worth trying again.
    Held,
}

/// Whether a job or poll was refused at a write because its lease passed to another daemon.
pub(super) fn is_fenced(e: &PipelineError) -> bool {
    matches!(e, PipelineError::Store(StoreError::Fenced { .. }))
}

impl PipelineCore {
    /// Share the work with other daemons as `m` (set once, before the first cycle).
    pub fn set_cluster(&self, m: Arc<Member>) {
        let _ = self.cluster.set(m);
    }

    /// This daemon's membership of a cluster, if set.
    pub fn cluster(&self) -> Option<&Arc<Member>> {
        self.cluster.get()
    }

    /// The coordinator ([`crate::cluster::Local`] for a daemon alone).
    pub fn coordinator(&self) -> Arc<dyn Coordinator> {
        self.shared_coordinator()
            .cloned()
            .unwrap_or_else(|| Arc::new(crate::cluster::Local::new()))
    }

    /// The coordinator, when the work is shared (`None` for a single daemon).
    pub fn shared_coordinator(&self) -> Option<&Arc<dyn Coordinator>> {
        self.cluster
            .get()
            .map(|m| m.coordinator())
            .filter(|c| c.is_shared())
    }

    /// Run `f` (a connector's polling) only while this daemon holds the connector's lease,
    /// its writes fenced by it. `None` when another daemon polls (stand by).
    pub(super) async fn as_poller<F, T>(&self, conn: &Connector, f: F) -> Option<T>
    where
        F: Future<Output = T>,
    {
        let Some(c) = self.shared_coordinator() else {
            return Some(f.await);
        };
        match c.acquire(&Lease::connector(&conn.name)).await {
            Ok(Some(l)) => Some(crate::cluster::with_fence(l.as_fence(), f).await),
            Ok(None) => {
                tracing::debug!(connector = %conn.name, "another daemon polls this connector; standing by");
                None
            }
            Err(e) => {
                tracing::warn!(connector = %conn.name, error = %e, "cannot claim the connector's lease; not polling this cycle");
                None
            }
        }
    }

    /// [`PipelineCore::process_job`] under the job's lease (see the module doc); without a
    /// shared coordinator, `process_job` itself.
    pub(super) async fn process_job_leased(
        self: &Arc<Self>,
        conn: &Arc<Connector>,
        id: &str,
    ) -> Result<Claimed, PipelineError> {
        let Some(c) = self.shared_coordinator().cloned() else {
            return self.process_job(conn, id).await.map(Claimed::Worked);
        };
        // Not due: no lease (a job waiting for its retry costs one read, not a claim).
        match self.ledger.get_lean(id)? {
            Some(job) if job.is_due(self.now()) => {}
            _ => return Ok(Claimed::Worked(false)),
        }
        let lease = match c.acquire(&Lease::job(id)).await {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(Claimed::Held),
            Err(e) => {
                tracing::warn!(job = %id, error = %e, "cannot claim the job's lease; it waits for the next cycle");
                return Ok(Claimed::Worked(false));
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let renewer = tokio::spawn(renew_until(c.clone(), lease.clone(), stopped));
        let r = crate::cluster::with_fence(lease.as_fence(), self.process_job(conn, id)).await;
        let _ = stop.send(());
        let _ = renewer.await;
        let _ = c.release(&lease).await;
        match r {
            Err(e) if is_fenced(&e) => {
                self.stats.lease_lost.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(job = %id, event = "lease_lost", error = %e, "another daemon took this job over; stopped at the refused write");
                Ok(Claimed::Worked(false))
            }
            r => r.map(Claimed::Worked),
        }
    }
}

/// Renew `lease` every fifth of the lease time (`Coordinator::renew_interval`) until told
/// to stop or it is lost.
async fn renew_until(
    c: Arc<dyn Coordinator>,
    mut lease: Lease,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let every = c.renew_interval();
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(every) => {}
        }
        match c.renew(&lease).await {
            Ok(Some(l)) => lease = l,
            Ok(None) => {
                tracing::warn!(lease = %lease.name, "lease lost (expired and taken); the next write is refused");
                return;
            }
            Err(e) => {
                tracing::warn!(lease = %lease.name, error = %e, "cannot renew a lease; trying again")
            }
        }
    }
}
