//! `ixi-link-audit`: re-checking an Ixian node's chain through its HTTP API (reference
//! section 9), block by block.
//!
//! - [`checks`]: the checks of one block as plain functions over the parsed models: the PoW
//!   window by block version, each PoW recomputed exactly (hash, difficulty equal to the
//!   node's, at least `max(10^7, RSD / 7000)`), the block's total signer difficulty, each
//!   transaction's key and address binding (multisig included; types 2 and 3 skipped). The RSA
//!   signatures come out as [`checks::RsaWork`] items with a [`checks::Ticket`] saying whose
//!   they are, for whichever verifier (a connected worker or this machine) to check.
//! - [`finding`]: disagreements, as JSON lines (`block`, `kind`, `index`, `id`, `reason`,
//!   `nodeConfirms`), written and flushed before they are counted.
//! - [`fetch`]: the [`fetch::Auditor`]: a block and what its checks need, fetched once (bounded
//!   block and wallet caches), with retries and backoff; the node's own `verify` asked before
//!   a signature finding is written.
//! - [`runner`]: `ixi-link audit`'s loop over a range of blocks.
//!
//! The link's live shadow verification (`ixi-link serve --node`) uses the same auditor and
//! checks; only where the RSA work runs differs.

mod bounded;
pub mod checks;
pub mod fetch;
pub mod finding;
pub mod runner;

pub use checks::{Counts, Prepared, RsaWork, Rules, Ticket};
pub use fetch::{AuditError, Auditor, RetryPolicy};
pub use finding::{Finding, FindingKind, FindingLog};
