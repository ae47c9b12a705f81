//! `ready`: audits an ML model artifact and says whether it is fit to ship.
//!
//! The binary is a thin shell over [`run`]: it parses the command line, calls `run`, prints
//! the error chain and maps the result to an exit code (0 ready, 1 not ready, 2 could not run).

pub mod artifact;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod compare;
pub mod config;
pub mod config_yaml;
pub mod env;
pub mod guard;
pub mod init;
pub mod inputs;
pub mod lockfiles;
pub mod machine;
pub mod model;
pub mod parquet_footer;
pub mod pickle_scan;
pub mod probe;
pub mod progress;
pub mod readme;
pub mod report;
pub mod runtime;
pub mod sample;
pub mod sandbox;
pub mod stats;
pub mod tensor_proto;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use cli::{Cli, Command};
use config::Config;

/// A failure that means `ready` itself could not run (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs a parsed command line, writing reports to stdout. Returns the exit code for a
/// completed run (0 or 1); errors map to exit code 2.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    // Debug builds only: lets the tests check that a panic becomes a one-line internal error.
    #[cfg(debug_assertions)]
    if std::env::var_os("READY_TEST_PANIC").is_some() {
        panic!("READY_TEST_PANIC is set");
    }
    let mut stdout = std::io::stdout().lock();
    let show_progress = !cli.quiet && std::io::stderr().is_terminal();
    let ort_env = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()).map(PathBuf::from);
    match cli.command {
        Command::Checks => {
            for check in checks::REGISTRY {
                writeln!(stdout, "{:<15} {}", check.id(), check.description())?;
            }
            Ok(0)
        }
        Command::Explain { check } => {
            let found = checks::find(&check).ok_or_else(|| UsageError(format!("unknown check '{check}' (known: {})", known_checks())))?;
            writeln!(stdout, "{}: {}\n\n{}", found.id(), found.description(), found.explanation())?;
            Ok(0)
        }
        Command::Audit(args) => audit_command(&args, cli.ort_lib, ort_env, show_progress, &mut stdout),
        Command::Profile(args) => {
            profile_command(&args)?;
            Ok(0)
        }
        Command::Probe => {
            probe::child_main().map_err(UsageError)?;
            Ok(0)
        }
        Command::Readme(args) => readme_command(args, cli.ort_lib, ort_env, show_progress, &mut stdout),
        Command::Init(args) if args.deploy => init_deploy(&args, cli.ort_lib, ort_env, show_progress, &mut stdout),
        Command::Init(args) => {
            if args.output.exists() && !args.force {
                return Err(UsageError(format!("{}: already exists (use --force to overwrite)", args.output.display())).into());
            }
            let options = audit::AuditOptions { ort_lib: cli.ort_lib, ort_env, ..audit::AuditOptions::new(args.model.clone()) };
            let (inputs, outputs, info) = audit::model_inputs(&options).map_err(UsageError)?;
            let header = match &args.sample {
                Some(path) => Some(init::SampleHeader {
                    file: path.display().to_string(),
                    columns: sample::read_sample(path, 1).map_err(UsageError)?.columns().into_iter().map(|(name, _)| name).collect(),
                }),
                None => None,
            };
            let text = init::starter_config(&args.model.display().to_string(), &inputs, &outputs, info.as_ref(), header.as_ref());
            if let Some(parent) = args.output.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| UsageError(format!("{}: {e}", parent.display())))?;
            }
            std::fs::write(&args.output, text).map_err(|e| UsageError(format!("{}: {e}", args.output.display())))?;
            writeln!(stdout, "wrote {} for {} input(s) of {}", args.output.display(), inputs.len(), args.model.display())?;
            Ok(0)
        }
    }
}

fn known_checks() -> String {
    checks::REGISTRY.iter().map(|c| c.id()).collect::<Vec<_>>().join(", ")
}

fn append(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(bytes)
}

fn audit_options(
    model: PathBuf,
    target: &cli::Target,
    ort_lib: Option<PathBuf>,
    ort_env: Option<PathBuf>,
    show_progress: bool,
) -> Result<audit::AuditOptions, UsageError> {
    let config = match &target.config {
        Some(path) => Config::load(path).map_err(UsageError)?,
        None => Config::default(),
    };
    Ok(audit::AuditOptions {
        sample: target.sample.clone(),
        expected: target.expected.clone(),
        reference: target.reference.clone(),
        config,
        config_path: target.config.clone(),
        project: target.project.clone(),
        deploy: target.deploy.clone(),
        env: target.env.clone().filter(|e| !crate::env::python_env::is_none_flag(e)),
        env_off: target.env.as_deref().is_some_and(crate::env::python_env::is_none_flag),
        ort_lib,
        ort_env,
        show_progress,
        ..audit::AuditOptions::new(model)
    })
}

fn readme_command(
    args: cli::ReadmeArgs,
    ort_lib: Option<PathBuf>,
    ort_env: Option<PathBuf>,
    show_progress: bool,
    stdout: &mut impl Write,
) -> anyhow::Result<u8> {
    let shown = args.readme.display().to_string();
    let config = match &args.target.config {
        Some(path) => Config::load(path).map_err(UsageError)?,
        None => Config::default(),
    };
    let report = match (&args.report, &args.model) {
        (Some(path), _) => {
            let text =
                sandbox::open::read_text(path, sandbox::open::MAX_TEXT_BYTES).map_err(|e| UsageError(format!("--report {}: {e}", path.display())))?;
            report::Report::from_json(&text).map_err(|e| UsageError(format!("--report {}: {e}", path.display())))?
        }
        (None, Some(model)) => {
            let options = audit_options(model.clone(), &args.target, ort_lib, ort_env, show_progress)?;
            let report = audit::run_audit(&options).map_err(UsageError)?;
            if report.exit_code != 0 {
                eprintln!("note: the audit itself is not ready ({} failed check(s)); the section states what was measured", report.counts.fail);
            }
            report
        }
        (None, None) => return Err(UsageError("give a MODEL to audit or --report FILE".into()).into()),
    };
    let fresh = readme::Constraints::from_report(&report, &env::deploy::recommend::margins(&config));
    let text = sandbox::open::read_text(&args.readme, sandbox::open::MAX_TEXT_BYTES).map_err(|e| UsageError(format!("{shown}: {e}")))?;
    if args.check {
        return match readme::extract(&text).map_err(|e| UsageError(format!("{shown}: {e}")))? {
            None => {
                writeln!(stdout, "{shown}: no Operational Constraints section; write one with `ready readme {shown} MODEL`")?;
                Ok(1)
            }
            Some(documented) => {
                let problems = documented.drift(&fresh, &config.readme);
                if problems.is_empty() {
                    writeln!(stdout, "{shown}: Operational Constraints still hold")?;
                    Ok(0)
                } else {
                    writeln!(stdout, "{shown}: Operational Constraints no longer hold:")?;
                    for problem in problems {
                        writeln!(stdout, "  - {problem}")?;
                    }
                    Ok(1)
                }
            }
        };
    }
    let updated = readme::upsert(&text, &fresh.render()).map_err(|e| UsageError(format!("{shown}: {e}")))?;
    if updated == text {
        writeln!(stdout, "{shown}: Operational Constraints unchanged")?;
    } else {
        // Whole or not at all: on a full disk the README keeps its previous bytes.
        sandbox::write::atomic_write(&args.readme, updated.as_bytes()).map_err(|e| UsageError(format!("{shown}: not written: {e}")))?;
        writeln!(stdout, "{shown}: Operational Constraints written")?;
    }
    Ok(0)
}

/// `ready init MODEL --deploy`: measures the model the way `ready readme` does (one audit, here
/// of the two checks that measure: serialization's cold start and peak, latency's p99) and
/// prints the recommended container fields as YAML.
fn init_deploy(
    args: &cli::InitArgs,
    ort_lib: Option<PathBuf>,
    ort_env: Option<PathBuf>,
    show_progress: bool,
    stdout: &mut impl Write,
) -> anyhow::Result<u8> {
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(UsageError)?,
        None => Config::default(),
    };
    let options = audit::AuditOptions {
        sample: args.sample.clone(),
        config,
        config_path: args.config.clone(),
        ort_lib,
        ort_env,
        show_progress,
        only: vec!["serialization".to_string(), "latency".to_string()],
        ..audit::AuditOptions::new(args.model.clone())
    };
    let report = audit::run_audit(&options).map_err(UsageError)?;
    let recommendation = report
        .deployment_recommendation
        .unwrap_or_else(|| env::deploy::recommend::recommend(&report.measured(), &env::deploy::recommend::margins(&options.config)));
    if recommendation.memory.is_none() && recommendation.startup_probe.is_none() {
        let why = report.check("serialization").map_or(String::new(), |c| format!(" ({})", c.summary));
        return Err(UsageError(format!(
            "{}: nothing measured: the model did not load and answer a request{why}; `ready audit` shows why",
            args.model.display()
        ))
        .into());
    }
    let header = init::DeployHeader {
        model: report.model.path.clone(),
        sha256: report.model.sha256.clone(),
        measured_on: format!(
            "ready {} on {}, ONNX Runtime {}",
            report.ready_version,
            report.machine.describe(),
            report.runtime.as_ref().map_or("(not loaded)", |r| r.version.as_str())
        ),
    };
    stdout.write_all(init::deploy_yaml(&header, &recommendation).as_bytes())?;
    Ok(0)
}

/// `ready profile DATA -o FILE`: the reference profile of training rows.
fn profile_command(args: &cli::ProfileArgs) -> anyhow::Result<()> {
    if args.output.exists() && !args.force {
        return Err(UsageError(format!("{}: already exists (use --force to overwrite)", args.output.display())).into());
    }
    if args.output == args.data {
        return Err(UsageError(format!("{}: the output would overwrite the data", args.output.display())).into());
    }
    if !(2..=1000).contains(&args.bins) {
        return Err(UsageError(format!("--bins: must be 2 to 1000, got {}", args.bins)).into());
    }
    let columns = (!args.columns.is_empty()).then_some(args.columns.as_slice());
    // No model says which columns are text: a CSV column of zero-padded numbers ("01234") is.
    let csv = args.data.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv") || e.eq_ignore_ascii_case("tsv"));
    let text = if csv { inputs::text_columns::padded_columns(&args.data, 10_000).map_err(UsageError)? } else { Default::default() };
    let (profile, as_text) =
        inputs::reference::load_noting(&args.data, columns, &text, args.bins, inputs::reference::Keep::default()).map_err(UsageError)?;
    if let Some(missing) = args.columns.iter().find(|c| !profile.columns.contains_key(*c)) {
        return Err(UsageError(format!("--columns: '{missing}' is not a column of {}", args.data.display())).into());
    }
    let text = serde_json::to_string_pretty(&profile)?;
    std::fs::write(&args.output, text + "\n").map_err(|e| UsageError(format!("{}: {e}", args.output.display())))?;
    let skipped: Vec<String> = profile.skipped.iter().map(|c| format!("{} ({})", c.name, c.kind)).collect();
    let skipped = if skipped.is_empty() {
        String::new()
    } else {
        format!("; skipped {} column{} ready cannot profile: {}", skipped.len(), if skipped.len() == 1 { "" } else { "s" }, skipped.join(", "))
    };
    // A stray value made a numeric column text (pandas reads it so too): said, not changed.
    for note in &as_text {
        eprintln!("note: {}: {note}", args.data.display());
    }
    let as_text = as_text.iter().map(|n| format!("; {n}")).collect::<String>();
    eprintln!("wrote the profile of {} rows, {} columns to {}{skipped}{as_text}", profile.rows, profile.columns.len(), args.output.display());
    Ok(())
}

/// `ready audit`: the options from the flags, the audit, the reports (files first, then stdout,
/// then the GitHub step summary) and the exit code.
fn audit_command(
    args: &cli::AuditArgs,
    ort_lib: Option<PathBuf>,
    ort_env: Option<PathBuf>,
    show_progress: bool,
    stdout: &mut impl Write,
) -> anyhow::Result<u8> {
    let mut options = audit_options(args.model.clone(), &args.target, ort_lib, ort_env, show_progress)?;
    for (flag, ids, severity) in [
        ("--deny", &args.deny, config::Severity::Deny),
        ("--warn", &args.warn, config::Severity::Warn),
        ("--allow", &args.allow, config::Severity::Allow),
    ] {
        for id in ids {
            if !options.config.checks.set_severity(id, severity) {
                return Err(UsageError(format!("{flag}: unknown check '{id}' (known: {})", known_checks())).into());
            }
        }
    }
    for (flag, ids) in [("--only", &args.only), ("--skip", &args.skip)] {
        if let Some(id) = ids.iter().find(|id| checks::find(id).is_none()) {
            return Err(UsageError(format!("{flag}: unknown check '{id}' (known: {})", known_checks())).into());
        }
    }
    options.only = args.only.clone();
    options.skip = args.skip.clone();
    options.deny_warnings = args.deny_warnings;
    options.baseline = args.baseline.clone();
    // Caught before the audit runs, so a typo costs nothing. `--baseline` may be
    // overwritten on purpose (rolling the baseline forward): it is read before writing.
    let target = &args.target;
    let inputs = [Some(&args.model), target.sample.as_ref(), target.expected.as_ref(), target.config.as_ref(), target.reference.as_ref()];
    let outputs = sandbox::output::check(&args.output, &inputs.into_iter().flatten().collect::<Vec<_>>())?;
    let report = audit::run_audit(&options).map_err(UsageError)?;
    // Files first, then stdout: a closed stdout (`| head`) never costs a report file,
    // and never changes the exit code.
    let failed = sandbox::output::write(&outputs, |format| report::render(&report, format, args.verbose));
    let shown = stdout.write_all(&report::render(&report, args.format, args.verbose)).and_then(|()| stdout.flush());
    match shown {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty())
        && let Err(e) = append(&PathBuf::from(&summary), report::render_markdown(&report).as_bytes())
    {
        eprintln!("warning: could not write the GitHub step summary ({}): {e}", PathBuf::from(summary).display());
    }
    if let Some(error) = failed {
        return Err(error.into());
    }
    Ok(report.exit_code)
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared builders for unit tests.
    use crate::artifact::{Artifact, ArtifactFormat, OnnxInfo};

    /// A stand-in artifact for checks that do not look at the file.
    pub fn artifact() -> Artifact {
        Artifact {
            path: "model.onnx".into(),
            size_bytes: 10,
            sha256: "0".repeat(64),
            format: ArtifactFormat::Onnx,
            onnx: Ok(OnnxInfo::default()),
            pickle: None,
            external_data_problems: Vec::new(),
            domain: Default::default(),
            locales: Vec::new(),
            strings: Vec::new(),
        }
    }
}
