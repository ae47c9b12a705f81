//! PEP 508 requirements and PEP 440 versions, through pep508_rs/pep440_rs: parsing, name
//! normalization, exact pins and range membership.

use std::str::FromStr;

use pep508_rs::pep440_rs::{Operator, Version, VersionSpecifiers};
use pep508_rs::{Requirement, VersionOrUrl};

/// PEP 503 name normalization: lower case, runs of `-`, `_`, `.` become `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// A parsed requirement line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Req {
    pub name: String,
    /// The version specifiers, as written (empty when there are none).
    pub specifiers: String,
    /// The exact version when the requirement is a single `==` (no wildcard) or `===` pin.
    pub exact: Option<String>,
    /// A direct URL or VCS reference (`name @ git+https://...`).
    pub url: Option<String>,
    /// The environment marker, as written (empty when there is none).
    pub marker: String,
    /// The extras asked for (`requests[socks]`), normalized.
    pub extras: Vec<String>,
}

/// Parses one PEP 508 requirement.
pub fn parse(text: &str) -> Result<Req, String> {
    // pep508_rs panics on some invalid names instead of returning an error (found by fuzzing).
    let requirement: Requirement = crate::guard::catch_panic(|| Requirement::from_str(text.trim()))?.map_err(|e| first_line(&e.to_string()))?;
    let name = normalize(requirement.name.as_ref());
    let marker = requirement.marker.contents().map(|m| m.to_string()).unwrap_or_default();
    let (specifiers, exact, url) = match &requirement.version_or_url {
        None => (String::new(), None, None),
        Some(VersionOrUrl::Url(url)) => (String::new(), None, Some(url.to_string())),
        Some(VersionOrUrl::VersionSpecifier(specs)) => (specs.to_string(), exact_version(specs), None),
    };
    let extras = requirement.extras.iter().map(|e| e.to_string()).collect();
    Ok(Req { name, specifiers, exact, url, marker, extras })
}

/// The pinned version when `specs` is exactly one `==X` (no `.*`) or `===X`.
pub fn exact_version(specs: &VersionSpecifiers) -> Option<String> {
    match specs.iter().collect::<Vec<_>>().as_slice() {
        [one] if matches!(one.operator(), Operator::Equal | Operator::ExactEqual) => Some(one.version().to_string()),
        _ => None,
    }
}

/// Whether `version` satisfies PEP 440 `specifiers` (empty = anything).
pub fn satisfies(specifiers: &str, version: &str) -> Result<bool, String> {
    if specifiers.trim().is_empty() || specifiers.trim() == "*" {
        return Ok(true);
    }
    let specs = crate::guard::catch_panic(|| VersionSpecifiers::from_str(specifiers))?
        .map_err(|e| format!("'{specifiers}': {}", first_line(&e.to_string())))?;
    let version = crate::guard::catch_panic(|| Version::from_str(version))?.map_err(|e| format!("version '{version}': {e}"))?;
    Ok(specs.contains(&version))
}

/// Whether a PEP 508 marker can hold when no extra is asked for (`extra == "x"` cannot). An
/// unparsable marker counts as holding, so the dependency is still required.
pub fn marker_holds_without_extras(marker: &str) -> bool {
    match crate::guard::catch_panic(|| pep508_rs::MarkerTree::from_str(marker)) {
        Ok(Ok(tree)) => tree.evaluate_extras(&[]),
        _ => true,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_per_pep_503() {
        assert_eq!(normalize("Scikit_Learn"), "scikit-learn");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(normalize("a--b__c"), "a-b-c");
    }

    #[test]
    fn exact_pins_ranges_urls_and_markers() {
        let pinned = parse("numpy[extra]==2.4.6 ; python_version >= '3.9'").unwrap();
        assert_eq!((pinned.name.as_str(), pinned.exact.as_deref()), ("numpy", Some("2.4.6")));
        assert!(pinned.marker.contains("python"), "{}", pinned.marker);
        assert_eq!(parse("numpy==2.*").unwrap().exact, None);
        assert_eq!(parse("numpy>=1,<2").unwrap().exact, None);
        assert_eq!(parse("numpy===2.0").unwrap().exact.as_deref(), Some("2.0"));
        assert!(parse("pkg @ git+https://example.com/pkg.git").unwrap().url.is_some());
        assert!(parse("not a requirement !!").is_err());
    }

    #[test]
    fn a_name_that_panics_pep508_rs_is_an_error() {
        // Found by `scripts/fuzz.sh` (fuzz/regressions/lockfiles/pep508-name-ending-in-dashes).
        let err = parse("htpackag--\u{1}[[package]]").unwrap_err();
        assert!(err.starts_with("the parser failed on this input"), "{err}");
    }

    #[test]
    fn markers_behind_an_extra_do_not_hold_without_it() {
        assert!(!marker_holds_without_extras("extra == 'socks'"));
        assert!(!marker_holds_without_extras("python_version >= '3.8' and extra == \"test\""));
        assert!(marker_holds_without_extras("python_version < '3.8'"));
        assert!(marker_holds_without_extras("sys_platform == 'win32'"));
    }

    #[test]
    fn versions_are_checked_against_ranges() {
        assert!(satisfies(">=1.20,<2", "1.31.1").unwrap());
        assert!(!satisfies(">=2", "1.31.1").unwrap());
        assert!(satisfies("", "1.0").unwrap());
        assert!(satisfies("==1.*", "1.9").unwrap());
        assert!(satisfies(">=x", "1").is_err());
    }
}
