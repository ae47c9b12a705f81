//! Deployment: the Kubernetes manifests and Dockerfiles under `--project` and `--deploy` checked against what
//! this audit measured (peak memory, cold start, p99 latency, threads). The readers in
//! `crate::env::deploy` find, parse and judge; this check picks the status: a problem fails,
//! advice warns.

use super::{AuditContext, Check, Outcome, Status};
use crate::env::deploy::dockerfile::{self, DockerContext};
use crate::env::deploy::files::DeployFile;
use crate::env::deploy::read::DeployRead;
use crate::env::deploy::recommend::measured_from;
use crate::env::deploy::rules::{self, Judge, Judged};
use crate::env::deploy::{Finding, Level, Margins, Measured};
use crate::sandbox::open::OpenError;

pub struct Deployment;

const EXPLANATION: &str = "What: reads the Kubernetes manifests (*.yaml, *.yml) under --project and the files and folders \
given with --deploy (repeatable): Deployment, StatefulSet, DaemonSet, Pod, Job, CronJob (typed, through k8s-openapi) and \
KServe InferenceService (spec.predictor.containers and spec.predictor.model), multi-document files included, and the items of \
a kind: List (kubectl get -o yaml|json); other kinds (Service, ConfigMap, custom resources) are listed as skipped, YAML without \
apiVersion and kind is ignored, an unrendered Helm chart is noted. It judges the container that serves the model: the one whose \
image, command, args, env values, volume mounts or storageUri name the model file (when several do, those that declare a port \
or a readiness probe are judged; when none does, nothing is judged and a finding asks for the name), else the only container, \
or the one named by checks.deployment.container (several candidates, none naming the model, and no name warn, asking for it). \
When the config sets no limits.memory_budget_mb, the judged container's resources.limits.memory is also the audit's memory \
budget (capped by what this machine has available, at least 128 MiB). Against the numbers this audit measured: resources.limits.memory must be at \
least the peak memory after loading x memory_headroom (a missing limit fails, a missing memory request warns); the time the \
pod is given to become ready (startupProbe, else readinessProbe: initialDelaySeconds + failureThreshold x periodSeconds, with \
Kubernetes' defaults 0, 3 and 10 s) must be at least the cold start (session creation + first inference) x startup_margin; \
no readinessProbe fails; a livenessProbe with no startupProbe that restarts the container before cold start x startup_margin \
fails, and no livenessProbe warns; every probe's timeoutSeconds (default 1) must be at least the latency check's p99 x probe_timeout_margin (not measured \
when latency did not run: warns); a CPU limit below the intra-op threads ONNX Runtime measured with (runtime.intra_op_threads, \
0 = one per core of this machine) fails, a missing CPU request warns; an image pinned by digest passes, a tag warns, latest or \
no tag fails. Dockerfiles and Containerfiles found the same way are judged with their folder as the build context: \
every external FROM pinned by digest (a tag warns, latest or none fails), a slim or distroless final base (else warns), \
dependencies installed from a lock (bare pip names fail), a non-root USER and a HEALTHCHECK or manifest probe (else warn), \
and a COPY of the model file must ship the audited bytes (same SHA-256; another model fails). Malformed YAML, and a document that does not match its kind's schema, is a finding naming the file and line. \
Each finding names the file, line, object, container and field path (spec.template.spec.containers[0].resources.limits.memory); \
the JSON report carries them under metrics.findings.\n\
Why: a model that passes every check alone is still killed in production when its memory limit is below its peak (OOMKilled), \
when a probe gives up before the model has loaded (restarts forever), when a 1 s probe timeout meets a slow inference (pods \
flap), when a CPU limit throttles the threads it was measured with, or when the image floats on latest. Linters check that a \
limit or a probe is present; this compares it with the model's measured numbers. The margins exist because production is \
not the measuring machine: inference allocates in spikes above the load peak (memory_headroom 1.5), nodes are slower and \
busier and pull the model first (startup_margin 2), and a health endpoint that runs inference has a tail (probe_timeout_margin 2).\n\
Fix: raise the memory limit and set requests.memory; add a startupProbe whose failureThreshold x periodSeconds covers the \
cold start (liveness waits for it); raise timeoutSeconds; set the CPU limit to at least the intra-op threads or lower the threads \
(runtime.intra_op_threads and the server's); pin the image by digest (image@sha256:...).";

impl Check for Deployment {
    fn id(&self) -> &'static str {
        "deployment"
    }

    fn description(&self) -> &'static str {
        "the Kubernetes deployment's memory limit, probes, CPU limit and image fit what the audit measured; the Dockerfile is pinned, locked and ships this model"
    }

    fn explanation(&self) -> &'static str {
        EXPLANATION
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        // Read once by the audit before the checks; read here only for a context built without it.
        let owned;
        let read = match ctx.deploy_read {
            Some(read) => read,
            None => match DeployRead::read(ctx.project.as_deref(), &ctx.deploy) {
                Ok(read) => {
                    owned = read;
                    &owned
                }
                Err(e) => return Outcome::fail(e),
            },
        };
        let where_ = searched(ctx);
        if read.manifests == 0 && read.dockerfiles.is_empty() {
            return Outcome::skip(format!("no Kubernetes manifest or Dockerfile found under {where_}")).with_details(read.notes.clone());
        }
        let measured = measured(ctx);
        let margins = ctx.config.checks.deployment.margins();
        let (mut findings, judged, probed) = judge_manifests(ctx, read, &measured, &margins);
        for (file, text) in &read.dockerfiles {
            findings.extend(judge_dockerfile(ctx, file, text, probed));
        }
        let objects: Vec<String> = read.workloads.iter().map(|w| w.object.clone()).collect();
        outcome(findings, &judged, &objects, &read.skipped, read.notes.clone(), &where_)
            .with_metric(
                "measured",
                serde_json::json!({
                    "peak_rss_bytes": measured.peak_rss_bytes,
                    "cold_start_ms": measured.cold_start.map(|d| d.as_secs_f64() * 1e3),
                    "p99_ms": measured.p99_ms,
                    "intra_op_threads": measured.intra_op_threads,
                }),
            )
            .with_metric("margins", serde_json::to_value(margins).unwrap_or_default())
            .with_metric("judged", serde_json::to_value(&judged).unwrap_or_default())
            .with_metric("memory_limit_bytes", judged.first().and_then(|j| j.memory_limit_bytes))
    }
}

/// The findings of the manifests read, the containers judged, and whether one of them declares
/// a probe (a Dockerfile then needs no HEALTHCHECK).
fn judge_manifests(ctx: &AuditContext<'_>, read: &DeployRead, measured: &Measured, margins: &Margins) -> (Vec<Finding>, Vec<Judged>, bool) {
    let mut findings = read.malformed.clone();
    if read.workloads.is_empty() {
        return (findings, Vec::new(), false);
    }
    let model_file = ctx.artifact.path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let choice = rules::choose(&read.workloads, model_file, ctx.config.checks.deployment.container.as_deref());
    let cores = crate::machine::Machine::current().logical_cores;
    findings.extend(choice.findings);
    let (mut judged, mut probed) = (Vec::new(), false);
    for (w, c, why) in choice.chosen {
        let workload = &read.workloads[w];
        let serving = &workload.containers[c];
        let container = &serving.container;
        probed |= container.readiness_probe.is_some() || container.liveness_probe.is_some() || container.startup_probe.is_some();
        findings.extend(Judge { workload, serving, measured, margins, cores }.findings());
        judged.push(Judged {
            file: workload.file.clone(),
            object: workload.object.clone(),
            container: container.name.clone(),
            path: serving.path.clone(),
            why,
            memory_limit_bytes: rules::memory_limit_bytes(container),
        });
    }
    (findings, judged, probed)
}

/// The findings of one Dockerfile, built in its own folder (the build context), or the one
/// finding that says why it could not be read.
fn judge_dockerfile(ctx: &AuditContext<'_>, file: &DeployFile, text: &Result<String, OpenError>, manifest_probe: bool) -> Vec<Finding> {
    let unread = |line: Option<usize>, message: String| Finding::whole_file(Level::Problem, "dockerfile_syntax", file.path.clone(), line, message);
    let text = match text {
        Ok(text) => text,
        Err(e) => return vec![unread(None, format!("not read: {e}"))],
    };
    let parsed = match dockerfile::read(&file.path, text) {
        Ok(parsed) => parsed,
        Err(e) => return vec![unread(e.line, e.kind.to_string())],
    };
    let context_dir = file.path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let model_file = ctx.artifact.path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    dockerfile::judge(&parsed, &DockerContext::new(context_dir, model_file, ctx.artifact.sha256.clone(), manifest_probe))
}

/// The measured numbers a deployment is judged against: peak memory after loading and the
/// cold start from this audit's model load (read from the load itself, so they are there when
/// `serialization` is not selected), p99 from the latency check when it ran. The same rules as
/// [`measured_from`], which reads them back from a report: a cold start needs the first
/// inference, and the threads stay as configured (0: ONNX Runtime's default) so a finding can
/// say which setting it judged.
pub fn measured(ctx: &AuditContext<'_>) -> Measured {
    let cold = ctx.cold_start;
    let latency = ctx.earlier_outcome("latency").filter(|o| o.status != Status::Skip).map(|o| o.metrics);
    let threads = ctx.config.runtime.intra_op_threads;
    Measured {
        peak_rss_bytes: cold.and_then(|c| c.peak_rss_after_load),
        cold_start: cold.and_then(|c| c.first_inference.map(|first| c.session_create + first)),
        intra_op_threads: threads,
        ..measured_from(None, latency.as_ref(), threads, 0)
    }
}

/// Where manifests were looked for, for the skip message.
fn searched(ctx: &AuditContext<'_>) -> String {
    let mut places: Vec<String> = ctx.deploy.iter().map(|p| p.display().to_string()).collect();
    if let Some(project) = &ctx.project {
        places.push(project.display().to_string());
    }
    if places.is_empty() { "--project or --deploy (neither given)".to_string() } else { places.join(", ") }
}

/// The status and lines of the findings.
fn outcome(findings: Vec<Finding>, judged: &[Judged], objects: &[String], skipped: &[String], notes: Vec<String>, where_: &str) -> Outcome {
    let worst = findings.iter().map(|f| f.level).max();
    let problems: Vec<&Finding> = findings.iter().filter(|f| f.level == Level::Problem).collect();
    let advice = findings.iter().filter(|f| f.level == Level::Advice).count();
    let mut outcome = match worst {
        None if judged.is_empty() && objects.is_empty() => {
            Outcome::skip(format!("no workload (Deployment, StatefulSet, DaemonSet, Pod, Job, CronJob, InferenceService) found under {where_}"))
        }
        None if judged.is_empty() => Outcome::skip(format!("no container to judge in {}", objects.join(", "))),
        Some(Level::Problem) => {
            let more = if problems.len() > 1 { format!(" (and {} more problems)", problems.len() - 1) } else { String::new() };
            Outcome::fail(format!("{}{more}", line(problems[0])))
        }
        Some(Level::Advice) => {
            let noun = if advice == 1 { "piece of advice" } else { "pieces of advice" };
            Outcome::warn(format!(
                "{advice} {noun} on the deployment; first: {}",
                line(findings.iter().find(|f| f.level == Level::Advice).unwrap_or(&findings[0]))
            ))
        }
        _ if judged.is_empty() => {
            Outcome::pass("the Dockerfiles pin their base images, install from the lock, run as a user and ship the audited model")
        }
        _ => Outcome::pass(format!("{}: memory limit, probes, CPU and image fit the measured model", judged_names(judged))),
    };
    let mut details: Vec<String> =
        judged.iter().map(|j| format!("judged: {}: {} container \"{}\" ({})", j.file.display(), j.object, j.container, j.why)).collect();
    details.extend(findings.iter().map(|f| format!("{} {}", level_name(f.level), line(f))));
    details.extend(skipped.iter().map(|s| format!("skipped: {s}")));
    details.extend(notes);
    outcome = outcome.with_details(details);
    outcome.with_metric("findings", serde_json::to_value(&findings).unwrap_or_default())
}

fn judged_names(judged: &[Judged]) -> String {
    judged.iter().map(|j| format!("{} container \"{}\"", j.object, j.container)).collect::<Vec<_>>().join(", ")
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Ok => "ok",
        Level::Advice => "warn",
        Level::Problem => "fail",
    }
}

/// `file:12: Deployment/web container "server" spec...limits.memory: message`.
fn line(f: &Finding) -> String {
    let at = match f.line {
        Some(line) => format!("{}:{line}", f.file.display()),
        None => f.file.display().to_string(),
    };
    let mut subject = Vec::new();
    if let Some(object) = &f.object {
        subject.push(object.clone());
    }
    if let Some(container) = &f.container {
        subject.push(format!("container \"{container}\""));
    }
    if !f.field.is_empty() {
        subject.push(f.field.clone());
    }
    if subject.is_empty() { format!("{at}: {}", f.message) } else { format!("{at}: {}: {}", subject.join(" "), f.message) }
}

/// The margins from the check's settings.
impl crate::config::DeploymentConfig {
    pub fn margins(&self) -> Margins {
        Margins { memory_headroom: self.memory_headroom, startup_margin: self.startup_margin, probe_timeout_margin: self.probe_timeout_margin }
    }
}
