//! Acumatica source connector: contract-based REST, `Shipment` entity (Default endpoint).
//!
//! Where records come in from Acumatica and where UPS results go back. Spec:
//! ERP-NOTES §A and §G (`docs/specs.md`); endpoint definitions Default 23.200.001 /
//! 24.200.001. Files:
//!
//! * `profile.rs` — the YAML profile (`connectors/acumatica.yaml`) and the credentials type;
//! * `client.rs` — HTTP transport, endpoint-version discovery, 401/429 handling, error classes;
//! * `auth.rs` — cookie sign-in/logout and OAuth password grant with refresh;
//! * `codec.rs` — `{"value": …}` and `custom` decoding to the record shape of `docs/conventions.md`,
//!   and encoding for writes;
//! * `cursor.rs` — the incremental cursor (boundary time + ids seen at the boundary) and
//!   the windowed scan (list order is not guaranteed, so no `$skip` paging);
//! * `writeback.rs` — idempotent write-back (PUT difference, files, ConfirmShipment);
//! * `snapshot.rs` — what the listing read of each record, so a write-back needs no read;
//! * `labels.rs` — one multi-label file per shipment (`label_files: per_shipment`).
//!
//! Requests per shipment are budgeted (issue 24, `docs/acumatica.md`): the listing
//! (`$expand`, one request per window of up to `page_size` records), one PUT, one file PUT
//! per label (or per shipment), the confirm only when configured; sessions are reused
//! across cycles (`keep_session_seconds`).
//!
//! Must never: persist anything itself (the pipeline stores cursors and the ledger), know
//! anything of UPS, log secrets/cookies/tokens/addresses/label bytes, or leave a cookie
//! session open (`close()` logs out; a cycle's end logs out once the sessions have been
//! idle for `keep_session_seconds`; dropping the source logs out best-effort).

mod action;
pub mod auth;
pub mod client;
pub mod codec;
pub mod config;
pub mod cursor;
pub mod labels;
pub mod profile;
mod ready;
mod snapshot;
mod vanished;
pub mod writeback;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

pub use client::{tokio_sleeper, Sleeper};
pub use cursor::{AcumaticaCursor, ScanState, SeenRecord, Window};
pub use labels::LabelFiles;
pub use profile::{
    AcumaticaCredentials, AcumaticaProfile, AuthConfig, AuthMode, ProfileError, ProfileProblem,
    ReadyFilter,
};
pub use writeback::WriteBackOutcome;

use crate::model::{ErpRecord, ErrorClass, WriteBack};
use crate::sources::{Cursor, Page, Source, SourceError};
use client::{enc, enc_segment, Http};

/// Rows a window probe asks for at most (two fields each, about 190 bytes on the wire): a
/// backlog larger than this is partitioned from the rows it got, and a part that then comes
/// back full is split at its median as before.
const PROBE_ROWS: u32 = 10_000;

/// One configured Acumatica tenant.
pub struct AcumaticaSource {
    http: Arc<Http>,
}

impl std::fmt::Debug for AcumaticaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcumaticaSource")
            .field("name", &self.http.name)
            .field("entity_base", &self.http.entity_base)
            .finish()
    }
}

impl AcumaticaSource {
    /// Build a connector. Nothing is sent until the first call. `name` is the connector
    /// name from config (also the vault name of the credentials in auth errors).
    pub fn new(
        name: &str,
        profile: AcumaticaProfile,
        credentials: AcumaticaCredentials,
    ) -> Result<AcumaticaSource, SourceError> {
        let problems = profile.validate();
        if !problems.is_empty() {
            return Err(SourceError::Config {
                system: format!("Acumatica ({name})"),
                message: problems
                    .iter()
                    .map(|p| format!("{}: {}", p.path, p.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            });
        }
        Ok(AcumaticaSource {
            http: Arc::new(Http::new(name, profile, credentials)?),
        })
    }

    /// Replace how the connector waits (backoff, licence-slot waits, action polling).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> AcumaticaSource {
        if let Some(h) = Arc::get_mut(&mut self.http) {
            h.sleeper = sleeper;
        }
        self
    }

    pub fn profile(&self) -> &AcumaticaProfile {
        &self.http.profile
    }

    /// Write-backs so far that reused the listing's copy of the record, and that read the
    /// record first (`snapshot.rs`).
    pub fn write_back_reads(&self) -> (u64, u64) {
        self.http.snapshots.counts()
    }

    fn reuse_listing(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.http.profile.reuse_listing_seconds)
    }

    /// Apply a write-back plan and say what was actually sent.
    pub async fn write_back_report(
        &self,
        plan: &WriteBack,
    ) -> Result<WriteBackOutcome, SourceError> {
        self.http.ensure_version(false).await?;
        let out = self
            .http
            .write_back(plan, self.http.profile.confirm_shipment)
            .await?;
        tracing::info!(connector = %self.http.name, record = %plan.record_id,
            fields = out.fields_written, lines = out.lines_written, files = out.files_written,
            confirmed = out.confirmed, "acumatica write-back applied");
        Ok(out)
    }

    /// The ready-to-ship `$filter` restricted to one scan window. Key ranges compare the
    /// key as a string (OData v3 `ge`/`lt`; paging by `OrderNbr gt '…'` is the usual
    /// Acumatica keyset pattern [3P Cleo "API related Info - Acumatica"]).
    fn filter(&self, w: &Window) -> String {
        let p = &self.http.profile;
        let mut parts = Vec::new();
        if let Some(t) = w.from {
            parts.push(format!("LastModifiedDateTime ge {}", codec::filter_time(t)));
        }
        if let Some(t) = w.before {
            parts.push(format!("LastModifiedDateTime lt {}", codec::filter_time(t)));
        }
        let key = &p.key_fields[0];
        if let Some(k) = &w.key_from {
            parts.push(format!("{key} ge {}", codec::filter_string(k)));
        }
        if let Some(k) = &w.key_before {
            parts.push(format!("{key} lt {}", codec::filter_string(k)));
        }
        let any = |field: &str, values: &[String]| {
            let alts: Vec<String> = values
                .iter()
                .map(|v| format!("{field} eq {}", codec::filter_string(v)))
                .collect();
            if alts.len() == 1 {
                alts[0].clone()
            } else {
                format!("({})", alts.join(" or "))
            }
        };
        if !p.ready.statuses.is_empty() {
            parts.push(any("Status", &p.ready.statuses));
        }
        if let Some(h) = p.ready.hold {
            parts.push(format!("Hold eq {h}"));
        }
        if !p.ready.ship_via.is_empty() {
            parts.push(any("ShipVia", &p.ready.ship_via));
        }
        if !p.ready.operations.is_empty() {
            parts.push(any("Operation", &p.ready.operations));
        }
        parts.join(" and ")
    }

    fn expand_custom_query(&self) -> String {
        let p = &self.http.profile;
        let mut q = String::new();
        if !p.expand.is_empty() {
            q.push_str(&format!("$expand={}", enc(&p.expand.join(","))));
        }
        if !p.custom.is_empty() {
            if !q.is_empty() {
                q.push('&');
            }
            q.push_str(&format!("$custom={}", enc(&p.custom.join(","))));
        }
        q
    }

    /// One `$top` answer of ready records (wire form, bare array).
    /// One list request; its rows are left unparsed ([`client::Answer::rows`]).
    async fn list_page(&self, filter: &str) -> Result<client::Answer, SourceError> {
        let p = &self.http.profile;
        let url = format!(
            "{}/{}?$filter={}&{}&$top={}",
            self.http.entity_base,
            enc_segment(&p.entity),
            enc(filter),
            self.expand_custom_query(),
            p.page_size,
        );
        let ans = self.http.send(Method::GET, &url, None, false).await?;
        if ans.status != 200 {
            return Err(self.http.classify(ans.status, &ans.body, "list"));
        }
        Ok(ans)
    }

    /// The parts to read a full window in ([`cursor::partition`]), from one request for
    /// the window's rows with two fields each (`$select` of the key and
    /// `LastModifiedDateTime`, no `$expand`; ERP-NOTES §A3), about a sixteenth of a full
    /// row's bytes (190 against 3,180 with the bundled `$expand`, simulator); each part is
    /// then asked for three quarters of a page, room for records that change in between. `None` when the instance refuses the probe (the caller
    /// splits at the median instead) or it gives one part.
    async fn probe(&self, w: &cursor::Window) -> Result<Option<Vec<cursor::Window>>, SourceError> {
        let p = &self.http.profile;
        let key = &p.key_fields[0];
        let url = format!(
            "{}/{}?$filter={}&$select={}&$top={}",
            self.http.entity_base,
            enc_segment(&p.entity),
            enc(&self.filter(w)),
            enc(&format!("{key},LastModifiedDateTime")),
            PROBE_ROWS,
        );
        let ans = self.http.send(Method::GET, &url, None, false).await?;
        if ans.status != 200 {
            let e = self.http.classify(ans.status, &ans.body, "list probe");
            // Throttled, down or signed out: as a list would be. Anything else is this
            // request's shape (an instance that will not `$select` so): split as before.
            if matches!(e.class(), ErrorClass::Transient | ErrorClass::Auth) {
                return Err(e);
            }
            tracing::warn!(connector = %self.http.name, code = e.code(), error = %e, "acumatica list probe refused; full windows are split at their median");
            return Ok(None);
        }
        let rows: Vec<_> = self
            .rows(&ans)?
            .into_iter()
            .filter_map(|row| codec::head(row, key))
            .map(|h| (h.modified, h.key))
            .collect();
        Ok(cursor::partition(
            w,
            &rows,
            (p.page_size as usize * 3 / 4).max(1),
        ))
    }

    /// A list answer's rows, or why it is not a list.
    fn rows<'a>(
        &self,
        ans: &'a client::Answer,
    ) -> Result<Vec<&'a serde_json::value::RawValue>, SourceError> {
        ans.rows().ok_or_else(|| SourceError::Transient {
            system: self.http.system(),
            message: format!(
                "list answered 200 without an array (got {})",
                match &ans.body {
                    Value::Object(_) => "an object",
                    Value::Null => "nothing",
                    _ => "a scalar",
                }
            ),
        })
    }

    /// A row decoded into a record; with `keep`, what its write-back needs is kept first
    /// ([`snapshot`]), from this very answer.
    fn record(
        &self,
        row: &serde_json::value::RawValue,
        keep: Option<std::time::Duration>,
    ) -> Result<ErpRecord, SourceError> {
        let unreadable = |m: String| SourceError::Transient {
            system: self.http.system(),
            message: format!("unreadable record in list answer: {m}"),
        };
        let wire: Value = serde_json::from_str(row.get()).map_err(|e| unreadable(e.to_string()))?;
        if let Some(max_age) = keep {
            self.http.snapshots.keep(&wire, max_age);
        }
        codec::record_of(&self.http.name, codec::into_decoded(wire)).map_err(unreadable)
    }

    fn parse_cursor(&self, c: &Cursor) -> Result<AcumaticaCursor, SourceError> {
        if c.0.is_null() {
            return Ok(AcumaticaCursor::default());
        }
        // From the borrowed value: no copy of a cursor that can hold thousands of records.
        AcumaticaCursor::deserialize(&c.0).map_err(|e| {
            self.http.config(&format!(
                "the stored cursor is not an Acumatica cursor ({e}); reset the connector's cursor"
            ))
        })
    }
}

#[async_trait]
impl Source for AcumaticaSource {
    fn name(&self) -> &str {
        &self.http.name
    }

    /// Deleted shipments among `records`, 25 per GET (see `vanished.rs`; issue 15 item 13).
    async fn missing(
        &self,
        records: &[crate::sources::RecordRef],
    ) -> Result<Vec<String>, SourceError> {
        self.missing_shipments(records).await
    }

    /// Ready shipments with and without `ready.ship_via` (see `ready.rs`; issue 15 item 14).
    async fn ready_counts(&self) -> Result<Option<crate::sources::ReadyCounts>, SourceError> {
        self.count_ready().await.map(Some)
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let had_session = self.http.signed_in().await;
        // The version check signs in (custom endpoints are listed only to a signed-in
        // tenant, ERP-NOTES §A1), so it shares the ping's session and its logout.
        let url = format!(
            "{}/{}?$top=1&$select=ShipmentNbr",
            self.http.entity_base,
            enc_segment(&self.http.profile.entity)
        );
        let r = match self.http.ensure_version(true).await {
            Ok(()) => self.http.send(Method::GET, &url, None, false).await,
            Err(e) => Err(e),
        };
        // A cookie session opened only for this ping is returned to the licence at once.
        if !had_session && self.http.profile.auth.mode == AuthMode::Cookie {
            self.http.logout().await;
        }
        let ans = r?;
        if ans.status == 200 {
            Ok(())
        } else {
            Err(self.http.classify(ans.status, &ans.body, "ping"))
        }
    }

    /// One window of the current scan (see `cursor.rs`): an answer shorter than a page is
    /// the whole window and its new records are handed out; a full answer splits the window
    /// and hands out nothing (the parts are read by the next polls).
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        self.http.ensure_version(false).await?;
        let mut cur = self.parse_cursor(cursor)?;
        let p = &self.http.profile;
        let overlap = Duration::seconds(p.overlap_seconds as i64);
        cur.begin(overlap, p.full_scan_every_scans);
        let window = cur
            .scan
            .as_ref()
            .and_then(|s| s.pending.last().cloned())
            .unwrap_or_default();
        let ans = self.list_page(&self.filter(&window)).await?;
        let rows = self.rows(&ans)?;
        let n = rows.len();
        let key = &p.key_fields[0];
        // Heads only: a full window is split and read again, and the overlap's rows were
        // seen by the last scan, so neither is decoded (issue 24: decoding every row of
        // every answer was two fifths of the connector's CPU).
        let mut heads = Vec::with_capacity(n);
        for row in &rows {
            heads.push(match codec::head(row, key) {
                Some(h) => h,
                None => codec::Head::of(&self.record(row, None)?, key),
            });
        }
        let parts = if n >= p.page_size as usize {
            // A part of a split window full again (a backlog, not an overlap of a little
            // more than a page): its parts from a probe of the part; otherwise, or when
            // the probe gives nothing, split at the median of this answer.
            let probed = if window.depth == 1 {
                self.probe(&window).await?
            } else {
                None
            };
            let parts = probed.or_else(|| {
                let sample: Vec<_> = heads.iter().map(|h| (h.modified, h.key.clone())).collect();
                cursor::split(&window, &sample)
            });
            if parts.is_none() {
                tracing::warn!(connector = %self.http.name, "acumatica list window cannot be split further; taking its answer as complete");
            }
            parts
        } else {
            None
        };
        let scan = cur.scan.as_mut().expect("begun");
        scan.pending.pop();
        let mut records = Vec::new();
        if let Some(parts) = parts {
            tracing::debug!(connector = %self.http.name, read = n, parts = parts.len(), "acumatica window full; split");
            scan.pending.extend(parts.into_iter().rev());
        } else {
            let max_age = self.reuse_listing();
            let ids: Vec<(&str, &str)> = heads
                .iter()
                .map(|h| (h.id.as_str(), h.version.as_str()))
                .collect();
            let seen = cur.seen_among(&ids);
            for (row, seen) in rows.iter().zip(seen) {
                if !seen {
                    records.push(self.record(row, Some(max_age))?);
                }
            }
            let noted = heads
                .into_iter()
                .map(|h| SeenRecord {
                    id: h.id,
                    version: h.version,
                    at: h.modified,
                })
                .collect();
            cur.note_all(noted, overlap);
        }
        records.sort_by(|a, b| (a.modified, &a.number, &a.id).cmp(&(b.modified, &b.number, &b.id)));
        let more = cur.scan.as_ref().is_some_and(|s| !s.pending.is_empty());
        if !more {
            cur.complete();
        }
        tracing::debug!(connector = %self.http.name, read = n, new = records.len(), more, "acumatica window");
        Ok(Page {
            records,
            cursor: Cursor(serde_json::to_value(&cur).expect("cursor serialises")),
            more,
        })
    }

    async fn fetch(&self, record_id: &str) -> Result<Option<ErpRecord>, SourceError> {
        self.http.ensure_version(false).await?;
        let url = format!(
            "{}/{}/{}?{}",
            self.http.entity_base,
            enc_segment(&self.http.profile.entity),
            enc_segment(record_id),
            self.expand_custom_query()
        );
        let ans = self.http.send(Method::GET, &url, None, false).await?;
        if ans.status != 200 {
            return match self.http.classify(ans.status, &ans.body, record_id) {
                SourceError::NotFound { .. } => Ok(None),
                e => Err(e),
            };
        }
        self.http.snapshots.keep(&ans.body, self.reuse_listing());
        codec::to_record(&self.http.name, &ans.body)
            .map(Some)
            .map_err(|m| SourceError::Transient {
                system: self.http.system(),
                message: format!("unreadable record: {m}"),
            })
    }

    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError> {
        self.write_back_report(plan).await.map(|_| ())
    }

    fn request_stats(&self) -> Vec<(&'static str, u16, u64)> {
        self.http.requests.snapshot()
    }

    async fn cycle_done(&self) {
        self.http.release_when_idle().await;
    }

    async fn close(&self) {
        self.http.logout().await;
    }
}

impl Drop for AcumaticaSource {
    /// Best effort: a source dropped with an open cookie session logs it out in the
    /// background (sessions count against the licence). Call `close()` to be sure.
    fn drop(&mut self) {
        let cookies = self.http.take_sessions_for_drop();
        if cookies.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let client = self.http.client.clone();
        let url = format!("{}/entity/auth/logout", self.http.base);
        rt.spawn(async move {
            for cookie in cookies {
                let _ = client.post(&url).header("cookie", cookie).send().await;
            }
        });
    }
}
