//! Reference files (`--reference`, `ready profile`) read as strictly as samples, through the real
//! binary: a CSV cut short (its last row short of fields, with no line end) is refused naming its
//! line, judged from the file's tail only; a profile giving a field twice names that line.

mod common;

use std::path::Path;

use common::ready;

const ADULT: &str = "fixtures/domain/adult.onnx";
const SAMPLE: &str = "fixtures/domain/ok.csv";

/// The rows of fixtures/domain/ok.csv (written by pandas), header first, repeated until the
/// data holds `copies` copies of its rows.
fn rows(copies: usize) -> Vec<String> {
    let text = std::fs::read_to_string(common::root().join(SAMPLE)).unwrap();
    let mut lines = text.lines().map(str::to_string);
    let header = lines.next().unwrap();
    let data: Vec<String> = lines.collect();
    std::iter::once(header).chain((0..copies).flat_map(|_| data.clone())).collect()
}

/// Exit code and stderr of `ready audit ADULT --sample ok.csv --reference PATH` and of
/// `ready profile PATH -o OUT`.
fn read_both(dir: &Path, reference: &Path) -> [(Option<i32>, String); 2] {
    let reference = reference.to_str().unwrap();
    let out = dir.join("profile.json");
    let _ = std::fs::remove_file(&out);
    let runs = [
        vec!["audit", ADULT, "--sample", SAMPLE, "--reference", reference, "--only", "drift"],
        vec!["profile", reference, "-o", out.to_str().unwrap()],
    ];
    runs.map(|args| {
        let output = ready().args(&args).output().unwrap();
        (output.status.code(), String::from_utf8(output.stderr).unwrap())
    })
}

/// `lines` joined by line ends, the last one cut to its first two fields and written with no
/// line end; returns the path and the cut line's number.
fn cut_short(dir: &Path, name: &str, mut lines: Vec<String>) -> (std::path::PathBuf, usize) {
    let last = lines.pop().unwrap();
    let cut: Vec<&str> = last.split(',').take(2).collect();
    lines.push(cut.join(","));
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n")).unwrap();
    (path, lines.len())
}

#[test]
fn a_reference_csv_cut_short_is_refused_naming_its_line_small_or_large() {
    let dir = tempfile::tempdir().unwrap();
    let why = "the last row has 2 of the header's 4 fields and no line end: the file looks cut short (write or download it again)";
    // 12 KB, judged whole; 150 KB, judged from its last 64 KiB (its line counted once refused).
    for (name, copies, line) in [("small.csv", 1, 501), ("large.csv", 12, 6001)] {
        let (path, cut_line) = cut_short(dir.path(), name, rows(copies));
        assert_eq!(cut_line, line);
        let shown = path.display();
        let [(audit_code, audit_err), (profile_code, profile_err)] = read_both(dir.path(), &path);
        assert_eq!((audit_code, audit_err.trim_end()), (Some(2), format!("error: --reference {shown}: line {line}: {why}").as_str()));
        assert_eq!((profile_code, profile_err.trim_end()), (Some(2), format!("error: {shown}: line {line}: {why}").as_str()));
        assert!(!dir.path().join("profile.json").exists());
    }
}

#[test]
fn a_whole_reference_csv_without_a_final_line_end_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut large = rows(12);
    // A quoted field spanning lines in the last row of the tail: its line end is text.
    large.push("40,40,1000.5,\"Self-emp\nnot-inc\"".to_string());
    for (name, lines) in [("small.csv", rows(1)), ("large.csv", large)] {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        let [(audit_code, audit_err), (profile_code, profile_err)] = read_both(dir.path(), &path);
        assert_eq!((audit_code, profile_code), (Some(0), Some(0)), "{name}: {audit_err} {profile_err}");
        let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("profile.json")).unwrap()).unwrap();
        assert_eq!(profile["rows"], lines.len() as u64 - 1, "{name}");
    }
}

#[test]
fn a_profile_giving_a_field_twice_names_the_line_of_the_second() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("written.json");
    let output = ready().args(["profile", "fixtures/domain/reference.parquet", "-o", written.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let mut lines: Vec<String> = std::fs::read_to_string(&written).unwrap().lines().map(str::to_string).collect();
    // "min" given twice in the first numeric column: serde alone names the end of the object.
    let at = lines.iter().position(|l| l.trim_start().starts_with("\"min\": ")).unwrap();
    lines.insert(at + 1, "      \"min\": 0,".to_string());
    let path = dir.path().join("edited.json");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let output = ready().args(["audit", ADULT, "--sample", SAMPLE, "--reference", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap().trim_end(),
        format!(
            "error: --reference {}: line {}: key 'min' appears twice in one object (a JSON reader keeps only the last); give each key once",
            path.display(),
            at + 2
        )
    );
}

#[test]
fn a_numeric_column_read_as_text_for_one_stray_value_is_noted_by_profile() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = rows(1);
    // Line 17's income (third field) is not a number: pandas reads the column as text (object) too.
    let mut fields: Vec<&str> = lines[16].split(',').collect();
    fields[2] = "abc";
    lines[16] = fields.join(",");
    let path = dir.path().join("stray.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("profile.json");
    let output = ready().args(["profile", path.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
    let note = "column 'income' read as text: 'abc' on line 17 is not a number";
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        format!("note: {0}: {note}\nwrote the profile of 500 rows, 4 columns to {1}; {note}\n", path.display(), out.display())
    );
    // The profile is what it was: the column's categories.
    let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        (profile["columns"]["income"]["kind"].as_str(), profile["columns"]["income"]["categories"]["abc"].as_u64()),
        (Some("categorical"), Some(1))
    );
    // The file as pandas wrote it: no note.
    let output = ready().args(["profile", SAMPLE, "-o", out.to_str().unwrap(), "--force"]).output().unwrap();
    assert_eq!(
        (output.status.code(), String::from_utf8(output.stderr).unwrap()),
        (Some(0), format!("wrote the profile of 500 rows, 4 columns to {}\n", out.display()))
    );
}

#[test]
fn empty_lines_in_a_reference_csv_are_skipped_as_pandas_skips_them() {
    // Blank lines between rows and at the end (CRLF too): no row, no missing value; a row of
    // empty fields is a row of missing values.
    let dir = tempfile::tempdir().unwrap();
    let lines = rows(1);
    let profile_of = |name: &str, text: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = dir.path().join(format!("{name}.json"));
        let output = ready().args(["profile", path.to_str().unwrap(), "-o", out.to_str().unwrap()]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        let profile: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        (profile["rows"].as_u64().unwrap(), profile["columns"]["age"]["nulls"].as_u64().unwrap())
    };
    let blank = format!("{}\n\n{}\n\n\n", lines[..100].join("\n"), lines[100..].join("\n"));
    assert_eq!(profile_of("blank.csv", blank), (500, 0));
    assert_eq!(profile_of("blank_crlf.csv", lines.join("\r\n") + "\r\n\r\n"), (500, 0));
    assert_eq!(profile_of("empty_fields.csv", lines.join("\n") + "\n,,,\n"), (501, 1));
}
