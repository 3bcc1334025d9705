//! Per-package and per-job tracking state (the `tracking` tree) and the pure rules that turn
//! a pile of events, received in any order and any number of times, into the latest true
//! state.
//!
//! Rules ([`PackageTrack::recompute`]):
//! * An event is known by its identity (number + GMT activity time + status code): a second
//!   copy changes nothing.
//! * History is ordered by activity time (ties by milestone progress), never by arrival.
//! * A terminal milestone (delivered, returned, voided) is sticky: an in-transit event that
//!   arrives late, or is stamped later, does not undo a delivery.
//! * `U` events (updated delivery date) carry dates, not progress: they never set the milestone.
//!
//! A job with several packages is written back as one aggregate ([`aggregate`]): the ERP
//! record has one status, so it shows the least advanced package until all are terminal.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::settings::AlertVersion;
use crate::model::{Milestone, TrackingEvent, TrackingSnapshot};

/// History kept per package (oldest non-terminal events are dropped beyond this).
const MAX_HISTORY: usize = 100;

/// A Track Alert subscription of one package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub tracking_number: String,
    pub version: AlertVersion,
    pub first_subscribed_at: DateTime<Utc>,
    /// Last (re)subscription.
    pub subscribed_at: DateTime<Utc>,
    /// `subscribed_at` + lifetime (14 days).
    pub expires_at: DateTime<Utc>,
    pub renewals: u32,
    /// Not renewed any more (package terminal or given up).
    #[serde(default)]
    pub ended: bool,
}

/// Tracking state of one package (`tracking` tree, key `p/<1Z>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageTrack {
    pub tracking_number: String,
    pub job_id: String,
    pub record_id: String,
    /// Connector (source) name: where write-back goes.
    pub connector: String,
    pub registered_at: DateTime<Utc>,
    pub milestone: Milestone,
    /// Known events, ordered by activity time.
    #[serde(default)]
    pub history: Vec<TrackingEvent>,
    /// Identity and activity time of the latest event.
    #[serde(default)]
    pub last_event_id: Option<String>,
    #[serde(default)]
    pub last_event_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub estimated_delivery: Option<NaiveDate>,
    /// Activity time of the report the estimate came from (a late, older event does not
    /// overwrite a newer estimate).
    #[serde(default)]
    pub estimated_as_of: Option<DateTime<Utc>>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub received_by: Option<String>,
    #[serde(default, with = "crate::model::b64_opt")]
    pub signature: Option<Vec<u8>>,
    /// Milestone imposed from outside the event stream (job voided, Track said terminal).
    #[serde(default)]
    pub forced: Option<Milestone>,
    /// Last time the tracker heard anything about this package (event or Track answer).
    pub last_update_at: DateTime<Utc>,
    /// Next Track call wanted (schedule, backfill or quiet-period fallback).
    #[serde(default)]
    pub poll_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_poll_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub polls: u32,
    /// A Track call must fill the history a new subscription does not have.
    #[serde(default)]
    pub needs_backfill: bool,
    #[serde(default)]
    pub subscription: Option<Subscription>,
    /// Retry a failed subscribe/renew call not before this.
    #[serde(default)]
    pub subscribe_retry_at: Option<DateTime<Utc>>,
    /// UPS refused to subscribe this number: it is polled instead.
    #[serde(default)]
    pub alert_rejected: bool,
    /// When the tracker next needs to look at this package (due index).
    #[serde(default)]
    pub next_check_at: Option<DateTime<Utc>>,
    /// Nothing more to do: terminal or given up.
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub abandoned: bool,
    /// `not_found` / `expired`, while no newer scan has come.
    #[serde(default)]
    pub age_status: Option<AgeStatus>,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Same identity already known.
    Duplicate,
    /// New, and the newest so far.
    New,
    /// New, but older than the latest known event (history only).
    OutOfOrder,
}

fn progress_rank(m: Milestone) -> u8 {
    m.progress_rank()
}

/// A status upsync derives from time passing, not from a scan: `not_found` (UPS still
/// has no data long after the label) or `expired` (no new scan for a long time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeStatus {
    pub status: Milestone,
    /// When upsync declared it.
    pub since: DateTime<Utc>,
    /// Time of the newest scan when it was declared: a newer scan ends it.
    #[serde(default)]
    pub scan_at: Option<DateTime<Utc>>,
}

/// Time limits for the statuses upsync derives ([`PackageTrack::apply_age`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgeLimits {
    /// No data at all (not even the label's manifest) this long after registration.
    pub not_found_after: chrono::Duration,
    /// No new scan this long: `expired`.
    pub stale_after: chrono::Duration,
}

fn is_date_update(e: &TrackingEvent) -> bool {
    e.status_type == "U"
}

impl PackageTrack {
    pub fn new(
        tracking_number: &str,
        job_id: &str,
        record_id: &str,
        connector: &str,
        now: DateTime<Utc>,
    ) -> PackageTrack {
        PackageTrack {
            tracking_number: tracking_number.to_string(),
            job_id: job_id.to_string(),
            record_id: record_id.to_string(),
            connector: connector.to_string(),
            registered_at: now,
            milestone: Milestone::LabelCreated,
            history: Vec::new(),
            last_event_id: None,
            last_event_at: None,
            estimated_delivery: None,
            estimated_as_of: None,
            delivered_at: None,
            received_by: None,
            signature: None,
            forced: None,
            last_update_at: now,
            poll_at: None,
            last_poll_at: None,
            polls: 0,
            needs_backfill: false,
            subscription: None,
            subscribe_retry_at: None,
            alert_rejected: false,
            next_check_at: None,
            done: false,
            abandoned: false,
            age_status: None,
        }
    }

    /// Add an event to the history (deduplicated by identity). Call [`Self::recompute`] after.
    pub fn add_event(&mut self, e: &TrackingEvent) -> Applied {
        let id = e.identity();
        if self.history.iter().any(|h| h.identity() == id) {
            return Applied::Duplicate;
        }
        let older = self.last_event_at.is_some_and(|t| e.time < t);
        self.history.push(e.clone());
        self.history
            .sort_by_key(|h| (h.time, progress_rank(h.milestone), h.status_code.clone()));
        if self.history.len() > MAX_HISTORY {
            if let Some(i) = self.history.iter().position(|h| !h.milestone.is_terminal()) {
                self.history.remove(i);
            }
        }
        if older {
            Applied::OutOfOrder
        } else {
            Applied::New
        }
    }

    /// Delivery extras from an event or a Track answer reporting the state as of `as_of`
    /// (its activity time). The estimate follows the newest report, whatever the arrival
    /// order; the rest only ever fills in or moves forward.
    pub fn add_extras(
        &mut self,
        as_of: DateTime<Utc>,
        estimated: Option<NaiveDate>,
        delivered_at: Option<DateTime<Utc>>,
        received_by: Option<&str>,
        signature: Option<&[u8]>,
    ) {
        if estimated.is_some() && self.estimated_as_of.is_none_or(|t| as_of >= t) {
            self.estimated_delivery = estimated;
            self.estimated_as_of = Some(as_of);
        }
        if let Some(d) = delivered_at {
            if self.delivered_at.is_none_or(|old| d > old) {
                self.delivered_at = Some(d);
            }
        }
        if let Some(r) = received_by.filter(|r| !r.is_empty()) {
            self.received_by = Some(r.to_string());
        }
        if let Some(s) = signature.filter(|s| !s.is_empty()) {
            self.signature = Some(s.to_vec());
        }
    }

    /// The latest progress event (ignoring `U` date updates unless there is nothing else).
    pub fn latest(&self) -> Option<&TrackingEvent> {
        self.history
            .iter()
            .rev()
            .find(|e| !is_date_update(e))
            .or(self.history.last())
    }

    /// The event the ERP shows as "latest scan": the last terminal event once the package is
    /// terminal (a late, bogus in-transit scan does not replace a delivery), else [`Self::latest`].
    pub fn shown_event(&self) -> Option<&TrackingEvent> {
        if self.milestone.is_terminal() {
            if let Some(e) = self
                .history
                .iter()
                .rev()
                .find(|e| e.milestone == self.milestone && !is_date_update(e))
            {
                return Some(e);
            }
        }
        self.latest()
    }

    /// Re-derive milestone and latest-event fields from the history; returns the milestone.
    pub fn recompute(&mut self) -> Milestone {
        let latest = self.latest().cloned();
        let last_terminal = self
            .history
            .iter()
            .rev()
            .find(|e| e.milestone.is_terminal() && !is_date_update(e));
        let derived = match (last_terminal, &latest) {
            (Some(t), _) => t.milestone,
            (None, Some(l)) if !is_date_update(l) => l.milestone,
            _ => Milestone::LabelCreated,
        };
        let newest_scan = self.latest().map(|e| e.time);
        if self.age_status.is_some_and(|a| a.scan_at != newest_scan) {
            // A scan came after upsync declared the parcel not found / expired.
            self.age_status = None;
        }
        self.milestone = match self.forced {
            Some(f) if f.is_terminal() && !derived.is_terminal() => f,
            Some(f) if f == Milestone::Voided => f,
            _ if derived.is_terminal() => derived,
            _ => self.age_status.map_or(derived, |a| a.status),
        };
        if self.milestone == Milestone::Delivered && self.delivered_at.is_none() {
            self.delivered_at = last_terminal
                .filter(|e| e.milestone == Milestone::Delivered)
                .map(|e| e.time);
        }
        self.last_event_id = latest.as_ref().map(|e| e.identity());
        self.last_event_at = self.history.last().map(|e| e.time);
        self.milestone
    }

    /// Time of the newest scan, else registration: what staleness is measured from.
    pub fn last_scan_or_registered(&self) -> DateTime<Utc> {
        self.latest()
            .map_or(self.registered_at, |e| e.time.max(self.registered_at))
    }

    /// When [`Self::apply_age`] would next change something (`None` once terminal).
    pub fn age_deadline(&self, limits: &AgeLimits) -> Option<DateTime<Utc>> {
        if self.milestone.is_terminal() || self.done {
            return None;
        }
        match self.age_status.map(|a| a.status) {
            Some(Milestone::Expired) => None,
            Some(_) => Some(self.last_scan_or_registered() + limits.stale_after),
            None if self.history.is_empty() => Some(
                (self.registered_at + limits.not_found_after)
                    .min(self.registered_at + limits.stale_after),
            ),
            None => Some(self.last_scan_or_registered() + limits.stale_after),
        }
    }

    /// Derive `not_found` / `expired` from time passing; returns whether the status
    /// changed. Terminal packages are left alone; a newer scan undoes it ([`Self::recompute`]).
    pub fn apply_age(&mut self, now: DateTime<Utc>, limits: &AgeLimits) -> bool {
        if self.milestone.is_terminal() {
            return false;
        }
        let scan_at = self.latest().map(|e| e.time);
        let quiet_since = self.last_scan_or_registered();
        let want = if now >= quiet_since + limits.stale_after {
            Some(Milestone::Expired)
        } else if self.history.is_empty() && now >= self.registered_at + limits.not_found_after {
            Some(Milestone::NotFound)
        } else {
            None
        };
        let have = self.age_status.map(|a| a.status);
        if want == have {
            return false;
        }
        self.age_status = want.map(|status| AgeStatus {
            status,
            since: now,
            scan_at,
        });
        let before = self.milestone;
        self.recompute();
        before != self.milestone
    }

    /// Since when the package has had its status: when upsync declared it not found /
    /// expired, else the time of the event the ERP shows.
    pub fn status_at(&self) -> Option<DateTime<Utc>> {
        match self.age_status {
            Some(a) if a.status == self.milestone => Some(a.since),
            _ => self.shown_event().map(|e| e.time),
        }
    }

    /// The package as the ERP should see it.
    pub fn snapshot(&self) -> TrackingSnapshot {
        let shown = self.shown_event();
        TrackingSnapshot {
            status_at: self.status_at(),
            history: self.history.clone(),
            tracking_number: self.tracking_number.clone(),
            milestone: self.milestone,
            latest: shown.cloned(),
            estimated_delivery: self.estimated_delivery,
            delivered_at: if self.milestone == Milestone::Delivered {
                self.delivered_at
            } else {
                None
            },
            received_by: if self.milestone == Milestone::Delivered {
                self.received_by.clone()
            } else {
                None
            },
            signature: if self.milestone == Milestone::Delivered {
                self.signature.clone()
            } else {
                None
            },
        }
    }
}

/// Per-job tracking record (`tracking` tree, key `j/<job id>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobTrack {
    pub job_id: String,
    pub connector: String,
    pub record_id: String,
    /// 1Z numbers in the job's package order.
    pub packages: Vec<String>,
    pub registered_at: DateTime<Utc>,
    /// SHA-256 (hex) of the last write-back plan applied.
    #[serde(default)]
    pub last_write_hash: Option<String>,
    #[serde(default)]
    pub last_written_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub writes: u32,
    /// The ledger job was moved out of `tracking` (delivered/voided): nothing left to do.
    #[serde(default)]
    pub finished: bool,
    /// Statuses written to the ERP record, in order, with the time each began.
    #[serde(default)]
    pub status_history: Vec<StatusMark>,
}

/// One status as written to the ERP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMark {
    pub status: Milestone,
    pub at: DateTime<Utc>,
}

/// Most statuses remembered per job (a parcel rarely has more than a dozen).
const MAX_STATUS_HISTORY: usize = 64;

impl JobTrack {
    /// Remember a status written to the ERP (a repeat of the last one is not a change).
    pub fn note_written_status(&mut self, status: Milestone, at: DateTime<Utc>) {
        if self.status_history.last().map(|m| m.status) == Some(status) {
            return;
        }
        self.status_history.push(StatusMark { status, at });
        if self.status_history.len() > MAX_STATUS_HISTORY {
            self.status_history.remove(0);
        }
    }
}

/// One snapshot for a job's ERP record from its packages' states.
///
/// * milestone: all terminal → `Delivered` if any was delivered, else `ReturnedToSender`
///   if any was, else `Voided`; otherwise the live package in the worst trouble
///   (exception, then delivery attempted, then expired, then not found), else the least
///   advanced live package.
/// * latest: the most recent event of any package.
/// * estimated delivery: the latest estimate among live packages.
/// * delivered at / received by / signature: only once every package is terminal, from the
///   last delivered package.
pub fn aggregate(packages: &[PackageTrack]) -> Option<TrackingSnapshot> {
    let first = packages.first()?;
    if packages.len() == 1 {
        return Some(first.snapshot());
    }
    let live: Vec<&PackageTrack> = packages
        .iter()
        .filter(|p| !p.milestone.is_terminal())
        .collect();
    let milestone = if live.is_empty() {
        if packages.iter().any(|p| p.milestone == Milestone::Delivered) {
            Milestone::Delivered
        } else if packages
            .iter()
            .any(|p| p.milestone == Milestone::ReturnedToSender)
        {
            Milestone::ReturnedToSender
        } else {
            Milestone::Voided
        }
    } else if let Some(m) = [
        Milestone::Exception,
        Milestone::DeliveryAttempted,
        Milestone::Expired,
        Milestone::NotFound,
    ]
    .into_iter()
    .find(|m| live.iter().any(|p| p.milestone == *m))
    {
        m
    } else {
        live.iter()
            .map(|p| p.milestone)
            .min_by_key(|m| progress_rank(*m))
            .unwrap_or(Milestone::LabelCreated)
    };
    let latest = packages
        .iter()
        .filter_map(|p| p.shown_event())
        .max_by_key(|e| (e.time, progress_rank(e.milestone)))
        .cloned();
    let estimated_delivery = live
        .iter()
        .filter_map(|p| p.estimated_delivery)
        .max()
        .or_else(|| packages.iter().filter_map(|p| p.estimated_delivery).max());
    let last_delivered = if live.is_empty() {
        packages
            .iter()
            .filter(|p| p.milestone == Milestone::Delivered)
            .max_by_key(|p| p.delivered_at)
    } else {
        None
    };
    let mut history: Vec<TrackingEvent> = packages
        .iter()
        .flat_map(|p| p.history.iter().cloned())
        .collect();
    history.sort_by_key(|e| (e.time, progress_rank(e.milestone)));
    if history.len() > MAX_HISTORY {
        history.drain(..history.len() - MAX_HISTORY);
    }
    let status_at = packages
        .iter()
        .filter(|p| p.milestone == milestone)
        .filter_map(PackageTrack::status_at)
        .max();
    Some(TrackingSnapshot {
        tracking_number: first.tracking_number.clone(),
        milestone,
        status_at,
        history,
        latest,
        estimated_delivery,
        delivered_at: last_delivered.and_then(|p| p.delivered_at),
        received_by: last_delivered.and_then(|p| p.received_by.clone()),
        signature: last_delivered.and_then(|p| p.signature.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn ev(ty: &str, code: &str, h: i64) -> TrackingEvent {
        TrackingEvent {
            tracking_number: "1Z123X560300000018".into(),
            milestone: Milestone::from_ups(ty, code),
            status_type: ty.into(),
            status_code: code.into(),
            status_number: String::new(),
            description: format!("{ty}/{code}"),
            time: t(h),
            location: Some("Charlotte, NC, US".into()),
        }
    }

    fn pkg() -> PackageTrack {
        PackageTrack::new("1Z123X560300000018", "erp/1/v1", "1", "erp", t(0))
    }

    #[test]
    fn any_order_and_duplicates_give_the_same_state() {
        let events = [
            ev("M", "MP", 0),
            ev("I", "OR", 5),
            ev("I", "DP", 9),
            ev("I", "OT", 30),
            ev("D", "FS", 33),
        ];
        let mut forward = pkg();
        for e in &events {
            forward.add_event(e);
        }
        forward.recompute();
        let mut backward = pkg();
        for e in events.iter().rev().chain(events.iter()) {
            backward.add_event(e);
        }
        backward.recompute();
        assert_eq!(forward.snapshot(), backward.snapshot());
        assert_eq!(backward.milestone, Milestone::Delivered);
        assert_eq!(backward.history.len(), 5);
        assert_eq!(backward.delivered_at, Some(t(33)));
    }

    #[test]
    fn delivered_is_sticky_even_against_later_stamped_in_transit() {
        let mut p = pkg();
        p.add_event(&ev("D", "FS", 10));
        p.recompute();
        assert_eq!(p.add_event(&ev("I", "OT", 8)), Applied::OutOfOrder);
        p.recompute();
        assert_eq!(p.milestone, Milestone::Delivered);
        // Even a (bogus) in-transit scan stamped after delivery does not undo it.
        p.add_event(&ev("I", "AR", 12));
        p.recompute();
        assert_eq!(p.milestone, Milestone::Delivered);
        assert_eq!(p.snapshot().latest.unwrap().status_code, "FS");
        assert_eq!(p.add_event(&ev("D", "FS", 10)), Applied::Duplicate);
    }

    #[test]
    fn date_updates_do_not_change_the_milestone() {
        let mut p = pkg();
        p.add_event(&ev("I", "OT", 10));
        p.add_event(&ev("U", "UD", 11));
        p.recompute();
        assert_eq!(p.milestone, Milestone::OutForDelivery);
        assert_eq!(p.latest().unwrap().status_code, "OT");
    }

    #[test]
    fn estimate_follows_the_newest_report_not_the_last_arrival() {
        let mut p = pkg();
        let d = |day| NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
        p.add_extras(t(30), Some(d(6)), None, None, None);
        p.add_extras(t(10), Some(d(4)), None, None, None);
        assert_eq!(p.estimated_delivery, Some(d(6)));
        p.add_extras(t(31), Some(d(7)), None, None, None);
        assert_eq!(p.estimated_delivery, Some(d(7)));
    }

    fn limits() -> AgeLimits {
        AgeLimits {
            not_found_after: Duration::hours(24),
            stale_after: Duration::days(10),
        }
    }

    #[test]
    fn no_data_is_not_found_then_expired_and_a_scan_ends_it() {
        let mut p = pkg();
        assert!(!p.apply_age(t(23), &limits()));
        assert_eq!(p.milestone, Milestone::LabelCreated);
        assert_eq!(p.age_deadline(&limits()), Some(t(24)));
        assert!(p.apply_age(t(24), &limits()));
        assert_eq!(p.milestone, Milestone::NotFound);
        assert_eq!(p.snapshot().status_at, Some(t(24)));
        assert!(!p.apply_age(t(30), &limits()), "no change, no write");
        assert!(p.apply_age(t(240), &limits()));
        assert_eq!(p.milestone, Milestone::Expired);
        assert_eq!(p.age_deadline(&limits()), None);
        // UPS finally scans it: the real status comes back.
        p.add_event(&ev("I", "OR", 250));
        p.recompute();
        assert_eq!(p.milestone, Milestone::PickedUp);
        assert_eq!(p.age_status, None);
    }

    #[test]
    fn a_quiet_parcel_expires_from_its_newest_scan_and_terminal_never_does() {
        let mut p = pkg();
        p.add_event(&ev("M", "MP", 0));
        p.add_event(&ev("I", "DP", 30));
        p.recompute();
        assert!(
            !p.apply_age(t(24 * 10), &limits()),
            "only 210 h since the scan"
        );
        assert_eq!(p.age_deadline(&limits()), Some(t(30 + 240)));
        assert!(p.apply_age(t(30 + 240), &limits()));
        assert_eq!(p.milestone, Milestone::Expired);
        let mut d = pkg();
        d.add_event(&ev("D", "FS", 5));
        d.recompute();
        assert!(!d.apply_age(t(24 * 90), &limits()));
        assert_eq!(d.milestone, Milestone::Delivered);
        assert_eq!(d.age_deadline(&limits()), None);
    }

    #[test]
    fn aggregate_shows_the_worst_trouble_of_live_packages() {
        let mut a = pkg();
        a.add_event(&ev("X", "UD", 20));
        a.recompute();
        assert_eq!(a.milestone, Milestone::DeliveryAttempted);
        let mut b = PackageTrack::new("1Z123X560300000027", "erp/1/v1", "1", "erp", t(0));
        b.add_event(&ev("I", "OT", 21));
        b.recompute();
        let s = aggregate(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(s.milestone, Milestone::DeliveryAttempted);
        assert_eq!(s.history.len(), 2);
        b.add_event(&ev("X", "WD", 22));
        b.recompute();
        assert_eq!(aggregate(&[a, b]).unwrap().milestone, Milestone::Exception);
    }

    #[test]
    fn written_statuses_skip_repeats() {
        let mut j = JobTrack {
            job_id: "j".into(),
            connector: "erp".into(),
            record_id: "1".into(),
            packages: vec![],
            registered_at: t(0),
            last_write_hash: None,
            last_written_at: None,
            writes: 0,
            finished: false,
            status_history: vec![],
        };
        for (m, h) in [
            (Milestone::InTransit, 1),
            (Milestone::InTransit, 2),
            (Milestone::Delivered, 3),
        ] {
            j.note_written_status(m, t(h));
        }
        let got: Vec<Milestone> = j.status_history.iter().map(|m| m.status).collect();
        assert_eq!(got, [Milestone::InTransit, Milestone::Delivered]);
    }

    #[test]
    fn forced_void_wins() {
        let mut p = pkg();
        p.add_event(&ev("I", "OR", 1));
        p.forced = Some(Milestone::Voided);
        p.recompute();
        assert_eq!(p.milestone, Milestone::Voided);
    }

    #[test]
    fn aggregate_shows_least_advanced_until_all_terminal() {
        let mut a = pkg();
        a.add_event(&ev("D", "FS", 20));
        a.add_extras(t(20), None, None, Some("JOHN"), Some(b"sig"));
        a.recompute();
        let mut b = PackageTrack::new("1Z123X560300000027", "erp/1/v1", "1", "erp", t(0));
        b.add_event(&ev("I", "DP", 10));
        b.recompute();
        let s = aggregate(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(s.milestone, Milestone::InTransit);
        assert_eq!(s.latest.as_ref().unwrap().status_code, "FS");
        assert_eq!(s.delivered_at, None);
        b.add_event(&ev("D", "FS", 25));
        b.recompute();
        let s = aggregate(&[a, b]).unwrap();
        assert_eq!(s.milestone, Milestone::Delivered);
        assert_eq!(s.delivered_at, Some(t(25)));
    }
}
