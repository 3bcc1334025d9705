//! How the ledger writes a job ([`Ledger::save`]): one atomic batch on PostgreSQL, single
//! writes in a crash-safe order on sled, and the check at open that puts a job a crash cut
//! in the middle of such a save back in step ([`Ledger::check_in_flux`]). Why single writes: docs/performance.md, "Session 10".

use serde::{Deserialize, Serialize};

use super::{job_key, record_key, DeadLetter, Job, JobState, Ledger};
use crate::store::{BackendKind, StoreError, Tree};

/// What a save does with one of a job's side keys: its label bytes (`l/<job id>`) or its
/// record data (`d/<job id>`).
enum Side {
    Keep,
    Write(Vec<u8>),
    Remove,
}

pub(super) fn jobs_db_err(source: crate::store::DbError) -> StoreError {
    StoreError::Db {
        dir: std::path::PathBuf::from("<jobs>"),
        source,
    }
}

/// A value of the `jobs` tree as JSON; a failure names the job.
fn encode<T: Serialize + ?Sized>(v: &T, id: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| StoreError::Corrupt {
        tree: Tree::Jobs.name(),
        reason: format!("{id}: {e}"),
    })
}

/// Whether this save writes the record index: a job's first save (a job already in the
/// ledger wrote it then), except for a superseded job and an automatic return (it shares
/// its outbound's record but is never its current job).
fn indexes_record(job: &Job, previous: Option<JobState>) -> bool {
    previous.is_none() && job.state != JobState::Superseded && job.return_of.is_none()
}

impl Ledger {
    /// Write a job (and, if it is the record's current job, the record index); not flushed.
    /// A job that reaches `Delivered` is stored compacted ([`Job::compact`]).
    ///
    /// No read when this copy of the job came from the ledger ([`Job::stored`] names the
    /// state the ledger holds): the record index is written with a job's first save only,
    /// the dead-letter entry only when the state crosses in or out of `failed`. On
    /// PostgreSQL a save is one atomic batch ([`Ledger::save_in_batch`]); on sled, single
    /// writes in a crash-safe order ([`Ledger::save_in_order`]).
    pub fn save(&self, job: &Job) -> Result<(), StoreError> {
        let body = if job.state == JobState::Delivered && !job.compacted {
            let mut c = job.clone();
            c.compact();
            encode(&c, &job.id)?
        } else {
            encode(job, &job.id)?
        };
        let state_key = format!("s/{}", job.id);
        // The state the ledger holds now: known from the copy, else read (a new job, or a
        // job decoded elsewhere).
        let previous = match job.stored.get() {
            Some(s) => Some(s),
            None => self
                .store
                .tree(Tree::Jobs)
                .get(&state_key)
                .map_err(jobs_db_err)?
                .and_then(|v| std::str::from_utf8(&v).ok().and_then(JobState::parse)),
        };
        // Label bytes: written with the save that first holds them (`shipped`, flushed
        // before write-back); removed with compaction.
        let labels = if job.state == JobState::Delivered && !job.compacted {
            Side::Remove
        } else {
            match &job.result {
                Some(r)
                    if !job.stored.labels_stored()
                        && crate::pipeline::stored_labels::has_bytes(r) =>
                {
                    Side::Write(crate::pipeline::stored_labels::encode(r).map_err(|e| {
                        StoreError::Corrupt {
                            tree: Tree::Jobs.name(),
                            reason: format!(
                                "{}: {e}",
                                crate::pipeline::stored_labels::labels_key(&job.id)
                            ),
                        }
                    })?)
                }
                _ => Side::Keep,
            }
        };
        // Record data: written with a job's first save and whenever this copy's may differ
        // from the stored one (a `seen` job: new, or a replay that read the record again);
        // removed with compaction.
        let data = if job.state == JobState::Delivered && !job.compacted {
            Side::Remove
        } else if job.compacted || (job.stored.record_stored() && job.state != JobState::Seen) {
            Side::Keep
        } else {
            Side::Write(encode(&job.record.data, &job.id)?)
        };
        // The shipment: written by the saves that may carry a changed one (see
        // `stored_shipment`); kept once frozen and stored; nothing for a new job without one.
        let shipment = if job.stored.shipment_stored()
            && crate::pipeline::stored_shipment::frozen(job.state)
        {
            Side::Keep
        } else {
            match &job.shipment {
                Some(s) => Side::Write(encode(s, &job.id)?),
                None if previous.is_none() => Side::Keep,
                None => Side::Remove,
            }
        };
        let labels_written = matches!(labels, Side::Write(_));
        let data_written = matches!(data, Side::Write(_));
        let sides = [
            (crate::pipeline::stored_labels::labels_key(&job.id), labels),
            (crate::pipeline::stored_record::data_key(&job.id), data),
            (
                crate::pipeline::stored_shipment::shipment_key(&job.id),
                shipment,
            ),
        ];
        // sled: single writes in an order no crash can hurt (see `save_in_order`); a
        // multi-key batch costs sled two log-buffer writes.
        if self.store.backend_kind() == BackendKind::Sled {
            self.save_in_order(job, body, sides, previous)?
        } else {
            self.save_in_batch(job, body, sides, previous)?
        }
        self.count_transition(job, previous);
        job.stored.set(Some(job.state));
        if labels_written {
            job.stored.set_labels_stored(true);
        }
        if data_written {
            job.stored.set_record_stored(true);
        }
        job.stored.set_shipment_stored(true);
        Ok(())
    }

    /// A save as one atomic batch (PostgreSQL: a batch is one transaction there). The job, its state
    /// mark, its record index and its active-index entry change together: a failed write
    /// (disk full) never leaves a job that is in the ledger but missing from the active
    /// index, which no cycle would ever pick up.
    fn save_in_batch(
        &self,
        job: &Job,
        body: Vec<u8>,
        sides: [(String, Side); 3],
        previous: Option<JobState>,
    ) -> Result<(), StoreError> {
        let mut batch = crate::store::Batch::default();
        batch.insert(job_key(&job.id).as_bytes(), body);
        for (key, what) in sides {
            match what {
                Side::Write(bytes) => batch.insert(key.as_bytes(), bytes),
                Side::Remove => batch.remove(key.as_bytes()),
                Side::Keep => {}
            }
        }
        batch.insert(
            format!("s/{}", job.id).as_bytes(),
            job.state.as_str().as_bytes(),
        );
        if indexes_record(job, previous) {
            batch.insert(
                record_key(&job.source, &job.record_id).as_bytes(),
                encode(&job.id, &job.id)?,
            );
        }
        let active_key = format!("a/{}", job.id);
        if job.state.is_active() {
            // Always (cheap, and a job missing from the active index would never be
            // picked up again, whatever a stale copy believed).
            batch.insert(active_key.as_bytes(), b"null".as_slice());
        } else if previous.is_none_or(JobState::is_active) {
            batch.remove(active_key.as_bytes());
        }
        // Several daemons (issue 22): only while this task's lease (the job's, or the
        // connector's while it polls) still holds; none set = unfenced, as on sled.
        self.store
            .tree(Tree::Jobs)
            .apply_batch_fenced(batch, crate::cluster::current_fence().as_ref())?;
        self.file_dead_letter(job, previous)
    }

    /// A save on sled, as single writes. sled makes a multi-key batch
    /// atomic by writing out its log buffer before and after it (`pin_log` in sled 0.34:
    /// two buffer writes handed to its I/O threads, and a global write lock), which cost
    /// the daemon about a third of its CPU per shipment (docs/performance.md, "Session 10").
    /// Single writes reach sled's log in program order and sled recovers a prefix of its
    /// log, so after a crash a save is cut somewhere in this sequence:
    ///
    /// 1. the active-index entry `a/<id>`: the job is "in flux" (an active job always has
    ///    it, so a job that was active is only checked for it; an inactive one has it
    ///    until step 7);
    /// 2. a new job's record index `r/<source>/<record id>`, before the job: an index
    ///    naming a job not written yet reads as no job, and the next poll makes it again
    ///    (written after, a crash would leave the record pointing at the job before, and
    ///    the next poll would make this one anew over whatever it had done);
    /// 3. new label bytes, record data and shipment, before the job that relies on them;
    /// 4. the job, then its state mark `s/<id>`;
    /// 5. its dead-letter entry (filed or withdrawn);
    /// 6. label bytes and record data of a job compacted at delivery, and the shipment of a
    ///    job that no longer has one (a replay), after the job;
    /// 7. `a/<id>` removed when the new state is not active.
    ///
    /// Cut anywhere, the job is in the active index, and [`Ledger::new`] (once per
    /// opening, before anything runs) puts its state mark, dead-letter entry, label bytes,
    /// record data, shipment and active-index entry in step with the job stored ([`Ledger::check_in_flux`]). A
    /// job whose new body never reached the log keeps its old state: the pipeline redoes
    /// the step, as it would after a crash before an atomic batch.
    fn save_in_order(
        &self,
        job: &Job,
        body: Vec<u8>,
        sides: [(String, Side); 3],
        previous: Option<JobState>,
    ) -> Result<(), StoreError> {
        let t = self.store.tree(Tree::Jobs);
        let active_key = format!("a/{}", job.id);
        // A job that was active has its entry already (a read costs a fraction of a
        // write); one that was not, or whose copy may be stale, gets it.
        let listed = previous.is_some_and(JobState::is_active)
            && t.contains_key(&active_key).map_err(jobs_db_err)?;
        if !listed {
            t.insert(&active_key, b"null".as_slice())
                .map_err(jobs_db_err)?;
        }
        if indexes_record(job, previous) {
            t.insert(
                record_key(&job.source, &job.record_id),
                encode(&job.id, &job.id)?,
            )
            .map_err(jobs_db_err)?;
        }
        // Label bytes and record data: written before the job relies on them, removed after.
        let mut removed = Vec::new();
        for (key, what) in sides {
            match what {
                Side::Write(bytes) => t.insert(&key, bytes).map_err(jobs_db_err)?,
                Side::Remove => removed.push(key),
                Side::Keep => {}
            }
        }
        t.insert(job_key(&job.id), body).map_err(jobs_db_err)?;
        t.insert(format!("s/{}", job.id), job.state.as_str().as_bytes())
            .map_err(jobs_db_err)?;
        self.file_dead_letter(job, previous)?;
        for key in removed {
            t.remove(&key).map_err(jobs_db_err)?;
        }
        if !job.state.is_active() {
            t.remove(&active_key).map_err(jobs_db_err)?;
        }
        Ok(())
    }

    /// A failed job's dead-letter entry, filed when it fails and withdrawn when it leaves
    /// `failed`.
    fn file_dead_letter(&self, job: &Job, previous: Option<JobState>) -> Result<(), StoreError> {
        if job.state == JobState::Failed {
            if let Some(f) = &job.last_error {
                self.store.put_json(
                    Tree::DeadLetters,
                    &job.id,
                    &DeadLetter {
                        job_id: job.id.clone(),
                        source: job.source.clone(),
                        record_id: job.record_id.clone(),
                        number: job.number.clone(),
                        failure: f.clone(),
                    },
                )?;
            }
        } else if previous == Some(JobState::Failed) {
            // Only a job leaving `failed` has an entry: one is filed after the job's state
            // mark (`save_in_order`), so a job without a mark (its first save) has none.
            self.store.remove(Tree::DeadLetters, &job.id)?;
        }
        Ok(())
    }

    /// After a crash (sled): bring every job of the active index in step with itself —
    /// the jobs a [`Ledger::save_in_order`] may have been cut in. Its state mark, its
    /// dead-letter entry, its label bytes and record data (gone once compacted) and its
    /// shipment (none while `seen`) follow the job stored; a job no longer active
    /// leaves the index. Reads the active jobs' state only (a failed one in full, for its
    /// dead-letter entry). Returns how many jobs it mended.
    pub(super) fn check_in_flux(&self) -> Result<usize, StoreError> {
        #[derive(Deserialize)]
        struct Head {
            state: JobState,
            #[serde(default)]
            compacted: bool,
        }
        let t = self.store.tree(Tree::Jobs);
        let mut mended = 0;
        let ids: Vec<String> = t
            .scan_prefix(b"a/")
            .keys()
            .map(|k| k.map(|k| String::from_utf8_lossy(&k[2..]).into_owned()))
            .collect::<Result<_, _>>()
            .map_err(jobs_db_err)?;
        for id in ids {
            let state_key = format!("s/{id}");
            let Some(raw) = t.get(job_key(&id)).map_err(jobs_db_err)? else {
                // No job: a new job cut before it was written (its record index, if
                // written, reads as no job; the next poll makes the job again).
                t.remove(format!("a/{id}")).map_err(jobs_db_err)?;
                t.remove(&state_key).map_err(jobs_db_err)?;
                t.remove(crate::pipeline::stored_record::data_key(&id))
                    .map_err(jobs_db_err)?;
                t.remove(crate::pipeline::stored_shipment::shipment_key(&id))
                    .map_err(jobs_db_err)?;
                t.remove(crate::pipeline::stored_labels::labels_key(&id))
                    .map_err(jobs_db_err)?;
                mended += 1;
                continue;
            };
            let head: Head = serde_json::from_slice(&raw).map_err(|e| StoreError::Corrupt {
                tree: Tree::Jobs.name(),
                reason: format!("{}: {e}", job_key(&id)),
            })?;
            let mark = t.get(&state_key).map_err(jobs_db_err)?;
            let marked = mark
                .as_deref()
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(JobState::parse);
            let mut mend = marked != Some(head.state);
            if mend {
                t.insert(&state_key, head.state.as_str().as_bytes())
                    .map_err(jobs_db_err)?;
            }
            let filed = self
                .store
                .tree(Tree::DeadLetters)
                .contains_key(&id)
                .map_err(jobs_db_err)?;
            if (head.state == JobState::Failed) != filed {
                mend = true;
                match self.get_lean(&id)? {
                    Some(job) if job.state == JobState::Failed => {
                        self.file_dead_letter(&job, None)?
                    }
                    _ => {
                        self.store.remove(Tree::DeadLetters, &id)?;
                    }
                }
            }
            if head.state == JobState::Seen {
                // A `seen` job has no shipment yet (a replay clears it; its key is removed
                // after the job, so a cut can leave it).
                let key = crate::pipeline::stored_shipment::shipment_key(&id);
                mend |= t.remove(&key).map_err(jobs_db_err)?.is_some();
            }
            if head.compacted {
                let labels_key = crate::pipeline::stored_labels::labels_key(&id);
                mend |= t.remove(&labels_key).map_err(jobs_db_err)?.is_some();
                let data_key = crate::pipeline::stored_record::data_key(&id);
                mend |= t.remove(&data_key).map_err(jobs_db_err)?.is_some();
            }
            if !head.state.is_active() {
                t.remove(format!("a/{id}")).map_err(jobs_db_err)?;
                mend = true;
            }
            mended += usize::from(mend);
        }
        if mended > 0 {
            self.store.flush()?;
        }
        Ok(mended)
    }
}
