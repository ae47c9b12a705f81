//! The ONNX Runtime version a library file declares, read from the file without loading it:
//! libonnxruntime on Linux exports its API under an ELF symbol version named `VERS_<version>`
//! (`VERS_1.31.1`), recorded in the `.gnu.version_d` section. Loading a library runs its
//! initializers, so a version `ready` refuses is refused before it is loaded.
//!
//! Only headers are read (a few hundred bytes), never the whole file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The oldest ONNX Runtime `ready` runs: 1.22.0 and 1.22.1 abort (a C++ assertion on an empty
/// list of execution-provider devices) creating any session through ready; 1.23.0 works, and a
/// compatibility test audits a model with it.
pub const MIN_VERSION: Version = Version(1, 23, 0);

/// `SHT_GNU_verdef`: the section of symbol version definitions.
const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
/// More version definitions than any real library has: a bound for a hostile file.
const MAX_DEFINITIONS: u32 = 64;

/// A release version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Parses `1.23.0` (a missing patch is 0; anything after a `-` or `+` is ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let core = text.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().unwrap_or(Some(0))?;
        parts.next().is_none().then_some(Self(major, minor, patch))
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version in the library's `VERS_<version>` symbol version definition. `Ok(None)` when
/// the file is not a 64-bit little-endian ELF file or declares no such version (a macOS or
/// Windows library, a custom build): then only loading it tells.
pub fn declared(path: &Path) -> std::io::Result<Option<String>> {
    let mut file = File::open(path)?;
    let mut header = [0u8; 64];
    if file.read(&mut header)? < header.len() || &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return Ok(None);
    }
    let section_table = u64_at(&header, 0x28);
    let (entry_size, count) = (u64::from(u16_at(&header, 0x3a)), u64::from(u16_at(&header, 0x3c)));
    if entry_size < 64 {
        return Ok(None);
    }
    let section = |file: &mut File, index: u64| -> std::io::Result<[u8; 64]> {
        let mut entry = [0u8; 64];
        file.seek(SeekFrom::Start(section_table.saturating_add(index.saturating_mul(entry_size))))?;
        file.read_exact(&mut entry)?;
        Ok(entry)
    };
    for index in 0..count {
        let entry = section(&mut file, index)?;
        if u32_at(&entry, 4) != SHT_GNU_VERDEF {
            continue;
        }
        let strings = section(&mut file, u64::from(u32_at(&entry, 40)))?;
        let definitions = Definitions { offset: u64_at(&entry, 24), size: u64_at(&entry, 32), count: u32_at(&entry, 44) };
        let table = StringTable { offset: u64_at(&strings, 24), size: u64_at(&strings, 32) };
        return definitions.find_version(&mut file, &table);
    }
    Ok(None)
}

/// The `.gnu.version_d` section: a chain of `Elf64_Verdef` entries, each naming its version
/// through an `Elf64_Verdaux` entry.
struct Definitions {
    offset: u64,
    size: u64,
    count: u32,
}

impl Definitions {
    fn find_version(&self, file: &mut File, strings: &StringTable) -> std::io::Result<Option<String>> {
        let mut at = 0u64;
        for _ in 0..self.count.min(MAX_DEFINITIONS) {
            if at.saturating_add(20) > self.size {
                break;
            }
            let mut definition = [0u8; 20];
            file.seek(SeekFrom::Start(self.offset.saturating_add(at)))?;
            file.read_exact(&mut definition)?;
            let (aux, next) = (u64::from(u32_at(&definition, 12)), u64::from(u32_at(&definition, 16)));
            let mut name_offset = [0u8; 4];
            file.seek(SeekFrom::Start(self.offset.saturating_add(at).saturating_add(aux)))?;
            file.read_exact(&mut name_offset)?;
            let name = strings.read(file, u64::from(u32::from_le_bytes(name_offset)))?;
            if let Some(version) = name.strip_prefix("VERS_") {
                return Ok(Some(version.to_string()));
            }
            if next == 0 {
                break;
            }
            at = at.saturating_add(next);
        }
        Ok(None)
    }
}

/// A string table section (`.dynstr`).
struct StringTable {
    offset: u64,
    size: u64,
}

impl StringTable {
    /// The NUL-terminated string at `at`, up to 64 bytes (version names are short).
    fn read(&self, file: &mut File, at: u64) -> std::io::Result<String> {
        if at >= self.size {
            return Ok(String::new());
        }
        let mut bytes = [0u8; 64];
        file.seek(SeekFrom::Start(self.offset.saturating_add(at)))?;
        let read = file.read(&mut bytes)?;
        let len = (self.size - at).min(read as u64) as usize;
        let text = bytes[..len].split(|&b| b == 0).next().unwrap_or_default();
        Ok(String::from_utf8_lossy(text).into_owned())
    }
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("1.23.0"), Some(Version(1, 23, 0)));
        assert_eq!(Version::parse("1.22"), Some(Version(1, 22, 0)));
        assert_eq!(Version::parse("1.24.0-dev+abc"), Some(Version(1, 24, 0)));
        assert_eq!(Version::parse("1.x"), None);
        assert_eq!(Version::parse("1.2.3.4"), None);
        assert!(Version(1, 22, 1) < MIN_VERSION && MIN_VERSION <= Version(1, 23, 0) && Version(1, 23, 0) < Version(1, 31, 1));
    }

    #[test]
    fn files_that_are_not_elf_libraries_declare_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("short", &b"\x7fELF"[..]), ("text", &[b'x'; 100][..]), ("elf32", &[0x7f, b'E', b'L', b'F', 1, 1, 0, 0][..])] {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(declared(&path).unwrap(), None, "{name}");
        }
    }

    #[test]
    fn a_truncated_section_table_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut header = vec![0u8; 64];
        header[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1]);
        header[0x28..0x30].copy_from_slice(&1_000_000u64.to_le_bytes());
        header[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        header[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        let path = dir.path().join("libonnxruntime.so");
        std::fs::write(&path, header).unwrap();
        assert_eq!(declared(&path).unwrap_err().kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
