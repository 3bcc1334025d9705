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
//! A copy is kept with every header value (the plan is not known when the page is read) and
//! taken with only what its plan reads built into `Value`s ([`Wanted`]); the rest of the
//! text is skipped.
//!
//! Must never: hold what the pipeline needs to survive a restart (it is a cache: losing
//! it costs one GET per write-back), grow without bound (oldest entries go first past
//! [`MAX_ENTRIES`]), or keep addresses, details or order lines (they are dropped here).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::model::WriteBack;

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

/// The fields of a kept record one write-back reads: the header keys its plan compares
/// (first path segments), the record's `id`, `Status`, key fields, `files`, `custom` and
/// `Packages`, and of each package line its `id` and the keys the plan's lines compare.
///
/// A kept record carries every header value of the listing (its plan is not known when it
/// is kept); building all of them into `Value`s at each write-back, to read a handful, and
/// dropping them was 151 of the daemon's 2,706 perf samples in the Acumatica bench at six
/// sessions (issue 24, session 16; 70 with this). The rest of the text is skipped unbuilt.
#[derive(Debug, Default)]
pub(crate) struct Wanted<'a> {
    header: Vec<&'a str>,
    line: Vec<&'a str>,
}

impl<'a> Wanted<'a> {
    /// What a write-back of `plan` reads, for a record whose key fields are `key_fields`.
    pub(crate) fn for_plan(plan: &'a WriteBack, key_fields: &'a [String]) -> Wanted<'a> {
        let first = |p: &'a str| super::codec::path_segments(p).first().copied();
        let mut header: Vec<&'a str> = vec!["id", "Status", "files", "custom", "Packages"];
        header.extend(key_fields.iter().map(String::as_str));
        header.extend(plan.fields.iter().filter_map(|(p, _)| first(p)));
        let mut line: Vec<&'a str> = vec!["id"];
        line.extend(
            plan.package_lines
                .iter()
                .flat_map(|(_, f)| f.iter())
                .filter_map(|(p, _)| first(p)),
        );
        for v in [&mut header, &mut line] {
            v.sort_unstable();
            v.dedup();
        }
        Wanted { header, line }
    }

    /// `text` (a kept record) with only the wanted fields; `None` when it is not a JSON
    /// object.
    fn parse(&self, text: &[u8]) -> Option<Value> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let v = serde::de::DeserializeSeed::deserialize(
            Pick {
                keys: &self.header,
                lines: Some(&self.line),
            },
            &mut de,
        )
        .ok()?;
        de.end().ok()?;
        Some(v)
    }
}

/// An object with only `keys` built; `Packages` lines picked by `lines` when given.
struct Pick<'w> {
    keys: &'w [&'w str],
    lines: Option<&'w [&'w str]>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Pick<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Pick<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(Key(k)) = m.next_key::<Key<'de>>()? {
            if self.keys.binary_search(&k.as_ref()).is_err() {
                m.next_value::<serde::de::IgnoredAny>()?;
                continue;
            }
            let v = match self.lines {
                Some(lines) if k == "Packages" => m.next_value_seed(Lines(lines))?,
                _ => m.next_value::<Value>()?,
            };
            out.insert(k.into_owned(), v);
        }
        Ok(Value::Object(out))
    }
}

/// A `Packages` array (or `null`) whose lines are picked by the given keys. A line that is
/// not an object fails the parse: the copy is then not used and the write-back reads the
/// record (as for a missing copy).
struct Lines<'w>(&'w [&'w str]);

impl<'de> serde::de::DeserializeSeed<'de> for Lines<'_> {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Lines<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of package lines")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut s: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        let pick = || Pick {
            keys: self.0,
            lines: None,
        };
        while let Some(line) = s.next_element_seed(pick())? {
            out.push(line);
        }
        Ok(Value::Array(out))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// An object key, borrowed from the text when it has no escapes (serde's `borrow` on a
/// `Cow`), owned otherwise.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Key<'a>(#[serde(borrow)] std::borrow::Cow<'a, str>);

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

    /// Take the copy of `id` out if it is younger than `max_age` (zero = never reuse),
    /// with only the fields `wanted` names built into `Value`s.
    pub(crate) fn take(&self, id: &str, max_age: Duration, wanted: &Wanted) -> Option<Value> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let e = g.by_id.remove(id);
        let fresh = e.filter(|e| !max_age.is_zero() && e.at.elapsed() <= max_age);
        if fresh.is_some() {
            g.hits += 1;
        } else {
            g.misses += 1;
        }
        fresh.and_then(|e| wanted.parse(&e.wire))
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
        let all = WriteBack {
            fields: vec![("note".into(), json!("x"))],
            package_lines: vec![("p1".into(), vec![("TrackingNbr".into(), json!("1Z"))])],
            ..WriteBack::default()
        };
        let keys = vec!["ShipmentNbr".to_string()];
        let w = s
            .take("a", Duration::from_secs(60), &Wanted::for_plan(&all, &keys))
            .unwrap();
        assert_eq!(w["ShipmentNbr"]["value"], "000001");
        assert_eq!(w["Packages"][0]["id"], "p1");
        assert_eq!(
            w["custom"]["Document"]["UsrUpsReference"]["type"],
            "CustomStringField"
        );
        for gone in ["ShippingSettings", "Details", "Orders"] {
            assert!(w.get(gone).is_none(), "{gone} kept");
        }
        assert_eq!(w["note"]["value"], "");
        assert_eq!(w["Packages"][0]["TrackingNbr"], json!({}));
        // Taken once: the next write-back of the record reads it again.
        assert!(s
            .take("a", Duration::from_secs(60), &Wanted::default())
            .is_none());
        assert_eq!(s.counts(), (1, 1));
    }

    #[test]
    fn zero_age_keeps_nothing_and_never_reuses() {
        let s = Snapshots::default();
        s.keep(&rec("a"), Duration::ZERO);
        assert_eq!(s.len(), 0);
        s.keep(&rec("b"), Duration::from_secs(60));
        assert_eq!(s.len(), 1);
        assert!(s.take("b", Duration::ZERO, &Wanted::default()).is_none());
        assert_eq!(s.len(), 0);
    }
    #[test]
    fn a_take_builds_only_what_the_plan_reads() {
        let s = Snapshots::default();
        let mut r = rec("a");
        r["Description"] = json!({"value": "old"});
        r["Packages"] = json!([{"id": "p1", "TrackingNbr": {"value": "1Z"},
            // A key with an escape in the kept text (read owned, not borrowed).
            "Weight": {"value": 2.5}, "Co\\u006dment": {"value": "x"}}]);
        s.keep(&r, Duration::from_secs(60));
        let plan = WriteBack {
            fields: vec![("Description".into(), json!("new"))],
            package_lines: vec![("p1".into(), vec![("TrackingNbr".into(), json!("1Z"))])],
            ..WriteBack::default()
        };
        let keys = vec!["ShipmentNbr".to_string()];
        let w = s
            .take(
                "a",
                Duration::from_secs(60),
                &Wanted::for_plan(&plan, &keys),
            )
            .unwrap();
        assert_eq!(
            w,
            json!({"id": "a", "ShipmentNbr": {"value": "000001"}, "Status": {"value": "Open"},
                "Description": {"value": "old"},
                "Packages": [{"id": "p1", "TrackingNbr": {"value": "1Z"}}],
                "custom": {"Document": {"UsrUpsReference": {"type": "CustomStringField"}}}})
        );
        // A line that is not an object: the copy is not used (the write-back reads).
        r["Packages"] = json!(["p1"]);
        s.keep(&r, Duration::from_secs(60));
        assert!(s
            .take(
                "a",
                Duration::from_secs(60),
                &Wanted::for_plan(&plan, &keys)
            )
            .is_none());
    }
}
