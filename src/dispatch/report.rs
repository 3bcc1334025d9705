//! Dispatch facts for reports (the demo's final table): the ship date UPS was given and the
//! PRN of the pickup that covers a job. Reads the pickup book only.

use chrono::NaiveDate;

use crate::store::{Store, StoreError};

/// (`ship_date` as `YYYY-MM-DD`, `pickup_prn`) of a job: `ship_date` is the date its Ship
/// carried; the PRN that of the booked (or cancelled) pickup listing the job, if any.
pub fn columns(
    store: &Store,
    job_id: &str,
    ship_date: Option<NaiveDate>,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let prn = super::book::read_all(store)?
        .into_iter()
        .filter(|p| p.shipments.iter().any(|c| c.job_id == job_id && !c.voided))
        .find_map(|p| p.prn);
    Ok((ship_date.map(|d| d.format("%Y-%m-%d").to_string()), prn))
}
