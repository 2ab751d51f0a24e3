//! Many worker sessions on one link, in one process, over real QUIC on loopback: miners submit
//! solutions (valid, below target, stale, malformed), verifiers answer the verification batches
//! of the link's shadow verification of a [`TestChain`], and every answer is recorded so that
//! the caller can check that nothing was lost or answered twice.
//!
//! The link runs on a runtime of its own ([`LoadRun::start`] takes its handle), so that a
//! benchmark can count the CPU time of the link's threads apart from the workers'.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use ixi_formats::difficulty;
use ixi_formats::number::IxiNumber;
use ixi_formats::solution;
use ixi_link_audit::{Auditor, FindingKind, RetryPolicy, Rules};
use ixi_link_proto::{Job, Message, RejectReason, Role, Solution, SolutionVerdict, Verdict};
use ixi_link_proto::{VerifyBatch, VerifyResult};
use ixi_link_server::core::{LinkStats, LocalVerify};
use ixi_link_server::shadow::ShadowConfig;
use ixi_link_server::source::{Challenge, ForwardOutcome, NodeSource, NodeState};
use ixi_link_server::{LinkExtras, LinkServer, ServerConfig};
use ixi_link_transport::{AuthorizedPins, Identity};
use ixi_link_worker::client::{Backoff, LinkUpdate, WorkerHandle, WorkerOptions, spawn_worker};
use ixi_node_api::{ClientConfig, NodeClient};
use ixi_verifier::KeyCache;
use ixi_verifier::backend::VerifyBackend;
use tokio::sync::{mpsc, watch};

use crate::chain::{Shape, TestChain};
use crate::node::NodeStandIn;

/// How big a run is.
#[derive(Debug, Clone, Copy)]
pub struct LoadConfig {
    /// Miner sessions.
    pub miners: usize,
    /// Verifier sessions.
    pub verifiers: usize,
    /// Solutions meeting the target, spread over the first miners.
    pub valid_solutions: usize,
    /// Nonces below the target each miner submits.
    pub below_target_per_miner: usize,
    /// Workers connecting at once; well under the link's handshake limit.
    pub wave: usize,
    /// Blocks of the shadow-verified chain.
    pub blocks: u64,
    /// The shape of every block but the first.
    pub shape: Shape,
    /// Signatures of the chain made invalid: `(block, index)` of a block signature.
    pub broken_signatures: &'static [(u64, usize)],
}

/// The rate verifiers report: batches of two signatures (at the link's half-second batches).
const VERIFIER_RATE: f64 = 4.0;
/// Signatures in one batch, at the rate the verifiers report (4/s, half-second batches).
pub const BATCH_ITEMS: usize = 2;

/// The chain's first block.
const FIRST_BLOCK: u64 = 100;
/// The challenge the miners work on.
const BLOCK_HEIGHT: u64 = 7;
/// How long any one wait may take before the run is declared stuck.
const WAIT: Duration = Duration::from_secs(60);

impl LoadConfig {
    /// Verification items the chain holds: the first block's transactions, then every other
    /// block's signatures and transactions.
    #[must_use]
    pub fn verify_items(&self) -> usize {
        let later = usize::try_from(self.blocks.saturating_sub(1)).unwrap();
        self.shape.transactions + later * (self.shape.signatures + self.shape.transactions)
    }

    /// Builds the chain (real RSA signatures; a few seconds) and the test's solutions.
    #[must_use]
    pub fn prepare(&self) -> Prepared {
        let floor = IxiNumber::from_whole(1000);
        let mut chain = TestChain::build(FIRST_BLOCK, self.blocks, self.shape, &floor);
        for &(block, index) in self.broken_signatures {
            chain.break_block_signature(FIRST_BLOCK + block, index);
        }
        let mut prefix = vec![0x5a; 178];
        prefix[..8].copy_from_slice(&BLOCK_HEIGHT.to_le_bytes());
        let min = IxiNumber::from_whole(100_000);
        // Found on the plain path, each from a seed of its own.
        let valid = (0..self.valid_solutions as u64)
            .map(|k| {
                let (nonce, _, d) = crate::chain::mine(&prefix, &min, 41 + k);
                (nonce, d)
            })
            .collect();
        Prepared {
            config: *self,
            chain: Some(chain),
            floor,
            challenge: Challenge {
                block_height: BLOCK_HEIGHT,
                prefix,
                min_difficulty: min,
            },
            valid,
        }
    }
}

/// A run's inputs, prepared ahead of the timed part.
pub struct Prepared {
    config: LoadConfig,
    /// Taken by the node stand-in when the run starts.
    chain: Option<TestChain>,
    floor: IxiNumber,
    challenge: Challenge,
    valid: Vec<(Vec<u8>, IxiNumber)>,
}

/// A node that mines one fixed block and takes every forwarded solution, in order.
pub struct LoadNode {
    challenge: Challenge,
    /// What the link forwarded: `(nonce, difficulty)`.
    pub forwarded: Mutex<Vec<(Vec<u8>, IxiNumber)>>,
}

impl NodeSource for LoadNode {
    type Error = std::convert::Infallible;

    async fn poll(&self) -> NodeState {
        NodeState::Mining(self.challenge.clone())
    }

    async fn forward(
        &self,
        _: u64,
        nonce: &[u8],
        difficulty: &IxiNumber,
    ) -> ForwardOutcome<Self::Error> {
        self.forwarded
            .lock()
            .unwrap()
            .push((nonce.to_vec(), difficulty.clone()));
        ForwardOutcome::Taken
    }
}

/// The verdict a submitted nonce must get, known to the test before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Meets the target: accepted, or not better than one forwarded before it.
    Valid(IxiNumber),
    /// Exactly this rejection.
    Rejected(RejectReason),
}

/// One miner's submissions and what came back.
#[derive(Debug, Default)]
pub struct MinerRecord {
    /// `(job_id, nonce, expected)` as sent.
    pub sent: Vec<(u64, Vec<u8>, Expected)>,
    /// `(job_id, nonce, verdict)` as answered.
    pub verdicts: Vec<(u64, Vec<u8>, Verdict)>,
    /// Disconnections after the session was first welcomed.
    pub drops: usize,
}

/// One verifier's batches.
#[derive(Debug, Default)]
pub struct VerifierRecord {
    /// `(batch_id, signatures)` of every batch answered.
    pub batches: Vec<(u64, Vec<Vec<u8>>)>,
    /// Disconnections after the session was first welcomed.
    pub drops: usize,
}

/// What a finished run saw.
pub struct LoadOutcome {
    /// Per miner.
    pub miners: Vec<MinerRecord>,
    /// Per verifier.
    pub verifiers: Vec<VerifierRecord>,
    /// What the node got.
    pub forwarded: Vec<(Vec<u8>, IxiNumber)>,
    /// The link's counters at the end.
    pub stats: LinkStats,
    /// The shadow verifier's findings: `(block, kind, index)`.
    pub findings: Vec<(u64, FindingKind, Option<usize>)>,
}

/// A started run: the node stand-in and the link; workers come with [`LoadRun::connect`].
pub struct LoadRun {
    prepared: Arc<Prepared>,
    node: NodeStandIn,
    source: Arc<LoadNode>,
    link: LinkServer,
    link_id: Identity,
    workers: Vec<(Identity, Role)>,
    backend: Arc<dyn VerifyBackend>,
    cache: Arc<KeyCache>,
    go: watch::Sender<bool>,
    stop: watch::Sender<bool>,
    /// Verifiers that have received a batch.
    participating: watch::Sender<usize>,
    miner_tasks: Vec<tokio::task::JoinHandle<MinerRecord>>,
    verifier_tasks: Vec<tokio::task::JoinHandle<VerifierRecord>>,
}

impl LoadRun {
    /// Starts the node stand-in here and the link on `link_runtime`; workers' identities are
    /// made and authorized, nothing connects yet.
    pub async fn start(mut prepared: Prepared, link_runtime: &tokio::runtime::Handle) -> Self {
        let config = prepared.config;
        let node = NodeStandIn::start(prepared.chain.take().expect("a prepared chain")).await;
        // No block final (at depth 5) until the run's work starts: the verifiers are all
        // connected by then.
        node.state.lock().unwrap().height = FIRST_BLOCK;
        let client = NodeClient::new(&ClientConfig::new(&node.url)).unwrap();
        let auditor = Arc::new(Auditor::new(
            client,
            Rules {
                floor: prepared.floor.clone(),
            },
            RetryPolicy::default(),
        ));
        let mut shadow = ShadowConfig::new(auditor);
        shadow.start_at = Some(FIRST_BLOCK);
        shadow.poll_interval = Duration::from_millis(50);
        shadow.warn_findings = false;
        // Every block's signatures out at once: verifiers hold their batches until each of
        // them has one (see `run_verifier`).
        shadow.max_blocks_in_flight = usize::try_from(config.blocks).unwrap();
        let link_id = Identity::generate("ixi-link").unwrap();
        let workers: Vec<(Identity, Role)> = (0..config.miners + config.verifiers)
            .map(|i| {
                let role = if i < config.miners {
                    Role::Miner
                } else {
                    Role::Verifier
                };
                (Identity::generate(&format!("load-{i}")).unwrap(), role)
            })
            .collect();
        let pins = Arc::new(RwLock::new(AuthorizedPins::from_pins(
            workers.iter().map(|(w, _)| w.pin()),
        )));
        let source = Arc::new(LoadNode {
            challenge: prepared.challenge.clone(),
            forwarded: Mutex::new(Vec::new()),
        });
        let mut server = ServerConfig::new("127.0.0.1:0".parse().unwrap());
        server.dispatch.local = LocalVerify::Never;
        // Small batches (verifiers report 4 signatures/s: 2 per batch), so that a small chain
        // gives every verifier some; no deadline passes while verifiers hold their batches.
        server.dispatch.min_batch = 1;
        server.dispatch.min_deadline = WAIT;
        let (id, src) = (link_id.clone(), Arc::clone(&source));
        let link = link_runtime
            .spawn(async move {
                LinkServer::start_with(
                    &id,
                    pins,
                    src,
                    server,
                    LinkExtras {
                        shadow: Some(shadow),
                        local_backend: None,
                    },
                )
                .await
                .unwrap()
            })
            .await
            .unwrap();
        let backend: Arc<dyn VerifyBackend> = ixi_verifier::backend::create(
            ixi_verifier::backend::BackendKind::Scalar,
            &ixi_kernels::cpu::CpuFeatures::detect(),
            1,
        )
        .unwrap()
        .into();
        Self {
            prepared: Arc::new(prepared),
            node,
            source,
            link,
            link_id,
            workers,
            backend,
            cache: Arc::new(KeyCache::default()),
            go: watch::channel(false).0,
            stop: watch::channel(false).0,
            participating: watch::channel(0).0,
            miner_tasks: Vec::new(),
            verifier_tasks: Vec::new(),
        }
    }

    /// The link.
    #[must_use]
    pub fn link(&self) -> &LinkServer {
        &self.link
    }

    /// Connects every worker, `wave` at a time, each wave welcomed before the next starts;
    /// returns the connection attempts the link refused or that failed (each retried).
    pub async fn connect(&mut self) -> usize {
        let config = self.prepared.config;
        let addr = self.link.local_addr().unwrap().to_string();
        let (welcomed_tx, mut welcomed) = mpsc::unbounded_channel::<usize>();
        let mut retries = 0;
        let workers = std::mem::take(&mut self.workers);
        for (index, chunk) in workers.chunks(config.wave.max(1)).enumerate() {
            for (offset, (identity, role)) in chunk.iter().enumerate() {
                let i = index * config.wave.max(1) + offset;
                let mut options = WorkerOptions::new(
                    addr.clone(),
                    self.link_id.pin(),
                    *role,
                    format!("load-{i}"),
                );
                options.backoff = Backoff {
                    initial: Duration::from_millis(50),
                    max: Duration::from_millis(500),
                };
                options.measured_rate = if *role == Role::Verifier {
                    VERIFIER_RATE
                } else {
                    1000.0
                };
                let handle = spawn_worker(identity.clone(), options);
                let welcomed_tx = welcomed_tx.clone();
                match role {
                    Role::Miner => self.miner_tasks.push(tokio::spawn(run_miner(
                        i,
                        handle,
                        Arc::clone(&self.prepared),
                        welcomed_tx,
                        self.go.subscribe(),
                        self.stop.subscribe(),
                    ))),
                    Role::Verifier => self.verifier_tasks.push(tokio::spawn(run_verifier(
                        handle,
                        config.verifiers,
                        self.participating.clone(),
                        Arc::clone(&self.backend),
                        Arc::clone(&self.cache),
                        welcomed_tx,
                        self.stop.subscribe(),
                    ))),
                }
            }
            let mut pending = chunk.len();
            while pending > 0 {
                let failed = tokio::time::timeout(WAIT, welcomed.recv())
                    .await
                    .expect("a wave of workers welcomed in time")
                    .unwrap();
                retries += failed;
                pending -= 1;
            }
        }
        retries
    }

    /// Lets the miners submit and the verifiers' work flow; returns when every solution has
    /// its verdict and every block is audited, then stops the workers after `grace` (a second
    /// answer to anything would arrive in it).
    pub async fn work(self, grace: Duration) -> LoadOutcome {
        let blocks = self.prepared.config.blocks;
        // Every block final.
        self.node.state.lock().unwrap().height = FIRST_BLOCK + blocks - 1 + 5;
        let _ = self.go.send(true);
        let mut stats = self.link.stats();
        let expected_verdicts = self
            .prepared
            .config
            .miners
            .saturating_mul(self.prepared.config.below_target_per_miner + 2)
            + self.prepared.valid.len();
        tokio::time::timeout(WAIT * 2, async {
            loop {
                {
                    let s = stats.borrow_and_update();
                    let judged = s.solutions_accepted + s.solutions_rejected;
                    let audited = s.shadow.as_ref().map_or(0, |sh| sh.blocks_audited);
                    if usize::try_from(judged).unwrap() >= expected_verdicts && audited >= blocks {
                        return;
                    }
                }
                stats.changed().await.unwrap();
            }
        })
        .await
        .expect("every solution judged and every block audited in time");
        tokio::time::sleep(grace).await;
        let _ = self.stop.send(true);
        let mut miners = Vec::new();
        for t in self.miner_tasks {
            miners.push(t.await.unwrap());
        }
        let mut verifiers = Vec::new();
        for t in self.verifier_tasks {
            verifiers.push(t.await.unwrap());
        }
        let stats = self.link.stats().borrow().clone();
        let findings = self
            .link
            .shadow()
            .unwrap()
            .report()
            .findings
            .iter()
            .map(|f| (f.block, f.kind, f.index))
            .collect();
        let forwarded = self.source.forwarded.lock().unwrap().clone();
        self.link.shutdown().await;
        LoadOutcome {
            miners,
            verifiers,
            forwarded,
            stats,
            findings,
        }
    }
}

/// Waits for the first welcome and reports it with the failed attempts before it.
async fn welcome(handle: &mut WorkerHandle, welcomed: &mpsc::UnboundedSender<usize>) -> Option<()> {
    let mut failed = 0;
    loop {
        match handle.recv().await? {
            LinkUpdate::Disconnected { .. } => failed += 1,
            // The Job (to a miner) follows the Welcome.
            LinkUpdate::Received(Message::Welcome(_)) => {
                let _ = welcomed.send(failed);
                return Some(());
            }
            _ => {}
        }
    }
}

/// What miner `i` submits: nonces below the target, a stale one, a malformed one, and its
/// share of the valid solutions.
fn submissions(i: usize, job_id: u64, prepared: &Prepared) -> Vec<(u64, Vec<u8>, Expected)> {
    let config = prepared.config;
    let challenge = &prepared.challenge;
    let mut out = Vec::new();
    for j in 0..config.below_target_per_miner {
        let mut nonce = vec![0xa5; 32];
        nonce[..8].copy_from_slice(&(i as u64).to_le_bytes());
        nonce[8..16].copy_from_slice(&(j as u64).to_le_bytes());
        // Judged here on the plain path: what the link must answer.
        let hash = solution::hash_with_prefix(&challenge.prefix, &nonce).unwrap();
        let meets = hash[62] == 0
            && hash[63] == 0
            && difficulty::hash_to_difficulty(&hash).is_ok_and(|d| d >= challenge.min_difficulty);
        assert!(!meets, "a test nonce meets the target by chance");
        out.push((job_id, nonce, Expected::Rejected(RejectReason::BelowTarget)));
    }
    let mut stale = vec![0x5e; 32];
    stale[..8].copy_from_slice(&(i as u64).to_le_bytes());
    out.push((job_id ^ 1, stale, Expected::Rejected(RejectReason::Stale)));
    out.push((
        job_id,
        vec![u8::try_from(i % 256).unwrap()],
        Expected::Rejected(RejectReason::InvalidNonce),
    ));
    for (nonce, d) in prepared.valid.iter().skip(i).step_by(config.miners.max(1)) {
        out.push((job_id, nonce.clone(), Expected::Valid(d.clone())));
    }
    out
}

async fn run_miner(
    i: usize,
    mut handle: WorkerHandle,
    prepared: Arc<Prepared>,
    welcomed: mpsc::UnboundedSender<usize>,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> MinerRecord {
    let mut record = MinerRecord::default();
    if welcome(&mut handle, &welcomed).await.is_none() {
        return record;
    }
    let mut job = None;
    let mut submitted = false;
    loop {
        if let Some(job_id) = job
            && !submitted
            && *go.borrow()
        {
            submitted = true;
            record.sent = submissions(i, job_id, &prepared);
            for (job_id, nonce, _) in &record.sent {
                handle.send(Solution {
                    job_id: *job_id,
                    nonce: nonce.clone(),
                });
            }
        }
        tokio::select! {
            update = handle.recv() => match update {
                Some(LinkUpdate::Received(Message::Job(Job { job_id, .. }))) => {
                    job.get_or_insert(job_id);
                }
                Some(LinkUpdate::Received(Message::SolutionVerdict(SolutionVerdict {
                    job_id, nonce, verdict, ..
                }))) => record.verdicts.push((job_id, nonce, verdict)),
                Some(LinkUpdate::Disconnected { .. }) => record.drops += 1,
                Some(_) => {}
                None => break,
            },
            _ = go.changed(), if !submitted => {}
            _ = stop.changed() => break,
        }
    }
    handle.shutdown().await;
    record
}

/// Verifies every batch for real; holds the answers until every verifier has received a
/// batch (the link hands work to the least busy verifier first, so with enough signatures
/// each gets one before anyone answers), so that every session takes part.
async fn run_verifier(
    mut handle: WorkerHandle,
    verifiers: usize,
    participating: watch::Sender<usize>,
    backend: Arc<dyn VerifyBackend>,
    cache: Arc<KeyCache>,
    welcomed: mpsc::UnboundedSender<usize>,
    mut stop: watch::Receiver<bool>,
) -> VerifierRecord {
    let mut record = VerifierRecord::default();
    if welcome(&mut handle, &welcomed).await.is_none() {
        return record;
    }
    loop {
        tokio::select! {
            update = handle.recv() => match update {
                Some(LinkUpdate::Received(Message::VerifyBatch(VerifyBatch { batch_id, items }))) => {
                    let keyed: Vec<(&[u8], &[u8], &[u8])> = items
                        .iter()
                        .map(|i| (&i.key[..], &i.message[..], &i.signature[..]))
                        .collect();
                    let verdicts = cache.verdicts(&keyed, backend.as_ref());
                    if record.batches.is_empty() {
                        participating.send_modify(|n| *n += 1);
                    }
                    let sender = handle.sender();
                    let mut everyone = participating.subscribe();
                    tokio::spawn(async move {
                        // Without enough work for everyone, `check` says which one got none.
                        let _ = tokio::time::timeout(WAIT, everyone.wait_for(|n| *n >= verifiers))
                            .await;
                        let _ = sender.send(VerifyResult { batch_id, verdicts }.into());
                    });
                    record
                        .batches
                        .push((batch_id, items.into_iter().map(|i| i.signature).collect()));
                }
                Some(LinkUpdate::Disconnected { .. }) => record.drops += 1,
                Some(_) => {}
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    handle.shutdown().await;
    record
}

impl LoadOutcome {
    /// Checks that nothing was lost or answered twice, and that every answer is the right
    /// one; panics with what differs.
    pub fn check(&self, config: &LoadConfig) {
        // Every session stayed up through the run.
        let drops: usize = self.miners.iter().map(|m| m.drops).sum::<usize>()
            + self.verifiers.iter().map(|v| v.drops).sum::<usize>();
        assert_eq!(drops, 0, "sessions dropped during the run");

        // Solutions: one verdict each, the expected one.
        let mut accepted = Vec::new();
        let mut not_better = Vec::new();
        let mut judged = 0u64;
        for (i, miner) in self.miners.iter().enumerate() {
            assert!(!miner.sent.is_empty(), "miner {i} submitted nothing");
            let mut answers: HashMap<(u64, &[u8]), Vec<Verdict>> = HashMap::new();
            for (job_id, nonce, verdict) in &miner.verdicts {
                answers
                    .entry((*job_id, nonce.as_slice()))
                    .or_default()
                    .push(*verdict);
            }
            assert_eq!(
                answers.len(),
                miner.sent.len(),
                "miner {i}: verdicts for other nonces than it sent, or some missing"
            );
            for (job_id, nonce, expected) in &miner.sent {
                let got = answers
                    .get(&(*job_id, &nonce[..]))
                    .unwrap_or_else(|| panic!("miner {i}: no verdict for {}", hex(nonce)));
                assert_eq!(got.len(), 1, "miner {i}: {} answered {got:?}", hex(nonce));
                judged += 1;
                match (expected, got[0]) {
                    (Expected::Rejected(r), v) => {
                        assert_eq!(v, Verdict::Rejected(*r), "miner {i}: {}", hex(nonce));
                    }
                    (Expected::Valid(d), Verdict::Accepted) => {
                        accepted.push((nonce.clone(), d.clone()))
                    }
                    (Expected::Valid(d), Verdict::Rejected(RejectReason::NotBetter)) => {
                        not_better.push(d.clone());
                    }
                    (Expected::Valid(_), v) => panic!("miner {i}: a valid solution got {v:?}"),
                }
            }
        }
        // The node got exactly the accepted ones, each once, no two of equal difficulty (the
        // link forwards only a solution better than every one before it; the forwards run as
        // concurrent requests, so their order of arrival at the node is not the link's order).
        let mut forwarded = self.forwarded.clone();
        let mut difficulties: Vec<&IxiNumber> = forwarded.iter().map(|f| &f.1).collect();
        difficulties.sort();
        assert!(
            difficulties.windows(2).all(|w| w[0] < w[1]),
            "two forwards of equal difficulty: {difficulties:?}"
        );
        assert!(!forwarded.is_empty(), "no solution reached the node");
        forwarded.sort();
        accepted.sort();
        assert_eq!(
            forwarded, accepted,
            "forwarded solutions differ from the accepted ones"
        );
        let best = forwarded.iter().map(|f| &f.1).max().expect("one accepted");
        assert!(not_better.iter().all(|d| d < best));
        assert_eq!(
            self.stats.solutions_accepted + self.stats.solutions_rejected,
            judged
        );
        assert_eq!(self.stats.solutions_accepted, forwarded.len() as u64);

        // Verification: every item answered exactly once, each verifier took part.
        let items = config.verify_items();
        // (A signer signs a block once per entry, so equal items recur: they are counted, not
        // told apart.)
        let mut handed_out = 0;
        let mut batch_ids: HashMap<u64, usize> = HashMap::new();
        for (k, v) in self.verifiers.iter().enumerate() {
            assert!(!v.batches.is_empty(), "verifier {k} got no batch");
            for (batch_id, signatures) in &v.batches {
                *batch_ids.entry(*batch_id).or_default() += 1;
                assert!((1..=BATCH_ITEMS).contains(&signatures.len()));
                handed_out += signatures.len();
            }
        }
        assert!(
            batch_ids.values().all(|n| *n == 1),
            "a batch handed out twice"
        );
        assert_eq!(handed_out, items, "signatures handed to verifiers");
        assert_eq!(self.stats.signatures_verified, items as u64);
        assert_eq!(self.stats.signatures_verified_locally, 0);
        assert_eq!(self.stats.batches_redispatched, 0);
        assert_eq!(self.stats.signatures_queued, 0);
        let shadow = self.stats.shadow.clone().unwrap();
        assert_eq!(shadow.blocks_audited, config.blocks);
        assert_eq!(shadow.refused, 0);
        // The verdicts reached their tickets: exactly the broken signatures are findings
        // about signatures. (A chain longer than 30 blocks also has PoW findings: its signers
        // reuse the first block's solutions past their window.)
        let mut findings: Vec<_> = self
            .findings
            .iter()
            .filter(|f| matches!(f.1, FindingKind::BlockSignature | FindingKind::Transaction))
            .copied()
            .collect();
        findings.sort();
        let mut broken: Vec<_> = config
            .broken_signatures
            .iter()
            .map(|(b, i)| (FIRST_BLOCK + b, FindingKind::BlockSignature, Some(*i)))
            .collect();
        broken.sort();
        assert_eq!(findings, broken);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resident set size of this process, in bytes (Linux; 0 elsewhere).
#[must_use]
pub fn rss_bytes() -> u64 {
    status_kib("VmRSS:") * 1024
}

/// Peak resident set size of this process, in bytes (Linux; 0 elsewhere).
#[must_use]
pub fn peak_rss_bytes() -> u64 {
    status_kib("VmHWM:") * 1024
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Elapsed wall time since `start`, in seconds, for progress lines.
#[must_use]
pub fn secs(start: Instant) -> f64 {
    start.elapsed().as_secs_f64()
}
