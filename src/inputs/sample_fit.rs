//! Whether a tensor sample (`.npy`, `.npz`, JSON, an ONNX test data set) can be one request to
//! the model at all, decided once the model's inputs are known and before any check runs: a JSON
//! string where a number is expected, and tensors that share a dimension (a symbol such as `N`,
//! or the batch axis) with different sizes along it. Either is a bad sample (exit 2), not a
//! finding about the model: ONNX Runtime would fail with its own message, or broadcast one
//! row over the others and answer.

use std::collections::BTreeMap;

use crate::inputs::batch_axis::BatchAxes;
use crate::runtime::{Dim, ElementType, IoSpec};
use crate::sample::TensorSample;
use crate::tensor_proto::NamedProto;

/// One error naming the file, the tensors and what is wrong, or `Ok` when the sample fits.
/// `overrides` are the config's batch axes (see [`BatchAxes::infer`]).
pub fn check(sample: &TensorSample, inputs: &[IoSpec], outputs: &[IoSpec], overrides: &BTreeMap<String, Option<usize>>) -> Result<(), String> {
    let shown = sample.dir.display();
    same_names(sample, inputs).map_err(|e| format!("{shown}: {e}"))?;
    let pairs = matched(sample, inputs);
    strings_in_numbers(sample, &pairs).map_err(|e| format!("{shown}: {e}"))?;
    shared_sizes(&pairs, &BatchAxes::infer(inputs, outputs, overrides)).map_err(|e| format!("{shown}: {e}"))
}

/// Two tensors named after one input (two `input_k.pb` of an ONNX test data set): matching by
/// name would feed one and silently drop the other. (Names that match no input are matched by
/// position, where a repeated name does no harm.)
fn same_names(sample: &TensorSample, inputs: &[IoSpec]) -> Result<(), String> {
    for (index, tensor) in sample.tensors.iter().enumerate().filter(|(_, t)| inputs.iter().any(|i| i.name == t.name)) {
        if let Some(earlier) = sample.tensors[..index].iter().position(|t| t.name == tensor.name) {
            return Err(format!("tensors {earlier} and {index} are both named '{}'; name each input once", tensor.name));
        }
    }
    Ok(())
}

/// Each input with its tensor: by name when any tensor is named after an input, else by position
/// (the rule schema_parity follows; it reports tensors that match nothing).
fn matched<'a>(sample: &'a TensorSample, inputs: &'a [IoSpec]) -> Vec<(&'a IoSpec, &'a NamedProto)> {
    let by_name = sample.tensors.iter().any(|t| inputs.iter().any(|i| i.name == t.name));
    if by_name {
        return inputs.iter().filter_map(|i| sample.tensors.iter().find(|t| t.name == i.name).map(|t| (i, t))).collect();
    }
    if sample.tensors.len() != inputs.len() {
        return Vec::new();
    }
    inputs.iter().zip(&sample.tensors).collect()
}

/// A JSON string (`"5"`) fed to a numeric or boolean input: JSON says it is text.
fn strings_in_numbers(sample: &TensorSample, pairs: &[(&IoSpec, &NamedProto)]) -> Result<(), String> {
    for (input, tensor) in pairs {
        let Some((element, _)) = input.kind.as_tensor() else { continue };
        if element == ElementType::String {
            continue;
        }
        if let Some(text) = sample.texts.iter().find(|t| t.tensor == tensor.name) {
            return Err(format!(
                "tensor '{}' at {}: the string {:?} where a number is expected (input '{}' is {element}); write JSON numbers without quotes",
                tensor.name,
                crate::inputs::tensor_values::index_text(text.flat, tensor.data.shape()),
                crate::sample::clip(&text.text, 40),
                input.name
            ));
        }
    }
    Ok(())
}

/// Tensors whose inputs share a dimension must agree on its size: the batch axis (which may
/// have no name), and a leading symbol (`N`) named by two inputs. Other axes are not compared:
/// exporters reuse placeholder names (`?`) for unrelated sizes (PaddleOCR's `[?, 3, 48, ?]`).
fn shared_sizes(pairs: &[(&IoSpec, &NamedProto)], axes: &BatchAxes) -> Result<(), String> {
    // Dimension label -> (tensor, axis, size) in input order.
    let mut groups: BTreeMap<String, Vec<(&str, usize, usize)>> = BTreeMap::new();
    let batch_label = axes.symbol.as_ref().map_or_else(|| "the batch axis".to_string(), |s| format!("the batch axis '{s}'"));
    for (input, tensor) in pairs {
        let Some((_, dims)) = input.kind.as_tensor() else { continue };
        let shape = tensor.data.shape();
        if shape.len() != dims.len() {
            continue; // schema_parity reports the shape
        }
        let batch = axes.axis(&input.name).filter(|&a| a < shape.len());
        if let Some(axis) = batch {
            groups.entry(batch_label.clone()).or_default().push((&tensor.name, axis, shape[axis]));
        }
        if let Some(Dim::Free(Some(symbol))) = dims.first()
            && symbol.chars().any(|c| c.is_ascii_alphabetic())
            && batch != Some(0)
        {
            groups.entry(format!("dimension '{symbol}'")).or_default().push((&tensor.name, 0, shape[0]));
        }
    }
    for (label, members) in &groups {
        let (first, first_axis, size) = members[0];
        if let Some((other, other_axis, other_size)) = members.iter().find(|m| m.2 != size) {
            return Err(format!(
                "tensors '{first}' and '{other}' share {label} but differ in size along it: {size} (axis {first_axis}) and {other_size} (axis {other_axis}); \
                 the inputs of one request must agree (as many rows in each)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ndarray::{ArrayD, IxDyn};

    use super::*;
    use crate::inputs::json_tensors::TextValue;
    use crate::runtime::{TensorData, ValueKind};

    fn input(name: &str, element: ElementType, dims: Vec<Dim>) -> IoSpec {
        IoSpec { name: name.into(), kind: ValueKind::Tensor { element, dims } }
    }

    fn tensor(name: &str, shape: &[usize]) -> NamedProto {
        let n = shape.iter().product();
        NamedProto { name: name.into(), data: TensorData::F32(ArrayD::from_shape_vec(IxDyn(shape), vec![0.0; n]).unwrap()) }
    }

    fn sample(tensors: Vec<NamedProto>, texts: Vec<TextValue>) -> TensorSample {
        TensorSample { dir: PathBuf::from("s.json"), tensors, untyped: true, texts }
    }

    #[test]
    fn a_shared_symbol_or_batch_axis_must_agree() {
        let n = || Dim::Free(Some("N".into()));
        let inputs = [input("a", ElementType::Float32, vec![n(), Dim::Fixed(2)]), input("b", ElementType::Float32, vec![n()])];
        let none = BTreeMap::new();
        assert_eq!(check(&sample(vec![tensor("a", &[3, 2]), tensor("b", &[3])], vec![]), &inputs, &[], &none), Ok(()));
        assert_eq!(
            check(&sample(vec![tensor("a", &[3, 2]), tensor("b", &[1])], vec![]), &inputs, &[], &none).unwrap_err(),
            "s.json: tensors 'a' and 'b' share the batch axis 'N' but differ in size along it: 3 (axis 0) and 1 (axis 0); \
             the inputs of one request must agree (as many rows in each)"
        );
        // A placeholder symbol on other axes relates nothing (PaddleOCR's `[?, 3, 48, ?]`).
        let q = || Dim::Free(Some("?".into()));
        let paddle = [input("x", ElementType::Float32, vec![q(), Dim::Fixed(3), Dim::Fixed(48), q()])];
        assert_eq!(check(&sample(vec![tensor("x", &[1, 3, 48, 192])], vec![]), &paddle, &[], &none), Ok(()));
        let unnamed =
            [input("a", ElementType::Float32, vec![Dim::Free(None), Dim::Fixed(2)]), input("b", ElementType::Float32, vec![Dim::Free(None)])];
        let err = check(&sample(vec![tensor("a", &[3, 2]), tensor("b", &[2])], vec![]), &unnamed, &[], &none).unwrap_err();
        assert!(err.starts_with("s.json: tensors 'a' and 'b' share the batch axis but differ in size along it: 3 (axis 0) and 2 (axis 0)"), "{err}");
    }

    #[test]
    fn two_tensors_of_one_name_are_refused() {
        let inputs = [input("x", ElementType::Float32, vec![Dim::Free(None)])];
        assert_eq!(
            check(&sample(vec![tensor("x", &[1]), tensor("x", &[1])], vec![]), &inputs, &[], &BTreeMap::new()).unwrap_err(),
            "s.json: tensors 0 and 1 are both named 'x'; name each input once"
        );
        let two = [input("a", ElementType::Float32, vec![Dim::Free(None)]), input("b", ElementType::Float32, vec![Dim::Free(None)])];
        assert_eq!(check(&sample(vec![tensor("x", &[1]), tensor("x", &[1])], vec![]), &two, &[], &BTreeMap::new()), Ok(()), "by position");
    }

    #[test]
    fn a_json_string_is_refused_only_by_a_numeric_input() {
        let text = || vec![TextValue { tensor: "x".into(), flat: 3, text: "5".into() }];
        let numeric = [input("x", ElementType::Float32, vec![Dim::Fixed(2), Dim::Fixed(2)])];
        assert_eq!(
            check(&sample(vec![tensor("x", &[2, 2])], text()), &numeric, &[], &BTreeMap::new()).unwrap_err(),
            "s.json: tensor 'x' at [1, 1]: the string \"5\" where a number is expected (input 'x' is float32); write JSON numbers without quotes"
        );
        let words = [input("x", ElementType::String, vec![Dim::Fixed(2), Dim::Fixed(2)])];
        assert_eq!(check(&sample(vec![tensor("x", &[2, 2])], text()), &words, &[], &BTreeMap::new()), Ok(()));
    }
}
