//! Pipeline integration tests: the real binary against the simulators, end to end.
//!
//! One test binary per area (issue 17): each test binary links the whole crate, so the
//! files of an area share one. Run one file's tests with `cargo test --test pipeline crash::`.
//!
//! * [`acumatica_budget`]: the Acumatica requests per shipment of the bundled profile and
//!   mapping, counted by the simulator (issue 24).
//! * [`accounts`]: several UPS accounts, one OAuth client each (issue 19).
//! * [`cancel`]: an ERP cancels a shipped record: the label is voided.
//! * [`cluster`]: two daemons sharing one ledger through job leases (issue 22).
//! * [`conflict`]: an address edited after labelling is a conflict, never re-shipped.
//! * [`crash`]: SIGKILL at random moments: nothing lost, nothing shipped twice.
//! * [`dead_letter`]: bad records end in the dead-letter queue with a code.
//! * [`documents`]: commercial invoices kept, delivered, attached and reprinted; paperless
//!   uploads once per document, printed fallback for a non-paperless account (issue 20).
//! * [`e2e`]: both ERPs end to end: 1Z numbers and labels written back.
//! * [`freight`]: freight written back per the mapping (account basis, loud list fallback).
//! * [`pickups`]: dispatch calendar ship dates and on-call pickups (one PRN per site and
//!   day, exactly once across a crash, cancelled when every shipment is voided).
//! * [`push`]: ERP push notifications wake the connectors; lost, duplicated and reordered
//!   pushes change nothing.
//! * [`returns`]: return records of both ERPs and an automatic return, labelled once (issue 20).
//! * [`reconcile`]: `bench --scenario reconcile`: lost Ship answers, lagging index.
//! * [`split`]: a 120-line order as three UPS shipments of one record, exactly once.
//! * [`throughput`]: `bench --scenario throughput`: the simulators in a child process, the
//!   daemon's figures apart from theirs, ERP requests per connector (issue 24).

#[path = "../common/mod.rs"]
mod common;
#[path = "../pipeline_support/mod.rs"]
mod pipeline_support;

mod accounts;
mod acumatica_budget;
mod cancel;
mod cluster;
mod conflict;
mod crash;
mod dead_letter;
mod documents;
mod e2e;
mod freight;
mod pickups;
mod push;
mod reconcile;
mod returns;
mod split;
mod throughput;
