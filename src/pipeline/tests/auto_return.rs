//! Engine tests: automatic returns (docs/returns.md) are shipped exactly once, as a second
//! job `<outbound>#return`, whatever moment a crash interrupts the outbound and the return.

use super::*;
use crate::pipeline::engine::return_job_id;

/// FakeMapper plus an `auto_return:` for every record (print return label, code 9).
struct AutoMapper;

impl Mapper for AutoMapper {
    fn to_shipment(&self, r: &ErpRecord) -> Result<Shipment, MappingFailure> {
        FakeMapper.to_shipment(r)
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
        true
    }
    fn auto_return(&self, r: &ErpRecord) -> Option<Result<Shipment, MappingFailure>> {
        Some(FakeMapper.to_shipment(r).map(|mut s| {
            s.packages[0].description = Some("Returned goods".into());
            crate::mapping::returns::into_return(
                s,
                ReturnService {
                    code: "9".into(),
                    label_email: None,
                },
            )
        }))
    }
    fn write_back_auto_return(&self, r: &ErpRecord, res: &ShipResult) -> WriteBack {
        WriteBack {
            record_id: r.id.clone(),
            fields: vec![("return_tracking".into(), res.shipment_id.clone().into())],
            ..Default::default()
        }
    }
}

fn return_job(h: &H, record: &str) -> Option<crate::pipeline::Job> {
    let outbound = h.p.ledger().current_for("erp", record).unwrap().unwrap();
    h.p.ledger().get(&return_job_id(&outbound.id)).unwrap()
}

fn return_writes(h: &H) -> Vec<String> {
    h.src
        .writes
        .lock()
        .unwrap()
        .iter()
        .flat_map(|w| w.fields.iter())
        .filter(|(k, _)| k == "return_tracking")
        .map(|(_, v)| v.as_str().unwrap_or("").to_string())
        .collect()
}

/// The outbound shipment and its return label are each shipped once; the return's 1Z is
/// written onto the outbound record; the outbound record stays the record's current job.
#[tokio::test]
async fn an_auto_return_ships_once_alongside_the_outbound() {
    let h = H::with_mapper(Arc::new(AutoMapper));
    h.src.put("r1", 1, ok_record(2.0));
    for _ in 0..3 {
        h.cycle().await;
    }
    assert_eq!(
        h.state("r1"),
        JobState::Tracking,
        "outbound is the current job"
    );
    let r = return_job(&h, "r1").expect("a return job");
    assert_eq!(r.state, JobState::Tracking);
    assert_eq!(r.kind, ShipmentKind::Return);
    assert!(r.shipment.as_ref().unwrap().return_service.is_some());
    assert_eq!(h.ship_calls(), 2, "one outbound Ship, one return Ship");
    let tn = r.result.as_ref().unwrap().shipment_id.clone();
    assert_eq!(
        return_writes(&h),
        vec![tn],
        "return 1Z written once to the outbound record"
    );
}

/// Crash between the outbound Ship and the return Ship's answer: the return's Ship was
/// committed at UPS but its answer lost (the process died). The return job is in doubt and
/// reconciled by its own reference: found, never shipped a second time; the outbound
/// shipment is not touched either.
#[tokio::test]
async fn a_crash_between_outbound_ship_and_return_ship_never_duplicates_the_return() {
    let h = H::with_mapper(Arc::new(AutoMapper));
    // First Ship (outbound) answers; the second (the return) is committed, answer lost.
    h.ups.script.lock().unwrap().extend(["ok", "drop"]);
    h.src.put("r1", 1, ok_record(2.0));
    h.cycle().await;
    h.cycle().await;
    let r = return_job(&h, "r1").unwrap();
    assert_eq!(r.state, JobState::Shipping, "the return is in doubt");
    assert_eq!(h.ship_calls(), 2);
    h.advance_hours(1);
    h.cycle().await;
    h.cycle().await;
    let r = return_job(&h, "r1").unwrap();
    assert_eq!(r.state, JobState::Tracking);
    assert_eq!(
        h.ship_calls(),
        2,
        "reconciled by reference: no second return Ship"
    );
    let reference = crate::pipeline::ledger::job_reference(&r.id);
    assert_eq!(h.ups.live_for(&reference), 1, "exactly one return at UPS");
    let outbound = h.p.ledger().current_for("erp", "r1").unwrap().unwrap();
    assert_eq!(
        h.ups
            .live_for(&crate::pipeline::ledger::job_reference(&outbound.id)),
        1,
        "exactly one outbound at UPS"
    );
    assert_eq!(return_writes(&h).len(), 1);
}

/// Crash right after the outbound job was flushed as `shipped`, before its return job
/// existed: the next pass creates the return job (once) and ships it; the outbound is not
/// shipped again.
#[tokio::test]
async fn a_crash_after_the_outbound_shipped_creates_and_ships_the_return_once() {
    let h = H::with_mapper(Arc::new(AutoMapper));
    h.src.put("r1", 1, ok_record(2.0));
    let rec = h.src.fetch("r1").await.unwrap().unwrap();
    let mut job = crate::pipeline::Job::new(rec.clone(), Utc::now());
    let shipment = AutoMapper.to_shipment(&rec).unwrap();
    let reference = crate::pipeline::ledger::job_reference(&job.id);
    h.ups.push(&[&reference], "1ZOUTBOUND0001");
    job.result = Some(result_for("1ZOUTBOUND0001", &shipment));
    job.shipment = Some(shipment);
    job.transition(JobState::Shipped, "1ZOUTBOUND0001", Utc::now());
    h.p.ledger().save_flushed(&job).await.unwrap();
    assert!(return_job(&h, "r1").is_none());
    for _ in 0..3 {
        h.cycle().await;
    }
    assert_eq!(h.state("r1"), JobState::Tracking);
    assert_eq!(return_job(&h, "r1").unwrap().state, JobState::Tracking);
    assert_eq!(h.ship_calls(), 1, "only the return was shipped");
    assert_eq!(return_writes(&h).len(), 1);
}
