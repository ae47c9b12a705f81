//! The audit config parser: any bytes give a config or one error line, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // ready catches panics of third-party parsers and turns them into errors; libFuzzer's own
    // hook would abort on those caught panics, so install a silent one. Uncaught panics still
    // reach libFuzzer's catch_unwind and are reported as crashes.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(message) = ready::config::Config::from_yaml(text, "fuzz.yaml") {
            assert!(message.starts_with("fuzz.yaml: "), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
});
