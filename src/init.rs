//! `ready init`: a commented starter audit config written from the model's own inputs, and
//! (`--deploy`) the Kubernetes container fields recommended from the measured model.

use std::collections::BTreeMap;

use crate::artifact::{OnnxInfo, human_size};
use crate::env::deploy::recommend::Recommendation;
use crate::inputs::batch_axis::BatchAxes;
use crate::inputs::spec::{Constant, ValueSpec, symbolic_dims};
use crate::inputs::synth::{Synthesizer, default_values};
use crate::runtime::{Dim, IoSpec};

/// The column names of a sample file given to `ready init --sample`.
pub struct SampleHeader {
    pub file: String,
    pub columns: Vec<String>,
}

/// The starter config text for `model`, with its inputs listed and, for a single 2-D input,
/// the feature order filled in from the model metadata when it has one, else from the header of
/// `sample` when its width matches; `outputs` help find the batch axis for the input specs.
pub fn starter_config(model: &str, inputs: &[IoSpec], outputs: &[IoSpec], info: Option<&OnnxInfo>, sample: Option<&SampleHeader>) -> String {
    let mut out = String::new();
    out.push_str(&format!("# ready audit configuration for {model}, written by `ready init`.\n"));
    out.push_str("# Every field is documented in ready's audits/default.yaml; unknown keys are an error.\n");
    out.push_str("#\n# The model's inputs:\n");
    for input in inputs {
        out.push_str(&format!("#   {}: {}\n", input.name, input.kind));
    }
    out.push_str(&input_specs(inputs, outputs));
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
        (Some((input, width)), None) if sample.is_some_and(|h| width.is_none_or(|w| w == h.columns.len() as i64)) => {
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
         severity: deny\n    max_latency_regression: 0.2\n  hardcoded_paths:\n    severity: deny\n    allow: []                  # path prefixes you really serve from\n\nreadme:\n  latency_tolerance: 0.5\n  memory_tolerance: 0.25\n",
    );
    out
}

/// What the `--deploy` block says it was measured on.
pub struct DeployHeader {
    pub model: String,
    pub sha256: String,
    /// `ready 0.1.0 on <machine>, ONNX Runtime 1.31.1`.
    pub measured_on: String,
}

/// The probes' handler: not measured, so a placeholder the comment beside it says to replace.
const PLACEHOLDER_HANDLER: &str = "httpGet: {path: /healthz, port: 8080}   # placeholder: your server's health endpoint";

/// A ready-to-paste fragment of a Kubernetes Container (`resources:`, `startupProbe:`,
/// `readinessProbe:`) from `recommendation`; what was not measured is a comment saying so.
pub fn deploy_yaml(header: &DeployHeader, r: &Recommendation) -> String {
    use crate::report::escape::terminal;
    use crate::runtime::tensor::format_ms;
    let mut out = format!(
        "# Container fields for {} (sha256 {}), written by `ready init --deploy`.\n# Measured by {}.\n",
        terminal(&header.model),
        terminal(header.sha256.get(..12).unwrap_or(&header.sha256)),
        terminal(&header.measured_on)
    );
    out.push_str("# Paste under the container that serves the model; set the probes' handler to your health endpoint.\n");
    if let Some(m) = r.memory {
        out.push_str(&format!("# memory: peak {} ({} bytes) x headroom {}\n", human_size(m.peak_rss_bytes), m.peak_rss_bytes, m.headroom));
    }
    if let Some(p) = r.startup_probe {
        out.push_str(&format!("# startup: cold start {} x margin {}\n", format_ms(p.cold_start_ms), p.margin));
    }
    if let Some(p) = r.readiness_probe {
        out.push_str(&format!("# probe timeout: p99 {} x margin {}, at least 1 s\n", format_ms(p.p99_ms), p.margin));
    }
    out.push_str(&resources_yaml(r));
    out.push_str(&probes_yaml(r));
    out
}

/// `resources:` with memory and CPU requests and limits, or a comment when neither was measured.
fn resources_yaml(r: &Recommendation) -> String {
    if r.memory.is_none() && r.cpu.is_none() {
        return "# resources: not measured\n".to_string();
    }
    let mut out = String::from("resources:\n");
    for (section, quantity) in [("requests", r.memory.map(|m| m.request)), ("limits", r.memory.map(|m| m.limit))] {
        out.push_str(&format!("  {section}:\n"));
        match quantity {
            Some(q) => out.push_str(&format!("    memory: {q}\n")),
            None => out.push_str("    # memory: not measured\n"),
        }
        match r.cpu {
            Some(cpu) => out.push_str(&format!("    cpu: \"{}\"\n", cpu.cores)),
            None => out.push_str("    # cpu: not measured (no latency was timed)\n"),
        }
    }
    out
}

/// `startupProbe:` and `readinessProbe:`, each with the placeholder handler, or a comment.
fn probes_yaml(r: &Recommendation) -> String {
    let mut out = String::new();
    match r.startup_probe {
        Some(p) => {
            out.push_str(&format!(
                "startupProbe:\n  {PLACEHOLDER_HANDLER}\n  periodSeconds: {}\n  failureThreshold: {}\n",
                p.period_seconds, p.failure_threshold
            ));
            match p.timeout_seconds {
                Some(t) => out.push_str(&format!("  timeoutSeconds: {t}\n")),
                None => out.push_str("  # timeoutSeconds: not measured (no latency was timed)\n"),
            }
        }
        None => out.push_str("# startupProbe: not measured (the model did not answer a first request)\n"),
    }
    match r.readiness_probe {
        Some(p) => out.push_str(&format!("readinessProbe:\n  {PLACEHOLDER_HANDLER}\n  timeoutSeconds: {}\n", p.timeout_seconds)),
        None => out.push_str("# readinessProbe: timeoutSeconds not measured (no latency was timed)\n"),
    }
    out
}

/// The `dims:` and `inputs:` sections: every symbolic dimension with a guessed size, and per
/// input the values ready would send, the batch axis it read from the graph and, for unnamed
/// dynamic dimensions, a full shape to correct.
fn input_specs(inputs: &[IoSpec], outputs: &[IoSpec]) -> String {
    let axes = BatchAxes::infer(inputs, outputs, &BTreeMap::new());
    let (no_dims, no_specs) = (BTreeMap::new(), BTreeMap::new());
    let synth = Synthesizer { inputs, axes: &axes, dims: &no_dims, specs: &no_specs };
    let mut out = String::from("\n# What the serving path sends: ready builds requests from this when there is no --sample,\n");
    out.push_str(&format!("# and times latency at these sizes. Read from the graph: {}.\n", axes.describe()));
    out.push_str("# Every size and value below is a guess: correct them to what your serving path really sends.\n");
    let symbols = symbolic_dims(inputs);
    let rows: Vec<String> = symbols
        .iter()
        .filter(|s| axes.symbol.as_deref() != Some(s.as_str()))
        .filter_map(|symbol| {
            let size = inputs.iter().find_map(|i| {
                let (_, dims) = i.kind.as_tensor()?;
                let axis = dims.iter().position(|d| matches!(d, Dim::Free(Some(n)) if n == symbol))?;
                synth.shape(i, 1).ok()?.shape.get(axis).copied()
            })?;
            Some(format!("  {}: {size}\n", yaml_string(symbol)))
        })
        .collect();
    out.push_str(if rows.is_empty() { "dims: {}\n" } else { "dims:\n" });
    rows.iter().for_each(|r| out.push_str(r));
    out.push_str("inputs:\n");
    for input in inputs {
        let Some((element, dims)) = input.kind.as_tensor() else { continue };
        // A string input takes the categories the graph's encoders know (or a constant): no
        // numeric draw is written for it.
        let mut fields = match element {
            crate::runtime::ElementType::String => Vec::new(),
            _ => vec![format!("values: {}", value_yaml(&default_values(&input.name, element, dims.len())))],
        };
        let unnamed = dims.iter().enumerate().any(|(i, d)| matches!(d, Dim::Free(None)) && axes.axis(&input.name) != Some(i));
        if let (true, Ok(chosen)) = (unnamed, synth.shape(input, 1)) {
            fields.push(format!("shape: {:?}", chosen.shape));
        }
        fields.push(format!("batch_axis: {}", axes.axis(&input.name).map_or("none".to_string(), |a| a.to_string())));
        out.push_str(&format!("  {}: {{{}}}   # {}\n", yaml_string(&input.name), fields.join(", "), input.kind));
    }
    out
}

/// A value spec as flow-style YAML.
fn value_yaml(values: &ValueSpec) -> String {
    match values {
        ValueSpec::Ones => "ones".into(),
        ValueSpec::Zeros => "zeros".into(),
        ValueSpec::Constant(Constant::Text(t)) => format!("{{constant: {}}}", yaml_string(t)),
        ValueSpec::Constant(c) => format!("{{constant: {}}}", c.text()),
        ValueSpec::Uniform([a, b]) => format!("{{uniform: [{a}, {b}]}}"),
        ValueSpec::Integers([a, b]) => format!("{{integers: [{a}, {b}]}}"),
        ValueSpec::Normal([a, b]) => format!("{{normal: [{a}, {b}]}}"),
    }
}

fn yaml_string(text: &str) -> String {
    serde_json::to_string(text).expect("strings serialize")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::runtime::ElementType;

    /// The fields of a Kubernetes Container the `--deploy` block may hold, strictly.
    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct ContainerFragment {
        resources: Option<Resources>,
        startup_probe: Option<Probe>,
        readiness_probe: Option<Probe>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Resources {
        requests: BTreeMap<String, String>,
        limits: BTreeMap<String, String>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Probe {
        http_get: HttpGet,
        period_seconds: Option<u64>,
        failure_threshold: Option<u64>,
        timeout_seconds: Option<u64>,
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct HttpGet {
        path: String,
        port: u16,
    }

    fn header() -> DeployHeader {
        DeployHeader { model: "models/m.onnx\nresources: {}".into(), sha256: "ab".repeat(32), measured_on: "ready 0.1.0 on a laptop".into() }
    }

    #[test]
    fn the_deploy_block_parses_as_a_container_fragment_with_the_recommended_values() {
        use crate::env::deploy::recommend::recommend;
        use crate::env::deploy::{Margins, Measured};
        let measured = Measured {
            peak_rss_bytes: Some(1024 << 20),
            cold_start: Some(std::time::Duration::from_secs(45)),
            p99_ms: Some(700.0),
            intra_op_threads: 2,
        };
        let text = deploy_yaml(&header(), &recommend(&measured, &Margins::default()));
        // A model name cannot break out of its comment.
        assert!(text.starts_with("# Container fields for models/m.onnx\\nresources: {} (sha256 abababababab)"), "{text}");
        let parsed: ContainerFragment = serde_saphyr::from_str(&text).unwrap();
        let quantities = |memory: &str| BTreeMap::from([("cpu".to_string(), "2".to_string()), ("memory".to_string(), memory.to_string())]);
        let handler = HttpGet { path: "/healthz".into(), port: 8080 };
        assert_eq!(
            parsed,
            ContainerFragment {
                resources: Some(Resources { requests: quantities("1024Mi"), limits: quantities("1536Mi") }),
                startup_probe: Some(Probe { http_get: handler, period_seconds: Some(10), failure_threshold: Some(9), timeout_seconds: Some(2) }),
                readiness_probe: Some(Probe {
                    http_get: HttpGet { path: "/healthz".into(), port: 8080 },
                    period_seconds: None,
                    failure_threshold: None,
                    timeout_seconds: Some(2)
                }),
            }
        );
    }

    #[test]
    fn what_was_not_measured_is_a_comment_and_the_block_still_parses() {
        use crate::env::deploy::recommend::recommend;
        use crate::env::deploy::{Margins, Measured};
        let loaded_only = Measured { peak_rss_bytes: Some(100 << 20), cold_start: Some(std::time::Duration::from_millis(80)), ..Measured::default() };
        let text = deploy_yaml(&header(), &recommend(&loaded_only, &Margins::default()));
        assert!(text.contains("    # cpu: not measured (no latency was timed)\n"), "{text}");
        assert!(text.contains("  # timeoutSeconds: not measured (no latency was timed)\n"), "{text}");
        assert!(text.contains("# readinessProbe: timeoutSeconds not measured"), "{text}");
        let parsed: ContainerFragment = serde_saphyr::from_str(&text).unwrap();
        let memory = |q: &str| BTreeMap::from([("memory".to_string(), q.to_string())]);
        assert_eq!(parsed.resources, Some(Resources { requests: memory("100Mi"), limits: memory("150Mi") }));
        assert_eq!(parsed.startup_probe.map(|p| (p.period_seconds, p.failure_threshold, p.timeout_seconds)), Some((Some(5), Some(1), None)));
        assert_eq!(parsed.readiness_probe, None);
        let nothing = deploy_yaml(&header(), &recommend(&Measured::default(), &Margins::default()));
        let parsed: ContainerFragment = serde_saphyr::from_str(&nothing).unwrap();
        assert_eq!(parsed, ContainerFragment { resources: None, startup_probe: None, readiness_probe: None });
    }

    #[test]
    fn the_starter_parses_and_names_the_features() {
        let inputs = vec![IoSpec::tensor("input", ElementType::Float32, &[None, Some(2)])];
        let mut info = OnnxInfo::default();
        info.metadata.insert("feature_names".into(), "a,b: c".into());
        let text = starter_config("m.onnx", &inputs, &[], Some(&info), None);
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(config.checks.schema_parity.feature_names, Some(vec!["a".to_string(), "b: c".to_string()]));
        assert!(text.contains("#   input: float32[?,2]"));
    }

    #[test]
    fn without_names_the_starter_explains_positional_matching_and_still_parses() {
        let inputs = vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(3)])];
        let text = starter_config("m.onnx", &inputs, &[], None, None);
        assert!(text.contains("Input 'x' takes 3 columns"));
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(Config { dims: BTreeMap::new(), inputs: BTreeMap::new(), ..config }, Config::default());
    }

    #[test]
    fn the_starter_describes_every_input_of_a_stateful_and_a_token_model() {
        let vad = vec![
            IoSpec::tensor("input", ElementType::Float32, &[None, None]),
            IoSpec::tensor("state", ElementType::Float32, &[Some(2), None, Some(128)]),
            IoSpec::tensor("sr", ElementType::Int64, &[]),
        ];
        let text = starter_config("vad.onnx", &vad, &[], None, None);
        assert!(text.contains("dims: {}\ninputs:\n"), "{text}");
        assert!(text.contains("  \"input\": {values: {uniform: [-1, 1]}, shape: [1, 128], batch_axis: 0}   # float32[?,?]\n"), "{text}");
        assert!(text.contains("  \"state\": {values: {uniform: [-1, 1]}, batch_axis: 1}   # float32[2,?,128]\n"), "{text}");
        assert!(text.contains("  \"sr\": {values: {constant: 16000}, batch_axis: none}   # int64[]\n"), "{text}");
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(config.inputs["input"].shape, Some(vec![1, 128]));

        let sym = |n: &str| Dim::Free(Some(n.into()));
        let tokens: Vec<IoSpec> = ["input_ids", "attention_mask"]
            .iter()
            .map(|n| IoSpec {
                name: n.to_string(),
                kind: crate::runtime::ValueKind::Tensor { element: ElementType::Int64, dims: vec![sym("batch"), sym("sequence")] },
            })
            .collect();
        let text = starter_config("bert.onnx", &tokens, &[], None, None);
        assert!(text.contains("dims:\n  \"sequence\": 128\n"), "{text}");
        assert!(text.contains("\"attention_mask\": {values: ones, batch_axis: 0}"), "{text}");
        assert!(text.contains("\"input_ids\": {values: {integers: [1, 100]}, batch_axis: 0}"), "{text}");
        assert_eq!(Config::from_yaml(&text, "starter").unwrap().dims["sequence"], 128);
    }

    #[test]
    fn a_sample_header_of_the_right_width_becomes_the_feature_order() {
        let inputs = vec![IoSpec::tensor("x", ElementType::Float32, &[None, Some(2)])];
        let header = SampleHeader { file: "rows.csv".into(), columns: vec!["age".into(), "income".into()] };
        let text = starter_config("m.onnx", &inputs, &[], None, Some(&header));
        let config = Config::from_yaml(&text, "starter").unwrap();
        assert_eq!(config.checks.schema_parity.feature_names, Some(vec!["age".to_string(), "income".to_string()]));
        let wide = SampleHeader { file: "rows.csv".into(), columns: vec!["a".into(), "b".into(), "c".into()] };
        let text = starter_config("m.onnx", &inputs, &[], None, Some(&wide));
        assert!(text.contains("# rows.csv has 3 columns; input 'x' takes 2: feature_names not written."), "{text}");
        assert_eq!(Config::from_yaml(&text, "starter").unwrap().checks.schema_parity.feature_names, None);
    }
}
