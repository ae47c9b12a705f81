//! Progress bars on stderr for long runs. A bar appears only after a run has taken a second,
//! only when enabled (not `--quiet`), and indicatif hides it when stderr is not a terminal.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that stays invisible for short runs.
pub struct Progress {
    bar: ProgressBar,
    started: Instant,
    enabled: bool,
    shown: bool,
}

impl Progress {
    /// A bar over `total` steps, labelled `label`; never drawn when `enabled` is false.
    pub fn new(total: u64, label: &str, enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.to_string());
        Self { bar, started: Instant::now(), enabled, shown: false }
    }

    /// Advances by one step, revealing the bar once the run has lasted a second.
    pub fn tick(&mut self) {
        self.bar.inc(1);
        if self.enabled && !self.shown && self.started.elapsed() > Duration::from_secs(1) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
