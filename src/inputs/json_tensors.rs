//! Tensor samples written as JSON, for models whose inputs are not table columns: one JSON
//! object holding one request, inputs by name (`{"input": [[0.1, ...]], "sr": 16000}`), or NDJSON
//! with one row per line whose values are arrays (`{"input_ids": [101, ...], "attention_mask":
//! [1, ...]}`), stacked along a new leading axis. JSON numbers have no width, so values are kept
//! as their exact text until the model's input types are known (see `inputs::tensor_values`).

use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

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

/// Reads the tensors (at most `max_rows` NDJSON lines). Values are string tensors of the JSON
/// text of each number, boolean or string.
pub fn read(bytes: &[u8], max_rows: usize) -> Result<Vec<NamedProto>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) {
        return map
            .iter()
            .map(|(name, value)| Ok(NamedProto { name: name.clone(), data: tensor(name, std::slice::from_ref(value), false)? }))
            .collect();
    }
    let rows: Vec<serde_json::Map<String, Value>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(max_rows)
        .enumerate()
        .map(|(i, line)| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(format!("line {}: not a JSON object", i + 1)),
            Err(e) => Err(format!("line {}: {e}", i + 1)),
        })
        .collect::<Result<_, _>>()?;
    let first = rows.first().ok_or("no rows")?;
    first
        .keys()
        .map(|name| {
            let values: Vec<Value> = rows
                .iter()
                .enumerate()
                .map(|(i, row)| row.get(name).cloned().ok_or_else(|| format!("line {}: no value for input '{name}'", i + 1)))
                .collect::<Result<_, _>>()?;
            Ok(NamedProto { name: name.clone(), data: tensor(name, &values, true)? })
        })
        .collect()
}

/// One tensor from `values` (rows stacked along a new leading axis when `stacked`).
fn tensor(name: &str, values: &[Value], stacked: bool) -> Result<TensorData, String> {
    let mut shape = if stacked { vec![values.len()] } else { Vec::new() };
    shape.extend(inner_shape(&values[0]));
    let count = shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).filter(|&n| n <= MAX_ELEMENTS);
    count.ok_or_else(|| format!("input '{name}': shape {shape:?} is larger than the {MAX_ELEMENTS} elements ready reads"))?;
    let mut texts = Vec::new();
    let expected = if stacked { &shape[1..] } else { &shape[..] };
    for (row, value) in values.iter().enumerate() {
        flatten(value, expected, &mut texts)
            .map_err(|e| if stacked { format!("input '{name}', line {}: {e}", row + 1) } else { format!("input '{name}': {e}") })?;
    }
    let array = ArrayD::from_shape_vec(IxDyn(&shape), texts).map_err(|e| format!("input '{name}': {e}"))?;
    Ok(TensorData::Str(array))
}

/// The shape of a nested array, read along its first elements.
fn inner_shape(value: &Value) -> Vec<usize> {
    let mut shape = Vec::new();
    let mut current = value;
    while let Value::Array(items) = current {
        shape.push(items.len());
        match items.first() {
            Some(first) => current = first,
            None => break,
        }
    }
    shape
}

/// Appends the leaves of `value` as text, requiring exactly `shape` (no ragged arrays).
fn flatten(value: &Value, shape: &[usize], out: &mut Vec<String>) -> Result<(), String> {
    match (value, shape.split_first()) {
        (Value::Array(items), Some((&len, rest))) if items.len() == len => items.iter().try_for_each(|item| flatten(item, rest, out)),
        (Value::Array(items), Some((&len, _))) => Err(format!("ragged array: {} items where {len} were expected", items.len())),
        (Value::Array(_), None) => Err("an array where a single value was expected (ragged nesting)".into()),
        (_, Some(_)) => Err(format!("a single value where an array of {} was expected", shape[0])),
        (Value::Number(n), None) => {
            out.push(n.to_string());
            Ok(())
        }
        (Value::Bool(b), None) => {
            out.push(b.to_string());
            Ok(())
        }
        (Value::String(s), None) => {
            out.push(s.clone());
            Ok(())
        }
        (Value::Null, None) => Err("null: a missing value (tensors have no missing values)".into()),
        (Value::Object(_), None) => Err("an object where a value was expected".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_one_request_and_ndjson_rows_stack() {
        let request = br#"{"input": [[0.5, -0.25]], "sr": 16000}"#;
        assert!(holds_tensors(request));
        let tensors = read(request, 10).unwrap();
        assert_eq!((tensors[0].name.as_str(), tensors[0].data.shape()), ("input", &[1, 2][..]));
        assert_eq!((tensors[1].data.shape(), tensors[1].data.to_texts()), (&[][..], vec!["16000".to_string()]));
        let lines =
            b"{\"input_ids\": [101, 7592, 102], \"attention_mask\": [1, 1, 1]}\n{\"input_ids\": [101, 2088, 102], \"attention_mask\": [1, 1, 1]}\n";
        assert!(holds_tensors(lines));
        let tensors = read(lines, 10).unwrap();
        assert_eq!(tensors[1].data.shape(), &[2, 3]);
        assert!(!holds_tensors(br#"[{"a": 1}]"#) && !holds_tensors(b"{\"a\": 1}\n{\"a\": 2}\n"), "table rows stay tables");
        assert_eq!(pandas_layout(br#"{"age": {"0": 17, "1": 20}}"#), Some("columns"));
        assert_eq!(pandas_layout(br#"{"columns": ["age"], "index": [0], "data": [[17]]}"#), Some("split"));
        assert_eq!(pandas_layout(request), None);
    }

    #[test]
    fn bad_json_is_named_with_its_line() {
        assert_eq!(read(br#"{"ids": [[1, 2], [3]]}"#, 10).unwrap_err(), "input 'ids': ragged array: 1 items where 2 were expected");
        assert_eq!(
            read(b"{\"ids\": [1]}\n{\"ids\": [null]}\n", 10).unwrap_err(),
            "input 'ids', line 2: null: a missing value (tensors have no missing values)"
        );
    }
}
