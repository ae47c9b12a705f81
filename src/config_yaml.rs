//! Span-aware YAML loading for the configuration: every unknown key, wrong type and bad value
//! is reported at once, each with its line and column.
//!
//! The file is first read into a generic tree whose nodes carry their source location (serde-saphyr's
//! `Spanned`). Unknown keys are found by comparing against the fields of the default config; each
//! value is then type-checked on its own by deserializing the default config with only that value
//! replaced, so one bad value never hides another.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// A YAML node with the location of every nested value (the config loader's, and the line map
/// of a Kubernetes manifest).
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Uint(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Spanned<String>, Spanned<Node>>()? {
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

impl Node {
    fn to_json(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Int(i) => Value::from(*i),
            Self::Uint(u) => Value::from(*u),
            Self::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Self::Str(s) => Value::String(s.clone()),
            Self::Seq(items) => Value::Array(items.iter().map(|i| i.value.to_json()).collect()),
            Self::Map(entries) => Value::Object(entries.iter().map(|(k, v)| (k.value.clone(), v.value.to_json())).collect()),
        }
    }
}

/// A position in the file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub position: Option<Position>,
    /// Dotted field path (`checks.latency.runs`).
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = self.position {
            write!(f, "line {} column {}: ", p.line, p.column)?;
        }
        write!(f, "{}: {}", printable(&self.path), printable(&self.message))
    }
}

/// Keys and values come from the file: control characters (a newline inside a key) are
/// escaped so that every problem stays on one line.
fn printable(text: &str) -> String {
    text.chars().flat_map(|c| if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }).collect()
}

/// Where each dotted path's value sits in the file.
pub type Positions = BTreeMap<String, Position>;

fn position<T>(spanned: &Spanned<T>) -> Position {
    Position { line: spanned.referenced.line(), column: spanned.referenced.column() }
}

/// Parses `text` into `T`, reporting every structural and type problem at once. `T::default()`
/// defines the known keys. Returns the value and the location of each path for later
/// value-level validation.
pub fn parse<T: DeserializeOwned + Serialize + Default>(text: &str) -> Result<(T, Positions), Vec<Problem>> {
    let parsed = parse_all::<T>(text);
    match parsed.value {
        Some(value) if parsed.problems.is_empty() => Ok((value, parsed.positions)),
        _ => Err(parsed.problems),
    }
}

/// What [`parse_all`] made of a file: every problem, and the value built from the keys that
/// had none (the others left at their defaults), so value-level validation can still report
/// the rest of the file's problems in the same run.
pub struct Parsed<T> {
    pub value: Option<T>,
    pub positions: Positions,
    pub problems: Vec<Problem>,
}

/// [`parse`], keeping the value built from the good keys alongside the problems.
pub fn parse_all<T: DeserializeOwned + Serialize + Default>(text: &str) -> Parsed<T> {
    // Duplicate keys and `.nan`/`.inf` reach the tree, so they are reported with the rest of the
    // file's problems (serde-saphyr would stop at the first, in its own words).
    let options = serde_saphyr::options! {
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
    };
    let root: Spanned<Node> = match serde_saphyr::from_str_with_options(text, options) {
        Ok(root) => root,
        Err(e) => {
            let position = e.location().map(|l| Position { line: l.line(), column: l.column() });
            let message = e.to_string().lines().next().unwrap_or_default().trim().to_string();
            let message = message.split(" --> ").next().unwrap_or(&message).to_string();
            let problem = Problem { position, path: "(file)".into(), message: strip_location(&message) };
            return Parsed { value: None, positions: Positions::new(), problems: vec![problem] };
        }
    };
    let defaults = serde_json::to_value(T::default()).expect("config serializes");
    let mut positions = Positions::new();
    let mut problems = Vec::new();
    scan(&root, "", &mut problems);
    let mut leaves = Vec::new();
    if !matches!(root.value, Node::Null) {
        walk(&root, &defaults, "", &mut positions, &mut problems, &mut leaves);
    }
    // Type-check each value alone against the defaults; only the good ones are merged.
    let mut merged = defaults.clone();
    for (path, value, at) in leaves {
        let mut candidate = defaults.clone();
        set_path(&mut candidate, &path, value.clone());
        match serde_json::from_value::<T>(candidate) {
            Ok(_) => set_path(&mut merged, &path, value),
            Err(error) => problems.push(Problem { position: Some(at), path, message: clean_serde_message(&error.to_string()) }),
        }
    }
    let value = match serde_json::from_value::<T>(merged) {
        Ok(value) => Some(value),
        Err(e) => {
            problems.push(Problem { position: None, path: "(file)".into(), message: e.to_string() });
            None
        }
    };
    problems.sort_by_key(|p| p.position);
    Parsed { value, positions, problems }
}

/// Problems the tree shows before any schema: a key given twice in one mapping (the first is
/// used), and a float that is not finite (`.nan`, `.inf`), anywhere in the file.
fn scan(node: &Spanned<Node>, path: &str, problems: &mut Vec<Problem>) {
    let child_path = |key: &str| if path.is_empty() { key.to_string() } else { format!("{path}.{key}") };
    match &node.value {
        Node::Map(entries) => {
            let mut first: BTreeMap<&str, Position> = BTreeMap::new();
            for (key, value) in entries {
                match first.get(key.value.as_str()) {
                    Some(earlier) => problems.push(Problem {
                        position: Some(position(key)),
                        path: child_path(&key.value),
                        message: format!("duplicate key (first given on line {}); give each key once", earlier.line),
                    }),
                    None => {
                        first.insert(&key.value, position(key));
                        scan(value, &child_path(&key.value), problems);
                    }
                }
            }
        }
        Node::Seq(items) => items.iter().enumerate().for_each(|(i, item)| scan(item, &format!("{path}[{i}]"), problems)),
        Node::Float(f) if !f.is_finite() => {
            let text = if f.is_nan() {
                ".nan"
            } else if *f > 0.0 {
                ".inf"
            } else {
                "-.inf"
            };
            problems.push(Problem {
                position: Some(position(node)),
                path: path.to_string(),
                message: format!("must be a finite number, got {text}"),
            });
        }
        _ => {}
    }
}

/// Whether `node` holds a float that is not finite ([`scan`] reports it; it is not type-checked).
fn non_finite(node: &Node) -> bool {
    match node {
        Node::Float(f) => !f.is_finite(),
        Node::Seq(items) => items.iter().any(|i| non_finite(&i.value)),
        Node::Map(entries) => entries.iter().any(|(_, v)| non_finite(&v.value)),
        _ => false,
    }
}

fn walk(
    node: &Spanned<Node>,
    schema: &Value,
    path: &str,
    positions: &mut Positions,
    problems: &mut Vec<Problem>,
    leaves: &mut Vec<(String, Value, Position)>,
) {
    if non_finite(&node.value) && !matches!((&node.value, schema), (Node::Map(_), Value::Object(known)) if !known.is_empty()) {
        return;
    }
    match (&node.value, schema) {
        // A map whose keys are the user's (input names, dimension names): one value, checked
        // whole by its type; its nested keys keep their positions for validation messages.
        (Node::Map(_), Value::Object(known)) if known.is_empty() => {
            record_positions(node, path, positions);
            leaves.push((path.to_string(), node.value.to_json(), position(node)));
        }
        (Node::Map(entries), Value::Object(known)) => {
            let mut seen = std::collections::BTreeSet::new();
            // A repeated key is reported by `scan`; its first value is the one used.
            for (key, value) in entries.iter().filter(|(key, _)| seen.insert(key.value.as_str())) {
                let child = if path.is_empty() { key.value.clone() } else { format!("{path}.{}", key.value) };
                match known.get(&key.value) {
                    Some(sub) => {
                        positions.insert(child.clone(), position(value));
                        walk(value, sub, &child, positions, problems, leaves);
                    }
                    None => {
                        let expected: Vec<&str> = known.keys().map(String::as_str).collect();
                        problems.push(Problem {
                            position: Some(position(key)),
                            path: child,
                            message: format!("unknown key (expected one of: {})", expected.join(", ")),
                        });
                    }
                }
            }
        }
        (Node::Null, Value::Object(_)) => {}
        (_, Value::Object(_)) => {
            problems.push(Problem { position: Some(position(node)), path: path.to_string(), message: "expected a mapping of keys".to_string() })
        }
        (value, _) => leaves.push((path.to_string(), value.to_json(), position(node))),
    }
}

fn record_positions(node: &Spanned<Node>, path: &str, positions: &mut Positions) {
    if let Node::Map(entries) = &node.value {
        for (key, value) in entries {
            let child = format!("{path}.{}", key.value);
            positions.insert(child.clone(), position(value));
            record_positions(value, &child, positions);
        }
    }
}

fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut current = root;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = current else { return };
        if i == parts.len() - 1 {
            map.insert((*part).to_string(), value);
            return;
        }
        current = map.entry((*part).to_string()).or_insert_with(|| Value::Object(Default::default()));
    }
}

fn clean_serde_message(message: &str) -> String {
    // serde_json appends " at line 1 column N" for values; positions here come from the YAML.
    message.split(" at line ").next().unwrap_or(message).to_string()
}

fn strip_location(message: &str) -> String {
    let trimmed = message.trim_start_matches("error: ");
    match trimmed.find(": ") {
        Some(i) if trimmed.starts_with("line ") => trimmed[i + 2..].to_string(),
        _ => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        runs: usize,
        limit: Option<f64>,
    }

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(deny_unknown_fields, default)]
    struct Outer {
        name: String,
        inner: Inner,
    }

    #[test]
    fn values_merge_over_defaults_and_positions_are_recorded() {
        let (value, positions) = parse::<Outer>("inner:\n  runs: 3\n").unwrap();
        assert_eq!(value, Outer { name: String::new(), inner: Inner { runs: 3, limit: None } });
        assert_eq!(positions["inner.runs"], Position { line: 2, column: 9 });
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let problems = parse::<Outer>("nam: x\ninner:\n  runs: abc\n  limit: [1]\n  extra: 1\n").unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("line 1 column 1: nam: unknown key (expected one of: inner, name)"), "{text:?}");
        assert!(text[1].starts_with("line 3 column 9: inner.runs: invalid type: string \"abc\""), "{text:?}");
        assert!(text[2].starts_with("line 4 column 10: inner.limit: invalid type"), "{text:?}");
        assert!(text[3].starts_with("line 5 column 3: inner.extra: unknown key"), "{text:?}");
    }

    #[test]
    fn a_key_with_a_newline_stays_on_one_line() {
        // Found by `scripts/fuzz.sh` (fuzz/regressions/config_yaml/newline-in-key).
        let input = include_bytes!("../fuzz/regressions/config_yaml/newline-in-key");
        let text = std::str::from_utf8(input).unwrap();
        let problems = parse::<Outer>(text).unwrap_err();
        for problem in problems {
            assert!(!problem.to_string().contains('\n'), "{problem}");
        }
        let err = crate::config::Config::from_yaml(text, "fuzz.yaml").unwrap_err();
        assert!(!err.contains('\n'), "{err}");
        assert!(err.contains("\\n"), "the newline is shown escaped: {err}");
    }

    #[test]
    fn duplicate_keys_and_non_finite_floats_are_reported_with_the_rest() {
        let problems = parse::<Outer>("nam: x\ninner:\n  limit: .nan\n  runs: abc\n  runs: 2\nname: a\nname: b\n").unwrap_err();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "line 1 column 1: nam: unknown key (expected one of: inner, name)",
                "line 3 column 10: inner.limit: must be a finite number, got .nan",
                "line 4 column 9: inner.runs: invalid type: string \"abc\", expected usize",
                "line 5 column 3: inner.runs: duplicate key (first given on line 4); give each key once",
                "line 7 column 1: name: duplicate key (first given on line 6); give each key once",
            ]
        );
        let problems = parse::<Outer>("inner:\n  limit: -.inf\n").unwrap_err();
        assert_eq!(problems[0].to_string(), "line 2 column 10: inner.limit: must be a finite number, got -.inf");
    }

    #[test]
    fn broken_yaml_is_one_problem_with_a_position() {
        let problems = parse::<Outer>("inner: [1, 2\n").unwrap_err();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].position.is_some(), "{problems:?}");
    }
}
