//! Sample readers (CSV, JSON/NDJSON, Parquet) through polars, and every column conversion.
//! The first byte picks the format; the rest is the file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ready::runtime::ElementType;

fuzz_target!(|data: &[u8]| {
    // ready catches panics of third-party parsers and turns them into errors; libFuzzer's own
    // hook would abort on those caught panics, so install a silent one. Uncaught panics still
    // reach libFuzzer's catch_unwind and are reported as crashes.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&selector, body)) = data.split_first() else { return };
    let extension = ["csv", "json", "ndjson", "parquet"][usize::from(selector) % 4];
    let dir = std::env::temp_dir().join(format!("ready-fuzz-sample-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("rows.{extension}"));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    if let Ok(sample) = ready::sample::read_sample(&path, 64) {
        for (name, _) in sample.columns() {
            for target in [ElementType::Float32, ElementType::Int64, ElementType::Int8, ElementType::String, ElementType::Bool] {
                let _ = sample.convert(&name, target, ready::sample::Judge::default());
            }
        }
    }
});
