//! State in sled under the state directory, and the AES-256-GCM vault.

pub mod cli;
