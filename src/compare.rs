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

/// [`first_mismatch`] of two outputs' values, the same answer and message, without building a
/// [`Scalar`] (a formatted and re-parsed string) per value when both are numeric or boolean
/// tensors of one element type: an image model's output has hundreds of thousands of floats
/// per row. Floats are compared as [`Scalar`] compares them (f32 through its shortest text);
/// a pair whose native difference lies too close to the tolerance for the widening to be sure
/// is decided by [`close`] on the scalars, exactly as before.
pub fn first_value_mismatch(actual: &OutputValue, expected: &OutputValue, atol: f64, rtol: f64) -> Option<String> {
    if let (OutputValue::Tensor(a), OutputValue::Tensor(e)) = (actual, expected)
        && let Some(found) = first_tensor_mismatch(a, e, atol, rtol)
    {
        return found;
    }
    first_mismatch(&all_scalars(actual), &all_scalars(expected), atol, rtol)
}

/// Row `row` of an output along `axis` (see [`row_axis`]), as an output of its own (a tensor
/// sliced without converting its values; a sequence's item as scalars would be, by the caller).
pub fn row_along(value: &OutputValue, axis: usize, row: usize) -> Option<OutputValue> {
    match value {
        OutputValue::Tensor(t) if t.shape().get(axis).is_some_and(|&len| row < len) => Some(OutputValue::Tensor(t.slice_along(axis, row, row + 1))),
        OutputValue::Sequence(items) if axis == 0 => items.get(row).cloned(),
        _ => None,
    }
}

/// Whether rows `a` and `b` of an output hold the same values (`row_scalars(a) ==
/// row_scalars(b)`, NaN never equal), compared natively for tensors.
pub fn rows_equal(value: &OutputValue, a: usize, b: usize) -> bool {
    match value {
        OutputValue::Tensor(t) if !t.shape().is_empty() && a.max(b) < t.shape()[0] => {
            macro_rules! same {
                ($($variant:ident),*) => {
                    match t {
                        $(TensorData::$variant(x) => {
                            let axis = ndarray::Axis(0);
                            x.index_axis(axis, a).iter().zip(x.index_axis(axis, b).iter()).all(|(p, q)| p == q)
                        })*
                    }
                };
            }
            same!(F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool, Str)
        }
        _ => row_scalars(value, a).is_some_and(|first| row_scalars(value, b).as_ref() == Some(&first)),
    }
}

/// The scalar [`tensor_scalars`] makes of one value.
fn float_scalar<T: std::fmt::Debug>(value: T) -> Scalar {
    Scalar::Float(format!("{value:?}").parse().unwrap_or(f64::NAN))
}

/// `Some(answer)` of [`first_value_mismatch`] for two tensors of one numeric or boolean type;
/// `None` for other pairs (strings, mixed types), left to the scalar path.
fn first_tensor_mismatch(actual: &TensorData, expected: &TensorData, atol: f64, rtol: f64) -> Option<Option<String>> {
    if actual.len() != expected.len() {
        return Some(Some(format!("{} values, expected {}", actual.len(), expected.len())));
    }
    let show = |i: usize, a: Scalar, e: Scalar| Some(format!("value {i}: got {a}, expected {e}"));
    macro_rules! ints {
        ($($variant:ident),*) => {
            match (actual, expected) {
                $((TensorData::$variant(a), TensorData::$variant(e)) => {
                    let found = a.iter().zip(e.iter()).position(|(x, y)| x != y);
                    return Some(found.and_then(|i| {
                        let (x, y) = (a.iter().nth(i)?, e.iter().nth(i)?);
                        show(i, Scalar::Int(i128::from(*x)), Scalar::Int(i128::from(*y)))
                    }));
                })*
                _ => {}
            }
        };
    }
    ints!(I8, I16, I32, I64, U8, U16, U32, U64);
    match (actual, expected) {
        (TensorData::F32(a), TensorData::F32(e)) => {
            let found = a.iter().zip(e.iter()).position(|(&x, &y)| !close_f32(x, y, atol, rtol));
            Some(found.and_then(|i| show(i, float_scalar(*a.iter().nth(i)?), float_scalar(*e.iter().nth(i)?))))
        }
        (TensorData::F64(a), TensorData::F64(e)) => {
            let found = a.iter().zip(e.iter()).position(|(&x, &y)| !close(&Scalar::Float(x), &Scalar::Float(y), atol, rtol));
            Some(found.and_then(|i| show(i, float_scalar(*a.iter().nth(i)?), float_scalar(*e.iter().nth(i)?))))
        }
        (TensorData::Bool(a), TensorData::Bool(e)) => {
            let found = a.iter().zip(e.iter()).position(|(x, y)| x != y);
            Some(found.and_then(|i| show(i, Scalar::Bool(*a.iter().nth(i)?), Scalar::Bool(*e.iter().nth(i)?))))
        }
        _ => None,
    }
}

/// [`close`] on the scalars of two f32 values (each widened through its shortest text), decided
/// natively where it can be: identical bits match; otherwise the exact widening is used unless
/// the difference lies within the widening's error (under 1e-7 of the values) of the tolerance.
fn close_f32(actual: f32, expected: f32, atol: f64, rtol: f64) -> bool {
    if actual.to_bits() == expected.to_bits() {
        return true;
    }
    let (a, e) = (f64::from(actual), f64::from(expected));
    if !(a.is_finite() && e.is_finite()) {
        return close(&float_scalar(actual), &float_scalar(expected), atol, rtol);
    }
    if a == e {
        return true; // 0.0 and -0.0
    }
    let (difference, tolerance) = ((a - e).abs(), atol + rtol * e.abs());
    let slack = 1e-6 * (a.abs() + e.abs()) * (1.0 + rtol);
    if difference > tolerance + slack {
        false
    } else if difference + slack < tolerance {
        true
    } else {
        close(&float_scalar(actual), &float_scalar(expected), atol, rtol)
    }
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

    #[test]
    fn tensors_compare_natively_with_the_answer_and_message_of_the_scalars() {
        let f32s = |v: Vec<f32>| OutputValue::Tensor(TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap()));
        let cases: Vec<(Vec<f32>, Vec<f32>, f64, f64)> = vec![
            (vec![0.1, 0.2, f32::NAN, -0.0], vec![0.1, 0.2, f32::NAN, 0.0], 0.0, 0.0),
            (vec![0.1, 0.2], vec![0.1, 0.25], 0.0, 0.0),
            (vec![1.0, 1.00001], vec![1.0, 1.0], 1e-4, 0.0),
            (vec![1.0, 1.1], vec![1.0, 1.0], 1e-4, 1e-3),
            (vec![1.0, f32::INFINITY], vec![1.0, 1.0], 1e-4, 1e-3),
            (vec![1.0, f32::NAN], vec![1.0, 1.0], 1e-4, 1e-3),
            // On the tolerance: 1.001 - 1.0 against 0 + 0.001 · 1.0, decided by the scalars.
            (vec![1.0, 1.001], vec![1.0, 1.0], 0.0, 1e-3),
            (vec![1.0], vec![1.0, 2.0], 0.0, 0.0),
        ];
        for (actual, expected, atol, rtol) in cases {
            let (a, e) = (f32s(actual), f32s(expected));
            let slow = first_mismatch(&all_scalars(&a), &all_scalars(&e), atol, rtol);
            assert_eq!(first_value_mismatch(&a, &e, atol, rtol), slow, "{a:?} {e:?}");
        }
        let ints = |v: Vec<i64>| OutputValue::Tensor(TensorData::I64(ArrayD::from_shape_vec(IxDyn(&[v.len()]), v).unwrap()));
        assert_eq!(first_value_mismatch(&ints(vec![1, 5]), &ints(vec![1, 2]), 9.0, 9.0).unwrap(), "value 1: got 5, expected 2");
        assert_eq!(first_value_mismatch(&ints(vec![1, 2]), &ints(vec![1, 2]), 0.0, 0.0), None);
    }

    #[test]
    fn rows_are_equal_as_their_scalars_are() {
        let t = OutputValue::Tensor(TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0, f32::NAN, 1.0, f32::NAN, 1.0, 2.0]).unwrap()));
        let u = OutputValue::Tensor(TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0, -0.0, 1.0, 0.0, 1.0, 2.0]).unwrap()));
        for value in [&t, &u] {
            for (a, b) in [(0, 1), (1, 2), (0, 2)] {
                assert_eq!(rows_equal(value, a, b), row_scalars(value, a) == row_scalars(value, b), "{value:?} rows {a} {b}");
            }
        }
        assert_eq!(row_along(&t, 0, 2), Some(OutputValue::Tensor(TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[1, 2]), vec![1.0, 2.0]).unwrap()))));
    }
}
