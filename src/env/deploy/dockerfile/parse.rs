//! The Dockerfile syntax, read the way BuildKit's frontend reads it: parser directives
//! (`# escape=`), comments, line continuations (blank and comment lines inside them skipped),
//! heredocs (`RUN <<EOF`), flags (`--platform=`, `--from=`), exec (JSON) and shell forms, build
//! stages (`FROM image AS name`) and the `ARG`s before the first `FROM` substituted into it.
//! Every instruction keeps the line it starts on. Untrusted input: the size is bounded, every
//! step is linear in it, and nothing here panics.
//!
//! Written here because no crate fitted (checked 2026-11): `dockerfile-parser` 0.9.0 (pest
//! grammar) has no `# escape=` and no heredocs; `dockerfile-parser-rs` 3.4.0 keeps no line
//! numbers and unwraps on malformed input; `parse-dockerfile` 0.1.9 follows BuildKit closely but
//! rejects a heredoc after a command (`RUN python3 <<EOF`, the Dockerfile reference's own
//! example), so a valid file would be unreadable.

use std::collections::HashMap;

use super::{ErrorKind, MAX_DOCKERFILE_BYTES};

/// The instructions of the Dockerfile reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

const KEYWORDS: [(&str, Keyword); 18] = [
    ("ADD", Keyword::Add),
    ("ARG", Keyword::Arg),
    ("CMD", Keyword::Cmd),
    ("COPY", Keyword::Copy),
    ("ENTRYPOINT", Keyword::Entrypoint),
    ("ENV", Keyword::Env),
    ("EXPOSE", Keyword::Expose),
    ("FROM", Keyword::From),
    ("HEALTHCHECK", Keyword::Healthcheck),
    ("LABEL", Keyword::Label),
    ("MAINTAINER", Keyword::Maintainer),
    ("ONBUILD", Keyword::Onbuild),
    ("RUN", Keyword::Run),
    ("SHELL", Keyword::Shell),
    ("STOPSIGNAL", Keyword::Stopsignal),
    ("USER", Keyword::User),
    ("VOLUME", Keyword::Volume),
    ("WORKDIR", Keyword::Workdir),
];

impl Keyword {
    /// The keyword for `word`, in any case (`run`, `Run`, `RUN`).
    pub fn parse(word: &str) -> Option<Keyword> {
        KEYWORDS.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)).map(|(_, k)| *k)
    }

    /// The upper-case spelling, as the reference writes it.
    pub fn as_str(self) -> &'static str {
        KEYWORDS.iter().find(|(_, k)| *k == self).map_or("", |(name, _)| name)
    }
}

/// The arguments of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// `["pip", "install", "-r", "requirements.txt"]`.
    Exec(Vec<String>),
    /// Everything after the keyword and its flags, continuations joined.
    Shell(String),
}

/// A heredoc's body (`RUN <<EOF` ... `EOF`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub body: String,
}

/// One instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// 1-based line the instruction starts on.
    pub line: usize,
    pub keyword: Keyword,
    /// Leading `--name=value` flags (`RUN`, `COPY`, `ADD`, `FROM`, `HEALTHCHECK`).
    pub flags: Vec<String>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
}

impl Instruction {
    /// The value of `--name=value` (or `Some("")` for a bare `--name`).
    pub fn flag(&self, name: &str) -> Option<&str> {
        self.flags.iter().find_map(|f| {
            let rest = f.strip_prefix("--")?;
            match rest.split_once('=') {
                Some((n, v)) if n == name => Some(v),
                None if rest == name => Some(""),
                _ => None,
            }
        })
    }

    /// The arguments as words: the exec form's list, or the shell form split on whitespace.
    pub fn words(&self) -> Vec<&str> {
        match &self.args {
            Args::Exec(list) => list.iter().map(String::as_str).collect(),
            Args::Shell(text) => text.split_whitespace().collect(),
        }
    }
}

/// A `FROM` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub line: usize,
    /// The image as written (`python:${PY}-slim`).
    pub written: String,
    /// With the `ARG`s before the first `FROM` substituted (`python:3.11-slim`).
    pub image: String,
    /// Variables named in the reference that have no default (a `--build-arg` decides them).
    pub unresolved: Vec<String>,
    pub platform: Option<String>,
}

/// One build stage: its `FROM` and the instructions up to the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// 0-based, as `COPY --from=0` counts.
    pub index: usize,
    /// The `AS` name, lower-cased (stage names are case-insensitive).
    pub name: Option<String>,
    pub from: From,
    pub instructions: Vec<Instruction>,
}

/// What a Dockerfile's text says: the `ARG`s declared before the first `FROM` and the stages.
pub struct Parsed {
    pub meta_args: Vec<(String, Option<String>)>,
    pub stages: Vec<Stage>,
}

/// A parse error: its kind and the 1-based line it was found on.
pub type Failure = (ErrorKind, Option<usize>);

/// Parses a Dockerfile's text.
pub fn parse(text: &str) -> Result<Parsed, Failure> {
    if text.len() as u64 > MAX_DOCKERFILE_BYTES {
        return Err((ErrorKind::TooLarge { size: text.len() as u64, limit: MAX_DOCKERFILE_BYTES }, None));
    }
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let (escape, first) = directives(&lines)?;
    let mut reader = Reader { lines: &lines, next: first, escape };
    let mut parsed = Parsed { meta_args: Vec::new(), stages: Vec::new() };
    while let Some(instruction) = reader.instruction()? {
        add(&mut parsed, instruction)?;
    }
    if parsed.stages.is_empty() {
        return Err((ErrorKind::NoFrom, None));
    }
    Ok(parsed)
}

/// Files one instruction into the stage it belongs to.
fn add(parsed: &mut Parsed, instruction: Instruction) -> Result<(), Failure> {
    let line = instruction.line;
    match (instruction.keyword, parsed.stages.last_mut()) {
        (Keyword::From, _) => {
            let stage = stage(parsed, &instruction)?;
            parsed.stages.push(stage);
        }
        (Keyword::Arg, None) => {
            // A default may use the meta ARGs before it (`ARG BASE=python:${PY}`).
            for (name, default) in arg_pairs(&instruction) {
                let vars: HashMap<&str, Option<&str>> = parsed.meta_args.iter().map(|(n, v)| (n.as_str(), v.as_deref())).collect();
                let default = default.map(|d| expand(&d, &vars, &mut Vec::new(), 0));
                parsed.meta_args.push((name, default));
            }
        }
        (keyword, None) => return Err((ErrorKind::BeforeFrom(keyword.as_str()), Some(line))),
        (_, Some(stage)) => stage.instructions.push(instruction),
    }
    Ok(())
}

/// `ARG NAME`, `ARG NAME=default`, several per line; quotes around a default removed.
pub fn arg_pairs(instruction: &Instruction) -> Vec<(String, Option<String>)> {
    let text = match &instruction.args {
        Args::Shell(text) => text.clone(),
        Args::Exec(list) => list.join(" "),
    };
    let words = super::shell::commands(&text).into_iter().flatten();
    words
        .map(|word| match word.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (word, None),
        })
        .collect()
}

/// A `FROM [--platform=...] image [AS name]` line, substituted with the meta `ARG`s.
fn stage(parsed: &Parsed, instruction: &Instruction) -> Result<Stage, Failure> {
    let line = instruction.line;
    let words = instruction.words();
    let (written, name) = match words.as_slice() {
        [image] => (image.to_string(), None),
        [image, r#as, name] if r#as.eq_ignore_ascii_case("as") => (image.to_string(), Some(name.to_ascii_lowercase())),
        _ => return Err((ErrorKind::BadFrom, Some(line))),
    };
    if let Some(name) = &name
        && parsed.stages.iter().any(|s| s.name.as_ref() == Some(name))
    {
        return Err((ErrorKind::DuplicateStage(clip(name)), Some(line)));
    }
    let vars: HashMap<&str, Option<&str>> = parsed.meta_args.iter().map(|(n, v)| (n.as_str(), v.as_deref())).collect();
    let mut unresolved = Vec::new();
    let image = expand(&written, &vars, &mut unresolved, 0);
    let platform = instruction.flag("platform").map(str::to_string);
    let from = From { line, written, image, unresolved, platform };
    Ok(Stage { index: parsed.stages.len(), name, from, instructions: Vec::new() })
}

/// How deep `${A:-${B:-${C}}}` defaults are expanded.
const MAX_EXPANSION_DEPTH: usize = 4;

/// Substitutes `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}` and
/// `${NAME+word}` from `vars`; a name with no value is recorded in `unresolved` and expands to
/// nothing, as BuildKit expands it without a `--build-arg`.
pub fn expand(text: &str, vars: &HashMap<&str, Option<&str>>, unresolved: &mut Vec<String>, depth: usize) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('{') {
            let Some(end) = closing_brace(inner) else {
                out.push_str(&rest[at..]);
                return out;
            };
            out.push_str(&braced(&inner[..end], vars, unresolved, depth));
            rest = &inner[end + 1..];
        } else {
            let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            if len == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..len], vars, unresolved));
            }
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    out
}

/// The index of the `}` closing a `${`, nested braces counted.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// The value of a `${...}` body.
fn braced(body: &str, vars: &HashMap<&str, Option<&str>>, unresolved: &mut Vec<String>, depth: usize) -> String {
    let name_len = body.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(body.len());
    let (name, op) = body.split_at(name_len);
    let value = vars.get(name).copied().flatten().map(str::to_string);
    let word =
        |w: &str, unresolved: &mut Vec<String>| if depth < MAX_EXPANSION_DEPTH { expand(w, vars, unresolved, depth + 1) } else { w.to_string() };
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    if let Some(w) = op.strip_prefix(":-") {
        return if set_nonempty { value.unwrap_or_default() } else { word(w, unresolved) };
    }
    if let Some(w) = op.strip_prefix(":+") {
        return if set_nonempty { word(w, unresolved) } else { String::new() };
    }
    if let Some(w) = op.strip_prefix('-') {
        return value.unwrap_or_else(|| word(w, unresolved));
    }
    if let Some(w) = op.strip_prefix('+') {
        return if value.is_some() { word(w, unresolved) } else { String::new() };
    }
    if op.is_empty() {
        return lookup(name, vars, unresolved);
    }
    // `${NAME%suffix}` and the like: not expanded here, the reference is left undecided.
    unresolved.push(clip(body));
    String::new()
}

fn lookup(name: &str, vars: &HashMap<&str, Option<&str>>, unresolved: &mut Vec<String>) -> String {
    match vars.get(name).copied().flatten() {
        Some(value) => value.to_string(),
        None => {
            if !unresolved.iter().any(|u| u == name) {
                unresolved.push(clip(name));
            }
            String::new()
        }
    }
}

/// A name from the file for a one-line message: cut short, control characters (a newline in a
/// quoted word) shown as `?`.
pub fn clip(text: &str) -> String {
    const MAX: usize = 60;
    let shown: String = text.chars().take(MAX).map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().nth(MAX).is_some() { format!("{shown}...") } else { shown }
}

/// Reads the parser directives at the top (`# escape=`` ` ``, `# syntax=`): the escape
/// character and the index of the first line after them.
fn directives(lines: &[&str]) -> Result<(char, usize), Failure> {
    let mut escape = '\\';
    let mut seen = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(comment) = line.trim().strip_prefix('#') else { return Ok((escape, i)) };
        let Some((key, value)) = comment.split_once('=') else { return Ok((escape, i)) };
        let key = key.trim().to_ascii_lowercase();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || seen.contains(&key) {
            return Ok((escape, i));
        }
        if key == "escape" {
            escape = match value.trim() {
                "\\" => '\\',
                "`" => '`',
                other => return Err((ErrorKind::BadEscape(clip(other)), Some(i + 1))),
            };
        }
        seen.push(key);
    }
    Ok((escape, lines.len()))
}

/// Walks the physical lines, one instruction at a time.
struct Reader<'a> {
    lines: &'a [&'a str],
    next: usize,
    escape: char,
}

impl Reader<'_> {
    /// The next instruction, or `None` at the end of the file.
    fn instruction(&mut self) -> Result<Option<Instruction>, Failure> {
        while self.next < self.lines.len() && skippable(self.lines[self.next]) {
            self.next += 1;
        }
        if self.next >= self.lines.len() {
            return Ok(None);
        }
        let line = self.next + 1;
        let text = self.logical_line();
        let text = text.trim_start();
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let keyword = Keyword::parse(word).ok_or_else(|| (ErrorKind::Unknown(clip(word)), Some(line)))?;
        let (flags, rest) = if matches!(keyword, Keyword::Run | Keyword::Copy | Keyword::Add | Keyword::From | Keyword::Healthcheck) {
            split_flags(rest)
        } else {
            (Vec::new(), rest.trim())
        };
        let heredocs = if matches!(keyword, Keyword::Run | Keyword::Copy | Keyword::Add) { self.heredocs(rest, line)? } else { Vec::new() };
        if rest.is_empty() {
            return Err((ErrorKind::MissingArgument(keyword.as_str()), Some(line)));
        }
        let args = exec_form(rest).map_or_else(|| Args::Shell(rest.to_string()), Args::Exec);
        Ok(Some(Instruction { line, keyword, flags, args, heredocs }))
    }

    /// The instruction starting at `self.next`, its continuation lines joined (the escape
    /// character and the line break removed; blank and comment lines inside skipped).
    fn logical_line(&mut self) -> String {
        let mut text = String::new();
        while self.next < self.lines.len() {
            let physical = self.lines[self.next];
            self.next += 1;
            let Some(joined) = physical.trim_end().strip_suffix(self.escape) else {
                text.push_str(physical);
                break;
            };
            text.push_str(joined);
            while self.next < self.lines.len() && skippable(self.lines[self.next]) {
                self.next += 1;
            }
        }
        text
    }

    /// The bodies of the heredocs that `rest` opens, read from the lines after it.
    fn heredocs(&mut self, rest: &str, line: usize) -> Result<Vec<Heredoc>, Failure> {
        let mut docs = Vec::new();
        for (name, strip_tabs) in heredoc_markers(rest) {
            let mut body = String::new();
            loop {
                let Some(physical) = self.lines.get(self.next) else {
                    return Err((ErrorKind::UnterminatedHeredoc(clip(&name)), Some(line)));
                };
                self.next += 1;
                let content = if strip_tabs { physical.trim_start_matches('\t') } else { physical };
                if content == name {
                    break;
                }
                body.push_str(content);
                body.push('\n');
            }
            docs.push(Heredoc { name, body });
        }
        Ok(docs)
    }
}

/// A blank line or a comment line.
fn skippable(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

/// Leading `--flag[=value]` words, and the text after them.
fn split_flags(text: &str) -> (Vec<String>, &str) {
    let mut flags = Vec::new();
    let mut rest = text.trim();
    while rest.starts_with("--") {
        let (flag, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        flags.push(flag.to_string());
        rest = after.trim_start();
    }
    (flags, rest)
}

/// The exec form: a JSON array of strings. Anything else is the shell form, as in Docker.
fn exec_form(text: &str) -> Option<Vec<String>> {
    if !text.starts_with('[') {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// The heredoc markers in an instruction (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`), whole
/// words only as BuildKit reads them (`$((1<<2))` is no heredoc), in order: each name and whether
/// leading tabs are stripped (`<<-`).
fn heredoc_markers(text: &str) -> Vec<(String, bool)> {
    let mut markers = Vec::new();
    for word in text.split_whitespace() {
        let Some(rest) = word.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix("<<") else { continue };
        let strip_tabs = rest.starts_with('-');
        let rest = rest.strip_prefix('-').unwrap_or(rest);
        let rest = rest.strip_prefix(['"', '\'', '\\']).unwrap_or(rest);
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len > 0 {
            markers.push((rest[..len].to_string(), strip_tabs));
        }
    }
    markers
}

#[cfg(test)]
mod tests;
