//! Returns in the loopback world and the demo (issue 20, docs/returns.md): the return
//! connectors (a second Acumatica and a second NetSuite connector entry, each with its
//! return profile and mapping), the return records the simulators seed for them, the
//! outbound shipments flagged for an automatic return, and the demo table's `kind` and
//! `return_tracking_numbers` columns.
//!
//! Assembly only: the behaviour lives in `mapping/returns.rs` (sections, party swap),
//! `mapping/rules/returns.rs` (UPS's return rules), `pipeline/steps/auto_return.rs` (the
//! second job) and the simulators (`sim/src/*/returns.rs`, `sim/src/ups/ship/returns.rs`).

use std::path::Path;

use crate::pipeline::{Job, Ledger};
use crate::sim;

/// Bundled return profiles and mappings (the files in `connectors/` and `mappings/`).
pub const ACUMATICA_RETURN_PROFILE: &str = include_str!("../../connectors/acumatica-return.yaml");
pub const ACUMATICA_RETURN_MAPPING: &str = include_str!("../../mappings/acumatica-return.yaml");
pub const NETSUITE_RETURN_PROFILE: &str =
    include_str!("../../connectors/netsuite-returnauthorization.yaml");
pub const NETSUITE_RETURN_MAPPING: &str =
    include_str!("../../mappings/netsuite-returnauthorization.yaml");

/// Connector names of the world's return connectors.
pub const ACUMATICA_RETURNS: &str = "acumatica-returns";
pub const NETSUITE_RETURNS: &str = "netsuite-returns";

/// Seed `count` return records in each simulator that runs (Acumatica receipt shipments
/// of RMA orders, NetSuite return authorizations), flag one Acumatica shipment for an
/// automatic return, write the return profiles and mappings below `dir`, and return the
/// `connectors:` entries (YAML) of the two return connectors.
pub fn seed_world(
    dir: &Path,
    count: usize,
    schedule: &str,
    acumatica: Option<(&sim::acumatica::AcuState, &str)>,
    netsuite: Option<(&sim::netsuite::NetSuiteSim, &str)>,
) -> anyhow::Result<String> {
    if count == 0 {
        return Ok(String::new());
    }
    let mut yaml = String::new();
    if let Some((st, url)) = acumatica {
        let auto = st.mark_auto_return(1);
        st.add_return_receipts(count, auto.len());
        std::fs::write(
            dir.join("connectors/acumatica-return.yaml"),
            ACUMATICA_RETURN_PROFILE,
        )?;
        std::fs::write(
            dir.join("mappings/acumatica-return.yaml"),
            ACUMATICA_RETURN_MAPPING,
        )?;
        yaml.push_str(&format!(
            r#"  - name: {ACUMATICA_RETURNS}
    type: acumatica
    profile: connectors/acumatica-return.yaml
    mapping: mappings/acumatica-return.yaml
    schedule: "{schedule}"
    credentials: acumatica
    options:
      instance_url: "{url}"
    label_sink:
      type: directory
      path: labels
"#
        ));
    }
    if let Some((sim, url)) = netsuite {
        sim.add_return_authorizations(count);
        std::fs::write(
            dir.join("connectors/netsuite-returnauthorization.yaml"),
            NETSUITE_RETURN_PROFILE,
        )?;
        std::fs::write(
            dir.join("mappings/netsuite-returnauthorization.yaml"),
            NETSUITE_RETURN_MAPPING,
        )?;
        yaml.push_str(&format!(
            r#"  - name: {NETSUITE_RETURNS}
    type: netsuite
    profile: connectors/netsuite-returnauthorization.yaml
    mapping: mappings/netsuite-returnauthorization.yaml
    schedule: "{schedule}"
    credentials: netsuite
    options:
      base_url: "{url}"
    label_sink:
      type: directory
      path: labels
"#
        ));
    }
    Ok(yaml)
}

/// The demo row's `kind` and `return_tracking_numbers` for job `j`: `return` for a return
/// record, and for an outbound job the 1Z numbers of its automatic return (if any).
pub fn row_columns(ledger: &Ledger, j: &Job) -> anyhow::Result<(String, Vec<String>)> {
    let mut numbers = Vec::new();
    if j.return_of.is_none() {
        let id = crate::pipeline::engine::return_job_id(&j.id);
        if let Some(r) = ledger.get(&id)? {
            if let Some(res) = &r.result {
                numbers = res
                    .packages
                    .iter()
                    .map(|p| p.tracking_number.clone())
                    .collect();
            }
        }
    }
    Ok((j.kind.as_str().to_string(), numbers))
}

/// Whether the demo table shows this job as a row of its own (an automatic return shows
/// in its outbound row's `return_tracking_numbers`).
pub fn own_row(j: &Job) -> bool {
    j.return_of.is_none()
}
