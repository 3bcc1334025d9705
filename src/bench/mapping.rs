//! Scenario `mapping`: how many ERP records per second the mapping engine turns into
//! shipments (pure CPU, no I/O).

use crate::mapping::Mapping;
use crate::model::ErpRecord;

/// Map `records` `iterations` times and return records per second (for `upsync bench`).
pub fn bench_throughput(mapping: &Mapping, records: &[ErpRecord], iterations: usize) -> f64 {
    if records.is_empty() || iterations == 0 {
        return 0.0;
    }
    let start = std::time::Instant::now();
    let mut ok = 0usize;
    for _ in 0..iterations {
        for r in records {
            if std::hint::black_box(mapping.to_shipment(r)).is_ok() {
                ok += 1;
            }
        }
    }
    std::hint::black_box(ok);
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    (records.len() * iterations) as f64 / secs
}
