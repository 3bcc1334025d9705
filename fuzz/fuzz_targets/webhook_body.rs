//! The Track Alert webhook body parser (what `POST /webhooks/ups/track-alert` runs on every
//! body it receives): any bytes, never a panic, and an accepted event always carries a
//! well-formed tracking number and a known time.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let received = chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("valid time");
    if let Ok(ev) = upsync::tracking::parse_alert_event(data, received) {
        let tn = &ev.event.tracking_number;
        assert!((7..=34).contains(&tn.len()), "tracking number length {}", tn.len());
        assert!(tn.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        assert_eq!(ev.received_at, received);
        // What is stored must read back.
        let stored = serde_json::to_vec(&ev).expect("an accepted event serialises");
        let back: upsync::tracking::AlertEvent =
            serde_json::from_slice(&stored).expect("a stored event reads back");
        assert_eq!(back.event.tracking_number, ev.event.tracking_number);
    }
});
