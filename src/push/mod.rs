//! Push notifications from the ERPs wake the connectors (issue 23): seconds, not schedules.
//!
//! Acumatica sends push notifications (a definition on a generic inquiry, POSTed to a
//! Webhook destination with one shared-secret header, ERP-NOTES §A5); NetSuite has no
//! native equivalent, so a User Event script on the item fulfillment posts with a
//! shared-secret header (ERP-NOTES §N6). Neither signs its body. upsync receives both on
//! its HTTP listener:
//!
//! ```text
//! POST /push/acumatica/{connector}     POST /push/netsuite/{connector}
//!   unknown connector, or one without `push:` (or of the other ERP) → 404
//!   secret header missing or wrong (constant-time compare)         → 401, nothing read
//!   body larger than `max_body_bytes`                               → 413
//!   not the ERP's format                                             → 400
//!   only rows that left the inquiry (Acumatica `Deleted`)            → 200, no wake
//!   else: hint stored in the `events` tree (flushed), cycle woken    → 200
//! ```
//!
//! Every outcome is counted (`upsync_push_requests{connector, outcome}`); refusals log
//! at most one line a minute.
//!
//! **A push is only a wake-up** ([`wake`]): the woken cycle is the connector's normal one
//! (its cursored query, its ledger), so a lost, duplicated, replayed, forged-but-valid or
//! out-of-order push can make upsync look sooner, never skip, repeat or invent a shipment.
//! The cron schedule stays on as the safety net (it can be hourly). Per connector, a burst
//! of pushes costs one cycle at a time, at least `min_gap_seconds` apart, never two at
//! once (a push during a cycle — pushed or scheduled — gives exactly one follow-up cycle),
//! and each cycle goes through the connector's own client, so its licence and rate limits
//! hold for pushed cycles too.
//!
//! Hints ([`Hint`]: connector, time, the record ids named) are stored before the answer and
//! removed once a cycle that started after them has read the ERP; hints left by a crash
//! wake their connector at the next start.
//!
//! Must never: log or store the secret or the rows' values; trust a push's content for
//! anything but "look now"; run a cycle outside the pipeline's one-at-a-time guard.

mod config;
pub mod payload;
mod receive;
mod wake;

pub use config::{PushConfig, MAX_BODY_CEILING};
pub use payload::{Decoded, Hint, PayloadError};
pub use receive::{router, PushSource, PUSH_PATH};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::model::Clock;
use crate::pipeline::Pipeline;
use crate::sources::ConnectorKind;
use crate::store::{Store, StoreError, Tree};

/// Key prefix of stored hints in the `events` tree (the tracker's inbox uses `e/`).
pub const HINT_PREFIX: &str = "push/";

/// What a connector's `push:` turns into at run time (the secret read from the vault).
pub struct ConnectorPush {
    pub connector: String,
    pub kind: ConnectorKind,
    /// Header name, lowercase.
    pub header: String,
    pub secret: Zeroizing<Vec<u8>>,
    pub min_gap: Duration,
    pub max_body_bytes: usize,
}

impl std::fmt::Debug for ConnectorPush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorPush")
            .field("connector", &self.connector)
            .field("kind", &self.kind)
            .field("header", &self.header)
            .field("secret", &"<redacted>")
            .field("min_gap", &self.min_gap)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

/// Counters of one connector's pushes, by outcome.
#[derive(Debug, Default)]
pub struct PushStats {
    /// Stored and woke the connector.
    pub accepted: AtomicU64,
    /// Valid, but nothing to look at (Acumatica rows that only left the inquiry).
    pub ignored: AtomicU64,
    pub unauthorized: AtomicU64,
    pub too_large: AtomicU64,
    pub malformed: AtomicU64,
    /// Could not be stored (answered 503, the ERP resends).
    pub store_failed: AtomicU64,
    /// Cycles run because of pushes.
    pub cycles: AtomicU64,
}

impl PushStats {
    fn outcomes(&self) -> [(&'static str, u64); 6] {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        [
            ("accepted", g(&self.accepted)),
            ("ignored", g(&self.ignored)),
            ("unauthorized", g(&self.unauthorized)),
            ("too_large", g(&self.too_large)),
            ("malformed", g(&self.malformed)),
            ("store_failed", g(&self.store_failed)),
        ]
    }
}

/// One connector's wake-up: a pending flag and the notification its loop waits on.
#[derive(Debug, Default)]
struct Wake {
    pending: AtomicBool,
    notify: tokio::sync::Notify,
}

struct Entry {
    settings: ConnectorPush,
    wake: Wake,
    stats: PushStats,
}

/// The pushes of one assembly: receiver state, hints and the per-connector wake loops.
pub struct Push {
    entries: BTreeMap<String, Entry>,
    pipeline: Arc<Pipeline>,
    store: Arc<Store>,
    clock: Clock,
    seq: AtomicU64,
    /// Pushes to a connector that does not take them (answered 404).
    pub unknown: AtomicU64,
}

impl Push {
    pub fn new(
        pipeline: Arc<Pipeline>,
        store: Arc<Store>,
        clock: Clock,
        settings: Vec<ConnectorPush>,
    ) -> Push {
        let entries = settings
            .into_iter()
            .map(|s| {
                (
                    s.connector.clone(),
                    Entry {
                        settings: s,
                        wake: Wake::default(),
                        stats: PushStats::default(),
                    },
                )
            })
            .collect();
        Push {
            entries,
            pipeline,
            store,
            clock,
            seq: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        }
    }

    /// Connectors that take pushes.
    pub fn connectors(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The counters of a connector's pushes.
    pub fn stats(&self, connector: &str) -> Option<&PushStats> {
        self.entries.get(connector).map(|e| &e.stats)
    }

    /// Ask for a cycle of `connector` (its loop runs it after the gap); false when the
    /// connector takes no pushes.
    pub fn wake(&self, connector: &str) -> bool {
        let Some(e) = self.entries.get(connector) else {
            return false;
        };
        e.wake.pending.store(true, Ordering::SeqCst);
        e.wake.notify.notify_one();
        true
    }

    /// Store a hint durably (flushed).
    async fn store_hint(&self, hint: &Hint) -> Result<(), StoreError> {
        let key = format!(
            "{HINT_PREFIX}{}/{:020}/{:010}",
            hint.connector,
            hint.received_at.timestamp_nanos_opt().unwrap_or(0).max(0),
            self.seq.fetch_add(1, Ordering::Relaxed)
        );
        self.store.put_json(Tree::Events, &key, hint)?;
        self.store.flush_async().await
    }

    /// Hints of `connector` waiting for a cycle.
    pub fn pending_hints(&self, connector: &str) -> usize {
        self.store
            .tree(Tree::Events)
            .scan_prefix(format!("{HINT_PREFIX}{connector}/"))
            .count()
    }

    /// Remove the hints of `connector` received before `before` (a cycle that started then
    /// has read everything they could point at).
    fn settle_hints(&self, connector: &str, before: chrono::DateTime<chrono::Utc>) {
        let tree = self.store.tree(Tree::Events);
        let prefix = format!("{HINT_PREFIX}{connector}/");
        let cut = format!(
            "{prefix}{:020}",
            before.timestamp_nanos_opt().unwrap_or(0).max(0)
        );
        for k in tree
            .range(prefix.as_bytes()..cut.as_bytes())
            .keys()
            .flatten()
        {
            if let Err(e) = tree.remove(k) {
                tracing::warn!(connector, error = %e, "could not remove a settled push hint; it wakes the connector once more at the next start");
                return;
            }
        }
    }

    /// Metrics samples (`upsync_push_requests`, `upsync_push_cycles`,
    /// `upsync_push_hints_pending`).
    pub fn samples(&self, out: &mut Vec<crate::server::metrics::Sample>) {
        use crate::server::metrics::Sample;
        for (name, e) in &self.entries {
            for (outcome, n) in e.stats.outcomes() {
                out.push(Sample::counter(
                    "upsync_push_requests",
                    "ERP push notifications received, by outcome",
                    vec![("connector", name.clone()), ("outcome", outcome.into())],
                    n as f64,
                ));
            }
            out.push(Sample::counter(
                "upsync_push_cycles",
                "Connector cycles run because of push notifications",
                vec![("connector", name.clone())],
                e.stats.cycles.load(Ordering::Relaxed) as f64,
            ));
            out.push(Sample::gauge(
                "upsync_push_hints_pending",
                "Stored push hints not yet followed by a cycle",
                vec![("connector", name.clone())],
                self.pending_hints(name) as f64,
            ));
        }
        out.push(Sample::counter(
            "upsync_push_requests",
            "ERP push notifications received, by outcome",
            vec![
                ("connector", String::new()),
                ("outcome", "unknown_connector".into()),
            ],
            self.unknown.load(Ordering::Relaxed) as f64,
        ));
    }
}
