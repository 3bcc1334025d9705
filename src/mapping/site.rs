//! Dispatch support (docs/pickups.md): the ship-from site a record uses — the key of the
//! `ship_from` entry `to_shipment` picks, default included — and the dispatch write-back
//! (`write_back.ship_date`, `write_back.pickup_prn`). Pure.

use chrono::NaiveDate;
use serde_json::json;

use super::expr::Scope;
use super::Mapping;
use crate::model::{ErpRecord, WriteBack};

impl Mapping {
    /// The `ship_from` entry key the record ships from (`MAIN`, `WEST`, a NetSuite
    /// location id), or `None` when no entry applies.
    pub fn site_key(&self, record: &ErpRecord) -> Option<String> {
        let root = Scope::root(&record.data);
        let key = self
            .ship_from
            .key
            .eval(&root, &self.tables)
            .ok()
            .and_then(|v| v.text())
            .unwrap_or_default();
        if self.ship_from.entries.contains_key(&key) {
            Some(key)
        } else {
            self.ship_from
                .default
                .clone()
                .filter(|d| self.ship_from.entries.contains_key(d))
        }
    }

    /// Every `ship_from` entry key (what `dispatch.sites[].key` may name).
    pub fn site_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.ship_from.entries.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// The ship date used (`YYYY-MM-DD`) and/or the pickup's PRN, to the fields the
    /// mapping names; empty when it names none.
    pub fn write_back_dispatch(
        &self,
        record_id: &str,
        ship_date: Option<NaiveDate>,
        prn: Option<&str>,
    ) -> WriteBack {
        let mut wb = WriteBack {
            record_id: record_id.to_string(),
            ..Default::default()
        };
        if let (Some(f), Some(d)) = (&self.write_back.ship_date, ship_date) {
            wb.fields
                .push((f.clone(), json!(d.format("%Y-%m-%d").to_string())));
        }
        if let (Some(f), Some(p)) = (&self.write_back.pickup_prn, prn) {
            wb.fields.push((f.clone(), json!(p)));
        }
        wb
    }
}
