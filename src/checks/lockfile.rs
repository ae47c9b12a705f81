//! Lockfile determinism: finds the locks of the project that serves the model (Cargo, pip
//! requirements, Poetry, uv, Pipenv, conda), reads each through its parser in `crate::lockfiles`
//! and the installed Python environment through `crate::env::python_env`, and weighs the facts:
//! per ecosystem which guarantees hold (pinned, closed, hashed, in sync with the manifest and
//! the environment), and runtime parity (the onnxruntime that ran this audit, the exporter in
//! the model's producer metadata, against the versions the Python locks pin).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{AuditContext, Check, Outcome, Status};
use crate::env::python_env::{self, Drift, PythonEnv};
use crate::lockfiles::{self, Closure, Ecosystem, LockVerdict, Problem};

pub struct Lockfile;

/// Exporters that write their own name and version as the ONNX producer, with the PyPI package
/// that provides them.
const PRODUCERS: &[(&str, &str)] =
    &[("skl2onnx", "skl2onnx"), ("onnxmltools", "onnxmltools"), ("tf2onnx", "tf2onnx"), ("pytorch", "torch"), ("keras2onnx", "keras2onnx")];

impl Check for Lockfile {
    fn id(&self) -> &'static str {
        "lockfile"
    }

    fn description(&self) -> &'static str {
        "dependencies are pinned, closed, hashed and in sync with the installed environment, and the onnxruntime pin matches the runtime"
    }

    fn explanation(&self) -> &'static str {
        "What: looks in --project DIR (default: the model's folder and the root of its git checkout) for Cargo.lock, \
         requirements*.txt, poetry.lock, uv.lock, Pipfile.lock and environment.yml with their manifests, and says per \
         ecosystem which guarantees hold. Pinned: every dependency pinned exactly. Closed: every package a pinned \
         package needs is pinned too, by the lock's own graph (uv.lock, poetry.lock, conda-lock.yml, Cargo.lock), else \
         by the installed environment's METADATA (Requires-Dist, markers and extras evaluated for its interpreter); a \
         requirements.txt or Pipfile.lock with no environment to read is 'closure not verifiable' (a warning). Hashed: \
         file hashes present (checks.lockfile.require_hashes makes their absence fail). In sync: the lock agrees with its \
         manifest (Cargo: read as data the way `cargo --locked` judges it, cargo is never run; Python: names, version \
         ranges, requires-python), and with the installed environment (--env DIR, else $VIRTUAL_ENV, $CONDA_PREFIX, the \
         project's .venv; --env none for none; read as files, Python is never run): every pinned package installed at exactly its version, \
         every installed package (bar pip, setuptools, wheel, uv) pinned, the interpreter inside requires-python; a \
         cross-platform lock's pin missing here fails only when the project or an installed package needs it. \
         The onnxruntime version that ran this audit, and the exporter in the model's producer metadata (skl2onnx, \
         tf2onnx, torch, ...), must equal the versions the locks pin; what could not be compared is said. A lock \
         fingerprint (SHA-256 of the resolved set) is reported so two audits can be compared.\n\
         Why: an unpinned, open or stale dependency makes the model you audited different from the model you serve \
         (scikit-learn 1.2.0 in training, 1.4.0 in production); another onnxruntime can change numerics and latency.\n\
         Fix: pin the whole set with `uv lock`, `poetry lock`, `pip-compile --generate-hashes`, `uv pip compile`, \
         `pip freeze`, `pipenv lock` or conda-lock; run `cargo update -w`; commit the lock; install from it \
         (`pip install --require-hashes -r`, `uv sync --locked`); pin onnxruntime to the version you audited."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let mut verdicts: Vec<LockVerdict> = Vec::new();
        for dir in unique_dirs(&ctx.project_dirs) {
            verdicts.extend(lockfiles::audit_dir(&dir));
        }
        if verdicts.is_empty() {
            let searched: Vec<String> = ctx.project_dirs.iter().map(|d| d.display().to_string()).collect();
            return Outcome::warn(format!("no lockfile found in {}", searched.join(", "))).with_details([
                "looked for Cargo.lock, requirements*.txt, poetry.lock, uv.lock, Pipfile.lock, environment.yml, conda explicit files (conda-*.lock, spec-file.txt); use --project DIR".to_string(),
            ]);
        }
        let mut judged = Judged::default();
        let env = load_env(ctx, &mut judged);
        let require_hashes = ctx.config.checks.lockfile.require_hashes;
        // A package pinned in any of the project's Python locks counts as pinned (`-r base.txt`).
        let pinned_anywhere: BTreeSet<String> =
            verdicts.iter().filter(|v| v.ecosystem != Ecosystem::Rust).flat_map(|v| v.python_pins.keys().cloned()).collect();
        for verdict in &mut verdicts {
            judged.file_lines(verdict, require_hashes);
            close_from_env(verdict, env.as_ref().map(|e| &e.0), &pinned_anywhere, &mut judged);
        }
        let in_sync = env.as_ref().map(|(env, _)| env_parity(env, &verdicts, &mut judged));
        let pins = python_pins(&verdicts);
        runtime_parity(ctx, &pins, &mut judged);
        let summary = ecosystem_summary(&verdicts, env.as_ref().map(|(_, name)| name.as_str()), in_sync);
        judged.finish(&verdicts, summary, env.as_ref().map(|(e, _)| e))
    }
}

/// Every line of the check, with the status it carries.
#[derive(Default)]
struct Judged {
    lines: Vec<(Status, String)>,
    /// A failure important enough to lead the summary (the runtime is not the pinned one).
    headline: Option<String>,
}

impl Judged {
    fn push(&mut self, status: Status, text: impl Into<String>) {
        self.lines.push((status, text.into()));
    }

    /// The file's own summary and each of its findings, named with its folder.
    fn file_lines(&mut self, verdict: &LockVerdict, require_hashes: bool) {
        let name = lockfiles::file_name(&verdict.file);
        let path = relative(&verdict.file);
        self.push(Status::Pass, format!("{path}: {}", verdict.summary));
        for finding in &verdict.findings {
            // Parser messages may already start with the file name: give its folder instead.
            let text = match finding.text.strip_prefix(&format!("{name}:")) {
                Some(rest) => format!("{path}:{rest}"),
                None => format!("{path}: {}", finding.text),
            };
            self.push(severity(finding.problem, require_hashes), text);
        }
    }

    fn worst(&self) -> Status {
        self.lines.iter().map(|(s, _)| *s).max().unwrap_or(Status::Pass)
    }

    fn finish(self, verdicts: &[LockVerdict], summary: String, env: Option<&PythonEnv>) -> Outcome {
        let worst = self.worst();
        let summary = match &self.headline {
            Some(text) => format!("{text}; {summary}"),
            None => summary,
        };
        let mut details: Vec<String> = self.lines.into_iter().map(|(_, t)| t).collect();
        let resolved: Vec<String> = verdicts.iter().flat_map(|v| v.resolved.iter().cloned()).collect();
        let fingerprint = fingerprint(&resolved);
        if !resolved.is_empty() {
            details.push(format!("lock fingerprint {fingerprint} over {} resolved packages", resolved.len()));
        }
        let files: Vec<String> = verdicts.iter().map(|v| relative(&v.file)).collect();
        let outcome = match worst {
            Status::Fail => Outcome::fail(summary),
            Status::Warn => Outcome::warn(summary),
            _ => Outcome::pass(summary),
        };
        let mut outcome = outcome
            .with_details(details)
            .with_metric("lockfiles", files)
            .with_metric("resolved_packages", resolved.len())
            .with_metric("fingerprint", fingerprint);
        if let Some(env) = env {
            outcome = outcome.with_metric("python_env", env.shown());
        }
        outcome
    }
}

/// What each kind of finding weighs.
fn severity(problem: Problem, require_hashes: bool) -> Status {
    match problem {
        Problem::Unpinned | Problem::Malformed | Problem::NotClosed | Problem::OutOfSync => Status::Fail,
        Problem::Unhashed if require_hashes => Status::Fail,
        Problem::Unhashed | Problem::Incomplete => Status::Warn,
        Problem::Note => Status::Pass,
    }
}

/// The environment to compare with (`--env`, read before the audit, or the default places),
/// with the short name the summary uses. A default one that cannot be read is said, not fatal.
fn load_env(ctx: &AuditContext<'_>, judged: &mut Judged) -> Option<(PythonEnv, String)> {
    let env = match ctx.python_env {
        Some(env) => env.clone(),
        None if ctx.env_off => return None,
        None => {
            let (path, origin) = python_env::discover(None, &ctx.project_dirs)?;
            match python_env::read(&path, origin) {
                Ok(env) => env,
                Err(e) => {
                    judged.push(Status::Warn, format!("the Python environment from {} could not be read: {e}", origin.label()));
                    return None;
                }
            }
        }
    };
    for problem in &env.problems {
        judged.push(Status::Warn, format!("{problem} (skipped)"));
    }
    let name = env.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| env.shown());
    Some((env, name))
}

/// A lock without a graph (requirements.txt, Pipfile.lock, environment.yml alone) is closed
/// when the installed environment says every package its pins need is pinned too.
fn close_from_env(verdict: &mut LockVerdict, env: Option<&PythonEnv>, pinned_anywhere: &BTreeSet<String>, judged: &mut Judged) {
    if verdict.closure != Closure::NoGraph || verdict.python_pins.is_empty() || verdict.ecosystem == Ecosystem::Rust {
        return;
    }
    let file = relative(&verdict.file);
    let Some(env) = env else {
        judged.push(
            Status::Warn,
            format!(
                "{file}: closure not verifiable: the file holds no dependency graph and no Python environment was found to read one from \
                 (pass --env DIR, or pin the whole set with `pip freeze`, `pip-compile` or `uv pip compile`)"
            ),
        );
        return;
    };
    // Conda packages walk the prefix's conda-meta graph; Python distributions their METADATA.
    let conda = env.kind == python_env::Kind::Conda;
    let (conda_roots, roots): (BTreeSet<String>, BTreeSet<String>) =
        verdict.python_pins.keys().cloned().partition(|name| conda && verdict.conda_names.contains(name));
    let conda_gaps = python_env::unpinned_conda_requirements(env, &conda_roots, pinned_anywhere);
    let gaps = python_env::unpinned_requirements(env, &roots, &verdict.extras, pinned_anywhere).map(|mut gaps| {
        gaps.retain(|g| !conda_gaps.iter().any(|c| c.name == g.name));
        gaps.extend(conda_gaps);
        gaps.sort();
        gaps
    });
    match gaps {
        Ok(missing) if missing.is_empty() => verdict.closure = Closure::Closed,
        Ok(missing) => {
            verdict.closure = Closure::Open;
            for gap in missing {
                let installed = if gap.installed { "" } else { " and not installed" };
                judged.push(
                    Status::Fail,
                    format!("{file}: {} (required by {}=={}) is not pinned{installed}", gap.name, gap.required_by, gap.required_by_version),
                );
            }
        }
        Err(python_env::ClosureUnknown::NoInterpreterVersion) => judged.push(
            Status::Warn,
            format!("{file}: closure not verifiable: the interpreter version of {} is unknown, so markers cannot be evaluated", env.shown()),
        ),
    }
}

/// Pins against the installed environment; true when every pin is installed at its version and
/// the interpreter is inside every lock's requires-python.
fn env_parity(env: &PythonEnv, verdicts: &[LockVerdict], judged: &mut Judged) -> bool {
    let python: Vec<&LockVerdict> = verdicts.iter().filter(|v| v.ecosystem != Ecosystem::Rust).collect();
    let pins = comparable_pins(env, &python);
    let own: BTreeSet<String> = python.iter().flat_map(|v| v.own_packages.iter().cloned()).collect();
    let needed = needed_but_missing(env, &pins);
    let direct = direct_dependencies(env, &python);
    let markers = env.markers();
    let applies =
        |v: &LockVerdict, name: &str| v.python_pins.get(name).is_some_and(|list| list.iter().any(|p| python_env::pin_applies(p, markers.as_ref())));
    // Pinned by design for elsewhere: by cross-platform locks, or by a constraints file only
    // (pip installs a constrained package only when something asks for it).
    let optional = |name: &str| python.iter().filter(|v| applies(v, name)).all(|v| v.universal || v.constrained_only.contains(name));
    let shown = env.shown();
    not_applicable(env, &pins, judged);
    let (mut in_sync, mut extra, mut elsewhere) = (true, Vec::new(), Vec::new());
    for drift in python_env::drift(env, &pins, &own) {
        match drift {
            Drift::Version { name, pinned, installed } => {
                in_sync = false;
                judged.push(Status::Fail, format!("{name} pinned {pinned}, installed {installed} (in {shown})"));
            }
            Drift::NotInstalled { name, pinned } => {
                // A cross-platform lock pins packages for other platforms, Pythons, extras and
                // groups: one missing here matters when the project or an installed package needs it.
                let why = match (optional(&name), needed.get(&name), direct.contains(&name)) {
                    (false, _, _) => String::new(),
                    (true, Some(by), _) => format!(" (required by {by})"),
                    (true, None, true) => " (a direct dependency of the project)".to_string(),
                    (true, None, false) => {
                        elsewhere.push(name);
                        continue;
                    }
                };
                in_sync = false;
                judged.push(Status::Fail, format!("{name} pinned {pinned}, not installed in {shown}{why}"));
            }
            Drift::NotPinned { name, installed } => extra.push(format!("{name} {installed}")),
        }
    }
    report_extra_and_elsewhere(&shown, extra, elsewhere, judged);
    in_sync &= interpreter_parity(env, &python, judged);
    in_sync
}

/// Installed packages pinned nowhere (a few one line each, many in one line), and what a
/// cross-platform lock pins for elsewhere.
fn report_extra_and_elsewhere(shown: &str, extra: Vec<String>, elsewhere: Vec<String>, judged: &mut Judged) {
    if extra.len() > 5 {
        judged.push(Status::Warn, format!("{} packages are installed in {shown} but pinned in no lock: {}", extra.len(), extra.join(", ")));
    } else {
        for package in extra {
            judged.push(Status::Warn, format!("{package} is installed in {shown} but pinned in no lock"));
        }
    }
    if !elsewhere.is_empty() {
        judged.push(
            Status::Pass,
            format!(
                "not compared: {} package(s) a cross-platform lock or a constraints file pins are not installed in {shown} and nothing installed needs them (other platforms, Pythons, extras or groups): {}",
                elsewhere.len(),
                elsewhere.join(", ")
            ),
        );
    }
}

/// Pins whose every marker is false for this environment's interpreter (`tomli==2.5.0 ;
/// python_full_version < '3.11'` on 3.11): not required here, and said so.
fn not_applicable(env: &PythonEnv, pins: &BTreeMap<String, Vec<lockfiles::Pin>>, judged: &mut Judged) {
    let markers = env.markers();
    if markers.is_none() {
        return;
    }
    let skipped: Vec<String> = pins
        .iter()
        .filter(|(_, list)| !list.iter().any(|p| python_env::pin_applies(p, markers.as_ref())))
        .map(|(name, list)| format!("{name} ({})", list.iter().map(|p| p.marker.as_str()).collect::<Vec<_>>().join(" / ")))
        .collect();
    if !skipped.is_empty() {
        let python = env.python.as_deref().unwrap_or_default();
        judged.push(
            Status::Pass,
            format!(
                "not applicable: {} pinned package(s) whose marker is false for Python {python} in {}: {}",
                skipped.len(),
                env.shown(),
                skipped.join(", ")
            ),
        );
    }
}

/// Every Python pin that can be compared with this environment: not the interpreter itself
/// (requires-python covers it) and conda packages only with a conda prefix.
fn comparable_pins(env: &PythonEnv, python: &[&LockVerdict]) -> BTreeMap<String, Vec<lockfiles::Pin>> {
    let conda = env.kind == python_env::Kind::Conda;
    let mut pins: BTreeMap<String, Vec<lockfiles::Pin>> = BTreeMap::new();
    for verdict in python {
        for (name, list) in &verdict.python_pins {
            if name == "python" || (!conda && verdict.conda_names.contains(name)) {
                continue;
            }
            pins.entry(name.clone()).or_default().extend(list.iter().cloned());
        }
    }
    pins
}

/// Pinned packages an installed pinned package needs (markers evaluated) that the environment
/// lacks, with the package that needs each (`requests==2.34.2`).
fn needed_but_missing(env: &PythonEnv, pins: &BTreeMap<String, Vec<lockfiles::Pin>>) -> BTreeMap<String, String> {
    let pinned: BTreeSet<String> = pins.keys().cloned().collect();
    let missing = python_env::uninstalled_requirements(env, &pinned).unwrap_or_default();
    missing.into_iter().filter(|g| pinned.contains(&g.name)).map(|g| (g.name, format!("{}=={}", g.required_by, g.required_by_version))).collect()
}

/// The project's direct dependencies whose marker applies to this environment.
fn direct_dependencies(env: &PythonEnv, python: &[&LockVerdict]) -> BTreeSet<String> {
    let markers = env.markers();
    python
        .iter()
        .flat_map(|v| v.direct.iter())
        .filter(|(_, marker)| python_env::pin_applies(&lockfiles::Pin { version: String::new(), marker: marker.clone() }, markers.as_ref()))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The interpreter against each lock's requires-python.
fn interpreter_parity(env: &PythonEnv, verdicts: &[&LockVerdict], judged: &mut Judged) -> bool {
    let mut ok = true;
    for verdict in verdicts {
        let Some(range) = verdict.requires_python.as_deref() else { continue };
        let Some(python) = env.python.as_deref() else {
            judged.push(Status::Warn, format!("the interpreter version of {} is unknown: requires-python '{range}' not checked", env.shown()));
            continue;
        };
        if let Ok(false) = lockfiles::pep::satisfies(range, python) {
            ok = false;
            judged.push(
                Status::Fail,
                format!("{} runs Python {python}, outside requires-python '{range}' of {}", env.shown(), lockfiles::file_name(&verdict.file)),
            );
        }
    }
    ok
}

/// The onnxruntime that ran, the exporter and the model's opsets against the pins; what could
/// not be compared is said, with the reason.
fn runtime_parity(ctx: &AuditContext<'_>, pins: &BTreeMap<String, (String, String)>, judged: &mut Judged) {
    let ort_pin = pins.get("onnxruntime");
    match (ctx.runtime, ort_pin) {
        (Some(runtime), Some((version, file))) if !python_env::same_version(version, &runtime.version) => {
            let text = format!("onnxruntime is pinned to {version} in {file} but this audit ran on {}", runtime.version);
            judged.headline = Some(text.clone());
            judged.push(Status::Fail, text);
        }
        (Some(_), Some((version, file))) => judged.push(Status::Pass, format!("onnxruntime {version} pinned in {file} is the runtime that ran")),
        (None, Some(_)) => {
            judged.push(Status::Pass, "not checked: the onnxruntime pin against the runtime (no runtime ran: the model was not loaded)")
        }
        (_, None) => {
            judged.push(Status::Pass, "not checked: the runtime and the model's opsets against an onnxruntime pin (no lock pins onnxruntime)")
        }
    }
    let Ok(info) = &ctx.artifact.onnx else { return };
    if let (Some((version, file)), Some(opset)) = (ort_pin, info.default_opset()) {
        let loaded = ctx.runner.is_ok() && ctx.runtime.is_some_and(|r| python_env::same_version(version, &r.version));
        if loaded {
            judged.push(Status::Pass, format!("opset {opset}: the model loaded on onnxruntime {version}, the version {file} pins"));
        } else {
            judged.push(
                Status::Pass,
                format!(
                    "not checked: opset {opset} against onnxruntime {version} pinned in {file} (only the pinned runtime loading the model tells)"
                ),
            );
        }
    }
    producer_parity(info, pins, judged);
}

/// The exporter recorded as the model's producer (and `*_version` metadata) against the pins.
fn producer_parity(info: &crate::artifact::OnnxInfo, pins: &BTreeMap<String, (String, String)>, judged: &mut Judged) {
    let producer = PRODUCERS.iter().find(|(name, _)| info.producer_name.eq_ignore_ascii_case(name));
    match producer {
        Some((name, package)) => match pins.get(*package) {
            _ if info.producer_version.is_empty() => {
                judged.push(Status::Pass, format!("not checked: the model names {name} as producer without a version"))
            }
            Some((version, file)) if !exporter_matches(&info.producer_version, version) => {
                judged.push(Status::Fail, format!("the model was exported with {name} {} but {file} pins {package} {version}", info.producer_version))
            }
            Some((version, file)) => judged
                .push(Status::Pass, format!("the model was exported with {name} {}, the {package} {version} {file} pins", info.producer_version)),
            None => judged
                .push(Status::Pass, format!("not checked: the model was exported with {name} {} and no lock pins {package}", info.producer_version)),
        },
        None if info.producer_name.is_empty() => judged.push(Status::Pass, "not checked: the model names no producer"),
        None => judged.push(Status::Pass, format!("not checked: producer '{}' is not a converter ready maps to a package", info.producer_name)),
    }
    for (key, version) in &info.metadata {
        let Some(package) = key.strip_suffix("_version") else { continue };
        let package = if package == "sklearn" { "scikit-learn" } else { package };
        if let Some((pinned, file)) = pins.get(&lockfiles::pep::normalize(package))
            && !python_env::same_version(pinned, version)
        {
            judged.push(Status::Fail, format!("the model records {package} {version} but {file} pins {pinned}"));
        }
    }
}

/// Whether the producer version a converter wrote names the pinned release: tf2onnx writes
/// `1.16.1 15c810` (version and commit), torch may write a local build (`2.5.1+cu121`) the
/// pin spells without it; both compare by release.
fn exporter_matches(producer_version: &str, pinned: &str) -> bool {
    let release = |v: &str| v.split_whitespace().next().unwrap_or_default().split('+').next().unwrap_or_default().to_string();
    python_env::same_version(&release(producer_version), &release(pinned))
}

/// Per ecosystem, which guarantees hold: `python: pinned, closed, in sync with .venv; not hashed`.
fn ecosystem_summary(verdicts: &[LockVerdict], env_name: Option<&str>, env_in_sync: Option<bool>) -> String {
    let mut ecosystems: BTreeMap<Ecosystem, Vec<&LockVerdict>> = BTreeMap::new();
    for verdict in verdicts {
        ecosystems.entry(verdict.ecosystem).or_default().push(verdict);
    }
    let mut parts = Vec::new();
    for (ecosystem, list) in ecosystems {
        let (mut held, mut lacking) = (Vec::new(), Vec::new());
        let mut hold = |ok: bool, yes: String, no: String| if ok { held.push(yes) } else { lacking.push(no) };
        hold(list.iter().all(|v| !v.has(Problem::Unpinned) && !v.has(Problem::Malformed)), "pinned".into(), "not pinned".into());
        let closure = if list.iter().any(|v| v.closure == Closure::Open) {
            "not closed"
        } else if list.iter().any(|v| v.closure == Closure::NoGraph) {
            "closure not verifiable"
        } else {
            ""
        };
        hold(closure.is_empty(), "closed".into(), closure.into());
        hold(list.iter().all(|v| !v.has(Problem::Unhashed)), "hashed".into(), "not hashed".into());
        let manifests: BTreeSet<&str> = list.iter().filter_map(|v| v.manifest.as_deref()).collect();
        if !manifests.is_empty() {
            let names = manifests.into_iter().collect::<Vec<_>>().join(", ");
            hold(list.iter().all(|v| !v.has(Problem::OutOfSync)), format!("in sync with {names}"), format!("out of sync with {names}"));
        }
        if ecosystem != Ecosystem::Rust {
            match (env_name, env_in_sync) {
                (Some(name), Some(ok)) => hold(ok, format!("in sync with {name}"), format!("not in sync with {name}")),
                _ => lacking.push("no environment checked".into()),
            }
        }
        let text = match (held.is_empty(), lacking.is_empty()) {
            (false, false) => format!("{}: {}; {}", ecosystem.label(), held.join(", "), lacking.join(", ")),
            (false, true) => format!("{}: {}", ecosystem.label(), held.join(", ")),
            (true, _) => format!("{}: {}", ecosystem.label(), lacking.join(", ")),
        };
        parts.push(text);
    }
    parts.join("; ")
}

/// The folders, each once (compared by canonical path, kept as given for messages).
fn unique_dirs(project_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = Vec::new();
    let mut dirs = Vec::new();
    for dir in project_dirs {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if !seen.contains(&canonical) {
            seen.push(canonical);
            dirs.push(dir.clone());
        }
    }
    dirs
}

/// Every Python pin across the verdicts: name → (version, file it came from); the first pin
/// of the first lock that pins the package.
fn python_pins(verdicts: &[LockVerdict]) -> BTreeMap<String, (String, String)> {
    let mut pins = BTreeMap::new();
    for verdict in verdicts {
        for (name, list) in &verdict.python_pins {
            if let Some(pin) = list.first() {
                pins.entry(name.clone()).or_insert_with(|| (pin.version.clone(), lockfiles::file_name(&verdict.file)));
            }
        }
    }
    pins
}

/// The path as the user can read it: relative to the working directory when inside it.
fn relative(path: &Path) -> String {
    let cwd = std::env::current_dir().ok().and_then(|c| c.canonicalize().ok());
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    cwd.and_then(|c| absolute.strip_prefix(c).ok().map(|p| p.display().to_string())).unwrap_or_else(|| path.display().to_string())
}

/// A SHA-256 over the sorted resolved package set: two audits with the same fingerprint ran
/// against the same locked dependencies.
pub fn fingerprint(resolved: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&String> = resolved.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut hasher = Sha256::new();
    for entry in sorted {
        hasher.update(entry.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", crate::artifact::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exporter_versions_compare_by_release() {
        assert!(exporter_matches("1.16.1 15c810", "1.16.1"));
        assert!(exporter_matches("2.5.1+cu121", "2.5.1"));
        assert!(exporter_matches("1.20.0", "1.20"));
        assert!(!exporter_matches("1.20.0", "1.19.1"));
        assert!(!exporter_matches("1.2", "1.20.0"));
    }

    #[test]
    fn the_fingerprint_ignores_order_and_duplicates() {
        let a = fingerprint(&["pypi:numpy==2.4.6".into(), "crates:itoa==1.0.18".into()]);
        let b = fingerprint(&["crates:itoa==1.0.18".into(), "pypi:numpy==2.4.6".into(), "pypi:numpy==2.4.6".into()]);
        assert_eq!(a, b);
        assert_ne!(a, fingerprint(&["pypi:numpy==2.4.7".into(), "crates:itoa==1.0.18".into()]));
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }
}
