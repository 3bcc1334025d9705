//! NetSuite source connector (SuiteTalk REST: SuiteQL polling, itemFulfillment write-back).
//!
//! Stub: filled in by its issue.
