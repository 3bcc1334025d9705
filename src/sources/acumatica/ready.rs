//! Ready-record counts for `upsync ping` / `upsync check --online` (issue 15 item 14): how
//! many shipments are in the profile's ready state (`ready.statuses`, `ready.hold`) and how
//! many of those pass `ready.ship_via`, so a misspelt ship via does not look like a quiet day.
//!
//! Cost: the contract API has no count (ERP-NOTES.md §A3), so the ready shipments are listed
//! with `$select=ShipVia` (no `$expand`), 500 per GET: ⌈ready / 500⌉ requests.

use reqwest::Method;
use serde_json::Value;

use super::client::{enc, enc_segment};
use super::{codec, AcumaticaSource};
use crate::sources::{ReadyCounts, SourceError};

const PAGE: u64 = 500;

impl AcumaticaSource {
    pub(super) async fn count_ready(&self) -> Result<ReadyCounts, SourceError> {
        self.http.ensure_version(false).await?;
        let p = &self.http.profile;
        let mut parts = Vec::new();
        if !p.ready.statuses.is_empty() {
            let alts: Vec<String> = p
                .ready
                .statuses
                .iter()
                .map(|s| format!("Status eq {}", codec::filter_string(s)))
                .collect();
            parts.push(format!("({})", alts.join(" or ")));
        }
        if let Some(h) = p.ready.hold {
            parts.push(format!("Hold eq {h}"));
        }
        if !p.ready.operations.is_empty() {
            let alts: Vec<String> = p
                .ready
                .operations
                .iter()
                .map(|s| format!("Operation eq {}", codec::filter_string(s)))
                .collect();
            parts.push(format!("({})", alts.join(" or ")));
        }
        let filter = parts.join(" and ");
        let wanted: Vec<String> = p
            .ready
            .ship_via
            .iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .collect();
        let (mut ready, mut passing) = (0u64, 0u64);
        let mut others: Vec<String> = Vec::new();
        let mut skip = 0u64;
        loop {
            let mut url = format!(
                "{}/{}?$select=ShipVia&$top={PAGE}&$skip={skip}",
                self.http.entity_base,
                enc_segment(&p.entity)
            );
            if !filter.is_empty() {
                url.push_str(&format!("&$filter={}", enc(&filter)));
            }
            let ans = self.http.send(Method::GET, &url, None, false).await?;
            if ans.status != 200 {
                return Err(self.http.classify(ans.status, &ans.body, "list"));
            }
            let rows = match ans.into_json() {
                Value::Array(rows) => rows,
                _ => Vec::new(),
            };
            for r in &rows {
                let via = codec::decode(&r["ShipVia"]);
                let via = via.as_str().unwrap_or("").trim().to_string();
                ready += 1;
                if wanted.contains(&via.to_ascii_uppercase()) {
                    passing += 1;
                } else if !via.is_empty() && others.len() < 8 && !others.contains(&via) {
                    others.push(via);
                }
            }
            if (rows.len() as u64) < PAGE {
                break;
            }
            skip += PAGE;
        }
        Ok(ReadyCounts {
            ready: Some(ready),
            passing,
            filter: format!("ship via in [{}]", p.ready.ship_via.join(", ")),
            others: if passing == 0 { others } else { Vec::new() },
        })
    }
}
