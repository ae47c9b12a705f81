//! Safety promises about ready's own process, through the real binary: no writes outside
//! `--output` (ONNX Runtime telemetry included), no orphaned probe children, resource limits of
//! ready's own process reported as "could not run" (exit 2), the minimum ONNX Runtime refused
//! before it is loaded, and bounded scans of untrusted archives.

mod common;

use std::path::PathBuf;

use common::{ready, root, snapshot};

/// A scratch world for one audit: a working folder holding a copy of the model, a HOME, a
/// TMPDIR and an XDG cache folder, all empty but for the model.
struct World {
    _root: tempfile::TempDir,
    base: PathBuf,
}

impl World {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let base = root.path().to_path_buf();
        for dir in ["cwd", "home", "tmp", "cache"] {
            std::fs::create_dir(base.join(dir)).unwrap();
        }
        std::fs::copy(common::root().join("fixtures/models/iris_rf.onnx"), base.join("cwd/model.onnx")).unwrap();
        std::fs::write(base.join("a-file"), b"not a folder").unwrap();
        Self { _root: root, base }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.base.join(name)
    }

    /// An audit of the copied model from the working folder, with probes in child processes.
    fn audit(&self) -> assert_cmd::Command {
        let mut cmd = ready();
        cmd.current_dir(self.path("cwd"))
            .env("TMPDIR", self.path("tmp"))
            .env_remove("XDG_CACHE_HOME")
            .env_remove("ORT_DISABLE_TELEMETRY")
            .args(["audit", "model.onnx", "--format", "json", "-q", "--config"])
            .arg(root().join("fixtures/configs/fast.yaml"));
        cmd
    }
}

/// Runs `cmd` and asserts a completed, passing audit whose probes ran in a child process.
fn assert_audit_passed(cmd: &mut assert_cmd::Command) {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr: {stderr}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let robustness = json["checks"].as_array().unwrap().iter().find(|c| c["id"] == "robustness").unwrap();
    assert_eq!(robustness["status"], "pass", "{robustness}");
}

#[test]
fn an_audit_leaves_home_cwd_and_tmpdir_byte_for_byte_untouched() {
    let world = World::new();
    let before = snapshot(&world.base);
    assert_audit_passed(world.audit().env("HOME", world.path("home")));
    assert_eq!(snapshot(&world.base), before);
}

#[test]
fn an_audit_with_home_missing_unusable_or_unset_creates_nothing() {
    let world = World::new();
    let before = snapshot(&world.base);
    // A HOME that does not exist (ONNX Runtime's telemetry used to create it), one below a
    // regular file, and no HOME at all (the XDG cache folder is the fallback).
    assert_audit_passed(world.audit().env("HOME", world.path("missing/home")));
    assert_audit_passed(world.audit().env("HOME", world.path("a-file/home")));
    assert_audit_passed(world.audit().env_remove("HOME").env("XDG_CACHE_HOME", world.path("cache")));
    assert_eq!(snapshot(&world.base), before);
}

/// The `ready __probe` children of process `parent` (from /proc).
fn probe_children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the command name, which is in parentheses: state, parent pid, ...
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = after.split(' ').nth(1).unwrap().parse().unwrap();
        if ppid == parent && is_running_probe(pid) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` is a `ready __probe` process that has not exited (a zombie has exited).
fn is_running_probe(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat[stat.rfind(')').unwrap() + 2..].chars().next().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    state != 'Z' && cmdline.split(|&b| b == 0).any(|arg| arg == b"__probe")
}

fn wait_until(limit: std::time::Duration, mut done: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    done()
}

#[test]
fn a_signal_to_ready_during_a_probe_leaves_no_probe_process() {
    for signal in [libc::SIGTERM, libc::SIGINT, libc::SIGKILL] {
        // The NaN probe hangs; the probe time limit (60 s by default) is far away.
        let mut audit = std::process::Command::new(assert_cmd::cargo::cargo_bin!("ready"))
            .current_dir(root())
            .env("ORT_DYLIB_PATH", common::ort_lib())
            .env("READY_TEST_PROBE_HANG", "nan")
            .args(["audit", "fixtures/models/iris_rf.onnx", "-q", "--config", "fixtures/configs/fast.yaml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The empty-batch check's child comes and goes in milliseconds: wait for the child that
        // stays (the robustness probes', stuck at NaN) to have been there for a whole second.
        let (mut children, mut since) = (Vec::new(), std::time::Instant::now());
        let stuck = wait_until(std::time::Duration::from_secs(60), || {
            let now = probe_children(audit.id());
            if now != children {
                (children, since) = (now, std::time::Instant::now());
            }
            !children.is_empty() && since.elapsed() > std::time::Duration::from_secs(1)
        });
        assert!(stuck, "no probe child got stuck at the NaN probe");
        // SAFETY: kill with a pid of our own child.
        assert_eq!(unsafe { libc::kill(audit.id() as i32, signal) }, 0);
        let status = audit.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(signal));
        let gone = wait_until(std::time::Duration::from_secs(5), || !children.iter().any(|&pid| is_running_probe(pid)));
        assert!(gone, "signal {signal}: probe child {children:?} still running after ready died");
    }
}

#[test]
fn a_probe_child_ends_itself_when_its_time_limit_passes() {
    let job = serde_json::json!({
        "model": root().join("fixtures/models/iris_rf.onnx"),
        "ort_lib": common::ort_lib(),
        "settings": {},
        "kinds": ["nan"],
        "oversized_rows": 10,
        "base": [{"name": "input", "element": "float32", "shape": [1, 4], "values": ["1", "2", "3", "4"]}],
        "axes": {"axes": [["input", 0]], "symbol": null, "fixed": null, "source": "leading_dynamic"},
        "time_limit": {"secs": 1, "nanos": 0},
    });
    let output = ready()
        .arg("__probe")
        .env("READY_TEST_PROBE_HANG", "nan")
        .write_stdin(serde_json::to_vec(&job).unwrap())
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(124), "stderr: {stderr}");
    assert_eq!(stderr, "probe ran past its time limit of 1.000 s\n");
    assert!(output.stdout.is_empty());
}

/// `ready audit` of the iris model and sample with the open-file limit set to `soft`/`hard`.
fn audit_with_open_file_limit(soft: u64, hard: u64) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("ready"));
    cmd.current_dir(root())
        .env("ORT_DYLIB_PATH", common::ort_lib())
        .args(["audit", "fixtures/models/iris_rf.onnx", "--sample", "fixtures/samples/iris.csv", "--format", "json", "-q"])
        .args(["--config", "fixtures/configs/fast.yaml"]);
    // SAFETY: setrlimit is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.output().unwrap()
}

#[test]
fn too_few_file_descriptors_is_an_environment_error_not_a_failed_model() {
    // With 10 descriptors the probe children could not start, and the audit used to blame the
    // model: "the runtime crashed on a 0-row batch", exit 1.
    for limit in [10, 20] {
        let output = audit_with_open_file_limit(limit, limit);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "limit {limit}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: ready could not run: too many open files: the open-file limit (ulimit -n) is {limit}, \
                 and an audit needs 64; raise it\n"
            )
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_low_soft_open_file_limit_under_a_higher_hard_limit_is_raised() {
    let output = audit_with_open_file_limit(10, 4096);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let statuses: Vec<String> =
        json["checks"].as_array().unwrap().iter().map(|c| format!("{}={}", c["id"].as_str().unwrap(), c["status"].as_str().unwrap())).collect();
    // The lockfile check warns on this repository's own Cargo.lock (not verifiable offline).
    let expected = [
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
        "deployment=skip",
        "lockfile=warn",
        "baseline=skip",
        "hardcoded_paths=pass",
    ];
    assert_eq!(statuses, expected);
}

/// A libonnxruntime release that scripts/setup.sh downloaded for the compatibility tests.
fn compat_lib(version: &str) -> PathBuf {
    let path = root().join(format!(".ort-compat/{version}/libonnxruntime.so.{version}"));
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

#[test]
fn the_oldest_supported_onnx_runtime_audits_a_model() {
    let world = World::new();
    let output = world.audit().env("HOME", world.path("home")).env("ORT_DYLIB_PATH", compat_lib("1.23.0")).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["runtime"]["version"], "1.23.0");
    let statuses: Vec<String> =
        json["checks"].as_array().unwrap().iter().map(|c| format!("{}={}", c["id"].as_str().unwrap(), c["status"].as_str().unwrap())).collect();
    let expected = [
        "serialization=pass",
        "schema_parity=skip",
        "domain=skip",
        "drift=skip",
        "empty_batch=pass",
        "robustness=pass",
        "output_sanity=pass",
        "determinism=pass",
        "golden_parity=skip",
        "latency=pass",
        "deployment=skip",
        "lockfile=warn", // no lockfile in the scratch folder
        "baseline=skip",
        "hardcoded_paths=pass",
    ];
    assert_eq!(statuses, expected);
}

#[test]
fn onnx_runtime_1_22_is_refused_before_it_is_loaded() {
    // 1.22.1 aborts (SIGABRT, exit 134) creating a session. The dynamic loader's own log
    // (LD_DEBUG=files) shows the library is never opened.
    let lib = compat_lib("1.22.1");
    for (flag, via_env) in [("--ort-lib", false), ("ORT_DYLIB_PATH", true)] {
        let mut cmd = ready();
        cmd.env("LD_DEBUG", "files");
        if via_env {
            cmd.env("ORT_DYLIB_PATH", &lib);
        } else {
            cmd.arg("--ort-lib").arg(&lib);
        }
        let output = cmd.args(["audit", "fixtures/models/iris_rf.onnx", "-q"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{flag}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        let (loader, ours): (Vec<&str>, Vec<&str>) =
            stderr.lines().partition(|l| l.trim_start().split(':').next().is_some_and(|pid| pid.parse::<u32>().is_ok()));
        assert!(loader.iter().any(|l| l.contains("file=")), "LD_DEBUG logged nothing: {stderr}");
        assert!(!loader.iter().any(|l| l.contains("libonnxruntime.so.1.22.1")), "{flag}: the library was loaded: {stderr}");
        assert_eq!(
            ours,
            [format!(
                "error: {flag} points to {}, which is not a usable ONNX Runtime: ONNX Runtime 1.22.1 (declared in the file; \
                 not loaded) is older than 1.23.0, the oldest ready supports (1.22 aborts creating a session); install \
                 onnxruntime>=1.23.0",
                lib.display()
            )]
        );
    }
}

/// A zip holding one deflated entry of `expanded` zero bytes.
fn deflated_zeros(expanded: usize) -> Vec<u8> {
    use std::io::Write;
    let mut buffer = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut buffer);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("bomb/data.pkl", options).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..expanded / chunk.len() {
        zip.write_all(&chunk).unwrap();
    }
    zip.finish().unwrap();
    buffer.into_inner()
}

/// A PyTorch-style zip bomb made from `one` (see [`deflated_zeros`]): `entries` central-directory
/// entries (`bomb/data0000.pkl`, ...) all pointing at its one deflate stream. Each entry is
/// small on disk and decompresses in full.
fn zip_bomb(one: &[u8], entries: usize) -> Vec<u8> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([one[at], one[at + 1]]));
    let u32_at = |at: usize| u32::from_le_bytes(one[at..at + 4].try_into().unwrap()) as usize;
    let end = one.len() - 22; // end-of-central-directory record, no comment
    let directory = u32_at(end + 16);
    let record = &one[directory..directory + 46 + u16_at(directory + 28) + u16_at(directory + 30) + u16_at(directory + 32)];
    let mut central = Vec::new();
    for i in 0..entries {
        let name = format!("bomb/data{i:04}.pkl");
        let mut header = record[..46].to_vec();
        header[28..30].copy_from_slice(&(name.len() as u16).to_le_bytes());
        header[30..34].fill(0); // no extra field, no comment
        central.extend_from_slice(&header);
        central.extend_from_slice(name.as_bytes());
    }
    let mut bomb = one[..directory].to_vec();
    bomb.extend_from_slice(&central);
    let mut eocd = one[end..].to_vec();
    eocd[8..10].copy_from_slice(&(entries as u16).to_le_bytes());
    eocd[10..12].copy_from_slice(&(entries as u16).to_le_bytes());
    eocd[12..16].copy_from_slice(&(central.len() as u32).to_le_bytes());
    eocd[16..20].copy_from_slice(&(directory as u32).to_le_bytes());
    bomb.extend_from_slice(&eocd);
    bomb
}

#[test]
fn a_zip_bomb_stops_the_pickle_scan_at_a_limit() {
    // 1000 entries x 32 MiB: 32 GB to decompress without limits (minutes of CPU), 60 KB on disk.
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bomb.pt");
    let one = deflated_zeros(32 << 20);
    let bomb = zip_bomb(&one, 1000);
    assert!(bomb.len() < 200_000, "{}", bomb.len());
    std::fs::write(&model, &bomb).unwrap();
    let run = common::audit(model.to_str().unwrap(), &[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.status("serialization"), "fail");
    let scan = &run.check("serialization")["metrics"]["pickle"];
    assert_eq!(scan["complete"], false);
    assert_eq!(scan["note"], "scan stopped: limit: 1000 .pkl entries (at most 16 are scanned)");
    // Sixteen entries pass the count, and the first one stops at the ratio limit.
    std::fs::write(&model, zip_bomb(&one, 16)).unwrap();
    let run = common::audit(model.to_str().unwrap(), &[]);
    let scan = &run.check("serialization")["metrics"]["pickle"];
    assert_eq!(scan["complete"], false);
    assert_eq!(scan["note"], "scan stopped: limit: bomb/data0000.pkl expands more than 100 times its compressed size");
    assert!(run.details("serialization").iter().any(|d| d.contains("scan incomplete (scan stopped: limit:")), "{:?}", run.details("serialization"));
}
