//! What `store verify` (and `check`, `run` at start) expects of each ledger key: the typed
//! decoding the store's own check cannot do, because the store does not know the ledger's
//! records (`crate::store`). Start here when a new key prefix joins the `jobs` tree.

/// Typed decoding of ledger records for [`crate::store::Store::verify_with`]: every job (`j/…` in the
/// `jobs` tree) must decode as a [`crate::pipeline::Job`], the record and active indexes
/// (`r/…`, `a/…`) as JSON, the state index (`s/…`) as a known state name, label bytes
/// (`l/…`), record data (`d/…`) and shipments (`m/…`) in their own shapes. Cursors are
/// checked by the store itself; the other trees are read (sled checks its checksums) but
/// belong to modules that keep raw values too.
pub fn ledger_decoder(tree: crate::store::Tree, key: &str, bytes: &[u8]) -> Result<(), String> {
    if tree == crate::store::Tree::Outbox {
        return crate::events::outbox::decode(key, bytes);
    }
    if tree == crate::store::Tree::Pickups {
        return serde_json::from_slice::<crate::dispatch::Pickup>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a pickup record: {e}"));
    }
    if tree != crate::store::Tree::Jobs {
        return Ok(());
    }
    if key.starts_with("j/") {
        serde_json::from_slice::<crate::pipeline::Job>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a job record: {e}"))
    } else if key.starts_with("r/") || key.starts_with("a/") {
        serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a ledger index entry: {e}"))
    } else if key.starts_with("w/") {
        serde_json::from_slice::<crate::pipeline::ledger::Watch>(bytes)
            .map(|_| ())
            .map_err(|e| format!("not a late-duplicate watch: {e}"))
    } else if key.starts_with("s/") {
        let name = std::str::from_utf8(bytes).map_err(|_| "state index is not text".to_string())?;
        serde_json::from_value::<crate::pipeline::JobState>(serde_json::Value::String(
            name.to_string(),
        ))
        .map(|_| ())
        .map_err(|_| "state index names no known state".to_string())
    } else if key.starts_with("d/") {
        crate::pipeline::stored_record::verify_entry(key, bytes)
    } else if key.starts_with("m/") {
        crate::pipeline::stored_shipment::verify_entry(key, bytes)
    } else {
        crate::pipeline::stored_labels::verify_entry(key, bytes)
    }
}
