//! A static scan of Python pickle streams (`.pkl`, `.joblib`, PyTorch `.pt` zips): every opcode is
//! walked, never executed, to list the globals the pickle would import and call on load, and to
//! flag the ones that run code (os.system, subprocess, builtins.eval, ...).
//!
//! Loading any pickle can run arbitrary code; the scan only says how obviously a file does so.

use std::io::Read;

use serde::Serialize;

/// What the scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PickleScan {
    /// Highest protocol announced by a PROTO opcode.
    pub protocol: Option<u8>,
    /// `module.name` of every global the pickle imports, in order of first appearance.
    pub imports: Vec<String>,
    /// Imports that execute code or touch the system, with why.
    pub dangerous: Vec<String>,
    /// Objects built by calling something (REDUCE, NEWOBJ, INST, OBJ).
    pub calls: usize,
    /// Whether every opcode up to STOP was understood.
    pub complete: bool,
    /// Why the scan is incomplete, or what container held the pickle.
    pub note: Option<String>,
}

/// Modules whose every global runs code or reaches the system.
const DANGEROUS_MODULES: &[&str] = &[
    "os", "posix", "nt", "subprocess", "sys", "socket", "shutil", "runpy", "pty", "commands", "webbrowser",
    "importlib", "code", "codeop", "ctypes", "multiprocessing", "pickle", "_pickle", "marshal", "dill", "cloudpickle",
    "asyncio", "http", "httplib", "urllib", "requests", "ftplib", "smtplib", "telnetlib", "tempfile", "pathlib",
    "platform", "signal", "threading", "_thread", "pdb", "bdb", "timeit", "profile", "cProfile", "trace",
];

/// Builtins that execute code or reach the system.
const DANGEROUS_BUILTINS: &[&str] = &[
    "eval", "exec", "execfile", "compile", "open", "__import__", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "breakpoint", "input", "apply", "memoryview",
];

/// Other single globals known to run code.
const DANGEROUS_GLOBALS: &[&str] = &[
    "types.FunctionType", "types.CodeType", "operator.attrgetter", "operator.methodcaller", "functools.partial",
    "torch.load", "numpy.load", "numpy.testing._private.utils.runstring", "joblib.load",
];

fn why_dangerous(module: &str, name: &str) -> Option<String> {
    let top = module.split('.').next().unwrap_or(module);
    let full = format!("{module}.{name}");
    if DANGEROUS_MODULES.contains(&top) {
        return Some(format!("{full}: module '{top}' runs commands or reaches the system"));
    }
    if matches!(module, "builtins" | "__builtin__" | "__builtins__") && DANGEROUS_BUILTINS.contains(&name) {
        return Some(format!("{full}: executes code or reaches the system"));
    }
    if DANGEROUS_GLOBALS.contains(&full.as_str()) {
        return Some(format!("{full}: can call arbitrary functions"));
    }
    None
}

/// Scans an artifact file's bytes: a raw pickle, a PyTorch zip (`*/data.pkl`), or a compressed
/// joblib file (reported, not decompressed).
pub fn scan_artifact(bytes: &[u8]) -> PickleScan {
    if bytes.starts_with(b"PK\x03\x04") {
        return scan_zip(bytes);
    }
    let compressed = [
        (&b"\x1f\x8b"[..], "gzip"),
        (&b"BZh"[..], "bz2"),
        (&b"\xfd7zXZ"[..], "xz"),
        (&b"\x04\x22\x4d\x18"[..], "lz4"),
        (&b"ZF"[..], "zlib (joblib)"),
        (&b"\x78\x9c"[..], "zlib"),
        (&b"\x78\x01"[..], "zlib"),
        (&b"\x78\xda"[..], "zlib"),
    ];
    for (magic, name) in compressed {
        if bytes.starts_with(magic) {
            return PickleScan {
                note: Some(format!("{name}-compressed pickle: contents not decompressed or scanned")),
                ..PickleScan::default()
            };
        }
    }
    scan(bytes)
}

/// Bounds on what an archive may make the scan decompress: a zip whose entries all point at one
/// highly compressed stream (a zip bomb) stops the scan instead of burning CPU for hours.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveLimits {
    /// Pickle entries scanned in one zip (a PyTorch checkpoint has one or two).
    pub max_pickles: usize,
    /// Decompressed bytes over every scanned entry together.
    pub max_total_bytes: u64,
    /// Decompressed size over compressed size, for entries past `ratio_floor_bytes`.
    pub max_ratio: u64,
    /// Entries that expand to at most this much are never stopped by the ratio.
    pub ratio_floor_bytes: u64,
}

/// The limits every scan uses.
pub const ARCHIVE_LIMITS: ArchiveLimits =
    ArchiveLimits { max_pickles: 16, max_total_bytes: 256 << 20, max_ratio: 100, ratio_floor_bytes: 1 << 20 };

/// The note of a scan stopped by [`ARCHIVE_LIMITS`].
fn limit_note(what: String) -> Option<String> {
    Some(format!("scan stopped: limit: {what}"))
}

fn scan_zip(bytes: &[u8]) -> PickleScan {
    scan_zip_within(bytes, ARCHIVE_LIMITS)
}

fn scan_zip_within(bytes: &[u8], limits: ArchiveLimits) -> PickleScan {
    let mut archive = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => return PickleScan { note: Some(format!("unreadable zip archive: {e}")), ..PickleScan::default() },
    };
    let names: Vec<String> = archive.file_names().flatten().filter(|n| n.ends_with(".pkl")).map(|n| n.into_owned()).collect();
    if names.is_empty() {
        return PickleScan { note: Some("zip archive without a .pkl entry".into()), ..PickleScan::default() };
    }
    if names.len() > limits.max_pickles {
        let what = format!("{} .pkl entries (at most {} are scanned)", names.len(), limits.max_pickles);
        return PickleScan { note: limit_note(what), ..PickleScan::default() };
    }
    let mut combined = PickleScan { complete: true, note: Some(format!("PyTorch-style zip; scanned {}", names.join(", "))), ..PickleScan::default() };
    let mut budget = limits.max_total_bytes;
    for name in names {
        let data = match read_entry(&mut archive, &name, &limits, budget) {
            Ok(data) => data,
            Err(EntryError::Limit(what)) => {
                combined.complete = false;
                combined.note = limit_note(what);
                break;
            }
            Err(EntryError::Unreadable(e)) => {
                combined.complete = false;
                combined.note = Some(format!("{name}: {e}"));
                continue;
            }
        };
        budget -= data.len() as u64;
        let part = scan(&data);
        combined.protocol = combined.protocol.max(part.protocol);
        for import in part.imports {
            if !combined.imports.contains(&import) {
                combined.imports.push(import);
            }
        }
        combined.dangerous.extend(part.dangerous);
        combined.calls += part.calls;
        combined.complete &= part.complete;
        if let Some(note) = part.note {
            combined.note = Some(format!("{name}: {note}"));
        }
    }
    combined
}

enum EntryError {
    Limit(String),
    Unreadable(String),
}

/// Decompresses one entry, stopping at the first byte past `budget` or past the ratio limit.
fn read_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>,
    name: &str,
    limits: &ArchiveLimits,
    budget: u64,
) -> Result<Vec<u8>, EntryError> {
    let entry = archive.by_name(name).map_err(|e| EntryError::Unreadable(e.to_string()))?;
    let by_ratio = entry.compressed_size().saturating_mul(limits.max_ratio).max(limits.ratio_floor_bytes);
    let allowed = budget.min(by_ratio);
    let mut data = Vec::new();
    entry.take(allowed.saturating_add(1)).read_to_end(&mut data).map_err(|e| EntryError::Unreadable(e.to_string()))?;
    if data.len() as u64 <= allowed {
        return Ok(data);
    }
    Err(EntryError::Limit(if allowed == by_ratio {
        format!("{name} expands more than {} times its compressed size", limits.max_ratio)
    } else {
        format!("pickles in the zip expand past {} MiB", limits.max_total_bytes >> 20)
    }))
}

/// Walks the opcodes of one pickle stream.
pub fn scan(bytes: &[u8]) -> PickleScan {
    let mut out = PickleScan::default();
    let mut pos = 0usize;
    // Recent string pushes and the memo, to resolve STACK_GLOBAL's module and name.
    let mut strings: Vec<Option<String>> = Vec::new();
    let mut memo: std::collections::HashMap<u64, Option<String>> = std::collections::HashMap::new();
    let mut next_memo = 0u64;
    let fail = |out: &mut PickleScan, pos: usize, why: String| {
        out.note = Some(format!("scan stopped at byte {pos}: {why}"));
    };
    macro_rules! take {
        ($n:expr) => {{
            let n: usize = $n;
            match pos.checked_add(n).filter(|&end| end <= bytes.len()) {
                Some(end) => {
                    let slice = &bytes[pos..end];
                    pos = end;
                    slice
                }
                None => {
                    fail(&mut out, pos, "truncated argument".into());
                    return out;
                }
            }
        }};
    }
    macro_rules! line {
        () => {{
            match bytes[pos..].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let text = String::from_utf8_lossy(&bytes[pos..pos + i]).into_owned();
                    pos += i + 1;
                    text
                }
                None => {
                    fail(&mut out, pos, "unterminated line argument".into());
                    return out;
                }
            }
        }};
    }
    let le = |b: &[u8]| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    let record_global = |out: &mut PickleScan, module: &str, name: &str| {
        let full = format!("{module}.{name}");
        if !out.imports.contains(&full) {
            out.imports.push(full);
            if let Some(why) = why_dangerous(module, name) {
                out.dangerous.push(why);
            }
        }
    };
    while pos < bytes.len() {
        let op = bytes[pos];
        let at = pos;
        pos += 1;
        match op {
            b'.' => {
                out.complete = true;
                return out;
            }
            0x80 => out.protocol = Some(take!(1)[0]),
            0x95 => {
                take!(8);
            }
            b'(' | b')' | b']' | b'}' | b'0' | b'1' | b'2' | b'N' | b'a' | b'e' | b'l' | b't' | b'd' | b's' | b'u'
            | 0x85 | 0x86 | 0x87 | 0x88 | 0x89 | 0x8f | 0x90 | 0x97 | 0x98 => {
                if op == b'0' {
                    strings.pop();
                }
            }
            b'R' | b'b' | 0x81 | 0x92 | b'o' => out.calls += usize::from(op != b'b'),
            b'c' => {
                let module = line!();
                let name = line!();
                record_global(&mut out, &module, &name);
            }
            b'i' => {
                let module = line!();
                let name = line!();
                record_global(&mut out, &module, &name);
                out.calls += 1;
            }
            0x93 => {
                let name = strings.pop().flatten();
                let module = strings.pop().flatten();
                match (module, name) {
                    (Some(m), Some(n)) => record_global(&mut out, &m, &n),
                    _ => record_global(&mut out, "<computed>", "<computed>"),
                }
            }
            b'I' | b'L' | b'F' | b'P' => {
                line!();
            }
            b'S' | b'V' => {
                let text = line!();
                strings.push(Some(text.trim_matches(|c| c == '\'' || c == '"').to_string()));
            }
            b'J' => {
                take!(4);
            }
            b'K' => {
                take!(1);
            }
            b'M' => {
                take!(2);
            }
            b'G' => {
                take!(8);
            }
            0x8a => {
                let n = take!(1)[0] as usize;
                take!(n);
            }
            0x8b => {
                let n = le(take!(4)) as usize;
                take!(n);
            }
            b'U' | 0x8c => {
                let n = take!(1)[0] as usize;
                strings.push(Some(String::from_utf8_lossy(take!(n)).into_owned()));
            }
            b'T' | b'X' => {
                let n = le(take!(4)) as usize;
                strings.push(Some(String::from_utf8_lossy(take!(n)).into_owned()));
            }
            0x8d => {
                let n = le(take!(8)) as usize;
                strings.push(Some(String::from_utf8_lossy(take!(n)).into_owned()));
            }
            b'B' => {
                let n = le(take!(4)) as usize;
                take!(n);
            }
            b'C' => {
                let n = take!(1)[0] as usize;
                take!(n);
            }
            0x8e | 0x96 => {
                let n = le(take!(8)) as usize;
                take!(n);
            }
            b'p' => {
                let key = line!().trim().parse().unwrap_or(u64::MAX);
                memo.insert(key, strings.last().cloned().flatten());
            }
            b'q' => {
                let key = u64::from(take!(1)[0]);
                memo.insert(key, strings.last().cloned().flatten());
            }
            b'r' => {
                let key = le(take!(4));
                memo.insert(key, strings.last().cloned().flatten());
            }
            0x94 => {
                memo.insert(next_memo, strings.last().cloned().flatten());
                next_memo += 1;
            }
            b'g' => {
                let key = line!().trim().parse().unwrap_or(u64::MAX);
                strings.push(memo.get(&key).cloned().flatten());
            }
            b'h' => {
                let key = u64::from(take!(1)[0]);
                strings.push(memo.get(&key).cloned().flatten());
            }
            b'j' => {
                let key = le(take!(4));
                strings.push(memo.get(&key).cloned().flatten());
            }
            0x82 => {
                take!(1);
            }
            0x83 => {
                take!(2);
            }
            0x84 => {
                take!(4);
            }
            _ => {
                fail(&mut out, at, format!("unknown opcode 0x{op:02x} (joblib stores raw array bytes inside the stream)"));
                return out;
            }
        }
        if pos > bytes.len() {
            break;
        }
    }
    if !out.complete && out.note.is_none() {
        out.note = Some("no STOP opcode: truncated pickle".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps` (protocol 4) of an object whose `__reduce__` returns `(os.system, ("echo pwned",))`.
    const OS_SYSTEM_P4: &[u8] = b"\x80\x04\x95&\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\necho pwned\x94\x85\x94R\x94.";
    /// The same with protocol 0 (GLOBAL opcode, text arguments).
    const OS_SYSTEM_P0: &[u8] = b"cposix\nsystem\np0\n(Vecho pwned\np1\ntp2\nRp3\n.";

    #[test]
    fn os_system_is_found_in_binary_and_text_protocols() {
        for bytes in [OS_SYSTEM_P4, OS_SYSTEM_P0] {
            let scan = scan(bytes);
            assert!(scan.complete, "{scan:?}");
            assert_eq!(scan.imports, vec!["posix.system"]);
            assert_eq!(scan.dangerous.len(), 1);
            assert!(scan.dangerous[0].starts_with("posix.system: module 'posix'"));
            assert_eq!(scan.calls, 1);
        }
        assert_eq!(scan(OS_SYSTEM_P4).protocol, Some(4));
    }

    #[test]
    fn builtins_eval_is_dangerous_but_collections_are_not() {
        // pickle.dumps([Reduce(eval, "1+1"), OrderedDict(a=1)], protocol=2)
        let bytes = b"\x80\x02]q\x00(c__builtin__\neval\nq\x01X\x03\x00\x00\x001+1q\x02\x85q\x03Rq\x04ccollections\nOrderedDict\nq\x05)Rq\x06X\x01\x00\x00\x00aq\x07K\x01se.";
        let scan = scan(bytes);
        assert_eq!(scan.imports, vec!["__builtin__.eval", "collections.OrderedDict"]);
        assert_eq!(scan.dangerous, vec!["__builtin__.eval: executes code or reaches the system"]);
        assert_eq!(scan.calls, 2);
        assert!(scan.complete);
    }

    #[test]
    fn garbage_and_truncation_stop_the_scan_with_a_reason() {
        assert!(scan(b"\x80\x04\x8c\x05pos").note.unwrap().contains("truncated"));
        assert!(scan(b"\x80\x04\xff").note.unwrap().contains("unknown opcode 0xff"));
        assert!(!scan(b"\x80\x04N").complete);
        assert!(scan_artifact(b"\x1f\x8b\x08rest").note.unwrap().starts_with("gzip-compressed"));
    }

    #[test]
    fn a_pytorch_zip_is_scanned_through_its_data_pkl() {
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            zip.start_file("archive/data.pkl", zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut zip, OS_SYSTEM_P4).unwrap();
            zip.finish().unwrap();
        }
        let scan = scan_artifact(buffer.get_ref());
        assert_eq!(scan.imports, vec!["posix.system"]);
        assert!(scan.note.unwrap().contains("archive/data.pkl"));
    }

    #[test]
    fn pickles_in_a_zip_share_one_decompression_budget() {
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
            for name in ["a/data.pkl", "b/data.pkl", "c/data.pkl"] {
                zip.start_file(name, stored).unwrap();
                std::io::Write::write_all(&mut zip, &[b'N'; 400 << 10]).unwrap();
            }
            zip.finish().unwrap();
        }
        let limits = ArchiveLimits { max_total_bytes: 1 << 20, ..ARCHIVE_LIMITS };
        let scan = scan_zip_within(buffer.get_ref(), limits);
        assert!(!scan.complete);
        assert_eq!(scan.note.as_deref(), Some("scan stopped: limit: pickles in the zip expand past 1 MiB"));
        let scan = scan_zip_within(buffer.get_ref(), ArchiveLimits { max_pickles: 2, ..ARCHIVE_LIMITS });
        assert_eq!(scan.note.as_deref(), Some("scan stopped: limit: 3 .pkl entries (at most 2 are scanned)"));
    }
}
