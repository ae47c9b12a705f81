//! The `ready` binary: parse, run, print the error chain, exit 0/1/2.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`, before any thread exists.
    unsafe { ready::runtime::disable_telemetry() };
    // A panic is a bug in ready: say so in one line instead of a backtrace, and exit 2.
    std::panic::set_hook(Box::new(|info| {
        if ready::guard::guarded() {
            return; // a parser's panic, caught and turned into an error for its file
        }
        let message = ready::guard::panic_message(info.payload()).unwrap_or_default();
        let location = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error in ready{location}: {message} (please report this bug)");
    }));
    // Past a file size limit (`ulimit -f`), a write fails with an error ready reports (exit 2)
    // instead of the default SIGXFSZ killing the process mid-write.
    #[cfg(unix)]
    // SAFETY: setting a signal to SIG_IGN before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let cli = ready::cli::Cli::parse();
    match std::panic::catch_unwind(|| ready::run(cli)) {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(error)) => {
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            // One line, always: a message that quotes user input may carry a newline.
            // ...and inert: a name from a model or a sample may carry escape sequences.
            let message = ready::report::escape::terminal(&format!("{error:#}"));
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
