//! Command-line interface: flags, subcommands and their help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  ready: every deny-level check passed (warnings allowed unless --deny-warnings)
  1  not ready: at least one deny-level check failed
  2  ready could not run: bad flag, unreadable model, sample or config, no ONNX Runtime";

/// Tells whether an ONNX model artifact is fit to ship.
#[derive(Debug, Parser)]
#[command(name = "ready", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Path to libonnxruntime (.so/.dylib/.dll). Searched otherwise: ORT_DYLIB_PATH, the active
    /// Python's onnxruntime package, then system library paths.
    #[arg(long, global = true, value_name = "PATH")]
    pub ort_lib: Option<PathBuf>,

    /// No progress bars on stderr.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a model: load it through ONNX Runtime and run every check.
    #[command(after_help = EXIT_CODES)]
    Audit(AuditArgs),
    /// Write (or --check) the "Operational Constraints" section of a README from a fresh audit.
    #[command(after_help = "Exit codes:\n  0  written, or --check found the section still true\n  \
                            1  --check: the section is missing or no longer true\n  2  ready could not run")]
    Readme(ReadmeArgs),
    /// Write a commented starter audit config from a model's own inputs.
    Init(InitArgs),
    /// List the checks with one-line descriptions.
    Checks,
    /// Explain a check: what it verifies, why it matters, how to fix a failure.
    Explain {
        /// Check id, as listed by `ready checks`.
        check: String,
    },
    /// Profile training data (CSV, Parquet) into a reference JSON for `--reference`.
    Profile(ProfileArgs),
    /// Internal: runs one negative probe (a job on stdin) for the robustness checks.
    #[command(name = "__probe", hide = true)]
    Probe,
}

/// How to audit: shared by `audit` and `readme`.
#[derive(Debug, Args)]
pub struct Target {
    /// Sample rows (.csv, .parquet, .json or .ndjson) to check the input schema against, or an
    /// ONNX test data set folder (input_0.pb, ...) for tensor models.
    #[arg(long, value_name = "FILE")]
    pub sample: Option<PathBuf>,

    /// Reference outputs for golden parity: a CSV/Parquet/JSON file with one row per sample row,
    /// or an ONNX test data set folder (output_0.pb, ...; its input_*.pb serve as the sample
    /// when --sample is not given).
    #[arg(long, value_name = "FILE|DIR")]
    pub expected: Option<PathBuf>,

    /// Training reference for the drift check: training rows (.csv, .parquet; only the model's
    /// columns are read) or a profile written by `ready profile` (.json).
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,

    /// Audit configuration (YAML). Default: the built-in defaults, as in audits/default.yaml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder whose lockfiles are checked. Default: the model's folder.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Kubernetes manifests or Dockerfiles for the deployment check, a file or a folder
    /// (repeatable); --project is searched too.
    #[arg(long, value_name = "PATH")]
    pub deploy: Vec<PathBuf>,

    /// Installed Python environment to compare the locks with (a venv, a conda prefix or a
    /// site-packages folder; read as files, Python is never run). Default: $VIRTUAL_ENV, then
    /// $CONDA_PREFIX, then the project's .venv. `--env none`: compare with no environment.
    #[arg(long, value_name = "DIR")]
    pub env: Option<PathBuf>,
}

/// `ready audit` flags.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The model file (.onnx). Pickle-based files are reported, never loaded.
    pub model: PathBuf,

    #[command(flatten)]
    pub target: Target,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,

    /// Also write the report to FILE, in the format its extension names (.json, .xml for JUnit,
    /// .md for Markdown, .sarif for SARIF, .txt for the table). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub output: Vec<PathBuf>,

    /// Compare with an earlier JSON report: latency regressions fail, schema changes warn.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Make these checks deny-level (overrides the config). Repeatable or comma-separated.
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub deny: Vec<String>,

    /// Make these checks warn-level (a failure warns).
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub warn: Vec<String>,

    /// Allow these checks (not run).
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub allow: Vec<String>,

    /// Run only these checks.
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub only: Vec<String>,

    /// Do not run these checks.
    #[arg(long, value_name = "CHECK", value_delimiter = ',')]
    pub skip: Vec<String>,

    /// Count warnings as failures for the exit code.
    #[arg(long)]
    pub deny_warnings: bool,

    /// Show every detail line under the table, not only those of warnings and failures.
    #[arg(long, short)]
    pub verbose: bool,
}

/// `ready readme` flags.
#[derive(Debug, Args)]
pub struct ReadmeArgs {
    /// The README to write into (between ready's markers) or to check.
    pub readme: PathBuf,

    /// The model to audit (not needed with --report).
    #[arg(required_unless_present = "report")]
    pub model: Option<PathBuf>,

    #[command(flatten)]
    pub target: Target,

    /// Use this JSON report instead of running a fresh audit.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Do not write: exit 1 when the section is missing or no longer matches the audit
    /// within the config's `readme` tolerances.
    #[arg(long)]
    pub check: bool,
}

/// `ready init` flags.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The model whose inputs the starter config describes.
    pub model: PathBuf,

    /// Where to write the config.
    #[arg(long, value_name = "FILE", default_value = "audits/ready.yaml")]
    pub output: PathBuf,

    /// A sample file (CSV, Parquet, JSON) whose header gives the column order of a single 2-D
    /// input without feature names: written as `checks.schema_parity.feature_names`.
    #[arg(long, value_name = "FILE")]
    pub sample: Option<PathBuf>,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,

    /// Instead of writing a config: measure the model (cold start, peak memory, latency; with
    /// --sample's rows when given) and print a ready-to-paste Kubernetes container block
    /// (`resources:`, `startupProbe:`, `readinessProbe:`) on stdout.
    #[arg(long, conflicts_with_all = ["output", "force"])]
    pub deploy: bool,

    /// With --deploy: the audit configuration to measure with (runtime threads, latency runs).
    #[arg(long, value_name = "FILE", requires = "deploy")]
    pub config: Option<PathBuf>,
}

/// `ready profile` flags.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// Training rows (.csv or .parquet).
    pub data: PathBuf,

    /// Where to write the profile (JSON).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,

    /// Profile only these columns (comma-separated); default: every column.
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    pub columns: Vec<String>,

    /// Quantile bins for numeric PSI.
    #[arg(long, default_value_t = 10)]
    pub bins: usize,

    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}
