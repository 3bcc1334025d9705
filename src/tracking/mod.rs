//! Tracking: after the label, follow each parcel to delivery and show it on the ERP record.
//!
//! Implements issue 8 against `UPS-REFERENCE.md` §6 (Track) and §8 (Track Alert), and issue
//! 18 against §9 (Quantum View):
//!
//! ```text
//! ledger job in `tracking` ──register──▶ PackageTrack (tracking tree, due index)
//!    Track Alert mode: subscribe (≤100/call) ─▶ backfill Track ─▶ renew on day 12–13 ─▶ stop when terminal
//!                      webhook ─▶ events inbox (flushed, 200) ─▶ worker ─▶ state ─┐
//!                      no event for the quiet period ─▶ one Track call ─────────────┤
//!    Quantum View:     every interval, the subscription files of a date range ─────┤
//!                      (page by page to the last Bookmark, progress in q/…; parcels
//!                      upsync did not ship: matched by reference or ignored);
//!                      backfill Track at registration, quiet-period Track ──────────┤
//!    Polling mode:     Track per milestone interval, within the Track quota ───────┤
//!                                                                                   ▼
//!                          aggregate per job ─▶ Mapper::write_back_tracking ─▶ Source::write_back
//!                          (only when the plan's hash changed; ERP write rate bounded)
//!                          all packages terminal ─▶ ledger job `delivered` (or `voided`)
//! ```
//!
//! * [`ports`]: the [`TrackingCarrier`] port (Track, Track Alert subscribe, Quantum View) the UPS client
//!   is adapted to; this module never calls `crate::ups`.
//! * [`tracker`]: [`Tracker`], the scheduler and state machine; [`Tracker::tick`] does one
//!   round at the injected clock's "now".
//! * [`webhook`]: the axum receiver (`POST /webhooks/ups/track-alert`) and the v2 token
//!   endpoint (`POST /webhooks/ups/oauth/token`).
//! * [`event`]: parsing Track Alert payloads (pure). [`state`]: per-package state and the
//!   ordering/dedupe rules (pure). [`quota`]: Track quota and ERP write rate on the clock.
//! * [`settings`], [`stats`]: knobs and counters. [`view`]: read-only views for the
//!   command line and the demo (`jobs list --status`, `jobs show`).
//!
//! Must never: log credentials, tokens or payloads; answer the webhook 200 before the event
//! is on disk; renew a delivered/returned/voided package; let an old event undo a delivery.

pub mod event;
pub mod ports;
pub mod quota;
pub mod settings;
pub mod state;
pub mod stats;
pub mod tracker;
pub mod view;
pub mod webhook;

pub use event::{parse_alert_event, AlertEvent, EventError};
pub use ports::{
    CarrierError, Destination, QvPage, QvRequest, StatusChange, StatusSink, SubscribeOutcome,
    TrackOutcome, TrackingCarrier,
};
pub use quota::{fixed_interval_calls, TrackBudget};
pub use settings::{
    AlertVersion, PollIntervals, QuantumViewSettings, TrackQuota, TrackingMode, TrackingSettings,
};
pub use state::{
    aggregate, AgeLimits, AgeStatus, JobTrack, PackageTrack, StatusMark, Subscription,
};
pub use stats::{
    FreshnessSummary, LiveSummary, StatusCounters, TrackingStats, TrackingStatsSnapshot,
};
pub use tracker::{plan_hash, QvProgress, QvRun, TickReport, Tracker, TrackingError};
pub use webhook::{router, OAuthClient, WebhookAuth, WebhookState, TOKEN_PATH, TRACK_ALERT_PATH};
