//! A verifier working for an `ixi-link`: batches in, one verdict per item out.
//!
//! Batches are verified in arrival order on a thread of their own, so the link session keeps
//! its heartbeats while a large batch runs. A key that does not parse makes its items invalid
//! (as the reference rejects a signature under a malformed key); every item gets a verdict.
//! The rate sent to the link is measured on the verification work itself, which is what the
//! link sizes batches by.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ixi_link_proto::{Message, Role, Stats, VerifyBatch, VerifyItem, VerifyResult};
use ixi_link_transport::Identity;
use ixi_verifier::KeyCache;
use ixi_verifier::backend::VerifyBackend;
use tokio::sync::{mpsc, watch};

use crate::client::{LinkStatus, LinkUpdate, WorkerOptions, spawn_worker};

/// What a connected verifier has done, for status lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifierStatus {
    /// Whether a session is up.
    pub connected: bool,
    /// Signatures verified since start.
    pub verified: u64,
    /// Of those, valid.
    pub valid: u64,
    /// Batches answered.
    pub batches: u64,
    /// Verifications per second of compute time, last batch.
    pub rate: f64,
    /// The last thing worth telling the operator.
    pub last_message: String,
    /// Signatures verified per key size: see [`key_size_label`].
    pub by_key_bits: BTreeMap<&'static str, u64>,
    /// How long the batches took.
    pub batch_seconds: BatchSeconds,
}

impl LinkStatus for VerifierStatus {
    fn link_fields(&mut self) -> (&mut bool, &mut String) {
        (&mut self.connected, &mut self.last_message)
    }
}

/// Upper bounds of the batch-duration buckets, in seconds (the link sizes a batch to about half
/// a second of a verifier's rate).
pub const BATCH_SECONDS_BOUNDS: [f64; 10] =
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Batch durations as a histogram.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSeconds {
    /// `counts[i]`: batches that took more than `BATCH_SECONDS_BOUNDS[i - 1]` and at most
    /// `BATCH_SECONDS_BOUNDS[i]`; the last element counts those above every bound.
    pub counts: [u64; BATCH_SECONDS_BOUNDS.len() + 1],
    /// Seconds, summed.
    pub sum: f64,
    /// Batches.
    pub count: u64,
}

impl BatchSeconds {
    /// Counts one batch of `seconds`.
    pub fn record(&mut self, seconds: f64) {
        let bucket = BATCH_SECONDS_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BATCH_SECONDS_BOUNDS.len());
        self.counts[bucket] += 1;
        self.sum += seconds;
        self.count += 1;
    }
}

/// The label of a key size: its modulus bits when they are a standard size (`1024`, `2048`,
/// `3072`, `4096`, `8192`), `other` for any other size, `invalid` for a key that does not parse
/// (its signatures are invalid). A bounded set, whatever keys the link sends.
#[must_use]
pub fn key_size_label(bits: Option<usize>) -> &'static str {
    match bits {
        Some(1024) => "1024",
        Some(2048) => "2048",
        Some(3072) => "3072",
        Some(4096) => "4096",
        Some(8192) => "8192",
        Some(_) => "other",
        None => "invalid",
    }
}

/// One verified batch, from the verifying thread.
struct Verified {
    batch_id: u64,
    verdicts: Vec<bool>,
    took: Duration,
    key_sizes: BTreeMap<&'static str, u64>,
}

/// Verifies one batch from the link: one verdict per item, in order.
#[must_use]
pub fn verify_items(
    items: &[VerifyItem],
    cache: &KeyCache,
    backend: &dyn VerifyBackend,
) -> Vec<bool> {
    let keyed: Vec<(&[u8], &[u8], &[u8])> = items
        .iter()
        .map(|i| (&i.key[..], &i.message[..], &i.signature[..]))
        .collect();
    cache.verdicts(&keyed, backend)
}

/// Runs `backend` for the link in `options` until `shutdown` turns true.
pub async fn run(
    identity: Identity,
    mut options: WorkerOptions,
    backend: Arc<dyn VerifyBackend>,
    mut shutdown: watch::Receiver<bool>,
    status: watch::Sender<VerifierStatus>,
) {
    options.role = Role::Verifier;
    options.backends = vec![backend.name().to_owned()];
    let mut link = spawn_worker(identity, options);

    // Batches go to one verifying thread, in order; verdicts come back with the compute time.
    let (batches_tx, batches_rx) = std::sync::mpsc::channel::<(u64, Vec<VerifyItem>)>();
    let (results_tx, mut results) = mpsc::unbounded_channel::<Verified>();
    let thread_backend = Arc::clone(&backend);
    std::thread::spawn(move || {
        let cache = KeyCache::new(4096);
        while let Ok((batch_id, items)) = batches_rx.recv() {
            let started = Instant::now();
            let verdicts = verify_items(&items, &cache, thread_backend.as_ref());
            let took = started.elapsed();
            // The keys are parsed and cached by now: a lookup each.
            let mut key_sizes = BTreeMap::new();
            for item in &items {
                let bits = cache.get(&item.key).ok().map(|k| k.bits());
                *key_sizes.entry(key_size_label(bits)).or_insert(0) += 1;
            }
            let verified = Verified {
                batch_id,
                verdicts,
                took,
                key_sizes,
            };
            if results_tx.send(verified).is_err() {
                return;
            }
        }
    });

    let mut state = VerifierStatus::default();
    loop {
        tokio::select! {
            // None: the link client is gone; Some(None): a connection change, taken in.
            update = link.recv() => match update.map(|u| state.follow_connection(u, "")) {
                None => break,
                Some(Some(LinkUpdate::ResultDropped { batch_id })) => {
                    state.say(format!("batch {batch_id} finished after its session ended; the link has re-dispatched it"));
                }
                Some(Some(LinkUpdate::Received(Message::VerifyBatch(VerifyBatch { batch_id, items })))) => {
                    tracing::debug!(batch_id, items = items.len(), "batch received");
                    if batches_tx.send((batch_id, items)).is_err() {
                        state.say("the verifying thread stopped".to_owned());
                        break;
                    }
                }
                Some(Some(LinkUpdate::Received(Message::Idle(idle)))) => {
                    state.say(format!("idle ({:?}): {}", idle.reason, idle.detail));
                }
                Some(_) => {}
            },
            result = results.recv() => {
                let Some(Verified { batch_id, verdicts, took, key_sizes }) = result else { break };
                let n = verdicts.len() as u64;
                for (size, count) in key_sizes {
                    *state.by_key_bits.entry(size).or_insert(0) += count;
                }
                state.batch_seconds.record(took.as_secs_f64());
                state.verified += n;
                state.valid += verdicts.iter().filter(|v| **v).count() as u64;
                state.batches += 1;
                if took > Duration::ZERO && n > 0 {
                    // Counts stay far below 2^53.
                    #[allow(clippy::cast_precision_loss)]
                    let rate = n as f64 / took.as_secs_f64();
                    state.rate = rate;
                }
                tracing::debug!(batch_id, verdicts = n, "batch verified");
                link.send(VerifyResult { batch_id, verdicts });
                link.send(Stats { done: state.verified, rate: state.rate });
                status.send_replace(state.clone());
            }
            _ = shutdown.changed() => break,
        }
    }
    status.send_replace(state);
    link.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_durations_fall_in_their_buckets() {
        let mut h = BatchSeconds::default();
        for s in [0.0, 0.01, 0.011, 0.5, 0.7, 10.0, 11.0] {
            h.record(s);
        }
        // <= 0.01: two; (0.01, 0.025]: one; (0.25, 0.5]: one; (0.5, 1]: one; (5, 10]: one;
        // above 10: one.
        assert_eq!(h.counts, [2, 1, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
        assert_eq!(h.count, 7);
        assert!((h.sum - 22.221).abs() < 1e-9);
    }

    #[test]
    fn key_sizes_are_a_bounded_set_of_labels() {
        assert_eq!(key_size_label(Some(4096)), "4096");
        assert_eq!(key_size_label(Some(2048)), "2048");
        assert_eq!(key_size_label(Some(4095)), "other");
        assert_eq!(key_size_label(None), "invalid");
    }
}
