//! Polling: Track calls for due packages within the Track quota, and folding the answers
//! into package state.

use super::*;

impl Tracker {
    pub(super) async fn polls(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        let mut wanted = Vec::new();
        {
            let _g = lock(&self.state);
            for (_, tn) in self.due(now)? {
                let Some(p) = self.package(&tn)? else {
                    continue;
                };
                if p.done || p.poll_at.is_none_or(|t| t > now) {
                    continue;
                }
                let reason = if p.needs_backfill {
                    PollReason::Backfill
                } else if self.events_arrive(&p) {
                    PollReason::Quiet
                } else {
                    PollReason::Scheduled
                };
                wanted.push((tn, reason));
            }
        }
        let mut allowed = Vec::new();
        {
            let mut b = lock(&self.budget);
            for w in wanted {
                if b.try_take(now) {
                    allowed.push(w);
                } else {
                    report.polls_deferred += 1;
                }
            }
        }
        if report.polls_deferred > 0 {
            self.stats
                .polls_deferred_by_quota
                .fetch_add(report.polls_deferred as u64, Ordering::Relaxed);
            tracing::debug!(
                deferred = report.polls_deferred,
                "Track quota used up; due polls wait"
            );
        }
        let carrier = &self.carrier;
        let results: Vec<(String, PollReason, Result<TrackOutcome, CarrierError>)> =
            futures::stream::iter(allowed.into_iter().map(|(tn, reason)| async move {
                let r = carrier.track(&tn).await;
                (tn, reason, r)
            }))
            .buffer_unordered(self.settings.track_concurrency.max(1))
            .collect()
            .await;
        report.polls += results.len();
        let now = self.now();
        let _g = lock(&self.state);
        for (tn, reason, r) in results {
            self.apply_poll(&tn, reason, r, now)?;
        }
        Ok(())
    }

    pub(super) fn apply_poll(
        &self,
        tn: &str,
        reason: PollReason,
        r: Result<TrackOutcome, CarrierError>,
        now: DateTime<Utc>,
    ) -> Result<(), TrackingError> {
        let s = &self.stats;
        s.polls.fetch_add(1, Ordering::Relaxed);
        match reason {
            PollReason::Scheduled => &s.polls_scheduled,
            PollReason::Backfill => &s.polls_backfill,
            PollReason::Quiet => &s.polls_quiet_fallback,
        }
        .fetch_add(1, Ordering::Relaxed);
        let Some(mut p) = self.package(tn)? else {
            return Ok(());
        };
        let before = p.snapshot();
        p.last_poll_at = Some(now);
        p.polls += 1;
        match r {
            Ok(TrackOutcome::NotYet) => {
                s.polls_not_yet.fetch_add(1, Ordering::Relaxed);
                p.needs_backfill = false;
                p.last_update_at = now;
                p.poll_at = self.next_poll(&p, now);
            }
            Ok(TrackOutcome::Found { snapshot, events }) => {
                let all: Vec<crate::model::TrackingEvent> = events
                    .iter()
                    .chain(snapshot.latest.iter())
                    .cloned()
                    .collect();
                self.qv_drop_zone_twins(&mut p, &all);
                for e in events.iter().chain(snapshot.latest.iter()) {
                    let mut e = e.clone();
                    e.tracking_number = tn.to_string();
                    p.add_event(&e);
                }
                let as_of = events
                    .iter()
                    .chain(snapshot.latest.iter())
                    .map(|e| e.time)
                    .max()
                    .unwrap_or(now);
                p.add_extras(
                    as_of,
                    snapshot.estimated_delivery,
                    snapshot.delivered_at,
                    snapshot.received_by.as_deref(),
                    snapshot.signature.as_deref(),
                );
                if snapshot.milestone.is_terminal() {
                    p.forced = Some(snapshot.milestone);
                }
                p.recompute();
                p.needs_backfill = false;
                p.last_update_at = now;
                self.after_change(&mut p, &before)?;
                p.poll_at = self.next_poll(&p, now);
            }
            Err(e) => {
                s.poll_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(tracking_number = %tn, code = %e.code, class = e.class.as_str(), "Track call failed; will retry");
                p.poll_at = Some(now + secs(self.settings.poll_retry_seconds));
            }
        }
        self.save_package(&mut p)
    }
}
