//! The Acumatica incremental-read cursor (the JSON inside [`crate::sources::Cursor`]).
//!
//! A *scan* reads `LastModifiedDateTime ge (since − overlap)` plus the ready-to-ship
//! filters in `$top/$skip` pages. Acumatica returns a bare array in its own (key) order,
//! not by time, so `since` can only move when a scan is complete:
//!
//! * `since` — the latest modification time seen by the last complete scan;
//! * `seen` — `(id, version)` of every record at `≥ since − overlap` that was already
//!   handed out, so the overlap (and ties on `since` itself) is never emitted twice;
//! * `scan` — the scan in progress: next `$skip`, the latest time so far, the records
//!   that will form the next `seen`, and the ids of the previous page's last rows (each
//!   page re-reads a few rows before `$skip`, so records dropping out of the filter
//!   mid-scan cannot make the list shift past an unread record).
//!
//! The pipeline stores the cursor only after the page's records are in the ledger, so a
//! restart resumes at the page after the last recorded one and re-reads nothing older.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A record already handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    pub id: String,
    pub version: String,
    pub at: DateTime<Utc>,
}

/// A scan in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanState {
    /// `$skip` of the next page.
    pub skip: u64,
    /// Latest modification time read so far in this scan.
    #[serde(default)]
    pub max: Option<DateTime<Utc>>,
    /// Records of this scan at `≥ max − overlap` (the next `seen`).
    #[serde(default)]
    pub window: Vec<SeenRecord>,
    /// Ids of the last rows of the previous page (anchors the next, overlapping page).
    #[serde(default)]
    pub last_page: Vec<String>,
}

/// The cursor (version 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcumaticaCursor {
    #[serde(default = "one")]
    pub v: u32,
    /// Boundary of the last complete scan; `None` = read everything ready.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub seen: Vec<SeenRecord>,
    #[serde(default)]
    pub scan: Option<ScanState>,
}

fn one() -> u32 {
    1
}

impl AcumaticaCursor {
    /// Lower bound of the `$filter` for the current scan.
    pub fn from_time(&self, overlap: Duration) -> Option<DateTime<Utc>> {
        self.since.map(|s| s - overlap)
    }

    /// Was this exact record version already handed out by an earlier scan?
    pub fn already_seen(&self, id: &str, version: &str) -> bool {
        self.seen.iter().any(|s| s.id == id && s.version == version)
    }

    /// Note a record read by the current scan (emitted or not).
    pub fn note(&mut self, rec: SeenRecord, overlap: Duration) {
        let scan = self.scan.get_or_insert_with(ScanState::default);
        let max = scan.max.map_or(rec.at, |m| m.max(rec.at));
        scan.max = Some(max);
        if !scan
            .window
            .iter()
            .any(|s| s.id == rec.id && s.version == rec.version)
        {
            scan.window.push(rec);
        }
        scan.window.retain(|s| s.at >= max - overlap);
    }

    /// Finish the scan: move `since` to the latest time seen (if any record was read).
    pub fn complete(&mut self) {
        if let Some(scan) = self.scan.take() {
            if let Some(max) = scan.max {
                self.since = Some(self.since.map_or(max, |s| s.max(max)));
                let mut seen = scan.window;
                seen.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
                self.seen = seen;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn window_keeps_only_the_overlap_before_the_max() {
        let mut c = AcumaticaCursor::default();
        let o = Duration::seconds(2);
        for (id, s) in [("a", 0), ("b", 5), ("c", 4), ("d", 5), ("e", 1)] {
            c.note(
                SeenRecord {
                    id: id.into(),
                    version: s.to_string(),
                    at: at(s),
                },
                o,
            );
        }
        c.complete();
        assert_eq!(c.since, Some(at(5)));
        let ids: Vec<&str> = c.seen.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "d"]);
        assert!(c.already_seen("b", "5"));
        assert!(!c.already_seen("b", "6"));
        assert_eq!(c.from_time(o), Some(at(3)));
    }

    #[test]
    fn an_empty_scan_keeps_the_boundary() {
        let mut c = AcumaticaCursor {
            since: Some(at(9)),
            seen: vec![SeenRecord {
                id: "x".into(),
                version: "9".into(),
                at: at(9),
            }],
            ..Default::default()
        };
        c.scan = Some(ScanState::default());
        c.complete();
        assert_eq!(c.since, Some(at(9)));
        assert_eq!(c.seen.len(), 1);
    }
}
