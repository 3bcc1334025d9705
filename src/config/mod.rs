//! Configuration: `config/upsync.yaml` plus `UPSYNC__SECTION__KEY` overrides, and `check`.

pub mod check;
