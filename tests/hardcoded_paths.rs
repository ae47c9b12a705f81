//! `hardcoded_paths` on the real binary: a model that records a laptop path, serving code with a
//! home path in code, a comment and a test, the allow-list, clean projects that must not fire,
//! every existing fixture, and hostile file names through every report format.

mod common;

use common::{audit, ready};

const MODEL_FIX: &str = "re-export with a relative file name, or set it at serving time from an environment variable";
const PYTHON_FIX: &str =
    "read it from an environment variable (os.environ[\"MODEL_PATH\"]) or build it from the code's folder (Path(__file__).parent / ...)";

fn paths(model: &str, extra: &[&str]) -> common::Audit {
    let mut args = vec!["--only", "hardcoded_paths"];
    args.extend_from_slice(extra);
    audit(model, &args)
}

#[test]
fn a_laptop_path_in_the_model_metadata_fails_naming_the_field() {
    let run = paths("fixtures/models/home_metadata.onnx", &[]);
    assert_eq!(run.status("hardcoded_paths"), "fail");
    assert_eq!(run.code, 1);
    assert_eq!(
        run.check("hardcoded_paths")["summary"],
        "hardcoded path in model metadata_props[\"train_data\"]: /Users/alice/project/data/train.csv"
    );
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!("fail model metadata_props[\"train_data\"]: /Users/alice/project/data/train.csv is a home folder on one machine; {MODEL_FIX}"),
            format!(
                "warn model node \"copy\" (Identity) doc_string (documentation): /home/alice/train.py is a home folder on one machine; {MODEL_FIX}"
            ),
            "scanned: the model's metadata, doc strings and string values, the config fixtures/configs/fast.yaml".to_string(),
            "--project not given: serving code and container files not scanned".to_string(),
        ]
    );
}

#[test]
fn a_laptop_path_among_a_pickles_string_constants_fails_without_loading_it() {
    let run = paths("fixtures/pickles/home_memory.pkl", &[]);
    assert_eq!(run.status("hardcoded_paths"), "fail");
    assert_eq!(run.check("hardcoded_paths")["summary"], "hardcoded path in pickle string constant: /Users/alice/sklearn-cache");
    assert_eq!(
        run.details("hardcoded_paths")[0],
        "fail pickle string constant: /Users/alice/sklearn-cache is a home folder on one machine; \
         set the attribute to a relative path before saving, or export the model to ONNX"
    );
}

#[test]
fn where_a_path_sits_in_the_serving_code_decides_its_status() {
    let cases = [
        ("paths_serving", "fail", "serve.py:4", "3 files"),
        ("paths_comment", "warn", "serve.py:3 (comment)", "1 file"),
        ("paths_tests", "warn", "tests/test_serve.py:1 (test file)", "2 files"),
    ];
    for (project, status, location, files) in cases {
        let dir = format!("fixtures/projects/{project}");
        let run = paths("fixtures/models/iris_rf.onnx", &["--project", &dir]);
        assert_eq!(run.status("hardcoded_paths"), status, "{project}");
        assert_eq!(run.code, if status == "fail" { 1 } else { 0 }, "{project}");
        let lead = if status == "fail" { "hardcoded path in" } else { "hardcoded path in a comment, docstring or test:" };
        assert_eq!(run.check("hardcoded_paths")["summary"], format!("{lead} {dir}/{location}: /home/alice/model.onnx"), "{project}");
        assert_eq!(
            run.details("hardcoded_paths"),
            [
                format!("{status} {dir}/{location}: /home/alice/model.onnx is a home folder on one machine; {PYTHON_FIX}"),
                format!("scanned: the model's metadata, doc strings and string values, the config fixtures/configs/fast.yaml, {files} under {dir}"),
            ],
            "{project}"
        );
    }
}

#[test]
fn urls_shebangs_and_container_paths_do_not_fire() {
    let run = paths("fixtures/models/iris_rf.onnx", &["--project", "fixtures/projects/paths_clean"]);
    assert_eq!(run.status("hardcoded_paths"), "pass", "{:?}", run.details("hardcoded_paths"));
    assert_eq!(run.check("hardcoded_paths")["summary"], "no hardcoded paths in the model, the config and 6 files under --project");
    assert_eq!(
        run.details("hardcoded_paths")[0],
        "scanned: the model's metadata, doc strings and string values, the config fixtures/configs/fast.yaml, 6 files under fixtures/projects/paths_clean"
    );
    assert_eq!(run.code, 0);
}

#[test]
fn an_allow_listed_prefix_passes() {
    let run =
        paths("fixtures/models/iris_rf.onnx", &["--project", "fixtures/projects/paths_serving", "--config", "fixtures/configs/allow_alice.yaml"]);
    assert_eq!(run.status("hardcoded_paths"), "pass", "{:?}", run.details("hardcoded_paths"));
    assert_eq!(run.code, 0);
    // The serving script's path, and the prefix as the config itself writes it.
    assert_eq!(run.check("hardcoded_paths")["metrics"]["allowed"], 2);
    assert!(run.details("hardcoded_paths").contains(&"2 path(s) allowed by checks.hardcoded_paths.allow".to_string()));
}

#[test]
fn without_a_project_a_clean_model_passes_saying_what_was_scanned() {
    let run = paths("fixtures/models/iris_rf.onnx", &[]);
    assert_eq!(run.status("hardcoded_paths"), "pass");
    assert_eq!(run.check("hardcoded_paths")["summary"], "no hardcoded paths in the model and the config");
    let run = paths("fixtures/models/truncated.onnx", &[]);
    assert_eq!(run.status("hardcoded_paths"), "pass");
    assert_eq!(run.check("hardcoded_paths")["summary"], "no hardcoded paths in the config (the model did not decode: not scanned)");
}

#[test]
fn every_existing_fixture_passes_but_the_ones_that_record_a_path() {
    let mut models: Vec<String> = Vec::new();
    for folder in ["fixtures/models", "fixtures/pickles"] {
        let mut stack = vec![common::root().join(folder)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let name = path.strip_prefix(common::root()).unwrap().display().to_string();
                if path.is_dir() {
                    stack.push(path);
                } else if [".onnx", ".pkl", ".joblib", ".pt"].iter().any(|e| name.ends_with(e)) {
                    models.push(name);
                }
            }
        }
    }
    models.sort();
    assert_eq!(models.len(), 35, "{models:?}");
    for model in &models {
        // Short inference limits: endless_loop.onnx's first inference would otherwise run 60 s.
        let run = paths(model, &["--config", "fixtures/configs/inference_limits.yaml"]);
        let expected = if model.ends_with("home_metadata.onnx") || model.ends_with("home_memory.pkl") { "fail" } else { "pass" };
        assert_eq!(run.status("hardcoded_paths"), expected, "{model}: {:?}", run.details("hardcoded_paths"));
    }
    for project in std::fs::read_dir(common::root().join("fixtures/projects")).unwrap().flatten() {
        let name = project.file_name().into_string().unwrap();
        let run = paths("fixtures/models/iris_rf.onnx", &["--project", &format!("fixtures/projects/{name}")]);
        let expected = match name.as_str() {
            "paths_serving" | "paths_container_hosts" | "paths_notebook" | "paths_allow_prefix" => "fail",
            "paths_comment" | "paths_tests" | "paths_examples" => "warn",
            _ => "pass",
        };
        assert_eq!(run.status("hardcoded_paths"), expected, "{name}: {:?}", run.details("hardcoded_paths"));
    }
}

#[test]
fn hostile_file_names_and_paths_are_escaped_in_every_report_format() {
    let dir = tempfile::tempdir().unwrap();
    let name = "evil\x1b[2J<b>&]]>\u{202e}.py";
    std::fs::write(dir.path().join(name), "P = \"/home/alice/\u{202e}gpj.onnx&x\"\n").unwrap();
    let project = dir.path().to_str().unwrap();
    let base = ["audit", "fixtures/models/iris_rf.onnx", "--only", "hardcoded_paths", "--project", project, "--config", "fixtures/configs/fast.yaml"];
    let render = |format: &str| {
        let output = ready().args(base).args(["--format", format, "--verbose", "--quiet"]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{format}");
        String::from_utf8(output.stdout).unwrap()
    };
    for format in ["table", "markdown", "junit"] {
        let text = render(format);
        assert!(!text.contains('\x1b') && !text.contains('\u{202e}'), "{format}: {text}");
        assert!(text.contains("\\x1b") && text.contains("\\u{202e}gpj.onnx"), "{format}: {text}");
    }
    let markdown = render("markdown");
    assert!(markdown.contains("&lt;b&gt;&amp;\\]\\]&gt;") && !markdown.contains("<b>"), "{markdown}");
    // In the failure message attribute, escaped; in the CDATA body, split around `]]>`.
    let junit = render("junit");
    assert!(junit.contains("message=\"hardcoded path in ") && junit.contains("&lt;b&gt;&amp;]]&gt;"), "{junit}");
    assert!(junit.contains("<b>&]]]]><![CDATA[>"), "{junit}");
    let mut reader = quick_xml::Reader::from_str(&junit);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("junit does not parse: {e}\n{junit}"),
        }
    }
    let json = render("json");
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let check = value["checks"].as_array().unwrap().iter().find(|c| c["id"] == "hardcoded_paths").unwrap();
    assert!(check["summary"].as_str().unwrap().ends_with(&format!("{name}:1: /home/alice/\u{202e}gpj.onnx&x")), "{}", check["summary"]);
}

#[test]
fn real_packages_code_and_docs_get_exact_verdicts() {
    // Code no one on this project wrote: the pinned wheels' Python files, docstrings and tests.
    let cases = [("sklearn", "warn", 671, 14), ("onnx", "pass", 519, 0), ("onnxruntime", "pass", 305, 0), ("skl2onnx", "pass", 174, 0)];
    for (package, status, files, warnings) in cases {
        let dir = common::site_packages().join(package);
        let dir = dir.to_str().unwrap();
        let run = paths("fixtures/models/iris_rf.onnx", &["--project", dir]);
        assert_eq!(run.status("hardcoded_paths"), status, "{package}: {:?}", run.details("hardcoded_paths"));
        let metrics = &run.check("hardcoded_paths")["metrics"];
        assert_eq!((metrics["failures"].as_u64(), metrics["warnings"].as_u64()), (Some(0), Some(warnings)), "{package}");
        let details = run.details("hardcoded_paths");
        let scanned =
            format!("scanned: the model's metadata, doc strings and string values, the config fixtures/configs/fast.yaml, {files} files under {dir}");
        assert!(details.contains(&scanned), "{package}: {details:?}");
        // scikit-learn documents its per-user data folder in the fetchers' docstrings.
        for line in details.iter().filter(|d| d.starts_with("warn ")) {
            assert!(line.contains(".py:") && line.contains(" (docstring): ~/scikit_learn_data is the home folder of whoever runs it"), "{line}");
        }
    }
}

#[test]
fn the_corpus_and_the_onnxruntime_wheel_models_record_no_paths() {
    let text = std::fs::read_to_string(common::root().join("fixtures/corpus/manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut models: Vec<String> = manifest["models"].as_array().unwrap().iter().map(|m| m["corpus_path"].as_str().unwrap().to_string()).collect();
    for entry in std::fs::read_dir(common::site_packages().join("onnxruntime/datasets")).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "onnx") {
            models.push(entry.path().display().to_string());
        }
    }
    assert_eq!(models.len(), 20, "{models:?}");
    for model in &models {
        // The string corpus models need en_US.UTF-8 to load (see tests/corpus.rs).
        let run = common::audit_env(&[("LOCPATH", common::with_en_us_locale())], model, &["--only", "hardcoded_paths"]);
        assert_eq!(run.status("hardcoded_paths"), "pass", "{model}: {:?}", run.details("hardcoded_paths"));
        assert_eq!(run.check("hardcoded_paths")["summary"], "no hardcoded paths in the model and the config", "{model}");
    }
}
