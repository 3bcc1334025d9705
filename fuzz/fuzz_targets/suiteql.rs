//! The NetSuite simulator's SuiteQL subset parser: any text, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = upsync::sim::netsuite::suiteql::parse(text);
    }
});
