//! NetSuite write-back: a [`WriteBack`] plan → one `PATCH
//! /services/rest/record/v1/itemFulfillment/{id}?replace=<sublist>` (ERP-NOTES §N4).
//!
//! You are here: where 1Z numbers go back onto an item fulfillment. The package sublist is
//! sent in full with `replace` (lines of a non-keyed sublist are appended otherwise, §G12;
//! whether `package` is keyed is unverified, and a full list with `replace` is right under
//! both), so the PATCH needs the record's current lines. They come from:
//!
//! * **the copy read at ingest**, when the record's `lastmodifieddate` has not moved since
//!   (one SuiteQL query checks many records at once, [`super::fresh`]) and the copy's
//!   package rows name their sublist and hold only fields a line can be rebuilt from
//!   ([`codec::lines_from_copy`]): no GET, one request per fulfilment plus a share of a
//!   check;
//! * **a GET of the record** (`expandSubResources=true`) otherwise: the timestamp moved (an
//!   edit, or our own earlier write — a retried write-back always reads), the check failed,
//!   the plan targets another record than the one read, or the copy cannot be rebuilt.
//!
//! Never: PATCH package lines without `replace`; trust the copy without a matching
//! timestamp; log tracking numbers, addresses or record contents.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use reqwest::Method;
use serde_json::Value;

use super::fresh::LeaderGuard;
use super::{codec, config, is_internal_id, NetSuiteSource, SYSTEM};
use crate::model::{ErpRecord, WriteBack};
use crate::sources::{FieldError, SourceError};

/// The package sublist a PATCH writes: `(name, field suffix, current lines)`.
type Lines = (&'static str, &'static str, Vec<Value>);

impl NetSuiteSource {
    /// Apply `plan`; `read` is the record as the job read it (its id, version and decoded
    /// package lines), when the caller has it.
    pub(super) async fn write_back_plan(
        &self,
        plan: &WriteBack,
        read: Option<&ErpRecord>,
    ) -> Result<(), SourceError> {
        let (id, p) = (plan.record_id.as_str(), &self.profile);
        let record_type = plan.record_type.as_deref().unwrap_or(&p.record_type);
        if !is_internal_id(id) {
            return Err(SourceError::NotFound {
                system: SYSTEM.into(),
                record: id.to_string(),
            });
        }
        if !plan.files.is_empty() {
            self.counters
                .files_skipped
                .fetch_add(plan.files.len() as u64, Ordering::Relaxed);
            tracing::warn!(connector = %self.name, record = id, files = plan.files.len(), "NetSuite connector does not upload label files; write a label link to a custbody field instead");
        }
        // Package lines go to the sublist the record carries (`package`, `packageUps`, …;
        // §N4), matched by position as they were read.
        let (sublist, suffix, current) = if plan.package_lines.is_empty() {
            ("package", "", Vec::new())
        } else if let Some(lines) = self.lines_from_read(plan, read).await {
            self.counters
                .lines_from_copy
                .fetch_add(1, Ordering::Relaxed);
            lines
        } else {
            self.counters.lines_from_get.fetch_add(1, Ordering::Relaxed);
            let rec = self.get_record(id).await?;
            codec::carried_packages(&rec).unwrap_or(("package", "", Vec::new()))
        };
        let wb = &self.profile.write_back;
        let body = codec::patch_body(
            plan,
            &current,
            (sublist, suffix),
            &wb.writable_fields,
            &wb.confirm_ship_status,
        )
        .map_err(|e| plan_problem(e, id, sublist))?;
        if body.as_object().is_some_and(|o| o.is_empty()) {
            return Ok(());
        }
        let query = if body.get(sublist).is_some() {
            vec![("replace".to_string(), sublist.to_string())]
        } else {
            Vec::new()
        };
        let reply = self
            .send(
                "record_patch",
                Method::PATCH,
                &format!("/services/rest/record/v1/{record_type}/{id}"),
                &query,
                Some(&body),
            )
            .await?;
        if !reply.status.is_success() {
            return Err(self.refusal("record_patch", Some(id), &reply));
        }
        tracing::info!(connector = %self.name, record = id, packages = plan.package_lines.len(), confirm = plan.confirm_shipment, "NetSuite write-back applied");
        Ok(())
    }

    /// The package lines of the copy the job read, when they are still the record's: the
    /// plan targets that record, the copy can be rebuilt into record-API lines, and the
    /// record's `lastmodifieddate` is still the copy's version.
    async fn lines_from_read(&self, plan: &WriteBack, read: Option<&ErpRecord>) -> Option<Lines> {
        let read = read?;
        if read.id != plan.record_id || plan.record_type.is_some() || read.version.is_empty() {
            return None;
        }
        let lines = codec::lines_from_copy(read.data.get("packages")?.as_array()?)?;
        let now = self.current_version(&read.id).await?;
        (now == read.version).then_some(lines)
    }

    /// The record's current `lastmodifieddate` (`YYYY-MM-DD HH:MM:SS`), from a check shared
    /// with the concurrent write-backs of this connector; `None` when unknown.
    async fn current_version(&self, id: &str) -> Option<String> {
        let ticket = self.fresh.join(id)?;
        if ticket.leader {
            let mut guard = LeaderGuard {
                coalescer: &self.fresh,
                armed: true,
            };
            if self.fresh.window().is_zero() {
                tokio::task::yield_now().await;
            } else {
                tokio::time::sleep(self.fresh.window()).await;
            }
            let batch = self.fresh.take();
            guard.armed = false;
            if let Some((ids, waiters)) = batch {
                let answer = match self.versions(&ids).await {
                    Ok(m) => Some(Arc::new(m)),
                    Err(e) => {
                        tracing::warn!(connector = %self.name, records = ids.len(), code = e.code(), "NetSuite version check failed; reading the records instead");
                        None
                    }
                };
                for w in waiters {
                    let _ = w.send(answer.clone());
                }
            }
        }
        let answer = ticket.answer.await.ok().flatten()?;
        answer.get(id).cloned()
    }

    /// One SuiteQL query: `lastmodifieddate` of each of `ids` (at most 1,000).
    async fn versions(&self, ids: &[String]) -> Result<HashMap<String, String>, SourceError> {
        self.counters.version_checks.fetch_add(1, Ordering::Relaxed);
        let q = format!(
            "SELECT t.id, TO_CHAR({}, 'YYYY-MM-DD HH24:MI:SS') AS lastmodifieddate FROM transaction t WHERE t.id IN ({})",
            self.profile.keyset.timestamp_column,
            ids.join(", ")
        );
        let page = self
            .suiteql_as("suiteql_version", &q, ids.len().clamp(1, 1000) as u32, 0)
            .await?;
        let mut out = HashMap::with_capacity(page.items.len());
        for row in page.items {
            let id = match row.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => codec::num_text(n),
                _ => continue,
            };
            if let Some(Value::String(ts)) = row.get("lastmodifieddate") {
                out.insert(id, ts.clone());
            }
        }
        Ok(out)
    }
}

/// A plan the record cannot take, as the error that names the record, the field and the fix.
fn plan_problem(p: codec::PlanProblem, id: &str, sublist: &str) -> SourceError {
    match p {
        codec::PlanProblem::UnknownLine(l) => SourceError::Rejected {
            system: SYSTEM.into(),
            record: id.to_string(),
            message: format!("package line {l} does not exist on the record's {sublist} sublist"),
            fields: vec![FieldError {
                field: format!("{sublist}[{l}]"),
                message: "no such package line".into(),
            }],
        },
        codec::PlanProblem::FieldNotWritable(f) => config(format!(
            "the mapping writes '{f}', which write_back.writable_fields in the NetSuite profile does not allow"
        )),
        codec::PlanProblem::UnknownPackageField(f) => config(format!(
            "the mapping writes package field '{f}', which the record's {sublist} sublist does not have; use packageTrackingNumber, packageDescr, packageWeight (any sublist), packageCartonNumber (package) or reference1 (packageUps/Fedex/Usps)"
        )),
    }
}
