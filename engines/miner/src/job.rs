//! A mining job: what the node's `getSigningChallenge` returns, plus this miner's nonce layout.

use std::sync::Arc;

use ixi_formats::difficulty::{self, TargetError};
use ixi_formats::number::IxiNumber;
use ixi_kernels::pow::{LayoutError, NonceLayout, Target};
use rand::RngCore as _;

/// Shortest nonce a node takes from an external miner (it ignores 1-byte nonces).
pub const MIN_NONCE_LEN: usize = 2;
/// Longest nonce the network accepts.
pub const MAX_NONCE_LEN: usize = ixi_formats::solution::MAX_NONCE_LEN;
/// The reference miner's nonce length.
pub const DEFAULT_NONCE_LEN: usize = 32;

/// Why a job cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// An empty challenge prefix.
    #[error("empty challenge prefix")]
    EmptyPrefix,
    /// A nonce length outside 2..=64.
    #[error("nonce length {0}: must be 2 to 64 bytes")]
    NonceLength(usize),
    /// A partition prefix that leaves no byte for the counter.
    #[error("nonce prefix of {prefix} bytes leaves no counter byte in a {nonce}-byte nonce")]
    PrefixTooLong {
        /// Partition prefix length.
        prefix: usize,
        /// Nonce length.
        nonce: usize,
    },
    /// The minimum difficulty cannot be mined.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An invalid nonce layout.
    #[error(transparent)]
    Layout(#[from] LayoutError),
}

/// How this miner builds nonces: `partition ‖ random fill ‖ big-endian counter`.
///
/// The partition prefix keeps several miners of one node apart (the link hands each a distinct
/// one); the random fill keeps independent miners apart; workers of one miner share the
/// counter space without overlap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceConfig {
    /// Nonce length, 2..=64 bytes.
    pub len: usize,
    /// This miner's partition prefix.
    pub partition: Vec<u8>,
}

impl Default for NonceConfig {
    fn default() -> Self {
        Self {
            len: DEFAULT_NONCE_LEN,
            partition: Vec::new(),
        }
    }
}

impl NonceConfig {
    /// A fresh layout: the partition, random fill, and a counter of up to 8 bytes.
    ///
    /// # Errors
    /// [`JobError::NonceLength`] or [`JobError::PrefixTooLong`].
    pub fn layout(&self) -> Result<NonceLayout, JobError> {
        if !(MIN_NONCE_LEN..=MAX_NONCE_LEN).contains(&self.len) {
            return Err(JobError::NonceLength(self.len));
        }
        if self.partition.len() >= self.len {
            return Err(JobError::PrefixTooLong {
                prefix: self.partition.len(),
                nonce: self.len,
            });
        }
        let mut template = vec![0u8; self.len];
        template[..self.partition.len()].copy_from_slice(&self.partition);
        rand::rng().fill_bytes(&mut template[self.partition.len()..]);
        let counter_len = (self.len - self.partition.len()).min(8);
        Ok(NonceLayout::new(template, counter_len)?)
    }
}

/// One job: a challenge prefix, its minimum difficulty and the nonce layout to search.
#[derive(Debug, Clone)]
pub struct Job {
    id: u64,
    prefix: Arc<[u8]>,
    min_difficulty: IxiNumber,
    min_target: Target,
    layout: NonceLayout,
}

impl Job {
    /// A job over `prefix` (the node's challenge prefix) with a fresh nonce layout.
    ///
    /// # Errors
    /// [`JobError`] for an empty prefix, an unminable minimum or a bad nonce configuration.
    pub fn new(
        id: u64,
        prefix: Vec<u8>,
        min_difficulty: IxiNumber,
        nonce: &NonceConfig,
    ) -> Result<Self, JobError> {
        Self::with_layout(id, prefix, min_difficulty, nonce.layout()?)
    }

    /// A job with an explicit nonce layout (known-answer checks, tests).
    ///
    /// # Errors
    /// [`JobError::EmptyPrefix`] or an unminable minimum.
    pub fn with_layout(
        id: u64,
        prefix: Vec<u8>,
        min_difficulty: IxiNumber,
        layout: NonceLayout,
    ) -> Result<Self, JobError> {
        if prefix.is_empty() {
            return Err(JobError::EmptyPrefix);
        }
        let min_target = Target::from_bound(&difficulty::acceptance_bound(&min_difficulty)?);
        Ok(Self {
            id,
            prefix: prefix.into(),
            min_difficulty,
            min_target,
            layout,
        })
    }

    /// The caller's job id.
    #[must_use]
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The challenge prefix.
    #[must_use]
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// The minimum difficulty a solution must meet.
    #[must_use]
    pub fn min_difficulty(&self) -> &IxiNumber {
        &self.min_difficulty
    }

    /// The acceptance bound of the minimum.
    #[must_use]
    pub fn min_target(&self) -> &Target {
        &self.min_target
    }

    /// The nonce layout.
    #[must_use]
    pub fn layout(&self) -> &NonceLayout {
        &self.layout
    }
}
