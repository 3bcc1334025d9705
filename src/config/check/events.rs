//! `check` pass 4 for the `events` section: the events folder's own
//! [`crate::events::EventsConfig::problems`], reported with the others.

#[allow(unused_imports)]
use super::*;

pub(super) fn check_events(r: &mut CheckReport, file: &Path, e: &EventsConfig) {
    for p in e.problems() {
        if p.warning {
            r.warning(file, p.path, p.message, p.fix);
        } else {
            r.problem(file, p.path, p.message, p.fix);
        }
    }
}
