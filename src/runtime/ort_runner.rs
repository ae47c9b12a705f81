//! [`ModelRunner`] on ONNX Runtime through `ort`: environment set-up, session creation,
//! and conversion between `ort` values and [`TensorData`] / [`OutputValue`].

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ort::environment::Environment;
use ort::logging::LogLevel;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{RunOptions, Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};

use super::locate::RuntimeLibrary;
use super::watchdog::Watchdog;
use super::{
    Batch, Dim, ElementType, GraphOptimization, InferenceError, IoSpec, LimitHit, ModelRunner, NamedOutput, OutputValue, RuntimeSettings, TensorData,
    ValueKind,
};

/// An initialized ONNX Runtime: one per process.
pub struct OrtRuntime {
    environment: Environment,
    /// The memory limit registered on the environment, in MiB, if any.
    memory_limit_mb: Option<u64>,
    /// The library that was loaded.
    pub library: RuntimeLibrary,
}

impl OrtRuntime {
    /// Loads `library` into the process and creates the environment.
    pub fn init(library: RuntimeLibrary) -> Result<Self, String> {
        let builder = ort::init_from(&library.path).map_err(|e| e.to_string())?;
        let environment = builder.with_name("ready").with_telemetry(false).build().map_err(|e| e.to_string())?;
        Ok(Self { environment, library, memory_limit_mb: None })
    }

    /// Caps what ONNX Runtime may allocate for the sessions loaded after this call at
    /// `megabytes` MiB (one shared CPU arena, see `arena.rs`).
    pub fn limit_memory(&mut self, megabytes: u64) -> Result<(), String> {
        let bytes = usize::try_from(megabytes.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX);
        super::arena::register_capped_cpu_arena(&self.environment, bytes)?;
        self.memory_limit_mb = Some(megabytes);
        Ok(())
    }

    /// Creates a session for the model at `path`, timing only the session creation. Each
    /// inference then runs under `time_limit` (`None`: no limit, for a probe child that
    /// enforces its own).
    pub fn load(&self, path: &Path, settings: &RuntimeSettings, time_limit: Option<Duration>) -> Result<(OrtRunner, Duration), String> {
        load_session(&Origin {
            environment: self.environment.clone(),
            path: path.to_path_buf(),
            settings: settings.clone(),
            time_limit,
            memory_limit_mb: self.memory_limit_mb,
        })
    }
}

/// What a session was created from, so that it can be created again.
#[derive(Clone)]
struct Origin {
    environment: Environment,
    path: std::path::PathBuf,
    settings: RuntimeSettings,
    time_limit: Option<Duration>,
    /// The environment's capped arena, which the session then allocates from.
    memory_limit_mb: Option<u64>,
}

fn load_session(origin: &Origin) -> Result<(OrtRunner, Duration), String> {
    let (environment, path, settings) = (&origin.environment, &origin.path, &origin.settings);
    {
        let level = match settings.graph_optimization {
            GraphOptimization::Disable => GraphOptimizationLevel::Disable,
            GraphOptimization::Basic => GraphOptimizationLevel::Level1,
            GraphOptimization::Extended => GraphOptimizationLevel::Level2,
            GraphOptimization::All => GraphOptimizationLevel::All,
        };
        let text = |e: ort::Error<_>| e.to_string();
        let mut builder = ort::session::builder::SessionBuilder::new(environment)
            .map_err(|e| e.to_string())?
            .with_log_level(LogLevel::Fatal)
            .map_err(text)?
            .with_optimization_level(level)
            .map_err(text)?
            .with_intra_threads(settings.intra_op_threads)
            .map_err(text)?
            .with_inter_threads(settings.inter_op_threads)
            .map_err(text)?;
        if origin.memory_limit_mb.is_some() {
            builder = builder.with_env_allocators().map_err(text)?;
        }
        let started = Instant::now();
        let session = builder.commit_from_file(path).map_err(|e| e.to_string())?;
        let load_time = started.elapsed();
        let inputs = session.inputs().iter().map(|o| spec(o.name(), o.dtype())).collect();
        let outputs = session.outputs().iter().map(|o| spec(o.name(), o.dtype())).collect();
        let metadata = read_metadata(&session);
        let limit = match origin.time_limit {
            Some(limit) => Some(TimeLimit::start(limit).map_err(|e| format!("cannot start the inference watchdog thread: {e}"))?),
            None => None,
        };
        Ok((OrtRunner { session: Mutex::new(session), inputs, outputs, metadata, origin: origin.clone(), limit }, load_time))
    }
}

/// Model metadata as ONNX Runtime reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionMetadata {
    pub producer: Option<String>,
    pub custom: Vec<(String, String)>,
}

fn read_metadata(session: &Session) -> SessionMetadata {
    let Ok(meta) = session.metadata() else { return SessionMetadata::default() };
    let mut custom: Vec<(String, String)> =
        meta.custom_keys().unwrap_or_default().into_iter().filter_map(|k| meta.custom(&k).map(|v| (k, v))).collect();
    custom.sort();
    SessionMetadata { producer: meta.producer(), custom }
}

/// A session on ONNX Runtime. `ort` runs need exclusive access, hence the mutex.
pub struct OrtRunner {
    session: Mutex<Session>,
    inputs: Vec<IoSpec>,
    outputs: Vec<IoSpec>,
    /// Producer and custom metadata read when the session was created.
    pub metadata: SessionMetadata,
    origin: Origin,
    limit: Option<TimeLimit>,
}

/// The time limit of every inference: ONNX Runtime checks the run options' terminate flag
/// between kernels (a Loop's body included), and the watchdog sets it when the limit passes.
struct TimeLimit {
    limit: Duration,
    options: Arc<RunOptions>,
    watchdog: Watchdog,
}

impl TimeLimit {
    fn start(limit: Duration) -> Result<Self, String> {
        let options = Arc::new(RunOptions::new().map_err(|e| e.to_string())?);
        let theirs = Arc::clone(&options);
        let watchdog = Watchdog::start(move || {
            let _ = theirs.terminate();
        })
        .map_err(|e| e.to_string())?;
        Ok(Self { limit, options, watchdog })
    }

    /// Arms the deadline, clearing a terminate flag left by the previous call.
    fn arm(&self) -> Result<(), InferenceError> {
        if self.watchdog.arm(self.limit) {
            self.options.unterminate().map_err(|e| InferenceError::new(format!("cannot reset the run options: {e}")))?;
        }
        Ok(())
    }

    /// The error of a call that ran past the limit.
    fn exceeded(&self) -> InferenceError {
        InferenceError::at_limit(
            LimitHit::Time,
            format!("inference ran past {} s (limits.inference_timeout_s) and was stopped", short_seconds(self.limit)),
        )
    }
}

fn short_seconds(limit: Duration) -> String {
    let seconds = limit.as_secs_f64();
    if seconds.fract() == 0.0 { format!("{seconds:.0}") } else { format!("{seconds}") }
}

impl OrtRunner {
    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while holding the lock leaves the session usable: ORT keeps no Rust state.
        self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl OrtRunner {
    /// One run of the session, under the time limit when there is one.
    fn run_limited<'s>(
        &'s self,
        session: &'s mut Session,
        values: &'s [(String, DynValue)],
    ) -> Result<ort::session::SessionOutputs<'s>, InferenceError> {
        let inputs = session_inputs(values);
        let Some(limit) = &self.limit else {
            return session.run(inputs).map_err(|e| self.classify(e.to_string()));
        };
        limit.arm()?;
        let ran = session.run_with_options(inputs, &limit.options);
        let expired = limit.watchdog.disarm();
        match ran {
            Err(_) if expired => Err(limit.exceeded()),
            Err(e) => Err(self.classify(e.to_string())),
            Ok(outputs) => Ok(outputs),
        }
    }
}

impl OrtRunner {
    /// A failed run's error; an allocation the capped arena refused is ready's memory limit.
    fn classify(&self, message: String) -> InferenceError {
        match self.origin.memory_limit_mb {
            Some(mb) if arena_refused(&message) => InferenceError::at_limit(
                LimitHit::Memory,
                format!("out of memory: the inference needs more than limits.inference_memory_mb ({mb} MiB)"),
            ),
            _ => InferenceError::new(message),
        }
    }
}

/// Whether ONNX Runtime's error is the capped arena refusing an allocation. The runtime reports
/// it with the generic ORT_FAIL code, so the arena's own wording (`bfc_arena.cc`, 1.23 to 1.31:
/// "Available memory of N is smaller than requested bytes of M") is the only signal there is.
fn arena_refused(message: &str) -> bool {
    message.contains("Available memory of") && message.contains("is smaller than requested bytes of")
}

impl ModelRunner for OrtRunner {
    fn inputs(&self) -> &[IoSpec] {
        &self.inputs
    }

    fn outputs(&self) -> &[IoSpec] {
        &self.outputs
    }

    fn run(&self, batch: &Batch) -> Result<Vec<NamedOutput>, InferenceError> {
        let values = to_values(batch)?;
        let mut session = self.session();
        let outputs = self.run_limited(&mut session, &values)?;
        outputs.iter().map(|(name, value)| Ok(NamedOutput { name: name.to_string(), value: decode(&value)? })).collect()
    }

    fn bench(&self, batch: &Batch, on_run: &mut dyn FnMut(Duration) -> ControlFlow<()>) -> Result<(), InferenceError> {
        let values = to_values(batch)?;
        let mut session = self.session();
        loop {
            let started = Instant::now();
            let outputs = self.run_limited(&mut session, &values)?;
            let elapsed = started.elapsed();
            drop(outputs);
            if on_run(elapsed).is_break() {
                return Ok(());
            }
        }
    }

    fn fork(&self) -> Result<Box<dyn ModelRunner>, InferenceError> {
        let (runner, _) = load_session(&self.origin).map_err(InferenceError::new)?;
        Ok(Box::new(runner))
    }
}

fn session_inputs(values: &[(String, DynValue)]) -> Vec<(Cow<'_, str>, SessionInputValue<'_>)> {
    values.iter().map(|(name, value)| (Cow::Borrowed(name.as_str()), SessionInputValue::from(value))).collect()
}

fn to_values(batch: &Batch) -> Result<Vec<(String, DynValue)>, InferenceError> {
    batch
        .iter()
        .map(|t| {
            let value = to_value(&t.data).map_err(|e| InferenceError::new(format!("input '{}': {e}", t.name)))?;
            Ok((t.name.clone(), value))
        })
        .collect()
}

fn to_value(data: &TensorData) -> ort::Result<DynValue> {
    Ok(match data {
        TensorData::F32(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::F64(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::I8(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::I16(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::I32(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::I64(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::U8(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::U16(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::U32(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::U64(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::Bool(a) => Tensor::from_array(a.clone())?.into_dyn(),
        TensorData::Str(a) => Tensor::from_string_array(a)?.into_dyn(),
    })
}

fn decode(value: &DynValue) -> Result<OutputValue, InferenceError> {
    let err = |e: ort::Error| InferenceError::new(format!("could not read output: {e}"));
    Ok(match value.dtype() {
        ValueType::Tensor { ty, .. } => {
            let tensor = match ty {
                TensorElementType::Float32 => TensorData::F32(value.try_extract_array::<f32>().map_err(err)?.to_owned()),
                TensorElementType::Float64 => TensorData::F64(value.try_extract_array::<f64>().map_err(err)?.to_owned()),
                TensorElementType::Int8 => TensorData::I8(value.try_extract_array::<i8>().map_err(err)?.to_owned()),
                TensorElementType::Int16 => TensorData::I16(value.try_extract_array::<i16>().map_err(err)?.to_owned()),
                TensorElementType::Int32 => TensorData::I32(value.try_extract_array::<i32>().map_err(err)?.to_owned()),
                TensorElementType::Int64 => TensorData::I64(value.try_extract_array::<i64>().map_err(err)?.to_owned()),
                TensorElementType::Uint8 => TensorData::U8(value.try_extract_array::<u8>().map_err(err)?.to_owned()),
                TensorElementType::Uint16 => TensorData::U16(value.try_extract_array::<u16>().map_err(err)?.to_owned()),
                TensorElementType::Uint32 => TensorData::U32(value.try_extract_array::<u32>().map_err(err)?.to_owned()),
                TensorElementType::Uint64 => TensorData::U64(value.try_extract_array::<u64>().map_err(err)?.to_owned()),
                TensorElementType::Bool => TensorData::Bool(value.try_extract_array::<bool>().map_err(err)?.to_owned()),
                TensorElementType::String => TensorData::Str(value.try_extract_string_array().map_err(err)?),
                other => return Ok(OutputValue::Unsupported(format!("tensor({other:?})"))),
            };
            OutputValue::Tensor(tensor)
        }
        ValueType::Sequence(_) => {
            let items = value.try_extract_sequence::<ort::value::DynValueTypeMarker>().map_err(err)?;
            OutputValue::Sequence(items.iter().map(decode).collect::<Result<_, _>>()?)
        }
        ValueType::Map { key, value: value_type } => decode_map(value, *key, *value_type)?,
        other => OutputValue::Unsupported(other.to_string()),
    })
}

fn decode_map(value: &DynValue, key: TensorElementType, value_type: TensorElementType) -> Result<OutputValue, InferenceError> {
    let err = |e: ort::Error| InferenceError::new(format!("could not read map output: {e}"));
    macro_rules! entries {
        ($k:ty, $v:ty) => {
            value.try_extract_key_values::<$k, $v>().map_err(err)?.into_iter().map(|(k, v)| (k.to_string(), v as f64)).collect::<Vec<_>>()
        };
    }
    let mut entries = match (key, value_type) {
        (TensorElementType::Int64, TensorElementType::Float32) => entries!(i64, f32),
        (TensorElementType::Int64, TensorElementType::Float64) => entries!(i64, f64),
        (TensorElementType::Int64, TensorElementType::Int64) => entries!(i64, i64),
        (TensorElementType::String, TensorElementType::Float32) => entries!(String, f32),
        (TensorElementType::String, TensorElementType::Float64) => entries!(String, f64),
        (TensorElementType::String, TensorElementType::Int64) => entries!(String, i64),
        (k, v) => return Ok(OutputValue::Unsupported(format!("map({k:?},{v:?})"))),
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(OutputValue::Map(entries))
}

fn element(ty: TensorElementType) -> ElementType {
    match ty {
        TensorElementType::Float32 => ElementType::Float32,
        TensorElementType::Float64 => ElementType::Float64,
        TensorElementType::Float16 => ElementType::Float16,
        TensorElementType::Bfloat16 => ElementType::BFloat16,
        TensorElementType::Int8 => ElementType::Int8,
        TensorElementType::Int16 => ElementType::Int16,
        TensorElementType::Int32 => ElementType::Int32,
        TensorElementType::Int64 => ElementType::Int64,
        TensorElementType::Uint8 => ElementType::Uint8,
        TensorElementType::Uint16 => ElementType::Uint16,
        TensorElementType::Uint32 => ElementType::Uint32,
        TensorElementType::Uint64 => ElementType::Uint64,
        TensorElementType::Bool => ElementType::Bool,
        TensorElementType::String => ElementType::String,
        _ => ElementType::Other,
    }
}

fn kind(dtype: &ValueType) -> ValueKind {
    match dtype {
        ValueType::Tensor { ty, shape, dimension_symbols } => ValueKind::Tensor {
            element: element(*ty),
            dims: shape
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    if d >= 0 {
                        Dim::Fixed(d)
                    } else {
                        let symbol = dimension_symbols.get(i).filter(|s| !s.is_empty()).cloned();
                        Dim::Free(symbol)
                    }
                })
                .collect(),
        },
        ValueType::Sequence(inner) => ValueKind::Sequence { of: Box::new(kind(inner)) },
        ValueType::Map { key, value } => ValueKind::Map { key: element(*key), value: element(*value) },
        ValueType::Optional(inner) => ValueKind::Optional { of: Box::new(kind(inner)) },
    }
}

fn spec(name: &str, dtype: &ValueType) -> IoSpec {
    IoSpec { name: name.to_string(), kind: kind(dtype) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capped_arena_refusal_is_recognised_and_other_errors_are_not() {
        // ONNX Runtime 1.31.1's message for huge_output.onnx under a 512 MiB arena.
        let refused = "Non-zero status code returned while running Expand node. Name:'' Status Message: \
            /onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) \
            Available memory of 536870400 is smaller than requested bytes of 17179869184";
        assert!(arena_refused(refused));
        assert!(!arena_refused("Invalid rank for input: x Got: 1 Expected: 2"));
        assert_eq!(short_seconds(Duration::from_secs(2)), "2");
        assert_eq!(short_seconds(Duration::from_millis(1500)), "1.5");
    }
}
