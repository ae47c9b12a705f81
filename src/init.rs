//! `ready init`: a commented starter audit config written from the model's own inputs.

use crate::artifact::OnnxInfo;
use crate::runtime::IoSpec;

/// The column names of a sample file given to `ready init --sample`.
pub struct SampleHeader {
    pub file: String,
    pub columns: Vec<String>,
}

/// The starter config text for `model`, with its inputs listed and, for a single 2-D input,
/// the feature order filled in from the model metadata when it has one, else from the header of
/// `sample` when its width matches.
pub fn starter_config(
    model: &str,
    inputs: &[IoSpec],
    info: Option<&OnnxInfo>,
    sample: Option<&SampleHeader>,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("# ready audit configuration for {model}, written by `ready init`.\n"));
    out.push_str("# Every field is documented in ready's audits/default.yaml; unknown keys are an error.\n");
    out.push_str("#\n# The model's inputs:\n");
    for input in inputs {
        out.push_str(&format!("#   {}: {}\n", input.name, input.kind));
    }
    out.push_str(
        "\nruntime:\n  intra_op_threads: 1          # keep equal between laptop and CI runs you compare\n  \
         inter_op_threads: 1\n  graph_optimization: all\n\nsample:\n  max_rows: 1000\n\nchecks:\n  \
         serialization:\n    severity: deny\n  schema_parity:\n    severity: deny\n",
    );
    let single = match inputs {
        [only] => only.kind.as_tensor().filter(|(_, dims)| dims.len() == 2).map(|(_, dims)| (only, dims[1].fixed())),
        _ => None,
    };
    match (single, info.and_then(OnnxInfo::feature_names)) {
        (Some((input, _)), Some(names)) => {
            out.push_str(&format!("    # Column order of input '{}', from the model's feature_names metadata.\n", input.name));
            let quoted: Vec<String> = names.iter().map(|n| yaml_string(n)).collect();
            out.push_str(&format!("    feature_names: [{}]\n", quoted.join(", ")));
        }
        (Some((input, width)), None)
            if sample.is_some_and(|h| width.is_none_or(|w| w == h.columns.len() as i64)) =>
        {
            let header = sample.expect("checked by the guard");
            out.push_str(&format!(
                "    # Column order of input '{}', from the header of {}: the model does not record it,\n    \
                 # so check it is the order the model was trained on.\n",
                input.name, header.file
            ));
            let quoted: Vec<String> = header.columns.iter().map(|n| yaml_string(n)).collect();
            out.push_str(&format!("    feature_names: [{}]\n", quoted.join(", ")));
        }
        (Some((input, width)), None) => {
            if let (Some(header), Some(w)) = (sample, width) {
                out.push_str(&format!(
                    "    # {} has {} columns; input '{}' takes {w}: feature_names not written.\n",
                    header.file,
                    header.columns.len(),
                    input.name
                ));
            }
            let count = width.map_or("its".to_string(), |w| w.to_string());
            out.push_str(&format!(
                "    # Input '{}' takes {count} columns and the model does not name them: list the sample's\n    \
                 # column names in tensor order, or columns are matched by position.\n    # feature_names: [first_column, second_column]\n",
                input.name
            ));
        }
        (None, _) => out.push_str("    # One input per column: sample columns are matched to inputs by name.\n"),
    }
    out.push_str(
        "  empty_batch:\n    severity: deny\n  robustness:\n    severity: deny\n  output_sanity:\n    severity: deny\n  \
         determinism:\n    severity: deny\n  golden_parity:\n    severity: deny\n  latency:\n    severity: deny\n    \
         runs: 2000\n    max_seconds: 10\n    p99_ms: 50                 # your service's latency budget (judged on its 99% bound)\n    \
         batch_sizes: [1]\n    concurrency: 2\n  lockfile:\n    severity: deny\n    require_hashes: false\n  baseline:\n    \
         severity: deny\n    max_latency_regression: 0.2\n\nreadme:\n  latency_tolerance: 0.5\n  memory_tolerance: 0.25\n",
    );
    out
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::runtime::ElementType;

    #[test]
    fn the_starter_parses_and_names_the_features() {
        let inputs = vec![IoSpec::tensor("input", ElementType::Float32, &[None, Some(2)])];
        let mut info = OnnxInfo::default();
        info.metadata
            .insert("feature_names".into(), "a,b: c".into());
        let text = starter_config("m.onnx", &inputs, Some(&info), None);
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(config.checks.schema_parity.feature_names, Some(vec!["a".to_string(), "b: c".to_string()]));
        assert!(text.contains("#   input: float32[?,2]"));
    }

    #[test]
    fn without_names_the_starter_explains_positional_matching_and_still_parses() {
        let inputs = vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(3)])];
        let text = starter_config("m.onnx", &inputs, None, None);
        assert!(text.contains("Input 'x' takes 3 columns"));
        assert_eq!(Config::from_yaml(&text, "starter").unwrap(), Config::default());
    }

    #[test]
    fn a_sample_header_of_the_right_width_becomes_the_feature_order() {
        let inputs = vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])];
        let header = SampleHeader {
            file: "rows.csv".into(),
            columns: vec!["age".into(), "income".into()],
        };
        let text = starter_config("m.onnx", &inputs, None, Some(&header));
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(
            config.checks.schema_parity.feature_names,
            Some(vec!["age".to_string(), "income".to_string()])
        );
        let wide = SampleHeader {
            file: "rows.csv".into(),
            columns: vec!["a".into(), "b".into(), "c".into()],
        };
        let text = starter_config("m.onnx", &inputs, None, Some(&wide));
        assert!(
            text.contains(
                "# rows.csv has 3 columns; input 'x' takes 2: feature_names not written."
            ),
            "{text}"
        );
        assert_eq!(
            Config::from_yaml(&text, "starter")
                .unwrap()
                .checks
                .schema_parity
                .feature_names,
            None
        );
    }
}
