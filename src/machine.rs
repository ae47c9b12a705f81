//! The machine an audit ran on (so numbers from a laptop and from CI can be told apart) and the
//! process's peak resident memory.

use serde::{Deserialize, Serialize};

/// A description of the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    pub os: String,
    pub arch: String,
    pub cpu: String,
    pub logical_cores: usize,
}

impl Machine {
    /// Reads the current machine.
    pub fn current() -> Self {
        Self {
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            cpu: cpu_model().unwrap_or_else(|| "unknown CPU".to_string()),
            logical_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// One line: `Intel Xeon ... (2 logical cores), linux x86_64`.
    pub fn describe(&self) -> String {
        format!("{} ({} logical cores), {} {}", self.cpu, self.logical_cores, self.os, self.arch)
    }
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name") || l.starts_with("Model") || l.starts_with("Hardware"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// The peak resident set size of this process so far, in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    // SAFETY: getrusage writes into the struct we pass and has no other effect.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let max = u64::try_from(usage.ru_maxrss).ok()?;
    // Linux reports kilobytes, macOS bytes.
    Some(if cfg!(target_os = "macos") { max } else { max * 1024 })
}

/// Memory this process could still be given, in bytes: `MemAvailable` from `/proc/meminfo`, or
/// its cgroup's memory limit when that is less (a container on a large host). `None` when
/// neither is known (not Linux).
pub fn available_memory_bytes() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| mem_available(&t));
    meminfo.into_iter().chain(cgroup_limit()).min()
}

/// `MemAvailable:` of a `/proc/meminfo` text, in bytes.
fn mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// The memory limit of this process's cgroup (v2 `memory.max`, else v1 `memory.limit_in_bytes`);
/// `None` when unlimited (`max`) or unknown.
fn cgroup_limit() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok();
    let v2_path = own.as_deref().and_then(|t| t.lines().find_map(|l| l.strip_prefix("0::"))).unwrap_or("/").trim_end_matches('/').to_string();
    let candidates =
        [format!("/sys/fs/cgroup{v2_path}/memory.max"), "/sys/fs/cgroup/memory.max".into(), "/sys/fs/cgroup/memory/memory.limit_in_bytes".into()];
    candidates.iter().find_map(|path| std::fs::read_to_string(path).ok()).and_then(|t| t.trim().parse().ok())
}

/// The resident set size of this process now, in bytes (Linux: `/proc/self/statm`; `None`
/// elsewhere).
pub fn current_rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf takes no pointers.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    Some(pages * page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_memory_grows_with_a_large_allocation() {
        // Other tests share the process: allocate (and touch) more than the peak so far.
        let before = peak_rss_bytes().unwrap();
        let block = vec![1u8; before as usize + (64 << 20)];
        std::hint::black_box(&block);
        let after = peak_rss_bytes().unwrap();
        assert!(after >= before + (32 << 20), "before {before}, after {after}");
    }

    #[test]
    fn the_machine_is_described() {
        let machine = Machine::current();
        assert!(machine.logical_cores >= 1);
        assert!(machine.describe().contains(std::env::consts::ARCH));
    }

    #[test]
    fn mem_available_is_read_in_bytes() {
        let meminfo = "MemTotal:       24000000 kB\nMemFree:         1000000 kB\nMemAvailable:    7000000 kB\n";
        assert_eq!(mem_available(meminfo), Some(7_000_000 * 1024));
        assert_eq!(mem_available("MemTotal: 1 kB\n"), None);
    }
}
