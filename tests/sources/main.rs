//! ERP connector tests against the Acumatica and NetSuite simulators.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test sources netsuite::`.
//!
//! * [`acumatica_budget`]: the requests a shipment costs (issue 24): no read before a write,
//!   one label file per shipment, confirm when configured, one session for many cycles.
//! * [`acumatica_dead_letter`]: a 422 on write-back waits in the dead-letter queue with its text.
//! * [`acumatica_fidelity`]: real-instance behaviours the Acumatica simulator models.
//! * [`acumatica_source`]: the Acumatica connector: polling, cursors, versions.
//! * [`netsuite`]: the NetSuite connector.
//! * [`netsuite_writeback`]: NetSuite write-back: no GET for an unchanged record, an edit
//!   kept, no duplicated package on retry.

mod acumatica_budget;
mod acumatica_dead_letter;
mod acumatica_fidelity;
mod acumatica_source;
mod netsuite;
mod netsuite_writeback;
