//! The link's metrics, status and history, from [`LinkStats`] and the shadow verifier's
//! counters; and the node's block totals for the reward estimate.
//!
//! Every history is a bounded ring, sampled by a task of the observer's own:
//!
//! | what | bound |
//! |---|---|
//! | samples for the dashboard (rates, solutions, signatures, findings) | [`HISTORY_SAMPLES`], one each [`SAMPLE_SECONDS`] s: the last hour |
//! | per-worker hash-rate points | the same, per worker |
//! | workers tracked (connected, or seen in the last hour) | [`MAX_WORKERS`]; the longest unseen are dropped first |
//! | rate samples per worker and for the signatures | one a second for 15 min |
//! | blocks with their best solutions | the current one and [`RECENT_BLOCKS`] before it (the link core keeps them) |
//! | block changes for the block-time estimate | [`BLOCK_TIMES`] |
//! | the node's block totals | [`BLOCK_TOTALS`] blocks |
//! | findings in the status | the last [`RECENT_FINDINGS`] |

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ixi_formats::number::IxiNumber;
use ixi_link_audit::FindingKind;
use ixi_link_proto::{IdleReason, Role};
use ixi_link_server::core::{BlockRecord, LinkStats, PeerKey, RECENT_BLOCKS};
use ixi_link_server::shadow::{ShadowShared, ShadowStats};
use ixi_node_api::NodeClient;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::http::Endpoint;
use crate::metrics::{self, Labels, label};
use crate::reward::{self, difficulty_f64 as as_f64};
use crate::windows::{CounterRates, WINDOWS, rates_json};
use crate::worker::{lock, sampled_every_second};

/// Seconds between two samples of the dashboard's history.
pub const SAMPLE_SECONDS: u64 = 5;
/// Samples kept: an hour.
pub const HISTORY_SAMPLES: usize = 720;
/// Workers tracked at most (connected ones, and those seen in the last hour).
pub const MAX_WORKERS: usize = 256;
/// A disconnected worker is forgotten an hour after it was last seen.
pub const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// Block changes kept for the block-time estimate.
pub const BLOCK_TIMES: usize = 32;
/// Block totals kept.
pub const BLOCK_TOTALS: usize = 16;
/// Findings in the status.
pub const RECENT_FINDINGS: usize = 50;
/// Blocks in the status (all [`RECENT_BLOCKS`] are in the history).
pub const STATUS_BLOCKS: usize = 20;
/// The block time assumed until two block changes were seen (Ixian's target).
pub const DEFAULT_BLOCK_SECONDS: f64 = 30.0;
/// How often the node's block total is read (`getblockcount`, then `getblock` of the newest
/// final block when it changed).
pub const TOTALS_EVERY: Duration = Duration::from_secs(15);
/// A block's signature set is final this many blocks deep; its total is read there.
pub const FINAL_DEPTH: u64 = 5;
/// Hash-rate factors of the reward table: what half, twice, four and ten times the hash rate
/// would bring.
pub const RATE_FACTORS: [f64; 5] = [0.5, 1.0, 2.0, 4.0, 10.0];

/// A block's `"Total Signer Difficulty"` as the node gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTotal {
    /// The block.
    pub block: u64,
    /// Its signers' difficulties, summed.
    pub total: IxiNumber,
}

/// One point of the dashboard's history.
#[derive(Debug, Clone)]
struct Sample {
    /// Unix time, milliseconds.
    t: u64,
    hash_rate: f64,
    verify_rate: f64,
    accepted: u64,
    rejected: u64,
    verified: u64,
    findings: [u64; FindingKind::ALL.len()],
}

#[derive(Debug)]
struct Tracked {
    role: Option<Role>,
    name: Arc<str>,
    backends: Arc<[String]>,
    connected: bool,
    done: u64,
    reported_rate: f64,
    rates: CounterRates,
    last_seen: Option<SystemTime>,
    /// `(unix ms, attempts or verifications per second over 10 s)`.
    series: VecDeque<(u64, f64)>,
}

#[derive(Debug, Default)]
struct LinkState {
    workers: BTreeMap<PeerKey, Tracked>,
    verified: CounterRates,
    samples: VecDeque<Sample>,
    last_sample: Option<Instant>,
    /// `(height, when it became current)`.
    block_times: VecDeque<(u64, Instant)>,
    totals: VecDeque<BlockTotal>,
}

/// The link's observer: samples [`LinkStats`] each second (while it lives) and answers the
/// endpoint's requests.
pub struct LinkObserver {
    stats: watch::Receiver<LinkStats>,
    shadow: Option<Arc<ShadowShared>>,
    state: Mutex<LinkState>,
}

impl fmt::Debug for LinkObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkObserver").finish_non_exhaustive()
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn idle_reason(r: IdleReason) -> &'static str {
    match r {
        IdleReason::Cooldown => "cooldown",
        IdleReason::Syncing => "syncing",
        IdleReason::Unreachable => "unreachable",
    }
}

fn role_name(role: Option<Role>) -> &'static str {
    role.map_or("unknown", Role::as_str)
}

/// Every block the link knows of, oldest first: the recent ones, then the current one.
fn blocks(s: &LinkStats) -> impl DoubleEndedIterator<Item = &BlockRecord> {
    s.recent_blocks.iter().chain(s.current_block.as_ref())
}

/// The node's best accepted solution: for the block mined now, or else the newest block that
/// has one.
fn best_accepted(s: &LinkStats) -> Option<(u64, &IxiNumber)> {
    blocks(s)
        .rev()
        .find_map(|b| b.best_accepted.as_ref().map(|d| (b.height, d)))
}

impl LinkObserver {
    /// Observes `stats` (and the shadow verifier's counters); samples each second on the
    /// current tokio runtime.
    #[must_use]
    pub fn start(
        stats: watch::Receiver<LinkStats>,
        shadow: Option<Arc<ShadowShared>>,
    ) -> Arc<Self> {
        let observer = Self {
            stats,
            shadow,
            state: Mutex::default(),
        };
        sampled_every_second(observer, |o: &Self, now| o.sample(now, SystemTime::now()))
    }

    /// Reads the node's block totals through `client` every [`TOTALS_EVERY`] while the
    /// observer lives.
    pub fn read_totals(self: &Arc<Self>, client: NodeClient) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TOTALS_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last = None;
            loop {
                tick.tick().await;
                if weak.strong_count() == 0 {
                    return;
                }
                let block = match client.block_count().await {
                    Ok(n) => n.saturating_sub(FINAL_DEPTH),
                    Err(e) => {
                        tracing::debug!("block total not read: {e}");
                        continue;
                    }
                };
                if last == Some(block) {
                    continue;
                }
                match client.block(block).await {
                    Ok(b) => {
                        last = Some(block);
                        let Some(observer) = weak.upgrade() else {
                            return;
                        };
                        if let Some(total) = b.total_signer_difficulty {
                            observer.add_total(BlockTotal { block, total });
                        }
                    }
                    Err(e) => tracing::debug!("block {block} total not read: {e}"),
                }
            }
        });
    }

    /// Records a block's total (the newest is the estimate's).
    pub fn add_total(&self, total: BlockTotal) {
        let mut state = lock(&self.state);
        if state.totals.back().is_some_and(|t| t.block == total.block) {
            return;
        }
        state.totals.push_back(total);
        while state.totals.len() > BLOCK_TOTALS {
            state.totals.pop_front();
        }
    }

    fn shadow_stats(&self) -> Option<ShadowStats> {
        self.shadow.as_ref().map(|s| s.stats())
    }

    /// One second's sample: workers and rates, block changes, and every
    /// [`SAMPLE_SECONDS`] a point of the history.
    fn sample(&self, now: Instant, wall: SystemTime) {
        let s = self.stats.borrow().clone();
        let shadow = self.shadow_stats();
        let mut state = lock(&self.state);
        let state = &mut *state;
        for t in state.workers.values_mut() {
            t.connected = false;
        }
        for w in &s.workers {
            let t = state.workers.entry(w.pin).or_insert_with(|| Tracked {
                role: None,
                name: Arc::from(""),
                backends: Arc::from(Vec::new()),
                connected: false,
                done: 0,
                reported_rate: 0.0,
                rates: CounterRates::default(),
                last_seen: None,
                series: VecDeque::new(),
            });
            t.connected = true;
            t.role = w.role.or(t.role);
            t.name = Arc::clone(&w.name);
            t.backends = Arc::clone(&w.backends);
            t.done = w.done;
            t.reported_rate = w.rate;
            if let Some(seen) = w.last_seen {
                t.last_seen = wall.checked_sub(now.saturating_duration_since(seen));
            }
        }
        // A disconnected worker's count stands still: its rates fall to 0 over the windows.
        for t in state.workers.values_mut() {
            t.rates.record(now, t.done);
        }
        forget_workers(&mut state.workers, wall);
        state.verified.record(now, s.signatures_verified);
        if let Some(b) = &s.current_block
            && state.block_times.back().is_none_or(|(h, _)| *h != b.height)
        {
            state.block_times.push_back((b.height, now));
            while state.block_times.len() > BLOCK_TIMES {
                state.block_times.pop_front();
            }
        }
        let due = state
            .last_sample
            .is_none_or(|t| now.duration_since(t) >= Duration::from_secs(SAMPLE_SECONDS));
        if !due {
            return;
        }
        state.last_sample = Some(now);
        let t = unix_ms(wall);
        let mut hash_rate = 0.0;
        for w in state.workers.values_mut() {
            let rate = w.rates.rates()[0];
            if w.role == Some(Role::Miner) {
                hash_rate += rate;
            }
            w.series.push_back((t, rate));
            while w.series.len() > HISTORY_SAMPLES {
                w.series.pop_front();
            }
        }
        let sample = Sample {
            t,
            hash_rate,
            verify_rate: state.verified.rates()[0],
            accepted: s.solutions_accepted,
            rejected: s.solutions_rejected,
            verified: s.signatures_verified,
            findings: shadow.map_or([0; 4], |sh| sh.findings_by_kind),
        };
        state.samples.push_back(sample);
        while state.samples.len() > HISTORY_SAMPLES {
            state.samples.pop_front();
        }
    }

    /// The miners' hash rate over each window, summed.
    fn hash_rates(state: &LinkState) -> [f64; 3] {
        let mut total = [0.0; 3];
        for w in state.workers.values() {
            if w.role == Some(Role::Miner) {
                for (t, r) in total.iter_mut().zip(w.rates.rates()) {
                    *t += r;
                }
            }
        }
        total
    }

    /// Seconds per block: the average over the block changes seen, or
    /// [`DEFAULT_BLOCK_SECONDS`] before two were.
    fn block_seconds(state: &LinkState) -> f64 {
        match (state.block_times.front(), state.block_times.back()) {
            (Some((h0, t0)), Some((h1, t1))) if h1 > h0 => {
                // Block counts far below 2^53.
                #[allow(clippy::cast_precision_loss)]
                let blocks = (h1 - h0) as f64;
                t1.duration_since(*t0).as_secs_f64() / blocks
            }
            _ => DEFAULT_BLOCK_SECONDS,
        }
    }

    /// The reward estimate of the status (see [`crate::reward`]).
    fn reward_json(s: &LinkStats, state: &LinkState) -> Value {
        let height = s.current_block.as_ref().map(|b| b.height).or(s.height);
        let block_seconds = Self::block_seconds(state);
        let rates = Self::hash_rates(state);
        // The steadiest window that has seen anything.
        let hash_rate = rates
            .iter()
            .rev()
            .copied()
            .find(|r| *r > 0.0)
            .unwrap_or(0.0);
        let mut out = serde_json::Map::new();
        out.insert("height".into(), json!(height));
        out.insert(
            "blockSigningRewardIxi".into(),
            json!(height.and_then(reward::signing_reward)),
        );
        out.insert(
            "transactionFees".into(),
            json!(
                "not included: v10+ blocks add their fees to the signing reward, so this is a floor"
            ),
        );
        out.insert(
            "rule".into(),
            json!("proportional to difficulty (the rule in force; open upstream proposals would split equally)"),
        );
        out.insert("blockSeconds".into(), json!(block_seconds));
        out.insert("hashRate".into(), json!(hash_rate));
        let total = state.totals.back();
        out.insert(
            "totalSignerDifficulty".into(),
            json!(total.map(|t| t.total.to_string())),
        );
        out.insert(
            "totalSignerDifficultyBlock".into(),
            json!(total.map(|t| t.block)),
        );
        let best = best_accepted(s);
        out.insert(
            "bestDifficulty".into(),
            json!(best.map(|(_, d)| d.to_string())),
        );
        out.insert("bestDifficultyBlock".into(), json!(best.map(|(h, _)| h)));
        let Some(total) = total.map(|t| as_f64(&t.total)) else {
            return Value::Object(out);
        };
        if let Some((_, d)) = best {
            let fields = reward::estimate_fields(height, as_f64(d), total);
            if let Some(text) = reward::sentence(&fields) {
                out.insert("summary".into(), json!(text));
            }
            out.extend(fields);
        }
        let by_rate: Vec<Value> = RATE_FACTORS
            .iter()
            .map(|factor| {
                let rate = hash_rate * factor;
                let median = reward::median_best_difficulty(rate * block_seconds);
                let mut row = reward::estimate_fields(height, median, total);
                row.insert("factor".into(), json!(factor));
                row.insert("hashRate".into(), json!(rate));
                row.insert("medianBestDifficulty".into(), json!(median));
                Value::Object(row)
            })
            .collect();
        out.insert("byHashRate".into(), json!(by_rate));
        Value::Object(out)
    }

    /// The link's `/v1/status`.
    #[must_use]
    pub fn status_json(&self) -> Value {
        let s = self.stats.borrow().clone();
        let shadow = self.shadow_stats();
        let recent_findings = self
            .shadow
            .as_ref()
            .map(|sh| sh.recent_findings(RECENT_FINDINGS));
        let state = lock(&self.state);
        let now = SystemTime::now();
        let node_state = match (&s.idle_reason, &s.current_block) {
            (Some(_), _) => "idle",
            (None, Some(_)) => "mining",
            (None, None) => "unknown",
        };
        let workers: Vec<Value> = state
            .workers
            .iter()
            .map(|(pin, w)| {
                json!({
                    "pin": hex(pin),
                    "pinPrefix": hex(&pin[..8]),
                    "name": &*w.name,
                    "role": role_name(w.role),
                    "backends": &*w.backends,
                    "connected": w.connected,
                    "reportedRate": w.reported_rate,
                    "done": w.done,
                    "rate": w.rates.json(),
                    "lastSeen": w.last_seen.map(|t| unix_ms(t) as f64 / 1000.0),
                    "lastSeenSecondsAgo": w.last_seen
                        .map(|t| now.duration_since(t).map_or(0.0, |d| d.as_secs_f64())),
                })
            })
            .collect();
        let blocks: Vec<Value> = blocks(&s)
            .rev()
            .take(STATUS_BLOCKS)
            .map(|b| {
                block_json(
                    b,
                    s.current_block
                        .as_ref()
                        .is_some_and(|c| c.height == b.height),
                )
            })
            .collect();
        let findings = recent_findings.map(|list| {
            list.iter()
                .map(ixi_link_audit::Finding::to_json)
                .collect::<Vec<_>>()
        });
        json!({
            "role": "link",
            "node": {
                "state": node_state,
                "up": s.idle_reason != Some(IdleReason::Unreachable) && (s.current_block.is_some() || s.idle_reason.is_some()),
                "height": shadow.as_ref().and_then(|sh| sh.node_height),
                "miningHeight": s.current_block.as_ref().map(|b| b.height),
                "minDifficulty": s.current_block.as_ref().map(|b| b.min_difficulty.to_string()),
                "idleReason": s.idle_reason.map(idle_reason),
                "idle": s.idle,
            },
            "workers": workers,
            "hashRate": rates_json(Self::hash_rates(&state)),
            "solutions": {
                "accepted": s.solutions_accepted,
                "rejected": s.solutions_rejected,
                "forwardsPending": s.forwards_pending,
                "bestAcceptedEver": s.best_difficulty.as_ref().map(ToString::to_string),
            },
            "blocks": blocks,
            "verification": {
                "signaturesVerified": s.signatures_verified,
                "verifiedLocally": s.signatures_verified_locally,
                "perSecond": state.verified.json(),
                "queued": s.signatures_queued,
                "refused": s.signatures_refused,
                "batchesInFlight": s.batches_in_flight,
                "batchesRedispatched": s.batches_redispatched,
                "verifiers": s.verifiers,
                "verifierRate": s.verify_rate,
            },
            "shadow": shadow.as_ref().map(|sh| json!({
                "blocksAudited": sh.blocks_audited,
                "nextBlock": sh.next_block,
                "behind": sh.behind,
                "behindWarnings": sh.behind_warnings,
                "blockErrors": sh.block_errors,
                "refused": sh.refused,
                "checked": {
                    "blockSignatures": sh.counts.block_signatures,
                    "powSolutions": sh.counts.pow_solutions,
                    "transactions": sh.counts.transactions,
                    "skipped": sh.counts.skipped,
                    "legacySignatures": sh.counts.legacy_signatures,
                },
                "findings": sh.findings,
                "findingsByKind": findings_by_kind(sh),
                "recentFindings": findings,
            })),
            "reward": Self::reward_json(&s, &state),
            "bounds": {
                "historySeconds": HISTORY_SAMPLES as u64 * SAMPLE_SECONDS,
                "sampleSeconds": SAMPLE_SECONDS,
                "blocks": RECENT_BLOCKS + 1,
                "statusBlocks": STATUS_BLOCKS,
                "workers": MAX_WORKERS,
                "recentFindings": RECENT_FINDINGS,
            },
        })
    }

    /// The dashboard's `/v1/history`: the last hour of samples, each worker's hash-rate points,
    /// and the blocks with their best solutions.
    #[must_use]
    pub fn history_json(&self) -> Value {
        let s = self.stats.borrow().clone();
        let state = lock(&self.state);
        let samples: Vec<Value> = state
            .samples
            .iter()
            .map(|p| {
                json!([
                    p.t,
                    p.hash_rate,
                    p.verify_rate,
                    p.accepted,
                    p.rejected,
                    p.verified,
                    p.findings
                ])
            })
            .collect();
        let workers: Vec<Value> = state
            .workers
            .iter()
            .map(|(pin, w)| {
                json!({
                    "pinPrefix": hex(&pin[..8]),
                    "name": &*w.name,
                    "role": role_name(w.role),
                    "connected": w.connected,
                    "points": w.series.iter().map(|(t, r)| json!([t, r])).collect::<Vec<_>>(),
                })
            })
            .collect();
        let blocks: Vec<Value> = blocks(&s)
            .map(|b| {
                json!({
                    "height": b.height,
                    "minDifficulty": as_f64(&b.min_difficulty),
                    "bestForwarded": b.best_forwarded.as_ref().map(as_f64),
                    "bestAccepted": b.best_accepted.as_ref().map(as_f64),
                    "accepted": b.accepted,
                    "rejected": b.rejected,
                })
            })
            .collect();
        json!({
            "sampleSeconds": SAMPLE_SECONDS,
            "columns": ["t", "hashRate", "verifyRate", "accepted", "rejected", "verified", "findings"],
            "findingKinds": FindingKind::ALL.map(FindingKind::as_str),
            "samples": samples,
            "workers": workers,
            "blocks": blocks,
        })
    }
}

/// The link's endpoint: its metrics, status, history and dashboard; `extend` adds to each
/// status (the devnet adds its in-process workers').
#[must_use]
pub fn endpoint(
    observer: &Arc<LinkObserver>,
    extend: impl Fn(&mut Value) + Send + Sync + 'static,
) -> Endpoint {
    let (status, history) = (Arc::clone(observer), Arc::clone(observer));
    Endpoint::new(move || {
        let mut value = status.status_json();
        extend(&mut value);
        value
    })
    .collector(LinkMetrics(Arc::clone(observer)))
    .dashboard(move || history.history_json())
}

fn block_json(b: &BlockRecord, current: bool) -> Value {
    json!({
        "height": b.height,
        "current": current,
        "minDifficulty": b.min_difficulty.to_string(),
        "bestForwarded": b.best_forwarded.as_ref().map(ToString::to_string),
        "bestAccepted": b.best_accepted.as_ref().map(ToString::to_string),
        "accepted": b.accepted,
        "rejected": b.rejected,
    })
}

fn findings_by_kind(sh: &ShadowStats) -> Value {
    let mut map = serde_json::Map::new();
    for (kind, n) in FindingKind::ALL.iter().zip(sh.findings_by_kind) {
        map.insert(kind.as_str().to_owned(), json!(n));
    }
    Value::Object(map)
}

/// Drops disconnected workers not seen for [`FORGET_AFTER`], then, above [`MAX_WORKERS`], the
/// disconnected ones seen longest ago.
fn forget_workers(workers: &mut BTreeMap<PeerKey, Tracked>, now: SystemTime) {
    workers.retain(|_, w| {
        w.connected
            || w.last_seen
                .is_some_and(|t| now.duration_since(t).is_ok_and(|d| d < FORGET_AFTER))
    });
    while workers.len() > MAX_WORKERS {
        let oldest = workers
            .iter()
            .filter(|(_, w)| !w.connected)
            .min_by_key(|(_, w)| w.last_seen)
            .map(|(pin, _)| *pin);
        match oldest {
            Some(pin) => {
                workers.remove(&pin);
            }
            // Only connected workers left: the link's own connection limits bound them.
            None => break,
        }
    }
}

/// The link's metric families.
#[derive(Debug, Clone)]
pub struct LinkMetrics(pub Arc<LinkObserver>);

impl Collector for LinkMetrics {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> fmt::Result {
        let o = &self.0;
        let s = o.stats.borrow().clone();
        let shadow = o.shadow_stats();
        let state = lock(&o.state);
        metrics::gauges(
            &mut e,
            "ixi_link_workers",
            "Workers connected, by role.",
            [
                (label("role", "miner"), s.miners as f64),
                (label("role", "verifier"), s.verifiers as f64),
            ],
        )?;
        metrics::verdicts(
            &mut e,
            "ixi_link_solutions",
            "Solutions judged since start: accepted by the node, or rejected (by the link's checks or the node).",
            s.solutions_accepted,
            s.solutions_rejected,
        )?;
        metrics::gauge(
            &mut e,
            "ixi_link_best_difficulty",
            "The best difficulty the node took, for the block mined now or else the newest block that had one (0: none yet).",
            best_accepted(&s).map_or(0.0, |(_, d)| as_f64(d)),
        )?;
        metrics::gauge(
            &mut e,
            "ixi_link_node_up",
            "1 while the node answers (mining or idle for a reason of its own), 0 while it is unreachable or not yet polled.",
            f64::from(u8::from(
                s.idle_reason != Some(IdleReason::Unreachable)
                    && (s.current_block.is_some() || s.idle_reason.is_some()),
            )),
        )?;
        // The node's own height when shadow verification reads it, else the block it mines.
        let height = shadow
            .as_ref()
            .and_then(|sh| sh.node_height)
            .or(s.current_block.as_ref().map(|b| b.height));
        metrics::gauges(
            &mut e,
            "ixi_link_node_height",
            "The node's height (getblockcount; the block it mines when shadow verification is off).",
            // Heights far below 2^53.
            height.map(|h| (Labels::new(), h as f64)),
        )?;
        metrics::gauges(
            &mut e,
            "ixi_link_node_min_difficulty",
            "The node's minimum difficulty for the block it mines.",
            s.current_block
                .as_ref()
                .map(|b| (Labels::new(), as_f64(&b.min_difficulty))),
        )?;
        let sh = shadow.clone().unwrap_or_default();
        metrics::counters(
            &mut e,
            "ixi_link_signatures_verified",
            "RSA signatures of the node's blocks whose verdict came back, by kind.",
            [
                (
                    label("kind", "blockSignature"),
                    sh.verified_block_signatures,
                ),
                (label("kind", "transaction"), sh.verified_transactions),
            ],
        )?;
        metrics::counter(
            &mut e,
            "ixi_link_signatures_verified_locally",
            "Signatures verified on the link's own threads.",
            s.signatures_verified_locally,
        )?;
        metrics::gauge(
            &mut e,
            "ixi_link_signatures_queued",
            "Signatures waiting for a verdict.",
            s.signatures_queued as f64,
        )?;
        metrics::counter(
            &mut e,
            "ixi_link_signatures_refused",
            "Signatures refused by a full verification queue.",
            s.signatures_refused,
        )?;
        metrics::counter(
            &mut e,
            "ixi_link_batches_redispatched",
            "Verification batches handed to another verifier after a drop or a missed deadline.",
            s.batches_redispatched,
        )?;
        metrics::counters(
            &mut e,
            "ixi_link_audit_findings",
            "Disagreements with the node found by shadow verification, by kind.",
            FindingKind::ALL
                .iter()
                .zip(sh.findings_by_kind)
                .map(|(k, n)| (label("kind", k.as_str()), n)),
        )?;
        metrics::counter(
            &mut e,
            "ixi_link_audit_blocks",
            "Blocks fully checked by shadow verification.",
            sh.blocks_audited,
        )?;
        metrics::gauge(
            &mut e,
            "ixi_link_audit_behind_blocks",
            "Final blocks not yet fully checked.",
            sh.behind as f64,
        )?;
        metrics::counter(
            &mut e,
            "ixi_link_audit_block_errors",
            "Blocks that could not be checked (missing or malformed answers).",
            sh.block_errors,
        )?;
        let rates = LinkObserver::hash_rates(&state);
        metrics::gauges(
            &mut e,
            "ixi_link_hashrate",
            "The miners' attempts per second over the window (10s, 60s, 15m), summed.",
            WINDOWS
                .iter()
                .zip(rates)
                .map(|((w, _), r)| (label("window", *w), r)),
        )?;
        let mut worker_rates = Vec::new();
        for (pin, w) in state.workers.iter().filter(|(_, w)| w.connected) {
            for ((window, _), rate) in WINDOWS.iter().zip(w.rates.rates()) {
                worker_rates.push((
                    vec![
                        ("pin", hex(&pin[..8])),
                        ("name", w.name.to_string()),
                        ("role", role_name(w.role).to_owned()),
                        ("window", (*window).to_owned()),
                    ],
                    rate,
                ));
            }
        }
        metrics::gauges(
            &mut e,
            "ixi_link_worker_rate",
            "Each connected worker's attempts (miner) or verifications (verifier) per second over the window.",
            worker_rates,
        )?;
        let reward = LinkObserver::reward_json(&s, &state);
        metrics::gauges(
            &mut e,
            "ixi_link_reward_share",
            "The best accepted solution's share of a block beside the newest final block's total signer difficulty (0..1).",
            reward["shareOfBlock"].as_f64().map(|v| (Labels::new(), v)),
        )?;
        metrics::gauges(
            &mut e,
            "ixi_link_reward_ixi_per_block",
            "IXI per block signed at that share (the signing reward by height; fees not included).",
            reward["ixiPerBlock"].as_f64().map(|v| (Labels::new(), v)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(connected: bool, seen: Option<SystemTime>) -> Tracked {
        Tracked {
            role: Some(Role::Miner),
            name: Arc::from("w"),
            backends: Arc::from(Vec::new()),
            connected,
            done: 0,
            reported_rate: 0.0,
            rates: CounterRates::default(),
            last_seen: seen,
            series: VecDeque::new(),
        }
    }

    #[test]
    fn workers_are_forgotten_after_an_hour_and_beyond_the_bound() {
        let now = SystemTime::now();
        let mut workers = BTreeMap::new();
        workers.insert([1; 32], tracked(false, now.checked_sub(FORGET_AFTER * 2)));
        workers.insert(
            [2; 32],
            tracked(false, now.checked_sub(Duration::from_secs(10))),
        );
        workers.insert([3; 32], tracked(true, None));
        forget_workers(&mut workers, now);
        assert_eq!(workers.keys().map(|k| k[0]).collect::<Vec<_>>(), [2, 3]);
        for i in 0..MAX_WORKERS + 10 {
            let mut pin = [0u8; 32];
            pin[..8].copy_from_slice(&(i as u64 + 100).to_le_bytes());
            let seen = now.checked_sub(Duration::from_secs(i as u64 + 20));
            workers.insert(pin, tracked(false, seen));
        }
        forget_workers(&mut workers, now);
        assert_eq!(workers.len(), MAX_WORKERS);
        // The connected one and the most recently seen stay.
        assert!(workers.contains_key(&[3; 32]));
        assert!(workers.contains_key(&[2; 32]));
    }

    #[test]
    fn the_history_is_an_hour_of_samples_at_most() {
        let (tx, rx) = watch::channel(LinkStats::default());
        let observer = LinkObserver {
            stats: rx,
            shadow: None,
            state: Mutex::default(),
        };
        let t0 = Instant::now();
        let wall = SystemTime::now();
        for s in 0..(HISTORY_SAMPLES as u64 + 50) * SAMPLE_SECONDS {
            tx.send_modify(|st| st.signatures_verified = s * 10);
            let dt = Duration::from_secs(s);
            observer.sample(t0 + dt, wall + dt);
        }
        let history = observer.history_json();
        let samples = history["samples"].as_array().unwrap();
        assert_eq!(samples.len(), HISTORY_SAMPLES);
        // The newest sample: 10 signatures a second.
        let last = samples.last().unwrap();
        assert!((last[2].as_f64().unwrap() - 10.0).abs() < 1e-9, "{last}");
        let status = observer.status_json();
        assert_eq!(status["verification"]["perSecond"]["15m"], 10.0);
        assert_eq!(status["node"]["state"], "unknown");
        assert_eq!(status["node"]["up"], false);
    }
}
