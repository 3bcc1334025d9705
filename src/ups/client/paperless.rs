//! Paperless Document calls of [`UpsClient`] (Paperless.yaml; builders and parsers in
//! `ops/paperless.rs`): upload user-created forms, push them to a shipment. Both are safe
//! to repeat after a failure (a repeated upload leaves an unused document in Forms
//! History, a repeated push links the same documents again).

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::Value;

use super::{protocol, Body, Req, UpsClient};
use crate::ups::error::{Api, UpsError};
use crate::ups::ops::paperless::{self as ops, UploadDocument, PAPERLESS_VERSION};

/// The `ShipperNumber` header Paperless calls require (the body's `ShipperNumber`).
pub(super) fn shipper_header(req: &Req) -> Option<&str> {
    if req.api != Api::Paperless {
        return None;
    }
    let super::Body::Json(b) = &req.body else {
        return None;
    };
    b.pointer("/UploadRequest/ShipperNumber")
        .or_else(|| b.pointer("/PushToImageRepositoryRequest/ShipperNumber"))
        .and_then(Value::as_str)
}

impl UpsClient {
    /// Upload documents to `shipper_number`'s Forms History; their DocumentIDs in order.
    /// The limits ([`ops::check_upload`]) are checked first: [`UpsError::Config`]-free,
    /// a [`UpsError::Invalid`] naming each document, without a call.
    pub async fn paperless_upload(
        &self,
        shipper_number: &str,
        docs: &[UploadDocument],
    ) -> Result<Vec<String>, UpsError> {
        let problems = ops::check_upload(docs);
        if !problems.is_empty() {
            return Err(UpsError::Invalid {
                api: Api::Paperless,
                problems: problems
                    .into_iter()
                    .map(|(i, message)| crate::ups::build::BuildProblem {
                        field: match i {
                            Some(i) => format!("UploadRequest.UserCreatedForm[{i}]"),
                            None => "UploadRequest.UserCreatedForm".into(),
                        },
                        message,
                    })
                    .collect(),
            });
        }
        let (status, body) = self
            .execute(Req {
                api: Api::Paperless,
                method: Method::POST,
                url: self.url(&["api", "paperlessdocuments", PAPERLESS_VERSION, "upload"]),
                query: vec![],
                body: Body::Json(ops::upload_request(shipper_number, docs)),
                accept_4xx: false,
            })
            .await?;
        ops::upload_response(&body, docs.len()).map_err(|e| protocol(Api::Paperless, status, e))
    }

    /// Push uploaded documents to a shipment (`…/image`); UPS's `FormsGroupID`.
    pub async fn paperless_push(
        &self,
        shipper_number: &str,
        shipment_id: &str,
        tracking_numbers: &[String],
        document_ids: &[String],
        shipped_at: DateTime<Utc>,
    ) -> Result<Option<String>, UpsError> {
        let (status, body) = self
            .execute(Req {
                api: Api::Paperless,
                method: Method::POST,
                url: self.url(&["api", "paperlessdocuments", PAPERLESS_VERSION, "image"]),
                query: vec![],
                body: Body::Json(ops::push_request(
                    shipper_number,
                    shipment_id,
                    tracking_numbers,
                    document_ids,
                    shipped_at,
                )),
                accept_4xx: false,
            })
            .await?;
        ops::push_response(&body).map_err(|e| protocol(Api::Paperless, status, e))
    }
}
