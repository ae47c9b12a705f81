//! Hardcoded paths: absolute and user-home paths that work only on the machine that wrote them,
//! in the model (metadata, doc strings, string values), a pickle's string constants, the audit
//! config and, with `--project`, the serving code, configs and container files. The scanner in
//! `crate::env::paths_scan` finds them; this check decides: code and model values fail,
//! comments, docstrings and test files warn, allow-listed prefixes are not findings.

use std::path::Path;

use super::{AuditContext, Check, Outcome, Status};
use crate::env::paths_scan::{self, Context, Language, PathMatch, ScanLimits};

pub struct HardcodedPaths;

/// Findings listed in the details at most (the count is always exact).
const MAX_LISTED: usize = 100;

const MODEL_FIX: &str = "re-export with a relative file name, or set it at serving time from an environment variable";
const PICKLE_FIX: &str = "set the attribute to a relative path before saving, or export the model to ONNX";

impl Check for HardcodedPaths {
    fn id(&self) -> &'static str {
        "hardcoded_paths"
    }

    fn description(&self) -> &'static str {
        "no path that exists only on one machine (/Users/..., /home/<user>/..., C:\\Users\\..., ~/...) in the model, config or serving code"
    }

    fn explanation(&self) -> &'static str {
        "What: finds paths that exist only on the machine that wrote them: home folders (/Users/<name>, \
         /home/<name>, C:\\Users\\<name>, ~/<name>), external and WSL drives (/Volumes/<name>, /media/<name>, \
         /mnt/c/), Windows drive paths (D:\\data\\x.csv), Colab/Kaggle folders (/content/drive, /kaggle/input), \
         /private/var/folders and file:// URLs to them. It reads the model's \
         metadata_props, doc strings, string attributes and string initializers (subgraphs and functions \
         included), a pickle's string constants (read from its opcodes, never loaded), the audit config, \
         and with --project DIR the serving code under it: Python, notebooks' code cells, .env files, shell scripts, YAML, TOML, JSON, \
         requirements*.txt, Dockerfile and Containerfile (hidden folders, .venv/venv and any folder holding \
         pyvenv.cfg, node_modules, build, dist, target, site-packages, __pycache__ and vendored folders are \
         skipped; every file is read through the sandbox opener: regular, at most max_file_kb, no link out of \
         the project; at most max_files files tried). A path in code, a config value or a model value fails; in a \
         # comment, a docstring (a string that is a statement of its own), a model doc_string, or a test file \
         (tests/, test/, testing/, fixtures/, testdata/, test_*.py, *_test.py, conftest.py) it warns. Never reported: system and container \
         paths (/usr, /bin, /etc, /tmp, /dev, /proc, /var, /opt, /app, /srv, /models, /data, /workspace, \
         /root, /mnt/<name>, C:\\Windows, C:\\ProgramData, C:\\Program Files), a path inside a URL \
         (https://host/home/...), ~/.name and ~/Library (per-user caches and configs), paths inside a container image (any /home/... or Windows path in a container file, a \
         /home/<name> a container file creates or names, in the files its image copies in, Kubernetes mountPath, workingDir and subPath values). \
         Example text in a string (help=, \"e.g. /home/you/x\", a placeholder user) warns. In compose files and Kubernetes \
         manifests /home/<user> is the container's too; /Users, C:\\Users and the host side of a volume still fail. \
         checks.hardcoded_paths.allow lists prefixes (whole folder names) that are not findings. Each finding names the file and \
         line (serve.py:4) or the model field (metadata_props[\"train_data\"]) and the fix for its kind of file.\n\
         Why: a pipeline that loads /Users/alice/project/model.onnx or reads a vocabulary from \
         /home/bob/data works on the laptop that trained it and fails in the container that serves it.\n\
         Fix: read the location from an environment variable (os.environ[\"MODEL_PATH\"], $MODEL_PATH, ENV in \
         the Dockerfile) or build it relative to the code (Path(__file__).parent / \"model.onnx\"); COPY files \
         into the image and use the image's path; re-export a model whose metadata records a local path; \
         allow-list a prefix you really serve from."
    }

    fn run(&self, ctx: &AuditContext<'_>) -> Outcome {
        let settings = &ctx.config.checks.hardcoded_paths;
        let mut found = Found { allow: &settings.allow, hits: Vec::new(), allowed: 0 };
        let mut scanned: Vec<(String, String)> = Vec::new();
        let mut notes = Vec::new();
        scan_model(ctx, &mut found, &mut scanned, &mut notes);
        let config_file = ctx.config_path.as_deref().and_then(|path| scan_config(path, &mut found, &mut scanned, &mut notes));
        let mut truncated = false;
        match &ctx.project {
            Some(dir) => {
                let limits = ScanLimits { max_files: settings.max_files, max_file_bytes: settings.max_file_kb.saturating_mul(1024) };
                let scan = paths_scan::scan_project(dir, limits, config_file.as_deref());
                for (file, language, hit) in scan.findings {
                    found.add(status_of(hit.context), format!("{file}:{}{}", hit.line, hit.context.label()), hit.found, language.fix());
                }
                let files = if scan.files == 1 { "1 file".to_string() } else { format!("{} files", scan.files) };
                scanned.push((format!("{files} under --project"), format!("{files} under {}", dir.display())));
                if !scan.skipped.is_empty() {
                    let listed: Vec<&str> = scan.skipped.iter().take(10).map(String::as_str).collect();
                    let rest = scan.skipped.len().saturating_sub(listed.len());
                    let more = if rest > 0 { format!("; and {rest} more") } else { String::new() };
                    notes.push(format!("{} file(s) not read: {}{more}", scan.skipped.len(), listed.join("; ")));
                }
                if scan.truncated {
                    truncated = true;
                    notes.push(format!("scan stopped after {} files (checks.hardcoded_paths.max_files)", settings.max_files));
                }
            }
            None => notes.push("--project not given: serving code and container files not scanned".to_string()),
        }
        let model_unscanned = ctx.artifact.pickle.is_none() && ctx.artifact.onnx.is_err();
        found.outcome(&scanned, notes, truncated, model_unscanned)
    }
}

/// Code and values fail; comments, docstrings and tests warn.
fn status_of(context: Context) -> Status {
    match context {
        Context::Code => Status::Fail,
        Context::Comment | Context::Doc | Context::Test | Context::Example => Status::Warn,
    }
}

/// The model's strings, or a pickle's string constants.
fn scan_model(ctx: &AuditContext<'_>, found: &mut Found<'_>, scanned: &mut Vec<(String, String)>, notes: &mut Vec<String>) {
    let artifact = ctx.artifact;
    if let Some(scan) = &artifact.pickle {
        for text in &scan.strings {
            for hit in paths_scan::find_paths(text) {
                found.add(Status::Fail, "pickle string constant".to_string(), hit, PICKLE_FIX);
            }
        }
        scanned.push(("the pickle".to_string(), "the pickle's string constants".to_string()));
        if !scan.complete {
            notes.push("the pickle scan stopped early (see serialization): later strings were not read".to_string());
        }
        if scan.strings.len() >= crate::pickle_scan::MAX_STRINGS {
            notes.push(format!("only the first {} path-like strings of the pickle were read", crate::pickle_scan::MAX_STRINGS));
        }
    } else if artifact.onnx.is_err() {
        notes.push("the model did not decode (see serialization): its strings were not scanned".to_string());
    } else {
        for string in &artifact.strings {
            for hit in paths_scan::find_paths(&string.text) {
                let (status, label) = if string.doc { (Status::Warn, " (documentation)") } else { (Status::Fail, "") };
                found.add(status, format!("model {}{label}", string.field), hit, MODEL_FIX);
            }
        }
        scanned.push(("the model".to_string(), "the model's metadata, doc strings and string values".to_string()));
        if artifact.strings.len() >= crate::model::strings::MAX_STRINGS {
            notes.push(format!("only the first {} path-like strings of the model were read", crate::model::strings::MAX_STRINGS));
        }
    }
}

/// The audit config (its `#` comments warn); returns its canonical path, so that a project scan
/// does not read it twice.
fn scan_config(path: &Path, found: &mut Found<'_>, scanned: &mut Vec<(String, String)>, notes: &mut Vec<String>) -> Option<std::path::PathBuf> {
    let shown = path.display();
    match crate::sandbox::open::read_text(path, crate::sandbox::open::MAX_CONFIG_BYTES) {
        Ok(text) => {
            for hit in paths_scan::scan_text(&text, Language::Config, false, &Default::default()) {
                let fix = "use a relative path, or allow-list the prefix (checks.hardcoded_paths.allow)";
                found.add(status_of(hit.context), format!("{shown}:{}{}", hit.line, hit.context.label()), hit.found, fix);
            }
            scanned.push(("the config".to_string(), format!("the config {shown}")));
        }
        Err(e) => notes.push(format!("{shown}: not scanned: {e}")),
    }
    path.canonicalize().ok()
}

/// One reported path.
struct Hit {
    status: Status,
    location: String,
    found: PathMatch,
    fix: &'static str,
}

/// The findings so far, with the allow-list applied.
struct Found<'a> {
    allow: &'a [String],
    hits: Vec<Hit>,
    allowed: usize,
}

impl Found<'_> {
    fn add(&mut self, status: Status, location: String, found: PathMatch, fix: &'static str) {
        if allowed(&found.path, self.allow) {
            self.allowed += 1;
        } else {
            self.hits.push(Hit { status, location, found, fix });
        }
    }

    /// `scanned`: what was read, (short for the summary, full for the details).
    fn outcome(self, scanned: &[(String, String)], notes: Vec<String>, truncated: bool, model_unscanned: bool) -> Outcome {
        let fails = self.hits.iter().filter(|h| h.status == Status::Fail).count();
        let warns = self.hits.len() - fails;
        let what = and_list(scanned.iter().map(|(short, _)| short.as_str()));
        let full = scanned.iter().map(|(_, long)| long.as_str()).collect::<Vec<_>>().join(", ");
        let first = self.hits.iter().find(|h| h.status == Status::Fail).or(self.hits.first());
        let more = |n: usize| if n > 1 { format!(" (+{} more)", n - 1) } else { String::new() };
        let mut outcome = match first {
            Some(hit) if fails > 0 => Outcome::fail(format!("hardcoded path in {}: {}{}", hit.location, hit.found.path, more(fails))),
            Some(hit) => {
                Outcome::warn(format!("hardcoded path in a comment, docstring or test: {}: {}{}", hit.location, hit.found.path, more(warns)))
            }
            None if truncated => Outcome::warn(format!("no hardcoded paths found, but the scan stopped early: {what}")),
            None if scanned.is_empty() => Outcome::skip("nothing to scan: the model did not decode, and no config or --project was given"),
            None if model_unscanned => Outcome::pass(format!("no hardcoded paths in {what} (the model did not decode: not scanned)")),
            None => Outcome::pass(format!("no hardcoded paths in {what}")),
        };
        let mut details: Vec<String> = self
            .hits
            .iter()
            .take(MAX_LISTED)
            .map(|h| format!("{} {}: {} is {}; {}", h.status.name(), h.location, h.found.path, h.found.kind.describe(), h.fix))
            .collect();
        if self.hits.len() > MAX_LISTED {
            details.push(format!("... and {} more", self.hits.len() - MAX_LISTED));
        }
        details.push(format!("scanned: {full}"));
        if self.allowed > 0 {
            details.push(format!("{} path(s) allowed by checks.hardcoded_paths.allow", self.allowed));
        }
        details.extend(notes);
        outcome = outcome.with_details(details);
        outcome.with_metric("failures", fails).with_metric("warnings", warns).with_metric("allowed", self.allowed)
    }
}

/// `a`, `a and b`, `a, b and c`.
fn and_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.to_string(),
        None => String::new(),
    }
}

/// Whether `path` starts with an allowed prefix (as written, or with `\\` read as `\` and a
/// `file://` prefix dropped), in whole components: `/home/ali` allows `/home/ali/x`, not `/home/alicia`.
fn allowed(path: &str, prefixes: &[String]) -> bool {
    let plain = path.replace("\\\\", "\\");
    let local = plain.get(..7).filter(|p| p.eq_ignore_ascii_case("file://")).map_or(plain.as_str(), |_| &plain[7..]);
    prefixes.iter().any(|p| [path, plain.as_str(), local].iter().any(|candidate| component_prefix(candidate, p)))
}

/// Whether `prefix` starts `path` and ends at a separator (its own last character, the next one of
/// `path`, or the end of `path`).
fn component_prefix(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| prefix.ends_with(['/', '\\']) || rest.is_empty() || rest.starts_with(['/', '\\']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::model::strings::ModelString;

    fn run_on(strings: Vec<ModelString>, config: &Config) -> Outcome {
        let mut artifact = crate::test_support::artifact();
        artifact.strings = strings;
        let ctx = AuditContext::new(config, &artifact, Err("no model".into()), None);
        HardcodedPaths.run(&ctx)
    }

    fn string(field: &str, text: &str, doc: bool) -> ModelString {
        ModelString { field: field.into(), text: text.into(), doc }
    }

    #[test]
    fn a_model_value_fails_a_doc_string_warns_and_the_allow_list_removes_both() {
        let strings = vec![
            string("metadata_props[\"train_data\"]", "/Users/alice/train.csv", false),
            string("graph \"g\" doc_string", "from /home/bob/x", true),
        ];
        let outcome = run_on(strings.clone(), &Config::default());
        assert_eq!(outcome.status, Status::Fail);
        assert_eq!(outcome.summary, "hardcoded path in model metadata_props[\"train_data\"]: /Users/alice/train.csv");
        assert_eq!(
            outcome.details[1],
            format!("warn model graph \"g\" doc_string (documentation): /home/bob/x is a home folder on one machine; {MODEL_FIX}")
        );
        let mut config = Config::default();
        config.checks.hardcoded_paths.allow = vec!["/Users/alice/".into(), "/home/bob".into()];
        let outcome = run_on(strings, &config);
        assert_eq!(outcome.status, Status::Pass);
        assert_eq!(outcome.metrics["allowed"], 2);
    }

    #[test]
    fn nothing_found_passes_and_says_what_was_scanned() {
        let outcome = run_on(vec![string("metadata_props[\"url\"]", "https://example.com/home/a/x", false)], &Config::default());
        assert_eq!(outcome.status, Status::Pass);
        assert_eq!(outcome.summary, "no hardcoded paths in the model");
        assert_eq!(outcome.details[0], "scanned: the model's metadata, doc strings and string values");
        assert_eq!(outcome.details.last().unwrap(), "--project not given: serving code and container files not scanned");
    }

    #[test]
    fn escaped_backslashes_and_file_urls_match_the_allow_list() {
        let prefixes = vec![r"C:\Users\ci\".to_string(), "/home/runner/".to_string()];
        assert!(allowed(r"C:\\Users\\ci\\m.onnx", &prefixes));
        assert!(allowed("file:///home/runner/m.onnx", &prefixes));
        assert!(!allowed("/home/runner2/m.onnx", &prefixes));
        let ali = vec!["/home/ali".to_string(), r"C:\Users\bo".to_string()];
        assert!(allowed("/home/ali", &ali) && allowed("/home/ali/x.csv", &ali) && allowed("file:///home/ali/x", &ali));
        assert!(allowed(r"C:\\Users\\bo\\m.onnx", &ali) && allowed(r"C:\Users\bo\m.onnx", &ali));
        assert!(!allowed("/home/alicia/x.csv", &ali) && !allowed("/home/ali.b/x", &ali) && !allowed(r"C:\Users\bob\m", &ali));
    }
}
