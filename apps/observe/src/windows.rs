//! Rates over 10 s, 60 s and 15 min from a counter sampled about once a second.

use std::time::{Duration, Instant};

use ixi_miner::rate::RateMeter;
use serde_json::{Value, json};

/// The rate windows every status and metric reports, with their labels.
pub const WINDOWS: [(&str, Duration); 3] = [
    ("10s", Duration::from_secs(10)),
    ("60s", Duration::from_secs(60)),
    ("15m", Duration::from_secs(15 * 60)),
];

/// A counter's rates: samples are kept for the longest window (about 900 at one a second).
#[derive(Debug)]
pub struct CounterRates {
    meter: RateMeter,
    last: Option<u64>,
}

impl Default for CounterRates {
    fn default() -> Self {
        Self {
            meter: RateMeter::new(WINDOWS[2].1),
            last: None,
        }
    }
}

impl CounterRates {
    /// Records the counter's value at `now`. A value below the last one (a worker that
    /// restarted and counts from 0 again) starts the windows over.
    pub fn record(&mut self, now: Instant, total: u64) {
        if self.last.is_some_and(|last| total < last) {
            *self = Self::default();
        }
        self.last = Some(total);
        self.meter.record(now, total);
    }

    /// Per second over each of [`WINDOWS`] (or as much of it as has been seen).
    #[must_use]
    pub fn rates(&self) -> [f64; 3] {
        WINDOWS.map(|(_, w)| self.meter.rate(w))
    }

    /// `{"10s": r, "60s": r, "15m": r}`.
    #[must_use]
    pub fn json(&self) -> Value {
        rates_json(self.rates())
    }
}

/// `{"10s": r, "60s": r, "15m": r}` of three rates in the order of [`WINDOWS`].
#[must_use]
pub fn rates_json(rates: [f64; 3]) -> Value {
    let mut map = serde_json::Map::new();
    for ((label, _), rate) in WINDOWS.iter().zip(rates) {
        map.insert((*label).to_owned(), json!(rate));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_follow_the_counter_and_a_restart_starts_over() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut r = CounterRates::default();
        // 100 per second for 20 s, then 300 per second for 10 s.
        for s in 0..=20 {
            r.record(at(s), s * 100);
        }
        for s in 21..=30 {
            r.record(at(s), 2000 + (s - 20) * 300);
        }
        let [ten, sixty, fifteen] = r.rates();
        assert!((ten - 300.0).abs() < 1e-9, "{ten}");
        // 30 s seen: (5000 - 0) / 30.
        assert!((sixty - 5000.0 / 30.0).abs() < 1e-9, "{sixty}");
        assert!((fifteen - sixty).abs() < 1e-9);
        // The worker restarted: its count fell; the old samples would make a negative rate.
        r.record(at(31), 50);
        r.record(at(32), 150);
        assert_eq!(r.rates(), [100.0; 3]);
        assert_eq!(r.json()["15m"], 100.0);
    }
}
