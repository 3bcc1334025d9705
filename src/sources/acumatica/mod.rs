//! Acumatica source connector (contract-based REST, `Shipment` entity).
//!
//! Stub: filled in by its issue.
