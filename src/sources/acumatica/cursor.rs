//! The Acumatica incremental-read cursor (the JSON inside [`crate::sources::Cursor`]).
//!
//! A *scan* reads the ready-to-ship filter with `LastModifiedDateTime ge (since − overlap)`
//! (or, every `full_scan_every_scans` scans, the whole ready set without the time filter).
//! A list answer is a bare array in **no promised order**: the contract has no `$orderby`
//! (ERP-NOTES §A3), so `$top/$skip` pages may overlap and leave records out. A scan therefore
//! never pages with `$skip`; it reads **windows** — time ranges `[from, before)`, narrowed
//! by ranges of the first key field when more than a page share one timestamp — each asked
//! with `$top = page_size`:
//!
//! * an answer shorter than `page_size` holds the whole window, whatever its order: its
//!   records are handed out and the window is done;
//! * a full answer is not trusted: the window is split at the median time (or key) of the
//!   rows it returned and the parts are read instead ([`split`]). Each part leaves out at
//!   least one returned row, so splitting ends.
//!
//! Cursor fields:
//! * `since` — the latest modification time seen by the last complete scan;
//! * `seen` — `(id, version)` of every record at `≥ since − overlap` that was already
//!   handed out, so the overlap (and ties on `since` itself) is never emitted twice;
//! * `scan` — the scan in progress: windows still to read, the latest time so far and the
//!   records that will form the next `seen`;
//! * `scans_since_full` — complete scans since the last full scan.
//!
//! The pipeline stores the cursor only after the page's records are in the ledger, so a
//! restart resumes at the window after the last recorded one.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A record already handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenRecord {
    pub id: String,
    pub version: String,
    pub at: DateTime<Utc>,
}

/// A slice of the ready set: `LastModifiedDateTime` in `[from, before)` and the first key
/// field in `[key_from, key_before)`; `None` = unbounded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_before: Option<String>,
    /// Splits that led here. Median splits need about log2(records / page_size); a window
    /// deeper than [`MAX_SPLIT_DEPTH`] means the instance orders keys differently from us
    /// (collation) and splitting makes no progress: its answer is then taken as it is.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub depth: u32,
}

/// See [`Window::depth`].
pub const MAX_SPLIT_DEPTH: u32 = 64;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A scan in progress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanState {
    /// Windows still to read; the next one is **last**.
    #[serde(default)]
    pub pending: Vec<Window>,
    /// Latest modification time read so far in this scan.
    #[serde(default)]
    pub max: Option<DateTime<Utc>>,
    /// Records of this scan at `≥ max − overlap` (the next `seen`).
    #[serde(default)]
    pub window: Vec<SeenRecord>,
    /// A full scan (no time filter).
    #[serde(default)]
    pub full: bool,
}

/// The cursor (version 2; a version-1 cursor's scan in progress starts over).
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
    /// Complete scans since the last full scan.
    #[serde(default)]
    pub scans_since_full: u32,
}

fn one() -> u32 {
    1
}

/// Millisecond precision: what a `$filter` date-time literal carries.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Split a window whose answer was full into parts, in reading order. `rows` are the
/// `(LastModifiedDateTime, first key value)` of the answer. Every part leaves out at least
/// one returned row, so repeated splitting ends; `None` when no part could (one time and
/// one key: only possible with `page_size` 1) or the window is [`MAX_SPLIT_DEPTH`] deep.
pub fn split(w: &Window, rows: &[(DateTime<Utc>, String)]) -> Option<Vec<Window>> {
    if w.depth >= MAX_SPLIT_DEPTH {
        return None;
    }
    let w = &Window {
        depth: w.depth + 1,
        ..w.clone()
    };
    let mut times: Vec<DateTime<Utc>> = rows.iter().map(|(t, _)| ms(*t)).collect();
    times.sort();
    times.dedup();
    if times.len() >= 2 {
        let m = times[times.len() / 2];
        return Some(vec![
            Window {
                before: Some(m),
                ..w.clone()
            },
            Window {
                from: Some(m),
                ..w.clone()
            },
        ]);
    }
    let t = *times.first()?;
    let next = t + Duration::milliseconds(1);
    if w.from != Some(t) || w.before != Some(next) {
        // Every row has time t: read [t, t+1ms) on its own, and what lies around it.
        let mut parts = Vec::new();
        if w.from.is_none_or(|f| f < t) {
            parts.push(Window {
                before: Some(t),
                ..w.clone()
            });
        }
        parts.push(Window {
            from: Some(t),
            before: Some(next),
            ..w.clone()
        });
        if w.before.is_none_or(|b| b > next) {
            parts.push(Window {
                from: Some(next),
                ..w.clone()
            });
        }
        return Some(parts);
    }
    let mut keys: Vec<&str> = rows.iter().map(|(_, k)| k.as_str()).collect();
    keys.sort();
    keys.dedup();
    if keys.len() < 2 {
        return None;
    }
    let k = keys[keys.len() / 2].to_string();
    Some(vec![
        Window {
            key_before: Some(k.clone()),
            ..w.clone()
        },
        Window {
            key_from: Some(k),
            ..w.clone()
        },
    ])
}

/// Cut a window into consecutive parts holding at most `per` of `rows` each, by time (rows
/// of one millisecond stay together; a part that still comes back full is [`split`] as
/// usual), in reading order. The parts cover the window exactly, whatever `rows` missed.
/// `rows` are the `(LastModifiedDateTime, first key value)` of a probe of the window (its
/// rows with two fields each, `AcumaticaSource::probe`): a backlog is then read in about
/// N / `per` requests instead of the ~2N / `page_size` of median splits, each of whose
/// full answers is read and thrown away. `None` when that gives fewer than two parts.
pub fn partition(w: &Window, rows: &[(DateTime<Utc>, String)], per: usize) -> Option<Vec<Window>> {
    if w.depth >= MAX_SPLIT_DEPTH {
        return None;
    }
    let per = per.max(1);
    let mut times: Vec<DateTime<Utc>> = rows.iter().map(|(t, _)| ms(*t)).collect();
    times.sort();
    let mut cuts = Vec::new();
    let mut in_part = 0;
    for group in times.chunk_by(|a, b| a == b) {
        if in_part > 0 && in_part + group.len() > per {
            cuts.push(group[0]);
            in_part = 0;
        }
        in_part += group.len();
    }
    if cuts.is_empty() {
        return None;
    }
    let part = |from, before| Window {
        from,
        before,
        depth: w.depth + 1,
        ..w.clone()
    };
    let mut parts = Vec::with_capacity(cuts.len() + 1);
    let mut from = w.from;
    for c in cuts {
        parts.push(part(from, Some(c)));
        from = Some(c);
    }
    parts.push(part(from, w.before));
    Some(parts)
}

impl AcumaticaCursor {
    /// Lower bound of the `$filter` for the current scan.
    pub fn from_time(&self, overlap: Duration) -> Option<DateTime<Utc>> {
        self.since.map(|s| s - overlap)
    }

    /// Start a scan unless one is in progress (a version-1 scan, which paged with `$skip`,
    /// starts over). `full_every`: every that many scans read the whole ready set (0 = never).
    pub fn begin(&mut self, overlap: Duration, full_every: u32) {
        if self.scan.as_ref().is_some_and(|s| !s.pending.is_empty()) {
            return;
        }
        let full =
            self.since.is_none() || (full_every > 0 && self.scans_since_full + 1 >= full_every);
        self.v = 2;
        self.scan = Some(ScanState {
            pending: vec![Window {
                from: if full { None } else { self.from_time(overlap) },
                ..Window::default()
            }],
            full,
            ..ScanState::default()
        });
    }

    /// Was this exact record version already handed out by an earlier scan? (One record;
    /// the connector asks [`Self::seen_among`] for a whole answer.)
    #[cfg(test)]
    pub fn already_seen(&self, id: &str, version: &str) -> bool {
        self.seen.iter().any(|s| s.id == id && s.version == version)
    }

    /// The records of `heads` (id, version) that an earlier scan already handed out: one
    /// pass over `seen`, whatever the answer's size (a busy overlap holds thousands).
    pub fn seen_among(&self, heads: &[(&str, &str)]) -> Vec<bool> {
        let seen: std::collections::HashSet<(&str, &str)> = self
            .seen
            .iter()
            .map(|s| (s.id.as_str(), s.version.as_str()))
            .collect();
        heads.iter().map(|h| seen.contains(h)).collect()
    }

    /// Note the records of one answer of the current scan (emitted or not), as [`Self::note`]
    /// one by one would, in one pass over the scan's window.
    pub fn note_all(&mut self, recs: Vec<SeenRecord>, overlap: Duration) {
        let scan = self.scan.get_or_insert_with(ScanState::default);
        let Some(top) = recs.iter().map(|r| r.at).max() else {
            return;
        };
        let max = scan.max.map_or(top, |m| m.max(top));
        scan.max = Some(max);
        let fresh: Vec<SeenRecord> = {
            let have: std::collections::HashSet<(&str, &str)> = scan
                .window
                .iter()
                .map(|s| (s.id.as_str(), s.version.as_str()))
                .collect();
            let mut new = std::collections::HashSet::new();
            recs.into_iter()
                .filter(|r| {
                    !have.contains(&(r.id.as_str(), r.version.as_str()))
                        && new.insert((r.id.clone(), r.version.clone()))
                })
                .collect()
        };
        scan.window.extend(fresh);
        scan.window.retain(|s| s.at >= max - overlap);
    }

    /// Note a record read by the current scan (emitted or not): the definition
    /// [`Self::note_all`] is tested against.
    #[cfg(test)]
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
            if scan.full {
                self.scans_since_full = 0;
            } else {
                self.scans_since_full = self.scans_since_full.saturating_add(1);
            }
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
    fn a_partition_covers_the_window_in_parts_of_at_most_per_rows() {
        // 10 rows at seconds 0..9, and 4 more sharing second 5.
        let mut rows: Vec<(DateTime<Utc>, String)> =
            (0..10).map(|s| (at(s), format!("k{s}"))).collect();
        rows.extend((0..4).map(|i| (at(5), format!("t{i}"))));
        let w = Window {
            from: Some(at(-1)),
            before: None,
            key_from: Some("k".into()),
            ..Window::default()
        };
        let parts = partition(&w, &rows, 4).unwrap();
        // Consecutive, from the window's start to its (open) end, keys kept, one level deeper.
        assert_eq!(parts.first().unwrap().from, w.from);
        assert_eq!(parts.last().unwrap().before, None);
        for pair in parts.windows(2) {
            assert_eq!(pair[0].before, pair[1].from);
        }
        assert!(parts
            .iter()
            .all(|p| p.depth == 1 && p.key_from == w.key_from));
        // Each part holds at most 4 rows, except a group of one millisecond larger than
        // that (second 5: 5 rows), which stays whole in its own part.
        let count = |p: &Window| {
            rows.iter()
                .filter(|(t, _)| p.from.is_none_or(|f| *t >= f) && p.before.is_none_or(|b| *t < b))
                .count()
        };
        let counts: Vec<usize> = parts.iter().map(count).collect();
        assert_eq!(counts.iter().sum::<usize>(), rows.len());
        assert_eq!(counts, [4, 1, 5, 4]);
        // Nothing to cut: one part would do.
        assert_eq!(partition(&w, &rows[..3], 4), None);
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

    /// One answer noted at once leaves the window, boundary and `seen` that noting its
    /// records one by one leaves (duplicates, reruns and records older than the overlap).
    #[test]
    fn noting_an_answer_at_once_equals_noting_it_record_by_record() {
        let o = Duration::seconds(2);
        let answers = [
            vec![("a", 0), ("b", 5), ("c", 4), ("b", 5)],
            vec![("d", 5), ("e", 1), ("a", 0), ("f", 9)],
            vec![],
            vec![("g", 8), ("f", 9), ("h", 3)],
        ];
        let rec = |(id, s): &(&str, i64)| SeenRecord {
            id: id.to_string(),
            version: s.to_string(),
            at: at(*s),
        };
        let (mut one, mut all) = (AcumaticaCursor::default(), AcumaticaCursor::default());
        for a in &answers {
            for r in a {
                one.note(rec(r), o);
            }
            all.note_all(a.iter().map(rec).collect(), o);
            assert_eq!(
                one.scan.as_ref().map(|s| &s.window),
                all.scan.as_ref().map(|s| &s.window)
            );
        }
        one.complete();
        all.complete();
        assert_eq!(one, all);
        let ids: Vec<&str> = all.seen.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["g", "f"]);
        assert_eq!(
            all.seen_among(&[("f", "9"), ("f", "8"), ("a", "0")]),
            [true, false, false]
        );
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

    fn rows(v: &[(i64, &str)]) -> Vec<(DateTime<Utc>, String)> {
        v.iter().map(|(t, k)| (at(*t), k.to_string())).collect()
    }

    /// Splitting ends in windows that each leave out some rows of the full answer: first by
    /// time, then around a single time, then by key.
    #[test]
    fn full_windows_split_by_time_then_by_key() {
        let w = Window::default();
        let parts = split(&w, &rows(&[(3, "a"), (1, "b"), (2, "c"), (1, "d")])).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].before, Some(at(2)));
        assert_eq!(parts[1].from, Some(at(2)));

        // One time: read it on its own (plus the unbounded sides).
        let one_time = rows(&[(5, "a"), (5, "b"), (5, "c")]);
        let parts = split(&w, &one_time).unwrap();
        assert_eq!(parts.len(), 3);
        let exact = parts[1].clone();
        assert_eq!(exact.from, Some(at(5)));
        assert_eq!(exact.before, Some(at(5) + Duration::milliseconds(1)));
        // Still full: split by key.
        let parts = split(&exact, &one_time).unwrap();
        assert_eq!(parts[0].key_before.as_deref(), Some("b"));
        assert_eq!(parts[1].key_from.as_deref(), Some("b"));
        assert_eq!(parts[1].from, Some(at(5)));
        // One key left: nothing to split.
        assert!(split(&parts[1], &rows(&[(5, "b")])).is_none());
        assert_eq!(parts[1].depth, 2);
        // No progress possible (e.g. another collation): splitting stops at the cap.
        let deep = Window {
            depth: MAX_SPLIT_DEPTH,
            ..Window::default()
        };
        assert!(split(&deep, &rows(&[(1, "a"), (2, "b")])).is_none());
    }

    #[test]
    fn every_nth_scan_reads_the_whole_ready_set() {
        let o = Duration::seconds(5);
        let mut c = AcumaticaCursor::default();
        c.begin(o, 3);
        assert!(
            c.scan.as_ref().unwrap().full,
            "the first scan reads everything"
        );
        c.note(
            SeenRecord {
                id: "a".into(),
                version: "1".into(),
                at: at(10),
            },
            o,
        );
        c.complete();
        let mut fulls = Vec::new();
        for _ in 0..6 {
            c.begin(o, 3);
            let scan = c.scan.as_ref().unwrap();
            fulls.push(scan.full);
            assert_eq!(
                scan.pending[0].from,
                if scan.full { None } else { Some(at(5)) }
            );
            c.complete();
        }
        assert_eq!(fulls, [false, false, true, false, false, true]);
        // A version-1 cursor with a `$skip` scan in progress starts over.
        let mut old: AcumaticaCursor = serde_json::from_value(serde_json::json!(
            {"v": 1, "since": at(10), "scan": {"skip": 300, "last_page": ["x"]}}
        ))
        .unwrap();
        old.begin(o, 0);
        assert_eq!(old.scan.unwrap().pending.len(), 1);
    }
}
