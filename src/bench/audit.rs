//! The consistency audit, used by `upsync bench` and by the fault suite (tests/fault_*.rs,
//! tests/pipeline/crash.rs): nothing lost, nothing shipped twice, every ERP record
//! consistent with UPS. Compares the ERP simulators' records with the UPS simulator's
//! shipments.

use super::*;

/// Nothing lost, nothing shipped twice, every ERP record consistent with UPS.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Audit {
    /// ERP records that are UPS shipments and were ready (or already carry tracking).
    pub expected: usize,
    /// Of those, records whose every package carries a 1Z number.
    pub written_back: usize,
    /// Expected records without tracking numbers.
    pub lost: usize,
    /// Live UPS shipments that no ERP record points at (a second label for one record).
    pub duplicates: usize,
    /// ERP tracking numbers UPS does not know, or that belong to a voided shipment, or a
    /// record whose packages point at more than one shipment.
    pub inconsistent: usize,
    /// Live UPS shipments.
    pub ups_live: usize,
    /// Voided UPS shipments (reconciliation voids duplicates it finds).
    pub ups_voided: usize,
    /// Some example record numbers of each problem (numbers only, never addresses).
    pub examples: Vec<String>,
}

/// One ERP record as the audit sees it.
pub(super) struct ErpView {
    number: String,
    expected: bool,
    tracking: Vec<Option<String>>,
}

pub(super) fn acumatica_views(sim: &crate::sim::acumatica::SimHandle) -> Vec<ErpView> {
    let v = |x: &Value| -> Option<String> {
        let x = x.get("value").unwrap_or(x);
        x.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    sim.state
        .shipments()
        .iter()
        .map(|s| {
            let ship_via = v(&s["ShipVia"]).unwrap_or_default();
            let status = v(&s["Status"]).unwrap_or_default();
            let hold = s["Hold"]
                .get("value")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let tracking: Vec<Option<String>> = s["Packages"]
                .as_array()
                .map(|p| p.iter().map(|p| v(&p["TrackingNbr"])).collect())
                .unwrap_or_default();
            let has_any = tracking.iter().any(Option::is_some);
            let ups = ship_via.starts_with("UPS");
            ErpView {
                number: v(&s["ShipmentNbr"]).unwrap_or_default(),
                expected: ups && (has_any || (status == "Open" && !hold)),
                tracking,
            }
        })
        .collect()
}

pub(super) fn netsuite_views(sim: &crate::sim::netsuite::SimHandle) -> Vec<ErpView> {
    let mut out = Vec::new();
    let mut id = 5000u64;
    let mut misses = 0;
    while misses < 50 {
        let Some(f) = sim.sim.fulfillment(id) else {
            misses += 1;
            id += 1;
            continue;
        };
        misses = 0;
        id += 1;
        let ups = crate::sim::netsuite::store::ship_method_name(f.shipmethod).starts_with("UPS");
        let tracking: Vec<Option<String>> = f
            .packages
            .iter()
            .map(|p| p.tracking.clone().filter(|t| !t.is_empty()))
            .collect();
        let has_any = tracking.iter().any(Option::is_some);
        out.push(ErpView {
            number: f.tranid.clone(),
            expected: ups && (has_any || matches!(f.status, 'A' | 'B')),
            tracking,
        });
    }
    out
}

/// Document numbers of every ERP record in the simulators (what upsync stamps as reference).
pub(super) fn erp_numbers(w: &World) -> Vec<String> {
    let mut views = Vec::new();
    if let Some(a) = &w.acumatica {
        views.extend(acumatica_views(a));
    }
    if let Some(n) = &w.netsuite {
        views.extend(netsuite_views(n));
    }
    views.into_iter().map(|v| v.number).collect()
}

/// Compare every ERP simulator's records with the UPS simulator's shipments.
pub fn audit(w: &World) -> Audit {
    audit_simulators(&w.ups, w.acumatica.as_ref(), w.netsuite.as_ref())
}

/// [`audit`] of simulators wherever they were started (a bench's simulator child process
/// audits its own, `bench::sims`).
pub fn audit_simulators(
    ups: &crate::sim::ups::SimHandle,
    acumatica: Option<&crate::sim::acumatica::SimHandle>,
    netsuite: Option<&crate::sim::netsuite::SimHandle>,
) -> Audit {
    let mut views = Vec::new();
    if let Some(a) = acumatica {
        views.extend(acumatica_views(a));
    }
    if let Some(n) = netsuite {
        views.extend(netsuite_views(n));
    }
    // tracking number → (shipment id, voided)
    let mut by_tracking: HashMap<String, (String, bool)> = HashMap::new();
    let mut live: HashSet<String> = HashSet::new();
    let mut out = Audit::default();
    {
        let ships = ups.state.read_shipments();
        // Shipments of other shippers (no client of the simulator created them) are not ours.
        for s in ships.list.iter().filter(|s| !s.client_id.is_empty()) {
            let voided = s.voided();
            if voided {
                out.ups_voided += 1;
            } else {
                live.insert(s.id.clone());
            }
            for p in &s.packages {
                by_tracking.insert(p.tracking_number.clone(), (s.id.clone(), voided));
            }
        }
    }
    out.ups_live = live.len();
    let mut claimed: HashSet<String> = HashSet::new();
    for r in &views {
        if !r.expected {
            continue;
        }
        out.expected += 1;
        if r.tracking.is_empty() || r.tracking.iter().any(Option::is_none) {
            out.lost += 1;
            if out.examples.len() < 10 {
                out.examples.push(format!("lost {}", r.number));
            }
            continue;
        }
        out.written_back += 1;
        let mut ids = HashSet::new();
        let mut bad = false;
        for t in r.tracking.iter().flatten() {
            match by_tracking.get(t) {
                Some((id, false)) => {
                    ids.insert(id.clone());
                }
                _ => bad = true,
            }
        }
        if bad || ids.len() != 1 {
            out.inconsistent += 1;
            if out.examples.len() < 10 {
                out.examples.push(format!("inconsistent {}", r.number));
            }
        }
        claimed.extend(ids);
    }
    out.duplicates = live.difference(&claimed).count();
    out
}
