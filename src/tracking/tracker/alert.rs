//! Track Alert subscriptions: subscribe new packages, renew before UPS's 14-day expiry,
//! never renew a terminal package.

use super::*;

impl Tracker {
    pub(super) async fn subscriptions(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        let mut new = Vec::new();
        let mut renew = Vec::new();
        {
            let _g = lock(&self.state);
            for (key, tn) in self.due(now)? {
                let Some(mut p) = self.package(&tn)? else {
                    self.store
                        .tree(Tree::Tracking)
                        .remove(key)
                        .map_err(|e| db_err(&self.store, e))?;
                    continue;
                };
                // Done, or a stale index entry (a crash between two writes): drop it.
                if p.done
                    || p.next_check_at.map(|t| due_key(t, &tn).into_bytes()) != Some(key.to_vec())
                {
                    self.store
                        .tree(Tree::Tracking)
                        .remove(key)
                        .map_err(|e| db_err(&self.store, e))?;
                    if !p.done {
                        // Make sure the right entry exists.
                        self.save_package(&mut p)?;
                    }
                    continue;
                }
                let before = p.snapshot();
                if p.apply_age(now, &self.settings.age_limits()) {
                    tracing::info!(tracking_number = %tn, job = %p.job_id, status = p.milestone.as_str(), "no news from UPS for too long; status derived from time");
                    self.after_change(&mut p, &before)?;
                    self.save_package(&mut p)?;
                }
                if now >= p.last_scan_or_registered() + secs(self.settings.give_up_after_seconds) {
                    let before = p.snapshot();
                    p.apply_age(now, &self.settings.age_limits());
                    p.done = true;
                    p.abandoned = true;
                    p.poll_at = None;
                    if let Some(s) = p.subscription.as_mut() {
                        s.ended = true;
                    }
                    self.stats
                        .packages_abandoned
                        .fetch_add(1, Ordering::Relaxed);
                    report.abandoned += 1;
                    tracing::warn!(tracking_number = %tn, job = %p.job_id, status = p.milestone.as_str(), "no new scan for the give-up period; tracking stopped");
                    self.after_change(&mut p, &before)?;
                    self.mark_dirty(&p.job_id)?;
                    self.save_package(&mut p)?;
                    continue;
                }
                if !self.alert_mode()
                    || p.alert_rejected
                    || p.subscribe_retry_at.is_some_and(|t| t > now)
                {
                    continue;
                }
                let lapsed = p.subscription.as_ref().is_some_and(|s| s.expires_at <= now);
                if lapsed {
                    self.stats
                        .subscriptions_lapsed
                        .fetch_add(1, Ordering::Relaxed);
                    report.lapsed += 1;
                    tracing::warn!(tracking_number = %tn, "Track Alert subscription lapsed; subscribing again with a backfill");
                    p.subscription = None;
                    p.needs_backfill = true;
                    self.save_package(&mut p)?;
                }
                match &p.subscription {
                    None => new.push(tn),
                    Some(s) if now >= s.subscribed_at + secs(self.settings.renew_after_seconds) => {
                        renew.push(tn)
                    }
                    Some(_) => {}
                }
            }
        }
        let destination = match self.settings.alert_version {
            AlertVersion::V1 => self.settings.destination.as_ref(),
            AlertVersion::V2 => None,
        };
        let all: Vec<(String, bool)> = new
            .into_iter()
            .map(|t| (t, false))
            .chain(renew.into_iter().map(|t| (t, true)))
            .collect();
        for chunk in all.chunks(self.settings.subscribe_batch_size.clamp(1, 100)) {
            let numbers: Vec<String> = chunk.iter().map(|(t, _)| t.clone()).collect();
            self.stats.subscribe_calls.fetch_add(1, Ordering::Relaxed);
            let res = self.carrier.subscribe(&numbers, destination).await;
            let now = self.now();
            let _g = lock(&self.state);
            match res {
                Ok(out) => {
                    let valid: BTreeSet<&str> = out.valid.iter().map(String::as_str).collect();
                    let invalid: BTreeSet<&str> = out.invalid.iter().map(String::as_str).collect();
                    for (tn, is_renewal) in chunk {
                        let Some(mut p) = self.package(tn)? else {
                            continue;
                        };
                        if p.done {
                            continue;
                        }
                        if valid.contains(tn.as_str()) {
                            p.subscribe_retry_at = None;
                            let expires = now + secs(self.settings.subscription_lifetime_seconds);
                            match p.subscription.as_mut() {
                                Some(s) if *is_renewal => {
                                    s.subscribed_at = now;
                                    s.expires_at = expires;
                                    s.renewals += 1;
                                    self.stats
                                        .subscriptions_renewed
                                        .fetch_add(1, Ordering::Relaxed);
                                    report.renewed += 1;
                                }
                                _ => {
                                    p.subscription = Some(Subscription {
                                        tracking_number: tn.clone(),
                                        version: self.settings.alert_version,
                                        first_subscribed_at: now,
                                        subscribed_at: now,
                                        expires_at: expires,
                                        renewals: 0,
                                        ended: false,
                                    });
                                    // Track Alert keeps no history: one Track call fills it.
                                    p.needs_backfill = true;
                                    p.poll_at = Some(now);
                                    self.stats
                                        .subscriptions_created
                                        .fetch_add(1, Ordering::Relaxed);
                                    report.subscribed += 1;
                                }
                            }
                        } else if invalid.contains(tn.as_str()) {
                            p.subscribe_retry_at = None;
                            p.alert_rejected = true;
                            p.poll_at = Some(now);
                            self.stats
                                .subscriptions_rejected
                                .fetch_add(1, Ordering::Relaxed);
                            report.rejected += 1;
                            tracing::warn!(tracking_number = %tn, "UPS refused the Track Alert subscription; polling this package instead");
                        } else {
                            p.subscribe_retry_at =
                                Some(now + secs(self.settings.subscribe_retry_seconds));
                        }
                        self.save_package(&mut p)?;
                    }
                }
                Err(e) => {
                    self.stats.subscribe_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(code = %e.code, class = e.class.as_str(), numbers = chunk.len(), "Track Alert subscription call failed; will retry");
                    for (tn, _) in chunk {
                        let Some(mut p) = self.package(tn)? else {
                            continue;
                        };
                        p.subscribe_retry_at =
                            Some(now + secs(self.settings.subscribe_retry_seconds));
                        self.save_package(&mut p)?;
                    }
                }
            }
        }
        Ok(())
    }
}
