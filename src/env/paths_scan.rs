//! Hardcoded paths: absolute and user-home paths that exist only on the machine that wrote them
//! (`/Users/alice/...`, `/home/bob/...`, `C:\Users\...`, `~/data/...`), found in any text (a
//! model's metadata, a pickle's strings) and in the serving code, configs and container files of
//! a project folder, each with where it sits (code, comment, docstring, test).
//!
//! What counts as a developer's machine (README, "hardcoded_paths"): home folders (`/Users/<name>`,
//! `/home/<name>`, `[A-Z]:\Users\<name>`, `~/<name>`), removable and external drives
//! (`/Volumes/<name>`, `/media/<name>`), WSL's Windows drives (`/mnt/c/...`), `file://` URLs to
//! any of these, and Windows drive paths (`D:\data\x.csv`: no Linux server has them). Never
//! reported: system and container paths (`/usr`, `/bin`, `/etc`, `/tmp`, `/dev`, `/proc`, `/var`,
//! `/opt`, `/app`, `/srv`, `/models`, `/data`, `/workspace`, `/root`, `/mnt/<name>`: where images
//! put code and volumes are mounted; `C:\Windows`, `C:\ProgramData`, `C:\Program Files`), a path
//! inside a URL (`https://host/home/...`), `~/.name` and `~/Library/...` (per-user caches and
//! configs every machine has), and paths inside a container image: every `/home/...` of a
//! container file, a `/home/<name>` a container file creates or names in the files it copies into
//! its image (not in the rest of the project), and Kubernetes
//! `mountPath`/`workingDir`/`subPath` values. Nothing here decides a status: the check does.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::project_walk;
use crate::sandbox::open::{self, OpenError};

/// Which kind of machine-specific path a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathKind {
    /// `/Users/<name>`, `/home/<name>`, `C:\Users\<name>`.
    Home,
    /// `~/<name>`: the home of whoever runs it.
    Tilde,
    /// `/Volumes/<name>`, `/media/<name>`, `/mnt/c/`: a drive plugged into one machine.
    Drive,
    /// `D:\data\...`: a Windows drive path.
    WindowsDrive,
    /// `/content/drive/MyDrive/...`, `/kaggle/input/...`: one hosted notebook's session.
    Hosted,
    /// `/private/var/folders/...`: macOS's per-user temporary folder.
    Temp,
}

impl PathKind {
    /// How a finding describes it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Home => "a home folder on one machine",
            Self::Tilde => "the home folder of whoever runs it",
            Self::Drive => "a drive mounted on one machine",
            Self::WindowsDrive => "a Windows drive path",
            Self::Hosted => "a folder of one hosted notebook session (Colab, Kaggle)",
            Self::Temp => "a macOS per-user temporary folder",
        }
    }
}

/// One machine-specific path inside a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathMatch {
    /// Byte offset of the match in the text.
    pub start: usize,
    /// The path as written (a `file://` prefix included).
    pub path: String,
    pub kind: PathKind,
}

/// Every machine-specific path in `text`.
pub fn find_paths(text: &str) -> Vec<PathMatch> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii() || !starts_token(bytes, i) {
            i += 1;
            continue;
        }
        let url = starts_with_ignore_case(&bytes[i..], b"file://");
        let mut at = if url { i + 7 } else { i };
        // `file:///C:/Users/...`: the drive follows the third slash.
        if url && bytes.get(at) == Some(&b'/') && bytes.get(at + 1).is_some_and(u8::is_ascii_alphabetic) && bytes.get(at + 2) == Some(&b':') {
            at += 1;
        }
        match match_at(bytes, at) {
            Some((end, kind)) => {
                let end = trim_end(bytes, i, end);
                found.push(PathMatch { start: i, path: text[i..end].to_string(), kind });
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

/// Whether a path may start at `i`: not inside a word, a URL, a longer path or a template.
fn starts_token(bytes: &[u8], i: usize) -> bool {
    match i.checked_sub(1).map(|p| bytes[p]) {
        None => true,
        Some(p) => !(p.is_ascii_alphanumeric() || b"_/\\.-})]$%~@*+&#?".contains(&p)),
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// The length of a path separator at `i`: `/`, `\`, or `\\` (a backslash escaped in source).
fn separator(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i) {
        Some(b'/') => Some(1),
        Some(b'\\') if bytes.get(i + 1) == Some(&b'\\') => Some(2),
        Some(b'\\') => Some(1),
        _ => None,
    }
}

/// A folder or file name at `i` (letters, digits, `.`, `_`, `-`; not starting with `.`): its end.
fn name(bytes: &[u8], i: usize) -> Option<usize> {
    let len = bytes[i.min(bytes.len())..].iter().take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')).count();
    (len > 0 && bytes[i] != b'.').then_some(i + len)
}

/// Where the path starting at `i` ends: at whitespace, a quote, a bracket or a delimiter.
fn path_end(bytes: &[u8], i: usize) -> usize {
    let stop = |b: &u8| b.is_ascii_whitespace() || b"\"'`,;:()[]{}<>|*?".contains(b) || b.is_ascii_control();
    i + bytes[i..].iter().take_while(|b| !stop(b)).count()
}

/// The end without trailing sentence punctuation or separators.
fn trim_end(bytes: &[u8], start: usize, mut end: usize) -> usize {
    while end > start + 1 && matches!(bytes[end - 1], b'.' | b'\\') {
        end -= 1;
    }
    end
}

/// A machine-specific path starting exactly at `i`: its end and kind.
fn match_at(bytes: &[u8], i: usize) -> Option<(usize, PathKind)> {
    let rest = &bytes[i.min(bytes.len())..];
    if rest.starts_with(b"~/") {
        // macOS's per-user Library (fonts, caches, logs) is there on every Mac, like `~/.cache`.
        if rest[2..].starts_with(b"Library/") || &rest[2..] == b"Library" {
            return None;
        }
        return name(bytes, i + 2).map(|_| (path_end(bytes, i), PathKind::Tilde));
    }
    if rest.first() == Some(&b'/') {
        return unix_path(bytes, i);
    }
    windows_path(bytes, i)
}

/// `/Users/<name>`, `/home/<name>`, `/Volumes/<name>`, `/media/<name>`, `/mnt/<letter>/`.
fn unix_path(bytes: &[u8], i: usize) -> Option<(usize, PathKind)> {
    const ROOTS: [(&[u8], PathKind); 4] =
        [(b"/Users/", PathKind::Home), (b"/home/", PathKind::Home), (b"/Volumes/", PathKind::Drive), (b"/media/", PathKind::Drive)];
    let rest = &bytes[i..];
    for (root, kind) in ROOTS {
        if rest.starts_with(root) {
            let after = name(bytes, i + root.len())?;
            // The name must end the path or be followed by a separator: `/home/alice/x`, not `/home/a[b]`.
            return (after == path_end(bytes, i) || bytes.get(after) == Some(&b'/')).then(|| (path_end(bytes, i), kind));
        }
    }
    const HOSTED: [(&[u8], PathKind); 3] =
        [(b"/content/drive/", PathKind::Hosted), (b"/kaggle/input/", PathKind::Hosted), (b"/private/var/folders/", PathKind::Temp)];
    for (root, kind) in HOSTED {
        if rest.starts_with(root) {
            return name(bytes, i + root.len()).map(|_| (path_end(bytes, i), kind));
        }
    }
    if rest.starts_with(b"/mnt/") && rest.len() >= 7 && rest[5].is_ascii_lowercase() && rest[6] == b'/' {
        return name(bytes, i + 7).map(|_| (path_end(bytes, i), PathKind::Drive));
    }
    None
}

/// `C:\Users\<name>`, `C:/Users/<name>`, and other drive paths with a folder and a file or
/// subfolder (`D:\data\train.csv`): a lone `x:\d` is a regular expression, not a path.
fn windows_path(bytes: &[u8], i: usize) -> Option<(usize, PathKind)> {
    if !(bytes.get(i)?.is_ascii_alphabetic() && bytes.get(i + 1) == Some(&b':')) {
        return None;
    }
    let first = i + 2 + separator(bytes, i + 2)?;
    let folder_end = name(bytes, first)?;
    let end = windows_end(bytes, i);
    if bytes[first..folder_end].eq_ignore_ascii_case(b"Users") {
        let user = folder_end + separator(bytes, folder_end)?;
        return name(bytes, user).map(|_| (end, PathKind::Home));
    }
    // The system's own folders (`C:\Windows`, `C:\ProgramData`, `C:\Program Files`) are on every Windows machine.
    let folder = &bytes[first..folder_end];
    if [&b"Windows"[..], b"ProgramData"].iter().any(|f| folder.eq_ignore_ascii_case(f)) || bytes[first..].starts_with(b"Program Files") {
        return None;
    }
    let deeper = separator(bytes, folder_end).is_some_and(|s| name(bytes, folder_end + s).is_some());
    let file = bytes[first..folder_end].contains(&b'.');
    (deeper || file).then_some((end, PathKind::WindowsDrive))
}

/// Where a Windows path ends (after its drive's colon).
fn windows_end(bytes: &[u8], i: usize) -> usize {
    path_end(bytes, i + 2)
}

/// Where a string sits in a file: what it means for the model that is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Context {
    /// Code, a config value, a model value: read when the model is served.
    Code,
    /// A `#` comment (in a script, a config, or the text of a Python triple-quoted string).
    Comment,
    /// A docstring or another string that is a statement of its own; a model's doc_string.
    Doc,
    /// A file in a test folder or a test module.
    Test,
    /// A string that is prose showing an example (`help="e.g. /home/you/x.csv"`), or a path of a
    /// placeholder user (`/home/you/...`): documentation, not a path the code opens.
    Example,
}

impl Context {
    /// How a finding names it (empty for code).
    pub fn label(self) -> &'static str {
        match self {
            Self::Code => "",
            Self::Comment => " (comment)",
            Self::Doc => " (docstring)",
            Self::Test => " (test file)",
            Self::Example => " (example text)",
        }
    }
}

/// How a file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    /// Shell scripts: `#` comments.
    Shell,
    /// YAML, TOML, requirements files: `#` comments.
    Config,
    /// JSON: no comments.
    Json,
    /// Dockerfile, Containerfile.
    Container,
    /// docker-compose files and Kubernetes manifests (YAML with `apiVersion` and `kind`).
    Deploy,
    /// A Jupyter notebook: its code cells are Python.
    Notebook,
}

impl Language {
    /// The language of a file, by name; `None`: not scanned.
    pub fn of(file_name: &str) -> Option<Self> {
        let lower = file_name.to_ascii_lowercase();
        let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if lower == "dockerfile" || lower == "containerfile" || lower.starts_with("dockerfile.") || ext == "dockerfile" {
            return Some(Self::Container);
        }
        if lower.starts_with("requirements") && ext == "txt" {
            return Some(Self::Config);
        }
        if (lower.starts_with("docker-compose") || lower.starts_with("compose")) && matches!(ext, "yml" | "yaml") {
            return Some(Self::Deploy);
        }
        match ext {
            "py" => Some(Self::Python),
            "ipynb" => Some(Self::Notebook),
            // `.env`, `.env.local`, `prod.env`: variables a loader reads.
            "env" => Some(Self::Config),
            _ if lower == ".env" || lower.starts_with(".env.") => Some(Self::Config),
            "sh" | "bash" => Some(Self::Shell),
            "yaml" | "yml" | "toml" => Some(Self::Config),
            "json" => Some(Self::Json),
            _ => None,
        }
    }

    /// What to write instead of a hardcoded path in this kind of file.
    pub fn fix(self) -> &'static str {
        match self {
            Self::Python | Self::Notebook => {
                "read it from an environment variable (os.environ[\"MODEL_PATH\"]) or build it from the code's folder (Path(__file__).parent / ...)"
            }
            Self::Shell => "use a variable (\"$MODEL_PATH\") or a path relative to the script (\"$(dirname \"$0\")/...\")",
            Self::Config | Self::Json => "use a path relative to the project, or an environment variable the loader expands",
            Self::Container => "COPY the file into the image and use its path there (/app/...), or pass it with ARG/ENV",
            Self::Deploy => "mount a volume from a path relative to the project (./models:/models) or take it from an environment variable",
        }
    }
}

/// One machine-specific path in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFinding {
    /// 1-based line number.
    pub line: usize,
    pub found: PathMatch,
    pub context: Context,
}

/// Every machine-specific path in the text of a file, by line, with its context. `in_tests`: the
/// file is test code (every finding is then [`Context::Test`]); `homes`: the `/home/<name>`
/// folders the project's container files create or use (paths inside the image).
pub fn scan_text(text: &str, language: Language, in_tests: bool, homes: &BTreeSet<String>) -> Vec<LineFinding> {
    let mut lexer = Lexer::default();
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if container_key(line) {
            continue;
        }
        // A line that starts inside a Python triple-quoted string (its text, when no quote opens before a path).
        let in_string = lexer.triple.is_some();
        let regions = lexer.regions(line, language, index == 0);
        for found in find_paths(line) {
            if image_path(line, &found, language, homes) {
                continue;
            }
            let context = regions.iter().rev().find(|(start, _)| *start <= found.start).map_or(Context::Code, |(_, c)| *c);
            let context = if context == Context::Code && is_example(line, &found, in_string) { Context::Example } else { context };
            let context = if in_tests { Context::Test } else { context };
            findings.push(LineFinding { line: index + 1, found, context });
        }
    }
    findings
}

/// Users whose `/home/<user>` exists only inside container images (Jupyter docker-stacks'
/// jovyan; root, whose home is /root everywhere else): never a developer's laptop.
const CONTAINER_USERS: &[&str] = &["jovyan", "root"];

/// Whether a YAML text is a Kubernetes manifest (top-level `apiVersion:` and `kind:` keys) or a
/// compose file (a top-level `services:` with an `image:` or `build:`).
pub fn is_deployment(text: &str) -> bool {
    let key = |k: &str| text.lines().any(|l| l.strip_prefix(k).is_some_and(|r| r.trim_start().starts_with(':')));
    let nested = |k: &str| text.lines().any(|l| l.trim_start().strip_prefix(k).is_some_and(|r| r.starts_with(':')));
    (key("apiVersion") && key("kind")) || (key("services") && (nested("image") || nested("build")))
}

/// Whether a JSON text is a Kubernetes or OpenShift manifest (`"apiVersion"` and `"kind"` keys).
fn is_json_manifest(text: &str) -> bool {
    text.contains("\"apiVersion\"") && text.contains("\"kind\"")
}

/// Whether a `/home/...` path in a container or deployment file is on the host: the host side
/// of a volume (`- /home/alice/models:/models`, `-v /home/alice/d:/d`), a long-syntax `source:`,
/// a `hostPath`'s `path:` or a `device:`. (`PATH=/home/app/bin:/usr/bin` is not a volume.)
fn host_side(line: &str, found: &PathMatch) -> bool {
    let after = &line[found.start + found.path.len()..];
    let mount = after.starts_with(":/") || after.starts_with(":$") || after.starts_with(":~");
    let before = line[..found.start].trim_end_matches(['"', '\'', '=']).trim_end();
    let item = before.trim_start() == "-";
    let flag = [" -v", "--volume", "--mount"].iter().any(|f| before.ends_with(f)) || before == "-v";
    let key = line.trim_start().trim_start_matches("- ").split(':').next().unwrap_or("").trim();
    (mount && (item || flag)) || matches!(key, "source" | "path" | "device")
}

/// Placeholder users of documentation: `/home/you/...`, `/Users/me/...`.
const PLACEHOLDER_USERS: &[&str] =
    &["you", "yourname", "your_name", "your-name", "me", "someone", "somebody", "user", "username", "user_name", "myname", "my_name", "name", "foo"];

/// Words that make a string an example rather than a path to open.
const EXAMPLE_MARKERS: &[&str] = &["e.g.", "e.g ", "i.e.", "like ", "such as", "for example", "for instance", "example:"];

/// Keyword arguments whose string is text for a person (argparse, click).
const TEXT_ARGUMENTS: &[&str] = &["help", "description", "epilog", "usage"];

/// Whether a path is documentation inside a quoted string: a placeholder user, or prose around it
/// (`"e.g. /home/me/x.csv"`, `help="..."`). A bare path string (`"/home/alice/m.onnx"`) is not.
fn is_example(line: &str, found: &PathMatch, in_string: bool) -> bool {
    let continued = in_string && !line[..found.start].contains(['"', '\'']);
    let Some((open, text)) = enclosing_string(line, found.start).or(continued.then_some((0, line))) else { return false };
    if home_user(&found.path).is_some_and(|u| PLACEHOLDER_USERS.iter().any(|p| u.eq_ignore_ascii_case(p))) {
        return true;
    }
    let before = line[..open].trim_end_matches(|c: char| "rRbBuUfF".contains(c)).trim_end();
    let argument = before.strip_suffix('=').is_some_and(|b| TEXT_ARGUMENTS.iter().any(|a| b.trim_end().ends_with(a)));
    let lower = text.to_ascii_lowercase();
    argument || (text.contains(' ') && EXAMPLE_MARKERS.iter().any(|m| starts_word(&lower, m))) || sentence(text)
}

/// Whether a string is a sentence: at least four plain words besides its paths and flags
/// (`"then rerun eval with --root /home/x"`; not `"python /home/alice/train.py --epochs 3"`).
fn sentence(text: &str) -> bool {
    let plain = |w: &&str| {
        let w = w.trim_end_matches(['.', ',', ':', ';', '!', '?']);
        w.len() > 1 && w.chars().all(|c| c.is_alphabetic() || c == '\'')
    };
    text.split_whitespace().filter(plain).count() >= 4
}

/// Whether `marker` is in `text` at the start of a word (`like`, not `unlike`).
fn starts_word(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(at, _)| !text[..at].ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// The user of a home-folder path (`/home/<user>/`, `/Users/<user>`, `C:\Users\<user>`).
fn home_user(path: &str) -> Option<&str> {
    let path = path.get(..7).filter(|p| p.eq_ignore_ascii_case("file://")).map_or(path, |_| path[7..].trim_start_matches('/'));
    let parts: Vec<&str> = path.split(['/', '\\']).filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [root, user, ..] if *root == "home" || *root == "Users" => Some(user),
        [drive, root, user, ..] if drive.ends_with(':') && root.eq_ignore_ascii_case("users") => Some(user),
        _ => None,
    }
}

/// The text of the quoted string on `line` that holds byte `at`, with where it starts (to the end
/// of the line if it does not close there).
fn enclosing_string(line: &str, at: usize) -> Option<(usize, &str)> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c != b'"' && c != b'\'' {
            i += 1;
            continue;
        }
        let quote: &[u8] = if b[i..].starts_with(&[c, c, c]) { &b[i..i + 3] } else { &b[i..i + 1] };
        let open = i + quote.len();
        let mut close = open;
        while close < b.len() && !b[close..].starts_with(quote) {
            close += if b[close] == b'\\' { 2 } else { 1 };
        }
        let close = close.min(b.len());
        if (open..close).contains(&at) {
            return line.get(open..close).map(|t| (i, t));
        }
        i = close + quote.len();
    }
    None
}

/// Whether a match is a path inside a container image: every `/home/...` of a container or
/// deployment file but the host side of a volume, a `/home/<name>` the project's container files
/// name or a container-only user's, and a Windows path in a container file (Windows images have
/// `C:\` paths of their own).
fn image_path(line: &str, found: &PathMatch, language: Language, homes: &BTreeSet<String>) -> bool {
    let home = found.path.strip_prefix("/home/").and_then(|rest| rest.split('/').next());
    let deploy = matches!(language, Language::Container | Language::Deploy);
    if deploy && home.is_some() && host_side(line, found) {
        return false;
    }
    if home.is_some_and(|name| homes.contains(name) || CONTAINER_USERS.contains(&name)) {
        return true;
    }
    match language {
        Language::Container => home.is_some() || found.kind == PathKind::WindowsDrive,
        Language::Deploy => home.is_some(),
        _ => false,
    }
}

/// A Kubernetes key whose value is a path inside the container (`mountPath:`, `workingDir:`).
fn container_key(line: &str) -> bool {
    let key = line.trim_start().trim_start_matches("- ").trim_start().split(':').next().unwrap_or("");
    matches!(key.trim_matches(|c| c == '"' || c == '\''), "mountPath" | "workingDir" | "subPath")
}

/// The `/home/<name>` folders a container file creates or uses: users it adds (`useradd`,
/// `adduser`) or switches to (`USER`), and every `/home/<name>` it names.
fn image_homes(text: &str) -> BTreeSet<String> {
    let mut homes = BTreeSet::new();
    // A comment names no folder of the image (`# built from /home/alice/src`).
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [first, user, ..] = words.as_slice()
            && first.eq_ignore_ascii_case("USER")
        {
            homes.insert(user.split(':').next().unwrap_or(user).to_string());
        }
        for (at, word) in words.iter().enumerate() {
            if matches!(*word, "useradd" | "adduser") {
                let command = words[at + 1..].iter().take_while(|w| !matches!(**w, "&&" | ";" | "||" | "\\"));
                homes.extend(command.filter(|w| !w.starts_with('-')).map(|w| w.trim_end_matches(';').to_string()));
            }
        }
        for found in find_paths(line) {
            if let Some(name) = found.path.strip_prefix("/home/").and_then(|rest| rest.split('/').next()) {
                homes.insert(name.to_string());
            }
        }
    }
    homes
}

/// The comment and string state carried from line to line.
#[derive(Debug, Default)]
struct Lexer {
    /// Inside a Python triple-quoted string: its quote, and whether it is a docstring.
    triple: Option<(u8, bool)>,
    /// Open Python brackets: a string inside `f(\n """...""")` is an argument, not a docstring.
    depth: usize,
}

impl Lexer {
    /// Where contexts change in `line`: (byte offset, context from there on).
    fn regions(&mut self, line: &str, language: Language, first: bool) -> Vec<(usize, Context)> {
        match language {
            Language::Json => vec![(0, Context::Code)],
            // A shebang is the interpreter the script runs with: code.
            _ if first && line.starts_with("#!") => vec![(0, Context::Code)],
            Language::Python => self.python(line.as_bytes()),
            _ => hash_comments(line.as_bytes()),
        }
    }

    fn python(&mut self, b: &[u8]) -> Vec<(usize, Context)> {
        let mut regions = vec![(
            0,
            match self.triple {
                Some((_, true)) => Context::Doc,
                _ => Context::Code,
            },
        )];
        let mut quote: Option<u8> = None;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if let Some((q, doc)) = self.triple {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                // A `#` comment of the text a string holds (a verbose regex, an embedded script).
                if !doc && c == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()) {
                    regions.push((i, Context::Comment));
                }
                if b[i..].starts_with(&[q, q, q]) {
                    self.triple = None;
                    i += 3;
                    regions.push((i, Context::Code));
                    continue;
                }
                i += 1;
                continue;
            }
            if let Some(q) = quote {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            match c {
                b'#' => {
                    regions.push((i, Context::Comment));
                    break;
                }
                b'"' | b'\'' if b[i..].starts_with(&[c, c, c]) => {
                    // A string that starts a statement (after its prefix letters) is documentation.
                    let before = String::from_utf8_lossy(&b[..i]);
                    let doc = self.depth == 0 && before.trim_start().trim_start_matches(|ch: char| "rRbBuUfF".contains(ch)).is_empty();
                    self.triple = Some((c, doc));
                    regions.push((i, if doc { Context::Doc } else { Context::Code }));
                    i += 3;
                }
                b'"' | b'\'' => {
                    quote = Some(c);
                    i += 1;
                }
                b'(' | b'[' | b'{' => {
                    self.depth += 1;
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    i += 1;
                }
                _ => i += 1,
            }
        }
        regions
    }
}

/// `#` comments of shell, YAML, TOML, requirements files and Dockerfiles: a `#` outside quotes
/// at the start of a line or after whitespace (`${x#y}` and `a#b` are not comments).
fn hash_comments(b: &[u8]) -> Vec<(usize, Context)> {
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        let after_space = i == 0 || b[i - 1].is_ascii_whitespace();
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'#' && after_space => return vec![(0, Context::Code), (i, Context::Comment)],
            // A quote opens a string only where a value starts (`don't` in plain text does not).
            None if (c == b'"' || c == b'\'') && (i == 0 || b" \t=:([{,".contains(&b[i - 1])) => quote = Some(c),
            None => {}
        }
    }
    vec![(0, Context::Code)]
}

/// Bounds on a project scan.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Files tried at most (read or skipped); the scan stops (incomplete) past this.
    pub max_files: usize,
    /// Larger files are skipped and counted.
    pub max_file_bytes: u64,
}

/// What a project scan found and read.
#[derive(Debug, Clone, Default)]
pub struct ProjectScan {
    /// (file as shown, its language, what is in it).
    pub findings: Vec<(String, Language, LineFinding)>,
    /// Files read.
    pub files: usize,
    /// Files not read, with why (too large, not UTF-8, a link out of the folder).
    pub skipped: Vec<String>,
    /// Whether the scan stopped at `max_files` before reading every candidate.
    pub truncated: bool,
}

/// Whether a file (by its path inside the project) is test code or data: under `tests/`, `test/`,
/// `testing/`, `fixtures/` or `testdata/`, or a test module (`test_*.py`, `*_test.py`, `conftest.py`).
pub fn is_test_file(relative: &Path) -> bool {
    let in_folder = relative
        .parent()
        .is_some_and(|p| p.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "test" | "testing" | "fixtures" | "testdata"))));
    let name = relative.file_name().and_then(|n| n.to_str()).unwrap_or("");
    in_folder || (name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py"))
}

/// Scans the serving code, configs and container files under `root` (shown as `shown`), in
/// name order, every file through the sandbox opener (regular, at most the size limit, inside
/// `root`). `exclude`: a file already scanned elsewhere (the audit config), by canonical path.
pub fn scan_project(root: &Path, limits: ScanLimits, exclude: Option<&Path>) -> ProjectScan {
    let mut scan = ProjectScan::default();
    let files = candidates(root, limits.max_files, &mut scan);
    // The images' own folders first: a `/home/<name>` that a container file creates or uses is a
    // path inside that image, in the files it copies in (an entrypoint script, the serving code).
    // Elsewhere in the project (a training script that never enters the image) the same path is
    // the developer's: a user called `alice` in one image does not make `/home/alice` a container
    // path in every file.
    let images: Vec<Image> = files
        .iter()
        .filter(|(_, l)| *l == Language::Container)
        .filter_map(|(relative, _)| open::read_within(root, &root.join(relative), limits.max_file_bytes).ok().map(|b| (relative, b)))
        .map(|(relative, bytes)| Image::read(relative, &String::from_utf8_lossy(&bytes)))
        .collect();
    for (relative, language) in &files {
        let homes: BTreeSet<String> = images.iter().filter(|i| i.copies(relative)).flat_map(|i| i.homes.iter().cloned()).collect();
        scan_file(root, relative, *language, limits, exclude, &homes, &mut scan);
    }
    scan
}

/// What one container file says about its image: the `/home/<name>` folders it creates or uses,
/// and the project files it copies in (`COPY`/`ADD` sources, read against the container file's
/// folder and the project root, the two usual build contexts).
#[derive(Debug)]
struct Image {
    homes: BTreeSet<String>,
    folder: PathBuf,
    sources: Vec<String>,
}

impl Image {
    fn read(relative: &Path, text: &str) -> Self {
        let folder = relative.parent().map(Path::to_path_buf).unwrap_or_default();
        Self { homes: image_homes(text), folder, sources: copy_sources(text) }
    }

    /// Whether the project file `relative` goes into this image.
    fn copies(&self, relative: &Path) -> bool {
        [self.folder.as_path(), Path::new("")].iter().any(|context| {
            let Ok(inside) = relative.strip_prefix(context) else { return false };
            let inside = inside.to_string_lossy().replace('\\', "/");
            self.sources.iter().any(|source| source_matches(source, &inside))
        })
    }
}

/// The project-side sources of a container file's `COPY` and `ADD` instructions (not those
/// copied `--from` another stage or image, nor URLs).
fn copy_sources(text: &str) -> Vec<String> {
    let joined = text.replace("\\\n", " ");
    let mut sources = Vec::new();
    for line in joined.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((first, rest)) = words.split_first() else { continue };
        if !(first.eq_ignore_ascii_case("COPY") || first.eq_ignore_ascii_case("ADD")) || rest.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let args: Vec<String> = rest.iter().filter(|w| !w.starts_with("--")).map(|w| w.to_string()).collect();
        let args = match args.first() {
            Some(open) if open.starts_with('[') => serde_json::from_str::<Vec<String>>(&args.join(" ")).unwrap_or_default(),
            _ => args,
        };
        if let Some((_, copied)) = args.split_last() {
            sources.extend(copied.iter().filter(|s| !s.contains("://")).cloned());
        }
    }
    sources
}

/// Whether the file at `path` (inside the build context, `/`-separated) is copied by `source`:
/// the file itself, a folder holding it, or a glob (`*.py`, `src/*`) matching either.
fn source_matches(source: &str, path: &str) -> bool {
    let source = source.trim_start_matches("./").trim_end_matches('/');
    if source.is_empty() || source == "." {
        return true;
    }
    let parts: Vec<&str> = path.split('/').collect();
    (1..=parts.len()).any(|n| glob(source.as_bytes(), parts[..n].join("/").as_bytes()))
}

/// A Dockerfile glob: `*` and `?` within one path segment (never across a `/`).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (patterns, texts): (Vec<&[u8]>, Vec<&[u8]>) = (pattern.split(|&b| b == b'/').collect(), text.split(|&b| b == b'/').collect());
    patterns.len() == texts.len() && patterns.iter().zip(&texts).all(|(p, t)| segment_glob(p, t))
}

/// One segment against `*` and `?`, backtracking only to the last `*` (linear in practice,
/// never exponential on a hostile pattern).
fn segment_glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The files to scan under `root` (see [`project_walk`]), at most `max_files` (`truncated` is
/// set when there are more).
fn candidates(root: &Path, max_files: usize, scan: &mut ProjectScan) -> Vec<(PathBuf, Language)> {
    let walk = project_walk::walk(root, max_files, Language::of, |_| Ok(()));
    scan.skipped.extend(walk.notes);
    scan.truncated |= walk.truncated;
    walk.files
}

fn scan_file(
    root: &Path,
    relative: &Path,
    language: Language,
    limits: ScanLimits,
    exclude: Option<&Path>,
    homes: &BTreeSet<String>,
    scan: &mut ProjectScan,
) {
    let path = root.join(relative);
    let shown = path.display().to_string();
    if exclude.is_some_and(|e| path.canonicalize().is_ok_and(|p| p == e)) {
        return;
    }
    let bytes = match open::read_within(root, &path, limits.max_file_bytes) {
        Ok(bytes) => bytes,
        Err(OpenError::TooLarge { .. }) => {
            scan.skipped.push(format!("{shown}: larger than {}", crate::artifact::human_size(limits.max_file_bytes)));
            return;
        }
        Err(e) => {
            scan.skipped.push(format!("{shown}: {e}"));
            return;
        }
    };
    scan.files += 1;
    let text = String::from_utf8_lossy(&bytes);
    let tests = is_test_file(relative);
    if language == Language::Notebook {
        match notebook_cells(&text) {
            Some(cells) => {
                for (cell, source) in cells {
                    let at = format!("{shown}[cell {cell}]");
                    scan.findings.extend(scan_text(&source, Language::Python, tests, homes).into_iter().map(|f| (at.clone(), language, f)));
                }
            }
            None => scan.skipped.push(format!("{shown}: not a Jupyter notebook (JSON with cells)")),
        }
        return;
    }
    let deployment = match language {
        Language::Config => is_deployment(&text),
        Language::Json => is_json_manifest(&text),
        _ => false,
    };
    let language = if deployment { Language::Deploy } else { language };
    scan.findings.extend(scan_text(&text, language, tests, homes).into_iter().map(|f| (shown.clone(), language, f)));
}

/// A notebook as JSON: only the cells are read.
#[derive(serde::Deserialize)]
struct Notebook {
    cells: Vec<Cell>,
}

#[derive(serde::Deserialize)]
struct Cell {
    cell_type: String,
    #[serde(default)]
    source: CellSource,
}

/// A cell's source: one string, or a list of lines.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum CellSource {
    Text(String),
    Lines(Vec<String>),
}

impl Default for CellSource {
    fn default() -> Self {
        Self::Text(String::new())
    }
}

/// The code cells of a notebook (1-based number among all cells, source); `None`: not a notebook.
fn notebook_cells(text: &str) -> Option<Vec<(usize, String)>> {
    let notebook: Notebook = serde_json::from_str(text).ok()?;
    let code = notebook.cells.into_iter().enumerate().filter(|(_, c)| c.cell_type == "code");
    Some(
        code.map(|(at, cell)| {
            let source = match cell.source {
                CellSource::Text(text) => text,
                CellSource::Lines(lines) => lines.concat(),
            };
            (at + 1, source)
        })
        .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        find_paths(text).into_iter().map(|m| m.path).collect()
    }

    #[test]
    fn home_folders_drives_and_tilde_are_found() {
        assert_eq!(paths(r#"MODEL_PATH = "/home/alice/model.onnx""#), ["/home/alice/model.onnx"]);
        assert_eq!(paths("data: /Users/bob/proj/train.csv."), ["/Users/bob/proj/train.csv"]);
        assert_eq!(paths(r#"p = "C:\\Users\\carol\\m.onnx""#), [r"C:\\Users\\carol\\m.onnx"]);
        assert_eq!(paths("p = 'C:/Users/carol/m.onnx'"), ["C:/Users/carol/m.onnx"]);
        assert_eq!(paths(r"D:\datasets\train.csv"), [r"D:\datasets\train.csv"]);
        assert_eq!(paths("open('~/data/x.csv')"), ["~/data/x.csv"]);
        assert_eq!(paths("file:///Users/dan/x.onnx and /Volumes/USB/x"), ["file:///Users/dan/x.onnx", "/Volumes/USB/x"]);
        assert_eq!(paths("cd /mnt/c/work/x"), ["/mnt/c/work/x"]);
        assert_eq!(paths("uri: file:///C:/Users/dan/m.onnx"), ["file:///C:/Users/dan/m.onnx"]);
        assert_eq!(paths("-v /home/eve/data:/data"), ["/home/eve/data"]);
        assert_eq!(find_paths("~/x")[0].kind, PathKind::Tilde);
        assert_eq!(find_paths(r"D:\a\b")[0].kind, PathKind::WindowsDrive);
    }

    #[test]
    fn urls_system_container_and_template_paths_are_not() {
        for text in [
            "https://example.com/home/alice/x",
            "s3://bucket/Users/bob/x",
            "#!/usr/bin/env python",
            "> /dev/null; cd /tmp/x; cat /proc/cpuinfo",
            "COPY model.onnx /app/model.onnx",
            "/opt/models/x /models/x /data/x /workspace/x /root/.cache/pip /mnt/models/x /srv/x",
            "f'{base}/home/{user}' $HOME/x ${HOME}/x",
            "~/.cache/huggingface ~/.config/x ~/Library/Fonts ~/Library/Caches/scipy-data",
            r"C:\ProgramData\Microsoft\x C:\Windows\System32\x.dll 'C:\Program Files\App\x.exe'",
            r#"re.compile(r"^/home/[^/]+/") and "/home/<user>/x" and "/home""#,
            r#"re.compile(r"(\w+):\d+") "x:\d" "a:\\b""#,
            "/home/",
        ] {
            assert_eq!(paths(text), Vec::<String>::new(), "{text}");
        }
    }

    fn contexts(text: &str, language: Language) -> Vec<(usize, Context)> {
        scan_text(text, language, false, &BTreeSet::new()).into_iter().map(|f| (f.line, f.context)).collect()
    }

    #[test]
    fn comments_and_docstrings_are_told_from_code() {
        let python = "x = '/home/a/m'  # was /home/a/old\n\"\"\"Loads /home/a/doc\nand /home/a/doc2\n\"\"\"\ny = \"\"\"/home/a/sql\"\"\"\nz = '#' + '/home/a/z'\nw = f(\n    \"\"\"/home/a/arg\"\"\")\n\"\"\"/home/a/doc3\"\"\"\nr = re.compile(r\"\"\"\n  # like 'C:/Users/a/x'\n  /home/a/re\"\"\")\n";
        assert_eq!(
            contexts(python, Language::Python),
            [
                (1, Context::Code),
                (1, Context::Comment),
                (2, Context::Doc),
                (3, Context::Doc),
                (5, Context::Code),
                (6, Context::Code),
                (8, Context::Code),
                (9, Context::Doc),
                (11, Context::Comment),
                (12, Context::Code)
            ]
        );
        let shell = "#!/home/a/venv/bin/python\n# /home/a/x\necho \"#\" /home/a/y ${p#/home/a/z}\n";
        assert_eq!(contexts(shell, Language::Shell), [(1, Context::Code), (2, Context::Comment), (3, Context::Code)]);
        let yaml = "path: /home/a/x # old: /home/a/y\nnote: don't /home/a/z\n";
        assert_eq!(contexts(yaml, Language::Config), [(1, Context::Code), (1, Context::Comment), (2, Context::Code)]);
        assert_eq!(scan_text("x = '/home/a/m'", Language::Python, true, &BTreeSet::new())[0].context, Context::Test);
    }

    fn found(text: &str, language: Language) -> Vec<(String, Context)> {
        scan_text(text, language, false, &BTreeSet::new()).into_iter().map(|f| (f.found.path, f.context)).collect()
    }

    #[test]
    fn home_folders_in_container_files_are_the_containers_but_a_mac_path_or_a_host_volume_is_not() {
        let docker = "FROM jupyter/scipy-notebook\nWORKDIR /home/jovyan/work\nCOPY y /home/alice/y\nWORKDIR C:\\app\\bin\nCOPY m /Users/bob/m\nRUN docker run -v /home/carol/d:/d x\nENV PATH=/home/app/.local/bin:/usr/bin\n";
        let home = |p: &str| (p.to_string(), Context::Code);
        assert_eq!(found(docker, Language::Container), [home("/Users/bob/m"), home("/home/carol/d")]);
        let compose = "services:\n  app:\n    volumes:\n      - ./models:/home/app/models:ro\n    environment:\n      - PATH=/home/app/bin:/usr/bin\n    volumes:\n      - /home/alice/models:/models\n      - /Users/alice/data:/data\n      - type: bind\n        source: /home/bob/x\n        target: /home/app/x\n";
        assert_eq!(found(compose, Language::Deploy), [home("/home/alice/models"), home("/Users/alice/data"), home("/home/bob/x")]);
        let pod = "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - volumeMounts:\n        - mountPath: /home/jovyan/work\n  volumes:\n    - hostPath:\n        path: /home/dan/data\n";
        assert!(is_deployment(pod) && !is_deployment("kind: x\n") && is_deployment("services:\n  nb:\n    image: x\n"));
        assert!(is_json_manifest(r#"{"kind": "Template", "apiVersion": "v1"}"#) && !is_json_manifest(r#"{"kind": 1}"#));
        assert_eq!(found("x = '/home/jovyan/work/m.onnx' if root else '/home/root/m'\n", Language::Python), []);
        assert_eq!(found(pod, Language::Deploy), [home("/home/dan/data")]);
        // The same home paths outside a container file are a laptop's.
        assert_eq!(found("WORKDIR /home/dev/work\n", Language::Config), [home("/home/dev/work")]);
    }

    #[test]
    fn prose_and_placeholder_users_in_strings_are_examples() {
        let ex = |p: &str| (p.to_string(), Context::Example);
        let code = |p: &str| (p.to_string(), Context::Code);
        let python = [
            ("p.add_argument('--rows', help=\"path to rows, /home/alice/rows.csv\")", ex("/home/alice/rows.csv")),
            ("p.add_argument('--rows', help=\"e.g. /home/alice/data/rows.csv\")", ex("/home/alice/data/rows.csv")),
            ("print(\"a model path like /Users/alice/model.onnx\")", ex("/Users/alice/model.onnx")),
            ("log.info(\"paths such as /home/bob/ in logs\")", ex("/home/bob/")),
            ("DEFAULT = \"/home/you/data/rows.csv\"", ex("/home/you/data/rows.csv")),
            ("x = 'C:\\\\Users\\\\username\\\\m.onnx'", ex("C:\\\\Users\\\\username\\\\m.onnx")),
            ("MODEL_PATH = \"/home/alice/model.onnx\"", code("/home/alice/model.onnx")),
            ("open(\"/Users/alice/data.csv\")", code("/Users/alice/data.csv")),
            ("run(\"python /home/alice/train.py --epochs 3\")", code("/home/alice/train.py")),
            ("x = 'it\\'s like' + \"/home/alice/m\"", code("/home/alice/m")),
            ("p = /home/me/x", code("/home/me/x")),
            ("cmd = \"unlike /home/alice/x.py --fast\"", code("/home/alice/x.py")),
            ("raise E(\"then rerun eval with --root /home/alice/data\")", ex("/home/alice/data")),
            ("os.system(\"cd /home/alice/proj && make all\")", code("/home/alice/proj")),
        ];
        for (line, expected) in python {
            assert_eq!(found(line, Language::Python), [expected], "{line}");
        }
        let text = "p = ArgumentParser(epilog=\"\"\"\n  for example: run.py --rows /home/alice/rows.csv\n  /home/alice/m.onnx\n\"\"\")\n";
        assert_eq!(found(text, Language::Python), [ex("/home/alice/rows.csv"), code("/home/alice/m.onnx")]);
    }

    #[test]
    fn hosted_notebook_and_macos_temporary_folders_are_found() {
        assert_eq!(
            paths("'/content/drive/MyDrive/m.onnx' /kaggle/input/titanic/train.csv"),
            ["/content/drive/MyDrive/m.onnx", "/kaggle/input/titanic/train.csv"]
        );
        assert_eq!(find_paths("/private/var/folders/x1/T/m.onnx")[0].kind, PathKind::Temp);
        assert_eq!(find_paths("/content/drive/x")[0].kind, PathKind::Hosted);
        assert_eq!(paths("/content/sample_data/x /kaggle/working/x /var/folders/x /content/drive/"), Vec::<String>::new());
    }

    #[test]
    fn a_notebooks_code_cells_are_read_by_cell() {
        let notebook = r#"{"cells": [{"cell_type": "markdown", "source": ["/home/alice/doc"]},
            {"cell_type": "code", "source": ["import x\n", "m = '/home/alice/m.onnx'\n"], "outputs": [{"text": "/home/alice/out"}]},
            {"cell_type": "code", "source": "df = read('/content/drive/MyDrive/d.csv')"}], "nbformat": 4}"#;
        let cells: Vec<(usize, Vec<(String, Context)>)> =
            notebook_cells(notebook).unwrap().into_iter().map(|(n, s)| (n, found(&s, Language::Python))).collect();
        let code = |p: &str| vec![(p.to_string(), Context::Code)];
        assert_eq!(cells, [(2, code("/home/alice/m.onnx")), (3, code("/content/drive/MyDrive/d.csv"))]);
        assert!(notebook_cells("{\"cells\": 3}").is_none() && notebook_cells("not json").is_none());
    }

    #[test]
    fn the_homes_a_container_file_creates_or_uses_are_image_paths_across_the_project() {
        let docker = "FROM python:3.11\nRUN useradd -m -u 1000 user\nUSER app:app\nRUN python3 -m venv /home/venv\nCOPY y /home/alice/y\nWORKDIR C:\\app\\bin\nCOPY z /Users/bob/z\n";
        let none = BTreeSet::new();
        let found: Vec<String> = scan_text(docker, Language::Container, false, &none).into_iter().map(|f| f.found.path).collect();
        assert_eq!(found, ["/Users/bob/z"]);
        let homes = image_homes(docker);
        assert_eq!(homes, ["1000", "alice", "app", "user", "venv"].map(String::from).into_iter().collect());
        let script = "torchserve --ts-config /home/app/config.properties\nexport PATH=/home/venv/bin:$PATH\ncat /home/carol/x\n";
        let found: Vec<String> = scan_text(script, Language::Shell, false, &homes).into_iter().map(|f| f.found.path).collect();
        assert_eq!(found, ["/home/carol/x"]);
        let k8s = "volumeMounts:\n  - mountPath: \"/home/model-server\"\n    name: x\n  - name: y\n    mountPath: /home/dave/y\nworkingDir: /home/erin\npath: /home/frank/data\n";
        let found: Vec<String> = scan_text(k8s, Language::Config, false, &none).into_iter().map(|f| f.found.path).collect();
        assert_eq!(found, ["/home/frank/data"]);
    }

    #[test]
    fn an_image_exempts_its_homes_only_in_the_files_it_copies() {
        let docker = "FROM python\n# built from /home/zed/src\nUSER alice\nCOPY --chown=alice serve.py entry*.sh \\\n  /home/alice/\n\
                      COPY [\"conf/app.yaml\", \"/home/alice/conf/\"]\nCOPY --from=build /opt/x /x\nADD https://x.org/a.tgz /tmp/\nCOPY ./src/ /home/alice/src\n";
        let image = Image::read(Path::new("docker/Dockerfile"), docker);
        assert_eq!(image.homes, ["alice"].map(String::from).into_iter().collect());
        assert_eq!(image.sources, ["serve.py", "entry*.sh", "conf/app.yaml", "./src/"]);
        for copied in ["docker/serve.py", "serve.py", "docker/entrypoint.sh", "conf/app.yaml", "src/model/load.py", "docker/src/x.py"] {
            assert!(image.copies(Path::new(copied)), "{copied}");
        }
        for not_copied in ["train/train.py", "docker/entry/x.sh.bak", "conf/other.yaml", "srcs/x.py", "x/serve.py"] {
            assert!(!image.copies(Path::new(not_copied)), "{not_copied}");
        }
        let everything = Image::read(Path::new("Dockerfile"), "COPY . /home/app\n");
        assert!(everything.copies(Path::new("train/train.py")));
        assert!(!glob(b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", &[b'a'; 200]), "no exponential backtracking");
        assert!(glob(b"src/*.py", b"src/serve.py") && !glob(b"src/*.py", b"src/a/serve.py"));
    }

    #[test]
    fn languages_and_test_files_are_told_by_name() {
        assert_eq!(Language::of("Dockerfile"), Some(Language::Container));
        assert_eq!(Language::of("serve.Dockerfile"), Some(Language::Container));
        assert_eq!(Language::of("requirements-dev.txt"), Some(Language::Config));
        assert_eq!(Language::of("notes.txt"), None);
        assert_eq!(Language::of("docker-compose.prod.yml"), Some(Language::Deploy));
        assert_eq!(Language::of("compose.yaml"), Some(Language::Deploy));
        assert_eq!(Language::of("eda.ipynb"), Some(Language::Notebook));
        assert_eq!(Language::of(".env"), Some(Language::Config));
        assert_eq!(Language::of(".env.local"), Some(Language::Config));
        assert_eq!(Language::of("prod.env"), Some(Language::Config));
        assert!(is_test_file(Path::new("tests/test_x.py")) && is_test_file(Path::new("pkg/test_api.py")));
        assert!(is_test_file(Path::new("fixtures/generate.py")));
        assert!(!is_test_file(Path::new("src/serve.py")) && !is_test_file(Path::new("tests")));
    }

    #[test]
    fn the_project_walk_skips_environments_and_links_out() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("p");
        for dir in ["src", ".git", "venv", "node_modules", "myenv", "tests"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        std::fs::write(root.join("myenv/pyvenv.cfg"), "home = /usr\n").unwrap();
        for file in ["src/serve.py", ".git/x.py", "venv/x.py", "node_modules/x.json", "myenv/x.py", "tests/t.py", "notes.md"] {
            std::fs::write(root.join(file), "p = '/home/alice/m.onnx'\n").unwrap();
        }
        std::fs::write(outer.path().join("secret.py"), "p = '/home/alice/s'\n").unwrap();
        std::os::unix::fs::symlink(outer.path().join("secret.py"), root.join("src/link.py")).unwrap();
        std::fs::write(root.join("src/big.py"), "#".repeat(2000)).unwrap();
        let scan = scan_project(&root, ScanLimits { max_files: 100, max_file_bytes: 1000 }, None);
        let shown: Vec<(String, Context)> =
            scan.findings.iter().map(|(f, _, l)| (f.strip_prefix(&root.display().to_string()).unwrap().to_string(), l.context)).collect();
        assert_eq!(shown, [("/src/serve.py".to_string(), Context::Code), ("/tests/t.py".to_string(), Context::Test)]);
        assert_eq!(scan.files, 2);
        assert_eq!(scan.skipped.len(), 2, "{:?}", scan.skipped);
        assert!(!scan.truncated);
        let capped = scan_project(&root, ScanLimits { max_files: 1, max_file_bytes: 1000 }, None);
        assert!(capped.truncated && capped.files + capped.skipped.len() == 1, "{capped:?}");
    }
}
