//! NumPy `.npy` arrays and `.npz` archives as tensor samples (what deep-learning users save
//! with `np.save`/`np.savez`). Only the plain array format is read: little-endian numbers,
//! booleans and fixed-width unicode strings; object arrays (pickles) are refused, never loaded.

use std::io::Read;
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::runtime::TensorData;
use crate::tensor_proto::{MAX_ELEMENTS, NamedProto};

/// The parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeader {
    pub descr: String,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
}

/// Reads a `.npy` file (one tensor, named after the file stem) or a `.npz` archive (one tensor
/// per member, named after the member). `max_bytes` bounds what is decompressed. Errors are one
/// line naming the file and member.
pub fn read_tensors(path: &Path, max_bytes: u64) -> Result<Vec<NamedProto>, String> {
    let shown = path.display();
    let is_npz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    if !is_npz {
        let bytes = crate::sandbox::open::read(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Ok(vec![NamedProto { name, data: parse_npy(&bytes).map_err(|e| format!("{shown}: {e}"))? }]);
    }
    let (file, _) = crate::sandbox::open::open(path, max_bytes).map_err(|e| format!("{shown}: {e}"))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{shown}: not a .npz (zip) archive: {e}"))?;
    if archive.has_duplicate_names() {
        // The archive's index keeps one member per name: the other would be silently dropped.
        return Err(format!("{shown}: {}", duplicate_member(path, max_bytes)));
    }
    let mut tensors = Vec::new();
    let mut budget = max_bytes;
    for index in 0..archive.len() {
        let member = archive.by_index(index).map_err(|e| format!("{shown}: member {index}: {e}"))?;
        let member_name = member.name().map_err(|e| format!("{shown}: member {index}: {e}"))?.to_string();
        let Some(name) = member_name.strip_suffix(".npy") else { continue };
        let mut bytes = Vec::new();
        member.take(budget + 1).read_to_end(&mut bytes).map_err(|e| format!("{shown}: {member_name}: {e}"))?;
        budget = budget.checked_sub(bytes.len() as u64).ok_or_else(|| format!("{shown}: more than {max_bytes} bytes once decompressed"))?;
        let data = parse_npy(&bytes).map_err(|e| format!("{shown}: {member_name}: {e}"))?;
        tensors.push(NamedProto { name: name.to_string(), data });
    }
    if tensors.is_empty() {
        return Err(format!("{shown}: the archive holds no .npy arrays"));
    }
    Ok(tensors)
}

/// The message for a `.npz` whose central directory names one member twice (numpy writes
/// each name once; `np.load` would keep one of them).
fn duplicate_member(path: &Path, max_bytes: u64) -> String {
    let generic = "two members share one name".to_string();
    let Ok((file, _)) = crate::sandbox::open::open(path, max_bytes) else { return generic };
    let Ok(mut listing) = zip::unstable::read::ZipIterable::try_new(file, zip::read::Config::default()) else { return generic };
    let Ok(entries) = listing.files() else { return generic };
    let mut seen = std::collections::HashSet::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.name() else { continue };
        if !seen.insert(name.to_string()) {
            return format!("member '{}' appears twice (only one would be read); write each array once", crate::sample::clip(&name, 80));
        }
    }
    generic
}

/// Decodes one `.npy` image.
pub fn parse_npy(bytes: &[u8]) -> Result<TensorData, String> {
    let (header, body) = split_header(bytes)?;
    let elements = header.shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).filter(|&n| n <= MAX_ELEMENTS);
    let elements = elements.ok_or_else(|| format!("shape {:?} is larger than the {MAX_ELEMENTS} elements ready reads", header.shape))? as usize;
    let (kind, width) = element_kind(&header.descr)?;
    let needed = elements.checked_mul(width).ok_or("size overflows")?;
    if body.len() < needed {
        return Err(format!("truncated: {} bytes of data for shape {:?} of {}, {needed} needed", body.len(), header.shape, header.descr));
    }
    let body = &body[..needed];
    let shape = IxDyn(&header.shape).set_f(header.fortran_order);
    macro_rules! numbers {
        ($variant:ident, $ty:ty) => {{
            let values: Vec<$ty> = body.chunks_exact(width).map(|c| <$ty>::from_le_bytes(c.try_into().expect("width"))).collect();
            TensorData::$variant(standard(ArrayD::from_shape_vec(shape, values).map_err(|e| e.to_string())?))
        }};
    }
    Ok(match kind {
        'f' if width == 4 => numbers!(F32, f32),
        'f' if width == 8 => numbers!(F64, f64),
        'i' if width == 1 => numbers!(I8, i8),
        'i' if width == 2 => numbers!(I16, i16),
        'i' if width == 4 => numbers!(I32, i32),
        'i' if width == 8 => numbers!(I64, i64),
        'u' if width == 1 => numbers!(U8, u8),
        'u' if width == 2 => numbers!(U16, u16),
        'u' if width == 4 => numbers!(U32, u32),
        'u' if width == 8 => numbers!(U64, u64),
        'b' => TensorData::Bool(standard(ArrayD::from_shape_vec(shape, body.iter().map(|&b| b != 0).collect()).map_err(|e| e.to_string())?)),
        'U' => {
            let texts = body.chunks_exact(width).map(ucs4_text).collect::<Result<Vec<_>, _>>()?;
            TensorData::Str(standard(ArrayD::from_shape_vec(shape, texts).map_err(|e| e.to_string())?))
        }
        _ => return Err(format!("dtype '{}' is not supported", header.descr)),
    })
}

/// The same array in C order (a Fortran-order file is read in its own order first).
fn standard<T: Clone>(array: ArrayD<T>) -> ArrayD<T> {
    if array.is_standard_layout() { array } else { array.as_standard_layout().into_owned() }
}

fn ucs4_text(chunk: &[u8]) -> Result<String, String> {
    chunk
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .take_while(|&code| code != 0)
        .map(|code| char::from_u32(code).ok_or_else(|| format!("invalid unicode code point {code:#x}")))
        .collect()
}

/// The element kind letter and byte width of a dtype string (`<f4`, `|b1`, `<U7`).
fn element_kind(descr: &str) -> Result<(char, usize), String> {
    let unsupported = || format!("dtype '{descr}' is not supported (little-endian numbers, bool and unicode strings are)");
    let mut chars = descr.chars();
    let order = chars.next().ok_or_else(unsupported)?;
    let kind = chars.next().ok_or_else(unsupported)?;
    if kind == 'O' {
        return Err(format!("dtype '{descr}' is an object array (a pickle): ready never loads those; save plain arrays"));
    }
    let size: usize = chars.as_str().parse().map_err(|_| unsupported())?;
    let little = order == '<' || order == '|' || (order == '=' && cfg!(target_endian = "little"));
    if !little && size > 1 {
        return Err(format!("dtype '{descr}' is big-endian; save the array as little-endian ('<') instead"));
    }
    match kind {
        'f' if size == 4 || size == 8 => Ok((kind, size)),
        'i' | 'u' if [1, 2, 4, 8].contains(&size) => Ok((kind, size)),
        'b' if size == 1 => Ok((kind, 1)),
        'U' if size >= 1 => Ok((kind, size * 4)),
        _ => Err(unsupported()),
    }
}

/// Splits a `.npy` image into its header and data.
fn split_header(bytes: &[u8]) -> Result<(NpyHeader, &[u8]), String> {
    let rest = bytes.strip_prefix(b"\x93NUMPY").ok_or("not a .npy file (no \\x93NUMPY magic)")?;
    let (major, rest) = rest.split_at_checked(2).ok_or("truncated header")?;
    let (length, rest) = match major[0] {
        1 => {
            let (len, rest) = rest.split_at_checked(2).ok_or("truncated header")?;
            (u16::from_le_bytes([len[0], len[1]]) as usize, rest)
        }
        2 | 3 => {
            let (len, rest) = rest.split_at_checked(4).ok_or("truncated header")?;
            (u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize, rest)
        }
        other => return Err(format!("unsupported .npy version {other}")),
    };
    let (text, body) = rest.split_at_checked(length).ok_or("truncated header")?;
    let text = std::str::from_utf8(text).map_err(|_| "the header is not text")?;
    Ok((parse_header(text)?, body))
}

/// Parses the header's Python dict literal: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
pub fn parse_header(text: &str) -> Result<NpyHeader, String> {
    let value_after = |key: &str| -> Result<&str, String> {
        let at = text.find(&format!("'{key}'")).ok_or_else(|| format!("the header has no '{key}'"))?;
        let rest = text[at + key.len() + 2..].trim_start();
        Ok(rest.strip_prefix(':').ok_or_else(|| format!("malformed header near '{key}'"))?.trim_start())
    };
    let descr = value_after("descr")?;
    let descr = descr.strip_prefix('\'').and_then(|d| d.split('\'').next()).ok_or("the header's descr is not a plain dtype string")?;
    let fortran = value_after("fortran_order")?;
    let fortran_order = if fortran.starts_with("True") {
        true
    } else if fortran.starts_with("False") {
        false
    } else {
        return Err("malformed fortran_order in the header".into());
    };
    let shape = value_after("shape")?;
    let inner = shape.strip_prefix('(').and_then(|s| s.split(')').next()).ok_or("malformed shape in the header")?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("malformed shape entry '{s}' in the header")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NpyHeader { descr: descr.to_string(), fortran_order, shape })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, fortran: bool, body: &[u8]) -> Vec<u8> {
        let header = format!("{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}", if fortran { "True" } else { "False" });
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend(body);
        bytes
    }

    #[test]
    fn numbers_booleans_and_strings_decode() {
        let floats: Vec<u8> = [1.5f32, -2.0, 3.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = parse_npy(&npy("<f4", "(1, 3)", false, &floats)).unwrap();
        assert_eq!((t.shape(), t.to_texts()), (&[1, 3][..], vec!["1.5".to_string(), "-2.0".into(), "3.25".into()]));
        let scalar = parse_npy(&npy("<i8", "()", false, &16000i64.to_le_bytes())).unwrap();
        assert_eq!((scalar.shape(), scalar.to_texts()), (&[][..], vec!["16000".to_string()]));
        let flags = parse_npy(&npy("|b1", "(2,)", false, &[1, 0])).unwrap();
        assert_eq!(flags.to_texts(), ["true", "false"]);
        let text: Vec<u8> = "ab\0".chars().chain("xyz".chars()).flat_map(|c| (c as u32).to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<U3", "(2,)", false, &text)).unwrap().to_texts(), ["ab", "xyz"]);
    }

    #[test]
    fn fortran_order_is_read_as_stored() {
        // The 2x2 matrix [[1, 2], [3, 4]] in column-major order.
        let body: Vec<u8> = [1i32, 3, 2, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(parse_npy(&npy("<i4", "(2, 2)", true, &body)).unwrap().to_texts(), ["1", "2", "3", "4"]);
    }

    #[test]
    fn hostile_or_unsupported_files_are_one_line_errors() {
        assert_eq!(parse_npy(b"PK\x03\x04").unwrap_err(), "not a .npy file (no \\x93NUMPY magic)");
        assert!(parse_npy(&npy("|O", "(1,)", false, &[0; 8])).unwrap_err().contains("object array (a pickle)"));
        assert!(parse_npy(&npy(">f8", "(1,)", false, &[0; 8])).unwrap_err().contains("big-endian"));
        assert!(parse_npy(&npy("<f4", "(4,)", false, &[0; 8])).unwrap_err().starts_with("truncated"));
        assert!(parse_npy(&npy("<f4", "(4294967296, 4294967296)", false, &[])).unwrap_err().contains("larger than"));
        assert!(parse_npy(&npy("<f4", "(a,)", false, &[])).unwrap_err().contains("malformed shape"));
    }
}
