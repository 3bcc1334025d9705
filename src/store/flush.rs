//! Flushing: [`Store::flush`] and the group commit of [`Store::flush_async`] (many
//! concurrent jobs share one flush).
//!
//! Group commit runs on one thread of the store's own (`upsync-flush`, started by the first
//! [`Store::flush_async`]): a caller takes a ticket after its writes, the thread waits a
//! moment ([`GATHER`]) for other callers, runs one flush that starts after every ticket
//! handed out so far, and then releases every caller whose ticket it covers. While a flush
//! runs, new callers queue for the next one, so a busy pipeline makes far fewer flushes
//! than it asks for. A crash loses nothing it did not lose before: a caller waits longer
//! for its flush, and its side effect (Ship, write-back) waits with it. Each flush costs more than the
//! fsync: sled 0.34 seals a log buffer and hands it to its I/O pool, whose `notify_all`
//! wakes every waiting `sled-io` thread (7 or more) once per flush; and the design before
//! this thread handed every flush to tokio's blocking pool.
//!
//! On a current-thread runtime (tests, `start_paused` among them) each call flushes on
//! tokio's blocking pool instead, as before this thread: tokio's paused clock stands still
//! only while it sees work in flight, and a wait on another thread looks idle to it.
//!
//! The guarantee is exact: a caller returns `Ok` only after a flush that started after its
//! ticket, that is after its writes returned, has completed. A failed flush releases the
//! callers it covered to flush once more themselves (the error they return is that flush's).
//!
//! Must never: release a caller before a flush that covers its writes has succeeded.

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};

use super::*;

/// How long the flush thread waits, after the first caller of a flush asks, for others to
/// ask too before the flush starts. Measured (docs/performance.md, "Session 9: store"):
/// without it the thread answers so fast that flushes hardly group (5,172 flushes for
/// 4,543 NetSuite shipments); with 5 ms about 1,200–1,500, and the Acumatica mix, whose
/// jobs reach their flushes one at a time behind the ERP's serialised write-backs, 5,548
/// instead of 9,252, at the same shipments/s. It adds at most this much to a guarded step
/// (a few ms against a UPS round trip of tens).
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

/// Group commit for [`Store::flush_async`] (see the module doc).
#[derive(Default)]
pub(super) struct GroupFlush {
    shared: Arc<Shared>,
    /// The flush thread, once started; joined when the store is dropped (it holds the
    /// database open).
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the flush thread: a ticket was handed out, or the store closes.
    wake: Condvar,
    /// What the flushes came to so far; every waiting caller watches it.
    done: tokio::sync::watch::Sender<Done>,
    /// Flushes actually run (for tests and the bench's `store_flushes`).
    runs: AtomicU64,
}

#[derive(Default)]
struct Queue {
    /// Tickets handed out (each caller's writes precede its ticket).
    requested: u64,
    /// Tickets the running or last flush covers.
    taken: u64,
    /// The store is closing: finish what is asked, then stop.
    stop: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Done {
    /// Every ticket up to this one is durable.
    durable: u64,
    /// The last failed flush covered the tickets up to this one.
    failed: u64,
}

impl std::fmt::Debug for GroupFlush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupFlush")
            .field("runs", &self.shared.runs.load(SeqCst))
            .finish()
    }
}

impl GroupFlush {
    /// Stop the flush thread after the flushes asked for so far (called when the store is
    /// dropped: the thread holds the database open).
    pub(super) fn stop(&self) {
        let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stop = true;
        self.shared.wake.notify_one();
        let _ = t.join();
    }
}

/// The flush thread: one flush at a time, each covering every ticket handed out before it
/// starts.
fn run_flusher(shared: Arc<Shared>, backend: Arc<dyn Backend>, health: Arc<StoreHealth>) {
    loop {
        let covers = {
            let mut q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            while q.requested == q.taken && !q.stop {
                q = shared.wake.wait(q).unwrap_or_else(|p| p.into_inner());
            }
            if q.requested == q.taken {
                return; // stopping, nothing asked
            }
            // Let the jobs that are about to ask join this flush (see [`GATHER`]).
            drop(q);
            std::thread::sleep(GATHER);
            q = shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            // Every ticket handed out so far was taken after its writes returned.
            q.taken = q.requested;
            q.requested
        };
        let ok = backend.flush().is_ok();
        shared.runs.fetch_add(1, SeqCst);
        if ok {
            health.io_recovered();
        }
        shared.done.send_modify(|d| {
            if ok {
                d.durable = d.durable.max(covers);
            } else {
                d.failed = d.failed.max(covers);
            }
        });
    }
}

impl Store {
    /// Durably flush everything written so far.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.backend
            .flush()
            .map(|_| self.health.io_recovered())
            .map_err(|source| self.db_error(source))
    }

    /// Flush without blocking the runtime's workers, with group commit (see the module
    /// doc). Not sled 0.34's own `flush_async`: it can deadlock when awaited from several
    /// tasks at once (spacejam/sled#1308 and #1241).
    pub async fn flush_async(&self) -> Result<(), StoreError> {
        if !self.backend.needs_flush() {
            // Every write was committed when it returned.
            return Ok(());
        }
        let g = &self.flushes;
        if tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread)
        {
            // A current-thread runtime (tests, with a paused clock too; never the daemon):
            // a flush on the blocking pool, which tokio sees as work in flight, so a paused
            // clock does not jump ahead while it runs (a wait on our own thread would look
            // idle to it). One task at a time there: nothing to group.
            let r = self.flush_blocking().await;
            g.shared.runs.fetch_add(1, SeqCst);
            return r;
        }
        let mut done = g.shared.done.subscribe();
        let ticket = {
            let mut q = g.shared.queue.lock().unwrap_or_else(|p| p.into_inner());
            if !self.start_flusher() {
                drop(q);
                return self.flush_blocking().await;
            }
            q.requested += 1;
            q.requested
        };
        g.shared.wake.notify_one();
        let outcome = done
            .wait_for(|d| d.durable >= ticket || d.failed >= ticket)
            .await
            .map(|d| d.durable >= ticket);
        match outcome {
            Ok(true) => Ok(()),
            // The flush covering this caller failed (or the thread is gone): flush once
            // more here, which reports the error (and counts it) if it stands.
            _ => self.flush_blocking().await,
        }
    }

    /// Start the flush thread if it is not running; `false` if it cannot be started.
    fn start_flusher(&self) -> bool {
        let mut t = self
            .flushes
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if t.is_some() {
            return true;
        }
        let (shared, backend, health) = (
            self.flushes.shared.clone(),
            self.backend.clone(),
            self.health.clone(),
        );
        match std::thread::Builder::new()
            .name("upsync-flush".into())
            .spawn(move || run_flusher(shared, backend, health))
        {
            Ok(handle) => {
                *t = Some(handle);
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start the store's flush thread; flushing on tokio's blocking pool");
                false
            }
        }
    }

    /// One flush of our own on tokio's blocking pool (on the caller's thread when the
    /// runtime is shutting down).
    async fn flush_blocking(&self) -> Result<(), StoreError> {
        let backend = self.backend.clone();
        match tokio::task::spawn_blocking(move || backend.flush()).await {
            Ok(Ok(())) => {
                self.health.io_recovered();
                Ok(())
            }
            Ok(Err(source)) => Err(self.db_error(source)),
            Err(_) => self.flush(),
        }
    }

    /// How many flushes [`Store::flush_async`] actually ran (group commit shares them).
    pub fn flushes_run(&self) -> u64 {
        self.flushes.shared.runs.load(SeqCst)
    }
}
