//! An embedded simulated chain: the devnet's node.
//!
//! - A block every `block_interval` with a random 64-byte block hash; the node's address and
//!   signing key are fixed, the signing key changing every 10 blocks as the reference miner's.
//! - Mining always on, or the reference's windows: mine at least 10 blocks, stop once a
//!   solution was found in the window, then cool down until 15 blocks after the block of that
//!   solution.
//! - External solutions are judged as the reference node judges them
//!   (`ProcessExternalSolution`): nonces of one byte or less ignored, only the block being
//!   mined, the `hash[62..63] == 0` pre-filter, at least the minimum difficulty, and better
//!   than the solution already stored for that block.
//! - Every block carries verification work with known verdicts: block signatures by RSA-2048
//!   signer keys over `sha3_512sq(blockChecksum ‖ solution)` and transactions signed by
//!   RSA-4096 wallet keys over their 44-byte checksum, real PKCS#1 v1.5 SHA-512 signatures,
//!   with a set share corrupted (one bit of the signature or of the message flipped).
//!   Keys are generated in the background at start; blocks before they are ready carry no
//!   signatures.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA512};
use ixi_formats::address::Address;
use ixi_formats::difficulty;
use ixi_formats::hash::sha3_512sq;
use ixi_formats::number::IxiNumber;
use ixi_formats::pubkey::RsaPublicKey;
use ixi_formats::solution;
use ixi_link_proto::{IdleReason, RejectReason, VerifyItem};
use rand::{Rng as _, RngCore as _};

use crate::source::{Challenge, ForwardOutcome, NodeSource, NodeState, VerifyWork};

/// The consensus minimum signer difficulty, 10^7.
#[must_use]
pub fn consensus_min_difficulty() -> IxiNumber {
    IxiNumber::from_whole(10_000_000)
}

/// When the simulated node mines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiningWindows {
    /// Every block.
    AlwaysOn,
    /// The reference miner's windows and cooldowns.
    Reference,
}

/// The simulated chain's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Time between blocks.
    pub block_interval: Duration,
    /// The minimum difficulty (the consensus floor by default).
    pub min_difficulty: IxiNumber,
    /// When the node mines.
    pub windows: MiningWindows,
    /// Block signatures (RSA-2048) per block.
    pub block_signatures: usize,
    /// Transactions (RSA-4096) per block.
    pub transactions: usize,
    /// Percent of signatures corrupted.
    pub corrupt_percent: u32,
    /// Distinct signer keys.
    pub signer_keys: usize,
    /// Distinct wallet keys.
    pub wallet_keys: usize,
    /// Signatures waiting for verifiers beyond which new blocks bring none (nobody verifies).
    pub max_queued: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            block_interval: Duration::from_secs(30),
            min_difficulty: consensus_min_difficulty(),
            windows: MiningWindows::AlwaysOn,
            block_signatures: 200,
            transactions: 40,
            corrupt_percent: 10,
            signer_keys: 8,
            wallet_keys: 2,
            max_queued: 50_000,
        }
    }
}

struct SigningKey {
    pair: KeyPair,
    /// The public key in the Ixian layout.
    public: Vec<u8>,
}

impl SigningKey {
    fn generate(size: KeySize, address_version: u8) -> Option<Self> {
        let pair = KeyPair::generate(size).ok()?;
        let c: PublicKeyComponents<Vec<u8>> = pair.public_key().into();
        let public = RsaPublicKey::new(address_version, c.n, c.e).to_bytes();
        Some(Self { pair, public })
    }

    fn sign(&self, message: &[u8]) -> Option<Vec<u8>> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA512,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .ok()?;
        Some(signature)
    }
}

struct KeyPool {
    signers: Vec<SigningKey>,
    wallets: Vec<SigningKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Mining { since: u64, found_at: Option<u64> },
    Cooldown { last_found: u64 },
}

struct ChainState {
    height: u64,
    block_hash: [u8; 64],
    block_started: Instant,
    blocks: u64,
    address: Vec<u8>,
    signing_key: Vec<u8>,
    window: Window,
    /// Best stored difficulty per block.
    stored: HashMap<u64, IxiNumber>,
    accepted: u64,
}

/// A snapshot of the simulated chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Blocks produced since start (the first included).
    pub blocks: u64,
    /// The last block.
    pub height: u64,
    /// Solutions the node stored.
    pub solutions_stored: u64,
    /// Whether the node mines now.
    pub mining: bool,
}

/// The simulated chain.
pub struct SimulatedChain {
    config: SimConfig,
    state: Mutex<ChainState>,
    keys: Arc<OnceLock<Option<KeyPool>>>,
    work: Arc<Mutex<Vec<VerifyWork>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing in these critical sections panics; a poisoned lock still holds consistent data.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

fn random_signing_key() -> Vec<u8> {
    // An RSA-2048 v2 public key's size: the prefix holds its sha3_512sq either way.
    let mut key = vec![0u8; 272];
    rand::rng().fill_bytes(&mut key);
    key[0] = 2;
    key
}

impl SimulatedChain {
    /// A chain at a random height, its first block just made. Generates the signing keys on a
    /// background thread.
    #[must_use]
    pub fn new(config: SimConfig) -> Self {
        let keys = Arc::new(OnceLock::new());
        if config.block_signatures + config.transactions > 0 {
            let (keys, signers, wallets) =
                (Arc::clone(&keys), config.signer_keys, config.wallet_keys);
            std::thread::spawn(move || {
                let pool = (|| {
                    Some(KeyPool {
                        signers: (0..signers.max(1))
                            .map(|_| SigningKey::generate(KeySize::Rsa2048, 2))
                            .collect::<Option<_>>()?,
                        wallets: (0..wallets.max(1))
                            .map(|_| SigningKey::generate(KeySize::Rsa4096, 1))
                            .collect::<Option<_>>()?,
                    })
                })();
                if pool.is_none() {
                    tracing::error!(
                        "simulated chain: RSA key generation failed; blocks carry no signatures"
                    );
                }
                let _ = keys.set(pool);
            });
        }
        let wallet = random_bytes::<528>();
        let address = Address::from_public_key(&[&[1u8][..], &wallet[1..]].concat())
            .map(|a| a.no_checksum().to_vec())
            .unwrap_or_else(|_| wallet[..45].to_vec());
        let height = rand::rng().random_range(1_000_000..5_000_000);
        Self {
            state: Mutex::new(ChainState {
                height,
                block_hash: random_bytes(),
                block_started: Instant::now(),
                blocks: 1,
                address,
                signing_key: random_signing_key(),
                window: Window::Mining {
                    since: height,
                    found_at: None,
                },
                stored: HashMap::new(),
                accepted: 0,
            }),
            config,
            keys,
            work: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Whether the signing keys are ready (blocks carry signatures from then on).
    #[must_use]
    pub fn keys_ready(&self) -> bool {
        self.keys.get().is_some_and(Option::is_some)
    }

    /// The chain now.
    #[must_use]
    pub fn summary(&self) -> ChainSummary {
        let mut s = lock(&self.state);
        self.advance(&mut s);
        ChainSummary {
            blocks: s.blocks,
            height: s.height,
            solutions_stored: s.accepted,
            mining: matches!(s.window, Window::Mining { .. }),
        }
    }

    /// Makes the blocks that are due.
    fn advance(&self, s: &mut ChainState) {
        let interval = self.config.block_interval.max(Duration::from_millis(10));
        while s.block_started.elapsed() >= interval {
            s.block_started += interval;
            s.height += 1;
            s.blocks += 1;
            s.block_hash = random_bytes();
            if s.height.is_multiple_of(10) {
                s.signing_key = random_signing_key();
            }
            s.stored.retain(|h, _| h + 30 >= s.height);
            if self.config.windows == MiningWindows::Reference {
                s.window = match s.window {
                    Window::Mining {
                        since,
                        found_at: Some(found),
                    } if s.height >= since + 10 => Window::Cooldown { last_found: found },
                    Window::Cooldown { last_found } if last_found + 15 <= s.height => {
                        Window::Mining {
                            since: s.height,
                            found_at: None,
                        }
                    }
                    w => w,
                };
            }
            self.make_work(s.block_hash);
        }
    }

    /// Signs the block's signatures and transactions on a thread of their own.
    fn make_work(&self, block_checksum: [u8; 64]) {
        let Some(Some(_)) = self.keys.get() else {
            return;
        };
        if lock(&self.work).len() >= self.config.max_queued {
            return;
        }
        let (keys, work, config) = (
            Arc::clone(&self.keys),
            Arc::clone(&self.work),
            self.config.clone(),
        );
        std::thread::spawn(move || {
            let Some(Some(pool)) = keys.get() else {
                return;
            };
            let mut items = Vec::with_capacity(config.block_signatures + config.transactions);
            let mut rng = rand::rng();
            for i in 0..config.block_signatures {
                let key = &pool.signers[i % pool.signers.len()];
                let pow_solution: [u8; 96] = random_bytes();
                let message = sha3_512sq(&[&block_checksum[..], &pow_solution[..]].concat());
                items.extend(signed(
                    key,
                    message.to_vec(),
                    config.corrupt_percent,
                    &mut rng,
                ));
            }
            for i in 0..config.transactions {
                let key = &pool.wallets[i % pool.wallets.len()];
                let tx: [u8; 200] = random_bytes();
                let checksum = sha3_512sq(&[&b"Ixian"[..], &tx[..]].concat())[..44].to_vec();
                items.extend(signed(key, checksum, config.corrupt_percent, &mut rng));
            }
            lock(&work).extend(items);
        });
    }

    fn challenge(&self, s: &ChainState) -> Challenge {
        Challenge {
            block_height: s.height,
            prefix: solution::challenge_prefix(s.height, &s.block_hash, &s.address, &s.signing_key),
            min_difficulty: self.config.min_difficulty.clone(),
        }
    }
}

/// A signed item, corrupted with probability `corrupt_percent`%.
fn signed(
    key: &SigningKey,
    mut message: Vec<u8>,
    corrupt_percent: u32,
    rng: &mut impl rand::Rng,
) -> Option<VerifyWork> {
    let mut signature = key.sign(&message)?;
    let corrupt = rng.random_range(0..100) < corrupt_percent;
    if corrupt {
        let target = if rng.random_bool(0.5) {
            &mut signature
        } else {
            &mut message
        };
        let bit = rng.random_range(0..target.len() * 8);
        target[bit / 8] ^= 1 << (bit % 8);
    }
    Some(VerifyWork {
        item: VerifyItem {
            key: key.public.clone(),
            message,
            signature,
        },
        expected: !corrupt,
    })
}

impl NodeSource for SimulatedChain {
    /// The simulated chain is always there.
    type Error = std::convert::Infallible;

    async fn poll(&self) -> NodeState {
        let mut s = lock(&self.state);
        self.advance(&mut s);
        match s.window {
            Window::Mining { .. } => NodeState::Mining(self.challenge(&s)),
            Window::Cooldown { last_found } => NodeState::Idle {
                reason: IdleReason::Cooldown,
                detail: format!(
                    "cooldown after the solution of block {last_found}, mining again at block {}",
                    last_found + 15
                ),
            },
        }
    }

    async fn forward(
        &self,
        block_height: u64,
        nonce: &[u8],
        _: &IxiNumber,
    ) -> ForwardOutcome<Self::Error> {
        if nonce.len() <= 1 {
            return ForwardOutcome::Rejected(RejectReason::InvalidNonce);
        }
        let mut s = lock(&self.state);
        self.advance(&mut s);
        if !matches!(s.window, Window::Mining { .. }) {
            return ForwardOutcome::Rejected(RejectReason::NodeIdle);
        }
        if block_height != s.height {
            return ForwardOutcome::Rejected(RejectReason::Stale);
        }
        let prefix = self.challenge(&s).prefix;
        let Ok(hash) = solution::hash_with_prefix(&prefix, nonce) else {
            return ForwardOutcome::Rejected(RejectReason::InvalidNonce);
        };
        if hash[62] != 0 || hash[63] != 0 {
            return ForwardOutcome::Rejected(RejectReason::BelowTarget);
        }
        let Ok(found) = difficulty::hash_to_difficulty(&hash) else {
            return ForwardOutcome::Rejected(RejectReason::BelowTarget);
        };
        if found < self.config.min_difficulty {
            return ForwardOutcome::Rejected(RejectReason::BelowTarget);
        }
        if s.stored
            .get(&block_height)
            .is_some_and(|best| found <= *best)
        {
            return ForwardOutcome::Rejected(RejectReason::NotBetter);
        }
        s.stored.insert(block_height, found);
        s.accepted += 1;
        if let Window::Mining { found_at, .. } = &mut s.window {
            *found_at = Some(block_height);
        }
        ForwardOutcome::Taken
    }

    fn take_verify_work(&self) -> Vec<VerifyWork> {
        std::mem::take(&mut *lock(&self.work))
    }

    fn poll_interval(&self) -> Duration {
        (self.config.block_interval / 20)
            .clamp(Duration::from_millis(50), Duration::from_millis(500))
    }
}
