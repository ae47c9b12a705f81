//! Sample rows: reading CSV, Parquet and JSON/NDJSON with polars, and converting columns to
//! the element types a model declares, with a verdict on whether the conversion is safe.
//!
//! Verdicts are decided on the values read, never on the file's declared types, so the same
//! values get the same verdict from every format: integer inputs need every value to convert
//! exactly; float inputs need each value's rounding error to be small against the column's
//! spread. The rules are documented in README ("schema_parity").

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use polars::prelude::*;
use serde::Serialize;

use crate::runtime::{ElementType, TensorData};

/// The sample file formats `ready` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SampleFormat {
    Csv,
    Parquet,
    Json,
    /// An ONNX test data set folder (`input_0.pb`, ...).
    TestDataSet,
    /// NumPy arrays: one `.npy` or a `.npz` archive of named arrays.
    Numpy,
}

impl SampleFormat {
    /// Picks the format from the file extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_string_lossy().to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Some(Self::Csv),
            "parquet" | "pq" => Some(Self::Parquet),
            "json" | "ndjson" | "jsonl" => Some(Self::Json),
            "npy" | "npz" => Some(Self::Numpy),
            _ => None,
        }
    }

    /// Whether the format stores values as text (no binary widths).
    pub fn is_text(self) -> bool {
        !matches!(self, Self::Parquet)
    }
}

/// Sample rows read from a file.
#[derive(Debug, Clone)]
pub struct Sample {
    pub path: PathBuf,
    pub format: SampleFormat,
    pub frame: DataFrame,
    /// Columns of the file ready does not read (a Parquet timestamp, list, ...), left out of
    /// `frame`: never fed to the model, named by schema_parity.
    pub skipped: Vec<SkippedColumn>,
}

/// A column of a sample file left unread, and its type (`timestamp`, `list`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedColumn {
    pub name: String,
    pub kind: String,
}

/// Tensors read from an ONNX test data set folder (`input_0.pb`, ...).
#[derive(Debug, Clone)]
pub struct TensorSample {
    pub dir: PathBuf,
    pub tensors: Vec<crate::tensor_proto::NamedProto>,
    /// The values are JSON text with no width yet: they take the model's input types.
    pub untyped: bool,
    /// The first JSON string of each JSON tensor that holds one (a numeric input refuses them).
    pub texts: Vec<crate::inputs::json_tensors::TextValue>,
}

/// Reference outputs for golden parity (`--expected`).
#[derive(Debug, Clone)]
pub enum Expected {
    /// One row per sample row; columns named after outputs (see README).
    Table(Sample),
    /// `output_*.pb` of an ONNX test data set, matched to outputs by name or position.
    Tensors { dir: PathBuf, tensors: Vec<crate::tensor_proto::NamedProto> },
}

/// What `--sample` pointed at.
#[derive(Debug, Clone)]
pub enum SampleInput {
    Table(Sample),
    Tensors(TensorSample),
}

/// Reads `--sample`: a table file, an ONNX test data set folder, or NumPy arrays (at most
/// `max_bytes` once decompressed).
pub fn read_sample_input(
    path: &Path,
    max_rows: usize,
    max_bytes: u64,
    text: &crate::inputs::text_columns::TextColumns,
) -> Result<SampleInput, String> {
    if path.is_dir() && crate::tensor_proto::is_test_data_set(path) {
        let tensors = crate::tensor_proto::read_set(path, "input")?;
        return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: false, texts: Vec::new() }));
    }
    if SampleFormat::from_path(path) == Some(SampleFormat::Numpy) {
        let tensors = holding_values(path, crate::inputs::npy::read_tensors(path, max_bytes)?)?;
        return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: false, texts: Vec::new() }));
    }
    if SampleFormat::from_path(path) == Some(SampleFormat::Json) {
        let shown = path.display();
        let bytes = crate::sandbox::open::read(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
        // Too deep a file is refused by the table reader below, with its message.
        let bounded = crate::sandbox::depth::check_json(&bytes).is_ok();
        if let Some(orient) = crate::inputs::json_tensors::pandas_layout(&bytes).filter(|_| bounded) {
            return Err(format!(
                "{shown}: a pandas DataFrame.to_json(orient='{orient}') layout, which holds no rows; write the rows with df.to_json(path, orient='records') or lines=True"
            ));
        }
        if bounded && crate::inputs::json_tensors::holds_tensors(&bytes) {
            let read = crate::inputs::json_tensors::read(&bytes, max_rows).map_err(|e| format!("{shown}: {e}"))?;
            let tensors = holding_values(path, read.tensors)?;
            return Ok(SampleInput::Tensors(TensorSample { dir: path.to_path_buf(), tensors, untyped: true, texts: read.texts }));
        }
    }
    read_table(path, max_rows, text).map(SampleInput::Table)
}

/// The arrays of a `.npy`/`.npz`/JSON sample, refused when one holds no values: a sample of 0
/// rows would let every check pass on nothing, and an empty CSV is refused the same way.
fn holding_values(path: &Path, tensors: Vec<crate::tensor_proto::NamedProto>) -> Result<Vec<crate::tensor_proto::NamedProto>, String> {
    match tensors.iter().find(|t| t.data.is_empty()) {
        Some(empty) => {
            Err(format!("{}: array '{}' of shape {:?} holds no values (a sample needs rows)", path.display(), empty.name, empty.data.shape()))
        }
        None => Ok(tensors),
    }
}

/// Reads `--expected`: a table file, a test data set folder with `output_*.pb`, or NumPy
/// arrays named after the outputs.
pub fn read_expected(path: &Path, max_rows: usize, max_bytes: u64) -> Result<Expected, String> {
    if SampleFormat::from_path(path) == Some(SampleFormat::Numpy) {
        let tensors = crate::inputs::npy::read_tensors(path, max_bytes)?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors });
    }
    if path.extension().is_some_and(|e| e == "pb") {
        // One serialized TensorProto: the first output's reference (the onnx wheel's models).
        let shown = path.display();
        let bytes = crate::sandbox::open::read(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
        let tensor = crate::tensor_proto::decode(&bytes).map_err(|e| format!("{shown}: {e}"))?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors: vec![tensor] });
    }
    if path.is_dir() {
        if !path.join("output_0.pb").is_file() {
            return Err(format!("{}: a folder given as --expected must hold output_0.pb, output_1.pb, ...", path.display()));
        }
        let tensors = crate::tensor_proto::read_set(path, "output")?;
        return Ok(Expected::Tensors { dir: path.to_path_buf(), tensors });
    }
    read_sample(path, max_rows).map(Expected::Table)
}

/// Reads at most `max_rows` rows. Errors are one line naming the file.
pub fn read_sample(path: &Path, max_rows: usize) -> Result<Sample, String> {
    read_table(path, max_rows, &Default::default())
}

/// Reads at most `max_rows` rows, the CSV/TSV columns `text` names as text (see
/// `inputs::text_columns`). Errors are one line naming the file.
pub fn read_table(path: &Path, max_rows: usize, text: &crate::inputs::text_columns::TextColumns) -> Result<Sample, String> {
    let shown = path.display();
    let metadata = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
    if metadata.is_dir() {
        return Err(format!("{shown}: is a directory, expected a sample file or an ONNX test data set (input_0.pb, ...)"));
    }
    // Only a regular file is read: a FIFO or a device would hang or never end. Text samples'
    // size limit is applied by the audit before this; Parquet is read by its footer.
    crate::sandbox::open::open(path, u64::MAX).map_err(|e| format!("{shown}: {e}"))?;
    let format = SampleFormat::from_path(path)
        .filter(|f| *f != SampleFormat::Numpy)
        .ok_or_else(|| format!("{shown}: unknown sample format (expected .csv, .parquet, .json, .ndjson, .npy or .npz)"))?;
    if metadata.len() == 0 {
        return Err(format!("{shown}: the sample file is empty"));
    }
    if format == SampleFormat::Parquet {
        // polars aborts (allocation failure) on a footer that declares absurd sizes: check the
        // footer first (reading only the footer).
        let footer = crate::parquet_footer::read_footer(path).map_err(|e| format!("{shown}: cannot read Parquet sample: {e}"))?;
        return read_parquet(path, &footer, max_rows);
    }
    let (mut json, header) = checked_text(path, format, max_rows)?;
    let separator = csv_separator(path);
    let strings = crate::inputs::text_columns::string_schema(&text.pick(&header));
    let frame = crate::guard::catch_panic(|| match format {
        SampleFormat::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .map_parse_options(|o| o.with_separator(separator).with_null_values(Some(pandas_nulls())))
            .with_schema_overwrite(strings)
            .with_n_rows(Some(max_rows))
            .with_infer_schema_length(Some(max_rows.max(100)))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|reader| reader.finish()),
        SampleFormat::Parquet => Err(PolarsError::ComputeError("read by read_parquet".into())),
        SampleFormat::Json => match json.take() {
            Some((text, json_format)) => read_json(text, json_format, max_rows),
            None => Err(PolarsError::ComputeError("no JSON text".into())),
        },
        SampleFormat::TestDataSet | SampleFormat::Numpy => Err(PolarsError::ComputeError("a test data set is a folder, not a file".into())),
    })
    .map_err(|e| format!("{shown}: cannot read {format:?} sample: {e}"))?
    .map_err(|e| match format {
        // polars' CSV messages end with advice on its own options and name no line: find it.
        SampleFormat::Csv if let Some(problem) = csv_record_problem(path, separator, header.len(), max_rows) => {
            format!("{shown}: {problem}{}", separator_hint(&header, separator))
        }
        _ => format!("{shown}: cannot read {format:?} sample: {}", one_line(&e.to_string())),
    })?;
    // A last row short of fields and with no line end is a file cut short (a download or a write
    // that stopped), not missing values: polars and pandas would read its last cells as missing.
    if format == SampleFormat::Csv
        && let Some(problem) = csv_record_problem(path, separator, header.len(), max_rows)
    {
        return Err(format!("{shown}: {problem}"));
    }
    let frame = if format == SampleFormat::Csv { without_blank_lines(frame, &blank_records(path, separator, max_rows)) } else { frame };
    holding_rows(path, format, frame, Vec::new())
}

/// A sample of at least one row and one column.
fn holding_rows(path: &Path, format: SampleFormat, frame: DataFrame, skipped: Vec<SkippedColumn>) -> Result<Sample, String> {
    let shown = path.display();
    if frame.height() == 0 {
        return Err(format!("{shown}: the sample has no rows"));
    }
    if frame.width() == 0 {
        return Err(format!("{shown}: the sample has no columns"));
    }
    Ok(Sample { path: path.to_path_buf(), format, frame, skipped })
}

/// The first `max_rows` rows of a Parquet sample (a large file is never loaded whole), with
/// only the columns ready reads: the others (timestamps, lists, ...) are left out and listed
/// with their type, refused later only if the model takes one ([`Sample::refuse_unread_inputs`]).
fn read_parquet(path: &Path, footer: &crate::parquet_footer::Footer, max_rows: usize) -> Result<Sample, String> {
    let shown = path.display();
    let (readable, unreadable): (Vec<_>, Vec<_>) = footer.columns.iter().partition(|c| c.unreadable.is_none());
    if let (true, Some(first)) = (readable.is_empty(), unreadable.first()) {
        return Err(format!("{shown}: cannot read Parquet sample: {}", crate::parquet_footer::unreadable_message(first, "a sample")));
    }
    let names: Vec<String> = readable.iter().map(|c| c.name.clone()).collect();
    let projection = (!unreadable.is_empty() || !footer.pandas_index.is_empty()).then_some(names);
    let frame = crate::guard::catch_panic(|| {
        let mut reader = ParquetReader::new(File::open(path)?);
        reader.set_metadata(footer.metadata.clone());
        reader.with_columns(projection).with_slice(Some((0, max_rows))).finish()
    })
    .map_err(|e| format!("{shown}: cannot read Parquet sample: {e}"))?
    .map_err(|e| format!("{shown}: cannot read Parquet sample: {}", one_line(&e.to_string())))?;
    let skipped = unreadable.iter().map(|c| SkippedColumn { name: c.name.clone(), kind: c.unreadable.clone().unwrap_or_default() }).collect();
    holding_rows(path, SampleFormat::Parquet, frame, skipped)
}

/// What ready checks itself before polars reads a text sample, since polars' messages name
/// neither the line nor the column: a CSV header's names, and JSON rows (returned checked, for
/// polars to read) and a CSV header's names.
type CheckedText = (Option<(Vec<u8>, JsonFormat)>, Vec<String>);

fn checked_text(path: &Path, format: SampleFormat, max_rows: usize) -> Result<CheckedText, String> {
    let shown = path.display();
    match format {
        SampleFormat::Csv => csv_header_once(path, csv_separator(path)).map(|names| (None, names)).map_err(|e| format!("{shown}: line 1: {e}")),
        SampleFormat::Json => json_text(path, max_rows).map(|t| (Some(t), Vec::new())).map_err(|e| format!("{shown}: cannot read Json sample: {e}")),
        _ => Ok((None, Vec::new())),
    }
}

/// The cells pandas' `read_csv` reads as missing by default (its `na_values`), in every column,
/// text columns included; `""` (a quoted empty cell, what pandas writes for NaN with
/// `QUOTE_NONNUMERIC` or `QUOTE_ALL`) is one too, as an unquoted empty cell is.
pub const PANDAS_NA: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
    "nan", "null",
];

/// [`PANDAS_NA`] for polars' CSV reader (it compares a quoted cell without its quotes).
pub fn pandas_nulls() -> NullValues {
    NullValues::AllColumns(PANDAS_NA.iter().map(|v| PlSmallStr::from(*v)).collect())
}

/// A hint when a header read as one column holds another common separator (a European Excel
/// export writes `;`): which separators ready reads, and how to write the file with them.
pub(crate) fn separator_hint(header: &[String], separator: u8) -> String {
    let [only] = header else { return String::new() };
    let other = [(';', "semicolons"), ('\t', "tabs"), (',', "commas"), ('|', "pipes")]
        .into_iter()
        .find(|(c, _)| *c != separator as char && only.contains(*c));
    match other {
        Some((_, name)) => format!(
            " (the header reads as one column and holds {name}: ready reads comma-separated .csv and tab-separated .tsv files; write it with commas, e.g. pandas to_csv or Excel's \"CSV UTF-8 (comma delimited)\")"
        ),
        None => String::new(),
    }
}

/// The field separator of a delimited file: a tab for `.tsv`, else a comma.
pub fn csv_separator(path: &Path) -> u8 {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) { b'\t' } else { b',' }
}

/// A header naming a column twice: polars would rename the second (`x_duplicated_0`) and feed the
/// first, pandas the same (`x.1`); which one was meant is unknown, so neither is guessed.
pub(crate) fn csv_header_once(path: &Path, separator: u8) -> Result<Vec<String>, String> {
    use std::io::BufRead;
    let (file, _) = crate::sandbox::open::open(path, u64::MAX).map_err(|e| e.to_string())?;
    let mut line = Vec::new();
    std::io::BufReader::new(std::io::Read::take(file, 1 << 20)).read_until(b'\n', &mut line).map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&line);
    let names = header_names(line.trim_start_matches('\u{feff}').trim_end_matches(['\r', '\n']), separator as char);
    for (index, name) in names.iter().enumerate() {
        if let Some(first) = names[..index].iter().position(|n| n == name) {
            return Err(format!(
                "column '{}' appears twice in the header (columns {} and {}); give each column once",
                clip(name, 60),
                first + 1,
                index + 1
            ));
        }
    }
    Ok(names)
}

/// The first record of a delimited file that polars cannot read or reads wrongly, as `line L:
/// why`: more fields than the header names, a quoted field that is never closed, or a last row
/// with fewer fields than the header and no line end (a file cut short; a shorter row that ends
/// its line is read as pandas reads it, its last cells missing). Reads the first `max_rows`
/// records after the header (the file's size was limited before).
pub(crate) fn csv_record_problem(path: &Path, separator: u8, columns: usize, max_rows: usize) -> Option<String> {
    use std::io::Read;
    // Read as far as the records polars read, never the whole of a large file.
    let bytes = std::io::BufReader::new(File::open(path).ok()?).bytes().map_while(Result::ok);
    record_problem(bytes, separator, columns, max_rows).map(|p| p.message(columns))
}

/// What is wrong with one record of a delimited file (see [`csv_record_problem`]); `line` is
/// the line the record starts on, counted from the first byte read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordProblem {
    /// More fields than the header names.
    Extra { line: usize, fields: usize },
    /// A quoted field opened on this line is never closed.
    Unclosed { line: usize },
    /// The last record has fewer fields than the header and no line end.
    CutShort { line: usize, fields: usize },
}

impl RecordProblem {
    /// `line L: why`, for a header of `columns` columns.
    pub(crate) fn message(self, columns: usize) -> String {
        match self {
            Self::Extra { line, fields } => format!("line {line}: {fields} fields where the header names {columns} columns"),
            Self::Unclosed { line } => format!("line {line}: a quoted field opened on this line is never closed"),
            Self::CutShort { line, fields } => format!("line {line}: {}", cut_short(fields, columns)),
        }
    }
}

/// Why a last row of `fields` of `columns` fields with no line end is refused.
pub(crate) fn cut_short(fields: usize, columns: usize) -> String {
    format!("the last row has {fields} of the header's {columns} fields and no line end: the file looks cut short (write or download it again)")
}

/// [`csv_record_problem`] on `bytes`: the first line is the header (or, from the middle of a
/// file, the end of a line not judged), the first `max_rows` records after it are judged.
pub(crate) fn record_problem(bytes: impl Iterator<Item = u8>, separator: u8, columns: usize, max_rows: usize) -> Option<RecordProblem> {
    let mut bytes = bytes.peekable();
    let (mut line, mut record_line, mut fields, mut quoted, mut records) = (1usize, 1usize, 1usize, false, 0usize);
    let (mut empty, mut field_start) = (true, true);
    while let Some(b) = bytes.next() {
        match b {
            // A quote opens a quoted field only at its start; inside one, `""` is a quote.
            b'"' if quoted && bytes.peek() == Some(&b'"') => _ = bytes.next(),
            b'"' if quoted => quoted = false,
            b'"' if field_start => quoted = true,
            b'\n' if !quoted => {
                if records > 0 && !empty && fields > columns {
                    return Some(RecordProblem::Extra { line: record_line, fields });
                }
                records += 1;
                if records > max_rows {
                    return None;
                }
                (line, record_line, fields, empty, field_start) = (line + 1, line + 1, 1, true, true);
                continue;
            }
            b'\n' => line += 1,
            b if b == separator && !quoted => {
                (fields, empty, field_start) = (fields + 1, false, true);
                continue;
            }
            b'\r' if !quoted && bytes.peek() == Some(&b'\n') => continue,
            _ => {}
        }
        (empty, field_start) = (false, false);
    }
    if quoted {
        return Some(RecordProblem::Unclosed { line: record_line });
    }
    match (records > 0 && !empty).then_some(fields) {
        Some(fields) if fields > columns => Some(RecordProblem::Extra { line: record_line, fields }),
        Some(fields) if fields < columns => Some(RecordProblem::CutShort { line: record_line, fields }),
        _ => None,
    }
}

/// The fields of one header line, split at `separator` outside double quotes (`""` is a quote).
fn header_names(line: &str, separator: char) -> Vec<String> {
    let (mut names, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == separator && !quoted => names.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    names.push(field);
    names
}

/// The rows of a JSON or NDJSON sample, checked (see [`json_rows`]) and ready for polars.
fn json_text(path: &Path, max_rows: usize) -> Result<(Vec<u8>, JsonFormat), String> {
    let text = std::fs::read(path).map_err(|e| e.to_string())?;
    crate::sandbox::depth::check_json(&text)?;
    let first = text.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let format = if first == Some(b'[') { JsonFormat::Json } else { JsonFormat::JsonLines };
    Ok((json_rows(&text, &format, max_rows)?, format))
}

fn read_json(text: Vec<u8>, format: JsonFormat, max_rows: usize) -> PolarsResult<DataFrame> {
    // Like CSV, the column types are inferred from every row read: a text value among numbers
    // makes a text column, and schema_parity names its row.
    let rows = NonZeroUsize::new(max_rows.max(100));
    let frame = JsonReader::new(std::io::Cursor::new(text)).with_json_format(format).infer_schema_len(rows).finish()?;
    Ok(frame.head(Some(max_rows)))
}

/// Checks the rows of a JSON (`[{...}, ...]`) or NDJSON sample before polars reads them: each
/// row an object, each key once, each cell a single value. Returns the text polars reads (the
/// first `max_rows` lines of NDJSON). Errors name the line (1-based) and the column.
fn json_rows(bytes: &[u8], format: &JsonFormat, max_rows: usize) -> Result<Vec<u8>, String> {
    use crate::inputs::json_tree::{self, Node};
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
    let (rows, kept) = match format {
        JsonFormat::Json => (json_tree::array_items(text)?, bytes.len()),
        JsonFormat::JsonLines => {
            let mut rows = Vec::new();
            let mut end = 0;
            for (index, line) in text.split_inclusive('\n').enumerate() {
                if rows.len() == max_rows {
                    break;
                }
                end += line.len();
                if !line.trim().is_empty() {
                    rows.push((index + 1, json_tree::parse(line.trim_end_matches(['\n', '\r']), index + 1)?));
                }
            }
            (rows, end)
        }
    };
    for (line, row) in &rows {
        let Node::Object(cells) = row else { return Err(format!("line {line}: {} where a row (a JSON object) was expected", row.kind())) };
        if let Some((column, cell)) = cells.iter().find(|(_, v)| matches!(v, Node::Array(_) | Node::Object(_))) {
            return Err(format!(
                "line {line}, column '{}': {} where a single value was expected (one value per cell)",
                clip(column, 60),
                cell.kind()
            ));
        }
        // Past f64's range (1e400) the JSON reader stops with its own message and no line.
        let beyond = |v: &Node| matches!(v, Node::Number(n) if n.parse::<f64>().is_ok_and(|x| x.is_infinite()));
        if let Some((column, Node::Number(number))) = cells.iter().find(|(_, v)| beyond(v)) {
            return Err(format!("line {line}, column '{}': the number {} is beyond a 64-bit float's range", clip(column, 60), clip(number, 40)));
        }
    }
    Ok(bytes[..kept].to_vec())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `sample` is only the first `max_rows` rows of its file (`sample.max_rows`), and how
/// many rows the file holds when that is cheap to know: Parquet's footer, JSON's text (already
/// bounded by `limits.max_text_sample_mb`). A CSV is scanned only one record past the cap.
pub fn cut_at(sample: &Sample, max_rows: usize) -> Option<crate::report::SampleCut> {
    if sample.rows() < max_rows {
        return None;
    }
    let cut = |file_rows: Option<u64>| Some(crate::report::SampleCut { max_rows, file_rows });
    match sample.format {
        SampleFormat::Parquet => {
            let total = crate::parquet_footer::read_footer(&sample.path).ok()?.metadata.num_rows as u64;
            (total > max_rows as u64).then(|| cut(Some(total)))?
        }
        SampleFormat::Csv => csv_has_record_after(&sample.path, csv_separator(&sample.path), max_rows).then(|| cut(None))?,
        SampleFormat::Json => {
            let total = json_row_count(&std::fs::read(&sample.path).ok()?)?;
            (total > max_rows as u64).then(|| cut(Some(total)))?
        }
        SampleFormat::TestDataSet | SampleFormat::Numpy => None,
    }
}

/// The records (0-based, after the header) of a delimited file that are empty lines, which
/// polars reads as rows of missing values and pandas skips (`skip_blank_lines`): a file ending in
/// two line ends is not a row short of every value. Quoted fields may hold line ends. Reads no
/// further than `records` records (the rows polars read).
pub(crate) fn blank_records(path: &Path, separator: u8, records: usize) -> Vec<usize> {
    use std::io::Read;
    let Ok(mut file) = File::open(path) else { return Vec::new() };
    let mut scan = BlankScan::new();
    let mut buffer = vec![0u8; 1 << 16];
    while let Ok(read @ 1..) = file.read(&mut buffer) {
        for &b in &buffer[..read] {
            scan.byte(b, separator);
        }
        if scan.record >= records {
            break;
        }
    }
    scan.blank
}

/// The state of [`blank_records`] between bytes: a quote opens a field only at its start (or
/// right after a closing quote: `""` inside a quoted field), as pandas and polars read.
#[derive(Default)]
struct BlankScan {
    header: bool,
    /// Records ended after the header, blank ones included (as polars counts rows).
    record: usize,
    /// Records ended after the header that are not blank (the rows kept).
    kept: usize,
    /// Line ends seen, quoted ones included, and the line the current record starts on.
    line_ends: usize,
    start_line: usize,
    empty: bool,
    quoted: bool,
    field_start: bool,
    just_closed: bool,
    blank: Vec<usize>,
    /// The kept row whose start line is wanted ([`kept_row_line`]), and that line once found.
    wanted_row: Option<usize>,
    wanted_line: Option<usize>,
}

impl BlankScan {
    fn new() -> Self {
        Self { header: true, empty: true, field_start: true, start_line: 1, ..Self::default() }
    }

    fn byte(&mut self, b: u8, separator: u8) {
        let closed = std::mem::take(&mut self.just_closed);
        if b == b'\n' {
            self.line_ends += 1;
        }
        match b {
            b'"' if self.quoted => (self.quoted, self.just_closed) = (false, true),
            b'"' if self.field_start || closed => self.quoted = true,
            b'\n' if !self.quoted => {
                if !self.header {
                    if self.empty {
                        self.blank.push(self.record);
                    } else {
                        self.keep_row();
                    }
                    self.record += 1;
                }
                (self.header, self.empty, self.field_start, self.start_line) = (false, true, true, self.line_ends + 1);
                return;
            }
            // A CR of a CRLF line end, spaces and tabs leave a line empty (pandas skips a line of
            // spaces as it skips an empty one).
            b'\r' | b' ' | b'\t' if !self.quoted && self.empty => return,
            b if b == separator && !self.quoted => {
                (self.empty, self.field_start) = (false, true);
                return;
            }
            _ => {}
        }
        (self.empty, self.field_start) = (false, false);
    }

    /// The current record, not blank, has ended (or the file ended inside it).
    fn keep_row(&mut self) {
        if self.wanted_row == Some(self.kept) {
            self.wanted_line = self.wanted_line.or(Some(self.start_line));
        }
        self.kept += 1;
    }
}

/// The line that kept row `row` (0-based after the header, blank lines skipped as the readers
/// skip them) starts on; `None` when the file is shorter or cannot be read.
pub(crate) fn kept_row_line(path: &Path, separator: u8, row: usize) -> Option<usize> {
    use std::io::Read;
    let mut file = File::open(path).ok()?;
    let mut scan = BlankScan { wanted_row: Some(row), ..BlankScan::new() };
    let mut buffer = vec![0u8; 1 << 16];
    while let Ok(read @ 1..) = file.read(&mut buffer) {
        for &b in &buffer[..read] {
            scan.byte(b, separator);
            if scan.wanted_line.is_some() {
                return scan.wanted_line;
            }
        }
    }
    // A last row with no line end.
    if !scan.header && !scan.empty {
        scan.keep_row();
    }
    scan.wanted_line
}

/// `frame` without the rows at `blank` (sorted record indices; those past its end ignored).
pub(crate) fn without_blank_lines(frame: DataFrame, blank: &[usize]) -> DataFrame {
    if blank.is_empty() {
        return frame;
    }
    let keep: BooleanChunked = (0..frame.height()).map(|row| blank.binary_search(&row).is_err()).collect();
    frame.filter(&keep).unwrap_or(frame)
}

/// Whether a delimited file holds a non-empty record after its header and `records` records
/// (quoted fields may hold line ends). Reads no further than that record.
fn csv_has_record_after(path: &Path, separator: u8, records: usize) -> bool {
    use std::io::Read;
    let Ok(mut file) = File::open(path) else { return false };
    let mut scan = BlankScan::new();
    let mut buffer = vec![0u8; 1 << 16];
    while let Ok(read @ 1..) = file.read(&mut buffer) {
        for &b in &buffer[..read] {
            scan.byte(b, separator);
            // The records polars read end where `records` line ends after the header do.
            if !scan.header && scan.record >= records && !scan.empty {
                return true;
            }
        }
    }
    false
}

/// The rows of a JSON array of rows or of NDJSON text; `None` when it does not parse.
fn json_row_count(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text.trim_start().starts_with('[') {
        return crate::inputs::json_tree::array_items(text).ok().map(|rows| rows.len() as u64);
    }
    Some(text.lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

impl Sample {
    /// Number of rows read.
    pub fn rows(&self) -> usize {
        self.frame.height()
    }

    /// Refuses (exit 2) a sample whose left-out column the model takes: by name, as a model
    /// feature name, or by position (see `inputs::columns::map`, given every column of the file).
    pub fn refuse_unread_inputs(
        &self,
        inputs: &[crate::runtime::IoSpec],
        configured: Option<Vec<String>>,
        metadata: Option<Vec<String>>,
    ) -> Result<(), String> {
        if self.skipped.is_empty() {
            return Ok(());
        }
        let mut every: Vec<String> = self.frame.get_column_names().into_iter().map(|n| n.to_string()).collect();
        every.extend(self.skipped.iter().map(|c| c.name.clone()));
        let used = crate::inputs::columns::used(&crate::inputs::columns::map(&every, inputs, configured, metadata));
        match self.skipped.iter().find(|c| used.contains(&c.name)) {
            Some(column) => Err(format!(
                "{}: column '{}' has Parquet type {}, which ready does not read, and the model takes it (cast it to a number, a boolean or text)",
                self.path.display(),
                column.name,
                column.kind
            )),
            None => Ok(()),
        }
    }

    /// Column names and polars types, in file order.
    pub fn columns(&self) -> Vec<(String, DataType)> {
        self.frame.columns().iter().map(|c| (c.name().to_string(), c.dtype().clone())).collect()
    }

    /// Converts `column` to `target`, judging every value (see [`Judge`]): the values as a 1-D
    /// tensor and the verdict. The file's own column type plays no part, so CSV, JSON and
    /// Parquet holding the same values get the same verdict.
    pub fn convert(&self, column: &str, target: ElementType, judge: Judge) -> Conversion {
        crate::guard::catch_panic(|| self.convert_unguarded(column, target, judge))
            .unwrap_or_else(|e| Conversion::rejected(format!("'{column}': {e}")))
    }

    fn convert_unguarded(&self, column: &str, target: ElementType, judge: Judge) -> Conversion {
        let Ok(col) = self.frame.column(column) else {
            return Conversion::rejected(format!("no column '{column}'"));
        };
        let series = col.as_materialized_series();
        if let Some(missing) = missing_values(series) {
            return Conversion { safety: Safety::Missing(missing), values: None };
        }
        if target == ElementType::String {
            return to_strings(series);
        }
        match numbers(series, target) {
            Ok(values) => judge_numbers(&values, target, judge),
            Err(reason) => Conversion::rejected(reason),
        }
    }
}

/// Numbers (a column's, or a tensor's in logical order) judged into `target`: NaN is a missing
/// value; floats round against the spread, integers must convert exactly.
pub(crate) fn judge_numbers(values: &Numbers, target: ElementType, judge: Judge) -> Conversion {
    if let Numbers::Floats(floats) = values
        && let Some(row) = floats.iter().position(|v| v.is_nan())
    {
        let count = floats.iter().filter(|v| v.is_nan()).count();
        return Conversion { safety: Safety::Missing(Missing { row, count }), values: None };
    }
    if target.is_float() { judge_floats(values, target, judge) } else { judge_integers(values, target) }
}

/// How float values are judged: the largest rounding error into the model's type, relative to
/// the column's spread, must stay under `tolerance`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judge {
    pub tolerance: f64,
    /// The spread to judge against when the model knows it (a Scaler's training standard
    /// deviation); otherwise the sample's own spread is used.
    pub scale: Option<f64>,
}

impl Default for Judge {
    fn default() -> Self {
        Self { tolerance: 1e-4, scale: None }
    }
}

/// How a sample column maps onto a model element type.
#[derive(Debug, Clone, PartialEq)]
pub enum Safety {
    /// Every value converts exactly.
    Exact,
    /// Values round, but every error is within the tolerance of the column's spread.
    Rounded(Rounding),
    /// Some value changes more than the tolerance allows. The converted values are still
    /// produced, so the effect on predictions can be measured.
    Lossy(Rounding),
    /// Null or NaN cells.
    Missing(Missing),
    /// No meaningful conversion (text where numbers are expected, an unsupported type).
    Incompatible(String),
}

impl Safety {
    /// Whether the column can be fed as is.
    pub fn is_safe(&self) -> bool {
        matches!(self, Self::Exact | Self::Rounded(_))
    }
}

/// Where the missing values of a column are (rows counted from 0, like a pandas index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    pub row: usize,
    pub count: usize,
}

/// What the spread of a column was measured as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// The sample's standard deviation.
    Std(f64),
    /// The sample's inter-quartile range (smaller than the standard deviation).
    Iqr(f64),
    /// The training standard deviation a Scaler in the graph divides by.
    ScalerStd(f64),
    /// One distinct value: errors are relative to the value itself.
    Magnitude,
}

impl std::fmt::Display for Spread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Std(s) => write!(f, "the column's std {}", rounded(*s)),
            Self::Iqr(s) => write!(f, "the column's IQR {}", rounded(*s)),
            Self::ScalerStd(s) => write!(f, "the Scaler's std {}", rounded(*s)),
            Self::Magnitude => write!(f, "the value (one distinct value in the column)"),
        }
    }
}

/// A spread for messages: whole above 1000, else 4 decimals at most.
fn rounded(v: f64) -> String {
    if v.abs() >= 1000.0 { format!("{}", v.round()) } else { short((v * 1e4).round() / 1e4) }
}

/// One value that changes in the model's type, and how many rows do.
#[derive(Debug, Clone, PartialEq)]
pub struct Rounding {
    /// The row shown (the first beyond the tolerance, or the largest error when none is).
    pub row: usize,
    pub value: f64,
    pub becomes: f64,
    /// |becomes - value| / spread (for integer inputs: 1 when the value does not fit).
    pub relative: f64,
    /// What the error is relative to; `None` for integer inputs.
    pub spread: Option<Spread>,
    /// Rows beyond the tolerance.
    pub affected: usize,
    pub rows: usize,
    /// `value` and `becomes` exactly, when they are integers: an f64 rounds above 2^53, and a
    /// message must show the number the file holds (see [`Rounding::value_text`]).
    pub exact: (Option<i128>, Option<i128>),
}

impl Rounding {
    /// The value as the file holds it, for messages.
    pub fn value_text(&self) -> String {
        self.exact.0.map_or_else(|| short(self.value), |v| v.to_string())
    }

    /// What the model's type makes of it, for messages.
    pub fn becomes_text(&self) -> String {
        self.exact.1.map_or_else(|| short(self.becomes), |v| v.to_string())
    }

    /// |becomes - value|, for messages.
    pub fn error_text(&self) -> String {
        match self.exact {
            (Some(v), Some(b)) => (b - v).unsigned_abs().to_string(),
            _ => short((self.becomes - self.value).abs()),
        }
    }
}

/// The result of [`Sample::convert`].
#[derive(Debug, Clone)]
pub struct Conversion {
    pub safety: Safety,
    /// The converted values: present unless the column is missing values or cannot convert.
    pub values: Option<TensorData>,
}

impl Conversion {
    fn rejected(reason: String) -> Self {
        Self { safety: Safety::Incompatible(reason), values: None }
    }
}

/// A number for messages: integers without a fraction, others with up to 10 significant digits.
pub fn short(v: f64) -> String {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e16 {
        format!("{}", v as i64)
    } else if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e16) {
        format!("{v:.3e}")
    } else {
        let text = format!("{v:.10}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn missing_values(series: &Series) -> Option<Missing> {
    let count = series.null_count();
    if count == 0 {
        return None;
    }
    let nulls = series.is_null();
    let row = (0..nulls.len()).position(|i| nulls.get(i) == Some(true)).unwrap_or(0);
    Some(Missing { row, count })
}

/// A column's values as integers (exact) or floats.
pub(crate) enum Numbers {
    Ints(Vec<i128>),
    Floats(Vec<f64>),
}

fn numbers(series: &Series, target: ElementType) -> Result<Numbers, String> {
    let source = series.dtype();
    let accessor_error = |e: PolarsError| one_line(&e.to_string());
    Ok(match source {
        DataType::String => return parse_texts(series, target),
        dtype if dtype.is_categorical() || dtype.is_enum() => {
            let names = series.cast(&DataType::String).map_err(accessor_error)?;
            return parse_texts(&names, target);
        }
        DataType::Float32 | DataType::Float64 => {
            let cast = series.cast(&DataType::Float64).map_err(accessor_error)?;
            let ca = cast.f64().map_err(accessor_error)?;
            Numbers::Floats((0..ca.len()).map(|i| ca.get(i).unwrap_or(f64::NAN)).collect())
        }
        DataType::UInt64 => {
            let ca = series.u64().map_err(accessor_error)?;
            Numbers::Ints((0..ca.len()).map(|i| i128::from(ca.get(i).unwrap_or(0))).collect())
        }
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => {
            let cast = series.cast(&DataType::Int64).map_err(accessor_error)?;
            let ca = cast.i64().map_err(accessor_error)?;
            Numbers::Ints((0..ca.len()).map(|i| i128::from(ca.get(i).unwrap_or(0))).collect())
        }
        other => {
            return Err(format!("{} column, model expects {target}", dtype_name(other)));
        }
    })
}

/// Text cells read as numbers: integers when every cell is one, else decimals. The first cell
/// that is not a number is named.
fn parse_texts(series: &Series, target: ElementType) -> Result<Numbers, String> {
    let ca = series.str().map_err(|e| one_line(&e.to_string()))?;
    let texts: Vec<&str> = (0..ca.len()).map(|i| ca.get(i).unwrap_or("")).collect();
    parse_numbers(&texts).map_err(|bad| {
        format!("row {} holds '{}', not a number for {target}; {} of {} rows are not numbers", bad.index, clip(&bad.text, 40), bad.count, texts.len())
    })
}

/// The first text that is not a number, and how many are not.
pub(crate) struct NotNumber {
    pub index: usize,
    pub text: String,
    pub count: usize,
}

/// Texts read as numbers: integers when every one is, else decimals.
pub(crate) fn parse_numbers(texts: &[&str]) -> Result<Numbers, NotNumber> {
    if let Some(ints) = texts.iter().map(|t| t.trim().parse::<i128>().ok()).collect::<Option<Vec<_>>>() {
        return Ok(Numbers::Ints(ints));
    }
    let floats: Vec<Option<f64>> = texts.iter().map(|t| t.trim().parse::<f64>().ok()).collect();
    match floats.iter().position(Option::is_none) {
        None => Ok(Numbers::Floats(floats.into_iter().flatten().collect())),
        Some(index) => Err(NotNumber { index, text: texts[index].to_string(), count: floats.iter().filter(|v| v.is_none()).count() }),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { format!("{}…", text.chars().take(max).collect::<String>()) }
}

fn to_strings(series: &Series) -> Conversion {
    match series.dtype() {
        DataType::String => {}
        // pandas `category` columns arrive as categoricals: their values are the category names.
        dtype if numeric(dtype) || dtype.is_categorical() || dtype.is_enum() => {}
        other => {
            return Conversion::rejected(format!("{} column, model expects strings", dtype_name(other)));
        }
    }
    match series.cast(&DataType::String) {
        Ok(cast) => match cast.str() {
            Ok(ca) => {
                let values: Vec<String> = (0..ca.len()).map(|i| ca.get(i).unwrap_or_default().to_string()).collect();
                let data = TensorData::Str(ArrayD::from_shape_vec(IxDyn(&[values.len()]), values).expect("1-D"));
                Conversion { safety: Safety::Exact, values: Some(data) }
            }
            Err(e) => Conversion::rejected(one_line(&e.to_string())),
        },
        Err(e) => Conversion::rejected(one_line(&e.to_string())),
    }
}

fn numeric(dtype: &DataType) -> bool {
    dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean)
}

/// Floats into a float input: each value's rounding error against the spread.
fn judge_floats(values: &Numbers, target: ElementType, judge: Judge) -> Conversion {
    let wide: Vec<f64> = match values {
        Numbers::Ints(ints) => ints.iter().map(|&v| v as f64).collect(),
        Numbers::Floats(floats) => floats.clone(),
    };
    let errors: Vec<f64> = match values {
        Numbers::Ints(ints) => ints.iter().map(|&v| (rounded_int(v, target) - v).unsigned_abs() as f64).collect(),
        Numbers::Floats(floats) => floats.iter().map(|&v| (round_to(v, target) - v).abs()).collect(),
    };
    let data = match target {
        ElementType::Float32 => {
            Some(TensorData::F32(ArrayD::from_shape_vec(IxDyn(&[wide.len()]), wide.iter().map(|&v| v as f32).collect()).expect("1-D")))
        }
        ElementType::Float64 => Some(TensorData::F64(ArrayD::from_shape_vec(IxDyn(&[wide.len()]), wide.clone()).expect("1-D"))),
        other => return Conversion::rejected(format!("ready cannot feed {other} inputs")),
    };
    if errors.iter().all(|&e| e == 0.0) {
        return Conversion { safety: Safety::Exact, values: data };
    }
    let spread = spread_of(&wide, judge.scale);
    let relative: Vec<f64> = errors
        .iter()
        .zip(&wide)
        .map(|(&e, &v)| match spread {
            Spread::Std(s) | Spread::Iqr(s) | Spread::ScalerStd(s) => e / s,
            Spread::Magnitude if v == 0.0 => 0.0,
            Spread::Magnitude => e / v.abs(),
        })
        .collect();
    let affected = relative.iter().filter(|&&r| r > judge.tolerance).count();
    let row = match relative.iter().position(|&r| r > judge.tolerance) {
        Some(first) => first,
        None => (0..relative.len()).max_by(|&a, &b| relative[a].total_cmp(&relative[b])).unwrap_or(0),
    };
    let becomes = match values {
        Numbers::Ints(ints) => rounded_int(ints[row], target) as f64,
        Numbers::Floats(floats) => round_to(floats[row], target),
    };
    let exact = match values {
        Numbers::Ints(ints) => (Some(ints[row]), Some(rounded_int(ints[row], target))),
        Numbers::Floats(_) => (None, None),
    };
    let rounding = Rounding { row, value: wide[row], becomes, relative: relative[row], spread: Some(spread), affected, rows: wide.len(), exact };
    let safety = if affected == 0 { Safety::Rounded(rounding) } else { Safety::Lossy(rounding) };
    Conversion { safety, values: data }
}

fn round_to(v: f64, target: ElementType) -> f64 {
    if target == ElementType::Float32 { f64::from(v as f32) } else { v }
}

fn rounded_int(v: i128, target: ElementType) -> i128 {
    if target == ElementType::Float32 { v as f32 as i128 } else { v as f64 as i128 }
}

/// The spread errors are judged against: the Scaler's std when known, else the smaller of the
/// sample's std and IQR (ignoring a zero IQR), else the values themselves.
fn spread_of(values: &[f64], scale: Option<f64>) -> Spread {
    if let Some(s) = scale.filter(|s| s.is_finite() && *s > 0.0) {
        return Spread::ScalerStd(s);
    }
    if values.windows(2).all(|w| w[0] == w[1]) {
        return Spread::Magnitude;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = if values.len() > 1 { (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
    let iqr = iqr(values);
    match (std.is_finite() && std > 0.0, iqr.is_finite() && iqr > 0.0) {
        (true, true) if iqr < std => Spread::Iqr(iqr),
        (true, _) => Spread::Std(std),
        (false, true) => Spread::Iqr(iqr),
        (false, false) => Spread::Magnitude,
    }
}

fn iqr(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.len() < 2 {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let pos = q * (sorted.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
    };
    at(0.75) - at(0.25)
}

/// Integers (or floats) into an integer input: every value must convert exactly.
fn judge_integers(values: &Numbers, target: ElementType) -> Conversion {
    let Some((lo, hi)) = int_range(target) else {
        return Conversion::rejected(format!("ready cannot feed {target} inputs"));
    };
    let wide: Vec<f64> = match values {
        Numbers::Ints(ints) => ints.iter().map(|&v| v as f64).collect(),
        Numbers::Floats(floats) => floats.clone(),
    };
    let converted: Vec<i128> = match values {
        Numbers::Ints(ints) => ints.iter().map(|&v| v.clamp(lo, hi)).collect(),
        Numbers::Floats(floats) => floats.iter().map(|&v| (v.trunc() as i128).clamp(lo, hi)).collect(),
    };
    let exact: Vec<bool> = match values {
        Numbers::Ints(ints) => ints.iter().zip(&converted).map(|(v, c)| v == c).collect(),
        Numbers::Floats(floats) => floats.iter().zip(&converted).map(|(&v, &c)| v.is_finite() && v == c as f64).collect(),
    };
    let data = int_tensor(&converted, target);
    let Some(row) = exact.iter().position(|ok| !ok) else {
        return Conversion { safety: Safety::Exact, values: data };
    };
    let affected = exact.iter().filter(|ok| !**ok).count();
    let value_int = match values {
        Numbers::Ints(ints) => Some(ints[row]),
        Numbers::Floats(_) => None,
    };
    let exact = (value_int, Some(converted[row]));
    let rounding = Rounding { row, value: wide[row], becomes: converted[row] as f64, relative: 1.0, spread: None, affected, rows: wide.len(), exact };
    Conversion { safety: Safety::Lossy(rounding), values: data }
}

fn int_range(target: ElementType) -> Option<(i128, i128)> {
    Some(match target {
        ElementType::Bool => (0, 1),
        ElementType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        ElementType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        ElementType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        ElementType::Int64 => (i64::MIN.into(), i64::MAX.into()),
        ElementType::Uint8 => (0, u8::MAX.into()),
        ElementType::Uint16 => (0, u16::MAX.into()),
        ElementType::Uint32 => (0, u32::MAX.into()),
        ElementType::Uint64 => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn int_tensor(values: &[i128], target: ElementType) -> Option<TensorData> {
    let shape = IxDyn(&[values.len()]);
    macro_rules! build {
        ($variant:ident, $t:ty) => {
            TensorData::$variant(ArrayD::from_shape_vec(shape, values.iter().map(|&v| v as $t).collect()).expect("1-D"))
        };
    }
    Some(match target {
        ElementType::Bool => TensorData::Bool(ArrayD::from_shape_vec(shape, values.iter().map(|&v| v != 0).collect()).expect("1-D")),
        ElementType::Int8 => build!(I8, i8),
        ElementType::Int16 => build!(I16, i16),
        ElementType::Int32 => build!(I32, i32),
        ElementType::Int64 => build!(I64, i64),
        ElementType::Uint8 => build!(U8, u8),
        ElementType::Uint16 => build!(U16, u16),
        ElementType::Uint32 => build!(U32, u32),
        ElementType::Uint64 => build!(U64, u64),
        _ => return None,
    })
}

/// A polars type named the way ONNX names element types (`float64`, `string`).
pub fn dtype_name(dtype: &DataType) -> String {
    match dtype {
        DataType::Boolean => "bool".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::String => "string".into(),
        other if other.is_categorical() || other.is_enum() => "category".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_are_scanned_with_quotes_only_at_field_starts() {
        let dir = tempfile::tempdir().unwrap();
        let problem = |text: &str, max_rows: usize| {
            let path = dir.path().join("s.csv");
            std::fs::write(&path, text).unwrap();
            csv_record_problem(&path, b',', 3, max_rows)
        };
        let cut = "line 3: the last row has 2 of the header's 3 fields and no line end: the file looks cut short (write or download it again)";
        assert_eq!(problem("a,b,c\n1,2,3\n4,5", 10).as_deref(), Some(cut));
        assert_eq!(problem("a,b,c\r\n1,2,3\r\n4,5", 10).as_deref(), Some(cut));
        // Not read by polars beyond max_rows: not judged.
        assert_eq!(problem("a,b,c\n1,2,3\n4,5", 1), None);
        // A quote inside a field is a character; `""` inside quotes is one; a quoted separator or
        // line end is text.
        assert_eq!(problem("a,b,c\n5\"11,x,y\n\"q\"\"\",\"l,\nm\",z", 10), None);
        assert_eq!(problem("a,b,c\n1,2,3\n4,5,6\n", 10), None);
        assert_eq!(problem("a,b,c\n1,2,,", 10).as_deref(), Some("line 2: 4 fields where the header names 3 columns"));
        assert_eq!(problem("a,b,c\n1,\"2,3\n", 10).as_deref(), Some("line 2: a quoted field opened on this line is never closed"));
    }

    fn frame(columns: Vec<Column>) -> Sample {
        Sample { path: "s.csv".into(), format: SampleFormat::Csv, frame: DataFrame::new(columns[0].len(), columns).unwrap(), skipped: Vec::new() }
    }

    fn verdict(column: Column, target: ElementType) -> Safety {
        let name = column.name().to_string();
        frame(vec![column]).convert(&name, target, Judge::default()).safety
    }

    #[test]
    fn integers_that_floats_hold_exactly_pass_whatever_their_width() {
        let ages: Vec<i64> = (17..80).collect();
        assert_eq!(verdict(Column::new("age".into(), &ages), ElementType::Float32), Safety::Exact);
        let small: Vec<i32> = vec![5, 300];
        assert_eq!(verdict(Column::new("n".into(), &small), ElementType::Float32), Safety::Exact);
        assert_eq!(verdict(Column::new("n".into(), &small), ElementType::Int16), Safety::Exact);
    }

    #[test]
    fn decimals_round_into_float32_within_the_tolerance_of_their_spread() {
        let sepal = Column::new("sepal".into(), &[5.1f64, 4.9, 6.3, 5.8]);
        let Safety::Rounded(r) = verdict(sepal, ElementType::Float32) else { panic!("5.1 into float32 passes") };
        assert!(r.relative < 1e-6, "{r:?}");
        assert_eq!(r.affected, 0);
    }

    #[test]
    fn epoch_seconds_into_float32_fail_naming_the_row_and_what_it_becomes() {
        let ts = Column::new("ts".into(), &[1702539353.5f64, 1702541153.0, 1702542953.25]);
        let Safety::Lossy(r) = verdict(ts, ElementType::Float32) else { panic!("timestamps must fail") };
        assert_eq!((r.row, r.value, r.becomes, r.affected, r.rows), (0, 1702539353.5, 1702539392.0, 3, 3));
        assert!(matches!(r.spread, Some(Spread::Std(_)) | Some(Spread::Iqr(_))), "{r:?}");
        let whole = Column::new("ts".into(), &[1702539353i64, 1702541153, 1702542953]);
        let Safety::Lossy(r) = verdict(whole, ElementType::Float32) else { panic!("integer timestamps must fail") };
        assert_eq!((r.row, r.becomes), (0, 1702539392.0));
        let wide = Column::new("ts".into(), &[1702539353.5f64, 1702541153.0]);
        assert!(matches!(verdict(wide, ElementType::Float64), Safety::Exact));
    }

    #[test]
    fn a_single_distinct_value_is_judged_on_relative_error() {
        let same = Column::new("c".into(), &[0.1f64, 0.1, 0.1]);
        assert!(matches!(verdict(same, ElementType::Float32), Safety::Rounded(Rounding { spread: Some(Spread::Magnitude), .. })));
    }

    #[test]
    fn a_scaler_std_replaces_the_sample_spread() {
        let values = Column::new("x".into(), &[1000.1f64, 1000.2]);
        let sample = frame(vec![values]);
        let tight = sample.convert("x", ElementType::Float32, Judge { tolerance: 1e-4, scale: Some(1e-3) });
        assert!(matches!(tight.safety, Safety::Lossy(Rounding { spread: Some(Spread::ScalerStd(_)), .. })), "{:?}", tight.safety);
        assert!(tight.values.is_some(), "a lossy cast still feeds the converted values");
    }

    #[test]
    fn integer_inputs_need_every_value_to_fit() {
        let ids = Column::new("id".into(), &[7i64, 3_000_000_000, 4_000_000_000]);
        let Safety::Lossy(r) = verdict(ids, ElementType::Int32) else { panic!("ids above int32 fail") };
        assert_eq!((r.row, r.affected), (1, 2));
        let halves = Column::new("n".into(), &[1.0f64, 2.5]);
        assert!(matches!(verdict(halves, ElementType::Int64), Safety::Lossy(Rounding { row: 1, .. })));
        let whole = Column::new("n".into(), &[1.0f64, 2.0]);
        assert_eq!(verdict(whole, ElementType::Int64), Safety::Exact);
    }

    #[test]
    fn missing_values_and_words_name_their_row() {
        let holes = Column::new("x".into(), &[Some(1.0f64), None, Some(2.0), None]);
        assert_eq!(verdict(holes, ElementType::Float32), Safety::Missing(Missing { row: 1, count: 2 }));
        let nan = Column::new("x".into(), &[1.0f64, 2.0, f64::NAN]);
        assert_eq!(verdict(nan, ElementType::Float32), Safety::Missing(Missing { row: 2, count: 1 }));
        let words = Column::new("x".into(), &["1.5", "small", "2"]);
        let Safety::Incompatible(why) = verdict(words, ElementType::Float32) else { panic!() };
        assert_eq!(why, "row 1 holds 'small', not a number for float32; 1 of 3 rows are not numbers");
        let names = Column::new("x".into(), &["small", "large"]);
        assert_eq!(verdict(names, ElementType::String), Safety::Exact);
    }

    #[test]
    fn reads_every_format_with_the_same_values() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/samples");
        for name in ["iris.csv", "iris.parquet", "iris.json"] {
            let sample = read_sample(&root.join(name), 100).unwrap();
            assert_eq!(sample.rows(), 3, "{name}");
            let conversion = sample.convert("petal_length", ElementType::Float32, Judge::default());
            assert!(conversion.safety.is_safe(), "{name}: {:?}", conversion.safety);
            assert_eq!(conversion.values.unwrap().preview(3), vec!["1.4", "4.3", "6.1"], "{name}");
        }
    }

    #[test]
    fn a_parquet_footer_that_panics_polars_is_an_error() {
        // Found by `scripts/fuzz.sh` (fuzz/regressions/sample/parquet-bad-footer): the first
        // byte selects Parquet, the rest is the file.
        let input = include_bytes!("../fuzz/regressions/sample/parquet-bad-footer");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rows.parquet");
        std::fs::write(&path, &input[1..]).unwrap();
        let err = read_sample(&path, 10).unwrap_err();
        assert!(err.contains("rows.parquet: cannot read Parquet sample"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn tsv_is_split_at_tabs_and_a_header_naming_a_column_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let tsv = dir.path().join("rows.tsv");
        std::fs::write(&tsv, "a\tb\n1\t2\n").unwrap();
        assert_eq!(read_sample(&tsv, 10).unwrap().columns().len(), 2);
        let twice = dir.path().join("rows.csv");
        std::fs::write(&twice, "\u{feff}a,\"b,c\",a\n1,2,3\n").unwrap();
        let err = read_sample(&twice, 10).unwrap_err();
        assert!(err.ends_with("rows.csv: line 1: column 'a' appears twice in the header (columns 1 and 3); give each column once"), "{err}");
        assert_eq!(header_names("x,\"y,\"\"z\"\"\",w", ','), ["x", "y,\"z\"", "w"]);
    }

    #[test]
    fn unreadable_samples_name_the_file() {
        let err = read_sample(Path::new("nope/missing.csv"), 10).unwrap_err();
        assert!(err.starts_with("nope/missing.csv:"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let xlsx = dir.path().join("rows.xlsx");
        std::fs::write(&xlsx, b"x").unwrap();
        let err = read_sample(&xlsx, 10).unwrap_err();
        assert!(err.contains("unknown sample format"), "{err}");
    }
}
