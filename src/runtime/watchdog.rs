//! A time limit on inference calls in ready's own process: one thread per runner that waits
//! for the armed deadline and, when it passes, calls an `on_expire` action (the runner asks
//! ONNX Runtime to terminate the run). Arming and disarming cost a lock, no thread start, so
//! the latency harness can arm it around every timed run.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    /// The deadline of the current call, if one is armed.
    deadline: Option<Instant>,
    /// The deadline the thread sleeps until (`None`: it sleeps until notified).
    sleeping_until: Option<Instant>,
    /// `on_expire` ran for the current call.
    fired: bool,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// Calls `on_expire` when an armed deadline passes before [`Watchdog::disarm`].
pub struct Watchdog {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Watchdog {
    /// Starts the watchdog thread. `on_expire` runs on it, with the watchdog's lock held.
    pub fn start(on_expire: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let shared: Shared = Arc::default();
        let theirs = Arc::clone(&shared);
        let thread = std::thread::Builder::new().name("ready-watchdog".into()).spawn(move || watch(&theirs, on_expire))?;
        Ok(Self { shared, thread: Some(thread) })
    }

    /// Arms the deadline `limit` from now. Returns whether the previous call's action fired
    /// (the caller resets what `on_expire` did before the next call).
    pub fn arm(&self, limit: Duration) -> bool {
        let mut state = lock(&self.shared);
        let deadline = Instant::now() + limit;
        let fired = std::mem::take(&mut state.fired);
        state.deadline = Some(deadline);
        // Wake the thread only when it sleeps past the new deadline (or without one).
        if state.sleeping_until.is_none_or(|until| until > deadline) {
            self.shared.1.notify_one();
        }
        fired
    }

    /// Disarms the deadline; returns whether it passed (and `on_expire` ran) during the call.
    pub fn disarm(&self) -> bool {
        let mut state = lock(&self.shared);
        state.deadline = None;
        state.fired
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.1.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn watch(shared: &Shared, on_expire: impl Fn()) {
    let mut state = lock(shared);
    loop {
        if state.stop {
            return;
        }
        let now = Instant::now();
        match state.deadline {
            Some(deadline) if deadline <= now => {
                state.deadline = None;
                state.fired = true;
                on_expire();
            }
            Some(deadline) => {
                state.sleeping_until = Some(deadline);
                state = shared.1.wait_timeout(state, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
            }
            None => {
                state.sleeping_until = None;
                state = shared.1.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn fires_once_when_the_deadline_passes_and_not_when_disarmed_in_time() {
        let count = Arc::new(AtomicUsize::new(0));
        let theirs = Arc::clone(&count);
        let watchdog = Watchdog::start(move || {
            theirs.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        assert!(!watchdog.arm(Duration::from_secs(60)));
        assert!(!watchdog.disarm());
        watchdog.arm(Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(200));
        assert!(watchdog.disarm());
        assert_eq!(count.load(Ordering::SeqCst), 1);
        // The next call starts clean and reports that the previous one fired.
        assert!(watchdog.arm(Duration::from_secs(60)));
        assert!(!watchdog.disarm());
        assert_eq!(count.load(Ordering::SeqCst), 1);
    }
}
