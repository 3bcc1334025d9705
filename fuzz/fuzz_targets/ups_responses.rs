//! UPS response parsers (Track — what Track Alert webhook events carry —, XAV, Rate, Void,
//! Label Recovery, subscription, token, faults): any JSON, never a panic.
//! The Track Alert webhook body parser itself lives in `tracking`, which has not landed on
//! this branch; add it here when it does.
#![no_main]
use libfuzzer_sys::fuzz_target;
use upsync::ups::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse::track_response(&v, "1Z123X560363553250");
        let _ = parse::track_reference_response(&v);
        let _ = parse::xav_response(&v);
        let _ = parse::rate_response(&v);
        let _ = parse::void_response(&v);
        let _ = parse::label_recovery_response(&v, upsync::model::LabelFormat::Zpl);
        let _ = parse::subscription_response(&v);
        let _ = parse::token_response(&v);
        let _ = parse::faults(&v);
    }
});
