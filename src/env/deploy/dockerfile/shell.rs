//! POSIX shell text of a `RUN` split into simple commands of words, the way `sh` would split
//! them: at `&&`, `||`, `;`, `|`, `&`, newlines and parentheses, with quotes, backslash escapes,
//! comments and redirections resolved. Enough to find `pip install numpy` in
//! `apt-get update && pip install "numpy" 2>/dev/null`, not a shell: expansions stay as written.

/// The simple commands of `text`, each a list of words; empty commands are dropped.
pub fn commands(text: &str) -> Vec<Vec<String>> {
    let mut split = Splitter::default();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\r' => split.end_word(),
            '\n' | ';' | '(' | ')' => split.end_command(),
            '&' | '|' => {
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                split.end_command();
            }
            '<' | '>' => {
                split.redirect();
                while chars.next_if(|n| matches!(n, '<' | '>' | '&' | '|' | '-')).is_some() {}
            }
            '#' if split.word.is_none() => while chars.next_if(|n| *n != '\n').is_some() {},
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(escaped) => split.push(escaped),
            },
            '\'' => {
                split.start();
                while let Some(q) = chars.next_if(|n| *n != '\'') {
                    split.push(q);
                }
                chars.next();
            }
            '"' => double_quoted(&mut chars, &mut split),
            '$' if chars.peek() == Some(&'(') => {
                split.push('$');
                balanced(&mut chars, &mut split, '(', ')');
            }
            '`' => {
                split.push('`');
                for q in chars.by_ref() {
                    split.push(q);
                    if q == '`' {
                        break;
                    }
                }
            }
            _ => split.push(c),
        }
    }
    split.end_command();
    split.commands
}

/// The words after an opening `"`, up to the closing one: a backslash escapes only `$`, `` ` ``,
/// `"`, `\` and a newline, as in POSIX `sh`.
fn double_quoted(chars: &mut std::iter::Peekable<std::str::Chars>, split: &mut Splitter) {
    split.start();
    while let Some(q) = chars.next() {
        match q {
            '"' => return,
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(e @ ('$' | '`' | '"' | '\\')) => split.push(e),
                Some(other) => {
                    split.push('\\');
                    split.push(other);
                }
            },
            _ => split.push(q),
        }
    }
}

/// Copies a `$( ... )` group into the current word, nested groups included, so the operators
/// inside it do not split the outer command.
fn balanced(chars: &mut std::iter::Peekable<std::str::Chars>, split: &mut Splitter, open: char, close: char) {
    let mut depth = 0usize;
    for c in chars.by_ref() {
        split.push(c);
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return;
            }
        }
    }
}

#[derive(Default)]
struct Splitter {
    commands: Vec<Vec<String>>,
    command: Vec<String>,
    /// The word being read; `Some("")` after `""`, an empty word that still counts.
    word: Option<String>,
    /// The next word is the target of a redirection (`> /dev/null`), not an argument.
    redirect_target: bool,
}

impl Splitter {
    fn start(&mut self) {
        self.word.get_or_insert_with(String::new);
    }

    fn push(&mut self, c: char) {
        self.word.get_or_insert_with(String::new).push(c);
    }

    fn end_word(&mut self) {
        if let Some(word) = self.word.take() {
            if std::mem::take(&mut self.redirect_target) {
                return;
            }
            self.command.push(word);
        }
    }

    /// A `<` or `>`: a file-descriptor number written just before it (`2>`) is no argument, and
    /// the next word is the redirection's target.
    fn redirect(&mut self) {
        if self.word.as_deref().is_some_and(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit())) {
            self.word = None;
        }
        self.end_word();
        self.redirect_target = true;
    }

    fn end_command(&mut self) {
        self.end_word();
        self.redirect_target = false;
        if !self.command.is_empty() {
            self.commands.push(std::mem::take(&mut self.command));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        commands(text)
    }

    fn cmds(expected: &[&[&str]]) -> Vec<Vec<String>> {
        expected.iter().map(|c| c.iter().map(|w| w.to_string()).collect()).collect()
    }

    #[test]
    fn operators_split_commands() {
        assert_eq!(
            words("apt-get update && pip install numpy || true; echo done | tee log & wait"),
            cmds(&[&["apt-get", "update"], &["pip", "install", "numpy"], &["true"], &["echo", "done"], &["tee", "log"], &["wait"]])
        );
        assert_eq!(words("(cd /app && make)\n ls"), cmds(&[&["cd", "/app"], &["make"], &["ls"]]));
    }

    #[test]
    fn quotes_and_escapes_make_one_word() {
        assert_eq!(
            words(r#"pip install "numpy>=1.26" 'pandas && x' a\ b "" c"#),
            cmds(&[&["pip", "install", "numpy>=1.26", "pandas && x", "a b", "", "c"]])
        );
        assert_eq!(words(r#"echo "a \"q\" \$HOME \n""#), cmds(&[&["echo", r#"a "q" $HOME \n"#]]));
        assert_eq!(words("pip install \\\n  numpy"), cmds(&[&["pip", "install", "numpy"]]));
    }

    #[test]
    fn redirections_comments_and_substitutions_are_not_arguments() {
        assert_eq!(words("pip install -r req.txt > /dev/null 2>&1 # quiet"), cmds(&[&["pip", "install", "-r", "req.txt"]]));
        assert_eq!(words("cat <<EOF >/tmp/x"), cmds(&[&["cat"]]));
        assert_eq!(words("V=$(python -c 'a; b' && x) pip install a#b"), cmds(&[&["V=$(python -c 'a; b' && x)", "pip", "install", "a#b"]]));
        assert_eq!(words("echo `date; x` y"), cmds(&[&["echo", "`date; x`", "y"]]));
    }

    #[test]
    fn unterminated_input_ends_cleanly() {
        assert_eq!(words("pip install 'numpy"), cmds(&[&["pip", "install", "numpy"]]));
        assert_eq!(words("echo \"abc\\"), cmds(&[&["echo", "abc"]]));
        assert_eq!(words("x $((1+(2)"), cmds(&[&["x", "$((1+(2)"]]));
        assert_eq!(words("a \\"), cmds(&[&["a"]]));
        assert!(commands("&& ;; || \n").is_empty());
    }
}
