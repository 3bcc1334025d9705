//! The fence of the work running in this task: a job's lease (or a connector's, while it
//! polls) is set around the work with [`with_fence`], and the ledger's state writes read
//! it ([`current_fence`]) to write through `apply_batch_fenced`. Nothing set (the sled
//! backend, commands, tests) = unfenced writes, as before issue 22.
//!
//! A task-local rather than a parameter: the ~50 `Ledger::save` call sites of the steps
//! stay as they are, and a job's steps all run in the job's own task (`process_due` spawns
//! one per job, nothing below it spawns).

use std::future::Future;

use crate::store::Fence;

use super::Lease;

tokio::task_local! {
    static FENCE: Fence;
}

impl Lease {
    /// The fence writes under this lease carry.
    pub fn as_fence(&self) -> Fence {
        Fence {
            lease: self.name.clone(),
            owner: self.owner.clone(),
            token: self.fence,
        }
    }
}

/// Run `f` with `fence` as the current task's fence.
pub async fn with_fence<F: Future>(fence: Fence, f: F) -> F::Output {
    FENCE.scope(fence, f).await
}

/// The fence of the work running in this task, if any.
pub fn current_fence() -> Option<Fence> {
    FENCE.try_with(|f| f.clone()).ok()
}
