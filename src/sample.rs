//! Sample rows: reading CSV, Parquet and JSON/NDJSON with polars, and converting columns to
//! the element types a model declares, with a verdict on whether the conversion is safe.
//!
//! Text formats (CSV, JSON) carry no binary width: polars infers `f64` for decimals and `i64`
//! for integers, so for those the rules look at the values; Parquet carries exact types and the
//! rules look at the types alone. The rules are documented in README ("Schema parity").

use std::fs::File;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use polars::prelude::*;
use serde::Serialize;

use crate::runtime::{ElementType, TensorData};

/// The sample file formats `ready` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleFormat {
    Csv,
    Parquet,
    Json,
    /// An ONNX test data set folder (`input_0.pb`, ...).
    TestDataSet,
    /// NumPy arrays: one `.npy` or a `.npz` archive of named arrays.
    Numpy,
}

impl SampleFormat {
    /// Picks the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_string_lossy().to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Some(Self::Csv),
            "parquet" | "pq" => Some(Self::Parquet),
            "json" | "ndjson" | "jsonl" => Some(Self::Json),
            "npy" | "npz" => Some(Self::Numpy),
            _ => None,
        }
    }

    /// Whether the format stores values as text (no binary widths).
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Parquet)
    }
}

/// Sample rows read from a file.
#[derive(Debug, Clone)]
pub struct Sample {
    pub path: PathBuf,
    pub format: SampleFormat,
    pub frame: DataFrame,
}

/// Tensors read from an ONNX test data set folder (`input_0.pb`, ...).
#[derive(Debug, Clone)]
pub struct TensorSample {
    pub dir: PathBuf,
    pub tensors: Vec<crate::tensor_proto::NamedProto>,
    /// The values are JSON text with no width yet: they take the model's input types.
    pub untyped: bool,
}

/// Reference outputs for golden parity (`--expected`).
#[derive(Debug, Clone)]
pub enum Expected {
    /// One row per sample row; columns named after outputs (see README).
    Table(Sample),
    /// `output_*.pb` of an ONNX test data set, matched to outputs by name or position.
    Tensors { dir: PathBuf, tensors: Vec<crate::tensor_proto::NamedProto> },
}

/// What `--sample` pointed at.
#[derive(Debug, Clone)]
pub enum SampleInput {
    Table(Sample),
    Tensors(TensorSample),
}

/// Reads `--sample`: a table file, an ONNX test data set folder, or NumPy arrays (at most
/// `max_bytes` once decompressed).
pub fn read_sample_input(path: &Path, max_rows: usize, max_bytes: u64) -> Result<SampleInput, String> {
    if path.is_dir() && crate::tensor_proto::is_test_data_set(path) {
        let tensors = crate::tensor_proto::read_set(path, "input")?;
        return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: false }));
    }
    if SampleFormat::from_path(path) == Some(SampleFormat::Numpy) {
        let tensors = crate::inputs::npy::read_tensors(path, max_bytes)?;
        return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: false }));
    }
    if SampleFormat::from_path(path) == Some(SampleFormat::Json) {
        let shown = path.display();
        let bytes = crate::sandbox::open::read(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
        crate::sandbox::depth::check_json(&bytes).map_err(|e| format!("{shown}: {e}"))?;
        if crate::inputs::json_tensors::holds_tensors(&bytes) {
            let tensors = crate::inputs::json_tensors::read(&bytes, max_rows).map_err(|e| format!("{shown}: {e}"))?;
            return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: true }));
        }
    }
    read_sample(path, max_rows).map(SampleInput::Table)
}

/// Reads `--expected`: a table file, a test data set folder with `output_*.pb`, or NumPy
/// arrays named after the outputs.
pub fn read_expected(path: &Path, max_rows: usize, max_bytes: u64) -> Result<Expected, String> {
    if SampleFormat::from_path(path) == Some(SampleFormat::Numpy) {
        let tensors = crate::inputs::npy::read_tensors(path, max_bytes)?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors });
    }
    if path.extension().is_some_and(|e| e == "pb") {
        // One serialized TensorProto: the first output's reference (the onnx wheel's models).
        let shown = path.display();
        let bytes = crate::sandbox::open::read(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
        let tensor = crate::tensor_proto::decode(&bytes).map_err(|e| format!("{shown}: {e}"))?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors: vec![tensor] });
    }
    if path.is_dir() {
        if !path.join("output_0.pb").is_file() {
            return Err(format!("{}: a folder given as --expected must hold output_0.pb, output_1.pb, ...", path.display()));
        }
        let tensors = crate::tensor_proto::read_set(path, "output")?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors });
    }
    read_sample(path, max_rows).map(Expected::Table)
}

/// Reads at most `max_rows` rows. Errors are one line naming the file.
pub fn read_sample(path: &Path, max_rows: usize) -> Result<Sample, String> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("{shown}: is a directory, expected a sample file or an ONNX test data set (input_0.pb, ...)"));
    }
    // Only a regular file is read: a FIFO or a device would hang or never end. Text samples'
    // size limit is applied by the audit before this; Parquet is read by its footer.
    crate::sandbox::open::open(path, u64::MAX).map_err(|e| format!("{shown}: {e}"))?;
    let format = SampleFormat::from_path(path)
        .filter(|f| *f != SampleFormat::Numpy)
        .ok_or_else(|| format!("{shown}: unknown sample format (expected .csv, .parquet, .json, .ndjson, .npy or .npz)"))?;
    if metadata.len() == 0 {
        return Err(format!("{shown}: the sample file is empty"));
    }
    if format == SampleFormat::Parquet {
        // polars aborts (allocation failure) on a footer that declares absurd sizes: check the
        // footer first (reading only the footer).
        crate::parquet_footer::check_file(path).map_err(|e| format!("{shown}: cannot read Parquet sample: {e}"))?;
        crate::parquet_footer::check_column_types(path).map_err(|e| format!("{shown}: cannot read Parquet sample: {e}"))?;
    }
    let frame = crate::guard::catch_panic(|| match format {
        SampleFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .with_n_rows(Some(max_rows))
            .with_infer_schema_length(Some(max_rows.max(100)))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|reader| reader.finish()),
        SampleFormat::Parquet => File::open(path)
            .map_err(PolarsError::from)
            // Reads only the first rows: a large file is never loaded whole.
            .and_then(|file| ParquetReader::new(file).with_slice(Some((0, max_rows))).finish()),
        SampleFormat::Json => read_json(path, max_rows),
        SampleFormat::TestDataSet | SampleFormat::Numpy => Err(PolarsError::ComputeError("a test data set is a folder, not a file".into())),
    })
    .map_err(|e| format!("{shown}: cannot read {format:?} sample: {e}"))?
    .map_err(|e| format!("{shown}: cannot read {format:?} sample: {}", one_line(&e.to_string())))?;
    if frame.height() == 0 {
        return Err(format!("{shown}: the sample has no rows"));
    }
    if frame.width() == 0 {
        return Err(format!("{shown}: the sample has no columns"));
    }
    Ok(Sample { path: path.to_path_buf(), format, frame })
}

fn read_json(path: &Path, max_rows: usize) -> PolarsResult<DataFrame> {
    let text = std::fs::read(path)?;
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    crate::sandbox::depth::check_json(&text).map_err(|e| PolarsError::ComputeError(e.into()))?;
    let format = if first == Some(b'[') { JsonFormat::Json } else { JsonFormat::JsonLines };
    let frame = JsonReader::new(std::io::Cursor::new(text)).with_json_format(format).finish()?;
    Ok(frame.head(Some(max_rows)))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Sample {
    /// Number of rows read.
    pub fn rows(&self) -> usize {
        self.frame.height()
    }

    /// Column names and polars types, in file order.
    pub fn columns(&self) -> Vec<(String, DataType)> {
        self.frame.columns().iter().map(|c| (c.name().to_string(), c.dtype().clone())).collect()
    }

    /// Converts `column` to `target`, returning the values as a 1-D tensor and how safe the
    /// conversion was.
    pub fn convert(&self, column: &str, target: ElementType) -> Conversion {
        crate::guard::catch_panic(|| self.convert_unguarded(column, target))
            .unwrap_or_else(|e| Conversion::rejected(format!("'{column}': {e}")))
    }

    fn convert_unguarded(&self, column: &str, target: ElementType) -> Conversion {
        let Ok(col) = self.frame.column(column) else {
            return Conversion::rejected(format!("no column '{column}'"));
        };
        let series = col.as_materialized_series();
        let nulls = series.null_count();
        if nulls > 0 {
            return Conversion::rejected(format!("{nulls} missing value(s) in '{column}'"));
        }
        let safety = classify(series, self.format.is_text(), target);
        if let Safety::Lossy(_) | Safety::Incompatible(_) = safety {
            return Conversion { safety, values: None };
        }
        match extract(series, target) {
            Ok(values) => Conversion { safety, values: Some(values) },
            Err(reason) => Conversion::rejected(reason),
        }
    }
}

/// How a sample column maps onto a model element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Safety {
    /// Same type.
    Exact,
    /// A widening that preserves every value of the source type (int32 → int64, float32 → float64).
    Widening,
    /// A text sample whose values all convert exactly (integers within range, decimals to float).
    TextValues,
    /// A narrowing that can change values (float64 → float32, int64 → float32).
    Lossy(String),
    /// No meaningful conversion (text where numbers are expected).
    Incompatible(String),
}

impl Safety {
    /// Whether the column can be fed as is.
    pub fn is_safe(&self) -> bool {
        matches!(self, Self::Exact | Self::Widening | Self::TextValues)
    }
}

/// The result of [`Sample::convert`].
#[derive(Debug, Clone)]
pub struct Conversion {
    pub safety: Safety,
    /// The converted values, when the conversion is safe.
    pub values: Option<TensorData>,
}

impl Conversion {
    fn rejected(reason: String) -> Self {
        Self { safety: Safety::Incompatible(reason), values: None }
    }
}

/// A numeric rank: (is float, is signed, bits).
fn numeric(dtype: &DataType) -> Option<(bool, bool, u32)> {
    Some(match dtype {
        DataType::Boolean => (false, false, 1),
        DataType::UInt8 => (false, false, 8),
        DataType::UInt16 => (false, false, 16),
        DataType::UInt32 => (false, false, 32),
        DataType::UInt64 => (false, false, 64),
        DataType::Int8 => (false, true, 8),
        DataType::Int16 => (false, true, 16),
        DataType::Int32 => (false, true, 32),
        DataType::Int64 => (false, true, 64),
        DataType::Float32 => (true, true, 32),
        DataType::Float64 => (true, true, 64),
        _ => return None,
    })
}

fn element_rank(target: ElementType) -> Option<(bool, bool, u32)> {
    Some(match target {
        ElementType::Bool => (false, false, 1),
        ElementType::Uint8 => (false, false, 8),
        ElementType::Uint16 => (false, false, 16),
        ElementType::Uint32 => (false, false, 32),
        ElementType::Uint64 => (false, false, 64),
        ElementType::Int8 => (false, true, 8),
        ElementType::Int16 => (false, true, 16),
        ElementType::Int32 => (false, true, 32),
        ElementType::Int64 => (false, true, 64),
        ElementType::Float32 => (true, true, 32),
        ElementType::Float64 => (true, true, 64),
        _ => return None,
    })
}

/// The polars type for an element type `ready` can feed.
pub fn polars_type(target: ElementType) -> Option<DataType> {
    Some(match target {
        ElementType::Bool => DataType::Boolean,
        ElementType::Uint8 => DataType::UInt8,
        ElementType::Uint16 => DataType::UInt16,
        ElementType::Uint32 => DataType::UInt32,
        ElementType::Uint64 => DataType::UInt64,
        ElementType::Int8 => DataType::Int8,
        ElementType::Int16 => DataType::Int16,
        ElementType::Int32 => DataType::Int32,
        ElementType::Int64 => DataType::Int64,
        ElementType::Float32 => DataType::Float32,
        ElementType::Float64 => DataType::Float64,
        ElementType::String => DataType::String,
        _ => return None,
    })
}

/// Mantissa bits of a float target: integers up to 2^bits convert exactly.
fn exact_integer_bits(bits: u32) -> u32 {
    if bits == 32 { 24 } else { 53 }
}

/// A polars type named the way ONNX names element types (`float64`, `string`).
pub fn dtype_name(dtype: &DataType) -> String {
    match dtype {
        DataType::Boolean => "bool".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::String => "string".into(),
        other => other.to_string(),
    }
}

fn classify(series: &Series, text: bool, target: ElementType) -> Safety {
    let source = series.dtype();
    let src_name = dtype_name(source);
    if polars_type(target).is_none() {
        return Safety::Incompatible(format!("ready cannot feed {target} inputs"));
    }
    if target == ElementType::String {
        return match source {
            DataType::String => Safety::Exact,
            _ if text && numeric(source).is_some() => Safety::TextValues,
            _ => Safety::Incompatible(format!("{src_name} column, model expects strings")),
        };
    }
    let (Some((sf, ss, sb)), Some((tf, ts, tb))) = (numeric(source), element_rank(target)) else {
        return Safety::Incompatible(format!("{src_name} column, model expects {target}"));
    };
    if (sf, ss, sb) == (tf, ts, tb) {
        return Safety::Exact;
    }
    if text && !sf && !tf && sb > 1 && tb > 1 {
        // Integers written as text: safe when every value fits the target.
        return match series.strict_cast(&polars_type(target).expect("numeric")) {
            Ok(_) => Safety::TextValues,
            Err(_) => Safety::Lossy(format!("values of '{}' do not fit {target}", series.name())),
        };
    }
    if text && sf && tf {
        // A decimal in text has no width; parsing it as float32 is what a serving stack does.
        return Safety::TextValues;
    }
    if text && !sf && sb > 1 && tf {
        let limit = 1i128 << exact_integer_bits(tb);
        let exact = series
            .cast(&DataType::Float64)
            .ok()
            .and_then(|s| s.f64().ok().map(|ca| (0..ca.len()).filter_map(|i| ca.get(i)).all(|v| (v.abs() as i128) <= limit)))
            .unwrap_or(false);
        return if exact {
            Safety::TextValues
        } else {
            Safety::Lossy(format!("integers in '{}' exceed 2^{} and round in {target}", series.name(), exact_integer_bits(tb)))
        };
    }
    let widening = match (sf, tf) {
        (false, false) => sb == 1 || (tb > sb && (ts || !ss)),
        (false, true) => sb == 1 || exact_integer_bits(tb) > sb,
        (true, true) => tb > sb,
        (true, false) => false,
    };
    if widening {
        Safety::Widening
    } else if sf && !tf {
        Safety::Lossy(format!("{src_name} → {target} drops the fraction"))
    } else {
        Safety::Lossy(format!("{src_name} → {target} is a narrowing cast"))
    }
}

macro_rules! extract_numeric {
    ($series:expr, $accessor:ident, $variant:ident) => {{
        let ca = $series.$accessor().map_err(|e| e.to_string())?;
        TensorData::$variant(ArrayD::from_shape_vec(IxDyn(&[ca.len()]), (0..ca.len()).filter_map(|i| ca.get(i)).collect()).expect("1-D"))
    }};
}

fn extract(series: &Series, target: ElementType) -> Result<TensorData, String> {
    let dtype = polars_type(target).ok_or_else(|| format!("ready cannot feed {target} inputs"))?;
    let cast = series.strict_cast(&dtype).map_err(|e| format!("'{}' → {target}: {}", series.name(), one_line(&e.to_string())))?;
    Ok(match target {
        ElementType::Float32 => extract_numeric!(cast, f32, F32),
        ElementType::Float64 => extract_numeric!(cast, f64, F64),
        ElementType::Int8 => extract_numeric!(cast, i8, I8),
        ElementType::Int16 => extract_numeric!(cast, i16, I16),
        ElementType::Int32 => extract_numeric!(cast, i32, I32),
        ElementType::Int64 => extract_numeric!(cast, i64, I64),
        ElementType::Uint8 => extract_numeric!(cast, u8, U8),
        ElementType::Uint16 => extract_numeric!(cast, u16, U16),
        ElementType::Uint32 => extract_numeric!(cast, u32, U32),
        ElementType::Uint64 => extract_numeric!(cast, u64, U64),
        ElementType::Bool => extract_numeric!(cast, bool, Bool),
        ElementType::String => {
            let ca = cast.str().map_err(|e| e.to_string())?;
            let values: Vec<String> = (0..ca.len()).filter_map(|i| ca.get(i)).map(str::to_string).collect();
            TensorData::Str(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).expect("1-D"))
        }
        other => return Err(format!("ready cannot feed {other} inputs")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series<T: Into<Series>>(values: T) -> Series {
        values.into()
    }

    #[test]
    fn binary_types_follow_the_widening_lattice() {
        let f32s = Series::new("a".into(), &[1.5f32, 2.0]);
        let f64s = Series::new("a".into(), &[1.5f64, 2.0]);
        let i32s = Series::new("a".into(), &[1i32, 2]);
        let i64s = Series::new("a".into(), &[1i64, 2]);
        assert_eq!(classify(&f32s, false, ElementType::Float32), Safety::Exact);
        assert_eq!(classify(&f32s, false, ElementType::Float64), Safety::Widening);
        assert!(matches!(classify(&f64s, false, ElementType::Float32), Safety::Lossy(_)));
        assert_eq!(classify(&i32s, false, ElementType::Int64), Safety::Widening);
        assert_eq!(classify(&i32s, false, ElementType::Float64), Safety::Widening);
        assert!(matches!(classify(&i32s, false, ElementType::Float32), Safety::Lossy(_)));
        assert!(matches!(classify(&i64s, false, ElementType::Int32), Safety::Lossy(_)));
        assert!(matches!(classify(&f32s, false, ElementType::Int64), Safety::Lossy(_)));
    }

    #[test]
    fn text_values_are_judged_by_value() {
        let decimals = Series::new("a".into(), &[5.1f64, 3.5]);
        assert_eq!(classify(&decimals, true, ElementType::Float32), Safety::TextValues);
        let small = Series::new("a".into(), &[5i64, 300]);
        assert_eq!(classify(&small, true, ElementType::Float32), Safety::TextValues);
        assert_eq!(classify(&small, true, ElementType::Int16), Safety::TextValues);
        assert!(matches!(classify(&small, true, ElementType::Int8), Safety::Lossy(_)));
        let huge = Series::new("a".into(), &[1i64 << 30]);
        assert!(matches!(classify(&huge, true, ElementType::Float32), Safety::Lossy(_)));
        assert_eq!(classify(&huge, true, ElementType::Float64), Safety::TextValues);
    }

    #[test]
    fn strings_never_become_numbers() {
        let words = series(Series::new("a".into(), &["small", "large"]));
        assert!(matches!(classify(&words, true, ElementType::Float32), Safety::Incompatible(_)));
        assert_eq!(classify(&words, true, ElementType::String), Safety::Exact);
    }

    #[test]
    fn reads_every_format_with_the_same_values() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples");
        for name in ["iris.csv", "iris.parquet", "iris.json"] {
            let sample = read_sample(&root.join(name), 100).unwrap();
            assert_eq!(sample.rows(), 3, "{name}");
            let conversion = sample.convert("petal_length", ElementType::Float32);
            assert!(conversion.safety.is_safe(), "{name}: {:?}", conversion.safety);
            assert_eq!(conversion.values.unwrap().preview(3), vec!["1.4", "4.3", "6.1"], "{name}");
        }
    }

    #[test]
    fn a_parquet_footer_that_panics_polars_is_an_error() {
        // Found by `scripts/fuzz.sh` (fuzz/regressions/sample/parquet-bad-footer): the first
        // byte selects Parquet, the rest is the file.
        let input = include_bytes!("../fuzz/regressions/sample/parquet-bad-footer");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        std::fs::write(&path, &input[1..]).unwrap();
        let err = read_sample(&path, 10).unwrap_err();
        assert!(err.contains("rows.parquet: cannot read Parquet sample"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn unreadable_samples_name_the_file() {
        let err = read_sample(Path::new("nope/missing.csv"), 10).unwrap_err();
        assert!(err.starts_with("nope/missing.csv:"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("rows.xlsx");
        std::fs::write(&xlsx, b"x").unwrap();
        let err = read_sample(&xlsx, 10).unwrap_err();
        assert!(err.contains("unknown sample format"), "{err}");
    }
}
