//! The messages of the link.

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;

/// What a worker does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Searches signer PoW nonces.
    Miner,
    /// Verifies RSA signatures.
    Verifier,
}

/// Why a solution was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// For a block the node no longer mines.
    Stale,
    /// Below the job's minimum difficulty.
    BelowTarget,
    /// Already submitted.
    Duplicate,
    /// Not better than the best already forwarded for that block.
    NotBetter,
    /// The node is not mining now.
    NodeIdle,
    /// A nonce outside the 2..=64 bytes a node takes.
    InvalidNonce,
    /// Forwarded, but the node's status does not show it as its solution (it judged otherwise,
    /// or its own miner found a better one first).
    NotTaken,
}

impl RejectReason {
    /// A short name for logs and status lines.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::BelowTarget => "below target",
            Self::Duplicate => "duplicate",
            Self::NotBetter => "not better",
            Self::NodeIdle => "node idle",
            Self::InvalidNonce => "invalid nonce",
            Self::NotTaken => "not taken by the node",
        }
    }
}

/// The link's judgement of a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SolutionVerdict {
    /// Forwarded to (and, where it can tell, taken by) the node.
    Accepted,
    /// Not forwarded.
    Rejected(RejectReason),
}

/// Why the link has no work for its workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdleReason {
    /// The node's signer is in its cooldown between mining windows.
    Cooldown,
    /// The node is catching up with the network.
    Syncing,
    /// The node does not answer.
    Unreachable,
}

/// One signature to verify.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VerifyItem {
    /// The public key in the Ixian layout.
    pub key: Vec<u8>,
    /// The signed message.
    pub message: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// A message of the link protocol.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// Worker → link, first: who the worker is.
    Hello {
        /// Miner or verifier.
        role: Role,
        /// The worker's protocol version.
        protocol_version: u8,
        /// A name for logs and status.
        worker_name: String,
        /// The compute backends it runs.
        backends: Vec<String>,
        /// Its measured rate (attempts/s or verifies/s), for sizing work.
        measured_rate: f64,
    },
    /// Link → worker: the session and this worker's nonce partition.
    Welcome {
        /// Session id.
        session_id: u64,
        /// The prefix every nonce of this worker starts with.
        nonce_prefix: Vec<u8>,
    },
    /// Link → miner: what to mine.
    Job {
        /// Job id.
        job_id: u64,
        /// The block the challenge is for.
        block_height: u64,
        /// `varint(blockNum) ‖ blockHash ‖ addressNoChecksum ‖ pubKeyPart`.
        challenge_prefix: Vec<u8>,
        /// Minimum difficulty, raw IxiNumber amount as two's-complement little-endian bytes (`IxiNumber::getBytes`).
        min_difficulty_raw: Vec<u8>,
        /// Best difficulty already forwarded for this block (same encoding; empty if none).
        best_difficulty_raw: Vec<u8>,
        /// Drop the current job at once.
        replace_now: bool,
    },
    /// Miner → link: a nonce that meets the job.
    Solution {
        /// The job.
        job_id: u64,
        /// The nonce.
        nonce: Vec<u8>,
    },
    /// Link → miner: what became of a solution.
    SolutionVerdict {
        /// The job.
        job_id: u64,
        /// The nonce.
        nonce: Vec<u8>,
        /// Accepted or why not.
        verdict: SolutionVerdict,
        /// The difficulty the link computed (same encoding; empty when it has none).
        difficulty_raw: Vec<u8>,
    },
    /// Link → verifier: signatures to verify.
    VerifyBatch {
        /// Batch id.
        batch_id: u64,
        /// The items.
        items: Vec<VerifyItem>,
    },
    /// Verifier → link: one verdict per item, in order.
    VerifyResult {
        /// Batch id.
        batch_id: u64,
        /// The verdicts.
        verdicts: Vec<bool>,
    },
    /// Link → worker: no work now, and why.
    Idle {
        /// Why.
        reason: IdleReason,
        /// Details for the operator.
        detail: String,
    },
    /// Either way: still here.
    Heartbeat {
        /// Sender's clock in milliseconds, echoed for round-trip times.
        sent_at_ms: u64,
    },
    /// Worker → link: counters for the status display.
    Stats {
        /// Attempts (miner) or verifications (verifier) since the session began.
        done: u64,
        /// Current rate per second.
        rate: f64,
    },
    /// Either way: a protocol error; the sender closes after it.
    Error {
        /// Error code.
        code: u16,
        /// What was wrong.
        message: String,
    },
}
