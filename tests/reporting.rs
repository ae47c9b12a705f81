//! Report formats, outputs, severity flags, baselines, the README writer and `ready init`,
//! through the real binary.

mod common;

use std::path::Path;

use common::{audit, ready, usage_error};

/// Replaces what differs between machines and runs: the runtime path, the machine, timings.
fn normalize(text: &str) -> String {
    normalize_lines(&normalize_names(text))
}

/// Replaces the runtime library path and the machine description.
fn normalize_names(text: &str) -> String {
    let report = audit("fixtures/models/iris_rf.onnx", &["--config", "fixtures/configs/snapshot.yaml"]).json;
    let machine = &report["machine"];
    let described = format!(
        "{} ({} logical cores), {} {}",
        machine["cpu"].as_str().unwrap(),
        machine["logical_cores"],
        machine["os"].as_str().unwrap(),
        machine["arch"].as_str().unwrap()
    );
    let library = report["runtime"]["library"].as_str().unwrap().to_string();
    text.replace(&library, "[ORT_LIB]").replace(&described, "[MACHINE]")
}

/// Replaces measured values at the end of cold-start and memory lines.
fn normalize_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            for marker in ["cold start: session created in", "peak memory after load:"] {
                if let Some(i) = line.find(marker) {
                    let rest = &line[i + marker.len()..];
                    let end = rest.find(['<', '"']).unwrap_or(rest.len());
                    return format!("{}{marker} [MEASURED]{}", &line[..i], &rest[end..]);
                }
            }
            line.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_format(format: &str, sample: &str) -> (i32, String) {
    let (code, raw) = run_format_raw(format, sample);
    (code, normalize(&raw))
}

fn run_format_raw(format: &str, sample: &str) -> (i32, String) {
    let output = ready()
        .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", sample, "--project", "fixtures/projects/python_unpinned"])
        .args(["--config", "fixtures/configs/snapshot.yaml", "--format", format, "-q"])
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    (output.status.code().unwrap(), String::from_utf8(output.stdout).unwrap())
}

#[test]
fn table_snapshot() {
    let (code, text) = run_format("table", "fixtures/samples/iris_renamed.csv");
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn sarif_results_are_the_warned_and_failed_checks_located_at_their_files() {
    let (code, text) = run_format_raw("sarif", "fixtures/samples/iris_renamed.csv");
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (json_code, json) = run_format_raw("json", "fixtures/samples/iris_renamed.csv");
    assert_eq!(json_code, 1);
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let level = |status: &str| match status {
        "fail" => Some("error"),
        "warn" => Some("warning"),
        _ => None,
    };
    let expected: Vec<(String, String)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| level(c["status"].as_str().unwrap()).map(|l| (c["id"].as_str().unwrap().to_string(), l.to_string())))
        .collect();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let found: Vec<(String, String)> =
        results.iter().map(|r| (r["ruleId"].as_str().unwrap().to_string(), r["level"].as_str().unwrap().to_string())).collect();
    assert_eq!(found, expected);
    let uris = |id: &str| -> Vec<String> {
        let result = results.iter().find(|r| r["ruleId"] == id).unwrap();
        result["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(uris("schema_parity"), ["fixtures/samples/iris_renamed.csv", "fixtures/models/iris_rf.onnx"]);
    assert_eq!(uris("lockfile"), ["fixtures/projects/python_unpinned/requirements.txt", "fixtures/models/iris_rf.onnx"]);
    assert_eq!(sarif["runs"][0]["invocations"][0]["exitCode"], 1);
}

#[test]
fn markdown_snapshot() {
    let (code, text) = run_format("markdown", "fixtures/samples/iris_renamed.csv");
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn junit_snapshot() {
    let (code, text) = run_format("junit", "fixtures/samples/iris_renamed.csv");
    assert_eq!(code, 1);
    insta::assert_snapshot!(text);
}

#[test]
fn json_snapshot() {
    let (code, text) = run_format_raw("json", "fixtures/samples/iris.csv");
    assert_eq!(code, 1);
    let mut json: serde_json::Value = serde_json::from_str(&normalize_names(&text)).unwrap();
    for detail in json["checks"][0]["details"].as_array_mut().unwrap() {
        *detail = serde_json::json!(normalize_lines(detail.as_str().unwrap()));
    }
    // The deployment recommendation comes from the measured numbers beside it, exactly.
    let peak = json["checks"][0]["metrics"]["peak_rss_after_load_bytes"].as_u64().unwrap();
    let cold_ms =
        json["checks"][0]["metrics"]["session_create_ms"].as_f64().unwrap() + json["checks"][0]["metrics"]["first_inference_ms"].as_f64().unwrap();
    let recommended = &mut json["deployment_recommendation"];
    let mib = 1u64 << 20;
    assert_eq!(recommended["memory"]["peak_rss_bytes"], peak);
    assert_eq!(recommended["memory"]["request"], format!("{}Mi", peak.div_ceil(mib)));
    assert_eq!(recommended["memory"]["limit"], format!("{}Mi", (peak * 3).div_ceil(2).div_ceil(mib)));
    assert!((recommended["startup_probe"]["cold_start_ms"].as_f64().unwrap() - cold_ms).abs() < 1e-6, "{recommended}");
    // Latency is not run here: no probe timeout and no CPU are made up (null in the snapshot).
    for (object, key) in [("memory", "peak_rss_bytes"), ("memory", "request"), ("memory", "limit"), ("startup_probe", "cold_start_ms")] {
        recommended[object][key] = serde_json::json!("[MEASURED]");
    }
    let metrics = &mut json["checks"][0]["metrics"];
    for key in ["session_create_ms", "first_inference_ms", "peak_rss_after_load_bytes"] {
        assert!(metrics[key].as_f64().unwrap() > 0.0, "{key}");
        metrics[key] = serde_json::json!("[MEASURED]");
    }
    json["machine"] = serde_json::json!("[MACHINE]");
    // What the audit cost is measured: its shape is asserted, its values are not snapshotted.
    let cost = &json["cost"];
    let ids: Vec<&str> = cost["checks"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "serialization",
            "schema_parity",
            "domain",
            "drift",
            "empty_batch",
            "robustness",
            "output_sanity",
            "determinism",
            "golden_parity",
            "latency",
            "deployment",
            "lockfile",
            "baseline",
            "hardcoded_paths"
        ]
    );
    assert!(cost["wall_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(cost["memory"]["budget_bytes"], 1u64 << 30);
    assert_eq!(cost["probe_children"].as_array().unwrap().len(), 1, "one child ran every probe: {cost}");
    let audit_peak = cost["memory"]["audit_peak_rss_bytes"].as_u64().unwrap();
    assert!(audit_peak >= cost["memory"]["ready_peak_rss_bytes"].as_u64().unwrap() && audit_peak < 1 << 30, "{cost}");
    json["cost"] = serde_json::json!("[MEASURED]");
    insta::assert_json_snapshot!(json);
}

/// Parses JUnit XML and returns (testcase name, child element) pairs.
fn junit_cases(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current = None;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if name == "testcase" {
                    let attr = e.try_get_attribute("name").unwrap().unwrap();
                    current = Some(String::from_utf8(attr.value.to_vec()).unwrap());
                } else if let Some(case) = &current
                    && matches!(name.as_str(), "failure" | "skipped" | "system-out")
                {
                    cases.push((case.clone(), name));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    cases
}

#[test]
fn junit_parses_with_one_testcase_per_check_and_failures_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let xml_path = dir.path().join("ready.xml");
    let run = audit(
        "fixtures/models/iris_rf.onnx",
        &["--sample", "fixtures/samples/iris_renamed.csv", "--output", xml_path.to_str().unwrap(), "--skip", "latency"],
    );
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    let cases = junit_cases(&xml);
    let expected: Vec<(String, String)> = run.json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let kind = match c["status"].as_str().unwrap() {
                "fail" => "failure",
                "skip" => "skipped",
                _ => "system-out",
            };
            (c["id"].as_str().unwrap().to_string(), kind.to_string())
        })
        .collect();
    assert_eq!(cases, expected);
    assert!(xml.contains(r#"<testsuites name="ready" tests="14" failures="1" errors="0" skipped="5">"#), "{xml}");
}

#[test]
fn several_outputs_are_written_in_the_format_their_extension_names() {
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<String> = ["r.json", "r.xml", "r.md", "r.txt"].iter().map(|n| dir.path().join(n).display().to_string()).collect();
    let mut cmd = ready();
    cmd.args(["audit", "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/fast.yaml", "-q"]);
    for path in &paths {
        cmd.args(["--output", path]);
    }
    let output = cmd.output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let read = |i: usize| std::fs::read_to_string(&paths[i]).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&read(0)).unwrap()["schema_version"], 1);
    assert!(read(1).starts_with("<?xml"));
    assert!(read(2).starts_with("## ✅ `fixtures/models/iris_rf.onnx` is ready"));
    assert!(read(3).contains("READY: "));
    assert_eq!(String::from_utf8(output.stdout).unwrap(), read(3), "stdout is the table, same as the .txt output");
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--output", "report.html"]);
    assert!(stderr.contains("--output report.html: unknown report format"), "{stderr}");
    let stderr =
        usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/fast.yaml", "--output", "/nonexistent/dir/r.json"]);
    assert!(stderr.contains("--output /nonexistent/dir/r.json: the folder /nonexistent/dir does not exist"), "{stderr}");
}

#[test]
fn the_markdown_summary_is_appended_to_github_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "previous step\n").unwrap();
    for _ in 0..2 {
        let status = ready()
            .args(["audit", "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/fast.yaml", "-q", "--format", "json"])
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap()
            .status;
        assert_eq!(status.code(), Some(0));
    }
    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("previous step\n## ✅"), "{text}");
    assert_eq!(text.matches("| check | status | severity | summary |").count(), 2);
}

#[test]
fn severity_flags_override_the_config() {
    let base = ["--project", "fixtures/projects/python_unpinned"];
    let run = audit("fixtures/models/iris_rf.onnx", &base);
    assert_eq!((run.status("lockfile"), run.code), ("fail".into(), 1));
    let run = audit("fixtures/models/iris_rf.onnx", &[&base[..], &["--warn", "lockfile"]].concat());
    assert_eq!((run.status("lockfile"), run.code), ("warn".into(), 0));
    let run = audit("fixtures/models/iris_rf.onnx", &[&base[..], &["--warn", "lockfile", "--deny-warnings"]].concat());
    assert_eq!((run.status("lockfile"), run.code), ("warn".into(), 1));
    assert_eq!(run.json["deny_warnings"], true);
    let run = audit("fixtures/models/iris_rf.onnx", &[&base[..], &["--allow", "lockfile,latency"]].concat());
    assert_eq!((run.status("lockfile"), run.status("latency"), run.code), ("skip".into(), "skip".into(), 0));
    let run = audit("fixtures/models/iris_rf.onnx", &[&base[..], &["--only", "serialization,empty_batch"]].concat());
    assert_eq!(
        run.statuses(),
        [
            "serialization=pass",
            "schema_parity=skip",
            "domain=skip",
            "drift=skip",
            "empty_batch=pass",
            "robustness=skip",
            "output_sanity=skip",
            "determinism=skip",
            "golden_parity=skip",
            "latency=skip",
            "deployment=skip",
            "lockfile=skip",
            "baseline=skip",
            "hardcoded_paths=skip"
        ]
    );
    let run = audit("fixtures/models/iris_rf.onnx", &[&base[..], &["--skip", "lockfile"]].concat());
    assert_eq!((run.check("lockfile")["summary"].as_str().unwrap(), run.code), ("skipped (--skip)", 0));
    for flag in ["--deny", "--warn", "--allow", "--only", "--skip"] {
        let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", flag, "speed"]);
        assert!(stderr.contains(&format!("{flag}: unknown check 'speed'")), "{stderr}");
    }
}

fn write_baseline(dir: &Path, model: &str, edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json = audit(model, &[]).json;
    edit(&mut json);
    let path = dir.join("baseline.json");
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn a_latency_regression_against_the_baseline_fails() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strict.yaml");
    std::fs::write(&config, "checks:\n  latency:\n    runs: 30\n    p99_ms: 1000\n  baseline:\n    min_regression_ms: 0\n").unwrap();
    let baseline = write_baseline(dir.path(), "fixtures/models/iris_rf.onnx", |json| {
        let latency = json["checks"].as_array_mut().unwrap().iter_mut().find(|c| c["id"] == "latency").unwrap();
        latency["metrics"]["p50_ms"] = serde_json::json!(0.0000001);
        latency["metrics"]["p99_ms"] = serde_json::json!(0.0000001);
    });
    let run = audit("fixtures/models/iris_rf.onnx", &["--baseline", &baseline, "--config", config.to_str().unwrap()]);
    assert_eq!(run.status("baseline"), "fail", "{:?}", run.details("baseline"));
    assert!(run.check("baseline")["summary"].as_str().unwrap().contains("over the 20% allowed"));
    assert!(run.details("baseline").contains(&"model unchanged (same SHA-256)".to_string()));
    assert_eq!(run.code, 1);
}

#[test]
fn a_changed_model_and_schema_are_reported_against_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = write_baseline(dir.path(), "fixtures/models/iris_rf.onnx", |_| {});
    // Microsecond timings of 30 runs jitter by several times on a loaded machine: this test is
    // about the model and schema, so latency changes below 1 s are noise here.
    let config = dir.path().join("quiet.yaml");
    std::fs::write(&config, "checks:\n  latency: {runs: 30, p99_ms: null, max_ms: 1000, concurrency: 0}\n  baseline: {min_regression_ms: 1000}\n")
        .unwrap();
    let run = audit("fixtures/models/iris_rf_columns.onnx", &["--baseline", &baseline, "--config", config.to_str().unwrap()]);
    assert_eq!(run.status("baseline"), "warn", "{:?}", run.details("baseline"));
    let details = run.details("baseline");
    assert!(details[0].starts_with("model changed: sha256 04af6c647116 → "), "{details:?}");
    assert!(details.iter().any(|d| d.starts_with("inputs changed: (input: float32[?,4]) → (sepal_length: float32[?,1]")), "{details:?}");
    assert_eq!(run.code, 0);
}

#[test]
fn unusable_baselines_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let not_json = dir.path().join("b.json");
    std::fs::write(&not_json, "{").unwrap();
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--baseline", not_json.to_str().unwrap()]);
    assert!(stderr.contains("not a JSON report"), "{stderr}");
    let future = dir.path().join("future.json");
    std::fs::write(&future, r#"{"schema_version": 99}"#).unwrap();
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--baseline", future.to_str().unwrap()]);
    assert!(stderr.contains("schema_version 99 is not supported"), "{stderr}");
}

#[test]
fn a_baseline_giving_a_metric_twice_is_a_usage_error_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_baseline(dir.path(), "fixtures/models/iris_rf.onnx", |_| {});
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    let mut lines: Vec<String> = serde_json::to_string_pretty(&json).unwrap().lines().map(str::to_string).collect();
    // A second p99_ms before the first: a JSON reader would keep the report's own (the last).
    let at = lines.iter().position(|l| l.trim_start().starts_with("\"p99_ms\": ")).unwrap();
    let indent = &lines[at][..lines[at].len() - lines[at].trim_start().len()];
    lines.insert(at, format!("{indent}\"p99_ms\": 0.0000001,"));
    let baseline = dir.path().join("twice.json");
    std::fs::write(&baseline, lines.join("\n")).unwrap();
    let shown = baseline.to_str().unwrap();
    let stderr = usage_error(&["audit", "fixtures/models/iris_rf.onnx", "--baseline", shown]);
    assert_eq!(
        stderr.trim_end().lines().filter(|l| l.contains("appears twice")).collect::<Vec<_>>(),
        [format!(
            "error: --baseline {shown}: line {}: key 'p99_ms' appears twice in one object (a JSON reader keeps only the last); give each key once",
            at + 2
        )],
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn the_readme_section_is_written_idempotently_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "# Iris model\n\nHow to call it.\n\n## License\nMIT\n").unwrap();
    let report = dir.path().join("report.json");
    let status = ready()
        .args([
            "audit",
            "fixtures/models/iris_rf.onnx",
            "--config",
            "fixtures/configs/fast.yaml",
            "-q",
            "--project",
            "fixtures/projects/python_pinned",
        ])
        .args(["--output", report.to_str().unwrap()])
        .output()
        .unwrap()
        .status;
    assert_eq!(status.code(), Some(0));
    let write = || {
        let out = ready().args(["readme", readme.to_str().unwrap(), "--report", report.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert!(write().ends_with("Operational Constraints written\n"));
    let once = std::fs::read(&readme).unwrap();
    assert!(write().ends_with("Operational Constraints unchanged\n"));
    assert_eq!(std::fs::read(&readme).unwrap(), once, "writing twice gives the same bytes");
    let text = String::from_utf8(once).unwrap();
    assert!(text.starts_with("# Iris model\n\nHow to call it.\n\n## License\nMIT\n\n<!-- ready:operational-constraints:begin -->"));
    assert!(text.contains("| `input` | `float32[?,4]` |"));
    assert!(text.contains("| lock fingerprint | `sha256:"));
    // The Deployment table states the values the JSON report recommends.
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    let recommended = &json["deployment_recommendation"];
    let memory = format!(
        "| memory request / limit | `{}` / `{}` |",
        recommended["memory"]["request"].as_str().unwrap(),
        recommended["memory"]["limit"].as_str().unwrap()
    );
    assert!(text.contains("\n### Deployment\n") && text.contains(&memory), "{text}");
    assert!(text.contains("| startup probe budget | periodSeconds 5 × failureThreshold 1 = 5 s | cold start "), "{text}");
    assert!(text.contains("| readiness probe timeout | timeoutSeconds 1 | p99 "), "{text}");
    assert!(text.contains("| CPU request / limit | `1` / `1` | 1 intra-op thread(s) timed the latency |"), "{text}");

    // A fresh audit of the same model, with generous tolerances, agrees with the README.
    let check = |model: &str| {
        ready()
            .args(["readme", readme.to_str().unwrap(), model, "--check", "-q", "--project", "fixtures/projects/python_pinned"])
            .args(["--config", "fixtures/configs/readme_check.yaml"])
            .output()
            .unwrap()
    };
    let out = check("fixtures/models/iris_rf.onnx");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Another model no longer matches: exit 1 naming what changed.
    let out = check("fixtures/models/iris_rf_columns.onnx");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Operational Constraints no longer hold:"), "{stdout}");
    assert!(stdout.contains("  - model sha256: README says") && stdout.contains("  - inputs: README says"), "{stdout}");
}

#[test]
fn readme_check_without_a_section_fails_and_a_missing_readme_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let readme = dir.path().join("README.md");
    std::fs::write(&readme, "# Nothing generated here\n").unwrap();
    let out = ready()
        .args(["readme", readme.to_str().unwrap(), "fixtures/models/iris_rf.onnx", "--check", "--config", "fixtures/configs/fast.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("no Operational Constraints section"));
    let missing = dir.path().join("MISSING.md");
    let stderr = usage_error(&["readme", missing.to_str().unwrap(), "fixtures/models/iris_rf.onnx", "--config", "fixtures/configs/fast.yaml"]);
    assert!(stderr.contains("MISSING.md: No such file"), "{stderr}");
    usage_error(&["readme", readme.to_str().unwrap()]);
}

#[test]
fn init_deploy_prints_a_container_block_from_the_measured_model() {
    let out = ready()
        .args([
            "init",
            "fixtures/models/iris_rf.onnx",
            "--deploy",
            "--config",
            "fixtures/configs/fast.yaml",
            "--sample",
            "fixtures/samples/iris.csv",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let yaml: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    // The peak it was computed from is stated in a comment, in bytes.
    let peak: u64 =
        text.split("# memory: peak ").nth(1).and_then(|t| t.split(" (").nth(1)).and_then(|t| t.split(' ').next()).unwrap().parse().unwrap();
    let mib = 1u64 << 20;
    let quantities = |memory: u64| serde_json::json!({"memory": format!("{memory}Mi"), "cpu": "1"});
    let handler = serde_json::json!({"path": "/healthz", "port": 8080});
    assert_eq!(
        yaml,
        serde_json::json!({
            "resources": {"requests": quantities(peak.div_ceil(mib)), "limits": quantities((peak * 3).div_ceil(2).div_ceil(mib))},
            "startupProbe": {"httpGet": handler, "periodSeconds": 5, "failureThreshold": 1, "timeoutSeconds": 1},
            "readinessProbe": {"httpGet": handler, "timeoutSeconds": 1},
        })
    );
    let stderr = usage_error(&["init", "fixtures/models/not_onnx.onnx", "--deploy"]);
    assert!(stderr.contains("fixtures/models/not_onnx.onnx: nothing measured: the model did not load and answer a request"), "{stderr}");
    usage_error(&["init", "fixtures/models/iris_rf.onnx", "--deploy", "--output", "x.yaml"]);
}

#[test]
fn init_writes_a_starter_config_that_audits() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("audits/ready.yaml");
    let out = ready().args(["init", "fixtures/models/iris_rf.onnx", "--output", config.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains(r#"feature_names: ["sepal_length", "sepal_width", "petal_length", "petal_width"]"#), "{text}");
    let run =
        audit("fixtures/models/iris_rf.onnx", &["--config", config.to_str().unwrap(), "--sample", "fixtures/samples/iris.csv", "--allow", "latency"]);
    assert_eq!(run.status("schema_parity"), "pass");
    assert!(run.check("schema_parity")["summary"].as_str().unwrap().contains("(config feature_names)"));
    let stderr = usage_error(&["init", "fixtures/models/iris_rf.onnx", "--output", config.to_str().unwrap()]);
    assert!(stderr.contains("already exists (use --force to overwrite)"), "{stderr}");
    let out = ready().args(["init", "fixtures/models/iris_rf.onnx", "--output", config.to_str().unwrap(), "--force"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_sample_read_only_up_to_max_rows_says_so_with_the_file_s_row_count() {
    let dir = tempfile::tempdir().unwrap();
    let config = |rows: usize| {
        let path = dir.path().join(format!("max{rows}.yaml"));
        std::fs::write(&path, format!("sample:\n  max_rows: {rows}\nchecks:\n  latency:\n    runs: 5\n    p99_ms: null\n    concurrency: 0\n"))
            .unwrap();
        path.to_str().unwrap().to_string()
    };
    let (two, three) = (config(2), config(3));
    // A CSV whose last row holds a quoted line end: the scan reads records, not lines.
    let quoted = dir.path().join("quoted.csv");
    std::fs::write(&quoted, "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n\"7.7\n\",3.0,6.1,2.3\n").unwrap();
    let csv_cut = serde_json::json!({"max_rows": 2, "file_rows": null});
    for (sample, cut) in [
        ("fixtures/samples/iris.csv", csv_cut.clone()),
        ("fixtures/samples/iris.parquet", serde_json::json!({"max_rows": 2, "file_rows": 3})),
        ("fixtures/samples/iris.json", serde_json::json!({"max_rows": 2, "file_rows": 3})),
        (quoted.to_str().unwrap(), csv_cut),
    ] {
        let run = audit("fixtures/models/iris_rf.onnx", &["--config", &two, "--sample", sample, "--only", "schema_parity"]);
        assert_eq!((run.json["sample"]["rows"].clone(), run.json["sample"]["cut"].clone()), (serde_json::json!(2), cut), "{sample}");
        // Every row read: nothing is said.
        let run = audit("fixtures/models/iris_rf.onnx", &["--config", &three, "--sample", sample, "--only", "schema_parity"]);
        assert!(run.json["sample"].get("cut").is_none(), "{sample}: {}", run.json["sample"]);
    }
    let table = |sample: &str| {
        let out = ready()
            .args(["audit", "fixtures/models/iris_rf.onnx", "--config", &two, "--sample", sample, "--only", "schema_parity", "-q"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().lines().find(|l| l.starts_with("sample: ")).unwrap().to_string()
    };
    assert_eq!(table("fixtures/samples/iris.parquet"), "sample: fixtures/samples/iris.parquet (the first 2 of 3 rows (sample.max_rows), 4 columns)");
    assert_eq!(
        table("fixtures/samples/iris.csv"),
        "sample: fixtures/samples/iris.csv (the first 2 rows (sample.max_rows; the file holds more), 4 columns)"
    );
    // A row of empty fields past the cap is a row; a line of spaces is not.
    let header = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n";
    for (name, tail, cut) in [("empty_fields.csv", ",,,\n", true), ("spaces.csv", "   \n\n", false)] {
        let file = dir.path().join(name);
        std::fs::write(&file, format!("{header}{tail}")).unwrap();
        let run = audit("fixtures/models/iris_rf.onnx", &["--config", &two, "--sample", file.to_str().unwrap(), "--only", "schema_parity"]);
        assert_eq!(run.json["sample"].get("cut").is_some(), cut, "{name}: {}", run.json["sample"]);
    }
}
