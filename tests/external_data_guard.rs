//! The external-data guard decodes the whole ModelProto strictly, through the real binary: a
//! model whose escaping external data hides where a lax decoder would not look, or that cannot
//! be decoded in full, is refused before ONNX Runtime is even loaded.

mod common;

use common::audit;

const UNDECODED: &str = "not handed to ONNX Runtime: ready could not decode it in full to check its external data";
const ESCAPES: &str = "1 external-data reference(s) outside the model folder; not loaded";
const CLIMBS: &str = "tensor 'w': '../outside.bin' climbs out of the model folder with '..'";

#[test]
fn external_data_hidden_from_a_lax_decoder_is_refused_before_onnx_runtime() {
    let cases = [
        ("two_locations", "not a valid ONNX model: tensor 'w': external_data names 'location' more than once", UNDECODED),
        (
            "bad_utf8",
            "not a valid ONNX model: not a valid ONNX protobuf: failed to decode Protobuf message: ModelProto.producer_name: invalid string value: data is not UTF-8 encoded",
            UNDECODED,
        ),
        (
            "wrong_wire_type",
            "not a valid ONNX model: not a valid ONNX protobuf: failed to decode Protobuf message: ModelProto.metadata_props: invalid wire type: Varint (expected LengthDeli…",
            UNDECODED,
        ),
        ("sparse_constant", ESCAPES, CLIMBS),
        ("function_constant", ESCAPES, CLIMBS),
    ];
    for (name, summary, reason) in cases {
        let model = format!("fixtures/models/external_bypass/{name}.onnx");
        let run = audit(&model, &["--skip", "lockfile"]);
        assert_eq!(
            run.statuses(),
            [
                "serialization=fail",
                "schema_parity=skip",
                "domain=skip",
                "drift=skip",
                "empty_batch=skip",
                "robustness=skip",
                "output_sanity=skip",
                "determinism=skip",
                "golden_parity=skip",
                "latency=skip",
                "deployment=skip",
                "lockfile=skip",
                "baseline=skip",
                "hardcoded_paths=pass",
            ],
            "{name}"
        );
        assert_eq!(run.check("serialization")["summary"], summary, "{name}");
        assert_eq!(run.details("serialization")[2..], [reason.to_string()], "{name}");
        // ONNX Runtime was not loaded at all: no runtime in the report.
        assert!(run.json["runtime"].is_null(), "{name}: handed to no runtime");
        assert_eq!(run.code, 1, "{name}");
    }
}
