//! What the audit itself cost: wall time per check and per probe child, and memory (ready's
//! own peak, each probe child's, the two together, against the configured budget) kept apart
//! from the model's serving peak. Filled in by `audit`; JSON writes it as `cost`, the table
//! shows it with `--verbose`.

use serde::{Deserialize, Serialize};

use crate::artifact::human_size;
use crate::probe::ChildCost;
use crate::sandbox::budget::{Budget, Sizing};

/// Wall time of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckCost {
    pub id: String,
    pub wall_ms: f64,
}

/// The audit's own cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditCost {
    /// From the start of the audit to the report.
    pub wall_ms: f64,
    /// Session creation and the first inference in ready's own process.
    pub load_ms: Option<f64>,
    pub checks: Vec<CheckCost>,
    /// Every probe child, in the order they ran.
    pub probe_children: Vec<ChildCost>,
    pub memory: MemoryCost,
}

/// Memory of the audit itself, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryCost {
    /// `limits.memory_budget_mb` (`None`: no budget).
    pub budget_bytes: Option<u64>,
    /// ready's own peak resident memory.
    pub ready_peak_rss_bytes: Option<u64>,
    /// The largest peak of one probe child.
    pub probe_peak_rss_bytes: Option<u64>,
    /// The audit's peak: ready's own, or ready and a probe child together at that child's peak
    /// (ready waits while a child runs), whichever is larger.
    pub audit_peak_rss_bytes: Option<u64>,
    /// The model's serving peak, apart from the audit's: ready's peak right after loading the
    /// model and running one request.
    pub serving_peak_rss_bytes: Option<u64>,
    /// How the oversized batch was sized from the budget, when it was.
    pub oversized: Option<Sizing>,
    /// Where the budget came from: `config`, `default`, or the deployment field that declares
    /// the serving container's memory limit (`deploy/k8s.yaml:23 spec...resources.limits.memory`).
    #[serde(default)]
    pub budget_source: Option<String>,
    /// The memory limit that deployment field declares.
    #[serde(default)]
    pub budget_declared_bytes: Option<u64>,
    /// The declared limit was more than this machine had available: the budget is what it had.
    #[serde(default)]
    pub budget_capped_by_machine: bool,
}

impl MemoryCost {
    /// Combines ready's peak with its probe children's.
    pub fn new(budget_bytes: Option<u64>, ready_peak: Option<u64>, children: &[ChildCost], serving: Option<u64>, oversized: Option<Sizing>) -> Self {
        let probe_peak = children.iter().flat_map(|c| c.probes.iter().filter_map(|p| p.child_peak_rss_bytes)).max();
        let together = children.iter().filter_map(ChildCost::together_bytes).max();
        let audit_peak = ready_peak.into_iter().chain(together).max();
        Self {
            budget_bytes,
            ready_peak_rss_bytes: ready_peak,
            probe_peak_rss_bytes: probe_peak,
            audit_peak_rss_bytes: audit_peak,
            serving_peak_rss_bytes: serving,
            oversized,
            budget_source: None,
            budget_declared_bytes: None,
            budget_capped_by_machine: false,
        }
    }

    /// Says where the budget came from.
    pub fn with_budget_source(self, budget: &Budget) -> Self {
        Self {
            budget_source: Some(budget.source.clone()),
            budget_declared_bytes: budget.declared_bytes,
            budget_capped_by_machine: budget.capped_by_machine,
            ..self
        }
    }

    /// `1.0 GiB (default)`, `200.0 MiB (from k8s.yaml:23 ...limits.memory)`, `none (config)`.
    fn budget_line(&self) -> String {
        let amount = self.budget_bytes.map_or("none".to_string(), human_size);
        match (self.budget_source.as_deref(), self.budget_declared_bytes) {
            (None, _) => amount,
            (Some(source), Some(declared)) if self.budget_capped_by_machine => {
                // A limit past u64 bytes (`100Ei`) was saturated when read.
                let declared = if declared == u64::MAX { "a limit past 16 EiB".to_string() } else { human_size(declared) };
                format!("{amount} (from {source}, {declared} capped by the memory this machine has available)")
            }
            (Some(source), Some(declared)) if declared < self.budget_bytes.unwrap_or(0) => {
                format!("{amount} (from {source}, {} raised to the smallest budget)", human_size(declared))
            }
            (Some(source), Some(_)) => format!("{amount} (from {source})"),
            (Some(source), None) => format!("{amount} ({source})"),
        }
    }
}

impl AuditCost {
    /// The lines `--verbose` prints.
    pub fn lines(&self) -> Vec<String> {
        let size = |b: Option<u64>| b.map_or("?".to_string(), human_size);
        let mut lines = vec![format!(
            "wall {:.2} s; model load and first inference {}",
            self.wall_ms / 1e3,
            self.load_ms.map_or("-".to_string(), |ms| format!("{ms:.0} ms"))
        )];
        lines.push(format!(
            "per check: {}",
            self.checks.iter().filter(|c| c.wall_ms >= 0.05).map(|c| format!("{} {:.0} ms", c.id, c.wall_ms)).collect::<Vec<_>>().join(", ")
        ));
        for (i, child) in self.probe_children.iter().enumerate() {
            let probes: Vec<String> = child
                .probes
                .iter()
                .map(|p| format!("{:?}{} {:.0} ms", p.probe, p.rows.map_or(String::new(), |r| format!(" ({r} rows)")), p.wall_ms).to_lowercase())
                .collect();
            lines.push(format!(
                "probe child {}: {:.0} ms, limit {} ({}); {}",
                i + 1,
                child.wall_ms,
                if child.limit.bytes == 0 { "none".to_string() } else { human_size(child.limit.bytes) },
                child.limit.bound.label(),
                probes.join(", ")
            ));
        }
        let m = &self.memory;
        lines.push(format!(
            "memory: audit peak {} (ready {}, largest probe child {}) against a budget of {}; the model's serving peak {}",
            size(m.audit_peak_rss_bytes),
            size(m.ready_peak_rss_bytes),
            size(m.probe_peak_rss_bytes),
            m.budget_line(),
            size(m.serving_peak_rss_bytes)
        ));
        if let Some(s) = &m.oversized {
            lines.push(format!(
                "oversized batch sized from the budget: {} of {} rows (about {} a row measured on a small batch, {} available)",
                s.rows,
                s.wanted,
                human_size(s.per_row_bytes),
                human_size(s.available_bytes)
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::budget::MIB;

    fn line(bytes: u64, source: &str, declared: Option<u64>, capped: bool) -> String {
        let budget = Budget { bytes, source: source.to_string(), declared_bytes: declared, capped_by_machine: capped };
        MemoryCost::new(Some(bytes), None, &[], None, None).with_budget_source(&budget).budget_line()
    }

    #[test]
    fn a_probe_child_line_names_the_setting_that_bound_its_limit_in_words() {
        use crate::sandbox::budget::{Bound, ChildLimit};
        let child = |bytes, bound| ChildCost { wall_ms: 12.0, ready_rss_bytes: None, limit: ChildLimit { bytes, bound }, probes: vec![] };
        let cost = AuditCost {
            wall_ms: 100.0,
            load_ms: None,
            checks: vec![],
            probe_children: vec![child(700 * MIB, Bound::Budget), child(512 * MIB, Bound::ProbeLimit), child(0, Bound::Unlimited)],
            memory: MemoryCost::new(None, None, &[], None, None),
        };
        let lines = cost.lines();
        assert_eq!(lines[2], "probe child 1: 12 ms, limit 700.0 MiB (what the memory budget leaves); ");
        assert_eq!(lines[3], "probe child 2: 12 ms, limit 512.0 MiB (limits.probe_memory_mb); ");
        assert_eq!(lines[4], "probe child 3: 12 ms, limit none (no limit); ");
    }

    #[test]
    fn the_budget_line_says_where_the_budget_came_from() {
        assert_eq!(line(1024 * MIB, "default", None, false), "1.0 GiB (default)");
        assert_eq!(line(512 * MIB, "config", None, false), "512.0 MiB (config)");
        assert_eq!(line(200 * MIB, "k8s.yaml:23 x.memory", Some(200 * MIB), false), "200.0 MiB (from k8s.yaml:23 x.memory)");
        assert_eq!(
            line(7 * 1024 * MIB, "k8s.yaml:23 x.memory", Some(64 * 1024 * MIB), true),
            "7.0 GiB (from k8s.yaml:23 x.memory, 64.0 GiB capped by the memory this machine has available)"
        );
        assert_eq!(
            line(7 * 1024 * MIB, "k8s.yaml:23 x.memory", Some(u64::MAX), true),
            "7.0 GiB (from k8s.yaml:23 x.memory, a limit past 16 EiB capped by the memory this machine has available)"
        );
        assert_eq!(
            line(128 * MIB, "k8s.yaml:23 x.memory", Some(64 * MIB), false),
            "128.0 MiB (from k8s.yaml:23 x.memory, 64.0 MiB raised to the smallest budget)"
        );
    }
}
