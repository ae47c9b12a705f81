//! SARIF 2.1.0 (`--format sarif`), the format GitHub code scanning reads: one run, one rule per
//! registered check (plus `verified`), one result per warned or failed check, located at the
//! file it is about: the lockfiles for `lockfile`, the sample and the model for `schema_parity`,
//! the model for the rest. Built with `serde-sarif`'s typed structs; every string from a model,
//! a sample or a path is JSON-escaped by serde and shown without control or bidi characters.

use serde_sarif::sarif;

use super::escape::terminal;
use super::{CheckResult, Report};
use crate::checks::{REGISTRY, Status};

/// The rule an audit that never ran its model on a valid input is reported under.
const VERIFIED_RULE: &str = "verified";

/// Renders the report as SARIF JSON bytes.
pub fn render_sarif(report: &Report) -> Vec<u8> {
    let mut results: Vec<sarif::Result> = report.checks.iter().filter_map(|check| check_result(report, check)).collect();
    if let Some(why) = &report.not_verified {
        let level = if report.exit_code != 0 { sarif::ResultLevel::Error } else { sarif::ResultLevel::Warning };
        results.push(result(VERIFIED_RULE, REGISTRY.len(), level, &[why.line()], vec![location(&report.model.path)]));
    }
    let driver = sarif::ToolComponent::builder()
        .name("ready")
        .version(report.ready_version.as_str())
        .information_uri("https://github.com/ready-ml/ready")
        .rules(rules())
        .build();
    let invocation = sarif::Invocation::builder().execution_successful(true).exit_code(i64::from(report.exit_code)).build();
    let run = sarif::Run::builder().tool(driver).results(results).invocations(vec![invocation]).build();
    let log = sarif::Sarif::builder().schema(sarif::SCHEMA_URL).version(serde_json::Value::String("2.1.0".to_string())).runs(vec![run]).build();
    let mut bytes = serde_json::to_vec_pretty(&log).expect("SARIF structs contain only serializable data");
    bytes.push(b'\n');
    bytes
}

/// One rule per registered check, in registry order, then `verified`.
fn rules() -> Vec<sarif::ReportingDescriptor> {
    let mut rules: Vec<sarif::ReportingDescriptor> = REGISTRY
        .iter()
        .map(|check| {
            sarif::ReportingDescriptor::builder()
                .id(check.id())
                .name(check.id())
                .short_description(sarif::MultiformatMessageString::builder().text(check.description()).build())
                .full_description(sarif::MultiformatMessageString::builder().text(check.explanation()).build())
                .help(sarif::MultiformatMessageString::builder().text(check.explanation()).build())
                .build()
        })
        .collect();
    rules.push(
        sarif::ReportingDescriptor::builder()
            .id(VERIFIED_RULE)
            .name(VERIFIED_RULE)
            .short_description(sarif::MultiformatMessageString::builder().text("the model ran on at least one valid input").build())
            .build(),
    );
    rules
}

/// The result for a warned or failed check; `None` for a pass or a skip.
fn check_result(report: &Report, check: &CheckResult) -> Option<sarif::Result> {
    let level = match check.status {
        Status::Fail => sarif::ResultLevel::Error,
        Status::Warn => sarif::ResultLevel::Warning,
        Status::Pass | Status::Skip => return None,
    };
    let index = REGISTRY.iter().position(|c| c.id() == check.id)?;
    let mut lines = vec![check.summary.clone()];
    lines.extend(check.details.iter().cloned());
    Some(result(&check.id, index, level, &lines, locations(report, check)))
}

fn result(rule: &str, index: usize, level: sarif::ResultLevel, lines: &[String], locations: Vec<sarif::Location>) -> sarif::Result {
    let text = lines.iter().map(|line| terminal(line)).collect::<Vec<_>>().join("\n");
    sarif::Result::builder()
        .rule_id(rule)
        .rule_index(i64::try_from(index).unwrap_or(-1))
        .level(level)
        .message(sarif::Message::builder().text(text).build())
        .locations(locations)
        .build()
}

/// The files a check's finding is about, most specific first.
fn locations(report: &Report, check: &CheckResult) -> Vec<sarif::Location> {
    let mut paths: Vec<String> = Vec::new();
    match check.id.as_str() {
        "lockfile" => {
            let files = check.metrics.get("lockfiles").and_then(|v| v.as_array());
            paths.extend(files.into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)));
        }
        "schema_parity" => paths.extend(report.sample.iter().map(|s| s.path.clone())),
        // The manifests with a warning or a failure, each once.
        "deployment" => {
            let findings = check.metrics.get("findings").and_then(|v| v.as_array());
            for file in findings.into_iter().flatten().filter(|f| f["level"] != "ok").filter_map(|f| f["file"].as_str()) {
                if !paths.iter().any(|p| p == file) {
                    paths.push(file.to_string());
                }
            }
        }
        _ => {}
    }
    paths.push(report.model.path.clone());
    paths.iter().map(|p| location(p)).collect()
}

/// A location at `path`: relative paths against `%SRCROOT%` (the checkout, for code scanning),
/// absolute ones (`/…`, `C:\…`) as `file://` URIs.
fn location(path: &str) -> sarif::Location {
    let normalized = path.replace('\\', "/");
    let drive = normalized.as_bytes().get(..3).filter(|p| p[0].is_ascii_alphabetic() && &p[1..] == b":/").map(|_| &normalized[..2]);
    let artifact = if normalized.starts_with('/') {
        sarif::ArtifactLocation::builder().uri(format!("file://{}", percent_encode(&normalized))).build()
    } else if let Some(drive) = drive {
        sarif::ArtifactLocation::builder().uri(format!("file:///{drive}{}", percent_encode(&normalized[2..]))).build()
    } else {
        let relative = normalized.trim_start_matches("./");
        sarif::ArtifactLocation::builder().uri(percent_encode(relative)).uri_base_id("%SRCROOT%").build()
    };
    sarif::Location::builder().physical_location(sarif::PhysicalLocation::builder().artifact_location(artifact).build()).build()
}

/// A path as a URI reference (RFC 3986): unreserved characters and `/` as they are, every other
/// byte of the UTF-8 encoding as `%XX` (spaces, `#`, `?`, `%`, control characters, non-ASCII).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::ArtifactFormat;
    use crate::checks::Outcome;
    use crate::config::Severity;
    use crate::report::{ModelFacts, NotVerified, SampleFacts};
    use crate::sample::SampleFormat;

    fn report() -> Report {
        let model =
            ModelFacts { path: "models/évil \u{1b}[2J\u{202e}.onnx".into(), size_bytes: 1, sha256: "0".repeat(64), format: ArtifactFormat::Onnx };
        let sample = SampleFacts {
            path: "data/rows.csv".into(),
            format: SampleFormat::Csv,
            rows: 1,
            columns: vec!["a\"b".into()],
            shapes: Vec::new(),
            cut: None,
        };
        let mut lockfile =
            Outcome::warn("requirements.txt: 1/2 pinned").with_details(["requirements.txt: line 2: 'numpy' is not pinned".to_string()]);
        lockfile = lockfile.with_metric("lockfiles", vec!["requirements.txt".to_string(), "sub dir/uv.lock".to_string()]);
        let checks = vec![
            CheckResult::new("serialization", Severity::Deny, Outcome::pass("valid")),
            CheckResult::new("schema_parity", Severity::Deny, Outcome::fail("missing column 'x\u{7}'").with_details(["line\nbreak".to_string()])),
            CheckResult::new("lockfile", Severity::Deny, lockfile),
            CheckResult::new("latency", Severity::Warn, Outcome::fail("p99 too slow")),
            CheckResult::new("baseline", Severity::Deny, Outcome::skip("no --baseline given")),
        ];
        Report::new(model, Some(sample), None, None, checks, false)
    }

    #[test]
    fn warned_and_failed_checks_become_located_results() {
        let json: serde_json::Value = serde_json::from_slice(&render_sarif(&report())).unwrap();
        assert_eq!(json["version"], "2.1.0");
        let run = &json["runs"][0];
        let rules: Vec<&str> = run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut expected: Vec<&str> = REGISTRY.iter().map(|c| c.id()).collect();
        expected.push("verified");
        assert_eq!(rules, expected);
        let results = run["results"].as_array().unwrap();
        let summary: Vec<(String, String, i64, Vec<String>)> = results
            .iter()
            .map(|r| {
                let uris =
                    r["locations"].as_array().unwrap().iter().map(|l| l["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string());
                (r["ruleId"].as_str().unwrap().into(), r["level"].as_str().unwrap().into(), r["ruleIndex"].as_i64().unwrap(), uris.collect())
            })
            .collect();
        let model = "models/%C3%A9vil%20%1B%5B2J%E2%80%AE.onnx".to_string();
        assert_eq!(
            summary,
            vec![
                ("schema_parity".into(), "error".into(), 1, vec!["data/rows.csv".into(), model.clone()]),
                ("lockfile".into(), "warning".into(), 11, vec!["requirements.txt".into(), "sub%20dir/uv.lock".into(), model.clone()]),
                ("latency".into(), "warning".into(), 9, vec![model]),
            ]
        );
        // Control and bidi characters from the model or sample are shown, never passed on.
        assert_eq!(results[0]["message"]["text"], "missing column 'x\\x07'\nline\\nbreak");
        assert_eq!(run["invocations"][0]["exitCode"], 1);
    }

    #[test]
    fn a_ready_report_has_no_results_and_not_verified_is_one() {
        let model = ModelFacts { path: "m.onnx".into(), size_bytes: 1, sha256: "0".repeat(64), format: ArtifactFormat::Onnx };
        let ready = Report::new(model, None, None, None, vec![CheckResult::new("serialization", Severity::Deny, Outcome::pass("valid"))], false);
        let json: serde_json::Value = serde_json::from_slice(&render_sarif(&ready)).unwrap();
        assert_eq!(json["runs"][0]["results"], serde_json::json!([]));
        let unverified = ready.mark_not_verified(NotVerified { checks: vec!["latency".into()], advice: "Give --sample.".into() }, true);
        let json: serde_json::Value = serde_json::from_slice(&render_sarif(&unverified)).unwrap();
        let result = &json["runs"][0]["results"][0];
        assert_eq!((result["ruleId"].as_str(), result["level"].as_str()), (Some("verified"), Some("error")));
        assert_eq!(result["ruleIndex"], REGISTRY.len());
    }

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(percent_encode("models/my model#1.onnx"), "models/my%20model%231.onnx");
        assert_eq!(percent_encode("données/ü\n.csv"), "donn%C3%A9es/%C3%BC%0A.csv");
        let json = serde_json::to_value(location("./models/m.onnx")).unwrap();
        assert_eq!(json["physicalLocation"]["artifactLocation"], serde_json::json!({"uri": "models/m.onnx", "uriBaseId": "%SRCROOT%"}));
        let json = serde_json::to_value(location("/abs/m m.onnx")).unwrap();
        assert_eq!(json["physicalLocation"]["artifactLocation"], serde_json::json!({"uri": "file:///abs/m%20m.onnx"}));
        let json = serde_json::to_value(location("C:\\repo\\m.onnx")).unwrap();
        assert_eq!(json["physicalLocation"]["artifactLocation"], serde_json::json!({"uri": "file:///C:/repo/m.onnx"}));
    }
}
