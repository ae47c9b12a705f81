//! Which container serves the model, and its declared values against the measured ones:
//! memory limit and request, the start-up budget of the probes, a liveness probe that can
//! kill the pod while it loads, probe timeouts against p99, CPU limit against the intra-op
//! threads, and the image pin. Every judged fact is a [`Finding`], passing ones included.

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use serde::Serialize;

use super::image_ref::image_pin;
use super::k8s::{ServingContainer, Workload};
use super::quantity::{Quantity, QuantityError};
use super::{Finding, Level, Margins, Measured};

/// Kubernetes' probe defaults, used when a field is absent.
const PERIOD_SECONDS: i32 = 10;
const FAILURE_THRESHOLD: i32 = 3;
const TIMEOUT_SECONDS: i32 = 1;

/// The container judged in one workload, and why it was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judged {
    pub file: PathBuf,
    pub object: String,
    pub container: String,
    /// Field path of the container.
    pub path: String,
    /// Why this container (`names model.onnx in args`, `the only container`).
    pub why: String,
    /// Its `resources.limits.memory`, in bytes, when declared and valid (the memory budget an
    /// audit can take from the deployment).
    pub memory_limit_bytes: Option<u64>,
}

/// The containers to judge, as (workload index, container index, why), and the findings of a
/// choice that could not be made.
pub struct Choice {
    pub chosen: Vec<(usize, usize, String)>,
    pub findings: Vec<Finding>,
}

/// Several containers of one workload name the model (a server and a sidecar that downloads
/// or warms it): those that show they serve (a declared port or a readiness probe) are judged,
/// each with its own findings; when none does, nothing is guessed: one finding asks for
/// `checks.deployment.container`, and one says that no readiness probe guards the model.
fn among_several(workload: &Workload, several: &[(usize, String)], model_file: &str) -> (Vec<(usize, String)>, Vec<Finding>) {
    let serves = |c: usize| {
        let container = &workload.containers[c].container;
        container.ports.as_ref().is_some_and(|p| !p.is_empty()) || container.readiness_probe.is_some()
    };
    let count = several.len();
    let serving: Vec<&(usize, String)> = several.iter().filter(|(c, _)| serves(*c)).collect();
    let picked: Vec<(usize, String)> = match serving.as_slice() {
        [] => Vec::new(),
        [(c, why)] => vec![(*c, format!("{why}; the one of {count} containers naming it that declares a port or a readiness probe"))],
        some => {
            let k = some.len();
            let also = format!(
                "one of {k} containers that name it and declare a port or a readiness probe: set checks.deployment.container to judge only one"
            );
            some.iter().map(|(c, why)| (*c, format!("{why}; {also}"))).collect()
        }
    };
    if !picked.is_empty() {
        return (picked, Vec::new());
    }
    let names: Vec<String> = several.iter().map(|(c, _)| format!("\"{}\"", workload.containers[*c].container.name)).collect();
    let names = names.join(", ");
    let message = format!(
        "containers {names} all name {model_file} and none declares a port or a readiness probe: set checks.deployment.container to the one that serves it"
    );
    // Whichever serves the model has no readiness probe: that much is known without choosing.
    let level = if workload.object.starts_with("InferenceService/") { Level::Advice } else { Level::Problem };
    let unready = Finding {
        rule: "readiness_probe",
        ..choice_finding(
            workload,
            level,
            format!("none of the containers naming {model_file} ({names}) has a readinessProbe: traffic reaches the pod before the model has loaded"),
        )
    };
    (Vec::new(), vec![choice_finding(workload, Level::Advice, message), unready])
}

/// Picks the serving containers: the one named by `configured` (`checks.deployment.container`),
/// else in each workload the container whose image, command, args, env values, volume mounts
/// or storageUri name `model_file` (of several, those that serve: [`among_several`]), else the
/// only container of all workloads.
/// Several containers, none naming the model, and no name is one finding asking for
/// `container:`; nothing is guessed.
pub fn choose(workloads: &[Workload], model_file: &str, configured: Option<&str>) -> Choice {
    let mut chosen = Vec::new();
    let mut findings = Vec::new();
    if let Some(name) = configured {
        for (w, workload) in workloads.iter().enumerate() {
            for (c, _) in workload.containers.iter().enumerate().filter(|(_, sc)| sc.container.name == name) {
                chosen.push((w, c, "named by checks.deployment.container".to_string()));
            }
        }
        if chosen.is_empty()
            && let Some(first) = workloads.first()
        {
            let message = format!("checks.deployment.container is \"{name}\", but no container has that name (containers: {})", list(workloads));
            findings.push(choice_finding(first, Level::Problem, message));
        }
        return Choice { chosen, findings };
    }
    for (w, workload) in workloads.iter().enumerate() {
        let naming: Vec<(usize, String)> =
            workload.containers.iter().enumerate().filter_map(|(c, sc)| names_model(sc, model_file).map(|why| (c, why))).collect();
        match naming.as_slice() {
            [] => {}
            [(c, why)] => chosen.push((w, *c, why.clone())),
            several => {
                let (picked, found) = among_several(workload, several, model_file);
                chosen.extend(picked.into_iter().map(|(c, why)| (w, c, why)));
                findings.extend(found);
            }
        }
    }
    if chosen.is_empty() && findings.is_empty() {
        let all: Vec<(usize, usize)> =
            workloads.iter().enumerate().flat_map(|(w, workload)| (0..workload.containers.len()).map(move |c| (w, c))).collect();
        match all.as_slice() {
            [] => {}
            [(w, c)] => match names_other_model(&workloads[*w].containers[*c], model_file) {
                // It serves another model: judging it against this one's measures would be false.
                Some(other) => findings.push(choice_finding(
                    &workloads[*w],
                    Level::Advice,
                    format!(
                        "the only container, \"{}\", names another model file ({other}), not {model_file}: not judged; set checks.deployment.container to judge it anyway",
                        workloads[*w].containers[*c].container.name
                    ),
                )),
                None => chosen.push((*w, *c, "the only container".to_string())),
            },
            _ => {
                let message = format!(
                    "no container names the model file {model_file} and there are several ({}): set checks.deployment.container to the one that serves it",
                    list(workloads)
                );
                findings.push(choice_finding(&workloads[all[0].0], Level::Advice, message));
            }
        }
    }
    Choice { chosen, findings }
}

fn list(workloads: &[Workload]) -> String {
    workloads.iter().flat_map(|w| w.containers.iter().map(move |c| format!("{} \"{}\"", w.object, c.container.name))).collect::<Vec<_>>().join(", ")
}

/// A finding about the choice itself, at the workload's container list.
fn choice_finding(workload: &Workload, level: Level, message: String) -> Finding {
    let field =
        workload.containers.first().map_or("spec".to_string(), |c| c.path.rsplit_once('[').map_or(c.path.clone(), |(list, _)| list.to_string()));
    Finding {
        level,
        rule: "container_choice",
        file: workload.file.clone(),
        line: workload.line(&field),
        object: Some(workload.object.clone()),
        container: None,
        field,
        message,
    }
}

/// Where a container names the model file, if it does.
fn names_model(sc: &ServingContainer, model_file: &str) -> Option<String> {
    if model_file.is_empty() {
        return None;
    }
    let c = &sc.container;
    let has = |text: &str| text.contains(model_file);
    let env = c.env.iter().flatten().any(|e| e.value.as_deref().is_some_and(has));
    let mounts = c.volume_mounts.iter().flatten().any(|m| has(&m.mount_path) || m.sub_path.as_deref().is_some_and(has));
    let places = [
        ("image", c.image.as_deref().is_some_and(has)),
        ("command", c.command.iter().flatten().any(|a| has(a))),
        ("args", c.args.iter().flatten().any(|a| has(a))),
        ("env", env),
        ("volumeMounts", mounts),
        ("storageUri", sc.storage_uri.as_deref().is_some_and(has)),
    ];
    places.iter().find(|(_, found)| *found).map(|(place, _)| format!("names {model_file} in {place}"))
}

/// The first `.onnx` file other than `model_file` that the container's command, args, env values
/// or storageUri name (by the last part of its path).
fn names_other_model(sc: &ServingContainer, model_file: &str) -> Option<String> {
    let c = &sc.container;
    let texts = c.command.iter().flatten().chain(c.args.iter().flatten()).chain(c.env.iter().flatten().filter_map(|e| e.value.as_ref()));
    let words =
        texts.chain(sc.storage_uri.as_ref()).flat_map(|t| t.split(|ch: char| ch.is_whitespace() || matches!(ch, '=' | ',' | ';' | '"' | '\'')));
    words
        .filter_map(|w| w.rsplit(['/', '\\']).next())
        .find(|name| name.to_ascii_lowercase().ends_with(".onnx") && *name != model_file)
        .map(str::to_string)
}

/// The declared memory limit of a container, in bytes (`None`: absent or not a quantity).
pub fn memory_limit_bytes(container: &Container) -> Option<u64> {
    let limit = container.resources.as_ref()?.limits.as_ref()?.get("memory")?;
    // A limit past u64 bytes (`100Ei`) is more than any machine has: saturated, not dropped,
    // so that the machine caps the budget taken from it.
    match Quantity::parse(&limit.0) {
        Ok(q) => Some(u64::try_from(q.bytes()).unwrap_or(u64::MAX)),
        Err(QuantityError::TooLarge(_)) => Some(u64::MAX),
        Err(_) => None,
    }
}

/// The container judged against the measurements. `cores`: the measuring machine's logical
/// cores (ORT's default intra-op thread count).
pub struct Judge<'a> {
    pub workload: &'a Workload,
    pub serving: &'a ServingContainer,
    pub measured: &'a Measured,
    pub margins: &'a Margins,
    pub cores: usize,
}

impl Judge<'_> {
    /// Every finding of the container, passing ones included.
    pub fn findings(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        self.memory(&mut findings);
        if self.serves_traffic() {
            self.startup(&mut findings);
            self.timeouts(&mut findings);
        } else {
            // A Job or CronJob runs to completion and takes no traffic: no probe is needed, but a
            // liveness probe that kills it while the model loads still fails.
            let margin = self.margins.startup_margin;
            let need = self.measured.cold_start.map(|cold| (cold, super::recommend::startup_floor(cold, margin).as_secs_f64()));
            if self.serving.container.liveness_probe.is_some() {
                self.liveness(&mut findings, need);
            }
        }
        self.cpu(&mut findings);
        self.image(&mut findings);
        findings
    }

    /// The workload's kind (`Deployment`, `CronJob`, `InferenceService`).
    fn kind(&self) -> &str {
        self.workload.object.split('/').next().unwrap_or_default()
    }

    /// Whether the pods answer requests (a Job or CronJob runs to completion instead).
    fn serves_traffic(&self) -> bool {
        !matches!(self.kind(), "Job" | "CronJob")
    }

    /// KServe's controller fills in what an InferenceService leaves out: default resources from
    /// the cluster's `inferenceservice-config`, and (serverless) Knative's readiness probe.
    fn kserve(&self) -> bool {
        self.kind() == "InferenceService"
    }

    fn finding(&self, level: Level, rule: &'static str, field: &str, message: String) -> Finding {
        let field = format!("{}.{field}", self.serving.path);
        Finding {
            level,
            rule,
            file: self.workload.file.clone(),
            line: self.workload.line(&field),
            object: Some(self.workload.object.clone()),
            container: Some(self.serving.container.name.clone()),
            field,
            message,
        }
    }

    fn resource(&self, side: &str, name: &str) -> Option<String> {
        let resources = self.serving.container.resources.as_ref()?;
        let map = if side == "limits" { resources.limits.as_ref() } else { resources.requests.as_ref() };
        map?.get(name).map(|q| q.0.clone())
    }

    fn memory(&self, out: &mut Vec<Finding>) {
        let headroom = self.margins.memory_headroom;
        let need = self.measured.peak_rss_bytes.map(|peak| (peak, super::recommend::memory_floor_bytes(peak, headroom)));
        let field = "resources.limits.memory";
        let finding = match (self.resource("limits", "memory"), need) {
            (None, Some((peak, need))) if self.kserve() => self.finding(
                Level::Advice,
                "memory_limit",
                field,
                format!(
                    "no memory limit: KServe applies the cluster's default from inferenceservice-config; set at least the measured peak {} x {headroom} = {}",
                    mib(peak),
                    mib(need)
                ),
            ),
            (None, Some((peak, need))) => self.finding(
                Level::Problem,
                "memory_limit",
                field,
                format!("no memory limit: set at least the measured peak {} x {headroom} = {}", mib(peak), mib(need)),
            ),
            (None, None) => self.finding(Level::Problem, "memory_limit", field, "no memory limit (peak memory not measured)".to_string()),
            (Some(text), need) => match (Quantity::parse(&text), need) {
                (Err(e), _) => self.finding(Level::Problem, "memory_limit", field, e.to_string()),
                (Ok(_), None) => {
                    self.finding(Level::Advice, "memory_limit", field, format!("{text}: peak memory not measured (the model did not load)"))
                }
                (Ok(q), Some((peak, need))) if q.bytes() < u128::from(need) => self.finding(
                    Level::Problem,
                    "memory_limit",
                    field,
                    format!("{text} is below the measured peak {} x {headroom} = {}", mib(peak), mib(need)),
                ),
                (Ok(_), Some((peak, need))) => self.finding(
                    Level::Ok,
                    "memory_limit",
                    field,
                    format!("{text} covers the measured peak {} x {headroom} = {}", mib(peak), mib(need)),
                ),
            },
        };
        out.push(finding);
        if self.resource("requests", "memory").is_none() {
            out.push(self.finding(
                Level::Advice,
                "memory_request",
                "resources.requests.memory",
                "no memory request: the scheduler may place the pod on a node without room for the model; set it to the limit".to_string(),
            ));
        }
    }

    fn startup(&self, out: &mut Vec<Finding>) {
        let c = &self.serving.container;
        let margin = self.margins.startup_margin;
        let need = self.measured.cold_start.map(|cold| (cold, super::recommend::startup_floor(cold, margin).as_secs_f64()));
        let (name, probe) = match (&c.startup_probe, &c.readiness_probe) {
            (Some(p), _) => ("startupProbe", p),
            (None, Some(p)) => ("readinessProbe", p),
            (None, None) if self.kserve() => {
                out.push(
                    self.finding(
                        Level::Advice,
                        "readiness_probe",
                        "readinessProbe",
                        "no readinessProbe: KServe's default probe decides when traffic arrives; declare one whose budget covers the cold start"
                            .to_string(),
                    ),
                );
                return self.liveness(out, need);
            }
            (None, None) => {
                out.push(self.finding(
                    Level::Problem,
                    "readiness_probe",
                    "readinessProbe",
                    "no readinessProbe: traffic reaches the pod before the model has loaded".to_string(),
                ));
                return self.liveness(out, need);
            }
        };
        if c.readiness_probe.is_none() {
            out.push(self.finding(
                Level::Problem,
                "readiness_probe",
                "readinessProbe",
                "no readinessProbe: once started, the pod gets traffic even when the model cannot answer".to_string(),
            ));
        }
        let (budget, formula) = budget(probe);
        let finding = match need {
            None => self.finding(Level::Advice, "startup_budget", name, format!("gives the pod {budget} s ({formula}); cold start not measured")),
            Some((cold, need)) if (budget as f64) < need => self.finding(
                Level::Problem,
                "startup_budget",
                name,
                format!("gives the pod {budget} s ({formula}), below the measured cold start {} x {margin} = {}", seconds(cold), secs(need)),
            ),
            Some((cold, need)) => self.finding(
                Level::Ok,
                "startup_budget",
                name,
                format!("gives the pod {budget} s ({formula}), covering the measured cold start {} x {margin} = {}", seconds(cold), secs(need)),
            ),
        };
        out.push(finding);
        self.liveness(out, need);
    }

    /// A liveness probe with no startup probe runs while the model loads.
    /// No liveness probe at all is advice: a server that hangs (a deadlocked worker, a stuck
    /// inference) keeps its pod and its share of traffic until someone notices.
    fn liveness(&self, out: &mut Vec<Finding>, need: Option<(Duration, f64)>) {
        let c = &self.serving.container;
        if c.liveness_probe.is_none() {
            out.push(self.finding(
                Level::Advice,
                "liveness_probe",
                "livenessProbe",
                "no livenessProbe: a server that hangs is never restarted".to_string(),
            ));
            return;
        }
        let (Some(probe), None) = (&c.liveness_probe, &c.startup_probe) else { return };
        let (kill, formula) = budget(probe);
        let margin = self.margins.startup_margin;
        match need {
            Some((cold, need)) if (kill as f64) < need => out.push(self.finding(
                Level::Problem,
                "liveness_during_load",
                "livenessProbe",
                format!(
                    "restarts the container after {kill} s ({formula}), before the measured cold start {} x {margin} = {}: add a startupProbe (liveness waits for it) or raise initialDelaySeconds",
                    seconds(cold),
                    secs(need)
                ),
            )),
            Some((cold, need)) => out.push(self.finding(
                Level::Ok,
                "liveness_during_load",
                "livenessProbe",
                format!("first restart after {kill} s ({formula}), after the measured cold start {} x {margin} = {}", seconds(cold), secs(need)),
            )),
            None => {}
        }
    }

    fn timeouts(&self, out: &mut Vec<Finding>) {
        let c = &self.serving.container;
        let margin = self.margins.probe_timeout_margin;
        for (name, probe) in [("startupProbe", &c.startup_probe), ("readinessProbe", &c.readiness_probe), ("livenessProbe", &c.liveness_probe)] {
            let Some(probe) = probe else { continue };
            let timeout = or_default(probe.timeout_seconds, TIMEOUT_SECONDS);
            let field = format!("{name}.timeoutSeconds");
            let finding = match self.measured.p99_ms {
                None => self.finding(
                    Level::Advice,
                    "probe_timeout",
                    &field,
                    format!("{timeout} s: p99 latency not measured (the latency check did not run in this audit)"),
                ),
                Some(p99) if u64::try_from(timeout).unwrap_or(0) < super::recommend::probe_timeout_seconds(p99, margin) => self.finding(
                    Level::Problem,
                    "probe_timeout",
                    &field,
                    format!("{timeout} s is below the measured p99 {} x {margin} = {}", ms(p99), ms(p99 * margin)),
                ),
                Some(p99) => self.finding(
                    Level::Ok,
                    "probe_timeout",
                    &field,
                    format!("{timeout} s covers the measured p99 {} x {margin} = {}", ms(p99), ms(p99 * margin)),
                ),
            };
            out.push(finding);
        }
    }

    fn cpu(&self, out: &mut Vec<Finding>) {
        let configured = self.measured.intra_op_threads;
        let threads = if configured == 0 { self.cores.max(1) } else { configured };
        let source = if configured == 0 {
            format!("runtime.intra_op_threads 0: ONNX Runtime's default, one per core of the measuring machine ({threads})")
        } else {
            format!("runtime.intra_op_threads {threads}")
        };
        let field = "resources.limits.cpu";
        match self.resource("limits", "cpu").map(|text| (Quantity::parse(&text), text)) {
            None => out.push(self.finding(Level::Ok, "cpu_limit", field, format!("no CPU limit: {} not throttled", threads_text(threads)))),
            Some((Err(e), _)) => out.push(self.finding(Level::Problem, "cpu_limit", field, e.to_string())),
            Some((Ok(q), text)) if q.millis() < threads as u128 * 1000 => out.push(self.finding(
                Level::Problem,
                "cpu_limit",
                field,
                format!(
                    "{text} is below the {} the latency was measured with ({source}): the container is throttled and slower than measured; raise the limit or lower the threads",
                    threads_text(threads)
                ),
            )),
            Some((Ok(_), text)) => out.push(self.finding(Level::Ok, "cpu_limit", field, format!("{text} fits the {} ({source})", threads_text(threads)))),
        }
        if self.resource("requests", "cpu").is_none() {
            out.push(self.finding(
                Level::Advice,
                "cpu_request",
                "resources.requests.cpu",
                "no CPU request: the pod may land on a busy node and run slower than measured".to_string(),
            ));
        }
    }

    fn image(&self, out: &mut Vec<Finding>) {
        if self.serving.runtime_image {
            return;
        }
        let finding = match self.serving.container.image.as_deref() {
            None => self.finding(Level::Problem, "image_pinned", "image", "no image".to_string()),
            // An unrendered template (`$IMAGE`, `${TAG}`): not an image yet, so not judged.
            Some(image) if image.contains('$') => {
                self.finding(Level::Advice, "image_pinned", "image", format!("{image}: built from a variable, not judged; render the manifest first"))
            }
            Some(image) => {
                let pin = image_pin(image);
                self.finding(pin.level(), "image_pinned", "image", format!("{image}: {}", pin.describe()))
            }
        };
        out.push(finding);
    }
}

/// A probe's time before it gives up: initialDelaySeconds + failureThreshold x periodSeconds,
/// with Kubernetes' defaults, and the formula as text.
fn budget(probe: &Probe) -> (i64, String) {
    let delay = probe.initial_delay_seconds.unwrap_or(0).max(0);
    let failures = or_default(probe.failure_threshold, FAILURE_THRESHOLD);
    let period = or_default(probe.period_seconds, PERIOD_SECONDS);
    let total = i64::from(delay) + i64::from(failures) * i64::from(period);
    (total, format!("initialDelaySeconds {delay} + failureThreshold {failures} x periodSeconds {period}"))
}

/// A probe field as the API server stores it: absent or 0 (Helm often renders explicit zeros)
/// takes Kubernetes' default.
fn or_default(value: Option<i32>, default: i32) -> i32 {
    value.filter(|v| *v > 0).unwrap_or(default)
}

fn threads_text(threads: usize) -> String {
    if threads == 1 { "1 intra-op thread".to_string() } else { format!("{threads} intra-op threads") }
}

fn mib(bytes: u64) -> String {
    let mib = bytes as f64 / (1024.0 * 1024.0);
    if mib >= 10.0 { format!("{mib:.0} MiB") } else { format!("{mib:.1} MiB") }
}

fn seconds(duration: Duration) -> String {
    secs(duration.as_secs_f64())
}

fn secs(value: f64) -> String {
    if value >= 10.0 { format!("{value:.0} s") } else { ms(value * 1000.0) }
}

fn ms(value: f64) -> String {
    crate::runtime::tensor::format_ms(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::deploy::k8s::read_manifest;
    use std::path::Path;

    fn workload(container: &str) -> Workload {
        let text =
            format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n{container}");
        read_manifest(Path::new("d.yaml"), &text).workloads.remove(0)
    }

    fn judge(container: &str, measured: Measured) -> Vec<(Level, &'static str, String, String)> {
        let w = workload(container);
        let judge = Judge { workload: &w, serving: &w.containers[0], measured: &measured, margins: &Margins::default(), cores: 2 };
        judge.findings().into_iter().map(|f| (f.level, f.rule, f.field, f.message)).collect()
    }

    const MEASURED: Measured =
        Measured { peak_rss_bytes: Some(310 << 20), cold_start: Some(Duration::from_secs(8)), p99_ms: Some(600.0), intra_op_threads: 0 };

    #[test]
    fn a_low_limit_a_short_probe_and_a_latest_image_are_problems() {
        let findings = judge(
            "        - name: server\n          image: model:latest\n          readinessProbe:\n            httpGet: {path: /, port: 80}\n          resources:\n            limits: {memory: 256Mi, cpu: 1}\n",
            MEASURED,
        );
        let c = "spec.template.spec.containers[0]";
        assert_eq!(
            findings,
            [
                (Level::Problem, "memory_limit", format!("{c}.resources.limits.memory"), "256Mi is below the measured peak 310 MiB x 1.5 = 465 MiB".into()),
                (
                    Level::Advice,
                    "memory_request",
                    format!("{c}.resources.requests.memory"),
                    "no memory request: the scheduler may place the pod on a node without room for the model; set it to the limit".into()
                ),
                (
                    Level::Ok,
                    "startup_budget",
                    format!("{c}.readinessProbe"),
                    "gives the pod 30 s (initialDelaySeconds 0 + failureThreshold 3 x periodSeconds 10), covering the measured cold start 8 s x 2 = 16 s".into()
                ),
                (Level::Advice, "liveness_probe", format!("{c}.livenessProbe"), "no livenessProbe: a server that hangs is never restarted".into()),
                (Level::Problem, "probe_timeout", format!("{c}.readinessProbe.timeoutSeconds"), "1 s is below the measured p99 600 ms x 2 = 1.2 s".into()),
                (
                    Level::Problem,
                    "cpu_limit",
                    format!("{c}.resources.limits.cpu"),
                    "1 is below the 2 intra-op threads the latency was measured with (runtime.intra_op_threads 0: ONNX Runtime's default, one per core of the measuring machine (2)): the container is throttled and slower than measured; raise the limit or lower the threads".into()
                ),
                (
                    Level::Advice,
                    "cpu_request",
                    format!("{c}.resources.requests.cpu"),
                    "no CPU request: the pod may land on a busy node and run slower than measured".into()
                ),
                (Level::Problem, "image_pinned", format!("{c}.image"), "model:latest: `latest` moves with every push: pin a digest (@sha256:...)".into()),
            ]
        );
    }

    #[test]
    fn probe_budgets_use_kubernetes_defaults_and_liveness_without_startup_is_judged() {
        let findings = judge(
            "        - name: server\n          image: m:1\n          readinessProbe:\n            initialDelaySeconds: 5\n            periodSeconds: 1\n          livenessProbe:\n            failureThreshold: 1\n            timeoutSeconds: 5\n",
            MEASURED,
        );
        let startup = findings.iter().find(|f| f.1 == "startup_budget").unwrap();
        assert_eq!(startup.0, Level::Problem);
        assert!(startup.3.starts_with("gives the pod 8 s (initialDelaySeconds 5 + failureThreshold 3 x periodSeconds 1), below"), "{startup:?}");
        let liveness = findings.iter().find(|f| f.1 == "liveness_during_load").unwrap();
        assert_eq!(liveness.0, Level::Problem);
        assert!(
            liveness.3.starts_with("restarts the container after 10 s (initialDelaySeconds 0 + failureThreshold 1 x periodSeconds 10)"),
            "{liveness:?}"
        );
        let timeouts: Vec<Level> = findings.iter().filter(|f| f.1 == "probe_timeout").map(|f| f.0).collect();
        assert_eq!(timeouts, [Level::Problem, Level::Ok]);
    }

    #[test]
    fn unmeasured_numbers_are_advice_not_a_silent_pass() {
        let findings = judge(
            "        - name: server\n          image: m:1\n          readinessProbe:\n            timeoutSeconds: 5\n          resources:\n            limits: {memory: 1Gi}\n",
            Measured::default(),
        );
        let levels: Vec<(Level, &str)> = findings.iter().map(|f| (f.0, f.1)).collect();
        assert!(levels.contains(&(Level::Advice, "probe_timeout")), "{findings:?}");
        assert!(levels.contains(&(Level::Advice, "memory_limit")), "{findings:?}");
        assert!(levels.contains(&(Level::Advice, "startup_budget")), "{findings:?}");
    }

    #[test]
    fn the_container_naming_the_model_is_chosen_else_the_only_one_else_none() {
        let two = workload(
            "        - name: proxy\n          image: envoy:1\n        - name: server\n          image: m:1\n          args: [--model, /models/iris.onnx]\n",
        );
        let choice = choose(std::slice::from_ref(&two), "iris.onnx", None);
        assert_eq!(choice.chosen, [(0, 1, "names iris.onnx in args".to_string())]);
        let choice = choose(std::slice::from_ref(&two), "other.onnx", None);
        assert!(choice.chosen.is_empty());
        assert_eq!(choice.findings.len(), 1);
        assert_eq!(choice.findings[0].level, Level::Advice);
        assert!(choice.findings[0].message.contains("set checks.deployment.container"), "{:?}", choice.findings);
        let choice = choose(std::slice::from_ref(&two), "other.onnx", Some("proxy"));
        assert_eq!(choice.chosen, [(0, 0, "named by checks.deployment.container".to_string())]);
        let choice = choose(std::slice::from_ref(&two), "other.onnx", Some("nope"));
        assert_eq!(choice.findings[0].level, Level::Problem);
        // Two containers name the model: the one that serves (a port) is judged.
        let server = "        - name: server\n          image: m:1\n          args: [/models/iris.onnx]\n";
        let warmup = "        - name: warmup\n          image: w:1\n          env: [{name: MODEL, value: /models/iris.onnx}]\n";
        let port = "          ports: [{containerPort: 8080}]\n";
        let choice = choose(&[workload(&format!("{server}{port}{warmup}"))], "iris.onnx", None);
        let why = "names iris.onnx in args; the one of 2 containers naming it that declares a port or a readiness probe";
        assert_eq!((choice.chosen, choice.findings), (vec![(0, 0, why.to_string())], vec![]));
        // Both serve: both are judged; neither does: nothing is guessed.
        let choice = choose(&[workload(&format!("{server}{port}{warmup}{port}"))], "iris.onnx", None);
        let also = "one of 2 containers that name it and declare a port or a readiness probe: set checks.deployment.container to judge only one";
        assert_eq!(choice.chosen, [(0, 0, format!("names iris.onnx in args; {also}")), (0, 1, format!("names iris.onnx in env; {also}"))]);
        let choice = choose(&[workload(&format!("{server}{warmup}"))], "iris.onnx", None);
        assert_eq!(choice.chosen, []);
        assert_eq!(choice.findings[0].level, Level::Advice);
        assert!(
            choice.findings[0].message.starts_with("containers \"server\", \"warmup\" all name iris.onnx and none declares"),
            "{}",
            choice.findings[0].message
        );
        // ...but whichever serves has no readiness probe: a sidecar cannot hide that.
        let unready = &choice.findings[1];
        assert_eq!((unready.level, unready.rule, unready.field.as_str()), (Level::Problem, "readiness_probe", "spec.template.spec.containers"));
        assert_eq!(
            unready.message,
            "none of the containers naming iris.onnx (\"server\", \"warmup\") has a readinessProbe: traffic reaches the pod before the model has loaded"
        );
        assert_eq!(choice.findings.len(), 2);
        let one = workload("        - name: server\n          image: m:1\n          resources:\n            limits: {memory: 1.5Gi}\n");
        let choice = choose(std::slice::from_ref(&one), "iris.onnx", None);
        assert_eq!(choice.chosen, [(0, 0, "the only container".to_string())]);
        assert_eq!(memory_limit_bytes(&one.containers[0].container), Some(1_610_612_736));
        // The only container serves another model: not judged against this one.
        let other = workload("        - name: server\n          image: m:1\n          args: [--model=/models/big.onnx]\n");
        let choice = choose(std::slice::from_ref(&other), "iris.onnx", None);
        assert_eq!(choice.chosen, []);
        assert_eq!(
            (choice.findings[0].level, choice.findings[0].message.as_str()),
            (
                Level::Advice,
                "the only container, \"server\", names another model file (big.onnx), not iris.onnx: not judged; set checks.deployment.container to judge it anyway"
            )
        );
        let named = choose(std::slice::from_ref(&other), "iris.onnx", Some("server"));
        assert_eq!(named.chosen, [(0, 0, "named by checks.deployment.container".to_string())]);
        let limit = |memory: &str| {
            let w =
                workload(&format!("        - name: server\n          image: m:1\n          resources:\n            limits: {{memory: {memory}}}\n"));
            memory_limit_bytes(&w.containers[0].container)
        };
        assert_eq!(limit("100Ei"), Some(u64::MAX), "past u64 bytes: saturated");
        assert_eq!(limit("1000000000000000000000000000000000"), Some(u64::MAX), "too many digits to parse: saturated");
        assert_eq!(limit("lots"), None);
    }

    /// The findings that are not ok for the one container of `manifest`, as (level, rule).
    fn not_ok(manifest: &str) -> Vec<(Level, &'static str)> {
        let read = read_manifest(Path::new("m.yaml"), manifest);
        assert_eq!(read.malformed, Vec::new(), "{manifest}");
        let w = &read.workloads[0];
        let judge = Judge { workload: w, serving: &w.containers[0], measured: &MEASURED, margins: &Margins::default(), cores: 2 };
        judge.findings().into_iter().filter(|f| f.level != Level::Ok).map(|f| (f.level, f.rule)).collect()
    }

    const PINNED: &str = "model@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn zero_probe_fields_and_octal_modes_read_as_the_api_server_reads_them() {
        // Helm renders explicit zeros, which the API server replaces by its defaults; 0644 is
        // YAML 1.1 octal. 0 x 0 would be a budget of 0 s and a timeout of 0 s.
        let manifest = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      volumes: [{{name: m, configMap: {{name: m, defaultMode: 0644}}}}]\n      containers:\n      - name: server\n        image: {PINNED}\n        resources: {{limits: {{memory: 1Gi, cpu: 2}}, requests: {{memory: 1Gi, cpu: 2}}}}\n        startupProbe: {{httpGet: {{path: /, port: 80}}, periodSeconds: 0, failureThreshold: 0, timeoutSeconds: 0, initialDelaySeconds: 0}}\n        readinessProbe: {{httpGet: {{path: /, port: 80}}, periodSeconds: 0, timeoutSeconds: 2}}\n        livenessProbe: {{httpGet: {{path: /, port: 80}}, timeoutSeconds: 2}}\n"
        );
        // The startup probe gets 3 x 10 s = 30 s >= 8 s x 2; its timeout 1 s is below 600 ms x 2.
        assert_eq!(not_ok(&manifest), [(Level::Problem, "probe_timeout")]);
    }

    #[test]
    fn a_batch_job_needs_no_probe_and_kserve_fills_in_its_defaults() {
        let cron = format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: score}}\nspec:\n  schedule: '0 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: Never\n          containers:\n          - name: score\n            image: {PINNED}\n            resources: {{limits: {{memory: 1Gi, cpu: 2}}, requests: {{memory: 1Gi, cpu: 2}}}}\n"
        );
        assert_eq!(not_ok(&cron), []);
        let kserve = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: iris}\nspec:\n  predictor:\n    model:\n      modelFormat: {name: onnx}\n      storageUri: gs://m/iris.onnx\n";
        assert_eq!(
            not_ok(kserve),
            [
                (Level::Advice, "memory_limit"),
                (Level::Advice, "memory_request"),
                (Level::Advice, "readiness_probe"),
                (Level::Advice, "liveness_probe"),
                (Level::Advice, "cpu_request"),
            ]
        );
    }
}
