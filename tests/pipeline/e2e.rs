//! Issue 7, Must show 1: end to end against the simulators. Seeded shipments in BOTH ERPs
//! get their 1Z numbers and labels written back (checked in the simulators' own records),
//! and UPS received exactly one Ship per ERP shipment (the UPS simulator's counters and its
//! shipments by reference). Runs the real binary (`upsync once`) on loopback.

use crate::pipeline_support::*;
use upsync::pipeline::JobState;

upsync::both_stores! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn seeded_shipments_of_both_erps_are_shipped_once_and_written_back(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 12, 12);
        o.store_url = store_url;
        let w = start(o).await;
        let acu = acumatica_ready(&w);
        let ns = netsuite_ready(&w);
        assert!(acu.len() >= 8 && ns.len() >= 8, "seeds: {acu:?} {ns:?}");
        let ns_lines: Vec<usize> = ns
            .iter()
            .map(|(_, id)| {
                w.netsuite
                    .as_ref()
                    .unwrap()
                    .sim
                    .fulfillment(*id)
                    .unwrap()
                    .packages
                    .len()
            })
            .collect();

        let out = upsync_ok(&w, &["once"]).await;
        assert!(
            out.contains("acumatica:") && out.contains("netsuite:"),
            "{out}"
        );

        let all = jobs(&w);
        let expected = acu.len() + ns.len();
        assert_eq!(
            all.len(),
            expected,
            "one job per ready record:\n{}",
            describe(&all)
        );
        assert!(
            all.iter().all(|j| j.state == JobState::Tracking),
            "every job reaches tracking:\n{}",
            describe(&all)
        );

        // The ERPs hold the 1Z numbers and labels.
        let mut all_numbers = Vec::new();
        for (nbr, id) in &acu {
            all_numbers.extend(assert_acumatica_written_back(&w, nbr, id));
        }
        for ((tranid, id), lines) in ns.iter().zip(&ns_lines) {
            all_numbers.extend(assert_netsuite_written_back(&w, tranid, *id, *lines));
        }
        // Labels also went to the configured label directory.
        let labels: Vec<String> = std::fs::read_dir(&w.label_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        for tn in &all_numbers {
            assert!(
                labels.iter().any(|l| l.contains(tn.as_str())),
                "no label file for {tn}"
            );
        }
        // The 1Z numbers on the ERP records are the ones the ledger holds.
        for j in &all {
            let r = j.result.as_ref().expect("tracking job has a result");
            for p in &r.packages {
                assert!(
                    all_numbers.contains(&p.tracking_number),
                    "{}: {}",
                    j.id,
                    p.tracking_number
                );
            }
        }

        // Exactly one Ship per ERP shipment, from the simulator's own view.
        let stats = w.ups.stats();
        assert_eq!(
            stat(&stats, "ship"),
            expected as u64,
            "Ship requests: {stats:?}"
        );
        assert_eq!(stat(&stats, "ship.created"), expected as u64, "{stats:?}");
        for nbr in acu.iter().map(|a| &a.0).chain(ns.iter().map(|n| &n.0)) {
            assert_eq!(
                w.ups.shipments_with_reference(nbr),
                1,
                "shipments with reference {nbr}"
            );
            assert_eq!(ups_shipments_for(&w, nbr), (1, 0), "{nbr}: (live, voided)");
        }

        // A second cycle reads the records again (our write-back changed their versions) and
        // ships nothing more.
        upsync_ok(&w, &["once"]).await;
        let stats = w.ups.stats();
        assert_eq!(
            stat(&stats, "ship"),
            expected as u64,
            "no Ship on the second cycle"
        );
        let again = jobs(&w);
        assert!(
            again
                .iter()
                .all(|j| j.state == JobState::Tracking && j.conflict.is_none()),
            "{}",
            describe(&again)
        );
    }
}

upsync::both_stores! {
    /// `jobs show` prints the timeline and the audit trail of external calls, with ids and
    /// codes, and nothing secret: no credentials or tokens, no street address, no label bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_show_prints_timeline_and_audit_without_secrets_or_addresses(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 2, 2);
        o.store_url = store_url;
        let w = start(o).await;
        upsync_ok(&w, &["once"]).await;
        let all = jobs(&w);
        assert!(all.len() >= 3, "{}", describe(&all));
        let tokens: Vec<String> = w.ups.state.tokens.lock().unwrap().keys().cloned().collect();
        assert!(!tokens.is_empty());
        for j in &all {
            let out = upsync_ok(&w, &["jobs", "show", &j.id]).await;
            // Timeline with every transition to tracking, and the 1Z numbers.
            for state in [
                "seen",
                "mapped",
                "address_checked",
                "shipping",
                "shipped",
                "written_back",
                "tracking",
            ] {
                assert!(
                    out.contains(&format!("→ {state}")),
                    "{}: no transition to {state}:\n{out}",
                    j.id
                );
            }
            for p in &j.result.as_ref().unwrap().packages {
                assert!(out.contains(&p.tracking_number), "{out}");
            }
            // Audit trail: the external calls with their outcome.
            assert!(out.contains("external calls:"), "{out}");
            for op in ["xav", "ship", "write_back"] {
                assert!(
                    out.lines()
                        .any(|l| l.contains(&format!(" {op} ")) && l.contains("ok")),
                    "{}: no audited {op} call:\n{out}",
                    j.id
                );
            }
            // Nothing secret, no street address, no label.
            let street = &j.shipment.as_ref().unwrap().ship_to.address.lines;
            for line in street.iter().filter(|l| !l.trim().is_empty()) {
                assert!(
                    !out.contains(line.as_str()),
                    "{}: street address printed:\n{out}",
                    j.id
                );
            }
            for secret in ["demo-secret", "PRIVATE KEY", "password", "^XA"] {
                assert!(!out.contains(secret), "{}: {secret} printed:\n{out}", j.id);
            }
            for t in &tokens {
                assert!(!out.contains(t.as_str()), "{}: UPS token printed", j.id);
            }
        }
    }
}
