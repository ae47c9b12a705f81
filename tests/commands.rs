//! `ready checks` and `ready explain`: the registry, as users read it.

mod common;

use common::ready;

#[test]
fn checks_lists_every_check_with_a_description() {
    let output = ready().arg("checks").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
}

#[test]
fn explain_says_what_why_and_how_to_fix() {
    for id in [
        "serialization",
        "schema_parity",
        "domain",
        "drift",
        "empty_batch",
        "robustness",
        "output_sanity",
        "determinism",
        "golden_parity",
        "latency",
        "deployment",
        "lockfile",
        "baseline",
        "hardcoded_paths",
    ] {
        let output = ready().args(["explain", id]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{id}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with(&format!("{id}: ")), "{text}");
        for section in ["What:", "Why:", "Fix:"] {
            assert!(text.contains(section), "{id} lacks {section}");
        }
    }
}
