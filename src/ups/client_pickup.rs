//! The Pickup API calls of [`UpsClient`] (a child of `client.rs`, so it shares its retry
//! loop): creation, pending status, cancel by PRN (Pickup.yaml `v2409`; UPS-REFERENCE §9).
//! Requests are built and answers read in `ops/pickup.rs`.
//!
//! A creation is never repeated here (like Ship): any failure other than UPS's rejection
//! leaves the outcome unknown, and dispatch reconciles with the pending list.

use super::*;
use crate::model::{PendingPickup, PickupRequest};
use crate::ups::ops::pickup as op;

/// The Pickup API version (Pickup.yaml lists `v2409` only).
pub const PICKUP_VERSION: &str = "v2409";

impl UpsClient {
    /// Book an on-call pickup; its PRN.
    pub async fn create_pickup(&self, r: &PickupRequest) -> Result<String, UpsError> {
        let problems = op::check_pickup(r);
        if !problems.is_empty() {
            return Err(UpsError::Invalid {
                api: Api::Pickup,
                problems,
            });
        }
        let sub = build::sub_version_of(PICKUP_VERSION);
        let (status, body) = self
            .execute(Req {
                api: Api::Pickup,
                method: Method::POST,
                url: self.url(&["api", "pickupcreation", PICKUP_VERSION, "pickup"]),
                query: vec![],
                body: Body::Json(op::pickup_creation_request(r, sub.as_deref())),
                accept_4xx: false,
            })
            .await?;
        op::pickup_creation_response(&body).map_err(|e| UpsError::OutcomeUnknown {
            api: Api::Pickup,
            status: Some(status),
            reason: format!("UPS answered HTTP {status} but the answer could not be read: {e}"),
        })
    }

    /// Pending on-call pickups of `account_number` (`GET …/pickup/oncall`, header
    /// `AccountNumber`).
    pub async fn pending_pickups(
        &self,
        account_number: &str,
    ) -> Result<Vec<PendingPickup>, UpsError> {
        let (status, body) = self
            .execute_with_headers(
                Req {
                    api: Api::Pickup,
                    method: Method::GET,
                    url: self.url(&["api", "shipments", PICKUP_VERSION, "pickup", "oncall"]),
                    query: vec![],
                    body: Body::Empty,
                    accept_4xx: false,
                },
                Quota::PerApi,
                &[("AccountNumber", account_number.to_string())],
            )
            .await?;
        op::pickup_pending_response(&body).map_err(|e| protocol(Api::Pickup, status, e))
    }

    /// Cancel a pickup by PRN (`DELETE …/pickup/02`, header `Prn`).
    pub async fn cancel_pickup(&self, prn: &str) -> Result<(), UpsError> {
        let (status, body) = self
            .execute_with_headers(
                Req {
                    api: Api::Pickup,
                    method: Method::DELETE,
                    url: self.url(&["api", "shipments", PICKUP_VERSION, "pickup", "02"]),
                    query: vec![],
                    body: Body::Empty,
                    accept_4xx: false,
                },
                Quota::PerApi,
                &[("Prn", prn.to_string())],
            )
            .await?;
        match op::pickup_cancel_response(&body) {
            Ok(true) => Ok(()),
            Ok(false) => Err(rejected(Api::Pickup, status, &body)),
            Err(e) => Err(protocol(Api::Pickup, status, e)),
        }
    }
}
