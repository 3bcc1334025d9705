//! Pure request builders: canonical [`Shipment`]/[`Address`] in, UPS JSON body out.
//!
//! Implements the request shapes of UPS-REFERENCE §2 (Ship), §4 (Label Recovery),
//! §5 (Rating), §7 (XAV) and §8 (Track Alert). The mapping engine calls
//! [`ship_request`] to print and compare the exact Ship body, so these functions do no
//! I/O, read no clock and never depend on the client.
//!
//! Wire discipline (UPS-REFERENCE §0): PascalCase keys, **every scalar a JSON string**,
//! lists always sent as arrays, indicators sent as `""` (presence = true), money with two
//! decimals from [`rust_decimal::Decimal`] (never a float). References go where UPS
//! accepts them for the lane ([`Shipment::reference_level`]): on each package for US→US
//! and PR→PR (≤5 per package), on the shipment otherwise (Code exactly 2 characters).
//!
//! Never put anything here that depends on an ERP: the input is the canonical model only.

//!
//! The builders live beside their parsers in `ops/` (one file per operation); this module
//! keeps their public paths (`upsync::ups::build::…`).

pub use super::ops::quantum::quantum_view_request;
pub use super::ops::rate::{rate_request, rate_request_option, RateMode, RateOptions};
pub use super::ops::recover::{label_recovery_by_reference_request, label_recovery_request};
pub use super::ops::ship::{
    check_shipment, goods_value, needs_invoice_line_total, resolve_service, ship_request,
    BuildProblem, ShipOptions, DEFAULT_HTTP_USER_AGENT, MAX_PACKAGE_REFERENCES,
    MAX_SHIPMENT_REFERENCES,
};
pub use super::ops::ship_body::ShipRequest;
pub use super::ops::subscribe::subscription_request;
pub use super::ops::xav::{xav_request, XavRequest};
pub use super::ops::{address, label_specification, sub_version_of};
