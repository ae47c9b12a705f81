//! The pickle opcode scanner (raw pickles, PyTorch zips, compressed joblib headers).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let scan = ready::pickle_scan::scan_artifact(data);
    assert!(scan.dangerous.len() <= scan.imports.len());
});
