//! JSON samples as written: a tree whose numbers keep their exact text (JSON numbers have no
//! width, and an integer above 2^53 is exact only as text) and whose objects keep every key in
//! file order, so a key given twice is an error naming it instead of the last one silently
//! winning (what `serde_json::Value` and polars do). serde_json checks the syntax first; this
//! module only builds the tree of text it has accepted.

use std::collections::HashSet;

/// One JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Array(Vec<Node>),
    /// Keys in file order, each once.
    Object(Vec<(String, Node)>),
    /// The number exactly as written (`9007199254740993`, `1e-7`).
    Number(String),
    Text(String),
    Bool(bool),
    Null,
}

impl Node {
    /// What the value is, for messages (`an array`, `a string`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Array(_) => "an array",
            Self::Object(_) => "an object",
            Self::Number(_) => "a number",
            Self::Text(_) => "a string",
            Self::Bool(_) => "a boolean",
            Self::Null => "null",
        }
    }
}

/// Parses one JSON document whose first line is line `first_line` of its file (NDJSON lines
/// are parsed one by one). Errors say the line: `line 3: key 'ids' appears twice ...`.
pub fn parse(text: &str, first_line: usize) -> Result<Node, String> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let line = first_line + e.line().saturating_sub(1);
        let what = e.to_string();
        // serde_json ends its message with its own position; the line is said first instead.
        let what = what.split(" at line ").next().unwrap_or(&what);
        return Err(format!("line {line}: not valid JSON: {what} (character {})", e.column()));
    }
    let mut parser = Parser { text, bytes: text.as_bytes(), at: 0, seen: 0, line: first_line };
    parser.value()
}

/// The items of a JSON array (`[{...}, {...}]`) with the line each starts on.
pub fn array_items(text: &str) -> Result<Vec<(usize, Node)>, String> {
    match parse(text, 1)? {
        Node::Array(_) => {}
        other => return Err(format!("line 1: {} where an array of rows was expected", other.kind())),
    }
    let mut parser = Parser { text, bytes: text.as_bytes(), at: 0, seen: 0, line: 1 };
    parser.skip_space();
    parser.at += 1;
    let mut items = Vec::new();
    loop {
        parser.skip_space();
        match parser.peek()? {
            b']' => return Ok(items),
            b',' => parser.at += 1,
            _ => {
                let line = parser.line_here();
                items.push((line, parser.value()?));
            }
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Newlines are counted up to `seen`, the line there is `line`.
    seen: usize,
    line: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Result<u8, String> {
        self.bytes.get(self.at).copied().ok_or_else(|| format!("line {}: unexpected end of the JSON text", self.line))
    }

    fn skip_space(&mut self) {
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    /// The line of the current position.
    fn line_here(&mut self) -> usize {
        let end = self.at.min(self.bytes.len());
        if end > self.seen {
            self.line += self.bytes[self.seen..end].iter().filter(|&&b| b == b'\n').count();
            self.seen = end;
        }
        self.line
    }

    fn value(&mut self) -> Result<Node, String> {
        self.skip_space();
        match self.peek()? {
            b'[' => self.array(),
            b'{' => self.object(),
            b'"' => self.string().map(Node::Text),
            b't' => self.word("true", Node::Bool(true)),
            b'f' => self.word("false", Node::Bool(false)),
            b'n' => self.word("null", Node::Null),
            _ => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
                    self.at += 1;
                }
                match &self.text[start..self.at] {
                    "" => Err(format!("line {}: unexpected character in the JSON text", self.line_here())),
                    number => Ok(Node::Number(number.to_string())),
                }
            }
        }
    }

    fn word(&mut self, word: &str, node: Node) -> Result<Node, String> {
        self.at += word.len();
        Ok(node)
    }

    fn array(&mut self) -> Result<Node, String> {
        self.at += 1;
        let mut items = Vec::new();
        loop {
            self.skip_space();
            match self.peek()? {
                b']' => {
                    self.at += 1;
                    return Ok(Node::Array(items));
                }
                b',' => self.at += 1,
                _ => items.push(self.value()?),
            }
        }
    }

    fn object(&mut self) -> Result<Node, String> {
        self.at += 1;
        let mut pairs = Vec::new();
        let mut keys = HashSet::new();
        loop {
            self.skip_space();
            match self.peek()? {
                b'}' => {
                    self.at += 1;
                    return Ok(Node::Object(pairs));
                }
                b',' => self.at += 1,
                _ => {
                    let line = self.line_here();
                    let key = self.string()?;
                    self.skip_space();
                    self.at += 1; // the ':'
                    let value = self.value()?;
                    if !keys.insert(key.clone()) {
                        return Err(format!(
                            "line {line}: key '{}' appears twice in one object (a JSON reader keeps only the last); give each key once",
                            crate::sample::clip(&key, 60)
                        ));
                    }
                    pairs.push((key, value));
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.at;
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => break,
                _ => self.at += 1,
            }
        }
        self.at += 1;
        serde_json::from_str::<String>(&self.text[start..self.at]).map_err(|e| format!("line {}: {e}", self.line_here()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_keys_their_order() {
        let node = parse(r#"{"b": [9007199254740993, 1.50, -2e3], "a": "x\"y", "c": [true, null]}"#, 1).unwrap();
        let Node::Object(pairs) = node else { panic!() };
        assert_eq!(pairs.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(pairs[0].1, Node::Array(vec![Node::Number("9007199254740993".into()), Node::Number("1.50".into()), Node::Number("-2e3".into())]));
        assert_eq!(pairs[1].1, Node::Text("x\"y".into()));
        assert_eq!(pairs[2].1, Node::Array(vec![Node::Bool(true), Node::Null]));
    }

    #[test]
    fn a_duplicate_key_and_bad_syntax_name_their_line() {
        assert_eq!(
            parse("{\"a\": 1,\n \"a\": 2}", 1).unwrap_err(),
            "line 2: key 'a' appears twice in one object (a JSON reader keeps only the last); give each key once"
        );
        assert_eq!(parse("{\"a\": 1,\n \"b\": }", 4).unwrap_err(), "line 5: not valid JSON: expected value (character 7)");
        let rows = array_items("[\n {\"a\": 1},\n {\"a\": 2}\n]").unwrap();
        assert_eq!(rows.iter().map(|(line, _)| *line).collect::<Vec<_>>(), [2, 3]);
    }
}
