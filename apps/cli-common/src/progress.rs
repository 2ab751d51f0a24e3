//! Progress bars on a terminal (stderr), and nothing at all when stderr is not one: a piped or
//! logged run gets no bar, no carriage returns, no escape codes.

use std::io::IsTerminal as _;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps drawn with `template` (indicatif's syntax), or `None` when stderr is
/// not a terminal.
#[must_use]
pub fn bar(len: u64, template: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// Steps of a measurement (a benchmark's rounds): a bar on a terminal, silence otherwise.
#[derive(Debug)]
pub struct Steps(Option<ProgressBar>);

impl Steps {
    /// `len` steps.
    #[must_use]
    pub fn new(len: u64) -> Self {
        Self(bar(len, "{bar:40} {pos}/{len} {msg}  ETA {eta}"))
    }

    /// Starts a step: says what is measured now.
    pub fn start(&self, what: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(what.to_owned());
        }
    }

    /// Ends a step.
    pub fn done(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Removes the bar (before the results are printed).
    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Steps {
    fn drop(&mut self) {
        self.finish();
    }
}

/// A device's first-use tuning: one bar per device, each removed when its tuning is done.
#[derive(Debug, Default)]
pub struct TuneBars {
    current: Option<(String, ProgressBar)>,
}

impl TuneBars {
    /// `done` of `total` steps of tuning `device`.
    pub fn step(&mut self, device: &str, done: u64, total: u64) {
        if self.current.as_ref().is_none_or(|(d, _)| d != device) {
            self.finish();
            self.current = bar(total, "tuning {msg} {bar:30} {pos}/{len}").map(|b| {
                b.set_message(device.to_owned());
                (device.to_owned(), b)
            });
        }
        if let Some((_, bar)) = &self.current {
            bar.set_position(done);
        }
        if done >= total {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for TuneBars {
    fn drop(&mut self) {
        self.finish();
    }
}
