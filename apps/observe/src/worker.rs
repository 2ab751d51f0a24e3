//! A miner's and a verifier's metrics and status, from the snapshots their link loops publish
//! ([`MinerStatus`], [`VerifierStatus`]).
//!
//! Each observer samples its snapshot once a second on a task of its own (while the observer
//! lives) for the rate windows; everything else is read at the time of the request.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use ixi_link_worker::miner::MinerStatus;
use ixi_link_worker::verifier::{BATCH_SECONDS_BOUNDS, VerifierStatus};
use ixi_miner::scheduler::DeviceStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::http::Endpoint;
use crate::metrics::{self, Labels, label};
use crate::windows::{CounterRates, WINDOWS};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these are held; the data stays consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shares `observer` and calls `sample` on it each second while it lives (on the current tokio
/// runtime).
pub(crate) fn sampled_every_second<T: Send + Sync + 'static>(
    observer: T,
    sample: impl Fn(&T, Instant) + Send + 'static,
) -> Arc<T> {
    let observer = Arc::new(observer);
    let weak: Weak<T> = Arc::downgrade(&observer);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(observer) = weak.upgrade() else {
                return;
            };
            sample(&observer, Instant::now());
        }
    });
    observer
}

/// A connected miner's metrics and status.
#[derive(Debug)]
pub struct MinerObserver {
    status: watch::Receiver<MinerStatus>,
    rates: Mutex<MinerRates>,
}

#[derive(Debug, Default)]
struct MinerRates {
    total: CounterRates,
    /// Per device label; a miner's devices are fixed at its start.
    devices: BTreeMap<String, CounterRates>,
}

impl MinerObserver {
    /// Observes `status`; samples it each second on the current tokio runtime.
    #[must_use]
    pub fn start(status: watch::Receiver<MinerStatus>) -> Arc<Self> {
        let observer = Self {
            status,
            rates: Mutex::default(),
        };
        sampled_every_second(observer, Self::sample)
    }

    /// A connected miner's endpoint: observes `status` (see [`Self::start`]) and serves its
    /// `/v1/status` and metrics.
    #[must_use]
    pub fn endpoint(status: watch::Receiver<MinerStatus>) -> Endpoint {
        endpoint_of(Self::start(status), Self::status_json)
    }

    fn sample(&self, now: Instant) {
        let s = self.status.borrow().clone();
        let mut rates = lock(&self.rates);
        rates.total.record(now, s.attempts);
        for d in &s.devices {
            rates
                .devices
                .entry(d.device.clone())
                .or_default()
                .record(now, d.attempts);
        }
    }

    /// The miner's `/v1/status`: link state, rates, devices, counters.
    #[must_use]
    pub fn status_json(&self) -> Value {
        let s = self.status.borrow().clone();
        let rates = lock(&self.rates);
        let device = |d: &DeviceStats| {
            json!({
                "device": d.device,
                "backend": d.backend,
                "workers": d.workers,
                "attempts": d.attempts,
                "faults": d.faults,
                "hashRate": rates.devices.get(&d.device).map(CounterRates::json),
            })
        };
        json!({
            "role": "miner",
            "connected": s.connected,
            "blockHeight": s.block_height,
            "attempts": s.attempts,
            "hashRate": rates.total.json(),
            "devices": s.devices.iter().map(device).collect::<Vec<_>>(),
            "solutions": {
                "found": s.found,
                "accepted": s.accepted,
                "rejected": s.rejected,
                "bestAccepted": s.best_accepted.as_ref().map(ToString::to_string),
            },
            "lastMessage": s.last_message,
        })
    }
}

/// A worker's metric families (`Metrics<MinerObserver>`, `Metrics<VerifierObserver>`).
#[derive(Debug)]
pub struct Metrics<O>(pub Arc<O>);

/// An endpoint whose `/v1/status` is `status_json` of `observer` and whose metrics are
/// [`Metrics`] of it.
fn endpoint_of<O: Send + Sync + 'static>(observer: Arc<O>, status_json: fn(&O) -> Value) -> Endpoint
where
    Metrics<O>: Collector,
{
    let metrics = Metrics(Arc::clone(&observer));
    Endpoint::new(move || status_json(&observer)).collector(metrics)
}

impl Collector for Metrics<MinerObserver> {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        let s = self.0.status.borrow().clone();
        let rates = lock(&self.0.rates);
        metrics::counters(
            &mut e,
            "ixi_miner_attempts",
            "Attempts (double SHA3-512 of a nonce) per device since start.",
            s.devices
                .iter()
                .map(|d| (label("device", d.device.clone()), d.attempts)),
        )?;
        let mut hash_rates: Vec<(Labels, f64)> = Vec::new();
        for d in &s.devices {
            let r = rates
                .devices
                .get(&d.device)
                .map_or([0.0; 3], CounterRates::rates);
            for ((window, _), rate) in WINDOWS.iter().zip(r) {
                hash_rates.push((
                    vec![
                        ("device", d.device.clone()),
                        ("window", (*window).to_owned()),
                    ],
                    rate,
                ));
            }
        }
        metrics::gauges(
            &mut e,
            "ixi_miner_hashrate",
            "Attempts per second per device over the window (10s, 60s, 15m).",
            hash_rates,
        )?;
        metrics::counter(
            &mut e,
            "ixi_miner_solutions",
            "Solutions found (each better than the last of its block) since start.",
            s.found,
        )?;
        metrics::verdicts(
            &mut e,
            "ixi_miner_solution_verdicts",
            "The link's verdicts on this miner's solutions.",
            s.accepted,
            s.rejected,
        )?;
        metrics::counters(
            &mut e,
            "ixi_miner_device_faults",
            "Device faults per device (failed searches, results the CPU does not confirm).",
            s.devices
                .iter()
                .map(|d| (label("device", d.device.clone()), d.faults)),
        )?;
        metrics::gauge(
            &mut e,
            "ixi_miner_link_connected",
            "1 while a session with the link is up.",
            f64::from(u8::from(s.connected)),
        )
    }
}

/// A connected verifier's metrics and status.
#[derive(Debug)]
pub struct VerifierObserver {
    status: watch::Receiver<VerifierStatus>,
    rates: Mutex<CounterRates>,
}

impl VerifierObserver {
    /// Observes `status`; samples it each second on the current tokio runtime.
    #[must_use]
    pub fn start(status: watch::Receiver<VerifierStatus>) -> Arc<Self> {
        let observer = Self {
            status,
            rates: Mutex::default(),
        };
        sampled_every_second(observer, |o: &Self, now| {
            let verified = o.status.borrow().verified;
            lock(&o.rates).record(now, verified);
        })
    }

    /// A connected verifier's endpoint: observes `status` (see [`Self::start`]) and serves its
    /// `/v1/status` and metrics.
    #[must_use]
    pub fn endpoint(status: watch::Receiver<VerifierStatus>) -> Endpoint {
        endpoint_of(Self::start(status), Self::status_json)
    }

    /// The verifier's `/v1/status`: link state, rates, counters per key size, batch times.
    #[must_use]
    pub fn status_json(&self) -> Value {
        let s = self.status.borrow().clone();
        let mut cumulative = 0;
        let buckets: Vec<Value> = BATCH_SECONDS_BOUNDS
            .iter()
            .map(|b| json!(b))
            .chain(std::iter::once(json!("+Inf")))
            .zip(s.batch_seconds.counts)
            .map(|(le, n)| {
                cumulative += n;
                json!({"le": le, "count": cumulative})
            })
            .collect();
        json!({
            "role": "verifier",
            "connected": s.connected,
            "verified": s.verified,
            "valid": s.valid,
            "batches": s.batches,
            "lastBatchRate": s.rate,
            "perSecond": lock(&self.rates).json(),
            "byKeyBits": s.by_key_bits,
            "batchSeconds": {
                "count": s.batch_seconds.count,
                "sum": s.batch_seconds.sum,
                "buckets": buckets,
            },
            "lastMessage": s.last_message,
        })
    }
}

impl Collector for Metrics<VerifierObserver> {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        let s = self.0.status.borrow().clone();
        metrics::counters(
            &mut e,
            "ixi_verifier_verifications",
            "Signatures verified per key size (modulus bits; other, invalid) since start.",
            s.by_key_bits
                .iter()
                .map(|(bits, n)| (label("key_bits", *bits), *n)),
        )?;
        metrics::counter(
            &mut e,
            "ixi_verifier_valid",
            "Signatures found valid since start.",
            s.valid,
        )?;
        metrics::histogram(
            &mut e,
            "ixi_verifier_batch_seconds",
            "Seconds to verify one batch from the link.",
            &BATCH_SECONDS_BOUNDS,
            &s.batch_seconds.counts,
            s.batch_seconds.sum,
        )?;
        let rates = lock(&self.0.rates).rates();
        metrics::gauges(
            &mut e,
            "ixi_verifier_rate",
            "Signatures verified per second over the window (10s, 60s, 15m).",
            WINDOWS
                .iter()
                .zip(rates)
                .map(|((w, _), r)| (label("window", *w), r)),
        )?;
        metrics::gauge(
            &mut e,
            "ixi_verifier_link_connected",
            "1 while a session with the link is up.",
            f64::from(u8::from(s.connected)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Endpoint;

    /// One sample: its metric name, its labels (sorted) and its value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// `/metrics` through an independent parser: metric name → (labels, value).
    fn parse(text: &str) -> Vec<Sample> {
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
        scrape
            .samples
            .into_iter()
            .map(|s| {
                let value = match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    prometheus_parse::Value::Histogram(b) => b.last().map_or(f64::NAN, |b| b.count),
                    prometheus_parse::Value::Summary(_) => f64::NAN,
                };
                let mut labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                labels.sort();
                (s.metric, labels, value)
            })
            .collect()
    }

    fn find(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .unwrap_or_else(|| panic!("{name} {labels:?} not in {samples:?}"))
            .2
    }

    #[test]
    fn a_miners_snapshot_becomes_its_metric_families() {
        let status = MinerStatus {
            connected: true,
            attempts: 3000,
            found: 4,
            accepted: 3,
            rejected: 1,
            devices: vec![
                DeviceStats {
                    device: "cpu".into(),
                    backend: "avx512",
                    workers: 2,
                    attempts: 1000,
                    faults: 0,
                },
                DeviceStats {
                    device: "gpu0".into(),
                    backend: "wgpu",
                    workers: 1,
                    attempts: 2000,
                    faults: 2,
                },
            ],
            ..MinerStatus::default()
        };
        // A miner's devices are known from its start, with nothing counted yet.
        let mut started = status.clone();
        started.attempts = 0;
        for d in &mut started.devices {
            d.attempts = 0;
            d.faults = 0;
        }
        let (tx, rx) = watch::channel(started);
        let observer = Arc::new(MinerObserver {
            status: rx,
            rates: Mutex::default(),
        });
        // Two samples a second apart: 1000 and 2000 attempts per second.
        let t0 = Instant::now();
        observer.sample(t0);
        tx.send_replace(status);
        observer.sample(t0 + Duration::from_secs(1));
        let text = Endpoint::new(|| json!({}))
            .collector(Metrics(Arc::clone(&observer)))
            .metrics_text();
        let m = parse(&text);
        assert_eq!(
            find(&m, "ixi_miner_attempts_total", &[("device", "gpu0")]),
            2000.0
        );
        assert_eq!(
            find(&m, "ixi_miner_device_faults_total", &[("device", "gpu0")]),
            2.0
        );
        assert_eq!(
            find(&m, "ixi_miner_device_faults_total", &[("device", "cpu")]),
            0.0
        );
        for window in ["10s", "60s", "15m"] {
            let cpu = find(
                &m,
                "ixi_miner_hashrate",
                &[("device", "cpu"), ("window", window)],
            );
            let gpu = find(
                &m,
                "ixi_miner_hashrate",
                &[("device", "gpu0"), ("window", window)],
            );
            assert_eq!((cpu, gpu), (1000.0, 2000.0), "{window}");
        }
        assert_eq!(find(&m, "ixi_miner_solutions_total", &[]), 4.0);
        assert_eq!(
            find(
                &m,
                "ixi_miner_solution_verdicts_total",
                &[("verdict", "rejected")]
            ),
            1.0
        );
        assert!(find(&m, "process_start_time_seconds", &[]) > 1.6e9);
        let status = observer.status_json();
        assert_eq!(status["devices"][1]["hashRate"]["60s"], 2000.0);
        assert_eq!(status["hashRate"]["10s"], 3000.0);
    }

    #[test]
    fn a_verifiers_snapshot_becomes_its_metric_families() {
        let mut status = VerifierStatus {
            verified: 30,
            valid: 29,
            ..VerifierStatus::default()
        };
        status.by_key_bits.insert("2048", 20);
        status.by_key_bits.insert("4096", 10);
        status.batch_seconds.record(0.02);
        status.batch_seconds.record(0.4);
        status.batch_seconds.record(30.0);
        let (_tx, rx) = watch::channel(status);
        let observer = Arc::new(VerifierObserver {
            status: rx,
            rates: Mutex::default(),
        });
        let text = Endpoint::new(|| json!({}))
            .collector(Metrics(Arc::clone(&observer)))
            .metrics_text();
        let m = parse(&text);
        assert_eq!(
            find(
                &m,
                "ixi_verifier_verifications_total",
                &[("key_bits", "2048")]
            ),
            20.0
        );
        assert_eq!(
            find(
                &m,
                "ixi_verifier_verifications_total",
                &[("key_bits", "4096")]
            ),
            10.0
        );
        assert_eq!(find(&m, "ixi_verifier_batch_seconds", &[]), 3.0);
        assert_eq!(find(&m, "ixi_verifier_batch_seconds_count", &[]), 3.0);
        assert!((find(&m, "ixi_verifier_batch_seconds_sum", &[]) - 30.42).abs() < 1e-9);
        // Cumulative buckets in the text: at most 0.025 s one, at most 0.5 s two, all three.
        assert!(
            text.contains("ixi_verifier_batch_seconds_bucket{le=\"0.025\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ixi_verifier_batch_seconds_bucket{le=\"0.5\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("ixi_verifier_batch_seconds_bucket{le=\"+Inf\"} 3\n"),
            "{text}"
        );
        let status = observer.status_json();
        assert_eq!(status["byKeyBits"]["4096"], 10);
        assert_eq!(status["batchSeconds"]["buckets"][10]["count"], 3);
    }
}
