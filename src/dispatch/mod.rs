//! Dispatch: per ship-from site, the calendar that decides a shipment's ship date, and the
//! on-call UPS pickup that collects a site's labels of a business day.
//!
//! You are between the pipeline (which asks for a ship date before Ship and notes every
//! label after it, `pipeline/steps/pickup.rs`) and the UPS Pickup API, reached through the
//! [`PickupApi`] port (implemented in `app/adapters/pickup.rs` with the UPS client). Read
//! docs/pickups.md first.
//!
//! * [`calendar`]: time zone, cutoff, working days, holidays → ship date (pure).
//! * [`book`]: the pickup book in the store's `pickups` tree: one [`book::Pickup`] per
//!   site and business day, with the shipments it covers and its PRN.
//! * [`report`]: the ship date and PRN of a job, for reports (the demo's table).
//!
//! Exactly once: a pickup's state becomes `requesting` and is **flushed before** the
//! Pickup creation call. A pickup found in `requesting` (a crash, a dropped answer) is in
//! doubt: UPS's pending list for the account (`GET …/pickup/oncall`) is read first and a
//! pickup carrying this pickup's reference is adopted; only when UPS lists none is it
//! requested again.
//!
//! Must never: call UPS directly (only through [`PickupApi`]); read the wall clock (the
//! pipeline passes its own); log addresses.

pub mod book;
pub mod calendar;
pub mod report;

use std::sync::Arc;

use async_trait::async_trait;

pub use book::{Covered, Pickup, PickupState};
pub use calendar::{Calendars, ShipDateError, SiteCalendar};

use crate::model::{ClassifiedError, PendingPickup, PickupRequest};
use crate::store::Store;

/// What dispatch needs from UPS (the Pickup API).
#[async_trait]
pub trait PickupApi: Send + Sync {
    /// Book an on-call pickup; returns its PRN. Not repeated by the implementation: an
    /// error that is not a rejection leaves the outcome unknown.
    async fn create(&self, request: &PickupRequest) -> Result<String, ClassifiedError>;
    /// Pending on-call pickups of an account.
    async fn pending(&self, account_number: &str) -> Result<Vec<PendingPickup>, ClassifiedError>;
    /// Cancel a pickup by its PRN.
    async fn cancel(&self, account_number: &str, prn: &str) -> Result<(), ClassifiedError>;
}

/// The calendars, the pickup book and the Pickup API, shared by every connector.
pub struct Dispatch {
    pub calendars: Calendars,
    api: Option<Arc<dyn PickupApi>>,
    book: book::Book,
    /// One pickup pass (or label note) at a time: two connectors' cycles never book the
    /// same day twice.
    lock: tokio::sync::Mutex<()>,
}

impl Dispatch {
    pub fn new(calendars: Calendars, store: Arc<Store>, api: Option<Arc<dyn PickupApi>>) -> Self {
        Dispatch {
            calendars,
            api,
            book: book::Book::new(store),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn book(&self) -> &book::Book {
        &self.book
    }

    pub fn api(&self) -> Option<&Arc<dyn PickupApi>> {
        self.api.as_ref()
    }

    /// Hold while reading-modifying-writing pickups.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }
}
