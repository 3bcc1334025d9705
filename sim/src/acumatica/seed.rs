//! Seeded Shipment records for the Acumatica simulator, in **wire form** (every field
//! `{"value": …}` wrapped, custom fields `{"type": "Custom…Field", "value": …}`).
//!
//! The mix follows `docs/conventions.md` ("Seeds"): domestic commercial and residential,
//! multi-package, Canada (UPSSTD, customs lines), international DE/GB/MX (UPSWWEXP/UPSSAVER),
//! 35+ character names, non-ASCII names, missing phone (domestic only), PR addresses, about
//! 10% non-UPS ship-vias. Bad records (`Nowhere` address, zero-weight package) only when
//! asked for. `LastModifiedDateTime` values deliberately collide (groups of up to 60
//! records share one timestamp) so that paging cuts through ties.
//!
//! Reproducible: the same `(count, seed_value, bad)` gives the same records, ids included.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// `{"value": v}`, or `{}` for null (how Acumatica sends an empty field).
pub fn w(v: Value) -> Value {
    if v.is_null() {
        json!({})
    } else {
        json!({ "value": v })
    }
}

/// A custom field in wire form.
pub fn cf(kind: &str, v: Value) -> Value {
    if v.is_null() {
        json!({ "type": kind })
    } else {
        json!({ "type": kind, "value": v })
    }
}

/// Acumatica-style timestamp: UTC with offset, fractional seconds without trailing zeros.
pub fn format_ts(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ms = t.timestamp_subsec_millis();
    let frac = if ms == 0 {
        String::new()
    } else {
        let s = format!(".{ms:03}");
        s.trim_end_matches('0').to_string()
    };
    format!("{base}{frac}+00:00")
}

/// The first seeded timestamp; groups follow at one-second steps.
pub fn seed_epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0)
        .single()
        .expect("valid date")
        + Duration::milliseconds(120)
}

fn guid(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

struct Dest {
    lines: (String, String),
    city: &'static str,
    state: &'static str,
    zip: &'static str,
    country: &'static str,
}

const US_CITIES: &[(&str, &str, &str)] = &[
    ("Alpharetta", "GA", "30005"),
    ("Austin", "TX", "78701"),
    ("Denver", "CO", "80202"),
    ("Seattle", "WA", "98101"),
    ("Chicago", "IL", "60601"),
    ("Boston", "MA", "02110"),
    ("Phoenix", "AZ", "85004"),
    ("Miami", "FL", "33131"),
    ("Columbus", "OH", "43215"),
    ("Portland", "OR", "97204"),
];
const COMMERCIAL_STREETS: &[&str] = &[
    "Commerce St",
    "Market Street",
    "Industrial Pkwy",
    "Main Street",
    "Enterprise Ave",
];
const RESIDENTIAL_STREETS: &[&str] = &[
    "Oak Lane",
    "Maple Court",
    "Birch Drive",
    "Cedar Way",
    "Willow Circle",
];
const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex Supply",
    "Initech LLC",
    "Umbrella Retail",
    "Stark Components",
    "Wayne Hardware",
    "Hooli Devices",
    "Vandelay Imports",
    "Soylent Foods",
    "Tyrell Systems",
];
const PEOPLE: &[&str] = &[
    "Jane Doe",
    "John Smith",
    "Maria Garcia",
    "Wei Chen",
    "Aisha Khan",
    "Tom Baker",
];
const LONG_NAMES: &[&str] = &[
    "International Widget Distribution Company of North America",
    "Consolidated Precision Fastener Manufacturing Incorporated",
];
const NON_ASCII: &[&str] = &[
    "Müller Feinmechanik GmbH",
    "Zoë's Café & Bäckerei",
    "Ångström Optics Ltd",
];
const ITEMS: &[(&str, &str, &str, f64)] = &[
    ("WIDGET-A", "Widget A", "847130", 49.5),
    ("GADGET-B", "Gadget B", "850440", 120.0),
    ("CABLE-C", "USB-C cable", "854442", 9.99),
    ("BOLT-D", "Steel bolt pack", "731815", 4.25),
];
const BOXES: &[(&str, f64, f64, f64)] = &[
    ("SMALL", 8.0, 6.0, 4.0),
    ("MEDIUM", 12.0, 10.0, 8.0),
    ("LARGE", 18.0, 14.0, 12.0),
];

/// Generate `count` good shipments plus `bad` deliberately broken ones.
pub fn generate(count: usize, seed_value: u64, bad: usize) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(seed_value);
    let mut out = Vec::with_capacity(count + bad);
    let mut ts = seed_epoch();
    let mut left_in_group = 0usize;
    for i in 0..count + bad {
        if left_in_group == 0 {
            left_in_group = rng.gen_range(1..=60);
            if i > 0 {
                ts += Duration::seconds(1);
            }
        }
        left_in_group -= 1;
        let is_bad = i >= count;
        out.push(one(&mut rng, i + 1, ts, is_bad));
    }
    out
}

fn one(rng: &mut StdRng, n: usize, ts: DateTime<Utc>, bad: bool) -> Value {
    let nbr = format!("{n:06}");
    let roll: u32 = rng.gen_range(0..100);
    let non_ups = !bad && roll < 10;
    let kind: u32 = rng.gen_range(0..100);
    // A bad record stays on a domestic US lane, where address validation applies (a
    // `Nowhere` street in Toronto would just ship).
    let kind = if bad { kind % 35 } else { kind };
    let warehouse = if rng.gen_bool(0.7) { "MAIN" } else { "WEST" };
    let num = rng.gen_range(10..9999);
    let (city, state, zip) = US_CITIES[rng.gen_range(0..US_CITIES.len())];
    let mut name = COMPANIES[rng.gen_range(0..COMPANIES.len())].to_string();
    let attention = PEOPLE[rng.gen_range(0..PEOPLE.len())].to_string();
    let mut phone: Option<String> = Some(format!("404-555-{:04}", rng.gen_range(0..10000)));
    let mut packages_n = 1;
    let mut customs = false;
    let mut ship_via = match rng.gen_range(0..10) {
        0..=5 => "UPSGROUND",
        6 => "UPS2DAY",
        7 => "UPSNDA",
        8 => "UPS3DAY",
        _ => "UPSBEST",
    };
    let mut dest = Dest {
        lines: (
            format!(
                "{num} {}",
                COMMERCIAL_STREETS[rng.gen_range(0..COMMERCIAL_STREETS.len())]
            ),
            String::new(),
        ),
        city,
        state,
        zip,
        country: "US",
    };
    match kind {
        0..=34 => {}
        35..=54 => {
            let street = RESIDENTIAL_STREETS[rng.gen_range(0..RESIDENTIAL_STREETS.len())];
            dest.lines = (
                format!("{num} {street}"),
                if rng.gen_bool(0.3) {
                    format!("Apt {}", rng.gen_range(1..40))
                } else {
                    String::new()
                },
            );
            name = attention.clone();
        }
        55..=69 => packages_n = rng.gen_range(2..=5),
        70..=76 => {
            let (c, s, z) = if rng.gen_bool(0.5) {
                ("Toronto", "ON", "M5V 2T6")
            } else {
                ("Vancouver", "BC", "V6B 1A1")
            };
            dest = Dest {
                lines: (format!("{num} King Street W"), String::new()),
                city: c,
                state: s,
                zip: z,
                country: "CA",
            };
            ship_via = "UPSSTD";
            customs = true;
        }
        77..=84 => {
            dest = match rng.gen_range(0..3) {
                0 => Dest {
                    lines: ("Friedrichstraße 12".into(), String::new()),
                    city: "Berlin",
                    state: "",
                    zip: "10115",
                    country: "DE",
                },
                1 => Dest {
                    lines: ("10 Downing Street".into(), String::new()),
                    city: "London",
                    state: "",
                    zip: "SW1A 2AA",
                    country: "GB",
                },
                _ => Dest {
                    lines: ("Av. Constitución 400".into(), String::new()),
                    city: "Monterrey",
                    state: "NL",
                    zip: "64000",
                    country: "MX",
                },
            };
            ship_via = if rng.gen_bool(0.5) {
                "UPSWWEXP"
            } else {
                "UPSSAVER"
            };
            customs = true;
        }
        85..=89 => name = LONG_NAMES[rng.gen_range(0..LONG_NAMES.len())].to_string(),
        90..=92 => name = NON_ASCII[rng.gen_range(0..NON_ASCII.len())].to_string(),
        93..=95 => phone = None,
        _ => {
            dest = Dest {
                lines: (format!("{num} Calle Luna"), String::new()),
                city: "San Juan",
                state: "PR",
                zip: "00901",
                country: "PR",
            };
        }
    }
    if non_ups {
        ship_via = if rng.gen_bool(0.5) {
            "FEDEXGROUND"
        } else {
            "WILLCALL"
        };
    }
    if bad && n % 2 == 1 {
        dest.lines.0 = format!("{num} Nowhere Road");
    }
    let id = guid(rng);
    let ts_s = format_ts(ts);
    let order_nbr = format!("SO{:06}", 4000 + n);
    let mut packages = Vec::new();
    let mut total_w = 0.0;
    for p in 0..packages_n {
        let (box_id, l, wd, h) = BOXES[rng.gen_range(0..BOXES.len())];
        let mut weight = (rng.gen_range(10..400) as f64) / 10.0;
        if bad && n.is_multiple_of(2) && p == 0 {
            weight = 0.0;
        }
        total_w += weight;
        packages.push(json!({
            "id": guid(rng), "rowNumber": p + 1,
            "BoxID": w(json!(box_id)), "Confirmed": w(json!(false)), "CustomRefNbr1": {}, "CustomRefNbr2": {},
            "DeclaredValue": w(json!((rng.gen_range(0..50) * 10) as f64)), "Description": w(json!(format!("Box {}", p + 1))),
            "TrackingNbr": {}, "Type": w(json!("Manual")), "UOM": w(json!("LB")),
            "Weight": w(json!(weight)), "Length": w(json!(l)), "Width": w(json!(wd)), "Height": w(json!(h)),
            "LineNbr": w(json!(p + 1)), "NoteID": w(json!(guid(rng))), "custom": {}
        }));
    }
    let lines_n = if customs { rng.gen_range(1..=3) } else { 1 };
    let mut details = Vec::new();
    for l in 0..lines_n {
        let (item, descr, hs, price) = ITEMS[rng.gen_range(0..ITEMS.len())];
        let qty = rng.gen_range(1..6);
        details.push(json!({
            "id": guid(rng), "rowNumber": l + 1, "LineNbr": w(json!(l + 1)), "InventoryID": w(json!(item)),
            "Description": w(json!(descr)), "ShippedQty": w(json!(qty)), "UOM": w(json!("EA")),
            "OrderType": w(json!("SO")), "OrderNbr": w(json!(order_nbr)), "WarehouseID": w(json!(warehouse)),
            "custom": {"Transactions": {
                "UsrHSCode": cf("CustomStringField", json!(hs)),
                "UsrOriginCountry": cf("CustomStringField", json!("US")),
                "UsrUnitPrice": cf("CustomDecimalField", json!(price)),
            }}
        }));
    }
    let email = format!("orders{}@example.com", rng.gen_range(1..999));
    let shipping = json!({
        "ShipToAddressOverride": w(json!(true)), "ShipToContactOverride": w(json!(true)), "Validated": w(json!(false)),
        "ShipToAddress": {
            "id": guid(rng), "rowNumber": 1, "AddressLine1": w(json!(dest.lines.0)),
            "AddressLine2": if dest.lines.1.is_empty() { json!({}) } else { w(json!(dest.lines.1)) },
            "City": w(json!(dest.city)), "Country": w(json!(dest.country)), "PostalCode": w(json!(dest.zip)),
            "State": if dest.state.is_empty() { json!({}) } else { w(json!(dest.state)) },
            "Validated": w(json!(false)), "custom": {}
        },
        "ShipToContact": {
            "id": guid(rng), "rowNumber": 1, "Attention": w(json!(attention)), "BusinessName": w(json!(name)),
            "Email": w(json!(email)), "Phone1": match &phone { Some(p) => w(json!(p)), None => json!({}) }, "custom": {}
        },
        "custom": {}
    });
    let mut rec = json!({
        "id": id, "rowNumber": 1, "note": {"value": ""},
        "BaseCurrencyID": w(json!("USD")), "ControlQty": w(json!(0.0)),
        "CreatedDateTime": w(json!(ts_s)), "CustomerID": w(json!(format!("C{:06}", rng.gen_range(1..500)))),
        "Description": w(json!(format!("Shipment for {order_nbr}"))), "EffectiveDate": {},
        "FOBPoint": {}, "FreightCost": w(json!(0.0)), "FreightPrice": w(json!(0.0)), "GroundCollect": w(json!(false)),
        "Hold": w(json!(false)), "Insurance": w(json!(false)), "LastModifiedDateTime": w(json!(ts_s)),
        "LocationID": w(json!("MAIN")), "Operation": w(json!("Issue")), "Owner": {},
    });
    let rest = json!({
        "PackageCount": w(json!(packages_n)), "PackageWeight": w(json!((total_w * 100.0f64).round() / 100.0)),
        "Picked": w(json!(false)), "ResidentialDelivery": w(json!(false)), "SaturdayDelivery": w(json!(false)),
        "ShipmentDate": w(json!(format!("{}T00:00:00+00:00", ts.format("%Y-%m-%d")))), "ShipmentNbr": w(json!(nbr)),
        "ShippedQty": w(json!(1.0)), "ShippedVolume": w(json!(0.0)), "ShippedWeight": w(json!(total_w)),
        "ShippingTerms": {}, "ShippingZoneID": {}, "ShipVia": w(json!(ship_via)), "Status": w(json!("Open")),
        "ToWarehouseID": {}, "Type": w(json!("Shipment")), "UseCustomersAccount": w(json!(false)),
        "WarehouseID": w(json!(warehouse)), "WorkgroupID": {}, "NoteID": w(json!(guid(rng))),
        "Packages": packages,
        "Orders": [{"id": guid(rng), "rowNumber": 1, "OrderType": w(json!("SO")), "OrderNbr": w(json!(order_nbr)),
                    "ShipmentNbr": w(json!(nbr)), "ShipmentType": w(json!("Shipment")), "ShippedQty": w(json!(1.0)),
                    "ShippedWeight": w(json!(total_w)), "custom": {}}],
        "Details": details,
        "custom": {"Document": {
            "UsrCustomerPO": cf("CustomStringField", json!(format!("PO-{}", rng.gen_range(100..9999)))),
            "UsrUpsReference": cf("CustomStringField", Value::Null),
            "UsrUpsCharges": cf("CustomDecimalField", Value::Null),
            "UsrUpsStatus": cf("CustomStringField", Value::Null),
            "UsrUpsError": cf("CustomStringField", Value::Null),
            "UsrUpsLastScan": cf("CustomStringField", Value::Null),
            "UsrUpsDeliveredAt": cf("CustomDateTimeField", Value::Null),
            "UsrUpsReceivedBy": cf("CustomStringField", Value::Null),
            "UsrUpsStatusTime": cf("CustomDateTimeField", Value::Null),
            "UsrUpsLastScanLocation": cf("CustomStringField", Value::Null),
            "UsrUpsEstDelivery": cf("CustomDateTimeField", Value::Null),
            "UsrUpsException": cf("CustomStringField", Value::Null),
            "UsrUpsScanHistory": cf("CustomTextField", Value::Null),
        }},
        "files": []
    });
    if let (Some(m), Value::Object(r)) = (rec.as_object_mut(), rest) {
        m.extend(r);
    }
    rec["ShippingSettings"] = shipping;
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproducible_with_colliding_timestamps_and_the_convention_mix() {
        let a = generate(500, 42, 0);
        let b = generate(500, 42, 0);
        assert_eq!(a, b);
        let mut per_ts = std::collections::HashMap::<String, usize>::new();
        for r in &a {
            *per_ts
                .entry(
                    r["LastModifiedDateTime"]["value"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
                .or_default() += 1;
        }
        assert!(per_ts.values().any(|n| *n >= 10), "timestamps must collide");
        let via = |v: &str| a.iter().filter(|r| r["ShipVia"]["value"] == v).count();
        assert!(via("FEDEXGROUND") + via("WILLCALL") > 20);
        assert!(via("UPSSTD") > 5 && via("UPSWWEXP") + via("UPSSAVER") > 5);
        assert!(a
            .iter()
            .any(|r| r["Packages"].as_array().unwrap().len() >= 2));
        assert!(a.iter().all(
            |r| !r["ShippingSettings"]["ShipToAddress"]["AddressLine1"]["value"]
                .as_str()
                .unwrap()
                .contains("Nowhere")
        ));
        let bad = generate(10, 42, 2);
        assert!(
            bad[10]["ShippingSettings"]["ShipToAddress"]["AddressLine1"]["value"]
                .as_str()
                .unwrap()
                .contains("Nowhere")
        );
        assert_eq!(bad[11]["Packages"][0]["Weight"]["value"], 0.0);
        assert_eq!(format_ts(seed_epoch()), "2026-11-20T08:00:00.12+00:00");
    }
}
