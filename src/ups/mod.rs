//! UPS client: token service, address validation, rating, ship, void, label recovery,
//! tracking and Track Alert. Knows nothing of ERPs.

pub mod build;
pub mod wire;
