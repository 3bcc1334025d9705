//! The receiver without sockets (`oneshot`) and the wake loop against a fake source that
//! counts its polls: outcomes and their counters, hints stored and settled, one cycle at a
//! time, exactly one follow-up for pushes during a cycle, the minimum gap.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::model::{ErpRecord, ShipResult, Shipment, TrackingSnapshot, WriteBack};
use crate::pipeline::{Connector, Ledger, Pipeline};
use crate::push::ConnectorPush;
use crate::sources::{ConnectorKind, Cursor, Page, Source, SourceError};
use crate::store::Store;

/// A source with no records that counts polls; each poll takes `poll_ms` and records the
/// most polls seen at once.
#[derive(Default)]
struct CountingSource {
    polls: AtomicUsize,
    running: AtomicUsize,
    max_running: AtomicUsize,
    poll_ms: u64,
}

#[async_trait]
impl Source for CountingSource {
    fn name(&self) -> &str {
        "acu"
    }
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }
    async fn poll(&self, cursor: &Cursor) -> Result<Page, SourceError> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now, Ordering::SeqCst);
        self.polls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(self.poll_ms)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        Ok(Page {
            records: vec![],
            cursor: cursor.clone(),
            more: false,
        })
    }
    async fn fetch(&self, _: &str) -> Result<Option<ErpRecord>, SourceError> {
        Ok(None)
    }
    async fn write_back(&self, _: &WriteBack) -> Result<(), SourceError> {
        Ok(())
    }
}

struct NoMapper;
impl crate::pipeline::Mapper for NoMapper {
    fn to_shipment(&self, _: &ErpRecord) -> Result<Shipment, crate::pipeline::MappingFailure> {
        unreachable!("no records")
    }
    fn write_back_shipped(&self, _: &ErpRecord, _: &ShipResult) -> WriteBack {
        unreachable!("no records")
    }
    fn write_back_failure(&self, _: &ErpRecord, _: &str, _: &str) -> WriteBack {
        unreachable!("no records")
    }
    fn write_back_tracking(&self, _: &ErpRecord, _: &TrackingSnapshot) -> WriteBack {
        unreachable!("no records")
    }
    fn is_cancelled(&self, _: &ErpRecord) -> bool {
        false
    }
    fn void_on_cancel(&self) -> bool {
        false
    }
}

struct NoCarrier;
#[async_trait]
impl crate::pipeline::Carrier for NoCarrier {
    async fn validate_address(
        &self,
        _: &crate::model::Address,
    ) -> Result<crate::model::AddressCheck, crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
    async fn shop(
        &self,
        _: &Shipment,
    ) -> Result<Vec<crate::model::RateQuote>, crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
    async fn ship(&self, _: &Shipment) -> Result<ShipResult, crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
    async fn find_by_reference(
        &self,
        _: &str,
        _: &str,
        _: chrono::NaiveDate,
        _: chrono::NaiveDate,
    ) -> Result<Vec<crate::pipeline::FoundShipment>, crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
    async fn recover(
        &self,
        _: &crate::pipeline::FoundShipment,
        _: &Shipment,
        _: &crate::model::LabelSpec,
    ) -> Result<ShipResult, crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
    async fn void(&self, _: &str) -> Result<(), crate::pipeline::CarrierError> {
        unreachable!("no records")
    }
}

struct World {
    push: Arc<Push>,
    source: Arc<CountingSource>,
    pipeline: Arc<Pipeline>,
    _dir: tempfile::TempDir,
}

fn world(poll_ms: u64, min_gap: Duration) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), None).unwrap());
    let source = Arc::new(CountingSource {
        poll_ms,
        ..Default::default()
    });
    let conn = Connector::new(
        "acu",
        source.clone(),
        Arc::new(NoMapper),
        Default::default(),
    );
    let pipeline = Arc::new(Pipeline::new(
        Ledger::new(store.clone()),
        Arc::new(NoCarrier),
        vec![Arc::new(conn)],
        Default::default(),
        crate::pipeline::engine::system_clock(),
    ));
    let push = Arc::new(Push::new(
        pipeline.clone(),
        store,
        crate::pipeline::engine::system_clock(),
        vec![ConnectorPush {
            connector: "acu".into(),
            kind: ConnectorKind::Acumatica,
            header: "authorization".into(),
            secret: zeroize::Zeroizing::new(b"Bearer s3cr3t".to_vec()),
            min_gap,
            max_body_bytes: 1024,
        }],
    ));
    World {
        push,
        source,
        pipeline,
        _dir: dir,
    }
}

fn app(p: &Arc<Push>) -> Router {
    let p = p.clone();
    router(Arc::new(move || p.clone()))
}

const RELEASE: &str = r#"{"Inserted":[{"ShipmentNbr":"000123"}],"Deleted":[],"Query":"q","CompanyId":"C","Id":"x","TimeStamp":1}"#;

async fn post(app: Router, path: &str, secret: Option<&str>, body: &str) -> StatusCode {
    let mut r = Request::post(path).header("content-type", "application/json");
    if let Some(s) = secret {
        r = r.header("Authorization", s);
    }
    app.oneshot(r.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap()
        .status()
}

/// 404 / 401 / 413 / 400 / 200, each counted; only the good push is stored.
#[tokio::test]
async fn outcomes_are_answered_and_counted() {
    let w = world(0, Duration::ZERO);
    let a = || app(&w.push);
    let ok = Some("Bearer s3cr3t");
    assert_eq!(
        post(a(), "/push/acumatica/nope", ok, RELEASE).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(a(), "/push/netsuite/acu", ok, RELEASE).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post(a(), "/push/acumatica/acu", None, RELEASE).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        post(a(), "/push/acumatica/acu", Some("Bearer s3cr3"), RELEASE).await,
        StatusCode::UNAUTHORIZED
    );
    let big = format!(r#"{{"Inserted":[{{"x":"{}"}}]}}"#, "a".repeat(2000));
    assert_eq!(
        post(a(), "/push/acumatica/acu", ok, &big).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        post(a(), "/push/acumatica/acu", ok, "{").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(
            a(),
            "/push/acumatica/acu",
            ok,
            r#"{"Inserted":[],"Deleted":[{"ShipmentNbr":"1"}]}"#
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        w.push.pending_hints("acu"),
        0,
        "a Deleted-only push is not stored"
    );
    assert_eq!(
        post(a(), "/push/acumatica/acu", ok, RELEASE).await,
        StatusCode::OK
    );
    assert_eq!(w.push.pending_hints("acu"), 1);
    let s = w.push.stats("acu").unwrap();
    let g = |x: &std::sync::atomic::AtomicU64| x.load(Ordering::Relaxed);
    assert_eq!(
        (
            g(&s.unauthorized),
            g(&s.too_large),
            g(&s.malformed),
            g(&s.ignored),
            g(&s.accepted)
        ),
        (2, 1, 1, 1, 1)
    );
    assert_eq!(w.push.unknown.load(Ordering::Relaxed), 2);
    let mut out = Vec::new();
    w.push.samples(&mut out);
    let text = format!("{out:?}");
    assert!(!text.contains("s3cr3t"), "metrics never carry the secret");
    assert!(text.contains("unauthorized"));
}

async fn until(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 5 s");
}

/// A burst of pushes during a cycle gives exactly one follow-up cycle, cycles never
/// overlap (a scheduled cycle included), and the hints are settled afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_during_a_cycle_gives_exactly_one_follow_up() {
    let w = world(300, Duration::ZERO);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let loops = tokio::spawn(w.push.clone().run(stop));
    let ok = Some("Bearer s3cr3t");
    assert_eq!(
        post(app(&w.push), "/push/acumatica/acu", ok, RELEASE).await,
        StatusCode::OK
    );
    until(|| w.source.polls.load(Ordering::SeqCst) == 1).await;
    // The first cycle is polling now: a scheduled tick skips, and ten pushes arrive.
    let conn = w.pipeline.connector("acu").unwrap().clone();
    assert!(w.pipeline.run_cycle(&conn).await.unwrap().skipped);
    for _ in 0..10 {
        assert_eq!(
            post(app(&w.push), "/push/acumatica/acu", ok, RELEASE).await,
            StatusCode::OK
        );
    }
    until(|| w.push.stats("acu").unwrap().cycles.load(Ordering::SeqCst) == 2).await;
    until(|| w.source.running.load(Ordering::SeqCst) == 0 && w.push.pending_hints("acu") == 0)
        .await;
    // Nothing more comes of the burst.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        w.source.polls.load(Ordering::SeqCst),
        2,
        "one cycle + one follow-up"
    );
    assert_eq!(
        w.source.max_running.load(Ordering::SeqCst),
        1,
        "never two at once"
    );
    stop_tx.send(true).unwrap();
    loops.await.unwrap();
}

/// Pushes closer together than `min_gap` wait for it (paused clock: no real waiting).
#[tokio::test(start_paused = true)]
async fn the_minimum_gap_spaces_pushed_cycles() {
    let w = world(0, Duration::from_secs(30));
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(w.push.clone().run(stop));
    w.push.wake("acu");
    until(|| w.source.polls.load(Ordering::SeqCst) == 1).await;
    w.push.wake("acu");
    tokio::time::sleep(Duration::from_secs(29)).await;
    assert_eq!(
        w.source.polls.load(Ordering::SeqCst),
        1,
        "not before the gap"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    until(|| w.source.polls.load(Ordering::SeqCst) == 2).await;
}

/// A hint left by a crash wakes its connector at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_hint_wakes_the_connector_at_start() {
    let w = world(0, Duration::ZERO);
    assert_eq!(
        post(
            app(&w.push),
            "/push/acumatica/acu",
            Some("Bearer s3cr3t"),
            RELEASE
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(
        w.source.polls.load(Ordering::SeqCst),
        0,
        "no loop running yet"
    );
    // A fresh Push over the same store (a restart) finds the hint.
    let again = Arc::new(Push::new(
        w.pipeline.clone(),
        w.push.store.clone(),
        crate::pipeline::engine::system_clock(),
        vec![ConnectorPush {
            connector: "acu".into(),
            kind: ConnectorKind::Acumatica,
            header: "authorization".into(),
            secret: zeroize::Zeroizing::new(b"x".to_vec()),
            min_gap: Duration::ZERO,
            max_body_bytes: 1024,
        }],
    ));
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(again.clone().run(stop));
    until(|| w.source.polls.load(Ordering::SeqCst) == 1).await;
    until(|| again.pending_hints("acu") == 0).await;
}
