//! Write-back's freshness check: has a record changed since the pipeline read it?
//!
//! You are here: between the pipeline's write-back step and the PATCH. Write-back replaces
//! the whole package sublist (`?replace=<sublist>`, ERP-NOTES §N4: lines of a non-keyed
//! sublist are appended otherwise), so it needs the record's current package lines. The
//! job holds the lines read at ingest; when the record's `lastmodifieddate` has not moved
//! since, those lines are the current ones and no GET is needed. One SuiteQL query answers
//! that for many records at once (`SELECT t.id, TO_CHAR(t.lastmodifieddate, …) FROM
//! transaction t WHERE t.id IN (…)`, §N3), so concurrent write-backs share it: the first
//! caller opens a batch, waits `write_back.check_window_ms` for others to join, and sends
//! one query for all of them ([`Coalescer`]).
//!
//! Safety: a record whose timestamp moved, was not found, or whose check failed or was
//! abandoned is read with a GET as before; only a matching timestamp lets the copy serve.
//! An edit between the check and the PATCH is not seen — the same window as between the
//! GET and the PATCH. `lastmodifieddate` has one-second resolution, so an edit made in the
//! same second as the version the job read (after the read) is not seen either; ingest has
//! the same blind spot (it keys versions on the same timestamp), see `docs/netsuite.md`.
//!
//! Never: let the copy serve without a matching timestamp; hold a follower forever (a
//! leader that is dropped drops its batch, and its followers read the record instead).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

/// Current `lastmodifieddate` per record id; `None` when the check failed.
pub(super) type Answer = Option<Arc<HashMap<String, String>>>;

#[derive(Default)]
struct Pending {
    ids: Vec<String>,
    waiters: Vec<oneshot::Sender<Answer>>,
}

/// The one open batch of a connector's freshness checks.
pub(super) struct Coalescer {
    window: Duration,
    max_ids: usize,
    pending: Mutex<Option<Pending>>,
}

/// A caller's place in a batch: the answer arrives on `answer`; the leader sends the query.
pub(super) struct Ticket {
    pub answer: oneshot::Receiver<Answer>,
    pub leader: bool,
}

impl Coalescer {
    /// `window`: how long the first caller waits for others; `max_ids`: the largest batch
    /// (SuiteQL's page and `IN` list limit, 1,000).
    pub fn new(window: Duration, max_ids: usize) -> Coalescer {
        Coalescer {
            window,
            max_ids: max_ids.max(1),
            pending: Mutex::new(None),
        }
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// Join the open batch with `id`, or open one (then the caller leads). `None` when the
    /// open batch is full: the caller reads its record instead.
    pub fn join(&self, id: &str) -> Option<Ticket> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let (tx, rx) = oneshot::channel();
        let leader = match p.as_mut() {
            Some(b) if b.ids.len() >= self.max_ids => return None,
            Some(b) => {
                if !b.ids.iter().any(|i| i == id) {
                    b.ids.push(id.to_string());
                }
                b.waiters.push(tx);
                false
            }
            None => {
                *p = Some(Pending {
                    ids: vec![id.to_string()],
                    waiters: vec![tx],
                });
                true
            }
        };
        Some(Ticket { answer: rx, leader })
    }

    /// Close the open batch (the leader, after its window): its ids and its waiters.
    pub fn take(&self) -> Option<(Vec<String>, Vec<oneshot::Sender<Answer>>)> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.take().map(|b| (b.ids, b.waiters))
    }
}

/// Held by a leader while it waits: dropped before the batch was taken (the write-back was
/// cancelled), it drops the open batch, so that no follower waits for a query never sent.
pub(super) struct LeaderGuard<'a> {
    pub coalescer: &'a Coalescer,
    pub armed: bool,
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            drop(self.coalescer.take());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_caller_leads_and_others_join_until_the_batch_is_taken() {
        let c = Coalescer::new(Duration::from_millis(2), 3);
        let a = c.join("1").unwrap();
        let b = c.join("2").unwrap();
        let b2 = c.join("2").unwrap();
        assert!(a.leader && !b.leader && !b2.leader);
        assert!(c.join("3").is_some());
        assert!(
            c.join("4").is_none(),
            "a full batch sends its caller to a GET"
        );
        let (ids, waiters) = c.take().unwrap();
        assert_eq!(ids, ["1", "2", "3"], "one id per record");
        assert_eq!(waiters.len(), 4);
        assert!(
            c.join("5").unwrap().leader,
            "the next caller opens a new batch"
        );
    }

    #[tokio::test]
    async fn an_abandoned_leader_releases_its_followers() {
        let c = Coalescer::new(Duration::from_millis(2), 10);
        let lead = c.join("1").unwrap();
        let follower = c.join("2").unwrap();
        {
            let _guard = LeaderGuard {
                coalescer: &c,
                armed: true,
            };
            drop(lead);
        }
        assert!(
            follower.answer.await.is_err(),
            "the follower sees the batch dropped (and reads its record)"
        );
        assert!(c.join("3").unwrap().leader);
    }
}
