//! The simulated chain: blocks with real signer PoW solutions, real RSA signatures and
//! transactions, a set share of them deliberately wrong (recorded in the ledger), and the
//! node's own mining with the reference's handling of external solutions.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA512};
use base64::Engine as _;
use ixi_formats::address::Address;
use ixi_formats::hash::sha3_512sq;
use ixi_formats::number::IxiNumber;
use ixi_formats::pubkey::RsaPublicKey;
use ixi_formats::{base58, difficulty, solution};
use rand::{Rng as _, RngCore as _};
use serde_json::{Value, json};

/// The consensus minimum signer difficulty, 10^7.
#[must_use]
pub fn consensus_min_difficulty() -> IxiNumber {
    IxiNumber::from_whole(10_000_000)
}

/// When the simulated node mines (for external miners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MiningWindows {
    /// Every block.
    AlwaysOn,
    /// The reference miner's windows and cooldowns.
    Reference,
}

/// The simulated node's settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Time between blocks.
    pub block_interval: Duration,
    /// The minimum difficulty of the node's signing challenge (external miners).
    pub min_difficulty: IxiNumber,
    /// When the node mines.
    pub windows: MiningWindows,
    /// Block signatures (RSA-2048) per block, once signers hold solutions.
    pub block_signatures: usize,
    /// Transactions (RSA-4096) per block, besides one staking reward.
    pub transactions: usize,
    /// Percent of signatures, PoW solutions, transactions and block totals made wrong.
    pub corrupt_percent: u32,
    /// Signers in the pool (each mines a real PoW solution, reused while it is valid).
    pub signers: usize,
    /// Wallet keys (RSA-4096) the transactions are signed with.
    pub wallets: usize,
    /// The difficulty signer solutions are mined at (the consensus floor by default).
    pub signer_difficulty: IxiNumber,
    /// Blocks kept; older ones answer "Block not found.".
    pub history: usize,
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
            signers: 4,
            wallets: 2,
            signer_difficulty: consensus_min_difficulty(),
            // About 250 KB a block at 200 signatures: 60 MB. The link needs 5 blocks back and
            // the PoW blocks up to 30 back.
            history: 256,
        }
    }
}

/// Block version of the simulated chain (PoW valid 30 blocks).
pub const BLOCK_VERSION: u32 = 12;
/// PoW validity at [`BLOCK_VERSION`].
const POW_VALIDITY: u64 = 30;
/// Blocks made before the first live one: the link checks blocks 5 deep.
const WARM_UP_BLOCKS: u64 = 8;
/// A signer mines again once its solution is this old.
const REMINE_AGE: u64 = 20;

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

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        // Signing with a freshly generated key into a buffer of the modulus size cannot fail;
        // an all-zero signature would only show up as a finding.
        let _ = self.pair.sign(
            &RSA_PKCS1_SHA512,
            &SystemRandom::new(),
            message,
            &mut signature,
        );
        signature
    }

    fn address(&self) -> Option<Address> {
        Address::from_public_key(&self.public).ok()
    }
}

#[derive(Debug, Clone)]
struct SignerSolution {
    block: u64,
    nonce: Vec<u8>,
    difficulty: IxiNumber,
    hash: [u8; 64],
}

struct Signer {
    /// The signer's wallet address (the PoW's recipient).
    address: Address,
    key: SigningKey,
    solution: Option<SignerSolution>,
}

struct Keys {
    signers: Mutex<Vec<Signer>>,
    wallets: Vec<SigningKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    Mining { since: u64, found_at: Option<u64> },
    Cooldown { last_found: u64 },
}

struct StoredBlock {
    /// The `getblock` result.
    header: Value,
    /// `"Transactions"`, already a JSON string.
    transactions: String,
}

struct ChainState {
    height: u64,
    blocks: BTreeMap<u64, StoredBlock>,
    checksums: BTreeMap<u64, [u8; 64]>,
    /// Blocks made since start.
    made: u64,
    address: Vec<u8>,
    signing_key: Vec<u8>,
    window: Window,
    /// Best stored difficulty per block (external solutions).
    stored: HashMap<u64, IxiNumber>,
    last_solution: Option<(u64, Vec<u8>, IxiNumber)>,
    accepted: u64,
    ledger: BTreeMap<u64, Vec<Corruption>>,
}

/// One deliberately wrong item: `kind` is the finding kind that must report it
/// (`blockSignature`, `powSolution`, `transaction`, `blockTotal`), `index` its position in the
/// block's signature or transaction list (`None` for a block total).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Corruption {
    /// The finding kind.
    pub kind: &'static str,
    /// The position.
    pub index: Option<usize>,
}

/// A snapshot of the simulated node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSummary {
    /// Blocks made since start.
    pub blocks: u64,
    /// The last block.
    pub height: u64,
    /// External solutions the node stored.
    pub solutions_stored: u64,
    /// Whether the node mines now.
    pub mining: bool,
    /// Signers holding a valid PoW solution.
    pub signers_ready: usize,
}

/// What an external solution came to (the reference discards the verdict; the status shows
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    /// Stored as the node's solution for the block.
    Stored,
    /// Ignored.
    Ignored,
}

/// The simulated node.
pub struct SimChain {
    config: SimConfig,
    state: Mutex<ChainState>,
    keys: OnceLock<Option<Keys>>,
    started: Instant,
    stop: AtomicBool,
    /// The warm-up history is made.
    ready: AtomicBool,
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

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn random_signing_key() -> Vec<u8> {
    // An RSA-2048 v2 public key's size: the prefix holds its sha3_512sq either way.
    let mut key = vec![0u8; 272];
    rand::rng().fill_bytes(&mut key);
    key[0] = 2;
    key
}

impl SimChain {
    /// A chain at a random height with a few blocks of history, and its background threads:
    /// key generation, the signers' PoW mining, block production.
    #[must_use]
    pub fn start(config: SimConfig) -> Arc<Self> {
        let wallet = random_bytes::<528>();
        let address = Address::from_public_key(&[&[1u8][..], &wallet[1..]].concat())
            .map(|a| a.no_checksum().to_vec())
            .unwrap_or_else(|_| wallet[..45].to_vec());
        let height = rand::rng().random_range(1_000_000..5_000_000);
        let chain = Arc::new(Self {
            state: Mutex::new(ChainState {
                height: height - 1,
                blocks: BTreeMap::new(),
                checksums: BTreeMap::new(),
                made: 0,
                address,
                signing_key: random_signing_key(),
                window: Window::Mining {
                    since: height,
                    found_at: None,
                },
                stored: HashMap::new(),
                last_solution: None,
                accepted: 0,
                ledger: BTreeMap::new(),
            }),
            config,
            keys: OnceLock::new(),
            started: Instant::now(),
            stop: AtomicBool::new(false),
            ready: AtomicBool::new(false),
        });
        // The first block, for the signers to mine on; the rest of the warm-up history
        // follows once they hold solutions (see `produce`).
        chain.make_block();
        let keygen = Arc::clone(&chain);
        std::thread::spawn(move || keygen.generate_keys());
        let miner = Arc::clone(&chain);
        std::thread::spawn(move || miner.mine_signers());
        let producer = Arc::clone(&chain);
        std::thread::spawn(move || producer.produce());
        chain
    }

    /// Stops the background threads.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn generate_keys(&self) {
        // Wallets first: transactions need no PoW, so blocks carry signatures early.
        let keys = (|| {
            let wallets = (0..self.config.wallets.max(1))
                .map(|_| SigningKey::generate(KeySize::Rsa4096, 1))
                .collect::<Option<Vec<_>>>()?;
            let signers = (0..self.config.signers.max(1))
                .map(|_| {
                    let key = SigningKey::generate(KeySize::Rsa2048, 2)?;
                    // The signer's wallet address: any valid address (of a random v1 key).
                    let wallet = random_bytes::<528>();
                    let address =
                        Address::from_public_key(&[&[1u8][..], &wallet[1..]].concat()).ok()?;
                    Some(Signer {
                        address,
                        key,
                        solution: None,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            Some(Keys {
                signers: Mutex::new(signers),
                wallets,
            })
        })();
        if keys.is_none() {
            tracing::error!(
                "simulated node: RSA key generation failed; blocks carry no signatures"
            );
        }
        let _ = self.keys.set(keys);
    }

    fn keys(&self) -> Option<&Keys> {
        self.keys.get().and_then(Option::as_ref)
    }

    /// Mines a PoW solution for each signer whose solution is missing or ageing, on the
    /// newest block, with the ixi-miner engine on one thread.
    fn mine_signers(&self) {
        let features = ixi_miner::backend::CpuFeatures::detect();
        let Ok(kind) = ixi_miner::backend::BackendChoice::Auto.resolve(&features) else {
            return;
        };
        let Ok(miner) = ixi_miner::scheduler::Miner::start(
            ixi_miner::scheduler::MinerConfig {
                backend: kind,
                threads: 1,
                batch: None,
            },
            &features,
        ) else {
            tracing::error!("simulated node: the signers' miner did not start");
            return;
        };
        let mut job_id = 0u64;
        while !self.stopped() {
            let Some(keys) = self.keys() else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let (height, checksum) = {
                let s = lock(&self.state);
                (s.height, s.checksums.get(&s.height).copied())
            };
            let Some(checksum) = checksum else {
                std::thread::sleep(Duration::from_millis(100));
                continue;
            };
            let due = lock(&keys.signers).iter().position(|s| {
                s.solution
                    .as_ref()
                    .is_none_or(|sol| sol.block + REMINE_AGE <= height)
            });
            let Some(i) = due else {
                std::thread::sleep(Duration::from_millis(200));
                continue;
            };
            let prefix = {
                let signers = lock(&keys.signers);
                let s = &signers[i];
                solution::challenge_prefix(
                    height,
                    &checksum,
                    s.address.no_checksum(),
                    &s.key.public,
                )
            };
            job_id += 1;
            let Ok(job) = ixi_miner::job::Job::new(
                job_id,
                prefix.clone(),
                self.config.signer_difficulty.clone(),
                &ixi_miner::job::NonceConfig::default(),
            ) else {
                return;
            };
            miner.set_job(job);
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline && !self.stopped() {
                match miner.events().recv_timeout(Duration::from_millis(200)) {
                    Ok(ixi_miner::scheduler::MinerEvent::Solution(found))
                        if found.job_id == job_id =>
                    {
                        lock(&keys.signers)[i].solution = Some(SignerSolution {
                            block: height,
                            nonce: found.nonce,
                            difficulty: found.difficulty,
                            hash: found.hash,
                        });
                        break;
                    }
                    _ => {}
                }
            }
            miner.clear_job();
        }
        miner.stop();
    }

    /// Whether the signers (when blocks carry signatures) hold solutions.
    fn signers_ready(&self) -> bool {
        if self.config.block_signatures == 0 && self.config.transactions == 0 {
            return true;
        }
        self.keys().is_some_and(|k| {
            self.config.block_signatures == 0
                || lock(&k.signers).iter().all(|s| s.solution.is_some())
        })
    }

    fn produce(&self) {
        // Warm-up: once keys and signer solutions exist (or after a minute), the history
        // before the first live block is made at once, so that a link checking blocks 5 deep
        // has signed blocks to check from the start.
        let warm_up = Instant::now() + Duration::from_secs(60);
        while !self.signers_ready() && Instant::now() < warm_up && !self.stopped() {
            std::thread::sleep(Duration::from_millis(50));
        }
        for _ in 1..WARM_UP_BLOCKS {
            self.make_block();
        }
        self.ready.store(true, Ordering::Release);
        let interval = self.config.block_interval.max(Duration::from_millis(10));
        let mut next = Instant::now() + interval;
        while !self.stopped() {
            let now = Instant::now();
            if now < next {
                std::thread::sleep((next - now).min(Duration::from_millis(100)));
                continue;
            }
            next += interval;
            self.make_block();
        }
    }

    /// Makes the next block: its signatures, transactions, corruptions and ledger entry.
    fn make_block(&self) {
        let number = lock(&self.state).height + 1;
        let checksum: [u8; 64] = random_bytes();
        let mut rng = rand::rng();
        let p = self.config.corrupt_percent;
        let corrupt = |rng: &mut rand::rngs::ThreadRng| rng.random_range(0..100) < p;
        let mut ledger = Vec::new();
        let mut signatures = Vec::new();
        let mut total = IxiNumber::default();
        let mut transactions = Vec::new();
        if let Some(keys) = self.keys() {
            let signers = lock(&keys.signers);
            let valid: Vec<&Signer> = signers
                .iter()
                .filter(|s| {
                    s.solution
                        .as_ref()
                        .is_some_and(|sol| sol.block < number && sol.block + POW_VALIDITY >= number)
                })
                .collect();
            for index in 0..if valid.is_empty() {
                0
            } else {
                self.config.block_signatures
            } {
                let signer = valid[index % valid.len()];
                let Some(sol) = &signer.solution else {
                    continue;
                };
                let message = sha3_512sq(&[&checksum[..], &sol.nonce[..]].concat());
                let mut signature = signer.key.sign(&message);
                let mut shown = sol.difficulty.clone();
                if corrupt(&mut rng) {
                    if rng.random_bool(0.5) {
                        let bit = rng.random_range(0..signature.len() * 8);
                        signature[bit / 8] ^= 1 << (bit % 8);
                        ledger.push(Corruption {
                            kind: "blockSignature",
                            index: Some(index),
                        });
                    } else {
                        // The node claims a difficulty the solution does not have.
                        shown = IxiNumber::from_raw(shown.raw() + 1);
                        ledger.push(Corruption {
                            kind: "powSolution",
                            index: Some(index),
                        });
                    }
                }
                total = IxiNumber::from_raw(total.raw() + shown.raw());
                signatures.push(json!({
                    "blockNum": number,
                    "blockHash": b64(&checksum),
                    "signature": b64(&signature),
                    "recipientPubKeyOrAddress": signer.address.to_string(),
                    "powSolution": {
                        "blockNum": sol.block,
                        "solution": b64(&sol.nonce),
                        "signingPubKey": b64(&signer.key.public),
                        "blockHash": null,
                        "checksum": b64(&sol.hash),
                        "difficulty": shown.to_string(),
                        "bits": difficulty::hash_to_bits(&sol.hash),
                    },
                }));
            }
            for index in 0..self.config.transactions {
                let wallet = &keys.wallets[index % keys.wallets.len()];
                let body: [u8; 200] = random_bytes();
                let tx_checksum = sha3_512sq(&[&b"Ixian"[..], &body[..]].concat())[..44].to_vec();
                let mut signature = wallet.sign(&tx_checksum);
                let mut sender = wallet;
                if corrupt(&mut rng) {
                    if keys.wallets.len() > 1 && rng.random_bool(0.5) {
                        // Signed by one wallet, sent from another.
                        sender = &keys.wallets[(index + 1) % keys.wallets.len()];
                    } else {
                        let bit = rng.random_range(0..signature.len() * 8);
                        signature[bit / 8] ^= 1 << (bit % 8);
                    }
                    ledger.push(Corruption {
                        kind: "transaction",
                        index: Some(index),
                    });
                }
                // Half name the sender by address (its key from getwallet), half carry the key.
                let pub_key = if index % 2 == 0 {
                    sender.address().map(|a| a.to_string()).unwrap_or_default()
                } else {
                    base58::encode(&sender.public)
                };
                transactions.push(transaction_json(
                    number,
                    0,
                    &tx_checksum,
                    &signature,
                    &pub_key,
                ));
            }
        }
        // One staking reward: never verified.
        let stake_checksum = random_bytes::<44>();
        let mut stake = transaction_json(number, 2, &stake_checksum, &[0u8; 8], "1");
        stake["id"] = json!(format!("stk-{number}-{}", base58::encode(&stake_checksum)));
        transactions.push(stake);
        let mut stated_total = total.clone();
        if corrupt(&mut rng) {
            stated_total = IxiNumber::from_raw(total.raw() + 1);
            ledger.push(Corruption {
                kind: "blockTotal",
                index: None,
            });
        }
        let signatures_text = Value::Array(signatures).to_string();
        let header = json!({
            "Block Number": number.to_string(),
            "Version": BLOCK_VERSION.to_string(),
            "Block Checksum": hex::encode(checksum),
            "Signatures": signatures_text,
            "Signature count": signatures_text.matches("\"powSolution\"").count().to_string(),
            // RSD / 7000 stays below the floor: the minimum is the consensus floor.
            "Required Signer Difficulty": "1000000000.00000000",
            "Total Signer Difficulty": stated_total.to_string(),
            "Signer Bits": "ffffffffffff3701",
            "TX IDs": Value::Array(transactions.iter().map(|t| t["id"].clone()).collect()).to_string(),
            "Sig freeze Checksum": "",
        });
        let transactions = Value::Array(transactions).to_string();
        let mut s = lock(&self.state);
        s.height = number;
        s.made += 1;
        s.checksums.insert(number, checksum);
        s.blocks.insert(
            number,
            StoredBlock {
                header,
                transactions,
            },
        );
        if !ledger.is_empty() {
            s.ledger.insert(number, ledger);
        }
        while s.blocks.len() > self.config.history.max(64) {
            if let Some((&old, _)) = s.blocks.iter().next() {
                s.blocks.remove(&old);
                s.checksums.remove(&old);
                s.ledger.remove(&old);
            }
        }
        if number.is_multiple_of(10) {
            s.signing_key = random_signing_key();
        }
        s.stored.retain(|h, _| h + 30 >= number);
        if self.config.windows == MiningWindows::Reference {
            s.window = match s.window {
                Window::Mining {
                    since,
                    found_at: Some(found),
                } if number >= since + 10 => Window::Cooldown { last_found: found },
                Window::Cooldown { last_found } if last_found + 15 <= number => Window::Mining {
                    since: number,
                    found_at: None,
                },
                w => w,
            };
        }
    }

    /// The chain now.
    #[must_use]
    pub fn summary(&self) -> ChainSummary {
        let height = lock(&self.state).height;
        let signers_ready = self.keys().map_or(0, |k| {
            lock(&k.signers)
                .iter()
                .filter(|s| {
                    s.solution
                        .as_ref()
                        .is_some_and(|sol| sol.block + POW_VALIDITY >= height)
                })
                .count()
        });
        let s = lock(&self.state);
        ChainSummary {
            blocks: s.made,
            height: s.height,
            solutions_stored: s.accepted,
            mining: matches!(s.window, Window::Mining { .. }),
            signers_ready,
        }
    }

    /// Blocks made since start, not counting the warm-up history.
    #[must_use]
    pub fn live_blocks(&self) -> u64 {
        lock(&self.state).made.saturating_sub(WARM_UP_BLOCKS)
    }

    /// Whether the warm-up history is made (the API serves from the start regardless).
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Seconds since start.
    #[must_use]
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// What was made wrong, per block.
    #[must_use]
    pub fn ledger(&self) -> BTreeMap<u64, Vec<Corruption>> {
        lock(&self.state).ledger.clone()
    }

    /// The highest block.
    #[must_use]
    pub fn height(&self) -> u64 {
        lock(&self.state).height
    }

    /// The `getblock` (`full` false) or `getfullblock` result of block `num`.
    #[must_use]
    pub fn block_json(&self, num: u64, full: bool) -> Option<Value> {
        let s = lock(&self.state);
        let b = s.blocks.get(&num)?;
        let mut v = b.header.clone();
        if full {
            v["Transactions"] = Value::String(b.transactions.clone());
            v["Superblock segments"] = json!("[]");
        }
        Some(v)
    }

    /// The `getwallet` result of the base58 address `id`.
    #[must_use]
    pub fn wallet_json(&self, id: &str) -> Value {
        let key = self.keys().and_then(|k| {
            k.wallets
                .iter()
                .find(|w| w.address().is_some_and(|a| a.to_string() == id))
                .map(|w| hex::encode(&w.public))
        });
        json!({
            "id": id,
            "balance": "0.00000000",
            "type": "Normal",
            "requiredSigs": "1",
            "allowedSigners": "null",
            "extraData": "null",
            "publicKey": key.unwrap_or_else(|| "null".to_owned()),
        })
    }

    /// `getSigningChallenge`'s result.
    #[must_use]
    pub fn challenge_json(&self) -> Value {
        let s = lock(&self.state);
        match (s.window, s.checksums.get(&s.height)) {
            (Window::Mining { .. }, Some(checksum)) => {
                let prefix =
                    solution::challenge_prefix(s.height, checksum, &s.address, &s.signing_key);
                json!({
                    "Item1": b64(&prefix),
                    "Item2": { "amount": raw_amount(&self.config.min_difficulty) },
                    "Item3": s.height,
                })
            }
            _ => json!({"Item1": null, "Item2": {"amount": 0}, "Item3": 0}),
        }
    }

    /// `submitSigningSolution`, judged as the reference's `ProcessExternalSolution`: nonces of
    /// one byte or less ignored, only the block being mined, the `hash[62..63] == 0`
    /// pre-filter, at least the minimum, better than the stored solution.
    pub fn submit(&self, block_height: u64, nonce: &[u8]) -> Submission {
        if nonce.len() <= 1 {
            return Submission::Ignored;
        }
        let mut s = lock(&self.state);
        let (Window::Mining { .. }, true, Some(checksum)) = (
            s.window,
            block_height == s.height,
            s.checksums.get(&s.height).copied(),
        ) else {
            return Submission::Ignored;
        };
        let prefix = solution::challenge_prefix(s.height, &checksum, &s.address, &s.signing_key);
        let Ok(hash) = solution::hash_with_prefix(&prefix, nonce) else {
            return Submission::Ignored;
        };
        if hash[62] != 0 || hash[63] != 0 {
            return Submission::Ignored;
        }
        let Ok(found) = difficulty::hash_to_difficulty(&hash) else {
            return Submission::Ignored;
        };
        if found < self.config.min_difficulty
            || s.stored
                .get(&block_height)
                .is_some_and(|best| found <= *best)
        {
            return Submission::Ignored;
        }
        s.stored.insert(block_height, found.clone());
        s.last_solution = Some((block_height, nonce.to_vec(), found));
        s.accepted += 1;
        if let Window::Mining { found_at, .. } = &mut s.window {
            *found_at = Some(block_height);
        }
        Submission::Stored
    }

    /// `status`'s result (`verbose`: with the signer's last solution).
    #[must_use]
    pub fn status_json(&self, verbose: bool) -> Value {
        let s = lock(&self.state);
        let mut status = json!({
            "DLT Status": "Active",
            "Block Height": s.height.to_string(),
        });
        if verbose && let Some((height, nonce, d)) = &s.last_solution {
            status["Signer Last PoW Solution"] = json!({
                "blockNum": height,
                "solution": b64(nonce),
                "difficulty": d.to_string(),
            });
        }
        status
    }
}

/// An IxiNumber's raw amount as a JSON integer (as Newtonsoft writes a BigInteger), or its
/// decimal string beyond 128 bits.
fn raw_amount(n: &IxiNumber) -> Value {
    let text = n.raw().to_string();
    text.parse::<u128>()
        .ok()
        .and_then(serde_json::Number::from_u128)
        .map_or(Value::String(text), Value::Number)
}

fn transaction_json(
    number: u64,
    tx_type: u64,
    checksum: &[u8],
    signature: &[u8],
    pub_key: &str,
) -> Value {
    json!({
        "id": format!("{number}-{}", base58::encode(checksum)),
        "version": 7,
        "blockHeight": number.to_string(),
        "nonce": "0",
        "signature": hex::encode(signature),
        "pubKey": pub_key,
        "timestamp": "0",
        "type": tx_type.to_string(),
        "amount": "1.00000000",
        "applied": number.to_string(),
        "checksum": hex::encode(checksum),
        "from": {"AA==": "1.00000000"},
        "to": {"1": "1.00000000"},
        "fee": "0.00010000",
        "totalAmount": "1.00010000",
    })
}

/// The node's own `verify`: SHA-512 with RSA (PKCS#1 v1.5) over `data`, by aws-lc-rs, the key
/// in the Ixian layout.
#[must_use]
pub fn node_verify(public_key: &[u8], signature: &[u8], data: &[u8]) -> bool {
    let Ok(key) = RsaPublicKey::parse(public_key) else {
        return false;
    };
    aws_lc_rs::signature::RsaPublicKeyComponents {
        n: &key.modulus,
        e: &key.exponent,
    }
    .verify(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
        data,
        signature,
    )
    .is_ok()
}
