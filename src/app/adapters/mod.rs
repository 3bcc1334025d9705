//! Adapters from the real components to the ports of the pipeline and the tracker. They
//! live in the assembly layer so that `pipeline/` and `tracking/` know neither the UPS
//! client nor the mapping engine nor each other:
//!
//! * [`UpsCarrier`] ([`ups_carrier`]): [`crate::ups::UpsClient`] as a pipeline
//!   [`crate::pipeline::Carrier`]; [`tracking`]: the same as a
//!   [`crate::tracking::TrackingCarrier`]; [`AccountsCarrier`] ([`accounts_carrier`]): both
//!   ports over several UPS accounts, each call routed to its account's client.
//! * [`VaultTokenStore`] ([`token_store`]): UPS tokens and daily token counts in the store.
//! * [`VaultGrantStore`] ([`grant_store`]): an authorization-code account's tokens in its
//!   vault entry.
//! * [`MappingAdapter`] ([`mapping`]): [`crate::mapping::Mapping`] as a
//!   [`crate::pipeline::Mapper`].
//! * [`UpsQuoter`] ([`ups_quoter`]): the UPS client as checkout's
//!   [`crate::checkout::Quoter`].
//! * [`paperless`]: paperless documents and invoice around the UPS carrier's Ship, with
//!   the content hash → DocumentID map ([`paperless::DocumentIds`]) in the store.

pub mod accounts_carrier;
pub mod grant_store;
pub mod mapping;
pub mod paperless;
pub mod pickup;
pub mod token_store;
pub mod tracking;
pub mod ups_carrier;
pub mod ups_quoter;

pub use accounts_carrier::AccountsCarrier;
pub use grant_store::VaultGrantStore;
pub use mapping::MappingAdapter;
pub use pickup::UpsPickups;
pub use token_store::VaultTokenStore;
pub use ups_carrier::{is_shippers, UpsCarrier};
pub use ups_quoter::UpsQuoter;
