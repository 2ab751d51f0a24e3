//! Fetching a block and what its checks need, once: the blocks PoW solutions refer to and the
//! wallets transactions name are cached (bounded), and calls that fail for a passing reason are
//! retried with backoff before the block is given up with an error naming it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ixi_node_api::{ApiError, Block, FieldError, NodeClient, Wallet};

use crate::bounded::Bounded;
use crate::checks::{self, Lookup, PowCache, Prepared, RsaWork, Rules};
use crate::finding::Finding;

/// Blocks whose checksum and version are kept: PoW solutions refer to at most the 120 blocks
/// before (30 from v12), and an audit goes forward, so 4096 entries (about 400 KB) mean each
/// block is fetched once.
pub const BLOCK_CACHE: usize = 4096;
/// Wallets kept: a wallet's key never changes. 65 536 entries of at most a 528-byte key
/// (about 50 MB at worst) cover the senders of many thousands of blocks.
pub const WALLET_CACHE: usize = 65_536;

/// Why a block could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The node did not give a usable answer, after retries where retrying made sense.
    #[error("block {block}: {source}")]
    Node {
        /// The block being checked.
        block: u64,
        /// The last error.
        #[source]
        source: ApiError,
    },
    /// A field the checks need is missing or malformed.
    #[error("block {block}: {source}")]
    Field {
        /// The block.
        block: u64,
        /// The field.
        #[source]
        source: FieldError,
    },
    /// The audit log could not be written.
    #[error(transparent)]
    Log(#[from] crate::finding::LogError),
}

/// Retries of a call that failed for a passing reason.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// The first wait; doubled after each failure.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(4),
        }
    }
}

/// `call` until it succeeds, fails for good, or the attempts are used up.
///
/// # Errors
/// The last error.
pub async fn with_retry<T, F, Fut>(policy: RetryPolicy, mut call: F) -> Result<T, ApiError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
{
    let mut wait = policy.initial;
    let mut attempt = 1;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && attempt < policy.attempts.max(1) => {
                tracing::debug!("node call failed, retrying in {wait:?}: {e}");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(policy.max);
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The caches' content for one block's checks.
struct Snapshot<'a> {
    blocks: HashMap<u64, (Vec<u8>, u32)>,
    wallets: HashMap<String, Option<Wallet>>,
    pow: &'a PowCache,
}

impl Lookup for Snapshot<'_> {
    fn pow_cache(&self) -> Option<&PowCache> {
        Some(self.pow)
    }

    fn checksum(&self, num: u64) -> Option<&[u8]> {
        self.blocks.get(&num).map(|(c, _)| c.as_slice())
    }

    fn version(&self, num: u64) -> Option<u32> {
        self.blocks.get(&num).map(|(_, v)| *v)
    }

    fn wallet(&self, address: &str) -> Option<&Wallet> {
        self.wallets.get(address).and_then(Option::as_ref)
    }
}

/// Fetches and checks blocks through one node client, with the block and wallet caches.
#[derive(Debug)]
pub struct Auditor {
    client: NodeClient,
    rules: Rules,
    retry: RetryPolicy,
    blocks: Mutex<Bounded<u64, (Vec<u8>, u32)>>,
    wallets: Mutex<Bounded<String, Option<Wallet>>>,
    pow: PowCache,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while these locks are held; a poisoned cache is still consistent.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Auditor {
    /// An auditor asking `client`.
    #[must_use]
    pub fn new(client: NodeClient, rules: Rules, retry: RetryPolicy) -> Self {
        Self {
            client,
            rules,
            retry,
            blocks: Mutex::new(Bounded::new(BLOCK_CACHE)),
            wallets: Mutex::new(Bounded::new(WALLET_CACHE)),
            pow: PowCache::default(),
        }
    }

    /// The node client.
    #[must_use]
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// `getblockcount`, with retries.
    ///
    /// # Errors
    /// The last [`ApiError`].
    pub async fn block_count(&self) -> Result<u64, ApiError> {
        with_retry(self.retry, || self.client.block_count()).await
    }

    /// Fetches block `num` (with its transactions) and what its checks need, and checks it up
    /// to the RSA work.
    ///
    /// # Errors
    /// [`AuditError`] naming `num` (a missing block is `ApiError::is_not_found`).
    pub async fn prepare(&self, num: u64) -> Result<Prepared, AuditError> {
        let node_error = |source| AuditError::Node { block: num, source };
        let block = with_retry(self.retry, || self.client.full_block(num))
            .await
            .map_err(node_error)?;
        lock(&self.blocks).insert(num, (block.checksum.clone(), block.version));
        let needs = checks::needs(&block);
        let mut snapshot = Snapshot {
            blocks: HashMap::new(),
            wallets: HashMap::new(),
            pow: &self.pow,
        };
        for m in needs.blocks {
            let cached = lock(&self.blocks).get(&m).cloned();
            let entry = match cached {
                Some(e) => e,
                None => {
                    let b: Block = with_retry(self.retry, || self.client.block(m))
                        .await
                        .map_err(node_error)?;
                    let e = (b.checksum, b.version);
                    lock(&self.blocks).insert(m, e.clone());
                    e
                }
            };
            snapshot.blocks.insert(m, entry);
        }
        for address in needs.wallets {
            let cached = lock(&self.wallets).get(&address).cloned();
            let wallet = match cached {
                Some(w) => w,
                None => {
                    let w = match with_retry(self.retry, || self.client.wallet(&address)).await {
                        Ok(w) => Some(w),
                        Err(e) if e.is_not_found() => None,
                        Err(e) => return Err(node_error(e)),
                    };
                    lock(&self.wallets).insert(address.clone(), w.clone());
                    w
                }
            };
            snapshot.wallets.insert(address, wallet);
        }
        if let Some(parent) = num.checked_sub(1)
            && let Some(e) = lock(&self.blocks).get(&parent).cloned()
        {
            snapshot.blocks.entry(parent).or_insert(e);
        }
        checks::check_block(&self.rules, &block, &snapshot, true)
            .map_err(|source| AuditError::Field { block: num, source })
    }

    /// The finding of a signature that did not verify, with the node's own verdict
    /// (`nodeConfirms`): asked once, `None` when it cannot be asked.
    pub async fn confirm(&self, work: &RsaWork) -> Finding {
        let mut finding = work.finding();
        finding.node_confirms = match self
            .client
            .verify(&work.key, &work.signature, &work.message)
            .await
        {
            Ok(valid) => Some(!valid),
            Err(e) => {
                tracing::debug!("the node's verify could not be asked: {e}");
                None
            }
        };
        finding
    }
}
