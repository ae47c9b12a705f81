//! The audit configuration (`audits/*.yaml`): which checks deny, warn or are allowed, their
//! thresholds, and the runtime settings. Parsing rejects unknown keys; validation then reports
//! every bad value at once.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::runtime::RuntimeSettings;

/// The built-in configuration, identical to the documented `audits/default.yaml`.
pub const DEFAULT_YAML: &str = include_str!("../audits/default.yaml");

/// What a failing check does to the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A failure fails the audit (exit code 1).
    Deny,
    /// A failure is reported as a warning; the exit code is unchanged.
    Warn,
    /// The check is not run.
    Allow,
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// ONNX Runtime session settings.
    pub runtime: RuntimeSettings,
    /// How sample files are read.
    pub sample: SampleSettings,
    /// Per-check settings.
    pub checks: ChecksConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self { runtime: RuntimeSettings::default(), sample: SampleSettings::default(), checks: ChecksConfig::default() }
    }
}

/// How sample files are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleSettings {
    /// Rows read from the sample file; the rest of the file is never read.
    pub max_rows: usize,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self { max_rows: 1000 }
    }
}

/// Settings of every check, by check id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ChecksConfig {
    pub serialization: SeverityOnly,
    pub schema_parity: SchemaParityConfig,
    pub empty_batch: SeverityOnly,
    pub latency: LatencyConfig,
    pub lockfile: SeverityOnly,
}

impl ChecksConfig {
    /// The configured severity of check `id` (deny for an unknown id).
    pub fn severity(&self, id: &str) -> Severity {
        match id {
            "serialization" => self.serialization.severity,
            "schema_parity" => self.schema_parity.severity,
            "empty_batch" => self.empty_batch.severity,
            "latency" => self.latency.severity,
            "lockfile" => self.lockfile.severity,
            _ => Severity::Deny,
        }
    }
}

/// A check whose only setting is its severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityOnly {
    pub severity: Severity,
}

impl Default for SeverityOnly {
    fn default() -> Self {
        Self { severity: Severity::Deny }
    }
}

/// Schema parity settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaParityConfig {
    pub severity: Severity,
    /// Column names, in tensor order, for models with one 2-D input. When absent, the model's
    /// `feature_names` metadata is used; when that is absent too, columns are matched by position.
    pub feature_names: Option<Vec<String>>,
}

impl Default for SchemaParityConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, feature_names: None }
    }
}

/// Latency settings. Thresholds are in milliseconds; an absent threshold is not checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    pub severity: Severity,
    /// Untimed runs before measuring (caches, allocator, lazy initialization).
    pub warmup_runs: usize,
    /// Timed single-row runs.
    pub runs: usize,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Default for LatencyConfig {
    fn default() -> Self {
        Self { severity: Severity::Deny, warmup_runs: 20, runs: 300, p50_ms: None, p95_ms: None, p99_ms: Some(50.0), max_ms: None }
    }
}

impl Config {
    /// Parses YAML text; `origin` names the file in error messages.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let config: Self =
            serde_saphyr::from_str(text).map_err(|e| format!("{origin}: {}", one_line(&e.to_string())))?;
        config.validate().map_err(|problems| {
            let count = problems.len();
            let noun = if count == 1 { "problem" } else { "problems" };
            format!("{origin}: {count} {noun}: {}", problems.join("; "))
        })?;
        Ok(config)
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display().to_string();
        if path.is_dir() {
            return Err(format!("{shown}: is a directory, expected a YAML file"));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        let text = String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text"))?;
        Self::from_yaml(&text, &shown)
    }

    /// Every value problem, as `field.path: what is wrong`.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.sample.max_rows == 0 {
            problems.push("sample.max_rows: must be at least 1".to_string());
        }
        let latency = &self.checks.latency;
        if latency.runs == 0 {
            problems.push("checks.latency.runs: must be at least 1".to_string());
        }
        for (name, value) in [("p50_ms", latency.p50_ms), ("p95_ms", latency.p95_ms), ("p99_ms", latency.p99_ms), ("max_ms", latency.max_ms)] {
            if let Some(v) = value
                && !(v.is_finite() && v > 0.0)
            {
                problems.push(format!("checks.latency.{name}: must be a positive number of milliseconds, got {v}"));
            }
        }
        if let Some(names) = &self.checks.schema_parity.feature_names {
            if names.is_empty() {
                problems.push("checks.schema_parity.feature_names: must list at least one column".to_string());
            }
            let mut seen = std::collections::BTreeSet::new();
            for name in names {
                if !seen.insert(name) {
                    problems.push(format!("checks.schema_parity.feature_names: '{name}' is listed twice"));
                }
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems) }
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_default_file_is_the_built_in_default() {
        assert_eq!(Config::from_yaml(DEFAULT_YAML, "audits/default.yaml").unwrap(), Config::default());
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_file_name() {
        let err = Config::from_yaml("checks:\n  latency:\n    p99: 5\n", "x.yaml").unwrap_err();
        assert!(err.starts_with("x.yaml:"), "{err}");
        assert!(err.contains("p99"), "{err}");
    }

    #[test]
    fn every_bad_value_is_reported_at_once() {
        let yaml = "sample:\n  max_rows: 0\nchecks:\n  latency:\n    runs: 0\n    p99_ms: -1\n";
        let err = Config::from_yaml(yaml, "x.yaml").unwrap_err();
        assert!(err.contains("3 problems"), "{err}");
        assert!(err.contains("checks.latency.runs") && err.contains("checks.latency.p99_ms") && err.contains("sample.max_rows"), "{err}");
    }

    #[test]
    fn severities_parse_and_apply_per_check() {
        let config = Config::from_yaml("checks:\n  lockfile:\n    severity: warn\n", "x.yaml").unwrap();
        assert_eq!(config.checks.severity("lockfile"), Severity::Warn);
        assert_eq!(config.checks.severity("latency"), Severity::Deny);
    }

    #[test]
    fn an_empty_file_is_the_default() {
        assert_eq!(Config::from_yaml("  \n", "x.yaml").unwrap(), Config::default());
    }
}
