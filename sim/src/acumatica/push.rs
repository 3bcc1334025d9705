//! Push notifications of the Acumatica simulator (ERP-NOTES §A5 and "Push notifications
//! (for change-driven wake-ups)"; MYOB Integration Development Guide, "Push Notification
//! Format", and the Push Notifications form SM302000).
//!
//! The simulator carries one push notification definition, as an admin would set it up on
//! SM302000 for upsync: the data source is a generic inquiry on shipments, [`QUERY`], with
//! the columns `ShipmentNbr`, `Status`, `Hold`, `ShipVia` and
//! `Shipment_lastModifiedDateTime`, and the conditions Status = Open, not on hold, and no
//! UPS reference written back yet (`UsrUpsReference` empty). Its destination is of type
//! Webhook: the address, header name and header value come from `--push-url`,
//! `--push-header`, `--push-secret` or `PUT /_sim/acumatica/push`.
//!
//! Every change of a shipment (a release through the admin route, a PUT, an action such as
//! ConfirmShipment, a DELETE) is one transaction; when it changes the inquiry's result the
//! simulator queues one message, as Acumatica does:
//!
//! ```json
//! {"Inserted": [{"ShipmentNbr": "000123", "Status": "Open", …}], "Deleted": [],
//!  "Query": "UPS shipments ready to ship", "CompanyId": "Company",
//!  "Id": "<transaction GUID>", "TimeStamp": 638…, "AdditionalInfo": {}}
//! ```
//!
//! A row that enters the result is in `Inserted` (a release); one that leaves it is in
//! `Deleted` (confirmed, put on hold, written back, deleted); an update that keeps it in
//! the result is the old row in `Deleted` and the new one in `Inserted`. Rows are plain
//! values, not `{"value": …}`-wrapped. `TimeStamp` grows with every transaction (.NET
//! ticks). Sending, resending and the `push` faults are [`crate::common::push`].

use super::*;

/// The generic inquiry the definition reads (its name is the message's `Query`).
pub const QUERY: &str = "UPS shipments ready to ship";

/// A change of one shipment: (before, after); `None` = absent.
pub(super) type Change = (Option<Value>, Option<Value>);

/// Record a change when pushing is on (called with the state lock held).
pub(super) fn record(g: &mut Inner, before: Option<Value>, after: Option<Value>) {
    if g.push_on {
        g.changes.push((before, after));
        g.changed.notify_one();
    }
}

/// The inquiry's row of a shipment, when it is in the result.
fn row(rec: &Value) -> Option<Value> {
    let v = |x: &Value| x.get("value").cloned().unwrap_or(Value::Null);
    let status = rec["Status"]["value"].as_str().unwrap_or_default();
    let hold = rec["Hold"]["value"].as_bool().unwrap_or(false);
    let reference = rec["custom"]["Document"]["UsrUpsReference"]["value"]
        .as_str()
        .unwrap_or_default();
    if status != "Open" || hold || !reference.is_empty() {
        return None;
    }
    Some(json!({
        "ShipmentNbr": v(&rec["ShipmentNbr"]),
        "Status": v(&rec["Status"]),
        "Hold": v(&rec["Hold"]),
        "ShipVia": v(&rec["ShipVia"]),
        "Shipment_lastModifiedDateTime": v(&rec["LastModifiedDateTime"]),
    }))
}

/// The message of one transaction, or `None` when the inquiry's result did not change.
pub(super) fn message(change: &Change, company: &str, ticks: i64) -> Option<Value> {
    let before = change.0.as_ref().and_then(row);
    let after = change.1.as_ref().and_then(row);
    if before == after {
        return None;
    }
    Some(json!({
        "Inserted": after.into_iter().collect::<Vec<_>>(),
        "Deleted": before.into_iter().collect::<Vec<_>>(),
        "Query": QUERY,
        "CompanyId": company,
        "Id": uuid::Uuid::new_v4().to_string(),
        "TimeStamp": ticks,
        "AdditionalInfo": {},
    }))
}

/// .NET ticks (100 ns since 0001-01-01) of `t`, strictly above `last`.
fn ticks(t: DateTime<Utc>, last: &mut i64) -> i64 {
    const EPOCH_TICKS: i64 = 621_355_968_000_000_000;
    let now = EPOCH_TICKS + t.timestamp_micros() * 10;
    *last = (*last + 1).max(now);
    *last
}

/// Turn recorded changes into messages for the sender, until the runtime stops.
pub(super) async fn run(st: Arc<AcuState>) {
    let company = st
        .cfg
        .users
        .first()
        .map(|u| u.tenant.clone())
        .unwrap_or_else(|| "Company".into());
    let changed = st.lock().changed.clone();
    let mut last = 0i64;
    loop {
        changed.notified().await;
        let changes = std::mem::take(&mut st.lock().changes);
        for c in &changes {
            if let Some(m) = message(c, &company, ticks(st.now(), &mut last)) {
                st.pusher.enqueue(&st.core, m);
            }
        }
    }
}

/// Switch pushing on or off (the destination set or cleared).
pub(super) fn configure(st: &AcuState, target: Option<common::push::PushTarget>) {
    let on = target.is_some();
    st.pusher.configure(target);
    st.lock().push_on = on;
}

/// `PUT /_sim/acumatica/push` `{"url", "header", "secret"}` sets the destination.
pub(super) async fn admin_push(State(st): State<Arc<AcuState>>, body: Bytes) -> Response {
    match common::push::parse_target(&body) {
        Ok(t) => {
            configure(&st, Some(t));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(form) => bad_request(form),
    }
}

/// `DELETE /_sim/acumatica/push`: no more notifications.
pub(super) async fn admin_push_off(State(st): State<Arc<AcuState>>) -> StatusCode {
    configure(&st, None);
    StatusCode::NO_CONTENT
}

/// `GET /_sim/acumatica/push`: the destination, secret redacted.
pub(super) async fn admin_push_show(State(st): State<Arc<AcuState>>) -> Json<Value> {
    Json(common::push::show(&st.pusher))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipment(status: &str, hold: bool, reference: &str) -> Value {
        json!({
            "ShipmentNbr": {"value": "000007"}, "Status": {"value": status},
            "Hold": {"value": hold}, "ShipVia": {"value": "UPSGROUND"},
            "LastModifiedDateTime": {"value": "2026-11-21T10:15:03.12+00:00"},
            "custom": {"Document": {"UsrUpsReference": {"type": "CustomStringField", "value": reference}}}
        })
    }

    /// A release is an Inserted row, a write-back a Deleted one, an update of a ready
    /// shipment a Deleted+Inserted pair; a change outside the inquiry sends nothing.
    #[test]
    fn inserted_and_deleted_follow_the_inquiry() {
        let held = shipment("On Hold", true, "");
        let open = shipment("Open", false, "");
        let shipped = shipment("Open", false, "1Z123");
        let m = message(&(Some(held.clone()), Some(open.clone())), "Company", 1).unwrap();
        assert_eq!(m["Inserted"][0]["ShipmentNbr"], "000007");
        assert_eq!(m["Deleted"], json!([]));
        assert_eq!(m["Query"], QUERY);
        assert_eq!(m["CompanyId"], "Company");
        assert_eq!(m["TimeStamp"], 1);
        assert!(m["Inserted"][0].get("value").is_none());
        let m = message(&(Some(open.clone()), Some(shipped)), "Company", 2).unwrap();
        assert_eq!(m["Inserted"], json!([]));
        assert_eq!(m["Deleted"][0]["Status"], "Open");
        let mut later = open.clone();
        later["LastModifiedDateTime"] = json!({"value": "2026-11-21T10:16:00+00:00"});
        let m = message(&(Some(open), Some(later)), "Company", 3).unwrap();
        assert_eq!(
            (
                m["Inserted"].as_array().unwrap().len(),
                m["Deleted"].as_array().unwrap().len()
            ),
            (1, 1)
        );
        assert!(message(&(None, Some(held)), "Company", 4).is_none());
    }

    #[test]
    fn timestamps_grow() {
        let mut last = 0;
        let t = Utc::now();
        let a = ticks(t, &mut last);
        let b = ticks(t, &mut last);
        assert!(b > a && a > 600_000_000_000_000_000);
    }
}
