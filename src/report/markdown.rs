//! Markdown summary for CI pages (GitHub's job summary, merge-request notes): the verdict, a
//! table of checks, and the findings of every warning and failure in collapsible blocks.

use super::escape::{markdown as escape, markdown_code};
use super::{Report, Verdict};
use crate::artifact::human_size;
use crate::checks::Status;

/// Renders the report as Markdown.
pub fn render_markdown(report: &Report) -> String {
    let mut out = String::new();
    let (icon, verdict) = match report.verdict {
        Verdict::Ready => ("✅", "ready"),
        Verdict::NotReady => ("❌", "not ready"),
        Verdict::NotVerified => ("❓", "not verified"),
    };
    out.push_str(&format!("## {icon} {} is {verdict}\n\n", markdown_code(&report.model.path)));
    let counts = &report.counts;
    out.push_str(&format!(
        "{} passed, {} warned, {} failed, {} skipped · model {} (sha256 `{}`)",
        counts.pass,
        counts.warn,
        counts.fail,
        counts.skip,
        human_size(report.model.size_bytes),
        &report.model.sha256[..12.min(report.model.sha256.len())]
    ));
    if let Some(runtime) = &report.runtime {
        out.push_str(&format!(" · ONNX Runtime {}", escape(&runtime.version)));
    }
    out.push_str(&format!(" · {}\n\n", escape(&report.machine.describe())));
    if let Some(why) = &report.not_verified {
        out.push_str(&format!("**Not verified:** {}\n\n", escape(&why.line())));
    }
    out.push_str("| check | status | severity | summary |\n|---|---|---|---|\n");
    for check in &report.checks {
        let badge = match check.status {
            Status::Pass => "✅ pass",
            Status::Warn => "⚠️ warn",
            Status::Fail => "❌ fail",
            Status::Skip => "⏭️ skip",
        };
        out.push_str(&format!(
            "| `{}` | {badge} | {} | {} |\n",
            check.id,
            format!("{:?}", check.severity).to_lowercase(),
            escape(&check.short_summary())
        ));
    }
    for check in report.checks.iter().filter(|c| matches!(c.status, Status::Warn | Status::Fail) && !c.details.is_empty()) {
        out.push_str(&format!("\n<details><summary><code>{}</code> ({})</summary>\n\n", check.id, check.status.name()));
        for line in &check.details {
            out.push_str(&format!("- {}\n", escape(line)));
        }
        out.push_str("\n</details>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn table_cells_cannot_be_broken_or_inject_html() {
        assert_eq!(escape("a|b <script>\nc"), "a\\|b &lt;script&gt;\\nc");
    }
}
