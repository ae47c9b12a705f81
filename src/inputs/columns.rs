//! Which sample column feeds which model input column, decided as schema_parity binds but without
//! converting any value: per-column inputs (`[N]`, `[N, 1]`) by their name; a single 2-D input by
//! its feature names (config, then model metadata, then the sample's own order when the widths
//! agree). The domain and drift checks and the reference reader share it.

use std::collections::BTreeMap;

use crate::runtime::IoSpec;

/// The sample column behind each (input name, column index) the mapping can name.
pub fn map(
    columns: &[String],
    inputs: &[IoSpec],
    configured: Option<Vec<String>>,
    metadata: Option<Vec<String>>,
) -> BTreeMap<(String, usize), String> {
    let mut names = BTreeMap::new();
    let all_named = inputs.iter().all(|i| columns.contains(&i.name));
    let single = match inputs {
        [only] if !all_named => only.kind.as_tensor().filter(|(_, dims)| dims.len() == 2).map(|(_, dims)| (only.name.clone(), dims[1].fixed())),
        _ => None,
    };
    match single {
        Some((input, width)) => {
            let used = configured.or(metadata).or_else(|| Some(columns.to_vec()).filter(|c| width == Some(c.len() as i64)));
            for (index, name) in used.unwrap_or_default().into_iter().enumerate() {
                names.insert((input.clone(), index), name);
            }
        }
        None => {
            for input in inputs.iter().filter(|i| columns.contains(&i.name) && one_column(i)) {
                names.insert((input.name.clone(), 0), input.name.clone());
            }
        }
    }
    names
}

/// Whether an input holds one column per row (`[N]` or `[N, 1]`).
fn one_column(input: &IoSpec) -> bool {
    input.kind.as_tensor().is_some_and(|(_, dims)| match dims {
        [_] => true,
        [_, d] => d.fixed().is_none_or(|n| n == 1),
        _ => false,
    })
}

/// The distinct sample columns of a mapping, in (input, column) order.
pub fn used(map: &BTreeMap<(String, usize), String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for name in map.values() {
        if !seen.contains(name) {
            seen.push(name.clone());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::ElementType;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn per_column_inputs_by_name_and_a_single_tensor_by_feature_names_or_position() {
        let columns = strings(&["age", "city", "extra"]);
        let per_column =
            [IoSpec::tensor("age", ElementType::Float32, &[None, Some(1)]), IoSpec::tensor("city", ElementType::String, &[None, Some(1)])];
        let mapped = map(&columns, &per_column, None, None);
        assert_eq!(used(&mapped), ["age", "city"]);
        let single = [IoSpec::tensor("input", ElementType::Float32, &[None, Some(3)])];
        assert_eq!(map(&columns, &single, None, None).get(&("input".to_string(), 2)).map(String::as_str), Some("extra"));
        assert_eq!(map(&columns, &single, None, Some(strings(&["city", "age"]))).get(&("input".to_string(), 1)).map(String::as_str), Some("age"));
        // Widths differ and no names: nothing is guessed.
        assert!(map(&columns[..2], &single, None, None).is_empty());
        // An input three columns wide named like a column is not one column.
        let wide = [IoSpec::tensor("age", ElementType::Float32, &[None, Some(3)]), IoSpec::tensor("city", ElementType::String, &[None, Some(1)])];
        assert_eq!(used(&map(&columns, &wide, None, None)), ["city"]);
    }
}
