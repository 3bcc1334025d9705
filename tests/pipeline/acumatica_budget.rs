//! Issue 24: the Acumatica requests per shipment of the bundled profile and mapping, end
//! to end through the pipeline, counted by the simulator (`docs/acumatica.md`, "Requests
//! per shipment").

use std::sync::atomic::Ordering;

use upsync::app::world::{World, WorldOptions};

upsync::both_stores! {
    /// Guards the default mapping's request budget: over several cycles, no GET of a record
    /// before its write-back (the pre-read issue 24 removed), one sign-in for all cycles, and
    /// at most 3.5 requests per shipment for the listing, the PUT, the label files and the
    /// sessions; the confirm the bundled mapping asks for is counted apart (its POST and status
    /// polls), one POST per shipment.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bundled_mapping_stays_within_its_request_budget(store_url) {
        let dir = tempfile::tempdir().unwrap();
        let mut o = WorldOptions::new(dir.path());
        o.store_url = store_url;
        o.acumatica_shipments = 60;
        o.netsuite_fulfillments = 0;
        let w = World::start(o).await.unwrap();
        // The confirm's status is polled every 10 ms, not the bundled second (as the bench).
        let profile = w.dir.join("connectors/acumatica.yaml");
        let text = std::fs::read_to_string(&profile).unwrap();
        assert!(text.contains("action_poll_interval_ms: 1000"));
        std::fs::write(
            &profile,
            text.replace(
                "action_poll_interval_ms: 1000",
                "action_poll_interval_ms: 10",
            ),
        )
        .unwrap();
        let store = w.open_store().unwrap();
        let a = w.assemble(store).await.unwrap();
        for _ in 0..3 {
            for c in a.pipeline.connectors() {
                a.pipeline.run_cycle(c).await.unwrap();
            }
        }
        let shipped = a.pipeline.stats.shipped.load(Ordering::Relaxed);
        assert!(shipped >= 40, "shipped {shipped}");
        let acu = w.acumatica.as_ref().unwrap();
        let s = |k: &str| acu.core.stats.get(k);
        assert_eq!(s("get"), 0, "a record was read again before its write-back");
        assert_eq!(s("login"), 1, "one sign-in for three cycles");
        let write_path = s("list") + s("put") + s("files") + s("login") + s("logout") + s("delete");
        let per = write_path as f64 / shipped as f64;
        eprintln!(
            "acumatica: {shipped} shipped, {per:.2} requests per shipment (write path), ops {:?}",
            acu.core.stats.snapshot()
        );
        assert!(per <= 3.5, "{per:.2} requests per shipment (write path)");
        assert_eq!(s("put"), shipped, "one PUT per shipment");
        assert_eq!(
            s("action"),
            shipped,
            "one confirm per shipment (bundled mapping)"
        );
        let confirm = (s("action") + s("action.status")) as f64 / shipped as f64;
        assert!(confirm <= 3.0, "{confirm:.2} confirm requests per shipment");
        assert_eq!(s("busy"), 0, "no request met a busy form");
    }
}
