//! `hardcoded_paths` on ordinary repositories that must not fail: container paths in
//! Dockerfiles, compose files and Kubernetes manifests, example paths in help text and messages;
//! and what must still fail there: a Mac path in a container file, the host side of a volume,
//! Colab/Kaggle paths in a notebook or a `.env`, a name that only starts like an allowed prefix.

mod common;

use common::audit;

const PYTHON_FIX: &str =
    "read it from an environment variable (os.environ[\"MODEL_PATH\"]) or build it from the code's folder (Path(__file__).parent / ...)";
const COMPOSE_FIX: &str = "mount a volume from a path relative to the project (./models:/models) or take it from an environment variable";
const HOME: &str = "is a home folder on one machine";
const HOSTED: &str = "is a folder of one hosted notebook session (Colab, Kaggle)";

fn project(name: &str, config: &str) -> common::Audit {
    let dir = format!("fixtures/projects/{name}");
    audit("fixtures/models/iris_rf.onnx", &["--only", "hardcoded_paths", "--project", &dir, "--config", config])
}

fn scanned(config: &str, files: &str, name: &str) -> String {
    format!("scanned: the model's metadata, doc strings and string values, the config {config}, {files} under fixtures/projects/{name}")
}

#[test]
fn home_folders_inside_a_container_image_or_pod_pass() {
    let run = project("paths_containers", "fixtures/configs/fast.yaml");
    assert_eq!(run.status("hardcoded_paths"), "pass", "{:?}", run.details("hardcoded_paths"));
    assert_eq!(run.code, 0);
    assert_eq!(run.check("hardcoded_paths")["summary"], "no hardcoded paths in the model, the config and 5 files under --project");
    assert_eq!(run.details("hardcoded_paths"), [scanned("fixtures/configs/fast.yaml", "5 files", "paths_containers")]);
}

#[test]
fn a_mac_path_in_a_container_file_and_the_host_side_of_a_volume_fail() {
    let run = project("paths_container_hosts", "fixtures/configs/fast.yaml");
    assert_eq!(run.status("hardcoded_paths"), "fail");
    assert_eq!(run.code, 1);
    let dir = "fixtures/projects/paths_container_hosts";
    assert_eq!(run.check("hardcoded_paths")["summary"], format!("hardcoded path in {dir}/Dockerfile:2: /Users/alice/data (+2 more)"));
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!(
                "fail {dir}/Dockerfile:2: /Users/alice/data {HOME}; COPY the file into the image and use its path there (/app/...), or pass it with ARG/ENV"
            ),
            format!("fail {dir}/docker-compose.yml:4: /Users/alice/models {HOME}; {COMPOSE_FIX}"),
            format!("fail {dir}/docker-compose.yml:5: /home/alice/models {HOME}; {COMPOSE_FIX}"),
            scanned("fixtures/configs/fast.yaml", "2 files", "paths_container_hosts"),
        ]
    );
}

#[test]
fn example_paths_in_help_text_and_messages_warn() {
    let run = project("paths_examples", "fixtures/configs/fast.yaml");
    assert_eq!(run.status("hardcoded_paths"), "warn");
    assert_eq!(run.code, 0);
    let at = "fixtures/projects/paths_examples/cli.py";
    assert_eq!(
        run.check("hardcoded_paths")["summary"],
        format!("hardcoded path in a comment, docstring or test: {at}:5 (example text): /home/you/data/rows.csv (+2 more)")
    );
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!("warn {at}:5 (example text): /home/you/data/rows.csv {HOME}; {PYTHON_FIX}"),
            format!("warn {at}:6 (example text): /Users/me/model.onnx {HOME}; {PYTHON_FIX}"),
            format!("warn {at}:7 (example text): /home/someone/ {HOME}; {PYTHON_FIX}"),
            scanned("fixtures/configs/fast.yaml", "1 file", "paths_examples"),
        ]
    );
}

#[test]
fn a_notebooks_code_cell_and_a_dotenv_file_are_scanned() {
    let run = project("paths_notebook", "fixtures/configs/fast.yaml");
    assert_eq!(run.status("hardcoded_paths"), "fail");
    assert_eq!(run.code, 1);
    let dir = "fixtures/projects/paths_notebook";
    // The markdown cell and the cell's output are not code: only the code cell's line 3.
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!(
                "fail {dir}/.env:2: /kaggle/input/titanic {HOSTED}; use a path relative to the project, or an environment variable the loader expands"
            ),
            format!("fail {dir}/eda.ipynb[cell 2]:3: /content/drive/MyDrive/train.csv {HOSTED}; {PYTHON_FIX}"),
            scanned("fixtures/configs/fast.yaml", "2 files", "paths_notebook"),
        ]
    );
}

#[test]
fn an_allowed_prefix_matches_whole_folder_names() {
    let run = project("paths_allow_prefix", "fixtures/configs/allow_ali.yaml");
    assert_eq!(run.status("hardcoded_paths"), "fail");
    assert_eq!(run.code, 1);
    let at = "fixtures/projects/paths_allow_prefix/serve.py";
    assert_eq!(run.check("hardcoded_paths")["summary"], format!("hardcoded path in {at}:2: /home/alicia/vocab.txt"));
    // /home/ali/model.onnx and the config's own /home/ali are allowed; /home/alicia is not.
    assert_eq!(run.check("hardcoded_paths")["metrics"]["allowed"], 2);
    assert_eq!(
        run.details("hardcoded_paths"),
        [
            format!("fail {at}:2: /home/alicia/vocab.txt {HOME}; {PYTHON_FIX}"),
            scanned("fixtures/configs/allow_ali.yaml", "1 file", "paths_allow_prefix"),
            "2 path(s) allowed by checks.hardcoded_paths.allow".to_string(),
        ]
    );
}
