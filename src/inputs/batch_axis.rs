//! Which axis of each model input carries the rows of a request (the batch axis), read from the
//! graph's declared shapes, and the batch operations built on it: slicing rows, repeating a row,
//! counting rows. Inputs without a batch axis (recurrent state, scalars, sample rates) pass
//! through every batch operation unchanged.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::{Batch, Dim, IoSpec, NamedTensor};

/// Where the batch axis came from, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisSource {
    /// A symbolic dimension shared by inputs and outputs (`batch`, `N`).
    SharedSymbol,
    /// A symbolic dimension leading the inputs, not named in any output.
    LeadingSymbol,
    /// Unnamed dynamic leading dimensions.
    LeadingDynamic,
    /// Every input and output starts with the same static size: the model fixes its batch size.
    StaticLeading,
    /// The model has no axis that carries rows.
    None,
}

/// The batch axis of every model input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchAxes {
    /// Input name and its batch axis (`None`: the input carries no rows).
    axes: Vec<(String, Option<usize>)>,
    /// The symbolic name of the batch dimension, when it has one.
    pub symbol: Option<String>,
    /// The static batch size, when the model fixes one.
    pub fixed: Option<usize>,
    pub source: AxisSource,
}

impl BatchAxes {
    /// Reads the batch axes from the declared shapes. `overrides` (from the config) set an
    /// input's axis, or say it has none; they win over what the graph suggests.
    pub fn infer(inputs: &[IoSpec], outputs: &[IoSpec], overrides: &BTreeMap<String, Option<usize>>) -> Self {
        let mut found = from_symbols(inputs, outputs)
            .or_else(|| from_unnamed_leading(inputs))
            .or_else(|| from_static_leading(inputs, outputs))
            .unwrap_or_else(|| Self::none(inputs));
        for (name, axis) in &mut found.axes {
            if let Some(&wanted) = overrides.get(name.as_str()) {
                *axis = wanted;
            }
        }
        found
    }

    /// No input has a batch axis.
    pub fn none(inputs: &[IoSpec]) -> Self {
        Self { axes: inputs.iter().map(|i| (i.name.clone(), None)).collect(), symbol: None, fixed: None, source: AxisSource::None }
    }

    /// Axis 0 of every input of rank ≥ 1 (tabular samples, tests).
    pub fn leading(batch: &Batch) -> Self {
        let axes = batch.iter().map(|t| (t.name.clone(), (!t.data.shape().is_empty()).then_some(0))).collect();
        Self { axes, symbol: None, fixed: None, source: AxisSource::LeadingDynamic }
    }

    /// The batch axis of input `name`.
    pub fn axis(&self, name: &str) -> Option<usize> {
        self.axes.iter().find(|(n, _)| n == name).and_then(|(_, a)| *a)
    }

    /// Whether any input carries rows.
    pub fn has_batch(&self) -> bool {
        self.axes.iter().any(|(_, a)| a.is_some())
    }

    /// Names of the inputs without a batch axis.
    pub fn unbatched(&self) -> Vec<&str> {
        self.axes.iter().filter(|(_, a)| a.is_none()).map(|(n, _)| n.as_str()).collect()
    }

    /// Rows in `batch`: the length of the batch axis of its first batched input (0 without one).
    pub fn rows(&self, batch: &Batch) -> usize {
        batch.iter().find_map(|t| self.axis(&t.name).map(|axis| t.data.shape().get(axis).copied().unwrap_or(0))).unwrap_or(0)
    }

    /// Rows `start..end` of every batched input; other inputs unchanged.
    pub fn slice(&self, batch: &Batch, start: usize, end: usize) -> Batch {
        self.map(batch, |t, axis| t.data.slice_along(axis, start, end))
    }

    /// The first row repeated `rows` times in every batched input; other inputs unchanged.
    pub fn repeat_first(&self, batch: &Batch, rows: usize) -> Batch {
        self.map(batch, |t, axis| t.data.repeat_along(axis, rows))
    }

    /// The smallest valid request: the first row, or the whole batch when the model fixes its
    /// batch size or has no batch axis.
    pub fn single_request(&self, batch: &Batch) -> Batch {
        if self.fixed.is_some() || !self.has_batch() { batch.clone() } else { self.slice(batch, 0, 1) }
    }

    /// How reports describe the batch axis.
    pub fn describe(&self) -> String {
        let mut text = match (&self.source, &self.symbol, self.fixed) {
            (AxisSource::None, _, _) => "no batch axis".to_string(),
            (_, _, Some(b)) => format!("the model fixes its batch size at {b}"),
            (_, Some(symbol), _) => format!("batch axis '{symbol}'"),
            _ => "batch axis: the leading dynamic dimension".to_string(),
        };
        let unbatched = self.unbatched();
        if self.has_batch() && !unbatched.is_empty() {
            text.push_str(&format!("; passed unchanged: {}", unbatched.join(", ")));
        }
        text
    }

    fn map(&self, batch: &Batch, f: impl Fn(&NamedTensor, usize) -> crate::runtime::TensorData) -> Batch {
        batch
            .iter()
            .map(|t| match self.axis(&t.name) {
                Some(axis) => NamedTensor { name: t.name.clone(), data: f(t, axis) },
                None => t.clone(),
            })
            .collect()
    }
}

fn tensor_dims(spec: &IoSpec) -> Option<&[Dim]> {
    spec.kind.as_tensor().map(|(_, dims)| dims)
}

fn symbol(dim: &Dim) -> Option<&str> {
    match dim {
        Dim::Free(Some(name)) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// Whether a dimension's name says it is time or a sequence, not rows (`seq_len`, `frames`).
fn names_a_sequence(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["seq", "time", "frame", "length", "len", "step", "token", "sample"].iter().any(|w| name.contains(w)) && !name.contains("batch")
}

/// The symbolic dimension that leads the most inputs, preferring one the outputs share. Names
/// of time or sequence axes never count: a recurrent model over `seq_len` frames has no batch.
fn from_symbols(inputs: &[IoSpec], outputs: &[IoSpec]) -> Option<BatchAxes> {
    let in_outputs: Vec<&str> = outputs.iter().filter_map(tensor_dims).flatten().filter_map(symbol).collect();
    let mut leading: BTreeMap<&str, usize> = BTreeMap::new();
    for dims in inputs.iter().filter_map(tensor_dims) {
        if let Some(name) = dims.first().and_then(symbol).filter(|n| !names_a_sequence(n)) {
            *leading.entry(name).or_default() += 1;
        }
    }
    let best = |shared: bool| {
        leading
            .iter()
            .filter(|(name, _)| !shared || in_outputs.contains(name))
            .max_by_key(|(name, count)| (**count, std::cmp::Reverse(**name)))
            .map(|(name, _)| name.to_string())
    };
    let (chosen, source) = match best(true) {
        Some(name) => (name, AxisSource::SharedSymbol),
        None => (best(false)?, AxisSource::LeadingSymbol),
    };
    let axes = inputs
        .iter()
        .map(|i| (i.name.clone(), tensor_dims(i).and_then(|dims| dims.iter().position(|d| symbol(d) == Some(chosen.as_str())))))
        .collect();
    Some(BatchAxes { axes, symbol: Some(chosen), fixed: None, source })
}

/// Axis 0 of every input whose leading dimension is dynamic and unnamed. An input that leads
/// with a static size and has exactly one unnamed dynamic dimension (a recurrent state
/// `[2, ?, 128]`) carries the batch there.
fn from_unnamed_leading(inputs: &[IoSpec]) -> Option<BatchAxes> {
    let unnamed = |d: &Dim| d.fixed().is_none() && symbol(d).is_none();
    let leading = |dims: &[Dim]| dims.first().is_some_and(unnamed).then_some(0);
    if !inputs.iter().filter_map(tensor_dims).any(|d| leading(d).is_some()) {
        return None;
    }
    let state_axis = |dims: &[Dim]| {
        let dynamic: Vec<usize> = dims.iter().enumerate().filter(|(_, d)| d.fixed().is_none()).map(|(i, _)| i).collect();
        match dynamic.as_slice() {
            [axis] if *axis > 0 && unnamed(&dims[*axis]) => Some(*axis),
            _ => None,
        }
    };
    let axes = inputs.iter().map(|i| (i.name.clone(), tensor_dims(i).and_then(|d| leading(d).or_else(|| state_axis(d))))).collect();
    Some(BatchAxes { axes, symbol: None, fixed: None, source: AxisSource::LeadingDynamic })
}

/// A static batch: every tensor input of rank ≥ 1, and every tensor output, leads with the same size.
fn from_static_leading(inputs: &[IoSpec], outputs: &[IoSpec]) -> Option<BatchAxes> {
    let leads: Vec<Option<i64>> = inputs.iter().filter_map(tensor_dims).filter(|d| !d.is_empty()).map(|d| d[0].fixed()).collect();
    let size = (*leads.first()?)?;
    let outputs_agree = outputs.iter().filter_map(tensor_dims).filter(|d| !d.is_empty()).all(|d| d[0].fixed().is_none_or(|n| n == size));
    if size < 1 || !outputs_agree || leads.iter().any(|&l| l != Some(size)) {
        return None;
    }
    let axes = inputs.iter().map(|i| (i.name.clone(), tensor_dims(i).filter(|d| !d.is_empty()).map(|_| 0))).collect();
    Some(BatchAxes { axes, symbol: None, fixed: Some(size as usize), source: AxisSource::StaticLeading })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{ElementType, TensorData, ValueKind};

    fn spec(name: &str, dims: &[Dim]) -> IoSpec {
        IoSpec { name: name.into(), kind: ValueKind::Tensor { element: ElementType::Float32, dims: dims.to_vec() } }
    }
    fn sym(name: &str) -> Dim {
        Dim::Free(Some(name.into()))
    }
    const FREE: Dim = Dim::Free(None);

    #[test]
    fn a_recurrent_state_and_a_scalar_are_not_the_batch() {
        // silero-vad: input [batch, samples], state [2, batch, 128], sr scalar.
        let inputs =
            [spec("input", &[sym("batch"), sym("samples")]), spec("state", &[Dim::Fixed(2), sym("batch"), Dim::Fixed(128)]), spec("sr", &[])];
        let outputs = [spec("output", &[sym("batch"), Dim::Fixed(1)]), spec("stateN", &[Dim::Fixed(2), sym("batch"), Dim::Fixed(128)])];
        let axes = BatchAxes::infer(&inputs, &outputs, &BTreeMap::new());
        assert_eq!((axes.axis("input"), axes.axis("state"), axes.axis("sr")), (Some(0), Some(1), None));
        assert_eq!(axes.fixed, None);
        assert_eq!(axes.describe(), "batch axis 'batch'; passed unchanged: sr");
    }

    #[test]
    fn unnamed_dims_lead_where_dynamic_and_a_state_carries_the_batch_at_its_only_dynamic_axis() {
        // silero-vad 6: no dimension has a name.
        let inputs = [spec("input", &[FREE, FREE]), spec("state", &[Dim::Fixed(2), FREE, Dim::Fixed(128)]), spec("sr", &[])];
        let axes = BatchAxes::infer(&inputs, &[], &BTreeMap::new());
        assert_eq!((axes.axis("input"), axes.axis("state"), axes.axis("sr")), (Some(0), Some(1), None));
        let overrides = BTreeMap::from([("state".to_string(), None)]);
        assert_eq!(BatchAxes::infer(&inputs, &[], &overrides).axis("state"), None, "the config wins");
    }

    #[test]
    fn a_leading_time_axis_is_not_a_batch() {
        // faster-whisper's VAD: input [seq_len, 576], h/c [1, 1, 128].
        let inputs = [spec("input", &[sym("seq_len"), Dim::Fixed(576)]), spec("h", &[Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(128)])];
        let outputs = [spec("speech_probs", &[sym("Reshapespeech_probs_dim_0"), Dim::Fixed(1)])];
        let axes = BatchAxes::infer(&inputs, &outputs, &BTreeMap::new());
        assert!(!axes.has_batch(), "{axes:?}");
        assert_eq!(axes.describe(), "no batch axis");
        // tf2onnx names the batch differently on each side: the leading input symbol still wins.
        let magika = [spec("bytes", &[sym("unk__214"), Dim::Fixed(2048)])];
        let axes = BatchAxes::infer(&magika, &[spec("target_label", &[sym("unk__215"), Dim::Fixed(214)])], &BTreeMap::new());
        assert_eq!((axes.axis("bytes"), axes.source), (Some(0), AxisSource::LeadingSymbol));
    }

    #[test]
    fn the_batch_symbol_beats_a_shared_sequence_symbol() {
        let inputs = [spec("input_ids", &[sym("batch"), sym("sequence")]), spec("attention_mask", &[sym("batch"), sym("sequence")])];
        let outputs = [spec("last_hidden_state", &[sym("batch"), sym("sequence"), Dim::Fixed(8)])];
        let axes = BatchAxes::infer(&inputs, &outputs, &BTreeMap::new());
        assert_eq!(axes.symbol.as_deref(), Some("batch"));
        assert_eq!(axes.source, AxisSource::SharedSymbol);
    }

    #[test]
    fn a_static_leading_size_everywhere_is_a_fixed_batch() {
        let inputs = [spec("image", &[Dim::Fixed(1), Dim::Fixed(3), Dim::Fixed(4), Dim::Fixed(4)])];
        let outputs = [spec("logits", &[Dim::Fixed(1), Dim::Fixed(10)])];
        assert_eq!(BatchAxes::infer(&inputs, &outputs, &BTreeMap::new()).fixed, Some(1));
        // A state [2, N, 128] beside a dynamic input is not a batch size of 2.
        let mixed = [spec("x", &[FREE, Dim::Fixed(4)]), spec("h", &[Dim::Fixed(2), Dim::Fixed(1), Dim::Fixed(4)])];
        let axes = BatchAxes::infer(&mixed, &[], &BTreeMap::new());
        assert_eq!((axes.fixed, axes.axis("x"), axes.axis("h")), (None, Some(0), None));
        let scalars = [spec("a", &[]), spec("b", &[])];
        assert!(!BatchAxes::infer(&scalars, &[], &BTreeMap::new()).has_batch());
    }

    #[test]
    fn batch_operations_leave_unbatched_inputs_alone() {
        let inputs = [spec("x", &[FREE, Dim::Fixed(2)]), spec("state", &[Dim::Fixed(2), FREE, Dim::Fixed(3)])];
        let overrides = BTreeMap::from([("state".to_string(), Some(1))]);
        let axes = BatchAxes::infer(&inputs, &[], &overrides);
        let batch = vec![
            NamedTensor { name: "x".into(), data: TensorData::filled(ElementType::Float32, &[4, 2]).unwrap() },
            NamedTensor { name: "state".into(), data: TensorData::filled(ElementType::Float32, &[2, 4, 3]).unwrap() },
            NamedTensor { name: "sr".into(), data: TensorData::filled(ElementType::Int64, &[]).unwrap() },
        ];
        assert_eq!(axes.rows(&batch), 4);
        let one = axes.single_request(&batch);
        assert_eq!((one[0].data.shape(), one[1].data.shape(), one[2].data.shape()), (&[1, 2][..], &[2, 1, 3][..], &[][..]));
        let big = axes.repeat_first(&batch, 9);
        assert_eq!((big[0].data.shape(), big[1].data.shape()), (&[9, 2][..], &[2, 9, 3][..]));
        assert_eq!(axes.slice(&batch, 3, 10)[0].data.shape(), &[1, 2], "slicing past the end clamps");
    }
}
