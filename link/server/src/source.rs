//! What the link needs from a node: the current challenge, and a place to forward solutions.

use std::future::Future;

use ixi_formats::number::IxiNumber;
use ixi_link_proto::{IdleReason, RejectReason, VerifyItem};

/// The node's current signing challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The block being mined on.
    pub block_height: u64,
    /// `varint(blockNum) ‖ blockHash ‖ addressNoChecksum ‖ pubKeyPart`.
    pub prefix: Vec<u8>,
    /// The minimum difficulty a solution must meet.
    pub min_difficulty: IxiNumber,
}

/// What the node is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// Mining: this is the challenge.
    Mining(Challenge),
    /// Not mining, and why.
    Idle {
        /// Why.
        reason: IdleReason,
        /// Details for the operator.
        detail: String,
    },
}

/// What became of a forwarded solution; `E` is the source's error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome<E> {
    /// The node took it.
    Taken,
    /// The node did not take it.
    Rejected(RejectReason),
    /// The node could not be asked; the link retries while the block is current.
    Failed(E),
}

/// One signature to verify, with the ticket its verdict comes back under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyWork {
    /// What the verifier gets.
    pub item: VerifyItem,
    /// The submitter's name for it (the shadow verifier's ticket number).
    pub ticket: u64,
}

/// A node the link works for (the gateway to a real or simulated node's HTTP API, or a test's
/// stand-in).
///
/// Methods take `&self`: the link polls and forwards from tasks of their own, so a slow node
/// never holds up the workers' sessions.
pub trait NodeSource: Send + Sync + 'static {
    /// Why asking the node failed.
    type Error: std::error::Error + Send + 'static;

    /// The node's current state. Errors are reported as [`NodeState::Idle`] with
    /// [`IdleReason::Unreachable`].
    fn poll(&self) -> impl Future<Output = NodeState> + Send;

    /// Forwards a solution the link has checked.
    fn forward(
        &self,
        block_height: u64,
        nonce: &[u8],
        difficulty: &IxiNumber,
    ) -> impl Future<Output = ForwardOutcome<Self::Error>> + Send;

    /// How often to poll.
    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(1)
    }
}
