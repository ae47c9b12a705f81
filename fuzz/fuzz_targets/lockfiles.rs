//! Every lockfile parser: the first byte picks the format (requirements.txt, poetry.lock,
//! uv.lock, Pipfile.lock, environment.yml, Cargo.lock), the rest is the file, written beside a
//! fixed manifest so the sync checks run too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ready::lockfiles;

const PYPROJECT: &str = "[project]\nname = \"p\"\nversion = \"1\"\nrequires-python = \">=3.10\"\ndependencies = [\"numpy>=2\"]\n\n[tool.poetry.dependencies]\npython = \"^3.10\"\nnumpy = \"^2\"\n";
const PIPFILE: &str = "[packages]\nnumpy = \">=2\"\n";

fuzz_target!(|data: &[u8]| {
    // ready catches panics of third-party parsers and turns them into errors; libFuzzer's own
    // hook would abort on those caught panics, so install a silent one. Uncaught panics still
    // reach libFuzzer's catch_unwind and are reported as crashes.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&selector, body)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("ready-fuzz-lock-{}-{}", std::process::id(), selector % 6));
    let _ = std::fs::remove_dir_all(&dir);
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let (file, manifest): (&str, Option<(&str, &str)>) = match selector % 6 {
        0 => ("requirements.txt", Some(("requirements.in", "numpy>=2\n"))),
        1 => ("poetry.lock", Some(("pyproject.toml", PYPROJECT))),
        2 => ("uv.lock", Some(("pyproject.toml", PYPROJECT))),
        3 => ("Pipfile.lock", Some(("Pipfile", PIPFILE))),
        4 => ("environment.yml", None),
        _ => ("Cargo.lock", None),
    };
    let _ = std::fs::write(dir.join(file), body);
    if let Some((name, text)) = manifest {
        let _ = std::fs::write(dir.join(name), text);
    }
    for verdict in lockfiles::audit_dir(&dir) {
        for detail in verdict.findings.iter().map(|f| &f.text) {
            assert!(!detail.contains('\n') || detail.len() < 10_000, "runaway message");
        }
    }
});
