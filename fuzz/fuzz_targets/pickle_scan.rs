//! The pickle opcode scanner (raw pickles, PyTorch zips, compressed joblib headers).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // ready catches panics of third-party parsers and turns them into errors; libFuzzer's own
    // hook would abort on those caught panics, so install a silent one. Uncaught panics still
    // reach libFuzzer's catch_unwind and are reported as crashes.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let scan = ready::pickle_scan::scan_artifact(data);
    assert!(scan.dangerous.len() <= scan.imports.len());
    assert!(scan.strings.len() <= ready::pickle_scan::MAX_STRINGS);
    for text in &scan.strings {
        let _ = ready::env::paths_scan::find_paths(text);
    }
});
