//! Which shipped shipments were deleted (issue 15 item 13): Acumatica has no Cancelled
//! status, a cancelled shipment is deleted (ERP-NOTES.md §A4). One GET per 25 shipment
//! numbers (`$filter=ShipmentNbr eq '…' or …`, `$select=ShipmentNbr`, no `$expand`); a
//! record whose id is not among the rows answered is missing (a number reused by a new
//! shipment does not hide the deletion).

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;

use super::client::{enc, enc_segment};
use super::{codec, AcumaticaSource};
use crate::sources::{RecordRef, SourceError};

const BATCH: usize = 25;

impl AcumaticaSource {
    pub(super) async fn missing_shipments(
        &self,
        records: &[RecordRef],
    ) -> Result<Vec<String>, SourceError> {
        self.http.ensure_version(false).await?;
        let p = &self.http.profile;
        let mut gone = Vec::new();
        for chunk in records.chunks(BATCH) {
            let filter = chunk
                .iter()
                .map(|r| format!("ShipmentNbr eq {}", codec::filter_string(&r.number)))
                .collect::<Vec<_>>()
                .join(" or ");
            let url = format!(
                "{}/{}?$filter={}&$select=ShipmentNbr&$top={}",
                self.http.entity_base,
                enc_segment(&p.entity),
                enc(&filter),
                BATCH * 4
            );
            let ans = self.http.send(Method::GET, &url, None, false).await?;
            if ans.status != 200 {
                return Err(self.http.classify(ans.status, &ans.body, "list"));
            }
            let Value::Array(rows) = ans.into_json() else {
                return Err(SourceError::Transient {
                    system: self.http.system(),
                    message: "list answered 200 without an array".into(),
                });
            };
            let present: HashSet<String> = rows
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_str).map(String::from))
                .collect();
            gone.extend(
                chunk
                    .iter()
                    .filter(|r| !present.contains(&r.id))
                    .map(|r| r.id.clone()),
            );
        }
        Ok(gone)
    }
}
