//! Flushing: [`Store::flush`] and the group commit of [`Store::flush_async`] (many
//! concurrent jobs share one fsync).

use super::*;

impl Store {
    /// Durably flush everything written so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.backend
            .flush()
            .map(|_| self.health.io_recovered())
            .map_err(|source| self.db_error(source))
    }

    /// Flush without blocking the runtime's workers: a blocking flush on tokio's blocking
    /// pool (sled 0.34's own `flush_async` can deadlock when awaited from several tasks at
    /// once, spacejam/sled#1308 and #1241), with group commit: concurrent callers share
    /// one flush that starts after all of their writes.
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        if !self.backend.needs_flush() {
            // Every write was committed when it returned.
            return Ok(());
        }
        let g = &self.flushes;
        let ticket = g.requested.fetch_add(1, SeqCst) + 1;
        let _running = g.running.lock().await;
        if g.durable.load(SeqCst) >= ticket {
            // A flush that started after our writes has finished meanwhile.
            return Ok(());
        }
        // Everything ticketed so far was written before this flush starts.
        let covers = g.requested.load(SeqCst);
        let backend = self.backend.clone();
        let dir = self.dir.clone();
        let done = tokio::task::spawn_blocking(move || backend.flush()).await;
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
