//! Canonical pickup types shared by the dispatch book (`crate::dispatch`) and the UPS
//! client (`crate::ups::ops::pickup`): what to book, and what UPS lists as pending.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::Party;

/// One on-call pickup to book (Pickup.yaml `PickupCreationRequest`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickupRequest {
    /// The UPS account (shipper number) paying and owning the pickup.
    pub account_number: String,
    /// Where UPS collects: the site's ship-from (or shipper) party.
    pub address: Party,
    /// Local pickup date and the window (ready at the site's cutoff; close later).
    pub date: NaiveDate,
    pub ready_time: NaiveTime,
    pub close_time: NaiveTime,
    /// Packages per (UPS service code, destination country).
    pub pieces: Vec<PickupPiece>,
    /// Total weight in pounds.
    pub total_weight_lbs: f64,
    /// upsync's reference for this pickup (`ReferenceNumber`): how a pickup booked by an
    /// answer that never arrived is recognised in the pending list.
    pub reference: String,
}

/// Packages of one service to one destination country.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickupPiece {
    /// The UPS service code of the labels (`03`); sent as the 3-digit pickup code (`003`).
    pub service_code: String,
    pub destination_country: String,
    pub quantity: u32,
}

/// A pickup UPS lists as pending for an account (Pickup.yaml
/// `PickupPendingStatusResponse_PendingStatus`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingPickup {
    pub prn: String,
    pub service_date: Option<NaiveDate>,
    pub reference: Option<String>,
    pub status: String,
}
