//! The audit's memory budget on the real binary (issue 17): `limits.memory_budget_mb` when the
//! config sets it, else the memory limit a `--deploy` manifest declares for the serving
//! container (capped by the machine, at least 128 MiB), else 1 GiB; the JSON report says the
//! budget, where it came from, and the largest oversized batch that fit. A small declared limit
//! fails the deployment check and changes no other verdict.

mod common;

use common::audit;

const IRIS: &str = "fixtures/models/iris_rf.onnx";
const SAMPLE: &str = "fixtures/samples/iris.csv";
const CORRECT: &str = "fixtures/deploy/correct/deployment.yaml";
const MIB: u64 = 1 << 20;
const LIMIT_FIELD: &str = "spec.template.spec.containers[0].resources.limits.memory";

/// The fast test config with the throughput modes on, so the per-thread sessions are sized from
/// the budget too.
const THROUGHPUT_CONFIG: &str =
    "checks:\n  latency:\n    warmup_runs: 3\n    runs: 30\n    p99_ms: null\n    max_ms: null\n    concurrency: 2\n    throughput_seconds: 0.05\n";

fn memory(run: &common::Audit) -> &serde_json::Value {
    &run.json["cost"]["memory"]
}

#[test]
fn a_declared_memory_limit_is_the_budget_and_the_report_says_where_it_came_from() {
    let run = audit(IRIS, &["--sample", SAMPLE, "--deploy", CORRECT, "--skip", "lockfile"]);
    assert_eq!(
        run.statuses(),
        [
            "serialization=pass",
            "schema_parity=pass",
            "domain=pass",
            "drift=skip",
            "empty_batch=pass",
            "robustness=pass",
            "output_sanity=pass",
            "determinism=pass",
            "golden_parity=skip",
            "latency=pass",
            "deployment=pass",
            "lockfile=skip",
            "baseline=skip",
            "hardcoded_paths=pass"
        ],
        "{}",
        run.json
    );
    assert_eq!(run.code, 0);
    let memory = memory(&run);
    assert_eq!(memory["budget_bytes"], 2048 * MIB);
    assert_eq!(memory["budget_source"], format!("{CORRECT}:23 {LIMIT_FIELD}"));
    assert_eq!(memory["budget_declared_bytes"], 2048 * MIB);
    assert_eq!(memory["budget_capped_by_machine"], false);
    // The largest oversized batch that fit: all 4096 rows in 2 GiB.
    assert_eq!(memory["oversized"]["wanted"], 4096);
    assert_eq!(memory["oversized"]["rows"], 4096);
    assert_eq!(memory["oversized"]["limit"]["bound"], "budget");
}

#[test]
fn a_budget_set_in_the_config_wins_over_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("audit.yaml");
    std::fs::write(&config, "limits:\n  memory_budget_mb: 512\n").unwrap();
    let run = audit(IRIS, &["--only", "deployment", "--deploy", CORRECT, "--config", config.to_str().unwrap()]);
    // Latency did not run: the probe timeouts are advice.
    assert_eq!(run.status("deployment"), "warn");
    assert_eq!(memory(&run)["budget_bytes"], 512 * MIB);
    assert_eq!(memory(&run)["budget_source"], "config");
    assert_eq!(memory(&run)["budget_declared_bytes"], serde_json::Value::Null);
    // No manifest: the default.
    let run = audit(IRIS, &["--only", "deployment", "--config", config.to_str().unwrap(), "--project", "fixtures/deploy/correct"]);
    assert_eq!(memory(&run)["budget_source"], "config");
    // A manifest found under --project declares the budget as one named by --deploy does.
    let run = audit(IRIS, &["--only", "deployment", "--project", "fixtures/deploy/correct"]);
    assert_eq!(memory(&run)["budget_bytes"], 2048 * MIB);
    assert_eq!(memory(&run)["budget_source"], format!("{CORRECT}:23 {LIMIT_FIELD}"));
    let run = audit(IRIS, &["--only", "deployment"]);
    assert_eq!(run.status("deployment"), "skip");
    assert_eq!(memory(&run)["budget_bytes"], 1024 * MIB);
    assert_eq!(memory(&run)["budget_source"], "default");
}

#[test]
fn a_tiny_declared_limit_fails_the_deployment_and_changes_no_other_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("deployment.yaml");
    std::fs::write(&manifest, std::fs::read_to_string(CORRECT).unwrap().replace("2Gi", "64Mi")).unwrap();
    let config = dir.path().join("audit.yaml");
    std::fs::write(&config, THROUGHPUT_CONFIG).unwrap();
    let (manifest, config) = (manifest.to_str().unwrap(), config.to_str().unwrap());
    let common = ["--sample", SAMPLE, "--skip", "lockfile", "--config", config];
    let without = audit(IRIS, &common);
    let with = audit(IRIS, &[&common[..], &["--deploy", manifest]].concat());

    assert_eq!(with.code, 1, "{}", with.json);
    assert_eq!(without.code, 0, "{}", without.json);
    assert_eq!(with.status("deployment"), "fail");
    assert_eq!(without.status("deployment"), "skip");
    let failed: Vec<String> = with.details("deployment").into_iter().filter(|d| d.starts_with("fail ")).collect();
    let expected = format!("fail {manifest}:23: Deployment/iris container \"server\" {LIMIT_FIELD}: 64Mi is below the measured peak ");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].starts_with(&expected), "{failed:?}");
    assert_eq!(with.status("robustness"), "pass");
    let others = |run: &common::Audit| run.statuses().into_iter().filter(|s| !s.starts_with("deployment=")).collect::<Vec<_>>();
    assert_eq!(others(&with), others(&without));

    // The budget: the declared 64 MiB raised to the smallest budget, 128 MiB.
    let memory = memory(&with);
    assert_eq!(memory["budget_bytes"], 128 * MIB);
    assert_eq!(memory["budget_source"], format!("{manifest}:23 {LIMIT_FIELD}"));
    assert_eq!(memory["budget_declared_bytes"], 64 * MIB);
    assert_eq!(memory["budget_capped_by_machine"], false);
    // The throughput modes ran (the per-thread one measured, or said not to fit beside ready's
    // own memory in 128 MiB: which depends on the build's size, never a verdict).
    let throughput = &with.check("latency")["metrics"]["throughput"];
    assert_eq!(throughput["threads"], 2, "{throughput}");
    assert!(throughput["shared_session"]["requests_per_second"].is_f64(), "{throughput}");
}

#[test]
fn verbose_says_the_budget_and_where_it_came_from() {
    let output = common::ready()
        .args(["audit", IRIS, "--only", "deployment", "--deploy", CORRECT, "--config", "fixtures/configs/fast.yaml", "--verbose"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let expected = format!("against a budget of 2.0 GiB (from {CORRECT}:23 {LIMIT_FIELD}); the model's serving peak ");
    assert!(stdout.contains(&expected), "{stdout}");
}

/// The oversized probe's detail from the sizing the JSON reports: `wide_rows.onnx` returns
/// 256 KiB a row, so a 256 MiB budget cuts the 4096 configured rows.
fn oversized_detail(memory: &serde_json::Value, budget: &str, raise: &str) -> String {
    let sizing = &memory["oversized"];
    let size = |key: &str| ready::artifact::human_size(sizing[key].as_u64().unwrap());
    format!(
        "oversized batch: valid output: {} of the 4096 rows asked for (checks.robustness.oversized_rows) ran, with finite output: \
         ready's memory budget ({budget}) limited the batch (the probe had {} to spare under its {} MiB limit, about {} a row by a \
         measured estimate); raise {raise} to try 4096 rows",
        sizing["rows"],
        size("available_bytes"),
        sizing["limit"]["bytes"].as_u64().unwrap() / MIB,
        size("per_row_bytes"),
    )
}

#[test]
fn a_batch_the_budget_cut_says_the_configured_rows_the_rows_run_and_what_to_raise() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("budget.yaml");
    std::fs::write(&config, "limits:\n  memory_budget_mb: 256\n").unwrap();
    let run = audit("fixtures/models/wide_rows.onnx", &["--only", "robustness", "--config", config.to_str().unwrap()]);
    // The budget is ready's cost, not a model finding: the oversized probe still passes (the
    // check warns for the non-finite probes, which propagate NaN/Inf).
    assert_eq!(run.status("robustness"), "warn", "{}", run.json);
    let cost = memory(&run);
    assert_eq!((cost["oversized"]["wanted"].as_u64(), cost["oversized"]["limit"]["bound"].as_str()), (Some(4096), Some("budget")));
    let rows = cost["oversized"]["rows"].as_u64().unwrap();
    assert!((2..4096).contains(&rows), "the budget cut the batch: {cost}");
    let details = run.details("robustness");
    let expected = oversized_detail(cost, "256 MiB, limits.memory_budget_mb", "limits.memory_budget_mb");
    assert_eq!(details.iter().filter(|d| d.starts_with("oversized batch")).collect::<Vec<_>>(), [&expected]);

    // A budget from a manifest's 256Mi limit: raise that limit.
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    let manifest = std::fs::read_to_string(CORRECT).unwrap().replace("memory: 2Gi", "memory: 256Mi");
    assert_ne!(manifest, std::fs::read_to_string(CORRECT).unwrap());
    let path = project.join("deployment.yaml");
    std::fs::write(&path, manifest.replace("iris_rf.onnx", "wide_rows.onnx")).unwrap();
    let run = audit(
        "fixtures/models/wide_rows.onnx",
        &["--only", "robustness", "--deploy", path.to_str().unwrap(), "--config", "fixtures/configs/fast.yaml"],
    );
    let memory = memory(&run);
    let at = memory["budget_source"].as_str().unwrap().to_string();
    assert!(at.ends_with(LIMIT_FIELD), "{memory}");
    let expected = oversized_detail(memory, &format!("256 MiB, the limit declared at {at}"), "that limit or set limits.memory_budget_mb");
    assert_eq!(run.details("robustness").iter().filter(|d| d.starts_with("oversized batch")).collect::<Vec<_>>(), [&expected]);
}

#[test]
fn judged_containers_with_different_limits_leave_the_default_budget_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let served = |name: &str, memory: &str| {
        format!(
            "        - name: {name}\n          image: img:1\n          args: [--model, /models/iris_rf.onnx]\n          ports: [{{containerPort: 8080}}]\n          resources: {{limits: {{memory: {memory}}}}}\n"
        )
    };
    let manifest = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: iris}}\nspec:\n  selector: {{matchLabels: {{app: iris}}}}\n  template:\n    metadata: {{labels: {{app: iris}}}}\n    spec:\n      containers:\n{}{}",
        served("a", "512Mi"),
        served("b", "256Mi")
    );
    let path = dir.path().join("deployment.yaml");
    std::fs::write(&path, manifest).unwrap();
    let path = path.to_str().unwrap();
    let source = "default: the judged containers declare different limits: 512Mi, 256Mi";
    let run = audit(IRIS, &["--only", "deployment", "--deploy", path]);
    assert_eq!(memory(&run)["budget_bytes"], 1024 * MIB, "{}", run.json);
    assert_eq!(memory(&run)["budget_source"], source);
    assert_eq!(memory(&run)["budget_declared_bytes"], serde_json::Value::Null);
    let output = common::ready()
        .args(["audit", IRIS, "--only", "deployment", "--deploy", path, "--config", "fixtures/configs/fast.yaml", "--verbose"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(&format!("against a budget of 1.0 GiB ({source}); the model's serving peak ")), "{stdout}");
}
