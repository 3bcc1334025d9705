//! Sync pipeline: job ledger state machine, scheduling, retries, dead-letter and replay.

pub mod cli;
