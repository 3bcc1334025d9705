//! The mapped shipment out of the job record (issue 24): a job's `shipment` (the canonical
//! shipment the mapping made, checked and sent to UPS; 2.1 KB of a 4.7 KB job record)
//! lives under its own key, `m/<job id>` in the `jobs` tree, and is encoded and written
//! only by the saves that may carry a changed one — up to `shipping`, and `failed` or
//! `superseded` — instead of at each of a job's four or so saves. From `shipping` on
//! the shipment is what UPS was sent and no step changes it, so the `shipped`, written-back
//! and tracking saves keep the stored copy. The job record (`j/<job id>`) has
//! `shipment: null`; [`crate::pipeline::ledger::Ledger::get_lean`] puts it back.
//!
//! Old records (the shipment inline in `j/`) still load as they are; the next save moves
//! it here. Compaction (delivered) keeps it (a delivered job still shows its shipment);
//! `prune` removes it. A `seen` job has none: the check at open
//! ([`crate::pipeline::ledger::Ledger::new`]) removes a key that a replay cut by a crash
//! left behind, and the key of a job that was never written.
//!
//! Must never: leave a job record without its shipment — the key is written before the
//! job record that relies on it (sled: earlier in the same crash-safe sequence;
//! PostgreSQL: the same batch); or keep a stale copy — a save keeps the stored one only
//! when the job's copy came from that key (or was written there) and the state is one no
//! step changes a shipment in ([`frozen`]); a copy made by `clone` is never marked.

use serde::Serializer;

use crate::model::Shipment;
use crate::pipeline::JobState;

/// The key of a job's shipment in the `jobs` tree.
pub(crate) fn shipment_key(job_id: &str) -> String {
    format!("m/{job_id}")
}

/// States in which no step changes a job's shipment: it was sent to UPS as it is
/// (`steps/map.rs`, `steps/prepare.rs` and `steps/ship.rs` change it before `shipping`;
/// a replay from `failed` clears it).
pub(crate) fn frozen(state: JobState) -> bool {
    matches!(
        state,
        JobState::Shipped
            | JobState::WrittenBack
            | JobState::Tracking
            | JobState::Delivered
            | JobState::Voided
    )
}

/// `Job::shipment` as the job record stores it: `null` (it lives under its own key).
pub(crate) fn shipment_left_out<S: Serializer>(
    _: &Option<Shipment>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_none()
}

/// Decode check for `store verify`: a shipment entry must decode as a shipment; other
/// keys pass.
pub fn verify_entry(key: &str, bytes: &[u8]) -> Result<(), String> {
    if !key.starts_with("m/") {
        return Ok(());
    }
    serde_json::from_slice::<Shipment>(bytes)
        .map(|_| ())
        .map_err(|e| format!("not a shipment entry: {e}"))
}
