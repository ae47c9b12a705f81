//! Serialization: the artifact is a safe format, a valid ONNX graph whose external data stays
//! inside its folder, and ONNX Runtime loads it. Reports size, SHA-256, IR/opset versions,
//! producer, and every input and output with its type.

use super::{AuditContext, Check, Outcome};
use crate::artifact::{ArtifactFormat, human_size};
use crate::runtime::tensor::format_ms;

pub struct Serialization;

impl Check for Serialization {
    fn id(&self) -> &'static str {
        "serialization"
    }

    fn description(&self) -> &'static str {
        "the artifact is valid ONNX, loads in ONNX Runtime, and keeps its external data inside its folder"
    }

    fn explanation(&self) -> &'static str {
        "What: the file decodes as an ONNX ModelProto (IR version, opsets, producer), every external-data \
         path stays inside the model's folder, and ONNX Runtime creates a session from it. Pickle-based \
         files (.pkl, .joblib, .pt) are refused without being opened.\n\
         Why: a truncated upload, a pickle that runs code when loaded, or weights read from outside the \
         model folder all ship silently and fail (or worse) in production.\n\
         Fix: re-export the model (skl2onnx, torch.onnx.export, tf2onnx); keep external data files next to \
         the .onnx file with relative names; never ship pickles to a serving path."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let artifact = ctx.artifact;
        let size = human_size(artifact.size_bytes);
        let with_identity = |o: Outcome| {
            o.with_metric("size_bytes", artifact.size_bytes)
                .with_metric("sha256", artifact.sha256.clone())
                .with_details([format!("sha256 {}", artifact.sha256), format!("size {size}")])
        };
        if artifact.format == ArtifactFormat::Pickle {
            let scan = artifact.pickle.clone().unwrap_or_default();
            let summary = match scan.dangerous.as_slice() {
                [] => "pickle-based artifact: loading it can run arbitrary code; never loaded".to_string(),
                [one] => format!("pickle-based artifact that runs code on load ({}); never loaded", one.split(':').next().unwrap_or(one)),
                many => format!("pickle-based artifact with {} code-running imports; never loaded", many.len()),
            };
            let mut details: Vec<String> = scan.dangerous.iter().map(|d| format!("dangerous: {d}")).collect();
            if !scan.imports.is_empty() {
                details.push(format!("imports on load: {}", scan.imports.join(", ")));
            }
            details.push(format!(
                "{} call(s) on load; scan {}{}",
                scan.calls,
                if scan.complete { "complete" } else { "incomplete" },
                scan.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            ));
            details.push("export the model to ONNX (skl2onnx, torch.onnx.export) and audit the .onnx file".to_string());
            return with_identity(Outcome::fail(summary))
                .with_details(details)
                .with_metric("pickle", serde_json::to_value(&scan).unwrap_or_default());
        }
        let info = match &artifact.onnx {
            Ok(info) => info,
            Err(decode_error) => {
                let runtime_reason = ctx.runner.as_ref().err().cloned().unwrap_or_default();
                let mut outcome = with_identity(Outcome::fail(format!("not a valid ONNX model: {decode_error}")));
                if runtime_reason == crate::artifact::UNDECODED {
                    outcome = outcome.with_details([runtime_reason]);
                } else if !runtime_reason.is_empty() {
                    outcome = outcome.with_details([format!("ONNX Runtime: {runtime_reason}")]);
                }
                return outcome;
            }
        };
        let escapes = artifact.external_data_problems.clone();
        if !escapes.is_empty() {
            return with_identity(Outcome::fail(format!("{} external-data reference(s) outside the model folder; not loaded", escapes.len())))
                .with_details(escapes);
        }
        let opsets: Vec<String> =
            info.opsets.iter().map(|(domain, v)| format!("{} {v}", if domain.is_empty() { "ai.onnx" } else { domain })).collect();
        let producer = match (info.producer_name.as_str(), info.producer_version.as_str()) {
            ("", _) => "unknown producer".to_string(),
            (name, "") => name.to_string(),
            (name, version) => format!("{name} {version}"),
        };
        let mut details = vec![format!("IR version {}, opsets: {}", info.ir_version, opsets.join(", "))];
        details.push(format!("producer: {producer}; graph '{}' with {} nodes", info.graph_name, info.node_count));
        if !info.external_data.is_empty() {
            details.push(format!("{} tensor(s) in external data files, all inside the model folder", info.external_data.len()));
        }
        for (key, value) in &info.metadata {
            details.push(format!("metadata {key} = {value}"));
        }
        let opset = match info.default_opset() {
            Some(v) => format!("opset {v}"),
            None => opsets.first().cloned().unwrap_or_else(|| "no opset".to_string()),
        };
        // A producer string can be a multi-line build report (CatBoost's): on one line, bounded.
        let short_producer = super::one_line(&producer, 40);
        let mut outcome = Outcome::pass(format!("valid ONNX, IR {}, {opset}, {short_producer}, {size}", info.ir_version))
            .with_metric("ir_version", info.ir_version)
            .with_metric("producer", producer.clone())
            .with_metric("opsets", serde_json::to_value(&info.opsets).unwrap_or_default());
        let runner = match ctx.runner {
            Ok(runner) => runner,
            Err(ref reason) => {
                return with_identity(Outcome::fail(format!("ONNX Runtime could not load the model: {reason}"))).with_details(details);
            }
        };
        for input in runner.inputs() {
            details.push(format!("input  {}: {}", input.name, input.kind));
        }
        for output in runner.outputs() {
            details.push(format!("output {}: {}", output.name, output.kind));
        }
        if let Some(cold) = ctx.cold_start {
            let ms = cold.session_create.as_secs_f64() * 1e3;
            outcome = outcome.with_metric("session_create_ms", ms);
            let mut line = format!("cold start: session created in {}", format_ms(ms));
            if let Some(first) = cold.first_inference {
                let first_ms = first.as_secs_f64() * 1e3;
                outcome = outcome.with_metric("first_inference_ms", first_ms);
                line.push_str(&format!(", first inference {}", format_ms(first_ms)));
            }
            details.push(line);
            if let Some(peak) = cold.peak_rss_after_load {
                outcome = outcome.with_metric("peak_rss_after_load_bytes", peak);
                details.push(format!("peak memory after load: {}", human_size(peak)));
            }
        }
        outcome.metrics.insert("inputs".into(), serde_json::to_value(runner.inputs()).unwrap_or_default());
        outcome.metrics.insert("outputs".into(), serde_json::to_value(runner.outputs()).unwrap_or_default());
        with_identity(outcome).with_details(details)
    }
}
