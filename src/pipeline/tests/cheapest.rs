//! Engine tests: "cheapest service within N days" through the real UPS client and the UPS
//! simulator.

use super::*;

// ---------- cheapest service within days: the real UPS client against the UPS simulator ----------

/// FakeMapper's record with a fixed lane and `CheapestWithin { max_business_days }`.
struct LaneMapper {
    to: Address,
    max_business_days: u32,
}

impl Mapper for LaneMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        let mut s = FakeMapper.to_shipment(r)?;
        s.shipper.address = Address {
            lines: vec!["2311 York Rd".into()],
            city: "Timonium".into(),
            state: "MD".into(),
            postal_code: "21093".into(),
            country: "US".into(),
            residential: None,
            po_box: false,
        };
        s.ship_to.address = self.to.clone();
        s.service = ServiceSelection::CheapestWithin {
            max_business_days: self.max_business_days,
            allowed: vec![],
            fallback: None,
        };
        Ok(s)
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        FakeMapper.write_back_shipped(r, res)
    }
    fn write_back_failure(&self, r: &ErpRecord, code: &str, m: &str) -> WriteBack {
        FakeMapper.write_back_failure(r, code, m)
    }
    fn write_back_tracking(&self, r: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        FakeMapper.write_back_tracking(r, s)
    }
    fn is_cancelled(&self, r: &ErpRecord) -> bool {
        FakeMapper.is_cancelled(r)
    }
    fn void_on_cancel(&self) -> bool {
        false
    }
}

/// Ship one record from Timonium MD 21093 to `to` with "cheapest within `days` business
/// days", through the real [`crate::ups::UpsClient`] and the UPS simulator; the service
/// the simulator shipped with.
async fn cheapest_within(to: Address, days: u32) -> String {
    let sim = crate::sim::ups::spawn(crate::sim::ups::UpsSimConfig {
        tick_interval_ms: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = crate::ups::UpsClient::new(
        crate::ups::UpsClientConfig::new(&sim.base_url, "123X56"),
        crate::ups::UpsCredentials::new("demo-client", "demo-secret"),
        Arc::new(crate::ups::MemoryTokenStore::new()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let src = Arc::new(FakeSource::default());
    let conn = Arc::new(Connector::new(
        "erp",
        src.clone(),
        Arc::new(LaneMapper {
            to,
            max_business_days: days,
        }),
        ConnectorSettings {
            validate_address: false,
            ..ConnectorSettings::default()
        },
    ));
    let clock = Clock::system();
    let p = Pipeline::new(
        Ledger::new(store),
        Arc::new(crate::app::adapters::UpsCarrier::new(client)),
        vec![conn.clone()],
        PipelineSettings::default(),
        clock,
    );
    src.put("r1", 1, ok_record(5.0));
    p.run_cycle(&conn).await.unwrap();
    let job = p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(job.state, JobState::Tracking, "{:?}", job.last_error);
    let shipped = sim.shipments();
    assert_eq!(shipped.as_array().unwrap().len(), 1, "{shipped}");
    let service = shipped[0]["service"].as_str().unwrap().to_string();
    sim.shutdown();
    service
}

fn us(city: &str, state: &str, zip: &str) -> Address {
    Address {
        lines: vec!["1 Main St".into()],
        city: city.into(),
        state: state.into(),
        postal_code: zip.into(),
        country: "US".into(),
        residential: None,
        po_box: false,
    }
}

/// Guards issue 15 item 3: Ground (cheapest, 1 business day MD→GA in the simulator) wins
/// "cheapest within 2 days" over the air services. UPS gives Ground's days only in
/// `TimeInTransit` (request option `Shoptimeintransit`), never in `GuaranteedDelivery`; the
/// old client asked `Shop?additionalinfo=timeintransit`, saw no days for Ground and shipped
/// 2nd Day Air.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheapest_service_within_days_ships_ground_when_ground_is_fast_enough() {
    let service = cheapest_within(us("Alpharetta", "GA", "30005"), 2).await;
    assert_eq!(service, "03");
}

/// Guards issue 15 item 3: when Ground is too slow (4 business days MD→CA in the
/// simulator), the cheapest air service within 3 days (3 Day Select) wins over the dearer
/// 2nd Day Air and Next Day Air.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cheapest_service_within_days_ships_the_cheapest_air_when_ground_is_too_slow() {
    let service = cheapest_within(us("Beverly Hills", "CA", "90210"), 3).await;
    assert_eq!(service, "12");
}
