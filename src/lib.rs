//! `ready`: audits an ML model artifact and says whether it is fit to ship.
//!
//! The binary is a thin shell over [`run`]: it parses the command line, calls `run`, prints
//! the error chain and maps the result to an exit code (0 ready, 1 not ready, 2 could not run).

pub mod artifact;
pub mod audit;
pub mod checks;
pub mod cli;
pub mod config;
pub mod progress;
pub mod report;
pub mod runtime;
pub mod sample;
pub mod stats;

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
    let mut stdout = std::io::stdout().lock();
    match cli.command {
        Command::Checks => {
            for check in checks::REGISTRY {
                writeln!(stdout, "{:<15} {}", check.id(), check.description())?;
            }
            Ok(0)
        }
        Command::Explain { check } => {
            let found = checks::find(&check).ok_or_else(|| {
                let known: Vec<&str> = checks::REGISTRY.iter().map(|c| c.id()).collect();
                UsageError(format!("unknown check '{check}' (known: {})", known.join(", ")))
            })?;
            writeln!(stdout, "{}: {}\n\n{}", found.id(), found.description(), found.explanation())?;
            Ok(0)
        }
        Command::Audit(args) => {
            let config = match &args.config {
                Some(path) => Config::load(path).map_err(UsageError)?,
                None => Config::default(),
            };
            let options = audit::AuditOptions {
                model: args.model,
                sample: args.sample,
                config,
                config_path: args.config,
                project: args.project,
                ort_lib: cli.ort_lib,
                ort_env: std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()).map(PathBuf::from),
                show_progress: !cli.quiet && std::io::stderr().is_terminal(),
            };
            let report = audit::run_audit(&options).map_err(UsageError)?;
            stdout.write_all(&report::render(&report, args.format, args.verbose))?;
            stdout.flush()?;
            Ok(report.exit_code)
        }
    }
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
        }
    }
}
