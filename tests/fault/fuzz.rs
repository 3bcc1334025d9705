//! Fault suite: bounded randomized-input tests (the CI stand-in for the cargo-fuzz targets in
//! `fuzz/`, which need a nightly compiler this machine does not have) and property tests.
//!
//! * SuiteQL subset parser (NetSuite simulator): token soup and byte mutations of the
//!   bundled profile's queries — never panics, errors carry a position inside the text.
//! * Acumatica codec: random JSON and mutated seeded entities — decode/to_record never panic;
//!   decoding a seeded entity removes every `{"value": …}` wrapper.
//! * UPS response parsers (ship, rate, XAV, void, track, track by reference, label recovery,
//!   subscription, token): random and mutated JSON — never panic. (The Track Alert webhook
//!   body parser belongs to `tracking`, not on this branch yet; its fuzz target will call it.)
//! * One-or-many decoding: bare item, array, null and missing all decode to the same list.
//! * Mapping engine: mutated seeded records — never panics, is deterministic, and every
//!   shipment it accepts respects UPS limits (35-character names and lines, 1..=200
//!   packages with positive weight, the record number as first reference).
//!
//! Each test is bounded by an iteration count and a wall-clock budget; seeds are fixed so a
//! failure reproduces (`UPSYNC_FUZZ_SEED` picks another seed, `UPSYNC_FUZZ_SECONDS` runs longer).
//!
//! Not run on both backends (issue 22): nothing here opens a store or builds a world.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

fn seed() -> u64 {
    std::env::var("UPSYNC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64)
}

fn budget() -> Duration {
    Duration::from_secs(
        std::env::var("UPSYNC_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(4),
    )
}

/// Run `f` with a fresh RNG until `iterations` ran or the budget is spent; returns iterations.
fn bounded(iterations: usize, mut f: impl FnMut(&mut StdRng, usize)) -> usize {
    let mut rng = StdRng::seed_from_u64(seed());
    let start = Instant::now();
    let long = std::env::var("UPSYNC_FUZZ_SECONDS").is_ok();
    let mut i = 0;
    while (long || i < iterations) && start.elapsed() < budget() {
        f(&mut rng, i);
        i += 1;
    }
    assert!(i > 0);
    i
}

fn random_string(rng: &mut StdRng) -> String {
    const ALPHABET: &[&str] = &[
        "a", "Z", "0", "9", " ", "'", "\"", "\\", "(", ")", ",", ".", "*", "=", "<", ">", "-", "_",
        "ü", "Ö", "ë", "\u{0}", "\n", "\t", "%", "{", "}", "[", "]", ":", "1Z", "null",
    ];
    let n = match rng.gen_range(0..10) {
        0 => 0,
        1 => rng.gen_range(36..300),
        _ => rng.gen_range(1..20),
    };
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect()
}

fn random_json(rng: &mut StdRng, depth: usize) -> Value {
    let pick = if depth > 4 {
        rng.gen_range(0..5)
    } else {
        rng.gen_range(0..8)
    };
    match pick {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen_range(-1e9..1e9)),
        3 => json!(rng.gen::<i64>()),
        4 => json!(random_string(rng)),
        5 | 6 => {
            let n = rng.gen_range(0..5);
            let keys = [
                "value",
                "Response",
                "ShipmentResponse",
                "ShipmentResults",
                "PackageResults",
                "TrackingNumber",
                "ShippingLabel",
                "GraphicImage",
                "trackResponse",
                "shipment",
                "package",
                "activity",
                "status",
                "Code",
                "Description",
                "XAVResponse",
                "Candidate",
                "RateResponse",
                "RatedShipment",
                "access_token",
                "expires_in",
                "id",
                "ShipmentNbr",
                "LastModifiedDateTime",
                "custom",
                "Packages",
                "type",
            ];
            Value::Object(
                (0..n)
                    .map(|_| {
                        (
                            keys[rng.gen_range(0..keys.len())].to_string(),
                            random_json(rng, depth + 1),
                        )
                    })
                    .collect(),
            )
        }
        _ => {
            let n = rng.gen_range(0..4);
            Value::Array((0..n).map(|_| random_json(rng, depth + 1)).collect())
        }
    }
}

/// Replace, drop or retype one random node of `v`.
fn mutate(rng: &mut StdRng, v: &mut Value) {
    let deeper = rng.gen_bool(0.7);
    match v {
        Value::Object(m) if !m.is_empty() && deeper => {
            let k = m.keys().nth(rng.gen_range(0..m.len())).cloned().unwrap();
            if rng.gen_bool(0.15) {
                m.remove(&k);
            } else {
                mutate(rng, m.get_mut(&k).unwrap());
            }
        }
        Value::Array(a) if !a.is_empty() && deeper => {
            let i = rng.gen_range(0..a.len());
            if rng.gen_bool(0.15) {
                a.remove(i);
            } else {
                mutate(rng, &mut a[i]);
            }
        }
        _ => *v = random_json(rng, 3),
    }
}

// ------------------------------------------------------------------------------------------

const SUITEQL_WORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "JOIN",
    "LEFT",
    "ON",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "AS",
    "TO_CHAR",
    "TO_DATE",
    "BUILTIN.DF",
    "BUILTIN.CF",
    "COUNT",
    "(",
    ")",
    ",",
    "*",
    "=",
    "<>",
    "<",
    ">=",
    "'x'",
    "'ItemShip:B'",
    "''",
    "'",
    "t",
    "t.id",
    "t.lastmodifieddate",
    "transaction",
    "transactionline",
    "ml",
    "ml.mainline",
    "'YYYY-MM-DD HH24:MI:SS'",
    "1",
    "0",
    "-1",
    "99999999999999999999",
    "FETCH",
    "FIRST",
    "ROWS",
    "ONLY",
    "BETWEEN",
    "LIKE",
    "'%a%'",
    ".",
    ";",
    "--",
    "/*",
    "*/",
    "\"q\"",
];

#[test]
fn suiteql_parser_survives_token_soup_and_mutations() {
    use upsync::sim::netsuite::suiteql;
    let profile = upsync::app::world::NETSUITE_PROFILE;
    // The bundled queries parse (the simulator serves them), so mutations start from valid text.
    let base: Vec<String> = profile
        .split("_query: |")
        .skip(1)
        .map(|chunk| {
            chunk
                .lines()
                .skip(1)
                .take_while(|l| l.starts_with("  ") || l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .filter(|q| !q.trim().is_empty())
        .collect();
    assert!(!base.is_empty(), "no queries found in the NetSuite profile");
    let mut parsed_ok = 0;
    let n = bounded(30_000, |rng, i| {
        let text = if i % 2 == 0 {
            let n = rng.gen_range(0..40);
            (0..n)
                .map(|_| SUITEQL_WORDS[rng.gen_range(0..SUITEQL_WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let mut b: Vec<char> = base[rng.gen_range(0..base.len())].chars().collect();
            for _ in 0..rng.gen_range(1..6) {
                if b.is_empty() {
                    break;
                }
                let at = rng.gen_range(0..b.len());
                match rng.gen_range(0..3) {
                    0 => {
                        b.remove(at);
                    }
                    1 => b.insert(
                        at,
                        ['(', ')', '\'', ',', ' ', 'x', '.', '*'][rng.gen_range(0..8)],
                    ),
                    _ => {
                        let end = (at + rng.gen_range(1..20)).min(b.len());
                        b.drain(at..end);
                    }
                }
            }
            b.into_iter().collect()
        };
        if suiteql::parse(&text).is_ok() {
            parsed_ok += 1;
        }
    });
    eprintln!("suiteql: {n} inputs, {parsed_ok} parsed");
}

#[test]
fn acumatica_codec_survives_random_and_mutated_entities() {
    use upsync::sources::acumatica::codec;
    let seeds = upsync::sim::acumatica::seed::generate(20, 7, 2);
    // Property on valid input: decoding removes every `{"value": …}` wrapper.
    fn no_wrapper(v: &Value) -> bool {
        match v {
            Value::Object(m) => {
                !(m.len() == 1 && m.contains_key("value")) && m.values().all(no_wrapper)
            }
            Value::Array(a) => a.iter().all(no_wrapper),
            _ => true,
        }
    }
    for s in &seeds {
        assert!(no_wrapper(&codec::decode(s)), "wrapper left in {s}");
    }
    let n = bounded(20_000, |rng, i| {
        let v = if i % 3 == 0 {
            random_json(rng, 0)
        } else {
            let mut s = seeds[rng.gen_range(0..seeds.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut s);
            }
            s
        };
        let _ = codec::decode(&v);
        let _ = codec::to_record("acumatica", &v);
    });
    eprintln!("acumatica codec: {n} inputs");
}

#[test]
fn ups_response_parsers_survive_random_and_mutated_json() {
    use upsync::model::LabelFormat;
    use upsync::ups::parse;
    let records = upsync::bench::acumatica_records(10, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.yaml");
    std::fs::write(&path, upsync::app::world::ACUMATICA_MAPPING).unwrap();
    let mapping = upsync::mapping::Mapping::load(&path).unwrap();
    let shipment = records
        .iter()
        .find_map(|r| mapping.to_shipment(r).ok())
        .expect("a seeded record maps");
    let samples = [
        json!({"ShipmentResponse": {"Response": {"ResponseStatus": {"Code": "1"}},
            "ShipmentResults": {"ShipmentIdentificationNumber": "1Z123X560363553250",
            "PackageResults": {"TrackingNumber": "1Z123X560363553250",
            "ShippingLabel": {"ImageFormat": {"Code": "ZPL"}, "GraphicImage": "XlhB"}}}}}),
        json!({"trackResponse": {"shipment": [{"package": [{"trackingNumber": "1Z123X560363553250",
            "activity": [{"status": {"type": "D", "code": "KB"}, "date": "20261121", "time": "101500"}]}]}]}}),
        json!({"XAVResponse": {"Response": {"ResponseStatus": {"Code": "1"}}, "ValidAddressIndicator": "",
            "Candidate": {"AddressClassification": {"Code": "1"}, "AddressKeyFormat": {"AddressLine": "1 A St"}}}}),
        json!({"RateResponse": {"RatedShipment": {"Service": {"Code": "03"},
            "TotalCharges": {"CurrencyCode": "USD", "MonetaryValue": "12.50"}}}}),
        json!({"access_token": "x", "expires_in": "14399", "token_type": "Bearer"}),
    ];
    let n = bounded(20_000, |rng, i| {
        let v = if i % 2 == 0 {
            random_json(rng, 0)
        } else {
            let mut s = samples[rng.gen_range(0..samples.len())].clone();
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut s);
            }
            s
        };
        let _ = parse::ship_response(&v, &shipment, "03");
        let _ = parse::rate_response(&v);
        let _ = parse::xav_response(&v);
        let _ = parse::void_response(&v);
        let _ = parse::track_response(&v, "1Z123X560363553250");
        let _ = parse::track_reference_response(&v);
        let _ = parse::label_recovery_response(&v, LabelFormat::Zpl);
        let _ = parse::subscription_response(&v);
        let _ = parse::token_response(&v);
        let _ = parse::faults(&v);
    });
    eprintln!("ups parsers: {n} inputs");
}

#[test]
fn one_or_many_decodes_bare_items_arrays_and_null_alike() {
    #[derive(serde::Deserialize, Debug)]
    struct Holder {
        #[serde(default, deserialize_with = "upsync::ups::wire::one_or_many")]
        items: Vec<Value>,
    }
    let n = bounded(20_000, |rng, _| {
        let len = rng.gen_range(0..5);
        // Items that are themselves not arrays (a bare array would be the list itself).
        let items: Vec<Value> = (0..len)
            .map(|_| loop {
                let v = random_json(rng, 2);
                if !v.is_array() && !v.is_null() {
                    break v;
                }
            })
            .collect();
        let as_array: Holder = serde_json::from_value(json!({ "items": items })).unwrap();
        assert_eq!(as_array.items, items);
        if len == 1 {
            let bare: Holder = serde_json::from_value(json!({ "items": items[0] })).unwrap();
            assert_eq!(bare.items, items, "a bare item decodes as a one-item list");
        }
        if len == 0 {
            let null: Holder = serde_json::from_value(json!({ "items": null })).unwrap();
            assert!(null.items.is_empty());
            let missing: Holder = serde_json::from_value(json!({})).unwrap();
            assert!(missing.items.is_empty());
        }
    });
    eprintln!("one_or_many: {n} lists");
}

#[test]
fn mapping_engine_properties_hold_on_mutated_records() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("acumatica-shipment.yaml");
    std::fs::write(&path, upsync::app::world::ACUMATICA_MAPPING).unwrap();
    let mapping = upsync::mapping::Mapping::load(&path).unwrap();
    let records = upsync::bench::acumatica_records(60, 11);
    assert!(records.len() > 40);
    let (mut ok, mut refused) = (0, 0);
    let n = bounded(8_000, |rng, i| {
        let mut r = records[i % records.len()].clone();
        if i >= records.len() {
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut r.data);
            }
        }
        let first = mapping.to_shipment(&r);
        let again = mapping.to_shipment(&r);
        assert_eq!(
            serde_json::to_value(first.as_ref().ok()).unwrap(),
            serde_json::to_value(again.as_ref().ok()).unwrap(),
            "mapping is not deterministic"
        );
        match first {
            Ok(s) => {
                ok += 1;
                for p in [&s.shipper, &s.ship_to] {
                    assert!(p.name.chars().count() <= 35, "name over 35: {}", p.name);
                    assert!(!p.address.lines.is_empty() && p.address.lines.len() <= 3);
                    for l in &p.address.lines {
                        assert!(l.chars().count() <= 35, "address line over 35 chars");
                    }
                    if let Some(a) = &p.attention {
                        assert!(a.chars().count() <= 35);
                    }
                }
                assert!(!s.packages.is_empty() && s.packages.len() <= 200);
                for p in &s.packages {
                    assert!(
                        p.weight.value > rust_decimal::Decimal::ZERO,
                        "accepted a package without weight"
                    );
                }
                assert_eq!(s.account_number.len(), 6, "{}", s.account_number);
                assert_eq!(
                    s.references.first().map(|r| r.value.as_str()),
                    Some(r.number.as_str()),
                    "the record number is the first reference"
                );
                if s.ship_to.address.country != s.shipper.address.country {
                    assert!(
                        s.description.as_ref().is_some_and(|d| !d.trim().is_empty()),
                        "cross-border shipment without description of goods"
                    );
                }
            }
            Err(errs) => {
                refused += 1;
                assert!(!errs.0.is_empty());
                for e in &errs.0 {
                    assert!(!e.code.is_empty());
                    assert!(e.line > 0, "error without mapping line: {e:?}");
                }
            }
        }
    });
    eprintln!("mapping: {n} records, {ok} mapped, {refused} refused");
    assert!(ok > 0 && refused > 0, "mutations should both pass and fail");
}
