//! Container image references (`registry:5000/team/model:1.2@sha256:...`): how firmly one is
//! pinned, the rule the Dockerfile and Kubernetes readers share. A digest pins the bytes; a tag
//! can be pushed again; `latest` or no tag follows whatever was pushed last.

use super::Level;

/// How a reference pins its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImagePin {
    /// `@sha256:<64 hex>` (with or without a tag): the bytes are fixed.
    Digest,
    /// A specific tag other than `latest` (`python:3.11.9-slim`): moves when re-pushed.
    Tag(String),
    /// `:latest`, written out.
    Latest,
    /// No tag and no digest: Docker pulls `latest`.
    Untagged,
    /// Not a reference at all (empty, spaces, a malformed digest, an unexpanded `${VAR}`).
    Invalid,
}

impl ImagePin {
    /// The level of the pin: a digest is fine, a tag is advice, `latest`, no tag or a malformed
    /// reference is a problem.
    pub fn level(&self) -> Level {
        match self {
            Self::Digest => Level::Ok,
            Self::Tag(_) => Level::Advice,
            Self::Latest | Self::Untagged | Self::Invalid => Level::Problem,
        }
    }

    /// What to say about it, in a few words.
    pub fn describe(&self) -> String {
        match self {
            Self::Digest => "pinned by digest".to_string(),
            Self::Tag(tag) => format!("tag `{tag}`: tags move, pin the digest (@sha256:...)"),
            Self::Latest => "`latest` moves with every push: pin a digest (@sha256:...)".to_string(),
            Self::Untagged => "no tag means `latest`, which moves with every push: pin a digest (@sha256:...)".to_string(),
            Self::Invalid => "not a valid image reference".to_string(),
        }
    }
}

/// A reference split into its parts, as Docker reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef<'a> {
    /// `ghcr.io`, `localhost:5000`: the first path component when it has a `.` or a `:` or is
    /// `localhost`; `None` for Docker Hub.
    pub registry: Option<&'a str>,
    /// `library/python` is written `python`; kept as written (`team/model`).
    pub repository: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

impl ImageRef<'_> {
    /// The last path component of the repository (`python` for `docker.io/library/python`).
    pub fn name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(self.repository)
    }
}

/// Splits `reference` into registry, repository, tag and digest; `None` when it is not a
/// well-formed reference.
pub fn parse(reference: &str) -> Option<ImageRef<'_>> {
    let reference = reference.trim();
    if reference.is_empty() || reference.chars().any(|c| c.is_whitespace() || c == '$' || c.is_control()) {
        return None;
    }
    let (name_tag, digest) = match reference.split_once('@') {
        Some((name_tag, digest)) => (name_tag, Some(valid_digest(digest)?)),
        None => (reference, None),
    };
    // A tag is a `:` after the last `/`: `host:5000/img` has a port, not a tag.
    let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (&name_tag[..last_slash + i], Some(&name_tag[last_slash + i + 1..])),
        None => (name_tag, None),
    };
    if tag.is_some_and(|t| !valid_tag(t)) {
        return None;
    }
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), rest),
        _ => (None, name),
    };
    let component_ok = |c: &str| !c.is_empty() && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || matches!(ch, '.' | '_' | '-'));
    if registry.is_some_and(|r| r.is_empty()) || !repository.split('/').all(component_ok) {
        return None;
    }
    Some(ImageRef { registry, repository, tag, digest })
}

/// `sha256:` and 64 hex digits (other algorithms: `algo:` and at least 32 hex digits).
fn valid_digest(digest: &str) -> Option<&str> {
    let (algo, hex) = digest.split_once(':')?;
    let hex_ok = hex.chars().all(|c| c.is_ascii_hexdigit());
    let ok = match algo {
        "sha256" => hex.len() == 64 && hex_ok,
        _ => !algo.is_empty() && algo.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '_' | '-')) && hex.len() >= 32 && hex_ok,
    };
    ok.then_some(digest)
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// How firmly `reference` pins its image.
pub fn image_pin(reference: &str) -> ImagePin {
    match parse(reference) {
        None => ImagePin::Invalid,
        Some(ImageRef { digest: Some(_), .. }) => ImagePin::Digest,
        Some(ImageRef { tag: Some("latest"), .. }) => ImagePin::Latest,
        Some(ImageRef { tag: Some(tag), .. }) => ImagePin::Tag(tag.to_string()),
        Some(ImageRef { tag: None, .. }) => ImagePin::Untagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn pins_by_digest_tag_latest_and_none() {
        assert_eq!(image_pin(&format!("python@{DIGEST}")), ImagePin::Digest);
        assert_eq!(image_pin(&format!("python:3.11-slim@{DIGEST}")), ImagePin::Digest);
        assert_eq!(image_pin("python:3.11-slim"), ImagePin::Tag("3.11-slim".into()));
        assert_eq!(image_pin("python:latest"), ImagePin::Latest);
        assert_eq!(image_pin("python"), ImagePin::Untagged);
        assert_eq!(image_pin("ghcr.io/team/model-server"), ImagePin::Untagged);
    }

    #[test]
    fn a_registry_port_is_not_a_tag() {
        assert_eq!(image_pin("host:5000/img"), ImagePin::Untagged);
        assert_eq!(image_pin("host:5000/img:2.1"), ImagePin::Tag("2.1".into()));
        assert_eq!(image_pin(&format!("localhost:5000/team/img@{DIGEST}")), ImagePin::Digest);
        let parsed = parse("host:5000/team/img:2.1").unwrap();
        assert_eq!(parsed, ImageRef { registry: Some("host:5000"), repository: "team/img", tag: Some("2.1"), digest: None });
        assert_eq!(parsed.name(), "img");
        assert_eq!(parse("team/img").unwrap().registry, None);
        assert_eq!(parse("localhost/img").unwrap().registry, Some("localhost"));
    }

    #[test]
    fn malformed_references_are_invalid() {
        for bad in [
            "",
            "  ",
            "python:",
            "python@sha256:abc",
            "python@",
            "python:3.11 slim",
            "python:${TAG}",
            "Py thon",
            ":3",
            "a//b",
            "img:-x",
            "/img",
            "Python:3",
        ] {
            assert_eq!(image_pin(bad), ImagePin::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn levels() {
        assert_eq!(image_pin(&format!("m@{DIGEST}")).level(), Level::Ok);
        assert_eq!(image_pin("m:1").level(), Level::Advice);
        assert_eq!(image_pin("m:latest").level(), Level::Problem);
        assert_eq!(image_pin("m").level(), Level::Problem);
        assert_eq!(image_pin("m:").level(), Level::Problem);
    }
}
