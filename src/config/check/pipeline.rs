//! `check` pass 4 for the `pipeline` section: jobs in flight, retries, retention,
//! reconciliation.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_pipeline(r: &mut CheckReport, file: &Path, p: &PipelineConfig) {
    if p.jobs_in_flight == 0 {
        r.problem(
            file,
            "pipeline.jobs_in_flight",
            "0 jobs in flight means nothing is ever processed",
            "use at least 1",
        );
    }
    check_retry(
        r,
        file,
        "pipeline.retry",
        p.retry.max_attempts,
        p.retry.initial_backoff_seconds,
        p.retry.max_backoff_seconds,
    );
    if p.reconcile.min_lookups == 0 {
        r.problem(
            file,
            "pipeline.reconcile.min_lookups",
            "0 lookups would re-ship an in-doubt label without looking for it at UPS",
            "use at least 1 (default 3)",
        );
    }
    if p.reconcile.absent_after_seconds < 600 {
        r.warning(
            file,
            "pipeline.reconcile.absent_after_seconds",
            format!(
                "{} s is shorter than UPS takes to index a new label's reference: an in-doubt Ship may be sent again and its first label voided later",
                p.reconcile.absent_after_seconds
            ),
            "use 1800 (30 min) or more in production",
        );
    }
    if p.retention_days == 0 {
        r.problem(
            file,
            "pipeline.retention_days",
            "0 days would delete jobs as they finish",
            "use a positive number of days (default 120)",
        );
    }
}
