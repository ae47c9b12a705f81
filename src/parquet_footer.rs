//! A structural check of a Parquet footer before polars reads it. The footer is Thrift
//! compact-protocol data; a corrupted or hostile one can declare a list of billions of entries
//! in a few bytes, and the Parquet reader then tries to allocate that much and aborts (found by
//! fuzzing: an 80 GB allocation from a 1 KB file). This walk checks every declared length
//! against the bytes that remain, and the nesting depth, without allocating. It reads the
//! footer the way the reader does: the reader picks fields by id without checking their wire
//! type, so for every field it reads as a list, string or struct the wire type must match.

/// Deepest struct/list nesting accepted (real footers nest a few levels).
const MAX_DEPTH: usize = 64;

/// Checks the footer of the Parquet file in `bytes`. `Err` says what is wrong.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 12 || &bytes[..4] != b"PAR1" {
        return Err("not a Parquet file (no PAR1 magic at both ends)".into());
    }
    check_tail(bytes.len() as u64, &bytes[4..])
}

/// Checks the footer of the Parquet file at `path`, reading only its magic, its footer length
/// and its footer: a large file is never read whole.
pub fn check_file(path: &std::path::Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut head = [0u8; 4];
    if size < 12 || file.read_exact(&mut head).is_err() || &head != b"PAR1" {
        return Err("not a Parquet file (no PAR1 magic at both ends)".into());
    }
    let mut trailer = [0u8; 8];
    file.seek(SeekFrom::End(-8)).and_then(|_| file.read_exact(&mut trailer)).map_err(|e| e.to_string())?;
    let length = u64::from(u32::from_le_bytes(trailer[..4].try_into().expect("4 bytes")));
    if length > size - 12 {
        return Err(format!("the footer claims {length} bytes in a {size}-byte file"));
    }
    let mut tail = vec![0u8; length as usize + 8];
    file.seek(SeekFrom::End(-(length as i64) - 8)).and_then(|_| file.read_exact(&mut tail)).map_err(|e| e.to_string())?;
    check_tail(size, &tail)
}

/// One top-level column of a Parquet file, as its footer declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FooterColumn {
    pub name: String,
    /// The type's name when ready does not read it (`timestamp`, `list`, ...); `None` when it does.
    pub unreadable: Option<String>,
    /// Uncompressed bytes of the column's chunks, over all row groups.
    pub bytes: u64,
}

/// The footer of a Parquet file, checked (see [`check_file`]) and parsed once: the parsed
/// metadata (handed to every later read, so a read never parses the footer again) and the
/// top-level columns in file order.
#[derive(Clone)]
pub struct Footer {
    pub metadata: polars::prelude::FileMetadataRef,
    pub columns: Vec<FooterColumn>,
    /// Columns holding pandas' index, left out of `columns` (see [`pandas_index_columns`]).
    pub pandas_index: Vec<String>,
}

impl Footer {
    /// The columns ready cannot read, as `name (type)`, comma-separated.
    pub fn unreadable_list(&self) -> String {
        let named: Vec<String> = self.columns.iter().filter_map(|c| Some(format!("{} ({})", c.name, c.unreadable.as_ref()?))).collect();
        named.join(", ")
    }
}

/// Reads the footer of the Parquet file at `path`: names, types and sizes of its columns.
/// Polars, built without its decimal, temporal, categorical and nested types, cannot read some
/// columns (it would fail or panic on them): those are marked `unreadable` with their type.
pub fn read_footer(path: &std::path::Path) -> Result<Footer, String> {
    use polars::prelude::{ParquetReader, SerReader};
    check_file(path)?;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let (metadata, schema) = crate::guard::catch_panic(|| {
        let mut reader = ParquetReader::new(file);
        let metadata = reader.get_metadata()?.clone();
        reader.schema().map(|schema| (metadata, schema))
    })?
    .map_err(|e| crate::checks::one_line(&e.to_string(), 300))?;
    let index = pandas_index_columns(&metadata);
    let columns = schema
        .iter()
        .filter(|(name, _)| !index.iter().any(|i| i.as_str() == name.as_str()))
        .map(|(name, field)| {
            let chunks = metadata.row_groups.iter().filter_map(|group| group.columns_under_root_iter(name)).flatten();
            let bytes = chunks.map(|chunk| u64::try_from(chunk.uncompressed_size()).unwrap_or(0)).fold(0u64, u64::saturating_add);
            FooterColumn { name: name.to_string(), unreadable: unreadable_kind(field.dtype()), bytes }
        })
        .collect();
    Ok(Footer { metadata, columns, pandas_index: index })
}

/// The columns pandas stored its index in (`df.to_parquet()` keeps an index that is not a plain
/// range, e.g. after `df.sample()`, as `__index_level_0__` or under the index's name), from the
/// `pandas` key of the footer: `pd.read_parquet` turns them back into the index, so they are no
/// data column of the file for pandas, nor for ready.
fn pandas_index_columns(metadata: &polars::prelude::FileMetadataRef) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct PandasMetadata {
        #[serde(default)]
        index_columns: Vec<serde_json::Value>,
    }
    let Some(text) = metadata.key_value_metadata.iter().flatten().find(|kv| kv.key == "pandas").and_then(|kv| kv.value.as_deref()) else {
        return Vec::new();
    };
    let Ok(pandas) = serde_json::from_str::<PandasMetadata>(text) else { return Vec::new() };
    // A range index is described by a map, not stored in a column.
    pandas.index_columns.into_iter().filter_map(|c| c.as_str().map(str::to_string)).collect()
}

/// The name of a Parquet (Arrow) type ready does not read, or `None` for numbers, booleans,
/// text and pandas `category` columns of text or numbers.
fn unreadable_kind(dtype: &polars::prelude::ArrowDataType) -> Option<String> {
    use polars::prelude::ArrowDataType as T;
    match dtype {
        T::Null | T::Boolean | T::Float32 | T::Float64 | T::Utf8 | T::LargeUtf8 | T::Utf8View => None,
        T::Int8 | T::Int16 | T::Int32 | T::Int64 | T::UInt8 | T::UInt16 | T::UInt32 | T::UInt64 => None,
        T::Decimal(precision, scale) | T::Decimal32(precision, scale) | T::Decimal64(precision, scale) | T::Decimal256(precision, scale) => {
            Some(format!("decimal({precision},{scale})"))
        }
        T::Float16 => Some("float16".into()),
        T::Date32 | T::Date64 => Some("date".into()),
        T::Time32(_) | T::Time64(_) => Some("time".into()),
        T::Timestamp(..) => Some("timestamp".into()),
        T::Duration(_) => Some("duration".into()),
        // pandas `category` columns: dictionaries of text or numbers read as their values.
        T::Dictionary(_, values, _) if matches!(**values, T::Utf8 | T::LargeUtf8 | T::Utf8View) || values.is_numeric() => None,
        T::Dictionary(..) => Some("dictionary (categorical)".into()),
        T::List(_) | T::LargeList(_) | T::FixedSizeList(..) => Some("list".into()),
        T::Struct(_) => Some("struct".into()),
        T::Map(..) => Some("map".into()),
        T::Binary | T::LargeBinary | T::FixedSizeBinary(_) | T::BinaryView => Some("binary".into()),
        other => Some(format!("{other:?}").to_lowercase().chars().take(40).collect()),
    }
}

/// The message for a column ready cannot read: names the column and its type.
pub fn unreadable_message(column: &FooterColumn, role: &str) -> String {
    let kind = column.unreadable.as_deref().unwrap_or("unknown");
    format!("column '{}' has Parquet type {kind}, which ready does not read as {role} (cast it to a number, a boolean or text)", column.name)
}

/// `tail` ends with the footer, its 4-byte length and the closing magic.
fn check_tail(size: u64, tail: &[u8]) -> Result<(), String> {
    if tail.len() < 8 || &tail[tail.len() - 4..] != b"PAR1" {
        return Err("not a Parquet file (no PAR1 magic at both ends)".into());
    }
    let length = u32::from_le_bytes(tail[tail.len() - 8..tail.len() - 4].try_into().expect("4 bytes")) as usize;
    if length as u64 > size.saturating_sub(12) || length > tail.len() - 8 {
        return Err(format!("the footer claims {length} bytes in a {size}-byte file"));
    }
    let footer = &tail[tail.len() - 8 - length..tail.len() - 8];
    let mut reader = Reader { bytes: footer, pos: 0 };
    reader.skip_struct(Kind::FileMetaData, 0)?;
    Ok(())
}

/// The footer structs whose list, string and struct fields the reader decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    FileMetaData,
    SchemaElement,
    RowGroup,
    ColumnChunk,
    ColumnMetaData,
    KeyValue,
    Unknown,
}

/// What the reader expects in a field.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Binary,
    Struct(Kind),
    ListOf(Element),
}

#[derive(Debug, Clone, Copy)]
enum Element {
    Struct(Kind),
    Binary,
    Int,
}

/// parquet.thrift field ids of the length-prefixed and nested fields.
fn expected(kind: Kind, id: i64) -> Option<Expect> {
    use {Element as E, Expect as X, Kind as K};
    Some(match (kind, id) {
        (K::FileMetaData, 2) => X::ListOf(E::Struct(K::SchemaElement)),
        (K::FileMetaData, 4) => X::ListOf(E::Struct(K::RowGroup)),
        (K::FileMetaData, 5) => X::ListOf(E::Struct(K::KeyValue)),
        (K::FileMetaData, 6) | (K::FileMetaData, 9) => X::Binary,
        (K::FileMetaData, 7) => X::ListOf(E::Struct(K::Unknown)),
        (K::FileMetaData, 8) => X::Struct(K::Unknown),
        (K::SchemaElement, 4) => X::Binary,
        (K::SchemaElement, 10) => X::Struct(K::Unknown),
        (K::RowGroup, 1) => X::ListOf(E::Struct(K::ColumnChunk)),
        (K::RowGroup, 4) => X::ListOf(E::Struct(K::Unknown)),
        (K::ColumnChunk, 1) | (K::ColumnChunk, 9) => X::Binary,
        (K::ColumnChunk, 3) => X::Struct(K::ColumnMetaData),
        (K::ColumnChunk, 8) => X::Struct(K::Unknown),
        (K::ColumnMetaData, 2) => X::ListOf(E::Int),
        (K::ColumnMetaData, 3) => X::ListOf(E::Binary),
        (K::ColumnMetaData, 8) => X::ListOf(E::Struct(K::KeyValue)),
        (K::ColumnMetaData, 12) | (K::ColumnMetaData, 16) | (K::ColumnMetaData, 17) => X::Struct(K::Unknown),
        (K::ColumnMetaData, 13) => X::ListOf(E::Struct(K::Unknown)),
        (K::KeyValue, 1) | (K::KeyValue, 2) => X::Binary,
        _ => return None,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.pos).ok_or("the footer ends in the middle of a value")?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err("a varint overflows 64 bits".into());
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("a varint is too long".into())
    }

    fn skip(&mut self, n: usize) -> Result<(), String> {
        if n > self.remaining() {
            return Err(format!("a value claims {n} bytes, {} remain", self.remaining()));
        }
        self.pos += n;
        Ok(())
    }

    /// A collection header's element count, checked against the remaining bytes: every
    /// element takes at least one byte (`min_size`).
    fn count(&mut self, declared: u64, min_size: usize) -> Result<usize, String> {
        let fits = usize::try_from(declared).ok().filter(|&n| n.saturating_mul(min_size) <= self.remaining());
        fits.ok_or_else(|| format!("a list declares {declared} elements, {} bytes remain", self.remaining()))
    }

    fn skip_value(&mut self, kind: u8, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("the footer nests deeper than {MAX_DEPTH} levels"));
        }
        match kind {
            1 | 2 => Ok(()), // booleans live in the type nibble of a field header
            3 => self.skip(1),
            4..=6 => self.varint().map(drop),
            7 => self.skip(8),
            8 => {
                let len = self.varint()?;
                let len = usize::try_from(len).map_err(|_| "a string length overflows".to_string())?;
                self.skip(len)
            }
            9 | 10 => {
                let header = self.byte()?;
                let element = header & 0x0f;
                let declared = if header >> 4 == 0x0f { self.varint()? } else { u64::from(header >> 4) };
                let n = self.count(declared, 1)?;
                for _ in 0..n {
                    if element == 1 || element == 2 {
                        self.skip(1)?; // booleans in a list take a byte each
                    } else {
                        self.skip_value(element, depth + 1)?;
                    }
                }
                Ok(())
            }
            11 => {
                let declared = self.varint()?;
                if declared == 0 {
                    return Ok(());
                }
                let n = self.count(declared, 2)?;
                let types = self.byte()?;
                for _ in 0..n {
                    self.skip_value(types >> 4, depth + 1)?;
                    self.skip_value(types & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => self.skip_struct(Kind::Unknown, depth + 1),
            other => Err(format!("unknown Thrift type {other} in the footer")),
        }
    }

    /// Skips a field the reader decodes as `expect`, after checking its wire type.
    fn skip_expected(&mut self, kind: Kind, id: i64, wire: u8, expect: Expect, depth: usize) -> Result<(), String> {
        let mismatch = || format!("field {id} of the footer's {kind:?} has wire type {wire}, the reader expects {expect:?}");
        match expect {
            Expect::Binary if wire == 8 => self.skip_value(8, depth),
            Expect::Struct(inner) if wire == 12 => self.skip_struct(inner, depth + 1),
            Expect::ListOf(element) if wire == 9 || wire == 10 => {
                let header = self.byte()?;
                let element_wire = header & 0x0f;
                let declared = if header >> 4 == 0x0f { self.varint()? } else { u64::from(header >> 4) };
                let n = self.count(declared, 1)?;
                let matches = match element {
                    Element::Struct(_) => element_wire == 12,
                    Element::Binary => element_wire == 8,
                    Element::Int => (4..=6).contains(&element_wire),
                };
                if !matches {
                    return Err(format!("field {id} of the footer's {kind:?} lists wire type {element_wire}, the reader expects {element:?}"));
                }
                for _ in 0..n {
                    match element {
                        Element::Struct(inner) => self.skip_struct(inner, depth + 1)?,
                        Element::Binary => self.skip_value(8, depth + 1)?,
                        Element::Int => self.skip_value(element_wire, depth + 1)?,
                    }
                }
                Ok(())
            }
            _ => Err(mismatch()),
        }
    }

    fn skip_struct(&mut self, kind: Kind, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("the footer nests deeper than {MAX_DEPTH} levels"));
        }
        let mut last_id = 0i64;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(());
            }
            let wire = header & 0x0f;
            let id = if header >> 4 == 0 {
                let raw = self.varint()?;
                ((raw >> 1) as i64) ^ -((raw & 1) as i64) // zigzag
            } else {
                last_id + i64::from(header >> 4)
            };
            last_id = id;
            match expected(kind, id) {
                Some(expect) => self.skip_expected(kind, id, wire, expect, depth)?,
                None => self.skip_value(wire, depth)?,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_parquet_files_pass() {
        for name in ["iris.parquet", "iris_float64.parquet"] {
            let bytes = std::fs::read(format!("{}/fixtures/samples/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
            check(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn a_footer_declaring_a_huge_list_is_refused() {
        // Found by `scripts/fuzz.sh`: a 1 KB file whose footer made the reader allocate 80 GB.
        let input = include_bytes!("../fuzz/regressions/sample/parquet-footer-huge-list");
        let err = check(&input[1..]).unwrap_err();
        assert_eq!(err, "field 2 of the footer's FileMetaData has wire type 12, the reader expects ListOf(Struct(SchemaElement))");
    }

    #[test]
    fn the_file_check_reads_only_the_footer_and_agrees_with_the_byte_check() {
        let path = std::path::PathBuf::from(format!("{}/fixtures/samples/iris.parquet", env!("CARGO_MANIFEST_DIR")));
        check_file(&path).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.parquet");
        std::fs::write(&bad, &include_bytes!("../fuzz/regressions/sample/parquet-footer-huge-list")[1..]).unwrap();
        assert_eq!(check_file(&bad).unwrap_err(), check(&std::fs::read(&bad).unwrap()).unwrap_err());
    }

    #[test]
    fn truncated_and_foreign_files_are_refused() {
        assert!(check(b"PAR1").is_err());
        assert!(check(b"hello world, not parquet").unwrap_err().contains("no PAR1"));
        let mut forged = b"PAR1".to_vec();
        forged.extend_from_slice(&[0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f]); // a list of 2^32 structs
        forged.extend_from_slice(&(6u32).to_le_bytes());
        forged.extend_from_slice(b"PAR1");
        assert!(check(&forged).unwrap_err().contains("declares"));
    }
}
