//! The NetSuite simulator's item fulfillment store and its seeds.
//!
//! One [`Fulfillment`] per item fulfillment record. SuiteQL tables (`transaction`,
//! `transactionline`, `transactionshippingaddress`, `itemfulfillmentpackage`) are views over
//! this store (see `query.rs`); the record API reads and patches it directly.
//!
//! Indexes: `by_id` (internal id) and `by_modified` (`(lastmodifieddate, id)`), so keyset
//! paging is a range scan. Every mutation bumps `generation`, which invalidates query caches.
//! Seeds follow `docs/conventions.md` ("Seeds") and are reproducible from the seed value.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The `custbody_*` fields every simulated item fulfillment has (`docs/conventions.md`).
pub const CUSTBODY_FIELDS: &[&str] = &[
    "custbody_ups_reference",
    "custbody_ups_charges",
    "custbody_ups_status",
    "custbody_ups_error",
    "custbody_ups_label_file",
    "custbody_ups_last_scan",
    "custbody_ups_delivered",
    "custbody_ups_received_by",
    "custbody_ups_status_time",
    "custbody_ups_scan_location",
    "custbody_ups_est_delivery",
    "custbody_ups_exception",
    "custbody_ups_signature",
    "custbody_ups_scan_history",
    "custbody_ups_service",
    "custbody_ups_transit_days",
    // Returns (`returns.rs`): the outbound fulfillment a return authorization names, and
    // the return 1Z written onto either record.
    "custbody_original_fulfillment",
    "custbody_ups_return_tracking",
    "custbody_ups_ship_date",
    "custbody_ups_pickup_prn",
];

/// Which transaction a stored record is: an item fulfillment (the default) or a return
/// authorization (`transaction.type` `RtnAuth`, record API `returnAuthorization`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordKind {
    #[default]
    ItemFulfillment,
    ReturnAuthorization,
}

impl RecordKind {
    /// `transaction.type` (ERP-NOTES §N3: `ItemShip`, `RtnAuth`, … follow the same pattern).
    pub fn tran_type(self) -> &'static str {
        match self {
            RecordKind::ItemFulfillment => "ItemShip",
            RecordKind::ReturnAuthorization => "RtnAuth",
        }
    }
}

/// Ship methods: (internal id, display text).
pub const SHIP_METHODS: &[(u32, &str)] = &[
    (101, "UPS Ground"),
    (102, "UPS 2nd Day Air"),
    (103, "UPS Next Day Air"),
    (104, "UPS 3 Day Select"),
    (105, "UPS Standard"),
    (106, "UPS Worldwide Express"),
    (107, "UPS Worldwide Saver"),
    (201, "FedEx Ground"),
    (202, "Pickup"),
    (203, "USPS Priority Mail"),
];

pub fn ship_method_name(id: u32) -> &'static str {
    SHIP_METHODS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| *n)
        .unwrap_or("")
}

pub fn ship_method_id(name: &str) -> Option<u32> {
    SHIP_METHODS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(i, _)| *i)
}

/// Ship-to address (`transactionShippingAddress` / record `shippingAddress`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShipAddress {
    pub addressee: Option<String>,
    pub attention: Option<String>,
    pub addr1: Option<String>,
    pub addr2: Option<String>,
    pub addr3: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub country: Option<String>,
    pub addrphone: Option<String>,
}

/// Which package sublist a record carries. ERP-NOTES.md §N4: `package` (generic carrier),
/// `packageUps` (packageTrackingNumberUps, packageWeightUps, packageDescrUps, reference1Ups,
/// …), `packageFedex`, `packageUsps`; "which sublist appears depends on the carrier/ship
/// method of the record [UNVERIFIED detail]". The simulator therefore has records of every
/// kind (see [`UpsSublist`] for UPS ship methods) and a record shows exactly one of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PackageSublist {
    #[default]
    #[serde(rename = "package")]
    Package,
    #[serde(rename = "packageUps")]
    PackageUps,
    #[serde(rename = "packageFedex")]
    PackageFedex,
    #[serde(rename = "packageUsps")]
    PackageUsps,
}

impl PackageSublist {
    pub const ALL: [PackageSublist; 4] = [
        PackageSublist::Package,
        PackageSublist::PackageUps,
        PackageSublist::PackageFedex,
        PackageSublist::PackageUsps,
    ];

    /// Record API name of the sublist.
    pub fn name(self) -> &'static str {
        match self {
            PackageSublist::Package => "package",
            PackageSublist::PackageUps => "packageUps",
            PackageSublist::PackageFedex => "packageFedex",
            PackageSublist::PackageUsps => "packageUsps",
        }
    }

    /// Suffix of the carrier sublists' field names (`packageWeightUps`); `""` for `package`.
    pub fn suffix(self) -> &'static str {
        match self {
            PackageSublist::Package => "",
            PackageSublist::PackageUps => "Ups",
            PackageSublist::PackageFedex => "Fedex",
            PackageSublist::PackageUsps => "Usps",
        }
    }

    pub fn from_name(name: &str) -> Option<PackageSublist> {
        PackageSublist::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Which sublist records with a UPS ship method carry (open point of §N4: with the UPS
/// integration on, NetSuite shows `packageUps`; a ship method on a generic carrier shows
/// `package`). `Mixed` (the default) gives both: even internal ids `packageUps`, odd ones
/// `package`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum UpsSublist {
    #[default]
    Mixed,
    Package,
    PackageUps,
}

/// The sublist a seeded record with ship method `method` and id `id` carries.
pub fn sublist_for(method: u32, id: u64, ups: UpsSublist) -> PackageSublist {
    match method {
        201 => PackageSublist::PackageFedex,
        203 => PackageSublist::PackageUsps,
        m if m < 200 => match ups {
            UpsSublist::Package => PackageSublist::Package,
            UpsSublist::PackageUps => PackageSublist::PackageUps,
            UpsSublist::Mixed if id.is_multiple_of(2) => PackageSublist::PackageUps,
            UpsSublist::Mixed => PackageSublist::Package,
        },
        _ => PackageSublist::Package,
    }
}

/// One line of a package sublist (non-keyed: PATCH without `replace` appends).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PackageLine {
    pub weight: f64,
    pub descr: Option<String>,
    pub length: Option<f64>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    pub declared_value: Option<f64>,
    pub tracking: Option<String>,
    pub carton: Option<String>,
    /// `reference1Ups` (carrier sublists only).
    pub reference1: Option<String>,
}

/// One line of the `item` sublist.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ItemLine {
    pub item_id: u64,
    pub item: String,
    pub description: Option<String>,
    pub quantity: f64,
    pub rate: f64,
    pub hs_code: Option<String>,
    pub origin_country: Option<String>,
}

/// One item fulfillment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fulfillment {
    pub id: u64,
    pub tranid: String,
    /// `A` picked, `B` packed, `C` shipped.
    pub status: char,
    pub shipmethod: u32,
    pub entity_id: u64,
    pub entity: String,
    pub email: Option<String>,
    pub currency: String,
    pub otherrefnum: Option<String>,
    pub createdfrom_id: u64,
    pub createdfrom: String,
    /// Location internal id (`"1"` MAIN, `"2"` WEST).
    pub location: String,
    pub trandate: NaiveDate,
    pub lastmodified: NaiveDateTime,
    pub shipaddress: ShipAddress,
    /// The package sublist this record carries (its lines are `packages`).
    #[serde(default)]
    pub package_sublist: PackageSublist,
    pub packages: Vec<PackageLine>,
    pub items: Vec<ItemLine>,
    /// `custbody_*` values (keys from [`CUSTBODY_FIELDS`]).
    pub custom: BTreeMap<String, Option<String>>,
    /// Body field `shippingCost` (ERP-NOTES §N4), as the number's JSON text; `None` until set.
    #[serde(default)]
    pub shipping_cost: Option<String>,
    /// Body field `memo` (ERP-NOTES §N4).
    #[serde(default)]
    pub memo: Option<String>,
    /// Item fulfillment or return authorization.
    #[serde(default)]
    pub kind: RecordKind,
}

impl Fulfillment {
    /// `transactionShippingAddress.nkey` of this record's ship-to address.
    pub fn address_nkey(&self) -> u64 {
        self.id + 900_000_000
    }

    pub fn status_cf(&self) -> String {
        format!("{}:{}", self.kind.tran_type(), self.status)
    }

    pub fn status_df(&self) -> &'static str {
        if self.kind == RecordKind::ReturnAuthorization {
            // Return authorization statuses (NetSuite's RtnAuth:A…H).
            return match self.status {
                'A' => "Pending Approval",
                'B' => "Pending Receipt",
                'C' => "Cancelled",
                'D' => "Partially Received",
                'F' => "Pending Refund",
                'H' => "Closed",
                _ => "Unknown",
            };
        }
        match self.status {
            'A' => "Picked",
            'B' => "Packed",
            'C' => "Shipped",
            _ => "Unknown",
        }
    }
}

/// The store: records plus indexes.
#[derive(Debug, Default)]
pub struct Store {
    pub by_id: BTreeMap<u64, Fulfillment>,
    pub by_modified: BTreeSet<(NaiveDateTime, u64)>,
    pub generation: u64,
    next_id: u64,
    /// `afterSubmit` notifications of the simulated User Event script (`push.rs`).
    pub changes: std::sync::Arc<super::push::ChangeLog>,
}

impl Store {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: u64) -> Option<&Fulfillment> {
        self.by_id.get(&id)
    }

    /// Insert or replace a record (indexes kept in step).
    pub fn upsert(&mut self, f: Fulfillment) {
        let event = if let Some(old) = self.by_id.get(&f.id) {
            self.by_modified.remove(&(old.lastmodified, old.id));
            "edit"
        } else {
            "create"
        };
        self.changes.record(event, &f);
        self.by_modified.insert((f.lastmodified, f.id));
        self.next_id = self.next_id.max(f.id + 1);
        self.by_id.insert(f.id, f);
        self.generation += 1;
    }

    /// Delete a record (indexes kept in step). NetSuite has no "cancelled" status for item
    /// fulfillments: a cancelled fulfillment is deleted (`DELETE …/itemFulfillment/{id}`).
    pub fn remove(&mut self, id: u64) -> Option<Fulfillment> {
        let f = self.by_id.remove(&id)?;
        self.by_modified.remove(&(f.lastmodified, f.id));
        self.changes.record("delete", &f);
        self.generation += 1;
        Some(f)
    }

    /// Apply `change` to a record and stamp it modified at `now`.
    pub fn modify<T>(
        &mut self,
        id: u64,
        now: NaiveDateTime,
        change: impl FnOnce(&mut Fulfillment) -> T,
    ) -> Option<T> {
        let mut f = self.by_id.get(&id)?.clone();
        let out = change(&mut f);
        f.lastmodified = now;
        self.upsert(f);
        Some(out)
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.max(5000)
    }
}

// ---------------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------------

struct Dest {
    addr1: &'static str,
    city: &'static str,
    state: &'static str,
    zip: &'static str,
    country: &'static str,
}

const DOMESTIC_COMMERCIAL: &[Dest] = &[
    Dest {
        addr1: "1000 Peachtree St NE",
        city: "Atlanta",
        state: "GA",
        zip: "30309",
        country: "US",
    },
    Dest {
        addr1: "55 Water St",
        city: "New York",
        state: "NY",
        zip: "10041",
        country: "US",
    },
    Dest {
        addr1: "233 S Wacker Blvd",
        city: "Chicago",
        state: "IL",
        zip: "60606",
        country: "US",
    },
    Dest {
        addr1: "1 Market Plaza",
        city: "San Francisco",
        state: "CA",
        zip: "94105",
        country: "US",
    },
    Dest {
        addr1: "400 Broad St",
        city: "Seattle",
        state: "WA",
        zip: "98109",
        country: "US",
    },
];
const DOMESTIC_RESIDENTIAL: &[Dest] = &[
    Dest {
        addr1: "12 Maple Lane",
        city: "Alpharetta",
        state: "GA",
        zip: "30005",
        country: "US",
    },
    Dest {
        addr1: "8 Birch Court",
        city: "Naperville",
        state: "IL",
        zip: "60540",
        country: "US",
    },
    Dest {
        addr1: "421 Sunset Drive",
        city: "Austin",
        state: "TX",
        zip: "78704",
        country: "US",
    },
    Dest {
        addr1: "77 Harbor Way",
        city: "Portland",
        state: "ME",
        zip: "04101",
        country: "US",
    },
    Dest {
        addr1: "3 Oak Circle",
        city: "Boulder",
        state: "CO",
        zip: "80302",
        country: "US",
    },
];
const PUERTO_RICO: &[Dest] = &[Dest {
    addr1: "250 Calle Fortaleza",
    city: "San Juan",
    state: "PR",
    zip: "00901",
    country: "US",
}];
const CANADA: &[Dest] = &[
    Dest {
        addr1: "100 King St W",
        city: "Toronto",
        state: "ON",
        zip: "M5X 1A9",
        country: "CA",
    },
    Dest {
        addr1: "1000 Rue Sherbrooke O",
        city: "Montreal",
        state: "QC",
        zip: "H3A 3G4",
        country: "CA",
    },
];
const INTERNATIONAL: &[Dest] = &[
    Dest {
        addr1: "Friedrichstrasse 123",
        city: "Berlin",
        state: "",
        zip: "10117",
        country: "DE",
    },
    Dest {
        addr1: "10 Downing Street",
        city: "London",
        state: "",
        zip: "SW1A 2AA",
        country: "GB",
    },
    Dest {
        addr1: "Av. Paseo de la Reforma 250",
        city: "Ciudad de Mexico",
        state: "CMX",
        zip: "06600",
        country: "MX",
    },
];

const COMPANIES: &[&str] = &[
    "Acme Corp",
    "Globex Industries",
    "Initech LLC",
    "Umbrella Supply",
    "Stark Components",
    "Wayne Hardware",
    "Müller Feinmechanik GmbH",
    "Zoë's Bakery Supplies",
    "The Extraordinarily Long Company Name Holdings International",
];
const PEOPLE: &[&str] = &[
    "Jane Smith",
    "Carlos Pérez",
    "Zoë Martin",
    "Jürgen Müller",
    "Ann Lee",
    "Maximilian Alexander Worthington-Smythe III",
];
const ITEMS: &[(&str, &str, f64, &str)] = &[
    ("WIDGET-A", "Widget A, stainless", 49.5, "847130"),
    ("GADGET-B", "Gadget B with charger", 129.0, "851762"),
    ("CABLE-C", "USB-C cable 2m", 9.95, "854442"),
    ("BOOK-D", "Printed manual", 15.0, "490199"),
];

/// Seeding options (`docs/conventions.md`): `count` shippable records, `bad` records that must
/// fail (address line `Nowhere`, or a package with weight 0).
#[derive(Debug, Clone, Copy)]
pub struct SeedSpec {
    pub count: usize,
    pub bad: usize,
    pub seed: u64,
    /// Package sublist of records with a UPS ship method.
    pub ups_sublist: UpsSublist,
}

/// Base time of seeded `lastmodifieddate` values.
pub fn seed_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid fixed date")
}

/// Build `spec.count + spec.bad` fulfillments, reproducible from `spec.seed`.
///
/// Internal ids start at 5000 and are *not* in `lastmodifieddate` order (a shuffled
/// permutation), and about every third record shares its timestamp with a neighbour, so a
/// paging scheme that ignores the `(lastmodifieddate, id)` tie-break loses or repeats rows.
pub fn seed(store: &mut Store, spec: SeedSpec) {
    let total = spec.count + spec.bad;
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let mut slots: Vec<usize> = (0..total).collect();
    slots.shuffle(&mut rng);
    let first = store.next_id();
    let epoch = seed_epoch();
    for (i, slot) in slots.into_iter().enumerate() {
        let id = first + i as u64;
        let lastmodified = epoch + Duration::seconds((slot / 3 * 2) as i64);
        let bad = if i >= spec.count {
            Some(i - spec.count)
        } else {
            None
        };
        let mut f = make_one(&mut rng, id, lastmodified, bad);
        f.package_sublist = sublist_for(f.shipmethod, f.id, spec.ups_sublist);
        store.by_modified.insert((f.lastmodified, f.id));
        store.by_id.insert(f.id, f);
    }
    store.next_id = first + total as u64;
    store.generation += 1;
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.gen_range(0..xs.len())]
}

fn make_one(
    rng: &mut StdRng,
    id: u64,
    lastmodified: NaiveDateTime,
    bad: Option<usize>,
) -> Fulfillment {
    let n = id - 4000;
    let roll: u32 = rng.gen_range(0..100);
    // A bad record stays on a domestic US UPS lane, where address validation applies.
    let roll = if bad.is_some() { 10 + roll % 30 } else { roll };
    // ~10% non-UPS; the rest split over the lanes.
    let (dest, method, customs): (&Dest, u32, bool) = match roll {
        0..=4 => (pick(rng, DOMESTIC_COMMERCIAL), 201, false),
        // Pickup, or USPS for odd ids (no extra random draw: the other seeds stay as they were).
        5..=9 => (
            pick(rng, DOMESTIC_RESIDENTIAL),
            if id % 2 == 1 { 203 } else { 202 },
            false,
        ),
        10..=39 => (
            pick(rng, DOMESTIC_COMMERCIAL),
            *pick(rng, &[101, 102, 103, 104]),
            false,
        ),
        40..=64 => (
            pick(rng, DOMESTIC_RESIDENTIAL),
            *pick(rng, &[101, 101, 102]),
            false,
        ),
        65..=71 => (pick(rng, PUERTO_RICO), 101, false),
        72..=83 => (pick(rng, CANADA), 105, true),
        _ => (pick(rng, INTERNATIONAL), *pick(rng, &[106, 107]), true),
    };
    let company = *pick(rng, COMPANIES);
    let person = *pick(rng, PEOPLE);
    let domestic = dest.country == "US";
    let phone = if domestic && rng.gen_bool(0.15) {
        None
    } else {
        Some(format!("404-555-{:04}", n % 10_000))
    };
    let mut addr1 = dest.addr1.to_string();
    let mut packages = Vec::new();
    let npk = if rng.gen_bool(0.3) {
        rng.gen_range(2..=5)
    } else {
        1
    };
    for k in 0..npk {
        packages.push(PackageLine {
            weight: f64::from(rng.gen_range(1..=40u32)) / 2.0,
            descr: Some(format!("Box {}", k + 1)),
            length: Some(f64::from(rng.gen_range(6..=24u32))),
            width: Some(f64::from(rng.gen_range(4..=18u32))),
            height: Some(f64::from(rng.gen_range(2..=12u32))),
            declared_value: Some(f64::from(rng.gen_range(1..=50u32)) * 10.0),
            tracking: None,
            carton: None,
            reference1: None,
        });
    }
    match bad {
        Some(k) if k % 2 == 0 => addr1 = format!("1 Nowhere Rd {}", k + 1),
        Some(_) => packages[0].weight = 0.0,
        None => {}
    }
    let nitems = rng.gen_range(1..=3);
    let items = (0..nitems)
        .map(|_| {
            let (item, descr, rate, hs) = *pick(rng, ITEMS);
            ItemLine {
                item_id: 300 + ITEMS.iter().position(|x| x.0 == item).unwrap_or(0) as u64,
                item: item.to_string(),
                description: Some(descr.to_string()),
                quantity: f64::from(rng.gen_range(1..=5u32)),
                rate,
                hs_code: customs.then(|| hs.to_string()),
                origin_country: customs.then(|| "US".to_string()),
            }
        })
        .collect();
    let custom = CUSTBODY_FIELDS
        .iter()
        .map(|k| (k.to_string(), None))
        .collect();
    Fulfillment {
        kind: RecordKind::ItemFulfillment,
        id,
        tranid: format!("IF{n}"),
        status: if rng.gen_bool(0.5) { 'A' } else { 'B' },
        shipmethod: method,
        entity_id: 700 + (n % 50),
        entity: company.to_string(),
        email: Some(format!("shipping{}@example.com", n % 50)),
        currency: if dest.country == "CA" { "CAD" } else { "USD" }.to_string(),
        otherrefnum: rng.gen_bool(0.7).then(|| format!("PO-{}", 100 + n % 900)),
        createdfrom_id: id + 100_000_000,
        createdfrom: format!("SO{n}"),
        location: if rng.gen_bool(0.7) { "1" } else { "2" }.to_string(),
        trandate: lastmodified.date(),
        lastmodified,
        package_sublist: PackageSublist::Package,
        shipping_cost: None,
        memo: None,
        shipaddress: ShipAddress {
            addressee: Some(company.to_string()),
            attention: Some(person.to_string()),
            addr1: Some(addr1),
            addr2: rng.gen_bool(0.2).then(|| "Suite 200".to_string()),
            addr3: None,
            city: Some(dest.city.to_string()),
            state: (!dest.state.is_empty()).then(|| dest.state.to_string()),
            zip: Some(dest.zip.to_string()),
            country: Some(dest.country.to_string()),
            addrphone: phone,
        },
        packages,
        items,
        custom,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_reproducible_and_indexed() {
        let mut a = Store::default();
        seed(
            &mut a,
            SeedSpec {
                count: 300,
                bad: 4,
                seed: 7,
                ups_sublist: UpsSublist::Mixed,
            },
        );
        let mut b = Store::default();
        seed(
            &mut b,
            SeedSpec {
                count: 300,
                bad: 4,
                seed: 7,
                ups_sublist: UpsSublist::Mixed,
            },
        );
        assert_eq!(a.len(), 304);
        assert_eq!(a.by_modified.len(), 304);
        assert_eq!(a.by_id, b.by_id);
        // ids are not in modified order, and timestamps tie
        let order: Vec<u64> = a.by_modified.iter().map(|(_, id)| *id).collect();
        assert!(order.windows(2).any(|w| w[0] > w[1]));
        let ties = a
            .by_modified
            .iter()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|w| w[0].0 == w[1].0)
            .count();
        assert!(ties > 50, "{ties}");
        let non_ups = a.by_id.values().filter(|f| f.shipmethod > 200).count();
        assert!((10..=60).contains(&non_ups), "{non_ups}");
        let bad: Vec<_> = a.by_id.values().filter(|f| f.id >= 5300).collect();
        assert!(bad
            .iter()
            .any(|f| f.shipaddress.addr1.as_deref().unwrap().contains("Nowhere")));
        assert!(bad.iter().any(|f| f.packages[0].weight == 0.0));
        assert!(a
            .by_id
            .values()
            .take(300)
            .all(|f| f.packages.iter().all(|p| p.weight > 0.0)));
    }

    #[test]
    fn modify_moves_the_index() {
        let mut s = Store::default();
        seed(
            &mut s,
            SeedSpec {
                count: 3,
                bad: 0,
                seed: 1,
                ups_sublist: UpsSublist::Mixed,
            },
        );
        let now = seed_epoch() + Duration::days(30);
        let g = s.generation;
        s.modify(5001, now, |f| f.status = 'C').unwrap();
        assert_eq!(s.by_modified.iter().next_back(), Some(&(now, 5001)));
        assert_eq!(s.by_modified.len(), 3);
        assert!(s.generation > g);
    }
}
