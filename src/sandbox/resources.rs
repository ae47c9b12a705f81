//! Resources of ready's own process (file descriptors, memory, processes and threads): a
//! shortage is ready's environment failing, exit code 2, never a failed check on the model.
//!
//! Errors are classified by their OS error number, never by message text.

use std::io;

/// File descriptors an audit may hold at once, with headroom: the runtime library, the model,
/// the sample, three pipes per probe child, the lockfiles. An audit uses about a dozen.
pub const MIN_OPEN_FILES: u64 = 64;

/// What ready's own process ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortage {
    /// EMFILE: the process's open-file limit (`ulimit -n`).
    OpenFiles,
    /// ENFILE: the system-wide open-file table.
    SystemOpenFiles,
    /// ENOMEM.
    Memory,
    /// EAGAIN from fork or thread creation: the process or thread limit (`ulimit -u`).
    ProcessesOrThreads,
}

impl Shortage {
    /// The OS error's shortage, if it is one (`None` for every other error).
    pub fn of(error: &io::Error) -> Option<Self> {
        match error.raw_os_error()? {
            libc::EMFILE => Some(Self::OpenFiles),
            libc::ENFILE => Some(Self::SystemOpenFiles),
            libc::ENOMEM => Some(Self::Memory),
            libc::EAGAIN => Some(Self::ProcessesOrThreads),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::OpenFiles => "too many open files",
            Self::SystemOpenFiles => "too many open files in the system",
            Self::Memory => "out of memory",
            Self::ProcessesOrThreads => "too many processes or threads",
        }
    }
}

/// ready itself could not run: one line, exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ready could not run: {}: {doing}", .shortage.label())]
pub struct ResourceError {
    pub shortage: Shortage,
    /// What ready was doing, and the OS error.
    pub doing: String,
}

impl ResourceError {
    /// A resource error for `error` met while `doing` something, if `error` is one.
    pub fn classify(error: &io::Error, doing: &str) -> Option<Self> {
        Shortage::of(error).map(|shortage| Self { shortage, doing: format!("{doing} ({error})") })
    }
}

/// Makes sure the process may open [`MIN_OPEN_FILES`] files: raises the soft limit up to the
/// hard limit when it is lower (as Go programs do at start), and refuses to run when the hard
/// limit itself is lower, instead of letting the model's checks fail on EMFILE.
#[cfg(unix)]
pub fn ensure_open_files() -> Result<(), ResourceError> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Ok(()); // no limit to read: nothing to enforce
    }
    #[allow(clippy::unnecessary_cast, reason = "rlim_t is narrower than u64 on some platforms")]
    let (soft, hard) = (limit.rlim_cur as u64, limit.rlim_max as u64);
    if soft >= MIN_OPEN_FILES {
        return Ok(());
    }
    let refused = |now: u64| ResourceError {
        shortage: Shortage::OpenFiles,
        doing: format!("the open-file limit (ulimit -n) is {now}, and an audit needs {MIN_OPEN_FILES}; raise it"),
    };
    if hard < MIN_OPEN_FILES {
        return Err(refused(hard));
    }
    let raised = libc::rlimit { rlim_cur: hard.min(1024) as libc::rlim_t, rlim_max: limit.rlim_max };
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(refused(soft));
    }
    Ok(())
}

/// Elsewhere the open-file limit is not read.
#[cfg(not(unix))]
pub fn ensure_open_files() -> Result<(), ResourceError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortages_are_read_from_the_os_error_number() {
        for (errno, shortage) in [
            (libc::EMFILE, Shortage::OpenFiles),
            (libc::ENFILE, Shortage::SystemOpenFiles),
            (libc::ENOMEM, Shortage::Memory),
            (libc::EAGAIN, Shortage::ProcessesOrThreads),
        ] {
            assert_eq!(Shortage::of(&io::Error::from_raw_os_error(errno)), Some(shortage));
        }
        assert_eq!(Shortage::of(&io::Error::from_raw_os_error(libc::ENOENT)), None);
        // Text that looks like a shortage is not one.
        assert_eq!(Shortage::of(&io::Error::other("Too many open files")), None);
    }

    #[test]
    fn a_resource_error_is_one_line_naming_the_shortage_and_the_work() {
        let error = ResourceError::classify(&io::Error::from_raw_os_error(libc::EMFILE), "starting the probe process").unwrap();
        assert_eq!(error.to_string(), "ready could not run: too many open files: starting the probe process (Too many open files (os error 24))");
    }
}
