//! A sample tensor whose element type differs from its model input (a float64 `.npy` for a
//! float32 input, JSON numbers, which have no width): its values are judged into the input's
//! type by the rule table columns follow ([`crate::sample::Judge`]), so the same values get the
//! same verdict whatever file they came in.

use crate::runtime::{ElementType, TensorData};
use crate::sample::{Conversion, Judge, Numbers, Safety, judge_numbers, parse_numbers};

/// `data` converted to `target`, shaped as `data`, with the verdict on its values. Element
/// indices in the verdict count elements in logical order (see [`index_text`]).
pub fn convert(data: &TensorData, target: ElementType, judge: Judge) -> Conversion {
    let shape = data.shape().to_vec();
    let conversion = if target == ElementType::String {
        Conversion { safety: Safety::Exact, values: TensorData::from_texts(ElementType::String, &[data.len()], &texts(data)).ok() }
    } else {
        match numbers(data) {
            Ok(values) => judge_numbers(&values, target, judge),
            Err(reason) => Conversion { safety: Safety::Incompatible(reason), values: None },
        }
    };
    Conversion { values: conversion.values.and_then(|v| v.reshaped(&shape)), ..conversion }
}

/// The index of element `flat` (logical order) in a tensor of `shape`, as numpy writes it: `[0, 3]`.
pub fn index_text(flat: usize, shape: &[usize]) -> String {
    let mut rest = flat;
    let mut index = vec![0; shape.len()];
    for (slot, &len) in index.iter_mut().zip(shape).rev() {
        if len > 0 {
            *slot = rest % len;
            rest /= len;
        }
    }
    format!("[{}]", index.iter().map(usize::to_string).collect::<Vec<_>>().join(", "))
}

/// The elements as text; JSON booleans stay `true`/`false`.
fn texts(data: &TensorData) -> Vec<String> {
    match data {
        TensorData::Str(a) => a.iter().cloned().collect(),
        other => other.to_texts(),
    }
}

fn numbers(data: &TensorData) -> Result<Numbers, String> {
    let ints = |values: Vec<i128>| Ok(Numbers::Ints(values));
    match data {
        TensorData::F32(a) => Ok(Numbers::Floats(a.iter().map(|&v| f64::from(v)).collect())),
        TensorData::F64(a) => Ok(Numbers::Floats(a.iter().copied().collect())),
        TensorData::I8(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::I16(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::I32(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::I64(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::U8(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::U16(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::U32(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::U64(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::Bool(a) => ints(a.iter().map(|&v| v.into()).collect()),
        TensorData::Str(a) => {
            // JSON booleans arrive as their words; a boolean input takes them as 1 and 0.
            let words: Vec<&str> = a
                .iter()
                .map(|t| match t.as_str() {
                    "true" => "1",
                    "false" => "0",
                    other => other,
                })
                .collect();
            parse_numbers(&words).map_err(|bad| {
                format!(
                    "{} is not a number; {} of {} values are not numbers",
                    crate::sample::clip(&format!("'{}'", bad.text), 42),
                    bad.count,
                    words.len()
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{ArrayD, IxDyn};

    use super::*;

    fn strings(shape: &[usize], values: &[&str]) -> TensorData {
        TensorData::Str(ArrayD::from_shape_vec(IxDyn(shape), values.iter().map(|v| v.to_string()).collect()).unwrap())
    }

    #[test]
    fn float64_rounds_into_float32_within_the_spread() {
        let data = TensorData::F64(ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![0.1, 0.2, 0.30000000000000004, -0.7]).unwrap());
        let conversion = convert(&data, ElementType::Float32, Judge::default());
        assert!(matches!(conversion.safety, Safety::Rounded(_)), "{:?}", conversion.safety);
        let values = conversion.values.unwrap();
        assert_eq!((values.element_type(), values.shape()), (ElementType::Float32, &[2, 2][..]));
    }

    #[test]
    fn a_fraction_into_an_integer_input_names_its_index() {
        let conversion = convert(&strings(&[2, 2], &["1", "2", "3", "4.5"]), ElementType::Int64, Judge::default());
        let Safety::Lossy(rounding) = conversion.safety else { panic!("{:?}", conversion.safety) };
        assert_eq!((rounding.row, rounding.value, rounding.affected), (3, 4.5, 1));
        assert_eq!(index_text(rounding.row, &[2, 2]), "[1, 1]");
    }

    #[test]
    fn json_words_and_texts() {
        let bools = convert(&strings(&[2], &["true", "false"]), ElementType::Bool, Judge::default());
        assert_eq!((bools.safety, bools.values.unwrap().to_texts()), (Safety::Exact, vec!["true".to_string(), "false".to_string()]));
        let text = convert(&strings(&[2], &["1", "cat"]), ElementType::Float32, Judge::default());
        assert_eq!(text.safety, Safety::Incompatible("'cat' is not a number; 1 of 2 values are not numbers".into()));
        let ints = TensorData::I64(ArrayD::from_shape_vec(IxDyn(&[1]), vec![300]).unwrap());
        assert!(matches!(convert(&ints, ElementType::Uint8, Judge::default()).safety, Safety::Lossy(_)));
        assert_eq!(index_text(5, &[2, 3]), "[1, 2]");
        assert_eq!(index_text(0, &[]), "[]");
    }
}
