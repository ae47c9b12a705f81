//! The training reference (`--reference`): a CSV or Parquet file of training rows, read with only
//! the columns asked for, or a precomputed profile (`ready profile DATA -o profile.json`). Both
//! become a [`Profile`]: per column, its null count and either numeric statistics with the drift
//! bins (see `stats::drift`) or category frequencies. The JSON schema is documented in README
//! ("Training reference") so that a Spark or DuckDB job can write the same file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inputs::values;
use crate::stats::drift;

/// The profile schema version this build reads and writes.
pub const PROFILE_VERSION: u32 = 1;
/// Quantile levels kept for KS: k / QUANTILE_STEPS for k = 0..=QUANTILE_STEPS.
pub const QUANTILE_STEPS: usize = 1000;
/// Largest profile JSON read, in bytes.
const MAX_PROFILE_BYTES: u64 = 256 << 20;

/// A training reference, column by column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Schema version ([`PROFILE_VERSION`]).
    pub ready_profile: u32,
    /// Rows in the reference.
    pub rows: u64,
    pub columns: BTreeMap<String, ColumnProfile>,
    /// Evenly spaced rows of reference data (never of a profile), for running the model on
    /// (prediction drift); never written.
    #[serde(skip)]
    pub row_sample: Option<RowSample>,
    /// Columns of the data ready does not read (a Parquet timestamp, list, ...), left out;
    /// never written.
    #[serde(skip)]
    pub skipped: Vec<SkippedColumn>,
}

pub use crate::sample::SkippedColumn;

/// Rows kept from reference data: one drawn from each of k equal strata ([`strata_rows`]; the same rows every run).
#[derive(Debug, Clone)]
pub struct RowSample(pub DataFrame);

impl PartialEq for RowSample {
    fn eq(&self, other: &Self) -> bool {
        self.0.equals_missing(&other.0)
    }
}

/// Seed of [`stratum_row`]'s draws: fixed, so the same rows are drawn every run, on every machine.
pub const STRATA_SEED: u64 = 0x7265_6164_795f_726f; // "ready_ro"

/// splitmix64 (Steele, Lea and Flood 2014): the `i`-th output (from 0) of the generator started
/// at `seed`, i.e. the finalizer applied to `seed + (i + 1) · 0x9E3779B97F4A7C15` (wrapping).
pub fn splitmix64(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The row drawn from stratum `i` of `k` equal strata of `n` rows (k < n): stratum i holds rows
/// i·n/k .. (i+1)·n/k (integer division), and the row is i·n/k + splitmix64(STRATA_SEED, i) mod
/// its width. Unlike the evenly spaced rows i·n/k, it does not alias with data repeating every n/k rows.
pub fn stratum_row(i: usize, n: usize, k: usize) -> usize {
    let (i, n, k) = (i as u128, n as u128, k as u128);
    let (low, high) = (i * n / k, (i + 1) * n / k);
    (low + u128::from(splitmix64(STRATA_SEED, i as u64)) % (high - low)) as usize
}

/// One row drawn from each of k equal strata of `frame` ([`stratum_row`], i = 0..k, in file
/// order; all rows when k ≥ n).
pub fn strata_rows(frame: &DataFrame, k: usize) -> PolarsResult<DataFrame> {
    let n = frame.height();
    if k >= n {
        return Ok(frame.clone());
    }
    let picked: Vec<IdxSize> = (0..k).map(|i| stratum_row(i, n, k) as IdxSize).collect();
    frame.take(&IdxCa::from_vec(PlSmallStr::from("rows"), picked))
}

/// One reference column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ColumnProfile {
    Numeric(NumericProfile),
    Categorical(CategoricalProfile),
}

impl ColumnProfile {
    /// Missing values (null, NaN) in the reference column.
    pub fn nulls(&self) -> u64 {
        match self {
            Self::Numeric(n) => n.nulls,
            Self::Categorical(c) => c.nulls,
        }
    }
}

/// A numeric reference column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericProfile {
    /// Values present (not null, not NaN).
    pub count: u64,
    pub nulls: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    /// Population standard deviation (ddof 0).
    pub std: Option<f64>,
    /// Inner edges of the PSI bins: quantiles at i/bins, i = 1..bins-1, duplicates removed.
    pub bin_edges: Vec<f64>,
    /// Reference values per right-closed bin (bin_edges.len() + 1 counts).
    pub bin_counts: Vec<u64>,
    /// Quantiles at k / (len - 1), k = 0..len-1 (1001 levels by default): the CDF KS is computed against.
    pub quantiles: Vec<f64>,
    /// The column was float32 (a Parquet `float`): its values, `min` and `max` are exact only to
    /// single precision, so the sample is compared with them at that precision.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub float32: bool,
    /// The sorted values themselves when read from data (exact KS); never written.
    #[serde(skip)]
    pub sorted: Option<Vec<f64>>,
}

/// A categorical reference column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoricalProfile {
    pub count: u64,
    pub nulls: u64,
    /// How often each category occurs.
    pub categories: BTreeMap<String, u64>,
}

/// What to keep besides the profile when reading reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keep {
    /// Evenly spaced rows of the data ([`RowSample`]); 0 keeps none.
    pub rows: usize,
    /// Each numeric column's sorted values (exact KS in an audit; `ready profile` drops them).
    pub sorted: bool,
    /// Columns asked for that ready cannot read (a Parquet timestamp) are left out, not refused:
    /// set when the columns are the sample's, with no model to say which it takes.
    pub skip_unreadable: bool,
}

/// Reads `--reference`: a profile (`.json`) or data (`.csv`, `.parquet`), keeping only `columns`
/// when given, and what `keep` asks for. Columns in `categorical` are profiled as categories
/// whatever their type (an integer code an encoder reads). Errors are one line naming the file.
/// Parquet is read a few columns at a time (as many as there are cores, profiled in parallel),
/// so memory holds those columns, not the file.
pub fn load(path: &Path, columns: Option<&[String]>, categorical: &BTreeSet<String>, bins: usize, keep: Keep) -> Result<Profile, String> {
    load_with(path, columns, categorical, bins, keep, false).map(|(profile, _)| profile)
}

/// [`load`], with the CSV columns read as text though mostly numbers (one stray "abc"), each
/// with its first value that is not a number: a note for `ready profile`.
pub fn load_noting(
    path: &Path,
    columns: Option<&[String]>,
    categorical: &BTreeSet<String>,
    bins: usize,
    keep: Keep,
) -> Result<(Profile, Vec<crate::inputs::text_numbers::NumberAsText>), String> {
    load_with(path, columns, categorical, bins, keep, true)
}

/// [`load_noting`], looking for the notes only when `note` (an audit does not show them).
fn load_with(
    path: &Path,
    columns: Option<&[String]>,
    categorical: &BTreeSet<String>,
    bins: usize,
    keep: Keep,
    note: bool,
) -> Result<(Profile, Vec<crate::inputs::text_numbers::NumberAsText>), String> {
    let shown = path.display();
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    crate::sandbox::open::open(path, u64::MAX).map_err(|e| format!("{shown}: {e}"))?;
    if extension == "json" {
        return read_profile(path).map(|profile| (profile, Vec::new()));
    }
    if matches!(extension.as_str(), "parquet" | "pq") {
        return load_parquet(path, columns, categorical, bins, keep).map(|profile| (profile, Vec::new()));
    }
    let frame = read_frame(path, &extension, columns, categorical)?;
    if frame.width() == 0 {
        // None of the asked columns is in the file: nothing to compare, said by the check.
        let empty = Profile { ready_profile: PROFILE_VERSION, rows: 0, columns: BTreeMap::new(), row_sample: None, skipped: Vec::new() };
        return Ok((empty, Vec::new()));
    }
    if frame.height() == 0 {
        return Err(format!("{shown}: the reference has no rows"));
    }
    let mut profile = profile_frame(&frame, categorical, bins);
    if keep.rows > 0 {
        let rows = strata_rows(&frame, keep.rows).map_err(|e| format!("{shown}: cannot pick reference rows: {e}"))?;
        profile.row_sample = Some(RowSample(rows));
    }
    let notes = if note { crate::inputs::text_numbers::find(path, &frame, categorical) } else { Vec::new() };
    Ok((without_sorted(profile, keep), notes))
}

/// Drops the sorted values unless `keep` asks for them.
fn without_sorted(mut profile: Profile, keep: Keep) -> Profile {
    if !keep.sorted {
        for column in profile.columns.values_mut() {
            if let ColumnProfile::Numeric(n) = column {
                n.sorted = None;
            }
        }
    }
    profile
}

/// Uncompressed bytes of column chunks read at once from a Parquet reference (at least as many
/// columns as there are cores): a wide file of small columns is read in few reads.
const GROUP_BYTES: u64 = 64 << 20;

/// A Parquet reference, read and profiled a group of columns at a time (the projection reads
/// only those column chunks). The footer is parsed once and handed to every read. Columns ready
/// cannot read (timestamps, lists, ...) are left out and listed in `skipped`; one the caller
/// asks for by name is an error naming it and its type.
fn load_parquet(path: &Path, columns: Option<&[String]>, categorical: &BTreeSet<String>, bins: usize, keep: Keep) -> Result<Profile, String> {
    let shown = path.display();
    let footer = crate::parquet_footer::read_footer(path).map_err(|e| format!("{shown}: cannot read Parquet reference: {e}"))?;
    let picked: Vec<&crate::parquet_footer::FooterColumn> = match columns {
        Some(asked) => asked.iter().filter_map(|name| footer.columns.iter().find(|c| &c.name == name)).collect(),
        None => footer.columns.iter().collect(),
    };
    if let Some(column) = picked.iter().find(|c| c.unreadable.is_some()).filter(|_| columns.is_some() && !keep.skip_unreadable) {
        return Err(format!("{shown}: {}", crate::parquet_footer::unreadable_message(column, "a reference")));
    }
    let skipped: Vec<SkippedColumn> =
        picked.iter().filter_map(|c| Some(SkippedColumn { name: c.name.clone(), kind: c.unreadable.clone()? })).collect();
    let readable: Vec<&crate::parquet_footer::FooterColumn> = picked.into_iter().filter(|c| c.unreadable.is_none()).collect();
    if readable.is_empty() && !skipped.is_empty() {
        return Err(format!("{shown}: no column ready can read: {}", footer.unreadable_list()));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let groups = byte_groups(&readable.iter().map(|c| c.bytes).collect::<Vec<_>>(), cores, GROUP_BYTES);
    let mut named = readable.iter().map(|c| c.name.clone());
    let groups: Vec<Vec<String>> = groups.into_iter().map(|n| named.by_ref().take(n).collect()).collect();
    let mut profile = profile_groups(path, &footer, &groups, categorical, bins, keep)?;
    profile.skipped = skipped;
    Ok(profile)
}

/// Splits columns of `bytes` each, in order, into groups of at least `min` columns (all that
/// remain when fewer) that close once they hold `limit` bytes. Returns the group sizes.
fn byte_groups(bytes: &[u64], min: usize, limit: u64) -> Vec<usize> {
    let mut sizes = Vec::new();
    let (mut count, mut total) = (0usize, 0u64);
    for &b in bytes {
        count += 1;
        total = total.saturating_add(b);
        if count >= min && total >= limit {
            sizes.push(count);
            (count, total) = (0, 0);
        }
    }
    if count > 0 {
        sizes.push(count);
    }
    sizes
}

/// Reads and profiles each group of columns, the next group read while one is profiled (two
/// groups in memory at most).
fn profile_groups(
    path: &Path,
    footer: &crate::parquet_footer::Footer,
    groups: &[Vec<String>],
    categorical: &BTreeSet<String>,
    bins: usize,
    keep: Keep,
) -> Result<Profile, String> {
    let shown = path.display();
    let mut profile = Profile { ready_profile: PROFILE_VERSION, rows: 0, columns: BTreeMap::new(), row_sample: None, skipped: Vec::new() };
    let mut kept: Option<DataFrame> = None;
    let frames = std::thread::scope(|scope| -> Result<Vec<Profile>, String> {
        let mut chunks = groups.iter();
        let read = |chunk: &Vec<String>| {
            let chunk = chunk.clone();
            scope.spawn(move || read_parquet_columns(path, footer, chunk))
        };
        let mut next = chunks.next().map(read);
        let mut parts = Vec::new();
        while let Some(handle) = next.take() {
            let frame = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            next = chunks.next().map(read);
            if frame.height() == 0 {
                return Err(format!("{shown}: the reference has no rows"));
            }
            if keep.rows > 0 {
                let rows = strata_rows(&frame, keep.rows).map_err(|e| format!("{shown}: cannot pick reference rows: {e}"))?;
                kept = Some(match kept.take() {
                    None => rows,
                    Some(before) => before.hstack(rows.columns()).map_err(|e| format!("{shown}: cannot pick reference rows: {e}"))?,
                });
            }
            parts.push(without_sorted(profile_frame(&frame, categorical, bins), keep));
        }
        Ok(parts)
    })?;
    for part in frames {
        profile.rows = part.rows;
        profile.columns.extend(part.columns);
    }
    profile.row_sample = kept.map(RowSample);
    Ok(profile)
}

/// The `names` columns of a Parquet file, read with its already parsed footer.
fn read_parquet_columns(path: &Path, footer: &crate::parquet_footer::Footer, names: Vec<String>) -> Result<DataFrame, String> {
    let shown = path.display();
    crate::guard::catch_panic(|| {
        let mut reader = ParquetReader::new(File::open(path)?);
        reader.set_metadata(footer.metadata.clone());
        reader.with_columns(Some(names)).finish()
    })
    .map_err(|e| format!("{shown}: cannot read the reference: {e}"))?
    .map_err(|e| format!("{shown}: cannot read the reference: {}", crate::checks::one_line(&e.to_string(), 300)))
}

fn read_profile(path: &Path) -> Result<Profile, String> {
    let shown = path.display();
    let text = crate::sandbox::open::read_text(path, MAX_PROFILE_BYTES).map_err(|e| format!("{shown}: {e}"))?;
    // Before serde: a struct field given twice ("min") fails serde at the object's end, naming
    // no useful line; the key check names the line of the second one.
    crate::inputs::unique_keys::check(&text).map_err(|e| format!("{shown}: {e}"))?;
    let profile: Profile = serde_json::from_str(&text).map_err(|e| format!("{shown}: not a ready profile: {e}"))?;
    if profile.ready_profile != PROFILE_VERSION {
        return Err(format!("{shown}: profile schema version {} (this ready reads version {PROFILE_VERSION})", profile.ready_profile));
    }
    for (name, column) in &profile.columns {
        if let ColumnProfile::Numeric(n) = column {
            let sorted = n.bin_edges.windows(2).all(|w| w[0] < w[1]) && n.quantiles.windows(2).all(|w| w[0] <= w[1]);
            if n.bin_counts.len() != n.bin_edges.len() + 1 || !sorted || (n.count > 0 && n.quantiles.len() < 2) {
                return Err(format!(
                    "{shown}: column '{name}': bin_counts must have one more entry than bin_edges, edges must increase and quantiles must be at least 2 ascending values"
                ));
            }
        }
    }
    Ok(profile)
}

/// A CSV/TSV file's `text` columns are read as text (never inferred as numbers: "01234" stays
/// "01234").
fn read_frame(path: &Path, extension: &str, columns: Option<&[String]>, text: &BTreeSet<String>) -> Result<DataFrame, String> {
    let shown = path.display();
    let names: Option<Vec<PlSmallStr>> = columns.map(|c| c.iter().map(|n| PlSmallStr::from(n.as_str())).collect());
    match extension {
        "csv" | "tsv" => {
            let header = csv_header(path)?;
            let picked: Option<Arc<[PlSmallStr]>> = names.map(|n| n.into_iter().filter(|c| header.contains(&c.to_string())).collect());
            if picked.as_ref().is_some_and(|p| p.is_empty()) {
                return Ok(DataFrame::empty());
            }
            let strings = crate::inputs::text_columns::string_schema(&header.iter().filter(|h| text.contains(*h)).cloned().collect());
            // Types are inferred over the whole file (a decimal in row 20,000 makes a float
            // column), and pandas' missing-value markers are missing values.
            let read = crate::guard::catch_panic(|| {
                CsvReadOptions::default()
                    .with_has_header(true)
                    .map_parse_options(|o| o.with_separator(crate::sample::csv_separator(path)).with_null_values(Some(crate::sample::pandas_nulls())))
                    .with_schema_overwrite(strings)
                    .with_columns(picked)
                    .with_infer_schema_length(None)
                    .try_into_reader_with_file_path(Some(path.to_path_buf()))
                    .and_then(|r| r.finish())
            });
            let frame = read
                .map_err(|e| format!("{shown}: cannot read the reference: {e}"))?
                .map_err(|e| format!("{shown}: {}", csv_problem(path, &header, &e)))?;
            // polars reads the missing cells of a last row cut short as missing values.
            match csv_cut_short(path, header.len(), frame.height()) {
                Some(problem) => Err(format!("{shown}: {problem}")),
                // Empty lines are skipped, as pandas skips them (polars reads rows of nulls).
                None => {
                    Ok(crate::sample::without_blank_lines(frame, &crate::sample::blank_records(path, crate::sample::csv_separator(path), usize::MAX)))
                }
            }
        }
        _ => Err(format!("{shown}: unknown reference format (expected .csv, .parquet, or a .json profile written by `ready profile`)")),
    }
}

/// The column names of a CSV file, from its first line (quoting included), read as the sample
/// reader does: a column named twice is refused (which one was meant is unknown).
fn csv_header(path: &Path) -> Result<Vec<String>, String> {
    crate::sample::csv_header_once(path, crate::sample::csv_separator(path)).map_err(|e| format!("{}: line 1: {e}", path.display()))
}

/// Bytes at the end of a CSV reference read to judge its last row.
const TAIL_BYTES: u64 = 64 << 10;

/// `line L: why` when a CSV reference polars read is refused as a sample would be: a last row
/// with fewer fields than the header and no line end is a file cut short. A reference may be
/// gigabytes, so only its last [`TAIL_BYTES`] are read: a file that small is judged whole, as a
/// sample is; in a larger one, a file ending in a line end passes, else its last record starts
/// after the last line end outside quotes, counted from the tail's first line end (a tail that
/// opens inside a quoted field spanning lines cannot be told apart). Only a file so refused is
/// read again, to count the lines before its last record (its row number `rows` if that fails).
fn csv_cut_short(path: &Path, columns: usize, rows: usize) -> Option<String> {
    use crate::sample::RecordProblem;
    use std::io::{Read, Seek, SeekFrom};
    let separator = crate::sample::csv_separator(path);
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len <= TAIL_BYTES {
        return crate::sample::csv_record_problem(path, separator, columns, usize::MAX);
    }
    file.seek(SeekFrom::Start(len - TAIL_BYTES)).ok()?;
    let mut tail = Vec::with_capacity(TAIL_BYTES as usize);
    file.take(TAIL_BYTES).read_to_end(&mut tail).ok()?;
    if tail.last() == Some(&b'\n') {
        return None;
    }
    let first = tail.iter().position(|&b| b == b'\n')?;
    match crate::sample::record_problem(tail[first..].iter().copied(), separator, columns, usize::MAX)? {
        RecordProblem::CutShort { line, fields } => {
            // Only for a file refused: its line, from the line ends before the tail's first.
            let line = lines_before(path, len - TAIL_BYTES + first as u64).map(|before| before + line - 1);
            let at = line.map_or(format!("row {rows}"), |line| format!("line {line}"));
            Some(format!("{at}: {}", crate::sample::cut_short(fields, columns)))
        }
        _ => None,
    }
}

/// Line ends in the first `end` bytes of the file, plus one: the line byte `end` is on.
fn lines_before(path: &Path, end: u64) -> Option<usize> {
    use std::io::Read;
    let mut file = File::open(path).ok()?.take(end);
    let (mut buffer, mut count) = (vec![0u8; 1 << 20], 1usize);
    loop {
        match file.read(&mut buffer).ok()? {
            0 => return Some(count),
            n => count += buffer[..n].iter().filter(|&&b| b == b'\n').count(),
        }
    }
}

/// Why polars could not read a CSV reference, without polars' advice on its own options: the
/// record it cannot split (found by ready), else the first paragraph of its message.
fn csv_problem(path: &Path, header: &[String], error: &PolarsError) -> String {
    let separator = crate::sample::csv_separator(path);
    if let Some(problem) = crate::sample::csv_record_problem(path, separator, header.len(), usize::MAX) {
        return format!("{problem}{}", crate::sample::separator_hint(header, separator));
    }
    let text = error.to_string();
    let first = text.split("\n\n").next().unwrap_or_default();
    format!("cannot read the reference: {}", crate::checks::one_line(first, 300))
}

/// The profile of every column of `frame`, the columns profiled by as many threads as there
/// are cores (a group of a wide file holds thousands of columns).
pub fn profile_frame(frame: &DataFrame, categorical: &BTreeSet<String>, bins: usize) -> Profile {
    let columns = frame.columns();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, columns.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let profiled: Vec<(String, Option<ColumnProfile>)> = std::thread::scope(|scope| {
        let work = || {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(column) = columns.get(index) else { return done };
                done.push(profile_column(column, categorical, bins));
            }
        };
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let columns = profiled.into_iter().filter_map(|(name, p)| Some((name, p?))).collect();
    Profile { ready_profile: PROFILE_VERSION, rows: frame.height() as u64, columns, row_sample: None, skipped: Vec::new() }
}

fn profile_column(column: &Column, categorical: &BTreeSet<String>, bins: usize) -> (String, Option<ColumnProfile>) {
    let name = column.name().to_string();
    let series = column.as_materialized_series();
    let numeric = !categorical.contains(&name) && series.dtype().is_primitive_numeric();
    let float32 = series.dtype() == &DataType::Float32;
    let profile = if numeric {
        finite_values(series).map(|(v, cells)| ColumnProfile::Numeric(NumericProfile { float32, ..sorted_profile(v, cells, bins) }))
    } else {
        None
    };
    let profile = profile.or_else(|| values::texts(series).map(|t| ColumnProfile::Categorical(categorical_profile(&t))));
    (name, profile)
}

/// The finite values of a numeric column (null, NaN and ±inf left out) and its length.
fn finite_values(series: &Series) -> Option<(Vec<f64>, usize)> {
    let cast = series.cast(&DataType::Float64).ok()?;
    let ca = cast.f64().ok()?;
    let mut values = Vec::with_capacity(ca.len() - ca.null_count());
    for array in ca.downcast_iter() {
        if array.validity().is_none_or(|v| v.unset_bits() == 0) {
            values.extend(array.values().iter().copied().filter(|v| v.is_finite()));
        } else {
            values.extend(array.iter().flatten().copied().filter(|v| v.is_finite()));
        }
    }
    Some((values, ca.len()))
}

/// Numeric statistics, drift bins and quantiles of one column's cells.
pub fn numeric_profile(cells: &[Option<f64>], bins: usize) -> NumericProfile {
    sorted_profile(cells.iter().flatten().copied().filter(|v| v.is_finite()).collect(), cells.len(), bins)
}

/// The profile of `values` (finite) out of `cells` cells; sorts them.
fn sorted_profile(values: Vec<f64>, cells: usize, bins: usize) -> NumericProfile {
    let sorted = crate::stats::sort::sorted(values);
    let count = sorted.len() as u64;
    let nulls = cells as u64 - count;
    let mean = (count > 0).then(|| sorted.iter().sum::<f64>() / count as f64);
    let std = mean.map(|m| (sorted.iter().map(|v| (v - m).powi(2)).sum::<f64>() / count as f64).sqrt());
    let bin_edges = drift::quantile_edges(&sorted, bins);
    let bin_counts = drift::sorted_bin_counts(&sorted, &bin_edges);
    let quantiles = if sorted.is_empty() {
        Vec::new()
    } else {
        (0..=QUANTILE_STEPS).filter_map(|k| drift::quantile(&sorted, k as f64 / QUANTILE_STEPS as f64)).collect()
    };
    NumericProfile {
        count,
        nulls,
        min: sorted.first().copied(),
        max: sorted.last().copied(),
        mean,
        std,
        bin_edges,
        bin_counts,
        quantiles,
        float32: false,
        sorted: Some(sorted),
    }
}

/// Category frequencies of one column's cells.
pub fn categorical_profile(cells: &[Option<String>]) -> CategoricalProfile {
    let mut categories = BTreeMap::new();
    for value in cells.iter().flatten() {
        *categories.entry(value.clone()).or_insert(0u64) += 1;
    }
    let count = categories.values().sum();
    CategoricalProfile { count, nulls: cells.len() as u64 - count, categories }
}

/// Every column name of reference data (.csv, .tsv, .parquet) or of a profile (.json).
pub fn file_columns(path: &Path) -> Result<Vec<String>, String> {
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "parquet" | "pq" => crate::parquet_footer::read_footer(path)
            .map(|footer| footer.columns.into_iter().map(|c| c.name).collect())
            .map_err(|e| format!("{}: cannot read the Parquet schema: {e}", path.display())),
        "json" => read_profile(path).map(|p| p.columns.into_keys().collect()),
        _ => csv_header(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_column_keeps_its_range_nulls_bins_and_quantiles() {
        let cells = [Some(1.0), None, Some(2.0), Some(3.0), Some(4.0), Some(f64::NAN), Some(10.0)];
        let p = numeric_profile(&cells, 2);
        assert_eq!((p.count, p.nulls, p.min, p.max), (5, 2, Some(1.0), Some(10.0)));
        assert_eq!(p.mean, Some(4.0));
        // Population std of [1, 2, 3, 4, 10]: sqrt((9 + 4 + 1 + 0 + 36) / 5) = sqrt(10)
        assert!((p.std.unwrap() - 10f64.sqrt()).abs() < 1e-12);
        assert_eq!((p.bin_edges.clone(), p.bin_counts.clone()), (vec![3.0], vec![3, 2]));
        assert_eq!(p.quantiles.len(), QUANTILE_STEPS + 1);
        assert_eq!((p.quantiles[0], p.quantiles[500], p.quantiles[1000]), (1.0, 3.0, 10.0));
    }

    #[test]
    fn only_the_tail_of_a_large_csv_is_judged_for_a_last_row_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        // 10,000 rows of about 14 bytes: larger than the 64 KiB tail.
        let body: String = (0..10_000).map(|i| format!("{i},x,{i}.5\n")).collect();
        let judge = |last: &str| {
            std::fs::write(&path, format!("a,b,c\n{body}{last}")).unwrap();
            csv_cut_short(&path, 3, 10_001)
        };
        let cut = "line 10002: the last row has 2 of the header's 3 fields and no line end: the file looks cut short (write or download it again)";
        assert_eq!(judge("1,2").as_deref(), Some(cut));
        assert_eq!(judge("1,\"2\n3\"").as_deref(), Some(cut));
        // A whole last row, a shorter row ending its line (read as pandas reads it), a quoted line end.
        assert_eq!(judge("1,2,3"), None);
        assert_eq!(judge("1,2\r\n"), None);
        assert_eq!(judge("1,\"2\n3,4\",5"), None);
        // A last record longer than the tail: no line end to start from, not judged.
        assert_eq!(judge(&format!("1,{}", "y".repeat(70_000))), None);
    }

    #[test]
    fn parquet_columns_are_grouped_by_bytes_with_at_least_min_columns() {
        let mib = 1u64 << 20;
        // The 1 GB, 20-column file of scripts/bench_profile.sh: 50 MiB columns, groups of 2 on 2 cores.
        assert_eq!(byte_groups(&[50 * mib; 20], 2, GROUP_BYTES), [2; 10]);
        // Small columns share a group until 64 MiB; what remains is the last group.
        assert_eq!(byte_groups(&[mib; 150], 2, GROUP_BYTES), [64, 64, 22]);
        // A column larger than the limit still waits for `min` columns.
        assert_eq!(byte_groups(&[100 * mib, mib, mib], 2, GROUP_BYTES), [2, 1]);
        assert!(byte_groups(&[], 2, GROUP_BYTES).is_empty());
    }

    #[test]
    fn a_profile_round_trips_through_json_without_the_sorted_values() {
        let frame = df!("age" => [30i64, 40, 50], "city" => ["Lyon", "Oslo", "Lyon"]).unwrap();
        let profile = profile_frame(&frame, &BTreeSet::new(), 10);
        let ColumnProfile::Categorical(city) = &profile.columns["city"] else { panic!() };
        assert_eq!(city.categories, BTreeMap::from([("Lyon".to_string(), 2), ("Oslo".to_string(), 1)]));
        let text = serde_json::to_string(&profile).unwrap();
        assert!(
            text.starts_with(r#"{"ready_profile":1,"rows":3,"columns":{"age":{"kind":"numeric","count":3,"nulls":0,"min":30.0,"max":50.0,"#),
            "{text}"
        );
        let back: Profile = serde_json::from_str(&text).unwrap();
        let ColumnProfile::Numeric(age) = &back.columns["age"] else { panic!() };
        assert_eq!(age.sorted, None);
        // One row from each stratum: rows {0} and {1, 2} of 3 at k = 2 (row 2 drawn); all of them at k ≥ 3.
        assert_eq!(strata_rows(&frame, 2).unwrap().column("age").unwrap().as_materialized_series().i64().unwrap().to_vec(), [Some(30), Some(50)]);
        assert_eq!(strata_rows(&frame, 5).unwrap().height(), 3);
        assert!(!text.contains("float32"), "{text}");
        // A float32 column says so, and reads back; a profile without the field is float64.
        let single = profile_frame(&df!("x" => [0.1f32, 0.25]).unwrap(), &BTreeSet::new(), 10);
        let text = serde_json::to_string(&single).unwrap();
        assert!(text.contains(r#""max":0.25,"mean":"#) && text.contains(r#""float32":true}"#), "{text}");
        let ColumnProfile::Numeric(x) = &serde_json::from_str::<Profile>(&text).unwrap().columns["x"] else { panic!() };
        assert_eq!((x.float32, x.min), (true, Some(f64::from(0.1f32))));
        // An integer code an encoder reads is profiled as categories.
        let coded = profile_frame(&frame, &BTreeSet::from(["age".to_string()]), 10);
        assert!(matches!(coded.columns["age"], ColumnProfile::Categorical(_)));
    }

    #[test]
    fn strata_rows_are_splitmix64_draws_one_per_stratum_and_do_not_alias_with_a_period() {
        // splitmix64's published first outputs from seed 1234567.
        assert_eq!((splitmix64(1234567, 0), splitmix64(1234567, 1)), (6457827717110365317, 3203168211198807973));
        // 2000 of 48,000 rows repeating every 24: i·n/k would be one row of the period 2000 times.
        let drawn: Vec<usize> = (0..2000).map(|i| stratum_row(i, 48_000, 2000)).collect();
        assert!(drawn.iter().enumerate().all(|(i, &row)| (i * 24..i * 24 + 24).contains(&row)));
        let phases: BTreeSet<usize> = drawn.iter().map(|row| row % 24).collect();
        assert_eq!(phases.len(), 24);
        // Uneven strata (n = 7, k = 3: rows 0..2, 2..4, 4..7) and a stratum of one row.
        assert_eq!((0..3).map(|i| stratum_row(i, 7, 3)).collect::<Vec<_>>(), [0, 3, 5]);
        assert_eq!(stratum_row(0, 1, 1), 0);
    }
}
