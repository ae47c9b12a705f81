//! The deployment around the model: Kubernetes manifests (`k8s`) and Dockerfiles
//! (`dockerfile`), read into typed facts and compared with what the audit measured.
//!
//! This module owns the vocabulary the readers share: what was measured ([`Measured`]), the
//! margins a deployment must leave above it ([`Margins`]), and one finding ([`Finding`]) that
//! names the file, the object, the container and the field path. The `deployment` check turns
//! findings into a status; the readers never import `checks/`.

pub mod dockerfile;
pub mod files;
pub mod image_ref;
pub mod k8s;
pub mod quantity;
pub mod read;
pub mod recommend;
pub mod rules;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// What the audit measured about the model, the numbers a deployment is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Measured {
    /// Peak resident memory of the serving process once the model loaded and answered.
    pub peak_rss_bytes: Option<u64>,
    /// Session creation plus the first inference.
    pub cold_start: Option<Duration>,
    /// p99 latency of one request, in milliseconds.
    pub p99_ms: Option<f64>,
    /// Intra-op threads ONNX Runtime used while measuring (0: ORT's default, one per core).
    pub intra_op_threads: usize,
}

/// How far a deployment's declared values must stay above the measured ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Margins {
    /// `limits.memory` >= peak RSS x this (inference allocates in spikes above the load peak).
    pub memory_headroom: f64,
    /// The time a pod is given to become ready >= cold start x this (nodes are slower and busier
    /// than the machine that measured).
    pub startup_margin: f64,
    /// Probe `timeoutSeconds` >= p99 x this (a health endpoint that runs inference).
    pub probe_timeout_margin: f64,
}

impl Default for Margins {
    fn default() -> Self {
        Self { memory_headroom: 1.5, startup_margin: 2.0, probe_timeout_margin: 2.0 }
    }
}

/// How much a finding matters before the config's severity applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fine as declared (kept so a report can say what was judged and passed).
    Ok,
    /// Works, but a practice that bites later (a moving tag, no CPU request).
    Advice,
    /// The deployment will fail with this model (a limit below the peak, a probe that kills it).
    Problem,
}

/// One judged fact of a deployment file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    /// Stable id of the rule (`memory_limit`, `startup_budget`, `image_pinned`, ...).
    pub rule: &'static str,
    /// The file, as given or found under the project.
    pub file: PathBuf,
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// `Deployment/web` for a Kubernetes object; `None` for a Dockerfile.
    pub object: Option<String>,
    /// The container judged (Kubernetes) or the build stage (Dockerfile).
    pub container: Option<String>,
    /// Field path in the object (`spec.template.spec.containers[0].resources.limits.memory`) or
    /// the Dockerfile instruction (`FROM`, `USER`).
    pub field: String,
    /// One line: declared against measured, and what to do.
    pub message: String,
}

impl Finding {
    /// A finding about a whole file (it could not be read or parsed): no object, container or field.
    pub fn whole_file(level: Level, rule: &'static str, file: PathBuf, line: Option<usize>, message: String) -> Self {
        Self { level, rule, file, line, object: None, container: None, field: String::new(), message }
    }
}
