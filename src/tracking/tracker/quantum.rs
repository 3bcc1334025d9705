//! Quantum View mode: read the account's subscription files every
//! `quantum_view.interval_seconds`, page by page to the last `Bookmark`, and fold their events
//! into package state through the Track Alert inbox's path ([`Tracker::apply_alert_event`]).
//!
//! Exactly once across restarts:
//! * Files are read by **date range**, not as "unread": an unread read marks files read as
//!   UPS serves them, so a crash between UPS's answer and our store write would lose them,
//!   and any other reader of the same subscription would take them from us. A range read
//!   changes nothing at UPS and can be repeated.
//! * `q/progress` holds the read in progress (range and bookmark) and the end of the last
//!   complete read. Each read starts [`OVERLAP`] before that end (UPS may publish a file
//!   late), and [`ZONE_SLACK`] earlier still (QuantumView.yaml does not say in which zone
//!   `DateTimeRange` is read: a UPS that reads our GMT as a western local time would start
//!   the range hours late), and ends now.
//! * `q/f/<subscription>/<file name>` marks a file whose events were all applied; it is
//!   written after them, and the bookmark of the next page after every file of the page.
//!   A crash therefore re-reads at most the current page, and its files already marked are
//!   skipped; events of the file that was cut short are applied again, which is a no-op
//!   (same identity). Marks are dropped after [`FILE_MARK_DAYS`] days (UPS keeps files 7).
//! * UPS refuses a range starting more than 7 days back (after a long stop): the read
//!   restarts inside the 7 days (`qv_range_restarts`); Track calls (backfill, quiet period)
//!   fill what was missed.
//!
//! Events of numbers upsync does not track: a package of a ledger job not registered yet is
//! registered (job in `tracking`) or parked until it is; a parcel upsync did not ship is
//! matched by reference to the ledger job of that ERP record number when
//! `match_by_reference` is on (registered on that job, `qv_foreign_matched`), else counted
//! (`qv_foreign_ignored`) and ignored.
//!
//! Quantum View times carry no zone (see `ups/ops/quantum.rs`): an event is the same as a
//! known one when the status code matches and the times differ by a whole number of quarter
//! hours within 14 hours (a zone offset). When Track later reports such a twin with its GMT
//! time, Track's copy replaces the Quantum View one ([`Tracker::qv_drop_zone_twins`]), so
//! a package's history holds each event once whichever source spoke first.

use super::*;
use crate::model::{QvEvent, QvRequest};

const QV_PROGRESS: &str = "q/progress";
const QV_FILE: &str = "q/f/";
/// Each read starts this long before the end of the previous one.
pub const OVERLAP: i64 = 3600;
/// Extra look-back for a range UPS may read in a local zone (UTC−14 … UTC+14).
pub const ZONE_SLACK: i64 = 14 * 3600;
/// First read after installation: how far back.
const FIRST_LOOKBACK: i64 = 86_400;
/// A restarted range starts this long inside UPS's 7 days (zone slack included).
const RANGE_MARGIN: i64 = 3600 + ZONE_SLACK;
/// File marks are kept this long.
pub const FILE_MARK_DAYS: i64 = 8;
/// Pages per read at most (a safety net against a bookmark that never ends).
const MAX_PAGES: u32 = 10_000;

/// The read in progress and the end of the last complete one (`q/progress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QvProgress {
    /// End of the last complete read.
    #[serde(default)]
    pub cursor: Option<DateTime<Utc>>,
    /// The read in progress.
    #[serde(default)]
    pub run: Option<QvRun>,
    /// No read (or retry) before this.
    #[serde(default)]
    pub not_before: Option<DateTime<Utc>>,
}

/// One range read, possibly several pages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QvRun {
    pub begin: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Bookmark of the next page (`None` = first page).
    #[serde(default)]
    pub bookmark: Option<String>,
    #[serde(default)]
    pub pages: u32,
}

/// Ledger facts for events of numbers the tracker does not know, built once per read.
#[derive(Default)]
struct Lookup {
    /// 1Z → job id, for every job with a ship result.
    by_number: HashMap<String, String>,
    /// ERP record number (and record id) → newest job id.
    by_record: HashMap<String, String>,
}

fn same_event(a: &crate::model::TrackingEvent, b: &crate::model::TrackingEvent) -> bool {
    if a.status_code != b.status_code {
        return false;
    }
    let d = (a.time - b.time).num_seconds();
    d.abs() <= 14 * 3600 && d % 900 == 0
}

/// Status codes Quantum View records carry (manifest, origin, delivery, void) and
/// exceptions: the only events that can have a Quantum View twin.
fn qv_code(e: &crate::model::TrackingEvent) -> bool {
    matches!(
        e.status_code.as_str(),
        "MP" | "OR" | "FS" | "KB" | "KM" | "MV"
    ) || e.status_type == "X"
}

impl Tracker {
    /// Quantum View mode, before Track's events are added to `p`: drop the Quantum View
    /// copies of them (same code, time off by a zone offset), Track's GMT time wins.
    pub(super) fn qv_drop_zone_twins(
        &self,
        p: &mut PackageTrack,
        track: &[crate::model::TrackingEvent],
    ) {
        if !self.qv_mode() {
            return;
        }
        p.history.retain(|h| {
            !(qv_code(h)
                && track
                    .iter()
                    .any(|e| e.time != h.time && qv_code(e) && same_event(h, e)))
        });
    }

    fn qv_mode(&self) -> bool {
        self.settings.mode == TrackingMode::QuantumView
    }

    /// Quantum View progress (`q/progress`).
    pub fn qv_progress(&self) -> Result<QvProgress, TrackingError> {
        Ok(self
            .store
            .get_json(Tree::Tracking, QV_PROGRESS)?
            .unwrap_or_default())
    }

    fn put_qv_progress(&self, p: &QvProgress) -> Result<(), TrackingError> {
        Ok(self.store.put_json(Tree::Tracking, QV_PROGRESS, p)?)
    }

    /// One Quantum View read if one is due: every page of the range, to the last bookmark.
    pub(super) async fn quantum_views(
        &self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        if !self.qv_mode() {
            return Ok(());
        }
        let qv = self.settings.quantum_view.clone();
        let mut prog = self.qv_progress()?;
        if prog.not_before.is_some_and(|t| t > now) {
            return Ok(());
        }
        if prog.run.is_none() {
            let begin = match prog.cursor {
                Some(c) => c - Duration::seconds(OVERLAP + ZONE_SLACK),
                None => now - Duration::seconds(FIRST_LOOKBACK),
            };
            prog.run = Some(QvRun {
                begin: begin.min(now),
                end: now,
                bookmark: None,
                pages: 0,
            });
            self.put_qv_progress(&prog)?;
        }
        let mut restarted = false;
        let mut lookup: Option<Lookup> = None;
        while let Some(mut run) = prog.run.clone() {
            let request = QvRequest {
                version: qv.version.clone(),
                subscription_names: qv.subscription_names.clone(),
                begin: run.begin,
                end: run.end,
                bookmark: run.bookmark.clone(),
            };
            self.stats.qv_calls.fetch_add(1, Ordering::Relaxed);
            let page = match self.carrier.quantum_view(request).await {
                Ok(p) => p,
                Err(e) if e.code == "ups_qv_range_too_old" && !restarted => {
                    restarted = true;
                    self.stats.qv_range_restarts.fetch_add(1, Ordering::Relaxed);
                    let now = self.now();
                    tracing::warn!(
                        begin = %run.begin,
                        "UPS refused a Quantum View range more than 7 days back; reading the last 7 days (Track calls fill the gap)"
                    );
                    prog.run = Some(QvRun {
                        begin: now - Duration::days(7) + Duration::seconds(RANGE_MARGIN),
                        end: now,
                        bookmark: None,
                        pages: 0,
                    });
                    self.put_qv_progress(&prog)?;
                    continue;
                }
                Err(e) => {
                    self.stats.qv_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(code = %e.code, class = e.class.as_str(), pages = run.pages, "Quantum View call failed; the read resumes at the same page later");
                    prog.not_before = Some(self.now() + secs(self.settings.poll_retry_seconds));
                    self.put_qv_progress(&prog)?;
                    return Ok(());
                }
            };
            for (name, status) in &page.inactive_subscriptions {
                tracing::warn!(subscription = %name, status = %status, "Quantum View subscription is not active (UN unknown, P pending, I inactive, S suspended): check it at ups.com");
            }
            {
                let _g = lock(&self.state);
                for file in &page.files {
                    let mark = format!("{QV_FILE}{}/{}", file.subscription, file.name);
                    if self
                        .store
                        .get_json::<DateTime<Utc>>(Tree::Tracking, &mark)?
                        .is_some()
                    {
                        continue;
                    }
                    for ev in &file.events {
                        self.apply_qv_event(ev, &mut lookup, report)?;
                    }
                    self.store.put_json(Tree::Tracking, &mark, &self.now())?;
                    self.stats.qv_files.fetch_add(1, Ordering::Relaxed);
                }
            }
            run.pages += 1;
            match page.bookmark {
                Some(b) if run.pages < MAX_PAGES && Some(&b) != run.bookmark.as_ref() => {
                    run.bookmark = Some(b);
                    prog.run = Some(run);
                    self.put_qv_progress(&prog)?;
                }
                other => {
                    if other.is_some() {
                        tracing::warn!(
                            pages = run.pages,
                            "Quantum View bookmark did not advance; read ended"
                        );
                    }
                    prog.cursor = Some(run.end);
                    prog.run = None;
                    prog.not_before = Some(run.end + secs(qv.interval_seconds));
                    self.put_qv_progress(&prog)?;
                    self.prune_qv_marks(now)?;
                    break;
                }
            }
        }
        Ok(())
    }

    fn prune_qv_marks(&self, now: DateTime<Utc>) -> Result<(), TrackingError> {
        let too_old = now - Duration::days(FILE_MARK_DAYS);
        let tree = self.store.tree(Tree::Tracking);
        for kv in tree.scan_prefix(QV_FILE) {
            let (k, v) = kv.map_err(|e| db_err(&self.store, e))?;
            let stale = serde_json::from_slice::<DateTime<Utc>>(&v).map_or(true, |t| t < too_old);
            if stale {
                tree.remove(k).map_err(|e| db_err(&self.store, e))?;
            }
        }
        Ok(())
    }

    fn qv_lookup(&self) -> Result<Lookup, TrackingError> {
        let mut l = Lookup::default();
        let mut newest: HashMap<String, DateTime<Utc>> = HashMap::new();
        for job in self.ledger.jobs(None, None) {
            let job = job?;
            if let Some(r) = &job.result {
                for p in &r.packages {
                    l.by_number.insert(
                        p.tracking_number.trim().to_ascii_uppercase(),
                        job.id.clone(),
                    );
                }
            }
            for key in [job.number.trim(), job.record_id.trim()] {
                if key.is_empty() {
                    continue;
                }
                if newest.get(key).is_none_or(|t| job.created_at >= *t) {
                    newest.insert(key.to_string(), job.created_at);
                    l.by_record.insert(key.to_string(), job.id.clone());
                }
            }
        }
        Ok(l)
    }

    /// Apply one Quantum View event (state lock held).
    fn apply_qv_event(
        &self,
        ev: &QvEvent,
        lookup: &mut Option<Lookup>,
        report: &mut TickReport,
    ) -> Result<(), TrackingError> {
        let tn = ev.event.tracking_number.trim().to_ascii_uppercase();
        if tn.is_empty() {
            return Ok(());
        }
        if self.package(&tn)?.is_none() && !self.qv_register_unknown(&tn, ev, lookup)? {
            return Ok(());
        }
        let Some(p) = self.package(&tn)? else {
            return Ok(());
        };
        self.stats.qv_events.fetch_add(1, Ordering::Relaxed);
        if p.history.iter().any(|h| same_event(h, &ev.event)) {
            self.stats.qv_duplicate.fetch_add(1, Ordering::Relaxed);
            self.stats.events_duplicate.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        report.events += 1;
        self.apply_alert_event(&AlertEvent {
            event: crate::model::TrackingEvent {
                tracking_number: tn,
                ..ev.event.clone()
            },
            scheduled_delivery: ev.scheduled_delivery,
            delivered_at: ev.delivered_at,
            received_by: ev.received_by.clone(),
            received_at: self.now(),
        })
    }

    /// A number the tracker does not know: register it when it is ours or matches an ERP
    /// record; `false` when the event is to be ignored (or was parked).
    fn qv_register_unknown(
        &self,
        tn: &str,
        ev: &QvEvent,
        lookup: &mut Option<Lookup>,
    ) -> Result<bool, TrackingError> {
        if lookup.is_none() {
            *lookup = Some(self.qv_lookup()?);
        }
        let l = lookup.as_ref().expect("built above");
        if let Some(job_id) = l.by_number.get(tn) {
            // One of ours whose job is not registered (yet).
            let Some(job) = self.ledger.get_lean(job_id)? else {
                return Ok(false);
            };
            if job.state == JobState::Tracking {
                self.register_locked(&job)?;
                return Ok(self.package(tn)?.is_some());
            }
            if !matches!(
                job.state,
                JobState::Delivered | JobState::Voided | JobState::Failed
            ) {
                // Shipped, label not written back yet: applied at registration.
                self.store.put_json(
                    Tree::Tracking,
                    &format!("{PARKED}{tn}/{}", ev.event.identity()),
                    &AlertEvent {
                        event: ev.event.clone(),
                        scheduled_delivery: ev.scheduled_delivery,
                        delivered_at: ev.delivered_at,
                        received_by: ev.received_by.clone(),
                        received_at: self.now(),
                    },
                )?;
            }
            return Ok(false);
        }
        if self.settings.quantum_view.match_by_reference {
            let job_id = ev.references.iter().find_map(|r| l.by_record.get(r.trim()));
            if let Some(job_id) = job_id {
                if self.qv_add_foreign(tn, job_id)? {
                    self.stats
                        .qv_foreign_matched
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(tracking_number = %tn, job = %job_id, "parcel not shipped by upsync matched to an ERP record by reference; tracking it on that job");
                    return Ok(true);
                }
            }
        }
        self.stats
            .qv_foreign_ignored
            .fetch_add(1, Ordering::Relaxed);
        tracing::debug!(tracking_number = %tn, "Quantum View event for a parcel upsync does not track; ignored");
        Ok(false)
    }

    /// Track `tn` as one more package of `job_id` (its job must be in `tracking`).
    fn qv_add_foreign(&self, tn: &str, job_id: &str) -> Result<bool, TrackingError> {
        let Some(job) = self.ledger.get_lean(job_id)? else {
            return Ok(false);
        };
        if job.state != JobState::Tracking {
            return Ok(false);
        }
        self.register_locked(&job)?;
        let Some(mut jt) = self.job(job_id)? else {
            return Ok(false);
        };
        if jt.finished {
            return Ok(false);
        }
        let now = self.now();
        let mut p = PackageTrack::new(tn, &job.id, &job.record_id, &job.source, now);
        // Its history before this event: one Track call.
        p.needs_backfill = true;
        p.poll_at = Some(now);
        self.save_package(&mut p)?;
        if !jt.packages.iter().any(|x| x == tn) {
            jt.packages.push(tn.to_string());
            self.put_job(&jt)?;
        }
        self.stats
            .packages_registered
            .fetch_add(1, Ordering::Relaxed);
        self.mark_dirty(job_id)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ev(code: &str, h: u32, m: u32) -> crate::model::TrackingEvent {
        crate::model::TrackingEvent {
            tracking_number: "1Z123X560300000018".into(),
            milestone: Milestone::Delivered,
            status_type: "D".into(),
            status_code: code.into(),
            status_number: String::new(),
            description: String::new(),
            time: Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap(),
            location: None,
        }
    }

    #[test]
    fn same_event_allows_a_zone_offset_only() {
        assert!(same_event(&ev("FS", 15, 30), &ev("FS", 15, 30)));
        assert!(
            same_event(&ev("FS", 10, 30), &ev("FS", 15, 30)),
            "local −05:00"
        );
        assert!(same_event(&ev("FS", 20, 0), &ev("FS", 14, 30)), "+05:30");
        assert!(!same_event(&ev("FS", 15, 31), &ev("FS", 15, 30)));
        assert!(!same_event(&ev("KB", 15, 30), &ev("FS", 15, 30)));
    }
}
