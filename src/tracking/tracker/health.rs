//! Health of tracking: the `/readyz` part (last scan, tick or inbox drain failed) and
//! freshness (how long since the tracker last heard about each live package).

use super::*;

impl Tracker {
    /// `Err(why)` while tracking is failing (the last ledger scan, tick or inbox drain
    /// failed): part of `/readyz`.
    pub fn health(&self) -> Result<(), String> {
        match lock(&self.failure).as_ref() {
            None => Ok(()),
            Some(why) => Err(why.clone()),
        }
    }

    pub(super) fn failed(&self, what: &str, e: &dyn std::fmt::Display) {
        *lock(&self.failure) = Some(format!("tracking {what} failed: {e}"));
    }
}

impl Tracker {
    // ---------- freshness ----------

    /// Every live package (in the due index, not done).
    fn live_packages(&self) -> Result<Vec<PackageTrack>, TrackingError> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Tracking).scan_prefix(DUE) {
            let (k, _) = kv.map_err(|e| db_err(&self.store, e))?;
            let tn = String::from_utf8_lossy(&k[DUE.len() + 17..]).into_owned();
            if !seen.insert(tn.clone()) {
                continue;
            }
            if let Some(p) = self.package(&tn)?.filter(|p| !p.done) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// `(tracking number, seconds since the tracker last heard about it)` for every live
    /// package past pickup and not yet at its destination's door (picked up, in transit,
    /// out for delivery, delivery attempted, exception).
    pub fn freshness(&self) -> Result<Vec<(String, i64)>, TrackingError> {
        let now = self.now();
        Ok(self
            .live_packages()?
            .into_iter()
            .filter(|p| moving(p.milestone))
            .map(|p| {
                (
                    p.tracking_number,
                    (now - p.last_update_at).num_seconds().max(0),
                )
            })
            .collect())
    }

    /// Live packages per status, freshness and the age of the newest scan: the tracking
    /// gauges of `/metrics`.
    pub fn live_summary(&self) -> Result<LiveSummary, TrackingError> {
        let now = self.now();
        let live = self.live_packages()?;
        let by_status = Milestone::ALL
            .iter()
            .map(|m| (*m, live.iter().filter(|p| p.milestone == *m).count() as u64))
            .collect();
        let moving_pkgs: Vec<&PackageTrack> = live.iter().filter(|p| moving(p.milestone)).collect();
        let fresh: Vec<i64> = moving_pkgs
            .iter()
            .map(|p| (now - p.last_update_at).num_seconds().max(0))
            .collect();
        let scan_age: Vec<i64> = moving_pkgs
            .iter()
            .map(|p| (now - p.last_scan_or_registered()).num_seconds().max(0))
            .collect();
        Ok(LiveSummary {
            by_status,
            freshness: FreshnessSummary::from_ages(&fresh),
            newest_scan_age: FreshnessSummary::from_ages(&scan_age),
        })
    }

    /// Summary of [`Self::freshness`].
    pub fn freshness_summary(&self) -> Result<FreshnessSummary, TrackingError> {
        let ages: Vec<i64> = self.freshness()?.into_iter().map(|(_, s)| s).collect();
        Ok(FreshnessSummary::from_ages(&ages))
    }
}

/// On its way (the statuses whose freshness matters).
fn moving(m: Milestone) -> bool {
    matches!(
        m,
        Milestone::PickedUp
            | Milestone::InTransit
            | Milestone::OutForDelivery
            | Milestone::DeliveryAttempted
            | Milestone::Exception
    )
}
