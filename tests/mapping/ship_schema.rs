//! Issue 6, Must-show 2: every UPS Ship request the bundled mappings produce from the
//! simulators' seeded records validates against UPS's own Ship schema (the vendored
//! `Shipping.yaml`, `SHIPRequestWrapper`); the records are read through the real connectors.

use upsync::app::world::{World, WorldOptions};
use upsync::mapping::Mapping;
use upsync::sim::ups::schema::{validate, BodySchema};
use upsync::sources::{Cursor, Source};

async fn all_records(source: &dyn Source) -> Vec<upsync::model::ErpRecord> {
    let mut out = Vec::new();
    let mut cursor = Cursor::default();
    for _ in 0..100 {
        let page = source.poll(&cursor).await.expect("poll");
        out.extend(page.records);
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    source.close().await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_record_becomes_a_schema_valid_ship_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = WorldOptions::new(dir.path());
    o.acumatica_shipments = 150;
    o.netsuite_fulfillments = 150;
    let w = World::start(o).await.unwrap();
    let cfg = w.config().unwrap();
    let store = w.open_store().unwrap();
    let mut checked = 0;
    let mut seen_lanes = std::collections::BTreeSet::new();
    for c in &cfg.connectors {
        let source = upsync::app::wiring::build_source(c, &store).unwrap();
        let mapping = Mapping::load(&c.mapping).unwrap();
        let records = all_records(source.as_ref()).await;
        assert!(
            records.len() > 100,
            "{}: only {} records",
            c.name,
            records.len()
        );
        let mut failures = Vec::new();
        for r in &records {
            let shipment = match mapping.to_shipment(r) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(format!("{} {}: mapping refused: {e}", c.name, r.number));
                    continue;
                }
            };
            seen_lanes.insert(format!(
                "{}→{}",
                shipment.shipper.address.country, shipment.ship_to.address.country
            ));
            // "Cheapest within N days" is resolved by Shop before Ship; stand in its fallback.
            let service_code = match &shipment.service {
                upsync::model::ServiceSelection::Fixed { .. } => None,
                upsync::model::ServiceSelection::CheapestWithin { fallback, .. } => {
                    Some(fallback.clone().unwrap_or_else(|| "03".into()))
                }
            };
            let mut body = upsync::ups::build::ship_request(
                &shipment,
                &upsync::ups::ShipOptions {
                    service_code,
                    ..Default::default()
                },
            );
            if let Err(violations) = validate(BodySchema::Ship, &mut body, false) {
                failures.push(format!(
                    "{} {}: {}",
                    c.name,
                    r.number,
                    violations
                        .iter()
                        .map(|v| format!("{}: {}", v.path, v.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
            checked += 1;
        }
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    assert!(checked > 200);
    // The seeds cover domestic and cross-border lanes.
    assert!(seen_lanes.contains("US→US"), "{seen_lanes:?}");
    assert!(
        seen_lanes
            .iter()
            .any(|l| !l.ends_with("US") && !l.ends_with("PR")),
        "{seen_lanes:?}"
    );
}
