//! Nesting depth before parsing. A recursive parser given 30,000 nested `[` overflows its stack
//! and aborts the process (polars' JSON reader does); this scan counts brackets without
//! recursion, so a file nested deeper than any real sample is refused with a one-line error.
//! serde_json (reports read back) stops at 128 levels itself and serde-saphyr (YAML) at 64.

/// Deepest JSON nesting accepted in a sample or expected-output file (serde_json's own limit).
pub const MAX_JSON_DEPTH: usize = 128;

/// Checks that no array or object in `bytes` (JSON or NDJSON) nests deeper than
/// [`MAX_JSON_DEPTH`]. Brackets inside strings do not count.
pub fn check_json(bytes: &[u8]) -> Result<(), String> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(format!("nested more than {MAX_JSON_DEPTH} levels deep; not read"));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_strings_only() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(check_json(deep.as_bytes()).unwrap_err(), "nested more than 128 levels deep; not read");
        let fine = format!("[{}{}]", "[".repeat(MAX_JSON_DEPTH - 1), "]".repeat(MAX_JSON_DEPTH - 1));
        assert!(check_json(fine.as_bytes()).is_ok());
        let quoted = format!("[{{\"a\": \"{}\\\"[\"}}]", "[".repeat(1000));
        assert!(check_json(quoted.as_bytes()).is_ok());
    }
}
