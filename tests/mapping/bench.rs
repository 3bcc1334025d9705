//! Mapping throughput (not a timed test: ignored by default). Run once in release:
//! `cargo test --release --test mapping bench:: -- --ignored --nocapture`.

use serde_json::Value;
use upsync::bench::mapping::bench_throughput;
use upsync::mapping::Mapping;

fn fixture_records(m: &Mapping, path: &str) -> Vec<upsync::model::ErpRecord> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc: Value = serde_norway::from_str(&text).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| m.record_from_data("bench", c["record"].clone()))
        .collect()
}

#[test]
#[ignore = "benchmark: run explicitly in release"]
fn acumatica_mapping_throughput() {
    for (mapping, fixtures) in [
        (
            "mappings/acumatica-shipment.yaml",
            "mappings/acumatica-shipment.test.yaml",
        ),
        (
            "mappings/netsuite-itemfulfillment.yaml",
            "mappings/netsuite-itemfulfillment.test.yaml",
        ),
    ] {
        let m = Mapping::load(mapping).unwrap();
        let all = fixture_records(&m, fixtures);
        let valid: Vec<_> = all
            .iter()
            .filter(|r| m.to_shipment(r).is_ok())
            .cloned()
            .collect();
        // Warm up, then measure.
        bench_throughput(&m, &valid, 200);
        let valid_rate = bench_throughput(&m, &valid, 20_000);
        let mixed_rate = bench_throughput(&m, &all, 20_000);
        println!(
            "{{\"mapping\":\"{mapping}\",\"valid_records\":{},\"valid_records_per_s\":{valid_rate:.0},\"mixed_records\":{},\"mixed_records_per_s\":{mixed_rate:.0}}}",
            valid.len(),
            all.len()
        );
        assert!(valid_rate > 0.0);
    }
}

/// The bench entry point itself works (tiny, untimed).
#[test]
fn bench_entry_point_counts_records() {
    let m = Mapping::load("mappings/acumatica-shipment.yaml").unwrap();
    let recs = fixture_records(&m, "mappings/acumatica-shipment.test.yaml");
    assert!(bench_throughput(&m, &recs, 2) > 0.0);
    assert_eq!(bench_throughput(&m, &[], 2), 0.0);
}
