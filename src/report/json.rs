//! JSON report: the [`Report`] serialized as is, pretty-printed, with a trailing newline.
//! Layout is versioned by `schema_version`; README documents the fields.

use super::Report;

/// Renders the report as JSON bytes.
pub fn render_json(report: &Report) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("reports contain only serializable data");
    bytes.push(b'\n');
    bytes
}
