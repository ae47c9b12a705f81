//! Escaping at the edge: every string that can come from a model or a sample (names, producer,
//! metadata, column names, summaries that quote them) is made inert for the output it goes to.
//! A terminal never receives a control character (no clear screen, no forged line), Markdown
//! never receives markup it would act on, and XML never receives a character XML 1.0 forbids.

use std::fmt::Write;

/// Whether `c` would act on a terminal or fake the text direction: C0, DEL, C1 and the Unicode
/// bidirectional overrides.
fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{fffe}' | '\u{ffff}')
}

/// The visible form of a control character: `\n`, `\r`, `\t`, `\x1b`, `\u{202e}`.
fn visible(c: char, out: &mut String) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32).expect("writing to a String"),
        c => write!(out, "\\u{{{:x}}}", c as u32).expect("writing to a String"),
    }
}

/// For a terminal: every control character (ESC, newline, carriage return, ...) is shown as an
/// escape sequence instead of acting.
pub fn terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_control(c) { visible(c, &mut out) } else { out.push(c) }
    }
    out
}

/// For Markdown text (a table cell, a list item): control characters are shown escaped, and
/// every character Markdown or HTML would act on is escaped, so the text renders as itself on
/// one line. An underscore inside a word is left alone (it never starts emphasis).
pub fn markdown(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            c if is_control(c) => visible(c, &mut out),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '_' => {
                let inside_word = i > 0 && chars[i - 1].is_alphanumeric() && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
                out.push_str(if inside_word { "_" } else { "\\_" });
            }
            '\\' | '|' | '`' | '*' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// For a name shown as code in Markdown: a plain code span when that is safe, otherwise the
/// escaped text in `<code>` (a code span cannot escape `` ` ``, `<` or a pipe in a table).
pub fn markdown_code(text: &str) -> String {
    let plain = !text.chars().any(|c| is_control(c) || matches!(c, '`' | '|' | '<' | '>' | '&' | '\\'));
    if plain && !text.is_empty() { format!("`{text}`") } else { format!("<code>{}</code>", markdown(text)) }
}

/// For XML text or attribute values: the characters XML 1.0 forbids (C0 controls other than
/// tab, newline and carriage return; U+FFFE, U+FFFF) and the other control characters are shown
/// escaped, so the document always parses. quick-xml escapes `<`, `&` and quotes itself.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c if is_control(c) => visible(c, &mut out),
            c => out.push(c),
        }
    }
    out
}

/// For text inside an HTML comment (`<!-- ... -->`): no `<` or `>` survives, so nothing can
/// close the comment or open another (the README's markers are comments). JSON stays valid:
/// the characters only occur inside strings, where `\u003c` means the same.
pub fn json_in_html_comment(json: &str) -> String {
    json.replace('<', "\\u003c").replace('>', "\\u003e")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_control_characters_become_visible() {
        assert_eq!(terminal("a\x1b[2Jb\nc\u{9b}d\u{202e}"), "a\\x1b[2Jb\\nc\\x9bd\\u{202e}");
        assert_eq!(terminal("plain name_1 · µs"), "plain name_1 · µs");
    }

    #[test]
    fn markdown_text_renders_as_itself_on_one_line() {
        assert_eq!(markdown("a|b <script>\nc"), "a\\|b &lt;script&gt;\\nc");
        assert_eq!(markdown("# h *b* _i_ [l](u) `c` petal_width"), "\\# h \\*b\\* \\_i\\_ \\[l\\](u) \\`c\\` petal_width");
        assert_eq!(markdown_code("input"), "`input`");
        assert_eq!(markdown_code("x`|<!--"), "<code>x\\`\\|&lt;!--</code>");
    }

    #[test]
    fn xml_never_receives_a_forbidden_character() {
        assert_eq!(xml("a\x00b\x1bc\nd\u{ffff}"), "a\\x00b\\x1bc\nd\\u{ffff}");
    }

    #[test]
    fn json_in_a_comment_cannot_close_it() {
        let json = serde_json::to_string("--> <!-- x").unwrap();
        let safe = json_in_html_comment(&json);
        assert!(!safe.contains('<') && !safe.contains('>'));
        assert_eq!(serde_json::from_str::<String>(&safe).unwrap(), "--> <!-- x");
    }
}
