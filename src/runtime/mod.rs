//! The inference boundary: the [`ModelRunner`] trait every check uses, the ONNX Runtime
//! implementation behind it, and the search for the libonnxruntime shared library.

pub mod arena;
pub mod library_version;
pub mod locate;
pub mod ort_runner;
pub mod tensor;
pub mod watchdog;

use std::ops::ControlFlow;
use std::time::Duration;

pub use tensor::{Batch, Dim, ElementType, IoSpec, NamedOutput, NamedTensor, OutputValue, TensorData, ValueKind};

/// The variable ONNX Runtime (1.31.1 measured, on Linux) reads when its environment is created:
/// unless it is set, the runtime's 1DS telemetry then writes `onnxruntime.db` and `deviceid` under
/// `$XDG_CACHE_HOME` or `$HOME/.cache/Microsoft/DeveloperTools/.onnxruntime` (creating `$HOME`
/// itself when it is missing) and a `.ses` file in `$TMPDIR` before any session exists.
/// `DisableTelemetryEvents`, which `ort` calls after creating the environment, is too late.
pub const TELEMETRY_OFF_VAR: &str = "ORT_DISABLE_TELEMETRY";

/// Turns ONNX Runtime's telemetry off for this process and every child it starts (the probe
/// children inherit the environment). Called first thing in `main`.
///
/// # Safety
/// Sets an environment variable: no other thread may exist yet.
pub unsafe fn disable_telemetry() {
    // SAFETY: the caller guarantees the process is still single-threaded.
    unsafe { std::env::set_var(TELEMETRY_OFF_VAR, "1") };
}

/// Why an inference call failed: the runtime's own message, for the report, and whether
/// ready stopped it at one of its own limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InferenceError {
    pub message: String,
    /// `Some` when the run was stopped by ready's limit rather than refused by the model.
    pub limit: Option<LimitHit>,
}

/// Which of ready's limits stopped an inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitHit {
    /// `limits.inference_timeout_s` passed.
    Time,
    /// The memory ONNX Runtime may allocate in ready's process ran out.
    Memory,
}

impl InferenceError {
    /// An error from the runtime or the conversion of a value.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), limit: None }
    }

    /// A run stopped at one of ready's limits.
    pub fn at_limit(limit: LimitHit, message: impl Into<String>) -> Self {
        Self { message: message.into(), limit: Some(limit) }
    }
}

/// A loaded model that can run inference. Loaded once per audit and shared by every check.
pub trait ModelRunner: Send + Sync {
    /// Declared model inputs, in model order.
    fn inputs(&self) -> &[IoSpec];

    /// Declared model outputs, in model order.
    fn outputs(&self) -> &[IoSpec];

    /// Runs one inference and decodes every output.
    fn run(&self, batch: &Batch) -> Result<Vec<NamedOutput>, InferenceError>;

    /// Runs `batch` repeatedly, back to back, converting the inputs once and discarding
    /// the outputs, and reports each run's wall time to `on_run` until it breaks.
    /// This is the latency harness: nothing but the inference call sits between two clocks.
    fn bench(&self, batch: &Batch, on_run: &mut dyn FnMut(Duration) -> ControlFlow<()>) -> Result<(), InferenceError>;

    /// A second, independent session of the same model and settings (one per thread in the
    /// throughput measurement).
    fn fork(&self) -> Result<Box<dyn ModelRunner>, InferenceError>;
}

/// Session settings that change performance, recorded in every report so that runs
/// on different machines can be compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphOptimization {
    Disable,
    Basic,
    Extended,
    All,
}

/// Thread and optimization settings for the session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeSettings {
    /// Threads inside one operator (ONNX Runtime's intra-op pool). 0 lets ONNX Runtime decide.
    pub intra_op_threads: usize,
    /// Threads across independent operators (inter-op pool). 0 lets ONNX Runtime decide.
    pub inter_op_threads: usize,
    /// Graph optimization level applied when the session is created.
    pub graph_optimization: GraphOptimization,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self { intra_op_threads: 1, inter_op_threads: 1, graph_optimization: GraphOptimization::All }
    }
}
