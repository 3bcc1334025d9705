//! `check` pass 4 for the `dispatch` section: every site's time zone, cutoff, working days
//! and holidays ([`crate::dispatch::Calendars::build`] names each bad value), and every
//! site key known to at least one connector's mapping (`ship_from` entries).

#[allow(unused_imports)]
use super::*;
use crate::config::DispatchConfig;

pub(super) fn check_dispatch(
    r: &mut CheckReport,
    file: &Path,
    base: &Path,
    d: &DispatchConfig,
    connectors: &[ConnectorConfig],
) {
    if let Err(problems) = crate::dispatch::Calendars::build(d) {
        for (at, what, fix) in problems {
            r.problem(file, at, what, fix);
        }
    }
    if d.sites.is_empty() {
        return;
    }
    // Keys of every mapping that loads (a mapping that does not is reported elsewhere).
    let mut known: BTreeSet<String> = BTreeSet::new();
    let mut loaded = 0;
    for c in connectors {
        if let Ok(m) = crate::mapping::Mapping::load(resolve(base, &c.mapping)) {
            loaded += 1;
            known.extend(m.site_keys());
        }
    }
    if loaded == 0 {
        return;
    }
    for (i, s) in d.sites.iter().enumerate() {
        if !known.contains(s.key.trim()) {
            r.problem(
                file,
                format!("dispatch.sites[{i}].key"),
                format!(
                    "site `{}` is no ship_from entry of any connector's mapping (known: {})",
                    s.key,
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
                "use the key of the mapping's `ship_from.entries` (Acumatica WarehouseID, NetSuite location), or add the entry",
            );
        }
    }
}
