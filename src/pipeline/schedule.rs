//! Cron scheduling with tokio-cron-scheduler: each connector on its own schedule.
//!
//! Admins write 5-field cron (`*/5 * * * *`); tokio-cron-scheduler wants 6 fields (seconds
//! first): [`crate::config::cron::normalise`] accepts both. A run never overlaps itself: the
//! engine skips a tick while the connector's previous cycle is still running.

use std::sync::Arc;

use tokio_cron_scheduler::{Job as CronJob, JobScheduler};

use super::engine::Pipeline;

/// Start one cron job per connector; returns the running scheduler (shut it down to stop).
///
/// With `watchdog`, a repeated job inside the same scheduler calls it at that interval: if
/// the scheduler hangs, the pings stop and systemd restarts the service.
pub async fn start(
    pipeline: Arc<Pipeline>,
    schedules: &[(String, String)],
    watchdog: Option<(std::time::Duration, fn())>,
) -> Result<JobScheduler, anyhow::Error> {
    let sched = JobScheduler::new().await?;
    if let Some((every, ping)) = watchdog {
        sched
            .add(CronJob::new_repeated_async(every, move |_, _| {
                Box::pin(async move { ping() })
            })?)
            .await?;
    }
    for (connector, cron) in schedules {
        let six = crate::config::cron::normalise(cron)?.six_field;
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

    #[tokio::test]
    async fn admin_cron_starts_a_schedule_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(crate::store::Store::open(dir.path(), None).unwrap());
        let p = Arc::new(Pipeline::new(
            crate::pipeline::Ledger::new(store),
            Arc::new(NoCarrier),
            vec![],
            Default::default(),
            crate::pipeline::engine::system_clock(),
        ));
        let Err(e) = start(p.clone(), &[("x".into(), "* * *".into())], None).await else {
            panic!("a 3-field cron must be refused")
        };
        assert!(e.to_string().contains("3 field"), "{e}");
        let Err(e) = start(p, &[("x".into(), "*/5 * * * *".into())], None).await else {
            panic!("an unknown connector must be refused")
        };
        assert!(e.to_string().contains("no connector named 'x'"), "{e}");
    }

    struct NoCarrier;
    #[async_trait::async_trait]
    impl crate::pipeline::Carrier for NoCarrier {
        async fn validate_address(
            &self,
            _: &crate::model::Address,
        ) -> Result<crate::model::AddressCheck, crate::pipeline::CarrierError> {
            unreachable!()
        }
        async fn shop(
            &self,
            _: &crate::model::Shipment,
        ) -> Result<Vec<crate::model::RateQuote>, crate::pipeline::CarrierError> {
            unreachable!()
        }
        async fn ship(
            &self,
            _: &crate::model::Shipment,
        ) -> Result<crate::model::ShipResult, crate::pipeline::CarrierError> {
            unreachable!()
        }
        async fn find_by_reference(
            &self,
            _: &str,
            _: &str,
            _: chrono::NaiveDate,
            _: chrono::NaiveDate,
        ) -> Result<Vec<crate::pipeline::FoundShipment>, crate::pipeline::CarrierError> {
            unreachable!()
        }
        async fn recover(
            &self,
            _: &crate::pipeline::FoundShipment,
            _: &crate::model::Shipment,
            _: &crate::model::LabelSpec,
        ) -> Result<crate::model::ShipResult, crate::pipeline::CarrierError> {
            unreachable!()
        }
        async fn void(&self, _: &str) -> Result<(), crate::pipeline::CarrierError> {
            unreachable!()
        }
    }
}
