//! The audit config parser: any bytes give a config or one error line, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(message) = ready::config::Config::from_yaml(text, "fuzz.yaml") {
            assert!(message.starts_with("fuzz.yaml: "), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
});
