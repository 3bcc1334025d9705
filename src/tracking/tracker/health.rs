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

    /// `(tracking number, seconds since the tracker last heard about it)` for every live
    /// package past pickup (picked up, in transit, out for delivery, exception).
    pub fn freshness(&self) -> Result<Vec<(String, i64)>, TrackingError> {
        let now = self.now();
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Tracking).scan_prefix(DUE) {
            let (k, _) = kv.map_err(|e| db_err(&self.store, e))?;
            let tn = String::from_utf8_lossy(&k[DUE.len() + 17..]).into_owned();
            if !seen.insert(tn.clone()) {
                continue;
            }
            let Some(p) = self.package(&tn)? else {
                continue;
            };
            if !p.done
                && matches!(
                    p.milestone,
                    Milestone::PickedUp
                        | Milestone::InTransit
                        | Milestone::OutForDelivery
                        | Milestone::Exception
                )
            {
                out.push((tn, (now - p.last_update_at).num_seconds().max(0)));
            }
        }
        Ok(out)
    }

    /// Summary of [`Self::freshness`].
    pub fn freshness_summary(&self) -> Result<FreshnessSummary, TrackingError> {
        let ages: Vec<i64> = self.freshness()?.into_iter().map(|(_, s)| s).collect();
        Ok(FreshnessSummary::from_ages(&ages))
    }
}
