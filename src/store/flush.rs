//! Flushing: [`Store::flush`] and the group commit of [`Store::flush_async`] (many
//! concurrent jobs share one fsync).

use super::*;

impl Store {
    /// Durably flush everything written so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        let r = self
            .db
            .flush()
            .map(|_| self.health.io_recovered())
            .map_err(|source| self.db_error(source));
        release_deferred_frees();
        r
    }

    /// Flush without blocking the runtime's workers: a blocking flush on tokio's blocking
    /// pool (sled 0.34's own `flush_async` can deadlock when awaited from several tasks at
    /// once, spacejam/sled#1308 and #1241), with group commit: concurrent callers share
    /// one flush that starts after all of their writes.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        let g = &self.flushes;
        let ticket = g.requested.fetch_add(1, SeqCst) + 1;
        let _running = g.running.lock().await;
        if g.durable.load(SeqCst) >= ticket {
            // A flush that started after our writes has finished meanwhile.
            return Ok(());
        }
        // Everything ticketed so far was written before this flush starts.
        let covers = g.requested.load(SeqCst);
        let db = self.db.clone();
        let dir = self.dir.clone();
        let done = tokio::task::spawn_blocking(move || {
            let r = db.flush().map(|_| ());
            release_deferred_frees();
            r
        })
        .await;
        release_deferred_frees();
        let r = match done {
            Ok(r) => r.map_err(|source| {
                let e = StoreError::Db { dir, source };
                self.health.record(&e);
                e
            }),
            // The blocking task could not run (runtime shutting down): flush here.
            Err(_) => self.flush(),
        };
        g.runs.fetch_add(1, SeqCst);
        if r.is_ok() {
            g.durable.fetch_max(covers, SeqCst);
            self.health.io_recovered();
        }
        r
    }

    /// How many flushes [`Store::flush_async`] actually ran (group commit shares them).
    pub fn flushes_run(&self) -> u64 {
        self.flushes.runs.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Hand this thread's deferred frees to sled's garbage collector (crossbeam-epoch) and let
/// it collect. sled frees a sealed 512 KiB log buffer only through the epoch collector,
/// and a thread's deferred frees reach the collector only when 64 have piled up on that
/// thread: with writes and flushes spread over tokio's workers and blocking threads, the
/// daemon's memory grew by about 50 KB per job until each thread's pile was full (issue 24,
/// `upsync bench`'s `upsync_rss_mb_profile`). A flush seals a buffer, so after it is when
/// there is garbage; the call costs a few atomic operations when there is none.
pub(crate) fn release_deferred_frees() {
    crossbeam_epoch::pin().flush();
}
