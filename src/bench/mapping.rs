//! Scenario `mapping`: how many ERP records per second the mapping engine turns into
//! shipments (pure CPU, no I/O).

use super::*;
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
pub(super) fn mapping(args: &BenchArgs) -> anyhow::Result<Map<String, Value>> {
    use crate::mapping::Mapping;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("acumatica-shipment.yaml");
    std::fs::write(&path, crate::app::world::ACUMATICA_MAPPING)?;
    let mapping = Mapping::load(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = args.shipments.unwrap_or(1000);
    let records = acumatica_records(n, 42);
    let ok = records
        .iter()
        .filter(|r| mapping.to_shipment(r).is_ok())
        .count();
    let iterations = 20usize;
    let (t0, c0) = (Instant::now(), measure::cpu_time());
    let rate = mapping::bench_throughput(&mapping, &records, iterations);
    let (wall, cpu) = (t0.elapsed(), measure::cpu_time() - c0);
    let mut m = Map::new();
    m.insert("scenario".into(), json!("mapping"));
    m.insert("mapping".into(), json!("mappings/acumatica-shipment.yaml"));
    m.insert("records".into(), json!(records.len()));
    m.insert("records_mapping_ok".into(), json!(ok));
    m.insert("iterations".into(), json!(iterations));
    m.insert("records_per_second".into(), json!(round(rate, 0)));
    m.insert("wall_seconds".into(), json!(round(wall.as_secs_f64(), 3)));
    m.insert(
        "cpu_us_per_record".into(),
        json!(round(
            cpu.as_secs_f64() * 1e6 / (records.len() * iterations) as f64,
            2
        )),
    );
    m.insert("target_records_per_second".into(), json!(50_000));
    m.insert(
        "peak_rss_mb".into(),
        json!(round(measure::peak_rss_mb(), 1)),
    );
    Ok(m)
}
