//! YAML field-mapping engine: ERP record → canonical shipment, UPS results → ERP write-back.
//! Pure: no I/O beyond reading the mapping file in `load`.

pub mod cli;
