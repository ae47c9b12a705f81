use super::*;

fn ok(text: &str) -> Parsed {
    match parse(text) {
        Ok(parsed) => parsed,
        Err((kind, line)) => panic!("{kind} at {line:?}"),
    }
}

fn err(text: &str) -> Failure {
    parse(text).err().expect("a parse error")
}

/// (line, keyword) of every instruction after the FROMs, stage by stage.
fn outline(parsed: &Parsed) -> Vec<(usize, usize, &'static str)> {
    parsed.stages.iter().flat_map(|s| s.instructions.iter().map(move |i| (s.index, i.line, i.keyword.as_str()))).collect()
}

#[test]
fn continuations_comments_and_case_keep_first_lines() {
    let text = "# syntax=docker/dockerfile:1\n\nfrom python:3.11-slim AS Base\n# a comment\nRun apt-get update \\\n  # inside\n\n  && pip install \\  \n -r req.txt\nuser app\n";
    let parsed = ok(text);
    assert_eq!(outline(&parsed), vec![(0, 5, "RUN"), (0, 10, "USER")]);
    let stage = &parsed.stages[0];
    assert_eq!(stage.name.as_deref(), Some("base"));
    assert_eq!(stage.from.line, 3);
    assert_eq!(stage.instructions[0].args, Args::Shell("apt-get update   && pip install  -r req.txt".into()));
}

#[test]
fn the_escape_directive_changes_the_continuation_character() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir C:\\ `\n  && echo done\nCOPY a.txt C:\\app\\\n";
    let parsed = ok(text);
    assert_eq!(outline(&parsed), vec![(0, 3, "RUN"), (0, 5, "COPY")]);
    assert_eq!(parsed.stages[0].instructions[0].args, Args::Shell("dir C:\\   && echo done".into()));
    assert_eq!(err("# escape=x\nFROM a\n"), (ErrorKind::BadEscape("x".into()), Some(1)));
    // A directive after a comment is a comment.
    let late = ok("# hello\n# escape=`\nFROM a\nRUN x \\\n y\n");
    assert_eq!(late.stages[0].instructions[0].args, Args::Shell("x  y".into()));
}

#[test]
fn exec_and_shell_forms_and_flags() {
    let text = "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN --mount=type=cache,target=/root/.cache [\"go\", \"build\"]\nCOPY --from=build --chown=1000 /out /app\nCMD [not json\n";
    let parsed = ok(text);
    let stage = &parsed.stages[0];
    assert_eq!(stage.from.platform.as_deref(), Some("$BUILDPLATFORM"));
    assert_eq!(stage.instructions[0].args, Args::Exec(vec!["go".into(), "build".into()]));
    assert_eq!(stage.instructions[0].flag("mount"), Some("type=cache,target=/root/.cache"));
    assert_eq!(stage.instructions[1].flag("from"), Some("build"));
    assert_eq!(stage.instructions[1].flag("chown"), Some("1000"));
    assert_eq!(stage.instructions[1].words(), vec!["/out", "/app"]);
    assert_eq!(stage.instructions[2].args, Args::Shell("[not json".into()));
}

#[test]
fn meta_args_are_substituted_into_from() {
    let text = "ARG PY=3.11\nARG VARIANT=\"slim\" REG\nARG BASE=python:${PY}-${VARIANT}\nFROM ${BASE} AS build\nFROM $REG/app:${TAG:-1.0}\nFROM python:${MISSING}\nFROM ${NOPE:-${PY}}-x${PY:+-y}\n";
    let parsed = ok(text);
    assert_eq!(parsed.meta_args[0], ("PY".to_string(), Some("3.11".to_string())));
    assert_eq!(parsed.meta_args[1], ("VARIANT".to_string(), Some("slim".to_string())));
    assert_eq!(parsed.meta_args[2], ("REG".to_string(), None));
    let images: Vec<(&str, &[String])> = parsed.stages.iter().map(|s| (s.from.image.as_str(), s.from.unresolved.as_slice())).collect();
    assert_eq!(images[0], ("python:3.11-slim", &[][..]));
    assert_eq!(images[1], ("/app:1.0", &["REG".to_string()][..]));
    assert_eq!(images[2], ("python:", &["MISSING".to_string()][..]));
    assert_eq!(images[3], ("3.11-x-y", &[][..]));
}

#[test]
fn heredocs_are_read_to_their_terminator() {
    let text = "FROM alpine:3.20\nRUN <<EOF\npip install numpy\nEOF\nRUN <<-A cat && python3 <<\"B\"\n\t\techo a\n\tA\nprint(1)\nB\nCOPY <<EOF /etc/x.conf\nRUN not an instruction\nEOF\nRUN echo $((1<<2))\nUSER app\nRUN cat <<EOF > /etc/y\nhi\nEOF\n";
    let parsed = ok(text);
    assert_eq!(outline(&parsed), vec![(0, 2, "RUN"), (0, 5, "RUN"), (0, 10, "COPY"), (0, 13, "RUN"), (0, 14, "USER"), (0, 15, "RUN")]);
    let run = &parsed.stages[0].instructions[1];
    let docs: Vec<(&str, &str)> = run.heredocs.iter().map(|h| (h.name.as_str(), h.body.as_str())).collect();
    assert_eq!(docs, vec![("A", "echo a\n"), ("B", "print(1)\n")]);
    assert_eq!(parsed.stages[0].instructions[5].heredocs, vec![Heredoc { name: "EOF".into(), body: "hi\n".into() }]);
    assert_eq!(err("FROM a\nRUN <<EOF\nls\n"), (ErrorKind::UnterminatedHeredoc("EOF".into()), Some(2)));
}

#[test]
fn malformed_files_are_typed_errors_with_lines() {
    assert_eq!(err(""), (ErrorKind::NoFrom, None));
    assert_eq!(err("# only a comment\n\n"), (ErrorKind::NoFrom, None));
    assert_eq!(err("ARG A=1\nRUN x\nFROM a\n"), (ErrorKind::BeforeFrom("RUN"), Some(2)));
    assert_eq!(err("FROM a\nFORM b\n"), (ErrorKind::Unknown("FORM".into()), Some(2)));
    assert_eq!(err("FROM a\nRUN\n"), (ErrorKind::MissingArgument("RUN"), Some(2)));
    assert_eq!(err("FROM\n"), (ErrorKind::MissingArgument("FROM"), Some(1)));
    assert_eq!(err("FROM a b\n"), (ErrorKind::BadFrom, Some(1)));
    assert_eq!(err("FROM a AS x\nFROM b AS X\n"), (ErrorKind::DuplicateStage("x".into()), Some(2)));
    let big = "#".repeat(MAX_DOCKERFILE_BYTES as usize + 1);
    assert_eq!(err(&big).0, ErrorKind::TooLarge { size: MAX_DOCKERFILE_BYTES + 1, limit: MAX_DOCKERFILE_BYTES });
}

#[test]
fn hostile_text_never_panics() {
    for text in [
        "FROM a\nRUN x \\",
        "FROM a\\\n",
        "FROM ${",
        "FROM ${A:-${B:-${C:-${D:-${E:-${F}}}}}}",
        "FROM ${A%%x}",
        "FROM é\u{0}\nRUN <<é\né\n",
        "\r\n\r\nFROM a\r\nRUN b \\\r\n c\r\n",
        "ARG\nFROM a",
        "FROM a\nHEALTHCHECK\n",
        "FROM a\nRUN <<\n",
        "FROM a\nRUN 0<<-\"x\n\tx\n",
    ] {
        let _ = parse(text);
    }
    assert_eq!(ok("FROM ${A%%x}").stages[0].from.unresolved, vec!["A%%x".to_string()]);
    assert_eq!(ok("\r\n\r\nFROM a\r\nRUN b \\\r\n c\r\n").stages[0].instructions[0].args, Args::Shell("b  c".into()));
}
