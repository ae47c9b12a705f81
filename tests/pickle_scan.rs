//! The pickle scanner through the real binary: payloads that run code under `pickle.loads`
//! while hiding their global from a scanner that does not track the unpickler's stack and memo,
//! benign pickles that must not be called code-running, and a differential test against
//! Python's own unpickler over generated pickles (fixtures/pickle_differential.py).

mod common;

/// Audits `bytes` saved as a `.pkl` file; returns the serialization row.
fn serialization_of(bytes: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pkl");
    std::fs::write(&path, bytes).unwrap();
    let run = common::audit(path.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1);
    run.check("serialization").clone()
}

/// Payloads that run code when loaded (each checked with a recording unpickler in Python: the
/// global named here is what `find_class` is asked for).
const PAYLOADS: &[(&str, &[u8], &str)] = &[
    // Protocol 4 resolves a dotted name attribute by attribute: posixpath.os is the os module.
    ("dotted name through posixpath", b"\x80\x04\x8c\x09posixpath\x8c\x09os.system\x93\x8c\x02id\x85R.", "posixpath.os.system"),
    // A tuple consumes two strings; POP removes the tuple, not a string.
    ("POP over a tuple", b"\x80\x04\x8c\x05posix\x8c\x06system\x8c\x04evil\x8c\x01x\x860\x93\x8c\x02id\x85R.", "posix.system"),
    // POP_MARK discards everything pushed since MARK.
    ("POP_MARK", b"\x80\x04\x8c\x05posix\x8c\x06system(\x8c\x01a\x8c\x01b1\x93\x8c\x02id\x85R.", "posix.system"),
    // APPEND moves strings into a list, then POP drops the list.
    ("APPEND into a dropped list", b"\x80\x04\x8c\x05posix\x8c\x06system]\x8c\x01aa\x8c\x01ba0\x93\x8c\x02id\x85R.", "posix.system"),
    // DUP then POP leaves the stack as it was.
    ("DUP and POP", b"\x80\x04\x8c\x05posix\x8c\x06system20\x93\x8c\x02id\x85R.", "posix.system"),
    // Both strings memoized, popped, and fetched back after a list.
    ("memo of popped strings", b"\x80\x04\x8c\x05posix\x940\x8c\x06system\x940]h\x00h\x01\x93\x8c\x02id\x85R.", "posix.system"),
    ("pydoc.pipepager", b"cpydoc\npipepager\n(Vtext\nVcat\ntR.", "pydoc.pipepager"),
    ("_posixsubprocess", b"c_posixsubprocess\nfork_exec\n(tR.", "_posixsubprocess.fork_exec"),
    ("io.open", b"cio\nopen\n(V/tmp/ready-pwned\nVw\ntR.", "io.open"),
    // A benign pickle, then a second one after its STOP.
    ("a second pickle after STOP", b"\x80\x04N.\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.", "posix.system"),
];

#[test]
fn payloads_that_hide_their_global_are_found() {
    for (what, bytes, global) in PAYLOADS {
        let row = serialization_of(bytes);
        assert_eq!(row["status"], "fail", "{what}");
        assert_eq!(row["summary"], format!("pickle-based artifact that runs code on load ({global}); never loaded"), "{what}");
        let scan = &row["metrics"]["pickle"];
        assert_eq!(scan["imports"], serde_json::json!([global]), "{what}");
        assert_eq!(scan["complete"], true, "{what}: {scan}");
    }
}

#[test]
fn paths_and_partials_are_not_called_code_running() {
    // pickle.dumps({"path": PurePosixPath("data/x.csv"), "make": partial(OrderedDict, a=1)}, protocol=4)
    let bytes = b"\x80\x04\x95\x8d\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04path\x94\x8c\x07pathlib\x94\x8c\rPurePosixPath\x94\x93\x94\x8c\x04data\x94\x8c\x05x.csv\x94\x86\x94R\x94\x8c\x04make\x94\x8c\tfunctools\x94\x8c\x07partial\x94\x93\x94\x8c\x0bcollections\x94\x8c\x0bOrderedDict\x94\x93\x94\x85\x94R\x94(h\x0f)}\x94\x8c\x01a\x94K\x01sNt\x94bu.";
    let row = serialization_of(bytes);
    assert_eq!(row["summary"], "pickle-based artifact: loading it can run arbitrary code; never loaded");
    let scan = &row["metrics"]["pickle"];
    assert_eq!(scan["imports"], serde_json::json!(["pathlib.PurePosixPath", "functools.partial", "collections.OrderedDict"]));
    assert_eq!(scan["dangerous"], serde_json::json!([]));
    assert_eq!(scan["calls"], 2);
    // A global off the allowlist is flagged even when nothing names it dangerous.
    let row = serialization_of(b"\x80\x02cmypackage.helpers\nload_everything\nq\x00)Rq\x01.");
    assert_eq!(
        row["metrics"]["pickle"]["dangerous"],
        serde_json::json!(["mypackage.helpers.load_everything: not on the allowlist of known-safe globals (importing or calling it can run code)"])
    );
}

/// Keeps the first appearance of each name, as the scan lists imports.
fn first_appearances(names: &[String]) -> Vec<String> {
    let mut seen = Vec::new();
    for name in names {
        if !seen.contains(name) {
            seen.push(name.clone());
        }
    }
    seen
}

#[test]
fn the_scan_finds_exactly_the_globals_pythons_unpickler_asks_for() {
    // 2000 random opcode programs and ordinary objects at every protocol; the reference is
    // pickle._Unpickler recording find_class (fixtures/pickle_differential.py).
    let dir = tempfile::tempdir().unwrap();
    let python = common::root().join(".venv/bin/python");
    let status = std::process::Command::new(python)
        .arg(common::root().join("fixtures/pickle_differential.py"))
        .arg(dir.path())
        .args(["2000", "12"])
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: Vec<serde_json::Value> = serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.len(), 2042);
    let mut globals = 0;
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        let expected: Vec<String> = serde_json::from_value(entry["globals"].clone()).unwrap();
        let scan = ready::pickle_scan::scan(&bytes);
        assert_eq!(scan.imports, first_appearances(&expected), "{file}: {scan:?}");
        assert_eq!(scan.complete, entry["error"].is_null(), "{file}: {scan:?} vs {}", entry["error"]);
        globals += expected.len();
    }
    assert_eq!(globals, 8858);
}

/// Runs `script` with the project's Python, with `dir` as its argument.
fn python(script: &str, dir: &std::path::Path) {
    let status = std::process::Command::new(common::root().join(".venv/bin/python")).args(["-c", script]).arg(dir).status().unwrap();
    assert!(status.success());
}

#[test]
fn joblib_arrays_are_skipped_and_what_follows_them_is_scanned() {
    // joblib writes each array's raw bytes (aligned) inside the pickle stream, and an object
    // array as a pickle of its own; a payload placed after them is still found.
    let dir = tempfile::tempdir().unwrap();
    python(
        r#"
import joblib, os, sys, numpy as np
class Hook:
    def __reduce__(self):
        return (os.system, ("echo pwned",))
arrays = {"f": np.arange(12.0).reshape(3, 4), "s": np.array(["ab", "c"]), "o": np.array([1, "x"], dtype=object)}
joblib.dump({**arrays, "hook": Hook()}, f"{sys.argv[1]}/model.joblib")
"#,
        dir.path(),
    );
    let run = common::audit(dir.path().join("model.joblib").to_str().unwrap(), &[]);
    let row = run.check("serialization");
    assert_eq!(row["summary"], "pickle-based artifact that runs code on load (posix.system); never loaded");
    let scan = &row["metrics"]["pickle"];
    assert_eq!(
        scan["imports"],
        serde_json::json!([
            "joblib.numpy_pickle.NumpyArrayWrapper",
            "numpy.ndarray",
            "numpy.dtype",
            "numpy._core.multiarray._reconstruct",
            "posix.system"
        ])
    );
    assert_eq!(scan["complete"], true);
}

#[test]
fn compressed_joblib_files_are_decompressed_and_scanned_within_limits() {
    // Real joblib.dump output with each compressor it offers that the scan reads, and a zlib
    // stream of 32 MiB of zeros (1000 times its size).
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import joblib, os, sys, zlib, numpy as np
class Hook:
    def __reduce__(self):
        return (os.system, ("echo pwned",))
for codec in ["zlib", "gzip", "lzma", "xz"]:
    joblib.dump({"weights": np.arange(4.0), "hook": Hook()}, f"{sys.argv[1]}/model_{codec}.joblib", compress=(codec, 3))
open(f"{sys.argv[1]}/bomb.joblib", "wb").write(zlib.compress(bytes(32 << 20), 9))
"#;
    let status = std::process::Command::new(common::root().join(".venv/bin/python")).args(["-c", script]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    for codec in ["zlib", "gzip", "lzma", "xz"] {
        let path = dir.path().join(format!("model_{codec}.joblib"));
        let run = common::audit(path.to_str().unwrap(), &[]);
        let row = run.check("serialization");
        assert_eq!(row["summary"], "pickle-based artifact that runs code on load (posix.system); never loaded", "{codec}");
        let scan = &row["metrics"]["pickle"];
        assert_eq!(
            scan["imports"],
            serde_json::json!(["joblib.numpy_pickle.NumpyArrayWrapper", "numpy.ndarray", "numpy.dtype", "posix.system"]),
            "{codec}"
        );
        assert_eq!(scan["complete"], true);
        assert_eq!(scan["note"], format!("{codec}-compressed pickle (326 B decompressed)"));
    }
    let run = common::audit(dir.path().join("bomb.joblib").to_str().unwrap(), &[]);
    let scan = &run.check("serialization")["metrics"]["pickle"];
    assert_eq!(scan["note"], "scan stopped: limit: zlib-compressed pickle expands more than 100 times its size");
    assert_eq!(scan["complete"], false);
    assert_eq!(run.code, 1);
}
