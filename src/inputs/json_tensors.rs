//! Tensor samples written as JSON, for models whose inputs are not table columns: one JSON
//! object holding one request, inputs by name (`{"input": [[0.1, ...]], "sr": 16000}`), or NDJSON
//! with one row per line whose values are arrays (`{"input_ids": [101, ...], "attention_mask":
//! [1, ...]}`), stacked along a new leading axis. JSON numbers have no width, so values are kept
//! as their exact text until the model's input types are known (see `inputs::tensor_values`).

use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

use super::json_tree::{self, Node};

use crate::runtime::TensorData;
use crate::tensor_proto::{MAX_ELEMENTS, NamedProto};

/// Whether a JSON or NDJSON sample holds tensors (an object of arrays, or lines whose values
/// include arrays) rather than table rows.
pub fn holds_tensors(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return false;
    }
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(trimmed) {
        return map.values().any(Value::is_array);
    }
    let first = trimmed.lines().next().unwrap_or_default();
    matches!(serde_json::from_str::<Value>(first), Ok(Value::Object(map)) if map.values().any(Value::is_array))
}

/// The pandas `DataFrame.to_json` layout a single JSON object has, when it is one that holds a
/// table column by column (`orient='columns'`, pandas' default, or `'index'`) or split into
/// parts (`'split'`), rather than rows or tensors.
pub fn pandas_layout(bytes: &[u8]) -> Option<&'static str> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(bytes) else { return None };
    if map.contains_key("columns") && map.contains_key("data") {
        return Some("split");
    }
    (!map.is_empty() && map.values().all(Value::is_object)).then_some("columns")
}

/// A JSON string among a tensor's values: a numeric input refuses it (`"5"` is not the number 5),
/// a string input takes it. Only the first one of each tensor is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextValue {
    pub tensor: String,
    /// The element's index in logical order (see `inputs::tensor_values::index_text`).
    pub flat: usize,
    pub text: String,
}

/// The tensors of a JSON sample, and where they hold JSON strings.
#[derive(Debug, Clone)]
pub struct JsonTensors {
    pub tensors: Vec<NamedProto>,
    pub texts: Vec<TextValue>,
}

/// Reads the tensors (at most `max_rows` NDJSON lines). Values are string tensors of the JSON
/// text of each number (exactly as written), boolean or string. A key given twice is an error
/// naming it and its line.
pub fn read(bytes: &[u8], max_rows: usize) -> Result<JsonTensors, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        let Node::Object(pairs) = json_tree::parse(text, 1)? else { return Err("line 1: not a JSON object of named inputs".into()) };
        let mut out = JsonTensors { tensors: Vec::new(), texts: Vec::new() };
        for (name, value) in &pairs {
            out.push(name, tensor(name, &[(1, value)], false)?);
        }
        return Ok(out);
    }
    let mut rows: Vec<(usize, Vec<(String, Node)>)> = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).take(max_rows) {
        match json_tree::parse(line, index + 1)? {
            Node::Object(pairs) => rows.push((index + 1, pairs)),
            other => return Err(format!("line {}: {} where a JSON object was expected", index + 1, other.kind())),
        }
    }
    let (_, first) = rows.first().ok_or("no rows")?;
    let mut out = JsonTensors { tensors: Vec::new(), texts: Vec::new() };
    for (name, _) in first {
        let values: Vec<(usize, &Node)> = rows
            .iter()
            .map(|(line, row)| {
                row.iter().find(|(k, _)| k == name).map(|(_, v)| (*line, v)).ok_or_else(|| format!("line {line}: no value for input '{name}'"))
            })
            .collect::<Result<_, _>>()?;
        out.push(name, tensor(name, &values, true)?);
    }
    Ok(out)
}

impl JsonTensors {
    fn push(&mut self, name: &str, (data, text): (TensorData, Option<(usize, String)>)) {
        self.texts.extend(text.map(|(flat, text)| TextValue { tensor: name.to_string(), flat, text }));
        self.tensors.push(NamedProto { name: name.to_string(), data });
    }
}

/// One tensor from `values` (each with its line; rows stacked along a new leading axis when
/// `stacked`), and its first JSON string.
fn tensor(name: &str, values: &[(usize, &Node)], stacked: bool) -> Result<(TensorData, Option<(usize, String)>), String> {
    let mut shape = if stacked { vec![values.len()] } else { Vec::new() };
    shape.extend(inner_shape(values[0].1));
    let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).filter(|&n| n <= MAX_ELEMENTS);
    count.ok_or_else(|| format!("input '{name}': shape {shape:?} is larger than the {MAX_ELEMENTS} elements ready reads"))?;
    let mut leaves = Leaves::default();
    let expected = if stacked { &shape[1..] } else { &shape[..] };
    for (line, value) in values {
        flatten(value, expected, &mut leaves)
            .map_err(|e| if stacked { format!("input '{name}', line {line}: {e}") } else { format!("input '{name}': {e}") })?;
    }
    let array = ArrayD::from_shape_vec(IxDyn(&shape), leaves.texts).map_err(|e| format!("input '{name}': {e}"))?;
    Ok((TensorData::Str(array), leaves.first_string))
}

/// The leaves of a tensor as text, and its first JSON string.
#[derive(Default)]
struct Leaves {
    texts: Vec<String>,
    first_string: Option<(usize, String)>,
}

/// The shape of a nested array, read along its first elements.
fn inner_shape(value: &Node) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut current = value;
    while let Node::Array(items) = current {
        shape.push(items.len());
        match items.first() {
            Some(first) => current = first,
            None => break,
        }
    }
    shape
}

/// Appends the leaves of `value` as text, requiring exactly `shape` (no ragged arrays).
fn flatten(value: &Node, shape: &[usize], out: &mut Leaves) -> Result<(), String> {
    match (value, shape.split_first()) {
        (Node::Array(items), Some((&len, rest))) if items.len() == len => items.iter().try_for_each(|item| flatten(item, rest, out)),
        (Node::Array(items), Some((&len, _))) => Err(format!("ragged array: {} items where {len} were expected", items.len())),
        (Node::Array(_), None) => Err("an array where a single value was expected (ragged nesting)".into()),
        (_, Some(_)) => Err(format!("a single value where an array of {} was expected", shape[0])),
        (Node::Number(n), None) => {
            out.texts.push(n.clone());
            Ok(())
        }
        (Node::Bool(b), None) => {
            out.texts.push(b.to_string());
            Ok(())
        }
        (Node::Text(s), None) => {
            if out.first_string.is_none() {
                out.first_string = Some((out.texts.len(), s.clone()));
            }
            out.texts.push(s.clone());
            Ok(())
        }
        (Node::Null, None) => Err("null: a missing value (tensors have no missing values)".into()),
        (Node::Object(_), None) => Err("an object where a value was expected".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_one_request_and_ndjson_rows_stack() {
        let request = br#"{"input": [[0.5, -0.25]], "sr": 16000}"#;
        assert!(holds_tensors(request));
        let tensors = read(request, 10).unwrap().tensors;
        assert_eq!((tensors[0].name.as_str(), tensors[0].data.shape()), ("input", &[1, 2][..]));
        assert_eq!((tensors[1].data.shape(), tensors[1].data.to_texts()), (&[][..], vec!["16000".to_string()]));
        let lines =
            b"{\"input_ids\": [101, 7592, 102], \"attention_mask\": [1, 1, 1]}\n{\"input_ids\": [101, 2088, 102], \"attention_mask\": [1, 1, 1]}\n";
        assert!(holds_tensors(lines));
        let tensors = read(lines, 10).unwrap().tensors;
        assert_eq!(tensors[1].data.shape(), &[2, 3]);
        assert!(!holds_tensors(br#"[{"a": 1}]"#) && !holds_tensors(b"{\"a\": 1}\n{\"a\": 2}\n"), "table rows stay tables");
        assert_eq!(pandas_layout(br#"{"age": {"0": 17, "1": 20}}"#), Some("columns"));
        assert_eq!(pandas_layout(br#"{"columns": ["age"], "index": [0], "data": [[17]]}"#), Some("split"));
        assert_eq!(pandas_layout(request), None);
    }

    #[test]
    fn duplicate_keys_strings_and_long_integers_are_kept_as_written() {
        assert_eq!(
            read(b"{\"ids\": [1],\n \"ids\": [2]}", 10).unwrap_err(),
            "line 2: key 'ids' appears twice in one object (a JSON reader keeps only the last); give each key once"
        );
        assert_eq!(
            read(b"{\"ids\": [1]}\n\n{\"ids\": [2], \"ids\": [3]}\n", 10).unwrap_err(),
            "line 3: key 'ids' appears twice in one object (a JSON reader keeps only the last); give each key once"
        );
        let read = read(br#"{"x": [[1, "5"], [9007199254740993, 2]]}"#, 10).unwrap();
        assert_eq!(read.texts, vec![TextValue { tensor: "x".into(), flat: 1, text: "5".into() }]);
        assert_eq!(read.tensors[0].data.to_texts(), ["1", "5", "9007199254740993", "2"]);
    }

    #[test]
    fn bad_json_is_named_with_its_line() {
        assert_eq!(read(br#"{"ids": [[1, 2], [3]]}"#, 10).unwrap_err(), "input 'ids': ragged array: 1 items where 2 were expected");
        assert_eq!(
            read(b"{\"ids\": [1]}\n\n{\"ids\": [null]}\n", 10).unwrap_err(),
            "input 'ids', line 3: null: a missing value (tensors have no missing values)"
        );
    }
}
