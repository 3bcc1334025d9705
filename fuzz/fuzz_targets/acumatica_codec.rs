//! The Acumatica codec (wire entity → decoded record): any JSON, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = upsync::sources::acumatica::codec::decode(&v);
        let _ = upsync::sources::acumatica::codec::to_record("acumatica", &v);
    }
});
