//! A miner working for an `ixi-link`: jobs in, solutions out, over the authenticated QUIC link.
//!
//! The search never waits for the link: through a dropped connection the current job keeps
//! being mined (a solution stays valid for 30 blocks), solutions found meanwhile queue in the
//! link client and go out once it reconnects. Only the link's Idle (the node stopped mining)
//! or a new job stops the current one.

use std::time::{Duration, Instant};

use ixi_formats::number::IxiNumber;
use ixi_link_proto::{Idle, IdleReason, Message, Role, Solution, Stats, Verdict};
use ixi_link_transport::Identity;
use ixi_miner::job::{Job as SearchJob, NonceConfig};
use ixi_miner::rate::RateMeter;
use ixi_miner::scheduler::{DeviceStats, Miner, MinerEvent};
use tokio::sync::{mpsc, watch};

use crate::client::{LinkStatus, LinkUpdate, WorkerOptions, spawn_worker};

/// What a connected miner has done, for status lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinerStatus {
    /// Whether a session is up.
    pub connected: bool,
    /// The block being mined.
    pub block_height: Option<u64>,
    /// Attempts since start.
    pub attempts: u64,
    /// Attempts per second over the last 10 s.
    pub rate: f64,
    /// Solutions found.
    pub found: u64,
    /// Solutions the link accepted.
    pub accepted: u64,
    /// Solutions the link rejected.
    pub rejected: u64,
    /// The best accepted difficulty.
    pub best_accepted: Option<IxiNumber>,
    /// The last thing worth telling the operator.
    pub last_message: String,
    /// Attempts and faults per device (CPU, each GPU) since start.
    pub devices: Vec<DeviceStats>,
}

impl LinkStatus for MinerStatus {
    fn link_fields(&mut self) -> (&mut bool, &mut String) {
        (&mut self.connected, &mut self.last_message)
    }
}

/// The job a link message asks for: its minimum raised above the best already forwarded, so
/// that only solutions that can still count are reported.
fn job_target(min_raw: &[u8], best_raw: &[u8]) -> Option<IxiNumber> {
    let min = IxiNumber::from_le_bytes(min_raw).ok()?;
    match IxiNumber::from_le_bytes(best_raw) {
        Ok(best) if best >= min => Some(IxiNumber::from_raw(best.raw() + 1)),
        _ => Some(min),
    }
}

/// Runs `miner` for the link in `options` until `shutdown` turns true, then stops the miner.
///
/// `nonce_len` is the nonce length to mine (the link's prefix is placed at its start).
pub async fn run(
    identity: Identity,
    mut options: WorkerOptions,
    miner: Miner,
    nonce_len: usize,
    mut shutdown: watch::Receiver<bool>,
    status: watch::Sender<MinerStatus>,
) {
    options.role = Role::Miner;
    options.backends = miner.backends().iter().map(|b| (*b).to_owned()).collect();
    let mut link = spawn_worker(identity, options);

    // The scheduler reports on a crossbeam channel; a thread moves its events into tokio.
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let miner_events = miner.events().clone();
    std::thread::spawn(move || {
        while let Ok(e) = miner_events.recv() {
            if events_tx.send(e).is_err() {
                return;
            }
        }
    });

    let mut partition = Vec::new();
    let mut current: Option<(u64, IxiNumber)> = None;
    let mut meter = RateMeter::new(Duration::from_secs(10));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut state = MinerStatus::default();
    loop {
        tokio::select! {
            // None: the link client is gone; Some(None): a connection change, taken in.
            update = link.recv() => match update.map(|u| state.follow_connection(u, "mining on, ")) {
                None => break,
                Some(Some(LinkUpdate::Received(message))) => match message {
                    Message::Welcome(welcome) => partition = welcome.nonce_prefix,
                    Message::Job(job) => {
                        let Some(target) = job_target(&job.min_difficulty_raw, &job.best_difficulty_raw) else {
                            state.say(format!("job {}: unreadable minimum difficulty, ignored", job.job_id));
                            continue;
                        };
                        if current.as_ref().is_some_and(|(id, t)| *id == job.job_id && *t == target) {
                            continue;
                        }
                        let nonce = NonceConfig { len: nonce_len, partition: partition.clone() };
                        match SearchJob::new(job.job_id, job.challenge_prefix, target.clone(), &nonce) {
                            Ok(search) => {
                                if current.as_ref().is_none_or(|(id, _)| *id != job.job_id) {
                                    state.say(format!("mining block {} above difficulty {target}", job.block_height));
                                }
                                miner.set_job(search);
                                current = Some((job.job_id, target));
                                state.block_height = Some(job.block_height);
                            }
                            Err(e) => state.say(format!("job {} refused: {e}", job.job_id)),
                        }
                    }
                    Message::SolutionVerdict(v) => {
                        let difficulty = IxiNumber::from_le_bytes(&v.difficulty_raw).ok();
                        let shown = difficulty.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string);
                        // The nonce and job make each verdict countable against what was found.
                        let (nonce, job_id) = (hex::encode(&v.nonce), v.job_id);
                        let (verdict, message) = match v.verdict {
                            Verdict::Accepted => {
                                state.accepted += 1;
                                if let Some(d) = difficulty
                                    && state.best_accepted.as_ref().is_none_or(|b| d > *b)
                                {
                                    state.best_accepted = Some(d);
                                }
                                ("accepted", format!("solution accepted, difficulty {shown}"))
                            }
                            Verdict::Rejected(reason) => {
                                state.rejected += 1;
                                (reason.as_str(), format!("solution rejected ({}), difficulty {shown}", reason.as_str()))
                            }
                        };
                        tracing::info!(job_id, nonce, verdict, "{message}");
                        state.last_message = message;
                    }
                    Message::Idle(Idle { reason: IdleReason::Unreachable, detail }) => {
                        // The block may still be current when the node answers again.
                        state.say(format!("the link cannot reach its node ({detail}); mining on"));
                    }
                    Message::Idle(Idle { reason, detail }) => {
                        miner.clear_job();
                        current = None;
                        state.block_height = None;
                        state.say(format!("idle ({reason:?}): {detail}"));
                    }
                    _ => {}
                },
                Some(_) => {}
            },
            event = events.recv() => match event {
                Some(MinerEvent::Solution(s)) => {
                    state.found += 1;
                    tracing::info!(
                        difficulty = %s.difficulty,
                        backend = s.backend,
                        job_id = s.job_id,
                        block = state.block_height,
                        nonce = hex::encode(&s.nonce),
                        connected = state.connected,
                        "solution found"
                    );
                    link.send(Solution { job_id: s.job_id, nonce: s.nonce });
                }
                Some(MinerEvent::Fault { backend, message, .. }) => {
                    state.say(format!("device fault on {backend} (hit discarded): {message}"));
                }
                Some(MinerEvent::Exhausted { job_id }) => {
                    state.say(format!("job {job_id}: nonce space exhausted; waiting for the next job"));
                }
                Some(_) => {}
                None => break,
            },
            _ = tick.tick() => {
                state.attempts = miner.attempts();
                state.devices = miner.devices();
                meter.record(Instant::now(), state.attempts);
                state.rate = meter.rate(Duration::from_secs(10));
                link.send(Stats { done: state.attempts, rate: state.rate });
                status.send_replace(state.clone());
            }
            _ = shutdown.changed() => break,
        }
    }
    // Stopping: no new work; what was found goes to the link, which gets a little time to
    // answer it (reconnecting if it is away). Joining the search threads blocks: off the runtime.
    state.attempts = miner.attempts();
    state.devices = miner.devices();
    let _ = tokio::task::spawn_blocking(move || miner.stop()).await;
    while let Some(event) = events.recv().await {
        if let MinerEvent::Solution(s) = event {
            state.found += 1;
            tracing::info!(
                difficulty = %s.difficulty,
                job_id = s.job_id,
                block = state.block_height,
                nonce = hex::encode(&s.nonce),
                "solution found while stopping"
            );
            link.send(Solution {
                job_id: s.job_id,
                nonce: s.nonce,
            });
        }
    }
    status.send_replace(state);
    link.finish(DELIVERY_GRACE).await;
}

/// How long a stopping miner waits for the link to answer the solutions it holds.
pub const DELIVERY_GRACE: Duration = Duration::from_secs(6);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_beats_the_best_forwarded() {
        let min = IxiNumber::from_whole(10_000_000);
        let best = IxiNumber::from_whole(12_000_000);
        assert_eq!(job_target(&min.to_le_bytes(), &[]), Some(min.clone()));
        assert_eq!(
            job_target(&min.to_le_bytes(), &best.to_le_bytes()),
            Some(IxiNumber::from_raw(best.raw() + 1))
        );
        let low = IxiNumber::from_whole(5);
        assert_eq!(
            job_target(&min.to_le_bytes(), &low.to_le_bytes()),
            Some(min)
        );
        assert_eq!(job_target(&[], &[]), None);
    }
}
