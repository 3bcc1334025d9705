//! Split groups in the ledger: the parts of one job whose record goes to UPS as several
//! shipments (`international.over_limit: split`, see [`crate::model::split`]).
//!
//! A group lives inside its one job (`Job::parts`): the job stays the unit of the ERP
//! record (one row, one write-back, one tracking entry), and each part carries what makes
//! a single shipment exactly-once: its own unique reference (`<job reference>-P2of3`), its
//! Ship attempt (recorded and flushed before the call) and its result.
//!
//! ```text
//! address_checked ──► shipping (group: part 1 … part n, one at a time) ──► shipped (all parts)
//!  part: pending ──► in flight {attempt flushed} ──► shipped {result flushed}
//!                        └─ found in flight after a crash / outcome unknown: in doubt,
//!                           looked up by the part's reference (found → labels recovered;
//!                           absent after the lookup window → pending again)
//! ```
//! `shipped` (write-back) is reached only when every part has its result; the job's
//! `result` is then the parts' results merged ([`merged_result`]): every 1Z and label of
//! every part, so the existing write-back, label sink and tracking see all of them.
//!
//! Must never: ship a part whose previous attempt may have reached UPS without looking its
//! reference up first; write back before every part is shipped.

use serde::{Deserialize, Serialize};

use super::ledger::{Job, ShipAttempt};
use crate::model::{Charges, Money, ShipResult, Shipment};

/// One UPS shipment of a split group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// 1-based position in the group, and the group's size (`P2of3`).
    pub index: u32,
    pub of: u32,
    /// This part's own reference value, stamped on its Ship besides the ERP number:
    /// reconciliation looks the part up by it.
    pub reference: String,
    /// What this part sends: the whole shipment with its packages and customs lines only.
    pub shipment: Shipment,
    /// The Ship attempt of this part, recorded and flushed before the call. A part with an
    /// attempt and no result, found when the job is taken up, is in doubt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<ShipAttempt>,
    /// Ship attempts sent so far for this part.
    #[serde(default)]
    pub tries: u32,
    /// UPS's answer (or the labels recovered for it), flushed before the next part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ShipResult>,
    /// Voided at UPS (job void or cancellation); a void retried after a failure on a later
    /// part skips it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub voided: bool,
}

impl Part {
    /// `2/3`, for notes and logs.
    pub fn label(&self) -> String {
        format!("{}/{}", self.index, self.of)
    }
}

impl Job {
    /// The UPS shipment ids this job holds: one per part of a split group, else the one
    /// shipment's (void and cancellation void every one of them).
    pub fn ups_shipment_ids(&self) -> Vec<String> {
        if self.parts.is_empty() {
            return self.result.iter().map(|r| r.shipment_id.clone()).collect();
        }
        self.parts
            .iter()
            .filter_map(|p| p.result.as_ref().map(|r| r.shipment_id.clone()))
            .collect()
    }
}

/// The job's result for a completed group: the first part's shipment id and service,
/// every part's packages (1Z numbers and labels) in part order, charges summed (a total is
/// kept only when every part has it, in one currency), alerts of all parts.
pub fn merged_result(parts: &[Part]) -> Option<ShipResult> {
    let results: Vec<&ShipResult> = parts
        .iter()
        .map(|p| p.result.as_ref())
        .collect::<Option<_>>()?;
    let first = results.first()?;
    let sum = |get: fn(&Charges) -> &Option<Money>| -> Option<Money> {
        let mut total: Option<Money> = None;
        for r in &results {
            let m = get(&r.charges).as_ref()?;
            match &mut total {
                None => total = Some(m.clone()),
                Some(t) if t.currency == m.currency => t.amount += m.amount,
                Some(_) => return None,
            }
        }
        total
    };
    Some(ShipResult {
        shipment_id: first.shipment_id.clone(),
        service_code: first.service_code.clone(),
        packages: results.iter().flat_map(|r| r.packages.clone()).collect(),
        charges: Charges {
            total: sum(|c| &c.total),
            negotiated: sum(|c| &c.negotiated),
            total_with_taxes: sum(|c| &c.total_with_taxes),
            negotiated_with_taxes: sum(|c| &c.negotiated_with_taxes),
        },
        alerts: results.iter().flat_map(|r| r.alerts.clone()).collect(),
        // Each part's UPS shipment carries its own invoice: all of them, in part order.
        documents: results.iter().flat_map(|r| r.documents.clone()).collect(),
        paperless: merged_paperless(&results),
    })
}

/// The group's paperless outcome: electronic only when every part's invoice went so, the
/// document ids referenced by any part (once each), the first push's forms group, and
/// every part's fallback reasons.
fn merged_paperless(results: &[&ShipResult]) -> Option<crate::model::PaperlessOutcome> {
    let outcomes: Vec<_> = results
        .iter()
        .filter_map(|r| r.paperless.as_ref())
        .collect();
    if outcomes.is_empty() {
        return None;
    }
    let mut document_ids: Vec<String> = Vec::new();
    for id in outcomes.iter().flat_map(|o| o.document_ids.iter()) {
        if !document_ids.contains(id) {
            document_ids.push(id.clone());
        }
    }
    Some(crate::model::PaperlessOutcome {
        invoice_electronic: outcomes.len() == results.len()
            && outcomes.iter().all(|o| o.invoice_electronic),
        document_ids,
        forms_group_id: outcomes.iter().find_map(|o| o.forms_group_id.clone()),
        fallbacks: outcomes.iter().flat_map(|o| o.fallbacks.clone()).collect(),
    })
}
