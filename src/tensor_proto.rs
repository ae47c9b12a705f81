//! ONNX `TensorProto` files (`input_0.pb`, `output_0.pb`): the reference data of an ONNX test
//! data set (`test_data_set_0/`), decoded into [`TensorData`]. Used for `--sample DIR` (inputs)
//! and `--expected DIR` (reference outputs) of tensor models.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use prost::Message;

use crate::runtime::TensorData;

/// The `TensorProto` fields needed to rebuild a dense tensor (field numbers from onnx.proto).
#[derive(Clone, PartialEq, prost::Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(int32, repeated, tag = "5")]
    int32_data: Vec<i32>,
    #[prost(bytes = "vec", repeated, tag = "6")]
    string_data: Vec<Vec<u8>>,
    #[prost(int64, repeated, tag = "7")]
    int64_data: Vec<i64>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    #[prost(double, repeated, tag = "10")]
    double_data: Vec<f64>,
    #[prost(uint64, repeated, tag = "11")]
    uint64_data: Vec<u64>,
    #[prost(int32, tag = "14")]
    data_location: i32,
}

/// A decoded tensor with the name it was saved under (often empty in test data sets).
#[derive(Debug, Clone, PartialEq)]
pub struct NamedProto {
    pub name: String,
    pub data: TensorData,
}

/// The largest tensor `ready` will build from a file (elements), so a corrupt or hostile
/// file that declares huge dimensions is refused before anything is allocated.
pub const MAX_ELEMENTS: u64 = 1 << 31;

/// Decodes one serialized `TensorProto`.
pub fn decode(bytes: &[u8]) -> Result<NamedProto, String> {
    let proto = TensorProto::decode(bytes).map_err(|e| format!("not a TensorProto: {e}"))?;
    if proto.data_location == 1 {
        return Err("tensor data stored in an external file is not supported here".to_string());
    }
    let mut count: u64 = 1;
    for &d in &proto.dims {
        let d = u64::try_from(d).map_err(|_| format!("negative dimension {d}"))?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= MAX_ELEMENTS)
            .ok_or_else(|| format!("declared shape {:?} exceeds {MAX_ELEMENTS} elements", proto.dims))?;
    }
    let shape: Vec<usize> = proto.dims.iter().map(|&d| d as usize).collect();
    let n = count as usize;
    let raw = &proto.raw_data;
    macro_rules! from_raw {
        ($ty:ty, $variant:ident) => {{
            let size = std::mem::size_of::<$ty>();
            if raw.len() != n * size {
                return Err(format!("raw_data holds {} bytes, shape {:?} needs {}", raw.len(), proto.dims, n * size));
            }
            let values: Vec<$ty> = raw.chunks_exact(size).map(|c| <$ty>::from_le_bytes(c.try_into().expect("chunk size"))).collect();
            TensorData::$variant(array(&shape, values)?)
        }};
    }
    macro_rules! from_typed {
        ($field:expr, $variant:ident, $convert:expr) => {{
            let values: Vec<_> = $field.iter().map($convert).collect::<Result<Vec<_>, String>>()?;
            if values.len() != n {
                return Err(format!("{} values for shape {:?} ({} expected)", values.len(), proto.dims, n));
            }
            TensorData::$variant(array(&shape, values)?)
        }};
    }
    let data = match (proto.data_type, raw.is_empty()) {
        (1, false) => from_raw!(f32, F32),
        (1, true) => from_typed!(proto.float_data, F32, |v: &f32| Ok(*v)),
        (11, false) => from_raw!(f64, F64),
        (11, true) => from_typed!(proto.double_data, F64, |v: &f64| Ok(*v)),
        (7, false) => from_raw!(i64, I64),
        (7, true) => from_typed!(proto.int64_data, I64, |v: &i64| Ok(*v)),
        (6, false) => from_raw!(i32, I32),
        (6, true) => from_typed!(proto.int32_data, I32, |v: &i32| Ok(*v)),
        (5, false) => from_raw!(i16, I16),
        (5, true) => from_typed!(proto.int32_data, I16, narrow("int16")),
        (3, false) => from_raw!(i8, I8),
        (3, true) => from_typed!(proto.int32_data, I8, narrow("int8")),
        (4, false) => from_raw!(u16, U16),
        (4, true) => from_typed!(proto.int32_data, U16, narrow("uint16")),
        (2, false) => from_raw!(u8, U8),
        (2, true) => from_typed!(proto.int32_data, U8, narrow("uint8")),
        (12, false) => from_raw!(u32, U32),
        (12, true) => from_typed!(proto.uint64_data, U32, |v: &u64| u32::try_from(*v).map_err(|_| format!("uint32 value {v} out of range"))),
        (13, false) => from_raw!(u64, U64),
        (13, true) => from_typed!(proto.uint64_data, U64, |v: &u64| Ok(*v)),
        (9, false) => {
            if raw.len() != n {
                return Err(format!("raw_data holds {} bytes, shape {:?} needs {n}", raw.len(), proto.dims));
            }
            TensorData::Bool(array(&shape, raw.iter().map(|b| *b != 0).collect())?)
        }
        (9, true) => from_typed!(proto.int32_data, Bool, |v: &i32| Ok(*v != 0)),
        (8, _) => {
            from_typed!(proto.string_data, Str, |v: &Vec<u8>| String::from_utf8(v.clone()).map_err(|_| "string value is not UTF-8".to_string()))
        }
        (other, _) => return Err(format!("element type {other} is not supported")),
    };
    Ok(NamedProto { name: proto.name, data })
}

/// Converts an `int32_data` value to a narrower element type, naming the type when it does not fit.
fn narrow<T: TryFrom<i32>>(what: &'static str) -> impl Fn(&i32) -> Result<T, String> {
    move |v| T::try_from(*v).map_err(|_| format!("{what} value {v} out of range"))
}

fn array<T>(shape: &[usize], values: Vec<T>) -> Result<ArrayD<T>, String> {
    ArrayD::from_shape_vec(IxDyn(shape), values).map_err(|e| e.to_string())
}

/// Whether `dir` looks like an ONNX test data set (has `input_0.pb` or `output_0.pb`).
pub fn is_test_data_set(dir: &Path) -> bool {
    dir.join("input_0.pb").is_file() || dir.join("output_0.pb").is_file()
}

/// Reads `{prefix}_0.pb`, `{prefix}_1.pb`, ... from `dir`, in index order. Errors name the file.
pub fn read_set(dir: &Path, prefix: &str) -> Result<Vec<NamedProto>, String> {
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let index = name.strip_prefix(prefix)?.strip_prefix('_')?.strip_suffix(".pb")?.parse().ok()?;
            Some((index, entry.path()))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("{}: no {prefix}_*.pb files", dir.display()));
    }
    files
        .iter()
        .enumerate()
        .map(|(expected, (index, path))| {
            if *index != expected {
                return Err(format!("{}: {prefix}_{expected}.pb is missing", dir.display()));
            }
            // A protobuf message is at most 2 GiB; the file must be a regular one inside `dir`.
            let bytes = crate::sandbox::open::read_within(dir, path, 2 << 30).map_err(|e| format!("{}: {e}", path.display()))?;
            decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(proto: TensorProto) -> Vec<u8> {
        proto.encode_to_vec()
    }

    #[test]
    fn raw_and_typed_encodings_give_the_same_tensor() {
        let raw: Vec<u8> = [1.5f32, -2.0, 3.25, 0.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = decode(&encode(TensorProto { dims: vec![2, 2], data_type: 1, raw_data: raw, ..Default::default() })).unwrap();
        let b =
            decode(&encode(TensorProto { dims: vec![2, 2], data_type: 1, float_data: vec![1.5, -2.0, 3.25, 0.0], ..Default::default() })).unwrap();
        assert_eq!(a.data, b.data);
        assert_eq!(a.data.shape(), &[2, 2]);
    }

    #[test]
    fn strings_int64_and_scalars_decode() {
        let s = decode(&encode(TensorProto { dims: vec![2], data_type: 8, string_data: vec![b"a".to_vec(), b"bc".to_vec()], ..Default::default() }))
            .unwrap();
        assert_eq!(s.data.preview(5), vec!["\"a\"", "\"bc\""]);
        let scalar =
            decode(&encode(TensorProto { dims: vec![], data_type: 7, int64_data: vec![42], name: "k".into(), ..Default::default() })).unwrap();
        assert_eq!((scalar.name.as_str(), scalar.data.shape().len(), scalar.data.preview(1)), ("k", 0, vec!["42".to_string()]));
    }

    #[test]
    fn inconsistent_or_huge_shapes_are_refused_before_allocating() {
        let err = decode(&encode(TensorProto { dims: vec![3], data_type: 1, float_data: vec![1.0], ..Default::default() })).unwrap_err();
        assert!(err.contains("1 values for shape [3]"), "{err}");
        let err = decode(&encode(TensorProto { dims: vec![1 << 40, 1 << 40], data_type: 1, ..Default::default() })).unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        let err = decode(&encode(TensorProto { dims: vec![-1], data_type: 1, ..Default::default() })).unwrap_err();
        assert!(err.contains("negative"), "{err}");
        assert!(decode(b"\xff\xff\xff").is_err());
    }
}
