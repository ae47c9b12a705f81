//! The Dockerfile reader and judge: any text gives a parsed file or one error line naming the
//! file and the line, and judging a parsed file gives one-line findings on lines that exist,
//! never a panic. The first byte says whether a manifest probe exists; the rest is the file,
//! judged against a fixed build context holding a model and a hashed requirements file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use ready::env::deploy::dockerfile::{self, DockerContext};

fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&selector, body)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(body) else { return };
    let dir = std::env::temp_dir().join(format!("ready-fuzz-dockerfile-{}", std::process::id()));
    if !dir.join("models/model.onnx").exists() {
        let _ = std::fs::create_dir_all(dir.join("models"));
        let _ = std::fs::write(dir.join("models/model.onnx"), b"model bytes");
        let _ = std::fs::write(dir.join("requirements.txt"), "numpy==2.0.0 --hash=sha256:00\n");
    }
    let path = std::path::Path::new("fuzz/Dockerfile");
    let file = match dockerfile::read(path, text) {
        Ok(file) => file,
        Err(error) => {
            let message = error.to_string();
            assert!(message.starts_with("fuzz/Dockerfile"), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
            return;
        }
    };
    let ctx = DockerContext::new(dir, "model.onnx".into(), "0".repeat(64), selector % 2 == 1);
    let lines = text.split('\n').count();
    for finding in dockerfile::judge(&file, &ctx) {
        assert!(!finding.message.contains('\n'), "one line: {}", finding.message);
        assert!(finding.line.is_some_and(|l| l >= 1 && l <= lines), "line {:?} of {lines}", finding.line);
    }
});
