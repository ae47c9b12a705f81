//! Comparing model outputs: flattening an output (or one row of it) to scalars, and matching two
//! scalar lists exactly (labels, integers, strings) or within `atol + rtol·|expected|` (floats).

use crate::runtime::{ElementType, OutputValue, TensorData};

/// One value of an output.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Float(f64),
    Int(i128),
    Text(String),
    Bool(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Float(v) => write!(f, "{v}"),
            Self::Int(v) => write!(f, "{v}"),
            Self::Text(v) => write!(f, "{v:?}"),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

/// Every element of a tensor, in logical order.
pub fn tensor_scalars(tensor: &TensorData) -> Vec<Scalar> {
    let element = tensor.element_type();
    tensor
        .to_texts()
        .into_iter()
        .map(|text| match element {
            ElementType::Float32 | ElementType::Float64 => Scalar::Float(text.parse().unwrap_or(f64::NAN)),
            ElementType::String => Scalar::Text(text),
            ElementType::Bool => Scalar::Bool(text == "true"),
            _ => Scalar::Int(text.parse().unwrap_or_default()),
        })
        .collect()
}

/// Every value of an output, in order; map entries as key, value pairs sorted by key.
pub fn all_scalars(value: &OutputValue) -> Vec<Scalar> {
    match value {
        OutputValue::Tensor(t) => tensor_scalars(t),
        OutputValue::Sequence(items) => items.iter().flat_map(all_scalars).collect(),
        OutputValue::Map(entries) => entries.iter().flat_map(|(k, v)| [Scalar::Text(k.clone()), Scalar::Float(*v)]).collect(),
        OutputValue::Unsupported(_) => Vec::new(),
    }
}

/// The values of row `row` (first axis of a tensor, item of a sequence).
/// The axis of an output tensor that carries `rows` request rows: the first axis that long
/// (a `[classes, batch]` output has it second); `None` when no axis is, or for non-tensors.
pub fn row_axis(value: &OutputValue, rows: usize) -> Option<usize> {
    match value {
        OutputValue::Tensor(t) => t.shape().iter().position(|&len| len == rows),
        OutputValue::Sequence(items) => (items.len() == rows).then_some(0),
        _ => None,
    }
}

/// Row `row` of an output along `axis` (see [`row_axis`]), as scalars.
pub fn row_scalars_along(value: &OutputValue, axis: usize, row: usize) -> Option<Vec<Scalar>> {
    match value {
        OutputValue::Tensor(t) if t.shape().get(axis).is_some_and(|&len| row < len) => Some(tensor_scalars(&t.slice_along(axis, row, row + 1))),
        OutputValue::Sequence(_) if axis == 0 => row_scalars(value, row),
        _ => None,
    }
}

pub fn row_scalars(value: &OutputValue, row: usize) -> Option<Vec<Scalar>> {
    match value {
        OutputValue::Tensor(t) if !t.shape().is_empty() && row < t.shape()[0] => Some(tensor_scalars(&t.slice_rows(row, row + 1))),
        OutputValue::Sequence(items) => items.get(row).map(all_scalars),
        _ => None,
    }
}

/// Whether `actual` matches `expected`: floats within `atol + rtol·|expected|` (NaN matches
/// NaN), everything else exactly; an integer against a float compares numerically.
pub fn close(actual: &Scalar, expected: &Scalar, atol: f64, rtol: f64) -> bool {
    match (actual, expected) {
        (Scalar::Float(a), Scalar::Float(e)) => (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= atol + rtol * e.abs(),
        (Scalar::Int(a), Scalar::Float(e)) | (Scalar::Float(e), Scalar::Int(a)) => (*a as f64 - e).abs() <= atol + rtol * e.abs(),
        (a, e) => a == e,
    }
}

/// The first position where two value lists differ, with both values; a length difference too.
pub fn first_mismatch(actual: &[Scalar], expected: &[Scalar], atol: f64, rtol: f64) -> Option<String> {
    if actual.len() != expected.len() {
        return Some(format!("{} values, expected {}", actual.len(), expected.len()));
    }
    actual.iter().zip(expected).position(|(a, e)| !close(a, e, atol, rtol)).map(|i| format!("value {i}: got {}, expected {}", actual[i], expected[i]))
}

/// The largest absolute difference between paired floats.
pub fn max_abs_diff(actual: &[Scalar], expected: &[Scalar]) -> f64 {
    actual
        .iter()
        .zip(expected)
        .filter_map(|(a, e)| match (a, e) {
            (Scalar::Float(a), Scalar::Float(e)) if a.is_finite() && e.is_finite() => Some((a - e).abs()),
            _ => None,
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, IxDyn};

    #[test]
    fn floats_use_tolerances_and_labels_are_exact() {
        assert!(close(&Scalar::Float(1.00001), &Scalar::Float(1.0), 1e-4, 0.0));
        assert!(!close(&Scalar::Float(1.1), &Scalar::Float(1.0), 1e-4, 1e-3));
        assert!(close(&Scalar::Float(f64::NAN), &Scalar::Float(f64::NAN), 0.0, 0.0));
        assert!(!close(&Scalar::Int(1), &Scalar::Int(2), 10.0, 10.0));
        assert!(close(&Scalar::Text("a".into()), &Scalar::Text("a".into()), 0.0, 0.0));
    }

    #[test]
    fn rows_of_tensors_and_sequences_flatten_in_order() {
        let t = OutputValue::Tensor(TensorData::I64(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![1, 2, 3, 4]).unwrap()));
        assert_eq!(row_scalars(&t, 1), Some(vec![Scalar::Int(3), Scalar::Int(4)]));
        assert_eq!(row_scalars(&t, 2), None);
        let seq = OutputValue::Sequence(vec![OutputValue::Map(vec![("0".into(), 0.25), ("1".into(), 0.75)])]);
        assert_eq!(row_scalars(&seq, 0).unwrap().len(), 4);
        let mismatch = first_mismatch(&[Scalar::Int(1), Scalar::Int(5)], &[Scalar::Int(1), Scalar::Int(2)], 0.0, 0.0);
        assert_eq!(mismatch.unwrap(), "value 1: got 5, expected 2");
    }
}
