//! Owned tensors and value descriptions that cross the runtime boundary.
//!
//! Checks never see `ort` types: they build [`Batch`]es of [`TensorData`] and read
//! [`OutputValue`]s back, so a mock runner can stand in for ONNX Runtime in tests.

use std::fmt;

use ndarray::{ArrayD, Axis, IxDyn};
use serde::Serialize;

/// The element type of a tensor, as ONNX names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElementType {
    Float32,
    Float64,
    Float16,
    BFloat16,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Bool,
    String,
    /// Complex, float8 and 4-bit types: reported, never synthesized.
    Other,
}

impl ElementType {
    /// Whether values of this type can be NaN or infinite.
    pub fn is_float(self) -> bool {
        matches!(self, Self::Float32 | Self::Float64 | Self::Float16 | Self::BFloat16)
    }

    /// The lower-case ONNX-style name (`float32`, `int64`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Float32 => "float32",
            Self::Float64 => "float64",
            Self::Float16 => "float16",
            Self::BFloat16 => "bfloat16",
            Self::Int8 => "int8",
            Self::Int16 => "int16",
            Self::Int32 => "int32",
            Self::Int64 => "int64",
            Self::Uint8 => "uint8",
            Self::Uint16 => "uint16",
            Self::Uint32 => "uint32",
            Self::Uint64 => "uint64",
            Self::Bool => "bool",
            Self::String => "string",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One dimension of a declared tensor shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Dim {
    /// A static size.
    Fixed(i64),
    /// A dynamic size, with its symbolic name when the model gives one (`N`, `batch`).
    Free(Option<String>),
}

impl Dim {
    /// The static size, if any.
    pub fn fixed(&self) -> Option<i64> {
        match self {
            Self::Fixed(n) => Some(*n),
            Self::Free(_) => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Free(Some(name)) if !name.is_empty() => f.write_str(name),
            Self::Free(_) => f.write_str("?"),
        }
    }
}

/// The declared type of a model input or output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ValueKind {
    Tensor { element: ElementType, dims: Vec<Dim> },
    Sequence { of: Box<ValueKind> },
    Map { key: ElementType, value: ElementType },
    Optional { of: Box<ValueKind> },
}

impl ValueKind {
    /// Element type and dims when this is a tensor.
    pub fn as_tensor(&self) -> Option<(ElementType, &[Dim])> {
        match self {
            Self::Tensor { element, dims } => Some((*element, dims)),
            _ => None,
        }
    }
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tensor { element, dims } => {
                let dims: Vec<String> = dims.iter().map(ToString::to_string).collect();
                write!(f, "{element}[{}]", dims.join(","))
            }
            Self::Sequence { of } => write!(f, "seq({of})"),
            Self::Map { key, value } => write!(f, "map({key},{value})"),
            Self::Optional { of } => write!(f, "optional({of})"),
        }
    }
}

/// A named model input or output with its declared type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IoSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ValueKind,
}

impl IoSpec {
    /// Builds a tensor spec; `None` dims are dynamic.
    pub fn tensor(name: &str, element: ElementType, dims: &[Option<i64>]) -> Self {
        let dims = dims.iter().map(|d| d.map_or(Dim::Free(None), Dim::Fixed)).collect();
        Self { name: name.to_string(), kind: ValueKind::Tensor { element, dims } }
    }
}

macro_rules! tensor_data {
    ($($variant:ident($ty:ty) => $elem:ident),* $(,)?) => {
        /// An owned, dynamically shaped tensor of one of the element types `ready` can feed.
        #[derive(Debug, Clone, PartialEq)]
        pub enum TensorData {
            $($variant(ArrayD<$ty>),)*
        }

        impl TensorData {
            /// The element type.
            pub fn element_type(&self) -> ElementType {
                match self { $(Self::$variant(_) => ElementType::$elem,)* }
            }

            /// The concrete shape.
            pub fn shape(&self) -> &[usize] {
                match self { $(Self::$variant(a) => a.shape(),)* }
            }

            /// A tensor of `shape` filled with a neutral value (0, false or "a"), or `None`
            /// when `ready` cannot build tensors of `element`.
            pub fn filled(element: ElementType, shape: &[usize]) -> Option<Self> {
                let shape = IxDyn(shape);
                Some(match element {
                    $(ElementType::$elem => Self::$variant(ArrayD::from_elem(shape, <$ty as Neutral>::NEUTRAL())),)*
                    _ => return None,
                })
            }

            /// The rows `start..end` along the first axis; a scalar is returned unchanged.
            pub fn slice_rows(&self, start: usize, end: usize) -> Self {
                self.slice_along(0, start, end)
            }

            /// The indices `start..end` along `axis`, clamped to its length; a tensor without
            /// that axis is returned unchanged.
            pub fn slice_along(&self, axis: usize, start: usize, end: usize) -> Self {
                match self {
                    $(Self::$variant(a) if a.ndim() <= axis => Self::$variant(a.clone()),)*
                    $(Self::$variant(a) => {
                        let len = a.len_of(Axis(axis));
                        let (start, end) = (start.min(len), end.min(len));
                        Self::$variant(a.slice_axis(Axis(axis), ndarray::Slice::from(start..end.max(start))).to_owned())
                    })*
                }
            }

            /// Columns `start..end` along the second axis, or `None` for tensors of rank < 2.
            pub fn slice_columns(&self, start: usize, end: usize) -> Option<Self> {
                match self {
                    $(Self::$variant(a) if a.ndim() >= 2 => Some(Self::$variant(
                        a.slice_axis(Axis(1), ndarray::Slice::from(start..end)).to_owned()
                    )),)*
                    _ => None,
                }
            }

            /// Repeats the first row `rows` times along the first axis; a scalar or an empty
            /// tensor is returned unchanged.
            pub fn repeat_first_row(&self, rows: usize) -> Self {
                self.repeat_along(0, rows)
            }

            /// Repeats index 0 of `axis` `rows` times along that axis; a tensor without that axis,
            /// or with nothing along it, is returned unchanged.
            pub fn repeat_along(&self, axis: usize, rows: usize) -> Self {
                match self {
                    $(Self::$variant(a) if a.ndim() <= axis || a.len_of(Axis(axis)) == 0 => Self::$variant(a.clone()),)*
                    $(Self::$variant(a) => {
                        let row = a.index_axis(Axis(axis), 0);
                        let views = vec![row.view(); rows];
                        Self::$variant(ndarray::stack(Axis(axis), &views).expect("rows share one shape"))
                    })*
                }
            }

            /// Up to `limit` elements, formatted, in logical order.
            pub fn preview(&self, limit: usize) -> Vec<String> {
                match self { $(Self::$variant(a) => a.iter().take(limit).map(|v| v.show()).collect(),)* }
            }

            /// The number of elements.
            pub fn len(&self) -> usize {
                match self { $(Self::$variant(a) => a.len(),)* }
            }

            /// The same elements in logical order, laid out as `shape` (`None` when the counts differ).
            pub fn reshaped(self, shape: &[usize]) -> Option<Self> {
                match self { $(Self::$variant(a) => a.into_shape_with_order(IxDyn(shape)).ok().map(Self::$variant),)* }
            }

            /// Whether the tensor has no elements.
            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Every element as text that parses back to the identical value (`NaN`, `inf` included).
            pub fn to_texts(&self) -> Vec<String> {
                match self { $(Self::$variant(a) => a.iter().map(|v| v.exact_text()).collect(),)* }
            }

            /// Rebuilds a tensor from [`Self::to_texts`] output.
            pub fn from_texts(element: ElementType, shape: &[usize], texts: &[String]) -> Result<Self, String> {
                let expected: usize = shape.iter().product();
                if texts.len() != expected {
                    return Err(format!("{} values for shape {shape:?}", texts.len()));
                }
                Ok(match element {
                    $(ElementType::$elem => {
                        let values = texts.iter().map(|t| <$ty as Neutral>::parse_exact(t)).collect::<Result<Vec<_>, _>>()?;
                        Self::$variant(ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| e.to_string())?)
                    })*
                    other => return Err(format!("cannot build {other} tensors")),
                })
            }

            /// The number of NaN or infinite elements (0 for non-float tensors).
            pub fn non_finite_count(&self) -> usize {
                match self { $(Self::$variant(a) => a.iter().filter(|v| !v.finite()).count(),)* }
            }
        }
    };
}

tensor_data! {
    F32(f32) => Float32,
    F64(f64) => Float64,
    I8(i8) => Int8,
    I16(i16) => Int16,
    I32(i32) => Int32,
    I64(i64) => Int64,
    U8(u8) => Uint8,
    U16(u16) => Uint16,
    U32(u32) => Uint32,
    U64(u64) => Uint64,
    Bool(bool) => Bool,
    Str(String) => String,
}

impl TensorData {
    /// A numeric or boolean tensor whose element `k` (in logical order) is `value(k)`, converted
    /// with `as` (integers truncate and saturate; booleans are `value != 0`). `None` for strings
    /// and types ready cannot build.
    pub fn from_fn(element: ElementType, shape: &[usize], value: impl Fn(usize) -> f64) -> Option<Self> {
        let n: usize = shape.iter().product();
        macro_rules! build {
            ($variant:ident, $ty:ty) => {
                Self::$variant(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|k| value(k) as $ty).collect()).ok()?)
            };
        }
        Some(match element {
            ElementType::Float32 => build!(F32, f32),
            ElementType::Float64 => build!(F64, f64),
            ElementType::Int8 => build!(I8, i8),
            ElementType::Int16 => build!(I16, i16),
            ElementType::Int32 => build!(I32, i32),
            ElementType::Int64 => build!(I64, i64),
            ElementType::Uint8 => build!(U8, u8),
            ElementType::Uint16 => build!(U16, u16),
            ElementType::Uint32 => build!(U32, u32),
            ElementType::Uint64 => build!(U64, u64),
            ElementType::Bool => Self::Bool(ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|k| value(k) != 0.0).collect()).ok()?),
            _ => return None,
        })
    }

    /// The same shape with every element set to `value`, for float tensors; `None` otherwise.
    pub fn float_filled(&self, value: f64) -> Option<Self> {
        match self {
            Self::F32(a) => Some(Self::F32(a.mapv(|_| value as f32))),
            Self::F64(a) => Some(Self::F64(a.mapv(|_| value))),
            _ => None,
        }
    }
}

/// Per-element helpers used by the generated [`TensorData`] methods.
trait Neutral {
    #[allow(non_snake_case)]
    fn NEUTRAL() -> Self;
    fn finite(&self) -> bool {
        true
    }
    fn show(&self) -> String;
    fn exact_text(&self) -> String;
    fn parse_exact(text: &str) -> Result<Self, String>
    where
        Self: Sized;
}

macro_rules! neutral_int {
    ($($ty:ty),*) => {$(
        impl Neutral for $ty {
            fn NEUTRAL() -> Self { 0 }
            fn show(&self) -> String { self.to_string() }
            fn exact_text(&self) -> String { self.to_string() }
            fn parse_exact(text: &str) -> Result<Self, String> { text.parse().map_err(|_| format!("'{text}' is not a {}", stringify!($ty))) }
        }
    )*};
}
neutral_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! neutral_float {
    ($($ty:ty),*) => {$(
        impl Neutral for $ty {
            fn NEUTRAL() -> Self { 0.0 }
            fn finite(&self) -> bool { self.is_finite() }
            fn show(&self) -> String { format_float(f64::from(*self)) }
            fn exact_text(&self) -> String { format!("{self:?}") }
            fn parse_exact(text: &str) -> Result<Self, String> { text.parse().map_err(|_| format!("'{text}' is not a {}", stringify!($ty))) }
        }
    )*};
}
neutral_float!(f32, f64);

impl Neutral for bool {
    fn NEUTRAL() -> Self {
        false
    }
    fn show(&self) -> String {
        self.to_string()
    }
    fn exact_text(&self) -> String {
        self.to_string()
    }
    fn parse_exact(text: &str) -> Result<Self, String> {
        text.parse().map_err(|_| format!("'{text}' is not a bool"))
    }
}

impl Neutral for String {
    fn NEUTRAL() -> Self {
        "a".to_string()
    }
    fn show(&self) -> String {
        format!("{self:?}")
    }
    fn exact_text(&self) -> String {
        self.clone()
    }
    fn parse_exact(text: &str) -> Result<Self, String> {
        Ok(text.to_string())
    }
}

/// Formats a float compactly: up to 4 significant decimals, no trailing zeros.
pub fn format_float(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".to_string() } else { text.to_string() }
}

/// Milliseconds for people: `5.5 µs`, `12.3 ms`, `1.25 s` (three significant digits).
pub fn format_ms(ms: f64) -> String {
    let three = |v: f64| {
        let decimals = if v >= 100.0 {
            0
        } else if v >= 10.0 {
            1
        } else {
            2
        };
        let text = format!("{v:.decimals$}");
        if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
    };
    if !ms.is_finite() {
        format!("{ms} ms")
    } else if ms >= 1000.0 {
        format!("{} s", three(ms / 1000.0))
    } else if ms >= 1.0 {
        format!("{} ms", three(ms))
    } else {
        format!("{} µs", three(ms * 1000.0))
    }
}

/// A tensor bound to a model input name.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub data: TensorData,
}

/// The full set of inputs for one inference call.
pub type Batch = Vec<NamedTensor>;

/// Number of rows in a batch (the first axis of its first input; 0 for scalars).
pub fn batch_rows(batch: &Batch) -> usize {
    batch.first().and_then(|t| t.data.shape().first().copied()).unwrap_or(0)
}

/// A value produced by a model.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputValue {
    Tensor(TensorData),
    Sequence(Vec<OutputValue>),
    /// A map, keys rendered as text and values widened to f64 (skl2onnx's ZipMap).
    Map(Vec<(String, f64)>),
    /// A value `ready` does not decode, with its type.
    Unsupported(String),
}

impl OutputValue {
    /// The number of NaN or infinite numbers anywhere inside.
    pub fn non_finite_count(&self) -> usize {
        match self {
            Self::Tensor(t) => t.non_finite_count(),
            Self::Sequence(items) => items.iter().map(Self::non_finite_count).sum(),
            Self::Map(entries) => entries.iter().filter(|(_, v)| !v.is_finite()).count(),
            Self::Unsupported(_) => 0,
        }
    }

    /// Number of rows: first axis of a tensor, length of a sequence.
    pub fn rows(&self) -> Option<usize> {
        match self {
            Self::Tensor(t) => t.shape().first().copied(),
            Self::Sequence(items) => Some(items.len()),
            Self::Map(_) | Self::Unsupported(_) => None,
        }
    }

    /// A short human-readable rendering of the first `limit` items.
    pub fn preview(&self, limit: usize) -> String {
        match self {
            Self::Tensor(t) => {
                let mut items = t.preview(limit);
                if t.len() > limit {
                    items.push("…".to_string());
                }
                format!("[{}]", items.join(", "))
            }
            Self::Sequence(items) => {
                let mut shown: Vec<String> = items.iter().take(limit).map(|v| v.preview(limit)).collect();
                if items.len() > limit {
                    shown.push("…".to_string());
                }
                format!("[{}]", shown.join(", "))
            }
            Self::Map(entries) => {
                let shown: Vec<String> = entries.iter().take(limit).map(|(k, v)| format!("{k}: {}", format_float(*v))).collect();
                format!("{{{}}}", shown.join(", "))
            }
            Self::Unsupported(kind) => format!("<{kind}>"),
        }
    }
}

/// A named model output.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedOutput {
    pub name: String,
    pub value: OutputValue,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filled_tensors_have_the_requested_shape_and_type() {
        let t = TensorData::filled(ElementType::Int64, &[3, 2]).unwrap();
        assert_eq!(t.shape(), &[3, 2]);
        assert_eq!(t.element_type(), ElementType::Int64);
        assert!(TensorData::filled(ElementType::Float16, &[1]).is_none());
    }

    #[test]
    fn slicing_and_repeating_rows_work_on_the_batch_axis() {
        let t = TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1., 2., 3., 4., 5., 6.]).unwrap());
        assert_eq!(t.slice_rows(1, 2).preview(10), vec!["3", "4"]);
        assert_eq!(t.repeat_first_row(3).shape(), &[3, 2]);
        assert_eq!(t.slice_rows(0, 0).shape(), &[0, 2]);
        let scalar = TensorData::filled(ElementType::Float32, &[]).unwrap();
        assert_eq!(scalar.slice_rows(0, 0).shape(), &[] as &[usize]);
        assert_eq!(scalar.repeat_first_row(4).shape(), &[] as &[usize]);
    }

    #[test]
    fn text_round_trips_are_exact_for_every_type() {
        let floats = TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[4]), vec![0.1, f32::NAN, f32::NEG_INFINITY, 1e-38]).unwrap());
        let back = TensorData::from_texts(ElementType::Float32, &[4], &floats.to_texts()).unwrap();
        assert_eq!(back.to_texts(), floats.to_texts());
        assert_eq!(back.non_finite_count(), 2);
        let strings = TensorData::Str(ArrayD::from_shape_vec(IxDyn(&[2]), vec!["a b".into(), "".into()]).unwrap());
        assert_eq!(TensorData::from_texts(ElementType::String, &[2], &strings.to_texts()).unwrap(), strings);
        assert!(TensorData::from_texts(ElementType::Int8, &[1], &["300".into()]).is_err());
    }

    #[test]
    fn non_finite_values_are_counted_in_nested_outputs() {
        let nan = TensorData::F64(ArrayD::from_shape_vec(IxDyn(&[2]), vec![f64::NAN, 1.0]).unwrap());
        let value = OutputValue::Sequence(vec![OutputValue::Tensor(nan), OutputValue::Map(vec![("a".into(), f64::INFINITY)])]);
        assert_eq!(value.non_finite_count(), 2);
    }

    #[test]
    fn kinds_render_like_onnx_signatures() {
        let spec = IoSpec::tensor("input", ElementType::Float32, &[None, Some(4)]);
        assert_eq!(spec.kind.to_string(), "float32[?,4]");
        let zipmap = ValueKind::Sequence { of: Box::new(ValueKind::Map { key: ElementType::Int64, value: ElementType::Float32 }) };
        assert_eq!(zipmap.to_string(), "seq(map(int64,float32))");
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(format_ms(0.0055), "5.5 µs");
        assert_eq!(format_ms(12.345), "12.3 ms");
        assert_eq!(format_ms(50.0), "50 ms");
        assert_eq!(format_ms(1250.0), "1.25 s");
    }

    #[test]
    fn floats_are_formatted_compactly() {
        assert_eq!(format_float(0.5), "0.5");
        assert_eq!(format_float(2.0), "2");
        assert_eq!(format_float(0.123456), "0.1235");
        assert_eq!(format_float(-0.00001), "0");
    }
}
