//! What a push says, decoded without I/O: the Acumatica push notification format and the
//! body a NetSuite User Event script sends. Only what upsync keeps of it comes out (a
//! [`Hint`]): the record ids named, the ERP's transaction id and timestamp, and whether the
//! connector should be woken at all. The rows' other values are never kept or logged.
//!
//! * Acumatica (ERP-NOTES §A5; MYOB "Push Notification Format"): a JSON object with
//!   `Inserted` and `Deleted` arrays of row objects (plain values), `Query`, `CompanyId`,
//!   `Id`, `TimeStamp`, `AdditionalInfo`. Rows that *entered* the inquiry (`Inserted`) may
//!   be shipments ready to ship: wake. A message with only `Deleted` rows (shipments that
//!   left the ready inquiry: confirmed, put on hold, written back) needs no cycle.
//! * NetSuite (ERP-NOTES §N6): no native format; upsync's documented script sends a JSON
//!   object with `recordType`, `id`, `eventType` (`docs/push.md`). Any JSON object is
//!   accepted; every one wakes.
//!
//! Must never: trust a push for anything but "look now" (the cycle reads through the
//! normal cursored query); panic on any input.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::sources::ConnectorKind;

/// At most this many record ids are kept per hint (a mass release lists many).
pub const MAX_IDS: usize = 50;

/// What is stored of one push (small: connector, time, ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hint {
    pub connector: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// Record numbers named by the push (ShipmentNbr, internal id), at most [`MAX_IDS`].
    pub ids: Vec<String>,
    /// The ERP's transaction id (`Id`), when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The ERP's ordering stamp (`TimeStamp`), when it sends one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
}

/// A decoded push: the hint and whether it calls for a cycle.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub ids: Vec<String>,
    pub transaction: Option<String>,
    pub timestamp: Option<i64>,
    pub wake: bool,
}

/// Why a body is refused (answered 400, `push_malformed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a JSON object")]
    NotAnObject,
    #[error("`{0}` must be an array of row objects")]
    BadRows(&'static str),
    #[error("an Acumatica push notification has `Inserted` and `Deleted` arrays; neither is here")]
    NoRows,
}

/// Decode a push from a connector of `kind`.
pub fn decode(kind: ConnectorKind, body: &[u8]) -> Result<Decoded, PayloadError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| PayloadError::NotJson)?;
    let obj = v.as_object().ok_or(PayloadError::NotAnObject)?;
    match kind {
        ConnectorKind::Acumatica => {
            let rows = |k: &'static str| -> Result<Option<&Vec<Value>>, PayloadError> {
                match obj.get(k) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Array(a)) if a.iter().all(Value::is_object) => Ok(Some(a)),
                    Some(_) => Err(PayloadError::BadRows(k)),
                }
            };
            let (inserted, deleted) = (rows("Inserted")?, rows("Deleted")?);
            if inserted.is_none() && deleted.is_none() {
                return Err(PayloadError::NoRows);
            }
            let inserted = inserted.map(Vec::as_slice).unwrap_or_default();
            let ids = inserted
                .iter()
                .filter_map(|row| {
                    row.as_object()?
                        .iter()
                        .find(|(k, _)| k.to_ascii_lowercase().ends_with("shipmentnbr"))
                        .and_then(|(_, v)| scalar(v))
                })
                .take(MAX_IDS)
                .collect();
            Ok(Decoded {
                ids,
                transaction: obj.get("Id").and_then(scalar),
                timestamp: obj.get("TimeStamp").and_then(Value::as_i64),
                wake: !inserted.is_empty(),
            })
        }
        ConnectorKind::Netsuite => {
            let ids = match obj.get("ids") {
                Some(Value::Array(a)) => a.iter().filter_map(scalar).take(MAX_IDS).collect(),
                _ => obj.get("id").and_then(scalar).into_iter().collect(),
            };
            Ok(Decoded {
                ids,
                transaction: None,
                timestamp: None,
                wake: true,
            })
        }
    }
}

/// A string or number as text, short enough to keep.
fn scalar(v: &Value) -> Option<String> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!s.is_empty() && s.len() <= 64).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acu(v: Value) -> Result<Decoded, PayloadError> {
        decode(ConnectorKind::Acumatica, v.to_string().as_bytes())
    }

    /// The documented example shape decodes; Inserted rows wake, Deleted-only do not.
    #[test]
    fn acumatica_rows() {
        let d = acu(json!({
            "Inserted": [{"ShipmentNbr": "000123", "Status": "Open"}],
            "Deleted": [],
            "Query": "UPS shipments ready to ship", "CompanyId": "Company",
            "Id": "1af4d140-5321-41f2-a2ec-50b67f577c6c", "TimeStamp": 636295833829493672i64,
            "AdditionalInfo": {}
        }))
        .unwrap();
        assert_eq!(d.ids, vec!["000123"]);
        assert!(d.wake);
        assert_eq!(d.timestamp, Some(636295833829493672));
        assert_eq!(
            d.transaction.as_deref(),
            Some("1af4d140-5321-41f2-a2ec-50b67f577c6c")
        );
        let d = acu(json!({"Inserted": [], "Deleted": [{"SOShipment_shipmentNbr": "7"}]})).unwrap();
        assert!(!d.wake && d.ids.is_empty());
        // GI column names vary: any column ending in ShipmentNbr names the record.
        let d = acu(json!({"Inserted": [{"SOShipment_shipmentNbr": 7}]})).unwrap();
        assert_eq!(d.ids, vec!["7"]);
    }

    #[test]
    fn malformed_bodies_are_refused_with_the_reason() {
        assert_eq!(
            decode(ConnectorKind::Acumatica, b"{nope"),
            Err(PayloadError::NotJson)
        );
        assert_eq!(acu(json!([1])), Err(PayloadError::NotAnObject));
        assert_eq!(
            acu(json!({"Inserted": "x"})),
            Err(PayloadError::BadRows("Inserted"))
        );
        assert_eq!(
            acu(json!({"Inserted": [1]})),
            Err(PayloadError::BadRows("Inserted"))
        );
        assert_eq!(acu(json!({"Query": "q"})), Err(PayloadError::NoRows));
        assert_eq!(
            decode(ConnectorKind::Netsuite, b"\"x\""),
            Err(PayloadError::NotAnObject)
        );
    }

    #[test]
    fn netsuite_script_body() {
        let d = decode(
            ConnectorKind::Netsuite,
            br#"{"recordType":"itemfulfillment","id":"5123","eventType":"create"}"#,
        )
        .unwrap();
        assert_eq!(d.ids, vec!["5123"]);
        assert!(d.wake);
        let many: Vec<u32> = (0..80).collect();
        let d = decode(
            ConnectorKind::Netsuite,
            json!({"ids": many}).to_string().as_bytes(),
        )
        .unwrap();
        assert_eq!(d.ids.len(), MAX_IDS);
    }
}
