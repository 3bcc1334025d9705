//! Return authorizations (issue 20, upsync docs/returns.md): `transaction.type = 'RtnAuth'`
//! records in the same store as item fulfillments, readable through SuiteQL (`BUILTIN.CF`
//! status `RtnAuth:B` = Pending Receipt) and the record API
//! (`/services/rest/record/v1/returnAuthorization/{id}`).
//!
//! What is modelled: NetSuite's return authorization is a transaction like an item
//! fulfillment (ERP-NOTES §N3: "SalesOrd, CustInvc, ItemRcpt, TrnfrOrd, … follow the same
//! pattern"); its statuses are the letters A (Pending Approval) … H (Closed). Its
//! `createdfrom` is the sales order; which fulfillment shipped the goods is not a standard
//! field, so the simulated account has the custom body field `custbody_original_fulfillment`
//! (the fulfillment's internal id). A return authorization has no package sublist in
//! NetSuite; the simulator exposes one package line (the parcel the customer sends back)
//! through the same `itemfulfillmentpackage` view, as an account would through a custom
//! record [modelled].

use super::store::{Fulfillment, PackageLine, RecordKind};
use super::NetSuiteSim;

impl NetSuiteSim {
    /// Add `count` return authorizations (Pending Receipt), one per UPS item fulfillment
    /// with a domestic US ship-to, in id order; returns their internal ids. Each names its
    /// fulfillment in `custbody_original_fulfillment` and sends one package back.
    pub fn add_return_authorizations(&self, count: usize) -> Vec<u64> {
        let originals: Vec<Fulfillment> = {
            let st = self.read_store();
            st.by_id
                .values()
                .filter(|f| {
                    f.kind == RecordKind::ItemFulfillment
                        && f.shipmethod < 200
                        && f.shipaddress.country.as_deref() == Some("US")
                        && f.packages.first().is_some_and(|p| p.weight > 0.0)
                        && !f
                            .shipaddress
                            .addr1
                            .as_deref()
                            .unwrap_or("")
                            .contains("Nowhere")
                })
                .take(count)
                .cloned()
                .collect()
        };
        let mut ids = Vec::new();
        for (i, o) in originals.into_iter().enumerate() {
            let mut r = o.clone();
            let id = 90_000 + i as u64 + 1;
            r.id = id;
            r.kind = RecordKind::ReturnAuthorization;
            r.tranid = format!("RMA{}", 1000 + i + 1);
            r.status = 'B';
            r.shipmethod = 101; // UPS Ground
            r.otherrefnum = None;
            let first = o.packages[0].clone();
            r.packages = vec![PackageLine {
                descr: Some(format!("Return of {}", o.tranid)),
                tracking: None,
                carton: None,
                reference1: None,
                ..first
            }];
            for v in r.custom.values_mut() {
                *v = None;
            }
            r.custom.insert(
                "custbody_original_fulfillment".into(),
                Some(o.id.to_string()),
            );
            r.shipping_cost = None;
            r.memo = None;
            r.lastmodified = self.now_naive();
            self.put(r);
            ids.push(id);
        }
        ids
    }
}
