//! The README's "Operational Constraints" section: built from an audit report, written between
//! markers (replacing the previous section, so writing twice gives the same bytes), and checked
//! against a fresh audit within the configured tolerances.
//!
//! The section carries its numbers twice: as a table for people and as a JSON comment that
//! `ready readme --check` reads back, so the check never parses prose.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::artifact::human_size;
use crate::checks::Metrics;
use crate::config::ReadmeSettings;
use crate::env::deploy::Margins;
use crate::env::deploy::recommend::{Recommendation, recommend};
use crate::report::Report;
use crate::report::escape::{json_in_html_comment, markdown, markdown_code};
use crate::runtime::tensor::format_ms;

/// Start marker of the generated section.
pub const BEGIN: &str = "<!-- ready:operational-constraints:begin -->";
/// End marker of the generated section.
pub const END: &str = "<!-- ready:operational-constraints:end -->";
const DATA_PREFIX: &str = "<!-- ready:data ";

/// What the section states, extracted from a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    pub ready_version: String,
    pub model: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub machine: String,
    pub runtime_version: Option<String>,
    pub runtime_settings: Value,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub latency_runs: Option<u64>,
    pub rows_per_run: Option<u64>,
    pub session_create_ms: Option<f64>,
    pub first_inference_ms: Option<f64>,
    pub peak_rss_bytes: Option<u64>,
    /// `(name, type)` of each input and output.
    pub inputs: Vec<(String, String)>,
    pub outputs: Vec<(String, String)>,
    pub lock_fingerprint: Option<String>,
    /// The largest batch that ran, and the smallest that failed, when the oversized probe ran
    /// out of memory (sections written before this was measured have neither).
    #[serde(default)]
    pub largest_batch_rows: Option<u64>,
    #[serde(default)]
    pub failing_batch_rows: Option<u64>,
    /// Deployment values recommended from the numbers above and the margins (sections written
    /// before recommendations existed have none).
    #[serde(default)]
    pub deployment: Option<Recommendation>,
}

fn io(specs: Option<&Value>) -> Vec<(String, String)> {
    let Some(items) = specs.and_then(Value::as_array) else { return Vec::new() };
    items
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap_or("?").to_string();
            (name, type_text(&s["type"]))
        })
        .collect()
}

/// Renders a serialized `ValueKind` the way reports print it (`float32[?,4]`).
fn type_text(kind: &Value) -> String {
    match kind["kind"].as_str() {
        Some("tensor") => {
            let dims: Vec<String> = kind["dims"]
                .as_array()
                .map(|d| d.iter().map(|d| d.as_i64().map_or_else(|| d.as_str().unwrap_or("?").to_string(), |n| n.to_string())).collect())
                .unwrap_or_default();
            format!("{}[{}]", kind["element"].as_str().unwrap_or("?"), dims.join(","))
        }
        Some("sequence") => format!("seq({})", type_text(&kind["of"])),
        Some("optional") => format!("optional({})", type_text(&kind["of"])),
        Some("map") => format!("map({},{})", kind["key"].as_str().unwrap_or("?"), kind["value"].as_str().unwrap_or("?")),
        _ => "?".to_string(),
    }
}

impl Constraints {
    /// Extracts the constraints from a report (a fresh one, or one read back with
    /// [`Report::from_json`]). Metrics are per check, so they are looked up by name. The
    /// deployment recommendation is derived again from the report's measurements with
    /// `margins`, so a report written before recommendations existed gets one too.
    pub fn from_report(report: &Report, margins: &Margins) -> Self {
        let metrics = |id: &str| report.check(id).map(|c| &c.metrics);
        let (serialization, latency, lockfile, robustness) =
            (metrics("serialization"), metrics("latency"), metrics("lockfile"), metrics("robustness"));
        let f = |m: Option<&Metrics>, key: &str| m.and_then(|m| m.get(key)).and_then(Value::as_f64);
        let u = |m: Option<&Metrics>, key: &str| m.and_then(|m| m.get(key)).and_then(Value::as_u64);
        Self {
            ready_version: report.ready_version.clone(),
            model: report.model.path.clone(),
            sha256: report.model.sha256.clone(),
            size_bytes: report.model.size_bytes,
            machine: report.machine.describe(),
            runtime_version: report.runtime.as_ref().map(|r| r.version.clone()),
            runtime_settings: report.runtime.as_ref().and_then(|r| serde_json::to_value(&r.settings).ok()).unwrap_or(Value::Null),
            p50_ms: f(latency, "p50_ms"),
            p99_ms: f(latency, "p99_ms"),
            latency_runs: u(latency, "runs"),
            rows_per_run: u(latency, "rows_per_run"),
            session_create_ms: f(serialization, "session_create_ms"),
            first_inference_ms: f(serialization, "first_inference_ms"),
            peak_rss_bytes: u(latency, "peak_rss_bytes").or_else(|| u(serialization, "peak_rss_after_load_bytes")),
            inputs: io(serialization.and_then(|m| m.get("inputs"))),
            outputs: io(serialization.and_then(|m| m.get("outputs"))),
            lock_fingerprint: lockfile.and_then(|m| m.get("fingerprint")).and_then(Value::as_str).map(str::to_string),
            largest_batch_rows: u(robustness, "largest_batch_rows"),
            failing_batch_rows: u(robustness, "failing_batch_rows"),
            deployment: Some(recommend(&report.measured(), margins)),
        }
    }

    /// The section, markers included, ending with a newline.
    pub fn render(&self) -> String {
        let opt_ms = |v: Option<f64>| v.map_or("not measured".to_string(), format_ms);
        let settings = &self.runtime_settings;
        let mut out = String::new();
        out.push_str(BEGIN);
        out.push_str("\n## Operational Constraints\n\n");
        out.push_str(&format!(
            "Measured by `ready {}` on {} with ONNX Runtime {} (intra_op_threads {}, inter_op_threads {}, graph_optimization {}). \
             Written by `ready readme`; `ready readme --check` fails when it stops being true.\n\n",
            markdown(&self.ready_version),
            markdown(&self.machine),
            markdown(self.runtime_version.as_deref().unwrap_or("(not loaded)")),
            settings["intra_op_threads"],
            settings["inter_op_threads"],
            settings["graph_optimization"].as_str().unwrap_or("?"),
        ));
        out.push_str("| constraint | value |\n|---|---|\n");
        out.push_str(&format!(
            "| model | {} ({}, sha256 {}) |\n",
            markdown_code(&self.model),
            human_size(self.size_bytes),
            markdown_code(self.sha256.get(..12).unwrap_or(&self.sha256))
        ));
        let rows = self.rows_per_run.unwrap_or(1);
        let runs = self.latency_runs.map_or(String::new(), |r| format!(", {r} runs"));
        out.push_str(&format!(
            "| latency p50 / p99 ({rows} row{}{runs}) | {} / {} |\n",
            if rows == 1 { "" } else { "s" },
            opt_ms(self.p50_ms),
            opt_ms(self.p99_ms)
        ));
        out.push_str(&format!(
            "| cold start: session creation / first inference | {} / {} |\n",
            opt_ms(self.session_create_ms),
            opt_ms(self.first_inference_ms)
        ));
        out.push_str(&format!("| peak memory (resident) | {} |\n", self.peak_rss_bytes.map_or("not measured".to_string(), human_size)));
        if let (Some(fits), Some(fails)) = (self.largest_batch_rows, self.failing_batch_rows) {
            out.push_str(&format!(
                "| largest batch that fits (probe memory limit) | {fits} rows ({fails} run out of memory): cap batches in the server |\n"
            ));
        }
        out.push_str(&format!("| ONNX Runtime | {} |\n", markdown(self.runtime_version.as_deref().unwrap_or("not loaded"))));
        out.push_str(&format!("| lock fingerprint | {} |\n", self.lock_fingerprint.as_deref().map_or("no lockfile".to_string(), markdown_code)));
        if let Some(recommendation) = &self.deployment {
            out.push_str(&deployment_table(recommendation));
        }
        for (title, specs) in [("Inputs", &self.inputs), ("Outputs", &self.outputs)] {
            out.push_str(&format!("\n### {title}\n\n| name | type |\n|---|---|\n"));
            for (name, ty) in specs {
                out.push_str(&format!("| {} | {} |\n", markdown_code(name), markdown_code(ty)));
            }
        }
        out.push('\n');
        out.push_str(DATA_PREFIX);
        // Names from the model cannot close this comment or fake a marker.
        out.push_str(&json_in_html_comment(&serde_json::to_string(self).expect("constraints serialize")));
        out.push_str(" -->\n");
        out.push_str(END);
        out.push('\n');
        out
    }

    /// Where `fresh` measurements break the documented ones, one line each.
    pub fn drift(&self, fresh: &Self, tolerances: &ReadmeSettings) -> Vec<String> {
        let mut problems = Vec::new();
        let mut exact = |what: &str, documented: String, now: String| {
            if documented != now {
                problems.push(format!("{what}: README says {documented}, the audit found {now}"));
            }
        };
        exact("model sha256", self.sha256.clone(), fresh.sha256.clone());
        let or = |value: &Option<String>, none: &str| value.clone().unwrap_or_else(|| none.to_string());
        let listed = |specs: &[(String, String)]| specs.iter().map(|(name, ty)| format!("{name}: {ty}")).collect::<Vec<_>>().join(", ");
        exact("ONNX Runtime", or(&self.runtime_version, "not loaded"), or(&fresh.runtime_version, "not loaded"));
        exact("runtime settings", self.runtime_settings.to_string(), fresh.runtime_settings.to_string());
        exact("inputs", listed(&self.inputs), listed(&fresh.inputs));
        exact("outputs", listed(&self.outputs), listed(&fresh.outputs));
        exact("lock fingerprint", or(&self.lock_fingerprint, "no lockfile"), or(&fresh.lock_fingerprint, "no lockfile"));
        if let (Some(documented), Some(now)) = (self.largest_batch_rows, fresh.largest_batch_rows)
            && now < documented
        {
            problems.push(format!("largest batch that fits: README says {documented} rows, the audit found {now}"));
        }
        let slower =
            |what: &str, documented: Option<f64>, now: Option<f64>, tolerance: f64, floor: f64, show: &dyn Fn(f64) -> String| match (documented, now)
            {
                (Some(d), Some(n)) if n > d * (1.0 + tolerance) && n - d > floor => {
                    Some(format!("{what}: README says {}, the audit measured {} (more than {:.0}% over)", show(d), show(n), tolerance * 100.0))
                }
                (Some(_), None) => Some(format!("{what}: documented but not measured by this audit")),
                _ => None,
            };
        let ms = &|v: f64| format_ms(v);
        let bytes = &|v: f64| human_size(v as u64);
        let (latency, floor) = (tolerances.latency_tolerance, tolerances.latency_floor_ms);
        problems.extend(slower("p50 latency", self.p50_ms, fresh.p50_ms, latency, floor, ms));
        problems.extend(slower("p99 latency", self.p99_ms, fresh.p99_ms, latency, floor, ms));
        problems.extend(slower("session creation", self.session_create_ms, fresh.session_create_ms, latency, floor, ms));
        problems.extend(slower(
            "peak memory",
            self.peak_rss_bytes.map(|b| b as f64),
            fresh.peak_rss_bytes.map(|b| b as f64),
            tolerances.memory_tolerance,
            0.0,
            bytes,
        ));
        problems
    }
}

/// The "Deployment" table: each recommended value, what it comes from, and why the margin exists.
fn deployment_table(r: &Recommendation) -> String {
    const NOT_MEASURED: &str = "not measured";
    let mut out = String::from(
        "\n### Deployment\n\nRecommended for the container that serves this model, from the numbers above and the margins \
         (`ready audit --format json` carries them as `deployment_recommendation`; `ready init MODEL --deploy` prints them as YAML).\n\n\
         | setting | value | from | why the margin |\n|---|---|---|---|\n",
    );
    let row = |out: &mut String, setting: &str, value: Option<(String, String)>, why: &str| {
        let (value, from) = value.unwrap_or_else(|| (NOT_MEASURED.to_string(), NOT_MEASURED.to_string()));
        out.push_str(&format!("| {setting} | {value} | {from} | {why} |\n"));
    };
    row(
        &mut out,
        "memory request / limit",
        r.memory.map(|m| (format!("`{}` / `{}`", m.request, m.limit), format!("peak after load {} × {}", human_size(m.peak_rss_bytes), m.headroom))),
        "inference allocates in spikes above the load peak (batches, arenas, concurrent requests); a limit at the peak is an OOM kill",
    );
    row(
        &mut out,
        "startup probe budget",
        r.startup_probe.map(|p| {
            (
                format!("periodSeconds {} × failureThreshold {} = {} s", p.period_seconds, p.failure_threshold, p.budget_seconds()),
                format!("cold start {} × {}", format_ms(p.cold_start_ms), p.margin),
            )
        }),
        "nodes are slower and busier than the machine that measured, and the image and model are read from a cold disk",
    );
    row(
        &mut out,
        "readiness probe timeout",
        r.readiness_probe
            .map(|p| (format!("timeoutSeconds {}", p.timeout_seconds), format!("p99 {} × {}, at least 1 s", format_ms(p.p99_ms), p.margin))),
        "a health endpoint that runs inference answers at its slow tail under load; a timeout at the p99 makes pods flap",
    );
    row(
        &mut out,
        "CPU request / limit",
        r.cpu.map(|c| (format!("`{}` / `{}`", c.cores, c.cores), format!("{} intra-op thread(s) timed the latency", c.cores))),
        "no margin: fewer cores than ONNX Runtime's threads throttle them, and latency gets worse than measured",
    );
    out
}

/// Locates the generated section: byte range of the markers, or `None` when absent.
fn section_range(readme: &str) -> Result<Option<(usize, usize)>, String> {
    let begins: Vec<usize> = readme.match_indices(BEGIN).map(|(i, _)| i).collect();
    let ends: Vec<usize> = readme.match_indices(END).map(|(i, _)| i).collect();
    match (begins.as_slice(), ends.as_slice()) {
        ([], []) => Ok(None),
        ([b], [e]) if b < e => {
            let mut end = e + END.len();
            if readme[end..].starts_with('\n') {
                end += 1;
            }
            Ok(Some((*b, end)))
        }
        ([_], [_]) => Err("the end marker comes before the begin marker".to_string()),
        (b, e) if b.len() > 1 || e.len() > 1 => Err("more than one Operational Constraints section".to_string()),
        ([_], []) => Err(format!("begin marker without an end marker ({END})")),
        _ => Err(format!("end marker without a begin marker ({BEGIN})")),
    }
}

/// Replaces the section in `readme`, or appends it after a blank line when there is none.
pub fn upsert(readme: &str, section: &str) -> Result<String, String> {
    Ok(match section_range(readme)? {
        Some((start, end)) => format!("{}{section}{}", &readme[..start], &readme[end..]),
        None if readme.is_empty() => section.to_string(),
        None => {
            let separator = if readme.ends_with("\n\n") {
                ""
            } else if readme.ends_with('\n') {
                "\n"
            } else {
                "\n\n"
            };
            format!("{readme}{separator}{section}")
        }
    })
}

/// Reads the documented constraints back from `readme`; `None` when there is no section.
pub fn extract(readme: &str) -> Result<Option<Constraints>, String> {
    let Some((start, end)) = section_range(readme)? else { return Ok(None) };
    let section = &readme[start..end];
    let data = section
        .lines()
        .find_map(|l| l.strip_prefix(DATA_PREFIX).and_then(|rest| rest.strip_suffix(" -->")))
        .ok_or("the Operational Constraints section has no ready:data line (was it edited by hand?)")?;
    serde_json::from_str(data).map(Some).map_err(|e| format!("the ready:data line does not parse: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraints(p99: f64) -> Constraints {
        Constraints {
            ready_version: "0.1.0".into(),
            model: "model.onnx".into(),
            sha256: "ab".repeat(32),
            size_bytes: 6000,
            machine: "cpu (2 logical cores), linux x86_64".into(),
            runtime_version: Some("1.31.1".into()),
            runtime_settings: serde_json::json!({"intra_op_threads": 1, "inter_op_threads": 1, "graph_optimization": "all"}),
            p50_ms: Some(0.005),
            p99_ms: Some(p99),
            latency_runs: Some(300),
            rows_per_run: Some(1),
            session_create_ms: Some(3.0),
            first_inference_ms: Some(0.1),
            peak_rss_bytes: Some(100 << 20),
            inputs: vec![("input".into(), "float32[?,4]".into())],
            outputs: vec![("label".into(), "int64[?]".into())],
            lock_fingerprint: Some("sha256:00".into()),
            largest_batch_rows: None,
            failing_batch_rows: None,
            deployment: None,
        }
    }

    #[test]
    fn the_largest_batch_that_fits_is_stated_and_checked() {
        let documented = Constraints { largest_batch_rows: Some(1024), failing_batch_rows: Some(2048), ..constraints(0.006) };
        assert!(documented.render().contains("| largest batch that fits (probe memory limit) | 1024 rows (2048 run out of memory)"));
        let fresh = Constraints { largest_batch_rows: Some(512), failing_batch_rows: Some(1024), ..constraints(0.006) };
        let problems = documented.drift(&fresh, &ReadmeSettings::default());
        assert_eq!(problems, ["largest batch that fits: README says 1024 rows, the audit found 512"]);
        // A section written before the limit was measured still parses.
        let old: Constraints = serde_json::from_str(
            &serde_json::to_string(&constraints(0.006)).unwrap().replace(",\"largest_batch_rows\":null,\"failing_batch_rows\":null", ""),
        )
        .unwrap();
        assert_eq!(old.largest_batch_rows, None);
    }

    #[test]
    fn the_deployment_table_states_each_value_its_source_and_why() {
        let measured = crate::env::deploy::Measured {
            peak_rss_bytes: Some(100 << 20),
            cold_start: Some(std::time::Duration::from_millis(3100)),
            p99_ms: Some(0.006),
            intra_op_threads: 2,
        };
        let deployment = Some(recommend(&measured, &Margins::default()));
        let section = Constraints { deployment, ..constraints(0.006) }.render();
        let table: Vec<&str> = section.lines().skip_while(|l| *l != "### Deployment").filter(|l| l.starts_with("| ")).take(5).collect();
        assert_eq!(
            table,
            [
                "| setting | value | from | why the margin |",
                "| memory request / limit | `100Mi` / `150Mi` | peak after load 100.0 MiB × 1.5 | inference allocates in spikes above the load peak (batches, arenas, concurrent requests); a limit at the peak is an OOM kill |",
                "| startup probe budget | periodSeconds 5 × failureThreshold 2 = 10 s | cold start 3.1 s × 2 | nodes are slower and busier than the machine that measured, and the image and model are read from a cold disk |",
                "| readiness probe timeout | timeoutSeconds 1 | p99 6 µs × 2, at least 1 s | a health endpoint that runs inference answers at its slow tail under load; a timeout at the p99 makes pods flap |",
                "| CPU request / limit | `2` / `2` | 2 intra-op thread(s) timed the latency | no margin: fewer cores than ONNX Runtime's threads throttle them, and latency gets worse than measured |",
            ]
        );
        let written = upsert("# M\n", &section).unwrap();
        assert_eq!(extract(&written).unwrap().unwrap().deployment, deployment);
        // Nothing measured: every row says so, nothing is made up.
        let none = crate::env::deploy::recommend::Recommendation { memory: None, startup_probe: None, readiness_probe: None, cpu: None };
        let section = Constraints { deployment: Some(none), ..constraints(0.006) }.render();
        assert_eq!(section.matches("| not measured | not measured |").count(), 4, "{section}");
    }

    #[test]
    fn writing_twice_gives_the_same_bytes_and_keeps_the_rest() {
        let readme = "# Model\n\nIntro.\n";
        let section = constraints(0.006).render();
        let once = upsert(readme, &section).unwrap();
        let twice = upsert(&once, &section).unwrap();
        assert_eq!(once, twice);
        assert!(once.starts_with("# Model\n\nIntro.\n\n<!-- ready:operational-constraints:begin -->"));
        let updated = upsert(&format!("{once}\n## After\n"), &constraints(0.009).render()).unwrap();
        assert!(updated.ends_with("<!-- ready:operational-constraints:end -->\n\n## After\n"), "{updated}");
        assert_eq!(updated.matches(BEGIN).count(), 1);
    }

    #[test]
    fn the_section_reads_back_exactly() {
        let written = upsert("# M\n", &constraints(0.006).render()).unwrap();
        assert_eq!(extract(&written).unwrap(), Some(constraints(0.006)));
        assert_eq!(extract("# no section\n").unwrap(), None);
    }

    #[test]
    fn drift_beyond_tolerance_and_identity_changes_are_reported() {
        let documented = constraints(0.010);
        let tolerances = ReadmeSettings { latency_tolerance: 0.5, memory_tolerance: 0.25, latency_floor_ms: 0.0 };
        assert!(documented.drift(&constraints(0.014), &tolerances).is_empty(), "within 50%");
        assert!(documented.drift(&constraints(0.001), &tolerances).is_empty(), "faster is fine");
        let problems = documented.drift(&constraints(0.016), &tolerances);
        assert_eq!(problems, vec!["p99 latency: README says 10 µs, the audit measured 16 µs (more than 50% over)"]);
        let with_floor = ReadmeSettings { latency_floor_ms: 0.1, ..tolerances.clone() };
        assert!(documented.drift(&constraints(0.016), &with_floor).is_empty(), "6 µs of drift is jitter");
        let mut changed = constraints(0.010);
        changed.sha256 = "cd".repeat(32);
        changed.inputs[0].1 = "float64[?,4]".into();
        let problems = documented.drift(&changed, &tolerances);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("model sha256: README says abab"));
    }

    #[test]
    fn broken_markers_are_errors() {
        assert!(upsert(&format!("{BEGIN}\nno end\n"), "x").unwrap_err().contains("without an end marker"));
        assert!(upsert(&format!("{END}\n{BEGIN}\n"), "x").unwrap_err().contains("before"));
        assert!(upsert(&format!("{BEGIN}{END}{BEGIN}{END}"), "x").unwrap_err().contains("more than one"));
    }
}
