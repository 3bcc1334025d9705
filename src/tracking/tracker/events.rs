//! The event inbox: Track Alert events stored by the webhook, applied to package state
//! (idempotent; the inbox worker and each tick drain it).

use super::*;

impl Tracker {
    // ---------- inbox ----------

    /// Process every stored webhook event (idempotent; the worker and each tick call it).
    pub fn drain_inbox(&self) -> Result<usize, TrackingError> {
        let tree = self.store.tree(Tree::Events);
        let mut n = 0;
        loop {
            let _g = lock(&self.state);
            let batch: Vec<(Vec<u8>, Vec<u8>)> = tree
                .scan_prefix(EVENT_PREFIX)
                .take(500)
                .collect::<Result<_, _>>()
                .map_err(|e| db_err(&self.store, e))?;
            if batch.is_empty() {
                return Ok(n);
            }
            for (k, v) in batch {
                match serde_json::from_slice::<AlertEvent>(&v) {
                    Ok(ev) => self.apply_alert_event(&ev)?,
                    Err(e) => tracing::warn!(error = %e, "dropping an undecodable stored event"),
                }
                tree.remove(k).map_err(|e| db_err(&self.store, e))?;
                n += 1;
            }
        }
    }

    pub(super) fn apply_alert_event(&self, ev: &AlertEvent) -> Result<(), TrackingError> {
        let tn = &ev.event.tracking_number;
        let Some(mut p) = self.package(tn)? else {
            self.stats.events_unknown.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(tracking_number = %tn, "event for a package not tracked (yet); parked");
            self.store.put_json(
                Tree::Tracking,
                &format!("{PARKED}{tn}/{}", ev.event.identity()),
                ev,
            )?;
            return Ok(());
        };
        let before = p.snapshot();
        match p.add_event(&ev.event) {
            Applied::Duplicate => {
                self.stats.events_duplicate.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Applied::OutOfOrder => {
                self.stats
                    .events_out_of_order
                    .fetch_add(1, Ordering::Relaxed);
            }
            Applied::New => {}
        }
        p.add_extras(
            ev.event.time,
            ev.scheduled_delivery,
            ev.delivered_at,
            ev.received_by.as_deref(),
            None,
        );
        p.recompute();
        let now = self.now();
        p.last_update_at = now;
        self.after_change(&mut p, &before)?;
        p.poll_at = self.next_poll(&p, now);
        self.save_package(&mut p)
    }
}
