//! The human report: a header naming model, sample and runtime, a pass/warn/fail table, the
//! findings behind every warning and failure (every detail with `--verbose`), and the verdict.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::escape::terminal;
use super::{Report, Verdict};
use crate::artifact::human_size;
use crate::checks::Status;

/// Renders the report for a terminal.
pub fn render_table(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "ready {} · {} ({}, sha256 {})\n",
        report.ready_version,
        terminal(&report.model.path),
        human_size(report.model.size_bytes),
        &report.model.sha256[..12.min(report.model.sha256.len())]
    ));
    if let Some(sample) = &report.sample {
        out.push_str(&format!("sample: {} ({})\n", terminal(&sample.path), terminal(&sample.describe())));
    }
    if let Some(runtime) = &report.runtime {
        out.push_str(&format!("runtime: ONNX Runtime {} ({}, via {})\n", terminal(&runtime.version), terminal(&runtime.library), runtime.found_via));
    }
    out.push_str(&format!("config: {}\n", report.config.as_deref().map_or("built-in defaults (audits/default.yaml)".to_string(), terminal)));

    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(120);
    }
    table.set_header(vec!["check", "status", "severity", "summary"]);
    for check in &report.checks {
        let color = match check.status {
            Status::Pass => Color::Green,
            Status::Warn => Color::Yellow,
            Status::Fail => Color::Red,
            Status::Skip => Color::DarkGrey,
        };
        table.add_row(vec![
            Cell::new(&check.id),
            Cell::new(check.status.name()).fg(color),
            Cell::new(format!("{:?}", check.severity).to_lowercase()),
            Cell::new(terminal(&check.short_summary())),
        ]);
    }
    out.push_str(&table.to_string());
    out.push('\n');

    for check in &report.checks {
        let show = verbose || matches!(check.status, Status::Warn | Status::Fail);
        if show && !check.details.is_empty() {
            out.push_str(&format!("\n{} ({}):\n", check.id, check.status.name()));
            for line in &check.details {
                out.push_str(&format!("  - {}\n", terminal(line)));
            }
        }
    }
    if let (true, Some(cost)) = (verbose, &report.cost) {
        out.push_str("\ncost of this audit:\n");
        for line in cost.lines() {
            out.push_str(&format!("  - {}\n", terminal(&line)));
        }
    }
    let counts = &report.counts;
    let verdict = match report.verdict {
        Verdict::Ready => "READY",
        Verdict::NotReady => "NOT READY",
        Verdict::NotVerified => "NOT VERIFIED",
    };
    if let Some(why) = &report.not_verified {
        out.push_str(&format!("\nnot verified: {}\n", why.line()));
    }
    out.push_str(&format!(
        "\n{verdict}: {} passed, {} warned, {} failed, {} skipped (exit {})\n",
        counts.pass, counts.warn, counts.fail, counts.skip, report.exit_code
    ));
    out
}
