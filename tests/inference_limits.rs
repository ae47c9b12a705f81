//! Inference on an untrusted model in ready's own process runs under limits, through the real
//! binary: a model whose inference never ends is stopped at `limits.inference_timeout_s` (each
//! check that ran it fails), and a model whose outputs would exhaust memory fails its checks
//! while ready's process stays under its memory limit.

mod common;

use std::time::{Duration, Instant};

use common::{audit, ort_lib, root};

#[test]
fn an_endless_loop_is_stopped_at_the_inference_time_limit_and_fails_its_checks() {
    let started = Instant::now();
    let result = audit("fixtures/models/endless_loop.onnx", &["--config", "fixtures/configs/inference_limits.yaml", "--skip", "lockfile"]);
    let took = started.elapsed();
    assert_eq!(result.code, 1, "stderr: {}", result.stderr);
    assert_eq!(
        result.statuses(),
        [
            "serialization=pass",
            "schema_parity=skip",
            "domain=skip",
            "drift=skip",
            "empty_batch=fail",
            "robustness=fail",
            "output_sanity=fail",
            "determinism=fail",
            "golden_parity=skip",
            "latency=fail",
            "deployment=skip",
            "lockfile=skip",
            "baseline=skip",
            "hardcoded_paths=pass",
        ]
    );
    // The model was stopped, not fed the wrong input: not ready, with no "not verified" advice.
    assert_eq!(result.json["verdict"], "not_ready");
    assert!(result.json["not_verified"].is_null(), "{}", result.json["not_verified"]);
    let stopped = "inference ran past 2 s (limits.inference_timeout_s) and was stopped";
    for id in ["empty_batch", "robustness", "output_sanity", "determinism", "latency"] {
        assert_eq!(result.check(id)["summary"], stopped, "{id}");
    }
    // Six inferences of 2 s each (the cold start and five checks), not 10^12 iterations: the
    // bound is a hang guard, far above the ~12 s measured.
    assert!(took < Duration::from_secs(120), "the audit took {took:?}");
}

/// Runs `ready audit MODEL ARGS --format json` with its data segment capped at `data_limit`
/// bytes (a safety net: a regression fails this test instead of exhausting the machine) and
/// returns the exit code, the report and the peak resident memory of ready and the probe
/// children it waited for, in bytes (wait4's rusage for this one child).
fn audit_measuring_peak_rss(model: &str, args: &[&str], data_limit: u64) -> (i32, serde_json::Value, u64) {
    use std::os::unix::process::CommandExt;
    let report = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("ready"));
    cmd.current_dir(root())
        .env("ORT_DYLIB_PATH", ort_lib())
        .env_remove("VIRTUAL_ENV")
        .arg("audit")
        .arg(model)
        .args(args)
        .args(["--format", "json", "--quiet"])
        .stdout(report.reopen().unwrap())
        .stderr(std::process::Stdio::null());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: data_limit as libc::rlim_t, rlim_max: data_limit as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_DATA, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[allow(clippy::zombie_processes, reason = "reaped by wait4 below, which also returns its rusage")]
    let child = cmd.spawn().unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our own child, reaped here once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(waited, child.id() as libc::pid_t);
    assert!(libc::WIFEXITED(status), "ready did not exit normally: wait status {status}");
    let json = serde_json::from_slice(&std::fs::read(report.path()).unwrap()).unwrap();
    // ru_maxrss is in KiB on Linux.
    (libc::WEXITSTATUS(status), json, usage.ru_maxrss as u64 * 1024)
}

#[test]
fn a_huge_output_fails_at_the_inference_memory_limit_and_ready_stays_under_it() {
    let (code, json, peak) = audit_measuring_peak_rss(
        "fixtures/models/huge_output.onnx",
        &["--config", "fixtures/configs/inference_memory.yaml", "--skip", "lockfile"],
        3 << 30,
    );
    let result = common::Audit { code, json, stderr: String::new() };
    assert_eq!(result.code, 1);
    assert_eq!(
        result.statuses(),
        [
            "serialization=pass",
            "schema_parity=skip",
            "domain=skip",
            "drift=skip",
            "empty_batch=fail",
            "robustness=fail",
            "output_sanity=fail",
            "determinism=fail",
            "golden_parity=skip",
            "latency=fail",
            "deployment=skip",
            "lockfile=skip",
            "baseline=skip",
            "hardcoded_paths=pass",
        ]
    );
    assert_eq!(result.json["verdict"], "not_ready");
    assert!(result.json["not_verified"].is_null(), "{}", result.json["not_verified"]);
    let refused = "out of memory: the inference needs more than limits.inference_memory_mb (512 MiB)";
    for id in ["empty_batch", "robustness", "output_sanity", "determinism", "latency"] {
        assert_eq!(result.check(id)["summary"], refused, "{id}");
    }
    // The output alone would be 16 GiB; ready (about 55 MiB measured) stays under its 512 MiB.
    assert!(peak < 512 << 20, "peak resident memory {} MiB", peak >> 20);
}
