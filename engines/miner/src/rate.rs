//! Rate windows over a counter sampled about once a second, and human-readable rates.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Samples of a monotonic attempt counter, kept for the longest window.
#[derive(Debug)]
pub struct RateMeter {
    samples: VecDeque<(Instant, u64)>,
    keep: Duration,
}

impl RateMeter {
    /// A meter keeping samples for windows up to `keep`.
    #[must_use]
    pub fn new(keep: Duration) -> Self {
        Self {
            samples: VecDeque::new(),
            keep,
        }
    }

    /// Records the counter's value at `now`.
    pub fn record(&mut self, now: Instant, total: u64) {
        self.samples.push_back((now, total));
        while let Some(&(t, _)) = self.samples.front() {
            if now.duration_since(t) > self.keep + Duration::from_secs(1) {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Attempts per second over the last `window` (or as much of it as has been seen).
    #[must_use]
    pub fn rate(&self, window: Duration) -> f64 {
        let Some(&(now, last)) = self.samples.back() else {
            return 0.0;
        };
        let first = self
            .samples
            .iter()
            .find(|(t, _)| now.duration_since(*t) <= window)
            .copied();
        match first {
            Some((t, a)) if now > t => {
                // Counts stay far below 2^53: exact in f64.
                #[allow(clippy::cast_precision_loss)]
                let done = (last - a) as f64;
                done / now.duration_since(t).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// `1234567.0` → `"1.23 M"`.
#[must_use]
pub fn human(rate: f64) -> String {
    if rate >= 1e9 {
        format!("{:.2} G", rate / 1e9)
    } else if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else if rate >= 1e3 {
        format!("{:.2} k", rate / 1e3)
    } else {
        format!("{rate:.0} ")
    }
}
