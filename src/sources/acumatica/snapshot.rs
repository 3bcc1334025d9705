//! What the listing read of a shipment carried, kept for its write-back (issue 24): the
//! record's `id`, key field values, `Status`, `Packages[]` (line `id`s and values),
//! `files` when expanded, and the document's custom fields with their types.
//!
//! A write-back needs exactly those facts (which line a 1Z goes to, which files are
//! attached, whether the shipment is already confirmed, which custom-field type to send):
//! before this, it read them again with one `GET …/Shipment/{id}?$expand=Packages,files`
//! per write (ERP-NOTES §A3, §A4). The list page that made the job already had them, so
//! the connector keeps a small copy per record, takes it at write-back (once: a second
//! write-back of the same record, a retry after an error, or a write-back of a record
//! this process did not list, e.g. after a restart, reads the record again) and falls back
//! to the GET when it is missing or older than `reuse_listing_seconds`.
//!
//! Why this keeps write-back idempotent: the copy is taken out before the first request,
//! so a repeated plan sees the record as Acumatica has it now (the GET), and a file PUT of
//! a name already attached replaces that file with the same bytes (ACU-SPEC
//! `PutFile`: the file is addressed by its name). Without `files` in the listing's
//! `$expand`, labels are sent once per first write-back; with it, the listing tells.
//!
//! Must never: hold what the pipeline needs to survive a restart (it is a cache: losing
//! it costs one GET per write-back), grow without bound (oldest entries go first past
//! [`MAX_ENTRIES`]), or keep addresses, details or order lines (they are dropped here).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Records kept at most; past it the oldest are dropped (their write-backs read first).
pub(crate) const MAX_ENTRIES: usize = 20_000;

/// Is this field of a wire record one a write-back reads (header values in `{"value": …}`
/// wrappers, `id`, `note`, the typed custom fields, `Packages` and `files`)?
fn kept(k: &str, v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Null => true,
        Value::Object(o) => k == "custom" || o.contains_key("value") || o.is_empty(),
        Value::Array(_) => k == "Packages" || k == "files",
    }
}

/// The parts of a wire record a write-back reads, as JSON text, written from the record
/// without copying it first.
fn trimmed_json(wire: &Map<String, Value>) -> Vec<u8> {
    struct Trimmed<'a>(&'a Map<String, Value>);
    impl serde::Serialize for Trimmed<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().filter(|(k, v)| kept(k, v)))
        }
    }
    serde_json::to_vec(&Trimmed(wire)).unwrap_or_default()
}

struct Entry {
    /// The trimmed record as JSON text: a third of a `Value`'s memory (a backlog of
    /// thousands of listed records waits here for its jobs).
    wire: Box<[u8]>,
    at: Instant,
    /// Distinguishes a refreshed entry from the one queued for eviction.
    seq: u64,
}

/// Listing copies by record id.
#[derive(Default)]
pub(crate) struct Snapshots {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Entry>,
    order: VecDeque<(String, u64, Instant)>,
    seq: u64,
    /// Write-backs that found a copy / that had to read the record first.
    hits: u64,
    misses: u64,
}

impl Snapshots {
    /// Keep what `wire` (one record of a list or GET answer) carries for its write-back;
    /// entries older than `max_age` (useless by then) and past [`MAX_ENTRIES`] go.
    pub(crate) fn keep(&self, wire: &Value, max_age: Duration) {
        if max_age.is_zero() {
            return;
        }
        let Some(obj) = wire.as_object() else {
            return;
        };
        let Some(id) = obj.get("id").and_then(|i| i.as_str()) else {
            return;
        };
        let kept = trimmed_json(obj).into_boxed_slice();
        let now = Instant::now();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.seq += 1;
        let seq = g.seq;
        g.by_id.insert(
            id.to_string(),
            Entry {
                wire: kept,
                at: now,
                seq,
            },
        );
        g.order.push_back((id.to_string(), seq, now));
        while let Some((old, s, at)) = g.order.front() {
            let over = g.by_id.len() > MAX_ENTRIES || g.order.len() > 2 * MAX_ENTRIES;
            let stale = now.duration_since(*at) > max_age;
            let gone = g.by_id.get(old).is_none_or(|e| e.seq != *s);
            if !(over || stale || gone) {
                break;
            }
            let (old, s, _) = g.order.pop_front().expect("front exists");
            if g.by_id.get(&old).is_some_and(|e| e.seq == s) {
                g.by_id.remove(&old);
            }
        }
    }

    /// Take the copy of `id` out if it is younger than `max_age` (zero = never reuse).
    pub(crate) fn take(&self, id: &str, max_age: Duration) -> Option<Value> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let e = g.by_id.remove(id);
        let fresh = e.filter(|e| !max_age.is_zero() && e.at.elapsed() <= max_age);
        if fresh.is_some() {
            g.hits += 1;
        } else {
            g.misses += 1;
        }
        fresh.and_then(|e| serde_json::from_slice(&e.wire).ok())
    }

    /// `(reused, read first)` write-backs so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (g.hits, g.misses)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_id
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(id: &str) -> Value {
        json!({"id": id, "rowNumber": 1, "ShipmentNbr": {"value": "000001"},
            "Status": {"value": "Open"}, "note": {"value": ""},
            "ShippingSettings": {"ShipToAddress": {"AddressLine1": {"value": "1 Main St"}}},
            "Details": [{"id": "d1"}], "Orders": [{"id": "o1"}],
            "Packages": [{"id": "p1", "TrackingNbr": {}}],
            "custom": {"Document": {"UsrUpsReference": {"type": "CustomStringField"}}}})
    }

    #[test]
    fn keeps_what_write_back_reads_and_drops_addresses_and_lines() {
        let s = Snapshots::default();
        s.keep(&rec("a"), Duration::from_secs(60));
        let w = s.take("a", Duration::from_secs(60)).unwrap();
        assert_eq!(w["ShipmentNbr"]["value"], "000001");
        assert_eq!(w["Packages"][0]["id"], "p1");
        assert_eq!(
            w["custom"]["Document"]["UsrUpsReference"]["type"],
            "CustomStringField"
        );
        for gone in ["ShippingSettings", "Details", "Orders"] {
            assert!(w.get(gone).is_none(), "{gone} kept");
        }
        // Taken once: the next write-back of the record reads it again.
        assert!(s.take("a", Duration::from_secs(60)).is_none());
        assert_eq!(s.counts(), (1, 1));
    }

    #[test]
    fn zero_age_keeps_nothing_and_never_reuses() {
        let s = Snapshots::default();
        s.keep(&rec("a"), Duration::ZERO);
        assert_eq!(s.len(), 0);
        s.keep(&rec("b"), Duration::from_secs(60));
        assert_eq!(s.len(), 1);
        assert!(s.take("b", Duration::ZERO).is_none());
        assert_eq!(s.len(), 0);
    }
}
