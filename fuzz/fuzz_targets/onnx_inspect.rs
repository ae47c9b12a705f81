//! The ONNX pre-load inspection: the ModelProto header decode, external-data path checks, and
//! TensorProto test data decoding. The first byte picks which.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    if selector % 2 == 0 {
        if let Ok(info) = ready::artifact::decode_onnx(body) {
            for reference in &info.external_data {
                let _ = ready::artifact::external_path_problem(std::path::Path::new("/nonexistent-model-dir"), &reference.location);
            }
            let _ = info.feature_names();
        }
    } else if let Ok(tensor) = ready::tensor_proto::decode(body) {
        assert!(tensor.data.len() as u64 <= ready::tensor_proto::MAX_ELEMENTS);
    }
});
