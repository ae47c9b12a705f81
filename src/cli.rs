//! Command-line interface: flags, subcommands and their help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::Format;

const EXIT_CODES: &str = "\
Exit codes:
  0  ready: every deny-level check passed (warnings allowed)
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
    /// List the checks with one-line descriptions.
    Checks,
    /// Explain a check: what it verifies, why it matters, how to fix a failure.
    Explain {
        /// Check id, as listed by `ready checks`.
        check: String,
    },
}

/// `ready audit` flags.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The model file (.onnx). Pickle-based files are reported, never loaded.
    pub model: PathBuf,

    /// Sample rows (.csv, .parquet, .json or .ndjson) to check the input schema against.
    #[arg(long, value_name = "FILE")]
    pub sample: Option<PathBuf>,

    /// Audit configuration (YAML). Default: the built-in defaults, as in audits/default.yaml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Folder whose lockfiles are checked. Default: the model's folder.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,

    /// Show every detail line under the table, not only those of warnings and failures.
    #[arg(long, short)]
    pub verbose: bool,
}
