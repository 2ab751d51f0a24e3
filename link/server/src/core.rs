//! The link's decisions, sans-IO: which job each miner mines, whether a solution is forwarded,
//! which verifier gets which signatures. Inputs carry the current time; outputs are
//! [`Action`]s for the driver to carry out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_link_proto::{
    Hello, Idle, IdleReason, Job, Message, RejectReason, Role, Solution, SolutionVerdict, Stats,
    Verdict, VerifyBatch, VerifyItem, VerifyResult, Welcome,
};

use crate::source::{Challenge, ForwardOutcome, NodeState, VerifyWork};

/// The driver's name for one connection.
pub type ConnId = u64;

/// A worker's identity across connections (its pin).
pub type PeerKey = [u8; 32];

/// Shortest nonce a node takes from an external miner.
pub const MIN_NONCE_LEN: usize = 2;

/// What the driver must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a message on a connection.
    Send {
        /// The connection.
        conn: ConnId,
        /// The message.
        message: Message,
    },
    /// Forward a checked solution to the node, then report with
    /// [`LinkCore::forward_outcome`].
    Forward {
        /// The block.
        block_height: u64,
        /// The nonce.
        nonce: Vec<u8>,
        /// Its difficulty.
        difficulty: IxiNumber,
    },
    /// Verdicts to hand back to whoever submitted the work: `(ticket, valid)`, each ticket
    /// exactly once.
    Verified {
        /// The verdicts.
        results: Vec<(u64, bool)>,
    },
    /// Verify these on the link's own threads (no verifier is connected, or local
    /// verification is forced), then report with [`LinkCore::local_result`].
    VerifyLocally {
        /// The local batch's id.
        batch_id: u64,
        /// The items, in order.
        items: Vec<VerifyItem>,
    },
    /// Work refused because the queue is full: these tickets get no verdict.
    Refused {
        /// The tickets.
        tickets: Vec<u64>,
    },
}

/// Where signatures are verified when no verifier takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LocalVerify {
    /// On the link's threads while no verifier is connected.
    #[default]
    Auto,
    /// Always on the link's threads; verifiers get nothing.
    Always,
    /// Only by verifiers; work waits for one.
    Never,
}

/// Counters for the status display and the devnet summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkStats {
    /// Distinct blocks seen while mining.
    pub blocks: u64,
    /// The block height now mined, if any.
    pub height: Option<u64>,
    /// Why the node is idle, if it is.
    pub idle: Option<String>,
    /// The reason of [`LinkStats::idle`].
    pub idle_reason: Option<IdleReason>,
    /// Solutions the node took.
    pub solutions_accepted: u64,
    /// Solutions not forwarded or not taken.
    pub solutions_rejected: u64,
    /// The best difficulty the node took.
    pub best_difficulty: Option<IxiNumber>,
    /// Signatures whose verdict came back (from verifiers or the link's own threads).
    pub signatures_verified: u64,
    /// Of those, verified on the link's own threads.
    pub signatures_verified_locally: u64,
    /// Batches handed out again after a verifier dropped or missed its deadline.
    pub batches_redispatched: u64,
    /// Signatures waiting for a verifier.
    pub signatures_queued: u64,
    /// Signatures refused because the queue was full.
    pub signatures_refused: u64,
    /// Connected miners and verifiers.
    pub miners: usize,
    /// Connected verifiers.
    pub verifiers: usize,
    /// Sum of the miners' reported attempts per second.
    pub hash_rate: f64,
    /// Sum of the verifiers' reported verifies per second.
    pub verify_rate: f64,
    /// Shadow verification's counters, when it runs (filled in by the server).
    pub shadow: Option<crate::shadow::ShadowStats>,
    /// Each connected worker (authenticated, with or without its Hello yet).
    pub workers: Vec<WorkerInfo>,
    /// The block mined now, with what became of its solutions so far.
    pub current_block: Option<BlockRecord>,
    /// The blocks mined before it, oldest first, at most [`RECENT_BLOCKS`].
    pub recent_blocks: Arc<VecDeque<BlockRecord>>,
    /// Solutions forwarded to the node whose outcome has not come back (or whose forward
    /// failed and waits for a retry): what the link owes the node.
    pub forwards_pending: u64,
    /// Verification batches handed out and not answered (to verifiers, or the link's own
    /// threads).
    pub batches_in_flight: u64,
}

/// Blocks whose [`BlockRecord`] the link keeps besides the current one (an hour of 30-second
/// blocks).
pub const RECENT_BLOCKS: usize = 120;

/// What became of one block's solutions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// The block.
    pub height: u64,
    /// The node's minimum difficulty for it.
    pub min_difficulty: IxiNumber,
    /// The best difficulty forwarded to the node.
    pub best_forwarded: Option<IxiNumber>,
    /// The best difficulty the node took.
    pub best_accepted: Option<IxiNumber>,
    /// Solutions the node took.
    pub accepted: u64,
    /// Solutions not forwarded or not taken while this block was mined (late ones for an
    /// earlier block included).
    pub rejected: u64,
}

/// One connected worker, as the link sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerInfo {
    /// The connection.
    pub conn: ConnId,
    /// The worker's pin.
    pub pin: PeerKey,
    /// Miner or verifier, once it said Hello.
    pub role: Option<Role>,
    /// The name it gave.
    pub name: Arc<str>,
    /// The backends it runs.
    pub backends: Arc<[String]>,
    /// Its last reported rate (attempts or verifications per second).
    pub rate: f64,
    /// Its last reported count of attempts or verifications.
    pub done: u64,
    /// When it was last heard from ([`LinkCore::seen`]).
    pub last_seen: Option<Instant>,
}

/// Why a verifier's result cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResultError {
    /// A batch id this link never handed out.
    #[error("batch {batch_id} was never handed out")]
    UnknownBatch {
        /// The id.
        batch_id: u64,
    },
    /// More verdicts than any batch holds.
    #[error("{verdicts} verdicts for batch {batch_id}, more than the {max} a batch holds")]
    TooManyVerdicts {
        /// The id.
        batch_id: u64,
        /// Verdicts sent.
        verdicts: usize,
        /// The largest batch.
        max: usize,
    },
    /// Not one verdict per item.
    #[error("batch {batch_id} has {items} items but {verdicts} verdicts came back")]
    WrongCount {
        /// The id.
        batch_id: u64,
        /// Items in the batch.
        items: usize,
        /// Verdicts sent.
        verdicts: usize,
    },
}

/// Tuning of the verification dispatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispatchConfig {
    /// A batch holds about this much of a verifier's reported work.
    pub batch_time: Duration,
    /// Batch size bounds.
    pub min_batch: usize,
    /// Batch size bounds.
    pub max_batch: usize,
    /// Batches one verifier holds at once (so it never waits for the next).
    pub in_flight: usize,
    /// A batch not answered within max(this, 4 × its expected time) goes to another verifier.
    pub min_deadline: Duration,
    /// Signatures waiting beyond this are refused (and counted, and their tickets reported)
    /// rather than held without end while no verifier is connected.
    pub max_queued: usize,
    /// Whether the link verifies on its own threads.
    pub local: LocalVerify,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            batch_time: Duration::from_millis(500),
            min_batch: 16,
            max_batch: 4096,
            in_flight: 2,
            min_deadline: Duration::from_secs(5),
            max_queued: 200_000,
            local: LocalVerify::Auto,
        }
    }
}

struct Worker {
    peer: PeerKey,
    role: Option<Role>,
    rate: f64,
    in_flight: usize,
    name: Arc<str>,
    backends: Arc<[String]>,
    done: u64,
    last_seen: Option<Instant>,
}

/// What the link knows of one forwarded nonce of the current job.
struct NonceRecord {
    peer: PeerKey,
    /// `None` while the node is being asked.
    verdict: Option<Verdict>,
    difficulty: Option<IxiNumber>,
    /// Connections waiting for the verdict (with the job id they sent).
    waiting: Vec<(ConnId, u64)>,
    /// The last forward failed; retried on the next successful poll.
    retry: bool,
}

struct JobState {
    job_id: u64,
    challenge: Challenge,
    /// Best difficulty forwarded for this block.
    best: Option<IxiNumber>,
    nonces: HashMap<Vec<u8>, NonceRecord>,
    /// The block's record (its `best_forwarded` is `best`, filled in when it is read).
    record: BlockRecord,
}

impl JobState {
    fn record(&self) -> BlockRecord {
        BlockRecord {
            best_forwarded: self.best.clone(),
            ..self.record.clone()
        }
    }
}

struct Batch {
    work: Vec<VerifyWork>,
    conn: ConnId,
    deadline: Instant,
}

/// The link's state.
pub struct LinkCore {
    dispatch: DispatchConfig,
    workers: BTreeMap<ConnId, Worker>,
    node: Option<NodeState>,
    job: Option<JobState>,
    next_session: u64,
    next_prefix: u32,
    queue: VecDeque<VerifyWork>,
    batches: BTreeMap<u64, Batch>,
    next_batch: u64,
    stats: LinkStats,
    miner_rates: HashMap<ConnId, f64>,
    /// The batch being verified on the link's own threads.
    local_batch: Option<(u64, Vec<VerifyWork>)>,
    /// Blocks mined before the current one, at most [`RECENT_BLOCKS`].
    recent_blocks: Arc<VecDeque<BlockRecord>>,
    /// Stopping: no new verification batches are handed out.
    draining: bool,
}

/// The job id of a challenge: the same challenge gets the same id after a link restart, so
/// solutions queued by a miner through the restart can still be judged.
#[must_use]
pub fn job_id_of(challenge: &Challenge) -> u64 {
    let h = ixi_formats::hash::sha3_512(&challenge.prefix);
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    u64::from_le_bytes(b)
}

impl LinkCore {
    /// A link with nothing connected. `prefix_seed` starts the miners' nonce prefixes (pass a
    /// random value so that a restarted link does not hand out the same ones).
    #[must_use]
    pub fn new(dispatch: DispatchConfig, prefix_seed: u32) -> Self {
        Self {
            dispatch,
            workers: BTreeMap::new(),
            node: None,
            job: None,
            next_session: 1,
            next_prefix: prefix_seed,
            queue: VecDeque::new(),
            batches: BTreeMap::new(),
            next_batch: 1,
            stats: LinkStats::default(),
            miner_rates: HashMap::new(),
            local_batch: None,
            recent_blocks: Arc::default(),
            draining: false,
        }
    }

    /// What the node was doing at the last poll.
    #[must_use]
    pub fn node(&self) -> Option<&NodeState> {
        self.node.as_ref()
    }

    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> LinkStats {
        let mut s = self.stats.clone();
        s.miners = self.count(Role::Miner);
        s.verifiers = self.count(Role::Verifier);
        s.hash_rate = self.miner_rates.values().sum();
        s.verify_rate = self
            .workers
            .values()
            .filter(|w| w.role == Some(Role::Verifier))
            .map(|w| w.rate)
            .sum();
        s.signatures_queued = (self.queue.len()
            + self.batches.values().map(|b| b.work.len()).sum::<usize>()
            + self.local_batch.as_ref().map_or(0, |(_, w)| w.len()))
            as u64;
        s.workers = self
            .workers
            .iter()
            .map(|(&conn, w)| WorkerInfo {
                conn,
                pin: w.peer,
                role: w.role,
                name: Arc::clone(&w.name),
                backends: Arc::clone(&w.backends),
                rate: w.rate,
                done: w.done,
                last_seen: w.last_seen,
            })
            .collect();
        s.current_block = self.job.as_ref().map(JobState::record);
        s.recent_blocks = Arc::clone(&self.recent_blocks);
        s.forwards_pending = self.job.as_ref().map_or(0, |j| {
            j.nonces.values().filter(|r| r.verdict.is_none()).count() as u64
        });
        s.batches_in_flight = (self.batches.len() + usize::from(self.local_batch.is_some())) as u64;
        s
    }

    /// The worker on `conn` was heard from (any message): its last-seen time for the status.
    pub fn seen(&mut self, conn: ConnId, now: Instant) {
        if let Some(w) = self.workers.get_mut(&conn) {
            w.last_seen = Some(now);
        }
    }

    /// The link is stopping: verification batches already handed out are still answered, but
    /// no new ones are handed out; solutions are still judged and forwarded. The driver waits
    /// until [`LinkStats::forwards_pending`] and [`LinkStats::batches_in_flight`] are 0 (or a
    /// grace period ends).
    pub fn drain(&mut self) {
        self.draining = true;
    }

    /// The current job's block goes to the recent blocks (the job is being replaced or
    /// dropped).
    fn archive_block(&mut self) {
        if let Some(job) = &self.job {
            let record = job.record();
            let recent = Arc::make_mut(&mut self.recent_blocks);
            recent.push_back(record);
            while recent.len() > RECENT_BLOCKS {
                recent.pop_front();
            }
        }
    }

    /// The record a new job for `challenge` starts from: the last archived one when it is the
    /// same block (the node was idle in between), else a new one.
    fn block_record_for(&mut self, challenge: &Challenge) -> BlockRecord {
        if self
            .recent_blocks
            .back()
            .is_some_and(|r| r.height == challenge.block_height)
            && let Some(record) = Arc::make_mut(&mut self.recent_blocks).pop_back()
        {
            return record;
        }
        BlockRecord {
            height: challenge.block_height,
            min_difficulty: challenge.min_difficulty.clone(),
            best_forwarded: None,
            best_accepted: None,
            accepted: 0,
            rejected: 0,
        }
    }

    fn count(&self, role: Role) -> usize {
        self.workers
            .values()
            .filter(|w| w.role == Some(role))
            .count()
    }

    /// A connection authenticated as `peer`.
    pub fn connected(&mut self, conn: ConnId, peer: PeerKey) {
        self.workers.insert(
            conn,
            Worker {
                peer,
                role: None,
                rate: 0.0,
                in_flight: 0,
                name: Arc::from(""),
                backends: Arc::from(Vec::new()),
                done: 0,
                last_seen: None,
            },
        );
    }

    /// A worker's Hello: welcome it and give it work.
    pub fn hello(&mut self, now: Instant, conn: ConnId, hello: &Hello) -> Vec<Action> {
        let Some(worker) = self.workers.get_mut(&conn) else {
            return Vec::new();
        };
        let role = hello.role;
        worker.role = Some(role);
        worker.rate = hello.measured_rate;
        worker.name = Arc::from(hello.worker_name.as_str());
        worker.backends = Arc::from(hello.backends.clone());
        worker.last_seen = Some(now);
        let session_id = self.next_session;
        self.next_session += 1;
        let nonce_prefix = match role {
            Role::Miner => {
                let p = self.next_prefix;
                self.next_prefix = self.next_prefix.wrapping_add(1);
                p.to_be_bytes().to_vec()
            }
            Role::Verifier => Vec::new(),
        };
        let mut actions = vec![Action::Send {
            conn,
            message: Message::Welcome(Welcome {
                session_id,
                nonce_prefix,
            }),
        }];
        match role {
            Role::Miner => actions.extend(self.work_message(conn, true)),
            Role::Verifier => {
                if let Some(NodeState::Idle { reason, detail }) = &self.node {
                    actions.push(idle(conn, *reason, detail));
                }
                actions.extend(self.dispatch(now));
            }
        }
        actions
    }

    /// What a miner should be doing now: the job, or why there is none.
    fn work_message(&self, conn: ConnId, replace_now: bool) -> Option<Action> {
        match (&self.job, &self.node) {
            (Some(job), _) => Some(Action::Send {
                conn,
                message: job_message(job, replace_now),
            }),
            (None, Some(NodeState::Idle { reason, detail })) => Some(idle(conn, *reason, detail)),
            (None, _) => None,
        }
    }

    fn to_miners(&self, replace_now: bool) -> Vec<Action> {
        self.workers
            .iter()
            .filter(|(_, w)| w.role == Some(Role::Miner))
            .filter_map(|(c, _)| self.work_message(*c, replace_now))
            .collect()
    }

    /// The node's state after a poll.
    pub fn node_state(&mut self, state: NodeState) -> Vec<Action> {
        let mut actions = Vec::new();
        match &state {
            NodeState::Mining(challenge) => {
                let same = self.job.as_ref().is_some_and(|j| &j.challenge == challenge);
                let was_idle = matches!(self.node, Some(NodeState::Idle { .. }));
                self.stats.idle = None;
                self.stats.idle_reason = None;
                if same {
                    actions.extend(self.retry_forwards());
                    if was_idle {
                        // Back from an unreachable spell: miners that paused get the job again.
                        actions.extend(self.to_miners(true));
                    }
                } else {
                    if self.stats.height != Some(challenge.block_height) {
                        self.stats.blocks += 1;
                    }
                    self.stats.height = Some(challenge.block_height);
                    actions.extend(self.answer_abandoned(RejectReason::Stale));
                    self.archive_block();
                    let record = self.block_record_for(challenge);
                    self.job = Some(JobState {
                        job_id: job_id_of(challenge),
                        challenge: challenge.clone(),
                        best: record.best_forwarded.clone(),
                        nonces: HashMap::new(),
                        record,
                    });
                    actions.extend(self.to_miners(true));
                }
            }
            NodeState::Idle { reason, detail } => {
                let changed = self.node.as_ref() != Some(&state);
                // An unreachable node keeps its job: the block may still be current when the
                // node answers again, and queued forwards are retried then.
                if *reason != IdleReason::Unreachable && self.job.is_some() {
                    actions.extend(self.answer_abandoned(RejectReason::NodeIdle));
                    self.archive_block();
                    self.job = None;
                    self.stats.height = None;
                }
                self.stats.idle = Some(format!("{reason:?}: {detail}"));
                self.stats.idle_reason = Some(*reason);
                if changed {
                    actions.extend(
                        self.workers
                            .iter()
                            .filter(|(_, w)| w.role.is_some())
                            .map(|(c, _)| idle(*c, *reason, detail)),
                    );
                }
            }
        }
        self.node = Some(state);
        actions
    }

    /// Verdicts for nonces of the current job still waiting on a forward that will not happen
    /// now (the job is being replaced).
    fn answer_abandoned(&mut self, reason: RejectReason) -> Vec<Action> {
        let Some(job) = self.job.as_mut() else {
            return Vec::new();
        };
        let mut actions = Vec::new();
        for (nonce, record) in &mut job.nonces {
            if record.verdict.is_none() {
                record.verdict = Some(Verdict::Rejected(reason));
                self.stats.solutions_rejected += 1;
                job.record.rejected += 1;
                for (conn, job_id) in record.waiting.drain(..) {
                    actions.push(verdict_message(
                        conn,
                        job_id,
                        nonce.clone(),
                        Verdict::Rejected(reason),
                        record.difficulty.as_ref(),
                    ));
                }
            }
        }
        actions
    }

    fn retry_forwards(&mut self) -> Vec<Action> {
        let Some(job) = self.job.as_mut() else {
            return Vec::new();
        };
        let height = job.challenge.block_height;
        job.nonces
            .iter_mut()
            .filter(|(_, r)| r.retry)
            .map(|(nonce, r)| {
                r.retry = false;
                Action::Forward {
                    block_height: height,
                    nonce: nonce.clone(),
                    difficulty: r.difficulty.clone().unwrap_or_default(),
                }
            })
            .collect()
    }

    /// A miner's solution: judge it exactly, forward it if it counts.
    pub fn solution(&mut self, conn: ConnId, solution: Solution) -> Vec<Action> {
        let Solution { job_id, nonce } = solution;
        let Some(peer) = self.workers.get(&conn).map(|w| w.peer) else {
            return Vec::new();
        };
        let reject = |reason,
                      difficulty: Option<&IxiNumber>,
                      stats: &mut LinkStats,
                      block: Option<&mut BlockRecord>| {
            stats.solutions_rejected += 1;
            if let Some(block) = block {
                block.rejected += 1;
            }
            vec![verdict_message(
                conn,
                job_id,
                nonce.clone(),
                Verdict::Rejected(reason),
                difficulty,
            )]
        };
        let Some(job) = self.job.as_mut() else {
            return reject(RejectReason::NodeIdle, None, &mut self.stats, None);
        };
        let refused = if job.job_id != job_id {
            Some(RejectReason::Stale)
        } else if !(MIN_NONCE_LEN..=solution::MAX_NONCE_LEN).contains(&nonce.len()) {
            Some(RejectReason::InvalidNonce)
        } else if job.nonces.get(&nonce).is_some_and(|r| r.peer != peer) {
            Some(RejectReason::Duplicate)
        } else {
            None
        };
        if let Some(reason) = refused {
            return reject(reason, None, &mut self.stats, Some(&mut job.record));
        }
        if let Some(record) = job.nonces.get_mut(&nonce) {
            // The same worker again (it resends what was unanswered when its connection
            // dropped): the first verdict, or the one still coming.
            return match record.verdict {
                Some(verdict) => vec![verdict_message(
                    conn,
                    job_id,
                    nonce,
                    verdict,
                    record.difficulty.as_ref(),
                )],
                None => {
                    record.waiting.push((conn, job_id));
                    Vec::new()
                }
            };
        }
        let judged = solution::hash_with_prefix(&job.challenge.prefix, &nonce)
            .ok()
            .and_then(|h| difficulty::hash_to_difficulty(&h).ok());
        let verdict = match &judged {
            None => Some(RejectReason::BelowTarget),
            Some(d) if *d < job.challenge.min_difficulty => Some(RejectReason::BelowTarget),
            Some(d) if job.best.as_ref().is_some_and(|b| d <= b) => Some(RejectReason::NotBetter),
            Some(_) => None,
        };
        if let Some(reason) = verdict {
            // Not remembered: judging it again gives the same answer, and a flood of bad
            // nonces costs no memory.
            return reject(
                reason,
                judged.as_ref(),
                &mut self.stats,
                Some(&mut job.record),
            );
        }
        let record = NonceRecord {
            peer,
            verdict: None,
            difficulty: judged.clone(),
            waiting: vec![(conn, job_id)],
            retry: false,
        };
        let difficulty = judged.unwrap_or_default();
        job.best = Some(difficulty.clone());
        let block_height = job.challenge.block_height;
        job.nonces.insert(nonce.clone(), record);
        let mut actions = vec![Action::Forward {
            block_height,
            nonce,
            difficulty,
        }];
        // Every miner now needs to beat this one.
        actions.extend(self.to_miners(false));
        actions
    }

    /// What the node made of a forwarded solution.
    pub fn forward_outcome<E>(
        &mut self,
        block_height: u64,
        nonce: &[u8],
        outcome: ForwardOutcome<E>,
    ) -> Vec<Action> {
        let Some(job) = self.job.as_mut() else {
            return Vec::new();
        };
        if job.challenge.block_height != block_height {
            return Vec::new();
        }
        let Some(record) = job.nonces.get_mut(nonce) else {
            return Vec::new();
        };
        if record.verdict.is_some() {
            return Vec::new();
        }
        let verdict = match outcome {
            ForwardOutcome::Failed(_) => {
                record.retry = true;
                return Vec::new();
            }
            ForwardOutcome::Taken => {
                self.stats.solutions_accepted += 1;
                job.record.accepted += 1;
                if let Some(d) = &record.difficulty
                    && job.record.best_accepted.as_ref().is_none_or(|b| d > b)
                {
                    job.record.best_accepted = Some(d.clone());
                }
                if let Some(d) = &record.difficulty
                    && self.stats.best_difficulty.as_ref().is_none_or(|b| d > b)
                {
                    self.stats.best_difficulty = Some(d.clone());
                }
                Verdict::Accepted
            }
            ForwardOutcome::Rejected(reason) => {
                self.stats.solutions_rejected += 1;
                job.record.rejected += 1;
                Verdict::Rejected(reason)
            }
        };
        record.verdict = Some(verdict);
        let difficulty = record.difficulty.clone();
        record
            .waiting
            .drain(..)
            .filter(|(c, _)| self.workers.contains_key(c))
            .map(|(conn, job_id)| {
                verdict_message(conn, job_id, nonce.to_vec(), verdict, difficulty.as_ref())
            })
            .collect()
    }

    /// A worker's counters.
    pub fn worker_stats(&mut self, conn: ConnId, stats: &Stats) {
        let rate = stats.rate;
        if let Some(w) = self.workers.get_mut(&conn)
            && rate.is_finite()
            && rate >= 0.0
        {
            w.rate = rate;
            w.done = stats.done;
            if w.role == Some(Role::Miner) {
                self.miner_rates.insert(conn, rate);
            }
        }
    }

    /// A connection ended: its batches go to other verifiers.
    pub fn closed(&mut self, now: Instant, conn: ConnId) -> Vec<Action> {
        self.workers.remove(&conn);
        self.miner_rates.remove(&conn);
        let orphaned: Vec<u64> = self
            .batches
            .iter()
            .filter(|(_, b)| b.conn == conn)
            .map(|(id, _)| *id)
            .collect();
        self.requeue(&orphaned);
        self.dispatch(now)
    }

    fn requeue(&mut self, ids: &[u64]) {
        // Back at the front, in their original order.
        for id in ids.iter().rev() {
            if let Some(batch) = self.batches.remove(id) {
                tracing::debug!(batch_id = id, conn = batch.conn, "batch re-dispatched");
                if let Some(w) = self.workers.get_mut(&batch.conn) {
                    w.in_flight = w.in_flight.saturating_sub(1);
                }
                self.stats.batches_redispatched += 1;
                for work in batch.work.into_iter().rev() {
                    self.queue.push_front(work);
                }
            }
        }
    }

    /// Signatures to verify; each ticket gets one verdict in an [`Action::Verified`], or is
    /// named in an [`Action::Refused`] when the queue is full.
    pub fn add_verify_work(&mut self, now: Instant, mut work: Vec<VerifyWork>) -> Vec<Action> {
        let room = self.dispatch.max_queued.saturating_sub(self.queue.len());
        let mut actions = Vec::new();
        if work.len() > room {
            let refused: Vec<u64> = work.drain(room..).map(|w| w.ticket).collect();
            self.stats.signatures_refused += refused.len() as u64;
            tracing::warn!(
                refused = refused.len(),
                "verification queue full: signatures refused"
            );
            actions.push(Action::Refused { tickets: refused });
        }
        self.queue.extend(work);
        actions.extend(self.dispatch(now));
        actions
    }

    /// The verdicts of a batch verified on the link's own threads ([`Action::VerifyLocally`]).
    /// A count that differs from the batch's puts its items back in the queue.
    pub fn local_result(&mut self, now: Instant, batch_id: u64, verdicts: &[bool]) -> Vec<Action> {
        let Some((id, work)) = self.local_batch.take() else {
            return Vec::new();
        };
        if id != batch_id {
            self.local_batch = Some((id, work));
            return Vec::new();
        }
        let mut actions = Vec::new();
        if work.len() == verdicts.len() {
            self.stats.signatures_verified += work.len() as u64;
            self.stats.signatures_verified_locally += work.len() as u64;
            actions.push(Action::Verified {
                results: work
                    .iter()
                    .map(|w| w.ticket)
                    .zip(verdicts.iter().copied())
                    .collect(),
            });
        } else {
            for w in work.into_iter().rev() {
                self.queue.push_front(w);
            }
        }
        actions.extend(self.dispatch(now));
        actions
    }

    /// A verifier's verdicts: taken once, from the verifier that holds the batch.
    ///
    /// # Errors
    /// [`ResultError`] when the verdicts cannot be an answer: a batch never handed out, more
    /// verdicts than any batch holds, or a count that differs from the batch's (the driver
    /// closes that connection; the batch goes to another verifier).
    pub fn verify_result(
        &mut self,
        now: Instant,
        conn: ConnId,
        result: &VerifyResult,
    ) -> Result<Vec<Action>, ResultError> {
        let VerifyResult { batch_id, verdicts } = result;
        let batch_id = *batch_id;
        if batch_id == 0 || batch_id >= self.next_batch {
            return Err(ResultError::UnknownBatch { batch_id });
        }
        if verdicts.len() > self.dispatch.max_batch {
            return Err(ResultError::TooManyVerdicts {
                batch_id,
                verdicts: verdicts.len(),
                max: self.dispatch.max_batch,
            });
        }
        let Some(batch) = self.batches.get(&batch_id).filter(|b| b.conn == conn) else {
            // Late: the batch was handed to another verifier, whose answer counts.
            tracing::debug!(batch_id, conn, "late answer ignored");
            return Ok(Vec::new());
        };
        if batch.work.len() != verdicts.len() {
            let error = ResultError::WrongCount {
                batch_id,
                items: batch.work.len(),
                verdicts: verdicts.len(),
            };
            self.requeue(&[batch_id]);
            return Err(error);
        }
        let mut actions = Vec::new();
        if let Some(batch) = self.batches.remove(&batch_id) {
            tracing::debug!(batch_id, conn, verdicts = verdicts.len(), "batch answered");
            self.stats.signatures_verified += batch.work.len() as u64;
            actions.push(Action::Verified {
                results: batch
                    .work
                    .iter()
                    .map(|w| w.ticket)
                    .zip(verdicts.iter().copied())
                    .collect(),
            });
        }
        if let Some(w) = self.workers.get_mut(&conn) {
            w.in_flight = w.in_flight.saturating_sub(1);
        }
        actions.extend(self.dispatch(now));
        Ok(actions)
    }

    /// Deadlines and dispatch; call about every 100 ms.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let late: Vec<u64> = self
            .batches
            .iter()
            .filter(|(_, b)| now >= b.deadline)
            .map(|(id, _)| *id)
            .collect();
        self.requeue(&late);
        self.dispatch(now)
    }

    fn dispatch(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let d = self.dispatch;
        loop {
            if self.queue.is_empty() || d.local == LocalVerify::Always || self.draining {
                break;
            }
            // The verifier with the fewest batches in flight; the fastest among equals.
            let Some((&conn, worker)) = self
                .workers
                .iter_mut()
                .filter(|(_, w)| w.role == Some(Role::Verifier) && w.in_flight < d.in_flight)
                .min_by(|a, b| {
                    a.1.in_flight
                        .cmp(&b.1.in_flight)
                        .then(b.1.rate.total_cmp(&a.1.rate))
                })
            else {
                break;
            };
            let rate = if worker.rate > 0.0 {
                worker.rate
            } else {
                100.0
            };
            // Saturating float-to-int conversion; clamped to the batch bounds below.
            #[allow(clippy::cast_possible_truncation)]
            let wanted = (rate * d.batch_time.as_secs_f64()) as usize;
            let size = wanted.clamp(d.min_batch, d.max_batch).min(self.queue.len());
            let work: Vec<VerifyWork> = self.queue.drain(..size).collect();
            let expected = Duration::from_secs_f64(size as f64 / rate);
            let deadline = now + d.min_deadline.max(expected * 4);
            worker.in_flight += 1;
            let batch_id = self.next_batch;
            self.next_batch += 1;
            let items: Vec<VerifyItem> = work.iter().map(|w| w.item.clone()).collect();
            self.batches.insert(
                batch_id,
                Batch {
                    work,
                    conn,
                    deadline,
                },
            );
            tracing::debug!(batch_id, conn, items = size, "batch dispatched");
            actions.push(Action::Send {
                conn,
                message: Message::VerifyBatch(VerifyBatch { batch_id, items }),
            });
        }
        let local = match d.local {
            LocalVerify::Always => true,
            LocalVerify::Auto => self.count(Role::Verifier) == 0,
            LocalVerify::Never => false,
        };
        if local && self.local_batch.is_none() && !self.queue.is_empty() && !self.draining {
            let size = d.max_batch.min(self.queue.len());
            let work: Vec<VerifyWork> = self.queue.drain(..size).collect();
            let batch_id = self.next_batch;
            self.next_batch += 1;
            let items = work.iter().map(|w| w.item.clone()).collect();
            self.local_batch = Some((batch_id, work));
            actions.push(Action::VerifyLocally { batch_id, items });
        }
        actions
    }
}

fn idle(conn: ConnId, reason: IdleReason, detail: &str) -> Action {
    Action::Send {
        conn,
        message: Message::Idle(Idle {
            reason,
            detail: detail.to_owned(),
        }),
    }
}

fn job_message(job: &JobState, replace_now: bool) -> Message {
    Message::Job(Job {
        job_id: job.job_id,
        block_height: job.challenge.block_height,
        challenge_prefix: job.challenge.prefix.clone(),
        min_difficulty_raw: job.challenge.min_difficulty.to_le_bytes(),
        best_difficulty_raw: job
            .best
            .as_ref()
            .map(IxiNumber::to_le_bytes)
            .unwrap_or_default(),
        replace_now,
    })
}

fn verdict_message(
    conn: ConnId,
    job_id: u64,
    nonce: Vec<u8>,
    verdict: Verdict,
    difficulty: Option<&IxiNumber>,
) -> Action {
    Action::Send {
        conn,
        message: Message::SolutionVerdict(SolutionVerdict {
            job_id,
            nonce,
            verdict,
            difficulty_raw: difficulty.map(IxiNumber::to_le_bytes).unwrap_or_default(),
        }),
    }
}
