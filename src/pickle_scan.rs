//! A static scan of Python pickle streams (`.pkl`, `.joblib`, PyTorch `.pt` zips): every opcode of
//! every pickle in the stream is walked, never executed, with the unpickler's stack, mark stack
//! and memo tracked exactly, to list the globals the pickle would import and call on load; every
//! global off the allowlist of known-safe ones (`model::pickle_globals`) is flagged.
//!
//! Loading any pickle can run arbitrary code; the scan only says how obviously a file does so.

use std::io::Read;

use serde::Serialize;

use crate::model::pickle_globals::{Verdict, classify};

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
    /// The distinct string constants that could hold a path (a `/`, `\` or `~`), in order of
    /// first appearance, at most [`MAX_STRINGS`]: read from the opcodes, never built by a call.
    #[serde(skip)]
    pub strings: Vec<String>,
}

/// The most string constants a scan keeps.
pub const MAX_STRINGS: usize = 10_000;

impl PickleScan {
    /// Keeps a string constant that could hold a path.
    fn record_string(&mut self, text: &str) {
        if self.strings.len() < MAX_STRINGS && text.contains(['/', '\\', '~']) && !self.strings.iter().any(|s| s == text) {
            self.strings.push(text.to_string());
        }
    }
}

/// Scans an artifact file's bytes: a raw pickle, a PyTorch zip (`*/data.pkl`), or a joblib file
/// compressed with zlib, gzip, LZMA or xz (decompressed under [`ARCHIVE_LIMITS`], then scanned;
/// bz2, lz4 and joblib's old `ZF` format are reported, not decompressed).
pub fn scan_artifact(bytes: &[u8]) -> PickleScan {
    if bytes.starts_with(b"PK\x03\x04") {
        return scan_zip(bytes);
    }
    if let Some(codec) = Codec::sniff(bytes) {
        return scan_compressed(bytes, codec, ARCHIVE_LIMITS);
    }
    let compressed = [(&b"BZh"[..], "bz2"), (&b"\x04\x22\x4d\x18"[..], "lz4"), (&b"ZF"[..], "zlib (joblib)")];
    for (magic, name) in compressed {
        if bytes.starts_with(magic) {
            return PickleScan { note: Some(format!("{name}-compressed pickle: contents not decompressed or scanned")), ..PickleScan::default() };
        }
    }
    scan(bytes)
}

/// Compressions joblib writes that the scan decompresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Zlib,
    Gzip,
    Lzma,
    Xz,
}

impl Codec {
    fn sniff(bytes: &[u8]) -> Option<Self> {
        match bytes {
            [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Some(Self::Zlib),
            [0x1f, 0x8b, ..] => Some(Self::Gzip),
            [0x5d, 0x00, 0x00, ..] => Some(Self::Lzma),
            [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Some(Self::Xz),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Zlib => "zlib",
            Self::Gzip => "gzip",
            Self::Lzma => "lzma",
            Self::Xz => "xz",
        }
    }

    /// Decompresses into `out`, which refuses to grow past its limit.
    fn decompress(self, bytes: &[u8], out: &mut Bounded) -> std::io::Result<()> {
        let mut input = std::io::BufReader::new(bytes);
        let lzma_error = |e: lzma_rs::error::Error| match e {
            lzma_rs::error::Error::IoError(io) => io,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other.to_string()),
        };
        match self {
            Self::Zlib => std::io::copy(&mut flate2::read::ZlibDecoder::new(bytes), out).map(drop),
            Self::Gzip => std::io::copy(&mut flate2::read::MultiGzDecoder::new(bytes), out).map(drop),
            Self::Lzma => {
                // The header's dictionary size is not trusted either.
                let options = lzma_rs::decompress::Options { memlimit: Some(out.limit), ..Default::default() };
                lzma_rs::lzma_decompress_with_options(&mut input, out, &options).map_err(lzma_error)
            }
            Self::Xz => lzma_rs::xz_decompress(&mut input, out).map_err(lzma_error),
        }
    }
}

/// A buffer that fails with [`LimitReached`] instead of growing past `limit` bytes.
struct Bounded {
    data: Vec<u8>,
    limit: usize,
}

/// The error a [`Bounded`] buffer fails with (told apart from codec errors by type).
#[derive(Debug)]
struct LimitReached;

impl std::fmt::Display for LimitReached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompression limit reached")
    }
}

impl std::error::Error for LimitReached {}

impl std::io::Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.data.len().saturating_add(buf.len()) > self.limit {
            return Err(std::io::Error::other(LimitReached));
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Decompresses a compressed joblib file under `limits` and scans the pickle inside.
fn scan_compressed(bytes: &[u8], codec: Codec, limits: ArchiveLimits) -> PickleScan {
    let by_ratio = (bytes.len() as u64).saturating_mul(limits.max_ratio).max(limits.ratio_floor_bytes);
    let limit = by_ratio.min(limits.max_total_bytes);
    let mut out = Bounded { data: Vec::new(), limit: usize::try_from(limit).unwrap_or(usize::MAX) };
    let name = codec.name();
    if let Err(e) = codec.decompress(bytes, &mut out) {
        let reached = e.get_ref().is_some_and(|inner| inner.is::<LimitReached>());
        let note = if !reached {
            Some(format!("{name}-compressed pickle that does not decompress: {e}"))
        } else if limit == by_ratio {
            limit_note(format!("{name}-compressed pickle expands more than {} times its size", limits.max_ratio))
        } else {
            limit_note(format!("{name}-compressed pickle expands past {} MiB", limits.max_total_bytes >> 20))
        };
        return PickleScan { note, ..PickleScan::default() };
    }
    let mut scan = scan(&out.data);
    let size = crate::artifact::human_size(out.data.len() as u64);
    scan.note = Some(match scan.note {
        Some(inner) => format!("{name}-compressed pickle ({size} decompressed): {inner}"),
        None => format!("{name}-compressed pickle ({size} decompressed)"),
    });
    scan
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
pub const ARCHIVE_LIMITS: ArchiveLimits = ArchiveLimits { max_pickles: 16, max_total_bytes: 256 << 20, max_ratio: 100, ratio_floor_bytes: 1 << 20 };

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
        for text in &part.strings {
            combined.record_string(text);
        }
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
fn read_entry(archive: &mut zip::ZipArchive<std::io::Cursor<&[u8]>>, name: &str, limits: &ArchiveLimits, budget: u64) -> Result<Vec<u8>, EntryError> {
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

/// Scans every pickle in `bytes`, one after another (a loader may read more than one).
pub fn scan(bytes: &[u8]) -> PickleScan {
    let mut out = PickleScan::default();
    let mut pos = 0usize;
    let mut pickles = 0usize;
    // One unpickler reads the whole stream: its memo carries over from pickle to pickle.
    let mut machine = Machine::default();
    while pos < bytes.len() {
        machine.stack.clear();
        machine.metastack.clear();
        machine.saved = 0;
        match machine.run(bytes, &mut pos, &mut out) {
            Ok(()) => pickles += 1,
            Err(Stop { at, why }) => {
                out.complete = false;
                let which = if pickles == 0 { String::new() } else { format!(" (pickle {} in the stream)", pickles + 1) };
                out.note = Some(format!("scan stopped at byte {at}{which}: {why}"));
                return out;
            }
        }
        out.complete = true;
    }
    if pickles == 0 {
        out.note = Some("empty file: no pickle".to_string());
    } else if pickles > 1 {
        out.note = Some(format!("{pickles} pickles in the stream, each scanned"));
    }
    out
}

/// Python's `raw-unicode-escape` decoding (protocol 0's UNICODE opcode): `\uXXXX` and
/// `\UXXXXXXXX` become their character; everything else, other backslashes included, stays.
fn raw_unicode_unescape(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let width = match after.as_bytes().first() {
            Some(b'u') => 4,
            Some(b'U') => 8,
            _ => 0,
        };
        let decoded = after.get(1..=width).filter(|_| width > 0).and_then(|hex| u32::from_str_radix(hex, 16).ok()).and_then(char::from_u32);
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[1 + width..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The opcodes `pickle._Unpickler` dispatches on, named as `pickletools` names them.
mod opcode {
    // Protocol 0 and 1.
    pub const MARK: u8 = b'(';
    pub const STOP: u8 = b'.';
    pub const POP: u8 = b'0';
    pub const POP_MARK: u8 = b'1';
    pub const DUP: u8 = b'2';
    pub const FLOAT: u8 = b'F';
    pub const INT: u8 = b'I';
    pub const BININT: u8 = b'J';
    pub const BININT1: u8 = b'K';
    pub const LONG: u8 = b'L';
    pub const BININT2: u8 = b'M';
    pub const NONE: u8 = b'N';
    pub const PERSID: u8 = b'P';
    pub const BINPERSID: u8 = b'Q';
    pub const REDUCE: u8 = b'R';
    pub const STRING: u8 = b'S';
    pub const BINSTRING: u8 = b'T';
    pub const SHORT_BINSTRING: u8 = b'U';
    pub const UNICODE: u8 = b'V';
    pub const BINUNICODE: u8 = b'X';
    pub const APPEND: u8 = b'a';
    pub const BUILD: u8 = b'b';
    pub const GLOBAL: u8 = b'c';
    pub const DICT: u8 = b'd';
    pub const EMPTY_DICT: u8 = b'}';
    pub const APPENDS: u8 = b'e';
    pub const GET: u8 = b'g';
    pub const BINGET: u8 = b'h';
    pub const INST: u8 = b'i';
    pub const LONG_BINGET: u8 = b'j';
    pub const LIST: u8 = b'l';
    pub const EMPTY_LIST: u8 = b']';
    pub const OBJ: u8 = b'o';
    pub const PUT: u8 = b'p';
    pub const BINPUT: u8 = b'q';
    pub const LONG_BINPUT: u8 = b'r';
    pub const SETITEM: u8 = b's';
    pub const TUPLE: u8 = b't';
    pub const EMPTY_TUPLE: u8 = b')';
    pub const SETITEMS: u8 = b'u';
    pub const BINFLOAT: u8 = b'G';
    // Protocol 2.
    pub const PROTO: u8 = 0x80;
    pub const NEWOBJ: u8 = 0x81;
    pub const EXT1: u8 = 0x82;
    pub const EXT2: u8 = 0x83;
    pub const EXT4: u8 = 0x84;
    pub const TUPLE1: u8 = 0x85;
    pub const TUPLE2: u8 = 0x86;
    pub const TUPLE3: u8 = 0x87;
    pub const NEWTRUE: u8 = 0x88;
    pub const NEWFALSE: u8 = 0x89;
    pub const LONG1: u8 = 0x8a;
    pub const LONG4: u8 = 0x8b;
    // Protocol 3.
    pub const BINBYTES: u8 = b'B';
    pub const SHORT_BINBYTES: u8 = b'C';
    // Protocol 4.
    pub const SHORT_BINUNICODE: u8 = 0x8c;
    pub const BINUNICODE8: u8 = 0x8d;
    pub const BINBYTES8: u8 = 0x8e;
    pub const EMPTY_SET: u8 = 0x8f;
    pub const ADDITEMS: u8 = 0x90;
    pub const FROZENSET: u8 = 0x91;
    pub const NEWOBJ_EX: u8 = 0x92;
    pub const STACK_GLOBAL: u8 = 0x93;
    pub const MEMOIZE: u8 = 0x94;
    pub const FRAME: u8 = 0x95;
    // Protocol 5.
    pub const BYTEARRAY8: u8 = 0x96;
    pub const NEXT_BUFFER: u8 = 0x97;
    pub const READONLY_BUFFER: u8 = 0x98;
}

/// Why the walk stopped before STOP: where, and what a loader would have met there.
struct Stop {
    at: usize,
    why: String,
}

/// What the scan knows about a value on the unpickler's stack.
#[derive(Debug, Clone)]
enum Value {
    /// A `str` (text opcodes; protocol 0-2 byte strings load as `str` too).
    Str(std::rc::Rc<str>),
    /// Known not to be a `str`: a number, bytes, None, a container, a global.
    NotStr,
    /// The result of a call or a persistent load: could be anything, a `str` included.
    Unknown,
    /// A small integer (joblib array shapes and alignment).
    Int(i64),
    Tuple(std::rc::Rc<Vec<Value>>),
    /// A dict, shared as Python shares it (the memo may hold it while SETITEMS fills it).
    Dict(std::rc::Rc<std::cell::RefCell<Vec<(Value, Value)>>>),
    /// A global: `module.name`.
    Global(std::rc::Rc<str>),
    /// A `numpy.dtype` built by REDUCE, completed by BUILD.
    Dtype(std::rc::Rc<std::cell::RefCell<Dtype>>),
    /// A `joblib.numpy_pickle.NumpyArrayWrapper` before its BUILD: the array's raw bytes follow
    /// that BUILD in the stream.
    ArrayWrapper,
}

impl Value {
    /// Whether the value is certainly not a `str` (a loader would refuse it as a global's name).
    fn is_not_str(&self) -> bool {
        !matches!(self, Value::Str(_) | Value::Unknown)
    }
}

/// What joblib's array reader needs from a dtype.
#[derive(Debug, Clone)]
struct Dtype {
    /// `f8`, `U2`, `O8`, ...
    code: String,
    /// The element size from the dtype's state (`-1`: given by the code).
    elsize: i64,
}

/// The classes joblib writes in front of an array's raw bytes.
const JOBLIB_WRAPPERS: &[&str] = &["joblib.numpy_pickle.NumpyArrayWrapper", "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper"];

/// Values the unpickler's stack and memo may hold at once (about 24 bytes each): pickles build
/// containers a batch of 1000 items at a time, so real ones stay far below.
const MAX_VALUES: usize = 1 << 22;

/// Fields a joblib array wrapper's state may have (joblib writes six).
const MAX_WRAPPER_FIELDS: usize = 32;

/// How deeply object arrays may hold pickles holding object arrays.
const MAX_NESTED_PICKLES: usize = 8;

/// The unpickler's state, modelled exactly as `pickle._Unpickler` keeps it: the stack, the
/// stack of stacks saved by MARK, and the memo.
#[derive(Default)]
struct Machine {
    stack: Vec<Value>,
    metastack: Vec<Vec<Value>>,
    /// Values held in the frames below MARKs, with `stack` the unpickler's whole stack.
    saved: usize,
    memo: std::collections::HashMap<u64, Value>,
    /// Pickles this one is nested in (joblib object arrays).
    depth: usize,
}

impl Machine {
    fn pop(&mut self) -> Result<Value, String> {
        self.stack.pop().ok_or_else(|| "pops from an empty stack".to_string())
    }

    fn top(&self) -> Result<&Value, String> {
        self.stack.last().ok_or_else(|| "reads the top of an empty stack".to_string())
    }

    /// Python's `pop_mark`: the items since the last MARK, restoring the stack below it.
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let below = self.metastack.pop().ok_or_else(|| "no MARK to pop to".to_string())?;
        self.saved -= below.len();
        Ok(std::mem::replace(&mut self.stack, below))
    }

    fn pop_n(&mut self, n: usize) -> Result<(), String> {
        for _ in 0..n {
            self.pop()?;
        }
        Ok(())
    }

    fn put(&mut self, key: u64) -> Result<(), String> {
        let value = self.top()?.clone();
        self.memo.insert(key, value);
        Ok(())
    }

    fn get(&mut self, key: u64) -> Result<(), String> {
        let value = self.memo.get(&key).cloned().ok_or_else(|| format!("memo key {key} was never stored"))?;
        self.stack.push(value);
        Ok(())
    }

    /// Runs one pickle from `*pos` through its STOP, recording globals and calls in `out`.
    fn run(&mut self, bytes: &[u8], pos: &mut usize, out: &mut PickleScan) -> Result<(), Stop> {
        while *pos < bytes.len() {
            let at = *pos;
            let op = bytes[at];
            *pos += 1;
            let mut reader = Reader { bytes, pos };
            match self.step(op, &mut reader, out) {
                Ok(Flow::Continue) if self.saved + self.stack.len() + self.metastack.len() + self.memo.len() > MAX_VALUES => {
                    return Err(Stop { at, why: format!("limit: more than {MAX_VALUES} values on the stack and in the memo") });
                }
                Ok(Flow::Continue) => {}
                Ok(Flow::Stop) => return Ok(()),
                Err(why) => return Err(Stop { at, why }),
            }
        }
        Err(Stop { at: bytes.len(), why: "no STOP opcode: truncated pickle".to_string() })
    }

    /// One opcode, with the stack effect `pickle._Unpickler` gives it.
    fn step(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<Flow, String> {
        if op == opcode::STOP {
            self.pop()?;
            return Ok(Flow::Stop);
        }
        let known = self.control(op, r, out)?
            || self.literal(op, r, out)?
            || self.container(op)?
            || self.global(op, r, out)?
            || self.call(op, r, out)?
            || self.memo_op(op, r)?
            || self.build(op, r, out)?;
        if !known {
            return Err(format!("unknown opcode 0x{op:02x}"));
        }
        Ok(Flow::Continue)
    }

    /// Framing, MARK, POP, DUP. `false`: not one of these.
    fn control(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<bool, String> {
        match op {
            opcode::PROTO => out.protocol = out.protocol.max(Some(r.take(1)?[0])),
            opcode::FRAME => {
                r.take(8)?;
            }
            opcode::MARK => {
                self.saved += self.stack.len();
                self.metastack.push(std::mem::take(&mut self.stack));
            }
            opcode::POP => {
                if self.stack.pop().is_none() {
                    self.pop_mark()?;
                }
            }
            opcode::POP_MARK => {
                self.pop_mark()?;
            }
            opcode::DUP => {
                let top = self.top()?.clone();
                self.stack.push(top);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Numbers, strings, bytes and empty containers pushed from the opcode's argument.
    fn literal(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<bool, String> {
        let mut text = |b: &[u8]| {
            let text = String::from_utf8_lossy(b);
            out.record_string(&text);
            Value::Str(text.into())
        };
        match op {
            // Values that are not strings.
            opcode::NONE | opcode::NEWTRUE | opcode::NEWFALSE | opcode::EMPTY_LIST | opcode::EMPTY_SET => self.stack.push(Value::NotStr),
            opcode::EMPTY_TUPLE => self.stack.push(Value::Tuple(Default::default())),
            opcode::EMPTY_DICT => self.stack.push(Value::Dict(Default::default())),
            opcode::INT | opcode::LONG | opcode::FLOAT => {
                r.line()?;
                self.stack.push(Value::NotStr);
            }
            opcode::BININT => {
                let bytes = r.take(4)?;
                self.stack.push(Value::Int(i64::from(i32::from_le_bytes(bytes.try_into().expect("4 bytes")))));
            }
            opcode::BININT1 | opcode::BININT2 => {
                let value = r.len(if op == opcode::BININT1 { 1 } else { 2 })?;
                self.stack.push(Value::Int(value as i64));
            }
            opcode::BINFLOAT => {
                r.take(8)?;
                self.stack.push(Value::NotStr);
            }
            opcode::LONG1 | opcode::LONG4 | opcode::BINBYTES | opcode::SHORT_BINBYTES | opcode::BINBYTES8 | opcode::BYTEARRAY8 => {
                let n = match op {
                    opcode::LONG1 | opcode::SHORT_BINBYTES => r.len(1)?,
                    opcode::LONG4 | opcode::BINBYTES => r.len(4)?,
                    _ => r.len(8)?,
                };
                r.take(n)?;
                self.stack.push(Value::NotStr);
            }
            // Strings.
            opcode::STRING => {
                let line = r.line()?;
                let quoted = line.len() >= 2 && matches!(line[0], b'\'' | b'"') && line[line.len() - 1] == line[0];
                if !quoted {
                    return Err("STRING opcode argument must be quoted".to_string());
                }
                self.stack.push(text(&line[1..line.len() - 1]));
            }
            opcode::UNICODE => {
                // Protocol 0 writes text raw-unicode-escaped: `\u005c` is a backslash.
                let line = raw_unicode_unescape(r.line()?);
                self.stack.push(text(line.as_bytes()));
            }
            opcode::SHORT_BINSTRING | opcode::SHORT_BINUNICODE | opcode::BINSTRING | opcode::BINUNICODE | opcode::BINUNICODE8 => {
                let n = match op {
                    opcode::SHORT_BINSTRING | opcode::SHORT_BINUNICODE => r.len(1)?,
                    opcode::BINSTRING | opcode::BINUNICODE => r.len(4)?,
                    _ => r.len(8)?,
                };
                let bytes = r.take(n)?;
                self.stack.push(text(bytes));
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Containers built from, or filled from, the stack.
    fn container(&mut self, op: u8) -> Result<bool, String> {
        match op {
            opcode::TUPLE => {
                let items = self.pop_mark()?;
                self.stack.push(Value::Tuple(items.into()));
            }
            opcode::LIST | opcode::DICT | opcode::FROZENSET => {
                self.pop_mark()?;
                self.stack.push(Value::NotStr);
            }
            opcode::TUPLE1 | opcode::TUPLE2 | opcode::TUPLE3 => {
                let n = usize::from(op - opcode::TUPLE1) + 1;
                let at = self.stack.len().checked_sub(n).ok_or("pops from an empty stack")?;
                let items = self.stack.split_off(at);
                self.stack.push(Value::Tuple(items.into()));
            }
            opcode::APPEND => {
                self.pop()?;
                self.top()?;
            }
            opcode::SETITEM => {
                let value = self.pop()?;
                let key = self.pop()?;
                if let Value::Dict(dict) = self.top()? {
                    dict.borrow_mut().push((key, value));
                }
            }
            opcode::SETITEMS => {
                let items = self.pop_mark()?;
                if let Value::Dict(dict) = self.top()? {
                    let mut pairs = items.into_iter();
                    while let (Some(key), Some(value)) = (pairs.next(), pairs.next()) {
                        dict.borrow_mut().push((key, value));
                    }
                }
            }
            opcode::APPENDS | opcode::ADDITEMS => {
                self.pop_mark()?;
                self.top()?;
            }
            opcode::NEXT_BUFFER => self.stack.push(Value::Unknown),
            opcode::READONLY_BUFFER => {
                self.top()?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Globals: imported by name, computed from the stack, or from the extension registry.
    fn global(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<bool, String> {
        match op {
            opcode::GLOBAL => {
                let module = String::from_utf8_lossy(r.line()?).into_owned();
                let name = String::from_utf8_lossy(r.line()?).into_owned();
                record_global(out, &module, &name)?;
                self.stack.push(Value::Global(format!("{module}.{name}").into()));
            }
            opcode::STACK_GLOBAL => {
                let name = self.pop()?;
                let module = self.pop()?;
                let global = match (module, name) {
                    (Value::Str(m), Value::Str(n)) => {
                        record_global(out, &m, &n)?;
                        Value::Global(format!("{m}.{n}").into())
                    }
                    (m, n) if m.is_not_str() || n.is_not_str() => return Err("STACK_GLOBAL requires str".to_string()),
                    _ => {
                        record_computed(out);
                        Value::Unknown
                    }
                };
                self.stack.push(global);
            }
            opcode::EXT1 | opcode::EXT2 | opcode::EXT4 => {
                let code = r.len(match op {
                    opcode::EXT1 => 1,
                    opcode::EXT2 => 2,
                    _ => 4,
                })?;
                record_extension(out, code);
                self.stack.push(Value::NotStr);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Calls (which build objects) and persistent ids.
    fn call(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<bool, String> {
        match op {
            opcode::INST => {
                let module = String::from_utf8_lossy(r.line()?).into_owned();
                let name = String::from_utf8_lossy(r.line()?).into_owned();
                self.pop_mark()?;
                record_global(out, &module, &name)?;
                out.calls += 1;
                self.stack.push(Value::Unknown);
            }
            opcode::OBJ => {
                let items = self.pop_mark()?;
                if items.is_empty() {
                    return Err("OBJ without a class".to_string());
                }
                out.calls += 1;
                self.stack.push(Value::Unknown);
            }
            opcode::REDUCE | opcode::NEWOBJ => {
                let args = self.pop()?;
                let callable = self.pop()?;
                out.calls += 1;
                self.stack.push(built(op, &callable, &args));
            }
            opcode::NEWOBJ_EX => {
                self.pop_n(3)?;
                out.calls += 1;
                self.stack.push(Value::Unknown);
            }
            opcode::PERSID => {
                r.line()?;
                self.stack.push(Value::Unknown);
            }
            opcode::BINPERSID => {
                self.pop()?;
                self.stack.push(Value::Unknown);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// BUILD: sets an object's state. A dtype takes its element size; a joblib array wrapper is
    /// followed in the stream by its array, which is skipped (raw bytes) or scanned (an object
    /// array is a pickle of its own).
    fn build(&mut self, op: u8, r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<bool, String> {
        if op != opcode::BUILD {
            return Ok(false);
        }
        let state = self.pop()?;
        match (self.top()?.clone(), state) {
            (Value::Dtype(dtype), Value::Tuple(items)) => {
                if let Some(Value::Int(elsize)) = items.get(5) {
                    dtype.borrow_mut().elsize = *elsize;
                }
            }
            (Value::ArrayWrapper, Value::Dict(fields)) => {
                // A wrapper's state has six fields; a large dict (shared by many wrappers through
                // the memo) would make every lookup slow.
                if fields.borrow().len() > MAX_WRAPPER_FIELDS {
                    return Err("joblib array wrapper with an unexpected state".to_string());
                }
                self.read_joblib_array(&fields.borrow(), r, out)?;
                *self.stack.last_mut().expect("checked by top") = Value::NotStr;
            }
            _ => {}
        }
        Ok(true)
    }

    /// Skips or scans the array joblib wrote after a `NumpyArrayWrapper` with these fields
    /// (as `NumpyArrayWrapper.read_array` reads it).
    fn read_joblib_array(&mut self, fields: &[(Value, Value)], r: &mut Reader<'_, '_>, out: &mut PickleScan) -> Result<(), String> {
        let field = |key: &str| fields.iter().rev().find(|(k, _)| matches!(k, Value::Str(s) if &**s == key)).map(|(_, v)| v);
        let Some(Value::Dtype(dtype)) = field("dtype") else { return Err("joblib array without a readable dtype".to_string()) };
        let dtype = dtype.borrow().clone();
        if dtype.code.starts_with('O') {
            if self.depth >= MAX_NESTED_PICKLES {
                return Err("object arrays nested too deep".to_string());
            }
            let mut nested = Machine { depth: self.depth + 1, ..Machine::default() };
            return nested.run(r.bytes, r.pos, out).map_err(|stop| format!("in an object array's pickle: {}", stop.why));
        }
        // Raw bytes start on an aligned offset: one byte gives the padding's length.
        if matches!(field("numpy_array_alignment_bytes"), Some(Value::Int(_))) {
            let padding = r.len(1)?;
            r.take(padding)?;
        }
        let Some(Value::Tuple(shape)) = field("shape") else { return Err("joblib array without a readable shape".to_string()) };
        let count = shape.iter().try_fold(1u64, |n, d| match d {
            Value::Int(d) if *d >= 0 => n.checked_mul(*d as u64),
            _ => None,
        });
        let itemsize = if dtype.elsize >= 0 {
            Some(dtype.elsize as u64)
        } else {
            dtype.code.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<u64>().ok()
        };
        let size = count.zip(itemsize).and_then(|(n, s)| n.checked_mul(s)).ok_or("joblib array of unreadable size")?;
        r.take(usize::try_from(size).map_err(|_| "joblib array of unreadable size")?)?;
        Ok(())
    }

    /// PUT, GET and MEMOIZE.
    fn memo_op(&mut self, op: u8, r: &mut Reader<'_, '_>) -> Result<bool, String> {
        match op {
            opcode::PUT => {
                let key = r.decimal()?;
                self.put(key)?;
            }
            opcode::BINPUT => {
                let key = r.len(1)? as u64;
                self.put(key)?;
            }
            opcode::LONG_BINPUT => {
                let key = r.len(4)? as u64;
                self.put(key)?;
            }
            opcode::MEMOIZE => {
                let key = self.memo.len() as u64;
                self.put(key)?;
            }
            opcode::GET => {
                let key = r.decimal()?;
                self.get(key)?;
            }
            opcode::BINGET => {
                let key = r.len(1)? as u64;
                self.get(key)?;
            }
            opcode::LONG_BINGET => {
                let key = r.len(4)? as u64;
                self.get(key)?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// What REDUCE or NEWOBJ of `callable` with `args` builds, as far as joblib arrays need it.
fn built(op: u8, callable: &Value, args: &Value) -> Value {
    let Value::Global(name) = callable else { return Value::Unknown };
    match (op, &**name, args) {
        (opcode::REDUCE, "numpy.dtype", Value::Tuple(items)) => match items.first() {
            Some(Value::Str(code)) => Value::Dtype(std::rc::Rc::new(std::cell::RefCell::new(Dtype { code: code.to_string(), elsize: -1 }))),
            _ => Value::Unknown,
        },
        (opcode::NEWOBJ, wrapper, _) if JOBLIB_WRAPPERS.contains(&wrapper) => Value::ArrayWrapper,
        _ => Value::Unknown,
    }
}

enum Flow {
    Continue,
    Stop,
}

/// Reads opcode arguments, never past the end of the stream.
struct Reader<'a, 'p> {
    bytes: &'a [u8],
    pos: &'p mut usize,
}

impl<'a> Reader<'a, '_> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or("truncated argument")?;
        let slice = &self.bytes[*self.pos..end];
        *self.pos = end;
        Ok(slice)
    }

    /// A little-endian unsigned length or key of `width` bytes.
    fn len(&mut self, width: usize) -> Result<usize, String> {
        let bytes = self.take(width)?;
        let value = bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        usize::try_from(value).map_err(|_| "length out of range".to_string())
    }

    /// A newline-terminated argument (protocol 0), without the newline.
    fn line(&mut self) -> Result<&'a [u8], String> {
        let rest = &self.bytes[*self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("unterminated line argument")?;
        *self.pos += end + 1;
        Ok(&rest[..end])
    }

    /// A decimal memo key on its own line (PUT, GET).
    fn decimal(&mut self) -> Result<u64, String> {
        let line = self.line()?;
        std::str::from_utf8(line).ok().and_then(|t| t.trim().parse().ok()).ok_or_else(|| "memo key is not a number".to_string())
    }
}

/// Records an import; past [`MAX_IMPORTS`] distinct ones the scan stops (a real model names a
/// few dozen; each is compared with every other).
fn record_global(out: &mut PickleScan, module: &str, name: &str) -> Result<(), String> {
    let full = format!("{module}.{name}");
    if out.imports.contains(&full) {
        return Ok(());
    }
    if out.imports.len() >= MAX_IMPORTS {
        return Err(format!("limit: more than {MAX_IMPORTS} distinct globals"));
    }
    out.imports.push(full);
    if let Verdict::Flagged(why) = classify(module, name) {
        out.dangerous.push(why);
    }
    Ok(())
}

/// Distinct globals one scan lists.
const MAX_IMPORTS: usize = 4096;

/// A STACK_GLOBAL whose module or name is computed at load time (by a call): never resolved.
fn record_computed(out: &mut PickleScan) {
    let full = "<computed>.<computed>".to_string();
    if !out.imports.contains(&full) {
        out.imports.push(full);
        out.dangerous.push("<computed>.<computed>: a global whose name is computed while loading".to_string());
    }
}

/// EXT1/2/4: a global from the copyreg extension registry, unknown to a static scan.
fn record_extension(out: &mut PickleScan, code: usize) {
    let full = format!("<extension {code}>");
    if !out.imports.contains(&full) {
        out.imports.push(full.clone());
        out.dangerous.push(format!("{full}: a global from the copyreg extension registry"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps` (protocol 4) of an object whose `__reduce__` returns `(os.system, ("echo pwned",))`.
    const OS_SYSTEM_P4: &[u8] =
        b"\x80\x04\x95&\x00\x00\x00\x00\x00\x00\x00\x8c\x05posix\x94\x8c\x06system\x94\x93\x94\x8c\necho pwned\x94\x85\x94R\x94.";
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
    fn string_constants_that_could_be_paths_are_kept_once_in_every_protocol() {
        // pickle.dumps({'memory': '/home/alice/cache', 'n': 'plain', 'w': 'C:\\Users\\bob\\x', 'again': '/home/alice/cache'}, protocol=p)
        let p0: &[u8] =
            b"(dp0\nVmemory\np1\nV/home/alice/cache\np2\nsVn\np3\nVplain\np4\nsVw\np5\nVC:\\u005cUsers\\u005cbob\\u005cx\np6\nsVagain\np7\ng2\ns.";
        let p4: &[u8] = b"\x80\x04\x95M\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x06memory\x94\x8c\x11/home/alice/cache\x94\x8c\x01n\x94\x8c\x05plain\x94\x8c\x01w\x94\x8c\x0eC:\\Users\\bob\\x\x94\x8c\x05again\x94h\x02u.";
        for bytes in [p0, p4] {
            let scan = scan(bytes);
            assert!(scan.complete, "{scan:?}");
            assert_eq!(scan.strings, ["/home/alice/cache", "C:\\Users\\bob\\x"]);
        }
        assert_eq!(raw_unicode_unescape(br"a\u005cb\U0001F600c\x\u00"), "a\\b\u{1F600}c\\x\\u00");
        // A loader decodes `\u006f` to `o`: the import is `os.system`, as Python would read it.
        let hidden = scan(b"V\\u006fs\nVsystem\n\x93.");
        assert_eq!(hidden.imports, ["os.system"]);
        assert_eq!(hidden.dangerous.len(), 1, "{hidden:?}");
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
    fn the_stack_and_memo_are_bounded() {
        let mut bytes = b"N".to_vec();
        bytes.extend(std::iter::repeat_n(b'2', MAX_VALUES));
        let note = scan(&bytes).note.unwrap();
        assert!(note.ends_with(": limit: more than 4194304 values on the stack and in the memo"), "{note}");
        // The same with the values below MARKs.
        let bytes: Vec<u8> = std::iter::repeat_n(&b"N("[..], MAX_VALUES / 2 + 1).flatten().copied().collect();
        let note = scan(&bytes).note.unwrap();
        assert!(note.ends_with(": limit: more than 4194304 values on the stack and in the memo"), "{note}");
    }

    #[test]
    fn the_number_of_distinct_globals_is_bounded() {
        let mut bytes = Vec::new();
        for i in 0..=MAX_IMPORTS {
            bytes.extend_from_slice(format!("cm\nn{i}\n0").as_bytes());
        }
        bytes.extend_from_slice(b"N.");
        let scan = scan(&bytes);
        assert!(!scan.complete);
        assert_eq!(scan.imports.len(), MAX_IMPORTS);
        assert!(scan.note.unwrap().ends_with(": limit: more than 4096 distinct globals"));
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
