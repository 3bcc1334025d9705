//! The UPS simulator's state: registered clients and issued tokens, shipments (with their
//! packages, references, charges and label data), and Track Alert subscriptions.
//!
//! Shipments are kept in creation order with indexes by tracking number and by reference
//! value. Label bytes are not stored: they are re-rendered on demand from the stored facts
//! (Label Recovery), which keeps memory flat under benchmark load.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::label::{LabelFormat, LabelInfo};
use super::track::TrackScenario;
use super::{alert, trackno, ClientSpec, UpsSimConfig};
use crate::common::{Recorder, SimCore};

/// An issued access token.
#[derive(Debug, Clone)]
pub struct Token {
    pub client_id: String,
    pub expires_at: DateTime<Utc>,
}

/// City/state/postal/country of an address (what tracking shows; street lines are not kept).
#[derive(Debug, Clone, Default)]
pub struct Place {
    pub city: String,
    pub state: String,
    pub postal: String,
    pub country: String,
}

impl Place {
    pub fn line(&self) -> String {
        [&self.city, &self.state, &self.postal, &self.country]
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_uppercase())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A reference number as sent (`level` is `shipment` or `package`).
#[derive(Debug, Clone)]
pub struct Reference {
    pub level: &'static str,
    pub code: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub struct Package {
    pub tracking_number: String,
    /// Weight in pounds as a 1-decimal string.
    pub weight_lbs: String,
    pub references: Vec<Reference>,
    pub voided_at: Option<DateTime<Utc>>,
    /// Deterministic ~10 %: an exception (delivery attempt) before delivery (scenario `normal`).
    pub exception: bool,
    /// The tracking scenario in force (from [`ScenarioTable`]; kept current by [`Shipments`]).
    pub scenario: TrackScenario,
    pub published: rust_decimal::Decimal,
}

#[derive(Debug, Clone)]
pub struct Shipment {
    pub id: String,
    pub client_id: String,
    pub shipper_number: String,
    pub service: String,
    pub created_at: DateTime<Utc>,
    pub origin: Place,
    pub destination: Place,
    pub shipper_name: String,
    pub ship_to_name: String,
    pub residential: bool,
    pub references: Vec<Reference>,
    pub packages: Vec<Package>,
    pub label_format: LabelFormat,
    pub currency: String,
    pub total: String,
    pub negotiated_total: Option<String>,
    pub customer_context: String,
}

impl Shipment {
    pub fn voided(&self) -> bool {
        self.packages.iter().all(|p| p.voided_at.is_some())
    }

    /// Label facts for package `i`.
    pub fn label_info(&self, i: usize) -> LabelInfo {
        let p = &self.packages[i];
        LabelInfo {
            tracking_number: p.tracking_number.clone(),
            service_name: super::rate::service_name(&self.service).to_string(),
            ship_to_name: self.ship_to_name.clone(),
            ship_to_place: self.destination.line(),
            ship_from_place: self.origin.line(),
            weight: p.weight_lbs.clone(),
            reference: p
                .references
                .first()
                .or(self.references.first())
                .map(|r| r.value.clone()),
            index: i + 1,
            count: self.packages.len(),
        }
    }
}

/// What a tracking scenario is registered for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ScenarioKey {
    /// Any shipment- or package-level reference value: every package of every shipment
    /// carrying it (UPS's reference search finds the same shipments).
    Reference(String),
    /// One package (1Z), upper-cased.
    TrackingNumber(String),
}

impl ScenarioKey {
    fn normalized(self) -> ScenarioKey {
        match self {
            ScenarioKey::Reference(r) => ScenarioKey::Reference(r.trim().to_string()),
            ScenarioKey::TrackingNumber(n) => {
                ScenarioKey::TrackingNumber(n.trim().to_ascii_uppercase())
            }
        }
    }
}

/// Registered tracking scenarios (issue 18). A package's scenario: its tracking number's
/// entry, else the most recently registered entry of any reference value of its shipment,
/// else `normal`. Registration may come before or after the shipment.
#[derive(Debug, Default)]
pub struct ScenarioTable {
    /// key → (registration order, scenario)
    entries: HashMap<ScenarioKey, (u64, TrackScenario)>,
    seq: u64,
}

impl ScenarioTable {
    /// The scenario of package `pi` of `s`.
    pub fn resolve(&self, s: &Shipment, pi: usize) -> TrackScenario {
        let tn = ScenarioKey::TrackingNumber(s.packages[pi].tracking_number.clone());
        if let Some((_, sc)) = self.entries.get(&tn) {
            return *sc;
        }
        s.references
            .iter()
            .chain(s.packages.iter().flat_map(|p| p.references.iter()))
            .filter_map(|r| self.entries.get(&ScenarioKey::Reference(r.value.clone())))
            .max_by_key(|(seq, _)| *seq)
            .map(|(_, sc)| *sc)
            .unwrap_or_default()
    }

    /// Every entry in registration order.
    pub fn list(&self) -> Vec<(ScenarioKey, TrackScenario)> {
        let mut v: Vec<(&ScenarioKey, &(u64, TrackScenario))> = self.entries.iter().collect();
        v.sort_by_key(|(_, (seq, _))| *seq);
        v.into_iter().map(|(k, (_, sc))| (k.clone(), *sc)).collect()
    }
}

#[derive(Debug, Default)]
pub struct Shipments {
    pub list: Vec<Shipment>,
    by_id: HashMap<String, usize>,
    by_tracking: HashMap<String, (usize, usize)>,
    by_reference: HashMap<String, Vec<usize>>,
    scenarios: ScenarioTable,
}

impl Shipments {
    pub fn insert(&mut self, mut s: Shipment) {
        for pi in 0..s.packages.len() {
            s.packages[pi].scenario = self.scenarios.resolve(&s, pi);
        }
        let idx = self.list.len();
        self.by_id.insert(s.id.clone(), idx);
        for (pi, p) in s.packages.iter().enumerate() {
            self.by_tracking
                .insert(p.tracking_number.clone(), (idx, pi));
        }
        let mut refs: Vec<&str> = s.references.iter().map(|r| r.value.as_str()).collect();
        for p in &s.packages {
            refs.extend(p.references.iter().map(|r| r.value.as_str()));
        }
        refs.sort_unstable();
        refs.dedup();
        for r in refs {
            self.by_reference
                .entry(r.to_string())
                .or_default()
                .push(idx);
        }
        self.list.push(s);
    }

    /// Register `scenario` for `key` and apply it to the shipments that exist already (later
    /// shipments get it on [`Shipments::insert`]).
    pub fn set_scenario(&mut self, key: ScenarioKey, scenario: TrackScenario) {
        let key = key.normalized();
        self.scenarios.seq += 1;
        let seq = self.scenarios.seq;
        let affected: Vec<usize> = match &key {
            ScenarioKey::TrackingNumber(n) => self
                .by_tracking
                .get(n)
                .map(|(s, _)| *s)
                .into_iter()
                .collect(),
            ScenarioKey::Reference(r) => self.by_reference.get(r).cloned().unwrap_or_default(),
        };
        self.scenarios.entries.insert(key, (seq, scenario));
        for idx in affected {
            let resolved: Vec<TrackScenario> = (0..self.list[idx].packages.len())
                .map(|pi| self.scenarios.resolve(&self.list[idx], pi))
                .collect();
            for (p, sc) in self.list[idx].packages.iter_mut().zip(resolved) {
                p.scenario = sc;
            }
        }
    }

    /// The registered scenarios, in registration order.
    pub fn scenarios(&self) -> Vec<(ScenarioKey, TrackScenario)> {
        self.scenarios.list()
    }

    pub fn by_id(&self, id: &str) -> Option<&Shipment> {
        self.by_id.get(id).map(|i| &self.list[*i])
    }

    pub fn by_id_mut(&mut self, id: &str) -> Option<&mut Shipment> {
        self.by_id.get(id).map(|i| &mut self.list[*i])
    }

    /// The shipment and package index holding `tracking_number`.
    pub fn by_tracking(&self, n: &str) -> Option<(&Shipment, usize)> {
        self.by_tracking.get(n).map(|(s, p)| (&self.list[*s], *p))
    }

    /// Shipments carrying `value` as a shipment- or package-level reference, oldest first.
    pub fn by_reference(&self, value: &str) -> Vec<&Shipment> {
        self.by_reference
            .get(value)
            .map(|v| v.iter().map(|i| &self.list[*i]).collect())
            .unwrap_or_default()
    }

    /// Like [`Shipments::by_reference`], but only shipments UPS's reference search already
    /// finds at `now`: a fresh label is found by its tracking number at once, by its
    /// reference only after `delay` (UPS answers `TW0001` "Tracking Information Not Found"
    /// for a reference of a label created moments ago; the reference index lags the label
    /// — issue 15 item 1, UPS-REFERENCE.md §6 "Not found"). `delay` 0 = found at once.
    pub fn by_reference_indexed(
        &self,
        value: &str,
        now: DateTime<Utc>,
        delay: chrono::Duration,
    ) -> Vec<&Shipment> {
        self.by_reference(value)
            .into_iter()
            .filter(|s| s.created_at + delay <= now)
            .collect()
    }
}

/// Token bucket per client for `--rate-limit`.
#[derive(Debug)]
pub struct Bucket {
    pub tokens: f64,
    pub last: tokio::time::Instant,
}

/// All simulator state.
pub struct UpsState {
    pub cfg: UpsSimConfig,
    pub core: Arc<SimCore>,
    pub clients: HashMap<String, ClientSpec>,
    pub tokens: Mutex<HashMap<String, Token>>,
    /// (client id, UTC day) → tokens issued.
    pub token_days: Mutex<HashMap<(String, chrono::NaiveDate), u32>>,
    pub buckets: Mutex<HashMap<String, Bucket>>,
    pub shipments: RwLock<Shipments>,
    pub numbers: trackno::Generator,
    pub subscriptions: Mutex<HashMap<String, alert::Subscription>>,
    pub tick_lock: tokio::sync::Mutex<()>,
    pub http: reqwest::Client,
    pub webhook_bearer: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    /// Quantum View subscriptions and read marks (`quantum.rs`).
    pub quantum: super::quantum::QvState,
    /// Forms History and pushed documents (`paperless.rs`).
    pub paperless: super::paperless::PaperlessState,
    /// Authorization-code grants, codes and knobs (`authcode.rs`).
    pub authcode: super::authcode::AuthCodeState,
    /// On-call pickups (`pickup.rs`).
    pub pickups: super::pickup::Pickups,
    /// `Shipment.ShipmentDate` per shipment id, when the Ship request gave one.
    pub ship_dates: Mutex<HashMap<String, chrono::NaiveDate>>,
    recorder: Option<Arc<Recorder>>,
}

impl std::fmt::Debug for UpsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpsState")
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl UpsState {
    pub fn new(cfg: UpsSimConfig, core: Arc<SimCore>) -> anyhow::Result<Arc<UpsState>> {
        let specs = if cfg.clients.is_empty() {
            vec![ClientSpec::demo()]
        } else {
            cfg.clients.clone()
        };
        let clients = specs
            .into_iter()
            .map(|c| (c.client_id.clone(), c))
            .collect();
        let recorder = match &cfg.record_dir {
            Some(d) => Some(Arc::new(Recorder::new(d).map_err(|e| {
                anyhow::anyhow!("--record-dir {}: cannot create it: {e}", d.display())
            })?)),
            None => None,
        };
        let start = cfg
            .serial_start
            .unwrap_or_else(|| rand::random::<u64>() % 9_000_000);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(5))
            .no_proxy()
            .build()?;
        Ok(Arc::new(UpsState {
            quantum: super::quantum::QvState::new(core.clock.now()),
            pickups: Default::default(),
            ship_dates: Default::default(),
            cfg,
            core,
            clients,
            tokens: Mutex::new(HashMap::new()),
            token_days: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            shipments: RwLock::new(Shipments::default()),
            numbers: trackno::Generator::new(start),
            subscriptions: Mutex::new(HashMap::new()),
            tick_lock: tokio::sync::Mutex::new(()),
            http,
            webhook_bearer: tokio::sync::Mutex::new(None),
            paperless: Default::default(),
            authcode: Default::default(),
            recorder,
        }))
    }

    pub fn recorder(&self) -> Option<Arc<Recorder>> {
        self.recorder.clone()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.core.clock.now()
    }

    /// Whether an account is enabled for paperless (`UpsSimConfig::paperless_accounts`).
    pub fn paperless_enabled(&self, account: &str) -> bool {
        self.cfg
            .paperless_accounts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(account))
    }

    pub fn negotiated_eligible(&self, account: &str) -> bool {
        self.cfg
            .negotiated_accounts
            .iter()
            .any(|a| a.eq_ignore_ascii_case(account))
    }

    pub fn read_shipments(&self) -> std::sync::RwLockReadGuard<'_, Shipments> {
        self.shipments.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write_shipments(&self) -> std::sync::RwLockWriteGuard<'_, Shipments> {
        self.shipments.write().unwrap_or_else(|e| e.into_inner())
    }

    /// `/_sim/ups/shipments`: every shipment, oldest first.
    /// How long after its creation a shipment becomes findable by reference
    /// (`--reference-index-delay-minutes`).
    pub fn reference_index_delay(&self) -> chrono::Duration {
        chrono::Duration::minutes(self.cfg.reference_index_delay_minutes.max(0))
    }

    /// A shipment of ANOTHER shipper (not a client of this simulator) that carries the given
    /// reference values, created now: what a real UPS reference search also sees, since
    /// reference values are free text that other shippers reuse (an order number like
    /// `IF1001` is common). Without `shipperNum` such a search answers `151085` "Multiple
    /// shipper numbers found" (issue 15 item 1). Returns its 1Z.
    pub fn add_foreign_shipment(&self, shipper_number: &str, references: &[String]) -> String {
        let tn = self.numbers.next(shipper_number, "03");
        let now = self.now();
        let place = |city: &str, state: &str, postal: &str| Place {
            city: city.into(),
            state: state.into(),
            postal: postal.into(),
            country: "US".into(),
        };
        let refs: Vec<Reference> = references
            .iter()
            .map(|v| Reference {
                level: "package",
                code: "PO".into(),
                value: v.clone(),
            })
            .collect();
        let shipment = Shipment {
            id: tn.clone(),
            client_id: String::new(),
            shipper_number: shipper_number.to_ascii_uppercase(),
            service: "03".into(),
            created_at: now,
            origin: place("Louisville", "KY", "40213"),
            destination: place("Atlanta", "GA", "30301"),
            shipper_name: "OTHER SHIPPER".into(),
            ship_to_name: "SOMEONE ELSE".into(),
            residential: false,
            references: vec![],
            packages: vec![Package {
                tracking_number: tn.clone(),
                weight_lbs: "2.0".into(),
                references: refs,
                voided_at: None,
                exception: false,
                scenario: TrackScenario::default(),
                published: rust_decimal::Decimal::new(1000, 2),
            }],
            label_format: LabelFormat::Gif,
            currency: "USD".into(),
            total: "10.00".into(),
            negotiated_total: None,
            customer_context: String::new(),
        };
        self.write_shipments().insert(shipment);
        self.core.stats.incr("foreign.created");
        tn
    }

    /// Register a tracking scenario (see [`ScenarioTable`]).
    pub fn set_track_scenario(&self, key: ScenarioKey, scenario: TrackScenario) {
        self.write_shipments().set_scenario(key, scenario);
        self.core.stats.incr("track_scenario.set");
    }

    /// `GET /_sim/ups/track-scenarios`: `[{"reference"|"tracking_number": …, "scenario": …}]`
    /// in registration order.
    pub fn dump_track_scenarios(&self) -> Value {
        Value::Array(
            self.read_shipments()
                .scenarios()
                .into_iter()
                .map(|(k, sc)| match k {
                    ScenarioKey::Reference(r) => json!({"reference": r, "scenario": sc.as_str()}),
                    ScenarioKey::TrackingNumber(n) => {
                        json!({"tracking_number": n, "scenario": sc.as_str()})
                    }
                })
                .collect(),
        )
    }

    pub fn dump_shipments(&self) -> Value {
        let s = self.read_shipments();
        let now = self.now();
        let ship_dates = self
            .ship_dates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Value::Array(
            s.list
                .iter()
                .map(|sh| {
                    let mut values: Vec<&str> =
                        sh.references.iter().map(|r| r.value.as_str()).collect();
                    for p in &sh.packages {
                        values.extend(p.references.iter().map(|r| r.value.as_str()));
                    }
                    let mut seen = std::collections::HashSet::new();
                    values.retain(|v| seen.insert(*v));
                    let refs = |v: &[Reference]| -> Vec<Value> {
                        v.iter()
                            .map(|r| json!({"level": r.level, "code": r.code, "value": r.value}))
                            .collect()
                    };
                    json!({
                        "id": sh.id,
                        "client_id": sh.client_id,
                        "shipper_number": sh.shipper_number,
                        "service": sh.service,
                        "created_at": sh.created_at.to_rfc3339(),
                        "ship_date": ship_dates.get(&sh.id).map(|d| d.format("%Y-%m-%d").to_string()),
                        "voided": sh.voided(),
                        "references": values,
                        "reference_numbers": refs(&sh.references),
                        "customer_context": sh.customer_context,
                        "label_format": sh.label_format.code(),
                        "charges": {"currency": sh.currency, "total": sh.total, "negotiated_total": sh.negotiated_total},
                        "packages": sh.packages.iter().map(|p| json!({
                            "tracking_number": p.tracking_number,
                            "voided": p.voided_at.is_some(),
                            "weight_lbs": p.weight_lbs,
                            "references": refs(&p.references),
                            "status": super::track::current_type(sh, p, now),
                            "scenario": p.scenario.as_str(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    }
}
