//! The ERP record copy out of the job record (issue 24): a job's `record.data` (the ERP
//! record as read, a third of a shipped job's bytes) lives under its own key,
//! `d/<job id>` in the `jobs` tree, written once — with the job's first save, or again when
//! the copy in memory may differ from the stored one (a replay reads the record afresh) —
//! instead of being encoded and rewritten at each of a job's four or so saves. The job
//! record (`j/<job id>`) keeps the record's identity (source, id, number, version,
//! modification time) with `data: null`; [`crate::pipeline::ledger::Ledger::get_lean`]
//! puts the data back. Why it matters: sled rewrites a leaf's values whenever it splits or
//! consolidates it, so every byte of a job record is copied many times
//! (docs/performance.md, "Session 11").
//!
//! Old records (data inline in `j/`) still load as they are; the next save moves the data
//! here. Compaction (delivered) drops the data and removes the key.
//!
//! Must never: leave a job record without its data — the key is written before the job
//! record that relies on it (sled: earlier in the same crash-safe sequence; PostgreSQL:
//! the same batch), and a job record whose data is neither inline nor under its key reads
//! as corrupt, naming the key, instead of as a record with no fields.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::model::ErpRecord;

/// The key of a job's record data in the `jobs` tree.
pub(crate) fn data_key(job_id: &str) -> String {
    format!("d/{job_id}")
}

/// [`ErpRecord`] as the job record stores it: every field but the data (`null`).
#[derive(Serialize)]
struct Lean<'a> {
    source: &'a str,
    id: &'a str,
    number: &'a str,
    version: &'a str,
    modified: &'a DateTime<Utc>,
    data: (),
}

/// `Job::record` as the job record stores it. A destructuring per field, so a new field of
/// `ErpRecord` cannot be forgotten here.
pub(crate) fn record_without_data<S: Serializer>(r: &ErpRecord, s: S) -> Result<S::Ok, S::Error> {
    let ErpRecord {
        source,
        id,
        number,
        version,
        modified,
        data: _,
    } = r;
    Lean {
        source,
        id,
        number,
        version,
        modified,
        data: (),
    }
    .serialize(s)
}

/// Decode check for `store verify`: a record data entry must be JSON; other keys pass.
pub fn verify_entry(key: &str, bytes: &[u8]) -> Result<(), String> {
    if !key.starts_with("d/") {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map(|_| ())
        .map_err(|e| format!("not a record data entry: {e}"))
}
