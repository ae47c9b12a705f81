//! Synthetic requests that a model will accept: shapes from the declared dims, the config's
//! `dims:` sizes and input specs (guessing, and saying so, where neither gives a size), and
//! realistic values: masks of ones, token ids in a small valid range, sample rates, images in
//! [0, 1), and values that differ from element to element so that predictions can vary.

use std::collections::BTreeMap;

use super::batch_axis::BatchAxes;
use super::spec::{InputSpec, ValueSpec};
use crate::runtime::{Batch, Dim, ElementType, IoSpec, NamedTensor, TensorData};

/// Builds synthetic requests for a model.
pub struct Synthesizer<'a> {
    pub inputs: &'a [IoSpec],
    pub axes: &'a BatchAxes,
    pub dims: &'a BTreeMap<String, u64>,
    pub specs: &'a BTreeMap<String, InputSpec>,
}

/// The shape chosen for one input, and the sizes in it that were guessed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChosenShape {
    pub shape: Vec<usize>,
    /// `name=size` for every dynamic dimension no config gave a size for.
    pub guessed: Vec<String>,
}

impl Synthesizer<'_> {
    /// A request of `rows` rows (the model's own batch size when it fixes one).
    pub fn batch(&self, rows: usize) -> Result<Batch, String> {
        self.inputs.iter().enumerate().map(|(index, input)| self.tensor(index, input, rows)).collect()
    }

    /// The shape of input `input` in a request of `rows` rows.
    pub fn shape(&self, input: &IoSpec, rows: usize) -> Result<ChosenShape, String> {
        let (_, dims) = input.kind.as_tensor().ok_or_else(|| format!("input '{}' is a {}, not a tensor", input.name, input.kind))?;
        let spec = self.specs.get(&input.name);
        let batch_axis = self.axes.axis(&input.name);
        let rows = self.axes.fixed.unwrap_or(rows);
        let mut guessed = Vec::new();
        let shape = dims
            .iter()
            .enumerate()
            .map(|(axis, dim)| {
                if Some(axis) == batch_axis {
                    return rows;
                }
                if let Some(n) = dim.fixed() {
                    return usize::try_from(n).unwrap_or(0);
                }
                if let Some(size) = spec.and_then(|s| s.shape.as_ref()).and_then(|s| s.get(axis)) {
                    return *size as usize;
                }
                let symbol = match dim {
                    Dim::Free(Some(name)) if !name.is_empty() => Some(name.as_str()),
                    _ => None,
                };
                if let Some(size) = symbol.and_then(|s| self.dims.get(s)) {
                    return *size as usize;
                }
                let size = guess_size(symbol, dims.len(), axis);
                guessed.push(format!("{}={size}", symbol.map_or_else(|| format!("{}[{axis}]", input.name), str::to_string)));
                size
            })
            .collect();
        Ok(ChosenShape { shape, guessed })
    }

    /// One line per input with its shape, and the guessed sizes (for reports).
    pub fn describe(&self, rows: usize) -> Vec<String> {
        self.inputs
            .iter()
            .filter_map(|input| {
                let chosen = self.shape(input, rows).ok()?;
                let guessed = if chosen.guessed.is_empty() {
                    String::new()
                } else {
                    format!(" (guessed {}: set them under dims: in the config)", chosen.guessed.join(", "))
                };
                Some(format!("{} {:?}{guessed}", input.name, chosen.shape))
            })
            .collect()
    }

    /// Whether any dynamic size had to be guessed.
    pub fn guessed_any(&self, rows: usize) -> bool {
        self.inputs.iter().any(|i| self.shape(i, rows).is_ok_and(|c| !c.guessed.is_empty()))
    }

    fn tensor(&self, index: usize, input: &IoSpec, rows: usize) -> Result<NamedTensor, String> {
        let (element, _) = input.kind.as_tensor().ok_or_else(|| format!("input '{}' is a {}, not a tensor", input.name, input.kind))?;
        let ChosenShape { shape, guessed } = self.shape(input, rows)?;
        let elements = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
        if elements.is_none_or(|n| n > crate::probe::MAX_PROBE_ELEMENTS) {
            let advice = if guessed.is_empty() { String::new() } else { format!("; set smaller sizes under dims: or inputs.{}.shape", input.name) };
            return Err(format!(
                "input '{}' declares {} ({shape:?}: {}), more than the {} elements ready builds{advice}",
                input.name,
                input.kind,
                elements.map_or("an overflowing number of elements".to_string(), |n| format!("{n} elements")),
                crate::probe::MAX_PROBE_ELEMENTS,
            ));
        }
        let values = match self.specs.get(&input.name).and_then(|s| s.values.clone()) {
            Some(values) => values,
            None => default_values(&input.name, element, shape.len()),
        };
        let data = fill(element, &shape, &values, index as u64)
            .ok_or_else(|| format!("input '{}': ready cannot build {element} tensors with {values:?}", input.name))?;
        Ok(NamedTensor { name: input.name.clone(), data })
    }
}

/// A size for a dynamic dimension nobody sized: 224 for image height and width, 128 for
/// sequences and everything else (1 would time a 1x1 image or a one-token sentence).
fn guess_size(symbol: Option<&str>, rank: usize, axis: usize) -> usize {
    let name = symbol.unwrap_or_default().to_ascii_lowercase();
    let image_like = ["height", "width"].iter().any(|w| name.contains(w)) || name == "h" || name == "w" || (rank == 4 && axis >= 2);
    if image_like { 224 } else { 128 }
}

/// Values a serving path plausibly sends to an input of this name and type.
pub fn default_values(name: &str, element: ElementType, rank: usize) -> ValueSpec {
    let name = name.to_ascii_lowercase();
    let integer = !element.is_float() && !matches!(element, ElementType::Bool | ElementType::String);
    if name.contains("mask") {
        ValueSpec::Ones
    } else if name.contains("token_type") || name.contains("segment") {
        ValueSpec::Zeros
    } else if integer && rank == 0 && ["sr", "sample_rate", "sampling_rate", "samplerate"].contains(&name.as_str()) {
        ValueSpec::Constant(super::spec::Constant::Number(16000.0))
    } else if integer && (name.contains("ids") || name.contains("token")) {
        ValueSpec::Integers([1, 100])
    } else if integer {
        ValueSpec::Integers([0, 4])
    } else if element.is_float() && rank == 4 {
        ValueSpec::Uniform([0.0, 1.0])
    } else {
        ValueSpec::Uniform([-1.0, 1.0])
    }
}

/// A tensor of `shape` drawn from `values`; `seed` keeps inputs apart. Deterministic.
fn fill(element: ElementType, shape: &[usize], values: &ValueSpec, seed: u64) -> Option<TensorData> {
    let unit = |k: usize| unit_random(seed, k as u64);
    if element == ElementType::String {
        let n: usize = shape.iter().product();
        let texts: Vec<String> = match values {
            ValueSpec::Constant(c) => vec![c.text(); n],
            _ => (0..n).map(|k| ["a", "b", "c"][(unit(k) * 3.0) as usize % 3].to_string()).collect(),
        };
        return TensorData::from_texts(element, shape, &texts).ok();
    }
    if element == ElementType::Bool && matches!(values, ValueSpec::Uniform(_) | ValueSpec::Normal(_)) {
        return TensorData::from_fn(element, shape, |k| f64::from(u8::from(unit(k) < 0.5)));
    }
    let constant = match values {
        ValueSpec::Constant(c) => Some(c.text().parse::<f64>().ok().or(match c {
            super::spec::Constant::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        })?),
        _ => None,
    };
    TensorData::from_fn(element, shape, |k| match values {
        ValueSpec::Ones => 1.0,
        ValueSpec::Zeros => 0.0,
        ValueSpec::Constant(_) => constant.unwrap_or_default(),
        ValueSpec::Uniform([low, high]) => low + (high - low) * unit(k),
        ValueSpec::Integers([low, high]) => (*low as f64 + ((*high - *low) as f64 * unit(k)).floor()).min((*high - 1) as f64),
        ValueSpec::Normal([mean, std]) => mean + std * standard_normal(unit(k), unit(k + (1 << 40))),
    })
}

/// A uniform number in [0, 1) from (seed, k): splitmix64.
fn unit_random(seed: u64, k: u64) -> f64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(k).wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Box-Muller.
fn standard_normal(u1: f64, u2: f64) -> f64 {
    (-2.0 * (1.0 - u1).ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ValueKind;

    fn spec(name: &str, element: ElementType, dims: Vec<Dim>) -> IoSpec {
        IoSpec { name: name.into(), kind: ValueKind::Tensor { element, dims } }
    }
    fn sym(name: &str) -> Dim {
        Dim::Free(Some(name.into()))
    }

    #[test]
    fn token_models_get_ones_masks_ids_in_range_and_a_real_sequence() {
        let inputs = [
            spec("input_ids", ElementType::Int64, vec![sym("batch"), sym("sequence")]),
            spec("attention_mask", ElementType::Int64, vec![sym("batch"), sym("sequence")]),
        ];
        let axes = BatchAxes::infer(&inputs, &[], &BTreeMap::new());
        let (dims, specs) = (BTreeMap::new(), BTreeMap::new());
        let synth = Synthesizer { inputs: &inputs, axes: &axes, dims: &dims, specs: &specs };
        let batch = synth.batch(2).unwrap();
        assert_eq!(batch[0].data.shape(), &[2, 128]);
        let ids: Vec<i64> = batch[0].data.to_texts().iter().map(|t| t.parse().unwrap()).collect();
        assert!(ids.iter().all(|&i| (1..100).contains(&i)), "{ids:?}");
        assert!(ids.iter().any(|&i| i != ids[0]), "ids vary");
        assert!(batch[1].data.to_texts().iter().all(|t| t == "1"), "mask of ones");
        assert_eq!(
            synth.describe(1),
            [
                "input_ids [1, 128] (guessed sequence=128: set them under dims: in the config)",
                "attention_mask [1, 128] (guessed sequence=128: set them under dims: in the config)"
            ]
        );
        let dims = BTreeMap::from([("sequence".to_string(), 16)]);
        let sized = Synthesizer { inputs: &inputs, axes: &axes, dims: &dims, specs: &specs };
        assert_eq!(sized.batch(1).unwrap()[0].data.shape(), &[1, 16]);
        assert!(!sized.guessed_any(1));
    }

    #[test]
    fn specs_set_shapes_and_values() {
        let inputs = [
            spec("input", ElementType::Float32, vec![Dim::Free(None), Dim::Free(None)]),
            spec("state", ElementType::Float32, vec![Dim::Fixed(2), Dim::Free(None), Dim::Fixed(128)]),
            spec("sr", ElementType::Int64, vec![]),
        ];
        let specs: BTreeMap<String, InputSpec> = serde_saphyr::from_str("input: {shape: [1, 512]}\nstate: {batch_axis: 1, values: zeros}\n").unwrap();
        let overrides = BTreeMap::from([("state".to_string(), Some(1))]);
        let axes = BatchAxes::infer(&inputs, &[], &overrides);
        let dims = BTreeMap::new();
        let batch = Synthesizer { inputs: &inputs, axes: &axes, dims: &dims, specs: &specs }.batch(3).unwrap();
        assert_eq!((batch[0].data.shape(), batch[1].data.shape(), batch[2].data.shape()), (&[3, 512][..], &[2, 3, 128][..], &[][..]));
        assert_eq!(batch[2].data.to_texts(), ["16000"], "a sample rate by default");
        assert_eq!(batch[1].data.non_finite_count(), 0);
    }

    #[test]
    fn draws_are_deterministic_and_within_their_ranges() {
        let uniform = fill(ElementType::Float32, &[1000], &ValueSpec::Uniform([0.0, 1.0]), 3).unwrap();
        assert_eq!(uniform, fill(ElementType::Float32, &[1000], &ValueSpec::Uniform([0.0, 1.0]), 3).unwrap());
        let values: Vec<f64> = uniform.to_texts().iter().map(|t| t.parse().unwrap()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let ints = fill(ElementType::Int32, &[1000], &ValueSpec::Integers([5, 7]), 1).unwrap().to_texts();
        assert!(ints.iter().all(|t| t == "5" || t == "6") && ints.contains(&"6".to_string()));
        let normal = fill(ElementType::Float64, &[2000], &ValueSpec::Normal([10.0, 2.0]), 1).unwrap();
        let values: Vec<f64> = normal.to_texts().iter().map(|t| t.parse().unwrap()).collect();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((mean - 10.0).abs() < 0.2, "{mean}");
    }
}
