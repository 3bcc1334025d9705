//! Return receipts and automatic-return flags (issue 20, upsync docs/returns.md).
//!
//! A customer return in Acumatica is an RMA sales order (order type `RC`) whose goods come
//! back on a **receipt shipment**: the same Shipment entity (screen SO302000) with
//! `Operation` = `Receipt` (ERP-NOTES §A4: "`Operation` is "Issue" or "Receipt""), its
//! `Orders[]` naming the `RC` order. The simulator adds such shipments for seeded outbound
//! ones: same customer (the ship-to address the parcel comes back from), same warehouse, one
//! package with a description, status Open, and the custom field
//! `custom.Document.UsrOrigShipmentID` holding the original shipment's id (which shipment
//! shipped the goods is not a standard field of the entity: an account adds it [modelled]).
//! `UsrUpsAutoReturn` (a custom boolean) marks outbound shipments whose mapping makes a
//! return label alongside (`auto_return:` in the mapping).

use serde_json::{json, Value};

use super::seed::{cf, w};
use super::{insert, touch, AcuState};

fn is_candidate(s: &Value) -> bool {
    s["Operation"]["value"] == "Issue"
        && s["ShippingSettings"]["ShipToAddress"]["Country"]["value"] == "US"
        && s["ShipVia"]["value"]
            .as_str()
            .is_some_and(|v| v.starts_with("UPS") && v != "UPSBEST")
        && s["Packages"]
            .as_array()
            .is_some_and(|p| p.len() == 1 && p[0]["Weight"]["value"].as_f64() > Some(0.0))
        && !s["ShippingSettings"]["ShipToAddress"]["AddressLine1"]["value"]
            .as_str()
            .unwrap_or("")
            .contains("Nowhere")
}

impl AcuState {
    /// Add `count` return receipt shipments (Operation `Receipt`, RMA order type `RC`),
    /// each for a different seeded single-package domestic UPS shipment (the ones after
    /// those [`AcuState::mark_auto_return`] takes); returns their ShipmentNbrs.
    pub fn add_return_receipts(&self, count: usize, skip: usize) -> Vec<String> {
        let now = self.core.clock.now();
        let mut g = self.lock();
        let originals: Vec<Value> = g
            .order
            .values()
            .filter_map(|id| g.shipments.get(id))
            .filter(|s| is_candidate(s))
            .skip(skip)
            .take(count)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for (i, o) in originals.into_iter().enumerate() {
            let nbr = format!("RT{:04}", i + 1);
            let rma = format!("RC{:06}", 7000 + i + 1);
            let mut r = o.clone();
            r["id"] = json!(uuid::Uuid::new_v4().to_string());
            r["ShipmentNbr"] = w(json!(nbr));
            r["Operation"] = w(json!("Receipt"));
            r["Description"] = w(json!(format!("Return for {rma}")));
            r["ShipVia"] = w(json!("UPSGROUND"));
            r["Status"] = w(json!("Open"));
            r["files"] = json!([]);
            r["LastModifiedDateTime"] = w(json!(touch(&mut g, now)));
            let orig_order = o["Orders"][0]["OrderNbr"]["value"].clone();
            r["Orders"] = json!([{"id": uuid::Uuid::new_v4().to_string(), "rowNumber": 1,
                "OrderType": w(json!("RC")), "OrderNbr": w(json!(rma)),
                "ShipmentNbr": w(json!(nbr)), "ShipmentType": w(json!("Shipment")),
                "ShippedQty": w(json!(1.0)), "custom": {}}]);
            if let Some(p) = r["Packages"].get_mut(0) {
                p["id"] = json!(uuid::Uuid::new_v4().to_string());
                p["TrackingNbr"] = json!({});
                p["Description"] = w(json!(format!(
                    "Return of {}",
                    orig_order.as_str().unwrap_or("order")
                )));
            }
            if let Some(doc) = r["custom"]["Document"].as_object_mut() {
                for (k, v) in doc.iter_mut() {
                    if k.starts_with("UsrUps") {
                        let kind = v["type"].clone();
                        *v = json!({"type": kind});
                    }
                }
                doc.insert(
                    "UsrOrigShipmentID".into(),
                    cf("CustomStringField", o["id"].clone()),
                );
            }
            insert(&mut g, r);
            out.push(nbr);
        }
        out
    }

    /// Flag the first `count` single-package domestic UPS shipments for an automatic
    /// return (`custom.Document.UsrUpsAutoReturn` = true); returns their ShipmentNbrs.
    pub fn mark_auto_return(&self, count: usize) -> Vec<String> {
        let now = self.core.clock.now();
        let mut g = self.lock();
        let ids: Vec<String> = g
            .order
            .values()
            .filter(|id| g.shipments.get(*id).is_some_and(is_candidate))
            .take(count)
            .cloned()
            .collect();
        let mut out = Vec::new();
        for id in ids {
            let ts = touch(&mut g, now);
            let Some(s) = g.shipments.get_mut(&id) else {
                continue;
            };
            s["custom"]["Document"]["UsrUpsAutoReturn"] = cf("CustomBooleanField", json!(true));
            s["LastModifiedDateTime"] = w(json!(ts));
            out.push(s["ShipmentNbr"]["value"].as_str().unwrap_or("").to_string());
        }
        out
    }
}
