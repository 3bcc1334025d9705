//! Read-only views of tracking state for the command line (`jobs list --status`, `jobs
//! show`) and the demo report: no [`Tracker`](super::Tracker) needed, only the store.
//!
//! Keys read (see `tracker.rs`): `j/<job id>` → [`JobTrack`], `p/<1Z>` → [`PackageTrack`].

use std::collections::BTreeMap;

use super::state::{aggregate, JobTrack, PackageTrack};
use crate::model::{Milestone, TrackingSnapshot};
use crate::store::{Store, StoreError, Tree};

/// One job's tracking: its record, its packages and their aggregate as the ERP sees it.
#[derive(Debug, Clone)]
pub struct JobTrackingView {
    pub job: JobTrack,
    pub packages: Vec<PackageTrack>,
    pub snapshot: Option<TrackingSnapshot>,
}

/// The tracking view of `job_id`, if tracking has registered it.
pub fn job_view(store: &Store, job_id: &str) -> Result<Option<JobTrackingView>, StoreError> {
    let Some(job) = store.get_json::<JobTrack>(Tree::Tracking, &format!("j/{job_id}"))? else {
        return Ok(None);
    };
    let mut packages = Vec::with_capacity(job.packages.len());
    for tn in &job.packages {
        if let Some(p) = store.get_json::<PackageTrack>(Tree::Tracking, &format!("p/{tn}"))? {
            packages.push(p);
        }
    }
    let snapshot = aggregate(&packages);
    Ok(Some(JobTrackingView {
        job,
        packages,
        snapshot,
    }))
}

/// Current normalised status of every tracked job (job id → status).
pub fn job_statuses(store: &Store) -> Result<BTreeMap<String, Milestone>, StoreError> {
    let mut out = BTreeMap::new();
    let jobs: Vec<JobTrack> = store.scan_json(Tree::Tracking, "j/")?;
    for j in jobs {
        if let Some(v) = job_view(store, &j.job_id)? {
            if let Some(s) = v.snapshot {
                out.insert(j.job_id, s.milestone);
            }
        }
    }
    Ok(out)
}
