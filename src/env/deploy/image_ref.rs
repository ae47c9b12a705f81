//! Whether a container image reference is pinned: the one rule shared by Kubernetes
//! `image:` fields and Dockerfile `FROM` lines. A digest (`@sha256:...`) is pinned; a specific
//! tag moves when someone pushes again; `latest` or no tag moves every time.

use super::Level;

/// How an image reference names its image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImagePin {
    /// `repo@sha256:<hex>` (with or without a tag before it): the bytes are fixed.
    Digest,
    /// `repo:1.2.3`: a specific tag, which can be pushed again.
    Tag(String),
    /// `repo:latest`.
    Latest,
    /// `repo` with neither tag nor digest (Docker reads it as `latest`).
    Untagged,
    /// A reference built from a variable (`$BASE`, `${IMAGE}`): not judged.
    Variable,
    /// Empty, or not an image reference (`scratch` is handled by the caller).
    Empty,
}

impl ImagePin {
    /// The level of the pin: a digest is fine, a tag is advice, `latest` or none is a problem.
    pub fn level(&self) -> Level {
        match self {
            Self::Digest | Self::Variable | Self::Empty => Level::Ok,
            Self::Tag(_) => Level::Advice,
            Self::Latest | Self::Untagged => Level::Problem,
        }
    }

    /// What to say about it, in a few words.
    pub fn describe(&self) -> String {
        match self {
            Self::Digest => "pinned by digest".to_string(),
            Self::Tag(tag) => format!("tag `{tag}`: tags move, pin the digest (@sha256:...)"),
            Self::Latest => "`latest` moves with every push: pin a digest (@sha256:...)".to_string(),
            Self::Untagged => "no tag means `latest`, which moves with every push: pin a digest (@sha256:...)".to_string(),
            Self::Variable => "built from a variable: not judged".to_string(),
            Self::Empty => "no image".to_string(),
        }
    }
}

/// How `reference` pins its image. The tag is the part after the last `:` of the last path
/// component, so a registry port (`localhost:5000/model`) is not read as a tag.
pub fn image_pin(reference: &str) -> ImagePin {
    let reference = reference.trim();
    if reference.is_empty() {
        return ImagePin::Empty;
    }
    if reference.contains('$') {
        return ImagePin::Variable;
    }
    if let Some((_, digest)) = reference.split_once('@') {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return ImagePin::Digest;
        }
    }
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    match last.split_once(':') {
        Some((_, "latest")) => ImagePin::Latest,
        Some((_, tag)) if !tag.is_empty() => ImagePin::Tag(tag.to_string()),
        _ => ImagePin::Untagged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digests_tags_latest_and_none() {
        assert_eq!(image_pin(&format!("python@{SHA}")), ImagePin::Digest);
        assert_eq!(image_pin(&format!("ghcr.io/org/model:1.2@{SHA}")), ImagePin::Digest);
        assert_eq!(image_pin("python:3.11-slim"), ImagePin::Tag("3.11-slim".into()));
        assert_eq!(image_pin("localhost:5000/model:v3"), ImagePin::Tag("v3".into()));
        assert_eq!(image_pin("localhost:5000/model"), ImagePin::Untagged);
        assert_eq!(image_pin("model:latest"), ImagePin::Latest);
        assert_eq!(image_pin("registry.example.com/team/model"), ImagePin::Untagged);
        assert_eq!(image_pin("model@sha256:short"), ImagePin::Untagged);
        assert_eq!(image_pin("${BASE_IMAGE}"), ImagePin::Variable);
        assert_eq!(image_pin("  "), ImagePin::Empty);
    }

    #[test]
    fn levels() {
        assert_eq!(image_pin(&format!("m@{SHA}")).level(), Level::Ok);
        assert_eq!(image_pin("m:1").level(), Level::Advice);
        assert_eq!(image_pin("m:latest").level(), Level::Problem);
        assert_eq!(image_pin("m").level(), Level::Problem);
    }
}
