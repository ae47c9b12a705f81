//! A CSV column read as text though it is mostly numbers: one stray value ("abc", "12 kg") makes
//! polars and pandas read the whole column as text, and `ready profile` would profile it as
//! categories without a word. This module finds such a column and its first value that is not a
//! number, with the line it is on, for a note; it changes nothing that is read.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use polars::prelude::*;

/// A text column of a CSV file at least half of whose values are numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberAsText {
    pub column: String,
    /// Its first value that is not a number.
    pub value: String,
    /// The line that value's row starts on (None when the file could not be read again).
    pub line: Option<usize>,
}

impl fmt::Display for NumberAsText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = crate::checks::one_line(&self.value, 60);
        write!(f, "column '{}' read as text: '{}'", self.column.escape_debug(), value.escape_debug())?;
        match self.line {
            Some(line) => write!(f, " on line {line} is not a number"),
            None => write!(f, " is not a number"),
        }
    }
}

/// The text columns of `frame` (read from the CSV at `path`) outside `text` (columns meant as
/// text) whose non-missing values are at least half numbers, each with its first non-number.
pub fn find(path: &Path, frame: &DataFrame, text: &BTreeSet<String>) -> Vec<NumberAsText> {
    let found: Vec<(String, String, usize)> = frame
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String && !text.contains(c.name().as_str()))
        .filter_map(|c| Some((c.name().to_string(), first_non_number(c.as_materialized_series().str().ok()?)?)))
        .map(|(name, (value, row))| (name, value, row))
        .collect();
    found.into_iter().map(|(column, value, row)| NumberAsText { column, value, line: record_line(path, row) }).collect()
}

/// The first value that is not a number and its row, when at least half of the present values
/// are numbers.
fn first_non_number(values: &StringChunked) -> Option<(String, usize)> {
    let present = values.len() - values.null_count();
    let (mut numbers, mut others, mut first) = (0usize, 0usize, None);
    for (row, value) in values.iter().enumerate() {
        let Some(value) = value else { continue };
        if value.trim().parse::<f64>().is_ok() {
            numbers += 1;
        } else {
            others += 1;
            first = first.or(Some((value.to_string(), row)));
            if others * 2 > present {
                return None;
            }
        }
    }
    first.filter(|_| numbers > 0)
}

/// The line data row `row` (0-based, after the header, blank lines skipped as the reference
/// reader skips them) of the CSV at `path` starts on; quoted line ends are text.
fn record_line(path: &Path, row: usize) -> Option<usize> {
    crate::sample::kept_row_line(path, crate::sample::csv_separator(path), row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mostly_numeric_text_column_is_named_with_its_first_non_number_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "note,amount,city\n\"a\nb\",1.5,Lyon\nx,abc,7\r\ny,2,Oslo\nz,kg,Rome\n").unwrap();
        let frame = df!(
            "note" => ["a\nb", "x", "y", "z"],
            "amount" => ["1.5", "abc", "2", "kg"],
            "city" => ["Lyon", "7", "Oslo", "Rome"]
        )
        .unwrap();
        // 'amount': 2 of 4 numbers; 'city': 1 of 4; the quoted line end moves row 1 to line 4.
        let found = find(&path, &frame, &BTreeSet::new());
        assert_eq!(found, [NumberAsText { column: "amount".into(), value: "abc".into(), line: Some(4) }]);
        assert_eq!(found[0].to_string(), "column 'amount' read as text: 'abc' on line 4 is not a number");
        // A column meant as text is not named.
        assert!(find(&path, &frame, &BTreeSet::from(["amount".to_string()])).is_empty());
        // Blank lines are no rows (the reader skips them): row 1 still starts on 'x', now line 6.
        std::fs::write(&path, "note,amount,city\n\n\"a\nb\",1.5,Lyon\n  \nx,abc,7\r\ny,2,Oslo\nz,kg,Rome").unwrap();
        assert_eq!(find(&path, &frame, &BTreeSet::new())[0].line, Some(6));
        assert_eq!(record_line(&path, 3), Some(8), "a last row with no line end");
        assert_eq!(record_line(&path, 4), None);
    }
}
