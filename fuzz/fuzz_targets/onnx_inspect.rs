//! The ONNX pre-load inspection: the ModelProto header decode, external-data path checks, and
//! TensorProto test data decoding. The first byte picks which.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // ready catches panics of third-party parsers and turns them into errors; libFuzzer's own
    // hook would abort on those caught panics, so install a silent one. Uncaught panics still
    // reach libFuzzer's catch_unwind and are reported as crashes.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&selector, body)) = data.split_first() else { return };
    if selector % 2 == 0 {
        if let Ok(info) = ready::artifact::decode_onnx(body) {
            for reference in &info.external_data {
                let _ = ready::artifact::external_path_problem(std::path::Path::new("/nonexistent-model-dir"), &reference.location);
            }
            let _ = info.feature_names();
            // The model's free text, and the hardcoded-path scanner over each string.
            for string in ready::model::strings::read(body) {
                let _ = ready::env::paths_scan::find_paths(&string.text);
            }
        }
    } else if let Ok(tensor) = ready::tensor_proto::decode(body) {
        assert!(tensor.data.len() as u64 <= ready::tensor_proto::MAX_ELEMENTS);
    }
});
