//! The job ledger: one record per job in the `jobs` tree, the state machine of
//! `docs/design.md`, and the dead-letter queue.
//!
//! ```text
//! seen → mapped → address_checked → shipping → shipped → written_back → tracking → delivered
//!   └──────────────┴─────────────────┴───────────┴──────────┴─► failed (dead-letter)   voided
//! ```
//!
//! Keys in the `jobs` tree:
//! * `j/<job id>` → [`Job`] (job id = `source/record id/version`).
//! * `r/<source>/<record id>` → the job id of the record's current job.
//! * `s/<job id>` → the job's state name (sled's insert returns the previous value, so the
//!   per-connector state counts behind the metrics update without extra reads).
//! * `a/<job id>` → present while the job is active (the pipeline has work to do), so a
//!   cycle scans pending work only, never the whole history; also, on sled, while a save
//!   of an inactive job is under way (`ledger_save.rs`: how a save writes these keys, and
//!   how a save cut by a crash is put back in step when the store opens).
//! * `l/<job id>` → the label and document bytes of the job's result, out of `j/` so
//!   the job record stays small at every save and load
//!   ([`crate::pipeline::stored_labels`]).
//!
//! Every transition is written and flushed ([`Ledger::save_flushed`]) **before** the side
//! effect it guards: `shipping` before Ship, `shipped` before write-back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{ErpRecord, ErrorClass, ShipResult, Shipment};
use crate::store::{BackendKind, Store, StoreError, Tree};

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Read from the ERP, not yet mapped.
    Seen,
    /// Mapped to a canonical shipment that passed the rule checks.
    Mapped,
    /// Address validated and classified; service chosen.
    AddressChecked,
    /// Ship was (possibly) sent: in doubt until reconciled or answered.
    Shipping,
    /// UPS answered with tracking numbers and labels (persisted before write-back).
    Shipped,
    /// 1Z numbers and labels are on the ERP record.
    WrittenBack,
    /// Handed to tracking.
    Tracking,
    /// Every package delivered.
    Delivered,
    /// Dead-letter: waits for a person (`jobs replay`).
    Failed,
    /// Voided at UPS.
    Voided,
    /// A newer version of the record replaced this job before it shipped.
    Superseded,
}

impl JobState {
    pub const ALL: [JobState; 11] = [
        JobState::Seen,
        JobState::Mapped,
        JobState::AddressChecked,
        JobState::Shipping,
        JobState::Shipped,
        JobState::WrittenBack,
        JobState::Tracking,
        JobState::Delivered,
        JobState::Failed,
        JobState::Voided,
        JobState::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Seen => "seen",
            JobState::Mapped => "mapped",
            JobState::AddressChecked => "address_checked",
            JobState::Shipping => "shipping",
            JobState::Shipped => "shipped",
            JobState::WrittenBack => "written_back",
            JobState::Tracking => "tracking",
            JobState::Delivered => "delivered",
            JobState::Failed => "failed",
            JobState::Voided => "voided",
            JobState::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The pipeline still has work to do for a job in this state.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobState::Seen
                | JobState::Mapped
                | JobState::AddressChecked
                | JobState::Shipping
                | JobState::Shipped
        )
    }

    /// A shipment exists (or may exist) at UPS for a job in this state.
    pub fn has_shipment(self) -> bool {
        matches!(
            self,
            JobState::Shipping
                | JobState::Shipped
                | JobState::WrittenBack
                | JobState::Tracking
                | JobState::Delivered
        )
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a job is in the dead-letter queue (or why its last attempt failed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub class: ErrorClass,
    pub code: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// One entry of a job's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub from: Option<JobState>,
    pub to: JobState,
    /// Ids and codes only (1Z numbers, UPS/ERP ids, error codes); never secrets or addresses.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A Ship attempt in flight (the `shipping{attempt, request_hash, started_at}` of docs/design.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipAttempt {
    pub attempt: u32,
    /// SHA-256 (hex) of the shipment sent.
    pub request_hash: String,
    pub started_at: DateTime<Utc>,
    /// The reference value unique to this job stamped on every Ship of it (see
    /// [`job_reference`]); reconciliation looks it up. `None` for attempts recorded before
    /// upsync stamped one (reconciled by the ERP number, as then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Reconciliation lookups that found nothing since this attempt was found in doubt.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub misses: u32,
    /// When the first of those lookups ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_miss_at: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The reference value unique to a job, stamped on its Ship requests besides the ERP
/// number: the ERP number alone is not unique at UPS (another shipper may use the same
/// order numbers, and an earlier job of the same record carries it too). 20 characters,
/// upper-case letters and digits (UPS reference values are ≤ 35; barcodes want no spaces).
pub fn job_reference(job_id: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, job_id.as_bytes());
    format!("UPSYNC{}", &hex::encode_upper(d.as_ref())[..14])
}

/// A job re-shipped after reconciliation gave up finding its first Ship: UPS may still
/// index that first shipment late, so the job's reference is looked up again now and then
/// until `until`, and any live shipment other than the job's own is voided (`w/` keys).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    pub job_id: String,
    /// The job's reference value and shipper account.
    pub reference: String,
    pub shipper: String,
    /// Oldest pickup date to search from.
    pub since: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Late duplicates found and voided so far.
    #[serde(default)]
    pub voided: Vec<String>,
}

fn watch_key(job_id: &str) -> String {
    format!("w/{job_id}")
}

/// A change to the ERP record after it shipped: for a person to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub at: DateTime<Utc>,
    /// The version that differs from what was shipped.
    pub version: String,
    /// What differs (field names, not values).
    pub what: String,
}

/// One job: one version of one ERP record on its way to a label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub source: String,
    pub record_id: String,
    /// ERP document number (stamped as UPS reference).
    pub number: String,
    pub version: String,
    pub state: JobState,
    /// The ERP record as read (replay re-maps it; write-back needs it). Its data is stored
    /// under its own key ([`crate::pipeline::stored_record`]); [`Ledger::get_lean`] puts it back.
    #[serde(serialize_with = "crate::pipeline::stored_record::record_without_data")]
    pub record: ErpRecord,
    /// Stored under its own key ([`crate::pipeline::stored_shipment`]); [`Ledger::get_lean`]
    /// puts it back.
    #[serde(
        default,
        serialize_with = "crate::pipeline::stored_shipment::shipment_left_out"
    )]
    pub shipment: Option<Shipment>,
    #[serde(default)]
    pub ship_attempt: Option<ShipAttempt>,
    /// Stored without its label and document bytes: those live under `l/<job id>`
    /// ([`crate::pipeline::stored_labels`]); [`Ledger::get`] puts them back.
    #[serde(
        default,
        serialize_with = "crate::pipeline::stored_labels::result_without_bytes"
    )]
    pub result: Option<ShipResult>,
    /// Business days in transit UPS quoted for the chosen service (rate shopping for
    /// `cheapest_within_days`); written back as `write_back.transit_days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted_days: Option<u32>,
    /// What was decided about freight at write-back: list and account figures, currency,
    /// basis used (and why, on a fallback), the figure written or why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight: Option<crate::model::FreightOutcome>,
    /// Transient failures so far in the current state.
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_error: Option<Failure>,
    #[serde(default)]
    pub conflict: Option<Conflict>,
    /// Shipments found at UPS and voided by reconciliation because they duplicated this one.
    #[serde(default)]
    pub duplicates_voided: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub timeline: Vec<Transition>,
    /// Delivered and compacted: the ERP record copy and the label bytes were dropped (see
    /// [`Job::compact`]); numbers, shipment, tracking numbers and timeline remain.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub compacted: bool,
    /// The UPS shipments of a record split over the customs line limit
    /// (`over_limit: split`), in order; empty for a record shipped whole (and for every job
    /// recorded before splits existed). See [`crate::pipeline::parts`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<crate::pipeline::parts::Part>,
    /// Outbound shipment or return (docs/returns.md); older records load as outbound.
    #[serde(default)]
    pub kind: crate::model::ShipmentKind,
    /// For an automatic return (`auto_return:` of the outbound mapping): the outbound
    /// job it goes with. Its id is `<outbound job id>#return`; it shares the outbound's
    /// record but never becomes the record's current job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_of: Option<String>,
    /// The state the ledger holds for this copy of the job, as last read or saved through
    /// it ([`Ledger::get`], [`Ledger::save`]): the pipeline saves a state no side effect
    /// depends on (`mapped`, `address_checked`) once, when the job stops, instead of at
    /// every step. Never stored; never part of equality.
    #[serde(skip)]
    pub(crate) stored: StoredState,
}

/// What [`Job::stored`] holds: a job state, or nothing known (a new job, a copy made by
/// deserialising outside the ledger); and whether the ledger's `l/<job id>` holds exactly
/// the label bytes of this copy's result (false when unknown: a save then writes them);
/// whether its `d/<job id>` holds this copy's record data (the same).
/// Atomic so a `&Job` can be marked saved.
#[derive(Debug)]
pub(crate) struct StoredState(
    std::sync::atomic::AtomicU8,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicBool,
    std::sync::atomic::AtomicBool,
);

impl Default for StoredState {
    fn default() -> Self {
        StoredState(
            std::sync::atomic::AtomicU8::new(Self::UNKNOWN),
            std::sync::atomic::AtomicBool::new(false),
            std::sync::atomic::AtomicBool::new(false),
            std::sync::atomic::AtomicBool::new(false),
        )
    }
}

impl StoredState {
    const UNKNOWN: u8 = u8::MAX;

    fn get(&self) -> Option<JobState> {
        let i = self.0.load(std::sync::atomic::Ordering::Relaxed);
        JobState::ALL.get(usize::from(i)).copied()
    }

    fn set(&self, state: Option<JobState>) {
        let i = state.map_or(Self::UNKNOWN, |s| {
            JobState::ALL.iter().position(|x| *x == s).unwrap_or(0) as u8
        });
        self.0.store(i, std::sync::atomic::Ordering::Relaxed);
    }

    fn labels_stored(&self) -> bool {
        self.1.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_labels_stored(&self, stored: bool) {
        self.1.store(stored, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the ledger's `d/<job id>` holds exactly this copy's record data (false when
    /// unknown: a save then writes it).
    fn record_stored(&self) -> bool {
        self.2.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn set_record_stored(&self, stored: bool) {
        self.2.store(stored, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the ledger's `m/<job id>` holds this copy's shipment (absent for none); false
    /// when unknown: a save then writes it.
    fn shipment_stored(&self) -> bool {
        self.3.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set_shipment_stored(&self, stored: bool) {
        self.3.store(stored, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clone for StoredState {
    fn clone(&self) -> Self {
        let s = StoredState::default();
        s.set(self.get());
        s.set_labels_stored(self.labels_stored());
        // Not the record and shipment marks: a copy may be changed and saved as another
        // job, and writing its data again costs one insert.
        s
    }
}

impl PartialEq for StoredState {
    /// A bookkeeping mark, not data: two jobs with the same fields are equal.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Job id for a record version.
pub fn job_id(source: &str, record_id: &str, version: &str) -> String {
    format!("{source}/{record_id}/{version}")
}

impl Job {
    pub fn new(record: ErpRecord, now: DateTime<Utc>) -> Job {
        Job {
            id: job_id(&record.source, &record.id, &record.version),
            source: record.source.clone(),
            record_id: record.id.clone(),
            number: record.number.clone(),
            version: record.version.clone(),
            state: JobState::Seen,
            record,
            shipment: None,
            ship_attempt: None,
            result: None,
            quoted_days: None,
            freight: None,
            retries: 0,
            next_attempt_at: None,
            last_error: None,
            conflict: None,
            duplicates_voided: 0,
            created_at: now,
            updated_at: now,
            timeline: vec![Transition {
                at: now,
                from: None,
                to: JobState::Seen,
                note: String::new(),
            }],
            compacted: false,
            parts: Vec::new(),
            kind: crate::model::ShipmentKind::Outbound,
            return_of: None,
            stored: StoredState::default(),
        }
    }

    /// Whether the ledger already holds this job's current state (as far as this copy
    /// knows): false for a transition not saved yet.
    pub fn state_is_stored(&self) -> bool {
        self.stored.get() == Some(self.state)
    }

    /// Drop what a delivered job no longer needs: the copy of the ERP record (replay and
    /// write-back are over) and the label bytes (the parcel has arrived). About two thirds
    /// of a job's size, and the ERP's data (addresses) no longer sits in upsync's state.
    pub fn compact(&mut self) {
        self.record.data = serde_json::Value::Null;
        if let Some(r) = &mut self.result {
            for p in &mut r.packages {
                p.label = None;
            }
            // Invoice PDFs go like labels; their names stay (the demo table, `jobs show`).
            for d in &mut r.documents {
                d.data.clear();
            }
        }
        self.compacted = true;
    }

    /// Move to `to`, recording the transition; clears retry bookkeeping.
    /// One line on what holds the job or what it came to (`jobs list`, the console): the
    /// conflict, the dead-letter reason, the shipment id, or the retried failure's code.
    pub fn summary(&self) -> String {
        match (&self.conflict, &self.last_error, &self.result) {
            (Some(c), _, _) => format!("CONFLICT: {}", c.what),
            (_, Some(f), _) if self.state == JobState::Failed => {
                format!("[{}] {}", f.code, f.message)
            }
            (_, _, Some(r)) => r.shipment_id.clone(),
            (_, Some(f), _) => format!("retrying: [{}]", f.code),
            _ => String::new(),
        }
    }

    pub fn transition(&mut self, to: JobState, note: impl Into<String>, now: DateTime<Utc>) {
        let note = note.into();
        // One structured event per transition: ids, states and codes only.
        tracing::info!(job = %self.id, from = %self.state, to = %to, note = %note, "job transition");
        self.timeline.push(Transition {
            at: now,
            from: Some(self.state),
            to,
            note,
        });
        self.state = to;
        self.retries = 0;
        self.next_attempt_at = None;
        if to != JobState::Failed {
            self.last_error = None;
        }
        self.updated_at = now;
    }

    /// Due for work now.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.state.is_active() && self.next_attempt_at.is_none_or(|t| t <= now)
    }
}

/// A dead-letter entry (`dead_letters` tree, key = job id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub job_id: String,
    pub source: String,
    pub record_id: String,
    pub number: String,
    pub failure: Failure,
}

/// Jobs per (connector, state), kept in memory from the `s/` index.
pub type StateCounts = std::collections::BTreeMap<(String, JobState), i64>;

/// Ledger operations over the store.
#[derive(Clone)]
pub struct Ledger {
    store: std::sync::Arc<Store>,
    counts: std::sync::Arc<std::sync::Mutex<StateCounts>>,
}

/// A job's side entry that does not decode: corrupt, naming its key.
fn corrupt(key: &str, why: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        tree: Tree::Jobs.name(),
        reason: format!("{key}: {why}"),
    }
}

fn job_key(id: &str) -> String {
    format!("j/{id}")
}

fn record_key(source: &str, record_id: &str) -> String {
    format!("r/{source}/{record_id}")
}

impl Ledger {
    /// Open the ledger; counts jobs per state from the `s/` index (one key scan).
    ///
    /// On sled, the first ledger opened on a store first mends the jobs a crash cut in the
    /// middle of a save ([`Ledger::save_in_order`]); a failure there is logged and left to
    /// `upsync store verify`, it does not stop the daemon.
    pub fn new(store: std::sync::Arc<Store>) -> Ledger {
        let ledger = Ledger {
            store,
            counts: Default::default(),
        };
        if ledger.store.backend_kind() == BackendKind::Sled && ledger.store.first_ledger_check() {
            match ledger.check_in_flux() {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    jobs = n,
                    event = "ledger_mended",
                    "ledger: {n} job(s) saved halfway when the daemon last stopped were put in step"
                ),
                Err(e) => tracing::error!(
                    error = %e,
                    event = "ledger_mend_failed",
                    "ledger: could not check the jobs the last stop may have left halfway saved; run `upsync store verify`"
                ),
            }
        }
        let store = ledger.store;
        let mut counts = StateCounts::new();
        for (k, v) in store.tree(Tree::Jobs).scan_prefix(b"s/").flatten() {
            let id = String::from_utf8_lossy(&k[2..]).into_owned();
            let source = id.split('/').next().unwrap_or_default().to_string();
            if let Some(st) = std::str::from_utf8(&v).ok().and_then(JobState::parse) {
                *counts.entry((source, st)).or_insert(0) += 1;
            }
        }
        Ledger {
            store,
            counts: std::sync::Arc::new(std::sync::Mutex::new(counts)),
        }
    }

    /// Jobs per (connector, state) right now.
    pub fn state_counts(&self) -> StateCounts {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ids of one source's jobs in any of `states` (a scan of the `s/` state index: keys
    /// and short values only, no job is decoded).
    pub fn ids_in_states(
        &self,
        source: &str,
        states: &[JobState],
    ) -> Result<Vec<String>, StoreError> {
        let prefix = format!("s/{source}/");
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Jobs).scan_prefix(prefix.as_bytes()) {
            let (k, v) = kv.map_err(|source| StoreError::Db {
                dir: std::path::PathBuf::from("<jobs>"),
                source,
            })?;
            let state = std::str::from_utf8(&v).ok().and_then(JobState::parse);
            if state.is_some_and(|s| states.contains(&s)) {
                out.push(String::from_utf8_lossy(&k[2..]).into_owned());
            }
        }
        Ok(out)
    }

    /// Keep the in-memory state counts in step with a saved job (`previous`: the state
    /// mark it had before the save).
    fn count_transition(&self, job: &Job, old: Option<JobState>) {
        if old != Some(job.state) {
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(o) = old {
                *c.entry((job.source.clone(), o)).or_insert(0) -= 1;
            }
            *c.entry((job.source.clone(), job.state)).or_insert(0) += 1;
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A job with its label and document bytes ([`Ledger::get_lean`] without them).
    pub fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let mut job = self.get_lean(id)?;
        if let Some(j) = &mut job {
            self.attach_labels(j)?;
        }
        Ok(job)
    }

    /// A job as its record holds it, with its ERP record data put back (`d/<job id>`, see
    /// [`crate::pipeline::stored_record`]) but its label and document bytes left out (they
    /// live under `l/<job id>`, see [`crate::pipeline::stored_labels`]), for the many reads
    /// that never look at them. Saving it keeps the stored bytes.
    pub fn get_lean(&self, id: &str) -> Result<Option<Job>, StoreError> {
        let mut job: Option<Job> = self.store.get_json(Tree::Jobs, &job_key(id))?;
        if let Some(j) = &mut job {
            j.stored.set(Some(j.state));
            self.attach_record(j)?;
            self.attach_shipment(j)?;
        }
        Ok(job)
    }

    /// Put a job's stored shipment back (`m/<job id>`, see
    /// [`crate::pipeline::stored_shipment`]). A record written before the shipment had its
    /// own key holds it inline: kept, and moved by the next save. No key and none inline:
    /// the job has no shipment (not mapped yet).
    fn attach_shipment(&self, job: &mut Job) -> Result<(), StoreError> {
        if job.shipment.is_some() {
            return Ok(());
        }
        let key = crate::pipeline::stored_shipment::shipment_key(&job.id);
        if let Some(raw) = self.side_entry(&key)? {
            job.shipment = Some(serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))?);
        }
        job.stored.set_shipment_stored(true);
        Ok(())
    }

    /// A job's side entry (`d/`, `l/`, `m/` and its id) as stored, if any.
    fn side_entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store
            .tree(Tree::Jobs)
            .get(key)
            .map_err(save::jobs_db_err)
    }

    /// Put a job's stored record data back (no-op for a compacted job, or a record written
    /// before the data had its own key: it holds the data inline). A job record whose data
    /// is in neither place is corrupt.
    fn attach_record(&self, job: &mut Job) -> Result<(), StoreError> {
        if job.compacted || !job.record.data.is_null() {
            return Ok(());
        }
        let key = crate::pipeline::stored_record::data_key(&job.id);
        let Some(raw) = self.side_entry(&key)? else {
            return Err(StoreError::Corrupt {
                tree: Tree::Jobs.name(),
                reason: format!(
                    "{key}: missing, so job {} has no ERP record data; restore the store from a backup (`upsync store`)",
                    job.id
                ),
            });
        };
        job.record.data = serde_json::from_slice(&raw).map_err(|e| corrupt(&key, e))?;
        job.stored.set_record_stored(true);
        Ok(())
    }

    /// Put a job's stored label and document bytes back into its result (no-op without a
    /// result, for a compacted job, or when none are stored: a record written before the
    /// bytes had their own key holds them inline).
    pub fn attach_labels(&self, job: &mut Job) -> Result<(), StoreError> {
        let Some(r) = job.result.as_mut() else {
            return Ok(());
        };
        if job.compacted || job.stored.labels_stored() {
            return Ok(());
        }
        let key = crate::pipeline::stored_labels::labels_key(&job.id);
        if let Some(raw) = self.side_entry(&key)? {
            crate::pipeline::stored_labels::attach(r, &raw).map_err(|e| corrupt(&key, e))?;
            job.stored.set_labels_stored(true);
        }
        Ok(())
    }

    /// The current job of an ERP record.
    pub fn current_for(&self, source: &str, record_id: &str) -> Result<Option<Job>, StoreError> {
        let mut job = self.current_for_lean(source, record_id)?;
        if let Some(j) = &mut job {
            self.attach_labels(j)?;
        }
        Ok(job)
    }

    /// [`Ledger::current_for`] without label bytes (see [`Ledger::get_lean`]).
    pub fn current_for_lean(
        &self,
        source: &str,
        record_id: &str,
    ) -> Result<Option<Job>, StoreError> {
        let id: Option<String> = self
            .store
            .get_json(Tree::Jobs, &record_key(source, record_id))?;
        match id {
            Some(id) => self.get_lean(&id),
            None => Ok(None),
        }
    }

    /// Write and flush: use before the side effect the new state guards.
    pub async fn save_flushed(&self, job: &Job) -> Result<(), StoreError> {
        self.save(job)?;
        self.flush().await
    }

    /// Durably flush everything written so far, from async code.
    ///
    /// Not sled's `flush_async`: several tasks awaiting it at once can wait forever (sled
    /// 0.34, spacejam/sled#1308 and #1241), and the pipeline flushes from every job in
    /// flight. A blocking flush on tokio's blocking pool keeps the runtime free instead.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.store.flush_async().await
    }

    /// Every job (optionally only one source / one state), in key order, with its label
    /// and document bytes.
    pub fn jobs(
        &self,
        source: Option<&str>,
        state: Option<JobState>,
    ) -> impl Iterator<Item = Result<Job, StoreError>> + '_ {
        let prefix = match source {
            Some(s) => format!("j/{s}/"),
            None => "j/".to_string(),
        };
        self.store
            .tree(Tree::Jobs)
            .scan_prefix(prefix)
            .values()
            .map(|v| {
                let v = v.map_err(|source| StoreError::Db {
                    dir: std::path::PathBuf::from("<jobs>"),
                    source,
                })?;
                serde_json::from_slice::<Job>(&v).map_err(|e| StoreError::Corrupt {
                    tree: "jobs",
                    reason: e.to_string(),
                })
            })
            .filter(move |j| match (j, state) {
                (Ok(j), Some(s)) => j.state == s,
                _ => true,
            })
            .map(move |j| {
                let mut j = j?;
                self.attach_record(&mut j)?;
                self.attach_shipment(&mut j)?;
                self.attach_labels(&mut j)?;
                Ok(j)
            })
    }

    /// Ids of active jobs of one source (cheap: an index scan).
    pub fn active_ids(&self, source: &str) -> Result<Vec<String>, StoreError> {
        let prefix = format!("a/{source}/");
        self.store
            .tree(Tree::Jobs)
            .scan_prefix(prefix.as_bytes())
            .keys()
            .map(|k| {
                k.map(|k| String::from_utf8_lossy(&k[2..]).into_owned())
                    .map_err(|source| StoreError::Db {
                        dir: std::path::PathBuf::from("<jobs>"),
                        source,
                    })
            })
            .collect()
    }

    /// Keep (or start) watching a re-shipped job's reference for late duplicates.
    pub fn put_watch(&self, w: &Watch) -> Result<(), StoreError> {
        self.store.put_json(Tree::Jobs, &watch_key(&w.job_id), w)
    }

    pub fn remove_watch(&self, job_id: &str) -> Result<(), StoreError> {
        self.store.remove(Tree::Jobs, &watch_key(job_id))
    }

    pub fn get_watch(&self, job_id: &str) -> Result<Option<Watch>, StoreError> {
        self.store.get_json(Tree::Jobs, &watch_key(job_id))
    }

    /// Watches of connector `source` due at `now`.
    pub fn due_watches(&self, source: &str, now: DateTime<Utc>) -> Result<Vec<Watch>, StoreError> {
        let prefix = format!("w/{source}/");
        let mut out = Vec::new();
        for kv in self.store.tree(Tree::Jobs).scan_prefix(prefix.as_bytes()) {
            let (_, v) = kv.map_err(|source| StoreError::Db {
                dir: std::path::PathBuf::from("<jobs>"),
                source,
            })?;
            let w: Watch = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                tree: "jobs",
                reason: format!("watch entry: {e}"),
            })?;
            if w.next_at <= now {
                out.push(w);
            }
        }
        Ok(out)
    }

    /// Audit entries of one job (external calls), oldest first.
    pub fn audit(&self, job_id: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        self.store
            .tree(Tree::Audit)
            .scan_prefix(format!("{job_id}/").as_bytes())
            .values()
            .map(|v| {
                let v = v.map_err(|source| StoreError::Db {
                    dir: std::path::PathBuf::from("<audit>"),
                    source,
                })?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    tree: "audit",
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Retention: remove finished jobs (delivered, voided, superseded) last updated before
    /// `before`, with their index and audit entries. Returns how many jobs were removed.
    /// Active, failed and tracking jobs are never pruned.
    pub fn prune(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let db_err = |source| StoreError::Db {
            dir: std::path::PathBuf::from("<jobs>"),
            source,
        };
        let jobs = self.store.tree(Tree::Jobs);
        let mut victims = Vec::new();
        for kv in jobs.scan_prefix(b"s/") {
            let (k, v) = kv.map_err(db_err)?;
            let finished = matches!(
                std::str::from_utf8(&v).ok().and_then(JobState::parse),
                Some(JobState::Delivered | JobState::Voided | JobState::Superseded)
            );
            if finished {
                victims.push(String::from_utf8_lossy(&k[2..]).into_owned());
            }
        }
        let mut removed = 0;
        for id in victims {
            let Some(job) = self.get_lean(&id)? else {
                continue;
            };
            if job.updated_at >= before {
                continue;
            }
            jobs.remove(job_key(&id)).map_err(db_err)?;
            jobs.remove(format!("s/{id}")).map_err(db_err)?;
            // A voided or superseded job may still hold label bytes.
            jobs.remove(crate::pipeline::stored_labels::labels_key(&id))
                .map_err(db_err)?;
            jobs.remove(crate::pipeline::stored_record::data_key(&id))
                .map_err(db_err)?;
            jobs.remove(crate::pipeline::stored_shipment::shipment_key(&id))
                .map_err(db_err)?;
            let rk = record_key(&job.source, &job.record_id);
            if jobs.get(&rk).map_err(db_err)?.as_deref()
                == Some(serde_json::to_vec(&job.id).unwrap_or_default().as_slice())
            {
                jobs.remove(&rk).map_err(db_err)?;
            }
            let audit = self.store.tree(Tree::Audit);
            for k in audit.scan_prefix(format!("{id}/").as_bytes()).keys() {
                audit.remove(k.map_err(db_err)?).map_err(db_err)?;
            }
            let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
            *c.entry((job.source.clone(), job.state)).or_insert(0) -= 1;
            removed += 1;
        }
        Ok(removed)
    }

    /// Dead-letter entries.
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, StoreError> {
        self.store
            .tree(Tree::DeadLetters)
            .iter()
            .values()
            .map(|v| {
                let v = v.map_err(|source| StoreError::Db {
                    dir: std::path::PathBuf::from("<dead_letters>"),
                    source,
                })?;
                serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt {
                    tree: "dead_letters",
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;

#[path = "ledger_save.rs"]
mod save;
