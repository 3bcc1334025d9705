//! Change notifications of the NetSuite simulator: what a User Event script (or workflow
//! action) on the item fulfillment does for upsync (ERP-NOTES §N6 and "Push notifications
//! (for change-driven wake-ups)"): NetSuite itself sends nothing and signs nothing; the
//! script's `afterSubmit` POSTs with `N/https` to a configured URL, with the one
//! shared-secret header its author chose.
//!
//! The simulated script runs after every create, edit or delete of an item fulfillment
//! (the admin route, a record PATCH, a DELETE) and posts
//!
//! ```json
//! {"recordType": "itemfulfillment", "id": "5123", "eventType": "create",
//!  "tranid": "IF1123", "status": "ItemShip:B", "lastModified": "2026-11-21 10:15:03"}
//! ```
//!
//! (`eventType` is the script context's type: `create`, `edit` or `delete`). Destination:
//! `--push-url`, `--push-header`, `--push-secret` or `PUT /_sim/netsuite/push`. Sending,
//! resending and the `push` faults are [`crate::common::push`].

use super::*;

/// Changes recorded by the store while pushing is on.
#[derive(Debug, Default)]
pub struct ChangeLog {
    on: std::sync::atomic::AtomicBool,
    log: Mutex<Vec<Value>>,
    notify: tokio::sync::Notify,
}

impl ChangeLog {
    /// Record one `afterSubmit` (called by the store with its lock held).
    pub fn record(&self, event: &str, f: &Fulfillment) {
        if !self.on.load(Ordering::SeqCst) {
            return;
        }
        let m = json!({
            "recordType": "itemfulfillment",
            "id": f.id.to_string(),
            "eventType": event,
            "tranid": f.tranid,
            "status": f.status_cf(),
            "lastModified": f.lastmodified.format("%Y-%m-%d %H:%M:%S").to_string(),
        });
        self.log.lock().unwrap_or_else(|e| e.into_inner()).push(m);
        self.notify.notify_one();
    }

    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Hand recorded changes to the sender, until the runtime stops.
pub(super) async fn run(sim: Arc<NetSuiteSim>) {
    let log = sim.read_store().changes.clone();
    loop {
        log.notify.notified().await;
        for m in log.take() {
            sim.pusher.enqueue(&sim.core, m);
        }
    }
}

/// Switch the script on (a destination) or off.
pub(super) fn configure(sim: &NetSuiteSim, target: Option<crate::common::push::PushTarget>) {
    let on = target.is_some();
    sim.pusher.configure(target);
    sim.read_store().changes.on.store(on, Ordering::SeqCst);
}

/// `PUT /_sim/netsuite/push` `{"url", "header", "secret"}` sets the destination.
pub(super) async fn admin_push(State(sim): State<Arc<NetSuiteSim>>, body: Bytes) -> Response {
    match crate::common::push::parse_target(&body) {
        Ok(t) => {
            configure(&sim, Some(t));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(form) => (StatusCode::BAD_REQUEST, form).into_response(),
    }
}

/// `DELETE /_sim/netsuite/push`: the script stops posting.
pub(super) async fn admin_push_off(State(sim): State<Arc<NetSuiteSim>>) -> StatusCode {
    configure(&sim, None);
    StatusCode::NO_CONTENT
}

/// `GET /_sim/netsuite/push`: the destination, secret redacted.
pub(super) async fn admin_push_show(State(sim): State<Arc<NetSuiteSim>>) -> Json<Value> {
    Json(crate::common::push::show(&sim.pusher))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Creates, edits and deletes are recorded only while the script is on.
    #[test]
    fn the_store_records_after_submit_events_when_on() {
        let mut s = Store::default();
        store::seed(
            &mut s,
            SeedSpec {
                count: 1,
                bad: 0,
                seed: 1,
                ups_sublist: UpsSublist::Mixed,
            },
        );
        assert!(s.changes.take().is_empty(), "off: nothing recorded");
        s.changes.on.store(true, Ordering::SeqCst);
        let mut f = s.by_id.values().next().unwrap().clone();
        s.upsert(f.clone());
        f.id += 1;
        s.upsert(f.clone());
        s.remove(f.id);
        let kinds: Vec<String> = s
            .changes
            .take()
            .iter()
            .map(|m| {
                format!(
                    "{}:{}",
                    m["eventType"].as_str().unwrap(),
                    m["id"].as_str().unwrap()
                )
            })
            .collect();
        let id = f.id;
        assert_eq!(
            kinds,
            vec![
                format!("edit:{}", id - 1),
                format!("create:{id}"),
                format!("delete:{id}")
            ]
        );
    }
}
