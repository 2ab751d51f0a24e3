//! `ixi-simnode`: a simulated Ixian node serving the real HTTP API (reference sections 7 and
//! 9) on loopback, so that the link reaches it exactly as it reaches a real node.
//!
//! - [`chain`]: the chain. A block every interval; a pool of signers each holding a real PoW
//!   solution (mined with the ixi-miner engine at the consensus floor 10^7 and reused while
//!   valid) and an RSA-2048 signing key; RSA-4096 wallets signing transactions; a set share of
//!   block signatures, PoW solutions, transactions and block totals made wrong, each recorded
//!   in a ledger ([`chain::SimChain::ledger`]) for comparison with what a verifier finds.
//! - [`serve`]: the HTTP API with axum: `getSigningChallenge`, `submitSigningSolution`,
//!   `status`, `getblockcount`, `getblock`, `getfullblock`, `getwallet`, `verify`, as
//!   `GET /<method>?k=v` or a JSON-RPC `POST`, answers in the node's envelope
//!   `{"result", "error", "id"}` (HTTP 500 with `error` on failure).

pub mod chain;
pub mod serve;

pub use chain::{ChainSummary, Corruption, MiningWindows, SimChain, SimConfig};
pub use serve::{SimNode, SimNodeError};
