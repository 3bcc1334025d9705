//! Sync pipeline: from "a shipment is ready in the ERP" to "its 1Z number and label are on
//! the ERP record", on schedules, surviving crashes, UPS faults and bad data.
//!
//! * [`ledger`]: the job ledger in sled (states of docs/design.md, dead-letter queue);
//!   `stored_labels`, `stored_record`: a job's label bytes and ERP record data under keys of
//!   their own, out of the job record.
//! * [`engine`]: one cycle of a connector and the per-job state machine, with in-doubt
//!   reconciliation that makes Ship exactly-once.
//! * [`parts`]: split groups (one record, several UPS shipments) inside one job.
//! * [`ports`]: what the pipeline needs from UPS ([`ports::Carrier`]) and from a mapping
//!   ([`ports::Mapper`]); sources plug in through [`crate::sources::Source`].
//! * [`schedule`]: cron schedules (tokio-cron-scheduler), one per connector, never overlapping.
//! * [`retry`]: per-job backoff with full jitter.
//!
//! Errors are routed by class (docs/design.md): transient → retry this job later without
//! blocking others; auth/config → pause the connector (readiness fails); business →
//! dead-letter with a stable code, reason written back to the ERP record.

pub mod engine;
pub mod ledger;
pub mod parts;
pub mod ports;
pub mod retry;
pub mod schedule;
pub(crate) mod stored_labels;
pub(crate) mod stored_record;
pub(crate) mod stored_shipment;
pub mod verify;

pub use engine::{
    Connector, ConnectorSettings, CycleReport, Pipeline, PipelineError, PipelineSettings,
    ReconcileSettings,
};
pub use ledger::{job_reference, Job, JobState, Ledger};
pub use ports::{Carrier, CarrierError, FoundShipment, Mapper, MappingFailure};

#[cfg(test)]
mod tests;
