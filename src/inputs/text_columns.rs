//! Which columns of a text sample (CSV, TSV) are read as text whatever they look like: those the
//! model reads as strings. polars infers a column of "01234" and "7.50" as numbers (1234, 7.5),
//! and the text an encoder compares is then lost; these columns are read as `String` instead, so
//! CSV gives the same cells as Parquet or JSON. Numeric inputs' columns are inferred as before.
//!
//! With no model (`ready profile`), a column holding a zero-padded number ("01234", "-007") is
//! read as text: no number writer pads with zeros, and an identifier's leading zero is part of it.
//! A fixed-decimals number ("7.50") alone keeps a column numeric there (`float_format="%.2f"`
//! writes numbers that way); with a model, its input types decide.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use crate::model::graph_domain::GraphDomain;

/// The text columns a model names before any sample is read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextColumns {
    /// Column names read as text when the file has them.
    pub names: BTreeSet<String>,
    /// A single 2-D string input fed the sample's columns in order: every column is text when the
    /// file has exactly this many.
    pub whole: Option<usize>,
}

impl TextColumns {
    /// From the graph's string inputs: each one-column input by its name; a single 2-D string
    /// input by its feature names (config, then model metadata), else by position, as
    /// `inputs::columns::map` binds them.
    pub fn from_model(domain: &GraphDomain, configured: Option<Vec<String>>, metadata: Option<Vec<String>>) -> Self {
        let mut text = Self { names: domain.text_inputs.keys().cloned().collect(), whole: None };
        let single: Option<(&String, &(usize, Option<usize>))> = match (domain.input_count, domain.text_inputs.iter().next()) {
            (1, Some(only)) if only.1.0 == 2 => Some(only),
            _ => None,
        };
        if let Some((_, (_, width))) = single {
            match configured.or(metadata) {
                Some(features) => text.names.extend(features),
                None => text.whole = *width,
            }
        }
        text
    }

    /// The columns of `header` read as text.
    pub fn pick(&self, header: &[String]) -> BTreeSet<String> {
        if self.whole == Some(header.len()) {
            return header.iter().cloned().collect();
        }
        header.iter().filter(|h| self.names.contains(*h)).cloned().collect()
    }
}

/// A schema that reads `columns` as `String` (for `CsvReadOptions::with_schema_overwrite`);
/// `None` when there are none.
pub fn string_schema(columns: &BTreeSet<String>) -> Option<SchemaRef> {
    if columns.is_empty() {
        return None;
    }
    Some(Arc::new(columns.iter().map(|name| Field::new(PlSmallStr::from(name.as_str()), DataType::String)).collect()))
}

/// Whether `cell` is a number written with leading zeros ("01234", "-007", "00.5"): text to keep.
pub fn zero_padded(cell: &str) -> bool {
    let digits = cell.trim().trim_start_matches(['+', '-']);
    let whole: &str = digits.split(['.', 'e', 'E']).next().unwrap_or("");
    whole.len() > 1 && whole.starts_with('0') && whole.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<f64>().is_ok()
}

/// The columns of a CSV/TSV file (first `rows` rows) that hold a zero-padded number.
pub fn padded_columns(path: &Path, rows: usize) -> Result<BTreeSet<String>, String> {
    let shown = path.display();
    let frame = crate::guard::catch_panic(|| {
        CsvReadOptions::default()
            .with_has_header(true)
            .map_parse_options(|o| o.with_separator(crate::sample::csv_separator(path)))
            .with_n_rows(Some(rows))
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
    })
    .map_err(|e| format!("{shown}: cannot read the CSV: {e}"))?;
    // A file polars cannot split is reported by the reader that follows (naming the line).
    let Ok(frame) = frame else { return Ok(BTreeSet::new()) };
    let mut padded = BTreeSet::new();
    for column in frame.columns() {
        let Ok(cells) = column.as_materialized_series().str() else { continue };
        if cells.downcast_iter().any(|array| array.iter().flatten().any(zero_padded)) {
            padded.insert(column.name().to_string());
        }
    }
    Ok(padded)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn zero_padded_numbers_are_text_and_ordinary_numbers_are_not() {
        for cell in ["01234", "-007", "00.5", "007e2"] {
            assert!(zero_padded(cell), "{cell}");
        }
        for cell in ["0", "0.5", "-0.25", "1234", "7.50", "1e-05", "0e0", "0abc", "", "-"] {
            assert!(!zero_padded(cell), "{cell}");
        }
    }

    #[test]
    fn string_inputs_by_name_and_a_single_string_tensor_by_feature_names_or_width() {
        let mut domain = GraphDomain { input_count: 2, ..GraphDomain::default() };
        domain.text_inputs = BTreeMap::from([("zip".to_string(), (2, Some(1)))]);
        let header: Vec<String> = ["zip", "x"].iter().map(|s| s.to_string()).collect();
        assert_eq!(TextColumns::from_model(&domain, None, None).pick(&header), set(&["zip"]));
        domain.input_count = 1;
        domain.text_inputs = BTreeMap::from([("input".to_string(), (2, Some(2)))]);
        assert_eq!(TextColumns::from_model(&domain, None, None).pick(&header), set(&["zip", "x"]));
        assert_eq!(TextColumns::from_model(&domain, None, Some(vec!["x".into()])).pick(&header), set(&["x"]));
        domain.text_inputs = BTreeMap::from([("input".to_string(), (2, Some(3)))]);
        assert_eq!(TextColumns::from_model(&domain, None, None).pick(&header), set(&[]));
    }
}
