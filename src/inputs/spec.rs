//! Input specs: what a serving path really sends to each model input (`inputs:` in the config)
//! and the sizes of dynamic dimensions by symbolic name (`dims:`). Synthetic requests follow
//! them; `ready init` writes a starter set from the model.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::runtime::{Dim, IoSpec};

/// Largest size a config may give a dynamic dimension.
pub const MAX_DIM: u64 = 1 << 20;

/// What the serving path sends to one input.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSpec {
    /// The axis that carries rows, or `none` for inputs that carry no rows (recurrent state,
    /// a sample rate). Unset: read from the graph.
    pub batch_axis: Option<BatchAxisSetting>,
    /// The full shape of one request (the batch axis entry is the number of rows).
    pub shape: Option<Vec<u64>>,
    /// The values: `ones`, `zeros`, `{constant: V}`, `{uniform: [LOW, HIGH]}`,
    /// `{integers: [LOW, HIGH]}` (HIGH excluded), `{normal: [MEAN, STD]}`.
    pub values: Option<ValueSpec>,
}

/// An input's batch axis as the config states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BatchAxisSetting {
    Axis(usize),
    Keyword(NoAxis),
}

/// The keyword `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoAxis {
    None,
}

impl BatchAxisSetting {
    /// The axis, or `None` for `none`.
    pub fn axis(self) -> Option<usize> {
        match self {
            Self::Axis(a) => Some(a),
            Self::Keyword(NoAxis::None) => None,
        }
    }
}

/// How an input's values are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ValueSpec {
    Ones,
    Zeros,
    Constant(Constant),
    Uniform([f64; 2]),
    Integers([i64; 2]),
    Normal([f64; 2]),
}

/// A constant value: a number, a boolean or a string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Constant {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl Constant {
    /// The value as the text a tensor parses (integers without a fraction).
    pub fn text(&self) -> String {
        match self {
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => format!("{}", *n as i64),
            Self::Number(n) => n.to_string(),
            Self::Bool(b) => b.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

/// Config problems in `dims` and `inputs`, as (path, message).
pub fn validate(dims: &BTreeMap<String, u64>, inputs: &BTreeMap<String, InputSpec>) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    for (name, &size) in dims {
        if !(1..=MAX_DIM).contains(&size) {
            problems.push((format!("dims.{name}"), format!("must be between 1 and {MAX_DIM}, got {size}")));
        }
    }
    for (name, spec) in inputs {
        let at = |field: &str| format!("inputs.{name}.{field}");
        if let Some(shape) = &spec.shape
            && let Some(bad) = shape.iter().find(|&&d| !(1..=MAX_DIM).contains(&d))
        {
            problems.push((at("shape"), format!("every size must be between 1 and {MAX_DIM}, got {bad}")));
        }
        let problem = match &spec.values {
            Some(ValueSpec::Uniform([low, high])) if !(low.is_finite() && high.is_finite() && low < high) => {
                Some(format!("uniform needs finite LOW < HIGH, got [{low}, {high}]"))
            }
            Some(ValueSpec::Integers([low, high])) if low >= high => Some(format!("integers needs LOW < HIGH, got [{low}, {high}]")),
            Some(ValueSpec::Normal([mean, std])) if !(mean.is_finite() && std.is_finite() && *std > 0.0) => {
                Some(format!("normal needs a finite MEAN and STD > 0, got [{mean}, {std}]"))
            }
            Some(ValueSpec::Constant(Constant::Number(n))) if !n.is_finite() => Some(format!("constant must be finite, got {n}")),
            _ => None,
        };
        problems.extend(problem.map(|p| (at("values"), p)));
    }
    problems
}

/// Checks the config's `dims` and `inputs` against the model: every name must exist, so a typo
/// is an error rather than a spec silently ignored. Returns one line naming the field.
pub fn check_against_model(dims: &BTreeMap<String, u64>, specs: &BTreeMap<String, InputSpec>, inputs: &[IoSpec]) -> Result<(), String> {
    let known_inputs: Vec<&str> = inputs.iter().map(|i| i.name.as_str()).collect();
    if let Some(name) = specs.keys().find(|n| !known_inputs.contains(&n.as_str())) {
        return Err(format!("config inputs.{name}: the model has no input '{name}' (inputs: {})", known_inputs.join(", ")));
    }
    let symbols = symbolic_dims(inputs);
    if let Some(name) = dims.keys().find(|n| !symbols.contains(n)) {
        let known = if symbols.is_empty() { "none".to_string() } else { symbols.join(", ") };
        return Err(format!("config dims.{name}: no model input has a dynamic dimension named '{name}' (named dimensions: {known})"));
    }
    for input in inputs {
        let (Some(spec), Some((_, declared))) = (specs.get(&input.name), input.kind.as_tensor()) else { continue };
        if let Some(shape) = &spec.shape {
            let fits = shape.len() == declared.len() && declared.iter().zip(shape).all(|(d, &s)| d.fixed().is_none_or(|n| n == s as i64));
            if !fits {
                return Err(format!("config inputs.{}.shape: {shape:?} does not fit the declared {}", input.name, input.kind));
            }
        }
        let numeric = matches!(spec.values, Some(ValueSpec::Uniform(_) | ValueSpec::Integers(_) | ValueSpec::Normal(_)));
        if numeric && input.kind.as_tensor().is_some_and(|(e, _)| e == crate::runtime::ElementType::String) {
            return Err(format!("config inputs.{}.values: {} takes text; give {{constant: TEXT}}, or leave values out", input.name, input.kind));
        }
        if let Some(axis) = spec.batch_axis.and_then(BatchAxisSetting::axis)
            && axis >= declared.len()
        {
            return Err(format!("config inputs.{}.batch_axis: {axis} is past the last axis of {}", input.name, input.kind));
        }
    }
    Ok(())
}

/// Every symbolic dimension name of the inputs, sorted, once each.
pub fn symbolic_dims(inputs: &[IoSpec]) -> Vec<String> {
    let mut names: Vec<String> = inputs
        .iter()
        .filter_map(|i| i.kind.as_tensor())
        .flat_map(|(_, dims)| dims.iter())
        .filter_map(|d| match d {
            Dim::Free(Some(name)) if !name.is_empty() => Some(name.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> BTreeMap<String, InputSpec> {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn every_value_form_parses() {
        let specs = parse(
            "sr: {values: {constant: 16000}, batch_axis: none}\nstate: {batch_axis: 1}\nids: {values: {integers: [0, 30522]}}\nmask: {values: ones}\nx: {values: {normal: [0, 1]}, shape: [1, 3, 48, 320]}\n",
        );
        assert_eq!(specs["sr"].values, Some(ValueSpec::Constant(Constant::Number(16000.0))));
        assert_eq!(specs["sr"].batch_axis.and_then(BatchAxisSetting::axis), None);
        assert_eq!(specs["state"].batch_axis.and_then(BatchAxisSetting::axis), Some(1));
        assert_eq!(specs["ids"].values, Some(ValueSpec::Integers([0, 30522])));
        assert_eq!(specs["mask"].values, Some(ValueSpec::Ones));
        assert_eq!(specs["x"].shape, Some(vec![1, 3, 48, 320]));
        assert_eq!(Constant::Number(16000.0).text(), "16000");
    }

    #[test]
    fn bad_ranges_are_reported_together() {
        let specs = parse("a: {values: {uniform: [1, 1]}}\nb: {values: {integers: [5, 2]}, shape: [0]}\n");
        let dims = BTreeMap::from([("height".to_string(), 0)]);
        let problems = validate(&dims, &specs);
        let paths: Vec<&str> = problems.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["dims.height", "inputs.a.values", "inputs.b.shape", "inputs.b.values"]);
    }

    #[test]
    fn names_the_model_does_not_have_are_errors() {
        let inputs = [IoSpec {
            name: "x".into(),
            kind: crate::runtime::ValueKind::Tensor {
                element: crate::runtime::ElementType::Float32,
                dims: vec![Dim::Free(Some("batch".into())), Dim::Fixed(3)],
            },
        }];
        let typo = parse("y: {values: ones}\n");
        assert_eq!(check_against_model(&BTreeMap::new(), &typo, &inputs).unwrap_err(), "config inputs.y: the model has no input 'y' (inputs: x)");
        let dims = BTreeMap::from([("heigth".to_string(), 4)]);
        assert!(check_against_model(&dims, &BTreeMap::new(), &inputs).unwrap_err().starts_with("config dims.heigth: no model input"));
        let wrong_shape = parse("x: {shape: [2, 4]}\n");
        assert!(check_against_model(&BTreeMap::new(), &wrong_shape, &inputs).unwrap_err().contains("does not fit"));
    }

    #[test]
    fn config_problems_in_specs_name_their_line() {
        let text = "dims:\n  sequence: 0\ninputs:\n  ids: {values: {integers: [9, 1]}}\n";
        let err = crate::config::Config::from_yaml(text, "c.yaml").unwrap_err();
        assert_eq!(
            err,
            "c.yaml: 2 problems: line 2 column 13: dims.sequence: must be between 1 and 1048576, got 0; line 4 column 17: inputs.ids.values: integers needs LOW < HIGH, got [9, 1]"
        );
        let typo = crate::config::Config::from_yaml("inputs:\n  ids: {valuez: ones}\n", "c.yaml").unwrap_err();
        assert!(typo.starts_with("c.yaml: 1 problem: line 2 column 3: inputs: unknown field `valuez`"), "{typo}");
    }
}
