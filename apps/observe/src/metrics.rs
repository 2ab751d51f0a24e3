//! Metric families written at scrape time from snapshots, and the process's start time.
//!
//! A [`prometheus_client::collector::Collector`] gets a descriptor encoder on each scrape;
//! these helpers write one family each: a name, a help text, and its samples with their
//! labels. Counter names are given without `_total`: the encoder adds it.

use std::fmt;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Label pairs of one sample.
pub type Labels = Vec<(&'static str, String)>;

/// A gauge without labels.
///
/// # Errors
/// The writer's error.
pub fn gauge(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: f64) -> fmt::Result {
    single(e, name, help, ConstGauge::new(value))
}

/// A gauge family: one sample per label set.
///
/// # Errors
/// The writer's error.
pub fn gauges(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Labels, f64)>,
) -> fmt::Result {
    let samples = samples.into_iter().map(|(l, v)| (l, ConstGauge::new(v)));
    family(e, name, help, MetricType::Gauge, samples)
}

/// A counter without labels (`name` without `_total`).
///
/// # Errors
/// The writer's error.
pub fn counter(e: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    single(e, name, help, ConstCounter::new(value))
}

/// A counter family (`name` without `_total`).
///
/// # Errors
/// The writer's error.
pub fn counters(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Labels, u64)>,
) -> fmt::Result {
    let samples = samples.into_iter().map(|(l, v)| (l, ConstCounter::new(v)));
    family(e, name, help, MetricType::Counter, samples)
}

/// The link's verdicts on solutions: a counter family labelled `verdict` (`accepted`,
/// `rejected`).
///
/// # Errors
/// The writer's error.
pub fn verdicts(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    accepted: u64,
    rejected: u64,
) -> fmt::Result {
    counters(
        e,
        name,
        help,
        [
            (label("verdict", "accepted"), accepted),
            (label("verdict", "rejected"), rejected),
        ],
    )
}

/// One metric without labels.
fn single(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric: impl EncodeMetric,
) -> fmt::Result {
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// A family of `kind`: one sample per label set.
fn family<M: EncodeMetric>(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels, M)>,
) -> fmt::Result {
    let mut family = e.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in samples {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// A histogram without labels: `counts[i]` observations in bucket `i` (not cumulative), whose
/// upper bounds are `bounds` and then +Inf.
///
/// # Errors
/// The writer's error.
pub fn histogram(
    e: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    bounds: &[f64],
    counts: &[u64],
    sum: f64,
) -> fmt::Result {
    let mut metric = e.encode_descriptor(name, help, None, MetricType::Histogram)?;
    let buckets: Vec<(f64, u64)> = bounds
        .iter()
        .copied()
        .chain(std::iter::once(f64::INFINITY))
        .zip(counts.iter().copied())
        .collect();
    let count = counts.iter().sum();
    metric.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
}

/// One label pair.
#[must_use]
pub fn label(key: &'static str, value: impl Into<String>) -> Labels {
    vec![(key, value.into())]
}

static START: OnceLock<f64> = OnceLock::new();

/// Seconds since the Unix epoch now.
#[must_use]
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Records this moment as the process's start (the first call wins; call it first thing in
/// `main`). An endpoint made without it takes its own creation as the start.
pub fn note_process_start() -> f64 {
    *START.get_or_init(unix_now)
}

/// `process_start_time_seconds`, the standard gauge (Unix time).
#[derive(Debug)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        gauge(
            &mut e,
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds.",
            note_process_start(),
        )
    }
}
