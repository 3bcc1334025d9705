//! The demo's international order over the customs line limit: one Acumatica shipment to
//! Canada with [`LINES`] customs lines in [`PACKAGES`] packages, added to the seeded
//! simulator before the daemon starts. The bundled mapping says `over_limit: split`
//! (`max_lines: 50`), so it leaves as 3 UPS shipments of 40 lines and appears in the final
//! table as one row whose `tracking_numbers` are the 1Z numbers of all of them.

use anyhow::Context;
use serde_json::{json, Value};

use crate::app::world::World;

/// Customs lines of the order (issue 20: 120, over the 50 one UPS invoice takes).
pub const LINES: usize = 120;
/// Packages: one per UPS shipment of the split (120 / 50 → 3).
pub const PACKAGES: usize = 3;

fn w(v: Value) -> Value {
    json!({ "value": v })
}

fn custom(kind: &str, v: Value) -> Value {
    json!({ "type": kind, "value": v })
}

/// The record's fields, posted over a generated one to the Acumatica simulator's
/// `/_sim/acumatica/shipments` (lines and packages merge by `LineNbr`).
pub fn order() -> Value {
    let details: Vec<Value> = (1..=LINES)
        .map(|i| {
            json!({
                "LineNbr": w(json!(i)),
                "InventoryID": w(json!(format!("PART-{i:03}"))),
                "Description": w(json!(format!("Replacement part {i:03}"))),
                "ShippedQty": w(json!(1 + i % 3)),
                "UOM": w(json!("EA")),
                "custom": {"Transactions": {
                    "UsrHSCode": custom("CustomStringField", json!("847330")),
                    "UsrOriginCountry": custom("CustomStringField", json!("US")),
                    "UsrUnitPrice": custom("CustomDecimalField", json!(4.5 + (i % 7) as f64)),
                }}
            })
        })
        .collect();
    let packages: Vec<Value> = (1..=PACKAGES)
        .map(|p| {
            json!({
                "LineNbr": w(json!(p)), "BoxID": w(json!("LARGE")), "Weight": w(json!(12.5)),
                "UOM": w(json!("LB")), "Length": w(json!(18.0)), "Width": w(json!(14.0)),
                "Height": w(json!(12.0)), "DeclaredValue": w(json!(0.0)),
                "Description": w(json!(format!("Box {p} of {PACKAGES}"))),
            })
        })
        .collect();
    json!({
        "ShipVia": w(json!("UPSSTD")),
        "PackageCount": w(json!(PACKAGES)),
        "Description": w(json!("Replacement parts")),
        "Packages": packages,
        "Details": details,
        "ShippingSettings": {
            "ShipToAddress": {
                "AddressLine1": w(json!("200 King Street W")), "AddressLine2": w(json!("Suite 1200")),
                "City": w(json!("Toronto")), "State": w(json!("ON")),
                "PostalCode": w(json!("M5H 3T4")), "Country": w(json!("CA")),
            },
            "ShipToContact": {
                "Attention": w(json!("Receiving Dock")), "BusinessName": w(json!("Maple Industrial Supply")),
                "Phone1": w(json!("416-555-0142")),
            },
        },
    })
}

/// Add the order to the Acumatica simulator; its ShipmentNbr.
pub(super) async fn seed(w: &World) -> anyhow::Result<Option<String>> {
    let Some(a) = &w.acumatica else {
        return Ok(None);
    };
    let r: Value = reqwest::Client::new()
        .post(format!("{}/_sim/acumatica/shipments", a.base_url))
        .json(&order())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .context("cannot add the 120-line order to the Acumatica simulator")?
        .json()
        .await?;
    Ok(r["ShipmentNbr"]["value"].as_str().map(str::to_string))
}
