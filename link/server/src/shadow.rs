//! Live shadow verification: the link follows the node's height and re-checks every block once
//! its signature set is final (at depth 5), through the same [`Auditor`] as `ixi-link audit`.
//!
//! - A fetcher polls `getblockcount` (about every 2 s) and prepares each final block in order:
//!   the PoW, block-total and transaction-binding checks run at once, the RSA signatures become
//!   [`VerifyWork`] with a ticket and go to the coordinator, which hands them to the connected
//!   verifiers (or the link's own threads).
//! - At most `max_blocks_in_flight` blocks wait for verdicts; while they do the fetcher waits,
//!   so a chain that outruns the verifiers makes the link fall behind, never drop work. Falling
//!   behind by more than `behind_warning` blocks is logged and counted, and the link catches up
//!   block by block.
//! - Each verdict comes back under its ticket; a signature that does not verify is confirmed
//!   with the node's own `verify` and written as a finding before it is counted.
//! - A block the node cannot give (after retries) or gives malformed is an error naming the
//!   block and the field, counted in `block_errors`; nothing of it is counted as audited.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ixi_link_audit::{AuditError, Auditor, Finding, FindingKind, FindingLog, Prepared, RsaWork};
use ixi_link_proto::VerifyItem;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::source::VerifyWork;

/// How shadow verification runs.
#[derive(Debug, Clone)]
pub struct ShadowConfig {
    /// Fetches and checks the blocks.
    pub auditor: Arc<Auditor>,
    /// `--audit-log`: one JSON line per finding.
    pub audit_log: Option<PathBuf>,
    /// How often to ask for the node's height.
    pub poll_interval: Duration,
    /// A block is checked once this many blocks follow it (its signature set is then final).
    pub depth: u64,
    /// Blocks waiting for verdicts at most.
    pub max_blocks_in_flight: usize,
    /// Blocks behind the node's final height before a warning.
    pub behind_warning: u64,
    /// The first block to check; `None`: the node's newest final block at start.
    pub start_at: Option<u64>,
    /// Log each finding at WARN (besides the audit log).
    pub warn_findings: bool,
}

impl ShadowConfig {
    /// Defaults: poll every 2 s, depth 5, 8 blocks in flight, warn 10 blocks behind.
    #[must_use]
    pub fn new(auditor: Arc<Auditor>) -> Self {
        Self {
            auditor,
            audit_log: None,
            poll_interval: Duration::from_secs(2),
            depth: 5,
            max_blocks_in_flight: 8,
            behind_warning: 10,
            start_at: None,
            warn_findings: true,
        }
    }
}

/// Shadow verification's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowStats {
    /// Blocks fully checked (every verdict back).
    pub blocks_audited: u64,
    /// Block signatures, PoW solutions and transactions checked.
    pub counts: ixi_link_audit::Counts,
    /// Findings written.
    pub findings: u64,
    /// Blocks that could not be checked (the node's answer missing or malformed).
    pub block_errors: u64,
    /// Final blocks not yet fully checked.
    pub behind: u64,
    /// Times the link fell more than `behind_warning` blocks behind.
    pub behind_warnings: u64,
    /// Signatures refused by a full queue (their blocks are not counted as audited).
    pub refused: u64,
    /// The next block to fetch.
    pub next_block: Option<u64>,
    /// Findings written per kind, in the order of [`FindingKind::ALL`].
    pub findings_by_kind: [u64; FindingKind::ALL.len()],
    /// Block signatures whose RSA verdict came back.
    pub verified_block_signatures: u64,
    /// Transaction signatures whose RSA verdict came back.
    pub verified_transactions: u64,
    /// The node's height (`getblockcount`) at the last poll.
    pub node_height: Option<u64>,
}

/// What shadow verification found, for the devnet's comparison with the simulated node's
/// ledger.
#[derive(Debug, Clone, Default)]
pub struct ShadowReport {
    /// Every finding, in the order written.
    pub findings: Vec<Finding>,
    /// Blocks fully checked.
    pub audited: BTreeSet<u64>,
}

/// The shadow verifier's shared state, readable by the server.
#[derive(Debug, Default)]
pub struct ShadowShared {
    stats: Mutex<ShadowStats>,
    report: Mutex<ShadowReport>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these are held; the data stays consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ShadowShared {
    /// The counters now.
    #[must_use]
    pub fn stats(&self) -> ShadowStats {
        lock(&self.stats).clone()
    }

    /// The findings and audited blocks so far.
    #[must_use]
    pub fn report(&self) -> ShadowReport {
        lock(&self.report).clone()
    }

    /// The last `limit` findings, oldest first (without copying the others).
    #[must_use]
    pub fn recent_findings(&self, limit: usize) -> Vec<Finding> {
        let report = lock(&self.report);
        let skip = report.findings.len().saturating_sub(limit);
        report.findings[skip..].to_vec()
    }
}

/// What the shadow verifier hears from the coordinator.
#[derive(Debug)]
pub enum ShadowInput {
    /// Verdicts under their tickets.
    Verified(Vec<(u64, bool)>),
    /// Tickets the queue refused.
    Refused(Vec<u64>),
}

struct BlockState {
    remaining: usize,
    failed: bool,
    _permit: OwnedSemaphorePermit,
}

/// Runs shadow verification until the channels close: prepared blocks' RSA work goes out on
/// `to_core`, verdicts come back on `from_core`.
///
/// # Errors
/// A [`ixi_link_audit::finding::LogError`] when the audit log cannot be opened or written: a
/// finding must never go uncounted nor counted unwritten.
pub async fn run(
    config: ShadowConfig,
    shared: Arc<ShadowShared>,
    to_core: mpsc::UnboundedSender<Vec<VerifyWork>>,
    mut from_core: mpsc::UnboundedReceiver<ShadowInput>,
) -> Result<(), ixi_link_audit::finding::LogError> {
    let mut log = FindingLog::open(config.audit_log.as_deref())?.with_warn(config.warn_findings);
    let permits = Arc::new(Semaphore::new(config.max_blocks_in_flight.max(1)));
    let (prepared_tx, mut prepared_rx) = mpsc::channel(1);
    let fetcher = tokio::spawn(fetch_loop(
        config.clone(),
        Arc::clone(&shared),
        Arc::clone(&permits),
        prepared_tx,
    ));
    let _stop_fetcher = AbortOnDrop(fetcher);
    let mut next_ticket: u64 = 1;
    let mut pending: HashMap<u64, RsaWork> = HashMap::new();
    let mut blocks: HashMap<u64, BlockState> = HashMap::new();
    loop {
        tokio::select! {
            prepared = prepared_rx.recv() => {
                let Some((prepared, permit)) = prepared else { return Ok(()) };
                let Prepared { block, rsa, findings, counts } = prepared;
                for finding in &findings {
                    record(&mut log, &shared, finding)?;
                }
                lock(&shared.stats).counts += counts;
                let mut work = Vec::with_capacity(rsa.len());
                for w in rsa {
                    let ticket = next_ticket;
                    next_ticket += 1;
                    work.push(VerifyWork {
                        item: VerifyItem {
                            key: w.key.clone(),
                            message: w.message.clone(),
                            signature: w.signature.clone(),
                        },
                        ticket,
                    });
                    pending.insert(ticket, w);
                }
                let state = BlockState { remaining: work.len(), failed: false, _permit: permit };
                if work.is_empty() {
                    complete(&shared, block, &state);
                } else {
                    blocks.insert(block, state);
                    if to_core.send(work).is_err() {
                        return Ok(());
                    }
                }
            }
            input = from_core.recv() => {
                let (results, refused) = match input {
                    None => return Ok(()),
                    Some(ShadowInput::Verified(r)) => (r, false),
                    Some(ShadowInput::Refused(t)) => (t.into_iter().map(|t| (t, true)).collect(), true),
                };
                for (ticket, ok) in results {
                    let Some(work) = pending.remove(&ticket) else { continue };
                    let block = work.ticket.block;
                    if refused {
                        lock(&shared.stats).refused += 1;
                    } else {
                        let mut stats = lock(&shared.stats);
                        match work.ticket.kind {
                            FindingKind::BlockSignature => stats.verified_block_signatures += 1,
                            _ => stats.verified_transactions += 1,
                        }
                    }
                    if !refused && !ok {
                        let finding = config.auditor.confirm(&work).await;
                        record(&mut log, &shared, &finding)?;
                    }
                    if let Some(state) = blocks.get_mut(&block) {
                        state.remaining -= 1;
                        state.failed |= refused;
                        if state.remaining == 0
                            && let Some(state) = blocks.remove(&block)
                        {
                            complete(&shared, block, &state);
                        }
                    }
                }
            }
        }
    }
}

fn record(
    log: &mut FindingLog,
    shared: &ShadowShared,
    finding: &Finding,
) -> Result<(), ixi_link_audit::finding::LogError> {
    log.record(finding)?;
    {
        let mut stats = lock(&shared.stats);
        stats.findings += 1;
        if let Some(i) = FindingKind::ALL.iter().position(|k| *k == finding.kind) {
            stats.findings_by_kind[i] += 1;
        }
    }
    lock(&shared.report).findings.push(finding.clone());
    Ok(())
}

fn complete(shared: &ShadowShared, block: u64, state: &BlockState) {
    if state.failed {
        tracing::warn!(
            block,
            "block not fully verified: some of its signatures were refused"
        );
        return;
    }
    tracing::info!(block, "block audited");
    lock(&shared.stats).blocks_audited += 1;
    lock(&shared.report).audited.insert(block);
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Follows the node's final height and prepares each block in order.
async fn fetch_loop(
    config: ShadowConfig,
    shared: Arc<ShadowShared>,
    permits: Arc<Semaphore>,
    out: mpsc::Sender<(Prepared, OwnedSemaphorePermit)>,
) {
    let auditor = &config.auditor;
    let mut next = config.start_at;
    let mut warned_behind = false;
    loop {
        let height = match auditor.block_count().await {
            Ok(h) => {
                lock(&shared.stats).node_height = Some(h);
                h
            }
            Err(e) => {
                tracing::warn!("shadow verification: the node's height is unknown: {e}");
                tokio::time::sleep(config.poll_interval).await;
                continue;
            }
        };
        let Some(last_final) = height.checked_sub(config.depth) else {
            tokio::time::sleep(config.poll_interval).await;
            continue;
        };
        let mut num = *next.get_or_insert(last_final);
        while num <= last_final {
            let behind = last_final + 1 - num;
            {
                let mut s = lock(&shared.stats);
                s.behind =
                    behind + (config.max_blocks_in_flight - permits.available_permits()) as u64;
                s.next_block = Some(num);
            }
            if behind > config.behind_warning {
                if !warned_behind {
                    warned_behind = true;
                    lock(&shared.stats).behind_warnings += 1;
                    tracing::warn!(
                        behind,
                        "shadow verification is {behind} blocks behind the node; catching up"
                    );
                }
            } else {
                warned_behind = false;
            }
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            match auditor.prepare(num).await {
                Ok(prepared) => {
                    if out.send((prepared, permit)).await.is_err() {
                        return;
                    }
                }
                Err(AuditError::Node { source, .. }) if source.is_transient() => {
                    tracing::warn!(
                        block = num,
                        "shadow verification: node unreachable, will retry: {source}"
                    );
                    drop(permit);
                    tokio::time::sleep(config.poll_interval).await;
                    break;
                }
                Err(e) => {
                    tracing::error!("shadow verification: block {num} not checked: {e}");
                    lock(&shared.stats).block_errors += 1;
                }
            }
            num += 1;
            next = Some(num);
        }
        {
            let mut s = lock(&shared.stats);
            s.behind = (config.max_blocks_in_flight - permits.available_permits()) as u64
                + (last_final + 1).saturating_sub(num);
            s.next_block = Some(num);
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}
