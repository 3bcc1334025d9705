//! Cron scheduling with tokio-cron-scheduler: each connector on its own schedule.
//!
//! Admins write 5-field cron (`*/5 * * * *`); tokio-cron-scheduler wants 6 fields (seconds
//! first), so [`normalise_cron`] accepts both. A run never overlaps itself: the engine skips
//! a tick while the connector's previous cycle is still running.

use std::sync::Arc;

use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

use super::engine::Pipeline;

/// A cron expression the admin wrote, normalised to 6 fields.
#[derive(Debug, thiserror::Error)]
#[error("cron expression '{expr}' is invalid: {reason}. Use 5 fields (minute hour day month weekday, e.g. \"*/5 * * * *\") or 6 with seconds first")]
pub struct CronError {
    pub expr: String,
    pub reason: String,
}

/// Accept 5-field (admin) or 6/7-field (seconds first) cron; return the 6/7-field form.
pub fn normalise_cron(expr: &str) -> Result<String, CronError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let six = match fields.len() {
        5 => format!("0 {}", fields.join(" ")),
        6 | 7 => fields.join(" "),
        n => {
            return Err(CronError {
                expr: expr.to_string(),
                reason: format!("it has {n} fields"),
            })
        }
    };
    // Validate with the scheduler's own parser.
    CronJob::new_async(six.as_str(), |_, _| Box::pin(async {})).map_err(|e| CronError {
        expr: expr.to_string(),
        reason: e.to_string(),
    })?;
    Ok(six)
}

/// Start one cron job per connector; returns the running scheduler (shut it down to stop).
pub async fn start(
    pipeline: Arc<Pipeline>,
    schedules: &[(String, String)],
) -> Result<JobScheduler, anyhow::Error> {
    let sched = JobScheduler::new().await?;
    for (connector, cron) in schedules {
        let six = normalise_cron(cron)?;
        let conn = pipeline.connector(connector)?.clone();
        let p = pipeline.clone();
        let job = CronJob::new_async(six.as_str(), move |_, _| {
            let p = p.clone();
            let conn = conn.clone();
            Box::pin(async move {
                if p.is_stopping() {
                    return;
                }
                match p.run_cycle(&conn).await {
                    Ok(r) if r.skipped => {
                        tracing::debug!(connector = %conn.name, "previous cycle still running; tick skipped")
                    }
                    Ok(r) => tracing::info!(
                        connector = %conn.name,
                        read = r.records_read,
                        new_jobs = r.jobs_created,
                        processed = r.jobs_processed,
                        paused = r.paused.is_some(),
                        "cycle done"
                    ),
                    Err(e) => tracing::error!(connector = %conn.name, error = %e, "cycle failed"),
                }
            })
        })?;
        sched.add(job).await?;
    }
    sched.start().await?;
    Ok(sched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_and_six_fields_are_accepted() {
        assert_eq!(normalise_cron("*/5 * * * *").unwrap(), "0 */5 * * * *");
        assert_eq!(normalise_cron("30 */5 * * * *").unwrap(), "30 */5 * * * *");
        let e = normalise_cron("* * *").unwrap_err();
        assert!(e.to_string().contains("3 fields"));
        assert!(normalise_cron("99 * * * *").is_err());
    }
}
