//! Engine tests against in-memory fakes of a source, UPS and a mapping.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::engine::{Clock, Connector, ConnectorSettings, Pipeline, PipelineSettings};
use super::ledger::{JobState, Ledger};
use super::ports::{Carrier, CarrierError, FoundShipment, Mapper, MappingFailure};
use crate::model::*;
use crate::sources::{Cursor, Page, Source, SourceError};
use crate::store::Store;

mod auto_return;
mod cancel;
mod cheapest;
mod dead_letter;
mod pages;
mod reconcile;
mod split;

// ---------- fake ERP ----------

#[derive(Default)]
struct FakeSource {
    records: Mutex<BTreeMap<String, ErpRecord>>,
    writes: Mutex<Vec<WriteBack>>,
    fail_writes: Mutex<bool>,
}

impl FakeSource {
    fn put(&self, id: &str, version: u32, data: serde_json::Value) {
        self.records.lock().unwrap().insert(
            id.to_string(),
            ErpRecord {
                source: "erp".into(),
                id: id.into(),
                number: format!("N{id}"),
                version: format!("{version:06}"),
                modified: Utc::now(),
                data,
            },
        );
    }
}

#[async_trait]
impl Source for FakeSource {
    fn name(&self) -> &str {
        "erp"
    }
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        // Cursor = highest version seen; overlap on the boundary (>=) like a real source.
        let from = cursor.0.as_str().unwrap_or("").to_string();
        let recs: Vec<ErpRecord> = self
            .records
            .lock()
            .unwrap()
            .values()
            .filter(|r| r.version >= from)
            .cloned()
            .collect();
        let max = recs.iter().map(|r| r.version.clone()).max().unwrap_or(from);
        Ok(Page {
            records: recs,
            cursor: Cursor(serde_json::Value::String(max)),
            more: false,
        })
    }
    async fn fetch(&self, id: &str) -> Result<Option<ErpRecord>, SourceError> {
        Ok(self.records.lock().unwrap().get(id).cloned())
    }
    async fn write_back(&self, plan: &WriteBack) -> Result<(), SourceError> {
        if *self.fail_writes.lock().unwrap() {
            return Err(SourceError::Rejected {
                system: "erp".into(),
                record: plan.record_id.clone(),
                message: "rejected".into(),
                fields: vec![crate::sources::FieldError {
                    field: "TrackingNbr".into(),
                    message: "Tracking number is too long".into(),
                }],
            });
        }
        self.writes.lock().unwrap().push(plan.clone());
        Ok(())
    }
}

// ---------- fake UPS ----------

#[derive(Default)]
struct FakeUps {
    /// shipments: (reference values, id, voided)
    shipments: Mutex<Vec<(Vec<String>, String, bool)>>,
    ship_calls: Mutex<u32>,
    /// Next ship calls: "drop" (commit, then outcome unknown), "429", "auth", "refuse"
    /// (business error), "crash" (the process dies before the request reaches UPS: the
    /// task panics) and "crash-after-commit" (UPS commits, then the process dies). "ok"
    /// ships normally.
    script: Mutex<Vec<&'static str>>,
    /// Lookups by reference that find nothing although the shipment exists (UPS's
    /// reference index lagging a fresh label).
    unindexed_lookups: Mutex<u32>,
    lookups: Mutex<u32>,
}

impl FakeUps {
    fn live_for(&self, reference: &str) -> usize {
        self.shipments
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, v)| r.iter().any(|x| x == reference) && !v)
            .count()
    }

    fn push(&self, references: &[&str], id: &str) {
        self.shipments.lock().unwrap().push((
            references.iter().map(|r| r.to_string()).collect(),
            id.into(),
            false,
        ));
    }
}

#[async_trait]
impl Carrier for FakeUps {
    async fn validate_address(&self, a: &Address) -> Result<AddressCheck, CarrierError> {
        if a.lines.iter().any(|l| l.contains("Nowhere")) {
            return Ok(AddressCheck::NoCandidates);
        }
        Ok(AddressCheck::Valid {
            residential: Some(a.lines.iter().any(|l| l.contains("Apt"))),
            candidate: None,
        })
    }
    async fn shop(&self, _s: &Shipment) -> Result<Vec<RateQuote>, CarrierError> {
        Ok(vec![])
    }
    async fn ship(&self, s: &Shipment) -> Result<ShipResult, CarrierError> {
        *self.ship_calls.lock().unwrap() += 1;
        let next = {
            let mut sc = self.script.lock().unwrap();
            if sc.is_empty() {
                None
            } else {
                Some(sc.remove(0))
            }
        };
        match next {
            Some("429") => return Err(CarrierError::transient("ups_rate_limited", "429")),
            Some("crash") => panic!("simulated crash before Ship reached UPS"),
            Some("refuse") => {
                return Err(CarrierError {
                    class: ErrorClass::Business,
                    code: "ups_international_forms_invalid".into(),
                    message: "refused".into(),
                    outcome_unknown: false,
                })
            }
            Some("auth") => {
                return Err(CarrierError {
                    class: ErrorClass::Auth,
                    code: "ups_auth".into(),
                    message: "bad token".into(),
                    outcome_unknown: false,
                })
            }
            _ => {}
        }
        let n = self.shipments.lock().unwrap().len();
        let id = format!("1ZFAKE{n:012}");
        let refs: Vec<String> = std::iter::once(s.number.clone())
            .chain(s.references.iter().map(|r| r.value.clone()))
            .collect();
        self.shipments
            .lock()
            .unwrap()
            .push((refs, id.clone(), false));
        if next == Some("crash-after-commit") {
            panic!("simulated crash after UPS committed the Ship");
        }
        if next == Some("drop") {
            return Err(CarrierError::outcome_unknown("connection reset after send"));
        }
        Ok(result_for(&id, s))
    }
    async fn find_by_reference(
        &self,
        reference: &str,
        _shipper: &str,
        _from: NaiveDate,
        _to: NaiveDate,
    ) -> Result<Vec<FoundShipment>, CarrierError> {
        *self.lookups.lock().unwrap() += 1;
        {
            let mut hidden = self.unindexed_lookups.lock().unwrap();
            if *hidden > 0 {
                *hidden -= 1;
                return Ok(vec![]);
            }
        }
        Ok(self
            .shipments
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _, _)| r.iter().any(|x| x == reference))
            .map(|(_, id, v)| FoundShipment {
                shipment_id: id.clone(),
                tracking_numbers: vec![id.clone()],
                voided: *v,
            })
            .collect())
    }
    async fn recover(
        &self,
        found: &FoundShipment,
        s: &Shipment,
        _l: &LabelSpec,
    ) -> Result<ShipResult, CarrierError> {
        Ok(result_for(&found.shipment_id, s))
    }
    async fn void(&self, id: &str) -> Result<(), CarrierError> {
        for s in self.shipments.lock().unwrap().iter_mut() {
            if s.1 == id {
                s.2 = true;
            }
        }
        Ok(())
    }
}

fn result_for(id: &str, s: &Shipment) -> ShipResult {
    ShipResult {
        shipment_id: id.to_string(),
        service_code: "03".into(),
        packages: s
            .packages
            .iter()
            .map(|p| PackageResult {
                tracking_number: id.to_string(),
                erp_line_id: p.erp_line_id.clone(),
                label: Some(Label {
                    format: LabelFormat::Zpl,
                    data: b"^XA^XZ".to_vec(),
                }),
            })
            .collect(),
        charges: Charges::default(),
        alerts: vec![],
        documents: vec![],
        paperless: None,
    }
}

// ---------- fake mapping ----------

struct FakeMapper;

impl Mapper for FakeMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        let d = &r.data;
        let weight = d["weight"].as_f64().unwrap_or(0.0);
        if weight <= 0.0 {
            return Err(MappingFailure {
                problems: vec![(
                    "package_weight_missing".into(),
                    "Packages[0].Weight is missing".into(),
                )],
            });
        }
        let addr = Address {
            lines: vec![d["street"].as_str().unwrap_or("1 Main St").to_string()],
            city: d["city"].as_str().unwrap_or("Atlanta").to_string(),
            state: "GA".into(),
            postal_code: "30005".into(),
            country: "US".into(),
            residential: None,
            po_box: false,
        };
        Ok(Shipment {
            source: r.source.clone(),
            record_id: r.id.clone(),
            number: r.number.clone(),
            account_number: "123X56".into(),
            shipper: Party {
                name: "Shipper".into(),
                address: addr.clone(),
                ..Default::default()
            },
            ship_from: None,
            ship_to: Party {
                name: "Customer".into(),
                address: addr,
                ..Default::default()
            },
            service: ServiceSelection::Fixed { code: "03".into() },
            packages: vec![Package {
                erp_line_id: "p1".into(),
                weight: Weight {
                    value: Decimal::try_from(weight).unwrap(),
                    unit: WeightUnit::Lbs,
                },
                dimensions: None,
                packaging: "02".into(),
                description: None,
                declared_value: None,
            }],
            references: vec![Reference {
                code: "TN".into(),
                value: r.number.clone(),
                barcode: false,
            }],
            description: None,
            label: LabelSpec {
                format: LabelFormat::Zpl,
                stock_size: Some((6, 4)),
            },
            notifications: vec![],
            international: None,
            ship_date: None,
            negotiated_rates: true,
            billing: Default::default(),
            tax_information: false,
            return_service: None,
        })
    }
    fn write_back_shipped(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("tracking".into(), res.shipment_id.clone().into())],
            ..Default::default()
        }
    }
    fn write_back_failure(&self, r: &ErpRecord, code: &str, _m: &str) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("error".into(), code.into())],
            ..Default::default()
        }
    }
    fn write_back_tracking(&self, r: &ErpRecord, s: &TrackingSnapshot) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("status".into(), s.milestone.label().into())],
            ..Default::default()
        }
    }
    fn is_cancelled(&self, r: &ErpRecord) -> bool {
        r.data["cancelled"].as_bool().unwrap_or(false)
    }
    fn void_on_cancel(&self) -> bool {
        true
    }
}

// ---------- harness ----------

struct H {
    _dir: tempfile::TempDir,
    src: Arc<FakeSource>,
    ups: Arc<FakeUps>,
    now: Arc<Mutex<DateTime<Utc>>>,
    p: Pipeline,
}

impl H {
    fn new() -> H {
        H::with_mapper(Arc::new(FakeMapper))
    }

    fn with_mapper(mapper: Arc<dyn Mapper>) -> H {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path(), None).unwrap());
        let src = Arc::new(FakeSource::default());
        let ups = Arc::new(FakeUps::default());
        let now = Arc::new(Mutex::new(Utc::now()));
        let n2 = now.clone();
        let clock = Clock::from_fn(move || *n2.lock().unwrap());
        let conn = Arc::new(Connector::new(
            "erp",
            src.clone(),
            mapper,
            ConnectorSettings::default(),
        ));
        let p = Pipeline::new(
            Ledger::new(store),
            ups.clone(),
            vec![conn],
            PipelineSettings::default(),
            clock,
        );
        H {
            _dir: dir,
            src,
            ups,
            now,
            p,
        }
    }

    async fn cycle(&self) -> super::CycleReport {
        let c = self.p.connector("erp").unwrap().clone();
        self.p.run_cycle(&c).await.unwrap()
    }

    fn advance_hours(&self, h: i64) {
        *self.now.lock().unwrap() += chrono::Duration::hours(h);
    }

    /// Cycles every `step` minutes for `minutes` minutes of pipeline time.
    async fn run_minutes(&self, minutes: i64, step: i64) {
        let mut t = 0;
        while t < minutes {
            *self.now.lock().unwrap() += chrono::Duration::minutes(step);
            self.cycle().await;
            t += step;
        }
    }

    fn state(&self, id: &str) -> JobState {
        self.p
            .ledger()
            .current_for("erp", id)
            .unwrap()
            .unwrap()
            .state
    }

    fn ship_calls(&self) -> u32 {
        *self.ups.ship_calls.lock().unwrap()
    }
}

fn ok_record(weight: f64) -> serde_json::Value {
    serde_json::json!({"weight": weight, "street": "1 Main St", "city": "Atlanta"})
}

#[tokio::test]
async fn records_are_shipped_once_and_written_back() {
    let h = H::new();
    for i in 0..3 {
        h.src.put(&format!("r{i}"), 1, ok_record(2.0));
    }
    let r = h.cycle().await;
    assert_eq!(r.jobs_created, 3);
    for i in 0..3 {
        assert_eq!(h.state(&format!("r{i}")), JobState::Tracking);
    }
    assert_eq!(h.ship_calls(), 3);
    assert_eq!(h.src.writes.lock().unwrap().len(), 3);
    // The overlapping next poll re-reads the same versions: nothing new happens.
    let r = h.cycle().await;
    assert_eq!(r.jobs_created, 0);
    assert_eq!(h.ship_calls(), 3);
}
