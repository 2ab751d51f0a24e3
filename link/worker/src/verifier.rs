//! A verifier working for an `ixi-link`: batches in, one verdict per item out.
//!
//! Batches are verified in arrival order on a thread of their own, so the link session keeps
//! its heartbeats while a large batch runs. A key that does not parse makes its items invalid
//! (as the reference rejects a signature under a malformed key); every item gets a verdict.
//! The rate sent to the link is measured on the verification work itself, which is what the
//! link sizes batches by.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ixi_link_proto::{Message, Role, Stats, VerifyBatch, VerifyItem, VerifyResult};
use ixi_link_transport::Identity;
use ixi_verifier::KeyCache;
use ixi_verifier::backend::VerifyBackend;
use tokio::sync::{mpsc, watch};

use crate::client::{LinkUpdate, WorkerOptions, spawn_worker};

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
    let (results_tx, mut results) = mpsc::unbounded_channel::<(u64, Vec<bool>, Duration)>();
    let thread_backend = Arc::clone(&backend);
    std::thread::spawn(move || {
        let cache = KeyCache::new(4096);
        while let Ok((batch_id, items)) = batches_rx.recv() {
            let started = Instant::now();
            let verdicts = verify_items(&items, &cache, thread_backend.as_ref());
            if results_tx
                .send((batch_id, verdicts, started.elapsed()))
                .is_err()
            {
                return;
            }
        }
    });

    let mut state = VerifierStatus::default();
    let say = |state: &mut VerifierStatus, message: String| {
        tracing::info!("{message}");
        state.last_message = message;
    };
    loop {
        tokio::select! {
            update = link.recv() => match update {
                None => break,
                Some(LinkUpdate::Connected(addr)) => say(&mut state, format!("connected to the link at {addr}")),
                Some(LinkUpdate::Disconnected { reason, retry_in }) => {
                    state.connected = false;
                    say(&mut state, format!("link lost ({reason}); retrying in {:.1} s", retry_in.as_secs_f64()));
                }
                Some(LinkUpdate::ResultDropped { batch_id }) => {
                    say(&mut state, format!("batch {batch_id} finished after its session ended; the link has re-dispatched it"));
                }
                Some(LinkUpdate::Received(Message::Welcome(_))) => state.connected = true,
                Some(LinkUpdate::Received(Message::VerifyBatch(VerifyBatch { batch_id, items }))) => {
                    tracing::debug!(batch_id, items = items.len(), "batch received");
                    if batches_tx.send((batch_id, items)).is_err() {
                        say(&mut state, "the verifying thread stopped".to_owned());
                        break;
                    }
                }
                Some(LinkUpdate::Received(Message::Idle(idle))) => {
                    say(&mut state, format!("idle ({:?}): {}", idle.reason, idle.detail));
                }
                Some(_) => {}
            },
            result = results.recv() => {
                let Some((batch_id, verdicts, took)) = result else { break };
                let n = verdicts.len() as u64;
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
