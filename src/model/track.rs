//! [`TrackOutcome`]: what one Track call found, shared by the UPS client (which parses
//! it) and the tracker (which acts on it).

use super::{TrackingEvent, TrackingSnapshot};

/// Track by number (`GET /api/track/v1/details/{1Z}`): not trackable yet, or the
/// package's state and history.
// A return value, never stored in bulk: boxing the snapshot would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum TrackOutcome {
    /// UPS has no tracking data yet (`TW0001` "Tracking Information Not Found" on a 200,
    /// or 404): the label exists but UPS has no scan yet. Not an error, not delivered: ask
    /// again later.
    NotYet,
    /// The package's current state and its whole activity history. The UPS parser lists
    /// the events oldest first; consumers must not rely on an order.
    Found {
        snapshot: TrackingSnapshot,
        events: Vec<TrackingEvent>,
    },
}
